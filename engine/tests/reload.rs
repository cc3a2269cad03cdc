//! Strategy parameter hot reload: the reload component (file change, SIGHUP, injected
//! request; invalid files kept out; non-strategy changes reported as needing a restart), and
//! end to end in paper mode against a loopback market, where a reload turns trading on and
//! shows in the run report: through `live::run` in this process (the core thread allocates
//! nothing taking the reload and trading after it), and through `obi-engine run` (SIGHUP,
//! stderr, systemd notifications).

mod common;

use common::core_alloc::{self, CoreThreadCounting};
use obi_engine::journal::{FILE_HEADER, RecordBody, StatePaths, decode};
use obi_engine::live::{self, RunOptions};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

#[global_allocator]
static GLOBAL: CoreThreadCounting = CoreThreadCounting;

use common::market_server::RecordedMarket;
use obi_engine::config::Config;
use obi_engine::live::notify::Notifier;
use obi_engine::live::reload::{self, ReloadEvent, ReloadSetup, Reloader, Sections};
use obi_shm::{CounterId, ReaderState, StatsReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const INSTRUMENT: &str = "[[instruments]]\nsymbol = \"ETHUSDT\"\nmarket = \"usdm\"\ntick_size = \"0.01\"\nlot_size = \"0.001\"\n";

/// A config with `strategy` and `risk` lines in their sections.
fn config_text(strategy: &str, risk: &str) -> String {
    format!("{INSTRUMENT}\n[strategy]\n{strategy}\n[risk]\n{risk}\n")
}

/// Replaces `path` the way editors do: write a temporary file beside it, rename over it.
fn replace_file(path: &Path, text: &str) {
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).expect("write temp config");
    std::fs::rename(&tmp, path).expect("rename config");
}

/// Waits for the next reload outcome (generous: a failed wait is a missing reload).
fn next_event(rx: &mut rtrb::Consumer<ReloadEvent>) -> ReloadEvent {
    let start = Instant::now();
    loop {
        if let Ok(e) = rx.pop() {
            return e;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no reload outcome arrived"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn start(path: &Path, watch_file: bool, sighup: bool) -> (Reloader, rtrb::Consumer<ReloadEvent>) {
    let running = Config::load(path).expect("initial config");
    Reloader::spawn(ReloadSetup {
        path: path.to_path_buf(),
        running,
        watch_file,
        sighup,
        notifier: Notifier::disabled(),
    })
    .expect("reload thread")
}

#[test]
fn valid_change_is_applied() {
    let dir = common::scratch_dir("reload-valid");
    let path = dir.join("engine.toml");
    std::fs::write(&path, config_text("long_threshold = 0.3", "")).expect("write");
    let (reloader, mut rx) = start(&path, true, false);
    assert!(reloader.is_watching());

    replace_file(&path, &config_text("long_threshold = 0.5", ""));
    match next_event(&mut rx) {
        ReloadEvent::Apply {
            strategy,
            restart_needed,
        } => {
            assert_eq!(strategy.long_threshold, 0.5);
            assert!(restart_needed.is_empty(), "{restart_needed}");
        }
        other => panic!("expected new parameters, got {other:?}"),
    }
    // Written in place, too (no rename): compared with what now runs (0.5).
    std::fs::write(
        &path,
        config_text("long_threshold = 0.5\norder_qty_lots = 3", ""),
    )
    .expect("write");
    match next_event(&mut rx) {
        ReloadEvent::Apply { strategy, .. } => {
            assert_eq!((strategy.long_threshold, strategy.order_qty_lots), (0.5, 3));
        }
        other => panic!("expected new parameters, got {other:?}"),
    }
    // Other files in the directory are not the config.
    std::fs::write(dir.join("other.toml"), "x").expect("write");
    reloader.request();
    assert!(
        matches!(next_event(&mut rx), ReloadEvent::Unchanged { restart_needed } if restart_needed.is_empty()),
        "an unchanged file is reported unchanged"
    );
    assert!(rx.pop().is_err(), "one outcome per reload");
}

#[test]
fn invalid_file_keeps_old_params_with_the_reason() {
    let dir = common::scratch_dir("reload-invalid");
    let path = dir.join("engine.toml");
    std::fs::write(&path, config_text("long_threshold = 0.3", "")).expect("write");
    let baseline = Config::load(&path).expect("load");

    // What the operator reads: the file and the reason.
    std::fs::write(&path, config_text("order_qty_lots = 0", "")).expect("write");
    let checked = reload::check(&path, &baseline, &baseline.strategy, &baseline.signal);
    assert_eq!(checked.event, ReloadEvent::Rejected);
    assert!(
        checked.message.contains(&path.display().to_string())
            && checked.message.contains("order_qty_lots")
            && checked.message.contains("running parameters stay"),
        "{}",
        checked.message
    );
    std::fs::write(&path, config_text("long_threshold = \"high\"", "")).expect("write");
    let checked = reload::check(&path, &baseline, &baseline.strategy, &baseline.signal);
    assert_eq!(checked.event, ReloadEvent::Rejected);
    assert!(
        checked.message.contains("long_threshold"),
        "{}",
        checked.message
    );
    // The strategy must fit the running [signal] section, even if the new file's fits.
    std::fs::write(
        &path,
        format!(
            "{}\n[signal]\nobi_depths_levels = [1, 7]\newma_depth_levels = 7\n",
            config_text("obi_depth_levels = 7", "")
        ),
    )
    .expect("write");
    let checked = reload::check(&path, &baseline, &baseline.strategy, &baseline.signal);
    assert_eq!(checked.event, ReloadEvent::Rejected);
    assert!(
        checked.message.contains("obi_depth_levels") && checked.message.contains("restart"),
        "{}",
        checked.message
    );

    // Through the thread: rejected, then a good file is compared with the old parameters.
    std::fs::write(&path, config_text("long_threshold = 0.3", "")).expect("write");
    let (_reloader, mut rx) = start(&path, true, false);
    replace_file(&path, &config_text("long_threshold = -1", ""));
    assert_eq!(next_event(&mut rx), ReloadEvent::Rejected);
    replace_file(
        &path,
        &config_text("long_threshold = 0.3\nallow_short = false", ""),
    );
    match next_event(&mut rx) {
        ReloadEvent::Apply { strategy, .. } => {
            assert_eq!(strategy.long_threshold, 0.3, "the old value stayed");
            assert!(!strategy.allow_short);
        }
        other => panic!("expected new parameters, got {other:?}"),
    }
}

#[test]
fn sighup_triggers_a_reload() {
    let dir = common::scratch_dir("reload-sighup");
    let path = dir.join("engine.toml");
    std::fs::write(&path, config_text("long_threshold = 0.3", "")).expect("write");
    let running = Config::load(&path).expect("load");
    // The file differs from what runs before the thread starts: no file event, so only the
    // signal can make the reload happen.
    std::fs::write(&path, config_text("long_threshold = 0.7", "")).expect("write");
    let (reloader, mut rx) = Reloader::spawn(ReloadSetup {
        path: path.clone(),
        running,
        watch_file: false,
        sighup: true,
        notifier: Notifier::disabled(),
    })
    .expect("reload thread");
    // The handler is installed once `spawn` returns, so the signal cannot end this process.
    signal_hook::low_level::raise(signal_hook::consts::SIGHUP).expect("raise SIGHUP");
    match next_event(&mut rx) {
        ReloadEvent::Apply { strategy, .. } => assert_eq!(strategy.long_threshold, 0.7),
        other => panic!("expected new parameters, got {other:?}"),
    }
    drop(reloader);
}

#[test]
fn non_strategy_change_is_reported_as_needing_a_restart() {
    let dir = common::scratch_dir("reload-restart");
    let path = dir.join("engine.toml");
    std::fs::write(&path, config_text("long_threshold = 0.3", "")).expect("write");
    let (reloader, mut rx) = start(&path, false, false);
    let changed = format!(
        "{}\n[venue]\nconnect_timeout_ms = 1234\n",
        config_text("long_threshold = 0.3", "max_position_lots = 700")
    );
    std::fs::write(&path, &changed).expect("write");
    // Injected trigger (as SIGHUP would).
    reloader.request();
    let want = Sections::RISK.with(Sections::VENUE);
    assert_eq!(
        next_event(&mut rx),
        ReloadEvent::Unchanged {
            restart_needed: want
        }
    );
    // Strategy and other sections together: the strategy applies, the rest waits.
    std::fs::write(
        &path,
        format!(
            "{}\n[venue]\nconnect_timeout_ms = 1234\n",
            config_text("long_threshold = 0.4", "max_position_lots = 700")
        ),
    )
    .expect("write");
    reloader.request();
    match next_event(&mut rx) {
        ReloadEvent::Apply {
            strategy,
            restart_needed,
        } => {
            assert_eq!(strategy.long_threshold, 0.4);
            assert_eq!(restart_needed, want);
        }
        other => panic!("expected new parameters, got {other:?}"),
    }
    let initial = dir.join("initial.toml");
    std::fs::write(&initial, config_text("long_threshold = 0.3", "")).expect("write");
    let baseline = Config::load(&initial).expect("load");
    let checked = reload::check(&path, &baseline, &baseline.strategy, &baseline.signal);
    assert!(
        checked.message.contains("[risk], [venue] changed")
            && checked.message.contains("need a restart")
            && checked.message.contains("long_threshold 0.3 -> 0.4"),
        "{}",
        checked.message
    );
}

// --- end to end -------------------------------------------------------------------------

/// The notification socket a service manager would listen on.
struct NotifySocket {
    socket: UnixDatagram,
    path: PathBuf,
}

impl NotifySocket {
    fn bind(dir: &Path) -> NotifySocket {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind notify socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        NotifySocket { socket, path }
    }

    /// The next message containing `what`, skipping others (deadline: a failure).
    fn wait_for(&self, what: &str) -> String {
        let start = Instant::now();
        let mut seen = Vec::new();
        loop {
            let mut buf = [0u8; 4096];
            if let Ok(n) = self.socket.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                if msg.contains(what) {
                    return msg;
                }
                seen.push(msg);
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "no notification with {what:?}; got {seen:?}"
            );
        }
    }
}

fn counter(path: &Path, id: CounterId) -> u64 {
    match StatsReader::open(path) {
        ReaderState::Ready(view) => view.counters().get(id),
        _ => 0,
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn e2e_config(base: std::net::SocketAddr, dir: &Path, strategy: &str) -> String {
    format!(
        r#"
[engine]
shm_path = "{stats}"
state_dir = "{state}"
publish_interval_ms = 5
poll_mode = "block"

{INSTRUMENT}

[strategy]
confirm_ms = 0
cooldown_ms = 0
{strategy}

[venue]
mode = "paper"
rest_url = "http://{base}"
stream_url = "ws://{base}"
ws_api_url = "ws://{base}/ws-api/v3"
depth_stream = "depth@0ms"
stale_feed_ms = 60000
"#,
        stats = dir.join("engine.stats").display(),
        state = dir.join("state").display(),
    )
}

fn kill(signal: &str, pid: u32) {
    let ok = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill {signal} {pid}");
}

/// The recorded USD-M session served on loopback, and its frame count.
fn recorded_market(data: &Path) -> (RecordedMarket, usize) {
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
        .collect();
    let total = frames.len();
    (RecordedMarket::start(snapshot, frames), total)
}

/// True once the journal in `state_dir` holds an operator note with `text` (read-only: the
/// writer may be mid-record, a torn tail just ends the scan).
fn journal_has_note(state_dir: &Path, text: &str) -> bool {
    let Ok(bytes) = std::fs::read(StatePaths::new(state_dir.to_path_buf()).journal()) else {
        return false;
    };
    let mut at = FILE_HEADER.len();
    while at < bytes.len() {
        let Ok((record, used)) = decode(&bytes[at..]) else {
            return false;
        };
        if let RecordBody::Operator { text: t, .. } = &record.body
            && t.as_str() == text
        {
            return true;
        }
        at += used.max(1);
    }
    false
}

#[test]
fn reload_through_live_run_applies_between_ticks_without_allocating() {
    let Some(data) = common::shared_data("reload_through_live_run") else {
        return;
    };
    let (server, total) = recorded_market(&data);
    let dir = common::scratch_dir("reload-live-run");
    let stats = dir.join("engine.stats");
    let path = dir.join("engine.toml");
    let idle = "long_threshold = 1000.0\nshort_threshold = 1000.0";
    let active = "long_threshold = 0.2\nshort_threshold = 0.2";
    std::fs::write(&path, e2e_config(server.addr, &dir, idle)).expect("config");
    let cfg = Config::load(&path).expect("config loads");
    let stop = Arc::new(AtomicBool::new(false));
    let core_stop = Arc::clone(&stop);
    let options = RunOptions {
        shm: true,
        config_path: Some(path.clone()),
        ..RunOptions::default()
    };
    let core = std::thread::spawn(move || {
        core_alloc::count_this_thread();
        live::run(&cfg, &options, &core_stop)
    });

    let warm = total / 4;
    server.released.store(warm, Ordering::Release);
    wait_until("warm-up frames", || {
        counter(&stats, CounterId::FramesTotal) > warm as u64
    });
    assert_eq!(
        counter(&stats, CounterId::IntentsTotal),
        0,
        "idle parameters"
    );
    core_alloc::start_measuring();
    replace_file(&path, &e2e_config(server.addr, &dir, active));
    // The core journals the reload right after applying it.
    wait_until("the reload in the journal", || {
        journal_has_note(&dir.join("state"), "strategy params reloaded")
    });
    server.released.store(total, Ordering::Release);
    wait_until("all frames", || {
        counter(&stats, CounterId::FramesTotal) > total as u64
    });
    let measured = core_alloc::stop_measuring();
    assert!(
        counter(&stats, CounterId::IntentsTotal) > 0,
        "the reloaded thresholds should have traded"
    );
    stop.store(true, Ordering::Relaxed);
    let report = core.join().expect("core thread").expect("run");
    assert_eq!(report.reloads.applied, 1, "{}", report.to_text());
    assert_eq!(report.reloads.rejected, 0, "{}", report.to_text());
    assert_eq!(report.strategy.long_threshold, 0.2);
    assert!(report.counters.intents > 0, "{}", report.to_text());
    assert!(report.to_text().contains("parameter reloads: applied 1"));
    assert_eq!(
        measured.other,
        0,
        "the core thread allocated taking the reload or trading after it; the first at:\n{}",
        core_alloc::first_allocation()
    );
    assert!(
        measured.read_buffer_growths <= core_alloc::MAX_READ_BUFFER_GROWTHS,
        "{measured:?}"
    );
}

#[test]
fn reload_takes_effect_in_a_paper_run() {
    let Some(data) = common::shared_data("reload_takes_effect_in_a_paper_run") else {
        return;
    };
    let (server, total) = recorded_market(&data);
    let dir = common::scratch_dir("reload-e2e");
    let stats = dir.join("engine.stats");
    let path = dir.join("engine.toml");
    // Thresholds no score reaches: nothing trades until the reload.
    let idle = "long_threshold = 1000.0\nshort_threshold = 1000.0";
    let active = "long_threshold = 0.2\nshort_threshold = 0.2";
    std::fs::write(&path, e2e_config(server.addr, &dir, idle)).expect("config");
    let notify = NotifySocket::bind(&dir);
    let child = Command::new(env!("CARGO_BIN_EXE_obi-engine"))
        .args(["run", "--report", "json", "--duration-s", "600", "--config"])
        .arg(&path)
        .env("NOTIFY_SOCKET", &notify.path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run obi-engine");

    // A quarter of the session under the idle parameters: books sync, nothing is sent.
    let warm = total / 4;
    server.released.store(warm, Ordering::Release);
    notify.wait_for("READY=1");
    wait_until("warm-up frames", || {
        counter(&stats, CounterId::FramesTotal) > warm as u64
    });
    assert_eq!(
        counter(&stats, CounterId::IntentsTotal),
        0,
        "idle parameters"
    );

    // The operator edits the file (editor-style rename): RELOADING=1, then READY=1 once the
    // core thread has the new parameters.
    replace_file(&path, &e2e_config(server.addr, &dir, active));
    let msg = notify.wait_for("RELOADING=1");
    assert!(msg.contains("MONOTONIC_USEC="), "{msg}");
    let msg = notify.wait_for("READY=1");
    assert!(msg.contains("parameters reloaded"), "{msg}");
    server.released.store(total, Ordering::Release);
    wait_until("all frames", || {
        counter(&stats, CounterId::FramesTotal) > total as u64
    });
    assert!(
        counter(&stats, CounterId::IntentsTotal) > 0,
        "the reloaded thresholds should have traded"
    );

    // A broken file is refused; SIGHUP re-reads it (refused again).
    replace_file(
        &path,
        &e2e_config(server.addr, &dir, &format!("{active}\norder_qty_lots = 0")),
    );
    notify.wait_for("RELOADING=1");
    let msg = notify.wait_for("READY=1");
    assert!(msg.contains("reload rejected"), "{msg}");
    kill("-HUP", child.id());
    notify.wait_for("RELOADING=1");
    notify.wait_for("READY=1");

    kill("-TERM", child.id());
    notify.wait_for("STOPPING=1");
    let out = child.wait_with_output().expect("obi-engine exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("JSON report on stdout");
    assert_eq!(report["reloads"]["applied"], 1, "{report}");
    assert_eq!(report["reloads"]["rejected"], 2, "{report}");
    assert_eq!(report["strategy"]["long_threshold"], 0.2, "{report}");
    assert_eq!(report["strategy"]["order_qty_lots"], 1, "{report}");
    assert!(
        report["counters"]["intents"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );
    assert!(
        stderr.contains("long_threshold 1000.0 -> 0.2")
            && stderr.contains(&format!(
                "invalid config {}: [strategy] strategy.order_qty_lots must be > 0",
                path.display()
            )),
        "{stderr}"
    );
}
