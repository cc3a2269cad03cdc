//! Backups of the engine's state dir, configs and parameter files: tar + zstd archives with
//! a SHA-256 manifest, written atomically ([`create`]), verified by a trial restore
//! ([`extract`]), pruned by generations ([`retention`], [`prune`]), and restored atomically
//! while the engine is down ([`restore`]). [`run_once`] is what `obi-agent backup` and the
//! schedule do.

pub mod catalog;
pub mod create;
pub mod error;
pub mod extract;
pub mod fsutil;
pub mod manifest;
pub mod prune;
pub mod restore;
pub mod retention;
pub mod status;

use chrono::{DateTime, Utc};

pub use create::{BackupInputs, BackupOutcome};
pub use error::BackupError;
use status::BackupStatus;

use crate::config::Config;

/// The inputs named by the config: the state dir, the agent config file it was loaded from,
/// the engine config and the parameter files.
#[must_use]
pub fn inputs(config: &Config) -> BackupInputs {
    BackupInputs {
        state_dir: config.state_dir.clone(),
        exclude: vec![config.backup.dir.clone()],
        config_files: config
            .source_path
            .iter()
            .chain(config.backup.engine_config.iter())
            .cloned()
            .collect(),
        param_files: config.backup.param_files.clone(),
    }
}

/// One backup: create, verify (trial restore), prune, record the status. Returns the
/// outcome and the updated status (stored in the backup dir either way).
pub fn run_once(
    config: &Config,
    now: DateTime<Utc>,
) -> (Result<BackupOutcome, BackupError>, BackupStatus) {
    let dir = &config.backup.dir;
    let result = create::create(&inputs(config), dir, now).and_then(|outcome| {
        extract::verify(&outcome.archive)?;
        let removed = prune::prune(dir, &config.backup.retention)?;
        for r in &removed {
            tracing::info!(archive = %r.display(), "pruned by retention");
        }
        Ok(outcome)
    });
    let mut status = BackupStatus::load(dir);
    let now_ms = now.timestamp_millis();
    match &result {
        Ok(o) => {
            let name = o
                .archive
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            status.succeeded(now_ms, &name);
        }
        Err(e) => status.failed(now_ms, &e.to_string()),
    }
    if let Err(e) = status.store(dir) {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot record the backup status");
    }
    (result, status)
}
