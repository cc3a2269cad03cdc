//! Check: the kill switch is armed — the state directory exists and is writable (kill.sh
//! writes `KILL` there), every kill file's directory exists (inotify watches it), no kill
//! file is present now and `OBI_KILL` does not halt. Live on USD-M, the exchange-side
//! dead-man switch (`[venue] dead_man_ms`) should be on: without it a dead engine's orders
//! rest (a warning).

use super::Env;
use super::access::Identity;
use super::verdict::Check;
use crate::config::{Config, TradingMode};
use crate::instrument::Market;
use crate::journal::StatePaths;
use crate::safety::{EnvKill, env_kill};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

const ID: &str = "kill-switch";

/// Every kill file the engine watches: `<state_dir>/KILL` and `[safety.kill] extra_paths`.
pub fn kill_paths(cfg: &Config) -> Vec<PathBuf> {
    let mut paths = vec![StatePaths::new(cfg.engine.state_dir.clone()).kill_file()];
    paths.extend(cfg.safety.kill.extra_paths.iter().cloned());
    paths
}

/// FAIL on any kill input present or any path that could not be watched; else PASS.
pub fn check(cfg: &Config, env: Env<'_>, who: Option<&Identity>) -> Check {
    let dir = &cfg.engine.state_dir;
    let mut fails = Vec::new();
    match who {
        Some(who) => {
            if let Err(e) = who.may_write_dir(dir) {
                fails.push(format!("state dir: {e}"));
            }
        }
        None if !dir.is_dir() => {
            fails.push(format!("state dir {} does not exist", dir.display()));
        }
        None => {}
    }
    let paths = kill_paths(cfg);
    for p in &paths {
        let parent = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() && parent != *dir {
            fails.push(format!(
                "directory of kill file {} does not exist (the engine cannot watch it)",
                p.display()
            ));
        } else if std::fs::symlink_metadata(p).is_ok() {
            fails.push(format!("kill file present: {}{}", p.display(), describe(p)));
        }
    }
    let raw = env("OBI_KILL");
    match env_kill(raw.as_deref().map(OsStr::new)) {
        EnvKill::On => fails.push("OBI_KILL is set: the engine starts halted".to_string()),
        EnvKill::Unrecognized => fails.push(
            "OBI_KILL has an unrecognised value, which halts the engine: unset it".to_string(),
        ),
        EnvKill::Unset | EnvKill::Off => {}
    }
    if !fails.is_empty() {
        return Check::fail(ID, fails.join("; "));
    }
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let armed = format!(
        "armed: no kill file at {}; OBI_KILL unset; state dir writable",
        shown.join(", ")
    );
    let dead_man_ms = cfg.venue.section.dead_man_ms;
    let live_usdm = cfg.venue.market == Market::UsdM && cfg.venue.section.mode == TradingMode::Live;
    match (live_usdm, dead_man_ms) {
        (true, 0) => Check::warn(
            ID,
            format!(
                "{armed}; but the exchange-side dead-man switch is off ([venue] dead_man_ms = 0): \
                 if the engine dies, its USD-M orders rest until someone cancels them"
            ),
        ),
        (true, ms) => Check::pass(
            ID,
            format!("{armed}; dead-man switch (countdownCancelAll) {ms} ms"),
        ),
        (false, _) => Check::pass(ID, armed),
    }
}

/// ` (reason=..., by=...)` from a kill file written by kill.sh (the first 1 KiB, printable
/// characters only), or nothing.
fn describe(path: &Path) -> String {
    let Ok(bytes) = std::fs::read(path) else {
        return String::new();
    };
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).into_owned();
    let fields: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("reason=") || l.starts_with("by=") || l.starts_with("time="))
        .map(|l| l.chars().filter(|c| !c.is_control()).take(80).collect())
        .collect();
    if fields.is_empty() {
        String::new()
    } else {
        format!(" ({})", fields.join(", "))
    }
}
