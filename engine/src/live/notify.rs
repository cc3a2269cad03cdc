//! systemd readiness notifications (`sd_notify`): `READY=1`, `STATUS=`, `RELOADING=1`,
//! `STOPPING=1` over the datagram socket named by `NOTIFY_SOCKET`.
//!
//! Without `NOTIFY_SOCKET` every call is a no-op. Messages are formatted into a stack buffer
//! and sent on a socket connected once at start, so a call never allocates; it is still a
//! system call, so the run loop sends only on state changes, never per frame.

use std::ffi::OsStr;
use std::fmt;
use std::io::Write as _;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Longest message sent, bytes (longer text is cut).
const MESSAGE_MAX: usize = 256;

/// A connection to the service manager's notification socket, or nothing.
///
/// Handles made with [`try_clone`](Self::try_clone) share whether `READY=1` was sent: a
/// reload before that sends neither `RELOADING=1` nor a second `READY=1`, so `READY=1`
/// never comes before the books are synchronised.
#[derive(Debug, Default)]
pub struct Notifier {
    socket: Option<UnixDatagram>,
    announced: Arc<AtomicBool>,
    /// Messages the socket refused (the manager went away; nothing else happens).
    pub send_errors: u64,
}

impl Notifier {
    /// From `NOTIFY_SOCKET` in the environment; disabled when it is unset or unusable.
    pub fn from_env() -> Notifier {
        match std::env::var_os("NOTIFY_SOCKET") {
            Some(path) => Notifier::connect(&path).unwrap_or_else(|e| {
                eprintln!(
                    "obi-engine: NOTIFY_SOCKET={} cannot be used ({e}); no readiness notifications",
                    path.to_string_lossy()
                );
                Notifier::disabled()
            }),
            None => Notifier::disabled(),
        }
    }

    /// A notifier that sends nothing.
    pub fn disabled() -> Notifier {
        Notifier::default()
    }

    /// Connects to `path`: a file system socket, or an abstract one when it starts with `@`.
    pub fn connect(path: &OsStr) -> std::io::Result<Notifier> {
        let socket = UnixDatagram::unbound()?;
        let bytes = path.as_encoded_bytes();
        if let Some(name) = bytes.strip_prefix(b"@") {
            use std::os::linux::net::SocketAddrExt as _;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.connect_addr(&addr)?;
        } else {
            socket.connect(path)?;
        }
        socket.set_nonblocking(true)?;
        Ok(Notifier {
            socket: Some(socket),
            announced: Arc::default(),
            send_errors: 0,
        })
    }

    /// A second handle on the same socket (for another thread); disabled if cloning fails.
    pub fn try_clone(&self) -> Notifier {
        Notifier {
            socket: self.socket.as_ref().and_then(|s| s.try_clone().ok()),
            announced: Arc::clone(&self.announced),
            send_errors: 0,
        }
    }

    /// True when messages go somewhere.
    #[inline]
    pub fn is_enabled(&self) -> bool {
        self.socket.is_some()
    }

    /// Sends `msg` as written (`KEY=value` lines).
    pub fn send_fmt(&mut self, msg: fmt::Arguments<'_>) {
        let Some(socket) = &self.socket else { return };
        let mut buf = [0u8; MESSAGE_MAX];
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        // A message too long for the buffer is cut, never dropped.
        let _ = cursor.write_fmt(msg);
        let len = cursor.position() as usize;
        if socket.send(&buf[..len]).is_err() {
            self.send_errors += 1;
        }
    }

    /// True once `READY=1` was sent (by any handle on this socket).
    pub fn announced(&self) -> bool {
        self.announced.load(Ordering::Acquire)
    }

    /// `READY=1` with a status line.
    pub fn ready(&mut self, status: fmt::Arguments<'_>) {
        self.send_fmt(format_args!("READY=1\nSTATUS={status}"));
        self.announced.store(true, Ordering::Release);
    }

    /// `STATUS=` alone.
    pub fn status(&mut self, status: fmt::Arguments<'_>) {
        self.send_fmt(format_args!("STATUS={status}"));
    }

    /// `RELOADING=1` with `MONOTONIC_USEC=` (required by `Type=notify-reload`); nothing
    /// before `READY=1` was sent.
    pub fn reloading(&mut self) {
        if !self.is_enabled() || !self.announced() {
            return;
        }
        let usec = monotonic_usec();
        self.send_fmt(format_args!(
            "RELOADING=1\nMONOTONIC_USEC={usec}\nSTATUS=reloading parameters"
        ));
    }

    /// `STOPPING=1` with the reason.
    pub fn stopping(&mut self, reason: &str) {
        self.send_fmt(format_args!("STOPPING=1\nSTATUS=stopping: {reason}"));
    }
}

/// `CLOCK_MONOTONIC` now, microseconds (the clock systemd compares `MONOTONIC_USEC` with).
pub fn monotonic_usec() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (t.tv_sec.max(0) as u64) * 1_000_000 + (t.tv_nsec.max(0) as u64) / 1_000
}

/// What the engine is doing, as the service manager's status line says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineState {
    /// Waiting for books to synchronise (or, live, for the order gateway to log on).
    Syncing,
    /// Books synchronised, strategy on.
    Trading,
    /// Reduce-only after a breaker, with the reason's name.
    Reducing(&'static str),
    /// Halted, with the reason's name.
    Halted(&'static str),
    /// Recording only (never trades), books synchronised.
    Recording,
}

impl fmt::Display for EngineState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineState::Syncing => f.write_str("syncing books"),
            EngineState::Trading => f.write_str("trading"),
            EngineState::Reducing(why) => write!(f, "reduce-only by {why}"),
            EngineState::Halted(why) => write!(f, "halted by {why}"),
            EngineState::Recording => f.write_str("recording (not trading)"),
        }
    }
}

/// Sends `READY=1` once when the engine first becomes ready and `STATUS=` on every state
/// change; after a parameter reload it re-sends `READY=1` (the end of `RELOADING=1`).
#[derive(Debug)]
pub struct Readiness {
    notifier: Notifier,
    state: Option<EngineState>,
    ready_sent: bool,
}

impl Readiness {
    /// Around `notifier` (which may be disabled).
    pub fn new(notifier: Notifier) -> Readiness {
        Readiness {
            notifier,
            state: None,
            ready_sent: false,
        }
    }

    /// True when messages go somewhere (the caller may skip computing the state otherwise).
    #[inline]
    pub fn is_enabled(&self) -> bool {
        self.notifier.is_enabled()
    }

    /// The state now; `ready` says every book is synchronised (and, live, the gateway is
    /// logged on). Sends only when something changed.
    pub fn update(&mut self, state: EngineState, ready: bool) {
        if !self.notifier.is_enabled() {
            return;
        }
        if ready && !self.ready_sent {
            self.ready_sent = true;
            self.state = Some(state);
            self.notifier.ready(format_args!("{state}"));
        } else if self.state != Some(state) {
            self.state = Some(state);
            self.notifier.status(format_args!("{state}"));
        }
    }

    /// A parameter reload ended (the reload thread sent `RELOADING=1`): `READY=1` again,
    /// with what happened and the current state; before the first `READY=1`, the status
    /// line only.
    pub fn reload_done(&mut self, what: &str) {
        let state = self.state.unwrap_or(EngineState::Syncing);
        if self.ready_sent {
            self.notifier.ready(format_args!("{state}; {what}"));
        } else {
            self.notifier.status(format_args!("{state}; {what}"));
        }
    }

    /// The engine is stopping.
    pub fn stopping(&mut self, reason: &str) {
        self.notifier.stopping(reason);
    }

    /// Messages the socket refused.
    pub fn send_errors(&self) -> u64 {
        self.notifier.send_errors
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a failed unwrap is a failed test
mod tests {
    use super::*;

    fn bound() -> (tempfile::TempDir, UnixDatagram, Notifier) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let server = UnixDatagram::bind(&path).unwrap();
        server.set_nonblocking(true).unwrap();
        let n = Notifier::connect(path.as_os_str()).unwrap();
        (dir, server, n)
    }

    fn recv(server: &UnixDatagram) -> Option<String> {
        let mut buf = [0u8; 1024];
        server
            .recv(&mut buf)
            .ok()
            .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    #[test]
    fn disabled_sends_nothing_and_never_fails() {
        let mut n = Notifier::disabled();
        assert!(!n.is_enabled());
        n.ready(format_args!("x"));
        n.reloading();
        n.stopping("y");
        assert_eq!(n.send_errors, 0);
        let mut r = Readiness::new(Notifier::disabled());
        r.update(EngineState::Trading, true);
        r.reload_done("z");
    }

    #[test]
    fn readiness_sends_ready_once_and_status_on_change() {
        let (_dir, server, n) = bound();
        let mut reload_side = n.try_clone();
        let mut r = Readiness::new(n);
        r.update(EngineState::Syncing, false);
        assert_eq!(recv(&server).unwrap(), "STATUS=syncing books");
        // A reload before READY=1: no RELOADING=1, and no READY=1 closing it.
        reload_side.reloading();
        r.reload_done("parameters reloaded");
        assert_eq!(
            recv(&server).unwrap(),
            "STATUS=syncing books; parameters reloaded"
        );
        r.update(EngineState::Syncing, false);
        assert_eq!(recv(&server), None, "no change, no message");
        r.update(EngineState::Trading, true);
        assert_eq!(recv(&server).unwrap(), "READY=1\nSTATUS=trading");
        r.update(EngineState::Halted("kill_file"), true);
        assert_eq!(recv(&server).unwrap(), "STATUS=halted by kill_file");
        r.update(EngineState::Halted("kill_file"), true);
        assert_eq!(recv(&server), None);
        reload_side.reloading();
        assert!(recv(&server).unwrap().starts_with("RELOADING=1\n"));
        r.reload_done("parameters reloaded");
        assert_eq!(
            recv(&server).unwrap(),
            "READY=1\nSTATUS=halted by kill_file; parameters reloaded"
        );
        r.stopping("stop signal");
        assert_eq!(
            recv(&server).unwrap(),
            "STOPPING=1\nSTATUS=stopping: stop signal"
        );
    }

    #[test]
    fn reloading_carries_the_monotonic_clock() {
        let (_dir, server, mut n) = bound();
        n.reloading();
        assert_eq!(recv(&server), None, "nothing to reload before READY=1");
        n.ready(format_args!("trading"));
        assert!(recv(&server).is_some());
        let before = monotonic_usec();
        n.reloading();
        let msg = recv(&server).unwrap();
        let usec: u64 = msg
            .lines()
            .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
            .unwrap()
            .parse()
            .unwrap();
        assert!(msg.starts_with("RELOADING=1\n"), "{msg}");
        assert!(usec >= before, "{usec} < {before}");
    }

    #[test]
    fn abstract_socket_and_long_text_are_handled() {
        let name = format!("obi-notify-test-{}", std::process::id());
        use std::os::linux::net::SocketAddrExt as _;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let server = UnixDatagram::bind_addr(&addr).unwrap();
        server.set_nonblocking(true).unwrap();
        let mut n = Notifier::connect(OsStr::new(&format!("@{name}"))).unwrap();
        n.status(format_args!("{}", "x".repeat(1000)));
        let msg = recv(&server).unwrap();
        assert_eq!(msg.len(), MESSAGE_MAX, "cut at the buffer");
        assert!(Notifier::connect(OsStr::new("/nonexistent/obi.sock")).is_err());
    }
}
