//! Circuit breakers end to end over loopback: the real engine trades the simulator in live
//! mode, the simulator is made to misbehave once the engine has an order resting, and each
//! scenario must end halted with the right latched reason, a cancel-all received by the
//! simulator after the fault began, and no order left resting there:
//!
//! - a reconnect storm (connections dropped repeatedly; `max_reconnects` within the window),
//! - a silent feed (no market data, sockets open; `book_stale_ms`),
//! - a price jump of more than 10 % within the window (`price_move_bps`).
//!
//! Limits are small so each scenario takes seconds; nothing here asserts a duration.

use obi_bench::harness::{EngineSetup, authorize, engine_bin, fresh_dir};
use obi_bench::kill_latency::quick_strategy;
use obi_bench::sim::{Sim, SimConfig, SimHandle, unix_now_ns};
use obi_shm::{GaugeId, ReaderState, StatsReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const API_KEY: &str = "obi-breaker-key";
/// `RiskState` gauge value of a halted engine.
const HALTED: i64 = 2;

fn scratch(name: &str) -> PathBuf {
    fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), name).expect("scratch dir")
}

/// Polls `done` until it holds; fails the test after `limit_s` (a hang, not a slow run).
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

/// The engine process; killed if the test fails before [`Engine::stop`].
struct Engine {
    child: Option<Child>,
    stats: PathBuf,
}

impl Engine {
    fn start(config: &Path, stats: &Path) -> Engine {
        let child = Command::new(engine_bin().expect("obi-engine"))
            .args([
                "run",
                "--live",
                "--report",
                "json",
                "--duration-s",
                "120",
                "--config",
            ])
            .arg(config)
            .env("OBI_SIM_API_KEY", API_KEY)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start obi-engine");
        Engine {
            child: Some(child),
            stats: stats.to_path_buf(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The engine's `RiskState` gauge, once its stats file is up.
    fn risk_state(&self) -> Option<i64> {
        match StatsReader::open(&self.stats) {
            ReaderState::Ready(view) if view.header().pid == self.pid() => {
                view.gauges().ok().map(|g| g.get(GaugeId::RiskState))
            }
            _ => None,
        }
    }

    /// SIGTERM, then the JSON report.
    fn stop(mut self) -> serde_json::Value {
        let child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let out = child.wait_with_output().expect("engine exits");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "engine failed: {stderr}");
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("report: {e}: {stderr}"))
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A simulator, an engine trading it with `breakers` and `venue` lines, and a resting
/// order at the simulator.
fn trading(name: &str, breakers: &[&str], venue: &[&str]) -> (SimHandle, Engine) {
    let dir = scratch(name);
    let mut cfg = SimConfig {
        seed: 5,
        speed: 4.0,
        ..SimConfig::default()
    };
    let secret = authorize(&dir, &mut cfg, [31; 32], API_KEY).expect("key");
    let sim = Sim::start(cfg).expect("simulator");
    let stats = dir.join("engine.stats");
    let mut setup = EngineSetup::new(sim.addr().to_string(), secret, stats.clone());
    setup.strategy = quick_strategy();
    setup.breakers = breakers.iter().map(|s| (*s).to_owned()).collect();
    setup.venue = venue.iter().map(|s| (*s).to_owned()).collect();
    let config = dir.join("engine.toml");
    std::fs::write(&config, setup.toml()).expect("config");
    let engine = Engine::start(&config, &stats);
    wait_for("an order resting at the simulator", 60, || {
        sim.open_order_count() >= 1
    });
    assert_eq!(engine.risk_state(), Some(0), "running before the fault");
    (sim, engine)
}

/// After the fault began at `fault_unix_ns`: halted, a cancel-all at the simulator, no
/// order resting, and the report names `reason`.
fn ends_halted(sim: SimHandle, engine: Engine, fault_unix_ns: u64, reason: &str) {
    wait_for("the cancel-all at the simulator", 20, || {
        sim.cancel_all_received_unix_ns()
            .iter()
            .any(|t| *t >= fault_unix_ns)
    });
    wait_for("no order resting at the simulator", 20, || {
        sim.open_order_count() == 0
    });
    let report = engine.stop();
    assert_eq!(report["safety_state"], "halted", "{report:#}");
    assert_eq!(report["latched_reason"], reason, "{report:#}");
    let record = sim.shutdown();
    assert!(record.open_orders.is_empty(), "{:?}", record.open_orders);
    assert_eq!(record.duplicate_client_order_ids, 0);
}

#[test]
fn reconnect_storm_halts() {
    let (sim, engine) = trading(
        "breaker-reconnect",
        &["max_reconnects = 3", "reconnect_window_s = 60"],
        &["reconnect_initial_ms = 50"],
    );
    let fault = unix_now_ns();
    // Drop every connection (market and order API) each time the engine is back, until it
    // halts; three lost feeds in a minute is the limit.
    let mut drops = 0;
    wait_for("the reconnect-storm halt", 30, || {
        if engine.risk_state() == Some(HALTED) {
            return true;
        }
        if sim.drop_connections() > 0 {
            drops += 1;
        }
        std::thread::sleep(Duration::from_millis(300));
        false
    });
    assert!(drops >= 3, "{drops} drops");
    ends_halted(sim, engine, fault, "reconnect_storm");
}

#[test]
fn silent_feed_halts() {
    // The socket stays open and answers pings, and the feed link's own timeout is far
    // away: the book stays "valid" but gets no frame, and book_stale_ms alone trips.
    let (sim, engine) = trading(
        "breaker-silent",
        &["book_stale_ms = 1500", "max_reconnects = 1000"],
        &["stale_feed_ms = 60000"],
    );
    let fault = unix_now_ns();
    sim.silence_market_for(Duration::from_secs(60));
    wait_for("the book-stale halt", 30, || {
        engine.risk_state() == Some(HALTED)
    });
    assert_eq!(sim.record().faults.silences, 1);
    ends_halted(sim, engine, fault, "book_stale");
}

#[test]
fn price_jump_over_ten_percent_halts() {
    let (sim, engine) = trading(
        "breaker-price",
        &["price_move_bps = 1000", "price_move_window_s = 60"],
        &[],
    );
    let (_, bids_before, _) = sim.book(1);
    let fault = unix_now_ns();
    assert!(sim.jump_price_bps(1_100), "jump accepted");
    wait_for("the price-move halt", 30, || {
        engine.risk_state() == Some(HALTED)
    });
    let (_, bids_after, _) = sim.book(1);
    let (before, after) = (bids_before[0].price.0, bids_after[0].price.0);
    assert!(after > before + before / 20, "moved {before} -> {after}");
    assert_eq!(sim.record().faults.price_jumps, 1);
    ends_halted(sim, engine, fault, "price_move");
}
