//! Confirming cancel-alls, as the operator runbook requires: after a cancel-all (spot
//! `openOrders.cancelAll`, USD-M REST `DELETE /fapi/v1/allOpenOrders`) the instrument's open
//! orders are listed with `openOrders.status`; while the list is not empty (an order the
//! cancel missed, ours or foreign) the cancel-all is sent again after a short, doubling,
//! capped delay, then listed again, for as long as the session is usable.
//!
//! Our orders in a list are applied to our order state like an `order.status` answer, so a
//! fill that raced the cancel is still reported. The cycle runs only after a halt or on a
//! stop; its state is one fixed slot per instrument (no allocation per order).

use super::*;

/// Delay before the first re-cancel (or re-query) of a cycle; doubles per retry.
const RETRY_FIRST: Duration = Duration::from_millis(50);
/// Longest delay between two rounds of a cycle.
const RETRY_CAP: Duration = Duration::from_millis(800);

/// Where an instrument's cancel-all confirmation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// No cancel-all yet, or the last one was confirmed empty.
    Idle,
    /// A cancel-all (spot) or its `openOrders.status` is awaiting its answer.
    InFlight,
    /// Orders were still listed or a request failed: at `at` the cycle goes on with a
    /// re-cancel (or, when `query_only`, just the query).
    Retry { at: Instant, query_only: bool },
    /// The session was lost (or was not usable): the cancel-all is queued for the next
    /// ready session, which restarts the cycle.
    Deferred,
}

/// One instrument's cancel-all confirmation.
#[derive(Clone, Copy, Debug)]
pub(super) struct Confirm {
    pub(super) step: Step,
    /// Retries in this cycle (the backoff exponent).
    retries: u32,
    /// Open orders the last query listed.
    open_seen: u32,
}

impl Confirm {
    pub(super) const IDLE: Confirm = Confirm {
        step: Step::Idle,
        retries: 0,
        open_seen: 0,
    };
}

fn retry_delay(retries: u32) -> Duration {
    RETRY_FIRST
        .saturating_mul(1u32 << retries.min(16))
        .min(RETRY_CAP)
}

impl Worker {
    /// Requests can be sent on the active session.
    pub(super) fn usable(&self) -> bool {
        self.ready() && !self.config_error
    }

    fn confirm_mut(&mut self, instrument: InstrumentId) -> Option<&mut Confirm> {
        self.confirms.get_mut(instrument.index())
    }

    fn set_step(&mut self, instrument: InstrumentId, step: Step) {
        if let Some(c) = self.confirm_mut(instrument) {
            c.step = step;
        }
        self.publish_confirm();
    }

    /// A cancel-all was asked for (core `CancelAll`, the stop): starts (or restarts) the
    /// instrument's cycle with one cancel round. Spot: ignored while a cancel-all or query
    /// of the cycle is in flight (the running cycle ends only when the list is empty).
    /// Returns whether the cancel reached the venue (USD-M: the REST call succeeded).
    pub(super) fn start_cancel_all(&mut self, instrument: InstrumentId) -> bool {
        let spot = self.usdm.is_none();
        let Some(c) = self.confirm_mut(instrument) else {
            return false;
        };
        if spot && c.step == Step::InFlight {
            return false;
        }
        c.retries = 0;
        self.confirm_started = true;
        self.cancel_round(instrument)
    }

    /// Sends the cancel-all of one round: spot over the WS API (its answer leads to the
    /// query), USD-M over REST (synchronous), then the query.
    fn cancel_round(&mut self, instrument: InstrumentId) -> bool {
        if self.usdm.is_some() {
            let ok = !self.config_error && self.rest_cancel_all(instrument);
            self.after_cancel_all(instrument, ok);
            return ok;
        }
        if self.usable() && self.send(Slot::Active, ReqKind::CancelAll(instrument)) {
            self.set_step(instrument, Step::InFlight);
            true
        } else {
            self.defer_confirm(instrument);
            false
        }
    }

    /// The cancel-all of a round is done: `cancelled` when the venue took it (spot: a
    /// success or `-2011`, nothing was open), else it is retried.
    pub(super) fn after_cancel_all(&mut self, instrument: InstrumentId, cancelled: bool) {
        if !self.usable() {
            return self.defer_confirm(instrument);
        }
        let querying = self.usdm.is_some()
            && self
                .confirms
                .get(instrument.index())
                .is_some_and(|c| c.step == Step::InFlight);
        if querying {
            // USD-M: a query of this cycle is already out; its answer decides.
            return;
        }
        if cancelled {
            self.send_open_orders(instrument);
        } else {
            self.retry_confirm(instrument, false);
        }
    }

    fn send_open_orders(&mut self, instrument: InstrumentId) {
        if self.usable() && self.send(Slot::Active, ReqKind::OpenOrders(instrument)) {
            self.set_step(instrument, Step::InFlight);
        } else {
            self.defer_confirm(instrument);
        }
    }

    /// The cycle's request was lost or could not be sent: restart it on the next ready
    /// session, or, if the active session is usable (the request was lost with a session
    /// being drained), after the backoff.
    pub(super) fn defer_confirm(&mut self, instrument: InstrumentId) {
        if self.usable() {
            return self.retry_confirm(instrument, false);
        }
        self.set_step(instrument, Step::Deferred);
        self.defer_cancel_all(instrument);
    }

    fn retry_confirm(&mut self, instrument: InstrumentId, query_only: bool) {
        let now = Instant::now();
        let Some(c) = self.confirm_mut(instrument) else {
            return;
        };
        let at = now + retry_delay(c.retries);
        c.retries = c.retries.saturating_add(1);
        c.step = Step::Retry { at, query_only };
        self.confirm_next_at = Some(self.confirm_next_at.map_or(at, |t| t.min(at)));
        self.publish_confirm();
    }

    /// `openOrders.status` answered: ours are applied like `order.status` answers; an empty
    /// list confirms the cycle, anything listed is cancelled again.
    pub(super) fn on_open_orders(&mut self, instrument: InstrumentId, text: &str) {
        let Ok(states) = response::parse_result::<Vec<OrderState<'_>>>(text) else {
            bump(&self.stats.frames_skipped);
            return self.retry_confirm(instrument, true);
        };
        let mut open: u32 = 0;
        for state in &states {
            open = open.saturating_add(1);
            if let Some(order_id) = self.writer.ids().parse(state.order_client_id()) {
                self.apply_state(order_id, state);
            }
        }
        if let Some(c) = self.confirm_mut(instrument) {
            c.open_seen = open;
        }
        if open == 0 {
            bump(&self.stats.cancel_all_confirmations);
            if let Some(c) = self.confirm_mut(instrument) {
                c.retries = 0;
            }
            self.set_step(instrument, Step::Idle);
        } else {
            bump(&self.stats.cancel_all_recancels);
            self.retry_confirm(instrument, false);
        }
    }

    /// `openOrders.status` failed: asked again after the backoff.
    pub(super) fn on_open_orders_error(&mut self, instrument: InstrumentId) {
        if self.usable() {
            self.retry_confirm(instrument, true);
        } else {
            self.defer_confirm(instrument);
        }
    }

    /// Due retries of any cycle, while the session is usable.
    pub(super) fn confirm_timers(&mut self, now: Instant) {
        let Some(at) = self.confirm_next_at else {
            return;
        };
        if now < at || !self.usable() {
            return;
        }
        self.confirm_next_at = None;
        for index in 0..self.confirms.len() {
            let Step::Retry { at, query_only } = self.confirms[index].step else {
                continue;
            };
            if at > now {
                self.confirm_next_at = Some(self.confirm_next_at.map_or(at, |t| t.min(at)));
                continue;
            }
            let Ok(raw) = u16::try_from(index) else {
                continue;
            };
            let instrument = InstrumentId(raw);
            if query_only {
                self.send_open_orders(instrument);
            } else {
                self.cancel_round(instrument);
            }
        }
    }

    /// Some instrument's cancel-all is not confirmed yet.
    pub(super) fn confirm_pending(&self) -> bool {
        self.confirms.iter().any(|c| c.step != Step::Idle)
    }

    /// Publishes the `cancel_all_confirmed` and `open_orders_at_venue` gauges.
    fn publish_confirm(&self) {
        let open = self
            .confirms
            .iter()
            .fold(0u32, |sum, c| sum.saturating_add(c.open_seen));
        self.stats.open_orders_at_venue.store(open, Relaxed);
        let confirmed = self.confirm_started && !self.confirm_pending();
        self.stats.cancel_all_confirmed.store(confirmed, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_and_is_capped() {
        let ms: Vec<u128> = (0..7).map(|r| retry_delay(r).as_millis()).collect();
        assert_eq!(ms, [50, 100, 200, 400, 800, 800, 800]);
        assert_eq!(retry_delay(u32::MAX), RETRY_CAP);
    }
}
