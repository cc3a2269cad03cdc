//! Operator messages from the core thread, printed by another thread: the core thread puts
//! a fixed-size [`Notice`] into a ring and never writes to stderr itself (a write to a
//! full pipe would block it; a captured test's output would allocate).

use crate::runtime::FlattenRefused;
use crate::safety::{ReasonCode, ResetRefused, SafetyState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Notices waiting to be printed, at most.
const CAPACITY: usize = 64;
/// Longest detail text kept, bytes (longer text is cut at a character boundary).
const DETAIL_MAX: usize = 160;
/// How often the printer looks for notices.
const PRINT_INTERVAL: Duration = Duration::from_millis(10);

/// Short text stored inline (no allocation to send).
#[derive(Clone, Copy)]
pub struct Detail {
    len: u8,
    bytes: [u8; DETAIL_MAX],
}

impl Detail {
    /// `text`, cut to [`DETAIL_MAX`] bytes at a character boundary.
    pub fn new(text: &str) -> Detail {
        let mut end = text.len().min(DETAIL_MAX);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0u8; DETAIL_MAX];
        bytes[..end].copy_from_slice(&text.as_bytes()[..end]);
        Detail {
            len: end as u8,
            bytes,
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl std::fmt::Debug for Detail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something the operator should read.
#[derive(Clone, Copy, Debug)]
pub enum Notice {
    /// The safety state moved forward (halted: everything is being cancelled at the venue).
    Tripped {
        /// Why.
        reason: ReasonCode,
        /// State reached.
        state: SafetyState,
        /// Measured value.
        value: i64,
        /// Limit crossed.
        limit: i64,
    },
    /// The market-data feed keeps failing.
    FeedUnreachable {
        /// Attempts so far.
        attempts: u32,
        /// The last error.
        error: Detail,
    },
    /// The venue refused the API key or signature.
    KeyRefused {
        /// Venue error code.
        code: i64,
    },
    /// A flatten order after a halt (sent, or refused before leaving).
    Flatten {
        /// Instrument id.
        instrument: u16,
        /// Attempt number, from 1.
        attempt: u32,
        /// Position before it, lots.
        position_lots: i64,
        /// Order size, lots.
        order_lots: i64,
        /// Worst price accepted, ticks.
        price_ticks: i64,
        /// Why it did not leave, if it did not.
        refused: Option<FlattenRefused>,
    },
    /// Flattening stopped with a position left (attempts used up).
    FlattenGaveUp {
        /// Instrument id.
        instrument: u16,
        /// Position left, lots.
        position_lots: i64,
    },
    /// An operator reset was refused.
    ResetRefused {
        /// Request sequence number.
        seq: u64,
        /// Why.
        why: ResetRefused,
    },
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::Tripped {
                reason,
                state: SafetyState::Halted,
                value,
                limit,
            } => write!(
                f,
                "HALTED by {} (measured {value}, limit {limit}); cancelling everything at the venue",
                reason.name()
            ),
            Notice::Tripped {
                reason,
                state,
                value,
                limit,
            } => write!(
                f,
                "{state} by {} (measured {value}, limit {limit}): no new positions",
                reason.name()
            ),
            Notice::FeedUnreachable { attempts, error } => write!(
                f,
                "market data unreachable after {attempts} attempts: {}",
                error.as_str()
            ),
            Notice::KeyRefused { code } => write!(
                f,
                "the venue refused the API key or signature (code {code}); halting"
            ),
            Notice::Flatten {
                instrument,
                attempt,
                position_lots,
                order_lots,
                price_ticks,
                refused,
            } => {
                write!(
                    f,
                    "flatten attempt {attempt} on instrument #{instrument}: position {position_lots} lots, IOC {order_lots} lots at worst {price_ticks} ticks"
                )?;
                match refused {
                    Some(why) => write!(f, " refused before sending ({why:?})"),
                    None => f.write_str(" sent"),
                }
            }
            Notice::FlattenGaveUp {
                instrument,
                position_lots,
            } => write!(
                f,
                "flatten gave up on instrument #{instrument}: {position_lots} lots remain for the operator"
            ),
            Notice::ResetRefused { seq, why } => {
                write!(f, "reset request {seq} refused: {why}")
            }
        }
    }
}

/// The core thread's end.
#[derive(Debug)]
pub struct Notices {
    tx: rtrb::Producer<Notice>,
    /// Notices dropped because the ring was full.
    pub dropped: u64,
}

impl Notices {
    /// Queues a notice (counted and dropped when the printer is behind).
    #[inline]
    pub fn send(&mut self, notice: Notice) {
        if self.tx.push(notice).is_err() {
            self.dropped += 1;
        }
    }
}

/// The printer thread; prints what is left when finished.
#[derive(Debug)]
pub struct NoticePrinter {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl NoticePrinter {
    /// Starts the printer; notices go to stderr prefixed `obi-engine: `.
    pub fn spawn() -> std::io::Result<(Notices, NoticePrinter)> {
        let (tx, mut rx) = rtrb::RingBuffer::new(CAPACITY);
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("obi-notices".into())
            .spawn(move || {
                loop {
                    let last_round = done.load(Ordering::Acquire);
                    while let Ok(n) = rx.pop() {
                        eprintln!("obi-engine: {n}");
                    }
                    if last_round {
                        return;
                    }
                    std::thread::sleep(PRINT_INTERVAL);
                }
            })?;
        Ok((
            Notices { tx, dropped: 0 },
            NoticePrinter {
                stop,
                thread: Some(thread),
            },
        ))
    }

    /// Prints what is queued and stops the thread.
    pub fn finish(self) {
        drop(self);
    }
}

impl Drop for NoticePrinter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_is_cut_at_a_character_boundary() {
        let long = "é".repeat(200);
        let d = Detail::new(&long);
        assert!(d.as_str().len() <= DETAIL_MAX);
        assert!(d.as_str().chars().all(|c| c == 'é'));
        assert_eq!(Detail::new("short").as_str(), "short");
    }

    #[test]
    fn a_full_ring_counts_drops() {
        let (mut tx, _printer_less_rx) = {
            let (tx, rx) = rtrb::RingBuffer::<Notice>::new(1);
            (Notices { tx, dropped: 0 }, rx)
        };
        tx.send(Notice::KeyRefused { code: -2015 });
        tx.send(Notice::KeyRefused { code: -2015 });
        assert_eq!(tx.dropped, 1);
    }

    #[test]
    fn texts_name_the_reason() {
        let n = Notice::Tripped {
            reason: ReasonCode::KillFile,
            state: SafetyState::Halted,
            value: 0,
            limit: 0,
        };
        assert!(n.to_string().starts_with("HALTED by kill_file"));
    }
}
