//! A blocking WebSocket API session for work before trading starts (start-up
//! reconciliation, checks): one request at a time, answered or timed out. It allocates and
//! blocks freely, so it never runs on the core thread's loop.

use super::client_id::ClientIds;
use super::ws_api::{Auth, Flavor, RequestWriter};
use crate::net::{Endpoint, NetError, WsConn, WsRead, ws};
use crate::venue::keys::{Credentials, KeyType};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Why a request did not get a successful answer.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The connection failed or closed.
    #[error("{0}")]
    Net(#[from] NetError),
    /// No answer in time.
    #[error("no answer to {method} within {timeout_ms} ms")]
    Timeout {
        /// Method asked.
        method: String,
        /// The limit, ms.
        timeout_ms: u128,
    },
    /// The venue answered with an error.
    #[error("{method} refused by the venue: code {code}: {msg}")]
    Venue {
        /// Method asked.
        method: String,
        /// Binance error code.
        code: i64,
        /// Binance message.
        msg: String,
    },
    /// The answer was not the JSON the protocol promises.
    #[error("{method}: unreadable answer: {why}")]
    Malformed {
        /// Method asked.
        method: String,
        /// What was wrong.
        why: String,
    },
}

impl SessionError {
    /// The venue's error code, if the venue answered with one.
    pub fn venue_code(&self) -> Option<i64> {
        match self {
            SessionError::Venue { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Builds one request frame: `(writer, request id, auth, timestamp ms, credentials)`.
pub type Build<'f> =
    &'f mut dyn for<'w> FnMut(&'w mut RequestWriter, u64, Auth, i64, &Credentials) -> &'w str;

/// One logged-on (Ed25519) or per-request-signed (HMAC) WebSocket API connection.
#[derive(Debug)]
pub struct BlockingSession {
    conn: WsConn,
    writer: RequestWriter,
    creds: Credentials,
    auth: Auth,
    next_id: u64,
    timeout: Duration,
    buf: Vec<u8>,
}

impl BlockingSession {
    /// Connects to the order API at `url`; an Ed25519 key logs the session on.
    pub fn connect(
        url: &Endpoint,
        flavor: Flavor,
        recv_window_ms: u64,
        creds: Credentials,
        timeout: Duration,
    ) -> Result<BlockingSession, SessionError> {
        let conn = ws::connect(url, timeout)?;
        let auth = RequestWriter::request_auth(creds.key_type());
        let mut session = BlockingSession {
            conn,
            writer: RequestWriter::new(flavor, recv_window_ms, ClientIds::new(0)),
            creds,
            auth,
            next_id: 1,
            timeout,
            buf: Vec::with_capacity(64 << 10),
        };
        if session.creds.key_type() == KeyType::Ed25519 {
            session.request("session.logon", &mut |w, id, _, ts, c| w.logon(id, ts, c))?;
        }
        Ok(session)
    }

    /// Sends one request and waits for its answer; returns the answer's `result`.
    pub fn request(
        &mut self,
        method: &str,
        build: Build<'_>,
    ) -> Result<serde_json::Value, SessionError> {
        let id = self.next_id;
        self.next_id += 1;
        let frame = build(&mut self.writer, id, self.auth, now_ms(), &self.creds);
        self.conn.send_text(frame)?;
        let started = Instant::now();
        let id_text = id.to_string();
        loop {
            self.conn.flush()?;
            match self.conn.read(&mut self.buf)? {
                WsRead::Message(_) => {
                    let value: serde_json::Value =
                        serde_json::from_slice(&self.buf).map_err(|e| SessionError::Malformed {
                            method: method.to_string(),
                            why: e.to_string(),
                        })?;
                    let same = match &value["id"] {
                        serde_json::Value::String(s) => *s == id_text,
                        serde_json::Value::Number(n) => n.as_u64() == Some(id),
                        _ => false,
                    };
                    if same {
                        return answer(method, value);
                    }
                }
                WsRead::Control => {}
                WsRead::Idle => {
                    if started.elapsed() > self.timeout {
                        return Err(SessionError::Timeout {
                            method: method.to_string(),
                            timeout_ms: self.timeout.as_millis(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }

    /// Closes the connection politely.
    pub fn close(mut self) {
        self.conn.close();
    }
}

fn answer(method: &str, mut value: serde_json::Value) -> Result<serde_json::Value, SessionError> {
    let status = value["status"].as_i64().unwrap_or(0);
    if status == 200 {
        return Ok(value["result"].take());
    }
    let error = &value["error"];
    Err(SessionError::Venue {
        method: method.to_string(),
        code: error["code"].as_i64().unwrap_or(status),
        msg: error["msg"].as_str().unwrap_or("no message").to_string(),
    })
}

/// Wall-clock Unix time, ms (signed requests' `timestamp`).
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
