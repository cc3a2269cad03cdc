//! The shipped Prometheus rules and Grafana dashboard: `promtool check rules` passes, and
//! every metric either references exists in a live `/metrics` of the agent, served on
//! 127.0.0.1 against a real stats file written with `obi_shm::StatsWriter`.
// Test helpers: a failing unwrap is a failing test, as clippy.toml allows inside #[test] fns.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use common::{Env, say};

fn shipped(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

const RULES: &str = "prometheus/obi-rules.yml";
const DASHBOARD: &str = "grafana/obi-dashboard.json";

/// Series Prometheus itself synthesises (not exported by any target).
const PROMETHEUS_BUILTINS: [&str; 1] = ["up"];

#[test]
fn promtool_check_rules() {
    let require = std::env::var("OBI_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
    let out = match Command::new("promtool")
        .args(["check", "rules"])
        .arg(shipped(RULES))
        .output()
    {
        Ok(out) => out,
        Err(_) => {
            assert!(
                !require,
                "promtool not found on PATH and OBI_REQUIRE_TOOLS=1"
            );
            say(
                "SKIPPED: promtool check rules (promtool not on PATH; apt-get install -y prometheus)",
            );
            return;
        }
    };
    assert!(
        out.status.success(),
        "promtool check rules failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    say("promtool check rules: ok");
}

/// Metric names in a PromQL expression: identifiers outside quotes and outside `{...}`
/// label matchers that are not followed by `(` (functions) and are not PromQL keywords.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const KEYWORDS: [&str; 12] = [
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
        "bool",
        "inf",
    ];
    let mut names = BTreeSet::new();
    let chars: Vec<char> = expr.chars().collect();
    let (mut i, mut in_braces, mut in_brackets) = (0, false, false);
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    i += 1;
                }
            }
            '{' => in_braces = true,
            '}' => in_braces = false,
            '[' => in_brackets = true,
            ']' => in_brackets = false,
            _ if (c.is_ascii_alphabetic() || c == '_') && !in_braces && !in_brackets => {
                let start = i;
                while i + 1 < chars.len()
                    && (chars[i + 1].is_ascii_alphanumeric()
                        || chars[i + 1] == '_'
                        || chars[i + 1] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..=i].iter().collect();
                let mut j = i + 1;
                while j < chars.len() && chars[j] == ' ' {
                    j += 1;
                }
                let is_call = j < chars.len() && chars[j] == '(';
                if !is_call && !KEYWORDS.contains(&word.to_ascii_lowercase().as_str()) {
                    names.insert(word);
                }
            }
            _ => {}
        }
        i += 1;
    }
    names
}

fn referenced() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let rules = std::fs::read_to_string(shipped(RULES)).unwrap();
    let mut exprs = 0;
    for line in rules.lines() {
        if let Some(expr) = line.trim_start().strip_prefix("expr:") {
            exprs += 1;
            names.extend(metric_names(expr));
        }
    }
    assert!(exprs >= 10, "only {exprs} rule expressions found");
    let dash: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(shipped(DASHBOARD)).unwrap()).unwrap();
    let panels = dash["panels"].as_array().unwrap();
    assert!(panels.len() >= 6);
    for p in panels {
        for t in p["targets"].as_array().unwrap() {
            names.extend(metric_names(t["expr"].as_str().unwrap()));
        }
    }
    names
}

#[test]
fn expression_parser_finds_metrics_only() {
    let got = metric_names(
        "time() - obi_a_seconds{state=\"x y\"} > 26 * 3600 or increase(obi_b_total[5m]) by (sink)",
    );
    assert_eq!(
        got,
        BTreeSet::from([
            "obi_a_seconds".to_string(),
            "obi_b_total".to_string(),
            "sink".to_string()
        ])
    );
}

#[tokio::test]
async fn every_referenced_metric_exists_in_live_metrics() {
    let env = Env::new();
    let state = env.state(false, false);
    let _engine = env.start_engine(31);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(obi_agent::server::serve_on(listener, state, async move {
        let _ = stop_rx.await;
    }));
    let body = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();

    let exported: BTreeSet<String> = body
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_string)
        .collect();
    assert!(
        exported.contains("obi_engine_kill_state"),
        "engine not mapped:\n{body}"
    );
    let mut missing = Vec::new();
    for name in referenced() {
        // Label names used in `by (...)` are not metrics.
        if ["sink", "symbol", "state", "job"].contains(&name.as_str())
            || PROMETHEUS_BUILTINS.contains(&name.as_str())
        {
            continue;
        }
        if !exported.contains(&name) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "referenced but not exported by the agent: {missing:?}"
    );
}
