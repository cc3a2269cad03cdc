//! WebSocket connections: set up blocking with timeouts (on a helper thread or the gateway
//! thread, never the core thread), then used non-blocking.
//!
//! `tungstenite` does the framing. After the handshake the socket is switched to
//! non-blocking mode and `TCP_NODELAY`; [`WsConn::read`] returns at once with a frame, with
//! nothing ([`WsRead::Idle`]) or with an error. Pings are answered by `tungstenite` on the
//! next read or flush. A text frame's bytes are copied into a caller-owned buffer so the
//! parser can work on them in place.

use super::tls;
use super::url::Endpoint;
use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// Why a connection could not be made or was lost.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// Name resolution failed or gave no address.
    #[error("cannot resolve {host}: {why}")]
    Resolve {
        /// Host name.
        host: String,
        /// Resolver's message.
        why: String,
    },
    /// TCP connect failed on every address.
    #[error("cannot connect to {endpoint}: {source}")]
    Connect {
        /// Endpoint (without secrets: URLs carry none).
        endpoint: String,
        /// Last error.
        #[source]
        source: io::Error,
    },
    /// TLS configuration error.
    #[error("TLS setup failed: {0}")]
    Tls(#[from] rustls::Error),
    /// The WebSocket (or TLS) handshake failed.
    #[error("handshake with {endpoint} failed: {why}")]
    Handshake {
        /// Endpoint.
        endpoint: String,
        /// What went wrong.
        why: String,
    },
    /// The endpoint is not a WebSocket URL.
    #[error("{0} is not a ws:// or wss:// URL")]
    NotWebSocket(String),
    /// The peer closed the connection.
    #[error("connection closed by the peer")]
    Closed,
    /// An I/O or protocol error on an established connection.
    #[error("connection error: {0}")]
    Io(String),
}

/// Outcome of one non-blocking read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsRead {
    /// A text (or binary) message; its bytes are in the caller's buffer, length given.
    Message(usize),
    /// A control frame was handled (ping answered, pong seen); call again.
    Control,
    /// Nothing to read right now.
    Idle,
}

/// An established, non-blocking WebSocket connection.
#[derive(Debug)]
pub struct WsConn {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    fd: RawFd,
    peer: SocketAddr,
}

/// Largest message accepted, bytes (a 5000-level snapshot is well under 1 MiB).
const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// Connects to a `ws://` or `wss://` endpoint, blocking up to `timeout` for each step
/// (resolve, TCP connect per address, TLS + WebSocket handshake).
pub fn connect(endpoint: &Endpoint, timeout: Duration) -> Result<WsConn, NetError> {
    if !endpoint.websocket {
        return Err(NetError::NotWebSocket(endpoint.to_string()));
    }
    let stream = connect_tcp(endpoint, timeout)?;
    let peer = stream.peer_addr().map_err(|source| NetError::Connect {
        endpoint: endpoint.to_string(),
        source,
    })?;
    let io_err = |source| NetError::Connect {
        endpoint: endpoint.to_string(),
        source,
    };
    stream.set_read_timeout(Some(timeout)).map_err(io_err)?;
    stream.set_write_timeout(Some(timeout)).map_err(io_err)?;
    stream.set_nodelay(true).map_err(io_err)?;
    let connector = if endpoint.tls {
        tungstenite::Connector::Rustls(tls::client_config()?)
    } else {
        tungstenite::Connector::Plain
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let url = endpoint.to_string();
    let (ws, _response) =
        tungstenite::client_tls_with_config(url.as_str(), stream, Some(config), Some(connector))
            .map_err(|e| NetError::Handshake {
                endpoint: url.clone(),
                why: e.to_string(),
            })?;
    let tcp = match ws.get_ref() {
        MaybeTlsStream::Plain(s) => s,
        MaybeTlsStream::Rustls(s) => s.get_ref(),
        _ => {
            return Err(NetError::Handshake {
                endpoint: url,
                why: "unexpected stream type".into(),
            });
        }
    };
    tcp.set_nonblocking(true).map_err(io_err)?;
    tcp.set_read_timeout(None).map_err(io_err)?;
    tcp.set_write_timeout(None).map_err(io_err)?;
    let fd = tcp.as_raw_fd();
    Ok(WsConn { ws, fd, peer })
}

/// Resolves `endpoint` and connects to the first address that answers.
pub fn connect_tcp(endpoint: &Endpoint, timeout: Duration) -> Result<TcpStream, NetError> {
    let addrs: Vec<SocketAddr> = (endpoint.host.as_str(), endpoint.port)
        .to_socket_addrs()
        .map_err(|e| NetError::Resolve {
            host: endpoint.host.clone(),
            why: e.to_string(),
        })?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    if addrs.is_empty() {
        return Err(NetError::Resolve {
            host: endpoint.host.clone(),
            why: "no address".into(),
        });
    }
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(NetError::Connect {
        endpoint: endpoint.to_string(),
        source: last,
    })
}

impl WsConn {
    /// The socket's file descriptor, for registration with `mio`.
    pub fn fd(&self) -> RawFd {
        self.fd
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Reads at most one message without blocking; a text or binary message's bytes replace
    /// the contents of `buf` (which keeps its capacity between calls).
    pub fn read(&mut self, buf: &mut Vec<u8>) -> Result<WsRead, NetError> {
        match self.ws.read() {
            Ok(Message::Text(text)) => {
                buf.clear();
                buf.extend_from_slice(text.as_bytes());
                Ok(WsRead::Message(buf.len()))
            }
            Ok(Message::Binary(bytes)) => {
                buf.clear();
                buf.extend_from_slice(&bytes);
                Ok(WsRead::Message(buf.len()))
            }
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => Ok(WsRead::Control),
            Ok(Message::Close(_)) => Err(NetError::Closed),
            Err(e) => map_error(e).map(|()| WsRead::Idle),
        }
    }

    /// Queues a text message and writes as much as the socket takes now; the rest goes out
    /// on later [`WsConn::flush`] or read calls.
    pub fn send_text(&mut self, text: &str) -> Result<(), NetError> {
        match self.ws.send(Message::text(text)) {
            Ok(()) => Ok(()),
            Err(e) => map_error(e),
        }
    }

    /// Writes whatever is queued (pongs, partly written messages).
    pub fn flush(&mut self) -> Result<(), NetError> {
        match self.ws.flush() {
            Ok(()) => Ok(()),
            Err(e) => map_error(e),
        }
    }

    /// Starts a clean close (best effort; the socket is dropped with the value).
    pub fn close(&mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}

/// `WouldBlock` is not an error on a non-blocking socket; everything else is.
fn map_error(e: tungstenite::Error) -> Result<(), NetError> {
    match e {
        tungstenite::Error::Io(io) if io.kind() == io::ErrorKind::WouldBlock => Ok(()),
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            Err(NetError::Closed)
        }
        other => Err(NetError::Io(other.to_string())),
    }
}
