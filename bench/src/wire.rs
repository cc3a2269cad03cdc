//! Wire-to-wire latency: the simulator writes a market frame → the engine (a separate
//! process) reads it, updates book, signals and strategy, pushes an intent, and its gateway
//! thread signs and sends the order → the simulator has read the order request. Reported
//! next to a raw TCP ping-pong round trip over the same loopback, measured in the same run,
//! and with the feed's reconnect-to-resynchronised time.
//!
//! The simulator paces frames (`frame_interval_us`, well above the engine's reaction time)
//! and stamps each order request with the time since the last frame it wrote, so every
//! sample is one frame's round trip through the engine (see `obi_bench::sim`). Orders the
//! strategy makes on a timer rather than on a frame would show up as samples up to one
//! frame interval long; the strategy here is set to act on frames only.

use crate::harness::{EngineSetup, authorize, engine_bin};
use crate::latency::Machine;
use crate::sim::{Sim, SimConfig};
use obi_engine::runtime::{LatencyHistogram, Percentiles};
use serde::Serialize;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct WireOptions {
    /// How long the engine trades the simulator, s.
    pub duration_s: f64,
    /// Gap between market frames, µs.
    pub frame_interval_us: u64,
    /// Engine threads: `spin` or `block`.
    pub poll_mode: &'static str,
    /// Pin the engine's core thread here.
    pub core_id: Option<usize>,
    /// TCP ping-pong round trips.
    pub pingpong_rounds: u32,
    /// Seconds of the reconnect run (0: skip it).
    pub reconnect_s: f64,
}

impl Default for WireOptions {
    fn default() -> Self {
        WireOptions {
            duration_s: 15.0,
            frame_interval_us: 5000,
            poll_mode: "block",
            core_id: None,
            pingpong_rounds: 20_000,
            reconnect_s: 12.0,
        }
    }
}

/// What one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct WireReport {
    /// Where it ran.
    pub machine: Machine,
    /// Engine poll mode.
    pub poll_mode: String,
    /// Frame pacing, µs.
    pub frame_interval_us: u64,
    /// Loopback TCP round trip (64-byte message, `TCP_NODELAY`, blocking sockets), ns.
    pub tcp_pingpong_ns: Percentiles,
    /// Frame written by the simulator → order request read by the simulator, ns.
    pub wire_to_wire_ns: Percentiles,
    /// Wire-to-wire p50 / ping-pong p50.
    pub ratio_p50: f64,
    /// Wire-to-wire p99 / ping-pong p99.
    pub ratio_p99: f64,
    /// The engine's own receipt → intent pushed, ns (its report).
    pub engine_tick_to_intent_ns: [u64; 5],
    /// Connection loss → every book synchronised again, ms: p50, max (reconnect run).
    pub reconnect_to_resynced_ms: Option<[f64; 2]>,
    /// Reconnects measured.
    pub reconnects_measured: u64,
}

/// Runs the ping-pong, the wire-to-wire run and the reconnect run.
pub fn run(opts: &WireOptions) -> anyhow::Result<WireReport> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let tcp = tcp_pingpong(opts.pingpong_rounds)?;
    let dir = tempfile_dir("obi-wire")?;
    let (wire, engine_lat) = wire_run(opts, &dir)?;
    let reconnect = if opts.reconnect_s > 0.0 {
        Some(reconnect_run(opts, &dir)?)
    } else {
        None
    };
    let _ = std::fs::remove_dir_all(&dir);
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    Ok(WireReport {
        machine: Machine::describe(cores, opts.core_id),
        poll_mode: opts.poll_mode.into(),
        frame_interval_us: opts.frame_interval_us,
        ratio_p50: ratio(wire.p50, tcp.p50),
        ratio_p99: ratio(wire.p99, tcp.p99),
        tcp_pingpong_ns: tcp,
        wire_to_wire_ns: wire,
        engine_tick_to_intent_ns: engine_lat,
        reconnect_to_resynced_ms: reconnect.map(|r| r.0),
        reconnects_measured: reconnect.map_or(0, |r| r.1),
    })
}

fn tempfile_dir(prefix: &str) -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn percentiles(samples: impl IntoIterator<Item = u64>) -> Percentiles {
    let mut h = LatencyHistogram::new();
    for s in samples {
        h.record(s);
    }
    h.percentiles()
}

/// Round trips of a 64-byte message between two threads over loopback TCP.
pub fn tcp_pingpong(rounds: u32) -> anyhow::Result<Percentiles> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        let mut buf = [0u8; 64];
        loop {
            if s.read_exact(&mut buf).is_err() {
                return Ok(());
            }
            s.write_all(&buf)?;
        }
    });
    let mut c = TcpStream::connect(addr)?;
    c.set_nodelay(true)?;
    let mut buf = [7u8; 64];
    let warm = rounds / 10;
    let mut samples = Vec::with_capacity(rounds as usize);
    for i in 0..rounds + warm {
        let t = Instant::now();
        c.write_all(&buf)?;
        c.read_exact(&mut buf)?;
        if i >= warm {
            samples.push(t.elapsed().as_nanos() as u64);
        }
    }
    drop(c);
    let _ = echo.join();
    Ok(percentiles(samples))
}

fn sim_with_keys(
    dir: &Path,
    mut cfg: SimConfig,
) -> anyhow::Result<(crate::sim::SimHandle, EngineSetup)> {
    let secret = authorize(dir, &mut cfg, [11; 32], "obi-bench-key")?;
    let sim = Sim::start(cfg)?;
    let setup = EngineSetup::new(sim.addr().to_string(), secret, dir.join("engine.stats"));
    Ok((sim, setup))
}

fn run_engine(
    setup: &EngineSetup,
    dir: &Path,
    duration_s: f64,
) -> anyhow::Result<serde_json::Value> {
    let config = dir.join("engine.toml");
    std::fs::write(&config, setup.toml())?;
    let out = Command::new(engine_bin()?)
        .args(["run", "--live", "--report", "json", "--duration-s"])
        .arg(duration_s.to_string())
        .arg("--config")
        .arg(&config)
        .env(setup.api_key_env, "obi-bench-key")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "obi-engine failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn wire_run(opts: &WireOptions, dir: &Path) -> anyhow::Result<(Percentiles, [u64; 5])> {
    let cfg = SimConfig {
        frame_interval_us: opts.frame_interval_us,
        seed: 3,
        ..SimConfig::default()
    };
    let (sim, mut setup) = sim_with_keys(dir, cfg)?;
    setup.poll_mode = opts.poll_mode;
    setup.core_id = opts.core_id;
    // Act on frames only: no confirmation delay, no timers that fire between frames.
    setup.strategy = [
        "long_threshold = 0.15",
        "short_threshold = 0.15",
        "confirm_ms = 0",
        // Crossing entries and one-tick exits make many frame-driven orders; the cooldown
        // keeps them (~5/s) inside the venue's order rate limit, which the gateway
        // otherwise enforces by refusing orders locally.
        "cooldown_ms = 200",
        "entry_mode = \"cross\"",
        "take_profit_ticks = 1",
        "stop_loss_ticks = 1",
        "entry_timeout_ms = 600000",
        "time_stop_ms = 600000",
    ]
    .map(String::from)
    .to_vec();
    setup.breakers = [
        "max_consecutive_losses = 10000",
        "daily_loss_bps = 10000",
        "drawdown_bps = 10000",
        "max_reject_pct = 100",
    ]
    .map(String::from)
    .to_vec();
    let report = run_engine(&setup, dir, opts.duration_s);
    let record = sim.shutdown();
    let report = report?;
    let lat = &report["intent_latency_ns"];
    let engine_lat = [0, 1, 2, 3, 4].map(|i| lat[i].as_u64().unwrap_or(0));
    Ok((
        percentiles(record.order_latency_ns.iter().copied()),
        engine_lat,
    ))
}

fn reconnect_run(opts: &WireOptions, dir: &Path) -> anyhow::Result<([f64; 2], u64)> {
    let mut cfg = SimConfig {
        seed: 5,
        ..SimConfig::default()
    };
    cfg.faults.drop_every_s = 2.0;
    let (sim, mut setup) = sim_with_keys(dir, cfg)?;
    setup.mode = "paper";
    setup.poll_mode = opts.poll_mode;
    setup.core_id = opts.core_id;
    setup.venue = vec!["reconnect_initial_ms = 100".into()];
    let report = run_engine(&setup, dir, opts.reconnect_s);
    drop(sim.shutdown());
    let report = report?;
    let r = &report["resync_ms"];
    let first_connect = 1;
    let count = report["resync_count"].as_u64().unwrap_or(0);
    Ok((
        [r[0].as_f64().unwrap_or(0.0), r[1].as_f64().unwrap_or(0.0)],
        count.saturating_sub(first_connect),
    ))
}

impl WireReport {
    /// A human summary.
    pub fn to_text(&self) -> String {
        let row = |name: &str, p: &Percentiles| {
            format!(
                "  {name:<28} p50 {:>8.1} µs  p99 {:>8.1} µs  p99.9 {:>8.1} µs  max {:>8.1} µs  (n={})\n",
                p.p50 as f64 / 1e3,
                p.p99 as f64 / 1e3,
                p.p999 as f64 / 1e3,
                p.max as f64 / 1e3,
                p.count
            )
        };
        let mut out = format!(
            "wire-to-wire over loopback ({} poll mode, a frame every {} µs)\n  machine: {} ({} cores), kernel {}\n",
            self.poll_mode,
            self.frame_interval_us,
            self.machine.cpu_model,
            self.machine.cores,
            self.machine.kernel
        );
        out.push_str(&row("TCP ping-pong round trip", &self.tcp_pingpong_ns));
        out.push_str(&row("frame out -> order in", &self.wire_to_wire_ns));
        out.push_str(&format!(
            "  ratio to ping-pong: p50 {:.2}x, p99 {:.2}x (goal <= 2x)\n  engine receipt -> intent: p50 {:.1} µs, p99 {:.1} µs\n",
            self.ratio_p50,
            self.ratio_p99,
            self.engine_tick_to_intent_ns[0] as f64 / 1e3,
            self.engine_tick_to_intent_ns[2] as f64 / 1e3,
        ));
        if let Some([p50, max]) = self.reconnect_to_resynced_ms {
            out.push_str(&format!(
                "  connection lost -> books resynchronised: p50 {p50:.1} ms, max {max:.1} ms ({} reconnects; includes the first backoff delay, 50-100 ms)\n",
                self.reconnects_measured
            ));
        }
        out
    }
}
