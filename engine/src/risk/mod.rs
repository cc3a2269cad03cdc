//! Pre-trade risk checks applied to every intent before it enters the ring.
//!
//! [`PreTradeRisk::check`] gates placements (cancels always pass, also when halted: a cancel
//! only ever reduces risk). It tracks open orders and position per instrument from the
//! venue's reports ([`PreTradeRisk::on_report`]), so the position limit counts the worst case:
//! current position plus every open same-side order plus the new one. Nothing here allocates
//! after [`PreTradeRisk::new`].

mod config;
mod mode;
mod open_orders;
mod pre_trade;
mod rate;
mod reject;

pub use config::RiskConfig;
pub use mode::RiskMode;
pub use pre_trade::PreTradeRisk;
pub use rate::RateWindow;
pub use reject::{RejectCounts, RiskReject};
