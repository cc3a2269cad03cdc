//! Per-instrument trade state machine: Flat → Entering → Open → Exiting → Cooldown.
//!
//! The position comes from fills only, so partial fills need no special case: whatever is
//! held when an entry is done (filled, cancelled after `entry_timeout_ms`) is what the exits
//! manage. Reports move the machine between phases ([`InstState::settle`]); the market
//! clock moves it through time (timeouts, stops) in [`InstState::step`], which runs on every
//! signal update and timer tick. Only `step` and entries emit intents; a transition caused
//! by a report (entry filled → take-profit wanted) acts on the next `on_signals`/`on_timer`.
//!
//! Exits:
//! - take-profit: a resting GTC limit of the whole position at `entry ± take_profit_ticks`,
//!   placed once the entry is done (the entry price is the fills' VWAP, rounded against us);
//! - stop-loss (our touch at or beyond `entry ∓ stop_loss_ticks`) and time stop (`time_stop_ms`
//!   after the first entry fill): cancel the take-profit first, and once it is confirmed gone
//!   send an IOC for the remaining position at our touch `∓ exit_slippage_ticks`; an IOC that
//!   leaves a remainder is followed by another on the next step. Resting and aggressive exit
//!   orders never overlap, so the exits can never sell more than is held.

use crate::book::L2Book;
use crate::instrument::InstrumentId;
use crate::order::{Fill, Intent, NewOrder, OrderId, RejectReason, Report, TimeInForce};
use crate::signal::Signals;
use crate::strategy::config::{EntryMode, StrategyConfig};
use crate::strategy::ids::OrderIdGen;
use crate::strategy::score::direction;
use crate::units::{Lots, Side, Ticks};

/// Where one instrument's trade stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// No position, no orders; watching for an entry signal.
    Flat,
    /// An entry order is working (the position may already be partly filled).
    Entering,
    /// Holding a position; the take-profit rests (or is about to be placed).
    Open,
    /// Closing aggressively: cancelling the take-profit, then IOCs until flat.
    Exiting,
    /// Flat after a trade; no entry until `cooldown_ms` has passed.
    Cooldown,
}

/// Why the last (or current) exit happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitReason {
    /// The take-profit order filled.
    TakeProfit,
    /// The touch reached the stop-loss distance.
    StopLoss,
    /// The position was held `time_stop_ms`.
    TimeStop,
    /// The position did not match the entry (overfill, unexpected fill) and is flattened.
    Flatten,
}

/// Which order slot an order occupies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Entry,
    TakeProfit,
    Exit,
}

/// An order of ours that may still be live.
#[derive(Clone, Copy, Debug)]
struct Working {
    id: OrderId,
    leaves_lots: i64,
    placed_ts_ns: u64,
    accepted: bool,
    cancel_sent: bool,
}

/// Ids remembered per instrument so late fills (after a slot closed) still count.
const RECENT_ORDERS: usize = 8;

const NS_PER_MS: u64 = 1_000_000;

#[inline]
fn ms_to_ns(ms: u64) -> u64 {
    ms.saturating_mul(NS_PER_MS)
}

/// Trade state of one instrument.
#[derive(Clone, Debug)]
pub(crate) struct InstState {
    inst: InstrumentId,
    phase: Phase,
    enabled: bool,
    /// Signed position from fills, lots.
    position_lots: i64,
    /// Side of the current trade's entry (`Bid` = long).
    trade_side: Side,
    /// Σ price·qty of entry fills, ticks·lots.
    entry_cost: i128,
    /// Σ qty of entry fills, lots.
    entry_filled_lots: i64,
    first_fill_ts_ns: Option<u64>,
    /// A position was held since the last entry; going flat then means cooldown.
    in_trade: bool,
    entry: Option<Working>,
    take_profit: Option<Working>,
    exit: Option<Working>,
    exit_wanted: bool,
    exit_reason: Option<ExitReason>,
    cooldown_until_ns: u64,
    retry_after_ns: u64,
    candidate_dir: i8,
    candidate_since_ns: u64,
    recent: [Option<(OrderId, Side, Role)>; RECENT_ORDERS],
    recent_next: usize,
}

impl InstState {
    pub(crate) fn new(inst: InstrumentId) -> InstState {
        InstState {
            inst,
            phase: Phase::Flat,
            enabled: true,
            position_lots: 0,
            trade_side: Side::Bid,
            entry_cost: 0,
            entry_filled_lots: 0,
            first_fill_ts_ns: None,
            in_trade: false,
            entry: None,
            take_profit: None,
            exit: None,
            exit_wanted: false,
            exit_reason: None,
            cooldown_until_ns: 0,
            retry_after_ns: 0,
            candidate_dir: 0,
            candidate_since_ns: 0,
            recent: [None; RECENT_ORDERS],
            recent_next: 0,
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    pub(crate) fn position_lots(&self) -> i64 {
        self.position_lots
    }

    pub(crate) fn exit_reason(&self) -> Option<ExitReason> {
        self.exit_reason
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// True when `id` is one of this instrument's recent orders.
    pub(crate) fn knows(&self, id: OrderId) -> bool {
        self.recent_lookup(id).is_some()
    }

    pub(crate) fn set_enabled(&mut self, enabled: bool) {
        if enabled != self.enabled {
            self.reset_candidate();
        }
        self.enabled = enabled;
    }

    /// New parameters took effect: a direction being confirmed restarts its confirmation
    /// under them (no entry is decided partly under the old thresholds).
    pub(crate) fn on_config_changed(&mut self) {
        self.reset_candidate();
    }

    /// Signal update: time-driven transitions, then the entry decision when flat.
    pub(crate) fn on_signals(
        &mut self,
        cfg: &StrategyConfig,
        book: &L2Book,
        sig: &Signals,
        ts_ns: u64,
        ids: &mut OrderIdGen,
        out: &mut impl FnMut(Intent),
    ) {
        self.step(cfg, book, ts_ns, ids, out);
        self.try_enter(cfg, book, sig, ts_ns, ids, out);
    }

    /// Timer tick: time-driven transitions only.
    pub(crate) fn on_timer(
        &mut self,
        cfg: &StrategyConfig,
        book: &L2Book,
        ts_ns: u64,
        ids: &mut OrderIdGen,
        out: &mut impl FnMut(Intent),
    ) {
        self.step(cfg, book, ts_ns, ids, out);
    }

    pub(crate) fn on_report(&mut self, cfg: &StrategyConfig, report: &Report, ts_ns: u64) {
        match *report {
            Report::Accepted { order_id, .. } => {
                if let Some(w) = self.working_mut(order_id) {
                    w.accepted = true;
                }
                return;
            }
            Report::Filled(fill) => self.on_fill(&fill, ts_ns),
            Report::Rejected {
                order_id, reason, ..
            } => {
                let Some(role) = self.role_of_working(order_id) else {
                    return;
                };
                let slot = self.slot_mut(role);
                let Some(w) = slot.as_mut() else { return };
                if w.accepted && w.cancel_sent && reason != RejectReason::UnknownOrder {
                    // Our cancel was refused and the order still rests: ask again next step.
                    w.cancel_sent = false;
                    return;
                }
                let placement_refused = !w.accepted;
                *slot = None;
                if placement_refused {
                    self.retry_after_ns = ts_ns.saturating_add(ms_to_ns(cfg.reject_backoff_ms));
                }
            }
            Report::Canceled { order_id, .. } => {
                let Some(role) = self.role_of_working(order_id) else {
                    return;
                };
                *self.slot_mut(role) = None;
            }
        }
        self.settle(cfg, ts_ns);
    }

    /// Takes the position as the portfolio knows it (fills of orders this strategy did
    /// not place: a restored position, a flatten after a halt). A position the strategy did
    /// not enter is exited by its exit logic once trading is enabled.
    pub(crate) fn sync_position(&mut self, cfg: &StrategyConfig, position_lots: i64, ts_ns: u64) {
        if position_lots == self.position_lots {
            return;
        }
        self.position_lots = position_lots;
        self.settle(cfg, ts_ns);
    }

    fn on_fill(&mut self, fill: &Fill, ts_ns: u64) {
        let Some((side, role)) = self.recent_lookup(fill.order_id) else {
            return;
        };
        let qty = fill.qty.0.max(0);
        self.position_lots = self
            .position_lots
            .saturating_add(side.sign().saturating_mul(qty));
        if qty > 0 {
            match role {
                Role::Entry => {
                    self.entry_cost = self
                        .entry_cost
                        .saturating_add(i128::from(fill.price.0) * i128::from(qty));
                    self.entry_filled_lots = self.entry_filled_lots.saturating_add(qty);
                    self.first_fill_ts_ns.get_or_insert(ts_ns);
                }
                Role::TakeProfit => {
                    self.exit_reason.get_or_insert(ExitReason::TakeProfit);
                }
                Role::Exit => {}
            }
        }
        if let Some(r) = self.role_of_working(fill.order_id) {
            let slot = self.slot_mut(r);
            if let Some(w) = slot.as_mut() {
                w.accepted = true;
                w.leaves_lots = fill.leaves_qty.0;
                if w.leaves_lots <= 0 {
                    *slot = None;
                }
            }
        }
    }

    /// Derives the phase from the working orders and the position after a report.
    fn settle(&mut self, cfg: &StrategyConfig, ts_ns: u64) {
        if self.entry.is_some() {
            self.phase = Phase::Entering;
            return;
        }
        if self.position_lots == 0 {
            if self.take_profit.is_some() || self.exit.is_some() {
                // Flat but exit orders still work: cancel them, then finish the trade.
                self.exit_wanted = true;
                self.phase = Phase::Exiting;
            } else if self.in_trade {
                self.finish_trade(cfg, ts_ns);
            } else if self.phase != Phase::Cooldown {
                self.phase = Phase::Flat;
            }
            return;
        }
        self.in_trade = true;
        let long = self.position_lots > 0;
        if self.entry_filled_lots == 0 || long != (self.trade_side == Side::Bid) {
            self.exit_wanted = true;
            self.exit_reason.get_or_insert(ExitReason::Flatten);
        }
        self.phase = if self.exit_wanted {
            Phase::Exiting
        } else {
            Phase::Open
        };
    }

    fn finish_trade(&mut self, cfg: &StrategyConfig, ts_ns: u64) {
        self.phase = Phase::Cooldown;
        self.cooldown_until_ns = ts_ns.saturating_add(ms_to_ns(cfg.cooldown_ms));
        self.in_trade = false;
        self.exit_wanted = false;
        self.entry_cost = 0;
        self.entry_filled_lots = 0;
        self.first_fill_ts_ns = None;
        self.reset_candidate();
    }

    /// Time-driven work shared by signal updates and timer ticks.
    fn step(
        &mut self,
        cfg: &StrategyConfig,
        book: &L2Book,
        ts_ns: u64,
        ids: &mut OrderIdGen,
        out: &mut impl FnMut(Intent),
    ) {
        if !self.enabled {
            self.cancel_working(ts_ns, out);
            return;
        }
        match self.phase {
            Phase::Flat | Phase::Exiting => {}
            Phase::Cooldown => {
                if ts_ns >= self.cooldown_until_ns {
                    self.phase = Phase::Flat;
                    self.reset_candidate();
                }
            }
            Phase::Entering => {
                let inst = self.inst;
                if let Some(w) = self.entry.as_mut() {
                    let age_ns = ts_ns.saturating_sub(w.placed_ts_ns);
                    if !w.cancel_sent && age_ns >= ms_to_ns(cfg.entry_timeout_ms) {
                        w.cancel_sent = true;
                        out(cancel_intent(inst, w.id, ts_ns));
                    }
                }
            }
            Phase::Open => match self.exit_trigger(cfg, book, ts_ns) {
                Some(reason) => {
                    self.exit_wanted = true;
                    self.exit_reason = Some(reason);
                    self.phase = Phase::Exiting;
                }
                None => self.ensure_take_profit(cfg, ts_ns, ids, out),
            },
        }
        if self.phase == Phase::Exiting {
            self.drive_exit(cfg, book, ts_ns, ids, out);
        }
    }

    /// Entry price reference: VWAP of entry fills, rounded against us (up when long).
    fn entry_ref_ticks(&self) -> Option<i64> {
        if self.entry_filled_lots <= 0 {
            return None;
        }
        let q = i128::from(self.entry_filled_lots);
        let floor = self.entry_cost.div_euclid(q);
        let exact = self.entry_cost.rem_euclid(q) == 0;
        let r = if self.trade_side == Side::Bid && !exact {
            floor + 1
        } else {
            floor
        };
        i64::try_from(r).ok()
    }

    fn exit_trigger(&self, cfg: &StrategyConfig, book: &L2Book, ts_ns: u64) -> Option<ExitReason> {
        let entry_ticks = self.entry_ref_ticks()?;
        if cfg.stop_loss_ticks > 0 {
            let sl = cfg.stop_loss_ticks;
            let hit = if self.position_lots > 0 {
                book.best_bid()
                    .is_some_and(|b| b.price.0 <= entry_ticks.saturating_sub(sl))
            } else {
                book.best_ask()
                    .is_some_and(|a| a.price.0 >= entry_ticks.saturating_add(sl))
            };
            if hit {
                return Some(ExitReason::StopLoss);
            }
        }
        if let Some(t0) = self.first_fill_ts_ns
            && cfg.time_stop_ms > 0
            && ts_ns.saturating_sub(t0) >= ms_to_ns(cfg.time_stop_ms)
        {
            return Some(ExitReason::TimeStop);
        }
        None
    }

    fn ensure_take_profit(
        &mut self,
        cfg: &StrategyConfig,
        ts_ns: u64,
        ids: &mut OrderIdGen,
        out: &mut impl FnMut(Intent),
    ) {
        if cfg.take_profit_ticks == 0
            || self.take_profit.is_some()
            || self.exit.is_some()
            || ts_ns < self.retry_after_ns
        {
            return;
        }
        let Some(entry_ticks) = self.entry_ref_ticks() else {
            return;
        };
        let (side, price_ticks) = if self.position_lots > 0 {
            (Side::Ask, entry_ticks.saturating_add(cfg.take_profit_ticks))
        } else {
            (Side::Bid, entry_ticks.saturating_sub(cfg.take_profit_ticks))
        };
        let qty = self.position_lots.saturating_abs();
        self.place(
            Role::TakeProfit,
            side,
            price_ticks,
            qty,
            TimeInForce::Gtc,
            ts_ns,
            ids,
            out,
        );
    }

    fn drive_exit(
        &mut self,
        cfg: &StrategyConfig,
        book: &L2Book,
        ts_ns: u64,
        ids: &mut OrderIdGen,
        out: &mut impl FnMut(Intent),
    ) {
        // Resting orders go first: the aggressive exit never overlaps them.
        let mut resting = false;
        for role in [Role::TakeProfit, Role::Entry] {
            let inst = self.inst;
            if let Some(w) = self.slot_mut(role).as_mut() {
                resting = true;
                if !w.cancel_sent {
                    w.cancel_sent = true;
                    out(cancel_intent(inst, w.id, ts_ns));
                }
            }
        }
        if resting || self.exit.is_some() || self.position_lots == 0 || ts_ns < self.retry_after_ns
        {
            return;
        }
        let slip = cfg.exit_slippage_ticks;
        let (side, touch) = if self.position_lots > 0 {
            (
                Side::Ask,
                book.best_bid().map(|b| b.price.0.saturating_sub(slip)),
            )
        } else {
            (
                Side::Bid,
                book.best_ask().map(|a| a.price.0.saturating_add(slip)),
            )
        };
        // No touch to price against: wait for the next step.
        let Some(price_ticks) = touch else { return };
        let qty = self.position_lots.saturating_abs();
        self.place(
            Role::Exit,
            side,
            price_ticks,
            qty,
            TimeInForce::Ioc,
            ts_ns,
            ids,
            out,
        );
    }

    fn try_enter(
        &mut self,
        cfg: &StrategyConfig,
        book: &L2Book,
        sig: &Signals,
        ts_ns: u64,
        ids: &mut OrderIdGen,
        out: &mut impl FnMut(Intent),
    ) {
        if !self.enabled || self.phase != Phase::Flat {
            return;
        }
        let dir = direction(cfg, sig);
        if dir != self.candidate_dir {
            self.candidate_dir = dir;
            self.candidate_since_ns = ts_ns;
        }
        if dir == 0
            || ts_ns.saturating_sub(self.candidate_since_ns) < ms_to_ns(cfg.confirm_ms)
            || ts_ns < self.retry_after_ns
        {
            return;
        }
        let (Some(bid), Some(ask)) = (book.best_bid(), book.best_ask()) else {
            return;
        };
        let (bid_ticks, ask_ticks) = (bid.price.0, ask.price.0);
        let spread_ticks = ask_ticks.saturating_sub(bid_ticks);
        if spread_ticks < 1 || spread_ticks > cfg.max_spread_ticks {
            return;
        }
        let long = dir > 0;
        let passive_tif = if cfg.post_only {
            TimeInForce::PostOnly
        } else {
            TimeInForce::Gtc
        };
        let (price_ticks, tif) = match (cfg.entry_mode, long) {
            (EntryMode::Join, true) => (bid_ticks, passive_tif),
            (EntryMode::Join, false) => (ask_ticks, passive_tif),
            (EntryMode::Improve, true) => (
                bid_ticks
                    .saturating_add(cfg.improve_ticks)
                    .min(ask_ticks.saturating_sub(1)),
                passive_tif,
            ),
            (EntryMode::Improve, false) => (
                ask_ticks
                    .saturating_sub(cfg.improve_ticks)
                    .max(bid_ticks.saturating_add(1)),
                passive_tif,
            ),
            (EntryMode::Cross, true) => (
                ask_ticks.saturating_add(cfg.cross_slippage_ticks),
                TimeInForce::Ioc,
            ),
            (EntryMode::Cross, false) => (
                bid_ticks.saturating_sub(cfg.cross_slippage_ticks),
                TimeInForce::Ioc,
            ),
        };
        let side = if long { Side::Bid } else { Side::Ask };
        self.trade_side = side;
        self.entry_cost = 0;
        self.entry_filled_lots = 0;
        self.first_fill_ts_ns = None;
        self.exit_wanted = false;
        self.exit_reason = None;
        self.reset_candidate();
        self.place(
            Role::Entry,
            side,
            price_ticks,
            cfg.order_qty_lots,
            tif,
            ts_ns,
            ids,
            out,
        );
        self.phase = Phase::Entering;
    }

    /// Disabled: cancel the resting orders (an exit IOC resolves by itself).
    fn cancel_working(&mut self, ts_ns: u64, out: &mut impl FnMut(Intent)) {
        let inst = self.inst;
        for role in [Role::Entry, Role::TakeProfit] {
            if let Some(w) = self.slot_mut(role).as_mut()
                && !w.cancel_sent
            {
                w.cancel_sent = true;
                out(cancel_intent(inst, w.id, ts_ns));
            }
        }
    }

    #[allow(clippy::too_many_arguments)] // the order's fields, spelled out at each call site
    fn place(
        &mut self,
        role: Role,
        side: Side,
        price_ticks: i64,
        qty_lots: i64,
        tif: TimeInForce,
        ts_ns: u64,
        ids: &mut OrderIdGen,
        out: &mut impl FnMut(Intent),
    ) {
        let order_id = ids.next_id();
        *self.slot_mut(role) = Some(Working {
            id: order_id,
            leaves_lots: qty_lots,
            placed_ts_ns: ts_ns,
            accepted: false,
            cancel_sent: false,
        });
        self.recent[self.recent_next] = Some((order_id, side, role));
        self.recent_next = (self.recent_next + 1) % RECENT_ORDERS;
        out(Intent::Place(NewOrder {
            order_id,
            instrument: self.inst,
            side,
            price: Ticks(price_ticks),
            qty: Lots(qty_lots),
            tif,
            cause_ts_ns: ts_ns,
            reduce_only: false,
        }));
    }

    fn reset_candidate(&mut self) {
        self.candidate_dir = 0;
        self.candidate_since_ns = 0;
    }

    fn slot_mut(&mut self, role: Role) -> &mut Option<Working> {
        match role {
            Role::Entry => &mut self.entry,
            Role::TakeProfit => &mut self.take_profit,
            Role::Exit => &mut self.exit,
        }
    }

    fn role_of_working(&self, id: OrderId) -> Option<Role> {
        [
            (Role::Entry, &self.entry),
            (Role::TakeProfit, &self.take_profit),
            (Role::Exit, &self.exit),
        ]
        .into_iter()
        .find(|(_, w)| w.is_some_and(|w| w.id == id))
        .map(|(r, _)| r)
    }

    fn working_mut(&mut self, id: OrderId) -> Option<&mut Working> {
        let role = self.role_of_working(id)?;
        self.slot_mut(role).as_mut()
    }

    fn recent_lookup(&self, id: OrderId) -> Option<(Side, Role)> {
        self.recent
            .iter()
            .flatten()
            .find(|(i, _, _)| *i == id)
            .map(|&(_, s, r)| (s, r))
    }
}

#[inline]
fn cancel_intent(instrument: InstrumentId, order_id: OrderId, ts_ns: u64) -> Intent {
    Intent::Cancel {
        instrument,
        order_id,
        cause_ts_ns: ts_ns,
    }
}
