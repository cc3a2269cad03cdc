//! obi-sim: a local venue that behaves like Binance spot for everything the engine uses, on
//! one loopback port, so the engine can be tested, demoed and benchmarked over real sockets
//! with no internet. The protocol is `docs/binance-subset.md`.
//!
//! # What it serves (one listener, `127.0.0.1` only)
//!
//! - `GET /api/v3/depth?symbol=X&limit=N` (alias `/fapi/v1/depth`, which adds `E`/`T`):
//!   the REST snapshot of the simulator's own book, `limit` 1..5000 (default 100), plain
//!   HTTP/1.1 with `Content-Length`, `Connection: close`. Also `/api/v3/time`, `/api/v3/ping`.
//! - `ws://.../stream?streams=<sym>@depth@100ms/<sym>@bookTicker/<sym>@trade`: combined
//!   spot streams (`U == prev u + 1`, no `pu`). `<sym>@depth` is accepted as a name for the
//!   same diffs.
//! - `ws://.../ws-api/v3`: the Spot WebSocket API methods of the spec page, with Ed25519
//!   `session.logon`, per-request HMAC-SHA256, `rateLimits`, and execution reports on
//!   subscribed connections.
//!
//!   Besides the order methods: `time` (unsigned), and, signed like `order.status`,
//!   `account.status`, `allOrders` and `myTrades` (below).
//!
//! Every WebSocket connection gets a ping every `ping_interval_ms`; client pings are answered
//! with pongs.
//!
//! # The account and its queries
//!
//! One simulated account holds the instrument's base asset (the symbol without
//! `instrument.quote_asset`) and quote asset, starting from `[account]` `base_balance` and
//! `quote_balance` (defaults 10 and 100000). Fills move them (fees in the quote asset);
//! resting orders lock the remaining quantity (sells, base) or notional (buys, quote);
//! free = total − locked. Orders are never refused for want of balance.
//!
//! - `account.status` → Binance's account object: `makerCommission`/`takerCommission` (bps),
//!   `commissionRates`, `canTrade`, `accountType` `SPOT`, `updateTime`, `permissions`,
//!   `uid`, and `balances: [{"asset","free","locked"}]` (8-decimal text).
//! - `allOrders` (`symbol`; optional `orderId`, `startTime`, `endTime` on placement time,
//!   `limit` 1..1000, default 500) → every order in `order.status` shape, oldest first;
//!   with `orderId` or `startTime` the oldest `limit` rows from there, else the most recent
//!   `limit`; times given make `orderId` ignored (as Binance).
//! - `myTrades` (`symbol`; optional `orderId`, `fromId`, `startTime`, `endTime`, `limit`) →
//!   our fills `{"symbol","id","orderId","orderListId","price","qty","quoteQty",
//!   "commission","commissionAsset","time","isBuyer","isMaker","isBestMatch"}`, oldest
//!   first; `fromId` with a time is -1128; a window over 24 h or `startTime > endTime` is
//!   -1127; a `limit` outside 1..1000 is -1130.
//!
//! # Orders placed "behind the engine's back"
//!
//! The account is the venue's, not the connection's: any number of WebSocket API connections
//! may use the one configured key (log on with Ed25519, or sign each request with HMAC) and
//! place, cancel and query orders on the same account. A test that opens a second
//! connection with the engine's key and sends `order.place` gets an order the engine did not
//! send: the engine's subscribed connection receives its execution reports, and
//! `openOrders.status`, `openOrders.cancelAll`, `allOrders` and the record include it
//! (`bench/tests/sim_account.rs` does exactly this).
//!
//! # Market and matching
//!
//! The source is the seeded synthetic market ([`crate::synth`]) stepped in real time, or a
//! recording replayed from its first in-sequence diff. Each event is applied to the
//! simulator's own book under the venue lock, so a REST snapshot's `lastUpdateId` is always
//! the `u` of the last diff applied: a client that buffers the stream, fetches a snapshot and
//! follows the spot sync rule gets exactly the simulator's book. Our orders are matched by
//! [`obi_engine::paper::PaperVenue`] with zero latencies (its queue model; the public book
//! is not changed by our orders).
//!
//! # Where it differs from Binance (and `docs/binance-subset.md`)
//!
//! - One instrument per simulator. `<sym>@depth` carries the same diffs as
//!   `<sym>@depth@100ms` (not 1000 ms batches). Frames are pushed to every subscribed
//!   connection; `SUBSCRIBE` messages on a stream connection are ignored.
//! - `order.place` always answers in the `ACK` shape, whatever `newOrderRespType` says.
//! - A duplicate `newClientOrderId` is refused (-2010 "Duplicate order sent.") even when the
//!   first order is no longer open, so the record counts every re-use.
//! - `session.logon` also accepts an HMAC-SHA256 signature when an HMAC secret is set
//!   (obi's gateway sends one for HMAC keys); `userDataStream.subscribe` also accepts a
//!   per-request signature instead of a logged-on session.
//! - Rate limits are counted (REQUEST_WEIGHT per connection and minute, ORDERS per 10 s and
//!   day) and only REQUEST_WEIGHT is enforced (-1003).
//! - Our orders never change the public book or the trades (no market impact); a resting
//!   order fills only from public trades (the paper venue's queue model).
//! - Faults: stalls hold market frames only (API connections keep answering); a drop closes
//!   sockets without a close frame; a silence publishes nothing at all (sockets open, pings
//!   on) and then resumes where it stopped; a price jump deletes every level in one diff and
//!   re-adds them shifted in the next. Tests can also fire drops, silences and jumps on
//!   demand: [`SimHandle::drop_connections`], [`SimHandle::silence_market_for`],
//!   [`SimHandle::jump_price_bps`].
//!
//! # Using it from a test
//!
//! ```no_run
//! use obi_bench::sim::{Sim, SimConfig};
//! let sim = Sim::start(SimConfig::default()).expect("sim");
//! let rest = sim.rest_url(); // http://127.0.0.1:PORT
//! let api = sim.ws_api_url(); // ws://127.0.0.1:PORT/ws-api/v3
//! // ... drive a client ...
//! let record = sim.shutdown(); // joins every thread, returns the final record
//! assert_eq!(record.duplicate_client_order_ids, 0);
//! ```
//!
//! # Cancel receipts
//!
//! Every `openOrders.cancelAll` and `order.cancel` request is stamped with `SystemTime` (Unix
//! ns) when its frame has been read, before the venue lock is taken:
//! [`SimRecord::cancel_all_received_unix_ns`] and [`SimRecord::cancel_received_unix_ns`]
//! (also in `--report-out`), [`SimHandle::cancel_all_received_unix_ns`] in process. Another
//! process on the machine reading `SystemTime` can subtract its own timestamps from these
//! (`obi-bench kill-latency` does).
//!
//! # Wire-to-wire samples
//!
//! When a market connection's thread hands queued frames to its socket, it stores the time
//! (Unix ns, monotonic clock) just before the write. When an `order.place` or `order.cancel`
//! request has been read and parsed, the simulator records `receipt - last write` in
//! [`SimRecord::order_latency_ns`]. With `frame_interval_us` set well above the engine's
//! reaction time, that is the engine's frame-in to order-out time plus both loopback hops;
//! without pacing, frames arrive faster than orders and the sample means little.

mod account;
mod api;
mod auth;
mod config;
mod conn;
mod http;
mod market;
mod orders;
mod outbox;
mod record;
mod source;
mod venue;
mod wire;

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use obi_engine::instrument::{InstrumentSpec, Market};
use obi_engine::units::Level;

pub use config::{
    AccountConfig, AuthConfig, FaultConfig, InstrumentConfig, MatchingConfig, SimConfig,
    SimConfigError, SynthSettings, parse_ed25519_public_key,
};
pub use record::{FaultCounts, FillRecord, OrderRecord, SimRecord};

use config::Resolved;
use outbox::ConnHandle;
use source::{MarketSource, ReplaySource, SynthSource};
use venue::State;
use wire::FrameWriter;

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] SimConfigError),
    /// The recording cannot be replayed.
    #[error("replay: {0}")]
    Replay(String),
    /// The listener or a thread could not be set up.
    #[error("cannot start: {0}")]
    Io(#[from] std::io::Error),
}

/// `SystemTime` now as Unix ns (0 before 1970, saturating far in the future).
pub fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Wall-clock Unix time that never goes backwards (a fixed offset plus a monotonic clock).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: Instant,
    start_unix_ns: u64,
}

impl Clock {
    fn new() -> Clock {
        let start_unix_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        Clock {
            start: Instant::now(),
            start_unix_ns,
        }
    }

    /// Unix ns now.
    pub(crate) fn now_ns(&self) -> u64 {
        let elapsed = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.start_unix_ns.saturating_add(elapsed)
    }
}

/// Market faults asked for at run time (by the config's one-shots or a test), taken by the
/// market thread.
#[derive(Debug, Default)]
pub(crate) struct Control {
    /// Publish nothing until then.
    pub silence_until: Option<Instant>,
    /// Jumps (bps of the mid) still to make.
    pub jumps_bps: Vec<i32>,
}

/// State shared by the simulator's threads.
#[derive(Debug)]
pub(crate) struct Shared {
    pub cfg: SimConfig,
    pub resolved: Resolved,
    pub writer: FrameWriter,
    pub clock: Clock,
    state: Mutex<State>,
    control: Mutex<Control>,
    conns: Mutex<Vec<Arc<ConnHandle>>>,
    conn_threads: Mutex<Vec<JoinHandle<()>>>,
    shutdown: AtomicBool,
    wait_lock: Mutex<()>,
    wait_cv: Condvar,
    last_frame_ns: AtomicU64,
    frames_sent: AtomicU64,
    next_conn_id: AtomicU64,
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A thread that panicked while holding a lock leaves plain data behind; carry on.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub(crate) fn lock_state(&self) -> MutexGuard<'_, State> {
        relock(&self.state)
    }

    pub(crate) fn lock_control(&self) -> MutexGuard<'_, Control> {
        relock(&self.control)
    }

    /// Wakes the market thread (a control change).
    pub(crate) fn wake_market(&self) {
        let _guard = relock(&self.wait_lock);
        self.wait_cv.notify_all();
    }

    /// Drops every connection now (no close frame); returns how many.
    pub(crate) fn drop_all(&self) -> usize {
        let conns = self.conns();
        for c in conns.iter() {
            c.drop_now();
        }
        self.lock_state().record.faults.dropped_connections += conns.len() as u64;
        conns.len()
    }

    /// Starts a market silence lasting `d`.
    /// (`Duration::ZERO` ends a silence.)
    pub(crate) fn silence(&self, d: Duration) {
        self.lock_control().silence_until = Some(Instant::now() + d);
        if !d.is_zero() {
            self.lock_state().record.faults.silences += 1;
        }
        self.wake_market();
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    pub(crate) fn conns(&self) -> Vec<Arc<ConnHandle>> {
        relock(&self.conns).clone()
    }

    pub(crate) fn register(&self, c: Arc<ConnHandle>) {
        relock(&self.conns).push(c);
    }

    pub(crate) fn unregister(&self, id: u64) {
        relock(&self.conns).retain(|c| c.id != id);
    }

    pub(crate) fn next_conn_id(&self) -> u64 {
        self.next_conn_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn add_conn_thread(&self, h: JoinHandle<()>) {
        let mut threads = relock(&self.conn_threads);
        // Reap finished connections so the list stays short.
        let (done, running): (Vec<_>, Vec<_>) = threads.drain(..).partition(|t| t.is_finished());
        for t in done {
            let _ = t.join();
        }
        *threads = running;
        threads.push(h);
    }

    /// A market connection is writing `n` frames now.
    pub(crate) fn frames_written(&self, n: u64) {
        self.frames_sent.fetch_add(n, Ordering::Relaxed);
        self.last_frame_ns
            .store(self.clock.now_ns(), Ordering::Relaxed);
    }

    /// Unix ns of the last market frame written (0: none yet).
    pub(crate) fn last_frame_written_ns(&self) -> u64 {
        self.last_frame_ns.load(Ordering::Relaxed)
    }

    /// Sleeps until `until` (forever if `None`) or shutdown.
    pub(crate) fn wait_until(&self, until: Option<Instant>) {
        let guard = relock(&self.wait_lock);
        if self.is_shutdown() {
            return;
        }
        match until {
            Some(t) => {
                let d = t.saturating_duration_since(Instant::now());
                if !d.is_zero() {
                    drop(self.wait_cv.wait_timeout(guard, d));
                }
            }
            None => {
                drop(self.wait_cv.wait(guard));
            }
        }
    }

    fn record(&self) -> SimRecord {
        let mut r = self.lock_state().record();
        r.frames_sent = self.frames_sent.load(Ordering::Relaxed);
        r
    }
}

/// Starts simulators.
#[derive(Debug)]
pub struct Sim;

/// A running simulator: its address, its record, and a clean shutdown.
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

fn open_source(
    cfg: &SimConfig,
    resolved: &mut Resolved,
) -> Result<(Box<dyn MarketSource>, source::InitialBook), SimError> {
    match &cfg.replay {
        Some(path) => {
            let (_, derived) = obi_engine::replay::scan::derived_instruments(&[path.as_path()])
                .map_err(|e| SimError::Replay(format!("{}: {e}", path.display())))?;
            let d = derived
                .iter()
                .find(|d| d.symbol.eq_ignore_ascii_case(&cfg.instrument.symbol))
                .or(derived.first())
                .ok_or_else(|| SimError::Replay(format!("{}: no snapshot", path.display())))?;
            let symbol = obi_engine::instrument::Symbol::new(&d.symbol)
                .ok_or_else(|| SimError::Replay(format!("bad symbol {}", d.symbol)))?;
            let recorded = InstrumentSpec {
                symbol,
                market: d.market,
                price: obi_engine::instrument::Scale::unit(d.price_decimals),
                qty: obi_engine::instrument::Scale::unit(d.qty_decimals),
            };
            let (src, initial) =
                ReplaySource::open(path, recorded).map_err(|e| SimError::Replay(e.to_string()))?;
            // The recording decides symbol and grids; what is served is spot-shaped.
            resolved.spec = InstrumentSpec {
                market: Market::Spot,
                ..recorded
            };
            Ok((Box::new(src), initial))
        }
        None => {
            let (src, initial) = SynthSource::new(
                cfg.seed,
                resolved.start_price_ticks,
                cfg.synth.diff_interval_ms,
                cfg.synth.pressure_strength,
            );
            Ok((Box::new(src), initial))
        }
    }
}

impl Sim {
    /// Validates `cfg`, opens the market source, binds `127.0.0.1:port` and starts serving.
    /// Returns at once; the bound address is [`SimHandle::addr`].
    pub fn start(cfg: SimConfig) -> Result<SimHandle, SimError> {
        let mut resolved = cfg.resolve()?;
        let (source, initial) = open_source(&cfg, &mut resolved)?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, cfg.port))?;
        let addr = listener.local_addr()?;
        let clock = Clock::new();
        let spec = resolved.spec;
        let state = State::new(&cfg, &resolved, &initial, clock.now_ns());
        let shared = Arc::new(Shared {
            writer: FrameWriter {
                symbol: spec.symbol.as_str().to_owned(),
                price: spec.price,
                qty: spec.qty,
            },
            cfg,
            resolved,
            clock,
            state: Mutex::new(state),
            control: Mutex::new(Control::default()),
            conns: Mutex::new(Vec::new()),
            conn_threads: Mutex::new(Vec::new()),
            shutdown: AtomicBool::new(false),
            wait_lock: Mutex::new(()),
            wait_cv: Condvar::new(),
            last_frame_ns: AtomicU64::new(0),
            frames_sent: AtomicU64::new(0),
            next_conn_id: AtomicU64::new(1),
        });
        let s = Arc::clone(&shared);
        let acceptor = std::thread::Builder::new()
            .name("obi-sim-accept".into())
            .spawn(move || conn::accept_loop(s, listener))?;
        let s = Arc::clone(&shared);
        let market = std::thread::Builder::new()
            .name("obi-sim-market".into())
            .spawn(move || market::run(s, source))?;
        Ok(SimHandle {
            addr,
            shared,
            threads: vec![acceptor, market],
        })
    }
}

impl SimHandle {
    /// The bound loopback address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (the spec's `rest_url`).
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://127.0.0.1:PORT` (the spec's `stream_url`).
    pub fn stream_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// `ws://127.0.0.1:PORT/ws-api/v3` (the spec's `ws_api_url`).
    pub fn ws_api_url(&self) -> String {
        format!("ws://{}/ws-api/v3", self.addr)
    }

    /// A copy of the record so far.
    pub fn record(&self) -> SimRecord {
        self.shared.record()
    }

    /// Receipt times (Unix ns, `SystemTime`) of every `openOrders.cancelAll` so far.
    pub fn cancel_all_received_unix_ns(&self) -> Vec<u64> {
        self.shared
            .lock_state()
            .record
            .cancel_all_received_unix_ns
            .clone()
    }

    /// Drops every market and API connection now, without a close frame (the `drop` fault
    /// on demand). Returns how many were dropped.
    pub fn drop_connections(&self) -> usize {
        self.shared.drop_all()
    }

    /// Publishes no market data for `d` from now (the `silence` fault on demand): sockets
    /// stay open and pings go on; afterwards the market resumes where it stopped.
    /// `Duration::ZERO` ends a silence now.
    pub fn silence_market_for(&self, d: Duration) {
        self.shared.silence(d);
    }

    /// Moves the whole book by `bps` of the mid at once (the `price_jump` fault on demand):
    /// one diff deletes every level, the next re-adds them shifted; later prices and trades
    /// stay shifted. Refused (false) outside -5000..=10000 or at 0.
    pub fn jump_price_bps(&self, bps: i32) -> bool {
        if !config::valid_jump_bps(bps) {
            return false;
        }
        self.shared.lock_control().jumps_bps.push(bps);
        self.shared.wake_market();
        true
    }

    /// How many of our orders rest at the venue now.
    pub fn open_order_count(&self) -> usize {
        self.shared.lock_state().open_order_count()
    }

    /// The simulator's own book: `(last_update_id, best `depth` bids, best `depth` asks)`.
    pub fn book(&self, depth: usize) -> (u64, Vec<Level>, Vec<Level>) {
        self.shared.lock_state().book_view(depth)
    }

    /// Stops every thread (connections get a close frame), joins them, returns the record.
    pub fn shutdown(mut self) -> SimRecord {
        self.stop();
        self.shared.record()
    }

    fn stop(&mut self) {
        if self.threads.is_empty() {
            return;
        }
        self.shared.shutdown.store(true, Ordering::Release);
        {
            let _guard = relock(&self.shared.wait_lock);
            self.shared.wait_cv.notify_all();
        }
        for c in self.shared.conns() {
            c.wake();
        }
        // Unblocks the acceptor's `accept`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(500));
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        loop {
            let batch: Vec<JoinHandle<()>> = relock(&self.shared.conn_threads).drain(..).collect();
            if batch.is_empty() {
                break;
            }
            for c in self.shared.conns() {
                c.wake();
            }
            for t in batch {
                let _ = t.join();
            }
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop();
    }
}
