//! Venue adapters for order entry: signing, the venue's order API, and the gateway thread.

pub mod binance;
pub mod keys;
