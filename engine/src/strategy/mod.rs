//! The OBI scalper: turns signals into order intents through a per-instrument state machine.
//!
//! Entry: the composite score ([`score::composite_score`]) must stay beyond its threshold
//! in one direction for `confirm_ms` of market time, with the spread at most
//! `max_spread_ticks`; the entry joins, improves or crosses the touch (`entry_mode`). Exits
//! and phases are described in [`machine`]. Everything runs on the market clock passed in
//! (`ts_ns`), so a replay gives the same intents every time.
//!
//! Reports do not emit intents (the interface gives `on_report` no output): what a report
//! makes necessary — the take-profit after an entry fill, the aggressive exit after the
//! take-profit's cancel is confirmed, a retry — goes out on the next `on_signals` or
//! `on_timer`. The runtime should call `on_timer` at a steady interval (e.g. every few ms).

mod config;
mod ids;
mod machine;
pub mod score;

pub use config::{EntryMode, StrategyConfig};
pub use ids::OrderIdGen;
pub use machine::{ExitReason, Phase};

use crate::book::L2Book;
use crate::instrument::InstrumentId;
use crate::order::{Intent, OrderId, Report};
use crate::signal::Signals;
use crate::units::Lots;
use machine::InstState;

/// The strategy for all instruments; per-instrument state lives in a `Vec` sized at
/// construction. Calls for an instrument index beyond it are ignored.
#[derive(Clone, Debug)]
pub struct Strategy {
    cfg: StrategyConfig,
    insts: Vec<InstState>,
}

impl Strategy {
    /// A strategy for instruments `0..n_instruments`, all enabled and flat. `cfg` should have
    /// passed [`StrategyConfig::validate`].
    pub fn new(cfg: &StrategyConfig, n_instruments: usize) -> Strategy {
        let n = n_instruments.min(usize::from(u16::MAX) + 1);
        let insts = (0..n)
            .map(|i| InstState::new(InstrumentId(i as u16)))
            .collect();
        Strategy { cfg: *cfg, insts }
    }

    /// A signal update for `inst`: timeouts and stops first, then the entry decision.
    pub fn on_signals(
        &mut self,
        inst: InstrumentId,
        book: &L2Book,
        sig: &Signals,
        ts_ns: u64,
        ids: &mut OrderIdGen,
        out: &mut impl FnMut(Intent),
    ) {
        if let Some(st) = self.insts.get_mut(inst.index()) {
            st.on_signals(&self.cfg, book, sig, ts_ns, ids, out);
        }
    }

    /// An execution report for one of `inst`'s orders (others are ignored).
    pub fn on_report(&mut self, inst: InstrumentId, report: &Report, ts_ns: u64) {
        if let Some(st) = self.insts.get_mut(inst.index()) {
            st.on_report(&self.cfg, report, ts_ns);
        }
    }

    /// Aligns `inst`'s position with the portfolio's (fills of orders the strategy did not
    /// place); a position it did not enter is exited once trading is enabled.
    pub fn sync_position(&mut self, inst: InstrumentId, position_lots: i64, ts_ns: u64) {
        if let Some(st) = self.insts.get_mut(inst.index()) {
            st.sync_position(&self.cfg, position_lots, ts_ns);
        }
    }

    /// A timer tick for `inst`: entry timeouts, time stops, stops, deferred orders, cooldown
    /// expiry, and the cancels owed after a disable.
    pub fn on_timer(
        &mut self,
        inst: InstrumentId,
        book: &L2Book,
        ts_ns: u64,
        ids: &mut OrderIdGen,
        out: &mut impl FnMut(Intent),
    ) {
        if let Some(st) = self.insts.get_mut(inst.index()) {
            st.on_timer(&self.cfg, book, ts_ns, ids, out);
        }
    }

    /// Enables or disables trading on `inst`. Disabled: no entries, no take-profit, no
    /// exits; the working entry and take-profit are cancelled on the next `on_timer` or
    /// `on_signals` call (this method has no output). A held position stays and is managed
    /// again once re-enabled (a time stop that fell due meanwhile fires then).
    pub fn set_enabled(&mut self, inst: InstrumentId, enabled: bool) {
        if let Some(st) = self.insts.get_mut(inst.index()) {
            st.set_enabled(enabled);
        }
    }

    /// Whether `inst` may trade (`false` for an unknown instrument).
    pub fn is_enabled(&self, inst: InstrumentId) -> bool {
        self.insts
            .get(inst.index())
            .is_some_and(InstState::is_enabled)
    }

    /// Phase of `inst` (`None` for an unknown instrument).
    pub fn phase(&self, inst: InstrumentId) -> Option<Phase> {
        self.insts.get(inst.index()).map(InstState::phase)
    }

    /// Position of `inst` as the strategy's own fills add up, lots (signed, + = long).
    pub fn position_lots(&self, inst: InstrumentId) -> Lots {
        Lots(
            self.insts
                .get(inst.index())
                .map_or(0, InstState::position_lots),
        )
    }

    /// Why the current or last exit of `inst` happened.
    pub fn exit_reason(&self, inst: InstrumentId) -> Option<ExitReason> {
        self.insts
            .get(inst.index())
            .and_then(InstState::exit_reason)
    }

    /// The instrument one of the strategy's recent orders belongs to (the last few per
    /// instrument are remembered), for reports that carry no instrument.
    pub fn instrument_of(&self, order_id: OrderId) -> Option<InstrumentId> {
        self.insts
            .iter()
            .position(|st| st.knows(order_id))
            .map(|i| InstrumentId(i as u16))
    }

    /// Takes new parameters (a hot reload; `cfg` should have passed
    /// [`StrategyConfig::validate`]). Call between updates, never inside one. What follows:
    ///
    /// - Decisions from the next call on use `cfg`: entries (thresholds, size, pricing,
    ///   spread filter), the take-profit placed after the next entry fill, stop-loss,
    ///   time-stop, entry timeout and exit slippage — the last four also for the position
    ///   and orders already there (a tighter stop or a shorter timeout acts on them at once).
    /// - Resting orders are left as placed (price and size): nothing is cancelled or
    ///   re-priced because parameters changed. A working entry still times out (now by the
    ///   new `entry_timeout_ms`); a resting take-profit keeps its price until it fills or the
    ///   position is exited. A smaller `order_qty_lots` never shrinks a position already held:
    ///   exits always close the whole position.
    /// - A running cooldown or reject backoff keeps the end time it was given.
    /// - A direction being confirmed starts its `confirm_ms` again under the new thresholds.
    pub fn set_config(&mut self, cfg: &StrategyConfig) {
        if *cfg == self.cfg {
            return;
        }
        self.cfg = *cfg;
        for st in &mut self.insts {
            st.on_config_changed();
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &StrategyConfig {
        &self.cfg
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::order::{Fill, Liquidity, NewOrder, RejectReason, TimeInForce};
    use crate::units::{Side, Ticks};

    const I: InstrumentId = InstrumentId(0);
    const MS: u64 = 1_000_000;

    fn sig(obi5: f64) -> Signals {
        let mut s = Signals {
            valid: true,
            obi_count: 1,
            ..Signals::default()
        };
        s.obi_depths_levels[0] = 5;
        s.obi[0] = Some(obi5);
        s
    }

    fn book(bid: i64, ask: i64) -> L2Book {
        let mut b = L2Book::new();
        b.set(Side::Bid, Ticks(bid), Lots(5));
        b.set(Side::Ask, Ticks(ask), Lots(5));
        b
    }

    struct Harness {
        s: Strategy,
        ids: OrderIdGen,
        book: L2Book,
    }

    impl Harness {
        fn new(cfg: StrategyConfig) -> Harness {
            assert_eq!(cfg.validate(), Ok(()));
            Harness {
                s: Strategy::new(&cfg, 2),
                ids: OrderIdGen::new(1),
                book: book(100, 101),
            }
        }
        fn signals(&mut self, obi: f64, ts_ms: u64) -> Vec<Intent> {
            let mut v = Vec::new();
            self.s.on_signals(
                I,
                &self.book,
                &sig(obi),
                ts_ms * MS,
                &mut self.ids,
                &mut |i| v.push(i),
            );
            v
        }
        fn timer(&mut self, ts_ms: u64) -> Vec<Intent> {
            let mut v = Vec::new();
            self.s
                .on_timer(I, &self.book, ts_ms * MS, &mut self.ids, &mut |i| v.push(i));
            v
        }
        fn report(&mut self, r: Report, ts_ms: u64) {
            self.s.on_report(I, &r, ts_ms * MS);
        }
        fn fill(&mut self, o: &NewOrder, price: i64, qty: i64, leaves: i64, ts_ms: u64) {
            let f = Fill {
                order_id: o.order_id,
                instrument: I,
                side: o.side,
                price: Ticks(price),
                qty: Lots(qty),
                leaves_qty: Lots(leaves),
                fee: 0,
                liquidity: Liquidity::Maker,
                ts_ns: ts_ms * MS,
            };
            self.report(Report::Filled(f), ts_ms);
        }
        fn phase(&self) -> Phase {
            self.s.phase(I).unwrap()
        }
        /// Enters long at 100 with a full fill at `ts_ms`; returns the entry order.
        fn enter_long(&mut self, ts_ms: u64) -> NewOrder {
            let confirm = self.s.config().confirm_ms;
            assert!(self.signals(0.9, ts_ms - confirm).is_empty());
            let e = place(&self.signals(0.9, ts_ms));
            self.report(
                Report::Accepted {
                    order_id: e.order_id,
                    ts_ns: 0,
                },
                ts_ms,
            );
            self.fill(&e, e.price.0, e.qty.0, 0, ts_ms);
            assert_eq!(self.phase(), Phase::Open);
            e
        }
    }

    fn place(v: &[Intent]) -> NewOrder {
        match v {
            [Intent::Place(o)] => *o,
            other => panic!("expected one placement, got {other:?}"),
        }
    }

    fn cancel_of(v: &[Intent]) -> OrderId {
        match v {
            [Intent::Cancel { order_id, .. }] => *order_id,
            other => panic!("expected one cancel, got {other:?}"),
        }
    }

    #[test]
    fn entry_only_after_confirm_ms() {
        let mut h = Harness::new(StrategyConfig::default()); // confirm 100 ms
        assert!(h.signals(0.9, 1_000).is_empty());
        assert!(h.signals(0.9, 1_050).is_empty());
        assert!(
            h.signals(0.1, 1_060).is_empty(),
            "signal lapses: confirmation restarts"
        );
        assert!(h.signals(0.9, 1_070).is_empty());
        assert!(h.signals(0.9, 1_169).is_empty());
        let o = place(&h.signals(0.9, 1_170));
        assert_eq!(
            (o.side, o.price, o.qty, o.tif),
            (Side::Bid, Ticks(100), Lots(1), TimeInForce::PostOnly)
        );
        assert_eq!((o.instrument, o.cause_ts_ns), (I, 1_170 * MS));
        assert_eq!(h.phase(), Phase::Entering);
        assert!(
            h.signals(0.9, 1_200).is_empty(),
            "one position per instrument"
        );
        assert_eq!(h.s.instrument_of(o.order_id), Some(I));
    }

    #[test]
    fn no_entry_when_spread_too_wide() {
        let mut h = Harness::new(StrategyConfig::default()); // max spread 2
        h.book = book(100, 103);
        assert!(h.signals(0.9, 0).is_empty());
        assert!(h.signals(0.9, 500).is_empty());
        h.book = book(100, 102);
        let o = place(&h.signals(0.9, 600));
        assert_eq!(o.price, Ticks(100));
    }

    #[test]
    fn short_entries_and_entry_modes() {
        let cfg = StrategyConfig {
            entry_mode: EntryMode::Improve,
            improve_ticks: 2,
            ..StrategyConfig::default()
        };
        let mut h = Harness::new(cfg);
        h.book = book(100, 102);
        h.signals(-0.9, 0);
        let o = place(&h.signals(-0.9, 100));
        // Improve by 2 from 102 would reach the bid; capped one tick above it.
        assert_eq!(
            (o.side, o.price, o.tif),
            (Side::Ask, Ticks(101), TimeInForce::PostOnly)
        );

        let cfg = StrategyConfig {
            entry_mode: EntryMode::Cross,
            cross_slippage_ticks: 1,
            ..StrategyConfig::default()
        };
        let mut h = Harness::new(cfg);
        h.signals(0.9, 0);
        let o = place(&h.signals(0.9, 100));
        assert_eq!(
            (o.side, o.price, o.tif),
            (Side::Bid, Ticks(102), TimeInForce::Ioc)
        );

        let cfg = StrategyConfig {
            allow_short: false,
            ..StrategyConfig::default()
        };
        let mut h = Harness::new(cfg);
        h.signals(-0.9, 0);
        assert!(h.signals(-0.9, 1_000).is_empty());
    }

    #[test]
    fn take_profit_rests_at_entry_plus_tp_and_ends_in_cooldown() {
        let mut h = Harness::new(StrategyConfig::default()); // tp 2, cooldown 1000
        let e = h.enter_long(100);
        assert_eq!(h.s.position_lots(I), Lots(1));
        let tp = place(&h.timer(101));
        assert_eq!(
            (tp.side, tp.price, tp.qty, tp.tif),
            (Side::Ask, Ticks(102), Lots(1), TimeInForce::Gtc)
        );
        assert!(h.timer(102).is_empty(), "one take-profit only");
        h.fill(&tp, 102, 1, 0, 150);
        assert_eq!(h.s.position_lots(I), Lots(0));
        assert_eq!(h.phase(), Phase::Cooldown);
        assert_eq!(h.s.exit_reason(I), Some(ExitReason::TakeProfit));
        assert_ne!(tp.order_id, e.order_id);
    }

    #[test]
    fn stop_loss_cancels_tp_then_crosses_with_ioc() {
        let mut h = Harness::new(StrategyConfig {
            exit_slippage_ticks: 1,
            ..StrategyConfig::default()
        }); // sl 3
        h.enter_long(100);
        let tp = place(&h.timer(101));
        h.book = book(98, 99);
        assert!(h.timer(102).is_empty(), "bid 98 > 100 - 3: no stop");
        h.book = book(97, 98);
        assert_eq!(cancel_of(&h.timer(103)), tp.order_id);
        assert_eq!(h.phase(), Phase::Exiting);
        assert_eq!(h.s.exit_reason(I), Some(ExitReason::StopLoss));
        assert!(
            h.timer(104).is_empty(),
            "no IOC until the TP is confirmed gone"
        );
        h.report(
            Report::Canceled {
                order_id: tp.order_id,
                ts_ns: 0,
            },
            105,
        );
        let x = place(&h.timer(106));
        assert_eq!(
            (x.side, x.price, x.qty, x.tif),
            (Side::Ask, Ticks(96), Lots(1), TimeInForce::Ioc)
        );
        h.fill(&x, 97, 1, 0, 107);
        assert_eq!(h.phase(), Phase::Cooldown);
        assert_eq!(h.s.position_lots(I), Lots(0));
    }

    #[test]
    fn time_stop_and_ioc_retry_on_remainder() {
        let cfg = StrategyConfig {
            time_stop_ms: 5_000,
            take_profit_ticks: 0,
            order_qty_lots: 2,
            ..StrategyConfig::default()
        };
        let mut h = Harness::new(cfg);
        h.enter_long(100);
        assert!(
            h.timer(5_099).is_empty(),
            "no TP configured, time stop not due"
        );
        let x = place(&h.timer(5_100));
        assert_eq!(
            (x.side, x.price, x.qty, x.tif),
            (Side::Ask, Ticks(100), Lots(2), TimeInForce::Ioc)
        );
        assert_eq!(h.s.exit_reason(I), Some(ExitReason::TimeStop));
        h.fill(&x, 100, 1, 1, 5_101);
        assert!(h.timer(5_102).is_empty(), "IOC still in flight");
        h.report(
            Report::Canceled {
                order_id: x.order_id,
                ts_ns: 0,
            },
            5_103,
        );
        let x2 = place(&h.timer(5_104));
        assert_eq!(x2.qty, Lots(1));
        h.fill(&x2, 100, 1, 0, 5_105);
        assert_eq!(h.phase(), Phase::Cooldown);
    }

    #[test]
    fn cooldown_blocks_reentry() {
        let mut h = Harness::new(StrategyConfig {
            take_profit_ticks: 0,
            time_stop_ms: 1_000,
            ..StrategyConfig::default()
        });
        h.enter_long(100);
        let x = place(&h.timer(1_100));
        h.fill(&x, 100, 1, 0, 1_100); // cooldown until 2100
        assert_eq!(h.phase(), Phase::Cooldown);
        for t in (1_100..2_100).step_by(50) {
            assert!(h.signals(0.9, t).is_empty(), "cooldown at {t}");
        }
        assert!(
            h.signals(0.9, 2_100).is_empty(),
            "cooldown over; confirmation starts"
        );
        assert_eq!(h.phase(), Phase::Flat);
        assert!(h.signals(0.9, 2_199).is_empty());
        place(&h.signals(0.9, 2_200));
    }

    #[test]
    fn rejections_return_to_flat_or_retry() {
        let mut h = Harness::new(StrategyConfig::default()); // backoff 100 ms
        h.signals(0.9, 0);
        let e = place(&h.signals(0.9, 100));
        h.report(
            Report::Rejected {
                order_id: e.order_id,
                reason: RejectReason::Venue,
                ts_ns: 0,
            },
            100,
        );
        assert_eq!(h.phase(), Phase::Flat);
        assert!(h.signals(0.9, 150).is_empty());
        assert!(h.signals(0.9, 199).is_empty(), "backoff");
        let e2 = place(&h.signals(0.9, 250));
        assert!(e2.order_id > e.order_id);
        h.fill(&e2, 100, 1, 0, 260);
        // TP rejected: stays open, retried after the backoff.
        let tp = place(&h.timer(261));
        h.report(
            Report::Rejected {
                order_id: tp.order_id,
                reason: RejectReason::Venue,
                ts_ns: 0,
            },
            261,
        );
        assert_eq!(h.phase(), Phase::Open);
        assert!(h.timer(300).is_empty());
        let tp2 = place(&h.timer(361));
        assert_eq!(tp2.price, Ticks(102));
        // A refused cancel is asked again; an unknown-order answer means it is gone.
        h.report(
            Report::Accepted {
                order_id: tp2.order_id,
                ts_ns: 0,
            },
            362,
        );
        h.book = book(90, 91);
        assert_eq!(cancel_of(&h.timer(363)), tp2.order_id);
        h.report(
            Report::Rejected {
                order_id: tp2.order_id,
                reason: RejectReason::Venue,
                ts_ns: 0,
            },
            364,
        );
        assert_eq!(cancel_of(&h.timer(365)), tp2.order_id);
        h.report(
            Report::Rejected {
                order_id: tp2.order_id,
                reason: RejectReason::UnknownOrder,
                ts_ns: 0,
            },
            366,
        );
        let x = place(&h.timer(367));
        // Exit IOC refused by risk: retried after the backoff.
        h.report(
            Report::Rejected {
                order_id: x.order_id,
                reason: RejectReason::Venue,
                ts_ns: 0,
            },
            367,
        );
        assert_eq!(h.phase(), Phase::Exiting);
        assert!(h.timer(400).is_empty());
        let x2 = place(&h.timer(467));
        assert_eq!(
            (x2.side, x2.price, x2.tif),
            (Side::Ask, Ticks(90), TimeInForce::Ioc)
        );
    }

    #[test]
    fn partial_entry_fill_then_timeout() {
        let cfg = StrategyConfig {
            order_qty_lots: 3,
            ..StrategyConfig::default()
        }; // timeout 1000
        let mut h = Harness::new(cfg);
        h.signals(0.9, 0);
        let e = place(&h.signals(0.9, 100));
        h.report(
            Report::Accepted {
                order_id: e.order_id,
                ts_ns: 0,
            },
            100,
        );
        h.fill(&e, 100, 1, 2, 200);
        assert_eq!(
            (h.phase(), h.s.position_lots(I)),
            (Phase::Entering, Lots(1))
        );
        assert!(h.timer(1_099).is_empty());
        assert_eq!(cancel_of(&h.timer(1_100)), e.order_id);
        assert!(h.timer(1_101).is_empty(), "cancel sent once");
        h.fill(&e, 100, 1, 1, 1_102); // races the cancel
        h.report(
            Report::Canceled {
                order_id: e.order_id,
                ts_ns: 0,
            },
            1_103,
        );
        assert_eq!((h.phase(), h.s.position_lots(I)), (Phase::Open, Lots(2)));
        let tp = place(&h.timer(1_104));
        assert_eq!((tp.qty, tp.price), (Lots(2), Ticks(102)));
        h.fill(&tp, 102, 1, 1, 1_200);
        assert_eq!((h.phase(), h.s.position_lots(I)), (Phase::Open, Lots(1)));
        h.fill(&tp, 102, 1, 0, 1_201);
        assert_eq!(h.phase(), Phase::Cooldown);
    }

    #[test]
    fn unfilled_entry_timeout_goes_flat() {
        let mut h = Harness::new(StrategyConfig::default());
        h.signals(0.9, 0);
        let e = place(&h.signals(0.9, 100));
        assert_eq!(cancel_of(&h.timer(1_100)), e.order_id);
        h.report(
            Report::Canceled {
                order_id: e.order_id,
                ts_ns: 0,
            },
            1_101,
        );
        assert_eq!(h.phase(), Phase::Flat);
    }

    #[test]
    fn vwap_entry_rounds_against_us() {
        let cfg = StrategyConfig {
            order_qty_lots: 2,
            entry_mode: EntryMode::Cross,
            ..StrategyConfig::default()
        };
        let mut h = Harness::new(cfg);
        h.signals(0.9, 0);
        let e = place(&h.signals(0.9, 100));
        h.fill(&e, 101, 1, 1, 100);
        h.fill(&e, 102, 1, 0, 100); // VWAP 101.5 → 102 for a long
        let tp = place(&h.timer(101));
        assert_eq!(tp.price, Ticks(104));
    }

    #[test]
    fn disable_cancels_working_orders() {
        let mut h = Harness::new(StrategyConfig::default());
        h.signals(0.9, 0);
        let e = place(&h.signals(0.9, 100));
        h.s.set_enabled(I, false);
        assert!(!h.s.is_enabled(I));
        assert_eq!(cancel_of(&h.timer(101)), e.order_id);
        assert!(h.timer(102).is_empty());
        h.report(
            Report::Canceled {
                order_id: e.order_id,
                ts_ns: 0,
            },
            103,
        );
        assert_eq!(h.phase(), Phase::Flat);
        assert!(h.signals(0.9, 200).is_empty());
        assert!(
            h.signals(0.9, 5_000).is_empty(),
            "no entries while disabled"
        );
        h.s.set_enabled(I, true);
        h.signals(0.9, 5_001);
        let e2 = place(&h.signals(0.9, 5_101));
        // Open with a TP resting, then disabled: TP cancelled, no exit while disabled.
        h.fill(&e2, 100, 1, 0, 5_102);
        let tp = place(&h.timer(5_103));
        h.s.set_enabled(I, false);
        h.book = book(90, 91);
        assert_eq!(cancel_of(&h.signals(0.9, 5_104)), tp.order_id);
        h.report(
            Report::Canceled {
                order_id: tp.order_id,
                ts_ns: 0,
            },
            5_105,
        );
        assert!(h.timer(5_106).is_empty());
        assert_eq!((h.phase(), h.s.position_lots(I)), (Phase::Open, Lots(1)));
        h.s.set_enabled(I, true);
        let x = place(&h.timer(5_107)); // stop-loss now due
        assert_eq!((x.side, x.tif), (Side::Ask, TimeInForce::Ioc));
    }

    #[test]
    fn no_panics_on_degenerate_input() {
        let mut h = Harness::new(StrategyConfig {
            confirm_ms: 0,
            ..StrategyConfig::default()
        });
        h.book = L2Book::new();
        assert!(h.signals(0.9, 0).is_empty(), "no touch, no entry");
        let mut v = Vec::new();
        h.s.on_signals(I, &h.book, &Signals::default(), 0, &mut h.ids, &mut |i| {
            v.push(i)
        });
        h.s.on_signals(
            InstrumentId(7),
            &h.book,
            &sig(0.9),
            0,
            &mut h.ids,
            &mut |i| v.push(i),
        );
        h.s.on_timer(InstrumentId(7), &h.book, 0, &mut h.ids, &mut |i| v.push(i));
        h.s.on_report(
            InstrumentId(7),
            &Report::Canceled {
                order_id: OrderId(1),
                ts_ns: 0,
            },
            0,
        );
        h.s.set_enabled(InstrumentId(7), false);
        assert!(v.is_empty());
        assert_eq!(h.s.phase(InstrumentId(7)), None);
        // Open position, then the book empties: stops and exits wait for a touch.
        h.book = book(100, 101);
        let e = place(&h.signals(0.9, 1));
        h.fill(&e, 100, 0, 1, 2); // zero-qty fill
        assert_eq!(h.s.position_lots(I), Lots(0));
        h.fill(&e, 100, 1, 0, 3);
        h.book = L2Book::new();
        let tp = place(&h.timer(4));
        h.report(
            Report::Canceled {
                order_id: tp.order_id,
                ts_ns: 0,
            },
            5,
        );
        let tp2 = place(&h.timer(5_000)); // TP canceled by the venue: re-placed
        assert_eq!(cancel_of(&h.timer(10_003)), tp2.order_id); // time stop (10 s) due
        h.report(
            Report::Canceled {
                order_id: tp2.order_id,
                ts_ns: 0,
            },
            10_004,
        );
        assert!(h.timer(10_005).is_empty(), "no bid to price the exit");
        // Fills for unknown orders are ignored.
        h.s.on_report(
            I,
            &Report::Filled(Fill {
                order_id: OrderId(999),
                instrument: I,
                side: Side::Bid,
                price: Ticks(1),
                qty: Lots(5),
                leaves_qty: Lots(0),
                fee: 0,
                liquidity: Liquidity::Taker,
                ts_ns: 0,
            }),
            0,
        );
        assert_eq!(h.s.position_lots(I), Lots(1));
    }

    #[test]
    fn new_parameters_apply_to_the_next_decision_and_leave_resting_orders() {
        let mut h = Harness::new(StrategyConfig::default()); // qty 1, timeout 1000, confirm 100
        h.signals(0.9, 0);
        let e = place(&h.signals(0.9, 100));
        // Bigger size, shorter timeout: the resting entry is not touched by the change...
        h.s.set_config(&StrategyConfig {
            order_qty_lots: 4,
            entry_timeout_ms: 300,
            ..StrategyConfig::default()
        });
        assert!(
            h.timer(150).is_empty(),
            "no cancel because parameters changed"
        );
        // ...but times out by the new timeout.
        assert_eq!(cancel_of(&h.timer(400)), e.order_id);
        h.report(
            Report::Canceled {
                order_id: e.order_id,
                ts_ns: 0,
            },
            401,
        );
        // The next entry takes the new size; a confirmation in progress restarts on change.
        h.signals(0.9, 500);
        h.s.set_config(&StrategyConfig {
            order_qty_lots: 2,
            ..StrategyConfig::default()
        });
        assert!(h.signals(0.9, 600).is_empty(), "confirmation restarted");
        let e2 = place(&h.signals(0.9, 700));
        assert_eq!(e2.qty, Lots(2));
        // Higher threshold: a 0.9 OBI no longer enters.
        h.report(
            Report::Canceled {
                order_id: e2.order_id,
                ts_ns: 0,
            },
            701,
        );
        h.s.set_config(&StrategyConfig {
            long_threshold: 0.95,
            ..StrategyConfig::default()
        });
        assert!(h.signals(0.9, 800).is_empty());
        assert!(h.signals(0.9, 2_000).is_empty());
        assert_eq!(h.s.config().long_threshold, 0.95);
    }

    #[test]
    fn overfill_is_flattened() {
        let mut h = Harness::new(StrategyConfig::default());
        h.enter_long(100);
        let tp = place(&h.timer(101));
        h.fill(&tp, 102, 2, 0, 102); // venue oversold: now short 1
        assert_eq!(h.s.position_lots(I), Lots(-1));
        assert_eq!(h.phase(), Phase::Exiting);
        let x = place(&h.timer(103));
        assert_eq!(
            (x.side, x.qty, x.tif),
            (Side::Bid, Lots(1), TimeInForce::Ioc)
        );
    }
}
