//! Crash safety, end to end over loopback: the real engine trades the simulator in live
//! mode and is killed with SIGKILL at pseudo-random moments, then restarted on the same
//! state directory, several times. Afterwards the journal (checkpoint + tail) must agree
//! with the simulator's record of fills — every fill booked once, none lost, even fills
//! that happened while the engine was dead or whose journal records died with it — and
//! nothing may be left open. Then an order placed behind the engine's back (same account,
//! another client) must make the next start halt with a recovery mismatch and cancel it.

use obi_bench::harness::{EngineSetup, ed25519_keys, engine_bin, fresh_dir, write_owner_only};
use obi_bench::sim::{Sim, SimConfig, SimHandle};
use obi_engine::instrument::{InstrumentId, InstrumentSpec, Market, Scale, Symbol};
use obi_engine::journal::{StatePaths, recover};
use obi_engine::net::Endpoint;
use obi_engine::order::{NewOrder, OrderId, TimeInForce};
use obi_engine::units::{Lots, Side, Ticks};
use obi_engine::venue::binance::session::BlockingSession;
use obi_engine::venue::binance::ws_api::Flavor;
use obi_engine::venue::keys::Credentials;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const API_KEY: &str = "obi-crash-key";
const KEY_SEED: [u8; 32] = [21; 32];

fn scratch(name: &str) -> PathBuf {
    fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), name).expect("scratch dir")
}

fn wait_for(what: &str, limit_s: u64, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(limit_s),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn start_engine(config: &Path, log: &Path) -> Child {
    let stderr = std::fs::File::create(log).expect("engine log");
    Command::new(engine_bin().expect("obi-engine"))
        .args([
            "run",
            "--live",
            "--report",
            "json",
            "--duration-s",
            "120",
            "--config",
        ])
        .arg(config)
        .env("OBI_SIM_API_KEY", API_KEY)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start obi-engine")
}

/// SIGTERM, then the JSON report.
fn stop_engine(child: Child, log: &Path) -> serde_json::Value {
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let out = child.wait_with_output().expect("engine exits");
    let stderr = std::fs::read_to_string(log).unwrap_or_default();
    assert!(out.status.success(), "engine failed: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("report: {e}: {stderr}"))
}

/// A tiny deterministic generator for the kill moments (xorshift).
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo)
    }
}

fn eth_spec() -> InstrumentSpec {
    InstrumentSpec {
        symbol: Symbol::new("ETHUSDT").expect("symbol"),
        market: Market::Spot,
        price: Scale::from_step_text("0.01").expect("tick"),
        qty: Scale::from_step_text("0.001").expect("lot"),
    }
}

/// Places a resting buy far below the market on the same account from another client (as
/// a trader on the venue's web page would): not one of the engine's runs.
fn place_behind_the_engines_back(sim: &SimHandle, pem: &str) {
    let key = ed25519_dalek::pkcs8::DecodePrivateKey::from_pkcs8_pem(pem).expect("key");
    let creds = Credentials::from_ed25519(API_KEY, key);
    let url = Endpoint::parse(&format!("ws://{}/ws-api/v3", sim.addr())).expect("url");
    let mut session =
        BlockingSession::connect(&url, Flavor::Spot, 5_000, creds, Duration::from_secs(5))
            .expect("second client");
    let spec = eth_spec();
    let order = NewOrder {
        order_id: OrderId(1),
        instrument: InstrumentId(0),
        side: Side::Bid,
        price: Ticks(100_000),
        qty: Lots(10),
        tif: TimeInForce::Gtc,
        cause_ts_ns: 0,
        reduce_only: false,
    };
    session
        .request("order.place", &mut |w, id, auth, ts, c| {
            w.place(id, auth, ts, &spec, &order, c)
        })
        .expect("order placed behind the engine's back");
    session.close();
}

#[test]
fn sigkill_at_random_moments_loses_no_fill_and_counts_none_twice() {
    let dir = scratch("live-crash");
    let (pem, public_hex) = ed25519_keys(KEY_SEED).expect("keys");
    let secret = dir.join("api-key.pem");
    write_owner_only(&secret, &pem).expect("key file");
    let mut cfg = SimConfig {
        seed: 23,
        speed: 4.0,
        ..SimConfig::default()
    };
    cfg.auth.api_key = Some(API_KEY.into());
    cfg.auth.ed25519_public_key = Some(public_hex);
    let sim = Sim::start(cfg).expect("simulator");
    let stats = dir.join("engine.stats");
    let mut setup = EngineSetup::new(sim.addr().to_string(), secret, stats.clone());
    setup.strategy = [
        "order_qty_lots = 10",
        "long_threshold = 0.1",
        "short_threshold = 0.1",
        "confirm_ms = 0",
        "cooldown_ms = 0",
    ]
    .map(String::from)
    .to_vec();
    // Trading outcomes must not halt it: the subject is crash recovery.
    setup.breakers = [
        "max_consecutive_losses = 10000",
        "daily_loss_bps = 10000",
        "drawdown_bps = 10000",
    ]
    .map(String::from)
    .to_vec();
    let config = dir.join("engine.toml");
    std::fs::write(&config, setup.toml()).expect("config");
    let state_dir = PathBuf::from(format!("{}.state", stats.display()));
    let log = dir.join("engine.log");

    // Kill it while it trades, several times; each restart reconciles what the last run
    // left behind (its journal tail may be gone) before trading again.
    let mut moments = Moments(0x9e37_79b9_7f4a_7c15);
    let rounds = 5;
    for round in 0..rounds {
        let placed_before = sim.record().orders.len();
        let mut child = start_engine(&config, &log);
        wait_for(&format!("round {round}: orders placed"), 60, || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "round {round}: the engine exited ({status}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            sim.record().orders.len() >= placed_before + 2
        });
        std::thread::sleep(Duration::from_millis(moments.next_ms(50, 1500)));
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        // Orders it left resting may fill while it is down.
        std::thread::sleep(Duration::from_millis(moments.next_ms(0, 500)));
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        for line in text.lines().filter(|l| l.contains("reconciled with")) {
            println!("round {round}: {line}");
        }
        assert!(
            !text.contains("MISMATCH") && !text.contains("HALTED"),
            "round {round}: {text}"
        );
    }

    // A last clean run: reconcile, trade a little, stop.
    let child = start_engine(&config, &log);
    let placed_before = sim.record().orders.len();
    wait_for("the last run to trade", 60, || {
        sim.record().orders.len() > placed_before
    });
    let report = stop_engine(child, &log);
    let engine_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(
        report["safety_state"], "running",
        "{report:#}\n{engine_log}"
    );
    assert!(
        engine_log.contains("reconciled with the venue"),
        "{engine_log}"
    );

    let record = sim.record();
    assert!(record.open_orders.is_empty(), "{:?}", record.open_orders);
    assert_eq!(record.duplicate_client_order_ids, 0);
    assert!(
        record.fills.len() >= 4,
        "too few fills to mean anything: {record:?}"
    );
    let recovered = recover(&StatePaths::new(state_dir.clone())).expect("journal recovers");
    let journal = recovered
        .state
        .instrument("ETHUSDT")
        .cloned()
        .expect("journal knows ETHUSDT");
    let venue_position = record.position_lots.get("ETHUSDT").copied().unwrap_or(0);
    let venue_fees: i128 = record
        .fills
        .iter()
        .map(|f| i128::from(f.fee_notional))
        .sum();
    assert_eq!(
        (journal.fills, journal.position_lots),
        (record.fills.len() as u64, venue_position),
        "journal (fills, position) vs the venue's"
    );
    assert_eq!(journal.fees, venue_fees, "fees booked vs charged");
    // The breakers' anchors (equity peak, day anchor, losing streak) are journaled too, so
    // a restart continues the daily loss and drawdown instead of starting them over.
    let anchors = recovered.state.anchors.expect("anchors journaled");
    assert!(
        anchors.equity_peak_micros > 0 && anchors.utc_day > 0,
        "{anchors:?}"
    );
    assert!(
        recovered.state.open_orders.is_empty(),
        "{:?}",
        recovered.state.open_orders
    );

    // Behind the engine's back: the next start halts and cancels it.
    place_behind_the_engines_back(&sim, &pem);
    assert_eq!(sim.record().open_orders.len(), 1);
    let child = start_engine(&config, &log);
    let report = stop_after_halt(child, &log, &stats);
    assert_eq!(report["safety_state"], "halted", "{report:#}");
    assert_eq!(report["latched_reason"], "recovery_mismatch", "{report:#}");
    let record = sim.shutdown();
    assert!(record.open_orders.is_empty(), "{:?}", record.open_orders);
}

/// Waits until the engine's stats say halted, then stops it.
fn stop_after_halt(child: Child, log: &Path, stats: &Path) -> serde_json::Value {
    let pid = child.id();
    wait_for(
        "the engine to start halted",
        30,
        || match obi_shm::StatsReader::open(stats) {
            obi_shm::ReaderState::Ready(v) if v.header().pid == pid => v
                .gauges()
                .is_ok_and(|g| g.get(obi_shm::GaugeId::RiskState) == 2),
            _ => false,
        },
    );
    stop_engine(child, log)
}
