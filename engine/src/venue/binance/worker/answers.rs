//! Incoming frames: answers to our requests (matched by id), execution reports and
//! `serverShutdown`, turned into reports, clock offsets, rate-limit counts and session steps.

use super::*;
use crate::venue::keys::KeyType;

impl Worker {
    // ---- reading ----

    pub(super) fn read_all(&mut self) {
        for slot in [Slot::Active, Slot::Standby, Slot::Draining] {
            self.read_slot(slot);
        }
        if self.usdm.is_some() {
            self.read_user_stream();
        }
    }

    pub(super) fn read_slot(&mut self, slot: Slot) {
        let mut buf = std::mem::take(&mut self.buf);
        // Bounded per call so one busy session cannot starve intents.
        for _ in 0..256 {
            let Some(session) = self.session(slot) else {
                break;
            };
            let generation = session.generation;
            match session.conn.read(&mut buf) {
                Ok(WsRead::Message(n)) => match std::str::from_utf8(&buf[..n]) {
                    Ok(text) => self.on_message(generation, text),
                    Err(_) => bump(&self.stats.frames_skipped),
                },
                Ok(WsRead::Control) => {}
                Ok(WsRead::Idle) => break,
                Err(e) => {
                    let why = e.to_string();
                    self.drop_session(slot, &why);
                    break;
                }
            }
        }
        self.buf = buf;
    }

    pub(super) fn on_message(&mut self, generation: u32, text: &str) {
        match Frame::parse(text) {
            Err(_) => bump(&self.stats.frames_skipped),
            Ok(Frame::Event { kind }) => match kind.as_ref() {
                "executionReport" => self.on_execution(text),
                "serverShutdown" => self.on_server_shutdown(generation),
                _ => {}
            },
            Ok(Frame::Response {
                id,
                status,
                error,
                rate_limits,
            }) => {
                let mono = self.mono_ms();
                if !rate_limits.is_empty() {
                    self.rate.update(&rate_limits, mono);
                    self.stats
                        .rate_limit_used_ppm
                        .store(self.rate.used_ppm(mono), Relaxed);
                }
                let Some(pending) = id.and_then(|id| self.pending.remove(&id)) else {
                    bump(&self.stats.frames_skipped);
                    return;
                };
                match error {
                    None if status == 200 => self.on_success(generation, pending.kind, text),
                    error => {
                        let error = error.unwrap_or(ErrorBody {
                            code: -i64::from(status),
                            msg: "".into(),
                        });
                        self.on_error(generation, pending.kind, &error);
                    }
                }
            }
        }
    }

    pub(super) fn on_execution(&mut self, text: &str) {
        let Ok(event) = response::parse_event::<SpotEvent<'_>>(text) else {
            bump(&self.stats.frames_skipped);
            return;
        };
        self.apply_execution(user_data::from_spot(event));
    }

    /// An execution of one of our orders (spot `executionReport` or USD-M
    /// `ORDER_TRADE_UPDATE`), reported as the deltas of its cumulative figures.
    pub(super) fn apply_execution(&mut self, exec: user_data::Execution<'_>) {
        let Some(order_id) = self.writer.ids().parse(&exec.client_order_id) else {
            // Another client's (or an earlier run's) order on the same account.
            bump(&self.stats.frames_skipped);
            return;
        };
        let Some(record) = self.orders.get(order_id) else {
            bump(&self.stats.frames_skipped);
            return;
        };
        let Some(spec) = spec_of(&self.instruments, record.order.instrument) else {
            return;
        };
        if !spec.symbol.matches(exec.symbol.as_bytes()) {
            bump(&self.stats.frames_skipped);
            return;
        }
        let ts_ns = if exec.time_ms > 0 {
            ms_to_ns(exec.time_ms)
        } else {
            self.venue_now_ns()
        };
        self.orders
            .on_execution(order_id, spec, &exec, ts_ns, &self.stats, &mut self.out);
    }

    pub(super) fn on_server_shutdown(&mut self, generation: u32) {
        bump(&self.stats.server_shutdowns);
        if self.slot_of(generation) != Some(Slot::Active)
            || self.standby.is_some()
            || self.stopping.is_some()
            || self.config_error
        {
            return;
        }
        self.log_state("shutdown", || {
            "serverShutdown: opening a new WS API session".into()
        });
        if let Some(session) = self.open_session() {
            self.standby = Some(session);
            self.send(Slot::Standby, ReqKind::Time { sent_wall_ms: 0 });
        }
    }

    pub(super) fn state_of<'t>(&self, text: &'t str) -> Option<OrderState<'t>> {
        match response::parse_result::<OrderState<'_>>(text) {
            Ok(state) => Some(state),
            Err(_) => {
                bump(&self.stats.frames_skipped);
                None
            }
        }
    }

    pub(super) fn apply_state(&mut self, order_id: OrderId, state: &OrderState<'_>) -> Liveness {
        let Some(record) = self.orders.get(order_id) else {
            return Liveness::Closed;
        };
        let Some(spec) = spec_of(&self.instruments, record.order.instrument) else {
            return Liveness::Closed;
        };
        let ts_ns = if state.time_ms() > 0 {
            ms_to_ns(state.time_ms())
        } else {
            self.venue_now_ns()
        };
        self.orders
            .on_state(order_id, spec, state, ts_ns, &self.stats, &mut self.out)
    }

    pub(super) fn on_success(&mut self, generation: u32, kind: ReqKind, text: &str) {
        let slot = self.slot_of(generation);
        match kind {
            ReqKind::Time { sent_wall_ms } => {
                let Ok(time) = response::parse_result::<ServerTime>(text) else {
                    bump(&self.stats.frames_skipped);
                    return;
                };
                let now = wall_ms();
                self.offset_ms = time.server_time_ms - (sent_wall_ms + now) / 2;
                self.stats.clock_offset_ms.store(self.offset_ms, Relaxed);
                bump(&self.stats.clock_syncs);
                if let Some(slot) = slot
                    && let Some(session) = self.session(slot)
                    && session.phase == Phase::Time
                {
                    session.phase = Phase::Logon;
                    self.send(slot, ReqKind::Logon);
                }
            }
            ReqKind::Logon => {
                if let Some(slot) = slot
                    && let Some(session) = self.session(slot)
                {
                    session.phase = Phase::Subscribe;
                    if slot == Slot::Active {
                        self.stats.logged_on.store(true, Relaxed);
                    }
                    self.send(slot, ReqKind::Subscribe);
                }
            }
            ReqKind::Subscribe if self.usdm.is_some() => self.on_listen_key(slot, text),
            ReqKind::Subscribe => {
                if let Some(slot) = slot
                    && let Some(session) = self.session(slot)
                {
                    session.phase = Phase::Ready;
                    self.on_session_ready(slot);
                }
            }
            ReqKind::UserDataPing => {}
            ReqKind::Place(order_id) => {
                let ts_ns = match response::parse_result::<PlaceAck<'_>>(text) {
                    Ok(ack) if ack.time_ms() > 0 => ms_to_ns(ack.time_ms()),
                    _ => self.venue_now_ns(),
                };
                self.orders.on_ack(order_id, ts_ns, &mut self.out);
            }
            ReqKind::Cancel(order_id) => {
                if let Some(state) = self.state_of(text) {
                    self.apply_state(order_id, &state);
                }
            }
            ReqKind::Status(order_id) => {
                if let Some(record) = self.orders.get_mut(order_id) {
                    record.status_failures = 0;
                }
                if let Some(state) = self.state_of(text)
                    && self.apply_state(order_id, &state) == Liveness::Open
                    && self
                        .orders
                        .get(order_id)
                        .is_some_and(|r| r.cancel_requested)
                    && self.ready()
                {
                    self.send_cancel(order_id);
                }
            }
            ReqKind::CancelAll(instrument) => {
                match response::parse_result::<Vec<OrderState<'_>>>(text) {
                    Ok(states) => {
                        for state in &states {
                            if let Some(order_id) = self.writer.ids().parse(state.order_client_id())
                            {
                                self.apply_state(order_id, state);
                            }
                        }
                    }
                    // The confirming query tells what is left either way.
                    Err(_) => bump(&self.stats.frames_skipped),
                }
                self.after_cancel_all(instrument, true);
            }
            ReqKind::OpenOrders(instrument) => self.on_open_orders(instrument, text),
        }
    }

    pub(super) fn on_config_error(&mut self, code: i64, msg: &str) {
        if !self.config_error {
            self.config_error = true;
            self.stats.config_error.store(true, Relaxed);
            self.log_state("config-error", || {
                format!(
                    "the venue refused the credentials ({code} {msg}); order entry stopped: \
                     check the API key, secret, key type and IP whitelist"
                )
            });
        }
    }

    pub(super) fn on_error(&mut self, generation: u32, kind: ReqKind, error: &ErrorBody<'_>) {
        let code = error.code;
        self.stats.last_error_code.store(code, Relaxed);
        if is_config_error(code) {
            self.on_config_error(code, &error.msg);
        }
        if code == codes::TOO_MANY_REQUESTS || code == codes::TOO_MANY_ORDERS {
            bump(&self.stats.rate_limited);
            let until = self.mono_ms() + self.cfg.rate_limit_pause_ms;
            self.rate.pause_until(until);
        }
        if code == codes::TIMESTAMP_OUTSIDE_WINDOW {
            self.clock_sync_due = true;
        }
        let slot = self.slot_of(generation);
        match kind {
            ReqKind::UserDataPing => self.on_ping_error(code),
            ReqKind::Subscribe
                if slot
                    .and_then(|s| self.session(s))
                    .is_some_and(|s| s.phase == Phase::Ready) =>
            {
                // A USD-M restart of the listenKey failed: retried with backoff.
                self.on_restart_error();
            }
            ReqKind::Time { .. } | ReqKind::Logon | ReqKind::Subscribe => {
                let in_setup = slot
                    .and_then(|s| self.session(s))
                    .is_some_and(|s| s.phase != Phase::Ready);
                if kind == ReqKind::Logon
                    && self.creds.key_type() == KeyType::Hmac
                    && !self.config_error
                {
                    // Binance's production `session.logon` takes Ed25519 keys only: retrying
                    // cannot help, the configuration has to change.
                    let msg = format!(
                        "{}; session.logon with an HMAC key is refused (Binance logs on \
                         Ed25519 keys only): use an Ed25519 key",
                        error.msg
                    );
                    self.on_config_error(code, &msg);
                }
                if in_setup && let Some(slot) = slot {
                    let why = format!("{} failed: {code} {}", kind_name(kind), error.msg);
                    self.drop_session(slot, &why);
                }
            }
            ReqKind::Place(order_id) => {
                if code == codes::STATUS_UNKNOWN {
                    bump(&self.stats.status_unknown);
                    if self.ready() {
                        self.send(Slot::Active, ReqKind::Status(order_id));
                    }
                    return;
                }
                let would_cross = code == codes::USDM_GTX_WOULD_TAKE
                    || (code == codes::NEW_ORDER_REJECTED
                        && error.msg.contains("immediately match"));
                let reason = if would_cross {
                    RejectReason::WouldCross
                } else {
                    RejectReason::Venue
                };
                let ts_ns = self.venue_now_ns();
                self.orders.reject(order_id, reason, ts_ns, &mut self.out);
            }
            ReqKind::Cancel(order_id) => {
                if code == codes::STATUS_UNKNOWN {
                    bump(&self.stats.status_unknown);
                }
                // Unknown order, unknown outcome or any other refusal: ask for the truth
                // (the status answer re-sends the cancel while the order is open).
                if self.ready() && !self.config_error {
                    self.send(Slot::Active, ReqKind::Status(order_id));
                }
            }
            ReqKind::Status(order_id) => {
                if code == codes::NO_SUCH_ORDER {
                    let ts_ns = self.venue_now_ns();
                    self.orders.on_missing(order_id, ts_ns, &mut self.out);
                    return;
                }
                if let Some(record) = self.orders.get_mut(order_id) {
                    record.status_failures = record.status_failures.saturating_add(1);
                    if record.status_failures < MAX_STATUS_FAILURES {
                        self.retries.push((Instant::now() + STATUS_RETRY, order_id));
                    }
                }
            }
            // `-2011`: nothing was open to cancel, which the query confirms; any other
            // refusal is retried after the backoff.
            ReqKind::CancelAll(instrument) => {
                self.after_cancel_all(instrument, code == codes::CANCEL_REJECTED)
            }
            ReqKind::OpenOrders(instrument) => self.on_open_orders_error(instrument),
        }
    }
}
