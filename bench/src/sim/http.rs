//! Plain HTTP/1.1 on the shared port: reading a request head, the REST depth snapshot (and
//! `time`/`ping`), error bodies, and the WebSocket upgrade answer.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Longest request head accepted, bytes.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// A parsed request head, and any bytes read past it.
#[derive(Debug)]
pub struct RequestHead {
    /// `GET`, ...
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Query string (after `?`), raw.
    pub query: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Bytes after the head (a client may send its first frame early).
    pub rest: Vec<u8>,
}

impl RequestHead {
    /// A header's value (first occurrence, case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter's value (not percent-decoded: Binance names need no escaping).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == name).then_some(v)
        })
    }

    /// True for a WebSocket upgrade request.
    pub fn is_upgrade(&self) -> bool {
        self.header("upgrade")
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
    }
}

/// Reads a request head within `timeout`. `Ok(None)` when the client closed or sent
/// something that is not HTTP.
pub fn read_head(stream: &mut TcpStream, timeout: Duration) -> io::Result<Option<RequestHead>> {
    let deadline = Instant::now() + timeout;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Ok(None);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(None),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        }
    };
    let Ok(text) = std::str::from_utf8(&buf[..end]) else {
        return Ok(None);
    };
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target)) = (first.next(), first.next()) else {
        return Ok(None);
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Some(RequestHead {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        rest: buf[end..].to_vec(),
    }))
}

/// Writes a complete JSON response and leaves the connection to be closed.
pub fn respond_json(stream: &mut TcpStream, status: u16, body: &str) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

/// A Binance-style error body.
pub fn error_body(code: i32, msg: &str) -> String {
    serde_json::json!({"code": code, "msg": msg}).to_string()
}

/// Answers a WebSocket upgrade (101) for the client's `Sec-WebSocket-Key`.
pub fn accept_upgrade(stream: &mut TcpStream, head: &RequestHead) -> io::Result<bool> {
    let Some(key) = head.header("sec-websocket-key") else {
        respond_json(
            stream,
            400,
            &error_body(-1000, "Missing Sec-WebSocket-Key."),
        )?;
        return Ok(false);
    };
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(response.as_bytes())?;
    stream.flush()?;
    Ok(true)
}
