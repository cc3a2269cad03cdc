//! Venue rate-limit headroom from the `rateLimits` counts in responses.
//!
//! The venue's counts are the truth when they arrive; between responses each order sent adds
//! one locally. A count is forgotten once its window has passed since it was seen (the
//! venue's windows are aligned to its clock; forgetting only after a full window is the
//! cautious side). After `-1003`/`-1015` new orders pause for a configured time.

use super::response::RateLimit;

const MAX_LIMITS: usize = 8;

#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    orders: bool,
    window_ms: u64,
    limit: u64,
    count: u64,
    seen_at_ms: u64,
}

/// The limits last reported by the venue.
#[derive(Clone, Debug, Default)]
pub struct RateLimits {
    entries: [Entry; MAX_LIMITS],
    len: usize,
    paused_until_ms: u64,
}

impl RateLimits {
    /// Records the counts of one response seen at `now_ms` (monotonic ms).
    pub fn update(&mut self, limits: &[RateLimit<'_>], now_ms: u64) {
        for l in limits {
            if l.limit == 0 {
                continue;
            }
            let (orders, window_ms) = (l.is_orders(), l.window_ms());
            let found = self.entries[..self.len]
                .iter()
                .position(|e| e.orders == orders && e.window_ms == window_ms);
            let index = match found {
                Some(i) => i,
                None if self.len < MAX_LIMITS => {
                    self.len += 1;
                    self.len - 1
                }
                None => continue,
            };
            self.entries[index] = Entry {
                orders,
                window_ms,
                limit: l.limit,
                count: l.count,
                seen_at_ms: now_ms,
            };
        }
    }

    /// Counts one order sent (until the venue's next figures replace the estimate).
    pub fn on_order_sent(&mut self) {
        for e in self.entries[..self.len].iter_mut().filter(|e| e.orders) {
            e.count += 1;
        }
    }

    /// Pauses new orders until `until_ms`.
    pub fn pause_until(&mut self, until_ms: u64) {
        self.paused_until_ms = self.paused_until_ms.max(until_ms);
    }

    fn fresh(&self, now_ms: u64) -> impl Iterator<Item = &Entry> {
        self.entries[..self.len]
            .iter()
            .filter(move |e| e.window_ms == 0 || now_ms < e.seen_at_ms + e.window_ms)
    }

    /// Usage of the tightest limit still in its window, parts per million.
    pub fn used_ppm(&self, now_ms: u64) -> u64 {
        self.fresh(now_ms)
            .map(|e| e.count.saturating_mul(1_000_000) / e.limit)
            .max()
            .unwrap_or(0)
    }

    /// True when one more order stays below `headroom` (a fraction) of every `ORDERS`
    /// limit, and orders are not paused.
    pub fn allows_order(&self, now_ms: u64, headroom: f64) -> bool {
        if now_ms < self.paused_until_ms {
            return false;
        }
        self.fresh(now_ms)
            .filter(|e| e.orders)
            .all(|e| ((e.count + 1) as f64) <= headroom * e.limit as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn orders(count: u64) -> RateLimit<'static> {
        RateLimit {
            kind: Cow::Borrowed("ORDERS"),
            interval: Cow::Borrowed("SECOND"),
            interval_num: 10,
            limit: 50,
            count,
        }
    }

    #[test]
    fn headroom_and_windows() {
        let mut r = RateLimits::default();
        assert!(r.allows_order(0, 0.9));
        r.update(&[orders(44)], 1_000);
        assert_eq!(r.used_ppm(1_000), 880_000);
        assert!(r.allows_order(1_000, 0.9)); // 45 <= 45
        r.on_order_sent();
        assert!(!r.allows_order(1_000, 0.9)); // 46 > 45
        assert!(r.allows_order(11_000, 0.9)); // window passed
        assert_eq!(r.used_ppm(11_000), 0);
        r.pause_until(12_000);
        assert!(!r.allows_order(11_500, 0.9) && r.allows_order(12_000, 0.9));
    }
}
