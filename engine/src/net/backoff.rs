//! Reconnect backoff: exponential with jitter, capped, reset after a healthy period.
//!
//! Delay for attempt `n` (from 0) is drawn uniformly from `[d/2, d]` with
//! `d = min(cap, initial * 2^n)` ("equal jitter"): never zero, so a dead venue never makes
//! the loop spin, and spread out so many clients do not reconnect in lockstep.

/// Backoff settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffConfig {
    /// First delay, ms.
    pub initial_ms: u64,
    /// Largest delay, ms.
    pub max_ms: u64,
    /// A connection that stays up this long resets the attempt count, ms.
    pub healthy_after_ms: u64,
    /// Consecutive failed attempts after which the link reports itself exhausted (0 = never).
    pub max_attempts: u32,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial_ms: 100,
            max_ms: 60_000,
            healthy_after_ms: 30_000,
            max_attempts: 0,
        }
    }
}

/// Backoff state for one link.
#[derive(Debug, Clone)]
pub struct Backoff {
    config: BackoffConfig,
    attempts: u32,
    rng: u64,
}

impl Backoff {
    /// A fresh backoff; `seed` varies the jitter between links and processes.
    pub fn new(config: BackoffConfig, seed: u64) -> Backoff {
        Backoff {
            config,
            attempts: 0,
            rng: seed | 1,
        }
    }

    /// Consecutive failed attempts since the last healthy connection.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// True once `max_attempts` consecutive attempts failed (an alert-worthy state).
    pub fn exhausted(&self) -> bool {
        self.config.max_attempts != 0 && self.attempts >= self.config.max_attempts
    }

    /// Records a failed attempt (or a lost connection) and returns the delay before the next
    /// attempt, ms.
    pub fn next_delay_ms(&mut self) -> u64 {
        let shift = self.attempts.min(30);
        self.attempts = self.attempts.saturating_add(1);
        let cap = self.config.max_ms.max(1);
        let d = self
            .config
            .initial_ms
            .max(1)
            .saturating_mul(1 << shift)
            .min(cap);
        let half = d / 2;
        half + self.next_random() % (d - half + 1)
    }

    /// Tells the backoff a connection has been up for `up_ms`; resets once it is healthy.
    pub fn on_up_for(&mut self, up_ms: u64) {
        if up_ms >= self.config.healthy_after_ms {
            self.attempts = 0;
        }
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: plenty for jitter, no allocation, no dependency.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_with_jitter_to_the_cap_and_resets_when_healthy() {
        let cfg = BackoffConfig {
            initial_ms: 100,
            max_ms: 60_000,
            healthy_after_ms: 30_000,
            max_attempts: 5,
        };
        let mut b = Backoff::new(cfg, 42);
        let delays: Vec<u64> = (0..12).map(|_| b.next_delay_ms()).collect();
        for (n, d) in delays.iter().enumerate() {
            let full = (100u64 << n).min(60_000);
            assert!(
                *d >= full / 2 && *d <= full,
                "attempt {n}: {d} not in [{}, {full}]",
                full / 2
            );
        }
        assert!(b.exhausted());
        b.on_up_for(29_999);
        assert!(b.exhausted());
        b.on_up_for(30_000);
        assert_eq!(b.attempts(), 0);
        let d = b.next_delay_ms();
        assert!((50..=100).contains(&d));
    }

    #[test]
    fn jitter_differs_between_seeds_and_is_never_zero() {
        let cfg = BackoffConfig {
            initial_ms: 0,
            ..BackoffConfig::default()
        };
        let a: Vec<u64> = {
            let mut b = Backoff::new(cfg, 1);
            (0..8).map(|_| b.next_delay_ms()).collect()
        };
        let c: Vec<u64> = {
            let mut b = Backoff::new(cfg, 2);
            (0..8).map(|_| b.next_delay_ms()).collect()
        };
        assert!(a.iter().all(|&d| d >= 1));
        assert_ne!(a, c);
    }
}
