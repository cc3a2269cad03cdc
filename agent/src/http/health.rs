//! `GET /healthz` (readiness verdict: 200 or 503 with reasons) and `GET /healthz/detailed`
//! (the full report). See [`crate::health`] for liveness vs readiness.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::health::{Status, evaluate};
use crate::state::AppState;

fn status_code(status: Status) -> StatusCode {
    match status {
        Status::Healthy => StatusCode::OK,
        Status::Unhealthy => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Short verdict: `{"status": "...", "reasons": [...]}`.
pub async fn healthz(State(state): State<AppState>) -> Response {
    let report = evaluate(&state.latest(), &state.local_facts(), state.thresholds());
    let body = json!({ "status": report.status, "reasons": report.reasons });
    (status_code(report.status), Json(body)).into_response()
}

/// Full report, with the same status code as `/healthz`.
pub async fn detailed(State(state): State<AppState>) -> Response {
    let report = evaluate(&state.latest(), &state.local_facts(), state.thresholds());
    (status_code(report.status), Json(report)).into_response()
}
