//! The engine's side: creates the stats file and publishes counters, gauges and heartbeats.
//!
//! Every method after [`StatsWriter::create`] is hot-path safe: no allocation, no lock, no
//! syscall, only atomic loads and stores into the mapping.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use memmap2::{MmapMut, MmapOptions};

use crate::control::ControlRequests;
use crate::counters::CounterId;
use crate::error::ShmError;
use crate::gauges::GaugeWriter;
use crate::layout::{
    CONTROL_AREA_LEN_BYTES, CONTROL_AREA_OFFSET, COUNTER_SLOTS, COUNTERS_OFFSET, GAUGE_SEQ_OFFSET,
    GAUGE_SLOTS, INSTRUMENT_GAUGE_SLOTS, LAYOUT_LEN_BYTES, LAYOUT_VERSION, MAGIC, MAX_INSTRUMENTS,
    SYMBOL_BYTES,
};
use crate::reader::StatsView;
use crate::region::Region;
use crate::seqlock::SeqLock;
use crate::sync::atomic::Ordering;

/// Who is writing, stored once in the header.
#[derive(Debug, Clone, Copy)]
pub struct WriterInfo<'a> {
    /// Writer process id (`std::process::id()`).
    pub pid: u32,
    /// Writer start time, Unix nanoseconds.
    pub start_unix_ns: u64,
    /// Instrument symbols, index = the `instrument` argument of
    /// [`GaugeWriter::set_instrument`]. At most [`MAX_INSTRUMENTS`], each ASCII and at most
    /// [`SYMBOL_BYTES`] long.
    pub instruments: &'a [&'a str],
}

/// The single writer of a stats mapping. Not `Clone`: `&mut self` on every write keeps one
/// writer per mapping in this process; one engine per path keeps one across processes.
#[derive(Debug)]
pub struct StatsWriter {
    region: Region,
    path: Option<PathBuf>,
}

/// File mode for a new stats file: owner and group may read and write (the agent writes the
/// control area). The process umask still applies.
const STATS_FILE_MODE: u32 = 0o660;

impl StatsWriter {
    /// Creates the stats file at `path` (usually
    /// [`DEFAULT_STATS_PATH`](crate::layout::DEFAULT_STATS_PATH)), maps it and writes the
    /// header, storing the layout version last.
    ///
    /// An existing file is unlinked first and a fresh one created, rather than truncated in
    /// place: a reader that still maps the old file keeps valid memory (truncating a mapped
    /// file would make its next access SIGBUS) and notices the change via
    /// [`StatsView::is_stale`].
    ///
    /// # Errors
    /// Invalid `info`, or any file, sizing or mapping failure.
    pub fn create(path: impl AsRef<Path>, info: &WriterInfo<'_>) -> Result<Self, ShmError> {
        let path = path.as_ref();
        let symbols = encode_symbols(info.instruments)?;
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(ShmError::io("remove old", path, e)),
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(STATS_FILE_MODE)
            .open(path)
            .map_err(|e| ShmError::io("create", path, e))?;
        file.set_len(LAYOUT_LEN_BYTES as u64)
            .map_err(|e| ShmError::io("size", path, e))?;
        // SAFETY: the file was just created by us (create_new) and sized; this crate never
        // truncates it, and every access to the mapped bytes goes through atomics, so changes
        // by other processes are not undefined behaviour for us.
        let map = unsafe { MmapOptions::new().len(LAYOUT_LEN_BYTES).map_mut(&file) }
            .map_err(|e| ShmError::io("map", path, e))?;
        let mut writer = Self::from_map(map, path)?;
        writer.path = Some(path.to_path_buf());
        writer.init(info, &symbols);
        Ok(writer)
    }

    /// A writer over anonymous memory (no file), for tests and benchmarks. Use
    /// [`view`](Self::view) to read it.
    ///
    /// ```
    /// use obi_shm::{GaugeId, StatsWriter, WriterInfo};
    /// let info = WriterInfo { pid: 42, start_unix_ns: 1, instruments: &["BTCUSDT"] };
    /// let mut writer = StatsWriter::anonymous(&info)?;
    /// writer.publish(|g| g.set(GaugeId::OpenOrders, 2));
    /// let view = writer.view();
    /// assert_eq!(view.header().instruments, vec!["BTCUSDT".to_string()]);
    /// assert_eq!(view.gauges()?.get(GaugeId::OpenOrders), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Invalid `info`, or the anonymous mapping failed.
    pub fn anonymous(info: &WriterInfo<'_>) -> Result<Self, ShmError> {
        let symbols = encode_symbols(info.instruments)?;
        let map = MmapMut::map_anon(LAYOUT_LEN_BYTES)
            .map_err(|e| ShmError::io("map anonymous", PathBuf::new(), e))?;
        let mut writer = Self::from_map(map, Path::new(""))?;
        writer.init(info, &symbols);
        Ok(writer)
    }

    fn from_map(map: MmapMut, path: &Path) -> Result<Self, ShmError> {
        let region = Region::new(map).map_err(|_| {
            ShmError::io(
                "map",
                path,
                io::Error::other("mapping shorter than the layout"),
            )
        })?;
        Ok(Self { region, path: None })
    }

    /// Writes the header of a zeroed mapping, version last.
    fn init(
        &mut self,
        info: &WriterInfo<'_>,
        symbols: &[[u64; SYMBOL_BYTES / 8]; MAX_INSTRUMENTS],
    ) {
        let l = self.region.layout();
        l.magic.store(MAGIC, Ordering::Relaxed);
        l.pid.store(u64::from(info.pid), Ordering::Relaxed);
        l.start_unix_ns.store(info.start_unix_ns, Ordering::Relaxed);
        l.heartbeat_unix_ns
            .store(info.start_unix_ns, Ordering::Relaxed);
        l.file_len_bytes
            .store(LAYOUT_LEN_BYTES as u64, Ordering::Relaxed);
        l.instrument_count
            .store(info.instruments.len() as u64, Ordering::Relaxed);
        l.control_area_offset
            .store(CONTROL_AREA_OFFSET as u64, Ordering::Relaxed);
        l.control_area_len_bytes
            .store(CONTROL_AREA_LEN_BYTES as u64, Ordering::Relaxed);
        l.counters_area_offset
            .store(COUNTERS_OFFSET as u64, Ordering::Relaxed);
        l.counter_slots
            .store(COUNTER_SLOTS as u64, Ordering::Relaxed);
        l.gauges_area_offset
            .store(GAUGE_SEQ_OFFSET as u64, Ordering::Relaxed);
        l.gauge_slots.store(GAUGE_SLOTS as u64, Ordering::Relaxed);
        l.instrument_gauge_slots
            .store(INSTRUMENT_GAUGE_SLOTS as u64, Ordering::Relaxed);
        l.max_instruments
            .store(MAX_INSTRUMENTS as u64, Ordering::Relaxed);
        for (slot, words) in l.instrument_symbols.iter().zip(symbols) {
            for (atom, &word) in slot.iter().zip(words) {
                atom.store(word, Ordering::Relaxed);
            }
        }
        // Release, and last: the version doubles as "ready". Pairs with the reader's Acquire
        // load of the version (`region::read_prefix`), after which every store above is
        // visible to it.
        l.layout_version
            .store(LAYOUT_VERSION.pack(), Ordering::Release);
    }

    /// The file path, or `None` for an anonymous writer.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// A reader view of this writer's mapping (shares it; no syscall). For tests, benchmarks
    /// and in-process agents.
    #[must_use]
    pub fn view(&self) -> StatsView {
        StatsView::from_region(self.region.clone(), None)
    }

    /// Sets a counter. Counters are meant to be monotonic; this is for mirroring a count the
    /// caller already keeps.
    #[inline]
    pub fn set_counter(&mut self, id: CounterId, value: u64) {
        // Relaxed: counters carry no ordering; each is read on its own.
        self.region.layout().counters[id.slot()].store(value, Ordering::Relaxed);
    }

    /// Adds to a counter (wrapping). A plain load and store, not a read-modify-write: this is
    /// the only writer.
    ///
    /// ```
    /// use obi_shm::{CounterId, StatsWriter, WriterInfo};
    /// let mut w = StatsWriter::anonymous(&WriterInfo { pid: 1, start_unix_ns: 0, instruments: &[] })?;
    /// w.add_counter(CounterId::GapsTotal, 1);
    /// w.add_counter(CounterId::GapsTotal, 2);
    /// assert_eq!(w.counter(CounterId::GapsTotal), 3);
    /// # Ok::<(), obi_shm::ShmError>(())
    /// ```
    #[inline]
    pub fn add_counter(&mut self, id: CounterId, delta: u64) {
        let slot = &self.region.layout().counters[id.slot()];
        // Relaxed: single writer, so the load sees our own last store; no ordering needed.
        let value = slot.load(Ordering::Relaxed).wrapping_add(delta);
        slot.store(value, Ordering::Relaxed);
    }

    /// Current value of a counter (the writer's own last store).
    #[inline]
    #[must_use]
    pub fn counter(&self, id: CounterId) -> u64 {
        self.region.layout().counters[id.slot()].load(Ordering::Relaxed)
    }

    /// Publishes gauges: `f` runs inside one seqlock write section, so readers see all of its
    /// sets or none. Slots `f` does not set keep their previous values. Keep `f` short and
    /// panic-free (a panic inside leaves the sequence odd and readers report contention).
    #[inline]
    pub fn publish<R>(&mut self, f: impl FnOnce(&mut GaugeWriter<'_>) -> R) -> R {
        let l = self.region.layout();
        // `&mut self` makes this the only writer section on this mapping (SeqLock invariant).
        SeqLock::new(&l.gauge_seq, &l.gauge_data).write(|data| f(&mut GaugeWriter::new(data)))
    }

    /// Stores the liveness timestamp, Unix nanoseconds.
    #[inline]
    pub fn heartbeat(&mut self, unix_ns: u64) {
        // Relaxed: a standalone value; readers only compare it with their clock.
        self.region
            .layout()
            .heartbeat_unix_ns
            .store(unix_ns, Ordering::Relaxed);
    }

    /// Pending control requests: each sequence is returned while it is greater than the
    /// engine's ack. Two loads per request kind from one cache line that only changes when the
    /// agent writes it.
    ///
    /// ```
    /// use obi_shm::{StatsWriter, WriterInfo};
    /// let mut w = StatsWriter::anonymous(&WriterInfo { pid: 1, start_unix_ns: 0, instruments: &[] })?;
    /// let seq = w.view().request_kill(9);
    /// let pending = w.poll_control();
    /// assert_eq!((pending.kill_seq, pending.kill_reason_code), (Some(seq), 9));
    /// w.ack_kill(seq);
    /// assert!(w.poll_control().is_empty());
    /// # Ok::<(), obi_shm::ShmError>(())
    /// ```
    #[inline]
    #[must_use]
    pub fn poll_control(&self) -> ControlRequests {
        let l = self.region.layout();
        // Acquire: pairs with the agent's Release increment in `StatsView::request_kill`, so
        // the reason code it stored before is visible below.
        let kill_request = l.kill_request_seq.load(Ordering::Acquire);
        // Acquire: pairs with the agent's Release increment in `StatsView::request_reset`.
        let reset_request = l.reset_request_seq.load(Ordering::Acquire);
        // Relaxed: only this writer stores the acks.
        let kill_ack = l.kill_ack_seq.load(Ordering::Relaxed);
        let reset_ack = l.reset_ack_seq.load(Ordering::Relaxed);
        ControlRequests {
            kill_seq: (kill_request > kill_ack).then_some(kill_request),
            reset_seq: (reset_request > reset_ack).then_some(reset_request),
            kill_reason_code: l.kill_reason_code.load(Ordering::Relaxed),
        }
    }

    /// Records that the engine acted on kill request `seq` (from [`poll_control`](Self::poll_control)).
    #[inline]
    pub fn ack_kill(&mut self, seq: u64) {
        // Release: pairs with the agent's Acquire load in `StatsView::control_state`, so an
        // agent that sees the ack also sees counters/gauges stored before it.
        self.region
            .layout()
            .kill_ack_seq
            .store(seq, Ordering::Release);
    }

    /// Records that the engine acted on reset request `seq`.
    #[inline]
    pub fn ack_reset(&mut self, seq: u64) {
        // Release: pairs with the agent's Acquire load in `StatsView::control_state`.
        self.region
            .layout()
            .reset_ack_seq
            .store(seq, Ordering::Release);
    }
}

/// Checks symbols and packs each into four little-endian words.
fn encode_symbols(
    instruments: &[&str],
) -> Result<[[u64; SYMBOL_BYTES / 8]; MAX_INSTRUMENTS], ShmError> {
    if instruments.len() > MAX_INSTRUMENTS {
        return Err(ShmError::TooManyInstruments {
            count: instruments.len(),
            max: MAX_INSTRUMENTS,
        });
    }
    let mut out = [[0; SYMBOL_BYTES / 8]; MAX_INSTRUMENTS];
    for (words, symbol) in out.iter_mut().zip(instruments) {
        let invalid = |reason| ShmError::InvalidSymbol {
            symbol: (*symbol).to_owned(),
            reason,
        };
        if symbol.is_empty() {
            return Err(invalid("empty"));
        }
        if symbol.len() > SYMBOL_BYTES {
            return Err(invalid("longer than 32 bytes"));
        }
        if !symbol.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid("not printable ASCII without spaces"));
        }
        let mut bytes = [0u8; SYMBOL_BYTES];
        bytes[..symbol.len()].copy_from_slice(symbol.as_bytes());
        for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut le = [0u8; 8];
            le.copy_from_slice(chunk);
            *word = u64::from_le_bytes(le);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_instruments() {
        let nine = ["A"; 9];
        let info = WriterInfo {
            pid: 1,
            start_unix_ns: 0,
            instruments: &nine,
        };
        assert!(matches!(
            StatsWriter::anonymous(&info),
            Err(ShmError::TooManyInstruments { count: 9, max: 8 })
        ));
        for bad in ["", "has space", "ÄBC", &"X".repeat(33)] {
            let info = WriterInfo {
                pid: 1,
                start_unix_ns: 0,
                instruments: &[bad],
            };
            assert!(
                matches!(
                    StatsWriter::anonymous(&info),
                    Err(ShmError::InvalidSymbol { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn symbols_round_trip_including_full_length() {
        let long = "Y".repeat(32);
        let instruments = ["BTCUSDT", long.as_str(), "ETH-PERP"];
        let w = StatsWriter::anonymous(&WriterInfo {
            pid: 7,
            start_unix_ns: 11,
            instruments: &instruments,
        })
        .expect("anonymous writer");
        let header = w.view().header();
        assert_eq!(header.instruments, instruments);
        assert_eq!((header.pid, header.start_unix_ns), (7, 11));
        assert_eq!(header.heartbeat_unix_ns, 11);
        assert_eq!(header.version, LAYOUT_VERSION);
    }

    #[test]
    fn counters_gauges_and_control_round_trip() {
        use crate::{GaugeId, InstrumentGaugeId};
        let mut w = StatsWriter::anonymous(&WriterInfo {
            pid: 1,
            start_unix_ns: 0,
            instruments: &["A", "B"],
        })
        .expect("anonymous writer");
        let view = w.view();
        for (i, &id) in CounterId::ALL.iter().enumerate() {
            w.set_counter(id, i as u64 * 10);
        }
        w.add_counter(CounterId::FillsTotal, 5);
        let counters = view.counters();
        assert_eq!(counters.get(CounterId::FramesTotal), 0);
        assert_eq!(
            counters.get(CounterId::FillsTotal),
            CounterId::FillsTotal.slot() as u64 * 10 + 5
        );
        assert_eq!(counters.iter().count(), CounterId::ALL.len());

        w.publish(|g| {
            g.set(GaugeId::RealizedPnlQuoteMicros, -123);
            g.set(GaugeId::LastPublishUnixNs, 99);
            g.set_instrument(1, InstrumentGaugeId::ObiPpm, -500_000);
        });
        let snap = view.gauges().expect("uncontended");
        assert_eq!(snap.seq, 2);
        assert_eq!(snap.get(GaugeId::RealizedPnlQuoteMicros), -123);
        assert_eq!(snap.get(GaugeId::LastPublishUnixNs), 99);
        assert_eq!(
            snap.instrument(1, InstrumentGaugeId::ObiPpm),
            Some(-500_000)
        );
        assert_eq!(snap.instrument(0, InstrumentGaugeId::ObiPpm), Some(0));
        assert_eq!(snap.instrument(8, InstrumentGaugeId::ObiPpm), None);

        w.heartbeat(12345);
        assert_eq!(view.header().heartbeat_unix_ns, 12345);

        assert!(w.poll_control().is_empty());
        let k1 = view.request_kill(3);
        let k2 = view.request_kill(4);
        let r1 = view.request_reset();
        assert_eq!((k1, k2, r1), (1, 2, 1));
        let pending = w.poll_control();
        assert_eq!(pending.kill_seq, Some(2));
        assert_eq!(pending.reset_seq, Some(1));
        assert_eq!(pending.kill_reason_code, 4);
        w.ack_kill(2);
        w.ack_reset(1);
        assert!(w.poll_control().is_empty());
        let state = view.control_state();
        assert!(!state.kill_pending() && !state.reset_pending());
        assert_eq!(state.kill_ack_seq, 2);
        assert!(!view.is_stale());
    }
}
