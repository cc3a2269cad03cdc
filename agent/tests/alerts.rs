//! Alerts end to end against a local HTTP receiver (127.0.0.1:0, no internet): one message
//! per sink in each sink's format, deduplication, re-notification, resolution, the
//! per-minute budget, the daily summary at its configured local time (the clock is a
//! parameter), and a failing sink retried and counted without holding anything up.
// Test helpers: a failing unwrap is a failing test, as clippy.toml allows inside #[test] fns.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use chrono::{NaiveDate, NaiveDateTime};
use common::Env;
use obi_agent::alerts::{Alerts, Level, RuleInputs, SinkKind, SinkTarget};
use obi_agent::config::Config;
use obi_agent::engine::{EnginePoller, EngineSnapshot};
use obi_agent::health::LocalFacts;
use obi_agent::secrets::Secret;
use obi_shm::{CounterId, GaugeId, InstrumentGaugeId, StatsWriter};
use serde_json::Value;

/// What the receiver got: (path, body), in arrival order.
type Inbox = Arc<Mutex<Vec<(String, Value)>>>;

async fn receive(
    State(inbox): State<Inbox>,
    Path(name): Path<String>,
    body: axum::Json<Value>,
) -> StatusCode {
    inbox.lock().unwrap().push((name.clone(), body.0));
    if name.starts_with("fail") {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

async fn receiver() -> (SocketAddr, Inbox) {
    let inbox: Inbox = Arc::default();
    let app = Router::new()
        .route("/{name}", post(receive))
        .with_state(Arc::clone(&inbox));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, inbox)
}

fn sink(addr: SocketAddr, name: &str, kind: SinkKind) -> SinkTarget {
    SinkTarget {
        name: name.to_string(),
        kind,
        url: Secret::new(format!("http://{addr}/{name}")),
        min_level: Level::Info,
    }
}

fn config(env: &Env, alerts: &str) -> Config {
    let text = format!(
        "{}\n[alerts]\nsend_timeout_ms = 2000\n{alerts}\n[backup]\nenabled = false\n",
        env.config_toml("")
    );
    Config::from_toml(&text).unwrap()
}

fn pipeline(config: &Config, sinks: Vec<SinkTarget>) -> Alerts {
    let (alerts, workers) = Alerts::new(config, sinks, T0_MS).unwrap();
    for w in workers {
        tokio::spawn(w.run());
    }
    alerts
}

/// 2026-11-23 07:00:00 UTC, the tests' epoch.
const T0_MS: i64 = 1_795_417_200_000;

fn local(h: u32, m: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 23)
        .unwrap()
        .and_hms_opt(h, m, 0)
        .unwrap()
}

fn facts() -> LocalFacts {
    LocalFacts {
        kill_file_present: false,
        state_dir_available_bytes: Ok(1 << 40),
        backup: None,
    }
}

/// A healthy engine whose heartbeat is at `T0_MS`.
fn engine(env: &Env) -> StatsWriter {
    let mut w = env.start_engine(4242);
    w.heartbeat(ns(T0_MS));
    w.publish(|g| {
        for i in 0..common::SYMBOLS.len() {
            g.set_instrument(i, InstrumentGaugeId::LastReceiptUnixNs, ns(T0_MS) as i64);
        }
    });
    w
}

fn ns(ms: i64) -> u64 {
    u64::try_from(ms).unwrap() * 1_000_000
}

/// Polls at `at_ms`, keeping the heartbeat and receipts fresh.
fn poll(env: &Env, w: &mut StatsWriter, at_ms: i64) -> EngineSnapshot {
    w.heartbeat(ns(at_ms));
    w.publish(|g| {
        for i in 0..common::SYMBOLS.len() {
            g.set_instrument(i, InstrumentGaugeId::LastReceiptUnixNs, ns(at_ms) as i64);
        }
    });
    EnginePoller::new(env.shm_path.clone()).poll_at(ns(at_ms))
}

fn run(alerts: &Alerts, snap: &EngineSnapshot, at_ms: i64, now_local: NaiveDateTime) -> usize {
    let f = facts();
    let inputs = RuleInputs {
        snap,
        local: &f,
        backup: None,
        now_unix_ms: at_ms,
    };
    alerts.on_poll(&inputs, now_local).len()
}

async fn wait_for(inbox: &Inbox, n: usize) -> Vec<(String, Value)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = inbox.lock().unwrap().clone();
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn by_sink(got: &[(String, Value)]) -> BTreeMap<String, Vec<Value>> {
    let mut m: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (k, v) in got {
        m.entry(k.clone()).or_default().push(v.clone());
    }
    m
}

#[tokio::test]
async fn firing_dedup_renotify_resolved_in_each_format() {
    let (addr, inbox) = receiver().await;
    let env = Env::new();
    let cfg = config(&env, "renotify_interval_secs = 60\nretry_backoff_ms = 20\n");
    let alerts = pipeline(
        &cfg,
        vec![
            sink(addr, "slack", SinkKind::Slack),
            sink(addr, "discord", SinkKind::Discord),
            sink(addr, "hook", SinkKind::Webhook),
        ],
    );
    let mut w = engine(&env);
    assert_eq!(
        run(&alerts, &poll(&env, &mut w, T0_MS), T0_MS, local(7, 0)),
        0
    );

    // The engine halts: CRITICAL, once per sink.
    w.publish(|g| g.set(GaugeId::KillState, 1));
    let t1 = T0_MS + 1_000;
    assert_eq!(run(&alerts, &poll(&env, &mut w, t1), t1, local(7, 0)), 1);
    let got = by_sink(&wait_for(&inbox, 3).await);
    let slack = got["slack"][0]["text"].as_str().unwrap();
    assert!(
        slack.contains("[CRITICAL] engine_halted: engine halted: kill latched"),
        "{slack}"
    );
    let discord = got["discord"][0]["content"].as_str().unwrap();
    assert!(discord.contains("[CRITICAL] engine_halted"), "{discord}");
    let hook = &got["hook"][0];
    assert_eq!(hook["rule"], "engine_halted");
    assert_eq!(hook["level"], "CRITICAL");
    assert_eq!(hook["state"], "firing");
    assert_eq!(hook["values"]["kill_state"], 1.0);
    assert_eq!(hook["fired_unix_ms"], t1);
    assert!(
        hook["fired_at"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-23T07:00:01")
    );

    // Still firing within the interval: nothing new.
    for dt in [1_000, 30_000, 59_999] {
        let t = t1 + dt;
        assert_eq!(run(&alerts, &poll(&env, &mut w, t), t, local(7, 1)), 0);
    }
    // After the interval: re-notified.
    let t2 = t1 + 60_000;
    assert_eq!(run(&alerts, &poll(&env, &mut w, t2), t2, local(7, 2)), 1);
    let got = by_sink(&wait_for(&inbox, 6).await);
    assert!(
        got["hook"][1]["message"]
            .as_str()
            .unwrap()
            .starts_with("still firing")
    );

    // Cleared: resolved, once per sink, with the original fire time.
    w.publish(|g| g.set(GaugeId::KillState, 0));
    let t3 = t2 + 1_000;
    assert_eq!(run(&alerts, &poll(&env, &mut w, t3), t3, local(7, 2)), 1);
    let got = by_sink(&wait_for(&inbox, 9).await);
    assert!(
        got["slack"][2]["text"]
            .as_str()
            .unwrap()
            .contains("[RESOLVED CRITICAL] engine_halted")
    );
    assert_eq!(got["hook"][2]["state"], "resolved");
    assert_eq!(got["hook"][2]["fired_unix_ms"], t1);
    let t4 = t3 + 1_000;
    assert_eq!(run(&alerts, &poll(&env, &mut w, t4), t4, local(7, 3)), 0);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(inbox.lock().unwrap().len(), 9);
    let stats = alerts.stats();
    assert!(
        stats.sinks.iter().all(|s| s.sent == 3 && s.failed == 0),
        "{stats:?}"
    );
}

#[tokio::test]
async fn rate_limit_suppresses_counts_and_summarises() {
    let (addr, inbox) = receiver().await;
    let env = Env::new();
    let cfg = config(
        &env,
        "max_messages_per_minute = 2\ndrawdown_warn_quote = 1.0\n",
    );
    let alerts = pipeline(&cfg, vec![sink(addr, "hook", SinkKind::Webhook)]);
    let mut w = engine(&env);
    // Four conditions at once: halted, two invalid books, drawdown.
    w.publish(|g| {
        g.set(GaugeId::KillState, 1);
        g.set(GaugeId::DrawdownQuoteMicros, 5_000_000);
        g.set_instrument(0, InstrumentGaugeId::BookValid, 0);
        g.set_instrument(1, InstrumentGaugeId::BookValid, 0);
    });
    assert_eq!(
        run(&alerts, &poll(&env, &mut w, T0_MS), T0_MS, local(7, 0)),
        2
    );
    assert_eq!(alerts.stats().suppressed_rate_limit, 2);
    assert_eq!(alerts.stats().firing, 4);
    // Within the same minute everything resolves: all four resolutions are over budget too.
    w.publish(|g| {
        g.set(GaugeId::KillState, 0);
        g.set(GaugeId::DrawdownQuoteMicros, 0);
        g.set_instrument(0, InstrumentGaugeId::BookValid, 1);
        g.set_instrument(1, InstrumentGaugeId::BookValid, 1);
    });
    let t = T0_MS + 30_000;
    assert_eq!(run(&alerts, &poll(&env, &mut w, t), t, local(7, 0)), 0);
    assert_eq!(alerts.stats().suppressed_rate_limit, 6);
    // A minute later: one INFO note with the count.
    let t = T0_MS + 60_000;
    assert_eq!(run(&alerts, &poll(&env, &mut w, t), t, local(7, 1)), 1);
    let got = wait_for(&inbox, 3).await;
    assert_eq!(got.len(), 3);
    let note = &got[2].1;
    assert_eq!(note["rule"], "alerts_rate_limited");
    assert_eq!(note["level"], "INFO");
    assert_eq!(note["values"]["suppressed"], 6.0);
    assert!(
        note["message"]
            .as_str()
            .unwrap()
            .contains("book_invalid/ETHUSDT"),
        "{note}"
    );
}

#[tokio::test]
async fn daily_summary_at_the_configured_local_time() {
    let (addr, inbox) = receiver().await;
    let env = Env::new();
    let cfg = config(&env, "[alerts.daily_summary]\nat = \"08:00\"\n");
    let alerts = pipeline(&cfg, vec![sink(addr, "hook", SinkKind::Webhook)]);
    let mut w = engine(&env);
    let mut t = T0_MS;
    let mut step = |w: &mut StatsWriter, fills: u64, realized: i64, drawdown: i64, h, m| {
        w.set_counter(CounterId::FillsTotal, fills);
        w.publish(|g| {
            g.set(GaugeId::RealizedPnlQuoteMicros, realized);
            g.set(GaugeId::DrawdownQuoteMicros, drawdown);
        });
        t += 1_000;
        run(&alerts, &poll(&env, w, t), t, local(h, m))
    };
    // The first poll is the baseline: what the engine did before the agent is not counted.
    assert_eq!(step(&mut w, 10, 0, 0, 7, 0), 0);
    assert_eq!(step(&mut w, 12, 3_000_000, 0, 7, 10), 0); // a win
    assert_eq!(step(&mut w, 14, 1_000_000, 2_000_000, 7, 20), 0); // a loss
    assert_eq!(step(&mut w, 16, 4_000_000, 500_000, 7, 59), 0); // a win
    assert_eq!(step(&mut w, 16, 4_000_000, 0, 8, 0), 1);
    let got = wait_for(&inbox, 1).await;
    let s = &got[0].1;
    assert_eq!(s["rule"], "daily_summary");
    assert_eq!(s["level"], "INFO");
    assert_eq!(s["values"]["trades"], 6.0);
    assert_eq!(s["values"]["realized_pnl_quote"], 4.0);
    assert_eq!(s["values"]["max_drawdown_quote"], 2.0);
    assert!((s["values"]["win_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(s["values"]["incidents"], 0.0);
    // Not again the same day; again the next day at 08:00, with a fresh period.
    assert_eq!(step(&mut w, 16, 4_000_000, 0, 9, 0), 0);
    assert_eq!(step(&mut w, 16, 4_000_000, 0, 23, 59), 0);
    let next_day = NaiveDate::from_ymd_opt(2026, 11, 24)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    t += 1_000;
    assert_eq!(run(&alerts, &poll(&env, &mut w, t), t, next_day), 1);
    let got = wait_for(&inbox, 2).await;
    assert_eq!(got[1].1["values"]["trades"], 0.0);
}

#[tokio::test]
async fn failing_sink_is_retried_and_counted_without_blocking() {
    let (addr, inbox) = receiver().await;
    let env = Env::new();
    let cfg = config(&env, "max_attempts = 3\nretry_backoff_ms = 300\n");
    let alerts = pipeline(
        &cfg,
        vec![
            sink(addr, "fail", SinkKind::Webhook),
            sink(addr, "ok", SinkKind::Slack),
        ],
    );
    let mut w = engine(&env);
    w.publish(|g| g.set(GaugeId::KillState, 1));
    let started = Instant::now();
    assert_eq!(
        run(&alerts, &poll(&env, &mut w, T0_MS), T0_MS, local(7, 0)),
        1
    );
    // on_poll only queues: it returns long before the failing sink's retries (300 + 600 ms).
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    // The healthy sink gets its message while the failing one is still backing off.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !inbox.lock().unwrap().iter().any(|(k, _)| k == "ok") {
        assert!(Instant::now() < deadline, "ok sink never received");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        alerts.stats().sinks[0].failed == 0,
        "failing sink finished too early"
    );
    // Eventually: three attempts, two retries, one failure, counted.
    let deadline = Instant::now() + Duration::from_secs(10);
    while alerts.stats().sinks[0].failed == 0 {
        assert!(Instant::now() < deadline, "failing sink never gave up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stats = alerts.stats();
    let (fail, ok) = (&stats.sinks[0], &stats.sinks[1]);
    assert_eq!((fail.sent, fail.failed, fail.retries), (0, 1, 2));
    assert_eq!((ok.sent, ok.failed, ok.retries), (1, 0, 0));
    let attempts = inbox
        .lock()
        .unwrap()
        .iter()
        .filter(|(k, _)| k == "fail")
        .count();
    assert_eq!(attempts, 3);
}

#[tokio::test]
async fn sink_counters_and_backup_state_are_exported() {
    let (addr, inbox) = receiver().await;
    let env = Env::new();
    let cfg = config(&env, "");
    let secrets = obi_agent::Secrets {
        alert_sinks: vec![sink(addr, "ops-hook", SinkKind::Webhook)],
        ..obi_agent::Secrets::default()
    };
    let state = obi_agent::AppState::new(cfg, secrets).unwrap();
    for worker in state.take_sink_workers() {
        tokio::spawn(worker.run());
    }
    // No engine: engine_down fires.
    let snap = state.refresh_engine();
    state.evaluate_alerts(&snap);
    let got = wait_for(&inbox, 1).await;
    assert_eq!(got[0].1["rule"], "engine_down");
    let deadline = Instant::now() + Duration::from_secs(5);
    while state.alerts().stats().sinks[0].sent == 0 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let m = common::get(&state, "/metrics").await.body;
    assert!(
        m.contains("obi_agent_alerts_sent_total{sink=\"ops-hook\"} 1\n"),
        "{m}"
    );
    assert!(m.contains("obi_agent_alerts_failed_total{sink=\"ops-hook\"} 0\n"));
    assert!(m.contains("obi_agent_alerts_suppressed_total{reason=\"rate_limit\"} 0\n"));
    assert!(m.contains("obi_agent_alerts_firing 1\n"));
    // The webhook URL is a secret: never in metrics.
    assert!(!m.contains(&addr.to_string()));
}
