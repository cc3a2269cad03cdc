//! The `obi-engine` command line: bad configs are clear errors with a non-zero exit, and
//! replay is deterministic (same input and config → byte-identical output).

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn engine(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_obi-engine"))
        .args(args)
        .output()
        .expect("run obi-engine")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.to_string_lossy().into_owned()
}

const GOOD: &str = r#"
[engine]
shm_enabled = false

[[instruments]]
symbol = "ETHUSDT"
market = "usdm"
tick_size = "0.01"
lot_size = "0.001"
"#;

#[test]
fn bad_configs_fail_clearly() {
    let dir = common::scratch_dir("cli-config");
    let cases = [
        (
            "unknown_key.toml",
            format!("{GOOD}\n[strategy]\nbogus_knob = 3\n"),
            "bogus_knob",
        ),
        (
            "no_instrument.toml",
            "[engine]\nshm_enabled = false\n".to_string(),
            "no instruments",
        ),
        (
            "zero_tick.toml",
            GOOD.replace("\"0.01\"", "\"0.00\""),
            "greater than zero",
        ),
        ("bad_market.toml", GOOD.replace("usdm", "moon"), "moon"),
        (
            "not_toml.toml",
            "this is = = not toml".to_string(),
            "invalid config",
        ),
    ];
    for (name, text, needle) in cases {
        let path = write(&dir, name, &text);
        for args in [
            vec!["check-config", "--config", &path],
            vec!["replay", "--config", &path, "/nonexistent"],
        ] {
            let out = engine(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{name} {args:?}: {stderr}");
            assert!(
                stderr.contains(needle),
                "{name}: stderr lacks {needle:?}: {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{name}: panicked: {stderr}");
        }
    }
    let good = write(&dir, "good.toml", GOOD);
    let out = engine(&["check-config", "--config", &good]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn missing_or_unusable_recordings_fail_clearly() {
    let dir = common::scratch_dir("cli-recording");
    let out = engine(&["replay", "/nonexistent/recording.gz"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/recording.gz"));
    let junk = write(&dir, "junk.txt", "hello\nworld\n");
    let out = engine(&["replay", &junk]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a collector"));
}

#[test]
fn replay_is_byte_identical_across_runs() {
    let Some(data) = common::shared_data("replay_is_byte_identical_across_runs") else {
        return;
    };
    let dir = common::scratch_dir("cli-determinism");
    let rec = data.join("hftbacktest-sample/usdm/ethusdt_20240808.gz");
    let rec = rec.to_str().expect("utf-8 path");
    let mut outputs = Vec::new();
    for run in 0..2 {
        let tob = dir.join(format!("tob{run}.csv"));
        let out = engine(&[
            "replay",
            "--no-timing",
            "--report",
            "json",
            "--tob-out",
            tob.to_str().expect("path"),
            rec,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push((out.stdout, std::fs::read(&tob).expect("tob")));
    }
    assert!(!outputs[0].1.is_empty());
    assert_eq!(
        outputs[0].0, outputs[1].0,
        "JSON reports differ between runs"
    );
    assert_eq!(
        outputs[0].1, outputs[1].1,
        "--tob-out files differ between runs"
    );
    let report: serde_json::Value = serde_json::from_slice(&outputs[0].0).expect("json report");
    for key in [
        "frames",
        "diffs_applied",
        "gaps",
        "resyncs",
        "crossed",
        "parse_errors",
        "frames_per_sec",
        "latency_ns",
        "trading",
    ] {
        assert!(report.get(key).is_some(), "report lacks {key}");
    }
    for key in ["p50", "p99", "p999", "max"] {
        assert!(
            report["latency_ns"].get(key).is_some(),
            "latency_ns lacks {key}"
        );
    }
    for key in [
        "trades",
        "pnl",
        "max_drawdown",
        "win_rate",
        "profit_factor",
        "sqn",
        "sharpe",
        "avg_hold_ms",
    ] {
        assert!(report["trading"].get(key).is_some(), "trading lacks {key}");
    }
}
