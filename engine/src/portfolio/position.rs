//! One instrument's position: signed lots, cost basis, realized PnL and fees, all integer.

use crate::units::{Lots, Notional, Side, Ticks};

/// What one fill did to a position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FillEffect {
    /// Lots that closed existing exposure.
    pub closed_lots: i64,
    /// Lots that opened (or added to) exposure; after a flip, the new side's lots.
    pub opened_lots: i64,
    /// PnL realized by the closed lots, before fees, notional units.
    pub realized: Notional,
}

/// A position in notional units (`tick * lot`).
///
/// The cost basis is kept as the signed sum of `price * qty` of the open lots (negative when
/// short), so the average entry price is `cost / qty` without rounding. A partial close
/// removes `cost * closed / |qty|` rounded toward zero; the residue stays with the remaining
/// lots and is realized when they close, so the PnL of a whole round trip is exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// Signed position, lots (positive long).
    pub qty_lots: i64,
    /// Signed cost basis of the open lots, notional units.
    pub cost: Notional,
    /// Realized PnL before fees, notional units.
    pub realized: Notional,
    /// Fees paid (negative: rebates received), notional units.
    pub fees: Notional,
}

impl Position {
    /// Applies a fill of `qty` (> 0) at `price` on `side`; returns what it closed and opened.
    #[inline]
    pub fn apply(&mut self, side: Side, price: Ticks, qty: Lots, fee: Notional) -> FillEffect {
        self.fees = self.fees.saturating_add(fee);
        let qty_lots = qty.0.max(0);
        let sign = side.sign();
        let price_n = i128::from(price.0);
        let mut effect = FillEffect::default();
        let held = self.qty_lots;
        if held != 0 && held.signum() != sign {
            let held_abs = held.unsigned_abs();
            let closed = (qty_lots as u64).min(held_abs) as i64;
            let removed_cost = if closed as u64 == held_abs {
                self.cost
            } else {
                prorate(self.cost, closed, held_abs)
            };
            // Closing a long sells (`+price*closed`); closing a short buys (`-price*closed`).
            let proceeds = i128::from(held.signum()) * price_n * i128::from(closed);
            effect.realized = proceeds.saturating_sub(removed_cost);
            effect.closed_lots = closed;
            self.realized = self.realized.saturating_add(effect.realized);
            self.cost -= removed_cost;
            self.qty_lots += sign * closed;
        }
        let opened = qty_lots - effect.closed_lots;
        if opened > 0 {
            effect.opened_lots = opened;
            self.qty_lots = self.qty_lots.saturating_add(sign * opened);
            self.cost = self
                .cost
                .saturating_add(i128::from(sign) * price_n * i128::from(opened));
        }
        if self.qty_lots == 0 {
            self.cost = 0;
        }
        effect
    }

    /// Unrealized PnL at a mark of `mark_x2_ticks / 2` ticks (the doubled mid keeps half-tick
    /// mids exact); rounded down (towards -infinity), so at most half a unit is given away.
    #[inline]
    pub fn unrealized(&self, mark_x2_ticks: i64) -> Notional {
        let value_x2 = i128::from(self.qty_lots) * i128::from(mark_x2_ticks);
        value_x2
            .saturating_sub(self.cost.saturating_mul(2))
            .div_euclid(2)
    }

    /// Average entry price in ticks (fractional), or 0 when flat. For reports only.
    pub fn avg_entry_ticks(&self) -> f64 {
        if self.qty_lots == 0 {
            0.0
        } else {
            self.cost as f64 / self.qty_lots as f64
        }
    }
}

/// `cost * part / whole` rounded toward zero, without overflowing for any `i64`-sized inputs:
/// split as `(cost / whole) * part + (cost % whole) * part / whole`.
#[inline]
pub(super) fn prorate(cost: Notional, part: i64, whole: u64) -> Notional {
    let whole = i128::from(whole.max(1));
    let part = i128::from(part);
    (cost / whole)
        .saturating_mul(part)
        .saturating_add(cost % whole * part / whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_partial_close_then_close_is_exact() {
        let mut p = Position::default();
        p.apply(Side::Bid, Ticks(100), Lots(1), 0);
        p.apply(Side::Bid, Ticks(101), Lots(2), 0); // 3 lots, cost 302
        assert_eq!((p.qty_lots, p.cost), (3, 302));
        let e = p.apply(Side::Ask, Ticks(105), Lots(1), 0);
        // Removes 302/3 = 100 (toward zero): realized 5.
        assert_eq!((e.closed_lots, e.opened_lots, e.realized), (1, 0, 5));
        let e = p.apply(Side::Ask, Ticks(105), Lots(2), 0);
        assert_eq!(e.realized, 8);
        // Whole trip: 315 - 302 = 13, exact.
        assert_eq!((p.qty_lots, p.cost, p.realized), (0, 0, 13));
    }

    #[test]
    fn prorate_matches_exact_division_and_survives_extremes() {
        assert_eq!(prorate(302, 1, 3), 100);
        assert_eq!(prorate(-302, 2, 3), -201);
        let huge = i128::from(i64::MAX) * i128::from(i64::MAX);
        assert_eq!(
            prorate(huge, i64::MAX - 1, i64::MAX as u64),
            huge / i128::from(i64::MAX) * i128::from(i64::MAX - 1)
        );
        let mut p = Position::default();
        p.apply(Side::Bid, Ticks(i64::MAX), Lots(i64::MAX), 0);
        p.apply(Side::Ask, Ticks(1), Lots(i64::MAX - 1), 0);
        let _ = p.unrealized(i64::MIN);
    }

    #[test]
    fn short_flip_and_half_tick_marks() {
        let mut p = Position::default();
        p.apply(Side::Ask, Ticks(200), Lots(2), 3);
        assert_eq!((p.qty_lots, p.cost), (-2, -400));
        // Mid 198.5: short 2 gains 3.
        assert_eq!(p.unrealized(397), 3);
        // Mid 200.5: loses 1.
        assert_eq!(p.unrealized(401), -1);
        let e = p.apply(Side::Bid, Ticks(190), Lots(5), 1);
        assert_eq!((e.closed_lots, e.opened_lots, e.realized), (2, 3, 20));
        assert_eq!((p.qty_lots, p.cost, p.fees), (3, 570, 4));
        assert_eq!(p.avg_entry_ticks(), 190.0);
        // Long 3 at mid 190.5: 1.5 rounds down to 1.
        assert_eq!(p.unrealized(381), 1);
        assert_eq!(p.unrealized(379), -2);
    }
}
