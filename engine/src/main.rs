//! `obi-engine`: the trading process's command line.

#![deny(unsafe_code)]

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use obi_engine::config::Config;
use obi_engine::replay::{self, ReplayOptions, ScaleSource};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
