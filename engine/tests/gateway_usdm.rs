//! The Binance gateway thread on USD-M futures against a scripted fake venue on loopback
//! that serves, on one port, the futures WS API (`/ws-fapi/v1`), the listenKey user-data
//! stream (`/ws/<listenKey>`) and the signed REST endpoints (`DELETE /fapi/v1/allOpenOrders`,
//! `POST /fapi/v1/countdownCancelAll`). Ed25519 keys, as Binance's WS API logon requires;
//! every signature is verified. Cancel-alls are confirmed by `openOrders.status` until
//! nothing is open. Nothing leaves 127.0.0.1.

// The fake venue's helpers are test scaffolding: a failed set-up should panic loudly.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use ed25519_dalek::{Signature, SigningKey, Verifier, VerifyingKey};
use obi_engine::instrument::{InstrumentId, InstrumentSpec, Instruments, Market, Scale, Symbol};
use obi_engine::net::backoff::BackoffConfig;
use obi_engine::order::{Fill, Intent, Liquidity, NewOrder, OrderId, Report, TimeInForce};
use obi_engine::units::{Lots, Side, Ticks};
use obi_engine::venue::binance::sign::ws_payload;
use obi_engine::venue::binance::{GatewayConfig, GatewayHandle, PollMode, spawn_with_credentials};
use obi_engine::venue::keys::{Credentials, KeySource, KeyType, SecretSource};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tungstenite::Message;

const API_KEY: &str = "testFuturesApiKey42";
const RUN: u64 = 1_763_887_446;
const PREFIX: &str = "obit6689ix";
/// RFC 8032 test 1 seed: the account's Ed25519 key.
const SEED: [u8; 32] = [
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
];
const UNKNOWN: &str = "Timeout waiting for response from backend server. Send status unknown; execution status unknown.";

// ---------------------------------------------------------------------------------------
// The fake futures venue
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum PlaceMode {
    /// The full order as the answer (futures `ACK`), then an `ORDER_TRADE_UPDATE` NEW.
    Normal,
    /// The order is recorded (NEW) but the answer is -1007 and no event is sent.
    UnknownButPlaced,
}

#[derive(Clone, Debug)]
struct FakeOrder {
    symbol: String,
    side: String,
    tif: String,
    price_e8: i64,
    qty_e8: i64,
    executed_e8: i64,
    quote_e8: i128,
    status: &'static str,
    venue_id: u64,
}

impl FakeOrder {
    fn open(&self) -> bool {
        matches!(self.status, "NEW" | "PARTIALLY_FILLED")
    }
}

enum Out {
    Text(String),
    Close,
}

/// One REST request as the fake saw it.
#[derive(Clone, Debug)]
struct RestCall {
    verb: String,
    path: String,
    params: HashMap<String, String>,
    signed_ok: bool,
}

struct State {
    place_mode: PlaceMode,
    orders: HashMap<String, FakeOrder>,
    /// WS API requests: (method, params).
    requests: Vec<(String, Value)>,
    rest: Vec<RestCall>,
    api_conns: Vec<Sender<Out>>,
    /// User-data stream connections: (listenKey, sender).
    streams: Vec<(String, Sender<Out>)>,
    listen_key: Option<String>,
    keys_issued: u32,
    public: VerifyingKey,
    next_venue_id: u64,
    last_event: Option<String>,
    /// Client ids the next REST cancel-all leaves open (each once).
    cancel_all_misses: Vec<String>,
}

#[derive(Clone)]
struct Fake {
    state: Arc<Mutex<State>>,
    port: u16,
}

fn e8(text: &str) -> i64 {
    obi_engine::decimal::parse_scaled(text.as_bytes(), 8).expect("decimal")
}

fn fmt_e8(v: i128) -> String {
    let mut s = String::new();
    obi_engine::decimal::write_scaled(&mut s, v, 8).unwrap();
    s
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn verify_ed25519(public: &VerifyingKey, payload: &str, signature_b64: &str) -> bool {
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(signature_b64) else {
        return false;
    };
    let Ok(sig) = Signature::from_slice(&raw) else {
        return false;
    };
    public.verify(payload.as_bytes(), &sig).is_ok()
}

impl Fake {
    fn start() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let fake = Fake {
            state: Arc::new(Mutex::new(State {
                place_mode: PlaceMode::Normal,
                orders: HashMap::new(),
                requests: Vec::new(),
                rest: Vec::new(),
                api_conns: Vec::new(),
                streams: Vec::new(),
                listen_key: None,
                keys_issued: 0,
                public: SigningKey::from_bytes(&SEED).verifying_key(),
                next_venue_id: 8_886_000,
                last_event: None,
                cancel_all_misses: Vec::new(),
            })),
            port,
        };
        let f = fake.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let f2 = f.clone();
                std::thread::spawn(move || f2.serve(stream));
            }
        });
        fake
    }

    fn ws_api_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws-fapi/v1", self.port)
    }

    fn stream_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    fn rest_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Peeks at the request line: WebSocket upgrades go to the WS API or a user stream,
    /// anything else is REST.
    fn serve(&self, stream: TcpStream) {
        let mut head = [0u8; 4096];
        let deadline = Instant::now() + Duration::from_secs(2);
        let n = loop {
            let n = stream.peek(&mut head).unwrap_or(0);
            if head[..n].windows(4).any(|w| w == b"\r\n\r\n") || Instant::now() > deadline {
                break n;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let text = String::from_utf8_lossy(&head[..n]).to_string();
        let line = text.lines().next().unwrap_or("").to_string();
        let mut parts = line.split(' ');
        let (verb, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if verb == "GET" && target == "/ws-fapi/v1" {
            self.serve_api(stream);
        } else if verb == "GET" && target.starts_with("/ws/") {
            self.serve_stream(stream, target["/ws/".len()..].to_string());
        } else {
            self.serve_rest(stream, &text);
        }
    }

    fn pump(ws: &mut tungstenite::WebSocket<TcpStream>, rx: &Receiver<Out>) -> bool {
        while let Ok(out) = rx.try_recv() {
            match out {
                Out::Text(t) => {
                    if ws.send(Message::text(t)).is_err() {
                        return false;
                    }
                }
                Out::Close => {
                    let _ = ws.close(None);
                    let _ = ws.flush();
                    return false;
                }
            }
        }
        true
    }

    fn serve_stream(&self, stream: TcpStream, key: String) {
        // Registered before the handshake completes, as the venue's stream is live once the
        // client sees the upgrade: events queue in the channel meanwhile.
        let (tx, rx) = channel();
        let valid = {
            let mut st = self.state.lock().unwrap();
            let valid = st.listen_key.as_deref() == Some(key.as_str());
            if valid {
                st.streams.push((key, tx));
            }
            valid
        };
        let Ok(mut ws) = tungstenite::accept(stream) else {
            return;
        };
        if !valid {
            let _ = ws.close(None);
            let _ = ws.flush();
            return;
        }
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(2)))
            .unwrap();
        loop {
            if !Fake::pump(&mut ws, &rx) {
                return;
            }
            match ws.read() {
                Ok(Message::Close(_)) => return,
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    let _ = ws.flush();
                }
                Err(_) => return,
            }
        }
    }

    fn serve_api(&self, stream: TcpStream) {
        let Ok(mut ws) = tungstenite::accept(stream) else {
            return;
        };
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(2)))
            .unwrap();
        let (tx, rx) = channel();
        self.state.lock().unwrap().api_conns.push(tx);
        let mut logged_on = false;
        loop {
            if !Fake::pump(&mut ws, &rx) {
                return;
            }
            match ws.read() {
                Ok(Message::Text(text)) => {
                    let req: Value = serde_json::from_str(text.as_str()).unwrap();
                    for reply in self.handle(&req, &mut logged_on) {
                        if ws.send(Message::text(reply)).is_err() {
                            return;
                        }
                    }
                }
                Ok(Message::Close(_)) => return,
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    let _ = ws.flush();
                }
                Err(_) => return,
            }
        }
    }

    /// A futures order as `order.place` (ACK), `order.cancel` and `order.status` return it.
    fn order_json(client_id: &str, o: &FakeOrder) -> Value {
        let avg = if o.executed_e8 > 0 {
            fmt_e8(o.quote_e8 * 100_000_000 / i128::from(o.executed_e8))
        } else {
            "0.00".into()
        };
        json!({
            "orderId": o.venue_id, "symbol": o.symbol, "status": o.status,
            "clientOrderId": client_id, "price": fmt_e8(o.price_e8.into()), "avgPrice": avg,
            "origQty": fmt_e8(o.qty_e8.into()), "executedQty": fmt_e8(o.executed_e8.into()),
            "cumQty": fmt_e8(o.executed_e8.into()), "cumQuote": fmt_e8(o.quote_e8),
            "timeInForce": o.tif, "type": "LIMIT", "reduceOnly": false, "closePosition": false,
            "side": o.side, "positionSide": "BOTH", "stopPrice": "0",
            "workingType": "CONTRACT_PRICE", "priceProtect": false, "origType": "LIMIT",
            "priceMatch": "NONE", "selfTradePreventionMode": "NONE", "goodTillDate": 0,
            "updateTime": now_ms()
        })
    }

    /// An `ORDER_TRADE_UPDATE` event, shaped like Binance's USD-M docs example.
    fn event(client: &str, o: &FakeOrder, x: &str, last: (i64, i64), commission: &str) -> String {
        json!({"e":"ORDER_TRADE_UPDATE","E":now_ms(),"T":now_ms(),"o":{
            "s":o.symbol,"c":client,"S":o.side,"o":"LIMIT","f":o.tif,
            "q":fmt_e8(o.qty_e8.into()),"p":fmt_e8(o.price_e8.into()),"ap":"0","sp":"0",
            "x":x,"X":o.status,"i":o.venue_id,"l":fmt_e8(last.0.into()),
            "z":fmt_e8(o.executed_e8.into()),"L":fmt_e8(last.1.into()),"N":"USDT",
            "n":commission,"T":now_ms(),"t":77,"b":"0","a":"0","m":true,"R":false,
            "wt":"CONTRACT_PRICE","ot":"LIMIT","ps":"BOTH","cp":false,"rp":"0","pP":false,
            "si":0,"ss":0,"V":"NONE","pm":"NONE","gtd":0
        }})
        .to_string()
    }

    fn handle(&self, req: &Value, logged_on: &mut bool) -> Vec<String> {
        let mut st = self.state.lock().unwrap();
        let id = req["id"].clone();
        let method = req["method"].as_str().unwrap_or("").to_string();
        let params = req.get("params").cloned().unwrap_or(Value::Null);
        st.requests.push((method.clone(), params.clone()));
        let ok = |result: Value| {
            json!({"id":id,"status":200,"result":result,"rateLimits":[
                {"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":2400,"count":5},
                {"rateLimitType":"ORDERS","interval":"MINUTE","intervalNum":1,"limit":1200,"count":1}
            ]})
            .to_string()
        };
        let err = |code: i64, msg: &str| {
            json!({"id":id,"status":400,"error":{"code":code,"msg":msg}}).to_string()
        };
        let symbol = value_text(&params["symbol"]);
        let client = value_text(&params["origClientOrderId"]);
        let trading = matches!(
            method.as_str(),
            "order.place" | "order.cancel" | "order.status" | "openOrders.status"
        );
        if trading && (!*logged_on || params.get("timestamp").is_none()) {
            return vec![err(
                -2015,
                "Invalid API-key, IP, or permissions for action.",
            )];
        }
        match method.as_str() {
            "time" => vec![ok(json!({"serverTime": now_ms()}))],
            "session.logon" => {
                let map = params.as_object().unwrap();
                let pairs: Vec<(String, String)> = map
                    .iter()
                    .map(|(k, v)| (k.clone(), value_text(v)))
                    .collect();
                let sig = value_text(&params["signature"]);
                if value_text(&params["apiKey"]) != API_KEY
                    || !verify_ed25519(&st.public, &ws_payload(&pairs), &sig)
                {
                    return vec![err(-1022, "Signature for this request is not valid.")];
                }
                *logged_on = true;
                vec![ok(json!({"apiKey":API_KEY,"authorizedSince":now_ms(),
                    "connectedSince":now_ms(),"returnRateLimits":false,"serverTime":now_ms()}))]
            }
            "userDataStream.start" => {
                if value_text(&params["apiKey"]) != API_KEY {
                    return vec![err(
                        -2015,
                        "Invalid API-key, IP, or permissions for action.",
                    )];
                }
                if st.listen_key.is_none() {
                    st.keys_issued += 1;
                    st.listen_key = Some(format!("lk{:058}", st.keys_issued));
                }
                let key = st.listen_key.clone().unwrap();
                vec![ok(json!({ "listenKey": key }))]
            }
            "userDataStream.ping" => match st.listen_key.clone() {
                Some(key) => vec![ok(json!({ "listenKey": key }))],
                None => vec![err(-1125, "This listenKey does not exist.")],
            },
            "order.place" => {
                let client = value_text(&params["newClientOrderId"]);
                let order = FakeOrder {
                    symbol: symbol.clone(),
                    side: value_text(&params["side"]),
                    tif: value_text(&params["timeInForce"]),
                    price_e8: e8(&value_text(&params["price"])),
                    qty_e8: e8(&value_text(&params["quantity"])),
                    executed_e8: 0,
                    quote_e8: 0,
                    status: "NEW",
                    venue_id: st.next_venue_id,
                };
                st.next_venue_id += 1;
                st.orders.insert(client.clone(), order.clone());
                match st.place_mode {
                    PlaceMode::Normal => {
                        let event = Fake::event(&client, &order, "NEW", (0, 0), "0");
                        Fake::push_locked(&mut st, event);
                        vec![ok(Fake::order_json(&client, &order))]
                    }
                    PlaceMode::UnknownButPlaced => vec![err(-1007, UNKNOWN)],
                }
            }
            "order.cancel" => match st.orders.get_mut(&client) {
                Some(o) if o.open() => {
                    o.status = "CANCELED";
                    let o = o.clone();
                    let event = Fake::event(&client, &o, "CANCELED", (0, 0), "0");
                    Fake::push_locked(&mut st, event);
                    vec![ok(Fake::order_json(&client, &o))]
                }
                _ => vec![err(-2011, "Unknown order sent.")],
            },
            "order.status" => match st.orders.get(&client) {
                Some(o) => vec![ok(Fake::order_json(&client, o))],
                None => vec![err(-2013, "Order does not exist.")],
            },
            "openOrders.status" => {
                let open: Vec<Value> = st
                    .orders
                    .iter()
                    .filter(|(_, o)| o.symbol == symbol && o.open())
                    .map(|(cid, o)| Fake::order_json(cid, o))
                    .collect();
                vec![ok(Value::Array(open))]
            }
            _ => vec![err(-1100, "Illegal characters found in parameter.")],
        }
    }

    fn serve_rest(&self, mut stream: TcpStream, head: &str) {
        // Consume the request head (no body: params are in the query string).
        let mut consumed = vec![0u8; head.find("\r\n\r\n").map_or(head.len(), |i| i + 4)];
        if stream.read_exact(&mut consumed).is_err() {
            return;
        }
        let line = head.lines().next().unwrap_or("");
        let mut parts = line.split(' ');
        let verb = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let api_key = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("x-mbx-apikey")
                    .then(|| value.trim().to_string())
            })
            .unwrap_or_default();
        let (payload, signature) = query.rsplit_once("&signature=").unwrap_or((query, ""));
        let params: HashMap<String, String> = payload
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), percent_decode(v)))
            .collect();
        let mut st = self.state.lock().unwrap();
        let signed_ok =
            api_key == API_KEY && verify_ed25519(&st.public, payload, &percent_decode(signature));
        st.rest.push(RestCall {
            verb: verb.clone(),
            path: path.to_string(),
            params: params.clone(),
            signed_ok,
        });
        let (status, body) = if !signed_ok {
            (
                400,
                json!({"code":-1022,"msg":"Signature for this request is not valid."}),
            )
        } else {
            match (verb.as_str(), path) {
                ("DELETE", "/fapi/v1/allOpenOrders") => {
                    let symbol = params.get("symbol").cloned().unwrap_or_default();
                    let mut events = Vec::new();
                    let misses = std::mem::take(&mut st.cancel_all_misses);
                    for (cid, o) in st.orders.iter_mut() {
                        if o.symbol == symbol && o.open() && !misses.contains(cid) {
                            o.status = "CANCELED";
                            events.push(Fake::event(cid, o, "CANCELED", (0, 0), "0"));
                        }
                    }
                    for e in events {
                        Fake::push_locked(&mut st, e);
                    }
                    (
                        200,
                        json!({"code":200,"msg":"The operation of cancel all open order is done."}),
                    )
                }
                ("POST", "/fapi/v1/countdownCancelAll") => (
                    200,
                    json!({"symbol":params.get("symbol"),"countdownTime":params.get("countdownTime")}),
                ),
                _ => (404, json!({"code":-5000,"msg":"Path not found"})),
            }
        };
        drop(st);
        let body = body.to_string();
        let reason = if status == 200 { "OK" } else { "Bad Request" };
        let _ = write!(
            stream,
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.flush();
    }

    /// Sends `text` on every user-data stream of the current listenKey.
    fn push_locked(st: &mut State, text: String) {
        if let Some(key) = st.listen_key.clone() {
            for (k, tx) in &st.streams {
                if *k == key {
                    let _ = tx.send(Out::Text(text.clone()));
                }
            }
        }
        st.last_event = Some(text);
    }

    /// A trade on our order; its event is pushed when `send` (otherwise it is "missed").
    fn trade(&self, client: &str, qty: &str, price: &str, commission: &str, send: bool) {
        let mut st = self.state.lock().unwrap();
        let (qty_e8, price_e8) = (e8(qty), e8(price));
        let o = st.orders.get_mut(client).expect("fake order");
        o.executed_e8 += qty_e8;
        o.quote_e8 += i128::from(qty_e8) * i128::from(price_e8) / 100_000_000;
        o.status = if o.executed_e8 >= o.qty_e8 {
            "FILLED"
        } else {
            "PARTIALLY_FILLED"
        };
        let o = o.clone();
        let event = Fake::event(client, &o, "TRADE", (qty_e8, price_e8), commission);
        if send {
            Fake::push_locked(&mut st, event);
        } else {
            st.last_event = Some(event);
        }
    }

    /// Sends the last event again (a venue replay).
    fn replay_last(&self) {
        let mut st = self.state.lock().unwrap();
        let last = st.last_event.clone().unwrap();
        Fake::push_locked(&mut st, last);
    }

    /// Closes every user-data stream connection.
    fn drop_streams(&self) {
        let mut st = self.state.lock().unwrap();
        for (_, tx) in st.streams.drain(..) {
            let _ = tx.send(Out::Close);
        }
    }

    /// The listenKey lapses: `listenKeyExpired` on its streams, then they close.
    fn expire_key(&self) {
        let mut st = self.state.lock().unwrap();
        let Some(old) = st.listen_key.take() else {
            return;
        };
        let event = json!({"e":"listenKeyExpired","E":now_ms(),"listenKey":old}).to_string();
        for (k, tx) in st.streams.drain(..) {
            if k == old {
                let _ = tx.send(Out::Text(event.clone()));
                let _ = tx.send(Out::Close);
            }
        }
    }

    fn set(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock().unwrap());
    }

    fn count(&self, method: &str) -> usize {
        let st = self.state.lock().unwrap();
        st.requests.iter().filter(|(m, _)| m == method).count()
    }

    fn requests(&self) -> Vec<(String, Value)> {
        self.state.lock().unwrap().requests.clone()
    }

    fn rest(&self) -> Vec<RestCall> {
        self.state.lock().unwrap().rest.clone()
    }

    fn open_orders(&self) -> usize {
        let st = self.state.lock().unwrap();
        st.orders.values().filter(|o| o.open()).count()
    }

    fn listen_key(&self) -> Option<String> {
        self.state.lock().unwrap().listen_key.clone()
    }

    fn stream_keys(&self) -> Vec<String> {
        let st = self.state.lock().unwrap();
        st.streams.iter().map(|(k, _)| k.clone()).collect()
    }
}

// ---------------------------------------------------------------------------------------
// The core side
// ---------------------------------------------------------------------------------------

fn eth_usdm() -> Instruments {
    let mut instruments = Instruments::default();
    instruments
        .add(InstrumentSpec {
            symbol: Symbol::new("ETHUSDT").unwrap(),
            market: Market::UsdM,
            price: Scale::from_step_text("0.01").unwrap(),
            qty: Scale::from_step_text("0.001").unwrap(),
        })
        .unwrap();
    instruments
}

fn config(fake: &Fake, mode: PollMode) -> GatewayConfig {
    let keys = KeySource {
        key_type: KeyType::Ed25519,
        api_key_env: "OBI_TEST_UNUSED_KEY".into(),
        secret: SecretSource::Env("OBI_TEST_UNUSED_SECRET".into()),
    };
    let mut cfg = GatewayConfig::new(fake.ws_api_url(), keys, RUN);
    cfg.stream_url = Some(fake.stream_url());
    cfg.rest_url = Some(fake.rest_url());
    cfg.poll_mode = mode;
    cfg.connect_timeout_ms = 1000;
    cfg.request_timeout_ms = 3000;
    cfg.backoff = BackoffConfig {
        initial_ms: 50,
        max_ms: 400,
        healthy_after_ms: 30_000,
        max_attempts: 0,
    };
    cfg.stop_timeout_ms = 1000;
    cfg
}

struct Core {
    gw: Option<GatewayHandle>,
    intents: rtrb::Producer<Intent>,
    reports: rtrb::Consumer<Report>,
}

impl Core {
    fn start(cfg: GatewayConfig) -> Core {
        let (intents, intents_rx) = rtrb::RingBuffer::new(64);
        let (reports_tx, reports) = rtrb::RingBuffer::new(256);
        let creds = Credentials::from_ed25519(API_KEY, SigningKey::from_bytes(&SEED));
        let gw = spawn_with_credentials(cfg, creds, eth_usdm(), intents_rx, reports_tx, None)
            .expect("gateway starts");
        let core = Core {
            gw: Some(gw),
            intents,
            reports,
        };
        core.wait_until("the session and the user-data stream", |g| {
            g.stats().snapshot().connected
        });
        core
    }

    fn gw(&self) -> &GatewayHandle {
        self.gw.as_ref().unwrap()
    }

    fn send(&mut self, intent: Intent) {
        self.intents.push(intent).unwrap();
        let _ = self.gw().waker().wake();
    }

    fn place(&mut self, id: u64, price_ticks: i64, qty_lots: i64, tif: TimeInForce) {
        self.send(Intent::Place(NewOrder {
            order_id: OrderId(id),
            instrument: InstrumentId(0),
            side: Side::Bid,
            price: Ticks(price_ticks),
            qty: Lots(qty_lots),
            tif,
            cause_ts_ns: 0,
            reduce_only: false,
        }));
    }

    fn cancel(&mut self, id: u64) {
        self.send(Intent::Cancel {
            instrument: InstrumentId(0),
            order_id: OrderId(id),
            cause_ts_ns: 0,
        });
    }

    fn next(&mut self) -> Report {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(r) = self.reports.pop() {
                return strip_ts(r);
            }
            assert!(Instant::now() < deadline, "no report within 5 s");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn drain(&mut self, wait: Duration) -> Vec<Report> {
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        while Instant::now() < deadline {
            while let Ok(r) = self.reports.pop() {
                out.push(strip_ts(r));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        out
    }

    fn wait_until(&self, what: &str, f: impl Fn(&GatewayHandle) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !f(self.gw()) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

fn strip_ts(r: Report) -> Report {
    match r {
        Report::Accepted { order_id, .. } => Report::Accepted { order_id, ts_ns: 0 },
        Report::Rejected {
            order_id, reason, ..
        } => Report::Rejected {
            order_id,
            reason,
            ts_ns: 0,
        },
        Report::Canceled { order_id, .. } => Report::Canceled { order_id, ts_ns: 0 },
        Report::Filled(f) => Report::Filled(Fill { ts_ns: 0, ..f }),
    }
}

fn fill(id: u64, price: i64, qty: i64, leaves: i64, fee: i128) -> Report {
    Report::Filled(Fill {
        order_id: OrderId(id),
        instrument: InstrumentId(0),
        side: Side::Bid,
        price: Ticks(price),
        qty: Lots(qty),
        leaves_qty: Lots(leaves),
        fee,
        liquidity: Liquidity::Maker,
        ts_ns: 0,
    })
}

fn accepted(id: u64) -> Report {
    Report::Accepted {
        order_id: OrderId(id),
        ts_ns: 0,
    }
}

fn canceled(id: u64) -> Report {
    Report::Canceled {
        order_id: OrderId(id),
        ts_ns: 0,
    }
}

fn cid(id: u64) -> String {
    format!("{PREFIX}{id}")
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

fn round_trip(mode: PollMode) {
    let fake = Fake::start();
    let mut core = Core::start(config(&fake, mode));
    let methods: Vec<String> = fake.requests().into_iter().map(|(m, _)| m).collect();
    assert_eq!(
        methods,
        ["time", "session.logon", "userDataStream.start"],
        "set-up"
    );
    assert_eq!(fake.stream_keys(), [fake.listen_key().unwrap()]);

    // Post-only 2500.00 x 0.010: LIMIT + GTX, ACK, no apiKey or signature after the logon.
    core.place(1, 250_000, 10, TimeInForce::PostOnly);
    assert_eq!(core.next(), accepted(1));
    let (_, place) = fake
        .requests()
        .into_iter()
        .find(|(m, _)| m == "order.place")
        .unwrap();
    assert_eq!(
        (
            &place["type"],
            &place["timeInForce"],
            &place["newOrderRespType"]
        ),
        (&json!("LIMIT"), &json!("GTX"), &json!("ACK"))
    );
    assert_eq!(
        (
            &place["price"],
            &place["quantity"],
            &place["newClientOrderId"]
        ),
        (&json!("2500.00"), &json!("0.010"), &json!(cid(1)))
    );
    assert!(place.get("signature").is_none() && place.get("apiKey").is_none());
    assert!(place["timestamp"].is_i64());

    // 0.004 at 2499.50, commission 0.004 USDT = 400 units of 0.01 x 0.001: one fill.
    fake.trade(&cid(1), "0.004", "2499.50", "0.00400000", true);
    assert_eq!(core.next(), fill(1, 249_950, 4, 6, 400));
    // The venue replays the same event: nothing more.
    fake.replay_last();
    assert!(core.drain(Duration::from_millis(150)).is_empty());
    assert!(core.gw().stats().snapshot().duplicates_skipped >= 1);

    core.cancel(1);
    assert_eq!(core.next(), canceled(1));
    // The answer and the stream event both say CANCELED: reported once.
    assert!(core.drain(Duration::from_millis(100)).is_empty());
    let s = core.gw().stats().snapshot();
    assert_eq!((s.acks, s.fills, s.cancels, s.rejects), (1, 1, 1, 0));
    assert!(s.user_stream_up && s.logged_on && s.user_stream_connects == 1);
    core.gw.take().unwrap().stop().unwrap();
}

#[test]
fn logon_stream_place_fill_replay_cancel_block_mode() {
    round_trip(PollMode::Block);
}

#[test]
fn logon_stream_place_fill_replay_cancel_spin_mode() {
    round_trip(PollMode::Spin);
}

#[test]
fn status_unknown_is_resolved_by_status_and_never_resent() {
    let fake = Fake::start();
    fake.set(|s| s.place_mode = PlaceMode::UnknownButPlaced);
    let mut core = Core::start(config(&fake, PollMode::Block));
    core.place(1, 250_000, 10, TimeInForce::Gtc);
    assert_eq!(core.next(), accepted(1));
    assert!(core.drain(Duration::from_millis(100)).is_empty());
    assert_eq!(fake.count("order.place"), 1, "never re-sent");
    assert!(fake.count("order.status") >= 1);
    assert_eq!(core.gw().stats().snapshot().status_unknown, 1);
}

#[test]
fn user_stream_drop_reconciles_missed_fills_exactly_once() {
    let fake = Fake::start();
    let mut core = Core::start(config(&fake, PollMode::Block));
    core.place(1, 250_000, 10, TimeInForce::Gtc);
    assert_eq!(core.next(), accepted(1));
    let statuses_before = fake.count("order.status");

    // A trade whose event is lost with the stream.
    fake.trade(&cid(1), "0.004", "2499.50", "0.00400000", false);
    fake.drop_streams();
    core.wait_until("the stream to come back", |g| {
        let s = g.stats().snapshot();
        s.user_stream_drops == 1 && s.user_stream_connects == 2 && s.connected
    });
    // Reconciliation found it: one fill at the exact average, fee approximated.
    let Report::Filled(f) = core.next() else {
        panic!("expected a fill")
    };
    assert_eq!(
        (f.price, f.qty, f.leaves_qty),
        (Ticks(249_950), Lots(4), Lots(6))
    );
    assert!(fake.count("order.status") > statuses_before);
    // The missed event replayed on the new stream adds nothing.
    fake.replay_last();
    assert!(core.drain(Duration::from_millis(150)).is_empty());
    // Fills keep flowing on the new stream.
    fake.trade(&cid(1), "0.006", "2500.00", "0.00600000", true);
    assert_eq!(core.next(), fill(1, 250_000, 6, 0, 600));
    let s = core.gw().stats().snapshot();
    assert_eq!((s.fills, s.reconciled_fills), (2, 1));
}

#[test]
fn listen_key_expired_starts_a_new_key_and_reconciles() {
    let fake = Fake::start();
    let mut core = Core::start(config(&fake, PollMode::Block));
    let first = fake.listen_key().unwrap();
    core.place(1, 250_000, 10, TimeInForce::Gtc);
    assert_eq!(core.next(), accepted(1));
    fake.expire_key();
    core.wait_until("a new stream", |g| {
        let s = g.stats().snapshot();
        s.listen_key_expired == 1 && s.user_stream_connects == 2 && s.connected
    });
    let second = fake.listen_key().unwrap();
    assert_ne!(first, second);
    assert_eq!(fake.stream_keys(), [second]);
    assert_eq!(fake.count("userDataStream.start"), 2);
    fake.trade(&cid(1), "0.010", "2500.00", "0.01000000", true);
    assert_eq!(core.next(), fill(1, 250_000, 10, 0, 1000));
}

#[test]
fn stop_cancels_everything_over_signed_rest() {
    let fake = Fake::start();
    let mut core = Core::start(config(&fake, PollMode::Block));
    core.place(1, 250_000, 10, TimeInForce::Gtc);
    core.place(2, 249_000, 10, TimeInForce::PostOnly);
    assert_eq!(core.next(), accepted(1));
    assert_eq!(core.next(), accepted(2));
    // An order the gateway does not know of (an earlier run's) is cancelled as well.
    fake.set(|s| {
        let mut o = s.orders[&cid(1)].clone();
        o.venue_id = 1;
        s.orders.insert("someoneElse1".into(), o);
    });
    assert_eq!(fake.open_orders(), 3);
    let gw = core.gw.take().unwrap();
    let stats = Arc::clone(gw.stats());
    gw.stop().unwrap();
    assert_eq!(fake.open_orders(), 0, "nothing left open");
    let rest = fake.rest();
    let cancel_all: Vec<&RestCall> = rest
        .iter()
        .filter(|c| c.path == "/fapi/v1/allOpenOrders")
        .collect();
    assert_eq!(cancel_all.len(), 1);
    let call = cancel_all[0];
    assert_eq!(call.verb, "DELETE");
    assert!(call.signed_ok, "Ed25519 REST signature verified");
    assert_eq!(call.params["symbol"], "ETHUSDT");
    assert!(call.params.contains_key("timestamp"));
    let mut reports = core.drain(Duration::from_millis(50));
    reports.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(reports, [canceled(1), canceled(2)]);
    let s = stats.snapshot();
    assert_eq!((s.rest_cancel_alls, s.rest_failures), (1, 0));
    assert!(s.stopped && !s.user_stream_up);
    assert!(
        s.cancel_all_confirmed,
        "the open-orders query found nothing"
    );
    assert_eq!(fake.count("openOrders.status"), 1);
}

#[test]
fn cancel_all_intent_cancels_over_rest_and_confirms_each_order() {
    let fake = Fake::start();
    let mut core = Core::start(config(&fake, PollMode::Block));
    core.place(1, 250_000, 10, TimeInForce::Gtc);
    assert_eq!(core.next(), accepted(1));
    core.send(Intent::CancelAll {
        instrument: InstrumentId(0),
        cause_ts_ns: 0,
    });
    assert_eq!(core.next(), canceled(1));
    assert!(core.drain(Duration::from_millis(100)).is_empty());
    assert_eq!(fake.open_orders(), 0);
    assert_eq!(core.gw().stats().snapshot().rest_cancel_alls, 1);
}

#[test]
fn rest_cancel_all_is_repeated_until_the_venue_lists_nothing() {
    let fake = Fake::start();
    let mut core = Core::start(config(&fake, PollMode::Block));
    core.place(1, 250_000, 10, TimeInForce::Gtc);
    assert_eq!(core.next(), accepted(1));
    // A foreign order the first REST cancel-all misses.
    fake.set(|s| {
        let mut o = s.orders[&cid(1)].clone();
        o.venue_id = 1;
        s.orders.insert("someoneElse1".into(), o);
        s.cancel_all_misses = vec!["someoneElse1".into()];
    });
    core.send(Intent::CancelAll {
        instrument: InstrumentId(0),
        cause_ts_ns: 0,
    });
    assert_eq!(core.next(), canceled(1));
    core.wait_until("the confirmation", |g| {
        g.stats().snapshot().cancel_all_confirmed
    });
    assert_eq!(fake.open_orders(), 0);
    let rest_cancels = fake
        .rest()
        .iter()
        .filter(|c| c.path == "/fapi/v1/allOpenOrders")
        .count();
    assert_eq!((rest_cancels, fake.count("openOrders.status")), (2, 2));
    let s = core.gw().stats().snapshot();
    assert_eq!(
        (
            s.rest_cancel_alls,
            s.cancel_all_recancels,
            s.cancel_all_confirmations,
            s.open_orders_at_venue
        ),
        (2, 1, 1, 0)
    );
    assert!(core.drain(Duration::from_millis(100)).is_empty());
}

#[test]
fn dead_man_switch_and_listen_key_are_kept_alive() {
    let fake = Fake::start();
    let mut cfg = config(&fake, PollMode::Block);
    cfg.dead_man_ms = 5000;
    cfg.dead_man_refresh_ms = 100;
    cfg.listen_key_ping_ms = 100;
    let core = Core::start(cfg);
    core.wait_until("three refreshes and pings", |g| {
        let s = g.stats().snapshot();
        s.dead_man_refreshes >= 3 && s.listen_key_pings >= 3
    });
    let rest = fake.rest();
    let refreshes: Vec<&RestCall> = rest
        .iter()
        .filter(|c| c.path == "/fapi/v1/countdownCancelAll")
        .collect();
    assert!(refreshes.len() >= 3);
    for call in refreshes {
        assert_eq!(call.verb, "POST");
        assert!(call.signed_ok);
        assert_eq!(
            (
                call.params["symbol"].as_str(),
                call.params["countdownTime"].as_str()
            ),
            ("ETHUSDT", "5000")
        );
    }
    // The gateway counts a ping when it sends it: the fake may not have read it yet.
    core.wait_until("three pings at the venue", |_| {
        fake.count("userDataStream.ping") >= 3
    });
    assert_eq!(core.gw().stats().snapshot().rest_failures, 0);

    // A clean stop disarms the countdown after the cancel-all.
    let mut core = core;
    core.gw.take().unwrap().stop().unwrap();
    let rest = fake.rest();
    let last = rest.last().unwrap();
    assert_eq!(
        (last.path.as_str(), last.params["countdownTime"].as_str()),
        ("/fapi/v1/countdownCancelAll", "0")
    );
    assert!(rest.iter().any(|c| c.path == "/fapi/v1/allOpenOrders"));
}

#[test]
fn an_unknown_listen_key_on_ping_restarts_the_stream() {
    let fake = Fake::start();
    let mut cfg = config(&fake, PollMode::Block);
    cfg.listen_key_ping_ms = 100;
    let core = Core::start(cfg);
    // The key vanishes without an event: the next ping gets -1125.
    fake.set(|s| s.listen_key = None);
    core.wait_until("a restarted stream", |g| {
        let s = g.stats().snapshot();
        s.user_stream_connects == 2 && s.connected
    });
    assert_eq!(fake.count("userDataStream.start"), 2);
}
