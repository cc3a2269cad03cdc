//! `obi-engine go-nogo`: the verdict rules, and every local check on real files in temp
//! directories (key permissions, kill files, the latch, breakers, the paper journal),
//! including that the checklist never modifies a state directory. Nothing here reaches
//! the network beyond a closed loopback port.

// Helpers unwrap like the tests they serve: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

use obi_engine::config::Config;
use obi_engine::gonogo::access::Identity;
use obi_engine::gonogo::balances::{self, Account, Balance};
use obi_engine::gonogo::clock::{self, Estimate, TimeSample};
use obi_engine::gonogo::paper::{self, PaperRules};
use obi_engine::gonogo::verdict::{Check, Report, Status, Verdict};
use obi_engine::gonogo::{self, Options, breakers, host, keys, killswitch, latch, money};
use obi_engine::instrument::{InstrumentId, Symbol};
use obi_engine::journal::{Journal, OperatorAction, Record, RecordBody, ShortText};
use obi_engine::order::{Fill, Liquidity, NewOrder, OrderId, RejectReason, TimeInForce};
use obi_engine::safety::{BreakerConfig, ReasonCode, SafetyState};
use obi_engine::units::{Lots, Side, Ticks};
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

// RFC 8032 test 1 seed, as PKCS#8 PEM.
const PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
    MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n\
    -----END PRIVATE KEY-----\n";
const NS_PER_DAY: u64 = 86_400 * 1_000_000_000;
const NOW_NS: u64 = 1_800_000_000 * 1_000_000_000;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn me() -> Identity {
    Identity::current().expect("/proc/self/status")
}

/// A spot config with its state dir (and stats file) under `dir`, the venue on a closed
/// loopback port, and `extra` appended.
fn config_text(dir: &Path, extra: &str) -> String {
    format!(
        r#"
[engine]
state_dir = "{state}"
shm_path = "{dir}/engine.stats"

[[instruments]]
symbol = "ETHUSDT"
market = "spot"
tick_size = "0.01"
lot_size = "0.001"

[venue]
rest_url = "http://127.0.0.1:1"
stream_url = "ws://127.0.0.1:1"
ws_api_url = "ws://127.0.0.1:1/ws-api/v3"
secret_file = "{dir}/api-key.pem"
{extra}
"#,
        state = dir.join("state").display(),
        dir = dir.display()
    )
}

fn config(dir: &Path, extra: &str) -> Config {
    Config::from_toml(&config_text(dir, extra), &dir.join("engine.toml")).expect("config")
}

fn write_mode(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn state_dir(dir: &Path) -> PathBuf {
    let s = dir.join("state");
    std::fs::create_dir_all(&s).unwrap();
    s
}

/// Appends records to `<state>/journal.obij` with sequence numbers from the file's end.
fn journal(state: &Path, bodies: &[(u64, RecordBody)]) {
    let (mut j, _) = Journal::open_for_recovery(&state.join("journal.obij")).unwrap();
    for (seq, (ts_ns, body)) in (j.last_seq() + 1..).zip(bodies) {
        j.append(&Record {
            seq,
            ts_ns: *ts_ns,
            body: *body,
        })
        .unwrap();
    }
    j.sync().unwrap();
}

fn session(ts_ns: u64) -> Vec<(u64, RecordBody)> {
    vec![
        (ts_ns, RecordBody::SessionStart { pid: 42 }),
        (
            ts_ns,
            RecordBody::Instrument {
                id: InstrumentId(0),
                symbol: Symbol::new("ETHUSDT").unwrap(),
            },
        ),
    ]
}

fn order(id: u64) -> RecordBody {
    RecordBody::OrderSent(NewOrder {
        order_id: OrderId(id),
        instrument: InstrumentId(0),
        side: Side::Bid,
        price: Ticks(250_000),
        qty: Lots(1),
        tif: TimeInForce::PostOnly,
        cause_ts_ns: 0,
        reduce_only: false,
    })
}

fn fill(id: u64, side: Side) -> RecordBody {
    RecordBody::Fill(Fill {
        order_id: OrderId(id),
        instrument: InstrumentId(0),
        side,
        price: Ticks(250_000),
        qty: Lots(1),
        leaves_qty: Lots(0),
        fee: 0,
        liquidity: Liquidity::Maker,
        ts_ns: 0,
    })
}

/// A paper session at `ts_ns` with `round_trips` flat round trips (two fills each).
fn paper_run(ts_ns: u64, round_trips: u64) -> Vec<(u64, RecordBody)> {
    let mut out = session(ts_ns);
    for i in 0..round_trips {
        let t = ts_ns + i * 1_000_000_000;
        for (k, side) in [(2 * i + 1, Side::Bid), (2 * i + 2, Side::Ask)] {
            out.push((t, order(k)));
            out.push((t, fill(k, side)));
        }
    }
    out
}

fn trip(reason: ReasonCode, state: SafetyState) -> RecordBody {
    RecordBody::Trip {
        reason,
        state,
        value: 0,
        limit: 0,
    }
}

fn reject(id: u64, reason: RejectReason) -> RecordBody {
    RecordBody::Rejected {
        order_id: OrderId(id),
        reason,
        venue_ts_ns: 0,
    }
}

// ---------------------------------------------------------------- verdict

#[test]
fn verdict_is_the_worst_status_and_maps_to_exit_codes() {
    let pass = Check::pass("a", "ok");
    let warn = Check::warn("b", "hmm");
    let fail = Check::fail("c", "no");
    assert_eq!(Verdict::of(&[]), Verdict::NoGo, "no checks prove nothing");
    assert_eq!(Verdict::of(std::slice::from_ref(&pass)), Verdict::Go);
    assert_eq!(
        Verdict::of(&[pass.clone(), warn.clone()]),
        Verdict::Conditional
    );
    assert_eq!(Verdict::of(&[warn.clone(), fail.clone()]), Verdict::NoGo);
    assert_eq!(Verdict::of(&[fail.clone(), pass.clone()]), Verdict::NoGo);
    assert_eq!(
        [Verdict::Go, Verdict::NoGo, Verdict::Conditional].map(Verdict::exit_code),
        [0, 1, 3]
    );
    let report = Report {
        config: "x.toml".into(),
        checks: vec![pass, warn],
    };
    let text = report.to_text();
    assert!(
        text.contains("PASS  a  ok") && text.contains("WARN  b  hmm"),
        "{text}"
    );
    assert!(
        text.trim_end()
            .ends_with("(2 checks: 0 failed, 1 warnings)"),
        "{text}"
    );
    assert!(text.contains("CONDITIONAL"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["verdict"], "CONDITIONAL");
    assert_eq!(json["exit_code"], 3);
    assert_eq!(json["checks"][1]["status"], "WARN");
    assert_eq!(json["checks"][0]["id"], "a");
}

// ---------------------------------------------------------------- keys

fn keys_check(dir: &Path, env: &[(&str, &str)], who: Option<&Identity>) -> Check {
    let cfg = config(dir, "");
    keys::check(&cfg.venue, &env_of(env), who)
}

#[test]
fn keys_need_the_api_key_and_an_owner_only_parsable_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let key = dir.join("api-key.pem");
    let me = me();
    let api = [("OBI_API_KEY", "abcdefgh12345678")];

    // No secret file yet, no variable.
    let c = keys_check(dir, &api, Some(&me));
    assert_eq!(c.status, Status::Fail, "{c:?}");

    write_mode(&key, PEM, 0o600);
    let c = keys_check(dir, &api, Some(&me));
    assert_eq!(c.status, Status::Pass, "{c:?}");
    assert!(
        c.reason.contains("0600") && c.reason.contains("Ed25519"),
        "{c:?}"
    );
    assert!(
        !c.reason.contains("MC4CAQ") && !c.reason.contains("12345678"),
        "{c:?}"
    );

    let c = keys_check(dir, &[], Some(&me));
    assert_eq!(c.status, Status::Fail);
    assert!(c.reason.contains("OBI_API_KEY"), "{c:?}");

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400)).unwrap();
    assert_eq!(keys_check(dir, &api, Some(&me)).status, Status::Pass);

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(keys_check(dir, &api, Some(&me)).status, Status::Warn);

    for mode in [0o640, 0o604, 0o644] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        let c = keys_check(dir, &api, Some(&me));
        assert_eq!(c.status, Status::Fail, "{mode:o}");
        assert!(c.reason.contains(&format!("{mode:04o}")), "{c:?}");
        assert!(!c.reason.contains("MC4CAQ"));
    }

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let stranger = Identity {
        uid: me.uid + 1,
        gids: vec![],
    };
    let c = keys_check(dir, &api, Some(&stranger));
    assert_eq!(c.status, Status::Fail);
    assert!(c.reason.contains("owned by uid"), "{c:?}");
}

#[test]
fn a_symlinked_or_unparsable_secret_fails_without_showing_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let api = [("OBI_API_KEY", "k")];
    let me = me();
    let real = dir.join("real.pem");
    write_mode(&real, PEM, 0o600);
    std::os::unix::fs::symlink(&real, dir.join("api-key.pem")).unwrap();
    let c = keys_check(dir, &api, Some(&me));
    assert_eq!(c.status, Status::Fail);
    assert!(c.reason.contains("symlink"), "{c:?}");

    std::fs::remove_file(dir.join("api-key.pem")).unwrap();
    write_mode(&dir.join("api-key.pem"), "zzz-not-a-key-zzz", 0o600);
    let c = keys_check(dir, &api, Some(&me));
    assert_eq!(c.status, Status::Fail);
    assert!(c.reason.contains("not an Ed25519 private key"), "{c:?}");
    assert!(!c.reason.contains("zzz"), "{c:?}");
}

#[test]
fn a_secret_in_the_environment_wins_over_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // The file is unusable, but the variable is set: the engine never reads the file.
    write_mode(&dir.join("api-key.pem"), "junk", 0o644);
    let c = keys_check(
        dir,
        &[("OBI_API_KEY", "k"), ("OBI_API_SECRET", PEM)],
        Some(&me()),
    );
    assert_eq!(c.status, Status::Pass, "{c:?}");
    assert!(
        c.reason.contains("$OBI_API_SECRET") && c.reason.contains("not used"),
        "{c:?}"
    );
    let hmac = Config::from_toml(
        &config_text(dir, "key_kind = \"hmac\""),
        &dir.join("engine.toml"),
    )
    .unwrap();
    let c = keys::check(
        &hmac.venue,
        &env_of(&[("OBI_API_KEY", "k"), ("OBI_API_SECRET", "s3cr3t-hmac")]),
        Some(&me()),
    );
    assert_eq!(c.status, Status::Pass, "{c:?}");
    assert!(
        c.reason.contains("Hmac") && !c.reason.contains("s3cr3t"),
        "{c:?}"
    );
}

#[test]
fn env_file_must_be_owner_only() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("engine.env");
    write_mode(&f, "OBI_API_KEY=x\n", 0o600);
    assert_eq!(host::env_file_check(&f, Some(&me())).status, Status::Pass);
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    let c = host::env_file_check(&f, Some(&me()));
    assert_eq!(c.status, Status::Fail);
    assert!(c.reason.contains("0644"), "{c:?}");
    let c = host::env_file_check(&tmp.path().join("missing.env"), Some(&me()));
    assert_eq!(c.status, Status::Fail);
}

// ---------------------------------------------------------------- mode

#[test]
fn mode_says_what_paper_checks_and_live_needs_its_second_switch() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let c = host::mode_check(&config(dir, ""), &env_of(&[]));
    assert_eq!(c.status, Status::Pass);
    assert!(c.reason.contains("live would use"), "{c:?}");
    let live = config(dir, "mode = \"live\"");
    assert_eq!(host::mode_check(&live, &env_of(&[])).status, Status::Warn);
    let c = host::mode_check(&live, &env_of(&[("OBI_ENABLE_LIVE", "1")]));
    assert_eq!(c.status, Status::Pass, "{c:?}");
    let text = config_text(dir, "").replace("ws://127.0.0.1:1/ws-api", "ws://example.com/ws-api");
    let plain = Config::from_toml(&text, &dir.join("engine.toml")).unwrap();
    let c = host::mode_check(&plain, &env_of(&[]));
    assert_eq!(c.status, Status::Fail);
    assert!(c.reason.contains("unencrypted"), "{c:?}");
}

// ---------------------------------------------------------------- clock

#[test]
fn clock_offset_is_taken_at_the_midpoint_of_the_fastest_round_trip() {
    let ms = 1_000_000u64;
    let samples = [
        // Slow sample: midpoint 1150, server 1400 → +250, rtt 300.
        TimeSample {
            sent_ns: 1000 * ms,
            server_ms: 1400,
            received_ns: 1300 * ms,
        },
        // Fast sample: midpoint 2010, server 2210 → +200, rtt 20.
        TimeSample {
            sent_ns: 2000 * ms,
            server_ms: 2210,
            received_ns: 2020 * ms,
        },
    ];
    assert_eq!(
        clock::estimate(&samples),
        Some(Estimate {
            offset_ms: 200,
            rtt_ms: 20
        })
    );
    assert_eq!(clock::estimate(&[]), None);
    let behind = TimeSample {
        sent_ns: 5000 * ms,
        server_ms: 4000,
        received_ns: 5010 * ms,
    };
    assert_eq!(clock::estimate(&[behind]).unwrap().offset_ms, -1005);
}

#[test]
fn clock_limits_follow_recv_window() {
    let at = |offset_ms| Estimate {
        offset_ms,
        rtt_ms: 2,
    };
    assert_eq!(clock::judge(&at(20), 5000).status, Status::Pass);
    assert_eq!(clock::judge(&at(-300), 5000).status, Status::Warn);
    assert_eq!(clock::judge(&at(999), 5000).status, Status::Warn);
    assert_eq!(clock::judge(&at(1000), 5000).status, Status::Fail);
    assert_eq!(clock::judge(&at(-1500), 60_000).status, Status::Fail);
    // recvWindow 600: fail at 300, warn above 150.
    assert_eq!(clock::fail_limit_ms(600), 300);
    assert_eq!(clock::judge(&at(200), 600).status, Status::Warn);
    assert_eq!(clock::judge(&at(300), 600).status, Status::Fail);
    assert_eq!(clock::judge(&at(100), 600).status, Status::Pass);
}

// ---------------------------------------------------------------- balances

#[test]
fn money_parses_exactly_and_rounds_needs_up() {
    assert_eq!(money::to_micros("1234.56789999"), Some(1_234_567_899));
    assert_eq!(money::to_micros("0.00000000"), Some(0));
    assert_eq!(money::to_micros("10000"), Some(10_000_000_000));
    assert_eq!(money::to_micros("x"), None);
    // 10 lots of 0.001 at 2500.01 = 25.0001
    assert_eq!(money::notional_micros(10, 3, "2500.01"), Some(25_000_100));
    // 1 lot of 0.00000001 at 0.1 = 1e-9 → rounds up to 1 micro.
    assert_eq!(money::notional_micros(1, 8, "0.1"), Some(1));
    assert_eq!(money::show(12_345_678), "12.34");
    assert_eq!(money::show(1_000), "0.001000");
    assert_eq!(money::notional_micros(1, 3, "-5"), None);
    assert_eq!(money::notional_micros(1, 3, "0"), None);
    assert_eq!(money::notional_micros(i128::MAX / 2, 0, "99999"), None);
}

fn account(pairs: &[(&str, &str)]) -> Account {
    let list: Vec<serde_json::Value> = pairs
        .iter()
        .map(|(a, f)| serde_json::json!({"asset": a, "free": f, "locked": "1000000.0"}))
        .collect();
    balances::parse_account(&serde_json::json!({"canTrade": true, "balances": list})).unwrap()
}

#[test]
fn balances_cover_breaker_capital_and_open_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        tmp.path(),
        "\n[strategy]\norder_qty_lots = 1000\nallow_short = false\n[safety.breakers]\ncapital_quote = 1000\n",
    );
    assert_eq!(balances::quote_asset("ETHUSDT"), Some("USDT"));
    assert_eq!(balances::quote_asset("BTCFDUSD"), Some("FDUSD"));
    assert_eq!(balances::quote_asset("USDT"), None);
    // One entry: 1000 lots × 0.001 × 2500 = 2500 > capital 1000.
    let (needs, notes) = balances::needs(&cfg, &[Some("2500.00".into())], None);
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(needs.len(), 1);
    assert_eq!(
        (needs[0].asset.as_str(), needs[0].micros),
        ("USDT", 2_500_000_000)
    );
    let c = balances::judge(&account(&[("USDT", "2600.5")]), &needs, &notes);
    assert_eq!(c.status, Status::Pass, "{c:?}");
    // Locked balance does not count.
    let c = balances::judge(
        &account(&[("USDT", "2499.99"), ("ETH", "5")]),
        &needs,
        &notes,
    );
    assert_eq!(c.status, Status::Fail, "{c:?}");
    assert!(
        c.reason.contains("USDT free 2499.99 < need 2500.00"),
        "{c:?}"
    );
    assert_eq!(
        balances::judge(&account(&[]), &needs, &notes).status,
        Status::Fail
    );
    // No price: capital only, and a warning that the entry size was not counted.
    let (needs, notes) = balances::needs(&cfg, &[None], None);
    assert_eq!(needs[0].micros, 1_000_000_000);
    let c = balances::judge(&account(&[("USDT", "5000")]), &needs, &notes);
    assert_eq!(c.status, Status::Warn, "{c:?}");
    // --min-quote replaces the derived need.
    let (needs, notes) = balances::needs(&cfg, &[Some("2500".into())], Some(50_000_000));
    assert_eq!(
        balances::judge(&account(&[("USDT", "60")]), &needs, &notes).status,
        Status::Pass
    );
    let mut cannot = account(&[("USDT", "1000000")]);
    cannot.can_trade = Some(false);
    assert_eq!(
        balances::judge(&cannot, &needs, &notes).status,
        Status::Fail
    );
    assert_eq!(
        cannot.balances[0],
        Balance {
            asset: "USDT".into(),
            free_micros: 1_000_000_000_000
        }
    );
}

#[test]
fn spot_shorts_need_the_base_asset_as_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), "\n[strategy]\norder_qty_lots = 10\n");
    let (needs, notes) = balances::needs(&cfg, &[Some("2500".into())], None);
    let eth = needs.iter().find(|n| n.asset == "ETH").expect("base need");
    assert!(!eth.hard && eth.micros == 10_000);
    let c = balances::judge(&account(&[("USDT", "20000")]), &needs, &notes);
    assert_eq!(c.status, Status::Warn, "{c:?}");
    let c = balances::judge(
        &account(&[("USDT", "20000"), ("ETH", "0.01")]),
        &needs,
        &notes,
    );
    assert_eq!(c.status, Status::Pass, "{c:?}");
}

// ---------------------------------------------------------------- kill switch

#[test]
fn kill_switch_is_armed_only_without_kill_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let me = me();
    let cfg = config(dir, "");
    let none = env_of(&[]);
    let c = killswitch::check(&cfg, &none, Some(&me));
    assert_eq!(c.status, Status::Fail, "no state dir yet: {c:?}");

    let state = state_dir(dir);
    let c = killswitch::check(&cfg, &none, Some(&me));
    assert_eq!(c.status, Status::Pass, "{c:?}");

    std::fs::write(
        state.join("KILL"),
        "reason=pre-live drill\ntime=now\nby=alice\n",
    )
    .unwrap();
    let c = killswitch::check(&cfg, &none, Some(&me));
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.reason.contains("kill file present") && c.reason.contains("reason=pre-live drill"),
        "{c:?}"
    );
    std::fs::remove_file(state.join("KILL")).unwrap();

    for value in ["1", "yes", "maybe"] {
        let c = killswitch::check(&cfg, &env_of(&[("OBI_KILL", value)]), Some(&me));
        assert_eq!(c.status, Status::Fail, "OBI_KILL={value}");
        assert!(c.reason.contains("OBI_KILL"), "{c:?}");
    }
    assert_eq!(
        killswitch::check(&cfg, &env_of(&[("OBI_KILL", "0")]), Some(&me)).status,
        Status::Pass
    );

    let extra = dir.join("stops");
    let with_extra = config(
        dir,
        &format!(
            "\n[safety.kill]\nextra_paths = [\"{}\"]\n",
            extra.join("obi.stop").display()
        ),
    );
    let c = killswitch::check(&with_extra, &none, Some(&me));
    assert_eq!(c.status, Status::Fail);
    assert!(c.reason.contains("does not exist"), "{c:?}");
    std::fs::create_dir(&extra).unwrap();
    assert_eq!(
        killswitch::check(&with_extra, &none, Some(&me)).status,
        Status::Pass
    );
    std::fs::write(extra.join("obi.stop"), "").unwrap();
    assert_eq!(
        killswitch::check(&with_extra, &none, Some(&me)).status,
        Status::Fail
    );

    // A state dir the engine's user cannot write (judged from its bits, as a stranger).
    let stranger = Identity {
        uid: me.uid + 1,
        gids: vec![],
    };
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    let c = killswitch::check(&cfg, &none, Some(&stranger));
    assert_eq!(c.status, Status::Fail);
    assert!(c.reason.contains("not writable"), "{c:?}");
}

#[test]
fn kill_switch_warns_when_usdm_live_has_no_dead_man_switch() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    state_dir(dir);
    let usdm = |venue_extra: &str| {
        let text = config_text(dir, "")
            .replace("market = \"spot\"", "market = \"usdm\"")
            .replace(
                "[venue]\n",
                &format!("[venue]\nmode = \"live\"\n{venue_extra}"),
            )
            .replace("/ws-api/v3", "/ws-fapi/v1");
        Config::from_toml(&text, &dir.join("engine.toml")).expect("usdm config")
    };
    let none = env_of(&[]);
    let c = killswitch::check(&usdm(""), &none, Some(&me()));
    assert_eq!(c.status, Status::Pass, "{c:?}");
    assert!(c.reason.contains("dead-man switch"), "{c:?}");
    let c = killswitch::check(&usdm("dead_man_ms = 0\n"), &none, Some(&me()));
    assert_eq!(c.status, Status::Warn, "{c:?}");
    assert!(c.reason.contains("dead_man_ms = 0"), "{c:?}");
    // Spot has no such switch: nothing to warn about.
    let spot = config(dir, "");
    assert_eq!(
        killswitch::check(&spot, &none, Some(&me())).status,
        Status::Pass
    );
}

// ---------------------------------------------------------------- latch

#[test]
fn latch_fails_when_the_engine_would_start_halted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cfg = config(dir, "");
    let state = state_dir(dir);
    let c = latch::check(&cfg);
    assert_eq!(c.status, Status::Pass, "empty state: {c:?}");

    let t = NOW_NS - NS_PER_DAY;
    let mut run = paper_run(t, 3);
    run.push((t, trip(ReasonCode::DailyLoss, SafetyState::Halted)));
    journal(&state, &run);
    let c = latch::check(&cfg);
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.reason.contains("halted") && c.reason.contains("daily_loss"),
        "{c:?}"
    );

    let reset = |text: &str| RecordBody::Operator {
        action: OperatorAction::Reset,
        reason: ReasonCode::None,
        text: ShortText::new(text),
    };
    journal(&state, &[(t, reset("cause understood"))]);
    // Reset, flat, but its orders were never reconciled with a venue: the engine does that
    // at start.
    let c = latch::check(&cfg);
    assert_eq!(c.status, Status::Warn, "{c:?}");
    assert!(c.reason.contains("not reconciled yet"), "{c:?}");
    // USD-M reconciles the same state at start too (positions and open orders over REST).
    let usdm = Config::from_toml(
        &config_text(dir, "").replace("\"spot\"", "\"usdm\""),
        &dir.join("engine.toml"),
    )
    .unwrap();
    let c = latch::check(&usdm);
    assert_eq!(c.status, Status::Warn, "{c:?}");
    assert!(c.reason.contains("not reconciled yet"), "{c:?}");

    journal(
        &state,
        &[(
            t,
            RecordBody::Operator {
                action: OperatorAction::Kill,
                reason: ReasonCode::OperatorKill,
                text: ShortText::new("lunch"),
            },
        )],
    );
    let c = latch::check(&cfg);
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.reason.contains("operator_kill") && c.reason.contains("lunch"),
        "{c:?}"
    );
    journal(&state, &[(t, reset("back"))]);

    // A paper run in the state dir: its orders never reached the venue, so a live start
    // reconciling them starts halted.
    let mut paper = session(t);
    paper.push((t, reconciled("paper: earlier runs' orders ended with them")));
    paper.extend([(t, order(1)), (t, fill(1, Side::Bid))]);
    journal(&state, &paper);
    let c = latch::check(&cfg);
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.reason.contains("paper run(s) [2]")
            && c.reason.contains("fresh state dir")
            && c.reason
                .contains("position ETHUSDT 1 lots includes paper fills"),
        "{c:?}"
    );

    // A live run that reconciled at its start and holds a position: carried, a warning.
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), "");
    let state = state_dir(tmp.path());
    let mut live = session(t);
    live.push((t, reconciled("earlier runs reconciled with the venue")));
    live.extend([(t, order(1)), (t, fill(1, Side::Bid))]);
    journal(&state, &live);
    let c = latch::check(&cfg);
    assert_eq!(c.status, Status::Warn, "{c:?}");
    assert!(c.reason.contains("starts holding ETHUSDT 1 lots"), "{c:?}");
    // A session that reconciled and sent nothing: clean.
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), "");
    let state = state_dir(tmp.path());
    let mut quiet = session(t);
    quiet.push((t, reconciled("earlier runs reconciled with the venue")));
    journal(&state, &quiet);
    let c = latch::check(&cfg);
    assert_eq!(c.status, Status::Pass, "{c:?}");

    // USD-M with an order the journal never saw finish: no order history is queried there,
    // so a live start is halted.
    let tmp = tempfile::tempdir().unwrap();
    let usdm = Config::from_toml(
        &config_text(tmp.path(), "").replace("\"spot\"", "\"usdm\""),
        &tmp.path().join("engine.toml"),
    )
    .unwrap();
    let state = state_dir(tmp.path());
    let mut open = session(t);
    open.push((t, order(1)));
    journal(&state, &open);
    let c = latch::check(&usdm);
    assert_eq!(c.status, Status::Fail, "{c:?}");
    assert!(c.reason.contains("never saw finish"), "{c:?}");
    // The same journal on spot: the engine asks the venue about it at start.
    let spot = config(tmp.path(), "");
    assert_eq!(latch::check(&spot).status, Status::Warn);
}

fn reconciled(text: &str) -> RecordBody {
    RecordBody::Operator {
        action: OperatorAction::Reconciled,
        reason: ReasonCode::None,
        text: ShortText::new(text),
    }
}

#[test]
fn latch_reports_damage_and_torn_tails() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cfg = config(dir, "");
    let state = state_dir(dir);
    journal(&state, &paper_run(NOW_NS, 2));
    let path = state.join("journal.obij");
    let good = std::fs::read(&path).unwrap();
    // Torn tail: half a record at the end.
    let mut torn = good.clone();
    torn.extend_from_slice(&good[16..40]);
    std::fs::write(&path, &torn).unwrap();
    let c = latch::check(&cfg);
    assert_eq!(c.status, Status::Warn, "{c:?}");
    assert!(c.reason.contains("torn"), "{c:?}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        torn,
        "the state dir is never repaired"
    );
    // Damage in the middle: the engine refuses to start.
    let mut bad = good.clone();
    bad[30] ^= 0xff;
    std::fs::write(&path, &bad).unwrap();
    let c = latch::check(&cfg);
    assert_eq!(c.status, Status::Fail);
    assert!(c.reason.contains("corrupt"), "{c:?}");
    std::fs::write(&path, b"not a journal at all").unwrap();
    assert_eq!(latch::check(&cfg).status, Status::Fail);
}

// ---------------------------------------------------------------- breakers

#[test]
fn breakers_warn_when_looser_than_the_runbook() {
    let d = BreakerConfig::default();
    let c = breakers::check(&d);
    assert_eq!(c.status, Status::Pass, "{c:?}");
    let tighter = BreakerConfig {
        daily_loss_bps: 100,
        max_open_positions: 1,
        price_move_window_s: 120,
        ..d
    };
    assert_eq!(breakers::check(&tighter).status, Status::Pass);
    for (loose, name) in [
        (
            BreakerConfig {
                daily_loss_bps: 300,
                ..d
            },
            "daily_loss_bps = 300",
        ),
        (
            BreakerConfig {
                drawdown_bps: 800,
                ..d
            },
            "drawdown_bps",
        ),
        (
            BreakerConfig {
                max_consecutive_losses: 6,
                ..d
            },
            "max_consecutive_losses",
        ),
        (
            BreakerConfig {
                price_move_window_s: 10,
                ..d
            },
            "price_move_window_s",
        ),
        (
            BreakerConfig {
                max_open_positions: 4,
                ..d
            },
            "max_open_positions",
        ),
        (
            BreakerConfig {
                min_rate_limit_headroom_pct: 0,
                ..d
            },
            "rate-limit breaker off",
        ),
    ] {
        let c = breakers::check(&loose);
        assert_eq!(c.status, Status::Warn, "{name}");
        assert!(c.reason.contains(name), "{c:?}");
    }
}

// ---------------------------------------------------------------- paper

fn paper_check(dir: &Path, rules: &PaperRules) -> Check {
    let cfg = config(dir, "");
    paper::check(Some(&dir.join("state")), &cfg, rules, NOW_NS)
}

#[test]
fn paper_evidence_needs_recent_fills() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cfg = config(dir, "");
    let rules = PaperRules::default();
    let c = paper::check(None, &cfg, &rules, NOW_NS);
    assert_eq!(c.status, Status::Fail);
    assert!(c.reason.contains("--paper-state"), "{c:?}");
    let c = paper_check(dir, &rules);
    assert_eq!(c.status, Status::Fail, "no state dir: {c:?}");

    let state = state_dir(dir);
    // 24 fills, but ten days old.
    journal(&state, &paper_run(NOW_NS - 10 * NS_PER_DAY, 12));
    let c = paper_check(dir, &rules);
    assert_eq!(c.status, Status::Fail);
    assert!(c.reason.contains("0 fills in the last 7 days"), "{c:?}");
    let c = paper_check(dir, &PaperRules { days: 11, ..rules });
    assert_eq!(c.status, Status::Pass, "{c:?}");
    // 10 recent fills: not enough; 30: enough.
    journal(&state, &paper_run(NOW_NS - NS_PER_DAY, 5));
    assert_eq!(paper_check(dir, &rules).status, Status::Fail);
    journal(&state, &paper_run(NOW_NS - NS_PER_DAY / 2, 10));
    let c = paper_check(dir, &rules);
    assert_eq!(c.status, Status::Pass, "{c:?}");
    assert!(c.reason.contains("30 fills (ETHUSDT 30)"), "{c:?}");
    assert_eq!(
        paper_check(
            dir,
            &PaperRules {
                min_fills: 31,
                ..rules
            }
        )
        .status,
        Status::Fail
    );
}

#[test]
fn paper_errors_fail_and_a_few_rejects_warn() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let state = state_dir(dir);
    let rules = PaperRules::default();
    let t = NOW_NS - NS_PER_DAY;
    let mut run = paper_run(t, 15);
    // Operator stops and market outcomes are not errors.
    run.push((t, trip(ReasonCode::Sigterm, SafetyState::Halted)));
    run.push((t, trip(ReasonCode::KillFile, SafetyState::Halted)));
    run.push((t, reject(1, RejectReason::WouldCross)));
    run.push((t, reject(2, RejectReason::UnknownOrder)));
    journal(&state, &run);
    let c = paper_check(dir, &rules);
    assert_eq!(c.status, Status::Pass, "{c:?}");

    journal(&state, &[(t, reject(3, RejectReason::Venue))]);
    let c = paper_check(dir, &rules);
    assert_eq!(c.status, Status::Warn, "{c:?}");
    assert!(c.reason.contains("1 venue rejects"), "{c:?}");
    journal(
        &state,
        &[
            (t, reject(4, RejectReason::Venue)),
            (t, reject(5, RejectReason::NoMarket)),
            (t, reject(6, RejectReason::Venue)),
        ],
    );
    let c = paper_check(dir, &rules);
    assert_eq!(c.status, Status::Fail, "{c:?}");
    assert!(c.reason.contains("4 venue rejects"), "{c:?}");

    let tmp2 = tempfile::tempdir().unwrap();
    let state2 = state_dir(tmp2.path());
    let mut run = paper_run(t, 15);
    run.push((t, trip(ReasonCode::Drawdown, SafetyState::Halted)));
    journal(&state2, &run);
    let c = paper_check(tmp2.path(), &rules);
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.reason.contains("breaker trips during paper: drawdown x1"),
        "{c:?}"
    );
}

#[test]
fn paper_journal_damage_fails_and_a_crash_warns() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let state = state_dir(dir);
    journal(&state, &paper_run(NOW_NS - NS_PER_DAY, 15));
    let path = state.join("journal.obij");
    let good = std::fs::read(&path).unwrap();
    let mut torn = good.clone();
    torn.extend_from_slice(&good[16..30]);
    std::fs::write(&path, &torn).unwrap();
    let c = paper_check(dir, &PaperRules::default());
    assert_eq!(c.status, Status::Warn, "{c:?}");
    assert!(c.reason.contains("crashed"), "{c:?}");
    let mut bad = good;
    bad[100] ^= 0x55;
    std::fs::write(&path, &bad).unwrap();
    let c = paper_check(dir, &PaperRules::default());
    assert_eq!(c.status, Status::Fail);
    assert!(c.reason.contains("damaged"), "{c:?}");
}

// ---------------------------------------------------------------- whole run

/// Every file under `dir` with its bytes, mode and modification time.
fn listing(dir: &Path) -> Vec<(PathBuf, Vec<u8>, u32, std::time::SystemTime)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let m = std::fs::symlink_metadata(e.path()).unwrap();
        let bytes = if m.is_file() {
            std::fs::read(e.path()).unwrap()
        } else {
            Vec::new()
        };
        out.push((
            e.path(),
            bytes,
            m.permissions().mode(),
            m.modified().unwrap(),
        ));
    }
    out.sort();
    out
}

#[test]
fn the_checklist_never_modifies_the_state_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let state = state_dir(dir);
    write_mode(&dir.join("api-key.pem"), PEM, 0o600);
    std::fs::write(dir.join("engine.toml"), config_text(dir, "")).unwrap();
    journal(&state, &paper_run(NOW_NS - NS_PER_DAY, 15));
    // What recovery would repair: a torn tail and a leftover checkpoint temp file.
    let path = state.join("journal.obij");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"OBJR\x10");
    std::fs::write(&path, &bytes).unwrap();
    std::fs::write(state.join("checkpoint.obic.tmp"), b"half a checkpoint").unwrap();
    std::fs::write(state.join("KILL"), "reason=x\n").unwrap();
    let dir_mtime = std::fs::metadata(&state).unwrap().modified().unwrap();
    let before = listing(&state);
    std::thread::sleep(std::time::Duration::from_millis(20));

    let options = Options {
        paper_state: Some(state.clone()),
        ..Options::default()
    };
    let env = env_of(&[("OBI_API_KEY", "k")]);
    let report = gonogo::run(&dir.join("engine.toml"), &options, &env, NOW_NS);
    assert_eq!(listing(&state), before);
    assert_eq!(
        std::fs::metadata(&state).unwrap().modified().unwrap(),
        dir_mtime
    );

    // And the report says why it is a NO-GO.
    assert_eq!(report.verdict(), Verdict::NoGo);
    let status = |id: &str| {
        report
            .checks
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.status)
            .unwrap_or_else(|| panic!("no {id} check in {}", report.to_text()))
    };
    assert_eq!(status("config"), Status::Pass);
    assert_eq!(status("keys"), Status::Pass);
    assert_eq!(status("venue"), Status::Fail, "closed port");
    assert_eq!(status("clock"), Status::Fail);
    assert_eq!(status("kill-switch"), Status::Fail);
    assert_eq!(status("latch"), Status::Warn, "torn tail");
    assert_eq!(status("breakers"), Status::Pass);
    assert_eq!(status("paper"), Status::Warn, "torn tail");
    assert_eq!(status("stats"), Status::Pass);
    let text = report.to_text();
    assert!(!text.contains("MC4CAQ"), "{text}");
}

#[test]
fn the_command_exits_1_on_no_go_and_2_when_it_cannot_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("engine.toml"), config_text(dir, "")).unwrap();
    let bin = env!("CARGO_BIN_EXE_obi-engine");
    let out = std::process::Command::new(bin)
        .args(["go-nogo", "--json", "--config"])
        .arg(dir.join("engine.toml"))
        .env_remove("OBI_API_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verdict"], "NO-GO");
    let out = std::process::Command::new(bin)
        .args(["go-nogo", "--config", "x.toml", "--min-quote", "lots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = std::process::Command::new(bin)
        .args(["go-nogo", "--config", "x.toml", "--paper-days", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = std::process::Command::new(bin)
        .args(["go-nogo", "--config"])
        .arg(dir.join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unreadable config is a failed check"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL  config"));
}

// ---------------------------------------------------------------- venue (fake WS API)

/// A one-connection fake WS API on loopback: `time` answers with the clock `skew_ms`
/// ahead (`None`: refused as unsupported, as a venue without it would), `session.logon` is accepted, `account.status` checks an HMAC signature (when one
/// is sent) against `secret` and answers 1000 USDT free. Returns its `ws://` URL.
fn fake_venue(skew_ms: Option<i64>, secret: &'static str) -> String {
    use obi_engine::venue::binance::sign;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = tungstenite::accept(stream).unwrap();
        while let Ok(msg) = ws.read() {
            let tungstenite::Message::Text(text) = msg else {
                continue;
            };
            let req: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
            let id = req["id"].clone();
            let now_ms = i64::try_from(clock::now_ns() / 1_000_000).unwrap();
            let ok = |result| serde_json::json!({"id": id, "status": 200, "result": result});
            let answer = match req["method"].as_str().unwrap() {
                "time" => match skew_ms {
                    Some(skew) => ok(serde_json::json!({"serverTime": now_ms + skew})),
                    None => serde_json::json!({"id": id, "status": 400, "error":
                        {"code": -1020, "msg": "This operation is not supported."}}),
                },
                "session.logon" => ok(serde_json::json!({})),
                "account.status" => {
                    let p = req["params"].as_object().unwrap();
                    let signed_ok = p.get("signature").is_none_or(|s| {
                        let pairs: Vec<(String, String)> = p
                            .iter()
                            .map(|(k, v)| {
                                let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                                (k.clone(), v)
                            })
                            .collect();
                        let payload = sign::ws_payload(&pairs);
                        *s == sign::hmac_sha256_hex(secret.as_bytes(), payload.as_bytes())
                    });
                    if signed_ok && p.contains_key("timestamp") {
                        ok(serde_json::json!({"canTrade": true, "balances": [
                            {"asset": "USDT", "free": "1000.00000000", "locked": "0.00000000"}]}))
                    } else {
                        serde_json::json!({"id": id, "status": 400, "error":
                            {"code": -1022, "msg": "Signature for this request is not valid."}})
                    }
                }
                _ => {
                    serde_json::json!({"id": id, "status": 400, "error": {"code": -1020, "msg": "no"}})
                }
            };
            if ws
                .send(tungstenite::Message::text(answer.to_string()))
                .is_err()
            {
                break;
            }
        }
    });
    format!("ws://127.0.0.1:{port}/ws-api/v3")
}

/// A fake REST `GET /api/v3/time` on loopback answering with the clock `skew_ms` ahead
/// (one connection per request). Returns its `http://` base URL.
fn fake_rest_time(skew_ms: i64) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let now_ms = i64::try_from(clock::now_ns() / 1_000_000).unwrap();
            let body = if req.starts_with(b"GET /api/v3/time ") {
                format!("{{\"serverTime\":{}}}", now_ms + skew_ms)
            } else {
                "{}".to_string()
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn venue_checks(url: &str, secret: &str) -> Vec<Check> {
    venue_checks_with_rest(url, "http://127.0.0.1:1", secret)
}

fn venue_checks_with_rest(url: &str, rest: &str, secret: &str) -> Vec<Check> {
    let tmp = tempfile::tempdir().unwrap();
    let text = config_text(
        tmp.path(),
        "key_kind = \"hmac\"\n[safety.breakers]\ncapital_quote = 500\n",
    )
    .replace("ws://127.0.0.1:1/ws-api/v3", url)
    .replace("http://127.0.0.1:1", rest);
    let cfg = Config::from_toml(&text, &tmp.path().join("engine.toml")).unwrap();
    let env = env_of(&[("OBI_API_KEY", "k"), ("OBI_API_SECRET", secret)]);
    gonogo::venue::checks(&cfg, &env, None)
}

fn by_id<'a>(checks: &'a [Check], id: &str) -> &'a Check {
    checks.iter().find(|c| c.id == id).unwrap()
}

#[test]
fn venue_checks_measure_the_clock_and_sign_account_status() {
    let checks = venue_checks(&fake_venue(Some(0), "right"), "right");
    assert_eq!(by_id(&checks, "venue").status, Status::Pass, "{checks:?}");
    assert_eq!(by_id(&checks, "clock").status, Status::Pass, "{checks:?}");
    let keys = by_id(&checks, "venue-keys");
    assert_eq!(keys.status, Status::Pass, "{checks:?}");
    assert!(keys.reason.contains("signed account.status"), "{keys:?}");
    // No price (REST on a closed port): capital only, and said so.
    let bal = by_id(&checks, "balances");
    assert_eq!(bal.status, Status::Warn, "{bal:?}");
    assert!(
        bal.reason.contains("USDT free 1000.00 >= need 500.00") && bal.reason.contains("no price"),
        "{bal:?}"
    );

    let checks = venue_checks(&fake_venue(Some(5_000), "right"), "right");
    let c = by_id(&checks, "clock");
    assert_eq!(c.status, Status::Fail, "{c:?}");
    assert!(
        c.reason.contains("offset +49") || c.reason.contains("offset +50"),
        "{c:?}"
    );
    assert_eq!(
        by_id(&checks, "venue-keys").status,
        Status::Pass,
        "the venue clock is used"
    );

    let checks = venue_checks(&fake_venue(Some(-400), "right"), "wrong");
    assert_eq!(by_id(&checks, "clock").status, Status::Warn, "{checks:?}");
    let keys = by_id(&checks, "venue-keys");
    assert_eq!(keys.status, Status::Fail);
    assert!(
        keys.reason.contains("-1022") && !keys.reason.contains("wrong"),
        "{keys:?}"
    );
    assert_eq!(by_id(&checks, "balances").status, Status::Fail);

    // A WS API without `time`: measured over REST; without REST time either, a failure.
    let checks =
        venue_checks_with_rest(&fake_venue(None, "right"), &fake_rest_time(2_000), "right");
    let v = by_id(&checks, "venue");
    assert_eq!(v.status, Status::Pass, "{checks:?}");
    assert!(v.reason.contains("/api/v3/time answers"), "{v:?}");
    assert_eq!(by_id(&checks, "clock").status, Status::Fail, "{checks:?}");
    let checks = venue_checks(&fake_venue(None, "right"), "right");
    let v = by_id(&checks, "venue");
    assert_eq!(v.status, Status::Fail, "{checks:?}");
    assert!(v.reason.contains("time was refused"), "{v:?}");
    assert_eq!(
        by_id(&checks, "venue-keys").status,
        Status::Pass,
        "{checks:?}"
    );
}

#[test]
fn stats_file_must_be_creatable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let me = me();
    let cfg = config(dir, "");
    assert_eq!(host::stats_check(&cfg, Some(&me)).status, Status::Pass);
    let stranger = Identity {
        uid: me.uid + 1,
        gids: vec![],
    };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(
        host::stats_check(&cfg, Some(&stranger)).status,
        Status::Fail
    );
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(
        host::stats_check(&cfg, Some(&stranger)).status,
        Status::Pass
    );
    write_mode(&dir.join("engine.stats"), "", 0o644);
    let c = host::stats_check(&cfg, Some(&stranger));
    assert_eq!(c.status, Status::Fail);
    assert!(c.reason.contains("not writable"), "{c:?}");
    let off = config(dir, "").engine;
    let mut cfg = cfg;
    cfg.engine = obi_engine::config::EngineSection {
        shm_enabled: false,
        ..off
    };
    assert_eq!(host::stats_check(&cfg, Some(&me)).status, Status::Warn);
}
