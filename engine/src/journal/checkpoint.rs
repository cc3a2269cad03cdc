//! The checkpoint file: the folded [`JournalState`] as JSON behind a checksummed, versioned
//! header line, replaced atomically (temp file, fsync, rename, fsync directory).
//!
//! ```text
//! OBI-CHECKPOINT <version> <body length, bytes> <CRC-32 of the body, 8 hex digits>\n
//! <body: JournalState as JSON>
//! ```
//!
//! Loading never half-loads: a wrong magic or version, a length that does not match (a
//! truncated file), a checksum mismatch or a body that does not parse is an error naming
//! the file and the cause.

use super::file::sync_parent_dir;
use super::state::JournalState;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Checkpoint format version written by this build.
pub const CHECKPOINT_VERSION: u32 = 1;
const MAGIC: &str = "OBI-CHECKPOINT";
/// Longest body accepted when loading, bytes (a damaged length must not allocate wildly).
const MAX_BODY_BYTES: usize = 64 << 20;

/// Why a checkpoint cannot be written or loaded.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// An I/O operation failed.
    #[error("checkpoint {}: cannot {op}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The first line is not a checkpoint header.
    #[error("{} is not an obi checkpoint (bad header line)", path.display())]
    BadHeader {
        /// The file.
        path: PathBuf,
    },
    /// A version this build cannot read.
    #[error("checkpoint {} has version {version}; this build reads version {CHECKPOINT_VERSION}", path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Version found.
        version: u32,
    },
    /// The body is shorter or longer than the header says: truncated or appended to.
    #[error("checkpoint {} is truncated or damaged: header says {expected} body bytes, file has {found}", path.display())]
    Length {
        /// The file.
        path: PathBuf,
        /// Bytes the header announces.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// The body's checksum does not match.
    #[error("checkpoint {} is corrupt: checksum {stored:08x} in the header, {computed:08x} computed", path.display())]
    Checksum {
        /// The file.
        path: PathBuf,
        /// From the header.
        stored: u32,
        /// Of the body.
        computed: u32,
    },
    /// The body passed its checksum but is not a valid state.
    #[error("checkpoint {} has an invalid body: {message}", path.display())]
    Body {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// A loaded checkpoint.
#[derive(Debug)]
pub struct LoadedCheckpoint {
    /// The state as of `state.last_seq`.
    pub state: JournalState,
    /// A temp file left by a write that never reached its rename was removed.
    pub removed_temp: bool,
}

/// The temp file a write goes through before its rename: `<path>.tmp`.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

/// Serializes `state` into the checkpoint file format.
pub fn encode(state: &JournalState) -> Vec<u8> {
    // A JournalState of plain numbers, strings, vecs and options always serializes.
    let body = serde_json::to_vec_pretty(state).unwrap_or_default();
    let crc = crc32fast::hash(&body);
    let mut out = format!("{MAGIC} {CHECKPOINT_VERSION} {} {crc:08x}\n", body.len()).into_bytes();
    out.extend_from_slice(&body);
    out.push(b'\n');
    out
}

/// Writes `state` to `path` atomically: `<path>.tmp` is written and fsynced, renamed over
/// `path`, and the directory is fsynced. A crash leaves either the old or the new file
/// (and possibly a temp file, which [`load`] removes).
pub fn write(path: &Path, state: &JournalState) -> Result<(), CheckpointError> {
    let io = |op: &'static str| {
        let path = path.to_path_buf();
        move |source| CheckpointError::Io { path, op, source }
    };
    let tmp = temp_path(path);
    let bytes = encode(state);
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(io("create temp file"))?;
    f.write_all(&bytes).map_err(io("write temp file"))?;
    f.sync_all().map_err(io("fsync temp file"))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io("rename temp file"))?;
    sync_parent_dir(path).map_err(io("fsync directory"))
}

/// Loads the checkpoint at `path`: `Ok(None)` if there is none. A leftover temp file from
/// an interrupted write is removed first (the file at `path`, if any, is the last complete
/// checkpoint).
pub fn load(path: &Path) -> Result<Option<LoadedCheckpoint>, CheckpointError> {
    let io = |op: &'static str| {
        let path = path.to_path_buf();
        move |source| CheckpointError::Io { path, op, source }
    };
    let tmp = temp_path(path);
    let removed_temp = match std::fs::remove_file(&tmp) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(io("remove stale temp file")(e)),
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("read")(e)),
    };
    let state = decode(path, &bytes)?;
    Ok(Some(LoadedCheckpoint {
        state,
        removed_temp,
    }))
}

/// Parses checkpoint bytes; `path` only names the file in errors.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<JournalState, CheckpointError> {
    let bad_header = || CheckpointError::BadHeader {
        path: path.to_path_buf(),
    };
    let nl = bytes
        .iter()
        .take(128)
        .position(|&b| b == b'\n')
        .ok_or_else(bad_header)?;
    let header = std::str::from_utf8(&bytes[..nl]).map_err(|_| bad_header())?;
    let mut fields = header.split(' ');
    if fields.next() != Some(MAGIC) {
        return Err(bad_header());
    }
    let version: u32 = fields.next().and_then(digits).ok_or_else(bad_header)?;
    if version != CHECKPOINT_VERSION {
        return Err(CheckpointError::UnsupportedVersion {
            path: path.to_path_buf(),
            version,
        });
    }
    let len: usize = fields.next().and_then(digits).ok_or_else(bad_header)?;
    let stored = fields
        .next()
        .filter(|v| v.len() == 8 && v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .and_then(|v| u32::from_str_radix(v, 16).ok())
        .ok_or_else(bad_header)?;
    if fields.next().is_some() || len > MAX_BODY_BYTES {
        return Err(bad_header());
    }
    // The body is followed by one newline.
    let rest = &bytes[nl + 1..];
    let body_found = rest.len().saturating_sub(1);
    if rest.len() != len + 1 || rest.last() != Some(&b'\n') {
        return Err(CheckpointError::Length {
            path: path.to_path_buf(),
            expected: len,
            found: if rest.last() == Some(&b'\n') {
                body_found
            } else {
                rest.len()
            },
        });
    }
    let body = &rest[..len];
    let computed = crc32fast::hash(body);
    if computed != stored {
        return Err(CheckpointError::Checksum {
            path: path.to_path_buf(),
            stored,
            computed,
        });
    }
    serde_json::from_slice(body).map_err(|e| CheckpointError::Body {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// A plain decimal number (no sign, no leading zeros beyond a single `0`), so every header
/// byte matters.
fn digits<T: std::str::FromStr>(text: &str) -> Option<T> {
    let plain = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && !(text.len() > 1 && text.starts_with('0'));
    if plain { text.parse().ok() } else { None }
}
