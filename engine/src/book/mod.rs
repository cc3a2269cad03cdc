//! L2 order books keyed by integer price ticks.
//!
//! PLACEHOLDER IMPLEMENTATION (BTreeMap) — the book helper replaces the internals of
//! [`L2Book`] with the fast book; the public API below is the contract.

use crate::units::{Level, Lots, Side, Ticks};
use std::collections::BTreeMap;

/// An aggregated price-level book for one instrument. Keeps every level it is given.
#[derive(Debug, Default, Clone)]
pub struct L2Book {
    sides: [BTreeMap<i64, i64>; 2],
}

impl L2Book {
    /// An empty book.
    pub fn new() -> L2Book {
        L2Book::default()
    }

    /// Removes every level (keeps allocated capacity).
    pub fn clear(&mut self) {
        self.sides[0].clear();
        self.sides[1].clear();
    }

    /// Sets the quantity at a price; `qty == 0` deletes the level.
    pub fn set(&mut self, side: Side, price: Ticks, qty: Lots) {
        let map = &mut self.sides[side.index()];
        if qty.is_zero() {
            map.remove(&price.0);
        } else {
            map.insert(price.0, qty.0);
        }
    }

    /// Best (highest) bid.
    pub fn best_bid(&self) -> Option<Level> {
        self.sides[0].iter().next_back().map(|(&p, &q)| Level::new(p, q))
    }

    /// Best (lowest) ask.
    pub fn best_ask(&self) -> Option<Level> {
        self.sides[1].iter().next().map(|(&p, &q)| Level::new(p, q))
    }

    /// Best level of `side`.
    pub fn best(&self, side: Side) -> Option<Level> {
        match side {
            Side::Bid => self.best_bid(),
            Side::Ask => self.best_ask(),
        }
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

    /// Calls `f` with up to `n` levels of `side`, best first; stops early when `f` returns false.
    pub fn for_each_level(&self, side: Side, n: usize, mut f: impl FnMut(Level) -> bool) {
        let map = &self.sides[side.index()];
        let mut visit = |(&p, &q): (&i64, &i64)| f(Level::new(p, q));
        match side {
            Side::Bid => {
                for lv in map.iter().rev().take(n) {
                    if !visit(lv) {
                        break;
                    }
                }
            }
            Side::Ask => {
                for lv in map.iter().take(n) {
                    if !visit(lv) {
                        break;
                    }
                }
            }
        }
    }
}
