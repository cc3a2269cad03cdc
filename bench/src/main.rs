//! `obi-bench`: command-line front end; each subcommand is a thin call into the library.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use obi_bench::synth::{self, SynthConfig};

#[derive(Debug, Parser)]
#[command(
    name = "obi-bench",
    version,
    about = "obi benchmarks and synthetic venue data"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a synthetic Binance USD-M session in collector format (`<local_ns> <json>`).
    Synth(SynthArgs),
    /// The main job on an embedded default: generate a seeded synthetic session and replay it
    /// through the engine's tick path (paper venue), printing the report.
    Demo(DemoArgs),
    /// Replay recordings from memory through the full tick path on a pinned core and print
    /// receipt→intent percentiles, throughput and the machine (text or --json).
    Latency(LatencyArgs),
    /// The whole system locally: simulator + engine over loopback, trading live against the
    /// simulator (or --paper), a status line, the final report checked against the venue.
    Live(LiveArgs),
    /// Wire-to-wire latency (simulator frame out → engine order in) next to a loopback TCP
    /// ping-pong measured in the same run, and reconnect-to-resynced time.
    Wire(WireArgs),
    /// Kill file → `openOrders.cancelAll` at the simulator, the real engine trading live,
    /// next to a bare inotify watcher's wake-up measured in the same run.
    KillLatency(KillLatencyArgs),
    /// Run one instruction-count gate workload (used under callgrind by scripts/icount-gate.sh).
    GateWorkload(GateArgs),
}

#[derive(Debug, Args)]
struct LiveArgs {
    /// Seconds to trade.
    #[arg(long, default_value_t = 30.0)]
    duration_s: f64,
    /// Paper fills instead of orders to the simulator.
    #[arg(long)]
    paper: bool,
    /// Market pace (1 = real time).
    #[arg(long, default_value_t = 2.0)]
    speed: f64,
    /// Market seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Inject faults (drops, gaps, malformed frames, rejects, status unknown, serverShutdown).
    #[arg(long)]
    faults: bool,
}

#[derive(Debug, Args)]
struct KillLatencyArgs {
    /// Trials (one engine start and one kill each).
    #[arg(long, default_value_t = 30)]
    trials: usize,
    /// Market seed of the first trial.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Market pace (1 = real time).
    #[arg(long, default_value_t = 4.0)]
    speed: f64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn run_kill_latency(args: &KillLatencyArgs) -> anyhow::Result<()> {
    let report = obi_bench::kill_latency::run(&obi_bench::kill_latency::KillLatencyOptions {
        trials: args.trials,
        seed: args.seed,
        speed: args.speed,
        ..Default::default()
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}

#[derive(Debug, Args)]
struct WireArgs {
    /// Seconds the engine trades the paced simulator.
    #[arg(long, default_value_t = 15.0)]
    duration_s: f64,
    /// Gap between market frames, µs.
    #[arg(long, default_value_t = 5000)]
    frame_interval_us: u64,
    /// Engine poll mode: spin or block.
    #[arg(long, default_value = "block")]
    poll_mode: String,
    /// Pin the engine's core thread to this core.
    #[arg(long)]
    core: Option<usize>,
    /// Seconds of the reconnect run (0 skips it).
    #[arg(long, default_value_t = 12.0)]
    reconnect_s: f64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn run_wire(args: &WireArgs) -> anyhow::Result<()> {
    let poll_mode = match args.poll_mode.as_str() {
        "spin" => "spin",
        "block" => "block",
        other => anyhow::bail!("--poll-mode must be spin or block, got {other:?}"),
    };
    anyhow::ensure!(
        args.duration_s > 0.0 && args.frame_interval_us > 0,
        "--duration-s and --frame-interval-us must be positive"
    );
    let report = obi_bench::wire::run(&obi_bench::wire::WireOptions {
        duration_s: args.duration_s,
        frame_interval_us: args.frame_interval_us,
        poll_mode,
        core_id: args.core,
        reconnect_s: args.reconnect_s,
        ..Default::default()
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}

#[derive(Debug, Args)]
struct LatencyArgs {
    /// Engine config; without it, instruments are derived from the recordings' snapshots.
    #[arg(long)]
    config: Option<PathBuf>,
    /// CPU core to pin the measuring thread to (default: the last core).
    #[arg(long)]
    core: Option<usize>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Recordings (collector or cryptofeed format), replayed in order.
    #[arg(required = true)]
    recordings: Vec<PathBuf>,
}

fn run_latency(args: &LatencyArgs) -> anyhow::Result<()> {
    let core = args.core.or_else(|| {
        std::thread::available_parallelism()
            .ok()
            .map(|n| n.get() - 1)
    });
    let report = obi_bench::latency::run(&args.recordings, args.config.as_deref(), core)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}

#[derive(Debug, Args)]
struct GateArgs {
    /// Workload: parse, book, signal or pipeline.
    name: String,
    /// Collector recording to load (the real USD-M ETHUSDT capture in CI).
    #[arg(long)]
    recording: PathBuf,
}

fn run_gate(args: &GateArgs) -> anyhow::Result<()> {
    let checksum = obi_bench::gates::run(&args.name, &args.recording)
        .with_context(|| format!("workload {} on {}", args.name, args.recording.display()))?;
    println!("{} checksum {checksum}", args.name);
    Ok(())
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Random seed of the synthetic session.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Session length, seconds of exchange time.
    #[arg(long, default_value_t = 300)]
    seconds: u32,
    /// Report format: text or json.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    report: String,
    /// Keep the generated recording at this path (default: a temp file, removed after).
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Charge Binance USD-M regular fees (maker 2 bps, taker 5 bps) instead of zero fees.
    #[arg(long)]
    fees: bool,
}

/// The demo's engine config, embedded so the demo needs no files.
const DEMO_CONFIG: &str = include_str!("demo.toml");

fn run_demo(args: &DemoArgs) -> anyhow::Result<()> {
    let mut config =
        obi_engine::config::Config::from_toml(DEMO_CONFIG, std::path::Path::new("demo.toml"))
            .context("embedded demo config")?;
    if args.fees {
        config.paper.maker_fee_bps = 2.0;
        config.paper.taker_fee_bps = 5.0;
    }
    let cfg = SynthConfig {
        seed: args.seed,
        duration_s: args.seconds,
        ..SynthConfig::default()
    };
    cfg.validate()?;
    let path = match &args.keep {
        Some(p) => p.clone(),
        None => std::env::temp_dir().join(format!("obi-demo-{}.txt", std::process::id())),
    };
    let summary =
        synth::write_to_path(&cfg, &path).with_context(|| format!("writing {}", path.display()))?;
    eprintln!(
        "obi-bench demo: synthetic {} s session (seed {}), {} frames -> {}",
        args.seconds,
        args.seed,
        summary.lines,
        path.display()
    );
    let options = obi_engine::replay::ReplayOptions::default();
    let result = obi_engine::replay::run(&config, std::slice::from_ref(&path), &options);
    if args.keep.is_none() {
        let _ = std::fs::remove_file(&path);
    }
    let report = result?;
    if args.report == "json" {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}

#[derive(Debug, Args)]
struct SynthArgs {
    /// Random seed; the same seed and options give byte-identical output.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Session length in exchange time, seconds.
    #[arg(long, default_value_t = 300)]
    seconds: u32,
    /// Symbol, e.g. SYNUSDT (streams use its lower case).
    #[arg(long, default_value = "SYNUSDT")]
    symbol: String,
    /// Turn off the hidden pressure effects (imbalance then carries little information).
    #[arg(long)]
    no_pressure: bool,
    /// Output file; gzip-compressed when it ends in `.gz`.
    #[arg(long)]
    out: PathBuf,
}

fn run_synth(args: &SynthArgs) -> anyhow::Result<()> {
    let mut cfg = SynthConfig {
        seed: args.seed,
        duration_s: args.seconds,
        symbol: args.symbol.to_ascii_uppercase(),
        ..SynthConfig::default()
    };
    if args.no_pressure {
        cfg.model.pressure_strength = 0.0;
    }
    cfg.validate()?;
    let started = std::time::Instant::now();
    let summary = synth::write_to_path(&cfg, &args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "wrote {}: {} lines ({} diffs, {} before the snapshot; {} bookTickers; {} trades) in {:.3} s",
        args.out.display(),
        summary.lines,
        summary.depth_diffs,
        summary.diffs_before_snapshot,
        summary.book_tickers,
        summary.trades,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Command::Synth(args) => run_synth(args),
        Command::Demo(args) => run_demo(args),
        Command::GateWorkload(args) => run_gate(args),
        Command::Latency(args) => run_latency(args),
        Command::Wire(args) => run_wire(args),
        Command::KillLatency(args) => run_kill_latency(args),
        Command::Live(args) => {
            let ok = obi_bench::live_demo::run(&obi_bench::live_demo::LiveDemoOptions {
                duration_s: args.duration_s,
                paper: args.paper,
                speed: args.speed,
                seed: args.seed,
                faults: args.faults,
            })?;
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
