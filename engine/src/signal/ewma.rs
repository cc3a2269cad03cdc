//! Time-decayed exponential averages on the market clock: a plain EWMA and an EWMA z-score.
//!
//! The weight of a new sample depends on the time since the previous one, not on the event
//! count: `α = 1 − 2^(−Δt / half_life)`, so after one half-life of silence a new sample
//! carries half the weight. Samples at the same timestamp (or with the clock going
//! backwards) get `α = 0`: deterministic, never NaN, and a burst of updates stamped with one
//! frame's receipt time cannot swamp the average.

/// `ln 2 / half_life`, in 1/ns, for [`decay_alpha`]; infinite for a zero half-life.
#[inline]
pub fn inv_tau_per_ns(half_life_ms: u64) -> f64 {
    if half_life_ms == 0 {
        f64::INFINITY
    } else {
        std::f64::consts::LN_2 / (half_life_ms as f64 * 1e6)
    }
}

/// Weight of a new sample after `dt_ns` of market time: `1 − exp(−dt · inv_tau)`, in `[0, 1]`.
#[inline]
pub fn decay_alpha(dt_ns: u64, inv_tau_per_ns: f64) -> f64 {
    if dt_ns == 0 {
        return 0.0;
    }
    // `-expm1(-x)` keeps precision when `x` is tiny (events microseconds apart).
    let a = -(-(dt_ns as f64) * inv_tau_per_ns).exp_m1();
    if a.is_finite() {
        a.clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// An exponentially weighted moving average with a half-life in market time.
#[derive(Clone, Copy, Debug)]
pub struct Ewma {
    inv_tau_per_ns: f64,
    value: f64,
    last_ts_ns: u64,
    seeded: bool,
}

impl Ewma {
    /// An empty average with the given half-life.
    pub fn new(half_life_ms: u64) -> Ewma {
        Ewma {
            inv_tau_per_ns: inv_tau_per_ns(half_life_ms),
            value: 0.0,
            last_ts_ns: 0,
            seeded: false,
        }
    }

    /// Absorbs `x` observed at `ts_ns` and returns the new average. Non-finite `x` is ignored.
    #[inline]
    pub fn update(&mut self, x: f64, ts_ns: u64) -> Option<f64> {
        if !x.is_finite() {
            return self.value();
        }
        if !self.seeded {
            self.value = x;
            self.last_ts_ns = ts_ns;
            self.seeded = true;
            return Some(x);
        }
        let alpha = decay_alpha(ts_ns.saturating_sub(self.last_ts_ns), self.inv_tau_per_ns);
        self.value += alpha * (x - self.value);
        self.last_ts_ns = self.last_ts_ns.max(ts_ns);
        Some(self.value)
    }

    /// The current average; `None` before the first sample.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        self.seeded.then_some(self.value)
    }

    /// Forgets every sample.
    pub fn reset(&mut self) {
        self.seeded = false;
        self.value = 0.0;
        self.last_ts_ns = 0;
    }
}

/// An EWMA mean and variance (same half-life) giving a z-score after a warm-up.
///
/// The z-score of a sample is taken against the statistics *before* the sample is absorbed,
/// so a sample never dampens its own score. It is `None` until `warmup_events` samples have
/// been absorbed, and while the standard deviation is below `min_std` (a flat series).
#[derive(Clone, Copy, Debug)]
pub struct EwmaZScore {
    inv_tau_per_ns: f64,
    warmup_events: u32,
    min_std: f64,
    mean: f64,
    var: f64,
    count: u32,
    last_ts_ns: u64,
}

impl EwmaZScore {
    /// An empty estimator.
    pub fn new(half_life_ms: u64, warmup_events: u32, min_std: f64) -> EwmaZScore {
        EwmaZScore {
            inv_tau_per_ns: inv_tau_per_ns(half_life_ms),
            warmup_events,
            min_std: if min_std.is_finite() {
                min_std.max(0.0)
            } else {
                0.0
            },
            mean: 0.0,
            var: 0.0,
            count: 0,
            last_ts_ns: 0,
        }
    }

    /// Scores `x` against the statistics so far, then absorbs it. Non-finite `x` is ignored.
    #[inline]
    pub fn update(&mut self, x: f64, ts_ns: u64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        if self.count == 0 {
            self.mean = x;
            self.var = 0.0;
            self.count = 1;
            self.last_ts_ns = ts_ns;
            return None;
        }
        let z = self.score(x);
        let alpha = decay_alpha(ts_ns.saturating_sub(self.last_ts_ns), self.inv_tau_per_ns);
        // West's incremental form of the exponentially weighted mean and variance.
        let diff = x - self.mean;
        let incr = alpha * diff;
        self.mean += incr;
        self.var = (1.0 - alpha) * (self.var + diff * incr);
        self.count = self.count.saturating_add(1);
        self.last_ts_ns = self.last_ts_ns.max(ts_ns);
        z
    }

    /// The z-score `x` would get now, without absorbing it.
    #[inline]
    pub fn score(&self, x: f64) -> Option<f64> {
        if self.count < self.warmup_events.max(1) {
            return None;
        }
        let std = self.var.max(0.0).sqrt();
        if std.is_nan() || std <= self.min_std || std == 0.0 {
            return None;
        }
        let z = (x - self.mean) / std;
        z.is_finite().then_some(z)
    }

    /// Current mean; `None` before the first sample.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then_some(self.mean)
    }

    /// Current variance; `None` before the first sample.
    pub fn variance(&self) -> Option<f64> {
        (self.count > 0).then_some(self.var)
    }

    /// Samples absorbed so far (saturating).
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Forgets every sample.
    pub fn reset(&mut self) {
        self.mean = 0.0;
        self.var = 0.0;
        self.count = 0;
        self.last_ts_ns = 0;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a failed unwrap is a failed test
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn half_life_halves_the_gap() {
        let mut e = Ewma::new(100);
        assert_eq!(e.value(), None);
        assert_eq!(e.update(0.0, 0), Some(0.0));
        // One half-life later, a step to 1 covers half the distance.
        let v = e.update(1.0, 100 * MS).unwrap();
        assert!((v - 0.5).abs() < 1e-12, "{v}");
        // Two more half-lives at 1: the gap shrinks to a quarter of 0.5.
        let v = e.update(1.0, 300 * MS).unwrap();
        assert!((v - 0.875).abs() < 1e-12, "{v}");
        // Ten 10 ms steps compose to one 100 ms step.
        let mut a = Ewma::new(100);
        a.update(0.0, 0);
        for i in 1..=10 {
            a.update(1.0, i * 10 * MS);
        }
        assert!((a.value().unwrap() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn same_timestamp_and_backwards_clock_do_not_move_it() {
        let mut e = Ewma::new(100);
        e.update(1.0, 50 * MS);
        assert_eq!(e.update(5.0, 50 * MS), Some(1.0));
        assert_eq!(e.update(5.0, 10 * MS), Some(1.0));
        assert_eq!(e.update(f64::NAN, 60 * MS), Some(1.0));
        assert!((decay_alpha(u64::MAX, inv_tau_per_ns(0)) - 1.0).abs() < 1e-12);
        assert_eq!(decay_alpha(0, inv_tau_per_ns(0)), 0.0);
    }

    #[test]
    fn zscore_warms_up_then_scores() {
        let mut z = EwmaZScore::new(1_000, 3, 0.0);
        assert_eq!(z.update(1.0, MS), None); // 0 absorbed before it
        assert_eq!(z.update(-1.0, 2 * MS), None); // 1
        assert_eq!(z.update(1.0, 3 * MS), None); // 2
        assert_eq!(z.count(), 3);
        let s = z.update(0.5, 4 * MS);
        assert!(s.is_some(), "valid once 3 samples are in");
        let mean = z.mean().unwrap();
        assert!(mean.abs() < 1.0);
        // Far above the mean scores strongly positive, far below strongly negative.
        assert!(z.score(10.0).unwrap() > 3.0);
        assert!(z.score(-10.0).unwrap() < -3.0);
    }

    #[test]
    fn zscore_of_a_flat_series_is_none() {
        let mut z = EwmaZScore::new(1_000, 2, 1e-9);
        for i in 0..10 {
            z.update(0.25, i * MS);
        }
        assert_eq!(z.score(0.25), None);
        assert_eq!(z.update(f64::INFINITY, 20 * MS), None);
    }

    #[test]
    fn zscore_matches_exponential_weights() {
        // Two samples one half-life apart: alpha = 0.5, mean 0.5, variance 0.5 * (0 + 1 * 0.5).
        let mut z = EwmaZScore::new(100, 1, 0.0);
        z.update(0.0, 0);
        z.update(1.0, 100 * MS);
        assert!((z.mean().unwrap() - 0.5).abs() < 1e-12);
        assert!((z.variance().unwrap() - 0.25).abs() < 1e-12);
        assert!((z.score(1.0).unwrap() - 1.0).abs() < 1e-12);
    }
}
