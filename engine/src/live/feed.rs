//! The market-data link on the core thread: one combined-stream connection, its health
//! (stale detection, age-based rotation) and its reconnects.
//!
//! Connecting happens on the connector thread; this side only registers the finished
//! socket with `mio` and reads it without blocking. A lost or stale connection is retired
//! and a new one requested after a jittered, growing delay (never a tight loop). Before a
//! connection reaches the venue's age limit a replacement is opened first; the link moves
//! to it at the replacement's first depth diff, so the book usually continues without a
//! resync (the sequence rule drops diffs both connections delivered).

use super::connector::{Connected, Connector};
use crate::net::{Backoff, Endpoint, WsConn, WsRead};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

/// What happened to the link, for the run loop to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEvent {
    /// A fresh connection is up (not a rotation): books must resynchronise.
    Connected,
    /// The connection was lost or went stale: books are no longer current.
    Lost,
}

/// Link counters, published to shared memory by the run loop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FeedStats {
    /// Connections established (including rotations).
    pub connects: u64,
    /// Connections lost after being up (closed, read error or stale).
    pub disconnects: u64,
    /// Connection attempts that failed.
    pub connect_failures: u64,
    /// Times no frame arrived within `stale_feed_ms`.
    pub stale: u64,
    /// Age-based replacements completed without dropping the feed.
    pub rotations: u64,
    /// Frames read from the replacement before the switch and dropped.
    pub rotation_skipped_frames: u64,
    /// Consecutive failed attempts right now.
    pub failing_attempts: u32,
    /// True once `reconnect_max_attempts` attempts in a row failed.
    pub exhausted: bool,
    /// True while a connection is up.
    pub up: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No connection; the next attempt is due at this time (market clock, ns).
    Waiting { retry_at_ns: u64 },
    /// The connector is working on `ticket`.
    Connecting { ticket: u64 },
    /// Connected.
    Up,
}

struct Live {
    conn: Box<WsConn>,
    token: Token,
    readable: bool,
}

/// One market-data link.
pub struct FeedLink {
    endpoint: Endpoint,
    phase: Phase,
    primary: Option<Live>,
    candidate: Option<Live>,
    rotation_ticket: Option<u64>,
    next_ticket: u64,
    up_since_ns: u64,
    last_frame_ns: u64,
    stale_ns: u64,
    max_age_ns: u64,
    backoff: Backoff,
    tokens: [Token; 2],
    /// Counters.
    pub stats: FeedStats,
    last_error: Option<String>,
}

impl std::fmt::Debug for FeedLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedLink")
            .field("endpoint", &self.endpoint.to_string())
            .field("phase", &self.phase)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Most messages read from one connection per call, so reports and timers get a turn.
const MAX_MESSAGES_PER_POLL: usize = 256;

impl FeedLink {
    /// A link to `endpoint` that will connect on its first [`FeedLink::maintain`] call;
    /// `tokens` are the two `mio` tokens it may use (primary and replacement).
    pub fn new(
        endpoint: Endpoint,
        backoff: Backoff,
        stale_ms: u64,
        max_age_s: u64,
        tokens: [Token; 2],
    ) -> FeedLink {
        FeedLink {
            endpoint,
            phase: Phase::Waiting { retry_at_ns: 0 },
            primary: None,
            candidate: None,
            rotation_ticket: None,
            next_ticket: 1,
            up_since_ns: 0,
            last_frame_ns: 0,
            stale_ns: stale_ms.saturating_mul(1_000_000),
            max_age_ns: max_age_s.saturating_mul(1_000_000_000),
            backoff,
            tokens,
            stats: FeedStats::default(),
            last_error: None,
        }
    }

    /// The endpoint (no secrets in market-data URLs).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The last connection error, if the link is not up.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Marks the socket behind `token` readable (from a `mio` event).
    pub fn on_readable(&mut self, token: Token) {
        for live in [&mut self.primary, &mut self.candidate]
            .into_iter()
            .flatten()
        {
            if live.token == token {
                live.readable = true;
            }
        }
    }

    /// Connection bookkeeping: answers from the connector, stale detection, rotation and
    /// retry timing. Call every loop iteration (cheap when nothing is due).
    pub fn maintain(
        &mut self,
        now_ns: u64,
        connector: &Connector,
        registry: &Registry,
    ) -> Option<LinkEvent> {
        if let Some(answer) = connector.poll()
            && let Some(event) = self.on_connected(answer, now_ns, connector, registry)
        {
            return Some(event);
        }
        match self.phase {
            Phase::Waiting { retry_at_ns } if now_ns >= retry_at_ns => {
                let ticket = self.take_ticket();
                if connector.open(ticket, &self.endpoint) {
                    self.phase = Phase::Connecting { ticket };
                }
                None
            }
            Phase::Up => {
                let up_ns = now_ns.saturating_sub(self.up_since_ns);
                self.backoff.on_up_for(up_ns / 1_000_000);
                self.stats.failing_attempts = self.backoff.attempts();
                self.stats.exhausted = self.backoff.exhausted();
                if now_ns.saturating_sub(self.last_frame_ns) > self.stale_ns {
                    self.stats.stale += 1;
                    self.last_error = Some("no frame within stale_feed_ms".into());
                    return Some(self.lose(now_ns, connector, registry));
                }
                if up_ns > self.max_age_ns
                    && self.rotation_ticket.is_none()
                    && self.candidate.is_none()
                {
                    let ticket = self.take_ticket();
                    if connector.open(ticket, &self.endpoint) {
                        self.rotation_ticket = Some(ticket);
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// Reads up to a bounded number of messages; `on_frame(bytes)` gets each market frame
    /// (from the primary connection, or the replacement once the link has moved to it).
    pub fn poll_frames(
        &mut self,
        buf: &mut Vec<u8>,
        now_ns: u64,
        connector: &Connector,
        registry: &Registry,
        on_frame: &mut impl FnMut(&mut [u8]),
    ) -> Option<LinkEvent> {
        if self.candidate.as_ref().is_some_and(|c| c.readable) {
            self.poll_candidate(buf, connector, registry, on_frame);
        }
        let live = self.primary.as_mut()?;
        if !live.readable {
            return None;
        }
        for _ in 0..MAX_MESSAGES_PER_POLL {
            match live.conn.read(buf) {
                Ok(WsRead::Message(n)) => {
                    self.last_frame_ns = now_ns;
                    on_frame(&mut buf[..n]);
                }
                Ok(WsRead::Control) => self.last_frame_ns = now_ns,
                Ok(WsRead::Idle) => {
                    live.readable = false;
                    return None;
                }
                Err(e) => {
                    self.last_error = Some(e.to_string());
                    return Some(self.lose(now_ns, connector, registry));
                }
            }
        }
        None
    }

    /// Closes everything (at shutdown).
    pub fn shutdown(&mut self, connector: &Connector, registry: &Registry) {
        for live in [self.primary.take(), self.candidate.take()]
            .into_iter()
            .flatten()
        {
            retire(live, connector, registry);
        }
        self.stats.up = false;
    }

    fn poll_candidate(
        &mut self,
        buf: &mut Vec<u8>,
        connector: &Connector,
        registry: &Registry,
        on_frame: &mut impl FnMut(&mut [u8]),
    ) {
        let Some(cand) = self.candidate.as_mut() else {
            return;
        };
        for _ in 0..MAX_MESSAGES_PER_POLL {
            match cand.conn.read(buf) {
                Ok(WsRead::Message(n)) => {
                    if is_depth_frame(&buf[..n]) {
                        // Move over: the replacement's first diff continues the book (or,
                        // if it does not, the sequence rule asks for a snapshot).
                        if let Some(old) = self.primary.take() {
                            retire(old, connector, registry);
                        }
                        self.primary = self.candidate.take();
                        self.stats.rotations += 1;
                        on_frame(&mut buf[..n]);
                        return;
                    }
                    self.stats.rotation_skipped_frames += 1;
                }
                Ok(WsRead::Control) => {}
                Ok(WsRead::Idle) => {
                    cand.readable = false;
                    return;
                }
                Err(e) => {
                    self.last_error = Some(format!("replacement connection: {e}"));
                    if let Some(c) = self.candidate.take() {
                        retire(c, connector, registry);
                    }
                    return;
                }
            }
        }
    }

    fn on_connected(
        &mut self,
        answer: Connected,
        now_ns: u64,
        connector: &Connector,
        registry: &Registry,
    ) -> Option<LinkEvent> {
        let rotation = self.rotation_ticket == Some(answer.ticket);
        let expected = rotation
            || self.phase
                == (Phase::Connecting {
                    ticket: answer.ticket,
                });
        match answer.result {
            Ok(conn) if !expected => {
                connector.retire(conn);
                None
            }
            Ok(conn) => {
                let token = self.free_token();
                let mut live = Live {
                    conn,
                    token,
                    readable: true,
                };
                let fd = live.conn.fd();
                if let Err(e) = registry.register(&mut SourceFd(&fd), token, Interest::READABLE) {
                    self.last_error = Some(format!("cannot register the socket with epoll: {e}"));
                    connector.retire(live.conn);
                    if !rotation {
                        self.schedule_retry(now_ns);
                    }
                    self.rotation_ticket = None;
                    return None;
                }
                self.stats.connects += 1;
                if rotation {
                    self.rotation_ticket = None;
                    self.candidate = Some(live);
                    None
                } else {
                    live.readable = true;
                    self.primary = Some(live);
                    self.phase = Phase::Up;
                    self.stats.up = true;
                    self.up_since_ns = now_ns;
                    self.last_frame_ns = now_ns;
                    self.last_error = None;
                    Some(LinkEvent::Connected)
                }
            }
            Err(e) => {
                self.last_error = Some(e.to_string());
                if rotation {
                    // The old connection still works; try the replacement again later.
                    self.rotation_ticket = None;
                    self.up_since_ns = now_ns.saturating_sub(self.max_age_ns / 2);
                } else if expected {
                    self.stats.connect_failures += 1;
                    self.schedule_retry(now_ns);
                }
                None
            }
        }
    }

    fn lose(&mut self, now_ns: u64, connector: &Connector, registry: &Registry) -> LinkEvent {
        if let Some(live) = self.primary.take() {
            retire(live, connector, registry);
        }
        if let Some(live) = self.candidate.take() {
            retire(live, connector, registry);
        }
        self.rotation_ticket = None;
        self.stats.disconnects += 1;
        self.stats.up = false;
        self.schedule_retry(now_ns);
        LinkEvent::Lost
    }

    fn schedule_retry(&mut self, now_ns: u64) {
        let delay_ms = self.backoff.next_delay_ms();
        self.stats.failing_attempts = self.backoff.attempts();
        self.stats.exhausted = self.backoff.exhausted();
        self.phase = Phase::Waiting {
            retry_at_ns: now_ns.saturating_add(delay_ms.saturating_mul(1_000_000)),
        };
    }

    fn take_ticket(&mut self) -> u64 {
        let t = self.next_ticket;
        self.next_ticket += 1;
        t
    }

    fn free_token(&self) -> Token {
        let used = self.primary.as_ref().map(|l| l.token);
        if used == Some(self.tokens[0]) {
            self.tokens[1]
        } else {
            self.tokens[0]
        }
    }
}

fn retire(live: Live, connector: &Connector, registry: &Registry) {
    let fd = live.conn.fd();
    let _ = registry.deregister(&mut SourceFd(&fd));
    connector.retire(live.conn);
}

/// True for a combined-stream depth frame (`{"stream":"<symbol>@depth...`).
fn is_depth_frame(frame: &[u8]) -> bool {
    let head = &frame[..frame.len().min(64)];
    head.windows(6).any(|w| w == b"@depth")
}

#[cfg(test)]
mod tests {
    use super::is_depth_frame;

    #[test]
    fn recognises_depth_frames() {
        assert!(is_depth_frame(
            br#"{"stream":"ethusdt@depth@100ms","data":{}}"#
        ));
        assert!(!is_depth_frame(
            br#"{"stream":"ethusdt@bookTicker","data":{}}"#
        ));
        assert!(!is_depth_frame(b""));
    }
}
