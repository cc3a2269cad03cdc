//! What can go wrong with a backup, a verification or a restore. Every variant names the
//! file at fault.

use std::path::PathBuf;

/// A backup, verify or restore failure.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A file-system operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file kept changing while it was copied (size or mtime moved every attempt).
    #[error("{} kept changing while being copied ({attempts} attempts); not archived torn", path.display())]
    Unstable {
        /// The file.
        path: PathBuf,
        /// Attempts made.
        attempts: u32,
    },
    /// Two inputs would have the same name in the archive.
    #[error("two inputs map to {0} in the archive")]
    DuplicateName(String),
    /// A path that cannot be written into a line-based manifest.
    #[error("{} has a name the manifest cannot hold (newline or not UTF-8)", .0.display())]
    BadName(PathBuf),
    /// The archive's own checksum (sidecar `.sha256`) does not match.
    #[error("CHECKSUM MISMATCH: archive {} has sha256 {actual}, its .sha256 file says {expected}", archive.display())]
    ArchiveChecksum {
        /// The archive.
        archive: PathBuf,
        /// From the sidecar.
        expected: String,
        /// Computed.
        actual: String,
    },
    /// The archive cannot be decompressed or read as tar (corrupt or truncated).
    #[error("CORRUPT ARCHIVE {}: {detail}", archive.display())]
    Corrupt {
        /// The archive.
        archive: PathBuf,
        /// Decoder's message.
        detail: String,
    },
    /// The archive has no `MANIFEST.sha256` as its first entry, or it cannot be parsed.
    #[error("CORRUPT ARCHIVE {}: bad manifest: {detail}", archive.display())]
    BadManifest {
        /// The archive.
        archive: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A file's content does not match the manifest.
    #[error("CHECKSUM MISMATCH: {file} has sha256 {actual}, the manifest says {expected}")]
    FileChecksum {
        /// Path inside the archive.
        file: String,
        /// From the manifest.
        expected: String,
        /// Computed after extraction.
        actual: String,
    },
    /// A file listed in the manifest is not in the archive.
    #[error("MISSING FILE: {0} is in the manifest but not in the archive")]
    Missing(String),
    /// A file in the archive is not in the manifest.
    #[error("UNLISTED FILE: {0} is in the archive but not in the manifest")]
    Unlisted(String),
    /// An entry that could escape the target or is not a plain file or directory.
    #[error("UNSAFE ENTRY: {0} (absolute, `..`, link or device); refusing to extract")]
    UnsafeEntry(String),
    /// The engine looks alive; restoring under it would corrupt its state.
    #[error("refusing to restore: the engine is running ({0}); stop it first")]
    EngineRunning(String),
    /// No archive found.
    #[error("no backup archives in {}", .0.display())]
    NoBackups(PathBuf),
    /// An archive with this name already exists.
    #[error("{} already exists", .0.display())]
    Exists(PathBuf),
}

impl BackupError {
    /// Wraps an I/O error with what and where.
    pub fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }
}
