//! Fee rates in integer form and the fee of one fill in notional units.

use crate::units::{Lots, Notional, Ticks};

/// Fee rates are held in units of 10^-8 of notional (0.0001 bps resolution).
const RATE_SCALE: i128 = 100_000_000;

/// A fee rate, fixed point: `rate_e8 / 10^8` of the fill's notional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeeRate {
    rate_e8: i64,
}

impl FeeRate {
    /// From basis points (1 bps = 10^4 units of 10^-8), rounded to the nearest 0.0001 bps.
    /// Non-finite input gives a zero rate (config validation refuses it first).
    pub fn from_bps(bps: f64) -> FeeRate {
        let scaled = (bps * 10_000.0).round();
        let rate_e8 = if scaled.is_finite() { scaled as i64 } else { 0 };
        FeeRate { rate_e8 }
    }

    /// The fee for `qty` at `price`, in notional units (`tick * lot`).
    ///
    /// Rounded up (towards +infinity): a fee is never smaller and a rebate (negative fee)
    /// never larger than the exact value, so rounding always favours the venue.
    #[inline]
    pub fn fee(self, price: Ticks, qty: Lots) -> Notional {
        let notional = i128::from(price.0) * i128::from(qty.0);
        let exact_e8 = notional * i128::from(self.rate_e8);
        let floor = exact_e8.div_euclid(RATE_SCALE);
        if exact_e8.rem_euclid(RATE_SCALE) == 0 {
            floor
        } else {
            floor + 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_round_in_the_venues_favour() {
        let taker = FeeRate::from_bps(5.0);
        // 10_000 ticks * 3 lots = 30_000 notional; 5 bps = 15.
        assert_eq!(taker.fee(Ticks(10_000), Lots(3)), 15);
        // 10_001 * 1 * 5e-4 = 5.0005 -> 6.
        assert_eq!(taker.fee(Ticks(10_001), Lots(1)), 6);
        let rebate = FeeRate::from_bps(-0.5);
        // -0.50005 -> 0 (rebate rounded towards zero).
        assert_eq!(rebate.fee(Ticks(10_001), Lots(1)), 0);
        assert_eq!(rebate.fee(Ticks(10_000), Lots(3)), -1);
        assert_eq!(FeeRate::from_bps(1.8).fee(Ticks(100_000), Lots(1)), 18);
        assert_eq!(FeeRate::from_bps(f64::NAN).fee(Ticks(1), Lots(1)), 0);
    }
}
