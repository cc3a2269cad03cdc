//! Simulator configuration and the obi-sim binary: bad input is a clear error (exit 2), the
//! example config is valid, the binary prints its URLs and writes a report.

// Helpers outside #[test] fns unwrap too: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use obi_bench::sim::{Sim, SimConfig};

const EXAMPLE: &str = include_str!("../sim.example.toml");

#[test]
fn example_config_is_valid_and_equals_the_defaults() {
    let cfg = SimConfig::from_toml(EXAMPLE).unwrap();
    cfg.validate().unwrap();
    assert_eq!(cfg, SimConfig::default());
}

#[test]
fn bad_configs_are_errors() {
    assert!(SimConfig::from_toml("colour = 1").is_err());
    assert!(SimConfig::from_toml("[faults]\ndrop_every = 1").is_err());
    for text in [
        "speed = -1.0",
        "ping_interval_ms = 0",
        "speed = 1e-9",
        "frame_interval_us = 999999999999",
        "[faults]\nstall_every_s = 1.0\nstall_ms = 18446744073709551615",
        "[faults]\nshutdown_every_s = 1e300",
        "[instrument]\ntick_size = \"0\"",
        "[instrument]\nsymbol = \"ETH USDT\"",
        "[instrument]\nstart_price = \"2500.001\"",
        "[faults]\nstall_every_s = 1.0",
        "[faults]\ngap_every_s = 0.001",
        "[matching]\nmaker_fee_bps = 1000.0",
        "[auth]\ned25519_public_key = \"abcd\"",
        "[auth]\nhmac_secret_env = \"OBI_SIM_TEST_SURELY_UNSET\"\napi_key = \"k\"",
        "replay = \"/nonexistent/file.gz\"",
    ] {
        let cfg = SimConfig::from_toml(text).unwrap();
        let err = Sim::start(cfg).expect_err(text);
        assert!(!err.to_string().is_empty());
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_obi-sim"))
}

#[test]
fn binary_help_bad_input_and_report() {
    let out = bin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--config",
        "--replay",
        "--frame-interval-us",
        "--report-out",
        "--gap-every-s",
    ] {
        assert!(help.contains(flag), "{flag}");
    }
    let dir = std::env::temp_dir().join(format!("obi-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "nonsense = true\n").unwrap();
    let out = bin().arg("--config").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("nonsense"), "{err}");
    let out = bin().args(["--tick-size", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin().args(["--duration-s", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));

    let report = dir.join("report.json");
    let out = bin()
        .args(["--duration-s", "0.5", "--report-out"])
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("rest_url   = http://127.0.0.1:"));
    assert!(stdout.contains("ws_api_url = ws://127.0.0.1:"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(v["symbol"], "ETHUSDT");
    assert_eq!(v["duplicate_client_order_ids"], 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn binary_stops_on_sigterm_and_writes_its_report() {
    use std::io::{BufRead, BufReader};
    let dir = std::env::temp_dir().join(format!("obi-sim-term-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join("report.json");
    let mut child = bin()
        .args(["--seed", "3", "--report-out"])
        .arg(&report)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.starts_with("obi-sim listening on 127.0.0.1:"),
        "{first}"
    );
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(v["faults"]["gaps"], 0);
    std::fs::remove_dir_all(&dir).unwrap();
}
