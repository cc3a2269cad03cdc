//! The exchange-side book of the synthetic venue: levels, update ids, and the changes pending
//! for the next depth diff.

use std::collections::BTreeMap;

/// Side of the synthetic book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookSide {
    /// Buy orders; best is the highest price.
    Bid,
    /// Sell orders; best is the lowest price.
    Ask,
}

/// Best bid and ask with their quantities: what a bookTicker carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Touch {
    /// Best bid price, ticks.
    pub bid_ticks: i64,
    /// Quantity at the best bid, lots.
    pub bid_lots: i64,
    /// Best ask price, ticks.
    pub ask_ticks: i64,
    /// Quantity at the best ask, lots.
    pub ask_lots: i64,
}

/// Aggregated price levels with the venue's update id counter.
///
/// Invariants: every stored quantity is positive; the book is never crossed
/// (`best bid < best ask`), checked with `debug_assert!` on every change.
#[derive(Clone, Debug, Default)]
pub struct SimBook {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
    /// Levels changed since the last diff, with their final quantity (0 = deleted).
    pending_bids: BTreeMap<i64, i64>,
    pending_asks: BTreeMap<i64, i64>,
    /// First update id of the pending batch, if it has any change.
    pending_first_id: Option<u64>,
    /// Id of the latest change.
    update_id: u64,
}

impl SimBook {
    /// An empty book whose last update id is `update_id`.
    pub fn new(update_id: u64) -> Self {
        Self {
            update_id,
            ..Self::default()
        }
    }

    /// Id of the latest change (what a snapshot taken now reports as `lastUpdateId`).
    pub fn update_id(&self) -> u64 {
        self.update_id
    }

    fn side(&self, side: BookSide) -> &BTreeMap<i64, i64> {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    /// Quantity at `price_ticks`, 0 if there is no level.
    pub fn qty_lots(&self, side: BookSide, price_ticks: i64) -> i64 {
        self.side(side).get(&price_ticks).copied().unwrap_or(0)
    }

    /// Best level of `side` as `(price_ticks, qty_lots)`.
    pub fn best(&self, side: BookSide) -> Option<(i64, i64)> {
        match side {
            BookSide::Bid => self.bids.last_key_value(),
            BookSide::Ask => self.asks.first_key_value(),
        }
        .map(|(&p, &q)| (p, q))
    }

    /// Best bid and ask, if both sides have a level.
    pub fn touch(&self) -> Option<Touch> {
        let (bid_ticks, bid_lots) = self.best(BookSide::Bid)?;
        let (ask_ticks, ask_lots) = self.best(BookSide::Ask)?;
        Some(Touch {
            bid_ticks,
            bid_lots,
            ask_ticks,
            ask_lots,
        })
    }

    /// Number of levels on `side`.
    pub fn len(&self, side: BookSide) -> usize {
        self.side(side).len()
    }

    /// The first level at `price_ticks` or further from the touch (lower for bids, higher for
    /// asks).
    pub fn level_at_or_beyond(&self, side: BookSide, price_ticks: i64) -> Option<(i64, i64)> {
        match side {
            BookSide::Bid => self.bids.range(..=price_ticks).next_back(),
            BookSide::Ask => self.asks.range(price_ticks..).next(),
        }
        .map(|(&p, &q)| (p, q))
    }

    /// Levels of `side` best first, as `(price_ticks, qty_lots)`.
    pub fn levels(&self, side: BookSide) -> Box<dyn Iterator<Item = (i64, i64)> + '_> {
        match side {
            BookSide::Bid => Box::new(self.bids.iter().rev().map(|(&p, &q)| (p, q))),
            BookSide::Ask => Box::new(self.asks.iter().map(|(&p, &q)| (p, q))),
        }
    }

    /// Sets the level at `price_ticks` to `qty_lots` (0 deletes it), as one venue update whose
    /// id is the previous id plus `id_step` (at least 1).
    pub fn set(&mut self, side: BookSide, price_ticks: i64, qty_lots: i64, id_step: u64) {
        debug_assert!(qty_lots >= 0, "negative level quantity");
        self.update_id += id_step.max(1);
        self.pending_first_id.get_or_insert(self.update_id);
        let (levels, pending) = match side {
            BookSide::Bid => (&mut self.bids, &mut self.pending_bids),
            BookSide::Ask => (&mut self.asks, &mut self.pending_asks),
        };
        if qty_lots > 0 {
            levels.insert(price_ticks, qty_lots);
        } else {
            levels.remove(&price_ticks);
        }
        pending.insert(price_ticks, qty_lots);
        debug_assert!(!self.is_crossed(), "synthetic book crossed");
    }

    /// True when best bid >= best ask (never, if the model is right).
    pub fn is_crossed(&self) -> bool {
        matches!(
            (self.best(BookSide::Bid), self.best(BookSide::Ask)),
            (Some((b, _)), Some((a, _))) if b >= a
        )
    }

    /// Takes the pending batch: `(first_id, last_id, bid changes, ask changes)`, changes in
    /// ascending price order as the venue sends them. `None` if nothing changed.
    pub fn take_pending(&mut self) -> Option<PendingDiff> {
        let first_update_id = self.pending_first_id.take()?;
        Some(PendingDiff {
            first_update_id,
            last_update_id: self.update_id,
            bids: std::mem::take(&mut self.pending_bids).into_iter().collect(),
            asks: std::mem::take(&mut self.pending_asks).into_iter().collect(),
        })
    }

    /// Forgets pending changes (used once the initial book is built: it is never published
    /// as a diff, only through the snapshot).
    pub fn clear_pending(&mut self) {
        self.pending_first_id = None;
        self.pending_bids.clear();
        self.pending_asks.clear();
    }
}

/// The changes of one depth diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingDiff {
    /// Id of the first change in the batch (`U`).
    pub first_update_id: u64,
    /// Id of the last change in the batch (`u`).
    pub last_update_id: u64,
    /// `(price_ticks, qty_lots)` ascending by price; 0 lots deletes the level.
    pub bids: Vec<(i64, i64)>,
    /// `(price_ticks, qty_lots)` ascending by price; 0 lots deletes the level.
    pub asks: Vec<(i64, i64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_final_quantities_and_ids() {
        let mut book = SimBook::new(100);
        book.set(BookSide::Bid, 99, 5, 1);
        book.set(BookSide::Ask, 101, 7, 3);
        book.clear_pending();
        assert!(book.take_pending().is_none());
        book.set(BookSide::Bid, 99, 2, 2);
        book.set(BookSide::Bid, 98, 4, 1);
        book.set(BookSide::Bid, 98, 0, 1);
        let diff = book.take_pending().expect("pending");
        assert_eq!(diff.first_update_id, 106);
        assert_eq!(diff.last_update_id, 108);
        assert_eq!(diff.bids, vec![(98, 0), (99, 2)]);
        assert!(diff.asks.is_empty());
        assert_eq!(
            book.touch(),
            Some(Touch {
                bid_ticks: 99,
                bid_lots: 2,
                ask_ticks: 101,
                ask_lots: 7
            })
        );
        assert_eq!(book.level_at_or_beyond(BookSide::Bid, 100), Some((99, 2)));
        assert_eq!(book.level_at_or_beyond(BookSide::Ask, 102), None);
    }
}
