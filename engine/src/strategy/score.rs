//! Composite entry score and (optionally volatility-scaled) thresholds.

use crate::signal::Signals;
use crate::strategy::config::StrategyConfig;

/// `w_obi·OBI(depth) + w_z·z + w_ofi·ofi_norm + w_mp·microprice_skew`, dimensionless.
///
/// `None` when any term with a non-zero weight is undefined (empty side, z-score warm-up),
/// so a half-known score never triggers an entry.
#[inline]
pub fn composite_score(cfg: &StrategyConfig, sig: &Signals) -> Option<f64> {
    let mut score = 0.0;
    if cfg.weight_obi != 0.0 {
        score += cfg.weight_obi * sig.obi_at(cfg.obi_depth_levels)?;
    }
    if cfg.weight_zscore != 0.0 {
        score += cfg.weight_zscore * sig.obi_zscore?;
    }
    if cfg.weight_ofi != 0.0 {
        score += cfg.weight_ofi * sig.ofi_norm;
    }
    if cfg.weight_microprice != 0.0 {
        score += cfg.weight_microprice * sig.microprice_skew?;
    }
    score.is_finite().then_some(score)
}

/// `(long, short)` thresholds after volatility scaling (unscaled while volatility warms up).
#[inline]
pub fn thresholds(cfg: &StrategyConfig, sig: &Signals) -> (f64, f64) {
    let scale = match (cfg.vol_scaling, sig.vol_ticks) {
        (true, Some(v)) if cfg.vol_ref_ticks > 0.0 => {
            let s = (v / cfg.vol_ref_ticks).clamp(cfg.vol_scale_min, cfg.vol_scale_max);
            if s.is_finite() { s } else { 1.0 }
        }
        _ => 1.0,
    };
    (cfg.long_threshold * scale, cfg.short_threshold * scale)
}

/// Wanted direction now: `1` long, `-1` short (only if `allow_short`), `0` none.
#[inline]
pub fn direction(cfg: &StrategyConfig, sig: &Signals) -> i8 {
    if !sig.valid {
        return 0;
    }
    let Some(score) = composite_score(cfg, sig) else {
        return 0;
    };
    let (long_th, short_th) = thresholds(cfg, sig);
    if score > long_th {
        1
    } else if cfg.allow_short && score < -short_th {
        -1
    } else {
        0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a failed unwrap is a failed test
mod tests {
    use super::*;

    fn sig(obi5: f64) -> Signals {
        let mut s = Signals {
            valid: true,
            obi_count: 1,
            ..Signals::default()
        };
        s.obi_depths_levels[0] = 5;
        s.obi[0] = Some(obi5);
        s
    }

    #[test]
    fn score_weights_and_missing_terms() {
        let mut cfg = StrategyConfig::default();
        assert_eq!(composite_score(&cfg, &sig(0.5)), Some(0.5));
        cfg.weight_zscore = 0.5;
        assert_eq!(
            composite_score(&cfg, &sig(0.5)),
            None,
            "z-score still warming up"
        );
        let mut s = sig(0.5);
        s.obi_zscore = Some(2.0);
        s.ofi_norm = 4.0;
        s.microprice_skew = Some(-1.0);
        cfg.weight_ofi = 0.25;
        cfg.weight_microprice = 0.1;
        let v = composite_score(&cfg, &s).unwrap();
        assert!((v - (0.5 + 1.0 + 1.0 - 0.1)).abs() < 1e-12);
    }

    #[test]
    fn direction_respects_thresholds_shorts_and_volatility() {
        let mut cfg = StrategyConfig::default();
        assert_eq!(direction(&cfg, &sig(0.31)), 1);
        assert_eq!(direction(&cfg, &sig(0.3)), 0);
        assert_eq!(direction(&cfg, &sig(-0.31)), -1);
        cfg.allow_short = false;
        assert_eq!(direction(&cfg, &sig(-0.9)), 0);
        cfg.vol_scaling = true;
        let mut s = sig(0.5);
        s.vol_ticks = Some(2.0); // scale 2 → threshold 0.6
        assert_eq!(direction(&cfg, &s), 0);
        s.vol_ticks = Some(0.1); // clamped to 0.5 → threshold 0.15
        assert_eq!(thresholds(&cfg, &s), (0.15, 0.15));
        s.vol_ticks = None; // warm-up: unscaled
        assert_eq!(direction(&cfg, &s), 1);
        s.valid = false;
        assert_eq!(direction(&cfg, &s), 0);
    }
}
