//! The gateway thread's loop: one WS API session (two while moving after `serverShutdown`),
//! intents in, reports out, clock sync, rate-limit headroom, reconnect and reconciliation.
//!
//! Session set-up: `time` (clock offset) → `session.logon` → `userDataStream.subscribe`
//! (spot) or `userDataStream.start` plus the listenKey stream (USD-M, see [`usdm`]) →
//! ready. On ready after a (re)connect every order not known to be finished is queried with
//! `order.status`; missed executions become fills from the cumulative figures, so nothing is
//! lost and, because fills are deltas of cumulative quantity, nothing is counted twice.
//! An order is never re-sent: an unknown outcome (`-1007`, a lost connection) is resolved
//! by `order.status` only. Every cancel-all is confirmed by listing the instrument's open
//! orders until none remain (see [`confirm`]).

use super::client_id::ClientIds;
use super::config::{GatewayConfig, PollMode};
use super::orders::{Liveness, Orders};
use super::rate_limit::RateLimits;
use super::response::{self, ErrorBody, Frame, OrderState, PlaceAck, ServerTime, codes};
use super::rest::RestClient;
use super::stats::{GatewayStats, bump};
use super::user_data::{self, SpotEvent};
use super::ws_api::{Auth, Flavor, RequestWriter};
use crate::instrument::{InstrumentId, InstrumentSpec, Instruments};
use crate::net::ws::{self, WsConn, WsRead};
use crate::net::{Backoff, Endpoint};
use crate::order::{Intent, OrderId, RejectReason, Report};
use crate::venue::keys::Credentials;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Acquire, Ordering::Relaxed};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod answers;
mod confirm;
mod requests;
mod usdm;

pub(super) use usdm::UsdmLinks;

/// Longest sleep in block mode, so queued writes and timers always make progress.
const MAX_BLOCK: Duration = Duration::from_millis(20);
/// Delay before retrying a failed `order.status`.
const STATUS_RETRY: Duration = Duration::from_millis(1000);
/// Status queries per order before giving up until the next reconnect.
const MAX_STATUS_FAILURES: u8 = 5;
/// Cancel requests per core `Cancel` before waiting for the next one.
const MAX_CANCEL_ATTEMPTS: u8 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Time,
    Logon,
    Subscribe,
    Ready,
}

#[derive(Debug)]
struct Session {
    conn: WsConn,
    generation: u32,
    phase: Phase,
    up_at: Instant,
    registered: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Active,
    Standby,
    Draining,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReqKind {
    Time {
        sent_wall_ms: i64,
    },
    Logon,
    /// Spot `userDataStream.subscribe`; USD-M `userDataStream.start` (set-up or restart).
    Subscribe,
    /// USD-M `userDataStream.ping`.
    UserDataPing,
    Place(OrderId),
    Cancel(OrderId),
    CancelAll(InstrumentId),
    Status(OrderId),
    /// `openOrders.status` confirming a cancel-all.
    OpenOrders(InstrumentId),
}

#[derive(Clone, Copy, Debug)]
struct Pending {
    generation: u32,
    kind: ReqKind,
    sent_at: Instant,
}

/// Everything the gateway thread owns.
#[derive(Debug)]
pub(super) struct Worker {
    cfg: GatewayConfig,
    endpoint: Endpoint,
    creds: Credentials,
    auth: Auth,
    instruments: Instruments,
    writer: RequestWriter,
    intents: rtrb::Consumer<Intent>,
    reports: rtrb::Producer<Report>,
    overflow: VecDeque<Report>,
    out: Vec<Report>,
    core_waker: Option<Arc<mio::Waker>>,
    stats: Arc<GatewayStats>,
    stop: Arc<AtomicBool>,
    orders: Orders,
    pending: HashMap<u64, Pending>,
    next_request_id: u64,
    next_generation: u32,
    active: Option<Session>,
    standby: Option<Session>,
    draining: Option<Session>,
    drain_until: Instant,
    backoff: Backoff,
    next_connect_at: Instant,
    last_log: &'static str,
    deferred: VecDeque<Intent>,
    offset_ms: i64,
    next_clock_sync: Instant,
    clock_sync_due: bool,
    next_timeout_scan: Instant,
    rate: RateLimits,
    config_error: bool,
    poll: mio::Poll,
    events: mio::Events,
    buf: Vec<u8>,
    retries: Vec<(Instant, OrderId)>,
    epoch: Instant,
    stopping: Option<Instant>,
    usdm: Option<usdm::UsdmState>,
    /// Cancel-all confirmation per instrument (indexed by `InstrumentId`).
    confirms: Vec<confirm::Confirm>,
    /// Earliest due retry of any confirmation.
    confirm_next_at: Option<Instant>,
    /// A cancel-all was asked for at least once (the confirmed gauge is false before).
    confirm_started: bool,
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn ms_to_ns(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0).saturating_mul(1_000_000)
}

fn spec_of(instruments: &Instruments, id: InstrumentId) -> Option<&InstrumentSpec> {
    (id.index() < instruments.len()).then(|| instruments.get(id))
}

fn is_config_error(code: i64) -> bool {
    code == codes::BAD_SIGNATURE || code == codes::BAD_API_KEY
}

impl Worker {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        cfg: GatewayConfig,
        endpoint: Endpoint,
        creds: Credentials,
        instruments: Instruments,
        intents: rtrb::Consumer<Intent>,
        reports: rtrb::Producer<Report>,
        core_waker: Option<Arc<mio::Waker>>,
        stats: Arc<GatewayStats>,
        stop: Arc<AtomicBool>,
        poll: mio::Poll,
        usdm_links: Option<UsdmLinks>,
    ) -> Worker {
        let now = Instant::now();
        let seed = cfg.run_id ^ u64::from(std::process::id()).rotate_left(32);
        let flavor = if usdm_links.is_some() {
            Flavor::UsdM
        } else {
            Flavor::Spot
        };
        let usdm = usdm_links.map(|links| usdm::UsdmState::new(links, &cfg, seed, now));
        let confirms = vec![confirm::Confirm::IDLE; instruments.len()];
        Worker {
            usdm,
            auth: RequestWriter::request_auth(creds.key_type()),
            writer: RequestWriter::new(flavor, cfg.recv_window_ms, ClientIds::new(cfg.run_id)),
            orders: Orders::new(cfg.keep_done_orders, cfg.fallback_fee_bps),
            backoff: Backoff::new(cfg.backoff, seed),
            endpoint,
            creds,
            instruments,
            intents,
            reports,
            overflow: VecDeque::with_capacity(256),
            out: Vec::with_capacity(64),
            core_waker,
            stats,
            stop,
            pending: HashMap::with_capacity(256),
            next_request_id: 1,
            next_generation: 1,
            active: None,
            standby: None,
            draining: None,
            drain_until: now,
            next_connect_at: now,
            last_log: "",
            deferred: VecDeque::with_capacity(16),
            offset_ms: 0,
            next_clock_sync: now,
            clock_sync_due: false,
            next_timeout_scan: now,
            rate: RateLimits::default(),
            config_error: false,
            poll,
            events: mio::Events::with_capacity(8),
            buf: Vec::with_capacity(64 * 1024),
            retries: Vec::new(),
            epoch: now,
            stopping: None,
            confirms,
            confirm_next_at: None,
            confirm_started: false,
            cfg,
        }
    }

    /// Runs until stopped.
    pub(super) fn run(mut self) {
        loop {
            let now = Instant::now();
            // Acquire: pairs with the handle's Release store.
            if self.stopping.is_none() && self.stop.load(Acquire) {
                self.begin_stop(now);
            }
            if let Some(deadline) = self.stopping
                && (now >= deadline || !self.stop_work_pending())
            {
                if self.stop_work_pending() {
                    self.log_state("stop-unconfirmed", || {
                        "stopping: the cancels were not all answered in time; the venue was \
                         not confirmed empty"
                            .into()
                    });
                }
                break;
            }
            self.maybe_connect(now);
            self.read_all();
            self.take_intents();
            self.timers(Instant::now());
            self.flush_all();
            self.push_reports();
            self.wait();
        }
        self.shut_down();
    }

    // ---- time and logging ----

    fn venue_now_ms(&self) -> i64 {
        wall_ms() + self.offset_ms
    }

    fn venue_now_ns(&self) -> u64 {
        ms_to_ns(self.venue_now_ms())
    }

    fn mono_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Logs `msg` only when the link enters a different `state` (a venue refusing
    /// connections logs once, not once per attempt, whatever the error text).
    fn log_state(&mut self, state: &'static str, msg: impl FnOnce() -> String) {
        if self.last_log != state {
            eprintln!("obi gateway: {}", msg());
            self.last_log = state;
        }
    }

    // ---- sessions ----

    fn session(&mut self, slot: Slot) -> Option<&mut Session> {
        match slot {
            Slot::Active => self.active.as_mut(),
            Slot::Standby => self.standby.as_mut(),
            Slot::Draining => self.draining.as_mut(),
        }
    }

    fn slot_of(&self, generation: u32) -> Option<Slot> {
        let is = |s: &Option<Session>| s.as_ref().is_some_and(|s| s.generation == generation);
        if is(&self.active) {
            Some(Slot::Active)
        } else if is(&self.standby) {
            Some(Slot::Standby)
        } else if is(&self.draining) {
            Some(Slot::Draining)
        } else {
            None
        }
    }

    fn ready(&self) -> bool {
        self.active
            .as_ref()
            .is_some_and(|s| s.phase == Phase::Ready)
    }

    /// New orders can be sent: the session is ready and (USD-M) the user-data stream is up,
    /// so their executions will be seen.
    fn accepting(&self) -> bool {
        self.ready() && self.usdm.as_ref().is_none_or(|u| u.stream_up())
    }

    /// Publishes the `connected` gauge (= [`Worker::accepting`]).
    fn publish_link(&self) {
        self.stats.connected.store(self.accepting(), Relaxed);
    }

    fn maybe_connect(&mut self, now: Instant) {
        if self.active.is_some()
            || self.config_error
            || self.stopping.is_some()
            || now < self.next_connect_at
        {
            return;
        }
        if let Some(session) = self.open_session() {
            self.active = Some(session);
            self.send(Slot::Active, ReqKind::Time { sent_wall_ms: 0 });
        }
    }

    /// Connects (blocking up to the connect timeout) and registers a new session.
    fn open_session(&mut self) -> Option<Session> {
        bump(&self.stats.connect_attempts);
        let timeout = Duration::from_millis(self.cfg.connect_timeout_ms);
        match ws::connect(&self.endpoint, timeout) {
            Ok(conn) => {
                let generation = self.next_generation;
                self.next_generation = self.next_generation.wrapping_add(1).max(1);
                let mut session = Session {
                    conn,
                    generation,
                    phase: Phase::Time,
                    up_at: Instant::now(),
                    registered: false,
                };
                if self.cfg.poll_mode == PollMode::Block {
                    let fd = session.conn.fd();
                    session.registered = self
                        .poll
                        .registry()
                        .register(
                            &mut mio::unix::SourceFd(&fd),
                            mio::Token(generation as usize),
                            mio::Interest::READABLE,
                        )
                        .is_ok();
                }
                Some(session)
            }
            Err(e) => {
                bump(&self.stats.connect_failures);
                let delay_ms = self.backoff.next_delay_ms();
                self.next_connect_at = Instant::now() + Duration::from_millis(delay_ms);
                self.log_state("connect-failed", || {
                    format!("cannot connect to the WS API: {e}; retrying with backoff")
                });
                None
            }
        }
    }

    fn close_session(&mut self, mut session: Session) {
        if session.registered {
            let fd = session.conn.fd();
            let _ = self
                .poll
                .registry()
                .deregister(&mut mio::unix::SourceFd(&fd));
        }
        session.conn.close();
    }

    /// Drops the session in `slot` and settles its unanswered requests.
    fn drop_session(&mut self, slot: Slot, why: &str) {
        let taken = match slot {
            Slot::Active => self.active.take(),
            Slot::Standby => self.standby.take(),
            Slot::Draining => self.draining.take(),
        };
        let Some(session) = taken else {
            return;
        };
        let generation = session.generation;
        let was_ready = session.phase == Phase::Ready;
        let up_ms = session.up_at.elapsed().as_millis() as u64;
        self.close_session(session);
        let lost: Vec<ReqKind> = {
            let mut lost = Vec::new();
            self.pending.retain(|_, p| {
                if p.generation == generation {
                    lost.push(p.kind);
                    false
                } else {
                    true
                }
            });
            lost
        };
        if slot == Slot::Active {
            self.publish_link();
            self.stats.logged_on.store(false, Relaxed);
            if was_ready {
                bump(&self.stats.reconnects);
            }
            self.backoff.on_up_for(up_ms);
            let delay_ms = self.backoff.next_delay_ms();
            self.next_connect_at = Instant::now() + Duration::from_millis(delay_ms);
            if let Some(standby) = self.standby.take() {
                // The replacement session carries on its set-up as the active one.
                self.active = Some(standby);
            }
            self.log_state("lost", || {
                format!("WS API session lost ({why}); new orders are refused until it is back")
            });
        }
        for kind in lost {
            match kind {
                ReqKind::CancelAll(instrument) | ReqKind::OpenOrders(instrument) => {
                    self.defer_confirm(instrument)
                }
                // Answers that will never come: ask the venue on the live session if there
                // is one; otherwise reconciliation after the reconnect covers these orders.
                ReqKind::Place(id) | ReqKind::Cancel(id) | ReqKind::Status(id) => {
                    if self.ready() {
                        self.send(Slot::Active, ReqKind::Status(id));
                    }
                }
                ReqKind::Time { .. }
                | ReqKind::Logon
                | ReqKind::Subscribe
                | ReqKind::UserDataPing => {}
            }
        }
    }

    /// A session finished its set-up.
    fn on_session_ready(&mut self, slot: Slot) {
        if slot == Slot::Standby {
            if self.ready() {
                // Move over after serverShutdown: the old session drains its answers.
                if let Some(old) = self.draining.take() {
                    self.close_session(old);
                }
                self.draining = self.active.take();
                self.active = self.standby.take();
                self.drain_until = Instant::now() + Duration::from_millis(self.cfg.drain_ms);
                self.log_state("moved", || {
                    "moved to a new WS API session after serverShutdown".into()
                });
                return;
            }
            if let Some(old) = self.active.take() {
                self.close_session(old);
            }
            self.active = self.standby.take();
        }
        self.publish_link();
        self.stats.logged_on.store(true, Relaxed);
        self.next_clock_sync =
            Instant::now() + Duration::from_millis(self.cfg.clock_sync_interval_ms);
        let (endpoint, key_type) = (&self.endpoint, self.creds.key_type());
        let msg = format!("WS API session ready ({endpoint}, {key_type:?} key)");
        self.log_state("ready", || msg);
        // Reconcile every order not known to be finished.
        for id in self.orders.open_ids() {
            self.send(Slot::Active, ReqKind::Status(id));
        }
        while let Some(intent) = self.deferred.pop_front() {
            self.on_intent(intent);
        }
    }

    // ---- timers ----

    fn timers(&mut self, now: Instant) {
        if self.ready()
            && (self.clock_sync_due || now >= self.next_clock_sync)
            && !self
                .pending
                .values()
                .any(|p| matches!(p.kind, ReqKind::Time { .. }))
        {
            self.clock_sync_due = false;
            self.next_clock_sync = now + Duration::from_millis(self.cfg.clock_sync_interval_ms);
            self.send(Slot::Active, ReqKind::Time { sent_wall_ms: 0 });
        }
        if now >= self.next_timeout_scan {
            self.next_timeout_scan = now + Duration::from_millis(50);
            let timeout = Duration::from_millis(self.cfg.request_timeout_ms);
            let stale: Option<u32> = self
                .pending
                .values()
                .find(|p| now.duration_since(p.sent_at) > timeout)
                .map(|p| p.generation);
            if let Some(generation) = stale {
                bump(&self.stats.request_timeouts);
                if let Some(slot) = self.slot_of(generation) {
                    self.drop_session(slot, "a request went unanswered");
                } else {
                    self.pending.retain(|_, p| p.generation != generation);
                }
            }
            let mono = self.mono_ms();
            self.stats
                .rate_limit_used_ppm
                .store(self.rate.used_ppm(mono), Relaxed);
        }
        if !self.retries.is_empty() && self.ready() {
            let due: Vec<OrderId> = self
                .retries
                .iter()
                .filter(|(at, _)| *at <= now)
                .map(|(_, id)| *id)
                .collect();
            if !due.is_empty() {
                self.retries.retain(|(at, _)| *at > now);
                for id in due {
                    self.send(Slot::Active, ReqKind::Status(id));
                }
            }
        }
        if self.usdm.is_some() {
            self.usdm_timers(now);
        }
        self.confirm_timers(now);
        if self.draining.is_some() {
            let generation = self.draining.as_ref().map_or(0, |s| s.generation);
            let idle = !self.pending.values().any(|p| p.generation == generation);
            if idle || now >= self.drain_until {
                self.drop_session(Slot::Draining, "drained after serverShutdown");
            }
        }
    }

    // ---- output and waiting ----

    fn flush_all(&mut self) {
        for slot in [Slot::Active, Slot::Standby, Slot::Draining] {
            let failed = match self.session(slot) {
                Some(session) => session.conn.flush().err().map(|e| e.to_string()),
                None => None,
            };
            if let Some(why) = failed {
                self.drop_session(slot, &why);
            }
        }
    }

    fn count(&self, report: &Report) {
        let counter = match report {
            Report::Accepted { .. } => &self.stats.acks,
            Report::Rejected { .. } => &self.stats.rejects,
            Report::Filled(_) => &self.stats.fills,
            Report::Canceled { .. } => &self.stats.cancels,
        };
        bump(counter);
    }

    fn push_reports(&mut self) {
        let mut pushed = false;
        let out = std::mem::take(&mut self.out);
        for report in &out {
            self.count(report);
        }
        self.overflow.extend(out.iter().copied());
        self.out = out;
        self.out.clear();
        while let Some(report) = self.overflow.front() {
            if self.reports.push(*report).is_err() {
                bump(&self.stats.report_ring_full);
                break;
            }
            self.overflow.pop_front();
            pushed = true;
        }
        if pushed && let Some(waker) = &self.core_waker {
            let _ = waker.wake();
        }
    }

    fn next_deadline(&self, now: Instant) -> Instant {
        let mut deadline = now + MAX_BLOCK;
        if self.active.is_none() && !self.config_error {
            deadline = deadline.min(self.next_connect_at);
        }
        if !self.overflow.is_empty() {
            deadline = deadline.min(now + Duration::from_millis(1));
        }
        deadline.max(now)
    }

    fn wait(&mut self) {
        let now = Instant::now();
        match self.cfg.poll_mode {
            PollMode::Spin => {
                if self.active.is_none() {
                    // Nothing to poll but the ring: stay responsive without burning a core
                    // on a dead venue.
                    let until = self.next_deadline(now).min(now + Duration::from_millis(1));
                    std::thread::sleep(until.saturating_duration_since(now));
                } else {
                    std::hint::spin_loop();
                }
            }
            PollMode::Block => {
                if !self.intents.is_empty() {
                    return;
                }
                let timeout = self.next_deadline(now).saturating_duration_since(now);
                if self.poll.poll(&mut self.events, Some(timeout)).is_err() {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }

    // ---- stop ----

    fn begin_stop(&mut self, now: Instant) {
        let deadline = now + Duration::from_millis(self.cfg.stop_timeout_ms);
        self.stopping = Some(deadline);
        if self.usdm.is_some() {
            return self.usdm_begin_stop(now);
        }
        if !self.ready() || self.config_error {
            self.stopping = Some(now);
            let open = self.orders.open_count();
            if open > 0 {
                self.log_state("stop-unconfirmed", || {
                    format!(
                        "stopping without a usable session: {open} order(s) may still be open \
                         at the venue"
                    )
                });
            }
            return;
        }
        let ids: Vec<InstrumentId> = self.instruments.iter().map(|(id, _)| id).collect();
        for id in ids {
            self.start_cancel_all(id);
        }
        self.flush_all();
    }

    /// The stop still waits for answers: `openOrders.cancelAll` (spot), the status queries
    /// and cancels that confirm the REST cancel-all of our orders (USD-M), and, while the
    /// session is usable, every instrument's confirmation that no order is open.
    fn stop_work_pending(&self) -> bool {
        let usdm = self.usdm.is_some();
        let answers = self.pending.values().any(|p| match p.kind {
            ReqKind::CancelAll(_) | ReqKind::OpenOrders(_) => true,
            ReqKind::Status(_) | ReqKind::Cancel(_) => usdm,
            _ => false,
        });
        answers || (self.usable() && self.confirm_pending())
    }

    fn shut_down(&mut self) {
        for slot in [Slot::Draining, Slot::Standby, Slot::Active] {
            let taken = match slot {
                Slot::Active => self.active.take(),
                Slot::Standby => self.standby.take(),
                Slot::Draining => self.draining.take(),
            };
            if let Some(session) = taken {
                self.close_session(session);
            }
        }
        self.close_user_stream();
        self.stats.connected.store(false, Relaxed);
        self.stats.logged_on.store(false, Relaxed);
        // Last reports: give the core thread a moment to make room.
        let give_up = Instant::now() + Duration::from_millis(200);
        self.push_reports();
        while !self.overflow.is_empty() && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(1));
            self.push_reports();
        }
        self.stats.stopped.store(true, Relaxed);
    }
}

fn kind_name(kind: ReqKind) -> &'static str {
    match kind {
        ReqKind::Time { .. } => "time",
        ReqKind::Logon => "session.logon",
        ReqKind::Subscribe => "userDataStream.subscribe/start",
        ReqKind::UserDataPing => "userDataStream.ping",
        ReqKind::Place(_) => "order.place",
        ReqKind::Cancel(_) => "order.cancel",
        ReqKind::CancelAll(_) => "openOrders.cancelAll",
        ReqKind::Status(_) => "order.status",
        ReqKind::OpenOrders(_) => "openOrders.status",
    }
}
