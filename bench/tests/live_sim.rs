//! The whole system over loopback: the real `obi-engine` binary trades the simulator in
//! live mode (signed WebSocket order entry, execution reports) while the simulator injects
//! every fault it has — connection drops, sequence gaps, malformed frames, stalls, order
//! rejects, "status unknown" answers (placed and not placed) and `serverShutdown`. The
//! engine must end with no crossed book, its position equal to the simulator's record of
//! our fills, no duplicate client order id, and nothing left open.

use obi_bench::harness::{EngineSetup, authorize, engine_bin, fresh_dir};
use obi_bench::sim::{Sim, SimConfig};
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), name).expect("scratch dir")
}

#[test]
fn engine_trades_the_simulator_through_every_fault() {
    let dir = scratch("live-sim-faults");
    let mut cfg = SimConfig {
        seed: 7,
        speed: 4.0,
        ..SimConfig::default()
    };
    let secret = authorize(&dir, &mut cfg, [7; 32], "obi-test-key").expect("key");
    cfg.faults.drop_every_s = 7.0;
    cfg.faults.gap_every_s = 3.0;
    cfg.faults.malformed_every_s = 2.5;
    cfg.faults.stall_every_s = 11.0;
    cfg.faults.stall_ms = 1500;
    cfg.faults.reject_every_n_orders = 7;
    cfg.faults.unknown_every_n_orders = 4;
    cfg.faults.shutdown_every_s = 9.0;
    cfg.faults.shutdown_grace_ms = 500;
    let sim = Sim::start(cfg).expect("simulator");

    let stats = dir.join("engine.stats");
    let config = dir.join("engine.toml");
    let mut setup = EngineSetup::new(sim.addr().to_string(), secret, stats);
    setup.strategy = [
        "order_qty_lots = 10",
        "long_threshold = 0.2",
        "short_threshold = 0.2",
        "confirm_ms = 50",
        "cooldown_ms = 200",
        "time_stop_ms = 3000",
    ]
    .map(String::from)
    .to_vec();
    setup.venue = [
        "stale_feed_ms = 1000",
        "reconnect_initial_ms = 50",
        "reconnect_max_ms = 1000",
        "connect_timeout_ms = 2000",
        "snapshot_min_interval_ms = 200",
    ]
    .map(String::from)
    .to_vec();
    // The faults come faster than a real venue's would: keep the reconnect-storm and
    // reject-rate breakers out of the way here (they have their own scripted tests).
    setup.breakers = ["max_reconnects = 1000", "max_reject_pct = 100"]
        .map(String::from)
        .to_vec();
    std::fs::write(&config, setup.toml()).expect("config");
    let out = Command::new(engine_bin().expect("obi-engine binary"))
        .args([
            "run",
            "--live",
            "--report",
            "json",
            "--duration-s",
            "24",
            "--config",
        ])
        .arg(&config)
        .env(setup.api_key_env, "obi-test-key")
        .output()
        .expect("run obi-engine");
    let record = sim.shutdown();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "engine failed: {stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "engine report: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let summary = format!("engine: {report:#}\nsimulator: {record:#?}\nstderr: {stderr}");

    // The faults really happened.
    let f = &record.faults;
    assert!(
        f.dropped_connections > 0 && f.gaps > 0 && f.malformed_frames > 0,
        "{summary}"
    );
    assert!(f.stalls > 0 && f.server_shutdowns > 0, "{summary}");
    assert!(f.unknown_placed + f.unknown_not_placed > 0, "{summary}");
    // The engine noticed them and recovered.
    let c = &report["counters"];
    assert!(c["gaps"].as_u64() > Some(0), "{summary}");
    assert!(c["parse_errors"].as_u64() > Some(0), "{summary}");
    assert!(
        report["feed"]["disconnects"].as_u64() > Some(0),
        "{summary}"
    );
    assert!(
        report["gateway"]["status_unknown"].as_u64() > Some(0),
        "{summary}"
    );
    assert!(
        report["gateway"]["server_shutdowns"].as_u64() > Some(0),
        "{summary}"
    );
    assert!(c["snapshots"].as_u64() > Some(1), "{summary}");
    // And traded correctly.
    assert_eq!(c["crossed"], 0, "{summary}");
    assert_eq!(c["oracle_mismatches"], 0, "{summary}");
    assert!(
        record.orders.len() >= 5,
        "too little trading to judge: {summary}"
    );
    assert!(!record.fills.is_empty(), "no fills: {summary}");
    assert_eq!(record.duplicate_client_order_ids, 0, "{summary}");
    let venue_position = record.position_lots.get("ETHUSDT").copied().unwrap_or(0);
    assert_eq!(
        report["instruments"][0]["position_lots"].as_i64(),
        Some(venue_position),
        "engine and venue disagree on the position: {summary}"
    );
    assert!(record.open_orders.is_empty(), "orders left open: {summary}");
    assert_eq!(report["open_orders_at_end"], 0, "{summary}");
    assert_eq!(
        report["journal_error"],
        serde_json::Value::Null,
        "{summary}"
    );
    if std::env::var_os("OBI_SHOW").is_some() {
        eprintln!("{summary}");
    }
}
