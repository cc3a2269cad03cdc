//! Checks of the configuration and the host: the config loads, what mode it is in and
//! where orders would go, the environment file is owner-only, and the stats file can be
//! created where the agent looks for it.

use super::Env;
use super::access::Identity;
use super::verdict::Check;
use crate::config::{Config, TradingMode};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// `config`: loaded, and what it trades.
pub fn config_check(path: &Path, cfg: &Config) -> Check {
    let symbols: Vec<String> = cfg
        .instruments
        .iter()
        .map(|(_, s)| format!("{} {}", s.symbol.as_str(), s.market.name()))
        .collect();
    Check::pass(
        "config",
        format!(
            "{} is valid: {} instrument(s): {}",
            path.display(),
            symbols.len(),
            symbols.join(", ")
        ),
    )
}

/// `mode`: paper configs say the venue checks use the settings live would use; live
/// configs need the second switch (`OBI_ENABLE_LIVE=1`); keys never go over plain text
/// to a host that is not this one.
pub fn mode_check(cfg: &Config, env: Env<'_>) -> Check {
    let v = &cfg.venue;
    let confirmed = env("OBI_ENABLE_LIVE").is_some_and(|x| x == "1");
    let target = format!(
        "orders would go to {} ({}, {:?} key)",
        v.ws_api,
        v.market.name(),
        v.section.key_kind
    );
    if !v.ws_api.tls && !v.ws_api.is_loopback() {
        return Check::fail(
            "mode",
            format!(
                "{target}: ws:// to another host would send keys and orders unencrypted; use wss://"
            ),
        );
    }
    match (v.section.mode, confirmed) {
        (TradingMode::Paper, _) => Check::pass(
            "mode",
            format!(
                "paper config: the venue checks use the [venue] settings live would use; {target}; to switch set mode = \"live\" and OBI_ENABLE_LIVE=1"
            ),
        ),
        (TradingMode::Live, true) => Check::pass(
            "mode",
            format!("live, confirmed by OBI_ENABLE_LIVE=1; {target}"),
        ),
        (TradingMode::Live, false) => Check::warn(
            "mode",
            format!(
                "live config, but OBI_ENABLE_LIVE=1 is not set: the engine refuses to start without it (or --live); {target}"
            ),
        ),
    }
}

/// `env-file`: the service's environment file (API key, maybe the secret) is a regular
/// file that group and others cannot access, owned by root or the running user.
pub fn env_file_check(path: &Path, who: Option<&Identity>) -> Check {
    let id = "env-file";
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => return Check::fail(id, format!("{}: {e}", path.display())),
    };
    if !meta.is_file() {
        return Check::fail(id, format!("{} is not a regular file", path.display()));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Check::fail(
            id,
            format!(
                "{} has mode {mode:04o}: group or others can read the keys (chmod 600)",
                path.display()
            ),
        );
    }
    let owner_ok = meta.uid() == 0 || who.is_some_and(|w| w.uid == meta.uid());
    if !owner_ok {
        return Check::fail(
            id,
            format!(
                "{} is owned by uid {} (expected root)",
                path.display(),
                meta.uid()
            ),
        );
    }
    Check::pass(
        id,
        format!("{} mode {mode:04o}, uid {}", path.display(), meta.uid()),
    )
}

/// `stats`: the engine can create its stats file (the agent's health, metrics and kill
/// go through it).
pub fn stats_check(cfg: &Config, who: Option<&Identity>) -> Check {
    let id = "stats";
    if !cfg.engine.shm_enabled {
        return Check::warn(
            id,
            "engine.shm_enabled = false: the agent sees nothing and its kill cannot reach the engine",
        );
    }
    let path = &cfg.engine.shm_path;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let writable = match who {
        Some(w) => w
            .may_write_dir(dir)
            .and_then(|()| match std::fs::metadata(path) {
                // An existing file (a running or earlier engine's) is replaced in place.
                Ok(meta) if !w.may_write(&meta) => Err(format!(
                    "{} exists and is not writable by uid {} (owner uid {})",
                    path.display(),
                    w.uid,
                    meta.uid()
                )),
                _ => Ok(()),
            }),
        None if dir.is_dir() => Ok(()),
        None => Err(format!("{} does not exist", dir.display())),
    };
    match writable {
        Ok(()) => Check::pass(id, format!("{} can be created", path.display())),
        Err(e) => Check::fail(id, format!("stats file {}: {e}", path.display())),
    }
}
