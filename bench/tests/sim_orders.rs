//! Order entry against the simulator over the Spot WebSocket API: authentication (Ed25519
//! logon, HMAC per request), place/fill/cancel/cancelAll/status round trips and their
//! execution reports, post-only refusals, duplicate client ids.

// Helpers outside #[test] fns unwrap too: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

mod sim_support;

use std::time::Duration;

use ed25519_dalek::SigningKey;
use obi_bench::sim::{AuthConfig, Sim, SimConfig, SimHandle};
use serde_json::{Value, json};
use sim_support::{
    API_KEY, Api, HMAC_SECRET, code, hmac_sign, http_get, public_key_hex, signing_key,
};

fn start(speed: f64) -> SimHandle {
    let cfg = SimConfig {
        speed,
        auth: AuthConfig {
            api_key: Some(API_KEY.into()),
            ed25519_public_key: Some(public_key_hex()),
            hmac_secret: Some(HMAC_SECRET.into()),
            ..AuthConfig::default()
        },
        ..SimConfig::default()
    };
    Sim::start(cfg).unwrap()
}

/// Best bid and ask in ticks (0.01) from the REST snapshot.
fn touch(sim: &SimHandle) -> (i64, i64) {
    let (_, body) = http_get(sim.addr(), "/api/v3/depth?symbol=ETHUSDT&limit=1");
    let v: Value = serde_json::from_str(&body).unwrap();
    let px = |s: &Value| (s.as_str().unwrap().parse::<f64>().unwrap() * 100.0).round() as i64;
    (px(&v["bids"][0][0]), px(&v["asks"][0][0]))
}

fn price(ticks: i64) -> String {
    format!("{}.{:02}", ticks / 100, ticks % 100)
}

fn logged_on(sim: &SimHandle) -> Api {
    let mut api = Api::connect(&sim.ws_api_url());
    let r = api.logon(&signing_key());
    assert_eq!(r["status"], 200, "{r}");
    // As obi's gateway sends it: no timestamp, no signature.
    let r = api.call("userDataStream.subscribe", json!({}));
    assert_eq!(r["result"]["subscriptionId"], 0, "{r}");
    api
}

fn place(api: &mut Api, id: &str, side: &str, ty: &str, tif: Option<&str>, px: i64) -> Value {
    let mut p = json!({
        "symbol": "ETHUSDT", "side": side, "type": ty, "price": price(px),
        "quantity": "0.001", "newClientOrderId": id, "newOrderRespType": "ACK",
    });
    if let Some(tif) = tif {
        p["timeInForce"] = tif.into();
    }
    api.call_ts("order.place", p)
}

#[test]
fn logon_accepts_the_right_key_only() {
    let sim = start(1.0);
    let mut api = Api::connect(&sim.ws_api_url());
    let t = api.call("time", json!({}));
    assert!(t["result"]["serverTime"].is_u64());
    // Signed methods need a session or a signature.
    let r = api.call_ts("openOrders.status", json!({"symbol": "ETHUSDT"}));
    assert_eq!(r["status"], 400);
    assert_eq!(code(&r), -1102);
    let wrong = SigningKey::from_bytes(&[8u8; 32]);
    let r = api.logon(&wrong);
    assert_eq!(code(&r), -1022, "{r}");
    assert_eq!(
        r["error"]["msg"],
        "Signature for this request is not valid."
    );
    let r = api.logon(&signing_key());
    assert_eq!(r["status"], 200);
    assert_eq!(r["result"]["apiKey"], API_KEY);
    assert!(r["rateLimits"].as_array().is_some_and(|a| !a.is_empty()));
    let r = api.call_ts("openOrders.status", json!({"symbol": "ETHUSDT"}));
    assert_eq!(r["result"], json!([]));
    // A stale timestamp is refused.
    let r = api.call(
        "openOrders.status",
        json!({"symbol": "ETHUSDT", "timestamp": sim_support::now_ms() - 60_000}),
    );
    assert_eq!(code(&r), -1021);
    let record = sim.shutdown();
    assert_eq!(record.auth_failures, 1);
}

#[test]
fn hmac_signed_requests() {
    let sim = start(1.0);
    let mut api = Api::connect(&sim.ws_api_url());
    let p = hmac_sign(
        json!({"symbol": "ETHUSDT", "origClientOrderId": "nope"})
            .as_object()
            .unwrap()
            .clone(),
        HMAC_SECRET,
    );
    let r = api.call("order.status", Value::Object(p));
    assert_eq!(code(&r), -2013, "{r}");
    assert_eq!(r["error"]["msg"], "Order does not exist.");
    let p = hmac_sign(
        json!({"symbol": "ETHUSDT"}).as_object().unwrap().clone(),
        "wrong-secret",
    );
    let r = api.call("openOrders.status", Value::Object(p));
    assert_eq!(code(&r), -1022);
    let mut p = hmac_sign(
        json!({"symbol": "ETHUSDT"}).as_object().unwrap().clone(),
        HMAC_SECRET,
    );
    p.insert("apiKey".into(), "other".into());
    let r = api.call("openOrders.status", Value::Object(p));
    assert_eq!(code(&r), -2015);
    assert_eq!(r["status"], 401);
    // HMAC-signed order.place works without a session.
    let (bid, _) = touch(&sim);
    let mut p = json!({
        "symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
        "price": price(bid - 200), "quantity": "0.002", "newClientOrderId": "h1",
    })
    .as_object()
    .unwrap()
    .clone();
    p = hmac_sign(p, HMAC_SECRET);
    let r = api.call("order.place", Value::Object(p));
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(r["result"]["clientOrderId"], "h1");
    // An HMAC-signed logon (as obi's gateway sends for HMAC keys), then subscribe.
    let mut api2 = Api::connect(&sim.ws_api_url());
    let p = hmac_sign(serde_json::Map::new(), HMAC_SECRET);
    let r = api2.call("session.logon", Value::Object(p));
    assert_eq!(r["status"], 200, "{r}");
    let r = api2.call("userDataStream.subscribe", json!({}));
    assert_eq!(r["status"], 200, "{r}");
    let mut api3 = Api::connect(&sim.ws_api_url());
    let r = api3.call("userDataStream.subscribe", json!({}));
    assert_eq!(code(&r), -2015, "subscribe needs a logged-on session");
    let record = sim.shutdown();
    assert_eq!(record.auth_failures, 2);
    assert_eq!(record.orders.len(), 1);
    assert_eq!(record.open_orders, vec!["h1".to_owned()]);
}

#[test]
fn place_cancel_cancel_all_status_and_taker_fills() {
    let sim = start(1.0);
    let mut api = logged_on(&sim);
    let (bid, ask) = touch(&sim);

    // A resting order: NEW, visible in status and openOrders, then cancelled.
    let r = place(&mut api, "a1", "BUY", "LIMIT", Some("GTC"), bid - 300);
    assert_eq!(r["status"], 200, "{r}");
    let order_id = r["result"]["orderId"].as_u64().unwrap();
    assert_eq!(r["result"]["orderListId"], -1);
    let ev = api
        .wait_event(Duration::from_secs(2), |e| {
            e["event"]["c"] == "a1" && e["event"]["x"] == "NEW"
        })
        .expect("NEW report");
    assert_eq!(ev["event"]["X"], "NEW");
    assert_eq!(ev["event"]["i"], order_id);
    assert_eq!(ev["event"]["p"], price(bid - 300) + "000000");
    let r = api.call_ts(
        "order.status",
        json!({"symbol": "ETHUSDT", "origClientOrderId": "a1"}),
    );
    assert_eq!(r["result"]["status"], "NEW");
    assert_eq!(r["result"]["origQty"], "0.00100000");
    let r = api.call_ts("openOrders.status", json!({"symbol": "ETHUSDT"}));
    assert_eq!(r["result"].as_array().unwrap().len(), 1);
    let r = api.call_ts(
        "order.cancel",
        json!({"symbol": "ETHUSDT", "origClientOrderId": "a1", "newClientOrderId": "x1"}),
    );
    assert_eq!(r["result"]["status"], "CANCELED", "{r}");
    assert_eq!(r["result"]["origClientOrderId"], "a1");
    assert_eq!(r["result"]["clientOrderId"], "x1");
    let ev = api
        .wait_event(Duration::from_secs(2), |e| e["event"]["x"] == "CANCELED")
        .unwrap();
    assert_eq!(ev["event"]["c"], "x1");
    assert_eq!(ev["event"]["C"], "a1");
    let r = api.call_ts(
        "order.cancel",
        json!({"symbol": "ETHUSDT", "origClientOrderId": "a1"}),
    );
    assert_eq!(code(&r), -2011);
    assert_eq!(r["error"]["msg"], "Unknown order sent.");

    // cancelAll cancels both resting orders; a second one returns [].
    for id in ["b1", "b2"] {
        let r = place(&mut api, id, "SELL", "LIMIT_MAKER", None, ask + 300);
        assert_eq!(r["status"], 200, "{r}");
    }
    let r = api.call_ts("openOrders.cancelAll", json!({"symbol": "ETHUSDT"}));
    let rows = r["result"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|o| o["status"] == "CANCELED"));
    let r = api.call_ts("openOrders.cancelAll", json!({"symbol": "ETHUSDT"}));
    assert_eq!(r["result"], json!([]));
    let r = api.call_ts("openOrders.status", json!({"symbol": "ETHUSDT"}));
    assert_eq!(r["result"], json!([]));
    for id in ["b1", "b2"] {
        assert!(
            api.reports_for(id)
                .iter()
                .any(|e| e["x"] == "CANCELED" && e["C"] == id)
        );
    }

    // A marketable IOC buy takes the best ask as taker: TRADE, FILLED, commission.
    let r = place(&mut api, "t1", "BUY", "LIMIT", Some("IOC"), ask + 500);
    assert_eq!(r["status"], 200, "{r}");
    let ev = api
        .wait_event(Duration::from_secs(2), |e| {
            e["event"]["c"] == "t1" && e["event"]["x"] == "TRADE"
        })
        .expect("TRADE report");
    let e = &ev["event"];
    assert_eq!(e["X"], "FILLED");
    assert_eq!(e["l"], "0.00100000");
    assert_eq!(e["z"], "0.00100000");
    assert_eq!(e["m"], false);
    assert_eq!(e["N"], "USDT");
    assert!(e["n"].as_str().unwrap().parse::<f64>().unwrap() > 0.0);
    // A non-marketable IOC expires.
    let r = place(&mut api, "t2", "BUY", "LIMIT", Some("IOC"), bid - 300);
    assert_eq!(r["status"], 200);
    let ev = api
        .wait_event(Duration::from_secs(2), |e| {
            e["event"]["c"] == "t2" && e["event"]["x"] == "EXPIRED"
        })
        .expect("EXPIRED report");
    assert_eq!(ev["event"]["X"], "EXPIRED");

    // Post-only that would cross: -2010 with Binance's message.
    let r = place(&mut api, "m1", "BUY", "LIMIT_MAKER", None, ask + 500);
    assert_eq!(code(&r), -2010);
    assert_eq!(r["error"]["msg"], "Order would immediately match and take.");
    // Off-grid price, bad symbol.
    let mut p = json!({"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
        "price": "2500.001", "quantity": "0.001", "newClientOrderId": "g1"});
    let r = api.call_ts("order.place", p.clone());
    assert_eq!(code(&r), -1013);
    p["symbol"] = "BTCUSDT".into();
    p["newClientOrderId"] = "g2".into();
    let r = api.call_ts("order.place", p);
    assert_eq!(code(&r), -1121);

    // The same client id twice: refused and counted.
    let r = place(&mut api, "d1", "BUY", "LIMIT", Some("GTC"), bid - 300);
    assert_eq!(r["status"], 200);
    let r = place(&mut api, "d1", "BUY", "LIMIT", Some("GTC"), bid - 300);
    assert_eq!(code(&r), -2010);

    let record = sim.shutdown();
    assert_eq!(record.duplicate_client_order_ids, 1);
    assert_eq!(record.fills.len(), 1);
    assert_eq!(record.fills[0].side, "BUY");
    assert!(!record.fills[0].maker);
    assert_eq!(record.position_lots["ETHUSDT"], 1);
    assert_eq!(record.open_orders, vec!["d1".to_owned()]);
    // No market connection wrote a frame, so there is no wire-to-wire sample.
    assert!(record.order_latency_ns.is_empty());
}

#[test]
fn resting_order_fills_as_maker() {
    let sim = start(20.0);
    let mut api = logged_on(&sim);
    let (bid, _) = touch(&sim);
    let r = place(&mut api, "k1", "BUY", "LIMIT", Some("GTC"), bid);
    assert_eq!(r["status"], 200, "{r}");
    let ev = api
        .wait_event(Duration::from_secs(15), |e| {
            e["event"]["c"] == "k1" && e["event"]["x"] == "TRADE"
        })
        .expect("maker fill within 15 s at speed 20");
    assert_eq!(ev["event"]["m"], true);
    let record = sim.shutdown();
    assert!(record.fills.iter().all(|f| f.maker && f.side == "BUY"));
    assert!(record.position_lots["ETHUSDT"] > 0);
}

#[test]
fn wire_to_wire_samples_in_paced_mode() {
    let sim = Sim::start(SimConfig {
        frame_interval_us: 20_000,
        ..SimConfig::default()
    })
    .unwrap();
    let (bid, _) = touch(&sim);
    let mut market = sim_support::ws_connect(&format!(
        "{}/stream?streams=ethusdt@depth@100ms/ethusdt@trade/ethusdt@bookTicker",
        sim.stream_url()
    ));
    let mut api = Api::connect(&sim.ws_api_url());
    // React to five frames, each with one order.
    for i in 0..5 {
        sim_support::next_text(&mut market, Duration::from_secs(2)).expect("frame");
        let r = api.call(
            "order.place",
            json!({"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                "price": price(bid - 500), "quantity": "0.001", "newClientOrderId": format!("w{i}")}),
        );
        assert_eq!(r["status"], 200, "{r}");
    }
    let record = sim.shutdown();
    assert_eq!(record.order_latency_ns.len(), 5);
    // Each sample is the client's reaction plus two loopback hops (the client may read a
    // frame that waited in its socket buffer, so only a loose bound holds on a busy machine).
    assert!(
        record.order_latency_ns.iter().all(|ns| *ns < 1_000_000_000),
        "{:?}",
        record.order_latency_ns
    );
}
