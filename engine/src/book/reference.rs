//! [`ReferenceBook`]: a plain `BTreeMap` book with the same API as [`super::L2Book`] — the
//! oracle for tests and the baseline for benchmarks. Reference, not for the hot path: it
//! allocates on inserts.

use super::BookError;
use crate::units::{Level, Lots, Side, Ticks};
use std::collections::BTreeMap;

/// An obviously correct aggregated price-level book: one `BTreeMap<price, qty>` per side.
/// Same semantics as [`super::L2Book`], including refusing negative quantities.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReferenceBook {
    sides: [BTreeMap<i64, i64>; 2],
    rejected: u64,
}

impl ReferenceBook {
    /// An empty book.
    pub fn new() -> ReferenceBook {
        ReferenceBook::default()
    }

    /// Removes every level.
    pub fn clear(&mut self) {
        self.sides[0].clear();
        self.sides[1].clear();
    }

    /// Sets the quantity at a price; `qty == 0` deletes; negative `qty` is refused and counted.
    pub fn set(&mut self, side: Side, price: Ticks, qty: Lots) {
        if self.try_set(side, price, qty).is_err() {
            self.rejected += 1;
        }
    }

    /// Like [`ReferenceBook::set`], but returns the refusal instead of counting it.
    pub fn try_set(&mut self, side: Side, price: Ticks, qty: Lots) -> Result<(), BookError> {
        if qty.0 < 0 {
            return Err(BookError::NegativeQty {
                price_ticks: price.0,
                qty_lots: qty.0,
            });
        }
        let map = &mut self.sides[side.index()];
        if qty.is_zero() {
            map.remove(&price.0);
        } else {
            map.insert(price.0, qty.0);
        }
        Ok(())
    }

    /// Replaces the whole book with a snapshot, applying levels in order with `set` semantics.
    pub fn apply_snapshot(&mut self, bids: &[Level], asks: &[Level]) {
        self.clear();
        for lv in bids {
            self.set(Side::Bid, lv.price, lv.qty);
        }
        for lv in asks {
            self.set(Side::Ask, lv.price, lv.qty);
        }
    }

    /// Number of updates refused so far.
    pub fn rejected_updates(&self) -> u64 {
        self.rejected
    }

    /// Best (highest) bid.
    pub fn best_bid(&self) -> Option<Level> {
        self.best(Side::Bid)
    }

    /// Best (lowest) ask.
    pub fn best_ask(&self) -> Option<Level> {
        self.best(Side::Ask)
    }

    /// Best level of `side`.
    pub fn best(&self, side: Side) -> Option<Level> {
        self.levels(side).next()
    }

    /// Quantity resting at `price` on `side` (zero if no level).
    pub fn qty_at(&self, side: Side, price: Ticks) -> Lots {
        Lots(self.sides[side.index()].get(&price.0).copied().unwrap_or(0))
    }

    /// True when best bid >= best ask.
    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some(b), Some(a)) if b.price >= a.price)
    }

    /// Number of levels on `side`.
    pub fn len(&self, side: Side) -> usize {
        self.sides[side.index()].len()
    }

    /// True when both sides are empty.
    pub fn is_empty(&self) -> bool {
        self.sides[0].is_empty() && self.sides[1].is_empty()
    }

    /// Levels of `side`, best first.
    pub fn levels(&self, side: Side) -> Box<dyn Iterator<Item = Level> + '_> {
        // Boxed: the two directions are different iterator types, and speed is not the point.
        let map = &self.sides[side.index()];
        let to_level = |(&p, &q): (&i64, &i64)| Level::new(p, q);
        match side {
            Side::Bid => Box::new(map.iter().rev().map(to_level)),
            Side::Ask => Box::new(map.iter().map(to_level)),
        }
    }

    /// Calls `f` with up to `n` levels of `side`, best first; stops early when `f` returns false.
    pub fn for_each_level(&self, side: Side, n: usize, mut f: impl FnMut(Level) -> bool) {
        for lv in self.levels(side).take(n) {
            if !f(lv) {
                break;
            }
        }
    }

    /// Total quantity of the best `n_levels` levels of `side`, in lots (saturating).
    pub fn sum_qty(&self, side: Side, n_levels: usize) -> i64 {
        self.levels(side)
            .take(n_levels)
            .fold(0i64, |acc, lv| acc.saturating_add(lv.qty.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_orders_sides_best_first() {
        let mut r = ReferenceBook::new();
        for p in [5, 1, 9] {
            r.set(Side::Bid, Ticks(p), Lots(p));
            r.set(Side::Ask, Ticks(p + 10), Lots(p));
        }
        let bids: Vec<i64> = r.levels(Side::Bid).map(|l| l.price.0).collect();
        let asks: Vec<i64> = r.levels(Side::Ask).map(|l| l.price.0).collect();
        assert_eq!(bids, [9, 5, 1]);
        assert_eq!(asks, [11, 15, 19]);
        assert_eq!(r.sum_qty(Side::Bid, 2), 14);
        r.set(Side::Bid, Ticks(9), Lots(-3));
        assert_eq!(
            (r.rejected_updates(), r.qty_at(Side::Bid, Ticks(9))),
            (1, Lots(9))
        );
    }
}
