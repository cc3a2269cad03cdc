//! `obi-engine run` with no venue to reach: it says why, backs off (a handful of attempts,
//! not a tight loop) and still stops cleanly; live mode refuses to start unconfirmed.
//! Everything points at a closed loopback port: nothing leaves the machine.

mod common;

use std::net::TcpListener;
use std::process::Command;

/// A loopback port with nothing listening (bound, then released).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

fn config(port: u16, mode: &str, state_dir: &std::path::Path) -> String {
    format!(
        r#"
[engine]
shm_enabled = false
state_dir = "{state}"
poll_mode = "spin"

[[instruments]]
symbol = "ETHUSDT"
market = "spot"
tick_size = "0.01"
lot_size = "0.0001"

[venue]
mode = "{mode}"
rest_url = "http://127.0.0.1:{port}"
stream_url = "ws://127.0.0.1:{port}"
ws_api_url = "ws://127.0.0.1:{port}/ws-api/v3"
connect_timeout_ms = 500
reconnect_max_attempts = 3
"#,
        state = state_dir.display()
    )
}

#[test]
fn unreachable_venue_backs_off_and_says_why() {
    let dir = common::scratch_dir("live-offline");
    let path = dir.join("engine.toml");
    std::fs::write(&path, config(closed_port(), "paper", &dir.join("state"))).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_obi-engine"))
        .args(["run", "--config"])
        .arg(&path)
        .args(["--duration-s", "1.5", "--report", "json"])
        .output()
        .expect("run obi-engine");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("JSON report on stdout");
    let failures = report["feed"]["connect_failures"]
        .as_u64()
        .expect("failures");
    // Backoff 100 ms doubling with jitter in [d/2, d]: between 3 and 6 attempts in 1.5 s.
    // A loop that retried without waiting would make thousands.
    assert!((2..=8).contains(&failures), "{failures} attempts in 1.5 s");
    assert_eq!(report["feed"]["connects"], 0);
    assert_eq!(report["feed"]["exhausted"], true);
    assert_eq!(report["stop_reason"], "duration reached");
    assert!(
        stderr.contains("market data unreachable") && stderr.contains("Connection refused"),
        "{stderr}"
    );
}

#[test]
fn live_mode_needs_confirmation() {
    let dir = common::scratch_dir("live-unconfirmed");
    let path = dir.join("engine.toml");
    std::fs::write(&path, config(closed_port(), "live", &dir.join("state"))).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_obi-engine"))
        .args(["run", "--config"])
        .arg(&path)
        .args(["--duration-s", "0.2"])
        .env_remove("OBI_ENABLE_LIVE")
        .output()
        .expect("run obi-engine");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--live") && stderr.contains("OBI_ENABLE_LIVE=1"),
        "{stderr}"
    );
}
