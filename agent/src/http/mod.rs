//! The HTTP surface: routes and handlers. Read-only endpoints are open (the agent binds
//! loopback by default); control endpoints need a bearer token and, if configured, TOTP.

mod client;
mod control;
mod health;
mod metrics;

pub use client::ClientAddr;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// The agent's router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/healthz/detailed", get(health::detailed))
        .route("/metrics", get(metrics::metrics))
        .route("/kill", post(control::kill))
        .route("/kill/reset", post(control::reset))
        .with_state(state)
}
