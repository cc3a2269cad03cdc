//! The Binance gateway thread against a scripted fake WS API server on loopback: logon,
//! subscribe, place, fills, cancels, `-1007`, rejects, disconnects with reconciliation,
//! `serverShutdown`, rate-limit headroom, bad credentials, backoff on a dead address, and
//! cancel-alls confirmed by `openOrders.status` until nothing is open.
//! Nothing leaves 127.0.0.1.

// The fake venue's helpers are test scaffolding: a failed set-up should panic loudly.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use ed25519_dalek::{Signature, SigningKey, Verifier, VerifyingKey};
use obi_engine::instrument::{InstrumentId, InstrumentSpec, Instruments, Market, Scale, Symbol};
use obi_engine::net::backoff::BackoffConfig;
use obi_engine::order::{
    Fill, Intent, Liquidity, NewOrder, OrderId, RejectReason, Report, TimeInForce,
};
use obi_engine::units::{Lots, Side, Ticks};
use obi_engine::venue::binance::sign::{hmac_sha256_hex, ws_payload};
use obi_engine::venue::binance::{
    GatewayConfig, GatewayHandle, PollMode, spawn, spawn_with_credentials,
};
use obi_engine::venue::keys::{Credentials, KeySource, KeyType, SecretSource};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tungstenite::Message;

const API_KEY: &str = "testApiKeyAbc123";
const SECRET: &str = "zzTestSecretNeverPrintedzz";
const RUN: u64 = 1_763_887_446;
const PREFIX: &str = "obit6689ix";

// ---------------------------------------------------------------------------------------
// The fake venue
// ---------------------------------------------------------------------------------------

/// How the fake answers `order.place`.
#[derive(Clone, Debug, PartialEq)]
enum PlaceMode {
    /// ACK, then an executionReport NEW.
    Normal,
    /// The order is recorded (NEW) but the answer is -1007 and no event is sent.
    UnknownButPlaced,
    /// The order is recorded and trades `qty` at `price` at once, but the answer is -1007
    /// and no event is sent.
    UnknownButFilled(&'static str, &'static str),
    /// The order is recorded (NEW) and the request is never answered.
    Swallow,
    /// -1007 and the order is not recorded.
    UnknownNotPlaced,
    /// An error answer.
    Reject(i64, &'static str),
}

#[derive(Clone, Debug)]
struct FakeOrder {
    symbol: String,
    side: String,
    price_e8: i64,
    qty_e8: i64,
    executed_e8: i64,
    quote_e8: i128,
    status: &'static str,
    venue_id: u64,
}

enum Out {
    Text(String),
    Close,
}

struct Conn {
    tx: Sender<Out>,
    subscribed: Arc<AtomicBool>,
}

struct State {
    place_mode: PlaceMode,
    orders: HashMap<String, FakeOrder>,
    requests: Vec<(usize, String, Value)>,
    conns: Vec<Conn>,
    refuse: bool,
    time_offset_ms: i64,
    orders_count: Option<u64>,
    secret: Vec<u8>,
    ed25519: Option<VerifyingKey>,
    next_venue_id: u64,
    /// Client ids the next `openOrders.cancelAll` leaves open (each once), as a venue that
    /// had not yet booked them would.
    cancel_all_misses: Vec<String>,
}

#[derive(Clone)]
struct Fake {
    state: Arc<Mutex<State>>,
    port: u16,
    accepted: Arc<AtomicU64>,
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

impl Fake {
    fn start() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let fake = Fake {
            state: Arc::new(Mutex::new(State {
                place_mode: PlaceMode::Normal,
                orders: HashMap::new(),
                requests: Vec::new(),
                conns: Vec::new(),
                refuse: false,
                time_offset_ms: 0,
                orders_count: None,
                secret: SECRET.as_bytes().to_vec(),
                ed25519: None,
                next_venue_id: 1000,
                cancel_all_misses: Vec::new(),
            })),
            port,
            accepted: Arc::new(AtomicU64::new(0)),
        };
        let f = fake.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                if f.state.lock().unwrap().refuse {
                    drop(stream);
                    continue;
                }
                let f2 = f.clone();
                std::thread::spawn(move || f2.serve(stream));
            }
        });
        fake
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws-api/v3", self.port)
    }

    fn serve(&self, stream: TcpStream) {
        let Ok(mut ws) = tungstenite::accept(stream) else {
            return;
        };
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(2)))
            .unwrap();
        let (tx, rx): (Sender<Out>, Receiver<Out>) = channel();
        let subscribed = Arc::new(AtomicBool::new(false));
        let conn_no = {
            let mut st = self.state.lock().unwrap();
            st.conns.push(Conn {
                tx: tx.clone(),
                subscribed: Arc::clone(&subscribed),
            });
            st.conns.len() - 1
        };
        self.accepted.fetch_add(1, Ordering::SeqCst);
        let mut logged_on = false;
        loop {
            while let Ok(out) = rx.try_recv() {
                match out {
                    Out::Text(t) => {
                        if ws.send(Message::text(t)).is_err() {
                            return;
                        }
                    }
                    Out::Close => {
                        let _ = ws.close(None);
                        let _ = ws.flush();
                        return;
                    }
                }
            }
            match ws.read() {
                Ok(Message::Text(text)) => {
                    let req: Value = serde_json::from_str(text.as_str()).unwrap();
                    for reply in self.handle(conn_no, &req, &mut logged_on, &subscribed) {
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

    fn verify(&self, st: &State, params: &Value, need_signature: bool) -> bool {
        let Some(map) = params.as_object() else {
            return !need_signature;
        };
        let pairs: Vec<(String, String)> = map
            .iter()
            .map(|(k, v)| (k.clone(), value_text(v)))
            .collect();
        let payload = ws_payload(&pairs);
        let Some(sig) = map.get("signature").and_then(Value::as_str) else {
            return !need_signature;
        };
        if map.get("apiKey").and_then(Value::as_str) != Some(API_KEY) {
            return false;
        }
        match &st.ed25519 {
            Some(public) => {
                let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(sig) else {
                    return false;
                };
                let Ok(sig) = Signature::from_slice(&raw) else {
                    return false;
                };
                public.verify(payload.as_bytes(), &sig).is_ok()
            }
            None => hmac_sha256_hex(&st.secret, payload.as_bytes()) == sig,
        }
    }

    fn rate_limits(st: &State) -> Value {
        let count = st.orders_count.unwrap_or(st.orders.len() as u64);
        json!([
            {"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":50,"count":count},
            {"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":3}
        ])
    }

    fn order_json(client_id: &str, o: &FakeOrder) -> Value {
        json!({
            "symbol": o.symbol, "orderId": o.venue_id, "orderListId": -1,
            "clientOrderId": client_id, "price": fmt_e8(o.price_e8.into()),
            "origQty": fmt_e8(o.qty_e8.into()), "executedQty": fmt_e8(o.executed_e8.into()),
            "cummulativeQuoteQty": fmt_e8(o.quote_e8), "status": o.status,
            "timeInForce": "GTC", "type": "LIMIT", "side": o.side,
            "time": now_ms(), "updateTime": now_ms()
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn exec_json(
        client_id: &str,
        orig: &str,
        o: &FakeOrder,
        x: &str,
        last_qty_e8: i64,
        last_price_e8: i64,
        commission: &str,
        maker: bool,
    ) -> String {
        json!({"subscriptionId":0,"event":{
            "e":"executionReport","E":now_ms(),"s":o.symbol,"c":client_id,"S":o.side,
            "o":"LIMIT","f":"GTC","q":fmt_e8(o.qty_e8.into()),"p":fmt_e8(o.price_e8.into()),
            "C":orig,"x":x,"X":o.status,"r":"NONE","i":o.venue_id,
            "l":fmt_e8(last_qty_e8.into()),"z":fmt_e8(o.executed_e8.into()),
            "L":fmt_e8(last_price_e8.into()),"n":commission,"N":"USDT","T":now_ms(),"t":7,
            "m":maker,"O":now_ms(),"Z":fmt_e8(o.quote_e8)
        }})
        .to_string()
    }

    fn handle(
        &self,
        conn_no: usize,
        req: &Value,
        logged_on: &mut bool,
        subscribed: &AtomicBool,
    ) -> Vec<String> {
        let mut st = self.state.lock().unwrap();
        let id = req["id"].clone();
        let method = req["method"].as_str().unwrap_or("").to_string();
        let params = req.get("params").cloned().unwrap_or(Value::Null);
        st.requests.push((conn_no, method.clone(), params.clone()));
        let ok = |st: &State, result: Value| {
            json!({"id":id,"status":200,"result":result,"rateLimits":Fake::rate_limits(st)})
                .to_string()
        };
        let err = |code: i64, msg: &str| {
            json!({"id":id,"status":400,"error":{"code":code,"msg":msg}}).to_string()
        };
        // Requests after an Ed25519 logon carry no signature; HMAC requests always do.
        let signed = !(*logged_on && st.ed25519.is_some());
        let needs_auth = !matches!(method.as_str(), "time" | "userDataStream.subscribe");
        if needs_auth && !self.verify(&st, &params, signed || method == "session.logon") {
            return vec![err(-1022, "Signature for this request is not valid.")];
        }
        let symbol = value_text(&params["symbol"]);
        let client = value_text(&params["origClientOrderId"]);
        match method.as_str() {
            "time" => vec![ok(&st, json!({"serverTime": now_ms() + st.time_offset_ms}))],
            "session.logon" => {
                *logged_on = true;
                vec![ok(
                    &st,
                    json!({"apiKey":API_KEY,"authorizedSince":now_ms(),
                    "connectedSince":now_ms(),"returnRateLimits":false,
                    "serverTime":now_ms(),"userDataStream":false}),
                )]
            }
            "userDataStream.subscribe" => {
                if !*logged_on {
                    return vec![err(
                        -2015,
                        "Invalid API-key, IP, or permissions for action.",
                    )];
                }
                subscribed.store(true, Ordering::SeqCst);
                vec![ok(&st, json!({"subscriptionId":0}))]
            }
            "order.place" => {
                let client = value_text(&params["newClientOrderId"]);
                let order = FakeOrder {
                    symbol: symbol.clone(),
                    side: value_text(&params["side"]),
                    price_e8: e8(&value_text(&params["price"])),
                    qty_e8: e8(&value_text(&params["quantity"])),
                    executed_e8: 0,
                    quote_e8: 0,
                    status: "NEW",
                    venue_id: st.next_venue_id,
                };
                st.next_venue_id += 1;
                match st.place_mode.clone() {
                    PlaceMode::Normal => {
                        st.orders.insert(client.clone(), order.clone());
                        let ack = ok(
                            &st,
                            json!({"symbol":symbol,"orderId":order.venue_id,
                            "orderListId":-1,"clientOrderId":client,"transactTime":now_ms()}),
                        );
                        let new = Fake::exec_json(&client, "", &order, "NEW", 0, 0, "0", false);
                        vec![ack, new]
                    }
                    PlaceMode::UnknownButPlaced => {
                        st.orders.insert(client, order);
                        vec![err(
                            -1007,
                            "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
                        )]
                    }
                    PlaceMode::UnknownButFilled(qty, price) => {
                        let mut order = order;
                        order.executed_e8 = e8(qty);
                        order.quote_e8 = i128::from(e8(qty)) * i128::from(e8(price)) / 100_000_000;
                        order.status = "PARTIALLY_FILLED";
                        st.orders.insert(client, order);
                        vec![err(
                            -1007,
                            "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
                        )]
                    }
                    PlaceMode::Swallow => {
                        st.orders.insert(client, order);
                        Vec::new()
                    }
                    PlaceMode::UnknownNotPlaced => vec![err(
                        -1007,
                        "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
                    )],
                    PlaceMode::Reject(code, msg) => vec![err(code, msg)],
                }
            }
            "order.cancel" => {
                let rl = Fake::rate_limits(&st);
                match st.orders.get_mut(&client) {
                    Some(o) if matches!(o.status, "NEW" | "PARTIALLY_FILLED") => {
                        o.status = "CANCELED";
                        let o = o.clone();
                        let mut result = Fake::order_json("cancelReq1", &o);
                        result["origClientOrderId"] = json!(client);
                        let answer = json!({"id":id,"status":200,"result":result,"rateLimits":rl})
                            .to_string();
                        let event = Fake::exec_json(
                            "cancelReq1",
                            &client,
                            &o,
                            "CANCELED",
                            0,
                            0,
                            "0",
                            false,
                        );
                        vec![answer, event]
                    }
                    _ => vec![err(-2011, "Unknown order sent.")],
                }
            }
            "order.status" => match st.orders.get(&client) {
                Some(o) => {
                    let o = o.clone();
                    vec![ok(&st, Fake::order_json(&client, &o))]
                }
                None => vec![err(-2013, "Order does not exist.")],
            },
            "openOrders.cancelAll" => {
                let mut cancelled = Vec::new();
                let mut events = Vec::new();
                let misses = std::mem::take(&mut st.cancel_all_misses);
                for (cid, o) in st.orders.iter_mut() {
                    if misses.contains(cid) {
                        continue;
                    }
                    if o.symbol == symbol && matches!(o.status, "NEW" | "PARTIALLY_FILLED") {
                        o.status = "CANCELED";
                        let mut j = Fake::order_json("cancelAllReq", o);
                        j["origClientOrderId"] = json!(cid);
                        cancelled.push(j);
                        events.push(Fake::exec_json(
                            "cancelAllReq",
                            cid,
                            o,
                            "CANCELED",
                            0,
                            0,
                            "0",
                            false,
                        ));
                    }
                }
                if cancelled.is_empty() {
                    // Binance's answer when nothing was open.
                    return vec![err(-2011, "Unknown order sent.")];
                }
                let mut out = vec![ok(&st, Value::Array(cancelled))];
                out.extend(events);
                out
            }
            "openOrders.status" => {
                let open: Vec<Value> = st
                    .orders
                    .iter()
                    .filter(|(_, o)| {
                        o.symbol == symbol && matches!(o.status, "NEW" | "PARTIALLY_FILLED")
                    })
                    .map(|(cid, o)| Fake::order_json(cid, o))
                    .collect();
                vec![ok(&st, Value::Array(open))]
            }
            _ => vec![err(-1100, "Illegal characters found in parameter.")],
        }
    }

    /// A trade on our order; the execution report goes to the subscribed connection when
    /// `send` (otherwise it is "missed": only status queries will show it).
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
        if send {
            let text = Fake::exec_json(client, "", &o, "TRADE", qty_e8, price_e8, commission, true);
            Fake::push_locked(&st, text);
        }
    }

    fn push_locked(st: &State, text: String) {
        if let Some(c) = st
            .conns
            .iter()
            .rev()
            .find(|c| c.subscribed.load(Ordering::SeqCst))
        {
            let _ = c.tx.send(Out::Text(text));
        }
    }

    /// Sends `text` on the newest subscribed connection.
    fn push(&self, text: String) {
        let st = self.state.lock().unwrap();
        Fake::push_locked(&st, text);
    }

    /// Closes every connection; `refuse` keeps new ones out until [`Fake::refuse`] is lifted.
    fn drop_all(&self, refuse: bool) {
        let mut st = self.state.lock().unwrap();
        st.refuse = refuse;
        for c in &st.conns {
            let _ = c.tx.send(Out::Close);
        }
    }

    fn refuse(&self, refuse: bool) {
        self.state.lock().unwrap().refuse = refuse;
    }

    fn set(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock().unwrap());
    }

    fn count(&self, method: &str, client: &str) -> usize {
        let st = self.state.lock().unwrap();
        st.requests
            .iter()
            .filter(|(_, m, p)| {
                m == method
                    && (client.is_empty()
                        || value_text(&p["newClientOrderId"]) == client
                        || value_text(&p["origClientOrderId"]) == client)
            })
            .count()
    }

    fn requests(&self) -> Vec<(usize, String, Value)> {
        self.state.lock().unwrap().requests.clone()
    }

    fn executed_e8(&self, client: &str) -> i64 {
        self.state.lock().unwrap().orders[client].executed_e8
    }

    /// Open orders on the venue (ours and foreign).
    fn open_orders(&self) -> usize {
        let st = self.state.lock().unwrap();
        st.orders
            .values()
            .filter(|o| matches!(o.status, "NEW" | "PARTIALLY_FILLED"))
            .count()
    }

    /// An order another client (or an earlier run) left resting on ETHUSDT.
    fn add_foreign(&self, client: &str) {
        let mut st = self.state.lock().unwrap();
        let venue_id = st.next_venue_id;
        st.next_venue_id += 1;
        st.orders.insert(
            client.into(),
            FakeOrder {
                symbol: "ETHUSDT".into(),
                side: "SELL".into(),
                price_e8: e8("2600.00"),
                qty_e8: e8("0.5000"),
                executed_e8: 0,
                quote_e8: 0,
                status: "NEW",
                venue_id,
            },
        );
    }
}

// ---------------------------------------------------------------------------------------
// The core side
// ---------------------------------------------------------------------------------------

fn eth() -> Instruments {
    let mut instruments = Instruments::default();
    instruments
        .add(InstrumentSpec {
            symbol: Symbol::new("ETHUSDT").unwrap(),
            market: Market::Spot,
            price: Scale::from_step_text("0.01").unwrap(),
            qty: Scale::from_step_text("0.0001").unwrap(),
        })
        .unwrap();
    instruments
}

fn config(url: &str, mode: PollMode) -> GatewayConfig {
    let keys = KeySource {
        key_type: KeyType::Hmac,
        api_key_env: "OBI_TEST_UNUSED_KEY".into(),
        secret: SecretSource::Env("OBI_TEST_UNUSED_SECRET".into()),
    };
    let mut cfg = GatewayConfig::new(url, keys, RUN);
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
    fn start(cfg: GatewayConfig, creds: Credentials) -> Core {
        Core::start_waking(cfg, creds, None)
    }

    fn start_waking(
        cfg: GatewayConfig,
        creds: Credentials,
        core_waker: Option<Arc<mio::Waker>>,
    ) -> Core {
        let (intents, intents_rx) = rtrb::RingBuffer::new(64);
        let (reports_tx, reports) = rtrb::RingBuffer::new(256);
        let gw = spawn_with_credentials(cfg, creds, eth(), intents_rx, reports_tx, core_waker)
            .expect("gateway starts");
        Core {
            gw: Some(gw),
            intents,
            reports,
        }
    }

    fn hmac(fake: &Fake, mode: PollMode) -> Core {
        Core::start(
            config(&fake.url(), mode),
            Credentials::from_hmac(API_KEY, SECRET.as_bytes()),
        )
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
                return r;
            }
            assert!(Instant::now() < deadline, "no report within 5 s");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Every report arriving within `wait`.
    fn drain(&mut self, wait: Duration) -> Vec<Report> {
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        while Instant::now() < deadline {
            while let Ok(r) = self.reports.pop() {
                out.push(r);
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

    fn wait_ready(&self) {
        self.wait_until("the session", |g| g.stats().snapshot().connected);
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

fn fill(id: u64, price: i64, qty: i64, leaves: i64, fee: i128, liquidity: Liquidity) -> Report {
    Report::Filled(Fill {
        order_id: OrderId(id),
        instrument: InstrumentId(0),
        side: Side::Bid,
        price: Ticks(price),
        qty: Lots(qty),
        leaves_qty: Lots(leaves),
        fee,
        liquidity,
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

fn rejected(id: u64, reason: RejectReason) -> Report {
    Report::Rejected {
        order_id: OrderId(id),
        reason,
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
    fake.set(|s| s.time_offset_ms = 5000);
    let mut core = Core::hmac(&fake, mode);
    core.wait_ready();
    let offset = core.gw().stats().snapshot().clock_offset_ms;
    assert!((4900..=5100).contains(&offset), "clock offset {offset}");

    // 2500.00 x 0.0100, GTC.
    core.place(1, 250_000, 100, TimeInForce::Gtc);
    assert_eq!(strip_ts(core.next()), accepted(1));
    let place = &fake.requests()[3];
    assert_eq!(place.1, "order.place");
    assert_eq!(place.2["price"], "2500.00");
    assert_eq!(place.2["quantity"], "0.0100");
    assert_eq!(place.2["newClientOrderId"], cid(1).as_str());
    assert_eq!(place.2["newOrderRespType"], "ACK");
    let ts = place.2["timestamp"].as_i64().unwrap();
    assert!(
        (ts - now_ms() - 5000).abs() < 1000,
        "timestamp carries the offset"
    );

    // 0.0040 at 2499.50 (we are maker), commission 0.009998 USDT = 9_998 notional units.
    fake.trade(&cid(1), "0.0040", "2499.50", "0.00999800", true);
    assert_eq!(
        strip_ts(core.next()),
        fill(1, 249_950, 40, 60, 9_998, Liquidity::Maker)
    );
    fake.trade(&cid(1), "0.0060", "2500.00", "0", true);
    assert_eq!(
        strip_ts(core.next()),
        fill(1, 250_000, 60, 0, 0, Liquidity::Maker)
    );

    // Post-only rests, then is cancelled.
    core.place(2, 240_000, 10, TimeInForce::PostOnly);
    assert_eq!(strip_ts(core.next()), accepted(2));
    let place = fake
        .requests()
        .into_iter()
        .find(|(_, m, p)| m == "order.place" && p["newClientOrderId"] == cid(2).as_str())
        .unwrap();
    assert_eq!(place.2["type"], "LIMIT_MAKER");
    assert!(place.2.get("timeInForce").is_none());
    core.cancel(2);
    assert_eq!(strip_ts(core.next()), canceled(2));
    // The answer and the event both say CANCELED: reported once.
    assert!(core.drain(Duration::from_millis(100)).is_empty());

    let s = core.gw().stats().snapshot();
    assert_eq!((s.acks, s.fills, s.cancels, s.rejects), (2, 2, 1, 0));
    assert!(s.logged_on && s.requests_sent >= 6 && s.orders_placed == 2);
    assert!(s.rate_limit_used_ppm > 0);
    core.gw.take().unwrap().stop().unwrap();
}

#[test]
fn logon_place_fill_cancel_block_mode() {
    round_trip(PollMode::Block);
}

#[test]
fn logon_place_fill_cancel_spin_mode() {
    round_trip(PollMode::Spin);
}

#[test]
fn ed25519_logs_on_once_and_requests_carry_no_signature() {
    let fake = Fake::start();
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let public = key.verifying_key();
    fake.set(|s| s.ed25519 = Some(public));
    let mut core = Core::start(
        config(&fake.url(), PollMode::Block),
        Credentials::from_ed25519(API_KEY, key),
    );
    core.wait_ready();
    core.place(1, 250_000, 100, TimeInForce::Ioc);
    assert_eq!(strip_ts(core.next()), accepted(1));
    let reqs = fake.requests();
    let logon = reqs.iter().find(|(_, m, _)| m == "session.logon").unwrap();
    assert!(logon.2["signature"].is_string() && logon.2["apiKey"] == API_KEY);
    let place = reqs.iter().find(|(_, m, _)| m == "order.place").unwrap();
    assert!(place.2.get("signature").is_none() && place.2.get("apiKey").is_none());
    assert_eq!(place.2["timeInForce"], "IOC");
    assert!(place.2["timestamp"].is_i64());
}

#[test]
fn status_unknown_is_resolved_by_status_and_never_resent() {
    let fake = Fake::start();
    let mut core = Core::hmac(&fake, PollMode::Block);
    core.wait_ready();

    // The venue did take the order (and it partly filled): the truth is reported.
    fake.set(|s| s.place_mode = PlaceMode::UnknownButPlaced);
    core.place(1, 250_000, 100, TimeInForce::Gtc);
    core.wait_until("the -1007", |g| g.stats().snapshot().status_unknown == 1);
    std::thread::sleep(Duration::from_millis(20));
    // (the status query may already have been answered; make the fill visible either way)
    let reports_before = core.drain(Duration::from_millis(50));
    assert_eq!(
        reports_before.into_iter().map(strip_ts).collect::<Vec<_>>(),
        vec![accepted(1)]
    );
    fake.set(|s| s.place_mode = PlaceMode::UnknownNotPlaced);
    core.place(2, 250_000, 100, TimeInForce::Gtc);
    assert_eq!(strip_ts(core.next()), rejected(2, RejectReason::Venue));

    assert_eq!(fake.count("order.place", &cid(1)), 1, "never re-sent");
    assert_eq!(fake.count("order.place", &cid(2)), 1, "never re-sent");
    assert_eq!(fake.count("order.status", &cid(1)), 1);
    assert_eq!(fake.count("order.status", &cid(2)), 1);
    let s = core.gw().stats().snapshot();
    assert_eq!((s.status_unknown, s.status_queries), (2, 2));
}

#[test]
fn status_unknown_with_fills_reports_them_from_the_status() {
    let fake = Fake::start();
    let mut core = Core::hmac(&fake, PollMode::Spin);
    core.wait_ready();
    // The venue took the order and it traded 0.0030 at 2499.00 before anyone heard of it.
    fake.set(|s| s.place_mode = PlaceMode::UnknownButFilled("0.0030", "2499.00"));
    core.place(1, 250_000, 100, TimeInForce::Ioc);
    assert_eq!(strip_ts(core.next()), accepted(1));
    // Fee unknown from a status: approximated at 7.5 bps of 7.497 USDT = 5622.75 -> 5623.
    assert_eq!(
        strip_ts(core.next()),
        fill(1, 249_900, 30, 70, 5_623, Liquidity::Taker)
    );
    assert!(core.drain(Duration::from_millis(50)).is_empty());
    assert_eq!(fake.count("order.place", &cid(1)), 1, "never re-sent");
    let s = core.gw().stats().snapshot();
    assert_eq!(
        (s.status_unknown, s.reconciled_fills, s.fees_approximated),
        (1, 1, 1)
    );
}

#[test]
fn venue_refusals_are_rejected_with_the_reason() {
    let fake = Fake::start();
    let mut core = Core::hmac(&fake, PollMode::Block);
    core.wait_ready();
    fake.set(|s| {
        s.place_mode = PlaceMode::Reject(-2010, "Order would immediately match and take.")
    });
    core.place(1, 260_000, 10, TimeInForce::PostOnly);
    assert_eq!(strip_ts(core.next()), rejected(1, RejectReason::WouldCross));
    fake.set(|s| {
        s.place_mode = PlaceMode::Reject(
            -2010,
            "Account has insufficient balance for requested action.",
        )
    });
    core.place(2, 250_000, 10, TimeInForce::Gtc);
    assert_eq!(strip_ts(core.next()), rejected(2, RejectReason::Venue));
    // Cancel of an order the gateway never saw.
    core.cancel(99);
    assert_eq!(
        strip_ts(core.next()),
        rejected(99, RejectReason::UnknownOrder)
    );
    assert_eq!(core.gw().stats().snapshot().last_error_code, -2010);
}

#[test]
fn timestamp_outside_recv_window_resyncs_the_clock() {
    let fake = Fake::start();
    let mut core = Core::hmac(&fake, PollMode::Block);
    core.wait_ready();
    assert_eq!(fake.count("time", ""), 1);
    fake.set(|s| {
        s.place_mode = PlaceMode::Reject(
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
        );
        s.time_offset_ms = -3000;
    });
    core.place(1, 250_000, 100, TimeInForce::Gtc);
    assert_eq!(strip_ts(core.next()), rejected(1, RejectReason::Venue));
    core.wait_until("the resync", |g| g.stats().snapshot().clock_syncs == 2);
    assert_eq!(fake.count("time", ""), 2);
    let offset = core.gw().stats().snapshot().clock_offset_ms;
    assert!((-3100..=-2900).contains(&offset), "{offset}");
}

#[test]
fn unanswered_request_replaces_the_connection_and_asks_instead_of_resending() {
    let fake = Fake::start();
    let mut cfg = config(&fake.url(), PollMode::Block);
    cfg.request_timeout_ms = 300;
    let mut core = Core::start(cfg, Credentials::from_hmac(API_KEY, SECRET.as_bytes()));
    core.wait_ready();
    fake.set(|s| s.place_mode = PlaceMode::Swallow);
    core.place(1, 250_000, 100, TimeInForce::Gtc);
    // After the timeout the session is replaced; the status query finds the order resting.
    assert_eq!(strip_ts(core.next()), accepted(1));
    assert_eq!(fake.count("order.place", &cid(1)), 1, "never re-sent");
    assert_eq!(fake.count("order.status", &cid(1)), 1);
    assert_eq!(fake.accepted.load(Ordering::SeqCst), 2);
    let s = core.gw().stats().snapshot();
    assert_eq!((s.request_timeouts, s.reconnects), (1, 1));
}

#[test]
fn core_waker_is_woken_after_reports() {
    let fake = Fake::start();
    let mut poll = mio::Poll::new().unwrap();
    let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(7)).unwrap());
    let mut core = Core::start_waking(
        config(&fake.url(), PollMode::Block),
        Credentials::from_hmac(API_KEY, SECRET.as_bytes()),
        Some(waker),
    );
    core.wait_ready();
    core.place(1, 250_000, 100, TimeInForce::Gtc);
    let mut events = mio::Events::with_capacity(4);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        if let Ok(r) = core.reports.pop() {
            assert_eq!(strip_ts(r), accepted(1));
            break;
        }
        assert!(Instant::now() < deadline, "no report");
    }
    assert!(
        events.iter().any(|e| e.token() == mio::Token(7)) || {
            // The report may have landed before this poll started; one more wake must come
            // with the next report.
            core.cancel(1);
            poll.poll(&mut events, Some(Duration::from_secs(5)))
                .unwrap();
            events.iter().any(|e| e.token() == mio::Token(7))
        }
    );
}

#[test]
fn disconnect_refuses_places_then_reconciles_missed_fills_exactly_once() {
    let fake = Fake::start();
    let mut core = Core::hmac(&fake, PollMode::Block);
    core.wait_ready();
    core.place(1, 250_000, 100, TimeInForce::Gtc);
    core.place(2, 249_000, 50, TimeInForce::Gtc);
    assert_eq!(strip_ts(core.next()), accepted(1));
    assert_eq!(strip_ts(core.next()), accepted(2));
    fake.trade(&cid(1), "0.0020", "2500.00", "0", true);
    assert_eq!(
        strip_ts(core.next()),
        fill(1, 250_000, 20, 80, 0, Liquidity::Maker)
    );

    // The venue goes away and refuses connections for a while.
    fake.drop_all(true);
    core.wait_until("the disconnect", |g| !g.stats().snapshot().connected);
    core.place(3, 250_000, 10, TimeInForce::Gtc);
    assert_eq!(strip_ts(core.next()), rejected(3, RejectReason::Venue));
    // A cancel waits for the reconnect.
    core.cancel(2);
    // Executions we miss while down: order 1 trades twice more at different prices.
    fake.trade(&cid(1), "0.0030", "2500.10", "0", false);
    fake.trade(&cid(1), "0.0010", "2500.50", "0", false);
    std::thread::sleep(Duration::from_millis(150));
    assert!(core.drain(Duration::from_millis(10)).is_empty());
    fake.refuse(false);
    core.wait_ready();

    // Reconciliation: one fill for the missed 0.0040 at the exact average
    // (7.5003 + 2.5005) / 0.0040 = 2500.20; order 2 found open and cancelled.
    let mut got: Vec<Report> = core
        .drain(Duration::from_millis(300))
        .into_iter()
        .map(strip_ts)
        .collect();
    got.sort_by_key(|r| format!("{r:?}"));
    let mut want = vec![
        fill(1, 250_020, 40, 40, 7_501, Liquidity::Maker),
        canceled(2),
    ];
    want.sort_by_key(|r| format!("{r:?}"));
    // (The reconciled fill's fee is approximated: 7.5 bps of 10.0008 USDT = 7500.6 units
    // of 1e-6 USDT, rounded up.)
    assert_eq!(got, want);

    // The missed executionReports replayed afterwards add nothing.
    let replay = {
        let st = fake.state.lock().unwrap();
        Fake::exec_json(
            &cid(1),
            "",
            &st.orders[&cid(1)],
            "TRADE",
            e8("0.0010"),
            e8("2500.50"),
            "0",
            true,
        )
    };
    fake.push(replay);
    // More trading after the reconnect is reported normally.
    fake.trade(&cid(1), "0.0040", "2499.90", "0", true);
    assert_eq!(
        strip_ts(core.next()),
        fill(1, 249_990, 40, 0, 0, Liquidity::Maker)
    );
    assert!(core.drain(Duration::from_millis(100)).is_empty());

    // Engine position == venue's record of fills.
    assert_eq!(fake.executed_e8(&cid(1)), e8("0.0100"));
    assert_eq!(fake.count("order.place", &cid(3)), 0);
    let s = core.gw().stats().snapshot();
    assert_eq!(s.reconnects, 1);
    assert!(s.local_rejects >= 1 && s.reconciled_fills == 1 && s.duplicates_skipped >= 1);
}

#[test]
fn server_shutdown_moves_to_a_new_session() {
    let fake = Fake::start();
    let mut core = Core::hmac(&fake, PollMode::Block);
    core.wait_ready();
    core.place(1, 250_000, 100, TimeInForce::Gtc);
    assert_eq!(strip_ts(core.next()), accepted(1));
    fake.push(json!({"event":{"e":"serverShutdown","E":now_ms()}}).to_string());
    core.wait_until("the second session", |_| {
        let st = fake.state.lock().unwrap();
        st.conns.len() == 2 && st.conns[1].subscribed.load(Ordering::SeqCst)
    });
    std::thread::sleep(Duration::from_millis(50));
    // Orders now go over the new connection.
    core.place(2, 250_000, 10, TimeInForce::Gtc);
    assert_eq!(strip_ts(core.next()), accepted(2));
    let reqs = fake.requests();
    let place2 = reqs
        .iter()
        .find(|(_, m, p)| m == "order.place" && p["newClientOrderId"] == cid(2).as_str())
        .unwrap();
    assert_eq!(place2.0, 1, "sent on the new connection");
    let logons = reqs.iter().filter(|(_, m, _)| m == "session.logon").count();
    assert_eq!(logons, 2);
    // Fills of the old order arrive on the new subscription.
    fake.trade(&cid(1), "0.0100", "2500.00", "0", true);
    assert_eq!(
        strip_ts(core.next()),
        fill(1, 250_000, 100, 0, 0, Liquidity::Maker)
    );
    let s = core.gw().stats().snapshot();
    assert_eq!((s.server_shutdowns, s.reconnects), (1, 0));
    assert!(s.connected);
}

#[test]
fn stop_cancels_every_open_order() {
    let fake = Fake::start();
    let mut core = Core::hmac(&fake, PollMode::Block);
    core.wait_ready();
    core.place(1, 250_000, 100, TimeInForce::Gtc);
    core.place(2, 249_000, 100, TimeInForce::Gtc);
    assert_eq!(strip_ts(core.next()), accepted(1));
    assert_eq!(strip_ts(core.next()), accepted(2));
    core.gw.take().unwrap().stop().unwrap();
    assert_eq!(fake.count("openOrders.cancelAll", ""), 1);
    let mut got: Vec<Report> = core
        .drain(Duration::from_millis(20))
        .into_iter()
        .map(strip_ts)
        .collect();
    got.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(got, vec![canceled(1), canceled(2)]);
}

#[test]
fn cancel_all_intent_cancels_on_the_venue() {
    let fake = Fake::start();
    let mut core = Core::hmac(&fake, PollMode::Spin);
    core.wait_ready();
    core.place(1, 250_000, 100, TimeInForce::Gtc);
    assert_eq!(strip_ts(core.next()), accepted(1));
    core.send(Intent::CancelAll {
        instrument: InstrumentId(0),
        cause_ts_ns: 0,
    });
    assert_eq!(strip_ts(core.next()), canceled(1));
    assert!(core.drain(Duration::from_millis(50)).is_empty());
}

fn cancel_all_intent(core: &mut Core) {
    core.send(Intent::CancelAll {
        instrument: InstrumentId(0),
        cause_ts_ns: 0,
    });
}

/// The `openOrders.*` requests the fake received, in order.
fn open_orders_requests(fake: &Fake) -> Vec<String> {
    fake.requests()
        .into_iter()
        .map(|(_, m, _)| m)
        .filter(|m| m.starts_with("openOrders."))
        .collect()
}

#[test]
fn cancel_all_is_sent_again_until_the_venue_lists_nothing() {
    let fake = Fake::start();
    let mut core = Core::hmac(&fake, PollMode::Block);
    core.wait_ready();
    core.place(1, 250_000, 100, TimeInForce::Gtc);
    assert_eq!(strip_ts(core.next()), accepted(1));
    // A foreign order (another client's) that the venue's first cancel-all misses.
    fake.add_foreign("someoneElse1");
    fake.set(|s| s.cancel_all_misses = vec!["someoneElse1".into()]);
    assert_eq!(fake.open_orders(), 2);
    cancel_all_intent(&mut core);
    assert_eq!(strip_ts(core.next()), canceled(1));
    core.wait_until("the confirmation", |g| {
        g.stats().snapshot().cancel_all_confirmed
    });
    assert_eq!(fake.open_orders(), 0, "the foreign order is gone too");
    assert_eq!(
        open_orders_requests(&fake),
        [
            "openOrders.cancelAll",
            "openOrders.status",
            "openOrders.cancelAll",
            "openOrders.status"
        ]
    );
    let s = core.gw().stats().snapshot();
    assert_eq!(
        (
            s.cancel_all_confirmations,
            s.cancel_all_recancels,
            s.open_orders_queries,
            s.open_orders_at_venue
        ),
        (1, 1, 2, 0)
    );
    // Our order was reported cancelled once; the foreign one is none of the core's business.
    assert!(core.drain(Duration::from_millis(100)).is_empty());
}

#[test]
fn cancel_all_with_nothing_open_is_confirmed_by_one_query() {
    let fake = Fake::start();
    let mut core = Core::hmac(&fake, PollMode::Spin);
    core.wait_ready();
    let s = core.gw().stats().snapshot();
    assert!(
        !s.cancel_all_confirmed,
        "nothing confirmed before a cancel-all"
    );
    cancel_all_intent(&mut core);
    core.wait_until("the confirmation", |g| {
        g.stats().snapshot().cancel_all_confirmed
    });
    // The venue answers -2011 (nothing to cancel); the query confirms it.
    assert_eq!(
        open_orders_requests(&fake),
        ["openOrders.cancelAll", "openOrders.status"]
    );
    let s = core.gw().stats().snapshot();
    assert_eq!(
        (
            s.cancel_all_confirmations,
            s.cancel_all_recancels,
            s.open_orders_at_venue,
            s.last_error_code
        ),
        (1, 0, 0, -2011)
    );
    assert!(core.drain(Duration::from_millis(50)).is_empty());
}

#[test]
fn a_fill_racing_the_cancel_all_is_reported_from_the_open_orders_list() {
    let fake = Fake::start();
    let mut core = Core::hmac(&fake, PollMode::Block);
    core.wait_ready();
    core.place(1, 250_000, 100, TimeInForce::Gtc);
    assert_eq!(strip_ts(core.next()), accepted(1));
    // The order trades 0.0040 as the halt's cancel-all goes out; its execution report is
    // lost and the venue's cancel-all does not catch the order.
    fake.trade(&cid(1), "0.0040", "2500.00", "0", false);
    fake.set(|s| s.cancel_all_misses = vec![cid(1)]);
    cancel_all_intent(&mut core);
    core.wait_until("the confirmation", |g| {
        g.stats().snapshot().cancel_all_confirmed
    });
    let got: Vec<Report> = core
        .drain(Duration::from_millis(100))
        .into_iter()
        .map(strip_ts)
        .collect();
    // The fill comes from the open-orders list (fee approximated: 7.5 bps of 10 USDT),
    // then the second cancel-all cancels the rest; each reported once.
    assert_eq!(
        got,
        [
            fill(1, 250_000, 40, 60, 7_500, Liquidity::Maker),
            canceled(1)
        ]
    );
    assert_eq!(fake.executed_e8(&cid(1)), e8("0.0040"));
    assert_eq!(fake.open_orders(), 0);
    let s = core.gw().stats().snapshot();
    assert_eq!(
        (
            s.reconciled_fills,
            s.cancel_all_recancels,
            s.cancel_all_confirmations
        ),
        (1, 1, 1)
    );
}

#[test]
fn stop_ends_with_the_venue_confirmed_empty() {
    let fake = Fake::start();
    let mut core = Core::hmac(&fake, PollMode::Block);
    core.wait_ready();
    core.place(1, 250_000, 100, TimeInForce::Gtc);
    assert_eq!(strip_ts(core.next()), accepted(1));
    fake.add_foreign("someoneElse1");
    fake.set(|s| s.cancel_all_misses = vec!["someoneElse1".into()]);
    let gw = core.gw.take().unwrap();
    let stats = Arc::clone(gw.stats());
    gw.stop().unwrap();
    assert_eq!(fake.open_orders(), 0, "nothing left open");
    assert_eq!(fake.count("openOrders.cancelAll", ""), 2);
    let s = stats.snapshot();
    assert!(s.cancel_all_confirmed && s.stopped);
    assert_eq!((s.cancel_all_recancels, s.open_orders_at_venue), (1, 0));
    let got: Vec<Report> = core
        .drain(Duration::from_millis(20))
        .into_iter()
        .map(strip_ts)
        .collect();
    assert_eq!(got, [canceled(1)]);
}

#[test]
fn rate_limit_headroom_refuses_orders_locally() {
    let fake = Fake::start();
    let mut core = Core::hmac(&fake, PollMode::Block);
    core.wait_ready();
    fake.set(|s| s.orders_count = Some(45));
    core.place(1, 250_000, 100, TimeInForce::Gtc);
    assert_eq!(strip_ts(core.next()), accepted(1));
    // 45 of 50 seen; one more would exceed 0.9 * 50.
    core.place(2, 250_000, 100, TimeInForce::Gtc);
    assert_eq!(strip_ts(core.next()), rejected(2, RejectReason::Venue));
    assert_eq!(fake.count("order.place", &cid(2)), 0);
    let s = core.gw().stats().snapshot();
    assert_eq!(s.local_rejects, 1);
    assert_eq!(s.rate_limit_used_ppm, 900_000); // 45 of 50
}

#[test]
fn bad_signature_is_a_configuration_error() {
    let fake = Fake::start();
    let mut core = Core::start(
        config(&fake.url(), PollMode::Block),
        Credentials::from_hmac(API_KEY, b"the-wrong-secret"),
    );
    core.wait_until("the config error", |g| g.stats().snapshot().config_error);
    core.place(1, 250_000, 100, TimeInForce::Gtc);
    assert_eq!(strip_ts(core.next()), rejected(1, RejectReason::Venue));
    let s = core.gw().stats().snapshot();
    assert_eq!(s.last_error_code, -1022);
    assert!(!s.connected);
    // Nothing more is sent: one connection, no retry storm.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(fake.accepted.load(Ordering::SeqCst), 1);
}

#[test]
fn dead_address_backs_off() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("ws://127.0.0.1:{port}/ws-api/v3");
    let mut cfg = config(&url, PollMode::Spin);
    cfg.backoff = BackoffConfig {
        initial_ms: 100,
        max_ms: 60_000,
        healthy_after_ms: 30_000,
        max_attempts: 0,
    };
    let mut core = Core::start(cfg, Credentials::from_hmac(API_KEY, SECRET.as_bytes()));
    std::thread::sleep(Duration::from_millis(1000));
    let attempts = core.gw().stats().snapshot().connect_attempts;
    assert!((1..=5).contains(&attempts), "{attempts} attempts in ~1 s");
    core.place(1, 250_000, 100, TimeInForce::Gtc);
    assert_eq!(strip_ts(core.next()), rejected(1, RejectReason::Venue));
    let s = core.gw().stats().snapshot();
    assert_eq!(s.connect_failures, s.connect_attempts);
    assert!(!s.connected);
}

#[test]
fn key_file_permissions_and_secrets_in_errors() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("binance.secret");
    std::fs::write(&path, SECRET).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut cfg = config("ws://127.0.0.1:9/ws-api/v3", PollMode::Block);
    // PATH is always set: it stands in for the API key variable.
    cfg.keys = KeySource {
        key_type: KeyType::Hmac,
        api_key_env: "PATH".into(),
        secret: SecretSource::File(path.clone()),
    };
    let (_p, intents) = rtrb::RingBuffer::new(4);
    let (reports, _c) = rtrb::RingBuffer::new(4);
    let err = spawn(cfg.clone(), eth(), intents, reports, None).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("0640"), "{text}");
    assert!(!text.contains(SECRET) && !format!("{err:?}").contains(SECRET));

    // Owner-only: loads; nothing prints the secret.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let creds = Credentials::load(&cfg.keys).unwrap();
    for shown in [format!("{creds:?}"), format!("{creds}"), format!("{cfg:?}")] {
        assert!(!shown.contains(SECRET), "{shown}");
    }
    // A missing variable names the variable only.
    cfg.keys.api_key_env = "OBI_TEST_SURELY_UNSET_VAR".into();
    let (_p, intents) = rtrb::RingBuffer::new(4);
    let (reports, _c) = rtrb::RingBuffer::new(4);
    let err = spawn(cfg, eth(), intents, reports, None).unwrap_err();
    assert!(err.to_string().contains("OBI_TEST_SURELY_UNSET_VAR"));
}

fn spec(symbol: &str, market: Market) -> InstrumentSpec {
    InstrumentSpec {
        symbol: Symbol::new(symbol).unwrap(),
        market,
        price: Scale::from_step_text("0.01").unwrap(),
        qty: Scale::from_step_text("0.001").unwrap(),
    }
}

fn spawn_error(cfg: GatewayConfig, specs: &[InstrumentSpec]) -> String {
    let mut instruments = Instruments::default();
    for s in specs {
        instruments.add(*s).unwrap();
    }
    let (_p, intents) = rtrb::RingBuffer::new(4);
    let (reports, _c) = rtrb::RingBuffer::new(4);
    spawn_with_credentials(
        cfg,
        Credentials::from_hmac(API_KEY, SECRET.as_bytes()),
        instruments,
        intents,
        reports,
        None,
    )
    .unwrap_err()
    .to_string()
}

#[test]
fn usdm_needs_stream_and_rest_urls_and_markets_are_not_mixed() {
    let url = "ws://127.0.0.1:9/ws-fapi/v1";
    let usdm = [spec("ETHUSDT", Market::UsdM)];
    let err = spawn_error(config(url, PollMode::Block), &usdm);
    assert!(err.contains("stream_url"), "{err}");
    let mut cfg = config(url, PollMode::Block);
    cfg.stream_url = Some("ws://127.0.0.1:9".into());
    let err = spawn_error(cfg.clone(), &usdm);
    assert!(err.contains("rest_url"), "{err}");
    cfg.rest_url = Some("ws://127.0.0.1:9".into());
    let err = spawn_error(cfg.clone(), &usdm);
    assert!(err.contains("not a http"), "{err}");
    let mixed = [spec("ETHUSDT", Market::UsdM), spec("BTCUSDT", Market::Spot)];
    let err = spawn_error(config(url, PollMode::Block), &mixed);
    assert!(err.contains("mixed"), "{err}");
    let err = spawn_error(
        config(url, PollMode::Block),
        &[spec("ETHUSD_PERP", Market::CoinM)],
    );
    assert!(err.contains("coinm"), "{err}");
    cfg.dead_man_ms = 1000;
    cfg.dead_man_refresh_ms = 1000;
    let err = spawn_error(cfg, &usdm);
    assert!(err.contains("dead_man_refresh_ms"), "{err}");
}
