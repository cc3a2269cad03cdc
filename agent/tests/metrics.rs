//! `/metrics`: Prometheus text format, checked line by line here and by `promtool check
//! metrics` when it is installed (CI: `apt-get install -y prometheus`). Without promtool the
//! test says SKIPPED on stderr, or fails when `OBI_REQUIRE_TOOLS=1`.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::process::{Command, Stdio};

use axum::http::StatusCode;
use common::{Env, get, say};
use obi_shm::{CounterId, GaugeId, InstrumentGaugeId};

/// Parses the exposition strictly enough to catch what Prometheus would reject or warn
/// about; returns family name → type.
fn self_check(text: &str) -> HashMap<String, String> {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !n.starts_with(|c: char| c.is_ascii_digit())
    };
    let mut helps = HashSet::new();
    let mut types: HashMap<String, String> = HashMap::new();
    let mut series = HashSet::new();
    assert!(text.ends_with('\n'), "exposition must end with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect(line);
            assert!(name_ok(name), "bad name in {line}");
            assert!(!help.trim().is_empty(), "empty help: {line}");
            assert!(helps.insert(name.to_string()), "HELP twice: {line}");
            assert!(!types.contains_key(name), "HELP after TYPE: {line}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect(line);
            assert!(helps.contains(name), "TYPE without HELP: {line}");
            assert!(matches!(kind, "counter" | "gauge"), "{line}");
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "TYPE twice: {line}"
            );
            assert_eq!(
                kind == "counter",
                name.ends_with("_total"),
                "counter/_total: {line}"
            );
            assert!(name.starts_with("obi_"), "{line}");
            for abbrev in ["_ns", "_ms", "_us", "_sec", "_s", "_micros", "_ppm"] {
                assert!(
                    !name.ends_with(abbrev) && !name.contains(&format!("{abbrev}_")),
                    "abbreviated unit in {line}"
                );
            }
        } else {
            assert!(!line.starts_with('#'), "unexpected comment {line}");
            let (series_id, value) = line.rsplit_once(' ').expect(line);
            let name = series_id.split('{').next().expect(line);
            assert!(types.contains_key(name), "sample before TYPE: {line}");
            if let Some(labels) = series_id.strip_prefix(name)
                && !labels.is_empty()
            {
                assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
                for pair in labels[1..labels.len() - 1].split(',') {
                    let (k, v) = pair.split_once('=').expect(line);
                    assert!(name_ok(k), "{line}");
                    assert!(v.starts_with('"') && v.ends_with('"'), "{line}");
                }
            }
            let v: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("bad value: {line}"));
            assert!(v.is_finite(), "{line}");
            assert!(
                series.insert(series_id.to_string()),
                "duplicate series {line}"
            );
        }
    }
    types
}

fn promtool(text: &str) {
    let require = std::env::var("OBI_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        assert!(
            !require,
            "promtool not found on PATH and OBI_REQUIRE_TOOLS=1"
        );
        say(
            "SKIPPED: promtool check metrics (promtool not on PATH; apt-get install -y prometheus)",
        );
        return;
    };
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- exposition ---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    say("promtool check metrics: ok");
}

#[tokio::test]
async fn metrics_without_engine() {
    let env = Env::new();
    let state = env.state(false, false);
    state.refresh_engine();
    let r = get(&state, "/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.content_type
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    self_check(&r.body);
    assert!(r.body.contains("\nobi_agent_up 1\n") || r.body.contains("obi_agent_up 1\n"));
    assert!(
        r.body
            .contains("obi_agent_shm_reader_state{state=\"no_file\"} 1\n")
    );
    assert!(
        r.body
            .contains("obi_agent_shm_reader_state{state=\"ready\"} 0\n")
    );
    assert!(!r.body.contains("obi_engine_"));
    promtool(&r.body);
}

#[tokio::test]
async fn metrics_with_engine_cover_every_registry_entry() {
    let env = Env::new();
    let state = env.state(false, false);
    let mut w = env.start_engine(7);
    w.add_counter(CounterId::GapsTotal, 3);
    w.add_counter(CounterId::FramesTotal, 1_000);
    state.refresh_engine();
    let r = get(&state, "/metrics").await;
    let types = self_check(&r.body);

    for &id in CounterId::ALL {
        assert_eq!(types[&format!("obi_engine_{}", id.name())], "counter");
    }
    for &id in GaugeId::ALL {
        let e = obi_agent::metrics::base_units(id.name());
        assert_eq!(types[&format!("obi_engine_{}", e.name)], "gauge");
    }
    for &id in InstrumentGaugeId::ALL {
        let e = obi_agent::metrics::base_units(id.name());
        assert_eq!(types[&format!("obi_instrument_{}", e.name)], "gauge");
    }
    assert!(r.body.contains("obi_engine_gaps_total 3\n"), "{}", r.body);
    assert!(r.body.contains("obi_engine_frames_total 1000\n"));
    assert!(r.body.contains("obi_engine_latency_p99_seconds 0.00000085"));
    assert!(r.body.contains("obi_engine_realized_pnl_quote -1.25\n"));
    assert!(
        r.body
            .contains("obi_instrument_book_valid{symbol=\"BTCUSDT\"} 1\n")
    );
    assert!(
        r.body
            .contains("obi_instrument_feed_lag_seconds{symbol=\"ETHUSDT\"} 0.012\n")
    );
    assert!(
        r.body
            .contains("obi_instrument_obi_ratio{symbol=\"ETHUSDT\"} -0.25\n")
    );
    assert!(
        r.body
            .contains("obi_agent_shm_reader_state{state=\"ready\"} 1\n")
    );
    assert!(r.body.contains("obi_agent_engine_heartbeat_age_seconds "));
    promtool(&r.body);
}
