//! API credentials: the API key from the environment, the secret (HMAC secret or Ed25519
//! private key) from the environment or an owner-only file. Secrets never reach `Debug`,
//! `Display`, errors or logs.

use crate::venue::binance::sign;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use std::fmt;
use std::path::{Path, PathBuf};

/// Which signature scheme the key pair uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// HMAC-SHA256 with a shared secret; every request is signed.
    Hmac,
    /// Ed25519 private key (PKCS#8 PEM as Binance has users generate); the WS API session
    /// is logged on once.
    Ed25519,
}

impl KeyType {
    /// Parses `hmac` or `ed25519`.
    pub fn parse(text: &str) -> Option<KeyType> {
        match text {
            "hmac" => Some(KeyType::Hmac),
            "ed25519" => Some(KeyType::Ed25519),
            _ => None,
        }
    }
}

/// Where the secret comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// The value of this environment variable.
    Env(String),
    /// The contents of this file, which must not be accessible by group or others.
    File(PathBuf),
    /// The environment variable when it is set, otherwise the file.
    EnvThenFile {
        /// Variable name.
        var: String,
        /// Owner-only file.
        file: PathBuf,
    },
}

/// Where the credentials come from (names and paths only: safe to print).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySource {
    /// Signature scheme.
    pub key_type: KeyType,
    /// Environment variable holding the API key.
    pub api_key_env: String,
    /// Where the secret is.
    pub secret: SecretSource,
}

/// Why credentials could not be loaded. Never contains secret material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The environment variable is not set (or not UTF-8).
    #[error("environment variable {var} is not set")]
    MissingEnv {
        /// Variable name.
        var: String,
    },
    /// The environment variable or file is empty.
    #[error("{what} is empty")]
    Empty {
        /// The variable or path.
        what: String,
    },
    /// The secret file could not be read.
    #[error("cannot read secret file {path}: {source}")]
    Read {
        /// Path.
        path: PathBuf,
        /// I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The secret file can be read or written by group or others.
    #[error(
        "secret file {path} has mode {mode:04o}; it must be accessible by its owner only \
         (chmod 600 {path})",
        path = .path.display()
    )]
    Permissions {
        /// Path.
        path: PathBuf,
        /// Permission bits (`st_mode & 0o7777`).
        mode: u32,
    },
    /// The Ed25519 key is not a PKCS#8 PEM private key (or 64 hex digits of seed).
    #[error("{what} is not an Ed25519 private key ({why})")]
    BadEd25519 {
        /// The variable or path.
        what: String,
        /// Which check failed (never the key itself).
        why: &'static str,
    },
    /// The API key contains characters that cannot be sent.
    #[error("the API key in {var} must be printable ASCII")]
    BadApiKey {
        /// Variable name.
        var: String,
    },
}

/// Secret bytes that are overwritten on drop and never printed.
struct SecretBytes(Vec<u8>);

impl Drop for SecretBytes {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            *b = 0;
        }
        std::hint::black_box(&self.0);
    }
}

/// The signing half of the credentials.
enum Signer {
    Hmac(SecretBytes),
    Ed25519(Box<SigningKey>),
}

/// Loaded credentials: the API key and a signer. `Debug` shows the key type and a short API
/// key prefix only.
pub struct Credentials {
    api_key: String,
    signer: Signer,
}

impl Credentials {
    /// Loads credentials from `source`, reading the process environment.
    pub fn load(source: &KeySource) -> Result<Credentials, KeyError> {
        Credentials::load_with(source, |var| std::env::var(var).ok())
    }

    /// Loads credentials with `env` standing in for the process environment (for tests and
    /// for callers that resolved variables already).
    pub fn load_with(
        source: &KeySource,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Credentials, KeyError> {
        let var = &source.api_key_env;
        let api_key = env(var).ok_or_else(|| KeyError::MissingEnv { var: var.clone() })?;
        let api_key = api_key.trim().to_string();
        if api_key.is_empty() {
            return Err(KeyError::Empty { what: var.clone() });
        }
        if !api_key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(KeyError::BadApiKey { var: var.clone() });
        }
        let (what, text) = match &source.secret {
            SecretSource::Env(var) => {
                let text = env(var).ok_or_else(|| KeyError::MissingEnv { var: var.clone() })?;
                (var.clone(), SecretBytes(text.into_bytes()))
            }
            SecretSource::File(path) => (path.display().to_string(), read_owner_only(path)?),
            SecretSource::EnvThenFile { var, file } => match env(var) {
                Some(text) => (var.clone(), SecretBytes(text.into_bytes())),
                None => (file.display().to_string(), read_owner_only(file)?),
            },
        };
        let trimmed = trim_ascii(&text.0);
        if trimmed.is_empty() {
            return Err(KeyError::Empty { what });
        }
        let signer = match source.key_type {
            KeyType::Hmac => Signer::Hmac(SecretBytes(trimmed.to_vec())),
            KeyType::Ed25519 => Signer::Ed25519(Box::new(parse_ed25519(trimmed, &what)?)),
        };
        Ok(Credentials { api_key, signer })
    }

    /// Credentials from values in memory (tests, tools).
    pub fn from_hmac(api_key: &str, secret: &[u8]) -> Credentials {
        Credentials {
            api_key: api_key.to_string(),
            signer: Signer::Hmac(SecretBytes(secret.to_vec())),
        }
    }

    /// Credentials from an Ed25519 key in memory (tests, tools).
    pub fn from_ed25519(api_key: &str, key: SigningKey) -> Credentials {
        Credentials {
            api_key: api_key.to_string(),
            signer: Signer::Ed25519(Box::new(key)),
        }
    }

    /// The API key (not a secret, but kept out of logs anyway).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        match self.signer {
            Signer::Hmac(_) => KeyType::Hmac,
            Signer::Ed25519(_) => KeyType::Ed25519,
        }
    }

    /// Appends the signature of `payload` to `out`: lower-case hex HMAC-SHA256 or base64
    /// Ed25519, by key type.
    pub fn sign_into(&self, payload: &[u8], out: &mut String) {
        match &self.signer {
            Signer::Hmac(secret) => sign::write_hmac_sha256_hex(&secret.0, payload, out),
            Signer::Ed25519(key) => sign::write_ed25519_base64(key, payload, out),
        }
    }

    /// The signature of `payload` (see [`Credentials::sign_into`]).
    pub fn sign(&self, payload: &[u8]) -> String {
        let mut out = String::with_capacity(88);
        self.sign_into(payload, &mut out);
        out
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &ApiKeyHint(&self.api_key))
            .field("key_type", &self.key_type())
            .field("secret", &format_args!("<redacted>"))
            .finish()
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} key {}", self.key_type(), ApiKeyHint(&self.api_key))
    }
}

/// Shows the first four characters of an API key and its length.
struct ApiKeyHint<'a>(&'a str);

impl fmt::Debug for ApiKeyHint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix: String = self.0.chars().take(4).collect();
        write!(f, "{prefix}… ({} chars)", self.0.chars().count())
    }
}

impl fmt::Display for ApiKeyHint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Reads a secret file after checking that group and others have no access to it.
fn read_owner_only(path: &Path) -> Result<SecretBytes, KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let read_err = |source| KeyError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    std::fs::read(path).map(SecretBytes).map_err(read_err)
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

/// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), or 64 hex digits of raw seed.
fn parse_ed25519(text: &[u8], what: &str) -> Result<SigningKey, KeyError> {
    let bad = |why| KeyError::BadEd25519 {
        what: what.to_string(),
        why,
    };
    let text = std::str::from_utf8(text).map_err(|_| bad("not UTF-8 text"))?;
    if text.starts_with("-----BEGIN") {
        if text.contains("ENCRYPTED") {
            return Err(bad("encrypted PEM keys are not supported"));
        }
        return SigningKey::from_pkcs8_pem(text).map_err(|_| bad("PKCS#8 PEM did not decode"));
    }
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(text, &mut seed).map_err(|_| bad("bad hex seed"))?;
        let key = SigningKey::from_bytes(&seed);
        seed.fill(0);
        return Ok(key);
    }
    Err(bad("expected a PKCS#8 PEM block or a 64-hex-digit seed"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
    // RFC 8032 test 1 seed, as PKCS#8 PEM (openssl pkey output).
    const PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n\
        -----END PRIVATE KEY-----\n";

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn source(key_type: KeyType, secret: SecretSource) -> KeySource {
        KeySource {
            key_type,
            api_key_env: "K".into(),
            secret,
        }
    }

    #[test]
    fn hmac_from_env_signs_and_hides_the_secret() {
        let creds = Credentials::load_with(
            &source(KeyType::Hmac, SecretSource::Env("S".into())),
            env(&[("K", "apikey123"), ("S", &format!("{SECRET}\n"))]),
        )
        .unwrap();
        assert_eq!(creds.key_type(), KeyType::Hmac);
        let shown = format!("{creds:?} {creds}");
        assert!(
            !shown.contains(SECRET) && !shown.contains("apikey123"),
            "{shown}"
        );
        assert_eq!(
            creds.sign(b"apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&timestamp=1649729878532"),
            "1cf54395b336b0a9727ef27d5d98987962bc47aca6e13fe978612d0adee066ed"
        );
    }

    #[test]
    fn ed25519_from_pem_matches_the_rfc_key() {
        let creds = Credentials::load_with(
            &source(KeyType::Ed25519, SecretSource::Env("S".into())),
            env(&[("K", "k"), ("S", PEM)]),
        )
        .unwrap();
        // RFC 8032 test 1: empty message.
        let sig = creds.sign(b"");
        let raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, sig).unwrap();
        assert_eq!(
            hex::encode(raw),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
    }

    #[test]
    fn errors_name_the_variable_never_the_value() {
        let e = Credentials::load_with(
            &source(KeyType::Ed25519, SecretSource::Env("S".into())),
            env(&[("K", "k"), ("S", "not-a-key-zzzsecretzzz")]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains('S') && !e.contains("zzzsecretzzz"), "{e}");
        let e = Credentials::load_with(
            &source(KeyType::Hmac, SecretSource::Env("S".into())),
            env(&[("S", "x")]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("K is not set"), "{e}");
    }

    fn temp_file(name: &str, contents: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("obi-keys-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret");
        std::fs::write(&path, contents).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn secret_files_must_be_owner_only() {
        let path = temp_file("open", "zzzsecretzzz", 0o644);
        let err = Credentials::load_with(
            &source(KeyType::Hmac, SecretSource::File(path.clone())),
            env(&[("K", "k")]),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, KeyError::Permissions { mode: 0o644, .. }));
        assert!(
            text.contains(&path.display().to_string()) && text.contains("0644"),
            "{text}"
        );
        assert!(!text.contains("zzzsecretzzz") && !format!("{err:?}").contains("zzzsecretzzz"));

        let ok = temp_file("closed", PEM, 0o600);
        let creds = Credentials::load_with(
            &source(KeyType::Ed25519, SecretSource::File(ok.clone())),
            env(&[("K", "k")]),
        )
        .unwrap();
        assert_eq!(creds.key_type(), KeyType::Ed25519);
        assert!(!format!("{creds:?}").contains("MC4CAQ"));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
        let _ = std::fs::remove_dir_all(ok.parent().unwrap());
    }
}
