//! The agent's side: opens the stats file through explicit waiting states and reads it.
//!
//! The reader maps the whole file read-write, but only ever writes the control area
//! (`request_kill`, `request_reset`); everything else is loaded, never stored.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use memmap2::MmapOptions;

use crate::control::ControlState;
use crate::counters::CounterSnapshot;
use crate::gauges::GaugeSnapshot;
use crate::layout::{
    CONTROL_AREA_LEN_BYTES, CONTROL_AREA_OFFSET, COUNTER_SLOTS, COUNTERS_OFFSET, GAUGE_DATA_SLOTS,
    GAUGE_SEQ_OFFSET, GAUGE_SLOTS, INSTRUMENT_GAUGE_SLOTS, LAYOUT_LEN_BYTES, LAYOUT_VERSION,
    LayoutVersion, MAGIC, MAX_INSTRUMENTS, SYMBOL_BYTES,
};
use crate::region::{Region, read_prefix};
use crate::seqlock::{Contended, SeqLock};
use crate::sync::atomic::Ordering;

/// Attempts [`StatsView::gauges`] makes before giving up. A publish is a few hundred
/// nanoseconds, so failing this many in a row means the writer is descheduled or dead
/// mid-publish; try again later.
pub const GAUGE_READ_ATTEMPTS: u32 = 1_000;

/// Opens stats files. Stateless: call [`open`](Self::open) again until it is `Ready`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatsReader;

/// Where a reader is in opening the stats file. Everything except `Ready` and
/// `Incompatible` is normally transient (engine not started, or still writing its header);
/// the agent retries on a timer.
#[derive(Debug)]
pub enum ReaderState {
    /// No file at the path.
    NoFile,
    /// A file exists but cannot be used (yet).
    NotMapped(NotMappedReason),
    /// Mapped, but the writer has not stored the magic or the version yet.
    NoVersionYet,
    /// The file's major layout version differs from this reader's.
    Incompatible {
        /// Version in the file.
        found: LayoutVersion,
        /// Version this reader understands.
        expected: LayoutVersion,
    },
    /// Mapped and ready.
    Ready(StatsView),
}

impl ReaderState {
    /// The view, if `Ready`.
    #[must_use]
    pub fn into_view(self) -> Option<StatsView> {
        match self {
            Self::Ready(view) => Some(view),
            _ => None,
        }
    }

    /// Short state name for logs and health output.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::NoFile => "no_file",
            Self::NotMapped(_) => "not_mapped",
            Self::NoVersionYet => "no_version_yet",
            Self::Incompatible { .. } => "incompatible",
            Self::Ready(_) => "ready",
        }
    }
}

/// Why an existing file could not be mapped.
#[derive(Debug, thiserror::Error)]
pub enum NotMappedReason {
    /// The file is shorter than needed (being created, truncated, or not ours).
    #[error("file is {len_bytes} bytes, need at least {min_bytes}")]
    TooSmall {
        /// Actual length.
        len_bytes: u64,
        /// Length needed at this stage.
        min_bytes: u64,
    },
    /// Opening read-write was refused (the reader writes the control area).
    #[error("permission denied opening the stats file read-write")]
    PermissionDenied,
    /// Not a regular file.
    #[error("not a regular file")]
    NotAFile,
    /// The first word is not `OBISTATS`.
    #[error("bad magic {found:#018x}")]
    BadMagic {
        /// The first word as found.
        found: u64,
    },
    /// A header descriptor disagrees with this reader's layout (corrupt file).
    #[error("header field {field} is {found}, expected {expected}")]
    LayoutMismatch {
        /// Header field name as in LAYOUT.md.
        field: &'static str,
        /// Value found.
        found: u64,
        /// Value expected (for `file_len_bytes` and `instrument_count`: the bound).
        expected: u64,
    },
    /// Any other I/O failure.
    #[error("{op}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl StatsReader {
    /// Tries to open and map the stats file at `path`.
    ///
    /// ```
    /// use obi_shm::{ReaderState, StatsReader};
    /// assert!(matches!(StatsReader::open("/nonexistent/obi.stats"), ReaderState::NoFile));
    /// ```
    pub fn open(path: impl AsRef<Path>) -> ReaderState {
        let path = path.as_ref();
        let file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(file) => file,
            Err(e) => {
                return match e.kind() {
                    io::ErrorKind::NotFound => ReaderState::NoFile,
                    io::ErrorKind::PermissionDenied => {
                        ReaderState::NotMapped(NotMappedReason::PermissionDenied)
                    }
                    _ => ReaderState::NotMapped(NotMappedReason::Io {
                        op: "open",
                        source: e,
                    }),
                };
            }
        };
        let meta = match file.metadata() {
            Ok(meta) => meta,
            Err(e) => {
                return ReaderState::NotMapped(NotMappedReason::Io {
                    op: "stat",
                    source: e,
                });
            }
        };
        if !meta.is_file() {
            return ReaderState::NotMapped(NotMappedReason::NotAFile);
        }
        let len_bytes = meta.len();
        let too_small = |min: usize| {
            ReaderState::NotMapped(NotMappedReason::TooSmall {
                len_bytes,
                min_bytes: min as u64,
            })
        };
        // The prefix (magic, version) first: a different major may have another length.
        let Ok(len) = usize::try_from(len_bytes) else {
            return too_small(usize::MAX);
        };
        if len < size_of::<u64>() * 2 {
            return too_small(size_of::<u64>() * 2);
        }
        // SAFETY: the mapping is only accessed through atomics (see `Region`), so concurrent
        // writes by the engine are fine. If another process truncates the file while mapped,
        // accesses past the new end fault (SIGBUS); the engine never truncates (it unlinks and
        // recreates), which is the documented contract for the stats path.
        let mut map = match unsafe { MmapOptions::new().len(len).map_mut(&file) } {
            Ok(map) => map,
            Err(e) => {
                return ReaderState::NotMapped(NotMappedReason::Io {
                    op: "map",
                    source: e,
                });
            }
        };
        let Some((magic, version)) = read_prefix(&mut map) else {
            return too_small(size_of::<u64>() * 2);
        };
        if version == 0 || magic == 0 {
            return ReaderState::NoVersionYet;
        }
        if magic != MAGIC {
            return ReaderState::NotMapped(NotMappedReason::BadMagic { found: magic });
        }
        let found = LayoutVersion::unpack(version);
        if !LAYOUT_VERSION.accepts(found) {
            return ReaderState::Incompatible {
                found,
                expected: LAYOUT_VERSION,
            };
        }
        let region = match Region::new(map) {
            Ok(region) => region,
            Err(_) => return too_small(LAYOUT_LEN_BYTES),
        };
        if let Err(reason) = check_descriptors(&region) {
            return ReaderState::NotMapped(reason);
        }
        let identity = FileIdentity {
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
        };
        ReaderState::Ready(StatsView::from_region(region, Some(identity)))
    }
}

/// Checks the header's area descriptors against this reader's layout, so a corrupt or foreign
/// file is refused instead of misread.
fn check_descriptors(region: &Region) -> Result<(), NotMappedReason> {
    let l = region.layout();
    let exact = [
        (
            "control_area_offset",
            &l.control_area_offset,
            CONTROL_AREA_OFFSET,
        ),
        (
            "control_area_len_bytes",
            &l.control_area_len_bytes,
            CONTROL_AREA_LEN_BYTES,
        ),
        (
            "counters_area_offset",
            &l.counters_area_offset,
            COUNTERS_OFFSET,
        ),
        ("counter_slots", &l.counter_slots, COUNTER_SLOTS),
        (
            "gauges_area_offset",
            &l.gauges_area_offset,
            GAUGE_SEQ_OFFSET,
        ),
        ("gauge_slots", &l.gauge_slots, GAUGE_SLOTS),
        (
            "instrument_gauge_slots",
            &l.instrument_gauge_slots,
            INSTRUMENT_GAUGE_SLOTS,
        ),
        ("max_instruments", &l.max_instruments, MAX_INSTRUMENTS),
    ];
    for (field, atom, expected) in exact {
        // Relaxed: ordered after the Acquire load of the version in `read_prefix`.
        let found = atom.load(Ordering::Relaxed);
        if found != expected as u64 {
            return Err(NotMappedReason::LayoutMismatch {
                field,
                found,
                expected: expected as u64,
            });
        }
    }
    let file_len = l.file_len_bytes.load(Ordering::Relaxed);
    if file_len < LAYOUT_LEN_BYTES as u64 || file_len > region.len_bytes() as u64 {
        return Err(NotMappedReason::LayoutMismatch {
            field: "file_len_bytes",
            found: file_len,
            expected: region.len_bytes() as u64,
        });
    }
    let count = l.instrument_count.load(Ordering::Relaxed);
    if count > MAX_INSTRUMENTS as u64 {
        return Err(NotMappedReason::LayoutMismatch {
            field: "instrument_count",
            found: count,
            expected: MAX_INSTRUMENTS as u64,
        });
    }
    Ok(())
}

/// Which file a view mapped, to tell when the engine has recreated it.
#[derive(Debug, Clone)]
pub(crate) struct FileIdentity {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

/// A ready mapping of the stats file. Cheap to clone (shares the mapping); `Send + Sync`.
#[derive(Debug, Clone)]
pub struct StatsView {
    region: Region,
    identity: Option<FileIdentity>,
}

/// The header as read by a view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderInfo {
    /// Writer process id.
    pub pid: u32,
    /// Writer start time, Unix nanoseconds.
    pub start_unix_ns: u64,
    /// Last heartbeat, Unix nanoseconds.
    pub heartbeat_unix_ns: u64,
    /// Layout version in the file.
    pub version: LayoutVersion,
    /// Instrument symbols, index = per-instrument gauge row. Non-ASCII bytes in a corrupt
    /// file come back as U+FFFD.
    pub instruments: Vec<String>,
}

impl StatsView {
    pub(crate) fn from_region(region: Region, identity: Option<FileIdentity>) -> Self {
        Self { region, identity }
    }

    /// Reads the header (allocates the symbol strings).
    #[must_use]
    pub fn header(&self) -> HeaderInfo {
        let l = self.region.layout();
        // Relaxed throughout: pid, start time and symbols were ordered before the version by
        // the writer's Release store and our Acquire load at open; heartbeat is standalone.
        let count = usize::try_from(l.instrument_count.load(Ordering::Relaxed))
            .unwrap_or(MAX_INSTRUMENTS)
            .min(MAX_INSTRUMENTS);
        let instruments = l.instrument_symbols[..count]
            .iter()
            .map(|words| {
                let mut bytes = [0u8; SYMBOL_BYTES];
                for (chunk, word) in bytes.chunks_exact_mut(8).zip(words) {
                    chunk.copy_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
                }
                let len = bytes.iter().position(|&b| b == 0).unwrap_or(SYMBOL_BYTES);
                String::from_utf8_lossy(&bytes[..len]).into_owned()
            })
            .collect();
        HeaderInfo {
            pid: u32::try_from(l.pid.load(Ordering::Relaxed)).unwrap_or(u32::MAX),
            start_unix_ns: l.start_unix_ns.load(Ordering::Relaxed),
            heartbeat_unix_ns: l.heartbeat_unix_ns.load(Ordering::Relaxed),
            version: LayoutVersion::unpack(l.layout_version.load(Ordering::Relaxed)),
            instruments,
        }
    }

    /// Every counter slot. Each value is exact; the set is not one atomic snapshot.
    #[must_use]
    pub fn counters(&self) -> CounterSnapshot {
        let l = self.region.layout();
        let mut values = [0; COUNTER_SLOTS];
        for (value, atom) in values.iter_mut().zip(&l.counters) {
            // Relaxed: single-writer counters carry no cross-field ordering.
            *value = atom.load(Ordering::Relaxed);
        }
        CounterSnapshot::from_slots(values)
    }

    /// A consistent snapshot of all gauges, with up to [`GAUGE_READ_ATTEMPTS`] attempts.
    ///
    /// # Errors
    /// [`Contended`] when no attempt saw a quiescent, unchanged sequence.
    pub fn gauges(&self) -> Result<GaugeSnapshot, Contended> {
        self.gauges_with_attempts(GAUGE_READ_ATTEMPTS)
    }

    /// As [`gauges`](Self::gauges) with an explicit attempt bound.
    ///
    /// # Errors
    /// [`Contended`] when no attempt saw a quiescent, unchanged sequence.
    pub fn gauges_with_attempts(&self, max_attempts: u32) -> Result<GaugeSnapshot, Contended> {
        let l = self.region.layout();
        let mut words = [0u64; GAUGE_DATA_SLOTS];
        let seq = SeqLock::new(&l.gauge_seq, &l.gauge_data).read(&mut words, max_attempts)?;
        Ok(GaugeSnapshot::from_words(seq, &words))
    }

    /// Asks the engine to kill (halt); returns the request sequence to wait for in
    /// [`control_state`](Self::control_state)`.kill_ack_seq`.
    pub fn request_kill(&self, reason_code: u32) -> u64 {
        let l = self.region.layout();
        // Relaxed: published by the Release increment below.
        l.kill_reason_code.store(reason_code, Ordering::Relaxed);
        // AcqRel: Release pairs with the engine's Acquire load in `poll_control` (makes the
        // reason visible); Acquire orders after any earlier request by another agent.
        l.kill_request_seq
            .fetch_add(1, Ordering::AcqRel)
            .wrapping_add(1)
    }

    /// Asks the engine to reset (operator reset of a latched halt); returns the request
    /// sequence.
    pub fn request_reset(&self) -> u64 {
        // Release: pairs with the engine's Acquire load in `poll_control`.
        self.region
            .layout()
            .reset_request_seq
            .fetch_add(1, Ordering::Release)
            .wrapping_add(1)
    }

    /// The control area: requests and acks.
    #[must_use]
    pub fn control_state(&self) -> ControlState {
        let l = self.region.layout();
        ControlState {
            // Acquire: pairs with the engine's Release stores in `ack_kill` / `ack_reset`.
            kill_ack_seq: l.kill_ack_seq.load(Ordering::Acquire),
            reset_ack_seq: l.reset_ack_seq.load(Ordering::Acquire),
            // Relaxed: requests are our own (or another agent's) increments; no data rides on them here.
            kill_request_seq: l.kill_request_seq.load(Ordering::Relaxed),
            reset_request_seq: l.reset_request_seq.load(Ordering::Relaxed),
            kill_reason_code: l.kill_reason_code.load(Ordering::Relaxed),
        }
    }

    /// True when the path no longer names the file this view mapped (the engine restarted
    /// and recreated it, or it was removed). The agent then drops this view and reopens.
    /// One `stat` syscall; always false for views of anonymous writers.
    #[must_use]
    pub fn is_stale(&self) -> bool {
        let Some(id) = &self.identity else {
            return false;
        };
        match std::fs::metadata(&id.path) {
            Ok(meta) => meta.dev() != id.dev || meta.ino() != id.ino,
            Err(_) => true,
        }
    }
}
