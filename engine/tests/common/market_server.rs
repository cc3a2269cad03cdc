//! A recorded market on loopback: serves a recording's REST snapshot over HTTP and its
//! stream frames over a WebSocket, releasing frames as the test allows. Enough of Binance
//! for the engine's live feed; the full simulator lives in `obi-bench`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The server; dropped → stops.
pub struct RecordedMarket {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Frames the stream may send (the test raises it).
    pub released: Arc<AtomicUsize>,
    /// Frames sent so far on the current stream connection.
    pub sent: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RecordedMarket {
    /// Serves `snapshot` (bare JSON) and `frames` (combined-stream JSON, in order).
    pub fn start(snapshot: String, frames: Vec<String>) -> RecordedMarket {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let released = Arc::new(AtomicUsize::new(0));
        let sent = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let frames = Arc::new(frames);
        let snapshot = Arc::new(snapshot);
        let (r, s, st) = (released.clone(), sent.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut workers = Vec::new();
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (frames, snapshot) = (frames.clone(), snapshot.clone());
                        let (r, s, st) = (r.clone(), s.clone(), st.clone());
                        workers.push(std::thread::spawn(move || {
                            serve(conn, &snapshot, &frames, &r, &s, &st)
                        }));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
            for w in workers {
                let _ = w.join();
            }
        });
        RecordedMarket {
            addr,
            released,
            sent,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for RecordedMarket {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    mut conn: TcpStream,
    snapshot: &str,
    frames: &[String],
    released: &AtomicUsize,
    sent: &AtomicUsize,
    stop: &AtomicBool,
) {
    conn.set_nonblocking(false).expect("blocking");
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut head = [0u8; 2048];
    let n = conn.peek(&mut head).unwrap_or(0);
    let head = String::from_utf8_lossy(&head[..n]).into_owned();
    if head.starts_with("GET /fapi/v1/depth") || head.starts_with("GET /api/v3/depth") {
        let mut buf = [0u8; 4096];
        let _ = conn.read(&mut buf);
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{snapshot}",
            snapshot.len()
        );
        let _ = conn.write_all(response.as_bytes());
        return;
    }
    let Ok(mut ws) = tungstenite::accept(conn) else {
        return;
    };
    let mut next = 0;
    while !stop.load(Ordering::Relaxed) {
        let limit = released.load(Ordering::Acquire).min(frames.len());
        if next < limit {
            for frame in &frames[next..limit] {
                if ws.send(tungstenite::Message::text(frame.as_str())).is_err() {
                    return;
                }
            }
            next = limit;
            sent.store(next, Ordering::Release);
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let _ = ws.close(None);
}
