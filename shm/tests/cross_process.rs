//! Engine and agent in two processes: the test re-runs its own binary as the writer child.
#![cfg(not(loom))]

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use obi_shm::{
    CounterId, GaugeId, InstrumentGaugeId, ReaderState, StatsReader, StatsWriter, WriterInfo,
};

/// Set (to the stats path) only in the child process.
const CHILD_ENV: &str = "OBI_SHM_TEST_CHILD_PATH";
const MARKER_NS: i64 = 1_234_567_890;
const KILL_REASON: u32 = 42;
const TIMEOUT: Duration = Duration::from_secs(20);

/// The child role: a miniature engine. A no-op when run as an ordinary test.
#[test]
fn child_engine_role() {
    let Some(path) = std::env::var_os(CHILD_ENV).map(PathBuf::from) else {
        return;
    };
    // Give the parent time to observe NoFile / early states before the file appears.
    thread::sleep(Duration::from_millis(50));
    let mut writer = StatsWriter::create(
        &path,
        &WriterInfo {
            pid: std::process::id(),
            start_unix_ns: 1_000,
            instruments: &["BTCUSDT", "ETHUSDT"],
        },
    )
    .expect("child: create writer");
    writer.set_counter(CounterId::FramesTotal, 1_000);
    writer.add_counter(CounterId::BytesTotal, 64_000);
    writer.publish(|g| {
        g.set(GaugeId::LatencyP99Ns, 850);
        g.set_instrument(1, InstrumentGaugeId::ObiPpm, -250_000);
        // Last: the parent waits for this marker before checking values.
        g.set(GaugeId::LastPublishUnixNs, MARKER_NS);
    });
    let start = Instant::now();
    let mut beat = 2_000;
    loop {
        assert!(start.elapsed() < TIMEOUT, "child: no kill request arrived");
        writer.heartbeat(beat);
        beat += 1;
        if let Some(seq) = writer.poll_control().kill_seq {
            let reason = writer.poll_control().kill_reason_code;
            writer.add_counter(CounterId::KillRequestsAckedTotal, 1);
            writer.publish(|g| g.set(GaugeId::KillState, i64::from(reason)));
            writer.ack_kill(seq);
            return;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < TIMEOUT, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn agent_reads_engine_in_another_process_and_kills_it() {
    let dir = common::TempDir::new("xproc");
    let path = dir.path().join("engine.stats");
    assert!(matches!(StatsReader::open(&path), ReaderState::NoFile));

    let mut child = Command::new(std::env::current_exe().expect("current exe"))
        .args([
            "--exact",
            "child_engine_role",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn child");

    let mut states = Vec::new();
    let view = wait_for("Ready", || match StatsReader::open(&path) {
        ReaderState::Ready(view) => Some(view),
        ReaderState::Incompatible { found, expected } => {
            panic!("incompatible {found} vs {expected}")
        }
        other => {
            if states.last() != Some(&other.name()) {
                states.push(other.name());
            }
            None
        }
    });
    assert_eq!(states.first(), Some(&"no_file"), "states seen: {states:?}");

    let gauges = wait_for("the child's first publish", || {
        view.gauges()
            .ok()
            .filter(|g| g.get(GaugeId::LastPublishUnixNs) == MARKER_NS)
    });
    assert_eq!(gauges.get(GaugeId::LatencyP99Ns), 850);
    assert_eq!(
        gauges.instrument(1, InstrumentGaugeId::ObiPpm),
        Some(-250_000)
    );

    let header = view.header();
    assert_eq!(header.pid, child.id());
    assert_eq!(header.start_unix_ns, 1_000);
    assert_eq!(header.instruments, ["BTCUSDT", "ETHUSDT"]);
    let counters = view.counters();
    assert_eq!(counters.get(CounterId::FramesTotal), 1_000);
    assert_eq!(counters.get(CounterId::BytesTotal), 64_000);
    wait_for("a heartbeat", || {
        (view.header().heartbeat_unix_ns >= 2_000).then_some(())
    });

    let seq = view.request_kill(KILL_REASON);
    assert_eq!(seq, 1);
    assert!(view.control_state().kill_request_seq >= seq);
    wait_for("the kill ack", || {
        let state = view.control_state();
        (state.kill_ack_seq >= seq).then_some(state)
    });
    // The child published before acking; its Release ack pairs with our Acquire load.
    assert_eq!(view.counters().get(CounterId::KillRequestsAckedTotal), 1);
    let gauges = view.gauges().expect("gauges after ack");
    assert_eq!(gauges.get(GaugeId::KillState), i64::from(KILL_REASON));

    let status = child.wait().expect("wait for child");
    assert!(status.success(), "child exited with {status}");
    assert!(!view.is_stale(), "the child leaves its file in place");
}
