//! Signed Binance REST calls for USD-M futures, blocking: on the gateway thread cancel-all
//! (`DELETE /fapi/v1/allOpenOrders`) and the dead-man switch
//! (`POST /fapi/v1/countdownCancelAll`); at start-up reconciliation open orders
//! (`GET /fapi/v1/openOrders`) and positions (`GET /fapi/v2/positionRisk`). All are rare (a
//! stop, a halt, a refresh every few seconds, a start), so a short blocking call with a
//! timeout is simpler than another thread.
//!
//! Signing: the query string `k=v&...` (ASCII here: symbols and numbers) is signed as
//! Binance's REST rule says ([`sign::write_rest_payload`]) with the account's key — lower-case
//! hex HMAC-SHA256, or base64 Ed25519 — and appended as `&signature=...`, percent-encoded
//! (base64 carries `+`, `/`, `=`). The API key goes in the `X-MBX-APIKEY` header.
//! Errors carry the HTTP status and Binance's `code`/`msg`, never the URL (it holds the
//! signature) nor the key.

use super::sign;
use crate::net::Endpoint;
use crate::venue::keys::Credentials;
use serde::Deserialize;
use std::fmt::Write as _;
use std::time::Duration;

/// Largest REST answer read, bytes.
const MAX_BODY_BYTES: u64 = 64 * 1024;

/// A REST call that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestError {
    /// No answer: connect, TLS, timeout or read failure.
    #[error("REST {path}: {why}")]
    Transport {
        /// Request path.
        path: &'static str,
        /// What went wrong (no URL, no secret).
        why: String,
    },
    /// The venue answered with an error.
    #[error("REST {path}: HTTP {status}, {code} {msg}")]
    Refused {
        /// Request path.
        path: &'static str,
        /// HTTP status.
        status: u16,
        /// Binance's error code (0 when the body had none).
        code: i64,
        /// Binance's message.
        msg: String,
    },
}

impl RestError {
    /// Binance's error code, if the venue gave one.
    pub fn code(&self) -> Option<i64> {
        match self {
            RestError::Refused { code, .. } if *code != 0 => Some(*code),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    msg: String,
}

/// Path of the USD-M cancel-all.
pub const CANCEL_ALL_PATH: &str = "/fapi/v1/allOpenOrders";
/// Path of the USD-M dead-man switch.
pub const COUNTDOWN_PATH: &str = "/fapi/v1/countdownCancelAll";
/// Path of the USD-M open-order list.
pub const OPEN_ORDERS_PATH: &str = "/fapi/v1/openOrders";
/// Path of the USD-M position list.
pub const POSITION_RISK_PATH: &str = "/fapi/v2/positionRisk";

/// A blocking signed-REST client for one venue base URL.
#[derive(Debug)]
pub struct RestClient {
    base: String,
    agent: ureq::Agent,
    recv_window_ms: u64,
    query: String,
    payload: String,
    signature: String,
    url: String,
}

impl RestClient {
    /// A client for `base` (an `http(s)://` endpoint); each call times out after `timeout`.
    pub fn new(base: &Endpoint, recv_window_ms: u64, timeout: Duration) -> RestClient {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build();
        let mut base = base.to_string();
        while base.ends_with('/') {
            base.pop();
        }
        RestClient {
            base,
            agent: ureq::Agent::new_with_config(config),
            recv_window_ms,
            query: String::with_capacity(256),
            payload: String::with_capacity(256),
            signature: String::with_capacity(96),
            url: String::with_capacity(512),
        }
    }

    /// `DELETE /fapi/v1/allOpenOrders?symbol=..`: cancels every open order on `symbol`.
    pub fn cancel_all(
        &mut self,
        symbol: &str,
        timestamp_ms: i64,
        creds: &Credentials,
    ) -> Result<(), RestError> {
        self.begin();
        self.param("symbol", symbol);
        self.call(Verb::Delete, CANCEL_ALL_PATH, timestamp_ms, creds)
            .map(drop)
    }

    /// `GET /fapi/v1/openOrders?symbol=..`: the open orders on `symbol` (a JSON array).
    pub fn open_orders(
        &mut self,
        symbol: &str,
        timestamp_ms: i64,
        creds: &Credentials,
    ) -> Result<serde_json::Value, RestError> {
        self.get_for_symbol(OPEN_ORDERS_PATH, symbol, timestamp_ms, creds)
    }

    /// `GET /fapi/v2/positionRisk?symbol=..`: the positions on `symbol` (a JSON array; one
    /// entry in one-way mode, `LONG` and `SHORT` in hedge mode).
    pub fn position_risk(
        &mut self,
        symbol: &str,
        timestamp_ms: i64,
        creds: &Credentials,
    ) -> Result<serde_json::Value, RestError> {
        self.get_for_symbol(POSITION_RISK_PATH, symbol, timestamp_ms, creds)
    }

    /// A signed `GET path?symbol=..`, its answer as JSON.
    fn get_for_symbol(
        &mut self,
        path: &'static str,
        symbol: &str,
        timestamp_ms: i64,
        creds: &Credentials,
    ) -> Result<serde_json::Value, RestError> {
        self.begin();
        self.param("symbol", symbol);
        let body = self.call(Verb::Get, path, timestamp_ms, creds)?;
        json_answer(path, &body)
    }

    /// `POST /fapi/v1/countdownCancelAll?symbol=..&countdownTime=..`: arms (or refreshes)
    /// the venue's countdown; `0` disarms it.
    pub fn countdown_cancel_all(
        &mut self,
        symbol: &str,
        countdown_ms: u64,
        timestamp_ms: i64,
        creds: &Credentials,
    ) -> Result<(), RestError> {
        self.begin();
        self.param("symbol", symbol);
        self.number("countdownTime", countdown_ms as i64);
        self.call(Verb::Post, COUNTDOWN_PATH, timestamp_ms, creds)
            .map(drop)
    }

    /// The query string of the last call, without the signature (for tests; no secret).
    pub fn last_payload(&self) -> &str {
        &self.payload
    }

    fn begin(&mut self) {
        self.query.clear();
    }

    fn param(&mut self, name: &str, value: &str) {
        if !self.query.is_empty() {
            self.query.push('&');
        }
        self.query.push_str(name);
        self.query.push('=');
        push_component(&mut self.query, value);
    }

    fn number(&mut self, name: &str, value: i64) {
        if !self.query.is_empty() {
            self.query.push('&');
        }
        let _ = write!(self.query, "{name}={value}");
    }

    fn call(
        &mut self,
        verb: Verb,
        path: &'static str,
        timestamp_ms: i64,
        creds: &Credentials,
    ) -> Result<String, RestError> {
        if self.recv_window_ms > 0 {
            self.number("recvWindow", self.recv_window_ms as i64);
        }
        self.number("timestamp", timestamp_ms);
        sign::write_rest_payload(&self.query, "", &mut self.payload);
        self.signature.clear();
        creds.sign_into(self.payload.as_bytes(), &mut self.signature);
        self.url.clear();
        let _ = write!(self.url, "{}{path}?{}&signature=", self.base, self.query);
        push_component(&mut self.url, &self.signature);
        let transport = |e: ureq::Error| RestError::Transport {
            path,
            why: transport_text(&e),
        };
        let request = match verb {
            Verb::Delete => self
                .agent
                .delete(self.url.as_str())
                .header("X-MBX-APIKEY", creds.api_key())
                .call(),
            Verb::Post => self
                .agent
                .post(self.url.as_str())
                .header("X-MBX-APIKEY", creds.api_key())
                .send_empty(),
            Verb::Get => self
                .agent
                .get(self.url.as_str())
                .header("X-MBX-APIKEY", creds.api_key())
                .call(),
        };
        let mut response = request.map_err(transport)?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_string()
            .unwrap_or_default();
        if status == 200 {
            return Ok(body);
        }
        let answer = serde_json::from_str::<ErrorAnswer>(&body).unwrap_or(ErrorAnswer {
            code: 0,
            msg: String::new(),
        });
        Err(RestError::Refused {
            path,
            status,
            code: answer.code,
            msg: answer.msg,
        })
    }
}

#[derive(Clone, Copy, Debug)]
enum Verb {
    Delete,
    Get,
    Post,
}

/// A successful answer's body as JSON; unreadable JSON is the venue's fault, said as such.
fn json_answer(path: &'static str, body: &str) -> Result<serde_json::Value, RestError> {
    serde_json::from_str(body).map_err(|e| RestError::Transport {
        path,
        why: format!("unreadable answer: {e}"),
    })
}

/// A transport error's text without the URL (which carries the signature).
fn transport_text(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "timed out".into(),
        ureq::Error::Io(io) => format!("I/O error: {}", io.kind()),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        _ => "request failed".into(),
    }
}

/// Appends `value` percent-encoded as a query component (RFC 3986 unreserved kept).
fn push_component(out: &mut String, value: &str) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_percent_encoded() {
        let mut s = String::new();
        push_component(&mut s, "aB9+/=-_.~ é");
        assert_eq!(s, "aB9%2B%2F%3D-_.~%20%C3%A9");
    }

    #[test]
    fn the_docs_hmac_vector_signs_the_query() {
        // Binance USD-M REST docs' example: the query string itself is the payload.
        let creds = Credentials::from_hmac(
            "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83",
            b"2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9",
        );
        let payload = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943";
        assert_eq!(
            creds.sign(sign::rest_payload(payload, "").as_bytes()),
            "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
        );
    }

    #[test]
    fn a_dead_address_is_a_transport_error_without_the_url() {
        let endpoint = Endpoint::parse("http://127.0.0.1:9").unwrap();
        let mut client = RestClient::new(&endpoint, 5000, Duration::from_millis(500));
        let creds = Credentials::from_hmac("k", b"s");
        let err = client.cancel_all("ETHUSDT", 1, &creds).unwrap_err();
        assert!(matches!(err, RestError::Transport { .. }), "{err}");
        assert!(!err.to_string().contains("signature"), "{err}");
        assert_eq!(
            client.last_payload(),
            "symbol=ETHUSDT&recvWindow=5000&timestamp=1"
        );
    }
}
