//! The paper venue: latency queues, matching of arriving intents, and fills from the tape.

use super::config::{PaperConfig, QueueModel};
use super::fees::FeeRate;
use super::queue::QueuePosition;
use super::stats::PaperStats;
use super::visible::VisibleBook;
use crate::book::L2Book;
use crate::feed::event::{MarketEvent, Trade};
use crate::instrument::InstrumentId;
use crate::order::{Fill, Intent, Liquidity, NewOrder, OrderId, RejectReason, Report, TimeInForce};
use crate::units::{Lots, Side, Ticks};
use std::collections::VecDeque;

/// An intent on its way to the venue.
#[derive(Clone, Copy, Debug)]
struct Pending {
    arrive_ns: u64,
    intent: Intent,
}

/// A report on its way back.
#[derive(Clone, Copy, Debug)]
struct Outgoing {
    release_ns: u64,
    report: Report,
}

/// One of our orders resting at the venue.
#[derive(Clone, Copy, Debug)]
struct Resting {
    order_id: OrderId,
    instrument: InstrumentId,
    side: Side,
    price: Ticks,
    leaves: Lots,
    queue: QueuePosition,
}

/// Reports in release order. Release times never decrease (clamped), so the queue is FIFO.
#[derive(Debug)]
struct Outbox {
    queue: VecDeque<Outgoing>,
    report_latency_ns: u64,
    last_release_ns: u64,
    grown: u64,
}

impl Outbox {
    #[inline]
    fn push(&mut self, venue_ns: u64, report: Report) {
        let release_ns = venue_ns
            .saturating_add(self.report_latency_ns)
            .max(self.last_release_ns);
        self.last_release_ns = release_ns;
        if self.queue.len() == self.queue.capacity() {
            self.grown += 1;
        }
        self.queue.push_back(Outgoing { release_ns, report });
    }
}

/// A simulated exchange for our orders, driven by the recorded market. See the module docs
/// of [`crate::paper`] for the model.
#[derive(Debug)]
pub struct PaperVenue {
    cfg: PaperConfig,
    maker_fee: FeeRate,
    taker_fee: FeeRate,
    pending: VecDeque<Pending>,
    last_arrive_ns: u64,
    outbox: Outbox,
    resting: Vec<Resting>,
    visible: Box<[VisibleBook]>,
    stats: PaperStats,
}

impl PaperVenue {
    /// A venue for `n_instruments`; `cfg` should have passed [`PaperConfig::validate`].
    pub fn new(cfg: PaperConfig, n_instruments: usize) -> PaperVenue {
        let in_flight = cfg.max_in_flight as usize;
        PaperVenue {
            cfg,
            maker_fee: FeeRate::from_bps(cfg.maker_fee_bps),
            taker_fee: FeeRate::from_bps(cfg.taker_fee_bps),
            pending: VecDeque::with_capacity(in_flight),
            last_arrive_ns: 0,
            outbox: Outbox {
                queue: VecDeque::with_capacity(in_flight),
                report_latency_ns: cfg.report_latency_ns,
                last_release_ns: 0,
                grown: 0,
            },
            resting: Vec::with_capacity(cfg.max_open_orders as usize),
            visible: (0..n_instruments)
                .map(|_| VisibleBook::new(cfg.visible_levels as usize))
                .collect(),
            stats: PaperStats::default(),
        }
    }

    /// Sends `intent` at market time `ts_ns`; the venue acts on it at `ts_ns + order_latency_ns`
    /// (never before an earlier intent: arrivals keep submission order).
    pub fn submit(&mut self, intent: Intent, ts_ns: u64) {
        let arrive_ns = ts_ns
            .saturating_add(self.cfg.order_latency_ns)
            .max(self.last_arrive_ns);
        self.last_arrive_ns = arrive_ns;
        if self.pending.len() == self.pending.capacity() {
            self.stats.queue_grown += 1;
        }
        self.pending.push_back(Pending { arrive_ns, intent });
    }

    /// Shows the venue one market event at `ts_ns` and the event's instrument's book after it.
    ///
    /// Intents that arrived by `ts_ns` are acted on first, against the book as it was before
    /// this event; then the event fills or moves our resting orders.
    pub fn on_market(&mut self, event: &MarketEvent<'_>, book_after: &L2Book, ts_ns: u64) {
        self.process_arrivals(ts_ns);
        let instrument = event.instrument();
        let Some(visible) = self.visible.get_mut(instrument.index()) else {
            self.stats.ignored_events += 1;
            return;
        };
        match event {
            MarketEvent::Trade(trade) => {
                // Trades and tickers leave the book as it was: no copy needed, unless the
                // venue has not seen this instrument's book yet.
                if !visible.is_seen() {
                    visible.refresh(book_after);
                }
                self.on_trade(trade, ts_ns);
            }
            MarketEvent::Ticker(_) => {
                if !visible.is_seen() {
                    visible.refresh(book_after);
                    self.on_book(instrument, book_after);
                }
            }
            MarketEvent::Depth(_) | MarketEvent::Snapshot(_) => {
                visible.refresh(book_after);
                self.on_book(instrument, book_after);
            }
        }
    }

    /// Acts on intents that arrived by `now_ns`, then hands `out` every report due by `now_ns`,
    /// in venue order. `now_ns` must not run ahead of market events still to be delivered.
    pub fn poll(&mut self, now_ns: u64, out: &mut impl FnMut(Report)) {
        self.process_arrivals(now_ns);
        while let Some(next) = self.outbox.queue.front() {
            if next.release_ns > now_ns {
                break;
            }
            let report = next.report;
            self.outbox.queue.pop_front();
            out(report);
        }
    }

    fn process_arrivals(&mut self, up_to_ns: u64) {
        while let Some(next) = self.pending.front() {
            if next.arrive_ns > up_to_ns {
                break;
            }
            let Pending { arrive_ns, intent } = *next;
            self.pending.pop_front();
            match intent {
                Intent::Place(order) => self.on_place(&order, arrive_ns),
                Intent::Cancel {
                    instrument,
                    order_id,
                    ..
                } => self.on_cancel(instrument, order_id, arrive_ns),
                Intent::CancelAll { instrument, .. } => self.on_cancel_all(instrument, arrive_ns),
            }
        }
    }

    fn reject(&mut self, order_id: OrderId, reason: RejectReason, venue_ns: u64) {
        self.stats.rejected += 1;
        self.outbox.push(
            venue_ns,
            Report::Rejected {
                order_id,
                reason,
                ts_ns: venue_ns,
            },
        );
    }

    fn on_place(&mut self, order: &NewOrder, venue_ns: u64) {
        self.stats.placements += 1;
        let id = order.order_id;
        let Some(visible) = self.visible.get(order.instrument.index()) else {
            return self.reject(id, RejectReason::Venue, venue_ns);
        };
        if order.qty.0 <= 0 || order.price.0 <= 0 || self.resting.iter().any(|r| r.order_id == id) {
            return self.reject(id, RejectReason::Venue, venue_ns);
        }
        if !visible.has_market() {
            return self.reject(id, RejectReason::NoMarket, venue_ns);
        }
        let marketable = visible
            .best(order.side.opposite())
            .is_some_and(|best| crosses(order.side, order.price, best.price));
        if marketable && order.tif == TimeInForce::PostOnly {
            return self.reject(id, RejectReason::WouldCross, venue_ns);
        }
        if order.tif != TimeInForce::Ioc && self.resting.len() >= self.resting.capacity() {
            return self.reject(id, RejectReason::Venue, venue_ns);
        }
        self.stats.accepted += 1;
        self.outbox.push(
            venue_ns,
            Report::Accepted {
                order_id: id,
                ts_ns: venue_ns,
            },
        );

        // Take visible liquidity up to the limit price, one fill per level.
        let mut leaves = order.qty;
        if marketable {
            for level in visible.levels(order.side.opposite()) {
                if leaves.is_zero() || !crosses(order.side, order.price, level.price) {
                    break;
                }
                let qty = Lots(leaves.0.min(level.qty.0.max(0)));
                if qty.is_zero() {
                    continue;
                }
                leaves = Lots(leaves.0 - qty.0);
                self.stats.taker_fills += 1;
                self.outbox.push(
                    venue_ns,
                    Report::Filled(Fill {
                        order_id: id,
                        instrument: order.instrument,
                        side: order.side,
                        price: level.price,
                        qty,
                        leaves_qty: leaves,
                        fee: self.taker_fee.fee(level.price, qty),
                        liquidity: Liquidity::Taker,
                        ts_ns: venue_ns,
                    }),
                );
            }
        }
        if leaves.is_zero() {
            return;
        }
        if order.tif == TimeInForce::Ioc {
            self.stats.canceled += 1;
            self.outbox.push(
                venue_ns,
                Report::Canceled {
                    order_id: id,
                    ts_ns: venue_ns,
                },
            );
            return;
        }
        let queue = match visible.qty_at(order.side, order.price) {
            Some(level_qty) => QueuePosition::join(level_qty),
            None => QueuePosition::unknown(),
        };
        self.resting.push(Resting {
            order_id: id,
            instrument: order.instrument,
            side: order.side,
            price: order.price,
            leaves,
            queue,
        });
    }

    fn on_cancel(&mut self, instrument: InstrumentId, order_id: OrderId, venue_ns: u64) {
        let found = self
            .resting
            .iter()
            .position(|r| r.order_id == order_id && r.instrument == instrument);
        match found {
            Some(index) => {
                // `remove`, not `swap_remove`: arrival order is queue priority among our orders.
                self.resting.remove(index);
                self.stats.canceled += 1;
                self.outbox.push(
                    venue_ns,
                    Report::Canceled {
                        order_id,
                        ts_ns: venue_ns,
                    },
                );
            }
            None => self.reject(order_id, RejectReason::UnknownOrder, venue_ns),
        }
    }

    fn on_cancel_all(&mut self, instrument: InstrumentId, venue_ns: u64) {
        let outbox = &mut self.outbox;
        let stats = &mut self.stats;
        self.resting.retain(|r| {
            if r.instrument != instrument {
                return true;
            }
            stats.canceled += 1;
            outbox.push(
                venue_ns,
                Report::Canceled {
                    order_id: r.order_id,
                    ts_ns: venue_ns,
                },
            );
            false
        });
    }

    /// A public trade: fills orders it went through, advances (and maybe fills) orders at its
    /// price. Our orders at one price share the trade's excess in arrival order.
    fn on_trade(&mut self, trade: &Trade, ts_ns: u64) {
        let mut own_taken_lots = 0i64;
        let mut index = 0;
        while index < self.resting.len() {
            let r = &mut self.resting[index];
            // Only orders on the side the aggressor hits: a sell aggressor hits bids.
            if r.instrument != trade.instrument || r.side == trade.aggressor {
                index += 1;
                continue;
            }
            let qty = if traded_through(r.side, r.price, trade.price) {
                r.leaves
            } else if trade.price == r.price {
                let excess = r.queue.on_trade(trade.qty).0 - own_taken_lots;
                let qty = Lots(excess.clamp(0, r.leaves.0));
                own_taken_lots += qty.0;
                qty
            } else {
                Lots::ZERO
            };
            if qty.is_zero() {
                index += 1;
                continue;
            }
            r.leaves = Lots(r.leaves.0 - qty.0);
            let fill = Fill {
                order_id: r.order_id,
                instrument: r.instrument,
                side: r.side,
                price: r.price,
                qty,
                leaves_qty: r.leaves,
                fee: self.maker_fee.fee(r.price, qty),
                liquidity: Liquidity::Maker,
                ts_ns,
            };
            self.stats.maker_fills += 1;
            self.outbox.push(ts_ns, Report::Filled(fill));
            if r.leaves.is_zero() {
                self.resting.remove(index);
            } else {
                index += 1;
            }
        }
    }

    /// A book update: re-reads the level of every resting order on the instrument.
    fn on_book(&mut self, instrument: InstrumentId, book: &L2Book) {
        let model: QueueModel = self.cfg.queue_model;
        for r in self
            .resting
            .iter_mut()
            .filter(|r| r.instrument == instrument)
        {
            r.queue.on_level(book.qty_at(r.side, r.price), model);
        }
    }

    /// Others' quantity ahead of a resting order, if it rests and its level is known.
    pub fn queue_ahead(&self, order_id: OrderId) -> Option<Lots> {
        self.resting
            .iter()
            .find(|r| r.order_id == order_id)
            .and_then(|r| r.queue.ahead())
    }

    /// Our orders resting at the venue.
    pub fn open_orders(&self) -> usize {
        self.resting.len()
    }

    /// Intents in flight towards the venue, and reports in flight back.
    pub fn in_flight(&self) -> (usize, usize) {
        (self.pending.len(), self.outbox.queue.len())
    }

    /// Activity counters.
    pub fn stats(&self) -> PaperStats {
        PaperStats {
            queue_grown: self.stats.queue_grown + self.outbox.grown,
            ..self.stats
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &PaperConfig {
        &self.cfg
    }
}

/// True when a trade at `trade_price` went through our resting `side` order at `our_price`:
/// a sell below our bid, a buy above our ask.
#[inline]
fn traded_through(side: Side, our_price: Ticks, trade_price: Ticks) -> bool {
    match side {
        Side::Bid => trade_price < our_price,
        Side::Ask => trade_price > our_price,
    }
}

/// True when an order of `side` at `limit` trades against a resting price `other`.
#[inline]
fn crosses(side: Side, limit: Ticks, other: Ticks) -> bool {
    match side {
        Side::Bid => other <= limit,
        Side::Ask => other >= limit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::event::DepthDiff;

    const I0: InstrumentId = InstrumentId(0);
    const I1: InstrumentId = InstrumentId(1);

    struct Harness {
        venue: PaperVenue,
        books: [L2Book; 2],
        reports: Vec<Report>,
    }

    impl Harness {
        fn new(cfg: PaperConfig) -> Harness {
            let mut h = Harness {
                venue: PaperVenue::new(cfg, 2),
                books: [L2Book::new(), L2Book::new()],
                reports: Vec::new(),
            };
            for inst in [I0, I1] {
                h.level(inst, Side::Bid, 10_000, 10, 0);
                h.level(inst, Side::Ask, 10_001, 5, 0);
            }
            h
        }

        fn level(&mut self, inst: InstrumentId, side: Side, price: i64, qty: i64, ts_ns: u64) {
            let book = &mut self.books[inst.index()];
            book.set(side, Ticks(price), Lots(qty));
            let diff = DepthDiff {
                instrument: inst,
                event_time_ms: 0,
                first_update_id: 0,
                final_update_id: 0,
                prev_final_update_id: None,
                bids: &[],
                asks: &[],
            };
            self.venue.on_market(&MarketEvent::Depth(diff), book, ts_ns);
        }

        fn trade(&mut self, price: i64, qty: i64, aggressor: Side, ts_ns: u64) {
            let trade = Trade {
                instrument: I0,
                trade_id: 0,
                trade_time_ms: 0,
                price: Ticks(price),
                qty: Lots(qty),
                aggressor,
            };
            self.venue
                .on_market(&MarketEvent::Trade(trade), &self.books[0], ts_ns);
        }

        fn poll(&mut self, now_ns: u64) -> Vec<Report> {
            let mut got = Vec::new();
            self.venue.poll(now_ns, &mut |r| got.push(r));
            self.reports.extend_from_slice(&got);
            got
        }
    }

    fn cfg() -> PaperConfig {
        PaperConfig {
            order_latency_ns: 1_000,
            report_latency_ns: 500,
            maker_fee_bps: 2.0,
            taker_fee_bps: 5.0,
            ..PaperConfig::default()
        }
    }

    fn place(
        id: u64,
        inst: InstrumentId,
        side: Side,
        price: i64,
        qty: i64,
        tif: TimeInForce,
    ) -> Intent {
        Intent::Place(NewOrder {
            order_id: OrderId(id),
            instrument: inst,
            side,
            price: Ticks(price),
            qty: Lots(qty),
            tif,
            cause_ts_ns: 0,
            reduce_only: false,
        })
    }

    fn fills(reports: &[Report]) -> Vec<Fill> {
        reports
            .iter()
            .filter_map(|r| match r {
                Report::Filled(f) => Some(*f),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn latency_delays_acceptance_and_reports() {
        let mut h = Harness::new(cfg());
        h.venue
            .submit(place(1, I0, Side::Bid, 10_000, 1, TimeInForce::Gtc), 0);
        assert!(h.poll(999).is_empty());
        assert_eq!(
            h.venue.open_orders(),
            0,
            "not at the venue before the order latency"
        );
        assert!(h.poll(1_499).is_empty());
        assert_eq!(h.venue.open_orders(), 1);
        assert_eq!(
            h.poll(1_500),
            vec![Report::Accepted {
                order_id: OrderId(1),
                ts_ns: 1_000
            }]
        );
    }

    #[test]
    fn arrivals_act_before_later_market_events_only() {
        let mut h = Harness::new(cfg());
        h.venue
            .submit(place(1, I0, Side::Bid, 10_000, 2, TimeInForce::Gtc), 0);
        // A sell through our bid before the order arrives does not touch it.
        h.trade(9_999, 1, Side::Ask, 999);
        assert_eq!(h.venue.open_orders(), 0);
        h.trade(9_999, 1, Side::Ask, 1_000);
        let got = h.poll(2_000);
        assert_eq!(got.len(), 2);
        let f = fills(&got);
        assert_eq!(
            (f[0].qty, f[0].leaves_qty, f[0].ts_ns),
            (Lots(2), Lots(0), 1_000)
        );
    }

    #[test]
    fn queue_moves_only_with_trades_and_cancels_then_fills() {
        let mut h = Harness::new(cfg());
        h.venue
            .submit(place(1, I0, Side::Bid, 10_000, 3, TimeInForce::Gtc), 0);
        h.poll(1_000);
        assert_eq!(h.venue.queue_ahead(OrderId(1)), Some(Lots(10)));
        h.level(I0, Side::Bid, 10_000, 15, 2_000); // joins behind us
        assert_eq!(h.venue.queue_ahead(OrderId(1)), Some(Lots(10)));
        h.level(I0, Side::Bid, 9_999, 50, 2_100); // other levels do not matter
        h.trade(10_001, 7, Side::Bid, 2_200); // buys hit asks, not our bid
        assert_eq!(h.venue.queue_ahead(OrderId(1)), Some(Lots(10)));
        h.trade(10_000, 4, Side::Ask, 3_000);
        assert_eq!(h.venue.queue_ahead(OrderId(1)), Some(Lots(6)));
        h.level(I0, Side::Bid, 10_000, 11, 4_000); // the trade's 4 lots: no cancels
        assert_eq!(h.venue.queue_ahead(OrderId(1)), Some(Lots(6)));
        h.level(I0, Side::Bid, 10_000, 6, 5_000); // 5 cancelled, 6/11 of them ahead -> 2
        assert_eq!(h.venue.queue_ahead(OrderId(1)), Some(Lots(4)));
        assert!(fills(&h.poll(5_000)).is_empty());
        h.trade(10_000, 5, Side::Ask, 6_000); // 4 ahead, 1 for us
        h.trade(10_000, 10, Side::Ask, 7_000); // the remaining 2
        let f = fills(&h.poll(8_000));
        assert_eq!(f.len(), 2);
        assert_eq!(
            (f[0].qty, f[0].leaves_qty, f[0].ts_ns),
            (Lots(1), Lots(2), 6_000)
        );
        assert_eq!((f[1].qty, f[1].leaves_qty), (Lots(2), Lots(0)));
        assert!(
            f.iter()
                .all(|f| f.liquidity == Liquidity::Maker && f.price == Ticks(10_000))
        );
        // 2 bps of 10_000 * 2 = 4 notional units.
        assert_eq!(f[1].fee, 4);
        assert_eq!(h.venue.open_orders(), 0);
    }

    #[test]
    fn own_orders_at_one_price_share_the_excess_in_arrival_order() {
        let mut h = Harness::new(cfg());
        h.level(I0, Side::Bid, 10_000, 0, 0);
        h.venue
            .submit(place(1, I0, Side::Bid, 10_000, 2, TimeInForce::Gtc), 0);
        h.venue
            .submit(place(2, I0, Side::Bid, 10_000, 2, TimeInForce::Gtc), 0);
        h.trade(10_000, 3, Side::Ask, 1_000);
        let f = fills(&h.poll(2_000));
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].order_id, f[0].qty), (OrderId(1), Lots(2)));
        assert_eq!(
            (f[1].order_id, f[1].qty, f[1].leaves_qty),
            (OrderId(2), Lots(1), Lots(1))
        );
    }

    #[test]
    fn trade_through_fills_fully_at_our_price() {
        let mut h = Harness::new(cfg());
        h.venue
            .submit(place(1, I0, Side::Bid, 10_000, 3, TimeInForce::Gtc), 0);
        h.venue
            .submit(place(2, I0, Side::Ask, 10_003, 2, TimeInForce::Gtc), 0);
        h.poll(1_000);
        h.trade(9_999, 1, Side::Ask, 2_000);
        h.trade(10_004, 1, Side::Bid, 2_000);
        let f = fills(&h.poll(3_000));
        assert_eq!(f.len(), 2);
        assert_eq!(
            (f[0].price, f[0].qty, f[0].leaves_qty),
            (Ticks(10_000), Lots(3), Lots(0))
        );
        assert_eq!(
            (f[1].price, f[1].qty, f[1].side),
            (Ticks(10_003), Lots(2), Side::Ask)
        );
        // Cancel of a filled order is refused.
        h.venue.submit(
            Intent::Cancel {
                instrument: I0,
                order_id: OrderId(1),
                cause_ts_ns: 0,
            },
            3_000,
        );
        assert_eq!(
            h.poll(10_000),
            vec![Report::Rejected {
                order_id: OrderId(1),
                reason: RejectReason::UnknownOrder,
                ts_ns: 4_000
            }]
        );
    }

    #[test]
    fn marketable_order_walks_levels_as_taker() {
        let mut h = Harness::new(cfg());
        h.level(I0, Side::Ask, 10_001, 2, 0);
        h.level(I0, Side::Ask, 10_002, 3, 0);
        h.level(I0, Side::Ask, 10_004, 5, 0);
        h.venue
            .submit(place(1, I0, Side::Bid, 10_002, 10, TimeInForce::Gtc), 0);
        h.venue
            .submit(place(2, I0, Side::Bid, 10_004, 20, TimeInForce::Ioc), 0);
        let got = h.poll(2_000);
        let f = fills(&got);
        assert_eq!(f.len(), 5);
        assert!(f.iter().all(|f| f.liquidity == Liquidity::Taker));
        assert_eq!(
            (f[0].price, f[0].qty, f[0].leaves_qty),
            (Ticks(10_001), Lots(2), Lots(8))
        );
        assert_eq!(
            (f[1].price, f[1].qty, f[1].leaves_qty),
            (Ticks(10_002), Lots(3), Lots(5))
        );
        // 5 bps of 10_002 * 3 = 15.003 -> 16 (rounded up).
        assert_eq!(f[1].fee, 16);
        // The GTC remainder rests at its limit, first in its (empty) level.
        assert_eq!(h.venue.queue_ahead(OrderId(1)), Some(Lots(0)));
        // The IOC takes all three visible levels, then its remainder is cancelled.
        assert_eq!(
            (f[4].price, f[4].qty, f[4].leaves_qty),
            (Ticks(10_004), Lots(5), Lots(10))
        );
        assert_eq!(
            got.last(),
            Some(&Report::Canceled {
                order_id: OrderId(2),
                ts_ns: 1_000
            })
        );
        assert_eq!(h.venue.open_orders(), 1);
        assert_eq!(h.venue.stats().taker_fills, 5);
    }

    #[test]
    fn post_only_that_would_cross_is_rejected() {
        let mut h = Harness::new(cfg());
        h.venue
            .submit(place(1, I0, Side::Bid, 10_001, 1, TimeInForce::PostOnly), 0);
        h.venue
            .submit(place(2, I0, Side::Ask, 10_000, 1, TimeInForce::PostOnly), 0);
        h.venue
            .submit(place(3, I0, Side::Bid, 10_000, 1, TimeInForce::PostOnly), 0);
        let got = h.poll(2_000);
        let cross = |id| Report::Rejected {
            order_id: OrderId(id),
            reason: RejectReason::WouldCross,
            ts_ns: 1_000,
        };
        assert_eq!(
            got,
            vec![
                cross(1),
                cross(2),
                Report::Accepted {
                    order_id: OrderId(3),
                    ts_ns: 1_000
                }
            ]
        );
        assert_eq!(h.venue.queue_ahead(OrderId(3)), Some(Lots(10)));
    }

    #[test]
    fn cancel_all_cancels_only_that_instrument() {
        let mut h = Harness::new(cfg());
        h.venue
            .submit(place(1, I0, Side::Bid, 9_990, 1, TimeInForce::Gtc), 0);
        h.venue
            .submit(place(2, I1, Side::Bid, 9_990, 1, TimeInForce::Gtc), 0);
        h.venue
            .submit(place(3, I0, Side::Ask, 10_010, 1, TimeInForce::Gtc), 0);
        h.venue.submit(
            Intent::CancelAll {
                instrument: I0,
                cause_ts_ns: 0,
            },
            10,
        );
        h.poll(5_000);
        let canceled: Vec<OrderId> = h
            .reports
            .iter()
            .filter_map(|r| match r {
                Report::Canceled { order_id, .. } => Some(*order_id),
                _ => None,
            })
            .collect();
        assert_eq!(canceled, vec![OrderId(1), OrderId(3)]);
        assert_eq!(h.venue.open_orders(), 1);
        h.venue.submit(
            Intent::Cancel {
                instrument: I1,
                order_id: OrderId(2),
                cause_ts_ns: 0,
            },
            5_000,
        );
        assert_eq!(
            h.poll(7_000),
            vec![Report::Canceled {
                order_id: OrderId(2),
                ts_ns: 6_000
            }]
        );
    }

    #[test]
    fn refusals_never_panic() {
        let mut venue = PaperVenue::new(cfg(), 1);
        venue.submit(place(1, I0, Side::Bid, 10_000, 1, TimeInForce::Gtc), 0);
        venue.submit(
            place(2, InstrumentId(9), Side::Bid, 10_000, 1, TimeInForce::Gtc),
            0,
        );
        venue.submit(place(3, I0, Side::Bid, 10_000, -1, TimeInForce::Gtc), 0);
        venue.submit(
            Intent::Cancel {
                instrument: I0,
                order_id: OrderId(7),
                cause_ts_ns: 0,
            },
            0,
        );
        let trade = Trade {
            instrument: InstrumentId(9),
            trade_id: 0,
            trade_time_ms: 0,
            price: Ticks(1),
            qty: Lots(1),
            aggressor: Side::Ask,
        };
        venue.on_market(&MarketEvent::Trade(trade), &L2Book::new(), 0);
        let mut got = Vec::new();
        venue.poll(u64::MAX, &mut |r| got.push(r));
        let reasons: Vec<RejectReason> = got
            .iter()
            .filter_map(|r| match r {
                Report::Rejected { reason, .. } => Some(*reason),
                _ => None,
            })
            .collect();
        assert_eq!(
            reasons,
            vec![
                RejectReason::NoMarket,
                RejectReason::Venue,
                RejectReason::Venue,
                RejectReason::UnknownOrder
            ]
        );
        assert_eq!(venue.stats().ignored_events, 1);
    }
}
