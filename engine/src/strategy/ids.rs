//! Client order ids: a tiny monotonic generator owned by the core thread.

use crate::order::OrderId;

/// Hands out increasing [`OrderId`]s. Start it above any id used in earlier runs (for
/// example from the checkpoint, or from the start time) so ids stay unique at the venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderIdGen {
    next: u64,
}

impl OrderIdGen {
    /// A generator whose first id is `first` (0 is bumped to 1: id 0 is never issued).
    pub const fn new(first: u64) -> OrderIdGen {
        OrderIdGen {
            next: if first == 0 { 1 } else { first },
        }
    }

    /// The next id; saturates at `u64::MAX` instead of wrapping (never reached in practice).
    #[inline]
    pub fn next_id(&mut self) -> OrderId {
        let id = OrderId(self.next);
        self.next = self.next.saturating_add(1);
        id
    }

    /// The id [`OrderIdGen::next_id`] will return next.
    #[inline]
    pub const fn peek(&self) -> OrderId {
        OrderId(self.next)
    }
}

impl Default for OrderIdGen {
    fn default() -> OrderIdGen {
        OrderIdGen::new(1)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn ids_increase_from_the_start() {
        let mut g = OrderIdGen::new(0);
        assert_eq!(g.next_id(), OrderId(1));
        assert_eq!(g.next_id(), OrderId(2));
        assert_eq!(g.peek(), OrderId(3));
        let mut g = OrderIdGen::new(u64::MAX);
        assert_eq!(g.next_id(), OrderId(u64::MAX));
        assert_eq!(g.next_id(), OrderId(u64::MAX));
    }
}
