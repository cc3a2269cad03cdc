//! The gateway's record of our orders: what has been reported to the core thread, and each
//! order's cumulative executed quantity and quote amount, so every fill is reported exactly
//! once whether it is learnt from an execution report, a cancel answer or a status query.
//!
//! Fills are deltas of the cumulative figures: an event or state whose cumulative quantity
//! is not above what was already reported adds nothing (a replay after reconciliation is a
//! counted duplicate). A delta learnt from a state (no per-trade detail) is priced at the
//! exact average `Δ cumulative quote / Δ executed qty`, rounded to the nearest tick; its fee
//! is approximated at the configured rate and counted.

use super::fees::{self, FeeKind};
use super::response::OrderState;
use super::stats::{GatewayStats, bump};
use super::user_data::{ExecKind, Execution};
use crate::instrument::{InstrumentId, InstrumentSpec};
use crate::order::{Fill, Liquidity, NewOrder, OrderId, RejectReason, Report, TimeInForce};
use crate::units::{Lots, Notional, Ticks};
use std::collections::{HashMap, VecDeque};

/// What the gateway knows about one order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderRecord {
    /// The order as the core thread asked for it.
    pub order: NewOrder,
    /// Executed quantity reported so far, lots.
    pub filled_lots: i64,
    /// Executed quote amount reported so far, notional units.
    pub filled_notional: Notional,
    /// `Accepted` has been reported.
    pub accepted: bool,
    /// A terminal report (`Rejected`, `Canceled`, last `Filled`) has been sent.
    pub done: bool,
    /// The core thread asked to cancel it.
    pub cancel_requested: bool,
    /// Cancel requests sent for it.
    pub cancel_attempts: u8,
    /// Failed status queries in a row.
    pub status_failures: u8,
}

/// Whether an order is still open after a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    /// Resting (or unknown state): keep it.
    Open,
    /// Finished.
    Closed,
}

/// Why a new order was refused before it was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdmitError {
    /// The id was used before (or is not above the last one): its `newClientOrderId` would
    /// repeat.
    DuplicateId,
}

/// Where a fill's fee comes from.
#[derive(Clone, Copy, Debug)]
enum FeeSource<'a> {
    /// The trade's commission, for `last_qty` at `last_price`.
    Commission {
        text: Option<&'a str>,
        asset: Option<&'a str>,
        last_price: Ticks,
        last_qty: Lots,
    },
    /// Not known (state-based reconciliation): approximated.
    Unknown,
}

/// The record of every order of this run that is open or recently finished.
#[derive(Debug)]
pub struct Orders {
    map: HashMap<OrderId, OrderRecord>,
    done: VecDeque<OrderId>,
    keep_done: usize,
    last_admitted: Option<OrderId>,
    fallback_fee_bps: f64,
}

impl Orders {
    /// An empty record keeping up to `keep_done` finished orders (to recognise late events);
    /// fees in other assets are approximated at `fallback_fee_bps`.
    pub fn new(keep_done: usize, fallback_fee_bps: f64) -> Orders {
        Orders {
            map: HashMap::with_capacity(keep_done.min(4096) + 256),
            done: VecDeque::with_capacity(keep_done.min(4096) + 1),
            keep_done,
            last_admitted: None,
            fallback_fee_bps,
        }
    }

    /// Records a new order before it is sent. Ids must increase, so no client order id is
    /// ever sent twice.
    pub fn admit(&mut self, order: NewOrder) -> Result<(), AdmitError> {
        if self
            .last_admitted
            .is_some_and(|last| order.order_id <= last)
            || self.map.contains_key(&order.order_id)
        {
            return Err(AdmitError::DuplicateId);
        }
        self.last_admitted = Some(order.order_id);
        self.map.insert(
            order.order_id,
            OrderRecord {
                order,
                filled_lots: 0,
                filled_notional: 0,
                accepted: false,
                done: false,
                cancel_requested: false,
                cancel_attempts: 0,
                status_failures: 0,
            },
        );
        Ok(())
    }

    /// The record of `id`.
    pub fn get(&self, id: OrderId) -> Option<&OrderRecord> {
        self.map.get(&id)
    }

    /// The record of `id`, mutable.
    pub fn get_mut(&mut self, id: OrderId) -> Option<&mut OrderRecord> {
        self.map.get_mut(&id)
    }

    /// Ids of orders not finished, in id order.
    pub fn open_ids(&self) -> Vec<OrderId> {
        let mut ids: Vec<OrderId> = self
            .map
            .values()
            .filter(|r| !r.done)
            .map(|r| r.order.order_id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Number of unfinished orders.
    pub fn open_count(&self) -> usize {
        self.map.values().filter(|r| !r.done).count()
    }

    /// Ids of unfinished orders on `instrument`.
    pub fn open_on(&self, instrument: InstrumentId) -> Vec<OrderId> {
        let mut ids: Vec<OrderId> = self
            .map
            .values()
            .filter(|r| !r.done && r.order.instrument == instrument)
            .map(|r| r.order.order_id)
            .collect();
        ids.sort_unstable();
        ids
    }

    fn finish(&mut self, id: OrderId) {
        if let Some(r) = self.map.get_mut(&id)
            && !r.done
        {
            r.done = true;
            self.done.push_back(id);
            while self.done.len() > self.keep_done {
                if let Some(old) = self.done.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }

    fn ensure_accepted(&mut self, id: OrderId, ts_ns: u64, out: &mut Vec<Report>) {
        if let Some(r) = self.map.get_mut(&id)
            && !r.accepted
            && !r.done
        {
            r.accepted = true;
            out.push(Report::Accepted {
                order_id: id,
                ts_ns,
            });
        }
    }

    /// The venue acknowledged the placement.
    pub fn on_ack(&mut self, id: OrderId, ts_ns: u64, out: &mut Vec<Report>) {
        self.ensure_accepted(id, ts_ns, out);
    }

    /// The order was refused (by the venue or locally after admission).
    pub fn reject(&mut self, id: OrderId, reason: RejectReason, ts_ns: u64, out: &mut Vec<Report>) {
        if let Some(r) = self.map.get(&id)
            && !r.done
        {
            out.push(Report::Rejected {
                order_id: id,
                reason,
                ts_ns,
            });
            self.finish(id);
        }
    }

    /// The order is gone: reported `Canceled` (after `Accepted` if that was never sent).
    fn cancel(&mut self, id: OrderId, ts_ns: u64, out: &mut Vec<Report>) -> bool {
        match self.map.get(&id) {
            Some(r) if !r.done => {
                self.ensure_accepted(id, ts_ns, out);
                out.push(Report::Canceled {
                    order_id: id,
                    ts_ns,
                });
                self.finish(id);
                true
            }
            _ => false,
        }
    }

    /// `order.status` answered `-2013` (the venue never had it): `Rejected` if it was never
    /// accepted, otherwise `Canceled`.
    pub fn on_missing(&mut self, id: OrderId, ts_ns: u64, out: &mut Vec<Report>) {
        match self.map.get(&id) {
            Some(r) if !r.done && !r.accepted => self.reject(id, RejectReason::Venue, ts_ns, out),
            Some(r) if !r.done => {
                self.cancel(id, ts_ns, out);
            }
            _ => {}
        }
    }

    /// Reports the executed quantity above what was reported; true if a fill was emitted.
    #[allow(clippy::too_many_arguments)]
    fn catch_up(
        &mut self,
        id: OrderId,
        spec: &InstrumentSpec,
        cum_lots: i64,
        cum_notional: Option<Notional>,
        fee: FeeSource<'_>,
        maker: Option<bool>,
        ts_ns: u64,
        stats: &GatewayStats,
        out: &mut Vec<Report>,
    ) -> bool {
        let Some(r) = self.map.get(&id).copied() else {
            return false;
        };
        let delta = cum_lots - r.filled_lots;
        if delta <= 0 {
            return false;
        }
        let price = match (fee, cum_notional) {
            (
                FeeSource::Commission {
                    last_price,
                    last_qty,
                    ..
                },
                _,
            ) if last_qty.0 == delta => last_price,
            (_, Some(cum)) if cum > r.filled_notional => {
                Ticks(div_round(cum - r.filled_notional, i128::from(delta)))
            }
            (FeeSource::Commission { last_price, .. }, _) if last_price.0 > 0 => last_price,
            _ => r.order.price,
        };
        let qty = Lots(delta);
        let fee_notional = match fee {
            FeeSource::Commission {
                text,
                asset,
                last_price,
                last_qty,
            } => {
                let (full, kind) = fees::commission_notional(
                    spec,
                    text,
                    asset,
                    last_price,
                    last_qty,
                    self.fallback_fee_bps,
                );
                if kind == FeeKind::Approximated {
                    bump(&stats.fees_approximated);
                }
                if last_qty.0 == delta || last_qty.0 <= 0 {
                    full
                } else {
                    // Part of this trade was reported already: its share of the commission.
                    bump(&stats.fees_approximated);
                    div_ceil(full * i128::from(delta), i128::from(last_qty.0))
                }
            }
            FeeSource::Unknown => {
                bump(&stats.fees_approximated);
                crate::paper::FeeRate::from_bps(self.fallback_fee_bps).fee(price, qty)
            }
        };
        let liquidity = match maker {
            Some(true) => Liquidity::Maker,
            Some(false) => Liquidity::Taker,
            None if r.order.tif == TimeInForce::Ioc => Liquidity::Taker,
            None => Liquidity::Maker,
        };
        self.ensure_accepted(id, ts_ns, out);
        let leaves = Lots((r.order.qty.0 - cum_lots).max(0));
        if let Some(rec) = self.map.get_mut(&id) {
            rec.filled_lots = cum_lots;
            rec.filled_notional = cum_notional
                .filter(|&c| c > rec.filled_notional)
                .unwrap_or(rec.filled_notional + i128::from(price.0) * i128::from(delta));
        }
        out.push(Report::Filled(Fill {
            order_id: id,
            instrument: r.order.instrument,
            side: r.order.side,
            price,
            qty,
            leaves_qty: leaves,
            fee: fee_notional,
            liquidity,
            ts_ns,
        }));
        if leaves.is_zero() {
            self.finish(id);
        }
        true
    }

    /// An execution report for our order `id`.
    pub fn on_execution(
        &mut self,
        id: OrderId,
        spec: &InstrumentSpec,
        exec: &Execution<'_>,
        ts_ns: u64,
        stats: &GatewayStats,
        out: &mut Vec<Report>,
    ) {
        let Some(record) = self.map.get(&id).copied() else {
            bump(&stats.frames_skipped);
            return;
        };
        let cum_lots = spec.lots(exec.cum_qty.as_bytes()).ok().map(|l| l.0);
        let cum_notional = exec
            .cum_quote
            .as_deref()
            .and_then(|t| fees::quote_notional(spec, t));
        match exec.kind {
            ExecKind::New => {
                if record.accepted || record.done {
                    bump(&stats.duplicates_skipped);
                } else {
                    self.ensure_accepted(id, ts_ns, out);
                }
            }
            ExecKind::Trade => {
                let (Some(cum), Ok(last_price), Ok(last_qty)) = (
                    cum_lots,
                    spec.ticks(exec.last_price.as_bytes()),
                    spec.lots(exec.last_qty.as_bytes()),
                ) else {
                    bump(&stats.frames_skipped);
                    return;
                };
                let fee = FeeSource::Commission {
                    text: exec.commission.as_deref(),
                    asset: exec.commission_asset.as_deref(),
                    last_price,
                    last_qty,
                };
                let emitted = self.catch_up(
                    id,
                    spec,
                    cum,
                    cum_notional,
                    fee,
                    Some(exec.maker),
                    ts_ns,
                    stats,
                    out,
                );
                if !emitted {
                    bump(&stats.duplicates_skipped);
                }
                if exec.status == "FILLED" {
                    self.finish(id);
                }
            }
            ExecKind::Canceled | ExecKind::Expired => {
                if let Some(cum) = cum_lots
                    && self.catch_up(
                        id,
                        spec,
                        cum,
                        cum_notional,
                        FeeSource::Unknown,
                        None,
                        ts_ns,
                        stats,
                        out,
                    )
                {
                    bump(&stats.reconciled_fills);
                }
                if !self.cancel(id, ts_ns, out) {
                    bump(&stats.duplicates_skipped);
                }
            }
            ExecKind::Rejected => {
                if record.done {
                    bump(&stats.duplicates_skipped);
                }
                self.reject(id, RejectReason::Venue, ts_ns, out);
            }
            ExecKind::Other => {}
        }
    }

    /// The venue's state of order `id` (`order.status`, a cancel answer, reconciliation):
    /// missed fills are reported from the cumulative figures, then the state.
    pub fn on_state(
        &mut self,
        id: OrderId,
        spec: &InstrumentSpec,
        state: &OrderState<'_>,
        ts_ns: u64,
        stats: &GatewayStats,
        out: &mut Vec<Report>,
    ) -> Liveness {
        if !self.map.contains_key(&id) {
            bump(&stats.frames_skipped);
            return Liveness::Closed;
        }
        if let Ok(executed) = spec.lots(state.executed_qty.as_bytes()) {
            let cum_notional = state
                .quote_qty()
                .and_then(|t| fees::quote_notional(spec, t));
            if self.catch_up(
                id,
                spec,
                executed.0,
                cum_notional,
                FeeSource::Unknown,
                None,
                ts_ns,
                stats,
                out,
            ) {
                bump(&stats.reconciled_fills);
            }
        } else {
            bump(&stats.frames_skipped);
        }
        match state.status.as_ref() {
            "NEW" | "PARTIALLY_FILLED" | "PENDING_NEW" => {
                self.ensure_accepted(id, ts_ns, out);
                if self.map.get(&id).is_some_and(|r| r.done) {
                    Liveness::Closed
                } else {
                    Liveness::Open
                }
            }
            "FILLED" => {
                self.finish(id);
                Liveness::Closed
            }
            "CANCELED" | "EXPIRED" | "EXPIRED_IN_MATCH" => {
                self.cancel(id, ts_ns, out);
                Liveness::Closed
            }
            "REJECTED" => {
                self.reject(id, RejectReason::Venue, ts_ns, out);
                Liveness::Closed
            }
            _ => Liveness::Open,
        }
    }
}

/// `num / den` rounded to the nearest integer (halves away from zero); `den > 0`.
fn div_round(num: i128, den: i128) -> i64 {
    let q = if num >= 0 {
        (2 * num + den) / (2 * den)
    } else {
        -((-2 * num + den) / (2 * den))
    };
    i64::try_from(q).unwrap_or(i64::MAX)
}

/// `num / den` rounded towards +infinity; `den > 0`.
fn div_ceil(num: i128, den: i128) -> i128 {
    let q = num.div_euclid(den);
    if num.rem_euclid(den) == 0 { q } else { q + 1 }
}

#[cfg(test)]
mod tests {
    use super::super::response::parse_event;
    use super::super::response::parse_result;
    use super::super::user_data::{SpotEvent, from_spot};
    use super::*;
    use crate::instrument::{Market, Scale, Symbol};
    use crate::units::Side;

    fn eth() -> InstrumentSpec {
        InstrumentSpec {
            symbol: Symbol::new("ETHUSDT").unwrap(),
            market: Market::Spot,
            price: Scale::from_step_text("0.01").unwrap(),
            qty: Scale::from_step_text("0.0001").unwrap(),
        }
    }

    fn order(id: u64) -> NewOrder {
        NewOrder {
            order_id: OrderId(id),
            instrument: InstrumentId(0),
            side: Side::Bid,
            price: Ticks(250_000),
            qty: Lots(100),
            tif: TimeInForce::Gtc,
            cause_ts_ns: 0,
            reduce_only: false,
        }
    }

    fn trade(l: &str, z: &str, price: &str, zq: &str, status: &str) -> String {
        format!(
            r#"{{"subscriptionId":0,"event":{{"e":"executionReport","E":1,"s":"ETHUSDT","c":"obi1x1","S":"BUY","o":"LIMIT","f":"GTC","q":"0.01000000","p":"2500.00000000","C":"","x":"TRADE","X":"{status}","r":"NONE","i":9,"l":"{l}","z":"{z}","L":"{price}","n":"0.00100000","N":"USDT","T":5,"t":1,"m":true,"Z":"{zq}"}}}}"#
        )
    }

    fn exec(orders: &mut Orders, text: &str, stats: &GatewayStats, out: &mut Vec<Report>) {
        let e = from_spot(parse_event::<SpotEvent<'_>>(text).unwrap());
        orders.on_execution(OrderId(1), &eth(), &e, 5, stats, out);
    }

    #[test]
    fn fills_are_deltas_of_cumulative_quantity() {
        let stats = GatewayStats::default();
        let mut o = Orders::new(16, 7.5);
        o.admit(order(1)).unwrap();
        assert_eq!(o.admit(order(1)), Err(AdmitError::DuplicateId));
        let mut out = Vec::new();
        o.on_ack(OrderId(1), 1, &mut out);
        exec(
            &mut o,
            &trade("0.0040", "0.0040", "2499.50", "9.998", "PARTIALLY_FILLED"),
            &stats,
            &mut out,
        );
        // The same event again (replay): nothing.
        exec(
            &mut o,
            &trade("0.0040", "0.0040", "2499.50", "9.998", "PARTIALLY_FILLED"),
            &stats,
            &mut out,
        );
        assert_eq!(out.len(), 2);
        let Report::Filled(f) = out[1] else {
            panic!("{out:?}")
        };
        assert_eq!(
            (f.price, f.qty, f.leaves_qty, f.fee, f.liquidity),
            (Ticks(249_950), Lots(40), Lots(60), 1_000, Liquidity::Maker)
        );
        assert_eq!(stats.snapshot().duplicates_skipped, 1);

        // Reconciliation learns 0.0100 executed for 25.0 quote in total: one fill of the rest
        // at the exact average (25.0 - 9.998) / 0.006 = 2500.333.. -> 2500.33.
        let state = r#"{"result":{"symbol":"ETHUSDT","orderId":9,"clientOrderId":"obi1x1","price":"2500","origQty":"0.01","executedQty":"0.0100","cummulativeQuoteQty":"25.0","status":"FILLED","updateTime":7}}"#;
        let s: OrderState<'_> = parse_result(state).unwrap();
        assert_eq!(
            o.on_state(OrderId(1), &eth(), &s, 7, &stats, &mut out),
            Liveness::Closed
        );
        let Report::Filled(f) = out[2] else {
            panic!("{out:?}")
        };
        assert_eq!(
            (f.price, f.qty, f.leaves_qty),
            (Ticks(250_033), Lots(60), Lots(0))
        );
        // The trade events replayed after reconciliation add nothing.
        exec(
            &mut o,
            &trade("0.0060", "0.0100", "2500.50", "25.0", "FILLED"),
            &stats,
            &mut out,
        );
        assert_eq!(out.len(), 3);
        assert!(o.get(OrderId(1)).unwrap().done);
        assert_eq!(o.open_count(), 0);
    }

    #[test]
    fn cancels_and_missing_orders_report_once() {
        let stats = GatewayStats::default();
        let mut o = Orders::new(1, 0.0);
        let mut out = Vec::new();
        o.admit(order(1)).unwrap();
        o.admit(order(2)).unwrap();
        o.on_missing(OrderId(2), 3, &mut out);
        assert_eq!(
            out,
            vec![Report::Rejected {
                order_id: OrderId(2),
                reason: RejectReason::Venue,
                ts_ns: 3
            }]
        );
        let cancel = r#"{"result":{"symbol":"ETHUSDT","orderId":9,"clientOrderId":"x","origClientOrderId":"obi1x1","origQty":"0.01","executedQty":"0","cummulativeQuoteQty":"0","status":"CANCELED","transactTime":7}}"#;
        let s: OrderState<'_> = parse_result(cancel).unwrap();
        o.on_state(OrderId(1), &eth(), &s, 7, &stats, &mut out);
        o.on_state(OrderId(1), &eth(), &s, 7, &stats, &mut out);
        assert_eq!(
            &out[1..],
            &[
                Report::Accepted {
                    order_id: OrderId(1),
                    ts_ns: 7
                },
                Report::Canceled {
                    order_id: OrderId(1),
                    ts_ns: 7
                }
            ]
        );
        // keep_done = 1: order 2 was pruned, order 1 is kept.
        assert!(o.get(OrderId(2)).is_none() && o.get(OrderId(1)).is_some());
        assert_eq!(o.admit(order(2)), Err(AdmitError::DuplicateId));
    }

    #[test]
    fn rounding_helpers() {
        assert_eq!(div_round(7, 2), 4);
        assert_eq!(div_round(-7, 2), -4);
        assert_eq!(div_round(5, 3), 2);
        assert_eq!(div_ceil(5, 3), 2);
        assert_eq!(div_ceil(-5, 3), -1);
    }
}
