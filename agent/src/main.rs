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
    /// Take one backup now (state dir, configs, parameter files → backup.dir), verify it by
    /// a trial restore, prune by retention; or, with `verify`, check an archive.
    ///
    /// Examples: obi-agent backup --config agent.toml
    ///           obi-agent backup verify --latest --config agent.toml
    ///           obi-agent backup verify backups/obi-backup-20261123T030000Z.tar.zst
    Backup {
        /// Agent config (TOML).
        #[arg(short, long, value_name = "FILE", global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: Option<BackupAction>,
    },
    /// Restore an archive into the state dir. Refused while the engine is running (fresh
    /// heartbeat or live pid in its stats file). The current state dir is kept as
    /// <state_dir>.pre-restore-<time>; configs from the archive land in
    /// <state_dir>.restored-<time>/ for review.
    ///
    /// Example: obi-agent restore --config agent.toml backups/obi-backup-20261123T030000Z.tar.zst
    Restore {
        /// Agent config (TOML).
        #[arg(short, long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The archive to restore.
        archive: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum BackupAction {
    /// Check an archive: its .sha256, every file against the manifest, and a trial restore
    /// into a temp dir. Any mismatch names the file and exits non-zero.
    Verify {
        /// The archive (default with --latest: the newest in backup.dir).
        #[arg(required_unless_present = "latest", conflicts_with = "latest")]
        archive: Option<PathBuf>,
        /// Verify the newest archive in backup.dir.
        #[arg(long)]
        latest: bool,
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
    let alert_sinks = obi_agent::alerts::sink::load_targets(&config.alerts.sinks)?;
    Ok((
        config,
        Secrets {
            token,
            totp_secret,
            alert_sinks,
        },
    ))
}

fn load_config(config_path: Option<&PathBuf>) -> anyhow::Result<Config> {
    Ok(match config_path {
        Some(path) => Config::load(path)?,
        None => Config::from_toml("")?,
    })
}

fn backup(config: &Config, action: Option<BackupAction>) -> anyhow::Result<()> {
    match action {
        None => {
            let (result, _) = obi_agent::backup::run_once(config, chrono::Utc::now());
            let outcome = result.context("backup failed")?;
            println!(
                "backup ok: {} ({} files, {} bytes, {} bytes compressed; verified)",
                outcome.archive.display(),
                outcome.files,
                outcome.bytes,
                outcome.archive_bytes
            );
            for s in &outcome.skipped {
                println!("  skipped (not a regular file): {s}");
            }
            Ok(())
        }
        Some(BackupAction::Verify { archive, latest }) => {
            let archive = match (archive, latest) {
                (Some(a), _) => a,
                (None, _) => obi_agent::backup::catalog::latest(&config.backup.dir)?,
            };
            let found = obi_agent::backup::extract::verify(&archive)
                .with_context(|| format!("VERIFY FAILED for {}", archive.display()))?;
            println!(
                "verify ok: {} ({} files match the manifest; archive checksum {}; trial restore ok)",
                archive.display(),
                found.manifest.files.len(),
                if found.archive_checksum_checked {
                    "ok"
                } else {
                    "not present"
                }
            );
            Ok(())
        }
    }
}

fn restore(config: &Config, archive: &std::path::Path) -> anyhow::Result<()> {
    let outcome = obi_agent::backup::restore::restore(
        archive,
        &config.state_dir,
        &config.shm_path,
        config.heartbeat_stale_ms,
        chrono::Utc::now(),
    )
    .with_context(|| format!("restore of {} failed", archive.display()))?;
    println!(
        "restore ok: {} files into {}",
        outcome.state_files,
        outcome.state_dir.display()
    );
    if let Some(p) = &outcome.previous {
        println!("  previous state dir kept at {}", p.display());
    }
    println!(
        "  configs and parameters from the archive (not applied): {}",
        outcome.extras.display()
    );
    Ok(())
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
            let sinks = secrets.alert_sinks.len();
            AppState::new(config.clone(), secrets)?;
            println!("config ok");
            println!("  alert sinks       {sinks}");
            println!("  backup dir        {}", config.backup.dir.display());
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
        Command::Backup { config, action } => backup(&load_config(config.as_ref())?, action),
        Command::Restore { config, archive } => restore(&load_config(config.as_ref())?, &archive),
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
