//! The kill switch, end to end over loopback: the real engine trades the simulator in live
//! mode; touching the kill file halts it and the venue ends with no open order; a restart
//! keeps the latch (with the file present, and after it is removed); only an operator
//! reset through the control word — refused while the file exists — lets it trade again.

use obi_bench::harness::{EngineSetup, authorize, ed25519_keys, engine_bin, fresh_dir};
use obi_bench::sim::{Sim, SimConfig, SimHandle};
use obi_shm::{GaugeId, ReaderState, StatsReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn scratch(name: &str) -> PathBuf {
    fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), name).expect("scratch dir")
}

fn wait_for(what: &str, limit_s: u64, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(limit_s),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn gauge(stats: &Path, id: GaugeId) -> Option<i64> {
    match StatsReader::open(stats) {
        ReaderState::Ready(view) if !view.is_stale() => view.gauges().ok().map(|g| g.get(id)),
        _ => None,
    }
}

struct Engine {
    child: Child,
}

/// The stats file once the engine process `pid` has created it.
fn view_of(stats: &Path, pid: u32) -> obi_shm::StatsView {
    let start = Instant::now();
    loop {
        if let ReaderState::Ready(view) = StatsReader::open(stats)
            && view.header().pid == pid
        {
            return view;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no stats from pid {pid}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Engine {
    fn start(config: &Path) -> Engine {
        let child = Command::new(engine_bin().expect("obi-engine"))
            .args([
                "run",
                "--live",
                "--report",
                "json",
                "--duration-s",
                "60",
                "--config",
            ])
            .arg(config)
            .env("OBI_SIM_API_KEY", "obi-test-key")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start obi-engine");
        Engine { child }
    }

    /// SIGTERM, then the report.
    fn stop(self) -> serde_json::Value {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let out = self.child.wait_with_output().expect("engine exits");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "engine failed: {stderr}");
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("report: {e}: {stderr}"))
    }
}

fn orders(sim: &SimHandle) -> usize {
    sim.record().orders.len()
}

#[test]
fn kill_file_halts_cancels_everything_and_latches_across_restarts() {
    let dir = scratch("live-kill");
    let mut cfg = SimConfig {
        seed: 11,
        speed: 4.0,
        ..SimConfig::default()
    };
    let secret = authorize(&dir, &mut cfg, [9; 32], "obi-test-key").expect("key");
    let sim = Sim::start(cfg).expect("simulator");
    let stats = dir.join("engine.stats");
    let mut setup = EngineSetup::new(sim.addr().to_string(), secret, stats.clone());
    setup.strategy = [
        "order_qty_lots = 10",
        "long_threshold = 0.15",
        "short_threshold = 0.15",
        "confirm_ms = 0",
    ]
    .map(String::from)
    .to_vec();
    let config = dir.join("engine.toml");
    std::fs::write(&config, setup.toml()).expect("config");
    let kill_file = PathBuf::from(format!("{}.state", stats.display())).join("KILL");

    // 1. Trading, then the kill file: halted, every order cancelled at the venue.
    let engine = Engine::start(&config);
    wait_for("the engine to place orders", 60, || orders(&sim) >= 2);
    std::fs::write(&kill_file, b"test").expect("touch kill file");
    wait_for("the halt to show in shm", 10, || {
        gauge(&stats, GaugeId::KillState) == Some(301)
    });
    wait_for("no open order at the venue", 10, || {
        sim.record().open_orders.is_empty()
    });
    let placed_before = orders(&sim);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(orders(&sim), placed_before, "orders placed after the halt");
    let report = engine.stop();
    assert_eq!(report["safety_state"], "halted");
    assert_eq!(report["latched_reason"], "kill_file");
    // The engine itself confirmed it: the venue listed no open order after the cancel-all.
    assert_eq!(
        report["gateway"]["venue_confirmed_empty"], true,
        "{report:#}"
    );

    // 2. Restart with the file still there: halted from the start, nothing placed.
    let engine = Engine::start(&config);
    let view = view_of(&stats, engine.child.id());
    wait_for("the restarted engine halted", 20, || {
        view.gauges().is_ok_and(|g| g.get(GaugeId::RiskState) == 2)
    });
    std::thread::sleep(Duration::from_secs(1));
    let report = engine.stop();
    assert_eq!(report["safety_state"], "halted", "{report:#}");
    assert_eq!(orders(&sim), placed_before, "orders placed while latched");

    // 3. File removed, restart: still latched (a restart never resumes on its own); a reset
    //    through the control word is refused while the file exists and accepted after.
    std::fs::write(&kill_file, b"again").expect("touch kill file");
    let engine = Engine::start(&config);
    let view = view_of(&stats, engine.child.id());
    wait_for("the restarted engine halted", 20, || {
        view.gauges().is_ok_and(|g| g.get(GaugeId::RiskState) == 2)
    });
    let refused = view.request_reset();
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        view.control_state().reset_ack_seq < refused,
        "reset accepted with a kill file present"
    );
    std::fs::remove_file(&kill_file).expect("remove kill file");
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        view.gauges().is_ok_and(|g| g.get(GaugeId::RiskState) == 2),
        "a removed file alone must not resume"
    );
    let accepted = view.request_reset();
    wait_for("the reset to be acknowledged", 10, || {
        view.control_state().reset_ack_seq >= accepted
    });
    wait_for("trading to resume", 60, || orders(&sim) > placed_before);
    let report = engine.stop();
    assert_eq!(report["safety_state"], "running", "{report:#}");
    let record = sim.shutdown();
    assert!(record.open_orders.is_empty());
    assert_eq!(record.duplicate_client_order_ids, 0);
}

#[test]
fn a_key_the_venue_refuses_latches_key_refused_and_places_nothing() {
    let dir = scratch("live-key-refused");
    let mut cfg = SimConfig {
        seed: 13,
        speed: 4.0,
        ..SimConfig::default()
    };
    let secret = authorize(&dir, &mut cfg, [10; 32], "obi-test-key").expect("key");
    // The venue knows the key name but holds another public key: logon is refused.
    let (_, other_public_hex) = ed25519_keys([12; 32]).expect("keys");
    cfg.auth.ed25519_public_key = Some(other_public_hex);
    let sim = Sim::start(cfg).expect("simulator");
    let stats = dir.join("engine.stats");
    let setup = EngineSetup::new(sim.addr().to_string(), secret, stats.clone());
    let config = dir.join("engine.toml");
    std::fs::write(&config, setup.toml()).expect("config");

    let engine = Engine::start(&config);
    let view = view_of(&stats, engine.child.id());
    wait_for("the refused key to halt the engine", 30, || {
        view.gauges()
            .is_ok_and(|g| g.get(GaugeId::KillState) == 207)
    });
    let report = engine.stop();
    assert_eq!(report["safety_state"], "halted", "{report:#}");
    assert_eq!(report["latched_reason"], "key_refused", "{report:#}");
    assert_eq!(orders(&sim), 0, "orders placed with a refused key");
    sim.shutdown();
}
