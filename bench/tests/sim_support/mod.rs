//! Test client for the venue simulator: raw HTTP GET, tungstenite WebSocket clients, an API
//! client that signs requests (Ed25519 logon, HMAC per request) and collects events.
// Test helpers: a failing unwrap is a failing test (as clippy.toml allows inside #[test]).
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use base64::Engine as _;
use ed25519_dalek::{Signer, SigningKey};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

pub type Ws = WebSocket<MaybeTlsStream<TcpStream>>;

pub const API_KEY: &str = "test-key";
pub const HMAC_SECRET: &str = "test-secret";

/// The test Ed25519 key (fixed seed).
pub fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

/// Its public key as hex.
pub fn public_key_hex() -> String {
    hex::encode(signing_key().verifying_key().to_bytes())
}

/// A plain HTTP GET: (status, body).
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(body.len(), len, "Content-Length matches the body");
    (status, body.to_owned())
}

/// Connects a WebSocket client with a read timeout.
pub fn ws_connect(url: &str) -> Ws {
    let (ws, _) = tungstenite::connect(url).unwrap();
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
    }
    ws
}

/// Reads the next text frame within `timeout`, answering nothing by hand (tungstenite
/// answers pings). `None` on timeout; panics on close.
pub fn next_text(ws: &mut Ws, timeout: Duration) -> Option<String> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match ws.read() {
            Ok(Message::Text(t)) => return Some(t.as_str().to_owned()),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("connection ended: {e}"),
        }
    }
    None
}

/// What a read gave: a text frame, nothing yet, or the end of the connection.
pub enum Read_ {
    Text(String),
    Idle,
    Closed,
}

/// Like [`next_text`] but reports the end of the connection instead of panicking.
pub fn read_or_closed(ws: &mut Ws) -> Read_ {
    match ws.read() {
        Ok(Message::Text(t)) => Read_::Text(t.as_str().to_owned()),
        Ok(Message::Close(_)) => Read_::Closed,
        Ok(_) => Read_::Idle,
        Err(tungstenite::Error::Io(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Read_::Idle
        }
        Err(_) => Read_::Closed,
    }
}

/// A WebSocket API client.
pub struct Api {
    pub ws: Ws,
    next_id: u64,
    /// Events (`{"subscriptionId":..,"event":..}` or bare `{"event":..}`) seen so far.
    pub events: Vec<Value>,
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn payload(params: &Map<String, Value>) -> String {
    let mut keys: Vec<_> = params.keys().filter(|k| *k != "signature").collect();
    keys.sort();
    keys.iter()
        .map(|k| {
            let v = match &params[*k] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Adds `apiKey`, `timestamp` and an HMAC `signature`.
pub fn hmac_sign(mut params: Map<String, Value>, secret: &str) -> Map<String, Value> {
    params.insert("apiKey".into(), API_KEY.into());
    params.insert("timestamp".into(), now_ms().into());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(payload(&params).as_bytes());
    params.insert(
        "signature".into(),
        hex::encode(mac.finalize().into_bytes()).into(),
    );
    params
}

impl Api {
    pub fn connect(url: &str) -> Api {
        Api {
            ws: ws_connect(url),
            next_id: 1,
            events: Vec::new(),
        }
    }

    /// Sends a request and waits for its response; events seen meanwhile are kept.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = format!("r{}", self.next_id);
        self.next_id += 1;
        let req = json!({"id": id, "method": method, "params": params});
        self.ws.send(Message::text(req.to_string())).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let Some(t) = next_text(&mut self.ws, Duration::from_millis(200)) else {
                continue;
            };
            let v: Value = serde_json::from_str(&t).unwrap();
            if v.get("id") == Some(&Value::String(id.clone())) {
                return v;
            }
            self.events.push(v);
        }
        panic!("no response to {method}");
    }

    /// Ed25519 `session.logon` with `key`.
    pub fn logon(&mut self, key: &SigningKey) -> Value {
        let mut params = Map::new();
        params.insert("apiKey".into(), API_KEY.into());
        params.insert("timestamp".into(), now_ms().into());
        let sig = key.sign(payload(&params).as_bytes());
        params.insert(
            "signature".into(),
            base64::engine::general_purpose::STANDARD
                .encode(sig.to_bytes())
                .into(),
        );
        self.call("session.logon", Value::Object(params))
    }

    /// A signed-session request: adds `timestamp`.
    pub fn call_ts(&mut self, method: &str, params: Value) -> Value {
        let mut p = match params {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        p.insert("timestamp".into(), now_ms().into());
        self.call(method, Value::Object(p))
    }

    /// Reads frames for up to `timeout`, keeping events, until `pred` holds for one.
    pub fn wait_event(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        if let Some(e) = self.events.iter().find(|e| pred(e)) {
            return Some(e.clone());
        }
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(t) = next_text(&mut self.ws, Duration::from_millis(100)) {
                let v: Value = serde_json::from_str(&t).unwrap();
                self.events.push(v.clone());
                if pred(&v) {
                    return Some(v);
                }
            }
        }
        None
    }

    /// Execution reports for client order id `c` (matching `C` on cancels), in order.
    pub fn reports_for(&self, c: &str) -> Vec<Value> {
        self.events
            .iter()
            .filter_map(|e| e.get("event"))
            .filter(|e| e["e"] == "executionReport" && (e["c"] == c || e["C"] == c))
            .cloned()
            .collect()
    }
}

/// Error code of a failed response.
pub fn code(resp: &Value) -> i64 {
    resp["error"]["code"].as_i64().unwrap_or(0)
}
