//! Network plumbing for live venues: endpoint URLs, connection setup (blocking, always off
//! the core thread), non-blocking WebSocket I/O, and reconnect backoff.

pub mod backoff;
pub mod tls;
pub mod url;
pub mod ws;

pub use backoff::Backoff;
pub use url::{Endpoint, UrlError};
pub use ws::{NetError, WsConn, WsRead};
