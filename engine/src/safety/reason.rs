//! Reason codes: why the safety state machine moved. Stable numbers, never reused.
//!
//! The same `u32` shows in shm, in journal records and in alerts. Add new codes at the end
//! of their block; never renumber or reuse one.

/// Why trading was reduced or halted (or, for [`ReasonCode::None`], that it was not).
///
/// | code | name | block |
/// |---:|---|---|
/// | 0 | `none` | — |
/// | 101 | `daily_loss` | market/PnL breakers |
/// | 102 | `drawdown` | |
/// | 103 | `consecutive_losses` | |
/// | 104 | `price_move` | |
/// | 105 | `max_open_positions` | |
/// | 201 | `book_stale` | feed/execution health |
/// | 202 | `reconnect_storm` | |
/// | 203 | `intent_ring_full` | |
/// | 204 | `reject_rate` | |
/// | 205 | `rate_limit_headroom` | |
/// | 206 | `journal_unavailable` | |
/// | 301 | `kill_file` | kill inputs |
/// | 302 | `env_kill` | |
/// | 303 | `control_word` | |
/// | 304 | `sigterm` | |
/// | 305 | `sigint` | |
/// | 401 | `operator_kill` | operator and recovery |
/// | 402 | `recovery_mismatch` | |
/// | 403 | `journal_corrupt` | |
/// | 404 | `checkpoint_invalid` | |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum ReasonCode {
    /// Nothing tripped.
    #[default]
    None = 0,
    /// Loss since the UTC day's start reached the configured share of that day's equity.
    DailyLoss = 101,
    /// Equity fell the configured share below its peak.
    Drawdown = 102,
    /// Too many losing round trips in a row.
    ConsecutiveLosses = 103,
    /// An instrument's mid moved too far within the window.
    PriceMove = 104,
    /// More instruments hold a position than allowed.
    MaxOpenPositions = 105,
    /// A book was invalid or silent for too long after having been valid.
    BookStale = 201,
    /// Too many feed reconnects within the window.
    ReconnectStorm = 202,
    /// The intent ring refused intents too often within the window.
    IntentRingFull = 203,
    /// Too large a share of orders was rejected within the window.
    RejectRate = 204,
    /// The venue's rate-limit headroom fell below the configured share.
    RateLimitHeadroom = 205,
    /// The journal ring was full or its writer failed: events could go unrecorded.
    JournalUnavailable = 206,
    /// The venue refused the API key or a signature: order entry is unusable.
    KeyRefused = 207,
    /// A kill file is present.
    KillFile = 301,
    /// `OBI_KILL` was set at start.
    EnvKill = 302,
    /// The agent set the shm control word.
    ControlWord = 303,
    /// SIGTERM received.
    Sigterm = 304,
    /// SIGINT received.
    Sigint = 305,
    /// An operator halted the engine by command.
    OperatorKill = 401,
    /// Local state and the venue disagreed at start.
    RecoveryMismatch = 402,
    /// The journal is corrupt (not just a torn tail).
    JournalCorrupt = 403,
    /// The checkpoint could not be loaded.
    CheckpointInvalid = 404,
}

impl ReasonCode {
    /// Every code, in table order.
    pub const ALL: [ReasonCode; 22] = [
        ReasonCode::None,
        ReasonCode::DailyLoss,
        ReasonCode::Drawdown,
        ReasonCode::ConsecutiveLosses,
        ReasonCode::PriceMove,
        ReasonCode::MaxOpenPositions,
        ReasonCode::BookStale,
        ReasonCode::ReconnectStorm,
        ReasonCode::IntentRingFull,
        ReasonCode::RejectRate,
        ReasonCode::RateLimitHeadroom,
        ReasonCode::JournalUnavailable,
        ReasonCode::KeyRefused,
        ReasonCode::KillFile,
        ReasonCode::EnvKill,
        ReasonCode::ControlWord,
        ReasonCode::Sigterm,
        ReasonCode::Sigint,
        ReasonCode::OperatorKill,
        ReasonCode::RecoveryMismatch,
        ReasonCode::JournalCorrupt,
        ReasonCode::CheckpointInvalid,
    ];

    /// The stable number.
    #[inline]
    pub const fn code(self) -> u32 {
        self as u32
    }

    /// The code with number `code`; `None` for a number this build does not know.
    pub fn from_code(code: u32) -> Option<ReasonCode> {
        ReasonCode::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The stable snake_case name (for logs, alerts and metrics labels).
    pub const fn name(self) -> &'static str {
        match self {
            ReasonCode::None => "none",
            ReasonCode::DailyLoss => "daily_loss",
            ReasonCode::Drawdown => "drawdown",
            ReasonCode::ConsecutiveLosses => "consecutive_losses",
            ReasonCode::PriceMove => "price_move",
            ReasonCode::MaxOpenPositions => "max_open_positions",
            ReasonCode::BookStale => "book_stale",
            ReasonCode::ReconnectStorm => "reconnect_storm",
            ReasonCode::IntentRingFull => "intent_ring_full",
            ReasonCode::RejectRate => "reject_rate",
            ReasonCode::RateLimitHeadroom => "rate_limit_headroom",
            ReasonCode::JournalUnavailable => "journal_unavailable",
            ReasonCode::KeyRefused => "key_refused",
            ReasonCode::KillFile => "kill_file",
            ReasonCode::EnvKill => "env_kill",
            ReasonCode::ControlWord => "control_word",
            ReasonCode::Sigterm => "sigterm",
            ReasonCode::Sigint => "sigint",
            ReasonCode::OperatorKill => "operator_kill",
            ReasonCode::RecoveryMismatch => "recovery_mismatch",
            ReasonCode::JournalCorrupt => "journal_corrupt",
            ReasonCode::CheckpointInvalid => "checkpoint_invalid",
        }
    }

    /// The name of a raw code, `"unknown"` for a number this build does not know.
    pub fn name_of(code: u32) -> &'static str {
        ReasonCode::from_code(code).map_or("unknown", ReasonCode::name)
    }
}

impl std::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        for (i, a) in ReasonCode::ALL.iter().enumerate() {
            assert_eq!(ReasonCode::from_code(a.code()), Some(*a));
            for b in &ReasonCode::ALL[i + 1..] {
                assert_ne!(a.code(), b.code());
                assert_ne!(a.name(), b.name());
            }
        }
        assert_eq!(ReasonCode::from_code(999), None);
        assert_eq!(ReasonCode::name_of(999), "unknown");
        assert_eq!(ReasonCode::DailyLoss.to_string(), "daily_loss (101)");
    }
}
