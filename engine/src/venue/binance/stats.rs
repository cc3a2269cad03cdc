//! Gateway counters and gauges: plain atomics the gateway thread writes (`Relaxed`: each is
//! an independent figure, none guards other data) and the core thread copies into shared
//! memory with [`GatewayStats::snapshot`].

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering::Relaxed};

/// Live gateway figures. Counters only grow; gauges are current values.
#[derive(Debug, Default)]
pub struct GatewayStats {
    /// Gauge: a WS API session is connected and ready (logged on, subscribed).
    pub connected: AtomicBool,
    /// Gauge: the session is logged on.
    pub logged_on: AtomicBool,
    /// Connections that were up and were lost or replaced.
    pub reconnects: AtomicU64,
    /// Connection attempts (successful or not).
    pub connect_attempts: AtomicU64,
    /// Connection attempts that failed.
    pub connect_failures: AtomicU64,
    /// Requests written to the venue.
    pub requests_sent: AtomicU64,
    /// `order.place` requests sent.
    pub orders_placed: AtomicU64,
    /// `order.cancel` and `openOrders.cancelAll` requests sent.
    pub cancels_sent: AtomicU64,
    /// `Accepted` reports.
    pub acks: AtomicU64,
    /// `Rejected` reports (venue and local).
    pub rejects: AtomicU64,
    /// Of `rejects`: refused locally (disconnected, rate-limit headroom, config error,
    /// stopping, duplicate id).
    pub local_rejects: AtomicU64,
    /// `Filled` reports.
    pub fills: AtomicU64,
    /// `Canceled` reports.
    pub cancels: AtomicU64,
    /// `-1007` answers (send status unknown).
    pub status_unknown: AtomicU64,
    /// `order.status` queries sent.
    pub status_queries: AtomicU64,
    /// Fills found by reconciliation (`order.status`/cancel results) rather than events.
    pub reconciled_fills: AtomicU64,
    /// Events or states that repeated what was already reported (skipped).
    pub duplicates_skipped: AtomicU64,
    /// Gauge: usage of the tightest venue rate limit, parts per million.
    pub rate_limit_used_ppm: AtomicU64,
    /// `-1003`/`-1015` answers.
    pub rate_limited: AtomicU64,
    /// Gauge: venue clock minus local clock, ms.
    pub clock_offset_ms: AtomicI64,
    /// Clock syncs completed.
    pub clock_syncs: AtomicU64,
    /// Gauge: last venue error code (0 = none yet).
    pub last_error_code: AtomicI64,
    /// Gauge: the venue refused the credentials (`-1022`, `-2015`, failed logon); the
    /// gateway sends nothing more and the core thread should halt.
    pub config_error: AtomicBool,
    /// `serverShutdown` events handled.
    pub server_shutdowns: AtomicU64,
    /// Frames that could not be read (malformed, unknown ids, foreign orders): skipped.
    pub frames_skipped: AtomicU64,
    /// Fees not in the quote or base asset (or unreadable), approximated.
    pub fees_approximated: AtomicU64,
    /// Requests that got no answer in time.
    pub request_timeouts: AtomicU64,
    /// `Place` intents whose order id was not above every earlier one: dropped, never sent
    /// (a client order id is never reused).
    pub duplicate_ids: AtomicU64,
    /// Reports that found the report ring full and waited in the gateway.
    pub report_ring_full: AtomicU64,
    /// Gauge: the gateway thread has exited.
    pub stopped: AtomicBool,
    /// Gauge (USD-M): the listenKey user-data stream is connected.
    pub user_stream_up: AtomicBool,
    /// USD-M user-data stream connections made (the first and every reconnect).
    pub user_stream_connects: AtomicU64,
    /// USD-M user-data stream connections that were up and were lost or replaced.
    pub user_stream_drops: AtomicU64,
    /// `userDataStream.ping` keep-alives sent.
    pub listen_key_pings: AtomicU64,
    /// `listenKeyExpired` events received.
    pub listen_key_expired: AtomicU64,
    /// REST cancel-alls (`DELETE /fapi/v1/allOpenOrders`) the venue confirmed.
    pub rest_cancel_alls: AtomicU64,
    /// Dead-man refreshes (`countdownCancelAll`) the venue confirmed.
    pub dead_man_refreshes: AtomicU64,
    /// REST requests that failed (transport error or venue refusal).
    pub rest_failures: AtomicU64,
    /// `openOrders.status` queries sent to confirm a cancel-all.
    pub open_orders_queries: AtomicU64,
    /// Cancel-alls confirmed: an `openOrders.status` after the cancel-all listed no order
    /// on the instrument (one per instrument and cancel-all).
    pub cancel_all_confirmations: AtomicU64,
    /// Cancel-alls sent again because the confirming query still listed open orders.
    pub cancel_all_recancels: AtomicU64,
    /// Gauge: every instrument that got a cancel-all (halt, stop) has since been confirmed
    /// empty at the venue by an open-orders query; false while any confirmation is still
    /// running and before the first cancel-all.
    pub cancel_all_confirmed: AtomicBool,
    /// Gauge: open orders (ours and foreign) the confirming queries last listed, summed
    /// over instruments.
    pub open_orders_at_venue: AtomicU32,
}

/// A plain copy of [`GatewayStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct GatewayStatsSnapshot {
    pub connected: bool,
    pub logged_on: bool,
    pub reconnects: u64,
    pub connect_attempts: u64,
    pub connect_failures: u64,
    pub requests_sent: u64,
    pub orders_placed: u64,
    pub cancels_sent: u64,
    pub acks: u64,
    pub rejects: u64,
    pub local_rejects: u64,
    pub fills: u64,
    pub cancels: u64,
    pub status_unknown: u64,
    pub status_queries: u64,
    pub reconciled_fills: u64,
    pub duplicates_skipped: u64,
    pub rate_limit_used_ppm: u64,
    pub rate_limited: u64,
    pub clock_offset_ms: i64,
    pub clock_syncs: u64,
    pub last_error_code: i64,
    pub config_error: bool,
    pub server_shutdowns: u64,
    pub frames_skipped: u64,
    pub fees_approximated: u64,
    pub request_timeouts: u64,
    pub duplicate_ids: u64,
    pub report_ring_full: u64,
    pub stopped: bool,
    pub user_stream_up: bool,
    pub user_stream_connects: u64,
    pub user_stream_drops: u64,
    pub listen_key_pings: u64,
    pub listen_key_expired: u64,
    pub rest_cancel_alls: u64,
    pub dead_man_refreshes: u64,
    pub rest_failures: u64,
    pub open_orders_queries: u64,
    pub cancel_all_confirmations: u64,
    pub cancel_all_recancels: u64,
    pub cancel_all_confirmed: bool,
    pub open_orders_at_venue: u32,
}

impl GatewayStats {
    /// Copies every figure (each read `Relaxed`; figures are independent).
    pub fn snapshot(&self) -> GatewayStatsSnapshot {
        GatewayStatsSnapshot {
            connected: self.connected.load(Relaxed),
            logged_on: self.logged_on.load(Relaxed),
            reconnects: self.reconnects.load(Relaxed),
            connect_attempts: self.connect_attempts.load(Relaxed),
            connect_failures: self.connect_failures.load(Relaxed),
            requests_sent: self.requests_sent.load(Relaxed),
            orders_placed: self.orders_placed.load(Relaxed),
            cancels_sent: self.cancels_sent.load(Relaxed),
            acks: self.acks.load(Relaxed),
            rejects: self.rejects.load(Relaxed),
            local_rejects: self.local_rejects.load(Relaxed),
            fills: self.fills.load(Relaxed),
            cancels: self.cancels.load(Relaxed),
            status_unknown: self.status_unknown.load(Relaxed),
            status_queries: self.status_queries.load(Relaxed),
            reconciled_fills: self.reconciled_fills.load(Relaxed),
            duplicates_skipped: self.duplicates_skipped.load(Relaxed),
            rate_limit_used_ppm: self.rate_limit_used_ppm.load(Relaxed),
            rate_limited: self.rate_limited.load(Relaxed),
            clock_offset_ms: self.clock_offset_ms.load(Relaxed),
            clock_syncs: self.clock_syncs.load(Relaxed),
            last_error_code: self.last_error_code.load(Relaxed),
            config_error: self.config_error.load(Relaxed),
            server_shutdowns: self.server_shutdowns.load(Relaxed),
            frames_skipped: self.frames_skipped.load(Relaxed),
            fees_approximated: self.fees_approximated.load(Relaxed),
            request_timeouts: self.request_timeouts.load(Relaxed),
            duplicate_ids: self.duplicate_ids.load(Relaxed),
            report_ring_full: self.report_ring_full.load(Relaxed),
            stopped: self.stopped.load(Relaxed),
            user_stream_up: self.user_stream_up.load(Relaxed),
            user_stream_connects: self.user_stream_connects.load(Relaxed),
            user_stream_drops: self.user_stream_drops.load(Relaxed),
            listen_key_pings: self.listen_key_pings.load(Relaxed),
            listen_key_expired: self.listen_key_expired.load(Relaxed),
            rest_cancel_alls: self.rest_cancel_alls.load(Relaxed),
            dead_man_refreshes: self.dead_man_refreshes.load(Relaxed),
            rest_failures: self.rest_failures.load(Relaxed),
            open_orders_queries: self.open_orders_queries.load(Relaxed),
            cancel_all_confirmations: self.cancel_all_confirmations.load(Relaxed),
            cancel_all_recancels: self.cancel_all_recancels.load(Relaxed),
            cancel_all_confirmed: self.cancel_all_confirmed.load(Relaxed),
            open_orders_at_venue: self.open_orders_at_venue.load(Relaxed),
        }
    }
}

/// Adds one to a counter.
#[inline]
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Relaxed);
}
