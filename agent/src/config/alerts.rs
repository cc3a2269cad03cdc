//! `[alerts]` validated: rule thresholds, delivery settings, sinks and the daily summary.

use std::path::PathBuf;
use std::time::Duration;

use chrono::NaiveTime;

use super::raw::RawAlerts;
use super::{ConfigError, positive};
use crate::alerts::{Level, SinkKind};

/// Default re-notification interval for a firing alert.
pub const DEFAULT_RENOTIFY_INTERVAL_SECS: u64 = 3_600;
/// Default message budget per minute.
pub const DEFAULT_MAX_MESSAGES_PER_MINUTE: u32 = 20;

/// One sink as configured (its URL is loaded separately, as a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkConfig {
    /// Name in logs and metric labels.
    pub name: String,
    /// Message format.
    pub kind: SinkKind,
    /// Environment variable holding the URL.
    pub url_env: Option<String>,
    /// Owner-only file holding the URL.
    pub url_file: Option<PathBuf>,
    /// Least severe level sent.
    pub min_level: Level,
}

/// Validated `[alerts]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsConfig {
    /// A firing alert is re-sent after this long.
    pub renotify_interval: Duration,
    /// Messages per rolling minute, all rules together.
    pub max_messages_per_minute: u32,
    /// Per-request timeout.
    pub send_timeout: Duration,
    /// Attempts per message (≥ 1).
    pub max_attempts: u32,
    /// First retry delay (doubles each retry).
    pub retry_backoff: Duration,
    /// Feed lag above this warns, milliseconds.
    pub feed_lag_max_ms: u64,
    /// A book without a frame for this long is stale, milliseconds.
    pub book_stale_ms: u64,
    /// Reconnects (feed disconnects + gateway reconnects + resyncs) within the window that
    /// make a reconnect storm.
    pub reconnect_storm_count: u64,
    /// Reconnect-storm window.
    pub reconnect_storm_window: Duration,
    /// Drawdown at or above which a warning fires, millionths of the quote currency.
    pub drawdown_warn_quote_micros: i64,
    /// Where messages go.
    pub sinks: Vec<SinkConfig>,
    /// Local time of the daily summary, `None` when disabled.
    pub daily_summary_at: Option<NaiveTime>,
}

impl AlertsConfig {
    /// Validates the raw section.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the key.
    pub fn validate(raw: RawAlerts) -> Result<Self, ConfigError> {
        let renotify = raw
            .renotify_interval_secs
            .unwrap_or(DEFAULT_RENOTIFY_INTERVAL_SECS);
        positive("alerts.renotify_interval_secs", renotify)?;
        let max_per_min = raw
            .max_messages_per_minute
            .unwrap_or(DEFAULT_MAX_MESSAGES_PER_MINUTE);
        positive("alerts.max_messages_per_minute", u64::from(max_per_min))?;
        let timeout_ms = raw.send_timeout_ms.unwrap_or(5_000);
        positive("alerts.send_timeout_ms", timeout_ms)?;
        let max_attempts = raw.max_attempts.unwrap_or(4);
        if !(1..=10).contains(&max_attempts) {
            return Err(invalid(
                "alerts.max_attempts",
                format!("{max_attempts} is outside 1..=10"),
            ));
        }
        let backoff_ms = raw.retry_backoff_ms.unwrap_or(500);
        if backoff_ms > 60_000 {
            return Err(invalid(
                "alerts.retry_backoff_ms",
                format!("{backoff_ms} is above 60000"),
            ));
        }
        let feed_lag_max_ms = raw.feed_lag_max_ms.unwrap_or(5_000);
        positive("alerts.feed_lag_max_ms", feed_lag_max_ms)?;
        let book_stale_secs = raw.book_stale_secs.unwrap_or(60);
        positive("alerts.book_stale_secs", book_stale_secs)?;
        let storm = raw.reconnect_storm_count.unwrap_or(5);
        positive("alerts.reconnect_storm_count", storm)?;
        let storm_window = raw.reconnect_storm_window_secs.unwrap_or(300);
        positive("alerts.reconnect_storm_window_secs", storm_window)?;
        let drawdown = raw.drawdown_warn_quote.unwrap_or(100.0);
        if !drawdown.is_finite() || drawdown <= 0.0 || drawdown > 1e12 {
            return Err(invalid(
                "alerts.drawdown_warn_quote",
                format!("{drawdown} must be a positive amount of quote currency"),
            ));
        }
        let mut sinks: Vec<SinkConfig> = Vec::with_capacity(raw.sinks.len());
        for s in raw.sinks {
            let kind = SinkKind::parse(&s.kind).ok_or_else(|| {
                invalid(
                    "alerts.sinks.kind",
                    format!("{:?} is not one of slack, discord, webhook", s.kind),
                )
            })?;
            let name_ok = !s.name.is_empty()
                && s.name.len() <= 64
                && s.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !name_ok {
                return Err(invalid(
                    "alerts.sinks.name",
                    format!("{:?} must be 1-64 of [A-Za-z0-9_-]", s.name),
                ));
            }
            if sinks.iter().any(|o| o.name == s.name) {
                return Err(invalid(
                    "alerts.sinks.name",
                    format!("{:?} is used twice", s.name),
                ));
            }
            if s.url_env.as_deref().is_none_or(str::is_empty) && s.url_file.is_none() {
                return Err(invalid(
                    "alerts.sinks.url_env",
                    format!(
                        "sink {:?} needs url_env or url_file (webhook URLs are secrets and never go in this file)",
                        s.name
                    ),
                ));
            }
            let min_level = match s.min_level.as_deref() {
                None => Level::Info,
                Some(text) => Level::parse(text).ok_or_else(|| {
                    invalid(
                        "alerts.sinks.min_level",
                        format!("{text:?} is not INFO, WARNING, ERROR or CRITICAL"),
                    )
                })?,
            };
            sinks.push(SinkConfig {
                name: s.name,
                kind,
                url_env: s.url_env.filter(|e| !e.is_empty()),
                url_file: s.url_file,
                min_level,
            });
        }
        let daily_summary_at = if raw.daily_summary.enabled.unwrap_or(true) {
            let at = raw.daily_summary.at.as_deref().unwrap_or("08:00");
            Some(parse_hh_mm("alerts.daily_summary.at", at)?)
        } else {
            None
        };
        Ok(Self {
            renotify_interval: Duration::from_secs(renotify),
            max_messages_per_minute: max_per_min,
            send_timeout: Duration::from_millis(timeout_ms),
            max_attempts,
            retry_backoff: Duration::from_millis(backoff_ms),
            feed_lag_max_ms,
            book_stale_ms: book_stale_secs.saturating_mul(1_000),
            reconnect_storm_count: storm,
            reconnect_storm_window: Duration::from_secs(storm_window),
            // Bounded above, so the cast cannot overflow.
            drawdown_warn_quote_micros: (drawdown * 1e6).round() as i64,
            sinks,
            daily_summary_at,
        })
    }
}

/// Parses `HH:MM` (24-hour) into a time of day.
///
/// # Errors
/// [`ConfigError::Invalid`] naming `key`.
pub fn parse_hh_mm(key: &'static str, text: &str) -> Result<NaiveTime, ConfigError> {
    NaiveTime::parse_from_str(text, "%H:%M").map_err(|_| {
        invalid(
            key,
            format!("{text:?} is not a time of day HH:MM (e.g. \"08:00\")"),
        )
    })
}

fn invalid(key: &'static str, reason: String) -> ConfigError {
    ConfigError::Invalid { key, reason }
}
