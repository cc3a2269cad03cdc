//! `restore`: refuse while the engine is alive, extract and verify into a sibling temp dir,
//! then swap directories.
//!
//! The engine counts as running when its stats file exists and either its heartbeat is
//! younger than `engine.heartbeat_stale_ms` or its pid is alive (`/proc/<pid>` exists); a
//! stats file that cannot be read (being created, incompatible layout) also refuses, since
//! liveness cannot be ruled out. No stats file means no engine.
//!
//! The swap is two renames in the state dir's parent (same file system): the current state
//! dir becomes `<name>.pre-restore-<time>` (kept for the operator), then the verified copy
//! becomes `<name>`, then the parent is fsynced. Should the second rename fail, the first is
//! undone. Config and parameter files from the archive are not written over live files: they
//! are left for review in `<name>.restored-<time>/{config,params}`.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::error::BackupError;
use super::extract::extract_verified;
use super::fsutil::{parent_of, sync_dir};
use crate::engine::{EnginePoller, ShmStatus, unix_now_ns};

/// Why the engine is considered running, or `None` when it is not.
#[must_use]
pub fn engine_running(shm_path: &Path, heartbeat_stale_ms: u64) -> Option<String> {
    let snap = EnginePoller::new(shm_path.to_path_buf()).poll_at(unix_now_ns());
    match &snap.status {
        ShmStatus::NoFile => None,
        ShmStatus::Ready => {
            let header = snap.header.as_ref()?;
            let age_ms = snap.heartbeat_age_ms().unwrap_or(u64::MAX);
            if age_ms <= heartbeat_stale_ms {
                return Some(format!(
                    "heartbeat {age_ms} ms old in {}",
                    shm_path.display()
                ));
            }
            let pid = header.pid;
            (pid != 0 && pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists())
                .then(|| format!("pid {pid} from {} is alive", shm_path.display()))
        }
        other => Some(format!(
            "stats file {} is {} (cannot tell whether the engine is alive)",
            shm_path.display(),
            other.name()
        )),
    }
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreOutcome {
    /// The restored state dir.
    pub state_dir: PathBuf,
    /// Where the previous state dir was moved, if there was one.
    pub previous: Option<PathBuf>,
    /// Config and parameter files from the archive, for review.
    pub extras: PathBuf,
    /// Files restored into the state dir.
    pub state_files: usize,
}

/// Restores `archive` into `state_dir` after checking no engine uses `shm_path`.
///
/// # Errors
/// [`BackupError::EngineRunning`], or any verification or I/O failure (the current state
/// dir is untouched in every failure before the swap).
pub fn restore(
    archive: &Path,
    state_dir: &Path,
    shm_path: &Path,
    heartbeat_stale_ms: u64,
    now: DateTime<Utc>,
) -> Result<RestoreOutcome, BackupError> {
    if let Some(why) = engine_running(shm_path, heartbeat_stale_ms) {
        return Err(BackupError::EngineRunning(why));
    }
    let parent = parent_of(state_dir);
    let name = state_dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| BackupError::BadName(state_dir.to_path_buf()))?
        .to_string();
    std::fs::create_dir_all(parent).map_err(BackupError::io("create", parent))?;
    let work = tempfile::Builder::new()
        .prefix(&format!(".{name}.restore-"))
        .tempdir_in(parent)
        .map_err(BackupError::io("create temp dir in", parent))?;
    let extracted = extract_verified(archive, work.path())?;
    let state_files = extracted
        .manifest
        .files
        .keys()
        .filter(|k| k.starts_with("state/"))
        .count();
    let new_state = work.path().join("state");
    std::fs::create_dir_all(&new_state).map_err(BackupError::io("create", &new_state))?;

    let stamp = now.format("%Y%m%dT%H%M%SZ");
    let previous = parent.join(format!("{name}.pre-restore-{stamp}"));
    let had_previous = state_dir.exists();
    if had_previous {
        std::fs::rename(state_dir, &previous).map_err(BackupError::io("move aside", state_dir))?;
    }
    if let Err(e) = std::fs::rename(&new_state, state_dir) {
        if had_previous {
            let _ = std::fs::rename(&previous, state_dir);
        }
        return Err(BackupError::io("rename into place", state_dir)(e));
    }
    sync_dir(parent)?;
    let extras = parent.join(format!("{name}.restored-{stamp}"));
    let work_path = work.keep();
    std::fs::rename(&work_path, &extras).map_err(BackupError::io("rename", &work_path))?;
    sync_dir(parent)?;
    Ok(RestoreOutcome {
        state_dir: state_dir.to_path_buf(),
        previous: had_previous.then_some(previous),
        extras,
        state_files,
    })
}
