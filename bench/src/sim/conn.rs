//! The loopback listener and one thread per connection: routes a request head to the REST
//! snapshot, a market stream connection or an API connection, and runs WebSocket
//! connections on a `mio` poll so the thread sleeps until a frame is queued, the client
//! writes, or a timer (ping, stall end, scheduled close) is due.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token, Waker};
use tungstenite::protocol::Role;
use tungstenite::{Message, WebSocket};

use super::Shared;
use super::api::{self, ApiSession};
use super::http::{RequestHead, accept_upgrade, error_body, read_head, respond_json};
use super::outbox::{ConnHandle, ConnKind, Streams};

const SOCKET: Token = Token(0);
const WAKE: Token = Token(1);
/// How long a new connection may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest `limit` of a depth snapshot (Binance: 5000).
const MAX_SNAPSHOT_LIMIT: usize = 5_000;

/// Accepts connections until shutdown; each gets its own thread.
pub fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    for stream in listener.incoming() {
        if shared.is_shutdown() {
            break;
        }
        let Ok(stream) = stream else { continue };
        shared.lock_state().record.connections += 1;
        let s = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("obi-sim-conn".into())
            .spawn(move || serve(&s, stream));
        if let Ok(handle) = spawned {
            shared.add_conn_thread(handle);
        }
    }
}

fn serve(shared: &Arc<Shared>, mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let head = match read_head(&mut stream, HEAD_TIMEOUT) {
        Ok(Some(h)) => h,
        Ok(None) | Err(_) => return,
    };
    if shared.is_shutdown() {
        return;
    }
    let path = head.path.clone();
    let outcome = match (head.method.as_str(), path.as_str()) {
        ("GET", "/stream") if head.is_upgrade() => {
            let streams = parse_streams(shared, &head);
            upgrade(shared, stream, head, ConnKind::Market, streams)
        }
        ("GET", "/ws-api/v3") if head.is_upgrade() => {
            upgrade(shared, stream, head, ConnKind::Api, Streams::default())
        }
        ("GET", "/api/v3/depth") => rest_depth(shared, &mut stream, &head, false),
        ("GET", "/fapi/v1/depth") => rest_depth(shared, &mut stream, &head, true),
        ("GET", "/api/v3/time") => {
            let body = serde_json::json!({"serverTime": shared.clock.now_ns() / 1_000_000});
            respond_json(&mut stream, 200, &body.to_string())
        }
        ("GET", "/api/v3/ping") => respond_json(&mut stream, 200, "{}"),
        _ => respond_json(
            &mut stream,
            404,
            &error_body(
                -1000,
                "Not found: the simulator serves /api/v3/depth, /stream and /ws-api/v3.",
            ),
        ),
    };
    // A client that went away mid-answer is not an error of the simulator.
    let _ = outcome;
}

/// Stream names of `/stream?streams=a/b/c` that the simulator serves.
fn parse_streams(shared: &Shared, head: &RequestHead) -> Streams {
    let symbol = shared.writer.symbol.to_ascii_lowercase();
    let mut s = Streams::default();
    for name in head.query_param("streams").unwrap_or("").split('/') {
        let Some((sym, kind)) = name.split_once('@') else {
            continue;
        };
        if sym != symbol {
            continue;
        }
        match kind {
            "depth@100ms" | "depth" => s.depth = Some(name.to_owned()),
            "bookTicker" => s.ticker = Some(name.to_owned()),
            "trade" => s.trade = Some(name.to_owned()),
            _ => {}
        }
    }
    s
}

fn rest_depth(
    shared: &Shared,
    stream: &mut TcpStream,
    head: &RequestHead,
    futures: bool,
) -> io::Result<()> {
    let Some(symbol) = head.query_param("symbol").filter(|s| !s.is_empty()) else {
        let body = error_body(
            -1102,
            "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
        );
        return respond_json(stream, 400, &body);
    };
    if !symbol.eq_ignore_ascii_case(&shared.writer.symbol) {
        return respond_json(stream, 400, &error_body(-1121, "Invalid symbol."));
    }
    let limit = match head.query_param("limit") {
        None => 100,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if n > 0 => n.min(MAX_SNAPSHOT_LIMIT),
            _ => {
                let body = error_body(
                    -1100,
                    "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'.",
                );
                return respond_json(stream, 400, &body);
            }
        },
    };
    let now_ms = shared.clock.now_ns() / 1_000_000;
    let body = {
        let mut st = shared.lock_state();
        st.record.snapshots_served += 1;
        let (last_update_id, bids, asks) = st.book_view(limit);
        let mut body = String::with_capacity(64 + 64 * (bids.len() + asks.len()));
        shared.writer.snapshot(
            &mut body,
            last_update_id,
            futures.then_some(now_ms),
            bids.into_iter(),
            asks.into_iter(),
        );
        body
    };
    respond_json(stream, 200, &body)
}

fn upgrade(
    shared: &Arc<Shared>,
    mut stream: TcpStream,
    head: RequestHead,
    kind: ConnKind,
    streams: Streams,
) -> io::Result<()> {
    if !accept_upgrade(&mut stream, &head)? {
        return Ok(());
    }
    stream.set_read_timeout(None)?;
    stream.set_nonblocking(true)?;
    let mut socket = mio::net::TcpStream::from_std(stream);
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut socket, SOCKET, Interest::READABLE | Interest::WRITABLE)?;
    let waker = Waker::new(poll.registry(), WAKE)?;
    let handle = Arc::new(ConnHandle::new(shared.next_conn_id(), kind, streams, waker));
    shared.register(Arc::clone(&handle));
    let ws = WebSocket::from_partially_read(socket, head.rest, Role::Server, None);
    let overflowed = run_ws(shared, ws, &mut poll, &handle);
    shared.unregister(handle.id);
    if kind == ConnKind::Api {
        api::on_close(shared, &handle);
    }
    if overflowed {
        shared.lock_state().record.slow_consumers_dropped += 1;
    }
    Ok(())
}

fn would_block(e: &tungstenite::Error) -> bool {
    matches!(e, tungstenite::Error::Io(io) if io.kind() == io::ErrorKind::WouldBlock)
}

/// Runs one WebSocket connection until it ends; returns true if it was dropped as a slow
/// consumer.
fn run_ws(
    shared: &Arc<Shared>,
    mut ws: WebSocket<mio::net::TcpStream>,
    poll: &mut Poll,
    handle: &Arc<ConnHandle>,
) -> bool {
    let ping_every = Duration::from_millis(shared.cfg.ping_interval_ms);
    let mut next_ping = Instant::now() + ping_every;
    let mut ping_seq: u64 = 0;
    let mut events = Events::with_capacity(8);
    let mut session = ApiSession::new(shared.clock.now_ns() / 1_000_000);
    loop {
        let now = Instant::now();
        let (stall_end, close_at) = handle.take(|o| (o.stall_until, o.close_at));
        let mut wake_at = next_ping;
        for t in [stall_end, close_at].into_iter().flatten() {
            wake_at = wake_at.min(t);
        }
        let timeout = wake_at.saturating_duration_since(now);
        if let Err(e) = poll.poll(&mut events, Some(timeout))
            && e.kind() != io::ErrorKind::Interrupted
        {
            return false;
        }
        if shared.is_shutdown() {
            let _ = ws.close(None);
            let _ = ws.flush();
            return false;
        }
        loop {
            match ws.read() {
                Ok(Message::Text(text)) => {
                    if handle.kind == ConnKind::Api {
                        api::handle_text(shared, handle, &mut session, text.as_str());
                    }
                }
                Ok(Message::Pong(_)) => shared.lock_state().record.pongs_received += 1,
                Ok(_) => {}
                Err(e) if would_block(&e) => break,
                Err(_) => return false,
            }
        }
        let now = Instant::now();
        let (frames, drop_now, overflowed, close_due) = handle.take(|o| {
            let stalled = o.stall_until.is_some_and(|t| t > now);
            if !stalled {
                o.stall_until = None;
            }
            let frames = if stalled {
                Default::default()
            } else {
                std::mem::take(&mut o.frames)
            };
            let close_due = o.close_at.is_some_and(|t| t <= now);
            (frames, o.drop_now, o.overflowed, close_due)
        });
        if drop_now || overflowed {
            // Dropping the socket without a close frame: the client sees a reset or EOF.
            let _ = ws.get_mut().shutdown(std::net::Shutdown::Both);
            return overflowed && !drop_now;
        }
        let n_frames = frames.len() as u64;
        if n_frames > 0 && handle.kind == ConnKind::Market {
            // Stamped as the frames are handed to the socket: a fast client may answer
            // before this thread would get to stamp after the write.
            shared.frames_written(n_frames);
        }
        for f in frames {
            match ws.write(Message::text(f)) {
                Ok(()) => {}
                Err(e) if would_block(&e) => {}
                Err(_) => return false,
            }
        }
        if now >= next_ping {
            ping_seq += 1;
            let payload = ping_seq.to_string().into_bytes();
            if let Err(e) = ws.write(Message::Ping(payload.into()))
                && !would_block(&e)
            {
                return false;
            }
            next_ping = now + ping_every;
        }
        match ws.flush() {
            Ok(()) => {}
            Err(e) if would_block(&e) => {}
            Err(_) => return false,
        }
        if close_due {
            let _ = ws.close(None);
            let _ = ws.flush();
            return false;
        }
    }
}
