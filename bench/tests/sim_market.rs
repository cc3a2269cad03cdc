//! The simulator's market data over real loopback sockets: a client that follows the spot
//! sync rule (stream first, then the REST snapshot) rebuilds exactly the simulator's book.

// Helpers outside #[test] fns unwrap too: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

mod sim_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use obi_bench::sim::{Sim, SimConfig};
use obi_engine::instrument::Scale;
use serde_json::Value;
use sim_support::{http_get, next_text, ws_connect};

/// (price ticks, qty lots).
type Lv = (i64, i64);

#[derive(Default)]
struct Book {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
}

struct Grid {
    price: Scale,
    qty: Scale,
}

impl Grid {
    fn level(&self, l: &Value) -> (i64, i64) {
        (
            self.price.steps(l[0].as_str().unwrap().as_bytes()).unwrap(),
            self.qty.steps(l[1].as_str().unwrap().as_bytes()).unwrap(),
        )
    }
}

impl Book {
    fn apply(&mut self, g: &Grid, bids: &Value, asks: &Value) {
        for (side, levels) in [(&mut self.bids, bids), (&mut self.asks, asks)] {
            for l in levels.as_array().unwrap() {
                let (p, q) = g.level(l);
                if q == 0 {
                    side.remove(&p);
                } else {
                    side.insert(p, q);
                }
            }
        }
    }
    fn best(&self) -> (Option<Lv>, Option<Lv>) {
        (
            self.bids.iter().next_back().map(|(p, q)| (*p, *q)),
            self.asks.iter().next().map(|(p, q)| (*p, *q)),
        )
    }
    fn crossed(&self) -> bool {
        matches!(self.best(), (Some((b, _)), Some((a, _))) if b >= a)
    }
}

#[test]
fn snapshot_and_stream_rebuild_the_sims_book() {
    let cfg = SimConfig {
        speed: 5.0,
        ..SimConfig::default()
    };
    let sim = Sim::start(cfg).unwrap();
    let addr = sim.addr();
    assert!(addr.ip().is_loopback());
    let g = Grid {
        price: Scale::from_step_text("0.01").unwrap(),
        qty: Scale::from_step_text("0.001").unwrap(),
    };
    let url = format!(
        "{}/stream?streams=ethusdt@depth@100ms/ethusdt@bookTicker/ethusdt@trade",
        sim.stream_url()
    );
    let mut ws = ws_connect(&url);
    // Buffer a few frames before the snapshot, as the sync rule says.
    let mut buffered = Vec::new();
    let t0 = Instant::now();
    while buffered.len() < 5 && t0.elapsed() < Duration::from_secs(5) {
        if let Some(t) = next_text(&mut ws, Duration::from_millis(100)) {
            buffered.push(t);
        }
    }
    let (status, body) = http_get(addr, "/api/v3/depth?symbol=ETHUSDT&limit=5000");
    assert_eq!(status, 200);
    let snap: Value = serde_json::from_str(&body).unwrap();
    assert!(snap.get("E").is_none(), "spot snapshot has no E");
    let last_update_id = snap["lastUpdateId"].as_u64().unwrap();
    let mut book = Book::default();
    book.apply(&g, &snap["bids"], &snap["asks"]);

    let mut prev_u: Option<u64> = None;
    let (mut diffs, mut tickers_checked, mut trades) = (0, 0, 0);
    let mut handle = |text: &str, book: &mut Book, prev_u: &mut Option<u64>| {
        let v: Value = serde_json::from_str(text).unwrap();
        let stream = v["stream"].as_str().unwrap();
        let d = &v["data"];
        match stream {
            "ethusdt@depth@100ms" => {
                assert_eq!(d["e"], "depthUpdate");
                assert_eq!(d["s"], "ETHUSDT");
                assert!(d.get("pu").is_none(), "spot diffs carry no pu");
                let (big_u, u) = (d["U"].as_u64().unwrap(), d["u"].as_u64().unwrap());
                assert!(big_u <= u);
                match *prev_u {
                    None if u <= last_update_id => return,
                    None => assert!(big_u <= last_update_id + 1 && last_update_id < u),
                    Some(p) => assert_eq!(big_u, p + 1, "U == prev u + 1"),
                }
                book.apply(&g, &d["b"], &d["a"]);
                assert!(!book.crossed());
                *prev_u = Some(u);
                diffs += 1;
            }
            "ethusdt@bookTicker" => {
                if Some(d["u"].as_u64().unwrap()) == *prev_u {
                    let (b, a) = book.best();
                    let bid = g.level(&Value::Array(vec![d["b"].clone(), d["B"].clone()]));
                    let ask = g.level(&Value::Array(vec![d["a"].clone(), d["A"].clone()]));
                    assert_eq!((Some(bid), Some(ask)), (b, a), "bookTicker agrees");
                    tickers_checked += 1;
                }
            }
            "ethusdt@trade" => {
                assert_eq!(d["e"], "trade");
                assert!(d["t"].as_u64().is_some() && d["m"].is_boolean());
                trades += 1;
            }
            other => panic!("unexpected stream {other}"),
        }
    };
    for t in &buffered {
        handle(t, &mut book, &mut prev_u);
    }
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(2) {
        if let Some(t) = next_text(&mut ws, Duration::from_millis(100)) {
            handle(&t, &mut book, &mut prev_u);
        }
    }
    // Now catch up with a view of the simulator's own book and compare at the same id.
    let (sim_u, sim_bids, sim_asks) = sim.book(50);
    while prev_u.is_none_or(|p| p < sim_u) {
        let t = next_text(&mut ws, Duration::from_secs(5)).expect("stream continues");
        handle(&t, &mut book, &mut prev_u);
    }
    assert_eq!(prev_u, Some(sim_u));
    let ours_b: Vec<(i64, i64)> = book
        .bids
        .iter()
        .rev()
        .take(50)
        .map(|(p, q)| (*p, *q))
        .collect();
    let ours_a: Vec<(i64, i64)> = book.asks.iter().take(50).map(|(p, q)| (*p, *q)).collect();
    let sims_b: Vec<(i64, i64)> = sim_bids.iter().map(|l| (l.price.0, l.qty.0)).collect();
    let sims_a: Vec<(i64, i64)> = sim_asks.iter().map(|l| (l.price.0, l.qty.0)).collect();
    assert_eq!(ours_b, sims_b);
    assert_eq!(ours_a, sims_a);
    assert!(diffs > 10, "diffs {diffs}");
    assert!(
        tickers_checked > 0 && trades > 0,
        "{tickers_checked} {trades}"
    );
    let record = sim.shutdown();
    assert!(record.frames_sent > 0);
    assert_eq!(record.snapshots_served, 1);
}

#[test]
fn rest_errors_and_futures_alias() {
    let sim = Sim::start(SimConfig::default()).unwrap();
    let addr = sim.addr();
    let (s, body) = http_get(addr, "/api/v3/depth?limit=5");
    assert_eq!(s, 400);
    assert!(body.contains("-1102"));
    let (s, body) = http_get(addr, "/api/v3/depth?symbol=BTCUSDT");
    assert_eq!(s, 400);
    assert!(body.contains("-1121"));
    let (s, body) = http_get(addr, "/api/v3/depth?symbol=ETHUSDT&limit=x");
    assert_eq!(s, 400);
    assert!(body.contains("-1100"));
    let (s, body) = http_get(addr, "/fapi/v1/depth?symbol=ETHUSDT&limit=3");
    assert_eq!(s, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["E"].is_u64());
    assert_eq!(v["bids"].as_array().unwrap().len(), 3);
    let (s, _) = http_get(addr, "/nowhere");
    assert_eq!(s, 404);
    let (s, body) = http_get(addr, "/api/v3/time");
    assert_eq!(s, 200);
    assert!(body.contains("serverTime"));
    sim.shutdown();
}

#[test]
fn server_pings_and_client_pings_are_answered() {
    let cfg = SimConfig {
        ping_interval_ms: 100,
        ..SimConfig::default()
    };
    let sim = Sim::start(cfg).unwrap();
    let mut ws = ws_connect(&format!(
        "{}/stream?streams=ethusdt@trade",
        sim.stream_url()
    ));
    ws.send(tungstenite::Message::Ping(b"hi".to_vec().into()))
        .unwrap();
    let (mut got_ping, mut got_pong) = (false, false);
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(3) && !(got_ping && got_pong) {
        match ws.read() {
            Ok(tungstenite::Message::Ping(_)) => got_ping = true,
            Ok(tungstenite::Message::Pong(p)) => {
                assert_eq!(&p[..], b"hi");
                got_pong = true;
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(_)) => {}
            Err(e) => panic!("{e}"),
        }
        // tungstenite queues our pong replies; flushing sends them.
        let _ = ws.flush();
    }
    assert!(got_ping && got_pong);
    std::thread::sleep(Duration::from_millis(300));
    let record = sim.shutdown();
    assert!(record.pongs_received > 0);
}

#[test]
fn replay_of_a_futures_recording_is_served_spot_shaped() {
    let dir = std::env::temp_dir().join(format!("obi-sim-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("session.gz");
    let synth = obi_bench::synth::SynthConfig {
        duration_s: 15,
        symbol: "ETHUSDT".into(),
        ..obi_bench::synth::SynthConfig::default()
    };
    obi_bench::synth::write_to_path(&synth, &path).unwrap();
    let sim = Sim::start(SimConfig {
        replay: Some(path.clone()),
        speed: 0.0,
        ..SimConfig::default()
    })
    .unwrap();
    let g = Grid {
        price: Scale::from_step_text("0.01").unwrap(),
        qty: Scale::from_step_text("0.001").unwrap(),
    };
    let mut ws = ws_connect(&format!(
        "{}/stream?streams=ethusdt@depth/ethusdt@trade",
        sim.stream_url()
    ));
    let (status, body) = http_get(sim.addr(), "/api/v3/depth?symbol=ETHUSDT&limit=5000");
    assert_eq!(status, 200);
    let snap: Value = serde_json::from_str(&body).unwrap();
    let last_update_id = snap["lastUpdateId"].as_u64().unwrap();
    let mut book = Book::default();
    book.apply(&g, &snap["bids"], &snap["asks"]);
    let mut prev_u: Option<u64> = None;
    let mut diffs = 0;
    while let Some(t) = next_text(&mut ws, Duration::from_millis(1_500)) {
        let v: Value = serde_json::from_str(&t).unwrap();
        if v["stream"] != "ethusdt@depth" {
            continue;
        }
        let d = &v["data"];
        assert!(d.get("pu").is_none());
        let (big_u, u) = (d["U"].as_u64().unwrap(), d["u"].as_u64().unwrap());
        match prev_u {
            None if u <= last_update_id => continue,
            None => assert!(big_u <= last_update_id + 1 && last_update_id < u),
            Some(p) => assert_eq!(big_u, p + 1),
        }
        book.apply(&g, &d["b"], &d["a"]);
        assert!(!book.crossed());
        prev_u = Some(u);
        diffs += 1;
    }
    let record = sim.record();
    assert!(record.source_ended, "the recording was played to its end");
    assert!(diffs > 50, "diffs {diffs}");
    let (sim_u, bids, asks) = sim.book(usize::MAX);
    assert_eq!(prev_u, Some(sim_u));
    let ours: Vec<(i64, i64)> = book.bids.iter().rev().map(|(p, q)| (*p, *q)).collect();
    assert_eq!(
        ours,
        bids.iter()
            .map(|l| (l.price.0, l.qty.0))
            .collect::<Vec<_>>()
    );
    let ours: Vec<(i64, i64)> = book.asks.iter().map(|(p, q)| (*p, *q)).collect();
    assert_eq!(
        ours,
        asks.iter()
            .map(|l| (l.price.0, l.qty.0))
            .collect::<Vec<_>>()
    );
    sim.shutdown();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn replay_of_the_real_spot_recording_keeps_sequence_and_oracle() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/hftbacktest-sample/spot/ethusdt_20240808.gz");
    if !path.exists() {
        assert!(
            std::env::var_os("OBI_REQUIRE_DATA").is_none(),
            "missing {}",
            path.display()
        );
        println!("SKIPPED: {} not found", path.display());
        return;
    }
    let sim = Sim::start(SimConfig {
        replay: Some(path),
        speed: 0.0,
        ..SimConfig::default()
    })
    .unwrap();
    let mut ws = ws_connect(&format!(
        "{}/stream?streams=ethusdt@depth@100ms/ethusdt@bookTicker",
        sim.stream_url()
    ));
    let (status, body) = http_get(sim.addr(), "/api/v3/depth?symbol=ETHUSDT&limit=5000");
    assert_eq!(status, 200);
    let snap: Value = serde_json::from_str(&body).unwrap();
    let last_update_id = snap["lastUpdateId"].as_u64().unwrap();
    // The recording's grid: parse at 8 decimals, exact for any Binance text.
    let g = Grid {
        price: Scale::unit(8),
        qty: Scale::unit(8),
    };
    let mut book = Book::default();
    book.apply(&g, &snap["bids"], &snap["asks"]);
    let (mut prev_u, mut diffs, mut oracle) = (None::<u64>, 0, 0);
    let mut tickers: BTreeMap<u64, (Lv, Lv)> = BTreeMap::new();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(1_500) {
        let Some(t) = next_text(&mut ws, Duration::from_millis(200)) else {
            continue;
        };
        let v: Value = serde_json::from_str(&t).unwrap();
        let d = &v["data"];
        if v["stream"] == "ethusdt@bookTicker" {
            // On the real stream a ticker may arrive before the diff that ends at its `u`:
            // keep it until that diff is applied.
            let bid = g.level(&Value::Array(vec![d["b"].clone(), d["B"].clone()]));
            let ask = g.level(&Value::Array(vec![d["a"].clone(), d["A"].clone()]));
            let u = d["u"].as_u64().unwrap();
            if Some(u) == prev_u {
                assert_eq!((Some(bid), Some(ask)), book.best());
                oracle += 1;
            } else if prev_u.is_none_or(|p| u > p) {
                tickers.insert(u, (bid, ask));
            }
            continue;
        }
        let (big_u, u) = (d["U"].as_u64().unwrap(), d["u"].as_u64().unwrap());
        match prev_u {
            None if u <= last_update_id => continue,
            None => assert!(big_u <= last_update_id + 1 && last_update_id < u),
            Some(p) => assert_eq!(big_u, p + 1),
        }
        book.apply(&g, &d["b"], &d["a"]);
        assert!(!book.crossed());
        prev_u = Some(u);
        diffs += 1;
        if let Some((bid, ask)) = tickers.remove(&u) {
            assert_eq!((Some(bid), Some(ask)), book.best(), "bookTicker u={u}");
            oracle += 1;
        }
        tickers.retain(|k, _| *k > u);
    }
    assert!(diffs > 20, "diffs {diffs}");
    assert!(oracle > 0, "no bookTicker matched a diff's u");
    sim.shutdown();
}
