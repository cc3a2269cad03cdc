//! Archive names and the listing of a backup dir: `obi-backup-YYYYMMDDTHHMMSSZ.tar.zst`,
//! with `<archive>.sha256` beside it. Only files matching the pattern are ever touched.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};

use super::error::BackupError;

const PREFIX: &str = "obi-backup-";
const SUFFIX: &str = ".tar.zst";
const TIME_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// The archive file name for a backup taken at `t`.
#[must_use]
pub fn archive_name(t: DateTime<Utc>) -> String {
    format!("{PREFIX}{}{SUFFIX}", t.format(TIME_FORMAT))
}

/// The time in an archive name, or `None` if it is not one.
#[must_use]
pub fn parse_name(name: &str) -> Option<DateTime<Utc>> {
    let stamp = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    NaiveDateTime::parse_from_str(stamp, TIME_FORMAT)
        .ok()
        .map(|n| n.and_utc())
}

/// The checksum file beside an archive.
#[must_use]
pub fn sidecar(archive: &Path) -> PathBuf {
    let mut s = archive.as_os_str().to_owned();
    s.push(".sha256");
    PathBuf::from(s)
}

/// Every archive in `dir` with its time, oldest first. A missing dir is empty.
///
/// # Errors
/// I/O errors other than a missing dir.
pub fn list(dir: &Path) -> Result<Vec<(DateTime<Utc>, PathBuf)>, BackupError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(BackupError::io("list", dir)(e)),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(BackupError::io("list", dir))?;
        if let Some(t) = entry.file_name().to_str().and_then(parse_name) {
            out.push((t, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The newest archive in `dir`.
///
/// # Errors
/// [`BackupError::NoBackups`] or I/O errors.
pub fn latest(dir: &Path) -> Result<PathBuf, BackupError> {
    list(dir)?
        .pop()
        .map(|(_, p)| p)
        .ok_or_else(|| BackupError::NoBackups(dir.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn names_round_trip() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 5).unwrap();
        let n = archive_name(t);
        assert_eq!(n, "obi-backup-20261123T030005Z.tar.zst");
        assert_eq!(parse_name(&n), Some(t));
        assert_eq!(parse_name("obi-backup-x.tar.zst"), None);
        assert_eq!(parse_name(&format!("{n}.sha256")), None);
    }
}
