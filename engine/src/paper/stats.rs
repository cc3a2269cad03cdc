//! Counters of what the paper venue did, for run reports.

/// Paper venue activity since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PaperStats {
    /// Placements that reached the venue.
    pub placements: u64,
    /// Placements accepted.
    pub accepted: u64,
    /// Placements and cancels rejected.
    pub rejected: u64,
    /// Orders cancelled (by request, `CancelAll` or IOC remainder).
    pub canceled: u64,
    /// Maker fills (from our resting orders).
    pub maker_fills: u64,
    /// Taker fills (marketable orders walking the book).
    pub taker_fills: u64,
    /// Times an in-flight queue was full and had to grow (allocates; size `max_in_flight`).
    pub queue_grown: u64,
    /// Market events for instruments the venue was not built for (ignored).
    pub ignored_events: u64,
}
