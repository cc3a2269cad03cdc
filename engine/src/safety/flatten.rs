//! The flatten policy: whether and how a halt closes open positions. A pure function from
//! position and book to the order to send; the caller counts attempts and sends it.

use crate::instrument::InstrumentId;
use crate::order::{NewOrder, OrderId, TimeInForce};
use crate::units::{Lots, Side, Ticks};

/// What halting does to positions (`[safety.flatten]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlattenConfig {
    /// Close positions after halting (after the cancels are confirmed). Default false:
    /// a halt leaves positions for the operator.
    pub on_halt: bool,
    /// Ask the venue to mark flatten orders reduce-only. The quantity never exceeds the
    /// position either way. Default true.
    pub reduce_only: bool,
    /// Worst price accepted, basis points from the mid (a sell no lower than
    /// `mid × (1 − band)`, a buy no higher than `mid × (1 + band)`). Default 50.
    pub band_bps: u32,
    /// Orders sent per instrument before giving up (each is IOC). Default 3.
    pub max_attempts: u32,
    /// Largest quantity of one flatten order, lots (0: the whole position). Default 0.
    pub max_clip_lots: i64,
}

impl Default for FlattenConfig {
    fn default() -> FlattenConfig {
        FlattenConfig {
            on_halt: false,
            reduce_only: true,
            band_bps: 50,
            max_attempts: 3,
            max_clip_lots: 0,
        }
    }
}

impl FlattenConfig {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.band_bps == 0 || self.band_bps > 5_000 {
            return Err(format!(
                "safety.flatten.band_bps must be in 1..=5000, got {}",
                self.band_bps
            ));
        }
        if self.max_attempts == 0 || self.max_attempts > 100 {
            return Err(format!(
                "safety.flatten.max_attempts must be in 1..=100, got {}",
                self.max_attempts
            ));
        }
        if self.max_clip_lots < 0 {
            return Err(format!(
                "safety.flatten.max_clip_lots must be 0 (whole position) or more, got {}",
                self.max_clip_lots
            ));
        }
        Ok(())
    }
}

/// What the caller knows about one instrument when deciding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlattenInput {
    /// Instrument.
    pub instrument: InstrumentId,
    /// Signed position, lots.
    pub position_lots: i64,
    /// Best bid, if the book (valid) has one.
    pub best_bid: Option<Ticks>,
    /// Best ask, if the book (valid) has one.
    pub best_ask: Option<Ticks>,
    /// Flatten orders already sent for this instrument in this halt.
    pub attempts_made: u32,
    /// Id for the order, if one is sent.
    pub order_id: OrderId,
    /// Now, ns (the causing time of the intent).
    pub ts_ns: u64,
}

/// The decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlattenDecision {
    /// Send this IOC order (its `reduce_only` is the policy's flag for the venue).
    Send(NewOrder),
    /// No position: nothing to do.
    Flat,
    /// The policy does not flatten.
    Disabled,
    /// No usable book (a side missing, or crossed): wait for one.
    NoMarket,
    /// `max_attempts` reached: leave the rest to the operator.
    AttemptsExhausted,
}

/// Decides the next flatten order for one instrument. Pure: no state, no allocation.
pub fn flatten_order(cfg: &FlattenConfig, input: &FlattenInput) -> FlattenDecision {
    if !cfg.on_halt {
        return FlattenDecision::Disabled;
    }
    if input.position_lots == 0 {
        return FlattenDecision::Flat;
    }
    if input.attempts_made >= cfg.max_attempts {
        return FlattenDecision::AttemptsExhausted;
    }
    let (Some(bid), Some(ask)) = (input.best_bid, input.best_ask) else {
        return FlattenDecision::NoMarket;
    };
    if bid.0 <= 0 || ask.0 <= bid.0 {
        return FlattenDecision::NoMarket;
    }
    let mid_x2 = i128::from(bid.0) + i128::from(ask.0);
    let band = i128::from(cfg.band_bps);
    // Long: sell, no lower than mid × (1 − band) rounded up to a tick.
    // Short: buy, no higher than mid × (1 + band) rounded down to a tick.
    let (side, price) = if input.position_lots > 0 {
        let num = mid_x2 * (10_000 - band);
        (Side::Ask, div_ceil(num, 20_000))
    } else {
        let num = mid_x2 * (10_000 + band);
        (Side::Bid, num.div_euclid(20_000))
    };
    let mut qty = input.position_lots.unsigned_abs();
    if cfg.max_clip_lots > 0 {
        qty = qty.min(cfg.max_clip_lots.unsigned_abs());
    }
    FlattenDecision::Send(NewOrder {
        order_id: input.order_id,
        instrument: input.instrument,
        side,
        price: Ticks(i64::try_from(price).unwrap_or(i64::MAX)),
        qty: Lots(i64::try_from(qty).unwrap_or(i64::MAX)),
        tif: TimeInForce::Ioc,
        cause_ts_ns: input.ts_ns,
        reduce_only: cfg.reduce_only,
    })
}

fn div_ceil(num: i128, den: i128) -> i128 {
    -((-num).div_euclid(den))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(position_lots: i64, bid: i64, ask: i64) -> FlattenInput {
        FlattenInput {
            instrument: InstrumentId(2),
            position_lots,
            best_bid: Some(Ticks(bid)),
            best_ask: Some(Ticks(ask)),
            attempts_made: 0,
            order_id: OrderId(77),
            ts_ns: 5,
        }
    }

    fn on() -> FlattenConfig {
        FlattenConfig {
            on_halt: true,
            ..FlattenConfig::default()
        }
    }

    fn sent(d: FlattenDecision) -> NewOrder {
        match d {
            FlattenDecision::Send(o) => o,
            other => panic!("expected an order, got {other:?}"),
        }
    }

    #[test]
    fn long_sells_and_short_buys_the_whole_position_within_the_band() {
        // Mid 10000.5 ticks; 50 bps band: sell >= 9950.4975 -> 9951, buy <= 10050.5025 -> 10050.
        let o = sent(flatten_order(&on(), &input(7, 10_000, 10_001)));
        assert_eq!(
            (o.side, o.price, o.qty, o.tif),
            (Side::Ask, Ticks(9_951), Lots(7), TimeInForce::Ioc)
        );
        assert!(o.reduce_only, "the order carries the venue flag");
        assert_eq!(
            (o.order_id, o.instrument, o.cause_ts_ns),
            (OrderId(77), InstrumentId(2), 5)
        );
        let o = sent(flatten_order(&on(), &input(-3, 10_000, 10_001)));
        assert_eq!(
            (o.side, o.price, o.qty),
            (Side::Bid, Ticks(10_050), Lots(3))
        );
        // The limit never crosses past the band, and never beyond the touch the wrong way.
        assert!(o.price.0 >= 10_001);
    }

    #[test]
    fn clip_disabled_flat_no_market_and_attempts() {
        let cfg = FlattenConfig {
            max_clip_lots: 2,
            reduce_only: false,
            ..on()
        };
        let o = sent(flatten_order(&cfg, &input(-9, 100, 101)));
        assert_eq!(o.qty, Lots(2));
        assert!(!o.reduce_only);
        assert_eq!(
            flatten_order(&FlattenConfig::default(), &input(5, 100, 101)),
            FlattenDecision::Disabled
        );
        assert_eq!(
            flatten_order(&on(), &input(0, 100, 101)),
            FlattenDecision::Flat
        );
        let mut no_ask = input(5, 100, 101);
        no_ask.best_ask = None;
        assert_eq!(flatten_order(&on(), &no_ask), FlattenDecision::NoMarket);
        assert_eq!(
            flatten_order(&on(), &input(5, 101, 101)),
            FlattenDecision::NoMarket
        );
        let mut tired = input(5, 100, 101);
        tired.attempts_made = 3;
        assert_eq!(
            flatten_order(&on(), &tired),
            FlattenDecision::AttemptsExhausted
        );
        tired.attempts_made = 2;
        assert!(matches!(
            flatten_order(&on(), &tired),
            FlattenDecision::Send(_)
        ));
    }

    #[test]
    fn config_validation() {
        assert_eq!(FlattenConfig::default().validate(), Ok(()));
        let bad = FlattenConfig {
            band_bps: 0,
            ..FlattenConfig::default()
        };
        assert!(
            bad.validate()
                .err()
                .unwrap_or_default()
                .contains("band_bps")
        );
    }
}
