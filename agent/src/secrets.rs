//! Secrets (bearer token, TOTP secret): from an environment variable or an owner-only file,
//! never from the TOML and never into logs (`Debug` is redacted).

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Environment variable holding the bearer token.
pub const TOKEN_ENV: &str = "OBI_AGENT_TOKEN";
/// Environment variable holding the base32 TOTP secret.
pub const TOTP_SECRET_ENV: &str = "OBI_AGENT_TOTP_SECRET";

/// Shortest bearer token accepted, bytes.
pub const MIN_TOKEN_BYTES: usize = 16;

/// A secret string whose `Debug` output never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value; call only where it is compared or decoded.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Why a secret could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The file could not be read.
    #[error("cannot read secret file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is readable or writable by group or others.
    #[error(
        "secret file {} has mode {mode:o}; it must be owner-only (chmod 600 {})",
        path.display(),
        path.display()
    )]
    NotOwnerOnly {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Empty (after trimming) or too short.
    #[error("{source_name} is too short: need at least {min} bytes")]
    TooShort {
        /// Env var or file the secret came from.
        source_name: String,
        /// Minimum length.
        min: usize,
    },
}

/// Loads a secret from `env_var` if set (and non-empty), else from `file` if given.
/// Surrounding whitespace is trimmed. `Ok(None)` when neither is configured.
///
/// # Errors
/// [`SecretError`] for an unreadable, group/world-accessible or too short secret.
pub fn load(
    env_var: &str,
    file: Option<&Path>,
    min_bytes: usize,
) -> Result<Option<Secret>, SecretError> {
    if let Ok(value) = std::env::var(env_var) {
        let value = value.trim();
        if !value.is_empty() {
            return check_len(env_var.to_string(), value, min_bytes).map(Some);
        }
    }
    let Some(path) = file else {
        return Ok(None);
    };
    read_owner_only(path)
        .and_then(|value| check_len(path.display().to_string(), value.trim(), min_bytes))
        .map(Some)
}

fn check_len(source_name: String, value: &str, min: usize) -> Result<Secret, SecretError> {
    if value.len() < min.max(1) {
        return Err(SecretError::TooShort {
            source_name,
            min: min.max(1),
        });
    }
    Ok(Secret::new(value))
}

/// Reads a file that must not be accessible by group or others (mode `& 0o077 == 0`).
///
/// # Errors
/// [`SecretError::NotOwnerOnly`] or [`SecretError::Read`].
pub fn read_owner_only(path: &Path) -> Result<String, SecretError> {
    let read_err = |source| SecretError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(SecretError::NotOwnerOnly {
            path: path.to_path_buf(),
            mode,
        });
    }
    std::fs::read_to_string(path).map_err(read_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("hunter2hunter2hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn group_readable_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "0123456789abcdef0123\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = read_owner_only(&path).unwrap_err();
        assert!(
            matches!(err, SecretError::NotOwnerOnly { mode: 0o640, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("chmod 600"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let got = load("OBI_AGENT_TEST_UNSET_VAR", Some(&path), MIN_TOKEN_BYTES)
            .unwrap()
            .unwrap();
        assert_eq!(got.expose(), "0123456789abcdef0123");
    }

    #[test]
    fn short_secret_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "short").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            load("OBI_AGENT_TEST_UNSET_VAR", Some(&path), MIN_TOKEN_BYTES),
            Err(SecretError::TooShort { .. })
        ));
        assert!(
            load("OBI_AGENT_TEST_UNSET_VAR", None, MIN_TOKEN_BYTES)
                .unwrap()
                .is_none()
        );
    }
}
