//! One message as the sinks see it: a firing, resolved or one-off alert with its values.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::Level;

/// Where in its life an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// The condition holds (first notice, re-notice or level change).
    Firing,
    /// The condition cleared.
    Resolved,
    /// A one-off message with nothing to resolve (restart, summary, rate-limit note).
    Event,
}

/// A message ready for the sinks. Serialised as the generic webhook's body.
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    /// Rule name, e.g. `heartbeat_stale`.
    pub rule: String,
    /// What it is about (an instrument symbol), when the rule is per subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Severity.
    pub level: Level,
    /// Firing, resolved or event.
    pub state: AlertState,
    /// Human-readable text.
    pub message: String,
    /// The values the rule looked at (units in the key names).
    pub values: BTreeMap<String, f64>,
    /// When the condition started, RFC 3339 UTC.
    pub fired_at: String,
    /// When this message was produced, RFC 3339 UTC.
    pub sent_at: String,
    /// `fired_at` as Unix milliseconds.
    pub fired_unix_ms: i64,
    /// `sent_at` as Unix milliseconds.
    pub sent_unix_ms: i64,
}

impl Notification {
    /// The rule and subject as one key, e.g. `feed_lag/ETHUSDT`.
    #[must_use]
    pub fn key(&self) -> String {
        match &self.subject {
            Some(s) => format!("{}/{s}", self.rule),
            None => self.rule.clone(),
        }
    }

    /// One line for chat sinks: `[CRITICAL] heartbeat_stale: ...`, `[RESOLVED] ...`.
    #[must_use]
    pub fn chat_text(&self) -> String {
        let tag = match self.state {
            AlertState::Resolved => format!("RESOLVED {}", self.level.name()),
            AlertState::Firing | AlertState::Event => self.level.name().to_string(),
        };
        let mark = match self.state {
            AlertState::Resolved => ":white_check_mark:",
            _ => self.level.emoji(),
        };
        format!("{mark} [{tag}] {}: {}", self.key(), self.message)
    }
}

/// Formats Unix milliseconds as RFC 3339 UTC with milliseconds.
#[must_use]
pub fn rfc3339_ms(unix_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(unix_ms).map_or_else(String::new, |t| {
        t.to_rfc3339_opts(SecondsFormat::Millis, true)
    })
}
