//! The tick path: one frame in, book + signals + strategy + risk, intents out.
//!
//! [`TickPath::on_frame`] is everything the core thread does per market-data frame. It owns
//! the parser, the books, the signal and strategy state, pre-trade risk and the portfolio;
//! intents leave through the `rtrb` intent ring, reports come back through the report ring.
//! After warm-up nothing here allocates, locks, logs or touches a file: rare events are
//! counted in [`Counters`], and the caller publishes them off this path.

use super::counters::Counters;
use super::latency::LatencyHistogram;
use super::oracle::{OracleVerdict, TobOracle};
use crate::book::L2Book;
use crate::config::Config;
use crate::feed::binance::{BinanceParser, BookSync, DiffAction, ParseError, Parsed};
use crate::feed::event::MarketEvent;
use crate::instrument::{InstrumentId, InstrumentSpec, Instruments};
use crate::order::{Intent, NewOrder, OrderId, RejectReason, Report};
use crate::portfolio::Portfolio;
use crate::risk::RiskMode;
use crate::risk::{PreTradeRisk, RiskReject};
use crate::signal::SignalState;
use crate::strategy::{OrderIdGen, Strategy};
use crate::units::{Lots, Notional};

/// Hooks for what the core thread's owner wants to see (replay's CSV, the paper venue).
pub trait TickObserver {
    /// After every applied depth diff, with the book as it now stands.
    fn on_applied(&mut self, _spec: &InstrumentSpec, _book: &L2Book, _update_id: u64) {}
    /// After every market event has been applied, with that instrument's book.
    fn on_market(&mut self, _event: &MarketEvent<'_>, _book: &L2Book, _ts_ns: u64) {}
    /// After an intent entered the intent ring.
    fn on_intent_sent(&mut self, _intent: &Intent, _ts_ns: u64) {}
    /// After a report was applied: the instrument's position after it (lots) and, when a
    /// fill closed a round trip, its PnL net of fees (notional units).
    fn on_report_applied(
        &mut self,
        _report: &Report,
        _position_lots: i64,
        _round_trip_pnl: Option<Notional>,
        _ts_ns: u64,
    ) {
    }
}

/// An observer that wants nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;
impl TickObserver for NoObserver {}

/// Money gauges in millionths of the quote currency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MoneyMicros {
    /// Realized PnL net of fees.
    pub realized: i64,
    /// Unrealized PnL at the last mid.
    pub unrealized: i64,
    /// Realized - fees + unrealized.
    pub equity: i64,
    /// Peak equity minus equity now.
    pub drawdown: i64,
    /// Largest drawdown so far.
    pub max_drawdown: i64,
}

/// One instrument's market state on the core thread.
#[derive(Debug)]
pub struct InstrumentBook {
    /// Sequence state.
    pub sync: BookSync,
    /// The book.
    pub book: L2Book,
    /// bookTicker cross-check.
    pub oracle: TobOracle,
    /// Signal state.
    pub signals: SignalState,
    /// Set when a gap asks for a fresh snapshot; the feed owner clears it when it asks.
    pub resync_requested: bool,
    /// Exchange event time of the last depth diff, ms (0 before the first).
    pub last_event_ms: i64,
    /// Local receive time of the last frame for this instrument, ns (market clock).
    pub last_receipt_ns: u64,
    /// Top-level OBI of the last book event, parts per million.
    pub last_obi_ppm: i64,
    was_valid: bool,
}

/// Why a flatten order was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlattenRefused {
    /// Pre-trade risk refused it.
    Risk(RiskReject),
    /// The intent ring was full.
    RingFull,
}

/// The core thread's per-frame work.
pub struct TickPath<O: TickObserver> {
    instruments: Instruments,
    parser: BinanceParser,
    books: Vec<InstrumentBook>,
    strategy: Strategy,
    ids: OrderIdGen,
    risk: PreTradeRisk,
    portfolio: Portfolio,
    intents: rtrb::Producer<Intent>,
    reports: rtrb::Consumer<Report>,
    pending: Vec<Intent>,
    clock: quanta::Clock,
    halted: bool,
    last_ts_ns: u64,
    /// The first frame that failed to parse: (frame number from 1, why).
    pub first_parse_error: Option<(u64, ParseError)>,
    /// Event counts since start.
    pub counters: Counters,
    /// Receipt of the causing frame → intent pushed, ns.
    pub intent_latency: LatencyHistogram,
    /// Receipt → tick-path work done, per frame, ns.
    pub frame_latency: LatencyHistogram,
    /// The owner's hooks.
    pub observer: O,
}

impl<O: TickObserver> std::fmt::Debug for TickPath<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TickPath")
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

/// Levels per side the book reserves up front. Real books accumulate levels beyond the
/// 1000-level snapshot over a session (3,181 bids after 345 s of ETHUSDT USD-M); growing past
/// this reservation allocates once per doubling, so it is sized well above the working set.
pub const BOOK_LEVELS_RESERVED: usize = 8192;

/// Most intents one frame may produce before the path refuses more (a strategy bug guard).
const MAX_INTENTS_PER_FRAME: usize = 64;

impl<O: TickObserver> TickPath<O> {
    /// Builds the tick path around the two ring ends it owns.
    pub fn new(
        config: &Config,
        intents: rtrb::Producer<Intent>,
        reports: rtrb::Consumer<Report>,
        clock: quanta::Clock,
        observer: O,
    ) -> TickPath<O> {
        let n = config.instruments.len();
        let books = config
            .instruments
            .iter()
            .map(|(id, spec)| InstrumentBook {
                sync: BookSync::new(id, spec.market),
                book: L2Book::with_capacity(BOOK_LEVELS_RESERVED),
                oracle: TobOracle::default(),
                signals: SignalState::new(&config.signal),
                resync_requested: false,
                last_event_ms: 0,
                last_receipt_ns: 0,
                last_obi_ppm: 0,
                was_valid: false,
            })
            .collect();
        TickPath {
            instruments: config.instruments.clone(),
            parser: BinanceParser::new(),
            books,
            strategy: Strategy::new(&config.strategy, n),
            ids: OrderIdGen::default(),
            risk: PreTradeRisk::new(config.risk, n),
            portfolio: Portfolio::new(n),
            intents,
            reports,
            pending: Vec::with_capacity(MAX_INTENTS_PER_FRAME),
            clock,
            halted: false,
            last_ts_ns: 0,
            first_parse_error: None,
            counters: Counters::default(),
            intent_latency: LatencyHistogram::new(),
            frame_latency: LatencyHistogram::new(),
            observer,
        }
    }

    /// The instruments, by id.
    pub fn instruments(&self) -> &Instruments {
        &self.instruments
    }

    /// One instrument's market state.
    pub fn book(&self, id: InstrumentId) -> &InstrumentBook {
        &self.books[id.index()]
    }

    /// Every instrument's market state, by id.
    pub fn books(&self) -> &[InstrumentBook] {
        &self.books
    }

    /// Mutable market state (the feed owner clears `resync_requested`, resets on reconnect).
    pub fn book_mut(&mut self, id: InstrumentId) -> &mut InstrumentBook {
        &mut self.books[id.index()]
    }

    /// Positions and PnL.
    pub fn portfolio(&self) -> &Portfolio {
        &self.portfolio
    }

    /// Pre-trade risk state (reject counts).
    pub fn risk(&self) -> &PreTradeRisk {
        &self.risk
    }

    /// Market-clock time of the last frame, ns.
    pub fn last_ts_ns(&self) -> u64 {
        self.last_ts_ns
    }

    /// True once halted: no new orders; working orders were asked to cancel.
    pub fn is_halted(&self) -> bool {
        self.halted
    }

    /// Stops trading: disables every instrument's strategy, which cancels its orders.
    pub fn halt(&mut self, ts_ns: u64) {
        if self.halted {
            return;
        }
        self.halted = true;
        self.risk.set_mode(RiskMode::Halted);
        for i in 0..self.books.len() {
            self.strategy.set_enabled(InstrumentId(i as u16), false);
        }
        // A disabled strategy emits the cancels it owes on its next timer call.
        let receipt = self.clock.raw();
        self.run_timers(ts_ns, receipt);
    }

    /// Forgets an instrument's book after its feed was lost: the book waits for a fresh
    /// snapshot, its signal history is dropped, and its strategy is switched off at once
    /// (which cancels working orders) rather than on the next frame.
    pub fn reset_instrument(&mut self, id: InstrumentId, ts_ns: u64) {
        let ib = &mut self.books[id.index()];
        ib.sync.reset(&mut ib.book);
        ib.oracle.reset();
        ib.signals.reset();
        ib.resync_requested = true;
        if ib.was_valid {
            ib.was_valid = false;
            self.strategy.set_enabled(id, false);
            let receipt = self.clock.raw();
            self.run_timers(ts_ns, receipt);
        }
    }

    /// Runs the strategies' timers without a frame (orders time out, owed cancels go out
    /// even when the market is quiet). `receipt_raw` is a `quanta` raw stamp.
    pub fn on_idle(&mut self, now_ns: u64, receipt_raw: u64) {
        self.last_ts_ns = self.last_ts_ns.max(now_ns);
        self.run_timers(now_ns, receipt_raw);
    }

    /// Orders the engine believes open at the venue (sent and not yet finished).
    pub fn open_orders(&self) -> usize {
        self.risk.open_orders_total()
    }

    /// Resumes trading after an operator reset: strategies of synchronised books switch on.
    pub fn resume(&mut self, ts_ns: u64) {
        if !self.halted {
            return;
        }
        self.halted = false;
        self.risk.set_mode(RiskMode::Normal);
        for i in 0..self.books.len() {
            let id = InstrumentId(i as u16);
            // A flatten while halted changed the position behind the strategy's back.
            let lots = self.portfolio.position(id).0;
            self.strategy.sync_position(id, lots, ts_ns);
            self.strategy.set_enabled(id, self.books[i].was_valid);
        }
        let receipt = self.clock.raw();
        self.run_timers(ts_ns, receipt);
    }

    /// Takes new strategy parameters (a hot reload). Call between frames, never from inside
    /// one; what changes for resting orders is described at [`Strategy::set_config`].
    pub fn set_strategy_config(&mut self, cfg: &crate::strategy::StrategyConfig) {
        self.strategy.set_config(cfg);
    }

    /// Sets pre-trade risk's mode (breakers: reduce-only or halted).
    pub fn set_risk_mode(&mut self, mode: RiskMode) {
        self.risk.set_mode(mode);
    }

    /// Asks the venue to cancel every open order on every instrument, including orders this
    /// run did not place (the halt sequence). Cancels pass risk in every mode.
    pub fn cancel_all_at_venue(&mut self, ts_ns: u64) {
        for i in 0..self.books.len() {
            if self.pending.len() < MAX_INTENTS_PER_FRAME {
                self.pending.push(Intent::CancelAll {
                    instrument: InstrumentId(i as u16),
                    cause_ts_ns: ts_ns,
                });
            }
        }
        let receipt = self.clock.raw();
        self.flush_intents(ts_ns, receipt);
    }

    /// The next order id (for orders the strategy does not make: flatten orders).
    pub fn next_order_id(&mut self) -> OrderId {
        self.ids.next_id()
    }

    /// Largest quantity one order may have, lots (pre-trade risk's limit).
    pub fn max_order_qty_lots(&self) -> i64 {
        self.risk.config().max_order_qty_lots
    }

    /// Sends one flatten order while halted. Risk checks it as in reduce-only mode (it can
    /// only shrink the position, even if it fills completely; price band and size limits
    /// apply), then trading stays halted. The journal sees it like any order.
    pub fn send_flatten(&mut self, order: NewOrder, ts_ns: u64) -> Result<(), FlattenRefused> {
        let intent = Intent::Place(order);
        let book = &self.books[order.instrument.index()].book;
        let previous = self.risk.mode();
        self.risk.set_mode(RiskMode::ReduceOnly);
        let checked = self.risk.check(&intent, book, ts_ns);
        self.risk.set_mode(previous);
        checked.map_err(FlattenRefused::Risk)?;
        match self.intents.push(intent) {
            Ok(()) => {
                self.observer.on_intent_sent(&intent, ts_ns);
                self.counters.intents += 1;
                Ok(())
            }
            Err(rtrb::PushError::Full(_)) => {
                self.counters.intent_ring_full += 1;
                self.risk.on_send_failed(&intent);
                Err(FlattenRefused::RingFull)
            }
        }
    }

    /// Sets an instrument's position at start-up, from the recovered journal (the
    /// portfolio's cost basis and PnL, and pre-trade risk's position).
    pub fn restore_position(&mut self, id: InstrumentId, position: crate::portfolio::Position) {
        self.risk.set_position(id, Lots(position.qty_lots));
        self.portfolio.restore(id, position);
        // The strategy did not enter it: it exits it once trading is enabled.
        self.strategy
            .sync_position(id, position.qty_lots, self.last_ts_ns);
    }

    /// Runs every instrument's strategy timer and sends what it produces.
    fn run_timers(&mut self, ts_ns: u64, receipt_raw: u64) {
        for i in 0..self.books.len() {
            let pending = &mut self.pending;
            self.strategy.on_timer(
                InstrumentId(i as u16),
                &self.books[i].book,
                ts_ns,
                &mut self.ids,
                &mut |intent| {
                    if pending.len() < MAX_INTENTS_PER_FRAME {
                        pending.push(intent);
                    }
                },
            );
        }
        self.flush_intents(ts_ns, receipt_raw);
    }

    /// Handles one raw frame received at `recv_ns` (market clock) and stamped `receipt_raw`
    /// (`quanta` raw counter). `snapshot_for` names the instrument of a bare REST snapshot.
    pub fn on_frame(
        &mut self,
        frame: &mut [u8],
        recv_ns: u64,
        receipt_raw: u64,
        snapshot_for: Option<InstrumentId>,
    ) {
        self.counters.frames += 1;
        self.counters.bytes += frame.len() as u64;
        let event = match self.parser.parse(frame, &self.instruments, snapshot_for) {
            Ok(Parsed::Event(event)) => event,
            Ok(Parsed::Unknown) => {
                self.counters.unknown_events += 1;
                return self.record_frame_latency(receipt_raw);
            }
            Ok(Parsed::UnknownSymbol) => {
                self.counters.unknown_symbols += 1;
                return self.record_frame_latency(receipt_raw);
            }
            Ok(Parsed::Control) => return self.record_frame_latency(receipt_raw),
            Err(e) => {
                self.counters.parse_errors += 1;
                if self.first_parse_error.is_none() {
                    self.first_parse_error = Some((self.counters.frames, e));
                }
                return self.record_frame_latency(receipt_raw);
            }
        };
        let id = event.instrument();
        let spec = self.instruments.get(id);
        let ib = &mut self.books[id.index()];
        ib.last_receipt_ns = recv_ns;
        self.last_ts_ns = recv_ns;
        let counters = &mut self.counters;
        let observer = &mut self.observer;
        let mut book_changed = false;
        let mut on_applied = |book: &L2Book, update_id: u64| {
            counters.diffs_applied += 1;
            match ib.oracle.on_applied(book, update_id) {
                Some(OracleVerdict::Match) => counters.oracle_checked += 1,
                Some(OracleVerdict::Mismatch) => {
                    counters.oracle_checked += 1;
                    counters.oracle_mismatches += 1;
                }
                None => {}
            }
            observer.on_applied(spec, book, update_id);
        };
        match &event {
            MarketEvent::Depth(diff) => {
                ib.last_event_ms = diff.event_time_ms;
                match ib.sync.on_diff(diff, &mut ib.book, &mut on_applied) {
                    DiffAction::Applied => book_changed = true,
                    DiffAction::Buffered => counters.diffs_buffered += 1,
                    DiffAction::Stale => counters.diffs_stale += 1,
                    DiffAction::Gap => {
                        counters.gaps += 1;
                        counters.resyncs += 1;
                        ib.resync_requested = true;
                    }
                    DiffAction::Crossed => {
                        counters.crossed += 1;
                        counters.resyncs += 1;
                        ib.resync_requested = true;
                    }
                }
            }
            MarketEvent::Snapshot(snapshot) => {
                let outcome = ib.sync.on_snapshot(snapshot, &mut ib.book, &mut on_applied);
                if outcome.ignored {
                    counters.snapshots_ignored += 1;
                } else {
                    counters.snapshots += 1;
                    ib.resync_requested = false;
                    book_changed = true;
                }
                counters.diffs_stale += u64::from(outcome.stale);
                if outcome.gap || outcome.crossed {
                    counters.gaps += u64::from(outcome.gap);
                    counters.crossed += u64::from(outcome.crossed);
                    counters.resyncs += 1;
                    ib.resync_requested = true;
                }
            }
            MarketEvent::Ticker(ticker) => {
                counters.tickers += 1;
                match ib.oracle.on_ticker(ticker) {
                    Some(OracleVerdict::Match) => counters.oracle_checked += 1,
                    Some(OracleVerdict::Mismatch) => {
                        counters.oracle_checked += 1;
                        counters.oracle_mismatches += 1;
                    }
                    None => {}
                }
            }
            MarketEvent::Trade(trade) => {
                counters.trades += 1;
                ib.signals.on_trade(trade, recv_ns);
            }
        }
        let valid = ib.sync.is_valid();
        if !valid && ib.was_valid {
            // The old book's history says nothing about the resynchronised one.
            ib.oracle.reset();
            ib.signals.reset();
        }
        self.observer.on_market(&event, &ib.book, recv_ns);

        // Validity changes switch the strategy on and off (off cancels working orders).
        let pending = &mut self.pending;
        let mut emit = |intent: Intent| {
            if pending.len() < MAX_INTENTS_PER_FRAME {
                pending.push(intent);
            }
        };
        if valid != ib.was_valid {
            ib.was_valid = valid;
            self.strategy.set_enabled(id, valid && !self.halted);
        }
        if valid && book_changed {
            self.counters.book_events += 1;
            let signals = ib.signals.on_book(&ib.book, recv_ns);
            ib.last_obi_ppm = signals.obi[0].map_or(0, |x| (x * 1e6) as i64);
            if let Some(mid_x2) = Portfolio::mid_x2_ticks(&ib.book) {
                self.portfolio.mark(id, mid_x2, recv_ns);
            }
            if !self.halted {
                self.strategy
                    .on_signals(id, &ib.book, signals, recv_ns, &mut self.ids, &mut emit);
            }
        }
        // Timers run even when disabled or halted: that is how owed cancels go out.
        self.strategy
            .on_timer(id, &ib.book, recv_ns, &mut self.ids, &mut emit);
        self.flush_intents(recv_ns, receipt_raw);
        self.record_frame_latency(receipt_raw);
    }

    /// Drains the report ring: venue acks and fills update strategy, risk and portfolio.
    pub fn on_reports(&mut self, now_ns: u64) {
        let receipt = self.clock.raw();
        let mut any = false;
        while let Ok(report) = self.reports.pop() {
            any = true;
            self.apply_report(&report, now_ns);
        }
        if any {
            // Let the strategy act on fills at once (e.g. place the take-profit).
            self.run_timers(now_ns, receipt);
        }
    }

    fn apply_report(&mut self, report: &Report, now_ns: u64) {
        self.counters.reports += 1;
        let mut round_trip = None;
        match report {
            Report::Accepted { .. } => self.counters.orders_accepted += 1,
            Report::Canceled { .. } => self.counters.orders_canceled += 1,
            Report::Rejected { .. } => self.counters.orders_rejected += 1,
            Report::Filled(fill) => {
                self.counters.fills += 1;
                round_trip = self.portfolio.on_fill(fill).map(|t| t.net_pnl());
            }
        }
        self.risk.on_report(report);
        let instrument = match report {
            Report::Filled(fill) => Some(fill.instrument),
            Report::Accepted { order_id, .. }
            | Report::Rejected { order_id, .. }
            | Report::Canceled { order_id, .. } => self.strategy.instrument_of(*order_id),
        };
        if let Some(inst) = instrument {
            self.strategy.on_report(inst, report, now_ns);
        }
        let position = instrument.map_or(0, |i| self.portfolio.position(i).0);
        self.observer
            .on_report_applied(report, position, round_trip, now_ns);
    }

    /// Risk-checks the intents the strategy produced and pushes them into the ring.
    fn flush_intents(&mut self, ts_ns: u64, receipt_raw: u64) {
        for i in 0..self.pending.len() {
            let intent = self.pending[i];
            let book = match intent {
                Intent::Place(o) => &self.books[o.instrument.index()].book,
                Intent::Cancel { instrument, .. } | Intent::CancelAll { instrument, .. } => {
                    &self.books[instrument.index()].book
                }
            };
            if self.risk.check(&intent, book, ts_ns).is_err() {
                self.counters.intents_risk_rejected += 1;
                self.refuse(&intent, ts_ns);
                continue;
            }
            match self.intents.push(intent) {
                Ok(()) => {
                    self.observer.on_intent_sent(&intent, ts_ns);
                    self.counters.intents += 1;
                    let now = self.clock.raw();
                    self.intent_latency
                        .record(self.clock.delta_as_nanos(receipt_raw, now));
                }
                Err(rtrb::PushError::Full(_)) => {
                    self.counters.intent_ring_full += 1;
                    self.risk.on_send_failed(&intent);
                    self.refuse(&intent, ts_ns);
                }
            }
        }
        self.pending.clear();
    }

    /// Tells the strategy that a placement never left (so it does not wait for it).
    fn refuse(&mut self, intent: &Intent, ts_ns: u64) {
        if let Intent::Place(order) = intent {
            let report = Report::Rejected {
                order_id: order.order_id,
                reason: RejectReason::Venue,
                ts_ns,
            };
            self.strategy.on_report(order.instrument, &report, ts_ns);
        }
    }

    /// Signed position of `id`, lots (from fills).
    pub fn position_lots(&self, id: InstrumentId) -> i64 {
        self.portfolio.position(id).0
    }

    /// Money figures for shm, millionths of the quote currency, summed over instruments
    /// (assumed to share one quote currency).
    pub fn money_micros(&self) -> MoneyMicros {
        let mut m = MoneyMicros::default();
        for (id, spec) in self.instruments.iter() {
            let s = self.portfolio.trade_stats(id, spec);
            let micros = |x: f64| (x * 1e6) as i64;
            m.realized += micros(s.realized_pnl - s.fees);
            m.unrealized += micros(s.unrealized_pnl);
            m.equity += micros(s.equity);
            m.drawdown += micros((s.peak_equity - s.equity).max(0.0));
            m.max_drawdown += micros(s.max_drawdown);
        }
        m
    }

    #[inline]
    fn record_frame_latency(&mut self, receipt_raw: u64) {
        let now = self.clock.raw();
        self.frame_latency
            .record(self.clock.delta_as_nanos(receipt_raw, now));
    }
}
