//! Rolling-window rate limit over a fixed ring of event timestamps (no allocation after new).

/// Admits at most `capacity` events in any window of `window_ns` (half-open: an event exactly
/// `window_ns` older than now no longer counts).
///
/// Invariant: `len <= stamps_ns.len()`; the stored stamps, oldest first from `head`, are the
/// last `len` admitted events.
#[derive(Clone, Debug)]
pub struct RateWindow {
    stamps_ns: Box<[u64]>,
    head: usize,
    len: usize,
    window_ns: u64,
}

impl RateWindow {
    /// A window admitting `capacity` events per `window_ns`; `capacity` 0 admits nothing.
    pub fn new(capacity: usize, window_ns: u64) -> RateWindow {
        RateWindow {
            stamps_ns: vec![0; capacity].into_boxed_slice(),
            head: 0,
            len: 0,
            window_ns,
        }
    }

    /// Whether an event at `ts_ns` would be admitted now (does not record it).
    ///
    /// A timestamp older than the oldest recorded one (clock went backwards) counts as inside
    /// the window, which errs on the side of refusing.
    #[inline]
    pub fn would_admit(&self, ts_ns: u64) -> bool {
        let cap = self.stamps_ns.len();
        if self.len < cap {
            return true;
        }
        if cap == 0 {
            return false;
        }
        let oldest_ns = self.stamps_ns[self.head];
        ts_ns >= oldest_ns && ts_ns - oldest_ns >= self.window_ns
    }

    /// Records an admitted event at `ts_ns`, forgetting the oldest when the ring is full.
    #[inline]
    pub fn record(&mut self, ts_ns: u64) {
        let cap = self.stamps_ns.len();
        if cap == 0 {
            return;
        }
        if self.len < cap {
            let slot = (self.head + self.len) % cap;
            self.stamps_ns[slot] = ts_ns;
            self.len += 1;
        } else {
            self.stamps_ns[self.head] = ts_ns;
            self.head = (self.head + 1) % cap;
        }
        debug_assert!(self.len <= cap);
    }

    /// Events recorded within the window ending at `ts_ns`.
    pub fn count_in_window(&self, ts_ns: u64) -> usize {
        let cap = self.stamps_ns.len();
        (0..self.len)
            .filter(|i| {
                let t = self.stamps_ns[(self.head + i) % cap];
                t > ts_ns || ts_ns - t < self.window_ns
            })
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC_NS: u64 = 1_000_000_000;

    #[test]
    fn window_slides() {
        let mut w = RateWindow::new(3, SEC_NS);
        for ts in [0, 100, 200] {
            assert!(w.would_admit(ts));
            w.record(ts);
        }
        assert!(!w.would_admit(300));
        assert!(!w.would_admit(SEC_NS - 1));
        // The event at 0 leaves the window exactly 1 s later.
        assert!(w.would_admit(SEC_NS));
        w.record(SEC_NS);
        assert!(!w.would_admit(SEC_NS + 99));
        assert!(w.would_admit(SEC_NS + 100));
        assert_eq!(w.count_in_window(SEC_NS + 50), 3);
    }

    #[test]
    fn clock_going_backwards_refuses_and_zero_capacity_admits_nothing() {
        let mut w = RateWindow::new(1, SEC_NS);
        w.record(5 * SEC_NS);
        assert!(!w.would_admit(SEC_NS));
        let mut none = RateWindow::new(0, SEC_NS);
        assert!(!none.would_admit(0));
        none.record(0);
        assert_eq!(none.count_in_window(0), 0);
    }
}
