//! Account queries against the simulator over the Spot WebSocket API: `time`,
//! `account.status` balances moved by fills and locked by resting orders, `allOrders` and
//! `myTrades` with their filters, and a second client placing orders on the same account
//! "behind the back" of the first.

// Helpers outside #[test] fns unwrap too: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

mod sim_support;

use std::time::Duration;

use obi_bench::sim::{AccountConfig, AuthConfig, Sim, SimConfig, SimHandle};
use serde_json::{Value, json};
use sim_support::{API_KEY, Api, HMAC_SECRET, code, hmac_sign, http_get, now_ms, signing_key};

fn start(account: AccountConfig) -> SimHandle {
    let cfg = SimConfig {
        auth: AuthConfig {
            api_key: Some(API_KEY.into()),
            ed25519_public_key: Some(sim_support::public_key_hex()),
            hmac_secret: Some(HMAC_SECRET.into()),
            ..AuthConfig::default()
        },
        account,
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

/// Decimal text as units of 1e-8 (exact, for comparing balances).
fn e8(text: &Value) -> i128 {
    let t = text.as_str().unwrap();
    let (neg, t) = t.strip_prefix('-').map_or((false, t), |r| (true, r));
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let mut frac = frac.to_owned();
    assert!(frac.len() <= 8, "{t}");
    while frac.len() < 8 {
        frac.push('0');
    }
    let v = whole.parse::<i128>().unwrap() * 100_000_000 + frac.parse::<i128>().unwrap();
    if neg { -v } else { v }
}

fn logged_on(sim: &SimHandle) -> Api {
    let mut api = Api::connect(&sim.ws_api_url());
    let r = api.logon(&signing_key());
    assert_eq!(r["status"], 200, "{r}");
    let r = api.call("userDataStream.subscribe", json!({}));
    assert_eq!(r["result"]["subscriptionId"], 0, "{r}");
    api
}

fn place(api: &mut Api, id: &str, side: &str, tif: &str, px: i64, qty: &str) -> Value {
    let p = json!({
        "symbol": "ETHUSDT", "side": side, "type": "LIMIT", "timeInForce": tif,
        "price": price(px), "quantity": qty, "newClientOrderId": id, "newOrderRespType": "ACK",
    });
    let r = api.call_ts("order.place", p);
    assert_eq!(r["status"], 200, "{r}");
    r
}

fn balance<'a>(account: &'a Value, asset: &str) -> &'a Value {
    account["result"]["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["asset"] == asset)
        .unwrap_or_else(|| panic!("no {asset} in {account}"))
}

#[test]
fn time_is_unsigned_and_account_status_is_signed() {
    let sim = start(AccountConfig::default());
    let mut api = Api::connect(&sim.ws_api_url());
    let before = now_ms();
    let t = api.call("time", json!({}));
    let after = now_ms();
    let server = t["result"]["serverTime"].as_u64().unwrap();
    // The simulator's clock is this machine's Unix clock (allow for clock steps).
    assert!(server + 60_000 >= before && server <= after + 60_000, "{t}");
    // Without a session, account.status needs a signature.
    let r = api.call_ts("account.status", json!({}));
    assert_eq!(code(&r), -1102, "{r}");
    let mut bad = hmac_sign(serde_json::Map::new(), "wrong-secret");
    bad.insert("omitZeroBalances".into(), false.into());
    let r = api.call("account.status", Value::Object(bad));
    assert_eq!(code(&r), -1022, "{r}");
    // Signed per request with HMAC: the default balances.
    let r = api.call(
        "account.status",
        Value::Object(hmac_sign(serde_json::Map::new(), HMAC_SECRET)),
    );
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(r["result"]["accountType"], "SPOT");
    assert_eq!(balance(&r, "ETH")["free"], "10.00000000");
    assert_eq!(balance(&r, "ETH")["locked"], "0.00000000");
    assert_eq!(balance(&r, "USDT")["free"], "100000.00000000");
    assert_eq!(r["result"]["makerCommission"], 1);
    assert_eq!(r["result"]["commissionRates"]["taker"], "0.00010000");
}

#[test]
fn balances_follow_fills_and_resting_orders() {
    let sim = start(AccountConfig {
        base_balance: "2.5".into(),
        quote_balance: "5000".into(),
    });
    let mut api = logged_on(&sim);
    let (bid, ask) = touch(&sim);
    // A resting buy locks its notional in USDT; a resting sell locks its quantity in ETH.
    place(&mut api, "rb", "BUY", "GTC", bid - 500, "0.010");
    place(&mut api, "rs", "SELL", "GTC", ask + 500, "0.020");
    let a = api.call_ts("account.status", json!({}));
    let buy_locked = e8(&json!(price(bid - 500))) / 100; // 0.010 × price
    assert_eq!(e8(&balance(&a, "USDT")["locked"]), buy_locked, "{a}");
    assert_eq!(
        e8(&balance(&a, "USDT")["free"]),
        5_000 * 100_000_000 - buy_locked
    );
    assert_eq!(balance(&a, "ETH")["locked"], "0.02000000");
    assert_eq!(balance(&a, "ETH")["free"], "2.48000000");
    let r = api.call_ts("openOrders.cancelAll", json!({"symbol": "ETHUSDT"}));
    assert_eq!(r["result"].as_array().unwrap().len(), 2, "{r}");

    // A marketable IOC buy fills as taker: ETH up by qty, USDT down by quoteQty + fee.
    place(&mut api, "t1", "BUY", "IOC", ask + 500, "0.003");
    let filled = api.wait_event(Duration::from_secs(5), |e| {
        e["event"]["c"] == "t1" && e["event"]["X"] == "FILLED"
    });
    assert!(filled.is_some(), "t1 filled: {:?}", api.events);
    let trades = api.call_ts("myTrades", json!({"symbol": "ETHUSDT"}));
    let rows = trades["result"].as_array().unwrap();
    assert!(!rows.is_empty(), "{trades}");
    let spent: i128 = rows
        .iter()
        .map(|t| e8(&t["quoteQty"]) + e8(&t["commission"]))
        .sum();
    let bought: i128 = rows.iter().map(|t| e8(&t["qty"])).sum();
    assert_eq!(bought, 300_000);
    let a = api.call_ts("account.status", json!({}));
    assert_eq!(balance(&a, "ETH")["free"], "2.50300000", "{a}");
    assert_eq!(balance(&a, "ETH")["locked"], "0.00000000");
    assert_eq!(balance(&a, "USDT")["locked"], "0.00000000");
    assert_eq!(
        e8(&balance(&a, "USDT")["free"]),
        5_000 * 100_000_000 - spent
    );
}

#[test]
fn all_orders_and_my_trades() {
    let sim = start(AccountConfig::default());
    let mut api = logged_on(&sim);
    let (bid, ask) = touch(&sim);
    let t_start = now_ms();
    place(&mut api, "a1", "BUY", "GTC", bid - 400, "0.001");
    place(&mut api, "a2", "SELL", "GTC", ask + 400, "0.002");
    place(&mut api, "a3", "BUY", "IOC", ask + 500, "0.001");
    let filled = api.wait_event(Duration::from_secs(5), |e| {
        e["event"]["c"] == "a3" && e["event"]["X"] == "FILLED"
    });
    assert!(filled.is_some(), "a3 filled");
    api.call_ts(
        "order.cancel",
        json!({"symbol": "ETHUSDT", "origClientOrderId": "a1"}),
    );

    let all = api.call_ts("allOrders", json!({"symbol": "ETHUSDT"}));
    let rows = all["result"].as_array().unwrap();
    let ids: Vec<&str> = rows
        .iter()
        .map(|o| o["clientOrderId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a1", "a2", "a3"], "oldest first: {all}");
    let statuses: Vec<&str> = rows.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["CANCELED", "NEW", "FILLED"]);
    for key in [
        "orderId",
        "price",
        "origQty",
        "executedQty",
        "cummulativeQuoteQty",
        "timeInForce",
        "type",
        "side",
        "time",
        "updateTime",
    ] {
        assert!(!rows[0][key].is_null(), "{key} in {}", rows[0]);
    }
    assert_eq!(rows[1]["origQty"], "0.00200000");
    assert_eq!(rows[2]["executedQty"], "0.00100000");
    // limit keeps the most recent; orderId keeps ids from there, oldest first.
    let r = api.call_ts("allOrders", json!({"symbol": "ETHUSDT", "limit": 1}));
    assert_eq!(r["result"][0]["clientOrderId"], "a3", "{r}");
    let id2 = rows[1]["orderId"].as_u64().unwrap();
    let r = api.call_ts(
        "allOrders",
        json!({"symbol": "ETHUSDT", "orderId": id2, "limit": 1}),
    );
    assert_eq!(r["result"][0]["clientOrderId"], "a2", "{r}");
    let r = api.call_ts(
        "allOrders",
        json!({"symbol": "ETHUSDT", "startTime": t_start, "endTime": now_ms()}),
    );
    assert_eq!(r["result"].as_array().unwrap().len(), 3, "{r}");
    let r = api.call_ts(
        "allOrders",
        json!({"symbol": "ETHUSDT", "endTime": t_start.saturating_sub(1)}),
    );
    assert_eq!(r["result"], json!([]), "{r}");
    assert_eq!(
        code(&api.call_ts("allOrders", json!({"symbol": "ETHUSDT", "limit": 1001}))),
        -1130
    );
    assert_eq!(
        code(&api.call_ts("allOrders", json!({"symbol": "BTCUSDT"}))),
        -1121
    );
    assert_eq!(code(&api.call_ts("allOrders", json!({}))), -1102);

    let trades = api.call_ts("myTrades", json!({"symbol": "ETHUSDT"}));
    let rows = trades["result"].as_array().unwrap();
    assert!(!rows.is_empty(), "{trades}");
    let a3_id = all["result"][2]["orderId"].clone();
    for t in rows {
        assert_eq!(t["orderId"], a3_id, "only a3 traded: {t}");
        assert_eq!(t["isBuyer"], true);
        assert_eq!(t["isMaker"], false);
        assert_eq!(t["commissionAsset"], "USDT");
        for key in ["id", "price", "qty", "quoteQty", "commission", "time"] {
            assert!(!t[key].is_null(), "{key} in {t}");
        }
    }
    let first_id = rows[0]["id"].as_u64().unwrap();
    let last_id = rows[rows.len() - 1]["id"].as_u64().unwrap();
    let r = api.call_ts(
        "myTrades",
        json!({"symbol": "ETHUSDT", "fromId": last_id + 1}),
    );
    assert_eq!(r["result"], json!([]), "{r}");
    let r = api.call_ts(
        "myTrades",
        json!({"symbol": "ETHUSDT", "fromId": first_id, "limit": 1}),
    );
    assert_eq!(r["result"][0]["id"], first_id, "{r}");
    let r = api.call_ts(
        "myTrades",
        json!({"symbol": "ETHUSDT", "orderId": rows[0]["orderId"].as_u64().unwrap() + 100}),
    );
    assert_eq!(r["result"], json!([]), "{r}");
    let r = api.call_ts(
        "myTrades",
        json!({"symbol": "ETHUSDT", "fromId": 1, "startTime": t_start}),
    );
    assert_eq!(code(&r), -1128, "{r}");
}

#[test]
fn a_second_client_trades_on_the_same_account() {
    let sim = start(AccountConfig::default());
    let mut engine_side = logged_on(&sim);
    let (bid, _) = touch(&sim);
    // Another connection with the same key, signing each request with HMAC (no logon).
    let mut other = Api::connect(&sim.ws_api_url());
    let mut p = serde_json::Map::new();
    for (k, v) in [
        ("symbol", "ETHUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "0.001"),
        ("newClientOrderId", "manual1"),
    ] {
        p.insert(k.into(), v.into());
    }
    p.insert("price".into(), price(bid - 700).into());
    let r = other.call("order.place", Value::Object(hmac_sign(p, HMAC_SECRET)));
    assert_eq!(r["status"], 200, "{r}");
    // The first connection's user data stream reports it, and its queries list it.
    let ev = engine_side.wait_event(Duration::from_secs(5), |e| {
        e["event"]["c"] == "manual1" && e["event"]["x"] == "NEW"
    });
    assert!(ev.is_some(), "execution report for the foreign order");
    let open = engine_side.call_ts("openOrders.status", json!({"symbol": "ETHUSDT"}));
    assert_eq!(open["result"][0]["clientOrderId"], "manual1", "{open}");
    assert_eq!(sim.record().open_orders, ["manual1"]);
}
