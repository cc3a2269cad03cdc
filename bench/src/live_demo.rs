//! `obi-bench live`: the whole system on one machine with no network and no config editing —
//! the simulator, the engine as its own process connected to it over loopback sockets
//! (pinned where the machine has a core to spare), trading live against the simulator (or
//! paper), a status line while it runs and the final report, checked against the
//! simulator's own record of our orders and fills.

use crate::harness::{EngineSetup, authorize, engine_bin};
use crate::sim::{Sim, SimConfig};
use std::process::{Command, Stdio};

/// Demo settings.
#[derive(Debug, Clone)]
pub struct LiveDemoOptions {
    /// How long to trade, s.
    pub duration_s: f64,
    /// Paper fills instead of orders to the simulator.
    pub paper: bool,
    /// Market pace (1 = real time).
    pub speed: f64,
    /// Market seed.
    pub seed: u64,
    /// Inject the simulator's faults (drops, gaps, malformed frames, rejects, status
    /// unknown, serverShutdown) while trading.
    pub faults: bool,
}

/// Runs the demo; returns true when the engine's books and positions agree with the venue.
pub fn run(opts: &LiveDemoOptions) -> anyhow::Result<bool> {
    let dir = std::env::temp_dir().join(format!("obi-live-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut cfg = SimConfig {
        seed: opts.seed,
        speed: opts.speed,
        ..SimConfig::default()
    };
    let secret = authorize(&dir, &mut cfg, [42; 32], "obi-demo-key")?;
    if opts.faults {
        cfg.faults.drop_every_s = 10.0;
        cfg.faults.gap_every_s = 4.0;
        cfg.faults.malformed_every_s = 6.0;
        cfg.faults.reject_every_n_orders = 9;
        cfg.faults.unknown_every_n_orders = 5;
        cfg.faults.shutdown_every_s = 13.0;
    }
    let sim = Sim::start(cfg)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut setup = EngineSetup::new(sim.addr().to_string(), secret, dir.join("engine.stats"));
    setup.mode = if opts.paper { "paper" } else { "live" };
    // Pin the core thread to the last core when there is one to spare; spin only when the
    // simulator and the gateway still have cores of their own.
    setup.core_id = (cores >= 2).then(|| cores - 1);
    setup.poll_mode = if cores >= 4 { "spin" } else { "block" };
    setup.strategy = vec!["order_qty_lots = 10".into(), "confirm_ms = 50".into()];
    setup.venue = vec![
        "stale_feed_ms = 2000".into(),
        "reconnect_initial_ms = 50".into(),
    ];
    let config = dir.join("engine.toml");
    std::fs::write(&config, setup.toml())?;
    eprintln!(
        "obi-sim on {} (synthetic ETHUSDT, seed {}, speed {}x{}); obi-engine {} mode, {} poll, core thread {}",
        sim.addr(),
        opts.seed,
        opts.speed,
        if opts.faults { ", faults on" } else { "" },
        setup.mode,
        setup.poll_mode,
        setup
            .core_id
            .map_or_else(|| "unpinned".to_string(), |c| format!("pinned to core {c}")),
    );
    let out = Command::new(engine_bin()?)
        .args([
            "run",
            "--live",
            "--status",
            "--report",
            "json",
            "--duration-s",
        ])
        .arg(opts.duration_s.to_string())
        .arg("--config")
        .arg(&config)
        .env(setup.api_key_env, "obi-demo-key")
        .stderr(Stdio::inherit())
        .output()?;
    let record = sim.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
    anyhow::ensure!(
        out.status.success(),
        "obi-engine exited with {}",
        out.status
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let c = &report["counters"];
    let engine_pos = report["instruments"][0]["position_lots"]
        .as_i64()
        .unwrap_or(0);
    let venue_pos = record.position_lots.get("ETHUSDT").copied().unwrap_or(0);
    let lat = &report["intent_latency_ns"];
    println!("obi live demo: {} s, {} mode", opts.duration_s, setup.mode);
    println!(
        "  market: {} frames, {} diffs applied, {} gaps, {} resyncs, {} crossed, {} bookTicker checks ({} mismatched)",
        c["frames"],
        c["diffs_applied"],
        c["gaps"],
        c["resyncs"],
        c["crossed"],
        c["oracle_checked"],
        c["oracle_mismatches"]
    );
    println!(
        "  feed: {} connects, {} disconnects; reconnect -> synced p50 {} ms",
        report["feed"]["connects"], report["feed"]["disconnects"], report["resync_ms"][0]
    );
    println!(
        "  orders: {} intents, {} accepted, {} rejected, {} fills; tick->intent p50 {:.1} µs p99 {:.1} µs",
        c["intents"],
        c["orders_accepted"],
        c["orders_rejected"],
        c["fills"],
        lat[0].as_f64().unwrap_or(0.0) / 1e3,
        lat[2].as_f64().unwrap_or(0.0) / 1e3
    );
    println!(
        "  pnl: realized {:.4}, unrealized {:.4}, max drawdown {:.4} (quote)",
        report["realized_pnl"].as_f64().unwrap_or(0.0),
        report["unrealized_pnl"].as_f64().unwrap_or(0.0),
        report["max_drawdown"].as_f64().unwrap_or(0.0)
    );
    let mut ok = c["crossed"] == 0 && c["oracle_mismatches"] == 0;
    if opts.paper {
        println!("  venue: paper fills inside the engine (the simulator saw no orders)");
    } else {
        println!(
            "  venue record: {} orders, {} fills, position {} lots (engine: {}), {} duplicate order ids, {} left open",
            record.orders.len(),
            record.fills.len(),
            venue_pos,
            engine_pos,
            record.duplicate_client_order_ids,
            record.open_orders.len()
        );
        ok &= engine_pos == venue_pos
            && record.duplicate_client_order_ids == 0
            && record.open_orders.is_empty();
    }
    println!(
        "  {}",
        if ok {
            "consistent: no crossed book, engine and venue agree"
        } else {
            "INCONSISTENT: see above"
        }
    );
    Ok(ok)
}
