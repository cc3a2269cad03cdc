//! `obi-agent` command line: thin glue over the library.
#![forbid(unsafe_code)]

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use obi_agent::config::Config;
use obi_agent::secrets::{self, MIN_TOKEN_BYTES, TOKEN_ENV, TOTP_SECRET_ENV};
use obi_agent::{AppState, Secrets};

/// The operator's side of obi: health, Prometheus metrics and the kill switch over the
/// engine's shared-memory stats.
///
/// Secrets never go in the config file: the bearer token comes from OBI_AGENT_TOKEN or
/// control.token_file, the TOTP secret (base32) from OBI_AGENT_TOTP_SECRET or
/// control.totp_secret_file; files must be owner-only (chmod 600).
#[derive(Debug, Parser)]
#[command(name = "obi-agent", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve /healthz, /healthz/detailed, /metrics, POST /kill and POST /kill/reset until
    /// SIGTERM or SIGINT.
    ///
    /// Example: OBI_AGENT_TOKEN=$(cat /etc/obi/token) obi-agent serve --config /etc/obi/agent.toml
    Serve {
        /// Agent config (TOML). Without one, every default applies (127.0.0.1:9464,
        /// /dev/shm/obi-engine.stats, ./state).
        #[arg(short, long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Validate the config and secrets, print the effective settings and exit (non-zero on
    /// error). Use before start, e.g. systemd ExecStartPre.
    CheckConfig {
        /// Agent config (TOML).
        #[arg(short, long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

fn load(config_path: Option<&PathBuf>) -> anyhow::Result<(Config, Secrets)> {
    let config = match config_path {
        Some(path) => Config::load(path)?,
        None => Config::from_toml("")?,
    };
    let token = secrets::load(TOKEN_ENV, config.token_file.as_deref(), MIN_TOKEN_BYTES)
        .context("loading the bearer token")?;
    let totp_secret = secrets::load(TOTP_SECRET_ENV, config.totp_secret_file.as_deref(), 1)
        .context("loading the TOTP secret")?;
    Ok((config, Secrets { token, totp_secret }))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match cli.command {
        Command::CheckConfig { config } => {
            let (config, secrets) = load(config.as_ref())?;
            let control = secrets.token.is_some();
            let totp = secrets.totp_secret.is_some();
            AppState::new(config.clone(), secrets)?;
            println!("config ok");
            println!("  listen            {}", config.listen);
            println!("  shm_path          {}", config.shm_path.display());
            println!("  state_dir         {}", config.state_dir.display());
            println!("  heartbeat_stale   {} ms", config.heartbeat_stale_ms);
            println!("  kill_file         {}", config.kill_file.display());
            println!("  audit_log         {}", config.audit_log.display());
            println!(
                "  control           {}",
                match (control, totp) {
                    (true, true) => "enabled (bearer token + TOTP)",
                    (true, false) => "enabled (bearer token)",
                    _ => "disabled (no token)",
                }
            );
            Ok(())
        }
        Command::Serve { config } => {
            let (config, secrets) = load(config.as_ref())?;
            let state = AppState::new(config, secrets)?;
            if state.auth().is_none() {
                tracing::warn!(
                    "no bearer token configured: POST /kill and /kill/reset are disabled"
                );
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("starting the tokio runtime")?;
            runtime.block_on(obi_agent::server::serve(
                state,
                obi_agent::shutdown::signal(),
            ))?;
            Ok(())
        }
    }
}
