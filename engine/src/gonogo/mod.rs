//! `obi-engine go-nogo`: the pre-live checklist. Each check prints PASS, WARN or FAIL with
//! a short reason; the verdict is GO (exit 0), CONDITIONAL (3: warnings only) or NO-GO (1).
//! Exit 2 (from `main.rs`) means the checklist itself could not run.
//!
//! Checks, in order: `config`, `mode`, `keys`, `env-file` (with `--env-file`), `venue`,
//! `clock`, `venue-keys`, `balances`, `kill-switch`, `latch`, `breakers`, `paper`,
//! `stats`. Nothing here writes to the state directory, places or cancels an order, or
//! prints secret material.

pub mod access;
pub mod balances;
pub mod breakers;
pub mod clock;
pub mod host;
pub mod keys;
pub mod killswitch;
pub mod latch;
pub mod money;
pub mod paper;
pub mod snapshot;
pub mod venue;
pub mod verdict;
pub mod wsapi;

use crate::config::Config;
use access::Identity;
use paper::PaperRules;
use std::path::PathBuf;
use std::process::ExitCode;
use verdict::{Check, Report};

/// The environment as the checks see it (the process's, or a map in tests).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// `obi-engine go-nogo` arguments.
#[derive(Debug, clap::Args)]
pub struct GoNogoArgs {
    /// Engine config (TOML).
    #[arg(long)]
    pub config: PathBuf,
    /// State directory of the paper run whose journal is the paper evidence (read-only).
    #[arg(long, value_name = "DIR")]
    pub paper_state: Option<PathBuf>,
    /// Fills the paper journal must hold within --paper-days.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub min_paper_fills: u64,
    /// How far back paper fills count, days.
    #[arg(long, value_name = "DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub paper_days: u32,
    /// Venue-side rejects in the paper window tolerated with a warning (more fail).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub max_paper_rejects: u64,
    /// Free quote balance required, in quote units (replaces the need derived from the
    /// breakers' capital and the strategy's entry size).
    #[arg(long, value_name = "AMOUNT")]
    pub min_quote: Option<String>,
    /// The service's environment file, checked for owner-only permissions.
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the checklist, prints it and returns the exit code (0 GO, 1 NO-GO, 3 CONDITIONAL).
pub fn main(args: &GoNogoArgs) -> anyhow::Result<ExitCode> {
    let min_quote = match &args.min_quote {
        Some(text) => match money::to_micros(text) {
            Some(m) if m > 0 => Some(m),
            _ => anyhow::bail!("--min-quote must be a positive decimal amount, got {text:?}"),
        },
        None => None,
    };
    let env = |k: &str| std::env::var(k).ok();
    let options = Options {
        paper_state: args.paper_state.clone(),
        rules: PaperRules {
            min_fills: args.min_paper_fills,
            days: args.paper_days,
            max_rejects: args.max_paper_rejects,
        },
        min_quote_micros: min_quote,
        env_file: args.env_file.clone(),
    };
    let report = run(&args.config, &options, &env, clock::now_ns());
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    Ok(ExitCode::from(report.verdict().exit_code()))
}

/// Everything besides the config that the checks take.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--paper-state`.
    pub paper_state: Option<PathBuf>,
    /// Paper evidence thresholds.
    pub rules: PaperRules,
    /// `--min-quote`, millionths.
    pub min_quote_micros: Option<i128>,
    /// `--env-file`.
    pub env_file: Option<PathBuf>,
}

/// Runs every check against the config at `path`.
pub fn run(path: &std::path::Path, options: &Options, env: Env<'_>, now_ns: u64) -> Report {
    let mut report = Report {
        config: path.display().to_string(),
        checks: Vec::new(),
    };
    let cfg = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            report.checks.push(Check::fail("config", e.to_string()));
            return report;
        }
    };
    let who = Identity::current();
    let who = who.as_ref();
    let checks = &mut report.checks;
    checks.push(host::config_check(path, &cfg));
    checks.push(host::mode_check(&cfg, env));
    checks.push(keys::check(&cfg.venue, env, who));
    if let Some(file) = &options.env_file {
        checks.push(host::env_file_check(file, who));
    }
    checks.extend(venue::checks(&cfg, env, options.min_quote_micros));
    checks.push(killswitch::check(&cfg, env, who));
    checks.push(latch::check(&cfg));
    checks.push(breakers::check(&cfg.safety.breakers));
    checks.push(paper::check(
        options.paper_state.as_deref(),
        &cfg,
        &options.rules,
        now_ns,
    ));
    checks.push(host::stats_check(&cfg, who));
    report
}
