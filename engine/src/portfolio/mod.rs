//! Positions, PnL and round-trip trade statistics from fills.
//!
//! All accounting is integer [`Notional`](crate::units::Notional) (`tick * lot`) per
//! instrument; quote-currency `f64` appears only in [`TradeStats`], built at report time.
//! Marks take the doubled mid (`bid + ask` ticks) so half-tick mids stay exact.

mod account;
mod equity;
mod position;
mod round_trip;
mod trade_stats;

pub use account::{Portfolio, PositionSnapshot};
pub use equity::EquityCurve;
pub use position::{FillEffect, Position};
pub use round_trip::{RoundTrip, RoundTripStats};
pub use trade_stats::{PROFIT_FACTOR_CAP, TradeStats};
