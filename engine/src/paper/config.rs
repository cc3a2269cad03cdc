//! Paper venue settings: latencies, fees and the queue model, validated before use.

/// How a decrease of our price level that trades do not explain (cancels) moves our place.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueModel {
    /// Cancels come from ahead of us in proportion to the quantity ahead of us: a level of 100
    /// lots with 40 ahead of us that loses 10 lots to cancels moves us up 4. The expected
    /// value when every resting lot is equally likely to be cancelled (hftbacktest's
    /// `ProbQueueModel` with a linear probability function).
    #[default]
    Proportional,
    /// Every cancel is ahead of us (optimistic bound).
    AllAhead,
    /// Cancels are always behind us; only trades move us up (pessimistic bound).
    TradesOnly,
}

/// Largest latency accepted, ns (10 s): anything larger is a unit mistake.
const MAX_LATENCY_NS: u64 = 10_000_000_000;
/// Largest absolute fee accepted, bps (1 %).
const MAX_FEE_BPS: f64 = 100.0;

/// Paper venue configuration.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaperConfig {
    /// Time from submitting an intent to the venue acting on it, ns. Default 2 ms.
    pub order_latency_ns: u64,
    /// Time from the venue acting to the report reaching us, ns. Default 1 ms.
    pub report_latency_ns: u64,
    /// Fee on maker fills, bps of notional; negative is a rebate. Default 2.0.
    pub maker_fee_bps: f64,
    /// Fee on taker fills, bps of notional; negative is a rebate. Default 5.0.
    pub taker_fee_bps: f64,
    /// Attribution of cancels at our price level. Default `proportional`.
    pub queue_model: QueueModel,
    /// Levels per side the venue remembers from the last book of each instrument; marketable
    /// orders only take liquidity from these. Default 32.
    pub visible_levels: u32,
    /// Most resting orders at the venue at once (all instruments); more are rejected, as a
    /// real venue does. Default 200.
    pub max_open_orders: u32,
    /// Preallocated capacity of the in-flight intent and report queues. Default 1024.
    pub max_in_flight: u32,
}

impl Default for PaperConfig {
    fn default() -> PaperConfig {
        PaperConfig {
            order_latency_ns: 2_000_000,
            report_latency_ns: 1_000_000,
            maker_fee_bps: 2.0,
            taker_fee_bps: 5.0,
            queue_model: QueueModel::Proportional,
            visible_levels: 32,
            max_open_orders: 200,
            max_in_flight: 1024,
        }
    }
}

impl PaperConfig {
    /// Checks every field's range; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        for (name, ns) in [
            ("order_latency_ns", self.order_latency_ns),
            ("report_latency_ns", self.report_latency_ns),
        ] {
            if ns > MAX_LATENCY_NS {
                return Err(format!(
                    "paper.{name} must be at most {MAX_LATENCY_NS} (10 s), got {ns}"
                ));
            }
        }
        for (name, bps) in [
            ("maker_fee_bps", self.maker_fee_bps),
            ("taker_fee_bps", self.taker_fee_bps),
        ] {
            if !bps.is_finite() || bps.abs() > MAX_FEE_BPS {
                return Err(format!(
                    "paper.{name} must be a number in -100..=100, got {bps}"
                ));
            }
        }
        if !(1..=1_000).contains(&self.visible_levels) {
            return Err(format!(
                "paper.visible_levels must be in 1..=1000, got {}",
                self.visible_levels
            ));
        }
        if !(1..=100_000).contains(&self.max_open_orders) {
            return Err(format!(
                "paper.max_open_orders must be in 1..=100000, got {}",
                self.max_open_orders
            ));
        }
        if !(1..=1_000_000).contains(&self.max_in_flight) {
            return Err(format!(
                "paper.max_in_flight must be in 1..=1000000, got {}",
                self.max_in_flight
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_bad_fields_are_named() {
        assert_eq!(PaperConfig::default().validate(), Ok(()));
        let bad = PaperConfig {
            taker_fee_bps: f64::NAN,
            ..PaperConfig::default()
        };
        assert!(
            bad.validate()
                .err()
                .unwrap_or_default()
                .contains("taker_fee_bps")
        );
        let bad = PaperConfig {
            visible_levels: 0,
            ..PaperConfig::default()
        };
        assert!(
            bad.validate()
                .err()
                .unwrap_or_default()
                .contains("visible_levels")
        );
        let bad = PaperConfig {
            order_latency_ns: u64::MAX,
            ..PaperConfig::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn parses_partial_config_and_rejects_unknown_keys() {
        let cfg: PaperConfig =
            serde_json::from_str(r#"{"maker_fee_bps": -0.5, "queue_model": "all_ahead"}"#)
                .expect("valid json");
        assert_eq!(cfg.maker_fee_bps, -0.5);
        assert_eq!(cfg.queue_model, QueueModel::AllAhead);
        assert_eq!(
            cfg.order_latency_ns,
            PaperConfig::default().order_latency_ns
        );
        assert!(serde_json::from_str::<PaperConfig>(r#"{"latency": 1}"#).is_err());
    }
}
