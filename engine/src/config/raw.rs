//! The config file as written: serde structs with unknown keys rejected.

use super::venue::VenueSection;
use crate::instrument::Market;
use crate::paper::PaperConfig;
use crate::risk::RiskConfig;
use crate::signal::SignalConfig;
use crate::strategy::StrategyConfig;
use serde::Deserialize;
use std::path::PathBuf;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[engine]`: process-level settings.
    #[serde(default)]
    pub engine: EngineSection,
    /// `[[instruments]]`: what to trade.
    #[serde(default)]
    pub instruments: Vec<RawInstrument>,
    /// An exchangeInfo record (JSON, or a cryptofeed `X.0` file) to take tick and lot
    /// sizes from, relative to the config file.
    pub exchange_info: Option<PathBuf>,
    /// `[signal]`.
    #[serde(default)]
    pub signal: SignalConfig,
    /// `[strategy]`.
    #[serde(default)]
    pub strategy: StrategyConfig,
    /// `[risk]`.
    #[serde(default)]
    pub risk: RiskConfig,
    /// `[paper]`.
    #[serde(default)]
    pub paper: PaperConfig,
    /// `[venue]`.
    #[serde(default)]
    pub venue: VenueSection,
    /// `[safety]`: breakers, kill inputs, flatten policy.
    #[serde(default)]
    pub safety: crate::safety::SafetyConfig,
    /// `[journal]`: the order/fill journal and checkpoint writer.
    #[serde(default)]
    pub journal: crate::journal::JournalConfig,
}

/// One `[[instruments]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInstrument {
    /// Exchange symbol, e.g. `ETHUSDT`.
    pub symbol: String,
    /// `spot`, `usdm` or `coinm`.
    pub market: Market,
    /// Price step as decimal text, e.g. `"0.01"`.
    pub tick_size: Option<String>,
    /// Quantity step as decimal text, e.g. `"0.001"`.
    pub lot_size: Option<String>,
}

/// `[engine]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSection {
    /// Directory for journal, checkpoint and kill file.
    pub state_dir: PathBuf,
    /// Shared-memory stats file the agent reads.
    pub shm_path: PathBuf,
    /// Publish stats to shared memory at all (replay can turn it off).
    pub shm_enabled: bool,
    /// CPU core to pin the core thread to; none = not pinned.
    pub core_id: Option<usize>,
    /// How often gauges and latency percentiles go to shared memory, ms.
    pub publish_interval_ms: u64,
    /// Capacity of the intent ring (core → gateway), entries.
    pub intent_ring_capacity: usize,
    /// Capacity of the report ring (gateway → core), entries.
    pub report_ring_capacity: usize,
    /// How the core and gateway threads wait: `spin` (busy-poll, one core each: production)
    /// or `block` (sleep in `epoll` until a socket or ring has work: shared machines, tests).
    pub poll_mode: PollMode,
    /// After a stop request, how long to wait for working orders to be cancelled, ms.
    pub stop_grace_ms: u64,
}

/// How a thread waits for work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PollMode {
    /// Busy-poll: lowest latency, one core at 100 %.
    Spin,
    /// Wait in `epoll` (woken by sockets and by the other thread): low CPU, a few µs more.
    Block,
}

impl Default for EngineSection {
    fn default() -> Self {
        EngineSection {
            state_dir: PathBuf::from("state"),
            shm_path: PathBuf::from(obi_shm::DEFAULT_STATS_PATH),
            shm_enabled: true,
            core_id: None,
            publish_interval_ms: 100,
            intent_ring_capacity: 1024,
            report_ring_capacity: 1024,
            poll_mode: PollMode::Spin,
            stop_grace_ms: 5000,
        }
    }
}

impl EngineSection {
    /// Checks ranges.
    pub fn validate(&self) -> Result<(), String> {
        if self.publish_interval_ms == 0 {
            return Err("publish_interval_ms must be at least 1".into());
        }
        for (name, cap) in [
            ("intent_ring_capacity", self.intent_ring_capacity),
            ("report_ring_capacity", self.report_ring_capacity),
        ] {
            if !(16..=1 << 20).contains(&cap) {
                return Err(format!("{name} must be between 16 and 1048576, got {cap}"));
            }
        }
        Ok(())
    }
}
