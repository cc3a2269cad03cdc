//! `obi-engine go-nogo` end to end against the simulator over loopback: a paper run of the
//! real engine produces the paper evidence, then the checklist says GO for a good live
//! setup (also through `scripts/go-nogo.sh`), NO-GO with a kill file present, with a key
//! the venue refuses, with too little quote balance or a latched state, and CONDITIONAL
//! with a breaker looser than the runbook.

// Helpers outside #[test] fns unwrap too: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

use obi_bench::harness::{EngineSetup, ed25519_keys, engine_bin, fresh_dir, write_owner_only};
use obi_bench::sim::{AccountConfig, Sim, SimConfig, SimHandle};
use obi_engine::gonogo::snapshot;
use obi_engine::journal::RecordBody;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const API_KEY: &str = "obi-test-key";
const SEED: [u8; 32] = [7; 32];
const HMAC_SECRET: &str = "gonogo-hmac-secret";

fn scratch(name: &str) -> PathBuf {
    fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), name).expect("scratch dir")
}

fn sim(quote_balance: &str) -> SimHandle {
    let (_, public_hex) = ed25519_keys(SEED).unwrap();
    let mut cfg = SimConfig {
        seed: 5,
        speed: 4.0,
        account: AccountConfig {
            base_balance: "10".into(),
            quote_balance: quote_balance.into(),
        },
        ..SimConfig::default()
    };
    cfg.auth.api_key = Some(API_KEY.into());
    cfg.auth.ed25519_public_key = Some(public_hex);
    cfg.auth.hmac_secret = Some(HMAC_SECRET.into());
    Sim::start(cfg).expect("simulator")
}

/// A setup under `dir`: the key file (from `seed`), a config in `mode` named `name`.toml
/// whose state dir is `<dir>/<name>.stats.state` (created), with `breakers` lines.
fn setup(
    dir: &Path,
    sim: &SimHandle,
    name: &str,
    mode: &'static str,
    seed: [u8; 32],
) -> EngineSetup {
    let (pem, _) = ed25519_keys(seed).unwrap();
    let secret = dir.join(format!("{name}-key.pem"));
    write_owner_only(&secret, &pem).unwrap();
    let mut s = EngineSetup::new(
        sim.addr().to_string(),
        secret,
        dir.join(format!("{name}.stats")),
    );
    s.mode = mode;
    s
}

fn write_config(dir: &Path, name: &str, s: &EngineSetup) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, s.toml()).unwrap();
    std::fs::create_dir_all(state_of(s)).unwrap();
    path
}

fn state_of(s: &EngineSetup) -> PathBuf {
    PathBuf::from(format!("{}.state", s.stats.display()))
}

/// A paper run of the real engine against `sim` for a few seconds; returns its state dir
/// and the fills its journal holds.
fn paper_run(dir: &Path, sim: &SimHandle) -> (PathBuf, u64) {
    let mut s = setup(dir, sim, "paper", "paper", SEED);
    s.strategy = [
        "order_qty_lots = 10",
        "long_threshold = 0.15",
        "short_threshold = 0.15",
        "confirm_ms = 0",
    ]
    .map(String::from)
    .to_vec();
    // The evidence run must not trip on its own aggressive settings.
    s.breakers = [
        "max_consecutive_losses = 10000",
        "daily_loss_bps = 10000",
        "drawdown_bps = 10000",
    ]
    .map(String::from)
    .to_vec();
    let config = write_config(dir, "paper", &s);
    let state = state_of(&s);
    let mut fills = 0;
    for _ in 0..3 {
        let out = Command::new(engine_bin().unwrap())
            .args(["run", "--no-shm", "--duration-s", "8", "--config"])
            .arg(&config)
            .env(s.api_key_env, API_KEY)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "paper run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let snap = snapshot::read(&state).unwrap();
        fills = snap
            .records
            .iter()
            .filter(|r| matches!(r.body, RecordBody::Fill(f) if f.qty.0 > 0))
            .count() as u64;
        if fills >= 4 {
            break;
        }
    }
    assert!(fills >= 4, "the paper runs produced only {fills} fills");
    (state, fills)
}

fn go_nogo(config: &Path, paper: &Path, min_fills: u64, env: &[(&str, &str)]) -> (Output, Value) {
    let mut cmd = Command::new(engine_bin().unwrap());
    cmd.args(["go-nogo", "--json", "--config"])
        .arg(config)
        .arg("--paper-state")
        .arg(paper)
        .args(["--min-paper-fills", &min_fills.to_string()])
        .env_remove("OBI_KILL")
        .env_remove("OBI_ENABLE_LIVE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "go-nogo output: {e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, json)
}

fn status<'a>(report: &'a Value, id: &str) -> &'a str {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .and_then(|c| c["status"].as_str())
        .unwrap_or_else(|| panic!("no {id} in {report:#}"))
}

fn reason<'a>(report: &'a Value, id: &str) -> &'a str {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .and_then(|c| c["reason"].as_str())
        .unwrap_or("")
}

const LIVE_ENV: [(&str, &str); 2] = [("OBI_SIM_API_KEY", API_KEY), ("OBI_ENABLE_LIVE", "1")];

#[test]
fn go_after_paper_then_no_go_for_each_broken_precondition() {
    let dir = scratch("gonogo-sim");
    let venue = sim("100000");
    let (paper, fills) = paper_run(&dir, &venue);

    // 1. A good live setup: GO, every check PASS.
    let live = setup(&dir, &venue, "live", "live", SEED);
    let config = write_config(&dir, "live", &live);
    let (out, report) = go_nogo(&config, &paper, fills, &LIVE_ENV);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["verdict"], "GO");
    for c in report["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "PASS", "{c}");
    }
    assert!(
        reason(&report, "venue-keys").contains("session.logon"),
        "{report:#}"
    );
    assert!(
        reason(&report, "balances").contains("USDT free 100000.00"),
        "{report:#}"
    );
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains("PRIVATE KEY"), "{text}");

    // 2. A paper config is checked against the venue settings live would use.
    let paper_cfg = setup(&dir, &venue, "paper-mode", "paper", SEED);
    let config_paper = write_config(&dir, "paper-mode", &paper_cfg);
    let (out, report) = go_nogo(&config_paper, &paper, fills, &LIVE_ENV);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert!(
        reason(&report, "mode").contains("live would use"),
        "{report:#}"
    );

    // 3. A kill file present: NO-GO, and the kill switch says why.
    let kill = state_of(&live).join("KILL");
    std::fs::write(&kill, "reason=drill\nby=test\n").unwrap();
    let (out, report) = go_nogo(&config, &paper, fills, &LIVE_ENV);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(status(&report, "kill-switch"), "FAIL");
    assert!(
        reason(&report, "kill-switch").contains("reason=drill"),
        "{report:#}"
    );
    assert_eq!(status(&report, "venue"), "PASS");
    std::fs::remove_file(&kill).unwrap();
    let (out, report) = go_nogo(
        &config,
        &paper,
        fills,
        &[LIVE_ENV[0], LIVE_ENV[1], ("OBI_KILL", "1")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(status(&report, "kill-switch"), "FAIL");

    // 4. A key the venue does not know: the signature does not verify.
    let wrong = setup(&dir, &venue, "wrong", "live", [8; 32]);
    let config_wrong = write_config(&dir, "wrong", &wrong);
    let (out, report) = go_nogo(&config_wrong, &paper, fills, &LIVE_ENV);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(status(&report, "keys"), "PASS", "the key itself parses");
    assert_eq!(status(&report, "venue-keys"), "FAIL");
    assert!(
        reason(&report, "venue-keys").contains("-1022"),
        "{report:#}"
    );
    assert_eq!(status(&report, "balances"), "FAIL");
    // ... or an API key it does not know.
    let (out, report) = go_nogo(
        &config,
        &paper,
        fills,
        &[("OBI_SIM_API_KEY", "someone-else"), LIVE_ENV[1]],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        reason(&report, "venue-keys").contains("-2015"),
        "{report:#}"
    );
    // ... or none at all.
    let (out, report) = go_nogo(&config, &paper, fills, &LIVE_ENV[1..]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(status(&report, "keys"), "FAIL");

    // 5. Not enough paper evidence.
    let (out, report) = go_nogo(&config, &paper, fills + 1, &LIVE_ENV);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(status(&report, "paper"), "FAIL");

    // 6. A breaker looser than the runbook: CONDITIONAL.
    let mut loose = setup(&dir, &venue, "loose", "live", SEED);
    loose.breakers = vec!["daily_loss_bps = 300".into()];
    let config_loose = write_config(&dir, "loose", &loose);
    let (out, report) = go_nogo(&config_loose, &paper, fills, &LIVE_ENV);
    assert_eq!(out.status.code(), Some(3), "{report:#}");
    assert_eq!(report["verdict"], "CONDITIONAL");
    assert_eq!(status(&report, "breakers"), "WARN");

    // 7. The paper run's own state dir as the live state: its paper orders never reached
    //    the venue, so a live start would reconcile them and start halted: NO-GO. The
    //    go-nogo run left the state exactly as it was.
    let before = std::fs::read(paper.join("journal.obij")).unwrap();
    let mut reuse = setup(&dir, &venue, "paper", "live", SEED);
    reuse.strategy = Vec::new();
    let (out, report) = go_nogo(
        &write_config(&dir, "reuse", &reuse),
        &paper,
        fills,
        &LIVE_ENV,
    );
    assert_eq!(std::fs::read(paper.join("journal.obij")).unwrap(), before);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(status(&report, "latch"), "FAIL");
    assert!(
        reason(&report, "latch").contains("paper run(s)"),
        "{report:#}"
    );

    // 8. The wrapper script agrees on the exit code (env file loaded as the service does).
    let etc = dir.join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    write_owner_only(
        &etc.join("engine.env"),
        &format!("OBI_SIM_API_KEY={API_KEY}\nOBI_ENABLE_LIVE=1\n"),
    )
    .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/go-nogo.sh");
    let bin_dir = engine_bin().unwrap().parent().unwrap().to_path_buf();
    for (cfg, code) in [(&config, 0), (&config_loose, 3), (&config_wrong, 1)] {
        let out = Command::new("bash")
            .arg(&script)
            .arg("--config")
            .arg(cfg)
            .arg("--paper-state")
            .arg(&paper)
            .args(["--", "--min-paper-fills", &fills.to_string()])
            .env("OBI_ETC", &etc)
            .env("OBI_BIN_DIR", &bin_dir)
            .env("OBI_USER", "obi-user-that-does-not-exist")
            .env_remove("OBI_SIM_API_KEY")
            .env_remove("OBI_ENABLE_LIVE")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}: {stdout}{}",
            cfg.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("PASS  env-file"), "{stdout}");
    }
}

#[test]
fn no_go_when_the_account_cannot_cover_the_breakers_capital() {
    let dir = scratch("gonogo-sim-balance");
    let venue = sim("500");
    let live = setup(&dir, &venue, "live", "live", SEED);
    let config = write_config(&dir, "live", &live);
    let paper = dir.join("no-paper");
    std::fs::create_dir_all(&paper).unwrap();
    let (out, report) = go_nogo(&config, &paper, 0, &LIVE_ENV);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(status(&report, "venue-keys"), "PASS");
    assert_eq!(status(&report, "balances"), "FAIL");
    assert!(
        reason(&report, "balances").contains("USDT free 500.00 < need 10000.00"),
        "{report:#}"
    );
    assert_eq!(
        status(&report, "paper"),
        "PASS",
        "0 fills required: {report:#}"
    );
    // --min-quote replaces the derived need.
    let out = Command::new(engine_bin().unwrap())
        .args(["go-nogo", "--config"])
        .arg(&config)
        .arg("--paper-state")
        .arg(&paper)
        .args(["--min-paper-fills", "0", "--min-quote", "400"])
        .envs(LIVE_ENV)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("PASS  balances") && text.trim_end().ends_with("0 warnings)"),
        "{text}"
    );

    // An HMAC key signs account.status per request; a wrong secret is refused.
    let hmac = live
        .toml()
        .replace("key_kind = \"ed25519\"", "key_kind = \"hmac\"");
    let config_hmac = dir.join("hmac.toml");
    std::fs::write(&config_hmac, hmac).unwrap();
    for (secret, keys) in [(HMAC_SECRET, "PASS"), ("not-the-secret", "FAIL")] {
        let env = [LIVE_ENV[0], LIVE_ENV[1], ("OBI_SIM_SECRET_UNUSED", secret)];
        let (out, report) = go_nogo(&config_hmac, &paper, 0, &env);
        assert_eq!(
            out.status.code(),
            Some(1),
            "balance still short: {report:#}"
        );
        assert_eq!(status(&report, "venue-keys"), keys, "{report:#}");
        assert!(!serde_json::to_string(&report).unwrap().contains(secret));
        if keys == "PASS" {
            assert!(
                reason(&report, "venue-keys").contains("signed account.status"),
                "{report:#}"
            );
        }
    }
}
