//! The v1 byte layout of the stats file: named offsets, the `#[repr(C)]` mirror, and the
//! field table that `shm/LAYOUT.md` is tested against.
//!
//! Every field is a little-endian (native x86-64/aarch64) integer accessed only through
//! atomics. A minor version may only use reserved space or append past the end; anything else
//! is a new major version.

use std::fmt;
use std::mem::{offset_of, size_of};

use crate::sync::atomic::{AtomicU32, AtomicU64};

/// First 8 bytes of the file: `b"OBISTATS"` read as a little-endian `u64`.
pub const MAGIC: u64 = u64::from_le_bytes(*b"OBISTATS");
/// The layout this crate writes and reads.
pub const LAYOUT_VERSION: LayoutVersion = LayoutVersion { major: 1, minor: 2 };
/// Where the engine puts its stats file unless configured otherwise.
pub const DEFAULT_STATS_PATH: &str = "/dev/shm/obi-engine.stats";

/// Cache line size the areas are aligned to.
pub const CACHE_LINE_BYTES: usize = 64;
/// Instruments with a symbol and a gauge row.
pub const MAX_INSTRUMENTS: usize = 8;
/// Bytes per instrument symbol (ASCII, NUL-padded, not necessarily NUL-terminated).
pub const SYMBOL_BYTES: usize = 32;
/// Counter slots (ids 0..64).
pub const COUNTER_SLOTS: usize = 64;
/// Engine-wide gauge slots.
pub const GAUGE_SLOTS: usize = 64;
/// Gauge slots per instrument.
pub const INSTRUMENT_GAUGE_SLOTS: usize = 16;
/// Words protected by the gauge seqlock: engine-wide gauges then instrument rows.
pub const GAUGE_DATA_SLOTS: usize = GAUGE_SLOTS + MAX_INSTRUMENTS * INSTRUMENT_GAUGE_SLOTS;

// Header, line 0: identity and liveness.
/// `u64`: [`MAGIC`].
pub const MAGIC_OFFSET: usize = 0;
/// `u64`: packed [`LayoutVersion`]; stored last, with Release ("ready").
pub const LAYOUT_VERSION_OFFSET: usize = 8;
/// `u64`: writer process id.
pub const PID_OFFSET: usize = 16;
/// `u64`: writer start time, Unix ns.
pub const START_UNIX_NS_OFFSET: usize = 24;
/// `u64`: last heartbeat, Unix ns (updated periodically by the writer).
pub const HEARTBEAT_UNIX_NS_OFFSET: usize = 32;
/// `u64`: file length the writer created.
pub const FILE_LEN_BYTES_OFFSET: usize = 40;
/// `u64`: instruments in use (`<= MAX_INSTRUMENTS`).
pub const INSTRUMENT_COUNT_OFFSET: usize = 48;
/// `u64`: reserved, zero.
pub const HEADER_RESERVED_OFFSET: usize = 56;
// Header, line 1: area descriptors (a reader checks them against its own constants).
/// `u64`: [`CONTROL_AREA_OFFSET`].
pub const CONTROL_AREA_OFFSET_OFFSET: usize = 64;
/// `u64`: [`CONTROL_AREA_LEN_BYTES`].
pub const CONTROL_AREA_LEN_BYTES_OFFSET: usize = 72;
/// `u64`: [`COUNTERS_OFFSET`].
pub const COUNTERS_AREA_OFFSET_OFFSET: usize = 80;
/// `u64`: [`COUNTER_SLOTS`].
pub const COUNTER_SLOTS_OFFSET: usize = 88;
/// `u64`: [`GAUGE_SEQ_OFFSET`].
pub const GAUGES_AREA_OFFSET_OFFSET: usize = 96;
/// `u64`: [`GAUGE_SLOTS`].
pub const GAUGE_SLOTS_OFFSET: usize = 104;
/// `u64`: [`INSTRUMENT_GAUGE_SLOTS`].
pub const INSTRUMENT_GAUGE_SLOTS_OFFSET: usize = 112;
/// `u64`: [`MAX_INSTRUMENTS`].
pub const MAX_INSTRUMENTS_OFFSET: usize = 120;
// Header, lines 2..6.
/// `[[u8; 32]; 8]`: instrument symbols.
pub const INSTRUMENT_SYMBOLS_OFFSET: usize = 128;
/// Bytes of header before the control area.
pub const HEADER_LEN_BYTES: usize = 384;

// Control area: one cache line written by the agent (requests) and the engine (acks).
/// Start of the control area.
pub const CONTROL_AREA_OFFSET: usize = 384;
/// Length of the control area.
pub const CONTROL_AREA_LEN_BYTES: usize = 64;
/// `u64`: kill requests made (agent increments).
pub const KILL_REQUEST_SEQ_OFFSET: usize = 384;
/// `u64`: last kill request the engine acted on.
pub const KILL_ACK_SEQ_OFFSET: usize = 392;
/// `u64`: reset requests made (agent increments).
pub const RESET_REQUEST_SEQ_OFFSET: usize = 400;
/// `u64`: last reset request the engine acted on.
pub const RESET_ACK_SEQ_OFFSET: usize = 408;
/// `u32`: reason code of the latest kill request (agent-defined).
pub const KILL_REASON_CODE_OFFSET: usize = 416;
/// Reserved, zero.
pub const CONTROL_RESERVED_OFFSET: usize = 420;

// Counters.
/// `[u64; 64]`: counters, indexed by [`CounterId`](crate::CounterId) slot.
pub const COUNTERS_OFFSET: usize = 448;

// Gauges, behind one seqlock.
/// `u64`: gauge seqlock sequence (odd while a publish is in progress).
pub const GAUGE_SEQ_OFFSET: usize = 960;
/// Reserved, zero: keeps the payload on its own cache lines.
pub const GAUGE_SEQ_PAD_OFFSET: usize = 968;
/// `[i64; 64]`: engine-wide gauges, indexed by [`GaugeId`](crate::GaugeId) slot.
pub const GAUGES_OFFSET: usize = 1024;
/// `[[i64; 16]; 8]`: per-instrument gauges, indexed by instrument then
/// [`InstrumentGaugeId`](crate::InstrumentGaugeId) slot.
pub const INSTRUMENT_GAUGES_OFFSET: usize = 1536;
/// Total file length for layout 1.x as written by this version.
pub const LAYOUT_LEN_BYTES: usize = 2560;

/// Semantic layout version: readers accept the same major only; a minor bump only adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LayoutVersion {
    /// Incompatible changes bump this.
    pub major: u32,
    /// Compatible additions bump this.
    pub minor: u32,
}

impl LayoutVersion {
    /// The on-file form: major in the high 32 bits, minor in the low 32. Never 0 for a real
    /// version, so 0 means "not ready yet".
    #[must_use]
    pub const fn pack(self) -> u64 {
        ((self.major as u64) << 32) | self.minor as u64
    }

    /// Inverse of [`pack`](Self::pack).
    #[must_use]
    pub const fn unpack(word: u64) -> Self {
        Self {
            major: (word >> 32) as u32,
            minor: word as u32,
        }
    }

    /// True when a reader of `self` can read a file of version `found`.
    #[must_use]
    pub const fn accepts(self, found: Self) -> bool {
        self.major == found.major
    }
}

impl fmt::Display for LayoutVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// One named field of the layout, as listed in `shm/LAYOUT.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayoutField {
    /// Field name as in LAYOUT.md.
    pub name: &'static str,
    /// Byte offset from the start of the file.
    pub offset: usize,
    /// Byte length.
    pub size: usize,
    /// Rust-style type of the stored data.
    pub ty: &'static str,
}

const fn field(name: &'static str, offset: usize, size: usize, ty: &'static str) -> LayoutField {
    LayoutField {
        name,
        offset,
        size,
        ty,
    }
}

/// Every field of layout 1.x in file order, contiguous from 0 to [`LAYOUT_LEN_BYTES`].
pub const FIELDS: &[LayoutField] = &[
    field("magic", MAGIC_OFFSET, 8, "u64"),
    field("layout_version", LAYOUT_VERSION_OFFSET, 8, "u64"),
    field("pid", PID_OFFSET, 8, "u64"),
    field("start_unix_ns", START_UNIX_NS_OFFSET, 8, "u64"),
    field("heartbeat_unix_ns", HEARTBEAT_UNIX_NS_OFFSET, 8, "u64"),
    field("file_len_bytes", FILE_LEN_BYTES_OFFSET, 8, "u64"),
    field("instrument_count", INSTRUMENT_COUNT_OFFSET, 8, "u64"),
    field("header_reserved", HEADER_RESERVED_OFFSET, 8, "u64"),
    field("control_area_offset", CONTROL_AREA_OFFSET_OFFSET, 8, "u64"),
    field(
        "control_area_len_bytes",
        CONTROL_AREA_LEN_BYTES_OFFSET,
        8,
        "u64",
    ),
    field(
        "counters_area_offset",
        COUNTERS_AREA_OFFSET_OFFSET,
        8,
        "u64",
    ),
    field("counter_slots", COUNTER_SLOTS_OFFSET, 8, "u64"),
    field("gauges_area_offset", GAUGES_AREA_OFFSET_OFFSET, 8, "u64"),
    field("gauge_slots", GAUGE_SLOTS_OFFSET, 8, "u64"),
    field(
        "instrument_gauge_slots",
        INSTRUMENT_GAUGE_SLOTS_OFFSET,
        8,
        "u64",
    ),
    field("max_instruments", MAX_INSTRUMENTS_OFFSET, 8, "u64"),
    field(
        "instrument_symbols",
        INSTRUMENT_SYMBOLS_OFFSET,
        MAX_INSTRUMENTS * SYMBOL_BYTES,
        "[[u8; 32]; 8]",
    ),
    field("kill_request_seq", KILL_REQUEST_SEQ_OFFSET, 8, "u64"),
    field("kill_ack_seq", KILL_ACK_SEQ_OFFSET, 8, "u64"),
    field("reset_request_seq", RESET_REQUEST_SEQ_OFFSET, 8, "u64"),
    field("reset_ack_seq", RESET_ACK_SEQ_OFFSET, 8, "u64"),
    field("kill_reason_code", KILL_REASON_CODE_OFFSET, 4, "u32"),
    field(
        "control_reserved",
        CONTROL_RESERVED_OFFSET,
        COUNTERS_OFFSET - CONTROL_RESERVED_OFFSET,
        "[u8; 28]",
    ),
    field("counters", COUNTERS_OFFSET, COUNTER_SLOTS * 8, "[u64; 64]"),
    field("gauge_seq", GAUGE_SEQ_OFFSET, 8, "u64"),
    field(
        "gauge_seq_pad",
        GAUGE_SEQ_PAD_OFFSET,
        GAUGES_OFFSET - GAUGE_SEQ_PAD_OFFSET,
        "[u8; 56]",
    ),
    field("gauges", GAUGES_OFFSET, GAUGE_SLOTS * 8, "[i64; 64]"),
    field(
        "instrument_gauges",
        INSTRUMENT_GAUGES_OFFSET,
        MAX_INSTRUMENTS * INSTRUMENT_GAUGE_SLOTS * 8,
        "[[i64; 16]; 8]",
    ),
];

/// The first two words, readable before the reader knows the file is long enough for the
/// whole layout (a different major may be shorter).
#[repr(C)]
pub(crate) struct Prefix {
    pub(crate) magic: AtomicU64,
    pub(crate) layout_version: AtomicU64,
}

/// The file as Rust sees it. Only atomics, so every bit pattern is valid and shared access
/// from several processes is never plain-data racing.
#[repr(C)]
pub(crate) struct MappedLayout {
    pub(crate) magic: AtomicU64,
    pub(crate) layout_version: AtomicU64,
    pub(crate) pid: AtomicU64,
    pub(crate) start_unix_ns: AtomicU64,
    pub(crate) heartbeat_unix_ns: AtomicU64,
    pub(crate) file_len_bytes: AtomicU64,
    pub(crate) instrument_count: AtomicU64,
    pub(crate) header_reserved: AtomicU64,
    pub(crate) control_area_offset: AtomicU64,
    pub(crate) control_area_len_bytes: AtomicU64,
    pub(crate) counters_area_offset: AtomicU64,
    pub(crate) counter_slots: AtomicU64,
    pub(crate) gauges_area_offset: AtomicU64,
    pub(crate) gauge_slots: AtomicU64,
    pub(crate) instrument_gauge_slots: AtomicU64,
    pub(crate) max_instruments: AtomicU64,
    /// Each symbol is 32 bytes as four little-endian words.
    pub(crate) instrument_symbols: [[AtomicU64; SYMBOL_BYTES / 8]; MAX_INSTRUMENTS],
    pub(crate) kill_request_seq: AtomicU64,
    pub(crate) kill_ack_seq: AtomicU64,
    pub(crate) reset_request_seq: AtomicU64,
    pub(crate) reset_ack_seq: AtomicU64,
    pub(crate) kill_reason_code: AtomicU32,
    pub(crate) control_reserved: [AtomicU32; 7],
    pub(crate) counters: [AtomicU64; COUNTER_SLOTS],
    pub(crate) gauge_seq: AtomicU64,
    pub(crate) gauge_seq_pad: [AtomicU64; 7],
    /// `gauges` then `instrument_gauges`, one seqlock payload.
    pub(crate) gauge_data: [AtomicU64; GAUGE_DATA_SLOTS],
}

// The constants above are the specification; the mirror must agree byte for byte.
const _: () = {
    assert!(offset_of!(Prefix, magic) == MAGIC_OFFSET);
    assert!(offset_of!(Prefix, layout_version) == LAYOUT_VERSION_OFFSET);
    assert!(size_of::<Prefix>() == 16);

    assert!(offset_of!(MappedLayout, magic) == MAGIC_OFFSET);
    assert!(offset_of!(MappedLayout, layout_version) == LAYOUT_VERSION_OFFSET);
    assert!(offset_of!(MappedLayout, pid) == PID_OFFSET);
    assert!(offset_of!(MappedLayout, start_unix_ns) == START_UNIX_NS_OFFSET);
    assert!(offset_of!(MappedLayout, heartbeat_unix_ns) == HEARTBEAT_UNIX_NS_OFFSET);
    assert!(offset_of!(MappedLayout, file_len_bytes) == FILE_LEN_BYTES_OFFSET);
    assert!(offset_of!(MappedLayout, instrument_count) == INSTRUMENT_COUNT_OFFSET);
    assert!(offset_of!(MappedLayout, header_reserved) == HEADER_RESERVED_OFFSET);
    assert!(offset_of!(MappedLayout, control_area_offset) == CONTROL_AREA_OFFSET_OFFSET);
    assert!(offset_of!(MappedLayout, control_area_len_bytes) == CONTROL_AREA_LEN_BYTES_OFFSET);
    assert!(offset_of!(MappedLayout, counters_area_offset) == COUNTERS_AREA_OFFSET_OFFSET);
    assert!(offset_of!(MappedLayout, counter_slots) == COUNTER_SLOTS_OFFSET);
    assert!(offset_of!(MappedLayout, gauges_area_offset) == GAUGES_AREA_OFFSET_OFFSET);
    assert!(offset_of!(MappedLayout, gauge_slots) == GAUGE_SLOTS_OFFSET);
    assert!(offset_of!(MappedLayout, instrument_gauge_slots) == INSTRUMENT_GAUGE_SLOTS_OFFSET);
    assert!(offset_of!(MappedLayout, max_instruments) == MAX_INSTRUMENTS_OFFSET);
    assert!(offset_of!(MappedLayout, instrument_symbols) == INSTRUMENT_SYMBOLS_OFFSET);
    assert!(INSTRUMENT_SYMBOLS_OFFSET + MAX_INSTRUMENTS * SYMBOL_BYTES == HEADER_LEN_BYTES);
    assert!(HEADER_LEN_BYTES == CONTROL_AREA_OFFSET);
    assert!(offset_of!(MappedLayout, kill_request_seq) == KILL_REQUEST_SEQ_OFFSET);
    assert!(offset_of!(MappedLayout, kill_ack_seq) == KILL_ACK_SEQ_OFFSET);
    assert!(offset_of!(MappedLayout, reset_request_seq) == RESET_REQUEST_SEQ_OFFSET);
    assert!(offset_of!(MappedLayout, reset_ack_seq) == RESET_ACK_SEQ_OFFSET);
    assert!(offset_of!(MappedLayout, kill_reason_code) == KILL_REASON_CODE_OFFSET);
    assert!(offset_of!(MappedLayout, control_reserved) == CONTROL_RESERVED_OFFSET);
    assert!(CONTROL_AREA_OFFSET + CONTROL_AREA_LEN_BYTES == COUNTERS_OFFSET);
    assert!(offset_of!(MappedLayout, counters) == COUNTERS_OFFSET);
    assert!(COUNTERS_OFFSET + COUNTER_SLOTS * 8 == GAUGE_SEQ_OFFSET);
    assert!(offset_of!(MappedLayout, gauge_seq) == GAUGE_SEQ_OFFSET);
    assert!(offset_of!(MappedLayout, gauge_seq_pad) == GAUGE_SEQ_PAD_OFFSET);
    assert!(offset_of!(MappedLayout, gauge_data) == GAUGES_OFFSET);
    assert!(GAUGES_OFFSET + GAUGE_SLOTS * 8 == INSTRUMENT_GAUGES_OFFSET);
    assert!(
        INSTRUMENT_GAUGES_OFFSET + MAX_INSTRUMENTS * INSTRUMENT_GAUGE_SLOTS * 8 == LAYOUT_LEN_BYTES
    );
    assert!(size_of::<MappedLayout>() == LAYOUT_LEN_BYTES);
    // Areas start on cache lines.
    assert!(CONTROL_AREA_OFFSET.is_multiple_of(CACHE_LINE_BYTES));
    assert!(COUNTERS_OFFSET.is_multiple_of(CACHE_LINE_BYTES));
    assert!(GAUGE_SEQ_OFFSET.is_multiple_of(CACHE_LINE_BYTES));
    assert!(GAUGES_OFFSET.is_multiple_of(CACHE_LINE_BYTES));
    // The field table is contiguous and covers the file.
    let mut i = 0;
    let mut end = 0;
    while i < FIELDS.len() {
        assert!(FIELDS[i].offset == end, "FIELDS must be contiguous");
        end += FIELDS[i].size;
        i += 1;
    }
    assert!(end == LAYOUT_LEN_BYTES);
    assert!(LAYOUT_VERSION.pack() != 0);
};
