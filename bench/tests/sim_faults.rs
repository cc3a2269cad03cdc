//! Fault injection: each fault fires, is visible to a client, and is counted in the record.

// Helpers outside #[test] fns unwrap too: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

mod sim_support;

use std::time::{Duration, Instant};

use obi_bench::sim::{FaultConfig, Sim, SimConfig, SimHandle};
use serde_json::{Value, json};
use sim_support::{Api, Read_, code, http_get, read_or_closed, ws_connect};

fn start(faults: FaultConfig, speed: f64, frame_interval_us: u64) -> SimHandle {
    Sim::start(SimConfig {
        speed,
        frame_interval_us,
        faults,
        ..SimConfig::default()
    })
    .unwrap()
}

fn depth_url(sim: &SimHandle) -> String {
    format!("{}/stream?streams=ethusdt@depth@100ms", sim.stream_url())
}

#[test]
fn gap_is_visible_and_counted() {
    let sim = start(
        FaultConfig {
            gap_every_s: 0.3,
            ..FaultConfig::default()
        },
        5.0,
        0,
    );
    let mut ws = ws_connect(&depth_url(&sim));
    let mut prev_u: Option<u64> = None;
    let mut gaps = 0;
    let t0 = Instant::now();
    while gaps == 0 && t0.elapsed() < Duration::from_secs(3) {
        if let Read_::Text(t) = read_or_closed(&mut ws) {
            let v: Value = serde_json::from_str(&t).unwrap();
            let (big_u, u) = (
                v["data"]["U"].as_u64().unwrap(),
                v["data"]["u"].as_u64().unwrap(),
            );
            if prev_u.is_some_and(|p| big_u != p + 1) {
                gaps += 1;
            }
            prev_u = Some(u);
        }
    }
    assert!(gaps > 0, "no gap seen");
    // After a gap a fresh snapshot still lines up with the stream.
    let (s, _) = http_get(sim.addr(), "/api/v3/depth?symbol=ETHUSDT&limit=10");
    assert_eq!(s, 200);
    assert!(sim.shutdown().faults.gaps >= 1);
}

#[test]
fn malformed_frame_is_sent_and_counted() {
    let sim = start(
        FaultConfig {
            malformed_every_s: 0.2,
            ..FaultConfig::default()
        },
        1.0,
        0,
    );
    let mut ws = ws_connect(&depth_url(&sim));
    let t0 = Instant::now();
    let mut bad = 0;
    while bad == 0 && t0.elapsed() < Duration::from_secs(3) {
        if let Read_::Text(t) = read_or_closed(&mut ws)
            && serde_json::from_str::<Value>(&t).is_err()
        {
            bad += 1;
        }
    }
    assert!(bad > 0);
    assert!(sim.shutdown().faults.malformed_frames >= 1);
}

#[test]
fn drop_closes_market_and_api_connections() {
    let sim = start(
        FaultConfig {
            drop_every_s: 0.4,
            ..FaultConfig::default()
        },
        1.0,
        0,
    );
    let mut market = ws_connect(&depth_url(&sim));
    let mut api = ws_connect(&sim.ws_api_url());
    let t0 = Instant::now();
    let (mut market_closed, mut api_closed) = (false, false);
    while !(market_closed && api_closed) && t0.elapsed() < Duration::from_secs(3) {
        if !market_closed {
            market_closed = matches!(read_or_closed(&mut market), Read_::Closed);
        }
        if !api_closed {
            api_closed = matches!(read_or_closed(&mut api), Read_::Closed);
        }
    }
    assert!(market_closed && api_closed);
    assert!(sim.shutdown().faults.dropped_connections >= 2);
}

#[test]
fn stall_holds_frames_then_resumes() {
    let sim = start(
        FaultConfig {
            stall_every_s: 0.5,
            stall_ms: 400,
            ..FaultConfig::default()
        },
        1.0,
        2_000,
    );
    let mut ws = ws_connect(&format!(
        "{}/stream?streams=ethusdt@depth@100ms/ethusdt@trade/ethusdt@bookTicker",
        sim.stream_url()
    ));
    let mut last = Instant::now();
    let mut max_gap = Duration::ZERO;
    let mut after_stall = 0;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(1_500) {
        if let Read_::Text(_) = read_or_closed(&mut ws) {
            let gap = last.elapsed();
            if gap > max_gap {
                max_gap = gap;
            }
            if max_gap >= Duration::from_millis(300) {
                after_stall += 1;
            }
            last = Instant::now();
        }
    }
    assert!(max_gap >= Duration::from_millis(300), "max gap {max_gap:?}");
    assert!(after_stall > 10, "frames resume after the stall");
    assert!(sim.shutdown().faults.stalls >= 1);
}

fn touch_bid(sim: &SimHandle) -> i64 {
    let (_, body) = http_get(sim.addr(), "/api/v3/depth?symbol=ETHUSDT&limit=1");
    let v: Value = serde_json::from_str(&body).unwrap();
    (v["bids"][0][0].as_str().unwrap().parse::<f64>().unwrap() * 100.0).round() as i64
}

fn place(api: &mut Api, id: &str, px: i64) -> Value {
    api.call(
        "order.place",
        json!({"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "price": format!("{}.{:02}", px / 100, px % 100), "quantity": "0.001",
            "newClientOrderId": id}),
    )
}

#[test]
fn status_unknown_in_both_variants_and_every_nth_rejected() {
    let sim = start(
        FaultConfig {
            unknown_every_n_orders: 2,
            reject_every_n_orders: 5,
            ..FaultConfig::default()
        },
        1.0,
        0,
    );
    let px = touch_bid(&sim) - 300;
    let mut api = Api::connect(&sim.ws_api_url());
    let msg = "Timeout waiting for response from backend server. Send status unknown; execution status unknown.";
    // Orders 1..=5: 2 -> -1007 placed, 4 -> -1007 not placed, 5 -> -2010.
    let mut answers = Vec::new();
    for i in 1..=5 {
        answers.push(place(&mut api, &format!("u{i}"), px));
    }
    assert_eq!(answers[0]["status"], 200);
    for i in [1, 3] {
        assert_eq!(code(&answers[i]), -1007, "{}", answers[i]);
        assert_eq!(answers[i]["error"]["msg"], msg);
        assert_eq!(answers[i]["status"], 503);
    }
    assert_eq!(code(&answers[4]), -2010);
    // order.status tells the truth.
    let s = api.call(
        "order.status",
        json!({"symbol": "ETHUSDT", "origClientOrderId": "u2"}),
    );
    assert_eq!(s["result"]["status"], "NEW", "{s}");
    let s = api.call(
        "order.status",
        json!({"symbol": "ETHUSDT", "origClientOrderId": "u4"}),
    );
    assert_eq!(code(&s), -2013);
    let r = sim.shutdown();
    assert_eq!(r.faults.unknown_placed, 1);
    assert_eq!(r.faults.unknown_not_placed, 1);
    assert_eq!(r.faults.rejected_orders, 1);
    assert!(
        r.orders
            .iter()
            .any(|o| o.client_order_id == "u2" && o.answered_unknown)
    );
    assert!(!r.orders.iter().any(|o| o.client_order_id == "u4"));
    assert_eq!(r.duplicate_client_order_ids, 0);
}

#[test]
fn server_shutdown_event_then_close() {
    let sim = start(
        FaultConfig {
            shutdown_every_s: 0.3,
            shutdown_grace_ms: 200,
            ..FaultConfig::default()
        },
        1.0,
        0,
    );
    let mut ws = ws_connect(&sim.ws_api_url());
    let t0 = Instant::now();
    let mut event_at = None;
    let mut closed_at = None;
    while closed_at.is_none() && t0.elapsed() < Duration::from_secs(3) {
        match read_or_closed(&mut ws) {
            Read_::Text(t) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                assert_eq!(v["event"]["e"], "serverShutdown");
                assert!(v["event"]["E"].is_u64());
                event_at.get_or_insert_with(Instant::now);
            }
            Read_::Closed => closed_at = Some(Instant::now()),
            Read_::Idle => {}
        }
    }
    let (event_at, closed_at) = (event_at.unwrap(), closed_at.unwrap());
    assert!(closed_at.duration_since(event_at) >= Duration::from_millis(150));
    assert!(sim.shutdown().faults.server_shutdowns >= 1);
}
