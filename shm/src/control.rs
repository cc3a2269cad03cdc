//! The control area: requests the agent makes and the acks the engine stores.
//!
//! Sequences only grow. The agent increments a request sequence; the engine, when it has
//! acted, stores that sequence as the ack. A request is pending while `request > ack`.

/// Requests pending for the engine, from [`StatsWriter::poll_control`](crate::StatsWriter::poll_control).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ControlRequests {
    /// Latest kill request sequence, if newer than the engine's kill ack.
    pub kill_seq: Option<u64>,
    /// Latest reset request sequence, if newer than the engine's reset ack.
    pub reset_seq: Option<u64>,
    /// Reason code stored with the latest kill request (meaningful when `kill_seq` is set).
    pub kill_reason_code: u32,
}

impl ControlRequests {
    /// True when nothing is pending.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.kill_seq.is_none() && self.reset_seq.is_none()
    }
}

/// The whole control area as the agent sees it, from
/// [`StatsView::control_state`](crate::StatsView::control_state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ControlState {
    /// Kill requests made so far.
    pub kill_request_seq: u64,
    /// Last kill request the engine acted on.
    pub kill_ack_seq: u64,
    /// Reset requests made so far.
    pub reset_request_seq: u64,
    /// Last reset request the engine acted on.
    pub reset_ack_seq: u64,
    /// Reason code of the latest kill request.
    pub kill_reason_code: u32,
}

impl ControlState {
    /// True while a kill request has not been acknowledged.
    #[must_use]
    pub const fn kill_pending(&self) -> bool {
        self.kill_request_seq > self.kill_ack_seq
    }

    /// True while a reset request has not been acknowledged.
    #[must_use]
    pub const fn reset_pending(&self) -> bool {
        self.reset_request_seq > self.reset_ack_seq
    }
}
