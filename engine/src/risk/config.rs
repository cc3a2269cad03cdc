//! Risk limits as configured: deserialized with unknown keys rejected, then validated.

/// Largest accepted `max_orders_per_sec` (it sizes a preallocated ring of timestamps).
pub const MAX_ORDERS_PER_SEC_LIMIT: u32 = 100_000;
/// Largest accepted `max_open_orders` (it sizes the preallocated open-order table).
pub const MAX_OPEN_ORDERS_LIMIT: u32 = 4_096;

/// Pre-trade limits. Quantities are per instrument, in that instrument's lots.
///
/// Every field has a conservative default; [`RiskConfig::validate`] must pass before use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskConfig {
    /// Smallest order quantity accepted, lots (venue minimum). Default 1.
    pub min_order_qty_lots: i64,
    /// Largest order quantity accepted (fat-finger guard), lots. Default 100.
    pub max_order_qty_lots: i64,
    /// Largest absolute position, counted worst case (position + open same-side orders + new
    /// order), lots. Default 1000.
    pub max_position_lots: i64,
    /// Most open (sent and not yet finished) orders per instrument. Default 8.
    pub max_open_orders: u32,
    /// Largest distance of a limit price from the mid, basis points, either side. Default 50.
    pub price_band_bps: u32,
    /// Most placements in any rolling 1 s window, all instruments together (venue rate limits
    /// are per account). Cancels are not counted. Default 20.
    pub max_orders_per_sec: u32,
}

impl Default for RiskConfig {
    fn default() -> RiskConfig {
        RiskConfig {
            min_order_qty_lots: 1,
            max_order_qty_lots: 100,
            max_position_lots: 1_000,
            max_open_orders: 8,
            price_band_bps: 50,
            max_orders_per_sec: 20,
        }
    }
}

impl RiskConfig {
    /// Checks the limits are usable together; the error names the field and the rule.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_order_qty_lots < 1 {
            return Err(format!(
                "risk.min_order_qty_lots must be at least 1, got {}",
                self.min_order_qty_lots
            ));
        }
        if self.max_order_qty_lots < self.min_order_qty_lots {
            return Err(format!(
                "risk.max_order_qty_lots ({}) must be at least risk.min_order_qty_lots ({})",
                self.max_order_qty_lots, self.min_order_qty_lots
            ));
        }
        if self.max_position_lots < self.max_order_qty_lots {
            return Err(format!(
                "risk.max_position_lots ({}) must be at least risk.max_order_qty_lots ({}), \
                 or no maximal order could ever pass from flat",
                self.max_position_lots, self.max_order_qty_lots
            ));
        }
        if self.max_open_orders == 0 || self.max_open_orders > MAX_OPEN_ORDERS_LIMIT {
            return Err(format!(
                "risk.max_open_orders must be in 1..={MAX_OPEN_ORDERS_LIMIT}, got {}",
                self.max_open_orders
            ));
        }
        if self.price_band_bps == 0 || self.price_band_bps > 10_000 {
            return Err(format!(
                "risk.price_band_bps must be in 1..=10000, got {}",
                self.price_band_bps
            ));
        }
        if self.max_orders_per_sec == 0 || self.max_orders_per_sec > MAX_ORDERS_PER_SEC_LIMIT {
            return Err(format!(
                "risk.max_orders_per_sec must be in 1..={MAX_ORDERS_PER_SEC_LIMIT}, got {}",
                self.max_orders_per_sec
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert_eq!(RiskConfig::default().validate(), Ok(()));
    }

    #[test]
    fn bad_values_are_named() {
        let cfg = RiskConfig {
            max_order_qty_lots: 0,
            ..RiskConfig::default()
        };
        let err = cfg.validate().err().unwrap_or_default();
        assert!(err.contains("max_order_qty_lots"), "{err}");
        let cfg = RiskConfig {
            max_position_lots: 10,
            ..RiskConfig::default()
        };
        assert!(cfg.validate().is_err());
        let cfg = RiskConfig {
            max_orders_per_sec: 0,
            ..RiskConfig::default()
        };
        assert!(
            cfg.validate()
                .err()
                .unwrap_or_default()
                .contains("max_orders_per_sec")
        );
        let cfg = RiskConfig {
            price_band_bps: 0,
            ..RiskConfig::default()
        };
        assert!(cfg.validate().is_err());
    }

    #[test]
    fn parses_with_defaults_and_rejects_unknown_keys() {
        let cfg: RiskConfig =
            serde_json::from_str(r#"{"max_order_qty_lots": 5}"#).expect("valid json");
        assert_eq!(cfg.max_order_qty_lots, 5);
        assert_eq!(cfg.max_open_orders, RiskConfig::default().max_open_orders);
        assert!(serde_json::from_str::<RiskConfig>(r#"{"max_qty": 5}"#).is_err());
    }
}
