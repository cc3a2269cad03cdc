//! The safety state machine: `Running → Reducing → Halted`, forward only, latched.

use super::reason::ReasonCode;
use crate::risk::RiskMode;

/// How much trading the engine may do. Ordered: a later state is always more restrictive.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum SafetyState {
    /// Normal trading.
    #[default]
    Running = 0,
    /// No new entries; orders that reduce a position (exits) are allowed.
    Reducing = 1,
    /// No new orders; open orders are cancelled; flatten only if the policy says so.
    Halted = 2,
}

impl SafetyState {
    /// The wire/journal byte.
    #[inline]
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The state of a journal byte; `None` for an unknown value.
    pub const fn from_u8(v: u8) -> Option<SafetyState> {
        match v {
            0 => Some(SafetyState::Running),
            1 => Some(SafetyState::Reducing),
            2 => Some(SafetyState::Halted),
            _ => None,
        }
    }

    /// Lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            SafetyState::Running => "running",
            SafetyState::Reducing => "reducing",
            SafetyState::Halted => "halted",
        }
    }

    /// What pre-trade risk must enforce in this state.
    pub const fn risk_mode(self) -> RiskMode {
        match self {
            SafetyState::Running => RiskMode::Normal,
            SafetyState::Reducing => RiskMode::ReduceOnly,
            SafetyState::Halted => RiskMode::Halted,
        }
    }
}

impl std::fmt::Display for SafetyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A forward move of the state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// State before.
    pub from: SafetyState,
    /// State after (strictly later than `from`).
    pub to: SafetyState,
    /// Why.
    pub reason: ReasonCode,
    /// When, ns (the caller's clock).
    pub ts_ns: u64,
}

/// Why an operator reset was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResetRefused {
    /// A kill input (kill file, control word) is still present: remove it first.
    #[error("a kill input is still present: remove the kill file / clear the control word first")]
    KillInputPresent,
    /// A reset needs a written reason.
    #[error("a reset needs a reason")]
    NoReason,
    /// Nothing to reset: the engine is running.
    #[error("the engine is already running")]
    NotLatched,
}

/// The latched state: where the machine stands, why, and since when.
///
/// [`trip`](Self::trip) only ever moves forward; the only way back is
/// [`reset`](Self::reset), an explicit operator action with a reason, refused while a kill
/// input is present. No allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SafetyLatch {
    state: SafetyState,
    reason: ReasonCode,
    since_ns: u64,
}

impl SafetyLatch {
    /// A running latch.
    pub const fn new() -> SafetyLatch {
        SafetyLatch {
            state: SafetyState::Running,
            reason: ReasonCode::None,
            since_ns: 0,
        }
    }

    /// A latch restored from disk (checkpoint or journal), as it was.
    pub const fn restored(state: SafetyState, reason: ReasonCode, since_ns: u64) -> SafetyLatch {
        SafetyLatch {
            state,
            reason,
            since_ns,
        }
    }

    /// Current state.
    #[inline]
    pub const fn state(&self) -> SafetyState {
        self.state
    }

    /// Reason of the last forward move ([`ReasonCode::None`] while running).
    #[inline]
    pub const fn reason(&self) -> ReasonCode {
        self.reason
    }

    /// Time of the last move, ns.
    #[inline]
    pub const fn since_ns(&self) -> u64 {
        self.since_ns
    }

    /// Moves to `to` if that is later than the current state; otherwise nothing changes
    /// (the first reason to reach a state is the one kept).
    #[inline]
    pub fn trip(&mut self, reason: ReasonCode, to: SafetyState, ts_ns: u64) -> Option<Transition> {
        if to <= self.state {
            return None;
        }
        let from = self.state;
        self.state = to;
        self.reason = reason;
        self.since_ns = ts_ns;
        Some(Transition {
            from,
            to,
            reason,
            ts_ns,
        })
    }

    /// Operator reset to `Running`. `reason` must be non-empty (journal it with the
    /// operator record); refused while `kill_input_present`.
    pub fn reset(
        &mut self,
        reason: &str,
        kill_input_present: bool,
        ts_ns: u64,
    ) -> Result<SafetyState, ResetRefused> {
        if self.state == SafetyState::Running {
            return Err(ResetRefused::NotLatched);
        }
        if kill_input_present {
            return Err(ResetRefused::KillInputPresent);
        }
        if reason.trim().is_empty() {
            return Err(ResetRefused::NoReason);
        }
        let from = self.state;
        *self = SafetyLatch {
            state: SafetyState::Running,
            reason: ReasonCode::None,
            since_ns: ts_ns,
        };
        Ok(from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_forward_only_and_keeps_the_first_reason() {
        let mut l = SafetyLatch::new();
        let t = l.trip(ReasonCode::MaxOpenPositions, SafetyState::Reducing, 5);
        assert_eq!(
            t.map(|t| (t.from, t.to)),
            Some((SafetyState::Running, SafetyState::Reducing))
        );
        assert_eq!(
            l.trip(ReasonCode::RateLimitHeadroom, SafetyState::Reducing, 6),
            None
        );
        assert_eq!(l.trip(ReasonCode::None, SafetyState::Running, 7), None);
        assert_eq!(l.reason(), ReasonCode::MaxOpenPositions);
        assert!(
            l.trip(ReasonCode::DailyLoss, SafetyState::Halted, 8)
                .is_some()
        );
        assert_eq!(l.trip(ReasonCode::KillFile, SafetyState::Reducing, 9), None);
        assert_eq!(
            (l.state(), l.reason(), l.since_ns()),
            (SafetyState::Halted, ReasonCode::DailyLoss, 8)
        );
    }

    #[test]
    fn reset_needs_a_reason_and_no_kill_input() {
        let mut l = SafetyLatch::new();
        assert_eq!(l.reset("x", false, 1), Err(ResetRefused::NotLatched));
        l.trip(ReasonCode::KillFile, SafetyState::Halted, 1);
        assert_eq!(
            l.reset("done", true, 2),
            Err(ResetRefused::KillInputPresent)
        );
        assert_eq!(l.reset("  ", false, 2), Err(ResetRefused::NoReason));
        assert_eq!(l.state(), SafetyState::Halted);
        assert_eq!(
            l.reset("checked the venue", false, 3),
            Ok(SafetyState::Halted)
        );
        assert_eq!(
            (l.state(), l.reason()),
            (SafetyState::Running, ReasonCode::None)
        );
        assert_eq!(SafetyState::Reducing.risk_mode(), RiskMode::ReduceOnly);
        for s in [
            SafetyState::Running,
            SafetyState::Reducing,
            SafetyState::Halted,
        ] {
            assert_eq!(SafetyState::from_u8(s.as_u8()), Some(s));
        }
        assert_eq!(SafetyState::from_u8(3), None);
    }
}
