//! The cold writer thread and the core thread's end of the journal ring.
//!
//! The core thread calls [`JournalSender::push`]: it assigns the next sequence number and
//! pushes a `Copy` record into an `rtrb` ring — no allocation, no lock, no syscall. A full
//! ring refuses the record and counts it; the sequence number is not used, so the journal
//! stays gapless (but the event is unrecorded: trip `journal_unavailable`).
//!
//! The writer thread drains the ring, encodes and appends, folds each record into the
//! [`JournalState`], `fdatasync`s at most every `fsync_interval_ms` while records arrive (at
//! once after a durable record, and on shutdown), and writes a checkpoint at most every
//! `checkpoint_interval_ms` — only of records already synced, so a checkpoint never claims
//! more than the journal holds.
//!
//! Durability window: a record pushed at time t is on disk by about t + `idle_sleep_us` +
//! `fsync_interval_ms` + the fsync's own time, if the writer keeps up. A record pushed with
//! [`JournalSender::push_durable`] is synced as soon as the writer sees it; the core can
//! watch [`JournalSender::durable_seq`] reach its number.

use super::checkpoint;
use super::codec::{self, MAX_RECORD_BYTES};
use super::config::JournalConfig;
use super::error::JournalError;
use super::file::Journal;
use super::record::{Record, RecordBody};
use super::state::JournalState;
use crate::instrument::Instruments;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The ring was full: the record was not queued (and got no sequence number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("journal ring full: record not queued")]
pub struct Full;

/// One ring slot: a record and whether it must be synced at once.
#[derive(Clone, Copy, Debug)]
struct Entry {
    record: Record,
    durable: bool,
}

/// State both ends read; only the writer writes (except `done`).
#[derive(Debug, Default)]
struct Shared {
    /// Highest sequence number known to be on disk (fdatasync returned). Release-stored
    /// by the writer after the sync; Acquire-loaded by readers.
    durable_seq: AtomicU64,
    /// Highest sequence number appended (not necessarily synced).
    written_seq: AtomicU64,
    /// Set once the writer hit an I/O error; it then discards records.
    failed: AtomicBool,
    /// Set by the owner to stop the writer after draining.
    done: AtomicBool,
    checkpoints: AtomicU64,
    checkpoint_errors: AtomicU64,
    discarded: AtomicU64,
    /// First journal error and last checkpoint error, for the cold side.
    first_error: Mutex<Option<String>>,
    last_checkpoint_error: Mutex<Option<String>>,
}

/// The core thread's end: pushes records. Never blocks, never allocates.
#[derive(Debug)]
pub struct JournalSender {
    ring: rtrb::Producer<Entry>,
    next_seq: u64,
    full_total: u64,
    shared: Arc<Shared>,
}

impl JournalSender {
    /// Queues `body` stamped `ts_ns` (Unix ns); returns its sequence number.
    #[inline]
    pub fn push(&mut self, ts_ns: u64, body: RecordBody) -> Result<u64, Full> {
        self.push_entry(ts_ns, body, false)
    }

    /// Like [`push`](Self::push), and the writer syncs as soon as it has written it (for
    /// trips and operator actions). [`durable_seq`](Self::durable_seq) tells when it is.
    #[inline]
    pub fn push_durable(&mut self, ts_ns: u64, body: RecordBody) -> Result<u64, Full> {
        self.push_entry(ts_ns, body, true)
    }

    #[inline]
    fn push_entry(&mut self, ts_ns: u64, body: RecordBody, durable: bool) -> Result<u64, Full> {
        let seq = self.next_seq;
        let entry = Entry {
            record: Record { seq, ts_ns, body },
            durable,
        };
        match self.ring.push(entry) {
            Ok(()) => {
                self.next_seq += 1;
                Ok(seq)
            }
            Err(rtrb::PushError::Full(_)) => {
                self.full_total += 1;
                Err(Full)
            }
        }
    }

    /// Pushes the records every run starts with: a session start (`pid`) and one
    /// instrument record per configured instrument (ids are only meaningful within a run).
    /// Call once at start, before any order record; durable.
    pub fn push_session_start(
        &mut self,
        ts_ns: u64,
        pid: u32,
        instruments: &Instruments,
    ) -> Result<u64, Full> {
        let mut last = self.push(ts_ns, RecordBody::SessionStart { pid })?;
        for (id, spec) in instruments.iter() {
            let body = RecordBody::Instrument {
                id,
                symbol: spec.symbol,
            };
            last = self.push_durable(ts_ns, body)?;
        }
        Ok(last)
    }

    /// The sequence number the next record will get.
    #[inline]
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Records refused because the ring was full, since start.
    #[inline]
    pub fn full_total(&self) -> u64 {
        self.full_total
    }

    /// Highest sequence number known to be on disk.
    #[inline]
    pub fn durable_seq(&self) -> u64 {
        self.shared.durable_seq.load(Ordering::Acquire)
    }

    /// True once the writer failed: nothing pushed from then on reaches the disk.
    #[inline]
    pub fn is_failed(&self) -> bool {
        self.shared.failed.load(Ordering::Relaxed)
    }
}

/// What the writer did, returned by [`JournalWriter::finish`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriterSummary {
    /// Last sequence number on disk.
    pub durable_seq: u64,
    /// Checkpoints written.
    pub checkpoints: u64,
    /// Checkpoint writes that failed (the journal still holds everything).
    pub checkpoint_errors: u64,
    /// The state folded from every record written, as last checkpointed.
    pub state: JournalState,
}

/// The owner's handle on the writer thread (keep it off the core thread).
#[derive(Debug)]
pub struct JournalWriter {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<JournalState>>,
    path: PathBuf,
}

impl JournalWriter {
    /// Starts the writer thread on `journal` (as returned by recovery), folding into
    /// `state` (the recovered state) and checkpointing to `checkpoint_path` if given.
    /// The sender continues at `max(journal.last_seq(), state.last_seq) + 1`.
    pub fn spawn(
        journal: Journal,
        state: JournalState,
        checkpoint_path: Option<PathBuf>,
        config: &JournalConfig,
    ) -> std::io::Result<(JournalSender, JournalWriter)> {
        let (tx, rx) = rtrb::RingBuffer::new(config.ring_capacity);
        let last = journal.last_seq().max(state.last_seq);
        let shared = Arc::new(Shared::default());
        shared.durable_seq.store(last, Ordering::Release);
        shared.written_seq.store(last, Ordering::Relaxed);
        let path = journal.path().to_path_buf();
        let cold = Cold {
            journal,
            state,
            checkpoint_path,
            config: *config,
            shared: Arc::clone(&shared),
        };
        let thread = std::thread::Builder::new()
            .name("obi-journal".into())
            .spawn(move || cold.run(rx))?;
        let sender = JournalSender {
            ring: tx,
            next_seq: last + 1,
            full_total: 0,
            shared: Arc::clone(&shared),
        };
        Ok((
            sender,
            JournalWriter {
                shared,
                thread: Some(thread),
                path,
            },
        ))
    }

    /// Highest sequence number known to be on disk.
    pub fn durable_seq(&self) -> u64 {
        self.shared.durable_seq.load(Ordering::Acquire)
    }

    /// True once the writer failed.
    pub fn is_failed(&self) -> bool {
        self.shared.failed.load(Ordering::Relaxed)
    }

    /// The first journal write error, if any.
    pub fn error(&self) -> Option<String> {
        self.shared.first_error.lock().ok().and_then(|e| e.clone())
    }

    /// The last checkpoint write error, if any (the journal still holds everything).
    pub fn checkpoint_error(&self) -> Option<String> {
        self.shared
            .last_checkpoint_error
            .lock()
            .ok()
            .and_then(|e| e.clone())
    }

    /// Checkpoints written so far.
    pub fn checkpoints(&self) -> u64 {
        self.shared.checkpoints.load(Ordering::Relaxed)
    }

    /// Stops the writer after it has drained the ring, synced and written a last
    /// checkpoint. Records pushed after this call starts may or may not be written; drop
    /// or stop using the sender first.
    pub fn finish(mut self) -> Result<WriterSummary, JournalError> {
        self.shared.done.store(true, Ordering::Release);
        let state = match self.thread.take().map(JoinHandle::join) {
            Some(Ok(state)) => state,
            _ => {
                return Err(JournalError::Writer(format!(
                    "the writer thread of {} panicked",
                    self.path.display()
                )));
            }
        };
        if let Some(e) = self.error() {
            return Err(JournalError::Writer(e));
        }
        Ok(WriterSummary {
            durable_seq: self.durable_seq(),
            checkpoints: self.checkpoints(),
            checkpoint_errors: self.shared.checkpoint_errors.load(Ordering::Relaxed),
            state,
        })
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        self.shared.done.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The writer thread's state.
struct Cold {
    journal: Journal,
    state: JournalState,
    checkpoint_path: Option<PathBuf>,
    config: JournalConfig,
    shared: Arc<Shared>,
}

/// Encoded bytes written per `write` call at most.
const BATCH_BYTES: usize = 256 << 10;

impl Cold {
    fn run(mut self, mut rx: rtrb::Consumer<Entry>) -> JournalState {
        let fsync_every = Duration::from_millis(self.config.fsync_interval_ms);
        let checkpoint_every = Duration::from_millis(self.config.checkpoint_interval_ms);
        let idle = Duration::from_micros(self.config.idle_sleep_us);
        let mut buf: Vec<u8> = Vec::with_capacity(BATCH_BYTES + MAX_RECORD_BYTES);
        let mut enc = [0u8; MAX_RECORD_BYTES];
        let mut last_sync = Instant::now();
        let mut last_checkpoint = Instant::now();
        let mut checkpointed_seq = self.state.last_seq;
        let mut unsynced = false;
        let mut want_sync = false;
        loop {
            // Read before draining: anything pushed before `done` was set is drained below.
            let done = self.shared.done.load(Ordering::Acquire) || rx.is_abandoned();
            let mut last_seq = None;
            let mut batch_records = 0u64;
            while buf.len() < BATCH_BYTES {
                let Ok(entry) = rx.pop() else { break };
                let n = codec::encode(&entry.record, &mut enc);
                buf.extend_from_slice(&enc[..n]);
                self.state.apply(&entry.record);
                want_sync |= entry.durable;
                last_seq = Some(entry.record.seq);
                batch_records += 1;
            }
            let drained = last_seq.is_none();
            if let Some(seq) = last_seq {
                if self.shared.failed.load(Ordering::Relaxed) {
                    self.shared
                        .discarded
                        .fetch_add(batch_records, Ordering::Relaxed);
                } else if let Err(e) = self.journal.append_encoded(&buf, seq) {
                    self.fail(format!("append to {}: {e}", self.journal.path().display()));
                } else {
                    self.shared.written_seq.store(seq, Ordering::Relaxed);
                    unsynced = true;
                }
                buf.clear();
            }
            let sync_due = want_sync || last_sync.elapsed() >= fsync_every || (done && drained);
            if unsynced && sync_due && !self.shared.failed.load(Ordering::Relaxed) {
                match self.journal.sync() {
                    Ok(()) => {
                        let seq = self.shared.written_seq.load(Ordering::Relaxed);
                        // Pairs with the Acquire loads in `durable_seq`.
                        self.shared.durable_seq.store(seq, Ordering::Release);
                    }
                    Err(e) => self.fail(format!("fsync {}: {e}", self.journal.path().display())),
                }
                unsynced = false;
                want_sync = false;
                last_sync = Instant::now();
            }
            let synced_all = !unsynced && !self.shared.failed.load(Ordering::Relaxed);
            let checkpoint_due = last_checkpoint.elapsed() >= checkpoint_every || (done && drained);
            if synced_all && checkpoint_due && self.state.last_seq != checkpointed_seq {
                self.checkpoint();
                checkpointed_seq = self.state.last_seq;
                last_checkpoint = Instant::now();
            }
            if done && drained {
                return self.state;
            }
            if drained {
                std::thread::sleep(idle);
            }
        }
    }

    fn checkpoint(&mut self) {
        let Some(path) = &self.checkpoint_path else {
            return;
        };
        match checkpoint::write(path, &self.state) {
            Ok(()) => {
                self.shared.checkpoints.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.shared
                    .checkpoint_errors
                    .fetch_add(1, Ordering::Relaxed);
                if let Ok(mut slot) = self.shared.last_checkpoint_error.lock() {
                    *slot = Some(e.to_string());
                }
            }
        }
    }

    /// After a failed write or fsync the file's state is unknown (a retried fsync can
    /// report success for lost pages): stop writing for good and let the core halt.
    fn fail(&mut self, message: String) {
        if let Ok(mut slot) = self.shared.first_error.lock()
            && slot.is_none()
        {
            *slot = Some(message);
        }
        self.shared.failed.store(true, Ordering::Release);
    }
}
