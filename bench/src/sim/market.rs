//! The market thread: paces the source (source time / speed, or a fixed frame interval),
//! applies each event to the venue, fans frames out to market connections, and fires the
//! timed faults (drops, gaps, malformed frames, stalls, serverShutdown) and the market
//! faults asked for through [`super::Control`] (silences, price jumps).

use std::sync::Arc;
use std::time::{Duration, Instant};

use obi_engine::units::{Level, Side};

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

/// A fault that fires once, `after_s` after start (never at 0).
#[derive(Debug)]
struct Once {
    at: Option<Instant>,
}

impl Once {
    fn new(after_s: f64, start: Instant) -> Once {
        Once {
            at: (after_s > 0.0).then(|| start + Duration::from_secs_f64(after_s)),
        }
    }

    fn due(&mut self, now: Instant) -> bool {
        match self.at {
            Some(t) if t <= now => {
                self.at = None;
                true
            }
            _ => false,
        }
    }
}

struct Faults {
    silence: Once,
    jump: Once,
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
        .chain(self.silence.at)
        .chain(self.jump.at)
        .min()
    }
}

/// Runs the market until shutdown.
pub fn run(shared: Arc<Shared>, mut source: Box<dyn MarketSource>) {
    // Pacing origin; moved forward by silences so the market resumes where it stopped.
    let mut start = Instant::now();
    let f = &shared.cfg.faults;
    let mut faults = Faults {
        silence: Once::new(f.silence_after_s, start),
        jump: Once::new(f.price_jump_after_s, start),
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
    // Ticks every source price is moved by (the sum of the jumps so far).
    let mut offset_ticks: i64 = 0;
    let mut silent_since: Option<Instant> = None;
    loop {
        if shared.is_shutdown() {
            return;
        }
        let now = Instant::now();
        fire_faults(&shared, &mut faults, now);
        let (silence_until, jumps) = {
            let mut c = shared.lock_control();
            (c.silence_until, std::mem::take(&mut c.jumps_bps))
        };
        for bps in jumps {
            offset_ticks += jump(&shared, bps, &mut faults, &mut next_trade_id);
        }
        match (silence_until, silent_since) {
            (Some(until), _) if until > now => {
                silent_since.get_or_insert(now);
                let wake = faults.next_deadline().map_or(until, |d| d.min(until));
                shared.wait_until(Some(wake));
                continue;
            }
            (_, Some(since)) => {
                start += now.saturating_duration_since(since);
                next_frame_at = next_frame_at.max(now);
                silent_since = None;
            }
            _ => {}
        }
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
                        let event = shifted(ev.event, offset_ticks);
                        publish(&shared, &event, &mut faults, &mut next_trade_id);
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

/// `event` with every price moved by `offset_ticks`.
fn shifted(event: SourceEvent, offset_ticks: i64) -> SourceEvent {
    if offset_ticks == 0 {
        return event;
    }
    let mv = |l: Level| Level::new(l.price.0 + offset_ticks, l.qty.0);
    match event {
        SourceEvent::Diff {
            last_update_id,
            bids,
            asks,
        } => SourceEvent::Diff {
            last_update_id,
            bids: bids.into_iter().map(mv).collect(),
            asks: asks.into_iter().map(mv).collect(),
        },
        SourceEvent::Ticker {
            update_id,
            bid,
            ask,
        } => SourceEvent::Ticker {
            update_id,
            bid: mv(bid),
            ask: mv(ask),
        },
        SourceEvent::Trade {
            print,
            buyer_is_maker,
        } => SourceEvent::Trade {
            print: mv(print),
            buyer_is_maker,
        },
    }
}

/// Moves the whole published book by `bps` of its mid: one diff deletes every level, the
/// next re-adds them shifted. Returns the shift in ticks (0 when the book is one-sided).
fn jump(shared: &Shared, bps: i32, faults: &mut Faults, next_trade_id: &mut u64) -> i64 {
    let (bids, asks): (Vec<Level>, Vec<Level>) = {
        let st = shared.lock_state();
        (
            st.book.levels(Side::Bid).collect(),
            st.book.levels(Side::Ask).collect(),
        )
    };
    let (Some(bid), Some(ask)) = (bids.first(), asks.first()) else {
        return 0;
    };
    let mid = i128::from(bid.price.0 + ask.price.0) / 2;
    let shift = i64::try_from(mid * i128::from(bps) / 10_000).unwrap_or(0);
    let lowest = bids.last().map_or(0, |l| l.price.0);
    if shift == 0 || lowest + shift <= 0 {
        return 0;
    }
    let gone = |v: &[Level]| v.iter().map(|l| Level::new(l.price.0, 0)).collect();
    let moved = |v: &[Level]| {
        v.iter()
            .map(|l| Level::new(l.price.0 + shift, l.qty.0))
            .collect()
    };
    // `last_update_id` 0: the venue numbers them on from its last diff.
    let delete = SourceEvent::Diff {
        last_update_id: 0,
        bids: gone(&bids),
        asks: gone(&asks),
    };
    let add = SourceEvent::Diff {
        last_update_id: 0,
        bids: moved(&bids),
        asks: moved(&asks),
    };
    publish(shared, &delete, faults, next_trade_id);
    publish(shared, &add, faults, next_trade_id);
    shared.lock_state().record.faults.price_jumps += 1;
    shift
}

fn fire_faults(shared: &Shared, faults: &mut Faults, now: Instant) {
    if faults.drop.due(now) {
        shared.drop_all();
    }
    if faults.silence.due(now) {
        shared.silence(Duration::from_millis(shared.cfg.faults.silence_ms));
    }
    if faults.jump.due(now) {
        shared
            .lock_control()
            .jumps_bps
            .push(shared.cfg.faults.price_jump_bps);
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

fn publish(shared: &Shared, ev: &SourceEvent, faults: &mut Faults, next_trade_id: &mut u64) {
    let now_ns = shared.clock.now_ns();
    let now_ms = now_ns / 1_000_000;
    let mut payload = String::with_capacity(256);
    let w = &shared.writer;
    let kind;
    {
        let mut st = shared.lock_state();
        let first_id = st.on_market(ev, now_ns);
        match ev {
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
