//! The market thread: paces the source (source time / speed, or a fixed frame interval),
//! applies each event to the venue, fans frames out to market connections, and fires the
//! timed faults (drops, gaps, malformed frames, stalls, serverShutdown).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Shared;
use super::outbox::{ConnHandle, ConnKind};
use super::source::{MarketSource, SourceEvent, Timed};
use super::wire::envelope;

/// While a market connection has this many frames queued, an unpaced (`speed = 0`) source
/// waits for it.
const HIGH_WATER_FRAMES: usize = 10_000;
/// Wait between checks while an unpaced source is held back by a slow connection.
const BACKPRESSURE_WAIT: Duration = Duration::from_millis(1);
/// Wait between checks while an unpaced source has no market connection to feed.
const NO_LISTENER_WAIT: Duration = Duration::from_millis(20);

/// A periodic fault timer.
#[derive(Debug)]
struct Every {
    period: Option<Duration>,
    next: Option<Instant>,
}

impl Every {
    fn new(period_s: f64, start: Instant) -> Every {
        let period = (period_s > 0.0).then(|| Duration::from_secs_f64(period_s));
        Every {
            period,
            next: period.map(|p| start + p),
        }
    }

    /// True (once per period) when due at `now`.
    fn due(&mut self, now: Instant) -> bool {
        match (self.next, self.period) {
            (Some(t), Some(p)) if t <= now => {
                self.next = Some((t + p).max(now));
                true
            }
            _ => false,
        }
    }
}

struct Faults {
    drop: Every,
    gap: Every,
    malformed: Every,
    stall: Every,
    shutdown: Every,
    gap_pending: bool,
}

impl Faults {
    fn next_deadline(&self) -> Option<Instant> {
        [
            &self.drop,
            &self.gap,
            &self.malformed,
            &self.stall,
            &self.shutdown,
        ]
        .iter()
        .filter_map(|e| e.next)
        .min()
    }
}

/// Runs the market until shutdown.
pub fn run(shared: Arc<Shared>, mut source: Box<dyn MarketSource>) {
    let start = Instant::now();
    let f = &shared.cfg.faults;
    let mut faults = Faults {
        drop: Every::new(f.drop_every_s, start),
        gap: Every::new(f.gap_every_s, start),
        malformed: Every::new(f.malformed_every_s, start),
        stall: Every::new(f.stall_every_s, start),
        shutdown: Every::new(f.shutdown_every_s, start),
        gap_pending: false,
    };
    let interval = (shared.cfg.frame_interval_us > 0)
        .then(|| Duration::from_micros(shared.cfg.frame_interval_us));
    let speed = shared.cfg.speed;
    let mut pending: Option<Timed> = source.next_event();
    let source_start_ns = pending.as_ref().map_or(0, |t| t.source_ns);
    let mut next_frame_at = start;
    let mut next_trade_id: u64 = 1;
    loop {
        if shared.is_shutdown() {
            return;
        }
        let now = Instant::now();
        fire_faults(&shared, &mut faults, now);
        let mut wait_until = faults.next_deadline();
        if let Some(ev) = pending.as_ref() {
            let due = if interval.is_some() {
                Some(next_frame_at)
            } else if speed > 0.0 {
                let offset_ns = ev.source_ns.saturating_sub(source_start_ns) as f64 / speed;
                // Saturating: a far-future due time just means "wait".
                Some(
                    start
                        .checked_add(Duration::from_nanos(offset_ns as u64))
                        .unwrap_or(now + Duration::from_secs(3_600)),
                )
            } else {
                held_back(&shared).map(|wait| now + wait)
            };
            match due {
                Some(t) if t > now => {
                    wait_until = Some(wait_until.map_or(t, |w| w.min(t)));
                }
                _ => {
                    if let Some(ev) = pending.take() {
                        publish(&shared, &ev, &mut faults, &mut next_trade_id);
                    }
                    pending = source.next_event();
                    if pending.is_none() {
                        let mut st = shared.lock_state();
                        st.record.source_ended = true;
                        st.record.source_skipped = source.skipped();
                    }
                    if let Some(iv) = interval {
                        // A fixed cadence (frames/s = 1e6 / interval): wake-up lateness is
                        // absorbed. More than one interval behind, restart from now instead
                        // of bursting to catch up.
                        next_frame_at += iv;
                        let now = Instant::now();
                        if next_frame_at + iv < now {
                            next_frame_at = now;
                        }
                    }
                    continue;
                }
            }
        }
        shared.wait_until(wait_until);
    }
}

/// How long an unpaced source waits: while no market connection is open, or one is far
/// behind. `None`: go on at once.
fn held_back(shared: &Shared) -> Option<Duration> {
    let conns = shared.conns();
    let market: Vec<&Arc<ConnHandle>> = conns
        .iter()
        .filter(|c| c.kind == ConnKind::Market)
        .collect();
    if market.is_empty() {
        Some(NO_LISTENER_WAIT)
    } else if market.iter().any(|c| c.queued() > HIGH_WATER_FRAMES) {
        Some(BACKPRESSURE_WAIT)
    } else {
        None
    }
}

fn fire_faults(shared: &Shared, faults: &mut Faults, now: Instant) {
    if faults.drop.due(now) {
        let conns = shared.conns();
        for c in conns.iter() {
            c.drop_now();
        }
        shared.lock_state().record.faults.dropped_connections += conns.len() as u64;
    }
    if faults.gap.due(now) {
        faults.gap_pending = true;
    }
    if faults.malformed.due(now) {
        let conns = shared.conns();
        let mut n = 0;
        for c in conns.iter().filter(|c| c.kind == ConnKind::Market) {
            let Some(name) = c.streams.depth.as_ref().or(c.streams.trade.as_ref()) else {
                continue;
            };
            // A frame cut off mid-object: not JSON.
            c.push(format!(
                r#"{{"stream":"{name}","data":{{"e":"depthUpdate","E":"#
            ));
            n += 1;
        }
        shared.lock_state().record.faults.malformed_frames += n;
    }
    if faults.stall.due(now) {
        let until = now + Duration::from_millis(shared.cfg.faults.stall_ms);
        for c in shared.conns().iter().filter(|c| c.kind == ConnKind::Market) {
            c.stall_until(until);
        }
        shared.lock_state().record.faults.stalls += 1;
    }
    if faults.shutdown.due(now) {
        let close_at = now + Duration::from_millis(shared.cfg.faults.shutdown_grace_ms);
        let ms = shared.clock.now_ns() / 1_000_000;
        let text = format!(r#"{{"event":{{"e":"serverShutdown","E":{ms}}}}}"#);
        let conns = shared.conns();
        let mut n = 0;
        for c in conns.iter().filter(|c| c.kind == ConnKind::Api) {
            c.push(text.clone());
            c.close_at(close_at);
            n += 1;
        }
        shared.lock_state().record.faults.server_shutdowns += n;
    }
}

fn publish(shared: &Shared, ev: &Timed, faults: &mut Faults, next_trade_id: &mut u64) {
    let now_ns = shared.clock.now_ns();
    let now_ms = now_ns / 1_000_000;
    let mut payload = String::with_capacity(256);
    let w = &shared.writer;
    let kind;
    {
        let mut st = shared.lock_state();
        let first_id = st.on_market(&ev.event, now_ns);
        match &ev.event {
            SourceEvent::Diff { bids, asks, .. } => {
                if faults.gap_pending {
                    faults.gap_pending = false;
                    st.record.faults.gaps += 1;
                    st.flush_events();
                    return;
                }
                st.record.diffs_published += 1;
                let first = first_id.unwrap_or(st.last_update_id);
                w.depth_payload(&mut payload, now_ms, first, st.last_update_id, bids, asks);
                kind = 0;
            }
            SourceEvent::Ticker {
                update_id,
                bid,
                ask,
            } => {
                w.ticker_payload(&mut payload, *update_id, *bid, *ask);
                kind = 1;
            }
            SourceEvent::Trade {
                print,
                buyer_is_maker,
            } => {
                w.trade_payload(
                    &mut payload,
                    now_ms,
                    *next_trade_id,
                    *print,
                    *buyer_is_maker,
                );
                *next_trade_id += 1;
                kind = 2;
            }
        }
        st.flush_events();
    }
    for c in shared.conns().iter().filter(|c| c.kind == ConnKind::Market) {
        let name = match kind {
            0 => c.streams.depth.as_ref(),
            1 => c.streams.ticker.as_ref(),
            _ => c.streams.trade.as_ref(),
        };
        if let Some(name) = name {
            c.push(envelope(name, &payload));
        }
    }
}
