//! The demo's path end to end: a synthetic session through the engine's replay with the
//! embedded config — the book stays exact and the strategy trades.

use obi_bench::synth::{self, SynthConfig};
use obi_engine::config::Config;
use obi_engine::replay::{self, ReplayOptions};
use std::path::Path;

#[test]
fn synthetic_session_replays_exactly_and_trades() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("demo-test");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("session.txt");
    let cfg = SynthConfig {
        seed: 7,
        duration_s: 120,
        ..SynthConfig::default()
    };
    synth::write_to_path(&cfg, &path).expect("generate");
    let config = Config::from_toml(include_str!("../src/demo.toml"), Path::new("demo.toml"))
        .expect("demo config");
    let options = ReplayOptions {
        no_timing: true,
        ..ReplayOptions::default()
    };
    let report = replay::run(&config, &[path], &options).expect("replay");
    let c = report.counters;
    assert_eq!(
        (c.gaps, c.crossed, c.parse_errors, c.oracle_mismatches),
        (0, 0, 0, 0)
    );
    assert!(
        c.oracle_checked > 1000,
        "oracle checked only {}",
        c.oracle_checked
    );
    assert!(
        c.intents > 0 && c.fills > 0,
        "strategy did not trade: {c:?}"
    );
    assert!(report.trading.trades > 0);
}
