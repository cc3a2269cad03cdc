//! Order-flow imbalance at the touch (Cont, Kukanov & Stoikov 2014) over a rolling window.
//!
//! Per book event `n`, with best bid `Pb, qb` and best ask `Pa, qa`:
//!
//! ```text
//! e_n = 1{Pb_n ≥ Pb_{n−1}}·qb_n − 1{Pb_n ≤ Pb_{n−1}}·qb_{n−1}
//!     − 1{Pa_n ≤ Pa_{n−1}}·qa_n + 1{Pa_n ≥ Pa_{n−1}}·qa_{n−1}
//! ```
//!
//! Positive `e_n` is buying pressure (bid size added or bid up, ask size removed or ask up).
//! `e_n` is an integer number of lots; it is summed over a rolling time window held in a
//! fixed ring of time buckets ([`WindowSum`]), so the sum is exact and allocation-free.

use crate::units::Level;

/// Buckets in a [`WindowSum`]; the window's time resolution is `window / OFI_WINDOW_BUCKETS`.
pub const OFI_WINDOW_BUCKETS: usize = 32;

/// `e_n` between two consecutive touches, in lots.
#[inline]
pub fn touch_ofi_lots(prev_bid: Level, prev_ask: Level, bid: Level, ask: Level) -> i64 {
    let mut e: i64 = 0;
    if bid.price >= prev_bid.price {
        e = e.wrapping_add(bid.qty.0);
    }
    if bid.price <= prev_bid.price {
        e = e.wrapping_sub(prev_bid.qty.0);
    }
    if ask.price <= prev_ask.price {
        e = e.wrapping_sub(ask.qty.0);
    }
    if ask.price >= prev_ask.price {
        e = e.wrapping_add(prev_ask.qty.0);
    }
    e
}

/// A rolling sum of integer samples over a time window, in a fixed ring of time buckets.
///
/// Bucket `b` holds the samples with `ts_ns / bucket_ns == b`; the sum covers the current
/// bucket and the `OFI_WINDOW_BUCKETS − 1` before it, so the effective window is between
/// `window − bucket` and `window` long. Samples stamped earlier than the newest bucket (clock
/// going backwards) are added to the newest bucket. Arithmetic wraps instead of panicking;
/// adding and later expiring the same values restores the sum exactly.
#[derive(Clone, Copy, Debug)]
pub struct WindowSum {
    buckets: [i64; OFI_WINDOW_BUCKETS],
    bucket_ns: u64,
    head_bucket: u64,
    sum: i64,
    started: bool,
}

impl WindowSum {
    /// An empty window `window_ms` long (at least one bucket of 1 ns).
    pub fn new(window_ms: u64) -> WindowSum {
        let bucket_ns = (window_ms.saturating_mul(1_000_000) / OFI_WINDOW_BUCKETS as u64).max(1);
        WindowSum {
            buckets: [0; OFI_WINDOW_BUCKETS],
            bucket_ns,
            head_bucket: 0,
            sum: 0,
            started: false,
        }
    }

    /// Expires buckets that fell out of the window at `ts_ns`.
    #[inline]
    fn advance(&mut self, ts_ns: u64) {
        let b = ts_ns / self.bucket_ns;
        if !self.started {
            self.head_bucket = b;
            self.started = true;
            return;
        }
        if b <= self.head_bucket {
            return;
        }
        let steps = b - self.head_bucket;
        if steps >= OFI_WINDOW_BUCKETS as u64 {
            self.buckets = [0; OFI_WINDOW_BUCKETS];
            self.sum = 0;
        } else {
            for i in 1..=steps {
                let idx = ((self.head_bucket + i) % OFI_WINDOW_BUCKETS as u64) as usize;
                self.sum = self.sum.wrapping_sub(self.buckets[idx]);
                self.buckets[idx] = 0;
            }
        }
        self.head_bucket = b;
    }

    /// Adds `value` observed at `ts_ns`.
    #[inline]
    pub fn add(&mut self, ts_ns: u64, value: i64) {
        self.advance(ts_ns);
        let idx = (self.head_bucket % OFI_WINDOW_BUCKETS as u64) as usize;
        self.buckets[idx] = self.buckets[idx].wrapping_add(value);
        self.sum = self.sum.wrapping_add(value);
    }

    /// The sum over the window ending at `ts_ns`.
    #[inline]
    pub fn sum_at(&mut self, ts_ns: u64) -> i64 {
        self.advance(ts_ns);
        self.sum
    }

    /// Forgets every sample.
    pub fn reset(&mut self) {
        self.buckets = [0; OFI_WINDOW_BUCKETS];
        self.sum = 0;
        self.started = false;
    }
}

/// OFI at the touch accumulated over a rolling window.
#[derive(Clone, Copy, Debug)]
pub struct OfiTracker {
    prev: Option<(Level, Level)>,
    window: WindowSum,
}

impl OfiTracker {
    /// An empty tracker with a `window_ms` rolling window.
    pub fn new(window_ms: u64) -> OfiTracker {
        OfiTracker {
            prev: None,
            window: WindowSum::new(window_ms),
        }
    }

    /// Feeds the current touch (or `None` when a side is missing, which breaks the chain: the
    /// next touch starts a new one) and returns the windowed OFI in lots.
    #[inline]
    pub fn update(&mut self, touch: Option<(Level, Level)>, ts_ns: u64) -> i64 {
        if let (Some((pb, pa)), Some((b, a))) = (self.prev, touch) {
            self.window.add(ts_ns, touch_ofi_lots(pb, pa, b, a));
        }
        self.prev = touch;
        self.window.sum_at(ts_ns)
    }

    /// Forgets the previous touch and the window (after a book resync).
    pub fn reset(&mut self) {
        self.prev = None;
        self.window.reset();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a failed unwrap is a failed test
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn ofi_signs_follow_cks() {
        let (b, a) = (Level::new(100, 5), Level::new(101, 5));
        // Bid size increase at the same price: +3.
        assert_eq!(touch_ofi_lots(b, a, Level::new(100, 8), a), 3);
        // Ask price drop: −(new ask qty).
        let wide = Level::new(102, 5);
        assert_eq!(touch_ofi_lots(b, wide, b, Level::new(101, 2)), -2);
        // Bid price up: +new bid qty; bid price down: −old bid qty.
        assert_eq!(
            touch_ofi_lots(b, a, Level::new(101, 1), Level::new(102, 5)),
            1 + 5
        );
        assert_eq!(touch_ofi_lots(b, a, Level::new(99, 7), a), -5);
        // Ask size decrease at the same price: +.
        assert_eq!(touch_ofi_lots(b, a, b, Level::new(101, 1)), 4);
        // Nothing changed: zero.
        assert_eq!(touch_ofi_lots(b, a, b, a), 0);
    }

    #[test]
    fn window_expires_old_buckets() {
        let mut w = WindowSum::new(32); // 1 ms buckets
        w.add(0, 5);
        w.add(10 * MS, 3);
        assert_eq!(w.sum_at(10 * MS), 8);
        assert_eq!(w.sum_at(31 * MS), 8);
        assert_eq!(w.sum_at(32 * MS), 3); // bucket 0 left the window
        assert_eq!(w.sum_at(42 * MS), 0);
        w.add(1_000 * MS, -4); // long gap: everything cleared
        assert_eq!(w.sum_at(1_000 * MS), -4);
        w.add(500 * MS, 1); // clock backwards: lands in the newest bucket
        assert_eq!(w.sum_at(1_000 * MS), -3);
    }

    #[test]
    fn tracker_accumulates_and_breaks_on_missing_side() {
        let mut t = OfiTracker::new(1_000);
        let (b, a) = (Level::new(100, 5), Level::new(101, 5));
        assert_eq!(t.update(Some((b, a)), MS), 0);
        assert_eq!(t.update(Some((Level::new(100, 8), a)), 2 * MS), 3);
        assert_eq!(t.update(None, 3 * MS), 3);
        assert_eq!(
            t.update(Some((b, Level::new(100, 2))), 4 * MS),
            3,
            "no e_n across a gap"
        );
        assert_eq!(t.update(Some((b, Level::new(100, 1))), 5 * MS), 4);
        assert_eq!(
            t.update(Some((b, Level::new(100, 1))), 2_000 * MS),
            0,
            "window expired"
        );
    }
}
