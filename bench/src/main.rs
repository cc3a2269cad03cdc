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
    }
}
