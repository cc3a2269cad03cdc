//! Strategy parameter hot reload: a cold thread re-reads and validates the config file on
//! SIGHUP, when the file changes, or on request, and hands new strategy parameters to the
//! core thread through a small `rtrb` ring.
//!
//! The whole file goes through the normal config loader, so a reload accepts exactly what a
//! start would. A file that does not load (syntax, unknown key, bad value) changes nothing:
//! the reason goes to stderr and a [`ReloadEvent::Rejected`] to the core (to count and
//! journal). Only `[strategy]` is applied live; other sections that differ from the file as
//! it was at start are named on stderr as needing a restart and otherwise ignored. New
//! strategy parameters must also fit the *running* `[signal]` section (the OBI depth the
//! score reads must be one the signals compute).
//!
//! The file's directory is watched with inotify (editors replace files by rename), filtered
//! to the file's name, with a short debounce so one save is one reload. Every reload is
//! bracketed for systemd: this thread sends `RELOADING=1` when it starts; the core sends
//! `READY=1` once it has taken the outcome off the ring.

use super::notify::Notifier;
use crate::config::Config;
use crate::signal::SignalConfig;
use crate::strategy::StrategyConfig;
use inotify::{Inotify, WatchMask};
use mio::{Events, Interest, Poll, Token, Waker};
use std::ffi::OsString;
use std::fmt;
use std::io::{ErrorKind, Read as _};
use std::os::fd::AsRawFd as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Reload outcomes the ring holds; the core drains it every loop iteration.
pub const RELOAD_RING_CAPACITY: usize = 8;
/// Quiet time after the last change in the directory before the file is read, ms.
pub const DEBOUNCE_MS: u64 = 50;

const WAKE_TOKEN: Token = Token(0);
const SIGNAL_TOKEN: Token = Token(1);
const INOTIFY_TOKEN: Token = Token(2);

/// Config sections, as a set: those a reload found changed but cannot apply live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sections(u16);

impl Sections {
    /// `[engine]`.
    pub const ENGINE: Sections = Sections(1);
    /// `[[instruments]]` (and `exchange_info`).
    pub const INSTRUMENTS: Sections = Sections(1 << 1);
    /// `[signal]`.
    pub const SIGNAL: Sections = Sections(1 << 2);
    /// `[risk]`.
    pub const RISK: Sections = Sections(1 << 3);
    /// `[paper]`.
    pub const PAPER: Sections = Sections(1 << 4);
    /// `[venue]`.
    pub const VENUE: Sections = Sections(1 << 5);
    /// `[safety]`.
    pub const SAFETY: Sections = Sections(1 << 6);
    /// `[journal]`.
    pub const JOURNAL: Sections = Sections(1 << 7);

    const NAMES: [(Sections, &'static str); 8] = [
        (Sections::ENGINE, "[engine]"),
        (Sections::INSTRUMENTS, "[[instruments]]"),
        (Sections::SIGNAL, "[signal]"),
        (Sections::RISK, "[risk]"),
        (Sections::PAPER, "[paper]"),
        (Sections::VENUE, "[venue]"),
        (Sections::SAFETY, "[safety]"),
        (Sections::JOURNAL, "[journal]"),
    ];

    /// No section.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Every section of `other` is in `self`.
    pub const fn contains(self, other: Sections) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union.
    #[must_use]
    pub const fn with(self, other: Sections) -> Sections {
        Sections(self.0 | other.0)
    }

    /// The sections of `config` that differ from `baseline` (everything but `[strategy]`).
    pub fn changed(baseline: &Config, config: &Config) -> Sections {
        // Cold thread: comparing the Debug text covers every field of every section
        // without requiring `PartialEq` on each config type.
        let differs = |a: &dyn fmt::Debug, b: &dyn fmt::Debug| format!("{a:?}") != format!("{b:?}");
        let pairs: [(Sections, &dyn fmt::Debug, &dyn fmt::Debug); 8] = [
            (Sections::ENGINE, &baseline.engine, &config.engine),
            (
                Sections::INSTRUMENTS,
                &baseline.instruments,
                &config.instruments,
            ),
            (Sections::SIGNAL, &baseline.signal, &config.signal),
            (Sections::RISK, &baseline.risk, &config.risk),
            (Sections::PAPER, &baseline.paper, &config.paper),
            (Sections::VENUE, &baseline.venue, &config.venue),
            (Sections::SAFETY, &baseline.safety, &config.safety),
            (Sections::JOURNAL, &baseline.journal, &config.journal),
        ];
        pairs
            .iter()
            .filter(|(_, a, b)| differs(*a, *b))
            .fold(Sections::default(), |acc, (s, _, _)| acc.with(*s))
    }
}

impl fmt::Display for Sections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (s, name) in Sections::NAMES {
            if self.contains(s) {
                if !first {
                    f.write_str(", ")?;
                }
                first = false;
                f.write_str(name)?;
            }
        }
        Ok(())
    }
}

/// What one reload found, for the core thread (plain `Copy` data: the core never allocates
/// taking it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReloadEvent {
    /// New, validated strategy parameters to apply between ticks.
    Apply {
        /// The parameters.
        strategy: StrategyConfig,
        /// Other sections that changed and wait for a restart.
        restart_needed: Sections,
    },
    /// The strategy parameters are the ones running.
    Unchanged {
        /// Other sections that changed and wait for a restart.
        restart_needed: Sections,
    },
    /// The file could not be read or is invalid: the running parameters stay.
    Rejected,
}

impl ReloadEvent {
    /// The journal note (fits the journal's fixed-size text).
    pub fn journal_text(&self) -> &'static str {
        match self {
            ReloadEvent::Apply { restart_needed, .. } if restart_needed.is_empty() => {
                "strategy params reloaded"
            }
            ReloadEvent::Apply { .. } => "strategy params reloaded; restart needed too",
            ReloadEvent::Unchanged { restart_needed } if restart_needed.is_empty() => {
                "param reload: no change"
            }
            ReloadEvent::Unchanged { .. } => "param reload: changes need a restart",
            ReloadEvent::Rejected => "param reload rejected (invalid config)",
        }
    }

    /// A few words for the service manager's status line.
    pub fn status_text(&self) -> &'static str {
        match self {
            ReloadEvent::Apply { restart_needed, .. } if restart_needed.is_empty() => {
                "parameters reloaded"
            }
            ReloadEvent::Apply { .. } => "parameters reloaded, other changes need a restart",
            ReloadEvent::Unchanged { restart_needed } if restart_needed.is_empty() => {
                "reload: no change"
            }
            ReloadEvent::Unchanged { .. } => "reload: changes need a restart",
            ReloadEvent::Rejected => "reload rejected: invalid config, see log",
        }
    }
}

/// Reload outcomes counted by the core thread (for the run report).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReloadCounts {
    /// New strategy parameters applied.
    pub applied: u64,
    /// Files rejected (the running parameters stayed).
    pub rejected: u64,
    /// Reloads that found the strategy parameters unchanged.
    pub unchanged: u64,
    /// Sections the last reload found changed that need a restart.
    pub restart_needed: Sections,
}

impl ReloadCounts {
    /// Counts one outcome.
    pub fn count(&mut self, event: &ReloadEvent) {
        match event {
            ReloadEvent::Apply { restart_needed, .. } => {
                self.applied += 1;
                self.restart_needed = *restart_needed;
            }
            ReloadEvent::Unchanged { restart_needed } => {
                self.unchanged += 1;
                self.restart_needed = *restart_needed;
            }
            ReloadEvent::Rejected => self.rejected += 1,
        }
    }
}

/// One check of the file: the outcome and the line for stderr.
#[derive(Debug, Clone)]
pub struct Checked {
    /// What the core should do.
    pub event: ReloadEvent,
    /// What the operator reads (names the file, and the reason when rejected).
    pub message: String,
}

/// Reads and validates `path` with the config loader and compares it with what runs:
/// `running` strategy parameters and `signal` section, and `baseline` (the file as it was
/// at start) for every other section.
pub fn check(
    path: &Path,
    baseline: &Config,
    running: &StrategyConfig,
    signal: &SignalConfig,
) -> Checked {
    let rejected = |why: String| Checked {
        event: ReloadEvent::Rejected,
        message: format!("parameter reload rejected, the running parameters stay: {why}"),
    };
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => return rejected(e.to_string()),
    };
    if let Err(m) = config.strategy.validate_against(signal) {
        return rejected(format!(
            "invalid config {}: [strategy] {m} (of the running engine: [signal] changes need a restart)",
            path.display()
        ));
    }
    let restart_needed = Sections::changed(baseline, &config);
    let restart = if restart_needed.is_empty() {
        String::new()
    } else {
        format!("; {restart_needed} changed too but need a restart (ignored until then)")
    };
    if config.strategy == *running {
        return Checked {
            event: ReloadEvent::Unchanged { restart_needed },
            message: format!(
                "parameter reload of {}: strategy parameters unchanged{restart}",
                path.display()
            ),
        };
    }
    Checked {
        event: ReloadEvent::Apply {
            strategy: config.strategy,
            restart_needed,
        },
        message: format!(
            "parameter reload of {}: [strategy] {}{restart}",
            path.display(),
            strategy_diff(running, &config.strategy)
        ),
    }
}

/// `key old -> new` for every strategy parameter that differs.
fn strategy_diff(old: &StrategyConfig, new: &StrategyConfig) -> String {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(old), serde_json::to_value(new))
    else {
        return "changed".into();
    };
    let parts: Vec<String> = a
        .iter()
        .filter_map(|(k, va)| {
            let vb = b.get(k)?;
            (va != vb).then(|| format!("{k} {va} -> {vb}"))
        })
        .collect();
    parts.join(", ")
}

/// How a reload thread is set up.
#[derive(Debug)]
pub struct ReloadSetup {
    /// The config file.
    pub path: PathBuf,
    /// The configuration running now (its strategy and signal sections are the reference).
    pub running: Config,
    /// Watch the file's directory with inotify.
    pub watch_file: bool,
    /// Reload on SIGHUP (installs a handler for the process; `obi-engine run` does).
    pub sighup: bool,
    /// Where `RELOADING=1` goes (may be disabled).
    pub notifier: Notifier,
}

/// The reload thread; dropping it stops the thread and removes the SIGHUP handler's action.
#[derive(Debug)]
pub struct Reloader {
    stop: Arc<AtomicBool>,
    requested: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
    signal_id: Option<signal_hook::SigId>,
    watching: bool,
}

impl Reloader {
    /// Starts the thread. When this returns, the SIGHUP handler (if asked for) and the
    /// directory watch are in place. The consumer goes to the core thread.
    pub fn spawn(setup: ReloadSetup) -> std::io::Result<(Reloader, rtrb::Consumer<ReloadEvent>)> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKE_TOKEN)?);
        let mut signal_id = None;
        let mut signal_rx = None;
        if setup.sighup {
            let (rx, tx) = UnixStream::pair()?;
            rx.set_nonblocking(true)?;
            tx.set_nonblocking(true)?;
            poll.registry().register(
                &mut mio::unix::SourceFd(&rx.as_raw_fd()),
                SIGNAL_TOKEN,
                Interest::READABLE,
            )?;
            signal_id = Some(signal_hook::low_level::pipe::register(
                signal_hook::consts::SIGHUP,
                tx,
            )?);
            signal_rx = Some(rx);
        }
        let file_name = setup.path.file_name().map(OsString::from);
        let inotify = if setup.watch_file {
            match watch_dir(&setup.path, &poll) {
                Ok(ino) => Some(ino),
                Err(e) => {
                    eprintln!(
                        "obi-engine: cannot watch {} for changes ({e}); parameters reload on SIGHUP only",
                        setup.path.display()
                    );
                    None
                }
            }
        } else {
            None
        };
        let watching = inotify.is_some();
        let (tx, rx) = rtrb::RingBuffer::new(RELOAD_RING_CAPACITY);
        let stop = Arc::new(AtomicBool::new(false));
        let requested = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            poll,
            baseline: baseline_of(&setup.path, &setup.running),
            current: setup.running.strategy,
            signal: setup.running.signal.clone(),
            path: setup.path,
            file_name,
            inotify,
            signal_rx,
            notifier: setup.notifier,
            tx,
            stop: Arc::clone(&stop),
            requested: Arc::clone(&requested),
        };
        let thread = std::thread::Builder::new()
            .name("obi-reload".into())
            .spawn(move || worker.run());
        let thread = match thread {
            Ok(t) => t,
            Err(e) => {
                if let Some(id) = signal_id {
                    signal_hook::low_level::unregister(id);
                }
                return Err(e);
            }
        };
        Ok((
            Reloader {
                stop,
                requested,
                waker,
                thread: Some(thread),
                signal_id,
                watching,
            },
            rx,
        ))
    }

    /// Asks for a reload now (as SIGHUP would).
    pub fn request(&self) {
        self.requested.store(true, Ordering::Release);
        let _ = self.waker.wake();
    }

    /// True when the file's directory is watched (else only SIGHUP and requests reload).
    pub fn is_watching(&self) -> bool {
        self.watching
    }
}

impl Drop for Reloader {
    fn drop(&mut self) {
        if let Some(id) = self.signal_id.take() {
            // The process keeps signal-hook's handler, now without action: a later SIGHUP
            // is ignored rather than ending the process.
            signal_hook::low_level::unregister(id);
        }
        self.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The file as loaded at start, so overrides of the running config (e.g. `--shm-path`) are
/// not mistaken for edits; the running config when the file no longer loads.
fn baseline_of(path: &Path, running: &Config) -> Config {
    Config::load(path).unwrap_or_else(|_| running.clone())
}

/// Watches the directory of `path` for files written or moved in, in `poll`.
fn watch_dir(path: &Path, poll: &Poll) -> std::io::Result<Inotify> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let inotify = Inotify::init()?;
    inotify.watches().add(
        dir,
        // Written and closed, or renamed in: never a half-written file (no CREATE/MODIFY).
        WatchMask::CLOSE_WRITE | WatchMask::MOVED_TO,
    )?;
    poll.registry().register(
        &mut mio::unix::SourceFd(&inotify.as_raw_fd()),
        INOTIFY_TOKEN,
        Interest::READABLE,
    )?;
    Ok(inotify)
}

struct Worker {
    poll: Poll,
    baseline: Config,
    current: StrategyConfig,
    signal: SignalConfig,
    path: PathBuf,
    file_name: Option<OsString>,
    inotify: Option<Inotify>,
    signal_rx: Option<UnixStream>,
    notifier: Notifier,
    tx: rtrb::Producer<ReloadEvent>,
    stop: Arc<AtomicBool>,
    requested: Arc<AtomicBool>,
}

impl Worker {
    fn run(mut self) {
        let mut events = Events::with_capacity(16);
        let mut buf = [0u8; 4096];
        let debounce = Duration::from_millis(DEBOUNCE_MS);
        // Last change to the file seen since the last reload.
        let mut changed_at: Option<Instant> = None;
        loop {
            let timeout = changed_at.map(|t| debounce.saturating_sub(t.elapsed()));
            if let Err(e) = self.poll.poll(&mut events, timeout)
                && e.kind() != ErrorKind::Interrupted
            {
                eprintln!("obi-engine: the parameter reload thread stopped: {e}");
                return;
            }
            let mut now = false;
            for event in events.iter() {
                match event.token() {
                    SIGNAL_TOKEN => {
                        if let Some(rx) = &mut self.signal_rx {
                            while rx.read(&mut buf).is_ok_and(|n| n > 0) {}
                        }
                        now = true;
                    }
                    INOTIFY_TOKEN if self.file_touched(&mut buf) => {
                        changed_at = Some(Instant::now());
                    }
                    _ => {}
                }
            }
            if self.stop.load(Ordering::Acquire) {
                return;
            }
            now |= self.requested.swap(false, Ordering::AcqRel);
            now |= changed_at.is_some_and(|t| t.elapsed() >= debounce);
            if now {
                changed_at = None;
                self.reload();
            }
        }
    }

    /// Drains inotify; true when an event names the config file.
    fn file_touched(&mut self, buf: &mut [u8]) -> bool {
        let Some(ino) = &mut self.inotify else {
            return false;
        };
        let mut hit = false;
        loop {
            match ino.read_events(buf) {
                Ok(events) => {
                    let mut any = false;
                    for e in events {
                        any = true;
                        hit |= e.name.is_some_and(|n| Some(n) == self.file_name.as_deref());
                    }
                    if !any {
                        return hit;
                    }
                }
                Err(_) => return hit,
            }
        }
    }

    fn reload(&mut self) {
        self.notifier.reloading();
        let checked = check(&self.path, &self.baseline, &self.current, &self.signal);
        eprintln!("obi-engine: {}", checked.message);
        match self.tx.push(checked.event) {
            Ok(()) => {
                if let ReloadEvent::Apply { strategy, .. } = checked.event {
                    self.current = strategy;
                }
            }
            Err(_) => {
                // The core has not taken the last outcomes: nothing changes; say so, and
                // close the RELOADING=1 bracket here.
                eprintln!(
                    "obi-engine: parameter reload dropped: the core thread is not taking reloads"
                );
                if self.notifier.announced() {
                    self.notifier.ready(format_args!("reload dropped"));
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::journal::OPERATOR_TEXT_MAX;

    #[test]
    fn section_names_and_journal_texts_fit() {
        let s = Sections::RISK.with(Sections::VENUE);
        assert_eq!(s.to_string(), "[risk], [venue]");
        assert!(Sections::default().is_empty());
        let events = [
            ReloadEvent::Apply {
                strategy: StrategyConfig::default(),
                restart_needed: Sections::default(),
            },
            ReloadEvent::Apply {
                strategy: StrategyConfig::default(),
                restart_needed: s,
            },
            ReloadEvent::Unchanged {
                restart_needed: Sections::default(),
            },
            ReloadEvent::Unchanged { restart_needed: s },
            ReloadEvent::Rejected,
        ];
        for e in events {
            assert!(e.journal_text().len() <= OPERATOR_TEXT_MAX, "{e:?}");
        }
        let mut c = ReloadCounts::default();
        for e in &events {
            c.count(e);
        }
        assert_eq!((c.applied, c.unchanged, c.rejected), (2, 2, 1));
        assert_eq!(c.restart_needed, s);
    }

    #[test]
    fn diff_names_changed_keys() {
        let old = StrategyConfig::default();
        let new = StrategyConfig {
            long_threshold: 0.5,
            order_qty_lots: 3,
            ..old
        };
        let d = strategy_diff(&old, &new);
        assert!(d.contains("long_threshold 0.3 -> 0.5"), "{d}");
        assert!(d.contains("order_qty_lots 1 -> 3"), "{d}");
        assert!(!d.contains("short_threshold"), "{d}");
    }
}
