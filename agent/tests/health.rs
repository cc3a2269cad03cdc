//! `/healthz` and `/healthz/detailed` through the router: every reader state and the
//! transitions between them.

mod common;

use axum::http::StatusCode;
use common::{Env, get, publish_healthy};
use obi_agent::engine::unix_now_ns;
use obi_shm::InstrumentGaugeId;

#[tokio::test]
async fn no_file_is_engine_not_running() {
    let env = Env::new();
    let state = env.state(false, false);
    state.refresh_engine();
    let r = get(&state, "/healthz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let j = r.json();
    assert_eq!(j["status"], "unhealthy");
    assert!(
        j["reasons"][0]
            .as_str()
            .unwrap()
            .contains("engine not running"),
        "{j}"
    );
    let d = get(&state, "/healthz/detailed").await;
    assert_eq!(d.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(d.json()["components"]["engine"]["shm_state"], "no_file");
}

#[tokio::test]
async fn transitions_ready_stale_restart_incompatible() {
    let env = Env::new();
    let state = env.state(false, false);

    // Ready and healthy.
    let mut w = env.start_engine(100);
    state.refresh_engine();
    let r = get(&state, "/healthz").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "healthy");

    let d = get(&state, "/healthz/detailed").await.json();
    assert_eq!(d["components"]["engine"]["pid"], 100);
    assert_eq!(d["components"]["engine"]["shm_state"], "ready");
    let v = obi_shm::LAYOUT_VERSION;
    assert_eq!(
        d["components"]["engine"]["layout_version"],
        format!("{}.{}", v.major, v.minor)
    );
    assert_eq!(d["components"]["books"][1]["symbol"], "ETHUSDT");
    assert_eq!(d["components"]["books"][1]["book_valid"], true);
    assert_eq!(d["components"]["kill"]["kill_state"], 0);
    assert!(d["components"]["disk"]["available_bytes"].as_u64().unwrap() > 0);
    assert_eq!(d["metrics"]["latency_p99_ns"], 850);
    assert_eq!(d["metrics"]["instruments"][0]["feed_lag_ms"], 12);
    assert_eq!(d["metrics"]["realized_pnl_quote_micros"], -1_250_000);

    // A book goes invalid.
    w.publish(|g| g.set_instrument(1, InstrumentGaugeId::BookValid, 0));
    state.refresh_engine();
    let r = get(&state, "/healthz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.body.contains("ETHUSDT book invalid"), "{}", r.body);
    publish_healthy(&mut w);

    // Heartbeat goes stale (10 s old, limit 2 s).
    w.heartbeat(unix_now_ns() - 10_000_000_000);
    state.refresh_engine();
    let r = get(&state, "/healthz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.body.contains("heartbeat stale"), "{}", r.body);

    // The engine restarts (unlink + recreate): followed without restarting the agent.
    drop(w);
    let _w2 = env.start_engine(200);
    state.refresh_engine();
    let r = get(&state, "/healthz").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = get(&state, "/healthz/detailed").await.json();
    assert_eq!(d["components"]["engine"]["pid"], 200);
    assert_eq!(d["components"]["engine"]["restarts_followed"], 1);

    // The file is replaced by one with another major layout version.
    std::fs::remove_file(&env.shm_path).unwrap();
    let mut bytes = vec![0u8; 2560];
    bytes[..8].copy_from_slice(b"OBISTATS");
    bytes[8..16].copy_from_slice(&(2u64 << 32).to_le_bytes());
    std::fs::write(&env.shm_path, &bytes).unwrap();
    state.refresh_engine();
    let r = get(&state, "/healthz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        r.body.contains("incompatible stats layout version 2.0"),
        "{}",
        r.body
    );
    let d = get(&state, "/healthz/detailed").await.json();
    assert_eq!(d["components"]["engine"]["shm_state"], "incompatible");

    // And gone again: engine not running.
    std::fs::remove_file(&env.shm_path).unwrap();
    state.refresh_engine();
    let r = get(&state, "/healthz").await;
    assert!(r.body.contains("engine not running"), "{}", r.body);
}

#[tokio::test]
async fn header_not_written_yet_and_garbage_file() {
    let env = Env::new();
    let state = env.state(false, false);
    std::fs::write(&env.shm_path, vec![0u8; 2560]).unwrap();
    state.refresh_engine();
    let r = get(&state, "/healthz").await;
    assert!(r.body.contains("engine starting"), "{}", r.body);
    std::fs::write(&env.shm_path, vec![0xAB; 2560]).unwrap();
    state.refresh_engine();
    let r = get(&state, "/healthz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.body.contains("cannot be mapped"), "{}", r.body);
}

#[tokio::test]
async fn kill_latched_and_low_disk_are_not_ready() {
    let env = Env::new();
    let state = env.state(false, false);
    let mut w = env.start_engine(1);
    w.publish(|g| g.set(obi_shm::GaugeId::KillState, 1));
    state.refresh_engine();
    let r = get(&state, "/healthz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.body.contains("engine kill latched"), "{}", r.body);

    let toml = env
        .config_toml("")
        .replace("min_free_disk_mib = 0", "min_free_disk_mib = 1000000000000");
    let config = obi_agent::config::Config::from_toml(&toml).unwrap();
    let state = obi_agent::AppState::new(config, obi_agent::Secrets::default()).unwrap();
    publish_healthy(&mut w);
    w.publish(|g| g.set(obi_shm::GaugeId::KillState, 0));
    state.refresh_engine();
    let r = get(&state, "/healthz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.body.contains("disk: state dir has"), "{}", r.body);
}

#[tokio::test]
async fn last_backup_age_is_reported_but_does_not_block_readiness() {
    let env = Env::new();
    let state = env.state(false, false);
    let _w = env.start_engine(7);
    state.set_backup_status(obi_agent::backup::status::BackupStatus::default());
    state.refresh_engine();
    let r = get(&state, "/healthz/detailed").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = r.json();
    assert_eq!(d["components"]["backup"]["ok"], false);
    assert_eq!(d["warnings"][0], "backup: no successful backup yet");

    let mut status = obi_agent::backup::status::BackupStatus::default();
    let now_ms = i64::try_from(unix_now_ns() / 1_000_000).unwrap();
    status.succeeded(now_ms - 3_600_000, "obi-backup-20261123T030000Z.tar.zst");
    state.set_backup_status(status.clone());
    state.refresh_engine();
    let d = get(&state, "/healthz/detailed").await.json();
    assert_eq!(d["components"]["backup"]["ok"], true, "{d}");
    assert_eq!(d["components"]["backup"]["last_backup_age_secs"], 3_600);
    assert!(d.get("warnings").is_none());
    let m = get(&state, "/metrics").await.body;
    assert!(m.contains("obi_agent_backup_last_attempt_ok 1\n"), "{m}");

    status.failed(now_ms, "cannot read state/journal: permission denied");
    state.set_backup_status(status);
    let r = get(&state, "/healthz").await;
    assert_eq!(r.status, StatusCode::OK);
    let d = get(&state, "/healthz/detailed").await.json();
    assert!(
        d["warnings"][0]
            .as_str()
            .unwrap()
            .contains("permission denied")
    );
    let m = get(&state, "/metrics").await.body;
    assert!(m.contains("obi_agent_backup_last_attempt_ok 0\n"), "{m}");
}
