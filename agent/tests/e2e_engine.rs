//! End to end with the real engine: `obi-engine replay` on the real Binance USD-M recording
//! publishes to a stats file; the agent maps it, health turns healthy, metrics move, and
//! `POST /kill` sets the control word, which the engine acknowledges through shm (kill
//! latched, `kill_requests_acked_total` 1).
//!
//! The engine binary is the one `cargo test --workspace` built beside this test
//! (`target/<profile>/obi-engine`), else it is built with `cargo build -p obi-engine` in the
//! same profile. Without `../shared/data` the test prints SKIPPED (fails when
//! `OBI_REQUIRE_DATA=1`). A replay of one recording takes ~0.1 s in release, too short to
//! watch; the recording is given several times (one continuous session: later passes are
//! stale diffs and re-snapshots) and the engine is stopped once the kill is acknowledged.
// Test helpers: a failing unwrap is a failing test, as clippy.toml allows inside #[test] fns.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::{Env, bearer, get, post, say, send};

const RECORDING: &str = "hftbacktest-sample/usdm/ethusdt_20240808.gz";

fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("OBI_SHARED_DATA").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")),
        PathBuf::from,
    );
    if dir.join(RECORDING).exists() {
        return Some(dir);
    }
    assert!(
        !std::env::var("OBI_REQUIRE_DATA").is_ok_and(|v| v == "1"),
        "{} not found and OBI_REQUIRE_DATA=1",
        dir.join(RECORDING).display()
    );
    say(&format!(
        "SKIPPED e2e_engine: {} not found (set OBI_SHARED_DATA)",
        dir.join(RECORDING).display()
    ));
    None
}

/// `target/<profile>/obi-engine`, built on demand in the test's own profile.
fn engine_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let bin = profile_dir.join("obi-engine");
    if bin.exists() {
        return bin;
    }
    let target_dir = profile_dir.parent().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "obi-engine"])
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    say("e2e_engine: building obi-engine");
    let status = cmd.status().unwrap();
    assert!(
        status.success() && bin.exists(),
        "cargo build -p obi-engine failed"
    );
    bin
}

struct Engine(Child);

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn metric(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn real_engine_replay_health_metrics_and_kill_ack() {
    let Some(data) = shared_data() else {
        return;
    };
    let engine_bin = engine_binary();
    let env = Env::new();
    let state = env.state(true, false);
    let recording = data.join(RECORDING);
    let passes = if cfg!(debug_assertions) { 6 } else { 60 };
    let mut child = Engine(
        Command::new(&engine_bin)
            .arg("replay")
            .arg("--shm-path")
            .arg(&env.shm_path)
            .args(std::iter::repeat_n(&recording, passes))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let still_running = |c: &mut Engine| c.0.try_wait().unwrap().is_none();

    // Health turns healthy once the engine has published a valid book.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        state.refresh_engine();
        let r = get(&state, "/healthz").await;
        if r.status == StatusCode::OK {
            break;
        }
        assert!(
            still_running(&mut child) && Instant::now() < deadline,
            "never healthy while the replay ran; last: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let d = get(&state, "/healthz/detailed").await.json();
    assert_eq!(d["components"]["books"][0]["symbol"], "ETHUSDT");
    assert_eq!(d["components"]["engine"]["shm_state"], "ready");

    // Metrics move.
    let first = metric(
        &get(&state, "/metrics").await.body,
        "obi_engine_frames_total",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let later = loop {
        tokio::time::sleep(Duration::from_millis(150)).await;
        state.refresh_engine();
        let f = metric(
            &get(&state, "/metrics").await.body,
            "obi_engine_frames_total",
        )
        .unwrap();
        if f > first {
            break f;
        }
        assert!(Instant::now() < deadline, "frames_total stuck at {first}");
    };
    assert!(later > first);

    // POST /kill: control word set, engine acknowledges through shm.
    assert!(
        still_running(&mut child),
        "replay ended before the kill; give it more passes"
    );
    let auth = bearer();
    let r = send(
        &state,
        post(
            "/kill",
            &[("authorization", &auth)],
            r#"{"reason":"e2e drill"}"#,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let seq = r.json()["kill_request_seq"].as_u64().unwrap();
    assert!(seq >= 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let snap = state.refresh_engine();
        let control = snap.control.unwrap();
        if control.kill_ack_seq >= seq {
            break;
        }
        assert!(
            still_running(&mut child) && Instant::now() < deadline,
            "engine did not acknowledge kill request {seq}: {control:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The acknowledgement and the halted state come with the engine's next publish.
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        state.refresh_engine();
        let body = get(&state, "/metrics").await.body;
        if metric(&body, "obi_engine_kill_state") == Some(1.0) {
            break body;
        }
        assert!(Instant::now() < deadline, "kill_state never 1:\n{body}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(
        metric(&body, "obi_engine_kill_requests_acked_total"),
        Some(1.0)
    );
    let r = get(&state, "/healthz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.body.contains("engine kill latched"), "{}", r.body);
    say(&format!(
        "e2e_engine: healthy, frames {first} -> {later}, kill {seq} acknowledged by obi-engine"
    ));
}
