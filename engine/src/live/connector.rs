//! The connector thread: opens WebSocket connections (DNS, TCP, TLS, handshake — all of
//! which block) so the core thread never does, and drops retired connections off it too.
//!
//! The core thread talks to it through two small bounded `crossbeam` channels; it only
//! uses them on connection events (connect, reconnect, rotation), never per frame.

use crate::net::{Endpoint, NetError, WsConn, ws};
use crossbeam::channel::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the core thread asks for.
#[derive(Debug)]
pub enum ConnectRequest {
    /// Open a connection; the answer carries `ticket` back.
    Open {
        /// Matches the answer to the request.
        ticket: u64,
        /// Where to connect.
        endpoint: Endpoint,
    },
    /// Close and drop a connection the core thread no longer uses.
    Retire(Box<WsConn>),
}

/// The connector's answer.
#[derive(Debug)]
pub struct Connected {
    /// The request's ticket.
    pub ticket: u64,
    /// The connection, or why there is none.
    pub result: Result<Box<WsConn>, NetError>,
    /// How long connecting took, ms.
    pub took_ms: u64,
}

/// The core thread's handle on the connector thread.
#[derive(Debug)]
pub struct Connector {
    requests: Option<Sender<ConnectRequest>>,
    answers: Receiver<Connected>,
    thread: Option<JoinHandle<()>>,
}

impl Connector {
    /// Starts the thread; each connection step waits at most `timeout`.
    pub fn spawn(timeout: Duration) -> std::io::Result<Connector> {
        let (req_tx, req_rx) = channel::bounded::<ConnectRequest>(16);
        let (ans_tx, ans_rx) = channel::bounded::<Connected>(16);
        let thread = std::thread::Builder::new()
            .name("obi-connector".into())
            .spawn(move || {
                for request in req_rx {
                    match request {
                        ConnectRequest::Open { ticket, endpoint } => {
                            let start = Instant::now();
                            let result = ws::connect(&endpoint, timeout).map(Box::new);
                            let took_ms = start.elapsed().as_millis() as u64;
                            if ans_tx
                                .send(Connected {
                                    ticket,
                                    result,
                                    took_ms,
                                })
                                .is_err()
                            {
                                return;
                            }
                        }
                        ConnectRequest::Retire(mut conn) => conn.close(),
                    }
                }
            })?;
        Ok(Connector {
            requests: Some(req_tx),
            answers: ans_rx,
            thread: Some(thread),
        })
    }

    /// Asks for a connection; false if the request queue is full or the thread is gone.
    pub fn open(&self, ticket: u64, endpoint: &Endpoint) -> bool {
        self.requests.as_ref().is_some_and(|tx| {
            tx.try_send(ConnectRequest::Open {
                ticket,
                endpoint: endpoint.clone(),
            })
            .is_ok()
        })
    }

    /// Hands a connection over to be closed and dropped off the core thread.
    pub fn retire(&self, conn: Box<WsConn>) {
        if let Some(tx) = &self.requests
            && let Err(e) = tx.try_send(ConnectRequest::Retire(conn))
        {
            // Queue full: close it here rather than leak it.
            if let ConnectRequest::Retire(mut conn) = e.into_inner() {
                conn.close();
            }
        }
    }

    /// An answer, if one is ready.
    pub fn poll(&self) -> Option<Connected> {
        self.answers.try_recv().ok()
    }
}

impl Drop for Connector {
    fn drop(&mut self) {
        self.requests = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
