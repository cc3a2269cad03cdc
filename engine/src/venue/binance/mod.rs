//! Binance order entry: signing, the WebSocket API codec, user-data events and the gateway
//! thread that speaks them (see `docs/binance-subset.md`).

pub mod sign;
