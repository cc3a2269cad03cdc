//! Alert severity levels, ordered from least to most severe.

use serde::Serialize;

/// How bad an alert is. Ordered: `Info < Warning < Error < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// For the record (restarts, daily summary, rate-limit summaries).
    Info,
    /// Needs a look soon (feed lag, drawdown warning, old backup).
    Warning,
    /// Something is broken (disk low, invalid book, failed backup, reconnect storm).
    Error,
    /// Trading is stopped or blind (engine down or stale, kill latched).
    Critical,
}

impl Level {
    /// Upper-case name as written in config and messages.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Info => "INFO",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
            Self::Critical => "CRITICAL",
        }
    }

    /// Parses `INFO`, `WARNING`, `ERROR` or `CRITICAL` (case-insensitive).
    ///
    /// ```
    /// use obi_agent::alerts::Level;
    /// assert_eq!(Level::parse("warning"), Some(Level::Warning));
    /// assert_eq!(Level::parse("loud"), None);
    /// ```
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_uppercase().as_str() {
            "INFO" => Some(Self::Info),
            "WARNING" | "WARN" => Some(Self::Warning),
            "ERROR" => Some(Self::Error),
            "CRITICAL" => Some(Self::Critical),
            _ => None,
        }
    }

    /// A short marker for chat messages.
    #[must_use]
    pub const fn emoji(self) -> &'static str {
        match self {
            Self::Info => ":information_source:",
            Self::Warning => ":warning:",
            Self::Error => ":x:",
            Self::Critical => ":rotating_light:",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_by_severity() {
        assert!(Level::Info < Level::Warning);
        assert!(Level::Error < Level::Critical);
        for l in [Level::Info, Level::Warning, Level::Error, Level::Critical] {
            assert_eq!(Level::parse(l.name()), Some(l));
        }
    }
}
