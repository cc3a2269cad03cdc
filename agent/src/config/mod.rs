//! Agent configuration: the TOML file ([`raw`]) validated into typed values ([`Config`]).
//!
//! Secrets are not in the file: see [`crate::secrets`].

pub mod alerts;
pub mod backup;
pub mod raw;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use raw::RawConfig;

pub use alerts::{AlertsConfig, SinkConfig};
pub use backup::{BackupConfig, BackupSchedule};

/// Default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";
/// Default heartbeat staleness threshold.
pub const DEFAULT_HEARTBEAT_STALE_MS: u64 = 2_000;
/// Default stats-file poll interval.
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 200;
/// Default free-space floor for the state dir.
pub const DEFAULT_MIN_FREE_DISK_MIB: u64 = 1_024;

/// Why a config file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {}: {source}", path.display())]
    Read {
        /// The config path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML, an unknown key, or a wrong type.
    #[error("invalid config {}: {message}", path.display())]
    Parse {
        /// The config path.
        path: PathBuf,
        /// The parser's message (line, column, key).
        message: String,
    },
    /// A value that parses but is not allowed.
    #[error("invalid value for {key}: {reason}")]
    Invalid {
        /// Dotted key, e.g. `http.listen`.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A non-loopback listen address without `allow_non_loopback = true`.
    #[error(
        "http.listen = {addr} is not a loopback address; the agent serves control endpoints, \
         so set http.allow_non_loopback = true to bind it on purpose"
    )]
    NonLoopback {
        /// The refused address.
        addr: SocketAddr,
    },
}

/// Validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file this config was read from (`None` for defaults or inline text); archived by
    /// backups.
    pub source_path: Option<PathBuf>,
    /// Address to bind.
    pub listen: SocketAddr,
    /// Grace period for in-flight requests at shutdown.
    pub shutdown_timeout: Duration,
    /// Stats file path.
    pub shm_path: PathBuf,
    /// Engine state directory.
    pub state_dir: PathBuf,
    /// Heartbeat age above which the engine counts as stale.
    pub heartbeat_stale_ms: u64,
    /// Stats-file poll interval.
    pub poll_interval: Duration,
    /// Free-space floor for the state dir, bytes.
    pub min_free_disk_bytes: u64,
    /// Kill file path.
    pub kill_file: PathBuf,
    /// Bearer token file, if any.
    pub token_file: Option<PathBuf>,
    /// TOTP secret file, if any.
    pub totp_secret_file: Option<PathBuf>,
    /// Audit log path.
    pub audit_log: PathBuf,
    /// Failed authentications allowed per client per window.
    pub max_failed_auth: u32,
    /// Failed-authentication window.
    pub failed_auth_window: Duration,
    /// `[alerts]`.
    pub alerts: AlertsConfig,
    /// `[backup]`.
    pub backup: BackupConfig,
}

impl Config {
    /// Reads and validates a config file.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file, key or value at fault.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Self::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })?;
        config.source_path = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parses and validates TOML text (an empty string gives every default).
    ///
    /// ```
    /// let config = obi_agent::config::Config::from_toml("[engine]\nheartbeat_stale_ms = 500\n")?;
    /// assert_eq!(config.listen.to_string(), "127.0.0.1:9464");
    /// assert!(obi_agent::config::Config::from_toml("[engine]\nstale = 1\n").is_err());
    /// # Ok::<(), obi_agent::config::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError`] naming the key or value at fault.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("<inline>"),
            message: e.to_string(),
        })?;
        Self::validate(raw)
    }

    /// Turns a parsed file into typed values, applying defaults and checks.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] or [`ConfigError::NonLoopback`].
    pub fn validate(raw: RawConfig) -> Result<Self, ConfigError> {
        let listen_text = raw.http.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen: SocketAddr = listen_text.parse().map_err(|_| ConfigError::Invalid {
            key: "http.listen",
            reason: format!("{listen_text:?} is not an IP:port address (e.g. \"127.0.0.1:9464\")"),
        })?;
        if !listen.ip().is_loopback() && !raw.http.allow_non_loopback.unwrap_or(false) {
            return Err(ConfigError::NonLoopback { addr: listen });
        }
        let shutdown_timeout_secs = raw.http.shutdown_timeout_secs.unwrap_or(5);
        positive("http.shutdown_timeout_secs", shutdown_timeout_secs)?;

        let shm_path = raw
            .engine
            .shm_path
            .unwrap_or_else(|| PathBuf::from(obi_shm::DEFAULT_STATS_PATH));
        non_empty("engine.shm_path", &shm_path)?;
        let state_dir = raw
            .engine
            .state_dir
            .unwrap_or_else(|| PathBuf::from("state"));
        non_empty("engine.state_dir", &state_dir)?;
        let heartbeat_stale_ms = raw
            .engine
            .heartbeat_stale_ms
            .unwrap_or(DEFAULT_HEARTBEAT_STALE_MS);
        positive("engine.heartbeat_stale_ms", heartbeat_stale_ms)?;
        let poll_interval_ms = raw
            .engine
            .poll_interval_ms
            .unwrap_or(DEFAULT_POLL_INTERVAL_MS);
        if !(10..=10_000).contains(&poll_interval_ms) {
            return Err(ConfigError::Invalid {
                key: "engine.poll_interval_ms",
                reason: format!("{poll_interval_ms} is outside 10..=10000"),
            });
        }
        if poll_interval_ms >= heartbeat_stale_ms {
            return Err(ConfigError::Invalid {
                key: "engine.heartbeat_stale_ms",
                reason: format!(
                    "{heartbeat_stale_ms} must be larger than engine.poll_interval_ms ({poll_interval_ms})"
                ),
            });
        }
        let min_free_disk_mib = raw
            .engine
            .min_free_disk_mib
            .unwrap_or(DEFAULT_MIN_FREE_DISK_MIB);

        let kill_file = raw
            .control
            .kill_file
            .unwrap_or_else(|| state_dir.join("KILL"));
        non_empty("control.kill_file", &kill_file)?;
        let audit_log = raw
            .control
            .audit_log
            .unwrap_or_else(|| state_dir.join("agent-audit.jsonl"));
        non_empty("control.audit_log", &audit_log)?;
        let max_failed_auth = raw.control.max_failed_auth.unwrap_or(5);
        positive("control.max_failed_auth", u64::from(max_failed_auth))?;
        let failed_auth_window_secs = raw.control.failed_auth_window_secs.unwrap_or(60);
        positive("control.failed_auth_window_secs", failed_auth_window_secs)?;

        let alerts = AlertsConfig::validate(raw.alerts)?;
        let backup = BackupConfig::validate(raw.backup, &state_dir)?;

        Ok(Self {
            source_path: None,
            listen,
            shutdown_timeout: Duration::from_secs(shutdown_timeout_secs),
            shm_path,
            state_dir,
            heartbeat_stale_ms,
            poll_interval: Duration::from_millis(poll_interval_ms),
            min_free_disk_bytes: min_free_disk_mib.saturating_mul(1024 * 1024),
            kill_file,
            token_file: raw.control.token_file,
            totp_secret_file: raw.control.totp_secret_file,
            audit_log,
            max_failed_auth,
            failed_auth_window: Duration::from_secs(failed_auth_window_secs),
            alerts,
            backup,
        })
    }
}

pub(crate) fn positive(key: &'static str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(ConfigError::Invalid {
            key,
            reason: "must be greater than 0".to_string(),
        });
    }
    Ok(())
}

pub(crate) fn non_empty(key: &'static str, path: &Path) -> Result<(), ConfigError> {
    if path.as_os_str().is_empty() {
        return Err(ConfigError::Invalid {
            key,
            reason: "must not be empty".to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = Config::from_toml("").unwrap();
        assert_eq!(c.listen, DEFAULT_LISTEN.parse::<SocketAddr>().unwrap());
        assert_eq!(c.shm_path, PathBuf::from(obi_shm::DEFAULT_STATS_PATH));
        assert_eq!(c.kill_file, PathBuf::from("state/KILL"));
        assert_eq!(c.heartbeat_stale_ms, DEFAULT_HEARTBEAT_STALE_MS);
    }

    #[test]
    fn unknown_key_is_refused() {
        let err = Config::from_toml("[http]\nlisten_addr = \"127.0.0.1:1\"\n").unwrap_err();
        assert!(err.to_string().contains("listen_addr"), "{err}");
    }

    #[test]
    fn non_loopback_needs_opt_in() {
        let err = Config::from_toml("[http]\nlisten = \"0.0.0.0:9464\"\n").unwrap_err();
        assert!(matches!(err, ConfigError::NonLoopback { .. }), "{err}");
        let ok =
            Config::from_toml("[http]\nlisten = \"0.0.0.0:9464\"\nallow_non_loopback = true\n");
        assert!(ok.is_ok());
        assert!(Config::from_toml("[http]\nlisten = \"[::1]:9464\"\n").is_ok());
    }

    #[test]
    fn example_file_equals_the_defaults() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/agent.example.toml"));
        let mut example = Config::load(path).unwrap();
        assert_eq!(example.source_path.as_deref(), Some(path));
        example.source_path = None;
        assert_eq!(example, Config::from_toml("").unwrap());
    }

    #[test]
    fn alert_and_backup_values() {
        let c = Config::from_toml("").unwrap();
        assert_eq!(c.alerts.max_messages_per_minute, 20);
        assert_eq!(c.backup.retention.daily, 30);
        assert!(Config::from_toml("[alerts]\nmax_attempts = 0\n").is_err());
        assert!(Config::from_toml("[alerts.daily_summary]\nat = \"25:00\"\n").is_err());
        assert!(Config::from_toml("[backup]\nat = \"03:00\"\ninterval_mins = 5\n").is_err());
        let sink_without_url = "[[alerts.sinks]]\nname = \"s\"\nkind = \"slack\"\n";
        let err = Config::from_toml(sink_without_url).unwrap_err();
        assert!(err.to_string().contains("url_env"), "{err}");
        let bad_kind = "[[alerts.sinks]]\nname = \"s\"\nkind = \"irc\"\nurl_env = \"X\"\n";
        assert!(Config::from_toml(bad_kind).is_err());
        assert!(Config::from_toml("[alerts]\nurl = \"https://x\"\n").is_err());
        assert!(
            Config::from_toml(
                "[backup]\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\nkeep_yearly = 0\n"
            )
            .is_err()
        );
    }

    #[test]
    fn bad_values() {
        assert!(Config::from_toml("[http]\nlisten = \"localhost\"\n").is_err());
        assert!(Config::from_toml("[engine]\nheartbeat_stale_ms = 0\n").is_err());
        assert!(Config::from_toml("[engine]\nheartbeat_stale_ms = 100\n").is_err());
        assert!(Config::from_toml("[engine]\nheartbeat_stale_ms = \"2s\"\n").is_err());
    }
}
