//! obi-sim: a local Binance-spot-like venue on one loopback port (REST depth snapshot,
//! combined market streams, the Spot WebSocket API) for testing, demos and latency
//! benchmarks without the internet. See `obi_bench::sim` for the behaviour and
//! `bench/sim.example.toml` for every config key.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use clap::Parser;
use obi_bench::sim::{Sim, SimConfig, SimRecord};

/// Local Binance spot venue simulator for obi.
///
/// Serves, on 127.0.0.1 only: GET /api/v3/depth (REST snapshot), /stream?streams=... (depth
/// diffs, bookTicker, trade) and /ws-api/v3 (order entry with execution reports). Prints the
/// three URLs to give the engine on start. Runs until SIGINT/SIGTERM or --duration-s, then
/// writes the record (orders, fills, positions, duplicates, faults, wire-to-wire samples) to
/// --report-out.
///
/// Flags override the values of --config. Examples:
///
///   obi-sim --port 9001 --api-key k --ed25519-public-key key.pem
///
///   obi-sim --replay ethusdt.gz --speed 0 --duration-s 60 --report-out r.json
///
///   obi-sim --frame-interval-us 1000 --gap-every-s 5 --unknown-every-n-orders 10
#[derive(Debug, Parser)]
#[command(name = "obi-sim", version, verbatim_doc_comment)]
struct Args {
    /// TOML config (unknown keys are errors); see bench/sim.example.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Loopback port; 0 picks a free one.
    #[arg(long)]
    port: Option<u16>,
    /// Seed of the synthetic market.
    #[arg(long)]
    seed: Option<u64>,
    /// Market pace: 1 = real time, 2 = twice as fast, 0 = as fast as clients take frames.
    #[arg(long)]
    speed: Option<f64>,
    /// Replay this collector-format recording (plain or .gz) instead of the synthetic market.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Fixed gap between market frames, µs (latency benchmarks); overrides --speed.
    #[arg(long, value_name = "US")]
    frame_interval_us: Option<u64>,
    /// Stop after this many seconds (default: run until SIGINT/SIGTERM).
    #[arg(long, value_name = "S")]
    duration_s: Option<f64>,
    /// Write the JSON record here on exit.
    #[arg(long, value_name = "FILE")]
    report_out: Option<PathBuf>,
    /// Symbol served (default ETHUSDT).
    #[arg(long)]
    symbol: Option<String>,
    /// Price step, decimal text (default 0.01).
    #[arg(long)]
    tick_size: Option<String>,
    /// Quantity step, decimal text (default 0.001).
    #[arg(long)]
    step_size: Option<String>,
    /// WebSocket ping interval, ms (default 20000).
    #[arg(long, value_name = "MS")]
    ping_interval_ms: Option<u64>,
    /// API key requests must carry; without one, authentication is off.
    #[arg(long)]
    api_key: Option<String>,
    /// Ed25519 public key for session.logon: a PEM file, PEM text or 64 hex digits.
    #[arg(long, value_name = "KEY")]
    ed25519_public_key: Option<String>,
    /// Environment variable holding the HMAC-SHA256 secret (per-request signing).
    #[arg(long, value_name = "VAR")]
    hmac_secret_env: Option<String>,
    /// Fault: drop every connection every S seconds.
    #[arg(long, value_name = "S")]
    drop_every_s: Option<f64>,
    /// Fault: leave a depth diff out (sequence gap) every S seconds.
    #[arg(long, value_name = "S")]
    gap_every_s: Option<f64>,
    /// Fault: send a malformed market frame every S seconds.
    #[arg(long, value_name = "S")]
    malformed_every_s: Option<f64>,
    /// Fault: stall market connections every S seconds ...
    #[arg(long, value_name = "S")]
    stall_every_s: Option<f64>,
    /// ... for MS milliseconds.
    #[arg(long, value_name = "MS")]
    stall_ms: Option<u64>,
    /// Fault: refuse every Nth order.place with -2010.
    #[arg(long, value_name = "N")]
    reject_every_n_orders: Option<u64>,
    /// Fault: answer every Nth order.place with -1007, placing it every other time.
    #[arg(long, value_name = "N")]
    unknown_every_n_orders: Option<u64>,
    /// Fault: send serverShutdown on API connections every S seconds ...
    #[arg(long, value_name = "S")]
    shutdown_every_s: Option<f64>,
    /// ... and close them MS milliseconds later (default 1000).
    #[arg(long, value_name = "MS")]
    shutdown_grace_ms: Option<u64>,
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

fn build_config(args: &Args) -> Result<SimConfig, String> {
    let mut cfg = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            SimConfig::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => SimConfig::default(),
    };
    set(&mut cfg.port, args.port);
    set(&mut cfg.seed, args.seed);
    set(&mut cfg.speed, args.speed);
    set(&mut cfg.frame_interval_us, args.frame_interval_us);
    set(&mut cfg.ping_interval_ms, args.ping_interval_ms);
    if args.replay.is_some() {
        cfg.replay = args.replay.clone();
    }
    set(&mut cfg.instrument.symbol, args.symbol.clone());
    set(&mut cfg.instrument.tick_size, args.tick_size.clone());
    set(&mut cfg.instrument.step_size, args.step_size.clone());
    if args.api_key.is_some() {
        cfg.auth.api_key = args.api_key.clone();
    }
    if args.ed25519_public_key.is_some() {
        cfg.auth.ed25519_public_key = args.ed25519_public_key.clone();
    }
    if args.hmac_secret_env.is_some() {
        cfg.auth.hmac_secret_env = args.hmac_secret_env.clone();
    }
    let f = &mut cfg.faults;
    set(&mut f.drop_every_s, args.drop_every_s);
    set(&mut f.gap_every_s, args.gap_every_s);
    set(&mut f.malformed_every_s, args.malformed_every_s);
    set(&mut f.stall_every_s, args.stall_every_s);
    set(&mut f.stall_ms, args.stall_ms);
    set(&mut f.reject_every_n_orders, args.reject_every_n_orders);
    set(&mut f.unknown_every_n_orders, args.unknown_every_n_orders);
    set(&mut f.shutdown_every_s, args.shutdown_every_s);
    set(&mut f.shutdown_grace_ms, args.shutdown_grace_ms);
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

fn write_report(path: &PathBuf, record: &SimRecord) -> Result<(), String> {
    let json = serde_json::to_string_pretty(record).map_err(|e| e.to_string())?;
    std::fs::write(path, json + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let duration = match args.duration_s {
        Some(s) if s.is_finite() && s > 0.0 && s <= 1e9 => Some(Duration::from_secs_f64(s)),
        Some(_) => {
            eprintln!("obi-sim: --duration-s must be a number of seconds above 0");
            return ExitCode::from(2);
        }
        None => None,
    };
    let cfg = match build_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("obi-sim: {e}");
            return ExitCode::from(2);
        }
    };
    // Signals first, so a SIGTERM right after start is not lost.
    let (tx, rx) = mpsc::channel::<i32>();
    let mut signals = match signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("obi-sim: cannot install signal handlers: {e}");
            return ExitCode::from(1);
        }
    };
    let signal_handle = signals.handle();
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            let _ = tx.send(sig);
        }
    });
    let source = match &cfg.replay {
        Some(p) => format!("replay of {}", p.display()),
        None => format!("synthetic market, seed {}", cfg.seed),
    };
    let sim = match Sim::start(cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("obi-sim: {e}");
            return ExitCode::from(2);
        }
    };
    println!("obi-sim listening on {} ({source})", sim.addr());
    println!("rest_url   = {}", sim.rest_url());
    println!("stream_url = {}", sim.stream_url());
    println!("ws_api_url = {}", sim.ws_api_url());
    let stop = match duration {
        Some(d) => rx.recv_timeout(d).ok(),
        None => rx.recv().ok(),
    };
    signal_handle.close();
    if let Some(sig) = stop {
        eprintln!("obi-sim: signal {sig}, shutting down");
    }
    let record = sim.shutdown();
    eprintln!(
        "obi-sim: {} frames sent, {} orders, {} fills, {} duplicate client ids, position {:?}",
        record.frames_sent,
        record.orders.len(),
        record.fills.len(),
        record.duplicate_client_order_ids,
        record.position_lots
    );
    if let Some(path) = &args.report_out
        && let Err(e) = write_report(path, &record)
    {
        eprintln!("obi-sim: {e}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
