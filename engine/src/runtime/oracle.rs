//! The exchange's own top of book as a running check on ours.
//!
//! Binance's `bookTicker` carries the update id `u` it is current as of. When `u` equals the
//! final id of a diff we applied, the exchange is stating our best bid/ask after that diff,
//! so any difference is a bug or a missed update. Tickers and diffs arrive on separate
//! streams in either order, so both sides are remembered in small fixed rings.

use crate::book::L2Book;
use crate::feed::event::BookTicker;
use crate::units::Level;

const RING: usize = 64;

/// Top of book after one applied diff.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tob {
    update_id: u64,
    bid: Level,
    ask: Level,
}

/// Result of comparing one ticker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OracleVerdict {
    /// Matched our book exactly.
    Match,
    /// Differed from our book.
    Mismatch,
}

/// Per-instrument oracle state; no allocation after construction.
#[derive(Debug)]
pub struct TobOracle {
    applied: [Tob; RING],
    applied_next: usize,
    pending: [Option<BookTicker>; RING],
    pending_next: usize,
    last_applied_id: u64,
}

impl Default for TobOracle {
    fn default() -> Self {
        TobOracle {
            applied: [Tob::default(); RING],
            applied_next: 0,
            pending: [None; RING],
            pending_next: 0,
            last_applied_id: 0,
        }
    }
}

fn tob_of(book: &L2Book, update_id: u64) -> Tob {
    Tob {
        update_id,
        bid: book.best_bid().unwrap_or_default(),
        ask: book.best_ask().unwrap_or_default(),
    }
}

fn compare(tob: &Tob, t: &BookTicker) -> OracleVerdict {
    if tob.bid == t.bid && tob.ask == t.ask {
        OracleVerdict::Match
    } else {
        OracleVerdict::Mismatch
    }
}

impl TobOracle {
    /// Forgets everything (after a gap the old states prove nothing).
    pub fn reset(&mut self) {
        *self = TobOracle::default();
    }

    /// Records our top of book after the diff with final id `update_id`; returns the
    /// verdict for a ticker that had arrived before the diff, if any.
    pub fn on_applied(&mut self, book: &L2Book, update_id: u64) -> Option<OracleVerdict> {
        let tob = tob_of(book, update_id);
        self.applied[self.applied_next] = tob;
        self.applied_next = (self.applied_next + 1) % RING;
        self.last_applied_id = update_id;
        let mut verdict = None;
        for slot in &mut self.pending {
            match slot {
                Some(t) if t.update_id == update_id => {
                    verdict = Some(compare(&tob, t));
                    *slot = None;
                }
                // Older than what we have applied: that state is gone, cannot be checked.
                Some(t) if t.update_id < update_id => *slot = None,
                _ => {}
            }
        }
        verdict
    }

    /// Checks a ticker against the recorded states, or keeps it for a diff still to come.
    pub fn on_ticker(&mut self, ticker: &BookTicker) -> Option<OracleVerdict> {
        if ticker.update_id > self.last_applied_id {
            self.pending[self.pending_next] = Some(*ticker);
            self.pending_next = (self.pending_next + 1) % RING;
            return None;
        }
        self.applied
            .iter()
            .find(|tob| tob.update_id == ticker.update_id && tob.update_id != 0)
            .map(|tob| compare(tob, ticker))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instrument::InstrumentId;
    use crate::units::{Lots, Side, Ticks};

    fn ticker(u: u64, bid: i64, ask: i64) -> BookTicker {
        BookTicker {
            instrument: InstrumentId(0),
            update_id: u,
            bid: Level::new(bid, 1),
            ask: Level::new(ask, 1),
            event_time_ms: None,
        }
    }

    #[test]
    fn checks_in_either_order() {
        let mut book = L2Book::new();
        book.set(Side::Bid, Ticks(100), Lots(1));
        book.set(Side::Ask, Ticks(101), Lots(1));
        let mut o = TobOracle::default();
        // Ticker before the diff.
        assert_eq!(o.on_ticker(&ticker(5, 100, 101)), None);
        assert_eq!(o.on_applied(&book, 5), Some(OracleVerdict::Match));
        // Ticker after the diff, and a wrong one.
        assert_eq!(
            o.on_ticker(&ticker(5, 100, 101)),
            Some(OracleVerdict::Match)
        );
        assert_eq!(
            o.on_ticker(&ticker(5, 99, 101)),
            Some(OracleVerdict::Mismatch)
        );
        // A ticker for an id no diff ended on is not checkable.
        assert_eq!(o.on_ticker(&ticker(4, 1, 2)), None);
    }
}
