//! Configuration of the synthetic market: instrument grid, market model and feed timing.

use std::fmt;

/// Everything that determines a generated session; the same value always gives the same bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthConfig {
    /// Seed of the one random stream the whole session draws from.
    pub seed: u64,
    /// Length of the session in exchange time, seconds.
    pub duration_s: u32,
    /// Upper-case symbol as Binance spells it (`"SYNUSDT"`); stream names use its lower case.
    pub symbol: String,
    /// Initial latent fair price, in ticks (250_000 ticks at 2 decimals is 2500.00).
    pub start_price_ticks: i64,
    /// Decimals of the price grid: one tick is `10^-price_decimals`.
    pub price_decimals: u8,
    /// Decimals of the quantity grid: one lot is `10^-qty_decimals`.
    pub qty_decimals: u8,
    /// Exchange clock at the start of the session, Unix milliseconds.
    pub start_time_ms: u64,
    /// The market model: order flow, hidden pressure, latent fair price.
    pub model: ModelParams,
    /// How the market is published: diff batching, feed lag, snapshot timing.
    pub feed: FeedParams,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            duration_s: 300,
            symbol: "SYNUSDT".to_owned(),
            start_price_ticks: 250_000,
            price_decimals: 2,
            qty_decimals: 3,
            // 2025-01-01T00:00:00Z
            start_time_ms: 1_735_689_600_000,
            model: ModelParams::default(),
            feed: FeedParams::default(),
        }
    }
}

/// Rates and sizes of the market model (see the `synth` module doc for how they interact).
#[derive(Clone, Debug, PartialEq)]
pub struct ModelParams {
    /// Limit order arrivals (all sides and depths), per second.
    pub limit_add_rate_per_s: f64,
    /// Cancel arrivals (partial or full, all sides and depths), per second.
    pub cancel_rate_per_s: f64,
    /// Background market order arrivals, per second.
    pub market_order_rate_per_s: f64,
    /// Extra market orders per second for each tick the mid is away from the fair price
    /// beyond half a tick (arbitrageurs picking off stale quotes).
    pub arb_rate_per_s_per_tick: f64,
    /// Cancels of a whole stale touch level (a bid above fair value or an ask below it), per
    /// second while such a level exists.
    pub stale_cancel_rate_per_s: f64,
    /// Moves of the latent fair price by one tick, per second.
    pub fair_move_rate_per_s: f64,
    /// Neutral → buy or sell pressure, per second.
    pub pressure_on_rate_per_s: f64,
    /// Buy or sell pressure → neutral, per second (mean episode length is the inverse).
    pub pressure_off_rate_per_s: f64,
    /// Scales every pressure effect below; 0 disables them (the hidden state still switches).
    pub pressure_strength: f64,
    /// Under pressure, near-touch adds on the favoured side and cancels on the other side are
    /// `1 + bias` as likely (and added sizes `1 + bias` as large) as on the other side.
    pub pressure_depth_bias: f64,
    /// Under pressure, the probability that a market order buys is `0.5 ± bias`.
    pub pressure_flow_bias: f64,
    /// Under pressure, the probability that a fair-price move is up is `0.5 ± bias`.
    pub pressure_drift_bias: f64,
    /// Mean distance of limit adds and cancels from the reference price, ticks (exponential).
    pub depth_mean_ticks: f64,
    /// Distances are capped here, except for far levels.
    pub depth_max_ticks: i64,
    /// Probability that an add or cancel goes to a far level instead.
    pub far_level_prob: f64,
    /// Far levels are uniform in `[depth_max_ticks, far_max_ticks]` from the reference.
    pub far_max_ticks: i64,
    /// Median size of a limit add, lots (log-normal).
    pub add_size_median_lots: f64,
    /// Log-normal sigma of limit add sizes.
    pub add_size_sigma: f64,
    /// Median size of a market order, lots (log-normal).
    pub market_size_median_lots: f64,
    /// Log-normal sigma of market order sizes.
    pub market_size_sigma: f64,
    /// Levels per side in the initial book, one per tick from the touch.
    pub initial_levels_per_side: u32,
}

impl Default for ModelParams {
    fn default() -> Self {
        Self {
            limit_add_rate_per_s: 170.0,
            cancel_rate_per_s: 150.0,
            market_order_rate_per_s: 4.0,
            arb_rate_per_s_per_tick: 6.0,
            stale_cancel_rate_per_s: 4.0,
            fair_move_rate_per_s: 3.0,
            pressure_on_rate_per_s: 0.4,
            pressure_off_rate_per_s: 0.6,
            pressure_strength: 1.0,
            pressure_depth_bias: 0.4,
            pressure_flow_bias: 0.2,
            pressure_drift_bias: 0.15,
            depth_mean_ticks: 6.0,
            depth_max_ticks: 300,
            far_level_prob: 0.01,
            far_max_ticks: 1_500,
            add_size_median_lots: 400.0,
            add_size_sigma: 1.1,
            market_size_median_lots: 300.0,
            market_size_sigma: 1.2,
            initial_levels_per_side: 200,
        }
    }
}

/// How the market is published to the collector: diff batching, lags, REST snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedParams {
    /// Mean interval between depth diffs, ms (each interval is uniform in ±40 % of it).
    pub diff_interval_ms: f64,
    /// Base feed lag of the depth stream (exchange publish → local receipt), ms.
    pub depth_lag_ms: f64,
    /// Base feed lag of the bookTicker stream, ms.
    pub ticker_lag_ms: f64,
    /// Base feed lag of the trade stream, ms.
    pub trade_lag_ms: f64,
    /// Mean of the exponential jitter added to every lag, ms.
    pub lag_jitter_ms: f64,
    /// Exchange time after the session start at which the REST snapshot is taken, ms.
    pub snapshot_at_ms: u64,
    /// REST round trip: the snapshot line arrives this long after it was taken, ms.
    pub snapshot_latency_ms: f64,
    /// Levels per side in the REST snapshot (Binance serves up to 1000).
    pub snapshot_depth_levels: usize,
    /// Also publish a bookTicker for touch changes inside a diff batch, with the intermediate
    /// update id (as the real stream does); these match no diff's final `u`.
    pub intra_diff_tickers: bool,
    /// Update id of the initial book; later ids grow by small random steps.
    pub first_update_id: u64,
    /// Id of the first trade.
    pub first_trade_id: u64,
}

impl Default for FeedParams {
    fn default() -> Self {
        Self {
            diff_interval_ms: 25.0,
            depth_lag_ms: 4.0,
            ticker_lag_ms: 2.0,
            trade_lag_ms: 2.5,
            lag_jitter_ms: 0.8,
            snapshot_at_ms: 120,
            snapshot_latency_ms: 180.0,
            snapshot_depth_levels: 1_000,
            intra_diff_tickers: true,
            first_update_id: 7_000_000_000_000,
            first_trade_id: 5_000_000_000,
        }
    }
}

/// A configuration value that cannot produce a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthConfigError {
    /// The offending field, as spelled in the struct.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for SynthConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid synth config: {}: {}", self.field, self.reason)
    }
}

impl std::error::Error for SynthConfigError {}

impl SynthConfig {
    /// Checks the values that would otherwise make the generator misbehave.
    pub fn validate(&self) -> Result<(), SynthConfigError> {
        let err = |field, reason| Err(SynthConfigError { field, reason });
        if self.symbol.is_empty() || !self.symbol.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return err("symbol", "must be non-empty ASCII letters and digits");
        }
        if self.price_decimals > 12 || self.qty_decimals > 12 {
            return err("price_decimals/qty_decimals", "at most 12");
        }
        let m = &self.model;
        if self.start_price_ticks <= 2 * m.far_max_ticks + i64::from(m.initial_levels_per_side) {
            return err(
                "start_price_ticks",
                "must leave room for the deepest levels above zero",
            );
        }
        let rates = [
            m.limit_add_rate_per_s,
            m.cancel_rate_per_s,
            m.market_order_rate_per_s,
            m.arb_rate_per_s_per_tick,
            m.stale_cancel_rate_per_s,
            m.fair_move_rate_per_s,
            m.pressure_on_rate_per_s,
            m.pressure_off_rate_per_s,
        ];
        if rates.iter().any(|r| !r.is_finite() || *r < 0.0) {
            return err("model rates", "must be finite and non-negative");
        }
        if m.limit_add_rate_per_s <= 0.0 {
            return err("limit_add_rate_per_s", "must be positive");
        }
        let biases = [
            m.pressure_depth_bias * m.pressure_strength,
            m.pressure_flow_bias * m.pressure_strength,
            m.pressure_drift_bias * m.pressure_strength,
        ];
        if biases
            .iter()
            .any(|b| !b.is_finite() || !(0.0..=0.9).contains(b))
        {
            return err("pressure_*", "bias × strength must be in [0, 0.9]");
        }
        if m.depth_mean_ticks.is_nan()
            || m.depth_mean_ticks <= 0.0
            || m.depth_max_ticks < 1
            || m.far_max_ticks < m.depth_max_ticks
        {
            return err(
                "depth_*",
                "need depth_mean_ticks > 0, 1 <= depth_max_ticks <= far_max_ticks",
            );
        }
        if !(0.0..=1.0).contains(&m.far_level_prob) {
            return err("far_level_prob", "must be in [0, 1]");
        }
        let sizes_ok = m.add_size_median_lots >= 1.0
            && m.market_size_median_lots >= 1.0
            && m.add_size_sigma >= 0.0
            && m.market_size_sigma >= 0.0;
        if !sizes_ok {
            return err("*_size_*", "medians >= 1 lot, sigmas >= 0");
        }
        if m.initial_levels_per_side < 10 {
            return err("initial_levels_per_side", "at least 10");
        }
        let f = &self.feed;
        if !(f.diff_interval_ms >= 1.0 && f.diff_interval_ms <= 1_000.0) {
            return err("diff_interval_ms", "must be in [1, 1000]");
        }
        let lags = [
            f.depth_lag_ms,
            f.ticker_lag_ms,
            f.trade_lag_ms,
            f.lag_jitter_ms,
            f.snapshot_latency_ms,
        ];
        if lags
            .iter()
            .any(|l| !l.is_finite() || *l < 0.0 || *l > 10_000.0)
        {
            return err("*_lag_ms", "must be in [0, 10000]");
        }
        if f.snapshot_at_ms >= u64::from(self.duration_s) * 1_000 {
            return err("snapshot_at_ms", "must fall inside the session");
        }
        if f.snapshot_depth_levels == 0 {
            return err("snapshot_depth_levels", "must be positive");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert_eq!(SynthConfig::default().validate(), Ok(()));
    }

    #[test]
    fn rejects_bad_values() {
        let cfg = SynthConfig {
            symbol: "syn usdt".to_owned(),
            ..SynthConfig::default()
        };
        assert_eq!(cfg.validate().map_err(|e| e.field), Err("symbol"));
        let cfg = SynthConfig {
            duration_s: 0,
            ..SynthConfig::default()
        };
        assert_eq!(cfg.validate().map_err(|e| e.field), Err("snapshot_at_ms"));
        let mut cfg = SynthConfig::default();
        cfg.model.pressure_strength = 3.0;
        assert_eq!(cfg.validate().map_err(|e| e.field), Err("pressure_*"));
    }
}
