//! Plain event counters owned by the core thread; published to shared memory off the
//! per-frame path. Counting is how the hot path reports: it never logs.

/// Monotonic counts since start. Field names match the shm counter registry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// Frames handed to the tick path.
    pub frames: u64,
    /// Bytes of those frames.
    pub bytes: u64,
    /// Frames that failed to parse (counted and skipped).
    pub parse_errors: u64,
    /// Well-formed frames of event types we do not handle.
    pub unknown_events: u64,
    /// Frames for symbols that are not configured.
    pub unknown_symbols: u64,
    /// Depth diffs applied to a book.
    pub diffs_applied: u64,
    /// Depth diffs held while waiting for a snapshot.
    pub diffs_buffered: u64,
    /// Depth diffs dropped as older than the book.
    pub diffs_stale: u64,
    /// Sequence gaps detected.
    pub gaps: u64,
    /// Resyncs started (fresh snapshot requested) after a gap or crossed book.
    pub resyncs: u64,
    /// Diffs that left a book crossed.
    pub crossed: u64,
    /// Snapshots loaded.
    pub snapshots: u64,
    /// Snapshots ignored because the book was already in sequence.
    pub snapshots_ignored: u64,
    /// bookTicker frames.
    pub tickers: u64,
    /// bookTickers checked against our book (same update id).
    pub oracle_checked: u64,
    /// bookTickers that disagreed with our book.
    pub oracle_mismatches: u64,
    /// Public trades.
    pub trades: u64,
    /// Book updates that produced signals (valid book).
    pub book_events: u64,
    /// Intents pushed into the intent ring.
    pub intents: u64,
    /// Intents refused by pre-trade risk.
    pub intents_risk_rejected: u64,
    /// Intents refused because the ring was full.
    pub intent_ring_full: u64,
    /// Reports received from the gateway.
    pub reports: u64,
    /// Orders accepted by the venue.
    pub orders_accepted: u64,
    /// Orders cancelled at the venue.
    pub orders_canceled: u64,
    /// Orders rejected by the venue.
    pub orders_rejected: u64,
    /// Fills received.
    pub fills: u64,
}
