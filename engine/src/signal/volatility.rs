//! Realized volatility of the mid, in ticks, from time-decayed squared mid changes.
//!
//! `S ← S·exp(−Δt/τ) + (Δmid)²` with `τ = half_life / ln 2`. For a mid that diffuses with
//! variance rate `σ²` per ns, `E[S] ≈ σ²·τ`, so `σ²·horizon ≈ S·horizon/τ`; the estimate
//! reported is `vol_ticks = sqrt(S · horizon / τ)`: the standard deviation of the mid's
//! move over `horizon`, in ticks. Mid changes are measured in half ticks exactly
//! (`bid + ask` in integers) and converted once.

use crate::signal::ewma::{decay_alpha, inv_tau_per_ns};

/// Time-decayed realized volatility of the mid.
#[derive(Clone, Copy, Debug)]
pub struct RealizedVol {
    inv_tau_per_ns: f64,
    horizon_over_tau: f64,
    warmup_ns: u64,
    sum_sq_ticks2: f64,
    prev_mid_x2: Option<i64>,
    first_ts_ns: u64,
    last_ts_ns: u64,
}

impl RealizedVol {
    /// An empty estimator.
    pub fn new(half_life_ms: u64, horizon_ms: u64, warmup_ms: u64) -> RealizedVol {
        let inv_tau = inv_tau_per_ns(half_life_ms);
        let horizon_ns = horizon_ms as f64 * 1e6;
        let horizon_over_tau = if inv_tau.is_finite() {
            horizon_ns * inv_tau
        } else {
            0.0
        };
        RealizedVol {
            inv_tau_per_ns: inv_tau,
            horizon_over_tau,
            warmup_ns: warmup_ms.saturating_mul(1_000_000),
            sum_sq_ticks2: 0.0,
            prev_mid_x2: None,
            first_ts_ns: 0,
            last_ts_ns: 0,
        }
    }

    /// Absorbs the mid `(bid + ask) / 2` given as `bid + ask` in ticks (exact), at `ts_ns`.
    #[inline]
    pub fn update(&mut self, mid_x2_ticks: i64, ts_ns: u64) {
        let Some(prev) = self.prev_mid_x2 else {
            self.prev_mid_x2 = Some(mid_x2_ticks);
            self.first_ts_ns = ts_ns;
            self.last_ts_ns = ts_ns;
            return;
        };
        let keep = 1.0 - decay_alpha(ts_ns.saturating_sub(self.last_ts_ns), self.inv_tau_per_ns);
        let r_ticks = mid_x2_ticks.wrapping_sub(prev) as f64 * 0.5;
        let s = self.sum_sq_ticks2 * keep + r_ticks * r_ticks;
        if s.is_finite() {
            self.sum_sq_ticks2 = s;
        }
        self.prev_mid_x2 = Some(mid_x2_ticks);
        self.last_ts_ns = self.last_ts_ns.max(ts_ns);
    }

    /// σ of the mid over the horizon, in ticks; `None` during the warm-up.
    #[inline]
    pub fn vol_ticks(&self) -> Option<f64> {
        self.prev_mid_x2?;
        if self.last_ts_ns.saturating_sub(self.first_ts_ns) < self.warmup_ns {
            return None;
        }
        let v = (self.sum_sq_ticks2 * self.horizon_over_tau).max(0.0).sqrt();
        v.is_finite().then_some(v)
    }

    /// Forgets every sample.
    pub fn reset(&mut self) {
        self.sum_sq_ticks2 = 0.0;
        self.prev_mid_x2 = None;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a failed unwrap is a failed test
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn steady_moves_give_the_diffusion_sigma() {
        // One tick move every 10 ms: variance rate 1 tick²/10 ms, so σ over 1 s is 10 ticks.
        let mut v = RealizedVol::new(2_000, 1_000, 1_000);
        let mut mid_x2 = 200;
        v.update(mid_x2, 0);
        for i in 1..=2_000u64 {
            mid_x2 += if i % 2 == 0 { 2 } else { -2 };
            v.update(mid_x2, i * 10 * MS);
        }
        let s = v.vol_ticks().unwrap();
        assert!((s - 10.0).abs() < 0.3, "{s}");
    }

    #[test]
    fn warm_up_and_flat_mid() {
        let mut v = RealizedVol::new(1_000, 1_000, 500);
        assert_eq!(v.vol_ticks(), None);
        v.update(201, 0);
        v.update(201, 100 * MS);
        assert_eq!(v.vol_ticks(), None, "still warming up");
        v.update(201, 600 * MS);
        assert_eq!(v.vol_ticks(), Some(0.0));
        v.update(202, 700 * MS); // half-tick move
        let s = v.vol_ticks().unwrap();
        let tau_ms = 1_000.0 / std::f64::consts::LN_2;
        assert!(
            (s - (0.25_f64 * 1_000.0 / tau_ms).sqrt()).abs() < 1e-12,
            "{s}"
        );
    }
}
