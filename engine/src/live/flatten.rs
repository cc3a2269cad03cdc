//! Flatten on halt: after a breaker or kill input halts the engine and every working order
//! is gone, close the positions when `[safety.flatten] on_halt` says so — IOC orders that
//! can only reduce the position, priced within the policy's band, at most `max_attempts`
//! per instrument. A stop (SIGTERM, `--duration-s`) is not a halt and never flattens; nor
//! does a start-up halt (a recovery mismatch means the position itself is in doubt).

use super::notice::{Notice, Notices};
use crate::instrument::InstrumentId;
use crate::runtime::{TickObserver, TickPath};
use crate::safety::{FlattenConfig, FlattenDecision, FlattenInput, flatten_order};

/// Flatten progress for one run.
#[derive(Debug)]
pub struct Flattener {
    cfg: FlattenConfig,
    armed: bool,
    attempts: Vec<u32>,
    gave_up: Vec<bool>,
}

impl Flattener {
    /// The policy, for `n` instruments (nothing happens until [`Flattener::arm`]).
    pub fn new(cfg: FlattenConfig, n: usize) -> Flattener {
        Flattener {
            cfg,
            armed: false,
            attempts: vec![0; n],
            gave_up: vec![false; n],
        }
    }

    /// A halt from a breaker or kill input happened: flatten once the orders are gone.
    pub fn arm(&mut self) {
        self.armed = self.cfg.on_halt;
    }

    /// One step (call about once a millisecond): waits until no order of ours is working
    /// (the cancels, or the last flatten order, finished), then sends the next flatten
    /// order per instrument that still holds a position.
    pub fn step<O: TickObserver>(
        &mut self,
        tick: &mut TickPath<O>,
        now_ns: u64,
        notices: &mut Notices,
    ) {
        if !self.armed || !tick.is_halted() || tick.open_orders() > 0 {
            return;
        }
        let clip = tick.max_order_qty_lots();
        for i in 0..self.attempts.len() {
            let id = InstrumentId(i as u16);
            let position_lots = tick.position_lots(id);
            let ib = tick.book(id);
            let (best_bid, best_ask) = if ib.sync.is_valid() {
                (
                    ib.book.best_bid().map(|l| l.price),
                    ib.book.best_ask().map(|l| l.price),
                )
            } else {
                (None, None)
            };
            let mut cfg = self.cfg;
            if cfg.max_clip_lots == 0 || cfg.max_clip_lots > clip {
                // Never larger than risk lets one order be.
                cfg.max_clip_lots = clip;
            }
            let input = FlattenInput {
                instrument: id,
                position_lots,
                best_bid,
                best_ask,
                attempts_made: self.attempts[i],
                order_id: crate::order::OrderId(0),
                ts_ns: now_ns,
            };
            match flatten_order(&cfg, &input) {
                FlattenDecision::Send(mut order) => {
                    order.order_id = tick.next_order_id();
                    self.attempts[i] += 1;
                    let sent = tick.send_flatten(order, now_ns);
                    notices.send(Notice::Flatten {
                        instrument: id.0,
                        attempt: self.attempts[i],
                        position_lots,
                        order_lots: order.qty.0,
                        price_ticks: order.price.0,
                        refused: sent.err(),
                    });
                }
                FlattenDecision::AttemptsExhausted if !self.gave_up[i] => {
                    self.gave_up[i] = true;
                    notices.send(Notice::FlattenGaveUp {
                        instrument: id.0,
                        position_lots,
                    });
                }
                _ => {}
            }
        }
    }
}
