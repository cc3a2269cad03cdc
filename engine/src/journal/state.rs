//! The state the journal implies: positions, PnL, open orders, risk anchors and the latch,
//! folded record by record. The checkpoint is this state serialized; recovery is
//! checkpoint + fold of the journal tail; the writer thread folds every record it writes.

use super::record::{Anchors, OperatorAction, Record, RecordBody};
use crate::instrument::{InstrumentId, Instruments};
use crate::order::OrderId;
use crate::portfolio::Position;
use crate::safety::{ReasonCode, SafetyLatch, SafetyState};
use crate::units::{Lots, Notional, Side, Ticks};

/// One instrument's accounting, keyed by symbol (ids change with config order).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentState {
    /// Exchange symbol, upper case; `#<id>` for fills whose instrument record is missing.
    pub symbol: String,
    /// Signed position, lots.
    pub position_lots: i64,
    /// Signed cost basis of the open lots, notional units (`tick * lot`).
    pub cost: Notional,
    /// Realized PnL before fees, notional units.
    pub realized: Notional,
    /// Fees paid (negative: rebates), notional units.
    pub fees: Notional,
    /// Fills booked.
    pub fills: u64,
}

impl InstrumentState {
    /// The position as the portfolio keeps it.
    pub fn position(&self) -> Position {
        Position {
            qty_lots: self.position_lots,
            cost: self.cost,
            realized: self.realized,
            fees: self.fees,
        }
    }

    fn set_position(&mut self, p: Position) {
        self.position_lots = p.qty_lots;
        self.cost = p.cost;
        self.realized = p.realized;
        self.fees = p.fees;
    }
}

/// Buy or sell, as text in the checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderSide {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

impl From<Side> for OrderSide {
    fn from(s: Side) -> OrderSide {
        match s {
            Side::Bid => OrderSide::Buy,
            Side::Ask => OrderSide::Sell,
        }
    }
}

/// An order sent and not yet finished (rejected, cancelled or completely filled), as far
/// as the journal knows. Reconcile with the venue before trusting it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenOrder {
    /// Run (session) number that sent it, from 1: order ids are unique within a run only.
    pub session: u64,
    /// Client order id.
    pub order_id: u64,
    /// Symbol.
    pub symbol: String,
    /// Side.
    pub side: OrderSide,
    /// Limit price, ticks.
    pub price_ticks: i64,
    /// Ordered quantity, lots.
    pub qty_lots: i64,
    /// Filled so far, lots.
    pub filled_lots: i64,
    /// The venue acknowledged it.
    pub accepted: bool,
}

/// A run whose orders have not been reconciled with the venue yet.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnreconciledRun {
    /// Run (session) number, from 1.
    pub session: u64,
    /// The run's start time (its session-start record), Unix ns: the run's client order ids
    /// are derived from it in seconds.
    pub start_ns: u64,
    /// Highest order id the journal saw sent in the run (order ids rise by one per order,
    /// so a venue order of the run above it is one whose record was lost).
    pub max_order_id: u64,
}

/// The latch as recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatchState {
    /// State.
    pub state: SafetyState,
    /// Reason code of the last forward move (0 while running).
    pub reason_code: u32,
    /// Time of the last move, Unix ns.
    pub since_ns: u64,
    /// The operator's words for the last reset or kill, if any.
    pub operator_text: String,
}

impl LatchState {
    /// The latch to start the state machine from (unknown codes count as a mismatch).
    pub fn latch(&self) -> SafetyLatch {
        let reason =
            ReasonCode::from_code(self.reason_code).unwrap_or(ReasonCode::RecoveryMismatch);
        SafetyLatch::restored(self.state, reason, self.since_ns)
    }
}

/// Everything the journal implies, as of record `last_seq`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalState {
    /// Sequence number of the last record folded in (0: none).
    pub last_seq: u64,
    /// Timestamp of that record, Unix ns.
    pub last_ts_ns: u64,
    /// Runs seen (session-start records).
    pub sessions: u64,
    /// Instrument id → symbol in the current run, by id.
    pub bindings: Vec<Option<String>>,
    /// Accounting per symbol, in first-seen order.
    pub instruments: Vec<InstrumentState>,
    /// Orders not known to be finished.
    pub open_orders: Vec<OpenOrder>,
    /// The breakers' latest anchors.
    pub anchors: Option<Anchors>,
    /// The latch.
    pub latch: LatchState,
    /// Fills whose instrument id had no instrument record in their run (booked under
    /// `#<id>`; any is a mismatch to reconcile).
    pub orphan_fills: u64,
    /// Runs since the last reconciliation with the venue, oldest first.
    #[serde(default)]
    pub unreconciled: Vec<UnreconciledRun>,
}

/// How recovered accounting maps onto this run's instruments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestorePlan {
    /// Position, cost, realized PnL and fees per configured instrument that has any.
    pub positions: Vec<(InstrumentId, Position)>,
    /// Symbols with a non-zero position that this run does not trade: a mismatch (start
    /// halted until reconciled).
    pub unconfigured_positions: Vec<(String, i64)>,
    /// Open orders the journal knows of (any run): reconcile with the venue.
    pub open_orders: usize,
}

impl RestorePlan {
    /// True when nothing in the recovered state is outside this run's instruments.
    pub fn is_consistent(&self) -> bool {
        self.unconfigured_positions.is_empty()
    }
}

impl JournalState {
    /// Maps the recovered accounting onto `instruments` by symbol.
    pub fn restore_plan(&self, instruments: &Instruments) -> RestorePlan {
        let mut plan = RestorePlan {
            open_orders: self.open_orders.len(),
            ..RestorePlan::default()
        };
        for i in &self.instruments {
            match instruments.lookup(i.symbol.as_bytes()) {
                Some(id) if i.position() != Position::default() => {
                    plan.positions.push((id, i.position()));
                }
                Some(_) => {}
                None if i.position_lots != 0 => {
                    plan.unconfigured_positions
                        .push((i.symbol.clone(), i.position_lots));
                }
                None => {}
            }
        }
        plan
    }

    /// The accounting of `symbol`, if any fill or binding named it.
    pub fn instrument(&self, symbol: &str) -> Option<&InstrumentState> {
        self.instruments.iter().find(|i| i.symbol == symbol)
    }

    /// Signed position of `symbol`, lots (0 if unknown).
    pub fn position_lots(&self, symbol: &str) -> i64 {
        self.instrument(symbol).map_or(0, |i| i.position_lots)
    }

    fn slot(&mut self, symbol: &str) -> &mut InstrumentState {
        let i = match self.instruments.iter().position(|i| i.symbol == symbol) {
            Some(i) => i,
            None => {
                self.instruments.push(InstrumentState {
                    symbol: symbol.to_string(),
                    ..InstrumentState::default()
                });
                self.instruments.len() - 1
            }
        };
        &mut self.instruments[i]
    }

    fn symbol_of(&self, id: u16) -> Option<&str> {
        self.bindings.get(usize::from(id))?.as_deref()
    }

    fn order_index(&self, order_id: OrderId) -> Option<usize> {
        let session = self.sessions;
        self.open_orders
            .iter()
            .position(|o| o.session == session && o.order_id == order_id.0)
    }

    /// Folds one record in. Records must come in sequence order; one at or below
    /// `last_seq` is ignored (already folded) and `false` is returned.
    pub fn apply(&mut self, record: &Record) -> bool {
        if record.seq <= self.last_seq {
            return false;
        }
        self.last_seq = record.seq;
        self.last_ts_ns = record.ts_ns;
        match record.body {
            RecordBody::SessionStart { .. } => {
                self.sessions += 1;
                self.bindings.clear();
                self.unreconciled.push(UnreconciledRun {
                    session: self.sessions,
                    start_ns: record.ts_ns,
                    max_order_id: 0,
                });
            }
            RecordBody::Instrument { id, symbol } => {
                let i = usize::from(id.0);
                if self.bindings.len() <= i {
                    self.bindings.resize(i + 1, None);
                }
                self.bindings[i] = Some(symbol.as_str().to_string());
                self.slot(symbol.as_str());
            }
            RecordBody::OrderSent(o) => {
                if let Some(run) = self
                    .unreconciled
                    .last_mut()
                    .filter(|r| r.session == self.sessions)
                {
                    run.max_order_id = run.max_order_id.max(o.order_id.0);
                }
                let symbol = self.symbol_or_orphan(o.instrument.0);
                self.open_orders.push(OpenOrder {
                    session: self.sessions,
                    order_id: o.order_id.0,
                    symbol,
                    side: o.side.into(),
                    price_ticks: o.price.0,
                    qty_lots: o.qty.0,
                    filled_lots: 0,
                    accepted: false,
                });
            }
            RecordBody::CancelSent { .. } | RecordBody::CancelAllSent { .. } => {}
            RecordBody::Accepted { order_id, .. } => {
                if let Some(i) = self.order_index(order_id) {
                    self.open_orders[i].accepted = true;
                }
            }
            RecordBody::Rejected { order_id, .. } | RecordBody::Canceled { order_id, .. } => {
                if let Some(i) = self.order_index(order_id) {
                    self.open_orders.remove(i);
                }
            }
            RecordBody::Fill(f) => {
                let symbol = match self.symbol_of(f.instrument.0) {
                    Some(s) => s.to_string(),
                    None => {
                        self.orphan_fills += 1;
                        format!("#{}", f.instrument.0)
                    }
                };
                let slot = self.slot(&symbol);
                let mut p = slot.position();
                if f.qty.0 > 0 {
                    p.apply(f.side, Ticks(f.price.0), Lots(f.qty.0), f.fee);
                }
                slot.set_position(p);
                slot.fills += 1;
                if let Some(i) = self.order_index(f.order_id) {
                    let o = &mut self.open_orders[i];
                    o.filled_lots = o.filled_lots.saturating_add(f.qty.0);
                    if f.leaves_qty.0 <= 0 {
                        self.open_orders.remove(i);
                    }
                }
            }
            RecordBody::Trip { reason, state, .. } => {
                self.latch_forward(state, reason.code(), record.ts_ns, None);
            }
            RecordBody::Operator {
                action,
                reason,
                text,
            } => match action {
                OperatorAction::Kill => {
                    self.latch_forward(
                        SafetyState::Halted,
                        reason.code(),
                        record.ts_ns,
                        Some(text.as_str()),
                    );
                }
                OperatorAction::Reset => {
                    self.latch = LatchState {
                        state: SafetyState::Running,
                        reason_code: ReasonCode::None.code(),
                        since_ns: record.ts_ns,
                        operator_text: text.as_str().to_string(),
                    };
                }
                OperatorAction::Note => {}
                OperatorAction::Reconciled => {
                    let current = self.sessions;
                    self.open_orders.retain(|o| o.session == current);
                    self.unreconciled.retain(|r| r.session == current);
                }
            },
            RecordBody::Anchors(a) => self.anchors = Some(a),
        }
        true
    }

    fn symbol_or_orphan(&self, id: u16) -> String {
        self.symbol_of(id)
            .map_or_else(|| format!("#{id}"), str::to_string)
    }

    fn latch_forward(&mut self, state: SafetyState, code: u32, ts_ns: u64, text: Option<&str>) {
        if state > self.latch.state {
            self.latch = LatchState {
                state,
                reason_code: code,
                since_ns: ts_ns,
                operator_text: text.unwrap_or_default().to_string(),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::ShortText;
    use crate::order::{NewOrder, TimeInForce};

    fn rec(seq: u64, ts_ns: u64, body: RecordBody) -> Record {
        Record { seq, ts_ns, body }
    }

    fn sent(order_id: u64) -> RecordBody {
        RecordBody::OrderSent(NewOrder {
            order_id: OrderId(order_id),
            instrument: crate::instrument::InstrumentId(0),
            side: Side::Bid,
            price: Ticks(100),
            qty: Lots(2),
            tif: TimeInForce::Gtc,
            cause_ts_ns: 0,
            reduce_only: false,
        })
    }

    #[test]
    fn runs_stay_unreconciled_until_a_reconciled_record_and_keep_their_highest_order_id() {
        let mut s = JournalState::default();
        let mut seq = 0;
        let mut push = |s: &mut JournalState, ts: u64, body| {
            seq += 1;
            assert!(s.apply(&rec(seq, ts, body)));
        };
        push(&mut s, 5_000_000_000, RecordBody::SessionStart { pid: 1 });
        push(&mut s, 5_000_000_001, sent(1));
        push(&mut s, 5_000_000_002, sent(2));
        push(&mut s, 9_000_000_000, RecordBody::SessionStart { pid: 2 });
        push(&mut s, 9_000_000_001, sent(1));
        let runs: Vec<(u64, u64, u64)> = s
            .unreconciled
            .iter()
            .map(|r| (r.session, r.start_ns, r.max_order_id))
            .collect();
        assert_eq!(runs, vec![(1, 5_000_000_000, 2), (2, 9_000_000_000, 1)]);
        assert_eq!(s.open_orders.len(), 3);
        push(
            &mut s,
            9_000_000_002,
            RecordBody::Operator {
                action: OperatorAction::Reconciled,
                reason: ReasonCode::None,
                text: ShortText::new("reconciled"),
            },
        );
        // Only the current run's orders and run stay.
        assert_eq!(s.unreconciled.len(), 1);
        assert_eq!(s.unreconciled[0].session, 2);
        assert_eq!(s.open_orders.len(), 1);
        assert_eq!(s.open_orders[0].session, 2);
    }
}
