//! The one error type HTTP handlers return. Its response body is a fixed code and a safe
//! message; internal details go to the log only.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A handler failure, mapped to a status code and a body that never leaks internals.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Missing or wrong bearer token (401).
    #[error("unauthorized")]
    Unauthorized,
    /// Missing or wrong second factor (403).
    #[error("forbidden")]
    Forbidden,
    /// Too many failed authentications from this client (429).
    #[error("too many failed attempts")]
    TooManyAttempts,
    /// Control endpoints are disabled: no token configured (503).
    #[error("control disabled")]
    ControlDisabled,
    /// The request is malformed; the message is safe to show (400).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The action is refused in the current state; the message is safe to show (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Anything else (500). The detail is logged, never returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl IntoResponse for AgentError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", None),
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden", None),
            Self::TooManyAttempts => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", None),
            Self::ControlDisabled => (
                StatusCode::SERVICE_UNAVAILABLE,
                "control_disabled",
                Some("no control token is configured".to_string()),
            ),
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", Some(m.clone())),
            Self::Conflict(m) => (StatusCode::CONFLICT, "conflict", Some(m.clone())),
            Self::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", None)
            }
        };
        let body = match message {
            Some(message) => json!({ "error": code, "message": message }),
            None => json!({ "error": code }),
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
