//! Circuit breakers feeding the safety latch, shaped for the core thread: `on_*` calls
//! record what happened (O(1) amortized), [`Breakers::evaluate`] compares with the limits
//! (O(instruments)) and moves the latch forward. Nothing allocates after [`Breakers::new`].

use super::config::BreakerConfig;
use super::reason::ReasonCode;
use super::state::{ResetRefused, SafetyLatch, SafetyState};
use super::window::{EventWindow, PriceWindow};
use crate::instrument::InstrumentId;
use crate::journal::{Anchors, RecordBody};
use crate::units::Notional;

const NS_PER_DAY: u64 = 86_400 * 1_000_000_000;
const NS_PER_MS: u64 = 1_000_000;

/// The state each breaker (and kill input) moves the latch to.
///
/// | reason | state |
/// |---|---|
/// | `max_open_positions`, `rate_limit_headroom` | `Reducing` (no new entries, exits allowed) |
/// | every other breaker and every kill input | `Halted` |
pub const fn action(reason: ReasonCode) -> SafetyState {
    match reason {
        ReasonCode::None => SafetyState::Running,
        ReasonCode::MaxOpenPositions | ReasonCode::RateLimitHeadroom => SafetyState::Reducing,
        _ => SafetyState::Halted,
    }
}

/// A forward move of the latch, with the measurement that caused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trip {
    /// Why.
    pub reason: ReasonCode,
    /// The state reached.
    pub state: SafetyState,
    /// What was measured (unit per breaker: micros of quote for money, bps for price
    /// moves, percent for rates, ms for staleness, a count otherwise; 0 for kill inputs).
    pub value: i64,
    /// The configured limit it reached (same unit).
    pub limit: i64,
    /// When, ns.
    pub ts_ns: u64,
}

impl Trip {
    /// The journal record of this trip (push it with `push_durable`).
    pub fn record(&self) -> RecordBody {
        RecordBody::Trip {
            reason: self.reason,
            state: self.state,
            value: self.value,
            limit: self.limit,
        }
    }
}

/// One instrument's feed health.
#[derive(Clone, Copy, Debug, Default)]
struct BookHealth {
    /// Seen valid at least once (staleness counts only after that).
    armed: bool,
    /// Last time it was seen valid, ns.
    last_valid_ns: u64,
}

/// A condition found by an `on_*` call, waiting for `evaluate`.
#[derive(Clone, Copy, Debug)]
struct Pending {
    reason: ReasonCode,
    value: i64,
    limit: i64,
}

/// Every breaker and the latch they drive.
///
/// Call from the core thread:
/// - [`on_equity`](Self::on_equity) with account equity (capital + PnL) whenever it changes
///   (after fills and marks), [`on_fill`](Self::on_fill) with the position after each fill,
///   [`on_round_trip`](Self::on_round_trip) when a round trip closes,
///   [`on_mid`](Self::on_mid) after each book update, [`on_book`](Self::on_book) after each
///   frame (valid or not), [`on_reconnect`](Self::on_reconnect),
///   [`on_order_sent`](Self::on_order_sent), [`on_reject`](Self::on_reject),
///   [`on_intent_ring_full`](Self::on_intent_ring_full),
///   [`on_rate_limit`](Self::on_rate_limit),
///   [`on_journal_unavailable`](Self::on_journal_unavailable);
/// - [`evaluate`](Self::evaluate) once per loop iteration: it returns a [`Trip`] when the
///   latch moved (journal it durably, publish the reason, apply the new risk mode);
/// - [`on_kill`](Self::on_kill) for a kill input (kill file, `OBI_KILL`, control word,
///   signal): halts at once.
#[derive(Debug)]
pub struct Breakers {
    cfg: BreakerConfig,
    latch: SafetyLatch,
    // Money, micros of quote.
    equity_micros: i64,
    peak_micros: i64,
    utc_day: u32,
    day_start_micros: i64,
    have_equity: bool,
    consecutive_losses: u32,
    // Per instrument.
    positions_lots: Box<[i64]>,
    open_positions: u32,
    prices: Box<[PriceWindow]>,
    books: Box<[BookHealth]>,
    // Event windows.
    reconnects: EventWindow,
    ring_full: EventWindow,
    sent: EventWindow,
    rejects: EventWindow,
    /// Conditions found since the last `evaluate`, worst kept per state.
    pending_halt: Option<Pending>,
    pending_reduce: Option<Pending>,
}

impl Breakers {
    /// Breakers for `n_instruments` with thresholds `cfg` (validated), starting `Running`
    /// with equity at `cfg.capital_quote`.
    pub fn new(cfg: &BreakerConfig, n_instruments: usize) -> Breakers {
        Breakers {
            cfg: *cfg,
            latch: SafetyLatch::new(),
            equity_micros: cfg.capital_micros(),
            peak_micros: cfg.capital_micros(),
            utc_day: 0,
            day_start_micros: cfg.capital_micros(),
            have_equity: false,
            consecutive_losses: 0,
            positions_lots: vec![0; n_instruments].into_boxed_slice(),
            open_positions: 0,
            prices: (0..n_instruments)
                .map(|_| PriceWindow::new(cfg.price_move_window_s))
                .collect(),
            books: vec![BookHealth::default(); n_instruments].into_boxed_slice(),
            reconnects: EventWindow::new(cfg.reconnect_window_s),
            ring_full: EventWindow::new(cfg.ring_full_window_s),
            sent: EventWindow::new(cfg.reject_window_s),
            rejects: EventWindow::new(cfg.reject_window_s),
            pending_halt: None,
            pending_reduce: None,
        }
    }

    /// Continues from recovered state: the latch as it was and the journaled anchors.
    pub fn restore(&mut self, latch: SafetyLatch, anchors: Option<&Anchors>) {
        self.latch = latch;
        if let Some(a) = anchors {
            self.equity_micros = a.equity_micros;
            self.peak_micros = a.equity_peak_micros;
            self.utc_day = a.utc_day;
            self.day_start_micros = a.day_start_equity_micros;
            self.consecutive_losses = a.consecutive_losses;
            self.have_equity = true;
        }
    }

    /// The current anchors, to journal periodically (e.g. once a second).
    pub fn anchors(&self) -> Anchors {
        Anchors {
            equity_micros: self.equity_micros,
            equity_peak_micros: self.peak_micros,
            utc_day: self.utc_day,
            day_start_equity_micros: self.day_start_micros,
            consecutive_losses: self.consecutive_losses,
        }
    }

    /// The latch.
    #[inline]
    pub fn latch(&self) -> &SafetyLatch {
        &self.latch
    }

    /// The current state.
    #[inline]
    pub fn state(&self) -> SafetyState {
        self.latch.state()
    }

    /// Losing round trips in a row.
    pub fn consecutive_losses(&self) -> u32 {
        self.consecutive_losses
    }

    /// Instruments holding a position.
    pub fn open_positions(&self) -> u32 {
        self.open_positions
    }

    fn flag(&mut self, reason: ReasonCode, value: i64, limit: i64) {
        let p = Pending {
            reason,
            value,
            limit,
        };
        let slot = match action(reason) {
            SafetyState::Halted => &mut self.pending_halt,
            SafetyState::Reducing => &mut self.pending_reduce,
            SafetyState::Running => return,
        };
        if slot.is_none() {
            *slot = Some(p);
        }
    }

    /// Account equity (capital + realized − fees + unrealized), micros of quote, at
    /// `ts_ns` (Unix ns). The first equity of each UTC day anchors the daily loss.
    #[inline]
    pub fn on_equity(&mut self, equity_micros: i64, ts_ns: u64) {
        let day = (ts_ns / NS_PER_DAY) as u32;
        if !self.have_equity || day > self.utc_day {
            if !self.have_equity {
                // The first real equity replaces the configured capital as the peak.
                self.peak_micros = equity_micros;
            }
            self.have_equity = true;
            self.utc_day = day;
            self.day_start_micros = equity_micros;
        }
        self.equity_micros = equity_micros;
        self.peak_micros = self.peak_micros.max(equity_micros);
        let day_limit = bps_of(self.day_start_micros, self.cfg.daily_loss_bps);
        let day_loss = self.day_start_micros.saturating_sub(equity_micros);
        if day_limit > 0 && day_loss >= day_limit {
            self.flag(ReasonCode::DailyLoss, day_loss, day_limit);
        }
        let dd_limit = bps_of(self.peak_micros, self.cfg.drawdown_bps);
        let drawdown = self.peak_micros.saturating_sub(equity_micros);
        if dd_limit > 0 && drawdown >= dd_limit {
            self.flag(ReasonCode::Drawdown, drawdown, dd_limit);
        }
    }

    /// The position of `instrument` after a fill, lots.
    #[inline]
    pub fn on_fill(&mut self, instrument: InstrumentId, position_lots: i64) {
        let Some(slot) = self.positions_lots.get_mut(instrument.index()) else {
            return;
        };
        match (*slot != 0, position_lots != 0) {
            (false, true) => self.open_positions += 1,
            (true, false) => self.open_positions = self.open_positions.saturating_sub(1),
            _ => {}
        }
        *slot = position_lots;
        if self.open_positions > self.cfg.max_open_positions {
            let (n, max) = (self.open_positions, self.cfg.max_open_positions);
            self.flag(ReasonCode::MaxOpenPositions, n.into(), max.into());
        }
    }

    /// A finished round trip's PnL net of fees (any unit: only the sign counts). A loss
    /// extends the losing streak; a win or a scratch ends it.
    #[inline]
    pub fn on_round_trip(&mut self, net_pnl: Notional) {
        if net_pnl < 0 {
            self.consecutive_losses = self.consecutive_losses.saturating_add(1);
            if self.consecutive_losses >= self.cfg.max_consecutive_losses {
                let (n, max) = (self.consecutive_losses, self.cfg.max_consecutive_losses);
                self.flag(ReasonCode::ConsecutiveLosses, n.into(), max.into());
            }
        } else {
            self.consecutive_losses = 0;
        }
    }

    /// A new mid of `instrument` (any fixed scale, e.g. `bid + ask` ticks) at `ts_ns`.
    #[inline]
    pub fn on_mid(&mut self, instrument: InstrumentId, mid: i64, ts_ns: u64) {
        let Some(w) = self.prices.get_mut(instrument.index()) else {
            return;
        };
        if mid <= 0 {
            return;
        }
        let (low, high) = w.update(mid, ts_ns);
        let up_bps = move_bps(mid - low, low);
        let down_bps = move_bps(high - mid, high);
        let moved = up_bps.max(down_bps);
        let limit = i64::from(self.cfg.price_move_bps);
        if moved >= limit {
            self.flag(ReasonCode::PriceMove, moved, limit);
        }
    }

    /// The book of `instrument` after a frame: valid (synced) or not, at `ts_ns`.
    #[inline]
    pub fn on_book(&mut self, instrument: InstrumentId, valid: bool, ts_ns: u64) {
        if let Some(b) = self.books.get_mut(instrument.index())
            && valid
        {
            b.armed = true;
            b.last_valid_ns = b.last_valid_ns.max(ts_ns);
        }
    }

    /// The feed reconnected (or lost its connection) at `ts_ns`.
    #[inline]
    pub fn on_reconnect(&mut self, ts_ns: u64) {
        self.reconnects.add(ts_ns);
        let n = self.reconnects.count(ts_ns);
        let max = u64::from(self.cfg.max_reconnects);
        if n >= max {
            self.flag(ReasonCode::ReconnectStorm, n as i64, max as i64);
        }
    }

    /// The intent ring refused an intent at `ts_ns`.
    #[inline]
    pub fn on_intent_ring_full(&mut self, ts_ns: u64) {
        self.ring_full.add(ts_ns);
        let n = self.ring_full.count(ts_ns);
        let max = u64::from(self.cfg.max_intent_ring_full);
        if n >= max {
            self.flag(ReasonCode::IntentRingFull, n as i64, max as i64);
        }
    }

    /// A placement left for the venue at `ts_ns`.
    #[inline]
    pub fn on_order_sent(&mut self, ts_ns: u64) {
        self.sent.add(ts_ns);
        self.check_reject_rate(ts_ns);
    }

    /// The venue rejected an order at `ts_ns`.
    #[inline]
    pub fn on_reject(&mut self, ts_ns: u64) {
        self.rejects.add(ts_ns);
        self.check_reject_rate(ts_ns);
    }

    fn check_reject_rate(&mut self, ts_ns: u64) {
        let sent = self.sent.count(ts_ns);
        if sent < u64::from(self.cfg.reject_min_orders) {
            return;
        }
        let rejects = self.rejects.count(ts_ns);
        let pct = (rejects.saturating_mul(100) / sent) as i64;
        let max = i64::from(self.cfg.max_reject_pct);
        if pct >= max {
            self.flag(ReasonCode::RejectRate, pct, max);
        }
    }

    /// The venue's rate-limit usage: `used` of `limit` (weight or order count).
    #[inline]
    pub fn on_rate_limit(&mut self, used: u64, limit: u64) {
        if limit == 0 {
            return;
        }
        let headroom_pct = (limit.saturating_sub(used).saturating_mul(100) / limit) as i64;
        let min = i64::from(self.cfg.min_rate_limit_headroom_pct);
        if headroom_pct < min {
            self.flag(ReasonCode::RateLimitHeadroom, headroom_pct, min);
        }
    }

    /// The journal refused a record (ring full) or its writer failed.
    #[inline]
    pub fn on_journal_unavailable(&mut self) {
        self.flag(ReasonCode::JournalUnavailable, 1, 0);
    }

    /// A kill input: halts at once. Returns the trip if the latch moved.
    pub fn on_kill(&mut self, reason: ReasonCode, ts_ns: u64) -> Option<Trip> {
        let state = match action(reason) {
            SafetyState::Running => SafetyState::Halted,
            s => s,
        };
        self.latch.trip(reason, state, ts_ns).map(|t| Trip {
            reason: t.reason,
            state: t.to,
            value: 0,
            limit: 0,
            ts_ns,
        })
    }

    /// Compares everything with its limit at `now_ns`; moves the latch forward and returns
    /// the trip when it moved (at most one per call: a halt beats a reduce). O(instruments).
    pub fn evaluate(&mut self, now_ns: u64) -> Option<Trip> {
        if self.pending_halt.is_none() {
            let limit_ns = self.cfg.book_stale_ms.saturating_mul(NS_PER_MS);
            let stale = self
                .books
                .iter()
                .filter(|b| b.armed)
                .map(|b| now_ns.saturating_sub(b.last_valid_ns))
                .max()
                .filter(|&age| age > limit_ns);
            if let Some(age) = stale {
                let (age_ms, max_ms) = (age / NS_PER_MS, self.cfg.book_stale_ms);
                self.flag(ReasonCode::BookStale, age_ms as i64, max_ms as i64);
            }
        }
        let pending = match (self.pending_halt.take(), self.pending_reduce) {
            (Some(h), _) => h,
            (None, Some(r)) => {
                self.pending_reduce = None;
                r
            }
            (None, None) => return None,
        };
        let state = action(pending.reason);
        self.latch
            .trip(pending.reason, state, now_ns)
            .map(|t| Trip {
                reason: t.reason,
                state: t.to,
                value: pending.value,
                limit: pending.limit,
                ts_ns: now_ns,
            })
    }

    /// Operator reset to `Running` (see [`SafetyLatch::reset`]): refused while a kill input
    /// is present. On success the event windows, the losing streak and the price windows
    /// start afresh and the equity peak is rebased to the current equity (the operator
    /// accepted the drawdown so far); the daily-loss anchor is kept, so a breached daily
    /// loss trips again until the next UTC day. Journal the reset (operator record) first.
    pub fn reset(
        &mut self,
        reason: &str,
        kill_input_present: bool,
        now_ns: u64,
    ) -> Result<SafetyState, ResetRefused> {
        let from = self.latch.reset(reason, kill_input_present, now_ns)?;
        self.pending_halt = None;
        self.pending_reduce = None;
        self.consecutive_losses = 0;
        self.peak_micros = self.equity_micros;
        self.reconnects.clear();
        self.ring_full.clear();
        self.sent.clear();
        self.rejects.clear();
        for p in self.prices.iter_mut() {
            p.clear();
        }
        for b in self.books.iter_mut() {
            b.last_valid_ns = b.last_valid_ns.max(now_ns);
        }
        Ok(from)
    }
}

/// `base * bps / 10000`, 0 for a non-positive base (no percentage of nothing).
#[inline]
fn bps_of(base_micros: i64, bps: u32) -> i64 {
    if base_micros <= 0 {
        return 0;
    }
    (i128::from(base_micros) * i128::from(bps) / 10_000) as i64
}

/// `delta / base` in basis points, 0 for a non-positive base.
#[inline]
fn move_bps(delta: i64, base: i64) -> i64 {
    if base <= 0 || delta <= 0 {
        return 0;
    }
    (i128::from(delta) * 10_000 / i128::from(base)) as i64
}
