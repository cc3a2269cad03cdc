//! Deletes archives (and their `.sha256`) that the retention policy does not keep.

use std::path::{Path, PathBuf};

use super::catalog::{list, sidecar};
use super::error::BackupError;
use super::retention::Retention;

/// Prunes `dir`; returns the archives removed, oldest first.
///
/// # Errors
/// I/O errors (listing or deleting).
pub fn prune(dir: &Path, retention: &Retention) -> Result<Vec<PathBuf>, BackupError> {
    let archives = list(dir)?;
    let times: Vec<_> = archives.iter().map(|(t, _)| *t).collect();
    let keep = retention.keep(&times);
    let mut removed = Vec::new();
    for (i, (_, path)) in archives.into_iter().enumerate() {
        if keep.contains(&i) {
            continue;
        }
        std::fs::remove_file(&path).map_err(BackupError::io("remove", &path))?;
        let side = sidecar(&path);
        match std::fs::remove_file(&side) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(BackupError::io("remove", side)(e)),
        }
        removed.push(path);
    }
    Ok(removed)
}
