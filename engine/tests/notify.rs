//! systemd readiness: `obi-engine run` in paper mode against a loopback market, with
//! `NOTIFY_SOCKET` pointing at a datagram socket this test listens on. `READY=1` comes only
//! once the book is synchronised; `STATUS=` follows state changes (syncing, trading, halted
//! by a kill file); `RELOADING=1` with `MONOTONIC_USEC=` and `READY=1` bracket a SIGHUP
//! reload; `STOPPING=1` comes on SIGTERM.

mod common;

use common::market_server::RecordedMarket;
use obi_shm::{CounterId, ReaderState, StatsReader};
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A REST endpoint that refuses snapshot requests (closes the connection) until `open`,
/// then serves `snapshot`: the book cannot synchronise before the test allows it.
fn snapshot_gate(snapshot: String) -> (SocketAddr, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let open = Arc::new(AtomicBool::new(false));
    let gate = Arc::clone(&open);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            if !gate.load(Ordering::Acquire) {
                continue; // dropped: the engine counts a failure and asks again later
            }
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{snapshot}",
                    snapshot.len()
                )
                .as_bytes(),
            );
        }
    });
    (addr, open)
}

/// Every message received so far, in order.
struct Listener {
    socket: UnixDatagram,
    seen: Vec<String>,
}

impl Listener {
    /// Takes messages until one contains `what` (a deadline is a failure); returns it.
    fn wait_for(&mut self, what: &str) -> String {
        let start = Instant::now();
        loop {
            if let Some(m) = self.recv()
                && m.contains(what)
            {
                return m;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "no notification with {what:?}; got {:?}",
                self.seen
            );
        }
    }

    fn recv(&mut self) -> Option<String> {
        let mut buf = [0u8; 4096];
        let n = self.socket.recv(&mut buf).ok()?;
        let m = String::from_utf8_lossy(&buf[..n]).into_owned();
        self.seen.push(m.clone());
        Some(m)
    }
}

fn frames_published(path: &Path) -> u64 {
    match StatsReader::open(path) {
        ReaderState::Ready(view) => view.counters().get(CounterId::FramesTotal),
        _ => 0,
    }
}

fn kill(signal: &str, pid: u32) {
    let ok = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill {signal} {pid}");
}

#[test]
fn ready_status_reload_and_stopping_reach_the_service_manager() {
    let Some(data) = common::shared_data("ready_status_reload_and_stopping") else {
        return;
    };
    let lines =
        common::recording::read_lines(&data.join("hftbacktest-sample/usdm/ethusdt_20240808.gz"));
    let json = |l: &String| l.split_once(' ').map(|(_, j)| j.to_string());
    let snapshot = lines
        .iter()
        .find(|l| common::recording::is_snapshot(l))
        .and_then(json)
        .expect("snapshot");
    let frames: Vec<String> = lines
        .iter()
        .filter(|l| !common::recording::is_snapshot(l))
        .filter_map(json)
        .take(5_000)
        .collect();
    let total = frames.len();
    let (rest, gate) = snapshot_gate(snapshot.clone());
    let server = RecordedMarket::start(snapshot, frames);
    let dir = common::scratch_dir("notify-e2e");
    let stats = dir.join("engine.stats");
    let state = dir.join("state");
    let base = server.addr;
    let path = dir.join("engine.toml");
    std::fs::write(
        &path,
        format!(
            "[engine]\nshm_path = \"{}\"\nstate_dir = \"{}\"\npublish_interval_ms = 5\npoll_mode = \"block\"\n\
             [[instruments]]\nsymbol = \"ETHUSDT\"\nmarket = \"usdm\"\ntick_size = \"0.01\"\nlot_size = \"0.001\"\n\
             [venue]\nmode = \"paper\"\nrest_url = \"http://{rest}\"\nstream_url = \"ws://{base}\"\nws_api_url = \"ws://{base}/ws-api/v3\"\ndepth_stream = \"depth@0ms\"\nstale_feed_ms = 60000\n",
            stats.display(),
            state.display()
        ),
    )
    .expect("config");
    let sock_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&sock_path).expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut listener = Listener {
        socket,
        seen: Vec::new(),
    };
    let child = Command::new(env!("CARGO_BIN_EXE_obi-engine"))
        .args(["run", "--report", "json", "--duration-s", "600", "--config"])
        .arg(&path)
        .env("NOTIFY_SOCKET", &sock_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run obi-engine");

    // Frames flow but no snapshot can be had: the book cannot synchronise, so the engine
    // says it is syncing and is not ready, even with every frame taken.
    server.released.store(total, Ordering::Release);
    listener.wait_for("STATUS=syncing books");
    let start = Instant::now();
    while frames_published(&stats) < total as u64 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "frames not taken"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    while listener.recv().is_some() {}
    assert!(
        !listener.seen.iter().any(|m| m.contains("READY=1")),
        "READY=1 before the book was synchronised: {:?}",
        listener.seen
    );

    gate.store(true, Ordering::Release);
    let ready = listener.wait_for("READY=1");
    assert_eq!(ready, "READY=1\nSTATUS=trading");

    // A reload bracketed for Type=notify-reload.
    kill("-HUP", child.id());
    let reloading = listener.wait_for("RELOADING=1");
    let usec: u64 = reloading
        .lines()
        .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no MONOTONIC_USEC in {reloading:?}"));
    assert!(usec > 0);
    let done = listener.wait_for("READY=1");
    assert!(done.contains("reload: no change"), "{done}");

    // A kill file halts: the status says why.
    std::fs::write(state.join("KILL"), "test").expect("kill file");
    listener.wait_for("STATUS=halted by kill_file");

    kill("-TERM", child.id());
    let stopping = listener.wait_for("STOPPING=1");
    assert!(stopping.contains("stop signal"), "{stopping}");
    let out = child.wait_with_output().expect("obi-engine exits");
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // One READY=1 for start-up and one closing the reload: never one per frame.
    let readies = listener
        .seen
        .iter()
        .filter(|m| m.contains("READY=1"))
        .count();
    assert_eq!(readies, 2, "{:?}", listener.seen);
}
