//! Sink kinds and the request body each expects.

use serde_json::{Value, json};

use super::Notification;

/// Longest message Discord accepts in `content`.
const DISCORD_MAX_CHARS: usize = 2_000;

/// Which webhook format a sink speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkKind {
    /// Slack incoming webhook: `{"text": ...}`.
    Slack,
    /// Discord webhook: `{"content": ...}`.
    Discord,
    /// Generic JSON webhook: the whole [`Notification`] as a structured body.
    Webhook,
}

impl SinkKind {
    /// Parses `slack`, `discord` or `webhook`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "slack" => Some(Self::Slack),
            "discord" => Some(Self::Discord),
            "webhook" => Some(Self::Webhook),
            _ => None,
        }
    }

    /// The config spelling.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Slack => "slack",
            Self::Discord => "discord",
            Self::Webhook => "webhook",
        }
    }

    /// The JSON body for one notification.
    #[must_use]
    pub fn body(self, n: &Notification) -> Value {
        match self {
            Self::Slack => json!({ "text": n.chat_text() }),
            Self::Discord => {
                let text: String = n.chat_text().chars().take(DISCORD_MAX_CHARS).collect();
                json!({ "content": text })
            }
            Self::Webhook => serde_json::to_value(n).unwrap_or_else(|_| json!({})),
        }
    }
}
