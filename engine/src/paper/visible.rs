//! The venue's memory of each instrument's book: the best few levels per side.
//!
//! Intents arrive between market events, when the caller's book is not at hand; the venue
//! acts on them against this copy of the book as it stood after the instrument's last event.

use crate::book::L2Book;
use crate::units::{Level, Lots, Side, Ticks};

/// Up to `depth` best levels per side, best first, in buffers reserved once.
#[derive(Clone, Debug)]
pub(super) struct VisibleBook {
    sides: [Vec<Level>; 2],
    depth: usize,
    seen: bool,
}

impl VisibleBook {
    pub fn new(depth: usize) -> VisibleBook {
        VisibleBook {
            sides: [Vec::with_capacity(depth), Vec::with_capacity(depth)],
            depth,
            seen: false,
        }
    }

    /// Copies the best levels of `book` (within reserved capacity: no allocation).
    pub fn refresh(&mut self, book: &L2Book) {
        for side in [Side::Bid, Side::Ask] {
            let levels = &mut self.sides[side.index()];
            levels.clear();
            book.for_each_level(side, self.depth, |level| {
                if levels.len() < levels.capacity() {
                    levels.push(level);
                }
                levels.len() < levels.capacity()
            });
        }
        self.seen = true;
    }

    /// True once a book was copied.
    pub fn is_seen(&self) -> bool {
        self.seen
    }

    /// True once a book was seen and it has at least one level.
    pub fn has_market(&self) -> bool {
        self.seen && !(self.sides[0].is_empty() && self.sides[1].is_empty())
    }

    /// Levels of `side`, best first.
    pub fn levels(&self, side: Side) -> &[Level] {
        &self.sides[side.index()]
    }

    /// Best level of `side`.
    pub fn best(&self, side: Side) -> Option<Level> {
        self.sides[side.index()].first().copied()
    }

    /// Quantity at `price` on `side`; `None` when the price lies beyond the remembered levels.
    pub fn qty_at(&self, side: Side, price: Ticks) -> Option<Lots> {
        let levels = &self.sides[side.index()];
        if let Some(level) = levels.iter().find(|l| l.price == price) {
            return Some(level.qty);
        }
        let covered = levels.len() < self.depth
            || levels.last().is_some_and(|last| match side {
                Side::Bid => price >= last.price,
                Side::Ask => price <= last.price,
            });
        covered.then_some(Lots::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_best_levels_and_knows_its_coverage() {
        let mut book = L2Book::new();
        for p in 0..5 {
            book.set(Side::Bid, Ticks(100 - 2 * p), Lots(1 + p));
            book.set(Side::Ask, Ticks(101 + p), Lots(1));
        }
        let mut v = VisibleBook::new(3);
        assert!(!v.has_market());
        v.refresh(&book);
        assert_eq!(v.levels(Side::Bid).len(), 3);
        assert_eq!(v.best(Side::Ask), Some(Level::new(101, 1)));
        assert_eq!(v.qty_at(Side::Bid, Ticks(98)), Some(Lots(2)));
        assert_eq!(v.qty_at(Side::Bid, Ticks(97)), Some(Lots(0)));
        assert_eq!(v.qty_at(Side::Bid, Ticks(95)), None);
        assert_eq!(v.qty_at(Side::Bid, Ticks(150)), Some(Lots(0)));
        let mut wide = VisibleBook::new(10);
        wide.refresh(&book);
        assert_eq!(wide.qty_at(Side::Bid, Ticks(1)), Some(Lots(0)));
    }
}
