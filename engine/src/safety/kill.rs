//! Kill inputs the engine honours by itself: kill files (inotify in the core thread's poll
//! set, or a coarse timed `stat` when inotify is unavailable) and `OBI_KILL` at start.
//!
//! The shm control word and signals reach the core loop elsewhere; all of them end in
//! [`super::Breakers::on_kill`].

use super::config::KillConfig;
use super::reason::ReasonCode;
use inotify::{Inotify, WatchMask};
use std::ffi::{OsStr, OsString};
use std::io::ErrorKind;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

const NS_PER_MS: u64 = 1_000_000;

/// A kill file appeared (or was present when the watch started).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KillInput {
    /// Index of the file in the watch's path list ([`KillWatch::path`]).
    pub path_index: usize,
    /// Always [`ReasonCode::KillFile`].
    pub reason: ReasonCode,
}

/// Why the kill watch cannot start.
#[derive(Debug, thiserror::Error)]
pub enum KillError {
    /// A kill path has no file name or no directory.
    #[error("kill file path {} is not usable (it needs a directory and a file name)", .0.display())]
    BadPath(PathBuf),
    /// A kill file's directory does not exist (it could never be created there).
    #[error("the directory of kill file {} does not exist", .0.display())]
    MissingDirectory(PathBuf),
    /// inotify could not watch a directory that exists.
    #[error("cannot watch {} for kill files: {source}", path.display())]
    Watch {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// One kill file.
#[derive(Debug)]
struct KillFile {
    path: PathBuf,
    present: bool,
    reported: bool,
}

/// Watches kill files without touching the file system on every tick.
///
/// With inotify (default), the parent directory of each file is watched for create,
/// move and delete; register [`fd`](Self::fd) in the core thread's `mio::Poll`
/// ([`register`](Self::register)) and call [`on_readable`](Self::on_readable) when its
/// token fires: the next [`poll`](Self::poll) drains the events and `stat`s the files.
/// A backstop `stat` runs every `backstop_interval_ms` anyway. Without inotify the files
/// are `stat`ed every `check_interval_ms`. A file present at start is reported by the
/// first `poll`. Nothing allocates after [`new`](Self::new).
#[derive(Debug)]
pub struct KillWatch {
    files: Vec<KillFile>,
    inotify: Option<Inotify>,
    readable: bool,
    interval_ns: u64,
    next_check_ns: u64,
    buf: Box<[u8; 4096]>,
    /// inotify read errors other than "nothing to read" (the timed check still runs).
    pub read_errors: u64,
}

impl KillWatch {
    /// Watches `paths` (e.g. `<state_dir>/KILL` and `config.extra_paths`) as `config`
    /// says. Each path's directory must exist. If inotify cannot be initialised the
    /// watch falls back to the timed check ([`uses_inotify`](Self::uses_inotify) says so).
    pub fn new(paths: &[PathBuf], config: &KillConfig) -> Result<KillWatch, KillError> {
        let mut files = Vec::with_capacity(paths.len());
        let mut dirs: Vec<PathBuf> = Vec::new();
        for p in paths {
            if p.file_name().is_none() {
                return Err(KillError::BadPath(p.clone()));
            }
            let dir = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                Some(_) => PathBuf::from("."),
                None => return Err(KillError::BadPath(p.clone())),
            };
            if !dir.is_dir() {
                return Err(KillError::MissingDirectory(p.clone()));
            }
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
            files.push(KillFile {
                path: p.clone(),
                present: false,
                reported: false,
            });
        }
        let inotify = if config.use_inotify {
            match Inotify::init() {
                Ok(ino) => {
                    let mask = WatchMask::CREATE
                        | WatchMask::MOVED_TO
                        | WatchMask::MOVED_FROM
                        | WatchMask::DELETE
                        | WatchMask::DELETE_SELF
                        | WatchMask::MOVE_SELF
                        | WatchMask::ATTRIB;
                    for d in &dirs {
                        ino.watches()
                            .add(d, mask)
                            .map_err(|source| KillError::Watch {
                                path: d.clone(),
                                source,
                            })?;
                    }
                    Some(ino)
                }
                Err(_) => None,
            }
        } else {
            None
        };
        let interval_ms = if inotify.is_some() {
            config.backstop_interval_ms
        } else {
            config.check_interval_ms
        };
        let mut watch = KillWatch {
            files,
            inotify,
            readable: false,
            interval_ns: interval_ms.max(1).saturating_mul(NS_PER_MS),
            next_check_ns: 0,
            buf: Box::new([0u8; 4096]),
            read_errors: 0,
        };
        watch.check_files();
        Ok(watch)
    }

    /// True when inotify is in use (else the timed check is all there is).
    pub fn uses_inotify(&self) -> bool {
        self.inotify.is_some()
    }

    /// The inotify file descriptor to poll for readability, if inotify is in use.
    pub fn fd(&self) -> Option<RawFd> {
        self.inotify.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// Registers the inotify descriptor in `registry` under `token` (readable, edge
    /// triggered). Does nothing without inotify.
    pub fn register(&self, registry: &mio::Registry, token: mio::Token) -> std::io::Result<()> {
        match self.fd() {
            Some(fd) => registry.register(
                &mut mio::unix::SourceFd(&fd),
                token,
                mio::Interest::READABLE,
            ),
            None => Ok(()),
        }
    }

    /// Removes the descriptor from `registry`.
    pub fn deregister(&self, registry: &mio::Registry) -> std::io::Result<()> {
        match self.fd() {
            Some(fd) => registry.deregister(&mut mio::unix::SourceFd(&fd)),
            None => Ok(()),
        }
    }

    /// The registered token fired: the next [`poll`](Self::poll) reads the events.
    #[inline]
    pub fn on_readable(&mut self) {
        self.readable = true;
    }

    /// Non-blocking: drains inotify events if the descriptor was readable, `stat`s the
    /// files if anything changed or the timed check is due, and returns a kill file that
    /// appeared since the last report (one per call). `now_ns` is any monotonic clock.
    #[inline]
    pub fn poll(&mut self, now_ns: u64) -> Option<KillInput> {
        let mut check = false;
        if self.readable {
            self.readable = false;
            check |= self.drain_events();
        }
        if now_ns >= self.next_check_ns {
            self.next_check_ns = now_ns.saturating_add(self.interval_ns);
            check = true;
        }
        if check {
            self.check_files();
        }
        self.next_report()
    }

    /// True while any kill file exists (as of the last check).
    #[inline]
    pub fn is_present(&self) -> bool {
        self.files.iter().any(|f| f.present)
    }

    /// `stat`s every file now (cold paths: a reset request double-checks with this).
    pub fn recheck(&mut self) -> bool {
        self.check_files();
        self.is_present()
    }

    /// The path with index `i`.
    pub fn path(&self, i: usize) -> Option<&Path> {
        self.files.get(i).map(|f| f.path.as_path())
    }

    /// Number of watched files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when no file is watched.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Reads every pending event; true if there was any (or reading failed: check then).
    fn drain_events(&mut self) -> bool {
        let Some(ino) = self.inotify.as_mut() else {
            return false;
        };
        let mut any = false;
        loop {
            match ino.read_events(&mut self.buf[..]) {
                Ok(mut events) => {
                    // Any event in a watched directory (or a queue overflow) means: look.
                    if events.next().is_some() {
                        any = true;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return any,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.read_errors += 1;
                    return true;
                }
            }
        }
    }

    fn check_files(&mut self) {
        for f in &mut self.files {
            // Fail closed: anything but "not found" counts as present.
            let present = match std::fs::symlink_metadata(&f.path) {
                Ok(_) => true,
                Err(e) => e.kind() != ErrorKind::NotFound,
            };
            if !present {
                f.reported = false;
            }
            f.present = present;
        }
    }

    fn next_report(&mut self) -> Option<KillInput> {
        let (i, f) = self
            .files
            .iter_mut()
            .enumerate()
            .find(|(_, f)| f.present && !f.reported)?;
        f.reported = true;
        Some(KillInput {
            path_index: i,
            reason: ReasonCode::KillFile,
        })
    }
}

/// What `OBI_KILL` said at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvKill {
    /// Not set.
    Unset,
    /// Set to an explicit "off": `0`, `false`, `no`, `off` or empty.
    Off,
    /// Set to `1`, `true`, `yes` or `on`: start halted.
    On,
    /// Set to anything else: start halted (fail closed) and say so.
    Unrecognized,
}

impl EnvKill {
    /// True when the engine must start halted.
    pub const fn halts(self) -> bool {
        matches!(self, EnvKill::On | EnvKill::Unrecognized)
    }
}

/// Interprets the value of `OBI_KILL` (pure: pass `std::env::var_os("OBI_KILL").as_deref()`).
pub fn env_kill(value: Option<&OsStr>) -> EnvKill {
    let Some(v) = value else {
        return EnvKill::Unset;
    };
    let Some(text) = v.to_str() else {
        return EnvKill::Unrecognized;
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" | "off" => EnvKill::Off,
        "1" | "true" | "yes" | "on" => EnvKill::On,
        _ => EnvKill::Unrecognized,
    }
}

/// `OBI_KILL` of this process.
pub fn env_kill_from_process() -> EnvKill {
    let value: Option<OsString> = std::env::var_os("OBI_KILL");
    env_kill(value.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values() {
        let k = |s: &str| env_kill(Some(OsStr::new(s)));
        assert_eq!(env_kill(None), EnvKill::Unset);
        assert_eq!(k("1"), EnvKill::On);
        assert_eq!(k(" TRUE "), EnvKill::On);
        assert_eq!(k("0"), EnvKill::Off);
        assert_eq!(k(""), EnvKill::Off);
        assert_eq!(k("maybe"), EnvKill::Unrecognized);
        assert!(k("maybe").halts() && k("yes").halts());
        assert!(!k("off").halts() && !EnvKill::Unset.halts());
    }
}
