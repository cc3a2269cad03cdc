//! Replay publishes its counters and gauges to the shared-memory stats file, and the reader
//! side sees exactly the figures the report gives.

mod common;

use obi_engine::replay::{self, ReplayOptions};
use obi_shm::{CounterId, InstrumentGaugeId, ReaderState, StatsReader};

#[test]
fn replay_publishes_stats_the_agent_can_read() {
    let Some(data) = common::shared_data("replay_publishes_stats_the_agent_can_read") else {
        return;
    };
    let dir = common::scratch_dir("shm-publish");
    let mut cfg = common::eth_usdm_config();
    cfg.engine.shm_path = dir.join("obi-engine.stats");
    let options = ReplayOptions {
        shm: true,
        no_timing: true,
        ..ReplayOptions::default()
    };
    let rec = data.join("hftbacktest-sample/usdm/ethusdt_20240808.gz");
    let report = replay::run(&cfg, &[rec], &options).expect("replay");

    let view = match StatsReader::open(&cfg.engine.shm_path) {
        ReaderState::Ready(view) => view,
        other => panic!("stats file not ready: {}", other.name()),
    };
    let header = view.header();
    assert_eq!(header.pid, std::process::id());
    assert_eq!(header.instruments, vec!["ETHUSDT".to_string()]);
    assert!(header.heartbeat_unix_ns > 0);
    let counters = view.counters();
    let c = report.counters;
    assert_eq!(counters.get(CounterId::FramesTotal), c.frames);
    assert_eq!(counters.get(CounterId::DiffsAppliedTotal), c.diffs_applied);
    assert_eq!(counters.get(CounterId::GapsTotal), 0);
    assert_eq!(counters.get(CounterId::IntentsTotal), c.intents);
    let gauges = view.gauges().expect("gauges");
    assert_eq!(gauges.instrument(0, InstrumentGaugeId::BookValid), Some(1));
    let book = &report.instruments[0];
    assert_eq!(
        gauges.instrument(0, InstrumentGaugeId::BidLevels),
        Some(book.bid_levels as i64)
    );
    assert!(
        gauges
            .instrument(0, InstrumentGaugeId::BestBidTicks)
            .is_some_and(|p| p > 0)
    );
}
