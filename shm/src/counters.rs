//! Counter registry and snapshot: single-writer monotonic `u64` counters.
//!
//! The engine's hot thread is the only writer; it does a `Relaxed` load and store (no
//! read-modify-write needed with one writer). Readers load `Relaxed`: each counter is exact on
//! its own, but two counters read together are not a consistent pair.

use crate::layout::COUNTER_SLOTS;
use crate::registry::slot_registry;

slot_registry! {
    /// Counter ids: slot numbers in the counters area. Never renumber, never reuse.
    pub enum CounterId capacity COUNTER_SLOTS => {
        FramesTotal = 0, "frames_total", "Market-data frames received.";
        BytesTotal = 1, "bytes_total", "Market-data bytes received.";
        ParseErrorsTotal = 2, "parse_errors_total", "Frames that failed to parse.";
        UnknownEventsTotal = 3, "unknown_events_total", "Parsed frames with an unknown event type.";
        DiffsAppliedTotal = 4, "diffs_applied_total", "Book diffs applied to a valid book.";
        DiffsBufferedTotal = 5, "diffs_buffered_total", "Book diffs buffered while resynchronising.";
        DiffsStaleTotal = 6, "diffs_stale_total", "Book diffs dropped as older than the book.";
        GapsTotal = 7, "gaps_total", "Sequence gaps detected (book marked invalid).";
        ResyncsTotal = 8, "resyncs_total", "Book resynchronisations from a snapshot.";
        CrossedTotal = 9, "crossed_total", "Books found crossed (best bid >= best ask).";
        SnapshotsTotal = 10, "snapshots_total", "Book snapshots applied.";
        TickersTotal = 11, "tickers_total", "Ticker (best bid/ask) events received.";
        TradesTotal = 12, "trades_total", "Public trade events received.";
        BookEventsTotal = 13, "book_events_total", "Book events delivered to signals.";
        IntentsTotal = 14, "intents_total", "Order intents produced by strategies.";
        IntentsRiskRejectedTotal = 15, "intents_risk_rejected_total", "Order intents rejected by risk.";
        IntentRingFullTotal = 16, "intent_ring_full_total", "Intents dropped because the intent ring was full.";
        ReportsTotal = 17, "reports_total", "Execution reports received from the gateway.";
        OrdersPlacedTotal = 18, "orders_placed_total", "Orders acknowledged as placed by the venue.";
        OrdersCanceledTotal = 19, "orders_canceled_total", "Orders acknowledged as canceled.";
        OrdersRejectedTotal = 20, "orders_rejected_total", "Orders rejected by the venue.";
        FillsTotal = 21, "fills_total", "Fills (partial or full) received.";
        KillRequestsAckedTotal = 22, "kill_requests_acked_total", "Kill requests from the control area acted on.";
        ResetRequestsAckedTotal = 23, "reset_requests_acked_total", "Reset requests from the control area acted on.";
        FeedConnectsTotal = 24, "feed_connects_total", "Market-data connections established (including replacements).";
        FeedDisconnectsTotal = 25, "feed_disconnects_total", "Market-data connections lost after being up (closed, error or stale).";
        FeedConnectFailuresTotal = 26, "feed_connect_failures_total", "Market-data connection attempts that failed.";
        FeedStaleTotal = 27, "feed_stale_total", "Times the market-data feed went silent beyond the stale limit.";
        FeedRotationsTotal = 28, "feed_rotations_total", "Market-data connections replaced before their age limit without a gap.";
        SnapshotRequestsTotal = 29, "snapshot_requests_total", "REST depth snapshots requested.";
        SnapshotFailuresTotal = 30, "snapshot_failures_total", "REST depth snapshot requests that failed.";
        GatewayReconnectsTotal = 31, "gateway_reconnects_total", "Order-gateway connections re-established after a loss.";
        GatewayStatusUnknownTotal = 32, "gateway_status_unknown_total", "Order requests answered with status unknown (resolved by a status query).";
        GatewayRequestsTotal = 33, "gateway_requests_total", "Requests sent to the venue's order API.";
        GatewayOpenOrdersQueriesTotal = 34, "gateway_open_orders_queries_total", "Open-order queries sent to confirm a cancel-all.";
        GatewayCancelAllConfirmationsTotal = 35, "gateway_cancel_all_confirmations_total", "Cancel-alls confirmed by the venue listing no open order (per instrument).";
        GatewayCancelAllRecancelsTotal = 36, "gateway_cancel_all_recancels_total", "Cancel-alls sent again because the venue still listed orders.";
        GatewayDeadManRefreshesTotal = 37, "gateway_dead_man_refreshes_total", "Exchange-side dead-man switch (USD-M countdownCancelAll) armed or re-armed, per symbol.";
    }
}

/// All counter slots, read `Relaxed` one by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterSnapshot {
    values: [u64; COUNTER_SLOTS],
}

impl CounterSnapshot {
    pub(crate) const fn from_slots(values: [u64; COUNTER_SLOTS]) -> Self {
        Self { values }
    }

    /// Value of one counter.
    ///
    /// ```
    /// use obi_shm::{CounterId, StatsWriter, WriterInfo};
    /// let info = WriterInfo { pid: 1, start_unix_ns: 0, instruments: &[] };
    /// let mut writer = StatsWriter::anonymous(&info)?;
    /// writer.add_counter(CounterId::FramesTotal, 3);
    /// assert_eq!(writer.view().counters().get(CounterId::FramesTotal), 3);
    /// # Ok::<(), obi_shm::ShmError>(())
    /// ```
    #[must_use]
    pub const fn get(&self, id: CounterId) -> u64 {
        self.values[id.slot()]
    }

    /// Raw value of a slot, including slots with no registered id (newer minor versions).
    #[must_use]
    pub fn slot(&self, slot: usize) -> Option<u64> {
        self.values.get(slot).copied()
    }

    /// Every registered counter with its value, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (CounterId, u64)> + '_ {
        CounterId::ALL.iter().map(|&id| (id, self.get(id)))
    }
}
