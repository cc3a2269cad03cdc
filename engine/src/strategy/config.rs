//! Strategy configuration: score weights, thresholds, filters, entry style, exits, timing.

use crate::signal::SignalConfig;

/// How an entry order is priced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryMode {
    /// Rest at our touch (buy at the best bid, sell at the best ask).
    Join,
    /// Rest `improve_ticks` inside our touch, never at or through the opposite touch.
    Improve,
    /// Take liquidity: IOC at the opposite touch plus `cross_slippage_ticks`.
    Cross,
}

/// Parameters of the OBI scalper (`[strategy]` in the engine TOML). Hot: a running engine
/// takes new values from a reloaded config file (see [`super::Strategy::set_config`]).
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StrategyConfig {
    /// OBI depth the score uses, levels per side; must be one of `signal.obi_depths_levels`.
    pub obi_depth_levels: usize,
    /// Score weight of the OBI at `obi_depth_levels` (OBI in `[-1, 1]`).
    pub weight_obi: f64,
    /// Score weight of the OBI z-score (dimensionless).
    pub weight_zscore: f64,
    /// Score weight of the normalized OFI (`Signals::ofi_norm`, dimensionless).
    pub weight_ofi: f64,
    /// Score weight of the microprice skew (offset over half-spread, in `[-1, 1]`).
    pub weight_microprice: f64,
    /// Go long when the score is above this; `>= 0`.
    pub long_threshold: f64,
    /// Go short when the score is below minus this; `>= 0`.
    pub short_threshold: f64,
    /// Scale both thresholds by `clamp(vol_ticks / vol_ref_ticks, vol_scale_min, vol_scale_max)`.
    pub vol_scaling: bool,
    /// Volatility at which thresholds are unscaled, ticks; `> 0`.
    pub vol_ref_ticks: f64,
    /// Lower bound of the threshold scale; `> 0`.
    pub vol_scale_min: f64,
    /// Upper bound of the threshold scale; `>= vol_scale_min`.
    pub vol_scale_max: f64,
    /// No entry while the spread is wider than this, ticks; `>= 1`.
    pub max_spread_ticks: i64,
    /// The entry direction must hold this long (market time) before an order goes out, ms.
    pub confirm_ms: u64,
    /// How the entry is priced.
    pub entry_mode: EntryMode,
    /// Ticks inside our touch for [`EntryMode::Improve`]; `>= 0`.
    pub improve_ticks: i64,
    /// Ticks past the opposite touch for [`EntryMode::Cross`]; `>= 0`.
    pub cross_slippage_ticks: i64,
    /// Passive entries (`join`, `improve`) are post-only; otherwise GTC.
    pub post_only: bool,
    /// Entry size, lots; `> 0`.
    pub order_qty_lots: i64,
    /// Take-profit distance from the entry price, ticks; 0 disables the TP order.
    pub take_profit_ticks: i64,
    /// Stop-loss distance from the entry price, ticks; 0 disables the stop.
    pub stop_loss_ticks: i64,
    /// Close the position this long after the first entry fill, ms; 0 disables.
    pub time_stop_ms: u64,
    /// Cancel an entry not fully filled after this long, ms; `> 0`.
    pub entry_timeout_ms: u64,
    /// Ticks past our touch for the aggressive exit IOC (stop, time stop); `>= 0`.
    pub exit_slippage_ticks: i64,
    /// No new entry this long after a position is closed, ms.
    pub cooldown_ms: u64,
    /// After a placement is rejected, place nothing on that instrument for this long, ms.
    pub reject_backoff_ms: u64,
    /// Allow short entries.
    pub allow_short: bool,
}

impl Default for StrategyConfig {
    fn default() -> StrategyConfig {
        StrategyConfig {
            obi_depth_levels: 5,
            weight_obi: 1.0,
            weight_zscore: 0.0,
            weight_ofi: 0.0,
            weight_microprice: 0.0,
            long_threshold: 0.3,
            short_threshold: 0.3,
            vol_scaling: false,
            vol_ref_ticks: 1.0,
            vol_scale_min: 0.5,
            vol_scale_max: 3.0,
            max_spread_ticks: 2,
            confirm_ms: 100,
            entry_mode: EntryMode::Join,
            improve_ticks: 1,
            cross_slippage_ticks: 0,
            post_only: true,
            order_qty_lots: 1,
            take_profit_ticks: 2,
            stop_loss_ticks: 3,
            time_stop_ms: 10_000,
            entry_timeout_ms: 1_000,
            exit_slippage_ticks: 0,
            cooldown_ms: 1_000,
            reject_backoff_ms: 100,
            allow_short: true,
        }
    }
}

/// One day in ms: the ceiling for every duration (catches seconds/ns mix-ups).
const MAX_DURATION_MS: u64 = 86_400_000;
/// Ceiling for every tick distance.
const MAX_TICKS: i64 = 1_000_000_000;

impl StrategyConfig {
    /// Checks every field; the message names the field and the rule it breaks.
    pub fn validate(&self) -> Result<(), String> {
        if self.obi_depth_levels == 0 {
            return Err("strategy.obi_depth_levels must be >= 1".into());
        }
        let weights = [
            ("weight_obi", self.weight_obi),
            ("weight_zscore", self.weight_zscore),
            ("weight_ofi", self.weight_ofi),
            ("weight_microprice", self.weight_microprice),
        ];
        for (name, w) in weights {
            if !w.is_finite() {
                return Err(format!("strategy.{name} must be a finite number, got {w}"));
            }
        }
        if weights.iter().all(|&(_, w)| w == 0.0) {
            return Err(
                "strategy: at least one of weight_obi, weight_zscore, weight_ofi, \
                        weight_microprice must be non-zero"
                    .into(),
            );
        }
        for (name, v) in [
            ("long_threshold", self.long_threshold),
            ("short_threshold", self.short_threshold),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!(
                    "strategy.{name} must be a finite number >= 0, got {v}"
                ));
            }
        }
        if !(self.vol_ref_ticks.is_finite() && self.vol_ref_ticks > 0.0) {
            return Err(format!(
                "strategy.vol_ref_ticks must be a finite number > 0, got {}",
                self.vol_ref_ticks
            ));
        }
        if !(self.vol_scale_min.is_finite() && self.vol_scale_min > 0.0) {
            return Err(format!(
                "strategy.vol_scale_min must be a finite number > 0, got {}",
                self.vol_scale_min
            ));
        }
        if !(self.vol_scale_max.is_finite() && self.vol_scale_max >= self.vol_scale_min) {
            return Err(format!(
                "strategy.vol_scale_max must be a finite number >= vol_scale_min ({}), got {}",
                self.vol_scale_min, self.vol_scale_max
            ));
        }
        if !(1..=MAX_TICKS).contains(&self.max_spread_ticks) {
            return Err(format!(
                "strategy.max_spread_ticks must be 1..={MAX_TICKS}, got {}",
                self.max_spread_ticks
            ));
        }
        for (name, v) in [
            ("improve_ticks", self.improve_ticks),
            ("cross_slippage_ticks", self.cross_slippage_ticks),
            ("take_profit_ticks", self.take_profit_ticks),
            ("stop_loss_ticks", self.stop_loss_ticks),
            ("exit_slippage_ticks", self.exit_slippage_ticks),
        ] {
            if !(0..=MAX_TICKS).contains(&v) {
                return Err(format!("strategy.{name} must be 0..={MAX_TICKS}, got {v}"));
            }
        }
        if !(1..=1_000_000_000_000).contains(&self.order_qty_lots) {
            return Err(format!(
                "strategy.order_qty_lots must be > 0, got {}",
                self.order_qty_lots
            ));
        }
        if self.entry_timeout_ms == 0 {
            return Err(
                "strategy.entry_timeout_ms must be > 0 (an entry must not rest forever)".into(),
            );
        }
        for (name, v) in [
            ("confirm_ms", self.confirm_ms),
            ("time_stop_ms", self.time_stop_ms),
            ("entry_timeout_ms", self.entry_timeout_ms),
            ("cooldown_ms", self.cooldown_ms),
            ("reject_backoff_ms", self.reject_backoff_ms),
        ] {
            if v > MAX_DURATION_MS {
                return Err(format!(
                    "strategy.{name} must be at most one day ({MAX_DURATION_MS}), got {v}"
                ));
            }
        }
        Ok(())
    }

    /// Checks the fields that depend on the signal configuration.
    pub fn validate_against(&self, signals: &SignalConfig) -> Result<(), String> {
        if self.weight_obi != 0.0 && !signals.obi_depths_levels.contains(&self.obi_depth_levels) {
            return Err(format!(
                "strategy.obi_depth_levels ({}) must be one of signal.obi_depths_levels {:?}",
                self.obi_depth_levels, signals.obi_depths_levels
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
    fn defaults_are_valid_and_match_default_signals() {
        let cfg = StrategyConfig::default();
        assert_eq!(cfg.validate(), Ok(()));
        assert_eq!(cfg.validate_against(&SignalConfig::default()), Ok(()));
    }

    #[test]
    fn parses_toml_and_rejects_unknown_keys() {
        let cfg: StrategyConfig =
            toml::from_str("entry_mode = \"cross\"\nlong_threshold = 0.5\nallow_short = false\n")
                .unwrap();
        assert_eq!(cfg.entry_mode, EntryMode::Cross);
        assert_eq!(cfg.long_threshold, 0.5);
        assert!(!cfg.allow_short);
        assert!(toml::from_str::<StrategyConfig>("take_profit = 3\n").is_err());
        assert!(toml::from_str::<StrategyConfig>("entry_mode = \"market\"\n").is_err());
    }

    #[test]
    fn validate_names_the_field() {
        let bad = |f: fn(&mut StrategyConfig)| {
            let mut c = StrategyConfig::default();
            f(&mut c);
            c.validate().unwrap_err()
        };
        assert!(bad(|c| c.order_qty_lots = 0).contains("order_qty_lots"));
        assert!(bad(|c| c.long_threshold = -0.1).contains("long_threshold"));
        assert!(bad(|c| c.max_spread_ticks = 0).contains("max_spread_ticks"));
        assert!(bad(|c| c.entry_timeout_ms = 0).contains("entry_timeout_ms"));
        assert!(bad(|c| c.weight_obi = 0.0).contains("at least one"));
        assert!(bad(|c| c.vol_scale_max = 0.1).contains("vol_scale_max"));
        assert!(bad(|c| c.take_profit_ticks = -1).contains("take_profit_ticks"));
        let c = StrategyConfig {
            obi_depth_levels: 7,
            ..StrategyConfig::default()
        };
        assert!(
            c.validate_against(&SignalConfig::default())
                .unwrap_err()
                .contains("obi_depth_levels")
        );
    }
}
