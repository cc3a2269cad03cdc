//! Binance (spot, USD-M, COIN-M): wire parsing and the depth-sync rules.

pub mod sync;
mod tape;
pub mod wire;

pub use sync::{BookSync, DiffAction, SyncState};
pub use wire::{BinanceParser, ParseError, Parsed};
