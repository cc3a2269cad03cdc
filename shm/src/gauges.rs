//! Gauge registries, the writer's handle inside a seqlock section, and the reader's snapshot.
//!
//! Gauges are `i64` stored as the bits of an `AtomicU64`; all of them (global and
//! per-instrument) sit behind one seqlock, so a snapshot is one consistent publish.

use crate::layout::{GAUGE_DATA_SLOTS, GAUGE_SLOTS, INSTRUMENT_GAUGE_SLOTS, MAX_INSTRUMENTS};
use crate::registry::slot_registry;
use crate::sync::atomic::{AtomicU64, Ordering};

slot_registry! {
    /// Engine-wide gauge ids: slot numbers in the gauges area. Never renumber, never reuse.
    pub enum GaugeId capacity GAUGE_SLOTS => {
        RealizedPnlQuoteMicros = 0, "realized_pnl_quote_micros", "Realized PnL in millionths of the quote currency.";
        UnrealizedPnlQuoteMicros = 1, "unrealized_pnl_quote_micros", "Unrealized (mark-to-market) PnL in millionths of the quote currency.";
        EquityQuoteMicros = 2, "equity_quote_micros", "Equity in millionths of the quote currency.";
        DrawdownQuoteMicros = 3, "drawdown_quote_micros", "Current drawdown from peak equity, millionths of the quote currency.";
        MaxDrawdownQuoteMicros = 4, "max_drawdown_quote_micros", "Largest drawdown since start, millionths of the quote currency.";
        LatencyP50Ns = 5, "latency_p50_ns", "Receipt-to-intent latency, 50th percentile, nanoseconds.";
        LatencyP90Ns = 6, "latency_p90_ns", "Receipt-to-intent latency, 90th percentile, nanoseconds.";
        LatencyP99Ns = 7, "latency_p99_ns", "Receipt-to-intent latency, 99th percentile, nanoseconds.";
        LatencyP999Ns = 8, "latency_p999_ns", "Receipt-to-intent latency, 99.9th percentile, nanoseconds.";
        LatencyMaxNs = 9, "latency_max_ns", "Receipt-to-intent latency, maximum, nanoseconds.";
        OpenOrders = 10, "open_orders", "Orders open at the venue.";
        RiskState = 11, "risk_state", "Risk state machine code (engine-defined: running, reducing, halted).";
        KillState = 12, "kill_state", "Kill switch state code (engine-defined; non-zero means a kill is latched).";
        IntentRingUsed = 13, "intent_ring_used", "Slots in use in the intent ring.";
        ReportRingUsed = 14, "report_ring_used", "Slots in use in the report ring.";
        FramesPerSec = 15, "frames_per_sec", "Market-data frames per second over the last publish interval.";
        LastPublishUnixNs = 16, "last_publish_unix_ns", "Wall-clock time of this publish, Unix nanoseconds.";
        FeedUp = 17, "feed_up", "1 while the market-data connection is up, else 0.";
        FeedFailingAttempts = 18, "feed_failing_attempts", "Consecutive failed market-data connection attempts.";
        GatewayUp = 19, "gateway_up", "1 while the order gateway is connected and logged on (always 1 in paper mode).";
        TradingMode = 20, "trading_mode", "0 replay, 1 paper (live data, simulated fills), 2 live orders.";
        GatewayClockOffsetMs = 21, "gateway_clock_offset_ms", "Venue clock minus local clock, milliseconds.";
        GatewayRateLimitUsedPpm = 22, "gateway_rate_limit_used_ppm", "Use of the tightest venue rate limit, parts per million.";
        GatewayCancelAllConfirmed = 23, "gateway_cancel_all_confirmed", "1 once every instrument's last cancel-all was confirmed by the venue listing no open order, else 0.";
        GatewayOpenOrdersAtVenue = 24, "gateway_open_orders_at_venue", "Open orders (ours and others') the venue listed at the last confirmation query.";
    }
}

slot_registry! {
    /// Per-instrument gauge ids: slot numbers within one instrument's row. Never renumber,
    /// never reuse.
    pub enum InstrumentGaugeId capacity INSTRUMENT_GAUGE_SLOTS => {
        BookValid = 0, "book_valid", "1 when the book is synchronised and tradable, else 0.";
        PositionLots = 1, "position_lots", "Signed position in lots.";
        BestBidTicks = 2, "best_bid_ticks", "Best bid price in ticks (0 when empty).";
        BestAskTicks = 3, "best_ask_ticks", "Best ask price in ticks (0 when empty).";
        BidLevels = 4, "bid_levels", "Price levels on the bid side.";
        AskLevels = 5, "ask_levels", "Price levels on the ask side.";
        LastExchangeEventMs = 6, "last_exchange_event_ms", "Exchange timestamp of the last book event, Unix milliseconds.";
        LastReceiptUnixNs = 7, "last_receipt_unix_ns", "Local receipt time of the last frame, Unix nanoseconds.";
        FeedLagMs = 8, "feed_lag_ms", "Receipt time minus exchange event time, milliseconds.";
        ObiPpm = 9, "obi_ppm", "Order-book imbalance times 1e6, as an integer in [-1e6, 1e6].";
    }
}

/// Writes gauges inside one seqlock section; handed out by
/// [`StatsWriter::publish`](crate::StatsWriter::publish).
#[derive(Debug)]
pub struct GaugeWriter<'a> {
    /// Invariant: exactly `GAUGE_DATA_SLOTS` words: globals, then instrument rows.
    data: &'a [AtomicU64],
}

impl<'a> GaugeWriter<'a> {
    pub(crate) fn new(data: &'a [AtomicU64]) -> Self {
        debug_assert_eq!(data.len(), GAUGE_DATA_SLOTS);
        Self { data }
    }

    /// Sets an engine-wide gauge.
    #[inline]
    pub fn set(&mut self, id: GaugeId, value: i64) {
        // Relaxed: ordering comes from the enclosing seqlock section (see `SeqLock::write`).
        self.data[id.slot()].store(value.cast_unsigned(), Ordering::Relaxed);
    }

    /// Sets a per-instrument gauge. `instrument` is the index into the writer's instrument
    /// list; an index `>= MAX_INSTRUMENTS` is a caller bug: it panics in debug builds and is
    /// ignored in release builds (the hot path never panics on it).
    #[inline]
    pub fn set_instrument(&mut self, instrument: usize, id: InstrumentGaugeId, value: i64) {
        debug_assert!(
            instrument < MAX_INSTRUMENTS,
            "instrument index out of range"
        );
        if instrument < MAX_INSTRUMENTS {
            let slot = GAUGE_SLOTS + instrument * INSTRUMENT_GAUGE_SLOTS + id.slot();
            // Relaxed: ordering comes from the enclosing seqlock section.
            self.data[slot].store(value.cast_unsigned(), Ordering::Relaxed);
        }
    }
}

/// One consistent copy of every gauge, taken through the seqlock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaugeSnapshot {
    /// Even sequence number of the publish this snapshot came from (0: never published).
    pub seq: u64,
    global: [i64; GAUGE_SLOTS],
    instruments: [[i64; INSTRUMENT_GAUGE_SLOTS]; MAX_INSTRUMENTS],
}

impl GaugeSnapshot {
    pub(crate) fn from_words(seq: u64, words: &[u64; GAUGE_DATA_SLOTS]) -> Self {
        let mut global = [0; GAUGE_SLOTS];
        for (g, w) in global.iter_mut().zip(&words[..GAUGE_SLOTS]) {
            *g = w.cast_signed();
        }
        let mut instruments = [[0; INSTRUMENT_GAUGE_SLOTS]; MAX_INSTRUMENTS];
        for (row, chunk) in instruments
            .iter_mut()
            .zip(words[GAUGE_SLOTS..].chunks_exact(INSTRUMENT_GAUGE_SLOTS))
        {
            for (g, w) in row.iter_mut().zip(chunk) {
                *g = w.cast_signed();
            }
        }
        Self {
            seq,
            global,
            instruments,
        }
    }

    /// Value of an engine-wide gauge.
    #[must_use]
    pub const fn get(&self, id: GaugeId) -> i64 {
        self.global[id.slot()]
    }

    /// Value of a per-instrument gauge, or `None` if `instrument >= MAX_INSTRUMENTS`.
    #[must_use]
    pub fn instrument(&self, instrument: usize, id: InstrumentGaugeId) -> Option<i64> {
        self.instruments.get(instrument).map(|row| row[id.slot()])
    }

    /// Raw engine-wide slot values, including slots with no registered id.
    #[must_use]
    pub const fn global_slots(&self) -> &[i64; GAUGE_SLOTS] {
        &self.global
    }

    /// Raw per-instrument slot values.
    #[must_use]
    pub const fn instrument_slots(&self) -> &[[i64; INSTRUMENT_GAUGE_SLOTS]; MAX_INSTRUMENTS] {
        &self.instruments
    }

    /// Every registered engine-wide gauge with its value, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (GaugeId, i64)> + '_ {
        GaugeId::ALL.iter().map(|&id| (id, self.get(id)))
    }
}
