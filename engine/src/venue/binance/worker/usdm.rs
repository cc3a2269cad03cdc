//! USD-M specifics of the gateway loop: the listenKey user-data stream (started with
//! `userDataStream.start` on the WS API session, read on its own connection to
//! `{stream_url}/ws/<listenKey>`, kept alive with `userDataStream.ping`, restarted after
//! `listenKeyExpired` or a lost connection, each new connection followed by reconciliation
//! with `order.status`), cancel-all over signed REST, and the dead-man switch
//! (`countdownCancelAll`).
//!
//! A REST cancel-all is confirmed twice: each order of ours by `order.status` (it reports
//! `Canceled`), and the whole instrument, foreign orders included, by `openOrders.status`
//! over the WS API until it lists nothing (re-cancelling over REST meanwhile; see
//! [`super::confirm`]).

use super::*;
use crate::venue::binance::response::ListenKey;
use crate::venue::binance::rest::RestError;
use crate::venue::binance::user_data::UsdmEvent;
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// The `mio` token of the user-data stream (session tokens are generations below 2^32).
const USER_TOKEN: mio::Token = mio::Token(usize::MAX - 1);
/// Longest wait before retrying a failed keep-alive or dead-man refresh.
const RETRY_CAP: Duration = Duration::from_millis(1000);

/// The endpoints USD-M order entry needs besides the WS API.
#[derive(Clone, Debug)]
pub(crate) struct UsdmLinks {
    /// Market-stream base URL: the user-data stream is `{stream}/ws/<listenKey>`.
    pub(crate) stream: Endpoint,
    /// REST base URL (cancel-all, dead-man switch).
    pub(crate) rest: Endpoint,
}

/// A listenKey; never printed (it opens the account's event stream).
struct ListenKeyText(String);

impl fmt::Debug for ListenKeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ListenKey(..)")
    }
}

#[derive(Debug)]
struct UserStream {
    conn: WsConn,
    key: ListenKeyText,
    registered: bool,
    up_at: Instant,
}

/// The USD-M part of the worker's state.
#[derive(Debug)]
pub(super) struct UsdmState {
    stream_base: Endpoint,
    rest: RestClient,
    stream: Option<UserStream>,
    backoff: Backoff,
    next_start: Instant,
    next_ping: Instant,
    next_dead_man: Instant,
    ping_interval: Duration,
    dead_man_ms: u64,
    dead_man_refresh: Duration,
}

impl UsdmState {
    pub(super) fn new(links: UsdmLinks, cfg: &GatewayConfig, seed: u64, now: Instant) -> Self {
        let timeout = Duration::from_millis(cfg.connect_timeout_ms);
        UsdmState {
            stream_base: links.stream,
            rest: RestClient::new(&links.rest, cfg.recv_window_ms, timeout),
            stream: None,
            backoff: Backoff::new(cfg.backoff, seed.rotate_left(17) ^ 0x5553_444d),
            next_start: now,
            next_ping: now,
            next_dead_man: now,
            ping_interval: Duration::from_millis(cfg.listen_key_ping_ms),
            dead_man_ms: cfg.dead_man_ms,
            dead_man_refresh: Duration::from_millis(cfg.dead_man_refresh_ms),
        }
    }

    /// The user-data stream is connected.
    pub(super) fn stream_up(&self) -> bool {
        self.stream.is_some()
    }
}

#[derive(Deserialize)]
struct EventHead<'a> {
    #[serde(rename = "e", borrow)]
    kind: Cow<'a, str>,
}

impl Worker {
    // ---- the listenKey ----

    /// `userDataStream.start` answered (session set-up or a restart): connect the stream if
    /// the key is new or the stream is down; finish the set-up; reconcile on a new stream.
    pub(super) fn on_listen_key(&mut self, slot: Option<Slot>, text: &str) {
        let Some(slot) = slot else {
            return;
        };
        let in_setup = self.session(slot).is_some_and(|s| s.phase != Phase::Ready);
        let key = match response::parse_result::<ListenKey<'_>>(text) {
            Ok(k) if !k.listen_key.is_empty() => k.listen_key.into_owned(),
            _ => {
                bump(&self.stats.frames_skipped);
                if in_setup {
                    self.drop_session(slot, "unreadable userDataStream.start answer");
                } else {
                    self.on_restart_error();
                }
                return;
            }
        };
        let now = Instant::now();
        let Some(u) = self.usdm.as_mut() else {
            return;
        };
        // `userDataStream.start` extends the key's validity like a keep-alive.
        u.next_ping = now + u.ping_interval;
        let same = u.stream.as_ref().is_some_and(|s| s.key.0 == key);
        let fresh = !same && {
            self.close_user_stream();
            self.open_user_stream(key)
        };
        // The set-up of an active session (or a standby with no active one) reconciles
        // every open order itself; a move-over does not.
        let setup_reconciles = in_setup && !(slot == Slot::Standby && self.ready());
        if in_setup {
            if let Some(session) = self.session(slot) {
                session.phase = Phase::Ready;
            }
            self.on_session_ready(slot);
        }
        if fresh && !setup_reconciles && self.ready() {
            self.reconcile_all();
        }
        self.publish_link();
    }

    fn reconcile_all(&mut self) {
        for id in self.orders.open_ids() {
            self.send(Slot::Active, ReqKind::Status(id));
        }
    }

    /// A listenKey restart failed: retried after a backoff delay.
    pub(super) fn on_restart_error(&mut self) {
        if let Some(u) = self.usdm.as_mut() {
            u.next_start = Instant::now() + Duration::from_millis(u.backoff.next_delay_ms());
        }
    }

    /// `userDataStream.ping` failed: `-1125` (the key is gone) restarts the stream now,
    /// anything else retries the keep-alive soon.
    pub(super) fn on_ping_error(&mut self, code: i64) {
        if code == codes::NO_LISTEN_KEY {
            self.user_stream_lost("the listenKey no longer exists", true);
        } else if let Some(u) = self.usdm.as_mut() {
            u.next_ping = Instant::now() + RETRY_CAP.min(u.ping_interval);
        }
    }

    // ---- the stream connection ----

    /// Connects `{stream_url}/ws/<key>` (blocking up to the connect timeout).
    fn open_user_stream(&mut self, key: String) -> bool {
        let Some(u) = self.usdm.as_ref() else {
            return false;
        };
        let endpoint = u.stream_base.with_path(&format!("/ws/{key}"));
        let timeout = Duration::from_millis(self.cfg.connect_timeout_ms);
        match ws::connect(&endpoint, timeout) {
            Ok(conn) => {
                let mut registered = false;
                if self.cfg.poll_mode == PollMode::Block {
                    let fd = conn.fd();
                    registered = self
                        .poll
                        .registry()
                        .register(
                            &mut mio::unix::SourceFd(&fd),
                            USER_TOKEN,
                            mio::Interest::READABLE,
                        )
                        .is_ok();
                }
                if let Some(u) = self.usdm.as_mut() {
                    u.stream = Some(UserStream {
                        conn,
                        key: ListenKeyText(key),
                        registered,
                        up_at: Instant::now(),
                    });
                }
                bump(&self.stats.user_stream_connects);
                self.stats.user_stream_up.store(true, Relaxed);
                self.log_state("user-stream-up", || "user-data stream connected".into());
                true
            }
            Err(e) => {
                // The key is part of the URL the error names: keep it out of the log.
                let why = e.to_string().replace(key.as_str(), "<listenKey>");
                self.log_state("user-stream-failed", || {
                    format!("cannot connect the user-data stream: {why}; retrying with backoff")
                });
                self.on_restart_error();
                false
            }
        }
    }

    /// Closes the user-data stream, if any.
    pub(super) fn close_user_stream(&mut self) {
        let Some(stream) = self.usdm.as_mut().and_then(|u| u.stream.take()) else {
            return;
        };
        let mut stream = stream;
        if stream.registered {
            let fd = stream.conn.fd();
            let _ = self
                .poll
                .registry()
                .deregister(&mut mio::unix::SourceFd(&fd));
        }
        stream.conn.close();
        self.stats.user_stream_up.store(false, Relaxed);
        self.publish_link();
    }

    /// The stream was lost (or its key expired): new orders wait until a new stream is up
    /// and every open order has been reconciled.
    fn user_stream_lost(&mut self, why: &str, restart_now: bool) {
        let Some(u) = self.usdm.as_mut() else {
            return;
        };
        let Some(up_ms) = u
            .stream
            .as_ref()
            .map(|s| s.up_at.elapsed().as_millis() as u64)
        else {
            return;
        };
        u.backoff.on_up_for(up_ms);
        let delay_ms = if restart_now {
            0
        } else {
            u.backoff.next_delay_ms()
        };
        u.next_start = Instant::now() + Duration::from_millis(delay_ms);
        bump(&self.stats.user_stream_drops);
        self.close_user_stream();
        let why = why.to_string();
        self.log_state("user-stream-lost", || {
            format!("user-data stream lost ({why}); new orders are refused until it is back")
        });
    }

    /// Reads what the user-data stream has (bounded per call).
    pub(super) fn read_user_stream(&mut self) {
        let mut buf = std::mem::take(&mut self.buf);
        for _ in 0..256 {
            let Some(stream) = self.usdm.as_mut().and_then(|u| u.stream.as_mut()) else {
                break;
            };
            match stream.conn.read(&mut buf) {
                Ok(WsRead::Message(n)) => match std::str::from_utf8(&buf[..n]) {
                    Ok(text) => self.on_user_event(text),
                    Err(_) => bump(&self.stats.frames_skipped),
                },
                Ok(WsRead::Control) => {}
                Ok(WsRead::Idle) => break,
                Err(e) => {
                    self.user_stream_lost(&e.to_string(), false);
                    break;
                }
            }
        }
        self.buf = buf;
    }

    fn on_user_event(&mut self, text: &str) {
        let Ok(head) = serde_json::from_str::<EventHead<'_>>(text) else {
            bump(&self.stats.frames_skipped);
            return;
        };
        match head.kind.as_ref() {
            "ORDER_TRADE_UPDATE" => match serde_json::from_str::<UsdmEvent<'_>>(text) {
                Ok(event) => self.apply_execution(user_data::from_usdm(event)),
                Err(_) => bump(&self.stats.frames_skipped),
            },
            "listenKeyExpired" => {
                bump(&self.stats.listen_key_expired);
                self.user_stream_lost("listenKeyExpired", true);
            }
            // ACCOUNT_UPDATE, TRADE_LITE, MARGIN_CALL, ...: not order state.
            _ => {}
        }
    }

    // ---- timers ----

    pub(super) fn usdm_timers(&mut self, now: Instant) {
        let Some(u) = self.usdm.as_ref() else {
            return;
        };
        let start_due = self.ready()
            && !u.stream_up()
            && now >= u.next_start
            && self.stopping.is_none()
            && !self.pending.values().any(|p| p.kind == ReqKind::Subscribe);
        let ping_due = self.ready() && u.stream_up() && now >= u.next_ping;
        let dead_man_due = u.dead_man_ms > 0
            && now >= u.next_dead_man
            && self.accepting()
            && self.stopping.is_none()
            && !self.config_error;
        if start_due {
            self.send(Slot::Active, ReqKind::Subscribe);
        }
        if ping_due {
            if let Some(u) = self.usdm.as_mut() {
                u.next_ping = now + u.ping_interval;
            }
            self.send(Slot::Active, ReqKind::UserDataPing);
        }
        if dead_man_due {
            self.refresh_dead_man(now);
        }
    }

    // ---- REST: dead-man switch and cancel-all ----

    /// Re-arms `countdownCancelAll` on every symbol. Only while order entry is fully up: if
    /// the links stay down longer than the countdown, the venue cancels everything.
    fn refresh_dead_man(&mut self, now: Instant) {
        let Some(countdown_ms) = self.usdm.as_ref().map(|u| u.dead_man_ms) else {
            return;
        };
        let failure = self.countdown_all(countdown_ms);
        if let Some(u) = self.usdm.as_mut() {
            u.next_dead_man = now
                + if failure.is_some() {
                    RETRY_CAP.min(u.dead_man_refresh)
                } else {
                    u.dead_man_refresh
                };
        }
        match failure {
            Some(e) => self.log_state("dead-man-failed", || {
                format!("dead-man switch (countdownCancelAll) not refreshed: {e}")
            }),
            None => self.log_state("dead-man-armed", || {
                "dead-man switch (countdownCancelAll) armed".into()
            }),
        }
    }

    /// `countdownCancelAll` with `countdown_ms` (0 disarms) on every symbol; the last
    /// failure, if any.
    fn countdown_all(&mut self, countdown_ms: u64) -> Option<RestError> {
        let ts = self.venue_now_ms();
        let u = self.usdm.as_mut()?;
        let mut failure = None;
        for (_, spec) in self.instruments.iter() {
            match u
                .rest
                .countdown_cancel_all(spec.symbol.as_str(), countdown_ms, ts, &self.creds)
            {
                Ok(()) => bump(&self.stats.dead_man_refreshes),
                Err(e) => {
                    bump(&self.stats.rest_failures);
                    if let Some(code) = e.code() {
                        self.stats.last_error_code.store(code, Relaxed);
                    }
                    failure = Some(e);
                }
            }
        }
        failure
    }

    /// `DELETE /fapi/v1/allOpenOrders` for one instrument; true if the venue confirmed it.
    pub(super) fn rest_cancel_all(&mut self, instrument: InstrumentId) -> bool {
        let ts = self.venue_now_ms();
        let Some(spec) = spec_of(&self.instruments, instrument) else {
            return false;
        };
        let Some(u) = self.usdm.as_mut() else {
            return false;
        };
        bump(&self.stats.cancels_sent);
        match u.rest.cancel_all(spec.symbol.as_str(), ts, &self.creds) {
            Ok(()) => {
                bump(&self.stats.rest_cancel_alls);
                true
            }
            Err(e) => {
                bump(&self.stats.rest_failures);
                if let Some(code) = e.code() {
                    self.stats.last_error_code.store(code, Relaxed);
                }
                self.log_state("rest-cancel-all-failed", || {
                    format!("REST cancel-all failed: {e}; cancelling order by order")
                });
                false
            }
        }
    }

    /// Marks `ids` for cancellation and, with a usable session, confirms each: a status
    /// query after a confirmed REST cancel-all (it reports `Canceled`), an `order.cancel`
    /// otherwise (a status showing an order still open re-sends the cancel).
    fn confirm_cancels(&mut self, ids: Vec<OrderId>, rest_ok: bool) {
        let usable = self.ready() && !self.config_error;
        for id in ids {
            if let Some(record) = self.orders.get_mut(id) {
                record.cancel_requested = true;
                record.cancel_attempts = 0;
            }
            if usable {
                if rest_ok {
                    self.send(Slot::Active, ReqKind::Status(id));
                } else {
                    self.send_cancel(id);
                }
            }
        }
    }

    /// `Intent::CancelAll` on USD-M: REST cancel-all at once (it needs no session), then
    /// each order we know on the instrument is confirmed, and the instrument is listed
    /// until empty. Without a usable session the whole cancel-all runs again once one is
    /// ready.
    pub(super) fn usdm_cancel_all(&mut self, instrument: InstrumentId) {
        let rest_ok = self.start_cancel_all(instrument);
        let ids = self.orders.open_on(instrument);
        self.confirm_cancels(ids, rest_ok);
    }

    /// The stop on USD-M: REST cancel-all on every instrument, then every order we know is
    /// confirmed over the WS API, and every instrument listed until empty, until the stop
    /// deadline.
    pub(super) fn usdm_begin_stop(&mut self, now: Instant) {
        let instruments: Vec<InstrumentId> = self.instruments.iter().map(|(id, _)| id).collect();
        let mut rest_ok = !self.config_error;
        for instrument in instruments {
            rest_ok &= self.start_cancel_all(instrument);
        }
        if rest_ok && self.usdm.as_ref().is_some_and(|u| u.dead_man_ms > 0) {
            // Nothing is left to protect: disarm, so the countdown cannot fire into the
            // orders of a next run that does not use the switch.
            let _ = self.countdown_all(0);
        }
        let ids = self.orders.open_ids();
        let open = ids.len();
        self.confirm_cancels(ids, rest_ok);
        if !self.ready() || self.config_error {
            self.stopping = Some(now);
            if rest_ok && open > 0 {
                self.log_state("stop-unconfirmed", || {
                    format!(
                        "stopping: REST cancel-all done; {open} order(s) not confirmed one by one \
                         (no usable session)"
                    )
                });
            } else if !rest_ok {
                self.log_state("stop-unconfirmed", || {
                    format!(
                        "stopping: REST cancel-all failed and no usable session: {open} known \
                         order(s), and any unknown ones, may still be open at the venue"
                    )
                });
            }
            return;
        }
        self.flush_all();
    }
}
