//! Taking a backup: copy every input into a staging dir with a stable, hashed copy, write
//! the manifest, pack `MANIFEST.sha256` + files into tar + zstd (with zstd's frame checksum)
//! in a temp file, fsync, rename into place, fsync the dir, then write the archive's own
//! `.sha256` the same way.
//!
//! Archive layout: `state/<path in the state dir>`, `config/<file name>` (agent and engine
//! configs), `params/<file name>`. Each file is consistent on its own (copied while its size
//! and mtime stayed put); files are not frozen together — the engine's journal is
//! append-only and its checkpoint is written atomically, so each copy is a valid file.

use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};

use super::catalog::{archive_name, sidecar};
use super::error::BackupError;
use super::fsutil::{parent_of, stable_copy, sync_dir, write_atomic};
use super::manifest::{MANIFEST_NAME, Manifest};

/// zstd level: fast, and state files compress well at any level.
const ZSTD_LEVEL: i32 = 3;

/// What goes into a backup.
#[derive(Debug, Clone, Default)]
pub struct BackupInputs {
    /// The engine's state dir (archived recursively; a missing dir is an error).
    pub state_dir: PathBuf,
    /// Paths under the state dir to leave out (e.g. a backup dir inside it).
    pub exclude: Vec<PathBuf>,
    /// Config files, archived under `config/`.
    pub config_files: Vec<PathBuf>,
    /// Parameter files, archived under `params/`.
    pub param_files: Vec<PathBuf>,
}

/// A finished backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupOutcome {
    /// The archive.
    pub archive: PathBuf,
    /// Files archived.
    pub files: usize,
    /// Their total size, bytes (before compression).
    pub bytes: u64,
    /// Archive size, bytes.
    pub archive_bytes: u64,
    /// Entries skipped (symlinks, sockets, …) under the state dir.
    pub skipped: Vec<String>,
}

/// Writes one archive of `inputs` into `dir`, named after `now`.
///
/// # Errors
/// [`BackupError`] naming the file at fault; nothing is left behind in `dir` on failure
/// (temp files are removed).
pub fn create(
    inputs: &BackupInputs,
    dir: &Path,
    now: DateTime<Utc>,
) -> Result<BackupOutcome, BackupError> {
    std::fs::create_dir_all(dir).map_err(BackupError::io("create backup dir", dir))?;
    let name = archive_name(now);
    let archive = dir.join(&name);
    if archive.exists() {
        return Err(BackupError::Exists(archive));
    }
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(dir)
        .map_err(BackupError::io("create staging dir in", dir))?;

    let mut plan = Vec::new();
    let mut skipped = Vec::new();
    let exclude: Vec<PathBuf> = inputs
        .exclude
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .chain(std::fs::canonicalize(dir).ok())
        .collect();
    walk(
        &inputs.state_dir,
        "state",
        &exclude,
        &mut plan,
        &mut skipped,
    )?;
    for (prefix, files) in [
        ("config", &inputs.config_files),
        ("params", &inputs.param_files),
    ] {
        for f in files {
            let file_name = f
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| BackupError::BadName(f.clone()))?;
            plan.push((f.clone(), format!("{prefix}/{file_name}")));
        }
    }

    let mut manifest = Manifest::default();
    let mut bytes = 0_u64;
    for (i, (src, inside)) in plan.iter().enumerate() {
        if inside.contains('\n') {
            return Err(BackupError::BadName(src.clone()));
        }
        let staged = staging.path().join(i.to_string());
        let (hash, len) = stable_copy(src, &staged)?;
        bytes += len;
        if manifest.files.insert(inside.clone(), hash).is_some() {
            return Err(BackupError::DuplicateName(inside.clone()));
        }
    }

    let created = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    let manifest_text = manifest.render(&created);
    let tmp = tempfile::Builder::new()
        .prefix(".obi-backup-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(BackupError::io("create temp archive in", dir))?;
    let tmp_path = tmp.path().to_path_buf();
    {
        let file = tmp
            .as_file()
            .try_clone()
            .map_err(BackupError::io("open", &tmp_path))?;
        let mut enc =
            zstd::Encoder::new(file, ZSTD_LEVEL).map_err(BackupError::io("zstd", &tmp_path))?;
        enc.include_checksum(true)
            .map_err(BackupError::io("zstd", &tmp_path))?;
        let mut tar = tar::Builder::new(enc);
        tar.mode(tar::HeaderMode::Deterministic);
        let mut header = tar::Header::new_gnu();
        header.set_size(manifest_text.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(u64::try_from(now.timestamp()).unwrap_or(0));
        header.set_cksum();
        tar.append_data(&mut header, MANIFEST_NAME, manifest_text.as_bytes())
            .map_err(BackupError::io("write manifest to", &tmp_path))?;
        for (i, (_, inside)) in plan.iter().enumerate() {
            let staged = staging.path().join(i.to_string());
            let mut f = File::open(&staged).map_err(BackupError::io("open", &staged))?;
            tar.append_file(inside, &mut f)
                .map_err(BackupError::io("archive", &staged))?;
        }
        let enc = tar
            .into_inner()
            .map_err(BackupError::io("finish tar", &tmp_path))?;
        let file = enc
            .finish()
            .map_err(BackupError::io("finish zstd", &tmp_path))?;
        file.sync_all()
            .map_err(BackupError::io("fsync", &tmp_path))?;
    }
    let archive_hash = super::fsutil::sha256_file(&tmp_path)?;
    let archive_bytes = std::fs::metadata(&tmp_path)
        .map_err(BackupError::io("stat", &tmp_path))?
        .len();
    tmp.persist_noclobber(&archive)
        .map_err(|e| BackupError::io("rename to", &archive)(e.error))?;
    sync_dir(parent_of(&archive))?;
    write_atomic(
        &sidecar(&archive),
        format!("{archive_hash}  {name}\n").as_bytes(),
    )?;
    Ok(BackupOutcome {
        archive,
        files: plan.len(),
        bytes,
        archive_bytes,
        skipped,
    })
}

fn walk(
    dir: &Path,
    inside: &str,
    exclude: &[PathBuf],
    plan: &mut Vec<(PathBuf, String)>,
    skipped: &mut Vec<String>,
) -> Result<(), BackupError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(BackupError::io("list", dir))?
        .collect::<Result<_, _>>()
        .map_err(BackupError::io("list", dir))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            return Err(BackupError::BadName(path));
        };
        let inside = format!("{inside}/{name}");
        if std::fs::canonicalize(&path).is_ok_and(|c| exclude.contains(&c)) {
            continue;
        }
        let ft = entry.file_type().map_err(BackupError::io("stat", &path))?;
        if ft.is_dir() {
            walk(&path, &inside, exclude, plan, skipped)?;
        } else if ft.is_file() {
            plan.push((path, inside));
        } else {
            tracing::warn!(path = %path.display(), "not a regular file; left out of the backup");
            skipped.push(inside);
        }
    }
    Ok(())
}
