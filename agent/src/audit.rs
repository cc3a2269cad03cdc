//! Append-only audit log of control actions, one JSON object per line:
//! `{"time","unix_ms","action","who":{"token_id","remote_addr"},"reason","result","detail"}`.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::Serialize;

/// Who asked.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Who {
    /// Token fingerprint when authenticated, else `None`.
    pub token_id: Option<String>,
    /// Client address, when known.
    pub remote_addr: Option<String>,
}

/// One audit record.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord<'a> {
    /// RFC 3339 UTC time.
    pub time: String,
    /// Unix milliseconds.
    pub unix_ms: u128,
    /// `kill`, `kill_reset`.
    pub action: &'a str,
    /// Who asked.
    pub who: &'a Who,
    /// Operator-given reason, if any.
    pub reason: Option<&'a str>,
    /// `ok`, `denied`, `refused`, `error`.
    pub result: &'a str,
    /// Short description of what happened.
    pub detail: &'a str,
}

/// Why an audit record could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot append to audit log {}: {source}", path.display())]
pub struct AuditError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

/// The audit log file; appends are serialised.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    lock: Mutex<()>,
}

impl AuditLog {
    /// An audit log at `path` (created owner-only on first append).
    #[must_use]
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: Mutex::new(()),
        }
    }

    /// The log path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record, stamped now.
    ///
    /// # Errors
    /// [`AuditError`] on any I/O failure.
    pub fn append(
        &self,
        action: &str,
        who: &Who,
        reason: Option<&str>,
        result: &str,
        detail: &str,
    ) -> Result<(), AuditError> {
        let now = SystemTime::now();
        let record = AuditRecord {
            time: humantime::format_rfc3339_millis(now).to_string(),
            unix_ms: now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
            action,
            who,
            reason,
            result,
            detail,
        };
        let err = |source| AuditError {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(&record).map_err(|e| err(e.into()))?;
        line.push(b'\n');
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(err)?;
        // One write call per line: appends from one process never interleave.
        file.write_all(&line).map_err(err)?;
        file.sync_data().map_err(err)
    }
}
