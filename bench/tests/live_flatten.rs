//! Flatten on halt, end to end over loopback: the real engine holds a position at the
//! simulator (exits set far away), the kill file halts it, its working orders are
//! cancelled, and with `[safety.flatten] on_halt = true` it closes the position with
//! reduce-only IOC orders: the venue ends flat with nothing open, the journal agrees.
//! Without the policy the same halt leaves the position for the operator.

use obi_bench::harness::{EngineSetup, authorize, engine_bin, fresh_dir};
use obi_bench::sim::{Sim, SimConfig, SimHandle};
use obi_engine::journal::{StatePaths, recover};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const API_KEY: &str = "obi-flatten-key";

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

fn position(sim: &SimHandle) -> i64 {
    sim.record()
        .position_lots
        .get("ETHUSDT")
        .copied()
        .unwrap_or(0)
}

struct Run {
    sim: SimHandle,
    child: Child,
    state_dir: PathBuf,
    log: PathBuf,
}

/// Simulator and engine, the engine holding a position once it enters.
fn holding(name: &str, flatten: bool) -> Run {
    let dir = fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), name).expect("scratch");
    let mut cfg = SimConfig {
        seed: 41,
        speed: 4.0,
        ..SimConfig::default()
    };
    let secret = authorize(&dir, &mut cfg, [31; 32], API_KEY).expect("key");
    let sim = Sim::start(cfg).expect("simulator");
    let stats = dir.join("engine.stats");
    let mut setup = EngineSetup::new(sim.addr().to_string(), secret, stats.clone());
    // Enter readily (crossing the spread), then hold: exits far away and slow.
    setup.strategy = [
        "order_qty_lots = 10",
        "long_threshold = 0.05",
        "short_threshold = 0.05",
        "confirm_ms = 0",
        "entry_mode = \"cross\"",
        "take_profit_ticks = 100000",
        "stop_loss_ticks = 100000",
        "time_stop_ms = 3600000",
    ]
    .map(String::from)
    .to_vec();
    setup.breakers = [
        "max_consecutive_losses = 10000",
        "daily_loss_bps = 10000",
        "drawdown_bps = 10000",
    ]
    .map(String::from)
    .to_vec();
    if flatten {
        setup.extra = ["\n[safety.flatten]", "on_halt = true", "band_bps = 20"]
            .map(String::from)
            .to_vec();
    }
    let config = dir.join("engine.toml");
    std::fs::write(&config, setup.toml()).expect("config");
    let log = dir.join("engine.log");
    let child = Command::new(engine_bin().expect("obi-engine"))
        .args(["run", "--live", "--report", "json", "--duration-s", "60"])
        .arg("--config")
        .arg(&config)
        .env("OBI_SIM_API_KEY", API_KEY)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start obi-engine");
    Run {
        sim,
        child,
        state_dir: PathBuf::from(format!("{}.state", stats.display())),
        log,
    }
}

impl Run {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_for_position(&mut self) -> i64 {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the engine exited ({status}): {}", self.log());
            }
            let p = position(&self.sim);
            if p != 0 {
                return p;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no position taken: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(self) -> (serde_json::Value, SimHandle, PathBuf, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let out = self.child.wait_with_output().expect("engine exits");
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        assert!(out.status.success(), "engine failed: {log}");
        let report =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("report: {e}: {log}"));
        (report, self.sim, self.state_dir, log)
    }
}

#[test]
fn a_halt_with_the_policy_on_closes_the_position_with_reduce_only_ioc_orders() {
    let mut run = holding("live-flatten-on", true);
    let held = run.wait_for_position();
    let orders_before = run.sim.record().orders.len();
    std::fs::write(run.state_dir.join("KILL"), b"flatten test").expect("kill file");
    let sim = &run.sim;
    wait_for("the venue flat and nothing open", 30, || {
        let r = sim.record();
        r.position_lots.get("ETHUSDT").copied().unwrap_or(0) == 0 && r.open_orders.is_empty()
    });
    let (report, sim, state_dir, log) = run.stop();
    assert_eq!(report["safety_state"], "halted", "{report:#}");
    assert_eq!(report["latched_reason"], "kill_file", "{report:#}");
    let record = sim.shutdown();
    // Every order after the kill is an IOC on the closing side, never bigger than the
    // position it closes.
    let flatten_orders = &record.orders[orders_before..];
    let closing_side = if held > 0 { "SELL" } else { "BUY" };
    let mut closing = 0;
    for o in flatten_orders {
        if o.time_in_force == "IOC" && o.side == closing_side {
            closing += 1;
            assert!(o.qty_lots <= held.abs(), "{o:?} larger than {held}");
        }
    }
    assert!(closing >= 1, "no flatten order: {flatten_orders:?}\n{log}");
    assert!(log.contains("flatten attempt 1"), "{log}");
    let journal = recover(&StatePaths::new(state_dir)).expect("journal");
    assert_eq!(journal.state.position_lots("ETHUSDT"), 0);
}

#[test]
fn a_halt_without_the_policy_leaves_the_position() {
    let mut run = holding("live-flatten-off", false);
    let held = run.wait_for_position();
    std::fs::write(run.state_dir.join("KILL"), b"no flatten").expect("kill file");
    let sim = &run.sim;
    wait_for("nothing open", 30, || sim.record().open_orders.is_empty());
    std::thread::sleep(Duration::from_millis(500));
    let (report, sim, _, log) = run.stop();
    assert_eq!(report["safety_state"], "halted", "{report:#}");
    assert_eq!(position(&sim), held, "{log}");
    assert!(!log.contains("flatten attempt"), "{log}");
}
