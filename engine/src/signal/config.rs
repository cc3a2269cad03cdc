//! Signal configuration: depths, half-lives, windows and warm-ups, validated before use.

/// Most OBI depths one [`crate::signal::SignalState`] computes (fixed arrays, no allocation).
pub const MAX_OBI_DEPTHS: usize = 4;

/// Deepest OBI depth accepted, in levels per side.
pub const MAX_OBI_DEPTH_LEVELS: usize = 1000;

/// Parameters of the per-instrument signal state (`[signal]` in the engine TOML).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignalConfig {
    /// OBI depths, in levels per side, strictly ascending, 1 to [`MAX_OBI_DEPTHS`] entries.
    pub obi_depths_levels: Vec<usize>,
    /// Which OBI depth (one of `obi_depths_levels`) feeds the EWMA and z-score, in levels.
    pub ewma_depth_levels: usize,
    /// Levels per side in the distance-weighted OBI.
    pub weighted_depth_levels: usize,
    /// Decay length of the distance weight `1 / (1 + d / λ)`, in ticks from mid; `> 0`.
    pub weighted_lambda_ticks: f64,
    /// Half-life of the smoothed OBI, ms of market time; `> 0`.
    pub ewma_half_life_ms: u64,
    /// Half-life of the z-score's mean and variance, ms of market time; `> 0`.
    pub zscore_half_life_ms: u64,
    /// Samples absorbed before the z-score is reported.
    pub zscore_warmup_events: u32,
    /// Standard deviation below which the z-score is not reported (OBI units); `>= 0`.
    pub zscore_min_std: f64,
    /// Rolling window of the order-flow imbalance and trade flow, ms; `> 0`.
    pub ofi_window_ms: u64,
    /// Half-life of the realized-volatility estimate, ms; `> 0`.
    pub vol_half_life_ms: u64,
    /// Horizon the volatility is expressed over (`vol_ticks` is σ of the mid over it), ms; `> 0`.
    pub vol_horizon_ms: u64,
    /// Market time after the first mid before the volatility is reported, ms.
    pub vol_warmup_ms: u64,
}

impl Default for SignalConfig {
    fn default() -> SignalConfig {
        SignalConfig {
            obi_depths_levels: vec![1, 5, 8, 16],
            ewma_depth_levels: 5,
            weighted_depth_levels: 10,
            weighted_lambda_ticks: 5.0,
            ewma_half_life_ms: 500,
            zscore_half_life_ms: 10_000,
            zscore_warmup_events: 200,
            zscore_min_std: 1e-4,
            ofi_window_ms: 1_000,
            vol_half_life_ms: 10_000,
            vol_horizon_ms: 1_000,
            vol_warmup_ms: 5_000,
        }
    }
}

impl SignalConfig {
    /// Checks every field; the message names the field and the rule it breaks.
    pub fn validate(&self) -> Result<(), String> {
        let depths = &self.obi_depths_levels;
        if depths.is_empty() || depths.len() > MAX_OBI_DEPTHS {
            return Err(format!(
                "signal.obi_depths_levels must have 1 to {MAX_OBI_DEPTHS} entries, got {}",
                depths.len()
            ));
        }
        if depths.iter().any(|&d| d == 0 || d > MAX_OBI_DEPTH_LEVELS) {
            return Err(format!(
                "signal.obi_depths_levels entries must be 1..={MAX_OBI_DEPTH_LEVELS}, got {depths:?}"
            ));
        }
        if depths.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!(
                "signal.obi_depths_levels must be strictly ascending, got {depths:?}"
            ));
        }
        if !depths.contains(&self.ewma_depth_levels) {
            return Err(format!(
                "signal.ewma_depth_levels ({}) must be one of signal.obi_depths_levels {depths:?}",
                self.ewma_depth_levels
            ));
        }
        if self.weighted_depth_levels == 0 || self.weighted_depth_levels > MAX_OBI_DEPTH_LEVELS {
            return Err(format!(
                "signal.weighted_depth_levels must be 1..={MAX_OBI_DEPTH_LEVELS}, got {}",
                self.weighted_depth_levels
            ));
        }
        if !(self.weighted_lambda_ticks.is_finite() && self.weighted_lambda_ticks > 0.0) {
            return Err(format!(
                "signal.weighted_lambda_ticks must be a finite number > 0, got {}",
                self.weighted_lambda_ticks
            ));
        }
        for (name, v) in [
            ("ewma_half_life_ms", self.ewma_half_life_ms),
            ("zscore_half_life_ms", self.zscore_half_life_ms),
            ("ofi_window_ms", self.ofi_window_ms),
            ("vol_half_life_ms", self.vol_half_life_ms),
            ("vol_horizon_ms", self.vol_horizon_ms),
        ] {
            if v == 0 {
                return Err(format!("signal.{name} must be > 0"));
            }
            if v > 86_400_000 {
                return Err(format!(
                    "signal.{name} must be at most one day (86400000), got {v}"
                ));
            }
        }
        if self.vol_warmup_ms > 86_400_000 {
            return Err(format!(
                "signal.vol_warmup_ms must be at most one day (86400000), got {}",
                self.vol_warmup_ms
            ));
        }
        if !(self.zscore_min_std.is_finite() && self.zscore_min_std >= 0.0) {
            return Err(format!(
                "signal.zscore_min_std must be a finite number >= 0, got {}",
                self.zscore_min_std
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(SignalConfig::default().validate(), Ok(()));
    }

    #[test]
    fn parses_toml_and_rejects_unknown_keys() {
        let cfg: SignalConfig =
            toml::from_str("obi_depths_levels = [2, 10]\newma_depth_levels = 10\n").unwrap();
        assert_eq!(cfg.obi_depths_levels, vec![2, 10]);
        assert_eq!(cfg.ofi_window_ms, SignalConfig::default().ofi_window_ms);
        assert_eq!(cfg.validate(), Ok(()));
        assert!(toml::from_str::<SignalConfig>("obi_depth = [1]\n").is_err());
    }

    #[test]
    fn validate_names_the_field() {
        let mut cfg = SignalConfig {
            obi_depths_levels: vec![5, 1],
            ..SignalConfig::default()
        };
        assert!(cfg.validate().unwrap_err().contains("strictly ascending"));
        cfg.obi_depths_levels = vec![1, 2, 3, 4, 5];
        assert!(cfg.validate().unwrap_err().contains("1 to 4 entries"));
        cfg.obi_depths_levels = vec![1, 8];
        assert!(cfg.validate().unwrap_err().contains("ewma_depth_levels"));
        cfg.ewma_depth_levels = 8;
        cfg.ewma_half_life_ms = 0;
        assert!(cfg.validate().unwrap_err().contains("ewma_half_life_ms"));
        cfg.ewma_half_life_ms = 1;
        cfg.weighted_lambda_ticks = f64::NAN;
        assert!(
            cfg.validate()
                .unwrap_err()
                .contains("weighted_lambda_ticks")
        );
    }
}
