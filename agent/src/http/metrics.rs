//! `GET /metrics`: Prometheus text exposition.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::metrics::{CONTENT_TYPE, render};
use crate::state::AppState;

/// Renders the latest snapshot and the agent's own facts.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let local = state.local_facts();
    let body = render(&state.latest(), &state.agent_facts(&local));
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body)
}
