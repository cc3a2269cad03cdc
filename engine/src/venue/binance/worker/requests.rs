//! Requests and intents: building, signing and sending requests; turning the core thread's
//! intents into them (or into local refusals while no session is ready).

use super::*;

impl Worker {
    // ---- requests ----

    /// Builds, signs and sends one request on the session in `slot`.
    pub(super) fn send(&mut self, slot: Slot, kind: ReqKind) -> bool {
        if self.config_error && !matches!(kind, ReqKind::Time { .. }) {
            return false;
        }
        let id = self.next_request_id;
        self.next_request_id += 1;
        let ts = self.venue_now_ms();
        let auth = self.auth;
        let creds = &self.creds;
        let writer = &mut self.writer;
        let mut kind = kind;
        let is_cancel = matches!(kind, ReqKind::Cancel(_));
        let text: &str = match &mut kind {
            ReqKind::Time { sent_wall_ms } => {
                *sent_wall_ms = wall_ms();
                writer.time(id, creds)
            }
            ReqKind::Logon => writer.logon(id, ts, creds),
            ReqKind::Subscribe => match writer.flavor() {
                Flavor::Spot => writer.subscribe(id, creds),
                Flavor::UsdM => writer.user_data_start(id, creds),
            },
            ReqKind::UserDataPing => writer.user_data_ping(id, creds),
            ReqKind::Place(order_id) => {
                let Some(record) = self.orders.get(*order_id) else {
                    return false;
                };
                let Some(spec) = spec_of(&self.instruments, record.order.instrument) else {
                    return false;
                };
                writer.place(id, auth, ts, spec, &record.order, creds)
            }
            ReqKind::Cancel(order_id) | ReqKind::Status(order_id) => {
                let Some(record) = self.orders.get(*order_id) else {
                    return false;
                };
                let Some(spec) = spec_of(&self.instruments, record.order.instrument) else {
                    return false;
                };
                if is_cancel {
                    writer.cancel(id, auth, ts, spec, *order_id, creds)
                } else {
                    writer.status(id, auth, ts, spec, *order_id, creds)
                }
            }
            ReqKind::CancelAll(instrument) => {
                let Some(spec) = spec_of(&self.instruments, *instrument) else {
                    return false;
                };
                if writer.flavor() == Flavor::UsdM {
                    // The futures WS API has no cancel-all: USD-M cancels all over REST.
                    return false;
                }
                writer.cancel_all(id, auth, ts, spec, creds)
            }
            ReqKind::OpenOrders(instrument) => {
                let Some(spec) = spec_of(&self.instruments, *instrument) else {
                    return false;
                };
                writer.open_orders(id, auth, ts, spec, creds)
            }
        };
        let session = match slot {
            Slot::Active => self.active.as_mut(),
            Slot::Standby => self.standby.as_mut(),
            Slot::Draining => self.draining.as_mut(),
        };
        let Some(session) = session else {
            return false;
        };
        let generation = session.generation;
        if let Err(e) = session.conn.send_text(text) {
            let why = e.to_string();
            self.drop_session(slot, &why);
            return false;
        }
        self.pending.insert(
            id,
            Pending {
                generation,
                kind,
                sent_at: Instant::now(),
            },
        );
        bump(&self.stats.requests_sent);
        match kind {
            ReqKind::Place(_) => {
                bump(&self.stats.orders_placed);
                self.rate.on_order_sent();
            }
            ReqKind::Cancel(_) | ReqKind::CancelAll(_) => bump(&self.stats.cancels_sent),
            ReqKind::Status(_) => bump(&self.stats.status_queries),
            ReqKind::OpenOrders(_) => bump(&self.stats.open_orders_queries),
            ReqKind::UserDataPing => bump(&self.stats.listen_key_pings),
            _ => {}
        }
        true
    }

    // ---- intents ----

    pub(super) fn take_intents(&mut self) {
        while let Ok(intent) = self.intents.pop() {
            self.on_intent(intent);
        }
    }

    pub(super) fn reject_locally(&mut self, order_id: OrderId, reason: RejectReason) {
        bump(&self.stats.local_rejects);
        let ts_ns = self.venue_now_ns();
        self.out.push(Report::Rejected {
            order_id,
            reason,
            ts_ns,
        });
    }

    pub(super) fn on_intent(&mut self, intent: Intent) {
        match intent {
            Intent::Place(order) => {
                let refuse = !self.accepting()
                    || self.config_error
                    || self.stopping.is_some()
                    || spec_of(&self.instruments, order.instrument).is_none()
                    || !self
                        .rate
                        .allows_order(self.mono_ms(), self.cfg.rate_limit_headroom);
                if refuse {
                    return self.reject_locally(order.order_id, RejectReason::Venue);
                }
                if self.orders.admit(order).is_err() {
                    // Its client order id was used already: never sent twice, and no report
                    // (a report would speak for the original order).
                    bump(&self.stats.duplicate_ids);
                    return;
                }
                // If the send fails the order stays recorded; reconciliation asks about it.
                self.send(Slot::Active, ReqKind::Place(order.order_id));
            }
            Intent::Cancel { order_id, .. } => {
                let Some(record) = self.orders.get_mut(order_id) else {
                    let ts_ns = self.venue_now_ns();
                    self.out.push(Report::Rejected {
                        order_id,
                        reason: RejectReason::UnknownOrder,
                        ts_ns,
                    });
                    return;
                };
                if record.done {
                    return;
                }
                record.cancel_requested = true;
                record.cancel_attempts = 0;
                if self.ready() && !self.config_error {
                    self.send_cancel(order_id);
                }
                // Otherwise the reconnect's status query finds it open and cancels it.
            }
            Intent::CancelAll { instrument, .. } => {
                if self.usdm.is_some() {
                    self.usdm_cancel_all(instrument);
                } else {
                    // Sent now, or queued for the next ready session; confirmed either way.
                    self.start_cancel_all(instrument);
                }
            }
        }
    }

    pub(super) fn send_cancel(&mut self, order_id: OrderId) {
        let Some(record) = self.orders.get_mut(order_id) else {
            return;
        };
        if record.done || record.cancel_attempts >= MAX_CANCEL_ATTEMPTS {
            return;
        }
        record.cancel_attempts += 1;
        self.send(Slot::Active, ReqKind::Cancel(order_id));
    }

    /// Keeps a cancel-all for the next ready session (once per instrument).
    pub(super) fn defer_cancel_all(&mut self, instrument: InstrumentId) {
        let queued = self.deferred.iter().any(
            |i| matches!(i, Intent::CancelAll { instrument: queued, .. } if *queued == instrument),
        );
        if !queued {
            self.deferred.push_back(Intent::CancelAll {
                instrument,
                cause_ts_ns: 0,
            });
        }
    }
}
