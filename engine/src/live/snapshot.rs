//! The snapshot thread: fetches REST depth snapshots off the core thread.
//!
//! The core thread sends a request with a buffer it owns; the thread fills the buffer with
//! the response body and sends it back. Buffers travel back and forth and keep their
//! capacity, so after the first snapshot of each instrument the core thread allocates
//! nothing for snapshots either.

use crate::instrument::InstrumentId;
use crossbeam::channel::{self, Receiver, Sender};
use std::io::Read;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Largest snapshot body accepted, bytes (5000 levels per side is about 300 KB).
const MAX_BODY_BYTES: u64 = 16 << 20;

/// A snapshot request.
#[derive(Debug)]
pub struct SnapshotRequest {
    /// For which instrument.
    pub instrument: InstrumentId,
    /// Full URL (shared, so a request allocates nothing).
    pub url: std::sync::Arc<str>,
    /// Buffer for the body (cleared first; keeps its capacity).
    pub buf: Vec<u8>,
}

/// A fetched snapshot (or why not).
#[derive(Debug)]
pub struct SnapshotReply {
    /// For which instrument.
    pub instrument: InstrumentId,
    /// The body, in the request's buffer; or the error and the buffer back.
    pub result: Result<(), String>,
    /// The buffer (the body when `result` is Ok).
    pub buf: Vec<u8>,
    /// Request duration, ms.
    pub took_ms: u64,
}

/// The core thread's handle on the snapshot thread.
#[derive(Debug)]
pub struct SnapshotFetcher {
    requests: Option<Sender<SnapshotRequest>>,
    replies: Receiver<SnapshotReply>,
    thread: Option<JoinHandle<()>>,
}

impl SnapshotFetcher {
    /// Starts the thread; each request times out after `timeout`.
    pub fn spawn(timeout: Duration) -> std::io::Result<SnapshotFetcher> {
        let (req_tx, req_rx) = channel::bounded::<SnapshotRequest>(64);
        let (rep_tx, rep_rx) = channel::bounded::<SnapshotReply>(64);
        let thread = std::thread::Builder::new()
            .name("obi-snapshot".into())
            .spawn(move || {
                let config = ureq::Agent::config_builder()
                    .timeout_global(Some(timeout))
                    .http_status_as_error(true)
                    .build();
                let agent = ureq::Agent::new_with_config(config);
                for SnapshotRequest {
                    instrument,
                    url,
                    mut buf,
                } in req_rx
                {
                    let start = Instant::now();
                    buf.clear();
                    let result = fetch(&agent, &url, &mut buf);
                    let reply = SnapshotReply {
                        instrument,
                        result,
                        buf,
                        took_ms: start.elapsed().as_millis() as u64,
                    };
                    if rep_tx.send(reply).is_err() {
                        return;
                    }
                }
            })?;
        Ok(SnapshotFetcher {
            requests: Some(req_tx),
            replies: rep_rx,
            thread: Some(thread),
        })
    }

    /// Queues a request; gives the request back if the queue is full.
    pub fn request(&self, request: SnapshotRequest) -> Result<(), SnapshotRequest> {
        match &self.requests {
            Some(tx) => tx.try_send(request).map_err(|e| e.into_inner()),
            None => Err(request),
        }
    }

    /// A reply, if one is ready.
    pub fn poll(&self) -> Option<SnapshotReply> {
        self.replies.try_recv().ok()
    }
}

fn fetch(agent: &ureq::Agent, url: &str, buf: &mut Vec<u8>) -> Result<(), String> {
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    response
        .body_mut()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .reader()
        .read_to_end(buf)
        .map_err(|e| e.to_string())?;
    Ok(())
}

impl Drop for SnapshotFetcher {
    fn drop(&mut self) {
        self.requests = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
