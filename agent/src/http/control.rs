//! `POST /kill` and `POST /kill/reset`: authenticated, rate-limited on failure, audited.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::audit::Who;
use crate::auth::{AuthError, Principal};
use crate::control::{
    HTTP_KILL_REASON_CODE, ResetPlan, remove_kill_file, reset_plan, validate_reason,
    write_kill_file,
};
use crate::error::AgentError;
use crate::http::ClientAddr;
use crate::state::AppState;

/// Body of `POST /kill`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KillBody {
    reason: String,
}

/// Body of `POST /kill/reset` (optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    reason: Option<String>,
}

fn authorize(
    state: &AppState,
    action: &str,
    client: ClientAddr,
    headers: &HeaderMap,
) -> Result<(Principal, Who), AgentError> {
    let auth = state.auth().ok_or(AgentError::ControlDisabled)?;
    let key = client.key();
    let now = Instant::now();
    if state.limiter().is_blocked(&key, now) {
        state.count_auth_failure();
        return Err(AgentError::TooManyAttempts);
    }
    let unix_secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut who = Who {
        token_id: None,
        remote_addr: client.0.map(|a| a.to_string()),
    };
    match auth.check(headers, unix_secs) {
        Ok(principal) => {
            who.token_id = Some(principal.token_id.clone());
            Ok((principal, who))
        }
        Err(e) => {
            state.limiter().record_failure(&key, now);
            state.count_auth_failure();
            let detail = e.to_string();
            if let Err(audit_err) = state.audit().append(action, &who, None, "denied", &detail) {
                tracing::error!(error = %audit_err, "audit log append failed");
            }
            tracing::warn!(action, remote = ?who.remote_addr, "control request denied: {detail}");
            Err(match e {
                AuthError::BadToken => AgentError::Unauthorized,
                AuthError::BadSecondFactor => AgentError::Forbidden,
            })
        }
    }
}

fn audit(
    state: &AppState,
    action: &str,
    who: &Who,
    reason: Option<&str>,
    result: &str,
    detail: &str,
) {
    if let Err(e) = state.audit().append(action, who, reason, result, detail) {
        tracing::error!(error = %e, "audit log append failed");
    }
}

/// Creates the kill file and sets the shm kill request.
pub async fn kill(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AgentError> {
    let (principal, who) = authorize(&state, "kill", client, &headers)?;
    let parsed: KillBody = serde_json::from_slice(&body).map_err(|_| {
        AgentError::BadRequest("body must be JSON: {\"reason\": \"...\"}".to_string())
    })?;
    let reason = validate_reason(&parsed.reason).map_err(AgentError::BadRequest)?;
    state.count_control_action();

    // The control word first: it is the fastest way to halt a running engine.
    let snap = state.refresh_engine();
    let kill_request_seq = state
        .engine_view()
        .map(|view| view.request_kill(HTTP_KILL_REASON_CODE));
    let kill_file = &state.config().kill_file;
    let file_result = write_kill_file(kill_file, reason, &principal.token_id);
    let engine = if kill_request_seq.is_some() {
        "kill requested in shm"
    } else {
        "no engine mapped"
    };
    match file_result {
        Ok(()) => {
            let detail = format!("kill file written; {engine}");
            audit(&state, "kill", &who, Some(reason), "ok", &detail);
            tracing::warn!(token_id = %principal.token_id, %reason, "kill requested");
            Ok(Json(json!({
                "result": "ok",
                "kill_file": kill_file.display().to_string(),
                "kill_request_seq": kill_request_seq,
                "engine_state": snap.status.name(),
            })))
        }
        Err(e) => {
            let detail = format!("kill file write failed; {engine}");
            audit(&state, "kill", &who, Some(reason), "error", &detail);
            Err(AgentError::Internal(format!(
                "writing kill file {}: {e}",
                kill_file.display()
            )))
        }
    }
}

/// Clears the kill file and requests a reset, when [`reset_plan`] says it is safe.
pub async fn reset(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AgentError> {
    let (_principal, who) = authorize(&state, "kill_reset", client, &headers)?;
    let parsed: ResetBody = if body.iter().all(u8::is_ascii_whitespace) {
        ResetBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            AgentError::BadRequest("body must be empty or JSON: {\"reason\": \"...\"}".to_string())
        })?
    };
    let reason = parsed
        .reason
        .as_deref()
        .map(validate_reason)
        .transpose()
        .map_err(AgentError::BadRequest)?;
    state.count_control_action();

    let snap = state.refresh_engine();
    let plan = match reset_plan(&snap, state.config().heartbeat_stale_ms) {
        Ok(plan) => plan,
        Err(why) => {
            audit(&state, "kill_reset", &who, reason, "refused", &why);
            return Err(AgentError::Conflict(why));
        }
    };
    let kill_file = &state.config().kill_file;
    let removed = match remove_kill_file(kill_file) {
        Ok(removed) => removed,
        Err(e) => {
            audit(
                &state,
                "kill_reset",
                &who,
                reason,
                "error",
                "kill file removal failed",
            );
            return Err(AgentError::Internal(format!(
                "removing kill file {}: {e}",
                kill_file.display()
            )));
        }
    };
    let reset_request_seq = match plan {
        ResetPlan::FileOnly => None,
        ResetPlan::FileAndEngine => state.engine_view().map(|v| v.request_reset()),
    };
    let detail = format!(
        "kill file {}; {}",
        if removed { "removed" } else { "was absent" },
        if reset_request_seq.is_some() {
            "reset requested in shm"
        } else {
            "no engine mapped"
        }
    );
    audit(&state, "kill_reset", &who, reason, "ok", &detail);
    tracing::warn!(%detail, "kill reset");
    Ok(Json(json!({
        "result": "ok",
        "kill_file_removed": removed,
        "reset_request_seq": reset_request_seq,
        "engine_state": snap.status.name(),
    })))
}
