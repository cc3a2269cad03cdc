//! Market-data feeds: venue wire formats in, venue-neutral [`event::MarketEvent`]s out.

pub mod binance;
pub mod event;
