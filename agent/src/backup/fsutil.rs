//! Small file-system helpers: stable copies with hashing, directory fsync, atomic renames.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::error::BackupError;

/// Attempts to get a copy during which the source did not change.
pub const STABLE_COPY_ATTEMPTS: u32 = 5;

/// Copies `src` to `dst`, hashing as it goes, and checks that the source's size and mtime
/// did not change during the copy (and that the copied length equals that size); retries
/// up to [`STABLE_COPY_ATTEMPTS`] times, then fails rather than archive a torn file.
/// Returns the hex SHA-256 and the length.
///
/// # Errors
/// [`BackupError::Unstable`] or I/O errors.
pub fn stable_copy(src: &Path, dst: &Path) -> Result<(String, u64), BackupError> {
    for attempt in 1..=STABLE_COPY_ATTEMPTS {
        let before = stamp(src)?;
        let (hash, len) = copy_hashing(src, dst)?;
        let after = stamp(src)?;
        if before == after && len == before.0 {
            return Ok((hash, len));
        }
        tracing::debug!(file = %src.display(), attempt, "file changed while copying; retrying");
        std::thread::sleep(Duration::from_millis(20 * u64::from(attempt)));
    }
    Err(BackupError::Unstable {
        path: src.to_path_buf(),
        attempts: STABLE_COPY_ATTEMPTS,
    })
}

fn stamp(p: &Path) -> Result<(u64, Option<SystemTime>), BackupError> {
    let m = std::fs::metadata(p).map_err(BackupError::io("stat", p))?;
    Ok((m.len(), m.modified().ok()))
}

fn copy_hashing(src: &Path, dst: &Path) -> Result<(String, u64), BackupError> {
    let mut input = File::open(src).map_err(BackupError::io("open", src))?;
    let mut output = File::create(dst).map_err(BackupError::io("create", dst))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0_u8; 64 * 1024];
    let mut len = 0_u64;
    loop {
        let n = input.read(&mut buf).map_err(BackupError::io("read", src))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        output
            .write_all(&buf[..n])
            .map_err(BackupError::io("write", dst))?;
        len += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), len))
}

/// Hex SHA-256 of a file's content.
///
/// # Errors
/// I/O errors.
pub fn sha256_file(p: &Path) -> Result<String, BackupError> {
    let mut f = File::open(p).map_err(BackupError::io("open", p))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0_u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(BackupError::io("read", p))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// fsyncs a directory so a rename inside it is durable.
///
/// # Errors
/// I/O errors.
pub fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(BackupError::io("fsync dir", dir))
}

/// Writes `bytes` to `path` atomically: temp file beside it, fsync, rename, fsync dir.
///
/// # Errors
/// I/O errors.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let dir = parent_of(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(BackupError::io("create temp in", dir))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(BackupError::io("write", tmp.path().to_path_buf()))?;
    tmp.persist(path)
        .map_err(|e| BackupError::io("rename to", path)(e.error))?;
    sync_dir(dir)
}

/// The directory holding `path` (`.` for a bare name).
#[must_use]
pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
