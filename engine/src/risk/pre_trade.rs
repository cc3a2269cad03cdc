//! The pre-trade gate: limit checks per placement, open-order and position tracking per report.

use super::config::RiskConfig;
use super::mode::RiskMode;
use super::open_orders::{OpenOrder, OpenOrders};
use super::rate::RateWindow;
use super::reject::{RejectCounts, RiskReject};
use crate::book::L2Book;
use crate::instrument::InstrumentId;
use crate::order::{Intent, NewOrder, Report};
use crate::units::{Lots, Side};

const RATE_WINDOW_NS: u64 = 1_000_000_000;

/// What risk knows about one instrument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct InstrumentRisk {
    /// Signed position from fills, lots (positive long).
    position_lots: i64,
    /// Open quantity per order side (`Side::index`), lots.
    open_qty_lots: [i64; 2],
    /// Open orders on the instrument.
    open_orders: u32,
}

/// Pre-trade risk for all instruments of one engine.
///
/// Call [`check`](Self::check) for every intent, and [`on_report`](Self::on_report) for every
/// report the venue sends. A placement that passes is counted as open at once (it is about to
/// be sent); if it could not be sent after all, undo with [`on_send_failed`](Self::on_send_failed).
#[derive(Debug)]
pub struct PreTradeRisk {
    cfg: RiskConfig,
    mode: RiskMode,
    instruments: Box<[InstrumentRisk]>,
    open: OpenOrders,
    rate: RateWindow,
    rejects: RejectCounts,
    passed: u64,
    unknown_reports: u64,
}

impl PreTradeRisk {
    /// Risk for `n_instruments` instruments; `cfg` should have passed [`RiskConfig::validate`].
    pub fn new(cfg: RiskConfig, n_instruments: usize) -> PreTradeRisk {
        let per_inst = cfg.max_open_orders as usize;
        PreTradeRisk {
            cfg,
            mode: RiskMode::Normal,
            instruments: vec![InstrumentRisk::default(); n_instruments].into_boxed_slice(),
            open: OpenOrders::with_capacity(per_inst.saturating_mul(n_instruments)),
            rate: RateWindow::new(cfg.max_orders_per_sec as usize, RATE_WINDOW_NS),
            rejects: RejectCounts::default(),
            passed: 0,
            unknown_reports: 0,
        }
    }

    /// Checks one intent at market time `ts_ns` against `book` (the intent's instrument's book).
    ///
    /// Cancels always pass. A passing placement is recorded (rate window, open orders).
    pub fn check(&mut self, intent: &Intent, book: &L2Book, ts_ns: u64) -> Result<(), RiskReject> {
        let order = match intent {
            Intent::Place(order) => order,
            Intent::Cancel { .. } | Intent::CancelAll { .. } => return Ok(()),
        };
        match self.check_place(order, book, ts_ns) {
            Ok(()) => {
                self.rate.record(ts_ns);
                self.open.insert(OpenOrder {
                    order_id: order.order_id,
                    instrument: order.instrument,
                    side: order.side,
                    leaves_qty: order.qty,
                });
                let inst = &mut self.instruments[order.instrument.index()];
                inst.open_orders += 1;
                let open_qty = &mut inst.open_qty_lots[order.side.index()];
                *open_qty = open_qty.saturating_add(order.qty.0);
                self.passed += 1;
                Ok(())
            }
            Err(reason) => {
                self.rejects.record(reason);
                Err(reason)
            }
        }
    }

    fn check_place(&self, order: &NewOrder, book: &L2Book, ts_ns: u64) -> Result<(), RiskReject> {
        let inst = self
            .instruments
            .get(order.instrument.index())
            .ok_or(RiskReject::UnknownInstrument)?;
        if self.mode == RiskMode::Halted {
            return Err(RiskReject::Halted);
        }
        if order.qty.0 <= 0 || order.price.0 <= 0 {
            return Err(RiskReject::InvalidOrder);
        }
        if order.qty.0 < self.cfg.min_order_qty_lots {
            return Err(RiskReject::OrderTooSmall);
        }
        if order.qty.0 > self.cfg.max_order_qty_lots {
            return Err(RiskReject::OrderTooLarge);
        }
        if self.open.position(order.order_id).is_some() {
            return Err(RiskReject::DuplicateOrderId);
        }
        if inst.open_orders >= self.cfg.max_open_orders || self.open.is_full() {
            return Err(RiskReject::TooManyOpenOrders);
        }
        // Worst case: every open order on this side fills, then this one too.
        let pos = i128::from(inst.position_lots);
        let same_side =
            i128::from(inst.open_qty_lots[order.side.index()]) + i128::from(order.qty.0);
        let worst_lots = pos + i128::from(order.side.sign()) * same_side;
        if worst_lots.abs() > i128::from(self.cfg.max_position_lots) {
            return Err(RiskReject::PositionLimit);
        }
        if self.mode == RiskMode::ReduceOnly {
            // Reducing means the worst case stays on the same side of flat as now, and smaller.
            let reduces = match order.side {
                Side::Bid => pos < 0 && worst_lots <= 0,
                Side::Ask => pos > 0 && worst_lots >= 0,
            };
            if !reduces {
                return Err(RiskReject::ReduceOnly);
            }
        }
        let (bid, ask) = match (book.best_bid(), book.best_ask()) {
            (Some(b), Some(a)) if b.price < a.price && b.price.0 > 0 => (b.price.0, a.price.0),
            _ => return Err(RiskReject::NoMarket),
        };
        // |price - mid| / mid <= band / 10^4, with mid = (bid + ask) / 2, kept in integers:
        // |2 price - (bid + ask)| * 10^4 <= band * (bid + ask).
        let sum = i128::from(bid) + i128::from(ask);
        let dist_x2 = (2 * i128::from(order.price.0) - sum).abs();
        if dist_x2 * 10_000 > i128::from(self.cfg.price_band_bps) * sum {
            return Err(RiskReject::PriceBand);
        }
        if !self.rate.would_admit(ts_ns) {
            return Err(RiskReject::RateLimit);
        }
        Ok(())
    }

    /// Undoes the open-order bookkeeping of a placement that passed [`check`](Self::check) but
    /// was not sent (ring full). The rate-window slot stays used, which errs on the safe side.
    pub fn on_send_failed(&mut self, intent: &Intent) {
        if let Intent::Place(order) = intent {
            self.forget(order.order_id);
        }
    }

    /// Updates open orders and positions from one venue report.
    pub fn on_report(&mut self, report: &Report) {
        match report {
            Report::Accepted { .. } => {}
            Report::Rejected { order_id, .. } | Report::Canceled { order_id, .. } => {
                if !self.forget(*order_id) {
                    self.unknown_reports += 1;
                }
            }
            Report::Filled(fill) => {
                // The position moves even for orders we do not know (e.g. after a restart).
                if let Some(inst) = self.instruments.get_mut(fill.instrument.index()) {
                    let delta = fill.side.sign().saturating_mul(fill.qty.0.max(0));
                    inst.position_lots = inst.position_lots.saturating_add(delta);
                }
                let Some(index) = self.open.position(fill.order_id) else {
                    self.unknown_reports += 1;
                    return;
                };
                let Some(entry) = self.open.get_mut(index) else {
                    return;
                };
                let leaves = Lots(fill.leaves_qty.0.clamp(0, entry.leaves_qty.0));
                let filled = entry.leaves_qty.0 - leaves.0;
                entry.leaves_qty = leaves;
                let (instrument, side) = (entry.instrument, entry.side);
                if let Some(inst) = self.instruments.get_mut(instrument.index()) {
                    let open_qty = &mut inst.open_qty_lots[side.index()];
                    *open_qty = (*open_qty - filled).max(0);
                }
                if leaves.is_zero() {
                    self.forget(fill.order_id);
                }
            }
        }
    }

    /// Removes an order from the open table; false if it was not there.
    fn forget(&mut self, order_id: crate::order::OrderId) -> bool {
        let Some(entry) = self
            .open
            .position(order_id)
            .and_then(|i| self.open.remove(i))
        else {
            return false;
        };
        if let Some(inst) = self.instruments.get_mut(entry.instrument.index()) {
            inst.open_orders = inst.open_orders.saturating_sub(1);
            let open_qty = &mut inst.open_qty_lots[entry.side.index()];
            *open_qty = (*open_qty - entry.leaves_qty.0).max(0);
        }
        true
    }

    /// Sets what the safety state machine allows.
    pub fn set_mode(&mut self, mode: RiskMode) {
        self.mode = mode;
    }

    /// Current mode.
    pub fn mode(&self) -> RiskMode {
        self.mode
    }

    /// Signed position of `instrument` from fills, lots (zero for an unknown instrument).
    pub fn position(&self, instrument: InstrumentId) -> Lots {
        Lots(
            self.instruments
                .get(instrument.index())
                .map_or(0, |i| i.position_lots),
        )
    }

    /// Sets the position of `instrument` (e.g. from a checkpoint or the venue at start).
    pub fn set_position(&mut self, instrument: InstrumentId, position: Lots) {
        if let Some(inst) = self.instruments.get_mut(instrument.index()) {
            inst.position_lots = position.0;
        }
    }

    /// Open orders on `instrument`.
    pub fn open_orders(&self, instrument: InstrumentId) -> u32 {
        self.instruments
            .get(instrument.index())
            .map_or(0, |i| i.open_orders)
    }

    /// Open quantity of `side` orders on `instrument`, lots.
    pub fn open_qty(&self, instrument: InstrumentId, side: Side) -> Lots {
        Lots(
            self.instruments
                .get(instrument.index())
                .map_or(0, |i| i.open_qty_lots[side.index()]),
        )
    }

    /// Open orders on all instruments.
    pub fn open_orders_total(&self) -> usize {
        self.open.len()
    }

    /// Rejects per reason since start.
    pub fn reject_counts(&self) -> &RejectCounts {
        &self.rejects
    }

    /// Placements that passed since start.
    pub fn passed_total(&self) -> u64 {
        self.passed
    }

    /// Reports about orders risk did not know (cancel/reject/fill of an untracked id).
    pub fn unknown_reports_total(&self) -> u64 {
        self.unknown_reports
    }

    /// The limits in force.
    pub fn config(&self) -> &RiskConfig {
        &self.cfg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{Fill, Liquidity, OrderId, TimeInForce};
    use crate::units::Ticks;

    const INST: InstrumentId = InstrumentId(0);

    fn book() -> L2Book {
        let mut b = L2Book::new();
        b.set(Side::Bid, Ticks(10_000), Lots(5));
        b.set(Side::Ask, Ticks(10_002), Lots(5));
        b
    }

    fn place(id: u64, side: Side, price: i64, qty: i64) -> Intent {
        Intent::Place(NewOrder {
            order_id: OrderId(id),
            instrument: INST,
            side,
            price: Ticks(price),
            qty: Lots(qty),
            tif: TimeInForce::Gtc,
            cause_ts_ns: 0,
            reduce_only: false,
        })
    }

    fn fill(id: u64, side: Side, qty: i64, leaves: i64) -> Report {
        Report::Filled(Fill {
            order_id: OrderId(id),
            instrument: INST,
            side,
            price: Ticks(10_000),
            qty: Lots(qty),
            leaves_qty: Lots(leaves),
            fee: 0,
            liquidity: Liquidity::Maker,
            ts_ns: 0,
        })
    }

    fn cfg() -> RiskConfig {
        RiskConfig {
            min_order_qty_lots: 1,
            max_order_qty_lots: 10,
            max_position_lots: 20,
            max_open_orders: 3,
            price_band_bps: 10,
            max_orders_per_sec: 100,
        }
    }

    #[test]
    fn good_order_passes_and_is_tracked() {
        let mut r = PreTradeRisk::new(cfg(), 1);
        assert_eq!(r.check(&place(1, Side::Bid, 10_000, 5), &book(), 0), Ok(()));
        assert_eq!(r.open_orders(INST), 1);
        assert_eq!(r.open_qty(INST, Side::Bid), Lots(5));
        assert_eq!(r.passed_total(), 1);
    }

    #[test]
    fn rejects_each_condition() {
        let b = book();
        let mut r = PreTradeRisk::new(cfg(), 1);
        let expect = |r: &mut PreTradeRisk, intent: Intent, want: RiskReject| {
            assert_eq!(r.check(&intent, &b, 0), Err(want));
        };
        expect(
            &mut r,
            place(1, Side::Bid, 10_000, 11),
            RiskReject::OrderTooLarge,
        );
        expect(
            &mut r,
            place(1, Side::Bid, 10_000, 0),
            RiskReject::InvalidOrder,
        );
        expect(&mut r, place(1, Side::Bid, 0, 1), RiskReject::InvalidOrder);
        // 10 bps of ~10_001 is ~10 ticks.
        expect(&mut r, place(1, Side::Bid, 9_980, 1), RiskReject::PriceBand);
        expect(
            &mut r,
            place(1, Side::Ask, 10_020, 1),
            RiskReject::PriceBand,
        );
        let mut other = place(1, Side::Bid, 10_000, 1);
        if let Intent::Place(o) = &mut other {
            o.instrument = InstrumentId(7);
        }
        expect(&mut r, other, RiskReject::UnknownInstrument);
        assert_eq!(r.reject_counts().get(RiskReject::InvalidOrder), 2);
        assert_eq!(r.reject_counts().get(RiskReject::PriceBand), 2);
        assert_eq!(r.reject_counts().total(), 6);

        let mut small = PreTradeRisk::new(
            RiskConfig {
                min_order_qty_lots: 2,
                ..cfg()
            },
            1,
        );
        expect(
            &mut small,
            place(1, Side::Bid, 10_000, 1),
            RiskReject::OrderTooSmall,
        );

        assert_eq!(r.check(&place(1, Side::Bid, 10_000, 1), &b, 0), Ok(()));
        expect(
            &mut r,
            place(1, Side::Bid, 10_000, 1),
            RiskReject::DuplicateOrderId,
        );
        assert_eq!(r.check(&place(2, Side::Bid, 10_000, 1), &b, 0), Ok(()));
        assert_eq!(r.check(&place(3, Side::Ask, 10_002, 1), &b, 0), Ok(()));
        expect(
            &mut r,
            place(4, Side::Ask, 10_002, 1),
            RiskReject::TooManyOpenOrders,
        );
    }

    #[test]
    fn no_market_on_empty_one_sided_or_crossed_book() {
        let mut r = PreTradeRisk::new(cfg(), 1);
        let mut b = L2Book::new();
        let o = place(1, Side::Bid, 10_000, 1);
        assert_eq!(r.check(&o, &b, 0), Err(RiskReject::NoMarket));
        b.set(Side::Bid, Ticks(10_000), Lots(1));
        assert_eq!(r.check(&o, &b, 0), Err(RiskReject::NoMarket));
        b.set(Side::Ask, Ticks(9_999), Lots(1));
        assert_eq!(r.check(&o, &b, 0), Err(RiskReject::NoMarket));
    }

    #[test]
    fn position_limit_counts_worst_case() {
        let mut r = PreTradeRisk::new(cfg(), 1);
        let b = book();
        r.on_report(&fill(99, Side::Bid, 10, 0)); // long 10 from an untracked order
        assert_eq!(r.position(INST), Lots(10));
        assert_eq!(r.check(&place(1, Side::Bid, 10_000, 6), &b, 0), Ok(()));
        // 10 + 6 open + 5 new = 21 > 20.
        assert_eq!(
            r.check(&place(2, Side::Bid, 10_000, 5), &b, 0),
            Err(RiskReject::PositionLimit)
        );
        assert_eq!(r.check(&place(2, Side::Bid, 10_000, 4), &b, 0), Ok(()));
        // Sells reduce: 10 - 10 = 0 is fine.
        assert_eq!(r.check(&place(3, Side::Ask, 10_002, 10), &b, 0), Ok(()));
        // Cancel of order 1 frees its 6 lots.
        r.on_report(&Report::Canceled {
            order_id: OrderId(1),
            ts_ns: 0,
        });
        assert_eq!(r.open_qty(INST, Side::Bid), Lots(4));
        assert_eq!(r.open_orders(INST), 2);
        // A partial fill moves lots from open to position; a full fill closes the order.
        r.on_report(&fill(2, Side::Bid, 1, 3));
        assert_eq!(
            (r.position(INST), r.open_qty(INST, Side::Bid)),
            (Lots(11), Lots(3))
        );
        r.on_report(&fill(2, Side::Bid, 3, 0));
        assert_eq!(
            (r.position(INST), r.open_qty(INST, Side::Bid)),
            (Lots(14), Lots(0))
        );
        assert_eq!(r.open_orders(INST), 1);
        assert_eq!(
            r.check(&place(4, Side::Bid, 10_000, 7), &b, 0),
            Err(RiskReject::PositionLimit)
        );
        assert_eq!(r.check(&place(4, Side::Bid, 10_000, 6), &b, 0), Ok(()));
    }

    #[test]
    fn cancels_always_pass_even_when_halted() {
        let mut r = PreTradeRisk::new(cfg(), 1);
        r.set_mode(RiskMode::Halted);
        let empty = L2Book::new();
        let cancel = Intent::Cancel {
            instrument: INST,
            order_id: OrderId(5),
            cause_ts_ns: 0,
        };
        assert_eq!(r.check(&cancel, &empty, 0), Ok(()));
        let all = Intent::CancelAll {
            instrument: InstrumentId(9),
            cause_ts_ns: 0,
        };
        assert_eq!(r.check(&all, &empty, 0), Ok(()));
        assert_eq!(
            r.check(&place(1, Side::Bid, 10_000, 1), &book(), 0),
            Err(RiskReject::Halted)
        );
    }

    #[test]
    fn reduce_only_allows_only_reducing_orders() {
        let mut r = PreTradeRisk::new(cfg(), 1);
        r.on_report(&fill(99, Side::Ask, 3, 0)); // short 3
        r.set_mode(RiskMode::ReduceOnly);
        let b = book();
        assert_eq!(
            r.check(&place(1, Side::Ask, 10_002, 1), &b, 0),
            Err(RiskReject::ReduceOnly)
        );
        assert_eq!(
            r.check(&place(1, Side::Bid, 10_000, 4), &b, 0),
            Err(RiskReject::ReduceOnly)
        );
        assert_eq!(r.check(&place(1, Side::Bid, 10_000, 2), &b, 0), Ok(()));
        assert_eq!(
            r.check(&place(2, Side::Bid, 10_000, 2), &b, 0),
            Err(RiskReject::ReduceOnly)
        );
        assert_eq!(r.check(&place(2, Side::Bid, 10_000, 1), &b, 0), Ok(()));
    }

    #[test]
    fn rate_limit_slides_over_one_second() {
        let mut r = PreTradeRisk::new(
            RiskConfig {
                max_orders_per_sec: 2,
                ..cfg()
            },
            1,
        );
        let b = book();
        assert_eq!(r.check(&place(1, Side::Bid, 10_000, 1), &b, 1_000), Ok(()));
        assert_eq!(r.check(&place(2, Side::Bid, 10_000, 1), &b, 2_000), Ok(()));
        let third = place(3, Side::Bid, 10_000, 1);
        assert_eq!(r.check(&third, &b, 500_000_000), Err(RiskReject::RateLimit));
        // A refused placement does not use a slot; the first leaves the window at 1 s + 1000 ns.
        assert_eq!(
            r.check(&third, &b, 1_000_000_999),
            Err(RiskReject::RateLimit)
        );
        assert_eq!(r.check(&third, &b, 1_000_001_000), Ok(()));
        assert_eq!(r.reject_counts().get(RiskReject::RateLimit), 2);
    }

    #[test]
    fn rejected_and_unsent_orders_are_forgotten() {
        let mut r = PreTradeRisk::new(cfg(), 1);
        let b = book();
        let o = place(1, Side::Bid, 10_000, 2);
        assert_eq!(r.check(&o, &b, 0), Ok(()));
        r.on_send_failed(&o);
        assert_eq!(
            (r.open_orders(INST), r.open_qty(INST, Side::Bid)),
            (0, Lots(0))
        );
        assert_eq!(r.check(&o, &b, 0), Ok(()));
        r.on_report(&Report::Rejected {
            order_id: OrderId(1),
            reason: crate::order::RejectReason::WouldCross,
            ts_ns: 0,
        });
        assert_eq!(r.open_orders_total(), 0);
        r.on_report(&Report::Canceled {
            order_id: OrderId(1),
            ts_ns: 0,
        });
        assert_eq!(r.unknown_reports_total(), 1);
    }
}
