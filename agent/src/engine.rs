//! What the agent knows about the engine: one poll of the stats file through
//! `obi_shm::StatsReader`'s explicit states, kept as an immutable [`EngineSnapshot`].
//!
//! [`EnginePoller`] holds the current mapping. Each poll either reads it or (re)opens the
//! file: when the engine restarts it unlinks and recreates the file, the old view reports
//! `is_stale()`, and the next poll maps the new file, so a restart is followed without
//! restarting the agent. An incompatible layout is a state, never a panic.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use obi_shm::{
    ControlState, CounterSnapshot, GaugeSnapshot, HeaderInfo, LayoutVersion, ReaderState,
    StatsReader, StatsView,
};

/// Where the reader is, as reported in health and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShmStatus {
    /// No stats file: the engine is not running (or never started).
    NoFile,
    /// A file exists but cannot be mapped (reason is for operators, from `obi_shm`).
    NotMapped {
        /// Human-readable reason.
        reason: String,
    },
    /// The engine is still writing its header.
    NoVersionYet,
    /// The file's major layout version differs from ours.
    Incompatible {
        /// Version in the file.
        found: LayoutVersion,
        /// Version this agent understands.
        expected: LayoutVersion,
    },
    /// Mapped and readable.
    Ready,
}

impl ShmStatus {
    /// Stable short name (also a metric label value).
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::NoFile => "no_file",
            Self::NotMapped { .. } => "not_mapped",
            Self::NoVersionYet => "no_version_yet",
            Self::Incompatible { .. } => "incompatible",
            Self::Ready => "ready",
        }
    }

    /// Every state name, for exporting one 0/1 series per state.
    pub const ALL_NAMES: [&'static str; 5] = [
        "no_file",
        "not_mapped",
        "no_version_yet",
        "incompatible",
        "ready",
    ];
}

/// One poll's worth of engine state. Cheap to clone behind an `Arc`.
#[derive(Debug, Clone)]
pub struct EngineSnapshot {
    /// Reader state.
    pub status: ShmStatus,
    /// When this poll ran, Unix nanoseconds (agent clock).
    pub observed_unix_ns: u64,
    /// Header, when ready.
    pub header: Option<HeaderInfo>,
    /// Counters, when ready.
    pub counters: Option<CounterSnapshot>,
    /// Gauges, when ready and not contended.
    pub gauges: Option<GaugeSnapshot>,
    /// Control area, when ready.
    pub control: Option<ControlState>,
    /// Engine restarts (new stats file) followed since the agent started.
    pub restarts_followed: u64,
    /// Polls since the agent started.
    pub polls: u64,
}

impl EngineSnapshot {
    /// The state before the first poll.
    #[must_use]
    pub fn initial() -> Self {
        Self {
            status: ShmStatus::NoFile,
            observed_unix_ns: 0,
            header: None,
            counters: None,
            gauges: None,
            control: None,
            restarts_followed: 0,
            polls: 0,
        }
    }

    /// Heartbeat age in milliseconds at observation time, when ready. A heartbeat in the
    /// future (clock skew) counts as age 0.
    #[must_use]
    pub fn heartbeat_age_ms(&self) -> Option<u64> {
        self.header
            .as_ref()
            .map(|h| self.observed_unix_ns.saturating_sub(h.heartbeat_unix_ns) / 1_000_000)
    }
}

/// Polls the stats file; owns the current mapping.
#[derive(Debug)]
pub struct EnginePoller {
    path: PathBuf,
    view: Option<StatsView>,
    identity: Option<(u32, u64)>,
    restarts_followed: u64,
    polls: u64,
}

impl EnginePoller {
    /// A poller for the stats file at `path` (nothing is opened yet).
    #[must_use]
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            view: None,
            identity: None,
            restarts_followed: 0,
            polls: 0,
        }
    }

    /// The current mapping, for control requests.
    #[must_use]
    pub fn view(&self) -> Option<&StatsView> {
        self.view.as_ref()
    }

    /// Polls once at the current wall-clock time.
    pub fn poll(&mut self) -> EngineSnapshot {
        self.poll_at(unix_now_ns())
    }

    /// Polls once; `now_unix_ns` stamps the snapshot (heartbeat age is measured against it).
    pub fn poll_at(&mut self, now_unix_ns: u64) -> EngineSnapshot {
        self.polls += 1;
        if self.view.as_ref().is_some_and(StatsView::is_stale) {
            self.view = None;
        }
        let mut status = ShmStatus::Ready;
        if self.view.is_none() {
            status = match StatsReader::open(&self.path) {
                ReaderState::Ready(view) => {
                    let header = view.header();
                    let identity = (header.pid, header.start_unix_ns);
                    if self.identity.is_some_and(|old| old != identity) {
                        self.restarts_followed += 1;
                        tracing::info!(
                            pid = header.pid,
                            start_unix_ns = header.start_unix_ns,
                            "engine restart followed: new stats file mapped"
                        );
                    }
                    self.identity = Some(identity);
                    self.view = Some(view);
                    ShmStatus::Ready
                }
                ReaderState::NoFile => ShmStatus::NoFile,
                ReaderState::NotMapped(reason) => ShmStatus::NotMapped {
                    reason: reason.to_string(),
                },
                ReaderState::NoVersionYet => ShmStatus::NoVersionYet,
                ReaderState::Incompatible { found, expected } => {
                    ShmStatus::Incompatible { found, expected }
                }
            };
        }
        let mut snapshot = EngineSnapshot {
            status,
            observed_unix_ns: now_unix_ns,
            restarts_followed: self.restarts_followed,
            polls: self.polls,
            ..EngineSnapshot::initial()
        };
        if let Some(view) = &self.view {
            snapshot.header = Some(view.header());
            snapshot.counters = Some(view.counters());
            snapshot.gauges = view.gauges().ok();
            snapshot.control = Some(view.control_state());
        }
        snapshot
    }
}

/// Wall-clock now, Unix nanoseconds (0 if the clock is before 1970).
#[must_use]
pub fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
