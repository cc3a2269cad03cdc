//! The live path over loopback with real data: the USD-M recording is served as a venue
//! would serve it (REST snapshot + combined-stream WebSocket), and `live::run` must build
//! a book that matches every exchange bookTicker, with no gap or crossed book — and the core
//! thread must not allocate per frame after warm-up (socket read, parse, book, signals,
//! strategy, paper venue, shm publishing).

mod common;

use common::core_alloc::{self, CoreThreadCounting};
use common::market_server::RecordedMarket;
use obi_engine::config::{Config, PollMode, VenueConfig};
use obi_engine::live::{self, RunOptions};
use obi_shm::{CounterId, InstrumentGaugeId, ReaderState, StatsReader};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: CoreThreadCounting = CoreThreadCounting;

fn frames_seen(path: &Path) -> (u64, bool) {
    match StatsReader::open(path) {
        ReaderState::Ready(view) => {
            let frames = view.counters().get(CounterId::FramesTotal);
            let valid = view
                .gauges()
                .ok()
                .and_then(|g| g.instrument(0, InstrumentGaugeId::BookValid))
                == Some(1);
            (frames, valid)
        }
        _ => (0, false),
    }
}

/// The engine's stats say it is halted (risk state 2).
fn kill_latched(path: &Path) -> bool {
    match StatsReader::open(path) {
        ReaderState::Ready(view) => view
            .gauges()
            .is_ok_and(|g| g.get(obi_shm::GaugeId::RiskState) == 2),
        _ => false,
    }
}

fn wait_for(what: &str, deadline_s: u64, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(deadline_s),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A collector recording's bare snapshot and its stream frames (JSON only), in order.
fn snapshot_and_frames(lines: &[String]) -> (String, Vec<String>) {
    let json = |l: &String| l.split_once(' ').map(|(_, j)| j.to_string());
    let snapshot = lines
        .iter()
        .find(|l| common::recording::is_snapshot(l))
        .and_then(json)
        .expect("snapshot line");
    let frames = lines
        .iter()
        .filter(|l| !common::recording::is_snapshot(l))
        .filter_map(json)
        .collect();
    (snapshot, frames)
}

#[test]
fn live_feed_over_loopback_matches_the_exchange_and_does_not_allocate() {
    let Some(data) = common::shared_data("live_feed_over_loopback") else {
        return;
    };
    let lines =
        common::recording::read_lines(&data.join("hftbacktest-sample/usdm/ethusdt_20240808.gz"));
    let (snapshot, frames) = snapshot_and_frames(&lines);
    let total = frames.len();
    let server = RecordedMarket::start(snapshot, frames);

    let dir = common::scratch_dir("live-real-data");
    let shm_path = dir.join("engine.stats");
    let mut cfg: Config = common::eth_usdm_config();
    cfg.engine.shm_enabled = true;
    cfg.engine.shm_path = shm_path.clone();
    let state_dir = dir.join("state");
    cfg.engine.state_dir = state_dir.clone();
    cfg.engine.publish_interval_ms = 5;
    cfg.engine.poll_mode = PollMode::Block;
    // Trade actively, so the order path (risk, ring, paper venue, reports) runs too.
    // Frames arrive in a burst, so the wall clock barely moves: no confirmation delay.
    cfg.strategy.long_threshold = 0.2;
    cfg.strategy.short_threshold = 0.2;
    cfg.strategy.confirm_ms = 0;
    cfg.strategy.cooldown_ms = 0;
    // The halt under test is the kill file's: trading outcomes must not trip first.
    cfg.safety.breakers.max_consecutive_losses = 1_000_000;
    cfg.safety.breakers.daily_loss_bps = 10_000;
    cfg.safety.breakers.drawdown_bps = 10_000;
    let mut section = cfg.venue.section.clone();
    let base = server.addr;
    section.rest_url = Some(format!("http://{base}"));
    section.stream_url = Some(format!("ws://{base}"));
    section.ws_api_url = Some(format!("ws://{base}/ws-api/v3"));
    section.depth_stream = "depth@0ms".into();
    section.stale_feed_ms = 60_000;
    cfg.venue = VenueConfig::resolve(section, cfg.venue.market).expect("venue");

    let stop = Arc::new(AtomicBool::new(false));
    let core_stop = stop.clone();
    let core = std::thread::spawn(move || {
        core_alloc::count_this_thread();
        let options = RunOptions {
            shm: true,
            ..RunOptions::default()
        };
        live::run(&cfg, &options, &core_stop)
    });

    // Warm up on the first quarter: connect, snapshot, sync, buffers and books grow.
    let warm = total / 4;
    server.released.store(warm, Ordering::Release);
    wait_for("warm-up frames", 60, || {
        let (frames, valid) = frames_seen(&shm_path);
        frames > warm as u64 && valid
    });
    core_alloc::start_measuring();
    // Half way, the kill file: the halt (journal, cancel-all, strategy off) must not
    // allocate either.
    let half = total / 2;
    server.released.store(half, Ordering::Release);
    wait_for("half the frames", 120, || {
        frames_seen(&shm_path).0 > half as u64
    });
    std::fs::write(state_dir.join("KILL"), b"test").expect("kill file");
    wait_for("the kill to latch", 60, || kill_latched(&shm_path));
    server.released.store(total, Ordering::Release);
    wait_for("all frames", 120, || {
        frames_seen(&shm_path).0 > total as u64
    });
    let measured = core_alloc::stop_measuring();
    stop.store(true, Ordering::Relaxed);
    let report = core.join().expect("core thread").expect("run");

    let c = &report.counters;
    assert_eq!(report.feed.connects, 1, "{}", report.to_text());
    assert_eq!(
        (c.gaps, c.crossed, c.parse_errors),
        (0, 0, 0),
        "{}",
        report.to_text()
    );
    assert_eq!(c.oracle_mismatches, 0, "{}", report.to_text());
    // Replay of this file checks 551 bookTickers against the book; live may sync a little later.
    assert!(c.oracle_checked > 500, "{}", report.to_text());
    assert!(
        c.intents > 0,
        "the order path should have run: {}",
        report.to_text()
    );
    assert_eq!(
        (report.safety_state.as_str(), report.latched_reason.as_str()),
        ("halted", "kill_file"),
        "{}",
        report.to_text()
    );
    assert_eq!(report.open_orders_at_end, 0, "{}", report.to_text());
    let first = core_alloc::first_allocation();
    assert_eq!(
        measured.other,
        0,
        "core thread allocated {} times over {} frames after warm-up; the first at:\n{first}",
        measured.other,
        total - warm
    );
    assert!(
        measured.read_buffer_growths <= core_alloc::MAX_READ_BUFFER_GROWTHS,
        "{measured:?}"
    );
    println!(
        "core-thread allocations over {} frames after warm-up: {} (tungstenite read-buffer growths: {})",
        total - warm,
        measured.other,
        measured.read_buffer_growths
    );
}

#[test]
fn record_then_replay_reproduces_the_stream() {
    let Some(data) = common::shared_data("record_then_replay_reproduces_the_stream") else {
        return;
    };
    let lines =
        common::recording::read_lines(&data.join("hftbacktest-sample/spot/ethusdt_20240808.gz"));
    let (snapshot, frames) = snapshot_and_frames(&lines);
    let total = frames.len();
    let server = RecordedMarket::start(snapshot, frames);
    server
        .released
        .store(total, std::sync::atomic::Ordering::Release);
    let dir = common::scratch_dir("record-replay");
    let config = dir.join("engine.toml");
    let stats = dir.join("record.stats");
    let stats_text = stats.display().to_string();
    let base = server.addr;
    std::fs::write(
        &config,
        format!(
            "[engine]\nshm_path = \"{stats}\"\nstate_dir = \"{stats}.state\"\npublish_interval_ms = 5\npoll_mode = \"block\"\n\
             [[instruments]]\nsymbol = \"ETHUSDT\"\nmarket = \"spot\"\ntick_size = \"0.01\"\nlot_size = \"0.00000001\"\n\
             [venue]\nrest_url = \"http://{base}\"\nstream_url = \"ws://{base}\"\nws_api_url = \"ws://{base}/ws-api/v3\"\n",
            stats = stats_text
        ),
    )
    .expect("config");
    let out = dir.join("recorded.gz");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_obi-engine"))
        .args(["record", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .args(["--duration-s", "300"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run record");
    // Stop it the way an operator would (SIGTERM) once every frame and the snapshot are in.
    wait_for("the recorder to take every frame", 120, || {
        frames_seen(&stats).0 > total as u64
    });
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let record = child.wait_with_output().expect("record exits");
    let text = String::from_utf8_lossy(&record.stdout);
    assert!(
        record.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&record.stderr)
    );
    assert!(
        text.contains(&format!("recorded {} lines", total + 1)),
        "{text}"
    );
    let replay = std::process::Command::new(env!("CARGO_BIN_EXE_obi-engine"))
        .args(["replay", "--no-shm", "--strict", "--report", "json"])
        .arg(&out)
        .output()
        .expect("run replay");
    assert!(
        replay.status.success(),
        "strict replay of the recording failed: {}{}",
        String::from_utf8_lossy(&replay.stdout),
        String::from_utf8_lossy(&replay.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&replay.stdout).expect("json");
    assert_eq!(report["frames"], total as u64 + 1);
    assert_eq!(report["oracle_mismatches"], 0);
    assert!(report["oracle_checked"].as_u64().unwrap_or(0) > 500);
}
