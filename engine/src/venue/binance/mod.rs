//! Binance order entry: signing, the WebSocket API codec, user-data events and the gateway
//! thread that speaks them (see `docs/binance-subset.md`).

pub mod client_id;
pub mod config;
pub mod fees;
pub mod gateway;
pub mod orders;
pub mod rate_limit;
pub mod reconcile;
pub mod reconcile_usdm;
pub mod response;
pub mod rest;
pub mod session;
pub mod sign;
pub mod stats;
pub mod user_data;
mod worker;
pub mod ws_api;

pub use config::{GatewayConfig, PollMode};
pub use gateway::{GatewayHandle, spawn, spawn_with_credentials};
pub use stats::{GatewayStats, GatewayStatsSnapshot};
