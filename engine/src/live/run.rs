//! The live run loop: the core thread's busy-poll (or `epoll`-wait) loop.
//!
//! One iteration: wait for socket readiness (`mio`, zero timeout when spinning); read
//! market frames into the tick path; take snapshot replies; drain execution reports; run
//! strategy timers once a millisecond; apply reloaded strategy parameters (between ticks);
//! ask for snapshots the books need; publish to shared memory when due; tell systemd about
//! state changes; check the stop flag. Connection setup, snapshots and retired sockets
//! are handled by helper threads, so nothing here blocks; after warm-up nothing here
//! allocates (connections and snapshot buffers are created off this thread and recycled).

use super::connector::Connector;
use super::feed::{FeedLink, LinkEvent};
use super::flatten::Flattener;
use super::notice::{Detail, Notice, NoticePrinter, Notices};
use super::notify::{EngineState, Notifier, Readiness};
use super::record::Recorder;
use super::reload::{ReloadCounts, ReloadEvent, ReloadSetup, Reloader};
use super::report::{GatewaySummary, InstrumentEnd, RecordingSummary, ReloadSummary, RunReport};
use super::safety_hub::SafetyHub;
use super::snapshot::{SnapshotFetcher, SnapshotRequest};
use super::streams::{combined_stream, snapshot_url};
use crate::book::L2Book;
use crate::config::{Config, PollMode, TradingMode};
use crate::feed::event::MarketEvent;
use crate::instrument::{InstrumentId, InstrumentSpec};
use crate::net::Backoff;
use crate::order::{Intent, Report};
use crate::paper::PaperGateway;
use crate::runtime::publish::{LinkStats, ShmPublisher};
use crate::runtime::{LatencyHistogram, TickObserver, TickPath};
use crate::safety::{ReasonCode, ResetRefused, SafetyState, Trip};
use crate::units::Notional;
use crate::venue::binance::{self, GatewayConfig, GatewayHandle};
use mio::{Events, Poll, Token, Waker};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Token of the waker other threads use to wake the core thread in `block` mode.
pub const WAKER_TOKEN: Token = Token(0);
const FEED_TOKENS: [Token; 2] = [Token(1), Token(2)];
const KILL_TOKEN: Token = Token(3);
/// Strategy timers run at most this often without frames, ns.
const IDLE_TIMER_NS: u64 = 1_000_000;
/// Longest `epoll` wait in `block` mode (timers still run on time).
const BLOCK_WAIT: Duration = Duration::from_millis(1);

/// Why a run could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Live trading was configured but not confirmed.
    #[error(
        "[venue] mode = \"live\" sends real orders: confirm with --live or OBI_ENABLE_LIVE=1 (or set mode = \"paper\")"
    )]
    LiveNotConfirmed,
    /// Live order entry is not available in this build.
    #[error("{0}")]
    Unsupported(String),
    /// A thread, the poller or the stats file could not be set up.
    #[error("cannot start: {0}")]
    Setup(String),
    /// The state directory (journal, checkpoint, kill files) cannot be used.
    #[error("cannot start: {0}")]
    State(String),
}

/// Switches beyond the config.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Stop after this long (None: until a signal or a kill).
    pub duration: Option<Duration>,
    /// Live trading confirmed (`--live` or `OBI_ENABLE_LIVE=1`).
    pub live_confirmed: bool,
    /// Publish to the config's stats file.
    pub shm: bool,
    /// Record every frame and snapshot to this file (collector format; `.gz` compresses).
    pub record: Option<std::path::PathBuf>,
    /// Do not trade (recording only): the strategy is never switched on.
    pub observe_only: bool,
    /// The config file the run was started from: with it, strategy parameters reload from
    /// it on SIGHUP (a handler is installed for the process) or when it changes.
    pub config_path: Option<std::path::PathBuf>,
}

/// What the live loop hooks into the tick path: the paper venue sees market events; the
/// safety hub journals intents and reports and feeds the breakers.
#[derive(Debug)]
pub struct LiveObserver {
    paper: Option<PaperGateway>,
    hub: Option<SafetyHub>,
}

impl TickObserver for LiveObserver {
    fn on_market(&mut self, event: &MarketEvent<'_>, book: &L2Book, ts_ns: u64) {
        if let Some(p) = &mut self.paper {
            p.venue.on_market(event, book, ts_ns);
        }
    }

    fn on_intent_sent(&mut self, intent: &Intent, ts_ns: u64) {
        if let Some(h) = &mut self.hub {
            h.on_intent(intent, ts_ns);
        }
    }

    fn on_report_applied(
        &mut self,
        report: &Report,
        position_lots: i64,
        round_trip_pnl: Option<Notional>,
        ts_ns: u64,
    ) {
        if let Some(h) = &mut self.hub {
            h.on_report(report, position_lots, round_trip_pnl, ts_ns);
        }
    }
}

/// Snapshot bookkeeping per instrument.
#[derive(Debug)]
struct SnapshotSlot {
    url: Arc<str>,
    buf: Option<Vec<u8>>,
    in_flight: bool,
    last_request_ns: u64,
}

/// Maps `quanta` raw stamps to Unix nanoseconds (the live market clock).
#[derive(Debug, Clone)]
struct WallClock {
    clock: quanta::Clock,
    start_raw: u64,
    start_unix_ns: u64,
}

impl WallClock {
    fn new(clock: quanta::Clock) -> WallClock {
        let start_raw = clock.raw();
        let start_unix_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        WallClock {
            clock,
            start_raw,
            start_unix_ns,
        }
    }

    #[inline]
    fn unix_ns(&self, raw: u64) -> u64 {
        self.start_unix_ns + self.clock.delta_as_nanos(self.start_raw, raw)
    }
}

/// Runs the engine live until `stop` is set, the duration passes, or a kill request halts
/// it and its orders are cancelled.
pub fn run(
    config: &Config,
    options: &RunOptions,
    stop: &AtomicBool,
) -> Result<RunReport, RunError> {
    let mode = config.venue.section.mode;
    if mode == TradingMode::Live && !options.live_confirmed {
        return Err(RunError::LiveNotConfirmed);
    }
    let setup = |what: &str, e: &dyn std::fmt::Display| RunError::Setup(format!("{what}: {e}"));
    let mut poll = Poll::new().map_err(|e| setup("epoll", &e))?;
    let core_waker =
        Arc::new(Waker::new(poll.registry(), WAKER_TOKEN).map_err(|e| setup("waker", &e))?);
    let n = config.instruments.len();
    let (intent_tx, intent_rx) = rtrb::RingBuffer::new(config.engine.intent_ring_capacity);
    let (report_tx, report_rx) = rtrb::RingBuffer::new(config.engine.report_ring_capacity);
    let clock = quanta::Clock::new();
    let wall = WallClock::new(clock.clone());
    let (observer, gateway) = match mode {
        TradingMode::Paper => (
            LiveObserver {
                paper: Some(PaperGateway::new(config.paper, n, intent_rx, report_tx)),
                hub: None,
            },
            None,
        ),
        TradingMode::Live => {
            let gw_config = gateway_config(config, wall.start_unix_ns / 1_000_000_000);
            let handle = binance::spawn(
                gw_config,
                config.instruments.clone(),
                intent_rx,
                report_tx,
                Some(Arc::clone(&core_waker)),
            )
            .map_err(|e| RunError::Setup(format!("order gateway: {e}")))?;
            (
                LiveObserver {
                    paper: None,
                    hub: None,
                },
                Some(handle),
            )
        }
    };
    let gateway_waker = gateway.as_ref().map(GatewayHandle::waker);
    let timeout = Duration::from_millis(config.venue.section.connect_timeout_ms);
    let connector = Connector::spawn(timeout).map_err(|e| setup("connector thread", &e))?;
    let snapshots = SnapshotFetcher::spawn(timeout).map_err(|e| setup("snapshot thread", &e))?;
    let (mut notices, printer) =
        NoticePrinter::spawn().map_err(|e| setup("notice printer thread", &e))?;
    let mut publisher = if options.shm && config.engine.shm_enabled {
        Some(ShmPublisher::create(config).map_err(|e| setup("stats file", &e))?)
    } else {
        None
    };
    let mut tick = TickPath::new(config, intent_tx, report_rx, clock.clone(), observer);
    let seed = wall.start_unix_ns ^ u64::from(std::process::id());
    let mut link = FeedLink::new(
        combined_stream(&config.venue, &config.instruments),
        Backoff::new(config.venue.backoff(), seed),
        config.venue.section.stale_feed_ms,
        config.venue.section.max_connection_age_s,
        FEED_TOKENS,
    );
    let mut slots: Vec<SnapshotSlot> = config
        .instruments
        .iter()
        .map(|(_, spec): (InstrumentId, &InstrumentSpec)| SnapshotSlot {
            url: Arc::from(snapshot_url(&config.venue, spec)),
            buf: Some(Vec::with_capacity(1 << 20)),
            in_flight: false,
            last_request_ns: 0,
        })
        .collect();
    let mut recorder = match &options.record {
        Some(path) => Some(
            Recorder::create(path)
                .map_err(|e| setup(&format!("cannot create recording {}", path.display()), &e))?,
        ),
        None => None,
    };
    if options.observe_only {
        tick.halt(wall.start_unix_ns);
    } else {
        // State on disk, the latch, kill inputs present at start.
        let (hub, startup) =
            SafetyHub::start(config, wall.start_unix_ns, mode == TradingMode::Live)
                .map_err(RunError::State)?;
        for line in startup.summary.lines() {
            eprintln!("obi-engine: {line}");
        }
        for (id, position) in &startup.positions {
            tick.restore_position(*id, *position);
        }
        hub.register(poll.registry(), KILL_TOKEN)
            .map_err(|e| setup("kill-file watch", &e))?;
        tick.observer.hub = Some(hub);
        if let Some(t) = &startup.restored {
            eprintln!(
                "obi-engine: starting {} (latched by {} in an earlier run); reset to trade",
                t.state,
                t.reason.name()
            );
        }
        for trip in startup.restored.iter().chain(&startup.trips) {
            apply_trip(&mut tick, trip, wall.start_unix_ns, &mut notices);
        }
    }
    // systemd: READY=1 / STATUS= / RELOADING=1 / STOPPING=1 (no-op without NOTIFY_SOCKET).
    let notifier = Notifier::from_env();
    let reload_notifier = notifier.try_clone();
    let mut readiness = Readiness::new(notifier);
    // Strategy parameter reload: a cold thread validates, the loop applies between ticks.
    let (_reloader, mut reloads_rx) = match &options.config_path {
        Some(path) if !options.observe_only => {
            let (reloader, rx) = Reloader::spawn(ReloadSetup {
                path: path.clone(),
                running: config.clone(),
                watch_file: true,
                sighup: true,
                notifier: reload_notifier,
            })
            .map_err(|e| setup("parameter reload thread", &e))?;
            (Some(reloader), Some(rx))
        }
        _ => (None, None),
    };
    let mut reload_counts = ReloadCounts::default();
    let mut strategy_in_effect = config.strategy;
    if let Some(core) = config.engine.core_id {
        pin_to(core);
    }

    let mut links = LinkStats {
        trading_mode: if gateway.is_some() { 2 } else { 1 },
        gateway_up: gateway.is_none(),
        ..LinkStats::default()
    };
    let mut intents_seen = 0u64;
    let capital_micros = config.safety.breakers.capital_micros();
    let mut ring_full_seen = 0u64;
    let mut flattener = Flattener::new(config.safety.flatten, n);
    let mut reset_refused_seq: Option<u64> = None;
    let mut key_refused_reported = false;
    let mut frame_buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut events = Events::with_capacity(64);
    let spin = config.engine.poll_mode == PollMode::Spin;
    let started = Instant::now();
    let deadline = options.duration.map(|d| started + d);
    let snapshot_gap_ns = config.venue.section.snapshot_min_interval_ms * 1_000_000;
    let grace_ns = config.engine.stop_grace_ms * 1_000_000;
    let mut next_timer_ns = 0u64;
    let mut stopping_since_ns: Option<u64> = None;
    let mut stop_reason = String::new();
    let mut exhausted_reported = false;
    // Connection lost (or first connect) → every book valid again, ns.
    let mut resync_started_ns: Option<u64> = Some(wall.start_unix_ns);
    let mut resync_latency = LatencyHistogram::new();

    loop {
        // Spin only while there is a feed to spin for: a core waiting to reconnect sleeps in
        // epoll (woken by the connector's answer within a millisecond), never burns 100 %.
        let wait = if spin && link.stats.up {
            Duration::ZERO
        } else {
            BLOCK_WAIT
        };
        if let Err(e) = poll.poll(&mut events, Some(wait))
            && e.kind() != std::io::ErrorKind::Interrupted
        {
            stop_reason = format!("epoll failed: {e}");
            break;
        }
        for event in events.iter() {
            if event.token() == KILL_TOKEN {
                if let Some(h) = &mut tick.observer.hub {
                    h.on_kill_readable();
                }
            } else {
                link.on_readable(event.token());
            }
        }
        let raw = clock.raw();
        let now_ns = wall.unix_ns(raw);

        // Market data.
        let event = link.poll_frames(
            &mut frame_buf,
            now_ns,
            &connector,
            poll.registry(),
            &mut |frame: &mut [u8]| {
                let receipt = clock.raw();
                let ts = wall.unix_ns(receipt);
                if let Some(r) = &mut recorder {
                    // Before parsing: the parser works on the bytes in place.
                    r.record(ts, frame);
                }
                tick.on_frame(frame, ts, receipt, None);
                if let Some(p) = &mut tick.observer.paper {
                    p.pump(ts);
                }
                tick.on_reports(ts);
            },
        );
        let event = event.or_else(|| link.maintain(now_ns, &connector, poll.registry()));
        if let Some(event) = event {
            for i in 0..n {
                tick.reset_instrument(InstrumentId(i as u16), now_ns);
            }
            if event == LinkEvent::Lost
                && let Some(h) = &mut tick.observer.hub
            {
                h.breakers.on_reconnect(now_ns);
            }
            if event == LinkEvent::Lost || resync_started_ns.is_none() {
                resync_started_ns.get_or_insert(now_ns);
            }
            if event == LinkEvent::Connected {
                for slot in &mut slots {
                    slot.last_request_ns = 0;
                }
            }
        }
        if link.stats.exhausted && !exhausted_reported {
            exhausted_reported = true;
            notices.send(Notice::FeedUnreachable {
                attempts: link.stats.failing_attempts,
                error: Detail::new(link.last_error().unwrap_or("unknown error")),
            });
        } else if !link.stats.exhausted {
            exhausted_reported = false;
        }

        // Snapshots: replies first, then requests for books that need one.
        while let Some(reply) = snapshots.poll() {
            let i = reply.instrument.index();
            let slot = &mut slots[i];
            slot.in_flight = false;
            let mut buf = reply.buf;
            match reply.result {
                Ok(()) if link.stats.up => {
                    let receipt = clock.raw();
                    let ts = wall.unix_ns(receipt);
                    if let Some(r) = &mut recorder {
                        // One line per record: JSON whitespace may be newlines.
                        for b in buf.iter_mut().filter(|b| **b == b'\n' || **b == b'\r') {
                            *b = b' ';
                        }
                        r.record(ts, &buf);
                    }
                    tick.on_frame(&mut buf, ts, receipt, Some(reply.instrument));
                }
                Ok(()) => {}
                Err(_) => links.snapshot_failures += 1,
            }
            slot.buf = Some(buf);
        }
        if link.stats.up {
            for (i, slot) in slots.iter_mut().enumerate() {
                let id = InstrumentId(i as u16);
                if !tick.book(id).resync_requested
                    || slot.in_flight
                    || now_ns.saturating_sub(slot.last_request_ns) < snapshot_gap_ns
                {
                    continue;
                }
                let Some(buf) = slot.buf.take() else { continue };
                let request = SnapshotRequest {
                    instrument: id,
                    url: slot.url.clone(),
                    buf,
                };
                match snapshots.request(request) {
                    Ok(()) => {
                        slot.in_flight = true;
                        slot.last_request_ns = now_ns;
                        links.snapshot_requests += 1;
                    }
                    Err(back) => slot.buf = Some(back.buf),
                }
            }
        }

        if let Some(since) = resync_started_ns
            && link.stats.up
            && tick.books().iter().all(|b| b.sync.is_valid())
        {
            resync_latency.record(now_ns.saturating_sub(since));
            resync_started_ns = None;
        }

        // Orders: venue reports, then timers.
        if let Some(p) = &mut tick.observer.paper {
            p.pump(now_ns);
        }
        tick.on_reports(now_ns);
        // Reloaded strategy parameters: here, between ticks, never inside a frame's handling.
        if let Some(rx) = &mut reloads_rx {
            while let Ok(event) = rx.pop() {
                reload_counts.count(&event);
                if let ReloadEvent::Apply { strategy, .. } = &event {
                    tick.set_strategy_config(strategy);
                    strategy_in_effect = *strategy;
                }
                if let Some(h) = &mut tick.observer.hub {
                    h.note(now_ns, event.journal_text());
                }
                readiness.reload_done(event.status_text());
            }
        }
        if now_ns >= next_timer_ns {
            next_timer_ns = now_ns + IDLE_TIMER_NS;
            tick.on_idle(now_ns, raw);
            feed_breakers(
                &mut tick,
                now_ns,
                &links,
                capital_micros,
                &mut ring_full_seen,
            );
            if stopping_since_ns.is_none() {
                flattener.step(&mut tick, now_ns, &mut notices);
            }
        }
        // Kill inputs and breakers: act on a trip at once.
        if let Some(trip) = tick.observer.hub.as_mut().and_then(|h| h.poll(now_ns)) {
            if let Some(h) = &mut tick.observer.hub {
                h.journal_trip(&trip);
            }
            apply_trip(&mut tick, &trip, now_ns, &mut notices);
            if trip.state == SafetyState::Halted {
                flattener.arm();
            }
        }

        if tick.counters.intents != intents_seen {
            intents_seen = tick.counters.intents;
            if !spin && let Some(w) = &gateway_waker {
                let _ = w.wake();
            }
        }
        if let Some(gw) = &gateway {
            let g = gw.stats().snapshot();
            links.gateway_up = g.connected && g.logged_on;
            links.gateway_reconnects = g.reconnects;
            links.gateway_status_unknown = g.status_unknown;
            links.gateway_requests = g.requests_sent;
            links.gateway_clock_offset_ms = g.clock_offset_ms;
            links.gateway_rate_limit_used_ppm = g.rate_limit_used_ppm as i64;
            links.gateway_open_orders_queries = g.open_orders_queries;
            links.gateway_cancel_all_confirmations = g.cancel_all_confirmations;
            links.gateway_cancel_all_recancels = g.cancel_all_recancels;
            links.gateway_dead_man_refreshes = g.dead_man_refreshes;
            links.gateway_cancel_all_confirmed = g.cancel_all_confirmed;
            links.gateway_open_orders_at_venue = g.open_orders_at_venue;
            if g.config_error && !key_refused_reported {
                // The venue refused the key or signature: nothing can be traded safely.
                key_refused_reported = true;
                notices.send(Notice::KeyRefused {
                    code: g.last_error_code,
                });
                if let Some(t) = tick
                    .observer
                    .hub
                    .as_mut()
                    .and_then(|h| h.kill(ReasonCode::KeyRefused, now_ns))
                {
                    if let Some(h) = &mut tick.observer.hub {
                        h.journal_trip(&t);
                    }
                    apply_trip(&mut tick, &t, now_ns, &mut notices);
                } else {
                    tick.halt(now_ns);
                }
            }
        }

        // Stats and control (a kill request halts the tick path here).
        links.feed_up = link.stats.up;
        links.feed_failing_attempts = link.stats.failing_attempts;
        links.feed_connects = link.stats.connects;
        links.feed_disconnects = link.stats.disconnects;
        links.feed_connect_failures = link.stats.connect_failures;
        links.feed_stale = link.stats.stale;
        links.feed_rotations = link.stats.rotations;
        if let Some(h) = &tick.observer.hub {
            let latch = h.breakers.latch();
            links.risk_state = i64::from(latch.state().as_u8());
            links.kill_reason = i64::from(latch.reason().code());
        }
        if let Some(p) = &mut publisher
            && let Some(requests) = p.maybe_publish_live(&tick, now_ns, &links)
        {
            if let Some(seq) = requests.kill_seq {
                // The agent's kill: latch, halt, cancel at the venue; then acknowledge.
                if let Some(t) = tick
                    .observer
                    .hub
                    .as_mut()
                    .and_then(|h| h.kill(ReasonCode::ControlWord, now_ns))
                {
                    if let Some(h) = &mut tick.observer.hub {
                        h.journal_trip(&t);
                    }
                    apply_trip(&mut tick, &t, now_ns, &mut notices);
                    if t.state == SafetyState::Halted {
                        flattener.arm();
                    }
                } else if tick.observer.hub.is_none() {
                    tick.halt(now_ns);
                }
                p.ack_kill(seq);
            }
            if let Some(seq) = requests.reset_seq
                && stopping_since_ns.is_none()
                && reset_refused_seq.is_none_or(|refused| seq > refused)
            {
                // Acknowledged only when safe: no kill file, something latched, and the
                // reset journaled. A refused request is never acted on later (the kill file
                // going away must not resume trading by itself): only a newer request is.
                let reset = match &mut tick.observer.hub {
                    Some(h) => h.reset("reset via obi-agent (reason in its audit log)", now_ns),
                    None => Err(ResetRefused::NotLatched),
                };
                match reset {
                    Ok(_) => {
                        tick.resume(now_ns);
                        p.ack_reset(seq);
                    }
                    Err(why) => {
                        reset_refused_seq = Some(seq);
                        notices.send(Notice::ResetRefused { seq, why });
                    }
                }
            }
        }

        // systemd status: only a state change sends anything.
        if readiness.is_enabled() && stopping_since_ns.is_none() {
            let synced = link.stats.up && tick.books().iter().all(|b| b.sync.is_valid());
            let ready = synced && links.gateway_up;
            readiness.update(engine_state(&tick, options.observe_only, ready), ready);
        }

        // Stopping: halt (cancels go out), wait for the venue to confirm, then leave.
        if stopping_since_ns.is_none() {
            let reason = if stop.load(Ordering::Relaxed) {
                Some("stop signal")
            } else if deadline.is_some_and(|d| Instant::now() >= d) {
                Some("duration reached")
            } else {
                None
            };
            if let Some(r) = reason {
                // A stop is not a kill: it halts and cancels for this run but does not latch,
                // so the next start trades unless something else is latched.
                stop_reason = r.to_string();
                if let Some(h) = &mut tick.observer.hub {
                    h.note(now_ns, r);
                }
                readiness.stopping(r);
                tick.halt(now_ns);
                tick.cancel_all_at_venue(now_ns);
                stopping_since_ns = Some(now_ns);
            }
        }
        if let Some(since) = stopping_since_ns
            && (tick.open_orders() == 0 || now_ns.saturating_sub(since) > grace_ns)
        {
            break;
        }
    }

    link.shutdown(&connector, poll.registry());
    let mut gateway_summary = None;
    if let Some(gw) = gateway {
        // The gateway cancels every open order per instrument before it exits.
        let joined = gw.stats().clone();
        let ok = gw.stop().is_ok();
        let g = joined.snapshot();
        gateway_summary = Some(GatewaySummary {
            stopped_cleanly: ok,
            reconnects: g.reconnects,
            requests_sent: g.requests_sent,
            orders_placed: g.orders_placed,
            rejects: g.rejects,
            local_rejects: g.local_rejects,
            fills: g.fills,
            status_unknown: g.status_unknown,
            status_queries: g.status_queries,
            reconciled_fills: g.reconciled_fills,
            server_shutdowns: g.server_shutdowns,
            last_error_code: g.last_error_code,
            venue_confirmed_empty: g.cancel_all_confirmed,
            cancel_all_recancels: g.cancel_all_recancels,
            open_orders_at_venue: g.open_orders_at_venue,
        });
        // Reports that arrived while stopping (the final cancels) still count.
        tick.on_reports(wall.unix_ns(clock.raw()));
    }
    let recording = match recorder {
        Some(r) => {
            let (lines, dropped) = (r.lines, r.dropped);
            match r.finish() {
                Ok(bytes) => Some(RecordingSummary {
                    lines,
                    dropped,
                    bytes,
                    error: None,
                }),
                Err(e) => Some(RecordingSummary {
                    lines,
                    dropped,
                    bytes: 0,
                    error: Some(e.to_string()),
                }),
            }
        }
        None => None,
    };
    if let Some(p) = &mut publisher {
        p.publish_live(&tick, &links);
    }
    let journal = tick.observer.hub.as_mut().and_then(SafetyHub::finish);
    let journal_error = match journal {
        Some(Err(e)) => Some(e),
        _ => None,
    };
    let latch = tick.observer.hub.as_ref().map(|h| *h.breakers.latch());
    let money = tick.money_micros();
    let lat = tick.intent_latency.percentiles();
    let instruments = tick
        .instruments()
        .iter()
        .map(|(id, spec)| {
            let lots = tick.position_lots(id);
            let mut position = String::new();
            let _ = spec.qty.write(&mut position, lots);
            InstrumentEnd {
                symbol: spec.symbol.to_string(),
                book_valid: tick.book(id).sync.is_valid(),
                position_lots: lots,
                position,
            }
        })
        .collect();
    // Everything the core thread had to say is printed before the report.
    printer.finish();
    Ok(RunReport {
        mode: if options.observe_only {
            "record"
        } else if links.trading_mode == 2 {
            "live"
        } else {
            "paper"
        },
        stop_reason,
        elapsed_s: started.elapsed().as_secs_f64(),
        counters: tick.counters,
        feed: link.stats,
        snapshot_requests: links.snapshot_requests,
        snapshot_failures: links.snapshot_failures,
        open_orders_at_end: tick.open_orders(),
        instruments,
        realized_pnl: money.realized as f64 / 1e6,
        unrealized_pnl: money.unrealized as f64 / 1e6,
        max_drawdown: money.max_drawdown as f64 / 1e6,
        intent_latency_ns: [lat.p50, lat.p90, lat.p99, lat.p999, lat.max],
        intent_latency_count: lat.count,
        resync_ms: {
            let r = resync_latency.percentiles();
            [r.p50 as f64 / 1e6, r.max as f64 / 1e6]
        },
        resync_count: resync_latency.percentiles().count,
        halted: tick.is_halted(),
        recording,
        gateway: gateway_summary,
        safety_state: latch.map_or_else(|| "n/a".into(), |l| l.state().to_string()),
        latched_reason: latch.map_or_else(|| "none".into(), |l| l.reason().name().to_string()),
        journal_error,
        reloads: ReloadSummary {
            applied: reload_counts.applied,
            rejected: reload_counts.rejected,
            unchanged: reload_counts.unchanged,
            restart_needed: reload_counts.restart_needed.to_string(),
        },
        strategy: strategy_in_effect,
    })
}

/// What the engine is doing, for systemd's status line. `ready`: every book synchronised
/// and, live, the order gateway logged on.
fn engine_state(tick: &TickPath<LiveObserver>, observe_only: bool, ready: bool) -> EngineState {
    let latch = tick.observer.hub.as_ref().map(|h| *h.breakers.latch());
    if observe_only {
        return if ready {
            EngineState::Recording
        } else {
            EngineState::Syncing
        };
    }
    if tick.is_halted() {
        return EngineState::Halted(match latch {
            Some(l) if l.state() == SafetyState::Halted => l.reason().name(),
            _ => "operator",
        });
    }
    if !ready {
        return EngineState::Syncing;
    }
    match latch {
        Some(l) if l.state() == SafetyState::Reducing => EngineState::Reducing(l.reason().name()),
        _ => EngineState::Trading,
    }
}

/// Applies a trip: reduce-only, or halt with the venue asked to cancel everything.
fn apply_trip(tick: &mut TickPath<LiveObserver>, trip: &Trip, now_ns: u64, notices: &mut Notices) {
    let notice = Notice::Tripped {
        reason: trip.reason,
        state: trip.state,
        value: trip.value,
        limit: trip.limit,
    };
    match trip.state {
        SafetyState::Running => {}
        SafetyState::Reducing => {
            notices.send(notice);
            tick.set_risk_mode(trip.state.risk_mode());
        }
        SafetyState::Halted => {
            if !tick.is_halted() {
                notices.send(notice);
            }
            tick.halt(now_ns);
            tick.cancel_all_at_venue(now_ns);
        }
    }
}

/// The breakers' periodic inputs: equity, mids, book health, ring-full events, rate limits.
fn feed_breakers(
    tick: &mut TickPath<LiveObserver>,
    now_ns: u64,
    links: &LinkStats,
    capital_micros: i64,
    ring_full_seen: &mut u64,
) {
    if tick.observer.hub.is_none() {
        return;
    }
    let equity = capital_micros.saturating_add(tick.money_micros().equity);
    let ring_full = tick.counters.intent_ring_full;
    let n = tick.books().len();
    // (valid, mid, last frame received): a valid book is only as fresh as its last frame,
    // so a feed that goes silent with its socket open still trips the stale-book breaker.
    let mut mids = [(false, 0i64, 0u64); 64];
    for (i, slot) in mids.iter_mut().enumerate().take(n.min(64)) {
        let ib = &tick.books()[i];
        let mid = crate::portfolio::Portfolio::mid_x2_ticks(&ib.book).unwrap_or(0);
        *slot = (ib.sync.is_valid(), mid, ib.last_receipt_ns);
    }
    let Some(h) = &mut tick.observer.hub else {
        return;
    };
    h.breakers.on_equity(equity, now_ns);
    for (i, (valid, mid, last_frame_ns)) in mids.iter().enumerate().take(n.min(64)) {
        let id = InstrumentId(i as u16);
        h.breakers.on_book(id, *valid, *last_frame_ns);
        if *valid && *mid > 0 {
            h.breakers.on_mid(id, *mid, now_ns);
        }
    }
    while *ring_full_seen < ring_full {
        *ring_full_seen += 1;
        h.breakers.on_intent_ring_full(now_ns);
    }
    if links.trading_mode == 2 {
        h.breakers
            .on_rate_limit(links.gateway_rate_limit_used_ppm.max(0) as u64, 1_000_000);
    }
}

/// The order gateway's settings from the engine config.
fn gateway_config(config: &Config, run_id: u64) -> GatewayConfig {
    let v = &config.venue.section;
    let keys = config.venue.key_source();
    let mut g = GatewayConfig::new(config.venue.ws_api.to_string(), keys, run_id);
    // USD-M needs the user-data stream base and the REST base (cancel-all, dead-man switch);
    // spot ignores both.
    g.stream_url = Some(config.venue.stream.to_string());
    g.rest_url = Some(config.venue.rest.to_string());
    g.recv_window_ms = v.recv_window_ms;
    g.dead_man_ms = v.dead_man_ms;
    g.dead_man_refresh_ms = v.dead_man_refresh_ms;
    g.connect_timeout_ms = v.connect_timeout_ms;
    g.backoff = config.venue.backoff();
    g.poll_mode = match config.engine.poll_mode {
        PollMode::Spin => binance::PollMode::Spin,
        PollMode::Block => binance::PollMode::Block,
    };
    g
}

/// Pins the calling thread; says so once if the core does not exist.
fn pin_to(core: usize) {
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    match ids.into_iter().find(|c| c.id == core) {
        Some(id) if core_affinity::set_for_current(id) => {}
        _ => eprintln!("obi-engine: cannot pin the core thread to core {core}; running unpinned"),
    }
}
