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
    /// `[alerts]` section.
    #[serde(default)]
    pub alerts: RawAlerts,
    /// `[backup]` section.
    #[serde(default)]
    pub backup: RawBackup,
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

/// `[alerts]`: alert rules, delivery and the daily summary.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    /// A firing alert is re-sent after this many seconds. Default 3600.
    pub renotify_interval_secs: Option<u64>,
    /// Messages per minute across all rules and sinks; the excess is counted and
    /// summarised. Default 20.
    pub max_messages_per_minute: Option<u32>,
    /// Per-request timeout for a webhook. Default 5000.
    pub send_timeout_ms: Option<u64>,
    /// Attempts per message (1 = no retry). Default 4.
    pub max_attempts: Option<u32>,
    /// First retry delay; doubled on each retry. Default 500.
    pub retry_backoff_ms: Option<u64>,
    /// Feed lag above this warns. Default 5000.
    pub feed_lag_max_ms: Option<u64>,
    /// A book with no frame for this long is stale. Default 60.
    pub book_stale_secs: Option<u64>,
    /// Reconnects (feed disconnects + gateway reconnects + book resyncs) within the window
    /// that make a reconnect storm. Default 5.
    pub reconnect_storm_count: Option<u64>,
    /// The reconnect-storm window. Default 300.
    pub reconnect_storm_window_secs: Option<u64>,
    /// Drawdown (quote currency) at or above which a warning fires. Default 100.0.
    pub drawdown_warn_quote: Option<f64>,
    /// `[[alerts.sinks]]`: where messages go. Default none.
    #[serde(default)]
    pub sinks: Vec<RawSink>,
    /// `[alerts.daily_summary]`.
    #[serde(default)]
    pub daily_summary: RawDailySummary,
}

/// One `[[alerts.sinks]]` entry. The URL is a secret: from `url_env` or an owner-only
/// `url_file`, never from the TOML.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSink {
    /// Name used in logs and metric labels.
    pub name: String,
    /// `slack`, `discord` or `webhook` (generic JSON).
    pub kind: String,
    /// Environment variable holding the webhook URL.
    pub url_env: Option<String>,
    /// Owner-only file holding the webhook URL (used when `url_env` is unset or empty).
    pub url_file: Option<PathBuf>,
    /// Least severe level sent to this sink. Default `INFO`.
    pub min_level: Option<String>,
}

/// `[alerts.daily_summary]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDailySummary {
    /// Send the summary at all. Default true.
    pub enabled: Option<bool>,
    /// Local time of day, `HH:MM`. Default `08:00`.
    pub at: Option<String>,
}

/// `[backup]`: scheduled backups and retention.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackup {
    /// Take scheduled backups in `serve`. Default true.
    pub enabled: Option<bool>,
    /// Local directory for archives. Default `backups`.
    pub dir: Option<PathBuf>,
    /// Local time of day for the daily backup, `HH:MM`. Default `03:00`.
    pub at: Option<String>,
    /// When set, back up every this many minutes instead of daily at `at`.
    pub interval_mins: Option<u64>,
    /// A last successful backup older than this alerts and shows in health. Default 26.
    pub max_age_hours: Option<u64>,
    /// The engine's config file, archived under `config/`. Default none.
    pub engine_config: Option<PathBuf>,
    /// Parameter files archived under `params/`. Default none.
    #[serde(default)]
    pub param_files: Vec<PathBuf>,
    /// Newest backup per day kept, for this many days. Default 30.
    pub keep_daily: Option<u32>,
    /// Newest backup per ISO week kept, for this many weeks. Default 12.
    pub keep_weekly: Option<u32>,
    /// Newest backup per month kept, for this many months. Default 12.
    pub keep_monthly: Option<u32>,
    /// Newest backup per year kept, for this many years. Default 7.
    pub keep_yearly: Option<u32>,
}
