//! Latency recording on the core thread: TSC-based stamps (`quanta`) into preallocated
//! HDR histograms. Recording never allocates; percentiles are read off the hot path.

use hdrhistogram::Histogram;

/// Highest latency the histograms track, ns (10 s); larger values saturate.
pub const MAX_TRACKABLE_NS: u64 = 10_000_000_000;

/// Percentiles of one histogram, ns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Percentiles {
    /// Samples recorded.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest sample.
    pub max: u64,
}

/// A fixed-range histogram of nanosecond latencies.
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    hist: Histogram<u64>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram::new()
    }
}

impl LatencyHistogram {
    /// 1 ns .. 10 s at 3 significant digits (about 200 KiB, allocated here once).
    pub fn new() -> LatencyHistogram {
        let hist = Histogram::new_with_bounds(1, MAX_TRACKABLE_NS, 3)
            .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()));
        LatencyHistogram { hist }
    }

    /// Records one sample; out-of-range values saturate instead of allocating.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.hist.saturating_record(ns.max(1));
    }

    /// Current percentiles.
    pub fn percentiles(&self) -> Percentiles {
        if self.hist.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: self.hist.len(),
            p50: self.hist.value_at_quantile(0.50),
            p90: self.hist.value_at_quantile(0.90),
            p99: self.hist.value_at_quantile(0.99),
            p999: self.hist.value_at_quantile(0.999),
            max: self.hist.max(),
        }
    }

    /// Drops all samples (keeps the allocation).
    pub fn reset(&mut self) {
        self.hist.reset();
    }
}
