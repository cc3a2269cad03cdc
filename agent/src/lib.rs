//! obi-agent: the operator's process beside `obi-engine`. It maps the engine's stats file
//! (`obi-shm`), serves health and Prometheus metrics, and turns authenticated operator
//! commands into the kill file and the shm control word. It never sits on the trading path:
//! the engine keeps trading, and keeps honouring its kill switch, whether the agent is up or
//! not.
//!
//! [`app`] builds the router from an [`AppState`], so tests drive it with
//! `tower::ServiceExt::oneshot` without opening a port; `main.rs` only parses the CLI.
#![forbid(unsafe_code)]

pub mod alerts;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod config;
pub mod control;
pub mod engine;
pub mod error;
pub mod health;
pub mod http;
pub mod metrics;
pub mod secrets;
pub mod server;
pub mod shutdown;
pub mod state;
pub mod tasks;

pub use error::AgentError;
pub use state::{AppState, Secrets};

/// The agent's HTTP router.
pub fn app(state: AppState) -> axum::Router {
    http::router(state)
}
