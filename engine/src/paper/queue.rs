//! Our place in the queue at one price level, advanced by trades and by attributed cancels.

use super::config::QueueModel;
use crate::units::Lots;

/// Quantity of other participants ahead of one resting order.
///
/// Invariants when `known`: `0 <= ahead_lots <= level_lots` after every level update, and
/// `traded_lots` is the public trade quantity at our price on our side since that update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct QueuePosition {
    /// Others' quantity ahead of us, lots.
    ahead_lots: i64,
    /// The level's quantity at the last book update we saw, lots (never includes us: the
    /// recorded book does not contain paper orders).
    level_lots: i64,
    /// Public trades at our price and side since that update, lots.
    traded_lots: i64,
    /// False until we know the level's quantity (price was deeper than the visible levels).
    known: bool,
}

impl QueuePosition {
    /// Joining the back of a level holding `level_qty`.
    pub fn join(level_qty: Lots) -> QueuePosition {
        let level_lots = level_qty.0.max(0);
        QueuePosition {
            ahead_lots: level_lots,
            level_lots,
            traded_lots: 0,
            known: true,
        }
    }

    /// Joining a level whose quantity is not known yet; set at the next book update.
    pub fn unknown() -> QueuePosition {
        QueuePosition {
            ahead_lots: 0,
            level_lots: 0,
            traded_lots: 0,
            known: false,
        }
    }

    /// Others' quantity ahead, if known.
    pub fn ahead(&self) -> Option<Lots> {
        self.known.then_some(Lots(self.ahead_lots))
    }

    /// A public trade of `qty` at exactly our price, hitting our side. Consumes the queue
    /// ahead first; returns the excess that reached our place (may exceed our size).
    #[inline]
    pub fn on_trade(&mut self, qty: Lots) -> Lots {
        let qty_lots = qty.0.max(0);
        self.traded_lots = self.traded_lots.saturating_add(qty_lots);
        if !self.known {
            return Lots::ZERO;
        }
        let excess = qty_lots - self.ahead_lots;
        self.ahead_lots = (self.ahead_lots - qty_lots).max(0);
        Lots(excess.max(0))
    }

    /// The book now shows `level_qty` at our price. A decrease larger than the trades seen
    /// since the last update is cancels, attributed by `model`; increases join behind us.
    #[inline]
    pub fn on_level(&mut self, level_qty: Lots, model: QueueModel) {
        let new_lots = level_qty.0.max(0);
        if !self.known {
            *self = QueuePosition::join(level_qty);
            return;
        }
        let after_trades = (self.level_lots - self.traded_lots).max(0);
        let cancelled = after_trades - new_lots;
        if cancelled > 0 {
            let cancelled_ahead = match model {
                QueueModel::AllAhead => cancelled,
                QueueModel::TradesOnly => 0,
                // ahead <= after_trades here, so the share is at most `cancelled`. Floor:
                // a fractional lot of progress is not granted.
                QueueModel::Proportional => {
                    (i128::from(cancelled) * i128::from(self.ahead_lots) / i128::from(after_trades))
                        as i64
                }
            };
            self.ahead_lots = (self.ahead_lots - cancelled_ahead).max(0);
        }
        // Whatever the model, no more can be ahead of us than rests at the level.
        self.ahead_lots = self.ahead_lots.min(new_lots);
        self.level_lots = new_lots;
        self.traded_lots = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trades_consume_the_queue_then_reach_us() {
        let mut q = QueuePosition::join(Lots(10));
        assert_eq!(q.on_trade(Lots(4)), Lots(0));
        assert_eq!(q.ahead(), Some(Lots(6)));
        assert_eq!(q.on_trade(Lots(9)), Lots(3));
        assert_eq!(q.ahead(), Some(Lots(0)));
        // The book then shows the traded quantity gone: explained by trades, not cancels.
        q.on_level(Lots(0), QueueModel::AllAhead);
        assert_eq!(q.ahead(), Some(Lots(0)));
    }

    #[test]
    fn additions_do_not_move_us_and_cancels_follow_the_model() {
        let mut q = QueuePosition::join(Lots(100));
        q.on_level(Lots(150), QueueModel::Proportional);
        assert_eq!(q.ahead(), Some(Lots(100)));
        // 150 -> 120: 30 cancelled, 100/150 of them ahead = 20.
        q.on_level(Lots(120), QueueModel::Proportional);
        assert_eq!(q.ahead(), Some(Lots(80)));
        // 10 traded and the level drops by 10: no cancels.
        q.on_trade(Lots(10));
        q.on_level(Lots(110), QueueModel::Proportional);
        assert_eq!(q.ahead(), Some(Lots(70)));

        let mut all = QueuePosition::join(Lots(100));
        all.on_level(Lots(150), QueueModel::AllAhead);
        all.on_level(Lots(120), QueueModel::AllAhead);
        assert_eq!(all.ahead(), Some(Lots(70)));

        let mut none = QueuePosition::join(Lots(100));
        none.on_level(Lots(90), QueueModel::TradesOnly);
        assert_eq!(
            none.ahead(),
            Some(Lots(90)),
            "capped by the level even when pessimistic"
        );
        none.on_level(Lots(200), QueueModel::TradesOnly);
        assert_eq!(none.ahead(), Some(Lots(90)));
    }

    #[test]
    fn unknown_level_is_set_at_the_next_update() {
        let mut q = QueuePosition::unknown();
        assert_eq!(q.on_trade(Lots(5)), Lots(0));
        assert_eq!(q.ahead(), None);
        q.on_level(Lots(7), QueueModel::Proportional);
        assert_eq!(q.ahead(), Some(Lots(7)));
    }
}
