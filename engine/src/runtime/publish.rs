//! Publishing the core thread's counters and gauges to the shared-memory stats file.
//!
//! Called from the core thread's loop, but only every `publish_interval_ms` of wall time
//! (checked every [`CHECK_EVERY_FRAMES`] frames), so the per-frame cost is one compare. The
//! publish itself is a handful of relaxed stores under the seqlock: no allocation, no
//! syscall. The same call polls the control word and acts on a kill request.

use super::tick::{TickObserver, TickPath};
use crate::config::Config;
use crate::units::Side;
use obi_shm::{CounterId, GaugeId, InstrumentGaugeId, ShmError, StatsWriter, WriterInfo};
use std::time::{SystemTime, UNIX_EPOCH};

/// Frames between wall-clock checks.
pub const CHECK_EVERY_FRAMES: u64 = 256;

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Connection state the live run loop adds to what the tick path knows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// 1 paper, 2 live (replay publishes 0).
    pub trading_mode: i64,
    /// Market-data connection up.
    pub feed_up: bool,
    /// Consecutive failed market-data connection attempts.
    pub feed_failing_attempts: u32,
    /// Market-data connections established.
    pub feed_connects: u64,
    /// Market-data connections lost.
    pub feed_disconnects: u64,
    /// Failed market-data connection attempts.
    pub feed_connect_failures: u64,
    /// Stale-feed detections.
    pub feed_stale: u64,
    /// Age-based replacements.
    pub feed_rotations: u64,
    /// Snapshots requested.
    pub snapshot_requests: u64,
    /// Snapshot requests that failed.
    pub snapshot_failures: u64,
    /// Order gateway connected and logged on (paper: always).
    pub gateway_up: bool,
    /// Gateway reconnects.
    pub gateway_reconnects: u64,
    /// Status-unknown answers.
    pub gateway_status_unknown: u64,
    /// Requests sent to the order API.
    pub gateway_requests: u64,
    /// Venue clock minus local clock, ms.
    pub gateway_clock_offset_ms: i64,
    /// Tightest rate limit use, ppm.
    pub gateway_rate_limit_used_ppm: i64,
    /// Open-order queries sent to confirm cancel-alls.
    pub gateway_open_orders_queries: u64,
    /// Cancel-alls confirmed empty at the venue (per instrument).
    pub gateway_cancel_all_confirmations: u64,
    /// Cancel-alls re-sent because orders were still listed.
    pub gateway_cancel_all_recancels: u64,
    /// Dead-man switch arms and re-arms (USD-M `countdownCancelAll`, per symbol).
    pub gateway_dead_man_refreshes: u64,
    /// Every instrument's last cancel-all confirmed empty by the venue.
    pub gateway_cancel_all_confirmed: bool,
    /// Open orders the venue listed at the last confirmation query.
    pub gateway_open_orders_at_venue: u32,
    /// Safety state: 0 running, 1 reducing, 2 halted.
    pub risk_state: i64,
    /// Reason code of the latched trip (0: none).
    pub kill_reason: i64,
}

/// The engine's side of the stats file.
#[derive(Debug)]
pub struct ShmPublisher {
    writer: StatsWriter,
    interval_ns: u64,
    next_publish_ns: u64,
    next_check_frame: u64,
    last_frames: u64,
    last_publish_ns: u64,
}

impl ShmPublisher {
    /// Creates (or replaces) the stats file named in the config.
    pub fn create(config: &Config) -> Result<ShmPublisher, ShmError> {
        let symbols: Vec<String> = config
            .instruments
            .iter()
            .map(|(_, s)| s.symbol.to_string())
            .collect();
        let refs: Vec<&str> = symbols.iter().map(String::as_str).collect();
        let now = unix_ns();
        let info = WriterInfo {
            pid: std::process::id(),
            start_unix_ns: now,
            instruments: &refs,
        };
        let writer = StatsWriter::create(&config.engine.shm_path, &info)?;
        Ok(ShmPublisher {
            writer,
            interval_ns: config.engine.publish_interval_ms.saturating_mul(1_000_000),
            next_publish_ns: 0,
            next_check_frame: 0,
            last_frames: 0,
            last_publish_ns: now,
        })
    }

    /// Publishes if the interval has passed; cheap to call after every frame.
    #[inline]
    pub fn maybe_publish<O: TickObserver>(&mut self, tick: &mut TickPath<O>) {
        if tick.counters.frames < self.next_check_frame {
            return;
        }
        self.next_check_frame = tick.counters.frames + CHECK_EVERY_FRAMES;
        let now = unix_ns();
        if now >= self.next_publish_ns {
            self.next_publish_ns = now + self.interval_ns;
            self.poll_control(tick);
            self.publish_at(tick, now, None);
        }
    }

    /// Publishes now.
    pub fn publish<O: TickObserver>(&mut self, tick: &TickPath<O>) {
        self.publish_at(tick, unix_ns(), None);
    }

    /// The live loop's publish: if `now_unix_ns` reached the next publish time, publishes
    /// the tick path's and the links' figures and returns the pending control requests (the
    /// live loop decides what a kill or reset means and acknowledges it). One compare when
    /// nothing is due.
    #[inline]
    pub fn maybe_publish_live<O: TickObserver>(
        &mut self,
        tick: &TickPath<O>,
        now_unix_ns: u64,
        links: &LinkStats,
    ) -> Option<obi_shm::ControlRequests> {
        if now_unix_ns < self.next_publish_ns {
            return None;
        }
        self.next_publish_ns = now_unix_ns + self.interval_ns;
        self.publish_at(tick, now_unix_ns, Some(links));
        Some(self.writer.poll_control())
    }

    /// Acknowledges kill request `seq` (the engine has halted).
    pub fn ack_kill(&mut self, seq: u64) {
        self.writer.ack_kill(seq);
        self.writer
            .add_counter(CounterId::KillRequestsAckedTotal, 1);
    }

    /// Acknowledges reset request `seq` (the engine has resumed: it was safe).
    pub fn ack_reset(&mut self, seq: u64) {
        self.writer.ack_reset(seq);
        self.writer
            .add_counter(CounterId::ResetRequestsAckedTotal, 1);
    }

    /// Publishes the live loop's figures now (at shutdown).
    pub fn publish_live<O: TickObserver>(&mut self, tick: &TickPath<O>, links: &LinkStats) {
        self.publish_at(tick, unix_ns(), Some(links));
    }

    /// Acts on control requests from the agent: a kill halts trading and is acknowledged.
    fn poll_control<O: TickObserver>(&mut self, tick: &mut TickPath<O>) {
        let requests = self.writer.poll_control();
        if let Some(seq) = requests.kill_seq {
            tick.halt(tick.last_ts_ns());
            self.writer.ack_kill(seq);
            self.writer
                .add_counter(CounterId::KillRequestsAckedTotal, 1);
        }
    }

    fn publish_at<O: TickObserver>(
        &mut self,
        tick: &TickPath<O>,
        now_ns: u64,
        links: Option<&LinkStats>,
    ) {
        let c = &tick.counters;
        let w = &mut self.writer;
        if let Some(l) = links {
            for (id, value) in [
                (CounterId::FeedConnectsTotal, l.feed_connects),
                (CounterId::FeedDisconnectsTotal, l.feed_disconnects),
                (CounterId::FeedConnectFailuresTotal, l.feed_connect_failures),
                (CounterId::FeedStaleTotal, l.feed_stale),
                (CounterId::FeedRotationsTotal, l.feed_rotations),
                (CounterId::SnapshotRequestsTotal, l.snapshot_requests),
                (CounterId::SnapshotFailuresTotal, l.snapshot_failures),
                (CounterId::GatewayReconnectsTotal, l.gateway_reconnects),
                (
                    CounterId::GatewayStatusUnknownTotal,
                    l.gateway_status_unknown,
                ),
                (CounterId::GatewayRequestsTotal, l.gateway_requests),
                (
                    CounterId::GatewayOpenOrdersQueriesTotal,
                    l.gateway_open_orders_queries,
                ),
                (
                    CounterId::GatewayCancelAllConfirmationsTotal,
                    l.gateway_cancel_all_confirmations,
                ),
                (
                    CounterId::GatewayCancelAllRecancelsTotal,
                    l.gateway_cancel_all_recancels,
                ),
                (
                    CounterId::GatewayDeadManRefreshesTotal,
                    l.gateway_dead_man_refreshes,
                ),
            ] {
                w.set_counter(id, value);
            }
        }
        let links = links.copied().unwrap_or_default();
        for (id, value) in [
            (CounterId::FramesTotal, c.frames),
            (CounterId::BytesTotal, c.bytes),
            (CounterId::ParseErrorsTotal, c.parse_errors),
            (CounterId::UnknownEventsTotal, c.unknown_events),
            (CounterId::DiffsAppliedTotal, c.diffs_applied),
            (CounterId::DiffsBufferedTotal, c.diffs_buffered),
            (CounterId::DiffsStaleTotal, c.diffs_stale),
            (CounterId::GapsTotal, c.gaps),
            (CounterId::ResyncsTotal, c.resyncs),
            (CounterId::CrossedTotal, c.crossed),
            (CounterId::SnapshotsTotal, c.snapshots),
            (CounterId::TickersTotal, c.tickers),
            (CounterId::TradesTotal, c.trades),
            (CounterId::BookEventsTotal, c.book_events),
            (CounterId::IntentsTotal, c.intents),
            (CounterId::IntentsRiskRejectedTotal, c.intents_risk_rejected),
            (CounterId::IntentRingFullTotal, c.intent_ring_full),
            (CounterId::ReportsTotal, c.reports),
            (CounterId::OrdersPlacedTotal, c.orders_accepted),
            (CounterId::OrdersCanceledTotal, c.orders_canceled),
            (CounterId::OrdersRejectedTotal, c.orders_rejected),
            (CounterId::FillsTotal, c.fills),
        ] {
            w.set_counter(id, value);
        }
        let lat = tick.intent_latency.percentiles();
        let elapsed_ns = now_ns.saturating_sub(self.last_publish_ns).max(1);
        let fps = (c.frames - self.last_frames) as u128 * 1_000_000_000 / u128::from(elapsed_ns);
        self.last_frames = c.frames;
        self.last_publish_ns = now_ns;
        let money = tick.money_micros();
        w.publish(|g| {
            g.set(GaugeId::LatencyP50Ns, lat.p50 as i64);
            g.set(GaugeId::LatencyP90Ns, lat.p90 as i64);
            g.set(GaugeId::LatencyP99Ns, lat.p99 as i64);
            g.set(GaugeId::LatencyP999Ns, lat.p999 as i64);
            g.set(GaugeId::LatencyMaxNs, lat.max as i64);
            g.set(GaugeId::RealizedPnlQuoteMicros, money.realized);
            g.set(GaugeId::UnrealizedPnlQuoteMicros, money.unrealized);
            g.set(GaugeId::EquityQuoteMicros, money.equity);
            g.set(GaugeId::DrawdownQuoteMicros, money.drawdown);
            g.set(GaugeId::MaxDrawdownQuoteMicros, money.max_drawdown);
            // Live: the latched reason code (non-zero = latched); replay: 1 when halted.
            let kill_state = if links.kill_reason != 0 {
                links.kill_reason
            } else {
                i64::from(tick.is_halted())
            };
            g.set(GaugeId::KillState, kill_state);
            g.set(GaugeId::RiskState, links.risk_state);
            g.set(
                GaugeId::FramesPerSec,
                i64::try_from(fps).unwrap_or(i64::MAX),
            );
            g.set(GaugeId::LastPublishUnixNs, now_ns as i64);
            g.set(GaugeId::OpenOrders, tick.open_orders() as i64);
            g.set(GaugeId::TradingMode, links.trading_mode);
            g.set(GaugeId::FeedUp, i64::from(links.feed_up));
            g.set(
                GaugeId::FeedFailingAttempts,
                i64::from(links.feed_failing_attempts),
            );
            g.set(GaugeId::GatewayUp, i64::from(links.gateway_up));
            g.set(GaugeId::GatewayClockOffsetMs, links.gateway_clock_offset_ms);
            g.set(
                GaugeId::GatewayRateLimitUsedPpm,
                links.gateway_rate_limit_used_ppm,
            );
            g.set(
                GaugeId::GatewayCancelAllConfirmed,
                i64::from(links.gateway_cancel_all_confirmed),
            );
            g.set(
                GaugeId::GatewayOpenOrdersAtVenue,
                i64::from(links.gateway_open_orders_at_venue),
            );
            for (i, ib) in tick.books().iter().enumerate() {
                let id = crate::instrument::InstrumentId(i as u16);
                let bid = ib.book.best_bid();
                let ask = ib.book.best_ask();
                g.set_instrument(
                    i,
                    InstrumentGaugeId::BookValid,
                    i64::from(ib.sync.is_valid()),
                );
                g.set_instrument(i, InstrumentGaugeId::PositionLots, tick.position_lots(id));
                g.set_instrument(
                    i,
                    InstrumentGaugeId::BestBidTicks,
                    bid.map_or(0, |l| l.price.0),
                );
                g.set_instrument(
                    i,
                    InstrumentGaugeId::BestAskTicks,
                    ask.map_or(0, |l| l.price.0),
                );
                g.set_instrument(
                    i,
                    InstrumentGaugeId::BidLevels,
                    ib.book.len(Side::Bid) as i64,
                );
                g.set_instrument(
                    i,
                    InstrumentGaugeId::AskLevels,
                    ib.book.len(Side::Ask) as i64,
                );
                g.set_instrument(i, InstrumentGaugeId::LastExchangeEventMs, ib.last_event_ms);
                g.set_instrument(
                    i,
                    InstrumentGaugeId::LastReceiptUnixNs,
                    ib.last_receipt_ns as i64,
                );
                let lag_ms = if ib.last_event_ms > 0 {
                    (ib.last_receipt_ns / 1_000_000) as i64 - ib.last_event_ms
                } else {
                    0
                };
                g.set_instrument(i, InstrumentGaugeId::FeedLagMs, lag_ms);
                g.set_instrument(i, InstrumentGaugeId::ObiPpm, ib.last_obi_ppm);
            }
        });
        w.heartbeat(now_ns);
    }
}
