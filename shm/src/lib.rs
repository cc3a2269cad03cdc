//! obi-shm: the shared-memory stats contract between `obi-engine` (writer) and `obi-agent`
//! (reader), modelled on Aeron's counters file. The only crate in the workspace with `unsafe`.
//!
//! Layout: see `shm/LAYOUT.md` (tested against [`layout::FIELDS`]). In short: a header
//! (magic, version stored last as "ready", pid, start time, heartbeat, area sizes, instrument
//! symbols), a control cache line the agent writes, single-writer counters, and gauges behind
//! a [`SeqLock`].
//!
//! ```
//! use obi_shm::{CounterId, GaugeId, InstrumentGaugeId, StatsWriter, WriterInfo};
//!
//! let info = WriterInfo { pid: std::process::id(), start_unix_ns: 1, instruments: &["BTCUSDT"] };
//! let mut writer = StatsWriter::anonymous(&info)?; // `StatsWriter::create(path, &info)` for a file
//! writer.add_counter(CounterId::FramesTotal, 1);
//! writer.publish(|g| {
//!     g.set(GaugeId::LatencyP99Ns, 850);
//!     g.set_instrument(0, InstrumentGaugeId::BookValid, 1);
//! });
//! let view = writer.view(); // the agent gets one from `StatsReader::open(path)`
//! assert_eq!(view.counters().get(CounterId::FramesTotal), 1);
//! let gauges = view.gauges()?;
//! assert_eq!(gauges.instrument(0, InstrumentGaugeId::BookValid), Some(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod sync;

pub mod seqlock;
pub use seqlock::{Contended, SeqLock};

#[cfg(not(loom))]
mod control;
#[cfg(not(loom))]
mod counters;
#[cfg(not(loom))]
mod error;
#[cfg(not(loom))]
mod gauges;
#[cfg(not(loom))]
pub mod layout;
#[cfg(not(loom))]
mod reader;
#[cfg(not(loom))]
mod region;
#[cfg(not(loom))]
mod registry;
#[cfg(not(loom))]
mod writer;

#[cfg(not(loom))]
pub use control::{ControlRequests, ControlState};
#[cfg(not(loom))]
pub use counters::{CounterId, CounterSnapshot};
#[cfg(not(loom))]
pub use error::ShmError;
#[cfg(not(loom))]
pub use gauges::{GaugeId, GaugeSnapshot, GaugeWriter, InstrumentGaugeId};
#[cfg(not(loom))]
pub use layout::{DEFAULT_STATS_PATH, LAYOUT_VERSION, LayoutVersion};
#[cfg(not(loom))]
pub use reader::{
    GAUGE_READ_ATTEMPTS, HeaderInfo, NotMappedReason, ReaderState, StatsReader, StatsView,
};
#[cfg(not(loom))]
pub use writer::{StatsWriter, WriterInfo};
