//! The agent's TOML file as written by the operator, before validation.
//!
//! Every key is optional (a missing key takes the documented default); an unknown key is an
//! error, so a typo never silently falls back to a default.

use std::path::PathBuf;

use serde::Deserialize;

/// `obi-agent.toml` as parsed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[http]` section.
    #[serde(default)]
    pub http: RawHttp,
    /// `[engine]` section.
    #[serde(default)]
    pub engine: RawEngine,
    /// `[control]` section.
    #[serde(default)]
    pub control: RawControl,
}

/// `[http]`: where the agent listens.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    /// Listen address, `host:port`. Default `127.0.0.1:9464`.
    pub listen: Option<String>,
    /// Must be `true` to bind anything but a loopback address.
    pub allow_non_loopback: Option<bool>,
    /// Seconds to wait for in-flight requests on SIGTERM/SIGINT. Default 5.
    pub shutdown_timeout_secs: Option<u64>,
}

/// `[engine]`: what the agent watches.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEngine {
    /// Stats file the engine publishes. Default `obi_shm::DEFAULT_STATS_PATH`.
    pub shm_path: Option<PathBuf>,
    /// Engine state directory (kill file, audit log, disk-space check). Default `state`.
    pub state_dir: Option<PathBuf>,
    /// Heartbeat older than this is stale (not ready). Default 2000.
    pub heartbeat_stale_ms: Option<u64>,
    /// How often the stats file is polled. Default 200.
    pub poll_interval_ms: Option<u64>,
    /// Free space below this in the state dir is unhealthy. Default 1024 (1 GiB).
    pub min_free_disk_mib: Option<u64>,
}

/// `[control]`: the authenticated kill switch.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawControl {
    /// Kill file the engine watches. Default `<state_dir>/KILL`.
    pub kill_file: Option<PathBuf>,
    /// Owner-only file holding the bearer token (used when `OBI_AGENT_TOKEN` is unset).
    pub token_file: Option<PathBuf>,
    /// Owner-only file holding the base32 TOTP secret (used when `OBI_AGENT_TOTP_SECRET` is
    /// unset). No secret configured means no second factor.
    pub totp_secret_file: Option<PathBuf>,
    /// Audit log (JSON lines). Default `<state_dir>/agent-audit.jsonl`.
    pub audit_log: Option<PathBuf>,
    /// Failed authentications allowed per client address per window. Default 5.
    pub max_failed_auth: Option<u32>,
    /// The failed-authentication window. Default 60.
    pub failed_auth_window_secs: Option<u64>,
}
