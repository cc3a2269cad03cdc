//! Kill-switch actions: the kill file and the shm control word, and the rule for when a
//! reset is safe.
//!
//! # When a reset is safe
//!
//! `POST /kill/reset` clears the kill file and requests a reset through shm only when the
//! agent can confirm from fresh data that the engine has finished halting:
//!
//! - **No engine** (no stats file): nothing can trade, so clearing the kill file is allowed
//!   (the engine reads it at start).
//! - **Engine mapped** (`ready`): the heartbeat must be fresh, the gauges readable, every kill
//!   request acknowledged (`kill_ack_seq >= kill_request_seq`) and `open_orders == 0`.
//! - **Anything else** (stale heartbeat, starting, incompatible or unmappable file): refused
//!   with 409, because the agent cannot tell whether an engine is still acting. The operator
//!   can still remove the kill file by hand.
//!
//! The engine decides what a reset means for itself (it may stay halted); the agent only
//! stops asking it to halt.

use std::io::Write as _;
use std::path::Path;
use std::time::SystemTime;

use obi_shm::GaugeId;

use crate::engine::{EngineSnapshot, ShmStatus};

/// Longest accepted kill reason, bytes.
pub const MAX_REASON_BYTES: usize = 512;
/// Reason code stored with a kill requested over HTTP (the engine logs it).
pub const HTTP_KILL_REASON_CODE: u32 = 1;

/// Whether a reset may proceed, and what it will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetPlan {
    /// No engine: clear the kill file only.
    FileOnly,
    /// Engine halted safely: clear the kill file and request a reset in shm.
    FileAndEngine,
}

/// Decides whether a reset is safe given a fresh snapshot.
///
/// # Errors
/// A message, safe to show to the operator, saying why not.
pub fn reset_plan(snap: &EngineSnapshot, heartbeat_stale_ms: u64) -> Result<ResetPlan, String> {
    match &snap.status {
        ShmStatus::NoFile => return Ok(ResetPlan::FileOnly),
        ShmStatus::Ready => {}
        other => {
            return Err(format!(
                "cannot confirm the engine is safe (stats file state: {}); remove the kill file by hand if the engine is known to be stopped",
                other.name()
            ));
        }
    }
    if snap
        .heartbeat_age_ms()
        .is_none_or(|age| age > heartbeat_stale_ms)
    {
        return Err("engine heartbeat is stale; cannot confirm it is safe".to_string());
    }
    let Some(gauges) = &snap.gauges else {
        return Err("engine gauges unreadable; try again".to_string());
    };
    if snap.control.is_some_and(|c| c.kill_pending()) {
        return Err("engine has not acknowledged the kill request yet".to_string());
    }
    let open = gauges.get(GaugeId::OpenOrders);
    if open != 0 {
        return Err(format!("engine still reports {open} open orders"));
    }
    Ok(ResetPlan::FileAndEngine)
}

/// Checks an operator-given reason.
///
/// # Errors
/// A message safe to show.
pub fn validate_reason(reason: &str) -> Result<&str, String> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err("reason must not be empty".to_string());
    }
    if reason.len() > MAX_REASON_BYTES {
        return Err(format!("reason is longer than {MAX_REASON_BYTES} bytes"));
    }
    if reason.chars().any(char::is_control) {
        return Err("reason must not contain control characters".to_string());
    }
    Ok(reason)
}

/// Writes the kill file atomically (temp file, fsync, rename): `reason=...`, `time=...`,
/// `by=...` lines.
///
/// # Errors
/// Any I/O failure.
pub fn write_kill_file(path: &Path, reason: &str, by: &str) -> std::io::Result<()> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let name = path
        .file_name()
        .map_or_else(|| "KILL".into(), |n| n.to_string_lossy().into_owned());
    let tmp = parent.join(format!(".{name}.tmp.{}", std::process::id()));
    let body = format!(
        "reason={reason}\ntime={}\nby={by}\n",
        humantime::format_rfc3339_seconds(SystemTime::now())
    );
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(body.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Ok(dir) = std::fs::File::open(parent) {
        // Best effort: makes the rename durable on file systems that need it.
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Removes the kill file; `Ok(false)` when there was none.
///
/// # Errors
/// Any I/O failure other than "not found".
pub fn remove_kill_file(path: &Path) -> std::io::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        assert_eq!(validate_reason("  drill ").unwrap(), "drill");
        assert!(validate_reason("").is_err());
        assert!(validate_reason("a\nb").is_err());
        assert!(validate_reason(&"x".repeat(MAX_REASON_BYTES + 1)).is_err());
    }

    #[test]
    fn no_engine_resets_file_only() {
        let snap = EngineSnapshot::initial();
        assert_eq!(reset_plan(&snap, 2_000), Ok(ResetPlan::FileOnly));
        let snap = EngineSnapshot {
            status: ShmStatus::NoVersionYet,
            ..EngineSnapshot::initial()
        };
        assert!(reset_plan(&snap, 2_000).is_err());
    }
}
