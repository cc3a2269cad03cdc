//! A blocking WebSocket API session for the checklist: connect with the config's timeout,
//! send one request, wait for the response with the same id (other frames are skipped).
//! Not the hot path: a short sleep between empty reads is fine here.

use crate::net::{Endpoint, WsConn, WsRead, ws};
use serde_json::Value;
use std::time::{Duration, Instant};

/// A refused request: the venue's status, code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP-like status.
    pub status: u64,
    /// Binance error code (0 when absent).
    pub code: i64,
    /// Binance's message.
    pub msg: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status {} code {} {:?}",
            self.status, self.code, self.msg
        )
    }
}

/// Why a request got no usable answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// No connection, a lost connection or no answer in time.
    Transport(String),
    /// The venue answered with an error.
    Refused(Refusal),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Transport(why) => f.write_str(why),
            CallError::Refused(r) => write!(f, "refused: {r}"),
        }
    }
}

/// An open session.
#[derive(Debug)]
pub struct Session {
    conn: WsConn,
    timeout: Duration,
    next_id: u64,
    buf: Vec<u8>,
}

impl Session {
    /// Connects to `endpoint`, each step bounded by `timeout`.
    pub fn connect(endpoint: &Endpoint, timeout: Duration) -> Result<Session, String> {
        let conn = ws::connect(endpoint, timeout).map_err(|e| e.to_string())?;
        Ok(Session {
            conn,
            timeout,
            next_id: 1,
            buf: Vec::with_capacity(4096),
        })
    }

    /// A fresh request id.
    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Sends `frame` (a request with id `id`) and returns the `result` of its response.
    pub fn call(&mut self, id: u64, frame: &str) -> Result<Value, CallError> {
        let transport = |e: crate::net::NetError| CallError::Transport(e.to_string());
        self.conn.send_text(frame).map_err(transport)?;
        let deadline = Instant::now() + self.timeout;
        loop {
            self.conn.flush().map_err(transport)?;
            match self.conn.read(&mut self.buf).map_err(transport)? {
                WsRead::Message(n) => {
                    if let Some(answer) = answer_to(id, &self.buf[..n]) {
                        return answer;
                    }
                }
                WsRead::Control => {}
                WsRead::Idle => {
                    if Instant::now() >= deadline {
                        return Err(CallError::Transport(format!(
                            "no answer within {} ms",
                            self.timeout.as_millis()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }

    /// Closes the connection (best effort).
    pub fn close(mut self) {
        self.conn.close();
    }
}

/// The response to request `id` in `bytes`, if that is what they are.
fn answer_to(id: u64, bytes: &[u8]) -> Option<Result<Value, CallError>> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let their = match v.get("id")? {
        Value::String(s) => s.parse::<u64>().ok()?,
        Value::Number(n) => n.as_u64()?,
        _ => return None,
    };
    if their != id {
        return None;
    }
    let status = v.get("status").and_then(Value::as_u64).unwrap_or(0);
    if status == 200 {
        return Some(Ok(v.get("result").cloned().unwrap_or(Value::Null)));
    }
    let error = v.get("error");
    Some(Err(CallError::Refused(Refusal {
        status,
        code: error
            .and_then(|e| e.get("code"))
            .and_then(Value::as_i64)
            .unwrap_or(0),
        msg: error
            .and_then(|e| e.get("msg"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .chars()
            .take(200)
            .collect(),
    })))
}
