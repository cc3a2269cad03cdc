//! A connection as the rest of the simulator sees it: a queue of text frames to write, the
//! control flags faults set (drop, stall, close later), and the waker of its thread.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

/// Most frames queued for one connection; past this the client is too slow and dropped
/// (Binance disconnects slow consumers too).
pub const MAX_QUEUED_FRAMES: usize = 200_000;

/// What a connection serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnKind {
    /// Combined market streams (`/stream?streams=`).
    Market,
    /// The WebSocket API (`/ws-api/v3`).
    Api,
}

/// The stream names a market connection subscribed to, as the client spelled them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Streams {
    /// `<sym>@depth@100ms` or `<sym>@depth`.
    pub depth: Option<String>,
    /// `<sym>@bookTicker`.
    pub ticker: Option<String>,
    /// `<sym>@trade`.
    pub trade: Option<String>,
}

/// Pending output and control flags of one connection.
#[derive(Debug, Default)]
pub struct OutState {
    /// Text frames to write, oldest first.
    pub frames: VecDeque<String>,
    /// Drop the socket at once, without a close frame.
    pub drop_now: bool,
    /// Send a close frame and end the connection at this time.
    pub close_at: Option<Instant>,
    /// Write nothing before this time (frames keep queueing).
    pub stall_until: Option<Instant>,
    /// The queue overflowed: the connection is dropped as a slow consumer.
    pub overflowed: bool,
}

/// Shared handle of one WebSocket connection.
#[derive(Debug)]
pub struct ConnHandle {
    /// Connection number (unique in a run).
    pub id: u64,
    /// Market or API.
    pub kind: ConnKind,
    /// Subscribed streams (market connections).
    pub streams: Streams,
    out: Mutex<OutState>,
    waker: mio::Waker,
}

impl ConnHandle {
    /// A handle whose thread is woken through `waker`.
    pub fn new(id: u64, kind: ConnKind, streams: Streams, waker: mio::Waker) -> ConnHandle {
        ConnHandle {
            id,
            kind,
            streams,
            out: Mutex::new(OutState::default()),
            waker,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut OutState) -> R) -> R {
        let mut guard = self.out.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Wakes the connection's thread.
    pub fn wake(&self) {
        // A failed wake means the thread's poll is gone: the connection is ending anyway.
        let _ = self.waker.wake();
    }

    /// Queues a frame and wakes the thread. Returns false when the queue overflowed (the
    /// connection will be dropped).
    pub fn push(&self, frame: String) -> bool {
        let ok = self.with(|o| {
            if o.frames.len() >= MAX_QUEUED_FRAMES {
                let first = !o.overflowed;
                o.overflowed = true;
                return !first;
            }
            o.frames.push_back(frame);
            true
        });
        self.wake();
        ok
    }

    /// Frames queued now.
    pub fn queued(&self) -> usize {
        self.with(|o| o.frames.len())
    }

    /// Asks the thread to drop the socket.
    pub fn drop_now(&self) {
        self.with(|o| o.drop_now = true);
        self.wake();
    }

    /// Asks the thread to close the connection at `at`.
    pub fn close_at(&self, at: Instant) {
        self.with(|o| {
            o.close_at = Some(o.close_at.map_or(at, |t| t.min(at)));
        });
        self.wake();
    }

    /// Stops writing until `until`.
    pub fn stall_until(&self, until: Instant) {
        self.with(|o| o.stall_until = Some(until));
        self.wake();
    }

    /// Runs `f` on the pending state (the connection thread takes frames this way).
    pub fn take<R>(&self, f: impl FnOnce(&mut OutState) -> R) -> R {
        self.with(f)
    }
}
