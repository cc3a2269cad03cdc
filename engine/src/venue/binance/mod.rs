//! Binance order entry: signing, the WebSocket API codec, user-data events and the gateway
//! thread that speaks them (see `docs/binance-subset.md`).

pub mod client_id;
pub mod fees;
pub mod response;
pub mod sign;
pub mod user_data;
pub mod ws_api;
