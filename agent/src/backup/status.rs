//! The last backup's outcome, kept in `<backup dir>/last-backup.json` so the one-shot
//! command, the scheduler, health, metrics and alerts agree across restarts.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// File name of the status record inside the backup dir.
pub const STATUS_FILE: &str = "last-backup.json";

/// Outcome of the latest attempt and the latest success.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupStatus {
    /// Last attempt, Unix milliseconds.
    pub last_attempt_unix_ms: Option<i64>,
    /// Whether it succeeded.
    pub last_attempt_ok: Option<bool>,
    /// Its error, when it failed.
    pub last_error: Option<String>,
    /// Last success, Unix milliseconds.
    pub last_success_unix_ms: Option<i64>,
    /// Archive written by the last success (file name).
    pub last_archive: Option<String>,
}

impl BackupStatus {
    /// Reads the status from `dir`; a missing or unreadable record is "no backup yet".
    #[must_use]
    pub fn load(dir: &Path) -> Self {
        std::fs::read(dir.join(STATUS_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Records a success.
    pub fn succeeded(&mut self, now_unix_ms: i64, archive: &str) {
        self.last_attempt_unix_ms = Some(now_unix_ms);
        self.last_attempt_ok = Some(true);
        self.last_error = None;
        self.last_success_unix_ms = Some(now_unix_ms);
        self.last_archive = Some(archive.to_string());
    }

    /// Records a failure.
    pub fn failed(&mut self, now_unix_ms: i64, error: &str) {
        self.last_attempt_unix_ms = Some(now_unix_ms);
        self.last_attempt_ok = Some(false);
        self.last_error = Some(error.to_string());
    }

    /// Writes the record (temp file + rename) into `dir`.
    ///
    /// # Errors
    /// Any I/O error.
    pub fn store(&self, dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let tmp = dir.join(format!(".{STATUS_FILE}.tmp"));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, dir.join(STATUS_FILE))
    }
}
