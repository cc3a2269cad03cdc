//! Verified extraction: unpack an archive into an empty dir, refusing unsafe entries, then
//! check every file against the manifest (and the archive against its `.sha256`). Shared by
//! `backup verify` (trial restore into a temp dir) and `restore`.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, Read as _};
use std::path::{Component, Path};

use super::catalog::sidecar;
use super::error::BackupError;
use super::fsutil::sha256_file;
use super::manifest::{MANIFEST_NAME, Manifest};

/// Largest manifest accepted, bytes.
const MAX_MANIFEST_BYTES: u64 = 64 * 1024 * 1024;

/// What a verified extraction found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// The manifest.
    pub manifest: Manifest,
    /// Whether a `.sha256` beside the archive was checked.
    pub archive_checksum_checked: bool,
}

/// Checks the archive's `.sha256` sidecar, when present.
///
/// # Errors
/// [`BackupError::ArchiveChecksum`] or I/O errors.
pub fn check_sidecar(archive: &Path) -> Result<bool, BackupError> {
    let side = sidecar(archive);
    let text = match std::fs::read_to_string(&side) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(BackupError::io("read", side)(e)),
    };
    let expected = text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let actual = sha256_file(archive)?;
    if !expected.eq_ignore_ascii_case(&actual) {
        return Err(BackupError::ArchiveChecksum {
            archive: archive.to_path_buf(),
            expected,
            actual,
        });
    }
    Ok(true)
}

/// Extracts `archive` into the empty dir `into` and verifies every file.
///
/// # Errors
/// [`BackupError`] naming the archive or the file at fault.
pub fn extract_verified(archive: &Path, into: &Path) -> Result<Extracted, BackupError> {
    let archive_checksum_checked = check_sidecar(archive)?;
    let corrupt = |e: std::io::Error| BackupError::Corrupt {
        archive: archive.to_path_buf(),
        detail: e.to_string(),
    };
    let file = File::open(archive).map_err(BackupError::io("open", archive))?;
    let dec = zstd::Decoder::new(BufReader::new(file)).map_err(corrupt)?;
    let mut tar = tar::Archive::new(dec);
    let mut manifest: Option<Manifest> = None;
    let mut seen = BTreeSet::new();
    for entry in tar.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let path = entry.path().map_err(corrupt)?.into_owned();
        let name = path.to_string_lossy().to_string();
        let safe = path.components().all(|c| matches!(c, Component::Normal(_)));
        let kind = entry.header().entry_type();
        if !safe || !(kind.is_file() || kind.is_dir()) {
            return Err(BackupError::UnsafeEntry(name));
        }
        if manifest.is_none() {
            if name != MANIFEST_NAME || !kind.is_file() {
                return Err(BackupError::BadManifest {
                    archive: archive.to_path_buf(),
                    detail: format!("first entry is {name}, not {MANIFEST_NAME}"),
                });
            }
            let mut text = String::new();
            entry
                .by_ref()
                .take(MAX_MANIFEST_BYTES)
                .read_to_string(&mut text)
                .map_err(corrupt)?;
            let parsed = Manifest::parse(&text).map_err(|detail| BackupError::BadManifest {
                archive: archive.to_path_buf(),
                detail,
            })?;
            manifest = Some(parsed);
            continue;
        }
        if kind.is_dir() {
            continue;
        }
        if !seen.insert(name.clone()) {
            return Err(BackupError::UnsafeEntry(format!("{name} (twice)")));
        }
        let unpacked = entry.unpack_in(into).map_err(corrupt)?;
        if !unpacked {
            return Err(BackupError::UnsafeEntry(name));
        }
    }
    let manifest = manifest.ok_or_else(|| BackupError::BadManifest {
        archive: archive.to_path_buf(),
        detail: "empty archive".to_string(),
    })?;
    for name in &seen {
        if !manifest.files.contains_key(name) {
            return Err(BackupError::Unlisted(name.clone()));
        }
    }
    for (name, expected) in &manifest.files {
        if !seen.contains(name) {
            return Err(BackupError::Missing(name.clone()));
        }
        let actual = sha256_file(&into.join(name))?;
        if &actual != expected {
            return Err(BackupError::FileChecksum {
                file: name.clone(),
                expected: expected.clone(),
                actual,
            });
        }
    }
    Ok(Extracted {
        manifest,
        archive_checksum_checked,
    })
}

/// `backup verify`: checksums plus a trial restore into a temp dir (removed afterwards).
///
/// # Errors
/// [`BackupError`] naming the archive or file at fault.
pub fn verify(archive: &Path) -> Result<Extracted, BackupError> {
    let dir = tempfile::Builder::new()
        .prefix("obi-backup-verify-")
        .tempdir()
        .map_err(BackupError::io("create temp dir", std::env::temp_dir()))?;
    extract_verified(archive, dir.path())
}
