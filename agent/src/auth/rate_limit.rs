//! Limits failed authentication attempts per client address in a sliding window.
//!
//! A client with `max_failures` failures inside the window gets 429 without its credentials
//! being checked, until the oldest failure leaves the window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Clients tracked at most; beyond this, clients with no recent failure are forgotten first.
const MAX_TRACKED_CLIENTS: usize = 4_096;

/// Sliding-window failure counter keyed by client.
#[derive(Debug)]
pub struct FailedAuthLimiter {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl FailedAuthLimiter {
    /// A limiter allowing `max_failures` per `window` per client.
    #[must_use]
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// True when `client` has used up its failures at `now`.
    pub fn is_blocked(&self, client: &str, now: Instant) -> bool {
        let mut map = self.lock();
        let Some(times) = map.get_mut(client) else {
            return false;
        };
        prune(times, now, self.window);
        times.len() >= self.max_failures as usize
    }

    /// Records a failure by `client` at `now`.
    pub fn record_failure(&self, client: &str, now: Instant) {
        let mut map = self.lock();
        if map.len() >= MAX_TRACKED_CLIENTS && !map.contains_key(client) {
            let window = self.window;
            map.retain(|_, times| {
                prune(times, now, window);
                !times.is_empty()
            });
        }
        let times = map.entry(client.to_string()).or_default();
        prune(times, now, self.window);
        times.push_back(now);
        while times.len() > self.max_failures as usize {
            times.pop_front();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        // A poisoned map only means a panic elsewhere mid-update; the data is still usable.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn prune(times: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while times
        .front()
        .is_some_and(|&t| now.saturating_duration_since(t) >= window)
    {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_then_recovers() {
        let l = FailedAuthLimiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(!l.is_blocked("a", t0));
            l.record_failure("a", t0);
        }
        assert!(l.is_blocked("a", t0));
        assert!(!l.is_blocked("b", t0));
        assert!(!l.is_blocked("a", t0 + Duration::from_secs(61)));
    }
}
