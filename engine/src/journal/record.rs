//! Journal records: small `Copy` values the core thread produces, one per event.
//!
//! The byte layout of each kind is in `FORMAT.md` beside this file and in [`super::codec`].

use crate::instrument::{InstrumentId, Symbol};
use crate::order::{Fill, Intent, NewOrder, OrderId, RejectReason, Report};
use crate::safety::{ReasonCode, SafetyState};

/// Longest operator reason kept in a record, bytes (longer text is cut at a char boundary).
pub const OPERATOR_TEXT_MAX: usize = 48;

/// A short inline UTF-8 text (operator reasons), so records stay `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShortText {
    len: u8,
    bytes: [u8; OPERATOR_TEXT_MAX],
}

impl ShortText {
    /// The first [`OPERATOR_TEXT_MAX`] bytes of `text`, cut at a char boundary.
    pub fn new(text: &str) -> ShortText {
        let mut end = text.len().min(OPERATOR_TEXT_MAX);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0u8; OPERATOR_TEXT_MAX];
        bytes[..end].copy_from_slice(&text.as_bytes()[..end]);
        ShortText {
            len: end as u8,
            bytes,
        }
    }

    /// From stored bytes; `None` if `len` is too long or the bytes are not UTF-8.
    pub fn from_raw(len: u8, bytes: [u8; OPERATOR_TEXT_MAX]) -> Option<ShortText> {
        let text = bytes.get(..usize::from(len))?;
        std::str::from_utf8(text).ok()?;
        Some(ShortText { len, bytes })
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }

    /// Length in bytes and the padded buffer (for encoding).
    pub fn raw(&self) -> (u8, &[u8; OPERATOR_TEXT_MAX]) {
        (self.len, &self.bytes)
    }
}

impl std::fmt::Debug for ShortText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// What an operator did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OperatorAction {
    /// Halt by command (HTTP kill, CLI).
    Kill = 1,
    /// Reset the latch to running, with a reason.
    Reset = 2,
    /// A note in the journal (no state change).
    Note = 3,
    /// Every earlier run's orders were reconciled with the venue (their fills are booked,
    /// none is left open): they leave the open-order list.
    Reconciled = 4,
}

impl OperatorAction {
    /// The action of a journal byte.
    pub const fn from_u8(v: u8) -> Option<OperatorAction> {
        match v {
            1 => Some(OperatorAction::Kill),
            2 => Some(OperatorAction::Reset),
            3 => Some(OperatorAction::Note),
            4 => Some(OperatorAction::Reconciled),
            _ => None,
        }
    }
}

/// The risk anchors the breakers keep, journaled periodically so a restart continues them.
///
/// Money is in millionths of the quote currency (`_micros`): the breakers sum every
/// instrument, which notional units (per instrument) cannot express.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct Anchors {
    /// Account equity at the time of the record, micros.
    pub equity_micros: i64,
    /// Highest equity seen, micros.
    pub equity_peak_micros: i64,
    /// UTC day of `day_start_equity_micros`, days since 1970-01-01.
    pub utc_day: u32,
    /// Equity at the start of `utc_day` (first equity seen that day), micros.
    pub day_start_equity_micros: i64,
    /// Losing round trips in a row so far.
    pub consecutive_losses: u32,
}

/// What happened. One variant per record kind; every variant is fixed-size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordBody {
    /// The engine started (first record of every run). `pid` of the process.
    SessionStart {
        /// Process id.
        pid: u32,
    },
    /// Binds an instrument id of this run to its symbol (ids depend on config order).
    Instrument {
        /// Id in this run.
        id: InstrumentId,
        /// Symbol.
        symbol: Symbol,
    },
    /// A placement left the core thread (pushed into the intent ring).
    OrderSent(NewOrder),
    /// A cancel left the core thread.
    CancelSent {
        /// Instrument.
        instrument: InstrumentId,
        /// Order.
        order_id: OrderId,
    },
    /// A cancel-all left the core thread.
    CancelAllSent {
        /// Instrument.
        instrument: InstrumentId,
    },
    /// The venue accepted an order.
    Accepted {
        /// Order.
        order_id: OrderId,
        /// Venue time, ns.
        venue_ts_ns: u64,
    },
    /// The venue refused an order.
    Rejected {
        /// Order.
        order_id: OrderId,
        /// Why.
        reason: RejectReason,
        /// Venue time, ns.
        venue_ts_ns: u64,
    },
    /// An order is gone without further fills.
    Canceled {
        /// Order.
        order_id: OrderId,
        /// Venue time, ns.
        venue_ts_ns: u64,
    },
    /// A fill.
    Fill(Fill),
    /// The safety state machine moved forward.
    Trip {
        /// Why.
        reason: ReasonCode,
        /// The state reached.
        state: SafetyState,
        /// The measured value that tripped (unit depends on the breaker; 0 for kill inputs).
        value: i64,
        /// The configured limit it crossed (same unit).
        limit: i64,
    },
    /// An operator action.
    Operator {
        /// What.
        action: OperatorAction,
        /// Reason code (for `Kill`: usually [`ReasonCode::OperatorKill`]).
        reason: ReasonCode,
        /// The operator's words.
        text: ShortText,
    },
    /// The breakers' anchors (equity, peak, day, losing streak).
    Anchors(Anchors),
}

impl RecordBody {
    /// The record of a report from the gateway.
    pub fn from_report(report: &Report) -> RecordBody {
        match *report {
            Report::Accepted { order_id, ts_ns } => RecordBody::Accepted {
                order_id,
                venue_ts_ns: ts_ns,
            },
            Report::Rejected {
                order_id,
                reason,
                ts_ns,
            } => RecordBody::Rejected {
                order_id,
                reason,
                venue_ts_ns: ts_ns,
            },
            Report::Filled(fill) => RecordBody::Fill(fill),
            Report::Canceled { order_id, ts_ns } => RecordBody::Canceled {
                order_id,
                venue_ts_ns: ts_ns,
            },
        }
    }

    /// The record of an intent that was pushed into the intent ring.
    pub fn from_intent(intent: &Intent) -> RecordBody {
        match *intent {
            Intent::Place(order) => RecordBody::OrderSent(order),
            Intent::Cancel {
                instrument,
                order_id,
                ..
            } => RecordBody::CancelSent {
                instrument,
                order_id,
            },
            Intent::CancelAll { instrument, .. } => RecordBody::CancelAllSent { instrument },
        }
    }
}

/// One journal record: a sequence number (from 1, +1 per record, never reused), the core
/// thread's wall-clock time (Unix ns), and what happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// Sequence number.
    pub seq: u64,
    /// Unix time the core thread produced the record, ns.
    pub ts_ns: u64,
    /// What happened.
    pub body: RecordBody,
}
