//! `obi-engine`: the trading process's command line.

#![deny(unsafe_code)]

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use obi_engine::config::Config;
use obi_engine::live;
use obi_engine::replay::{self, ReplayOptions, ScaleSource};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// obi trading engine.
#[derive(Debug, Parser)]
#[command(name = "obi-engine", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the tick path over recorded sessions, deterministically, and print a report.
    ///
    /// Recordings are read in the order given, as one continuous session: collector files
    /// (`<local_ns> <json>` per line, plain or .gz) or cryptofeed captures (`X.ws.1.0`, with
    /// its `X.http.0.0` beside it). Without --config, instruments and their exact
    /// fixed-point scales are derived from the recording's depth snapshots.
    Replay {
        /// Engine config (TOML). Optional for replay.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Write `symbol,update_id,bid_px,bid_qty,ask_px,ask_qty` after every applied diff.
        #[arg(long, value_name = "FILE")]
        tob_out: Option<PathBuf>,
        /// Report format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        report: ReportFormat,
        /// Do not publish stats to shared memory.
        #[arg(long)]
        no_shm: bool,
        /// Stats file for this replay. Replays publish like the live engine, but to their own
        /// file, so a replay on a production host never replaces the live engine's stats.
        #[arg(long, value_name = "FILE", default_value = REPLAY_STATS_PATH)]
        shm_path: PathBuf,
        /// Leave wall-clock figures out so the report is byte-identical across runs.
        #[arg(long)]
        no_timing: bool,
        /// Exit with status 3 if any gap, crossed book, oracle mismatch or parse error occurs.
        #[arg(long)]
        strict: bool,
        /// Recording files.
        #[arg(required = true, value_name = "RECORDING")]
        recordings: Vec<PathBuf>,
    },
    /// Trade live market data: paper fills by default, real orders with [venue] mode = "live".
    ///
    /// Connects to the venue's market-data stream (or the local simulator, by the URLs in
    /// [venue]), keeps sequence-checked books, and trades them through the paper venue or the
    /// venue's order API. A kill file, OBI_KILL=1, the agent's kill or a breaker halts it:
    /// no new orders, cancel-all confirmed at the venue, a latch kept across restarts until an
    /// operator reset; it keeps running, halted. SIGTERM/SIGINT or --duration-s stop it: it
    /// cancels working orders, waits for the venue's confirmation and prints a report.
    Run {
        /// Engine config (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Stop after this many seconds.
        #[arg(long, value_name = "SECONDS")]
        duration_s: Option<f64>,
        /// Confirm live trading (also: OBI_ENABLE_LIVE=1). Without it, mode = "live" refuses
        /// to start.
        #[arg(long)]
        live: bool,
        /// Print a status line to stderr every second.
        #[arg(long)]
        status: bool,
        /// Report format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        report: ReportFormat,
        /// Do not publish stats to shared memory.
        #[arg(long)]
        no_shm: bool,
        /// Stats file (default: the config's engine.shm_path).
        #[arg(long, value_name = "FILE")]
        shm_path: Option<PathBuf>,
        /// Also record every frame and snapshot to FILE (collector format).
        #[arg(long, value_name = "FILE")]
        record: Option<PathBuf>,
    },
    /// Record live market data (every frame and snapshot) for replay; never trades.
    ///
    /// Writes the collector format `obi-engine replay` reads: `<local_ns> <json>` per line,
    /// gzip-compressed when FILE ends in .gz. Stops on SIGTERM/SIGINT or --duration-s.
    Record {
        /// Engine config (TOML): instruments and [venue].
        #[arg(long)]
        config: PathBuf,
        /// Output file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Stop after this many seconds.
        #[arg(long, value_name = "SECONDS")]
        duration_s: Option<f64>,
        /// Do not publish stats to shared memory.
        #[arg(long)]
        no_shm: bool,
    },
    /// Pre-live checklist: config, keys, clock, venue, balances, kill switch, breakers and
    /// recent paper trades. Prints GO / NO-GO / CONDITIONAL with every check's result; exits
    /// 0 (GO), 1 (NO-GO) or 3 (CONDITIONAL); 2 when the checklist itself cannot run.
    GoNogo(obi_engine::gonogo::GoNogoArgs),
    /// Validate a config file and print what it resolves to; non-zero exit if invalid.
    CheckConfig {
        /// Engine config (TOML).
        #[arg(long)]
        config: PathBuf,
    },
}

/// Where `replay` publishes stats by default (the live engine uses `engine.shm_path`).
const REPLAY_STATS_PATH: &str = "/dev/shm/obi-replay.stats";

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReportFormat {
    Json,
    Text,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("obi-engine: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run {
            config,
            duration_s,
            live,
            status,
            report,
            no_shm,
            shm_path,
            record,
        } => {
            let mut cfg = Config::load(&config)?;
            if let Some(p) = shm_path {
                cfg.engine.shm_path = p;
            }
            let options = live::RunOptions {
                duration: duration_arg(duration_s)?,
                live_confirmed: live || std::env::var("OBI_ENABLE_LIVE").is_ok_and(|v| v == "1"),
                shm: !no_shm,
                record,
                observe_only: false,
                config_path: Some(config.clone()),
            };
            let result = run_live(cfg, options, status)?;
            match report {
                ReportFormat::Json => println!("{}", result.to_json()),
                ReportFormat::Text => print!("{}", result.to_text()),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Record {
            config,
            out,
            duration_s,
            no_shm,
        } => {
            let mut cfg = Config::load(&config)?;
            // Recording never trades, whatever the config says.
            cfg.venue.section.mode = obi_engine::config::TradingMode::Paper;
            let options = live::RunOptions {
                duration: duration_arg(duration_s)?,
                live_confirmed: false,
                shm: !no_shm,
                record: Some(out),
                observe_only: true,
                config_path: None,
            };
            let result = run_live(cfg, options, false)?;
            print!("{}", result.to_text());
            let failed = result
                .recording
                .as_ref()
                .is_none_or(|r| r.error.is_some() || r.dropped > 0);
            Ok(if failed {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::GoNogo(args) => obi_engine::gonogo::main(&args),
        Command::CheckConfig { config } => {
            let cfg = Config::load(&config)?;
            println!("config {} is valid", config.display());
            for (_, spec) in cfg.instruments.iter() {
                let (mut tick, mut lot) = (String::new(), String::new());
                spec.price.write(&mut tick, 1)?;
                spec.qty.write(&mut lot, 1)?;
                println!(
                    "  {} ({}) tick {tick} lot {lot}",
                    spec.symbol,
                    spec.market.name()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay {
            config,
            tob_out,
            report,
            no_shm,
            shm_path,
            no_timing,
            strict,
            recordings,
        } => {
            let (cfg, scale_sources) = match &config {
                Some(path) => {
                    let cfg = Config::load(path)?;
                    let n = cfg.instruments.len();
                    (cfg, vec![ScaleSource::Config; n])
                }
                None => derived_config(&recordings)?,
            };
            let mut cfg = cfg;
            cfg.engine.shm_path = shm_path;
            let shm = !no_shm && cfg.engine.shm_enabled;
            let options = ReplayOptions {
                tob_out,
                shm,
                no_timing,
                scale_sources,
            };
            let result = replay::run(&cfg, &recordings, &options)?;
            match report {
                ReportFormat::Json => println!("{}", result.to_json()),
                ReportFormat::Text => print!("{}", result.to_text()),
            }
            let c = &result.counters;
            let clean =
                c.gaps == 0 && c.crossed == 0 && c.oracle_mismatches == 0 && c.parse_errors == 0;
            Ok(if strict && !clean {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// `--duration-s` as a duration; positive and finite.
fn duration_arg(seconds: Option<f64>) -> anyhow::Result<Option<std::time::Duration>> {
    match seconds {
        Some(s) if s.is_finite() && s > 0.0 => Ok(Some(std::time::Duration::from_secs_f64(s))),
        Some(s) => anyhow::bail!("--duration-s must be a positive number of seconds, got {s}"),
        None => Ok(None),
    }
}

/// Runs the live loop on its own (pinned) thread; the main thread prints status lines.
fn run_live(
    cfg: Config,
    options: live::RunOptions,
    status: bool,
) -> anyhow::Result<live::RunReport> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot install the signal handler")?;
    }
    let shm_path = cfg.engine.shm_path.clone();
    let show = status && options.shm && cfg.engine.shm_enabled;
    let symbols: Vec<String> = cfg
        .instruments
        .iter()
        .map(|(_, s)| s.symbol.to_string())
        .collect();
    let core_stop = Arc::clone(&stop);
    let core = std::thread::Builder::new()
        .name("obi-core".into())
        .spawn(move || live::run(&cfg, &options, &core_stop))
        .context("cannot start the core thread")?;
    let mut last = std::time::Instant::now();
    while !core.is_finished() {
        std::thread::sleep(std::time::Duration::from_millis(50));
        if show && last.elapsed() >= std::time::Duration::from_secs(1) {
            last = std::time::Instant::now();
            if let Some(line) = live::status::status_line(&shm_path, &symbols) {
                eprintln!("{line}");
            }
        }
    }
    match core.join() {
        Ok(result) => Ok(result?),
        Err(_) => anyhow::bail!("the core thread panicked"),
    }
}

/// Instruments from the recordings' snapshots, for a replay without a config.
fn derived_config(recordings: &[PathBuf]) -> anyhow::Result<(Config, Vec<ScaleSource>)> {
    let paths: Vec<&Path> = recordings.iter().map(PathBuf::as_path).collect();
    let (instruments, derived) =
        replay::scan::derived_instruments(&paths).context("no --config given")?;
    for d in &derived {
        eprintln!(
            "obi-engine: no --config: {} ({}) scale derived from the snapshot: price 1e-{} qty 1e-{}",
            d.symbol,
            d.market.name(),
            d.price_decimals,
            d.qty_decimals
        );
    }
    let n = instruments.len();
    Ok((
        Config::with_instruments(instruments),
        vec![ScaleSource::DerivedFromSnapshot; n],
    ))
}
