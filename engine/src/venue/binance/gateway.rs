//! The gateway thread: owns the WS API connection (and, for USD-M, the listenKey user-data
//! stream and signed REST), turns intents into signed requests and answers and execution
//! reports into [`Report`]s.
//!
//! Start it with [`spawn`]; stop it with [`GatewayHandle::stop`] (which cancels every open
//! order on each instrument first and lists the open orders until none remain, bounded by
//! `stop_timeout_ms`; `GatewayStats::cancel_all_confirmed` tells whether it got there). The
//! loop itself is in [`super::worker`].

use super::config::GatewayConfig;
use super::stats::GatewayStats;
use super::worker::{UsdmLinks, Worker};
use crate::instrument::{Instruments, Market};
use crate::net::Endpoint;
use crate::order::{Intent, Report};
use crate::venue::keys::Credentials;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// The `mio` token of the gateway's waker.
pub(super) const WAKER_TOKEN: mio::Token = mio::Token(0);

/// A running gateway thread.
///
/// Dropping the handle stops the thread and waits for it, like [`GatewayHandle::stop`].
#[derive(Debug)]
pub struct GatewayHandle {
    stats: Arc<GatewayStats>,
    waker: Arc<mio::Waker>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl GatewayHandle {
    /// The gateway's live figures (atomics: copy them with `snapshot()`).
    pub fn stats(&self) -> &Arc<GatewayStats> {
        &self.stats
    }

    /// The waker the core thread calls (`wake()`) after pushing intents; needed in
    /// [`super::config::PollMode::Block`], harmless in `Spin`.
    pub fn waker(&self) -> Arc<mio::Waker> {
        Arc::clone(&self.waker)
    }

    /// Asks the thread to stop: it cancels all open orders per instrument, confirms with
    /// `openOrders.status` that none remain (bounded wait) and exits. Returns at once.
    pub fn request_stop(&self) {
        // Release: pairs with the worker's Acquire load, nothing else is published.
        self.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
    }

    /// True once the thread has exited.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Requests a stop and waits for the thread; `Err` if it panicked.
    pub fn stop(mut self) -> std::thread::Result<()> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> std::thread::Result<()> {
        self.request_stop();
        match self.thread.take() {
            Some(t) => t.join(),
            None => Ok(()),
        }
    }
}

impl Drop for GatewayHandle {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}

fn invalid(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, why.into())
}

/// Checks the instruments' market (one of spot or USD-M for the whole gateway) and, for
/// USD-M, the user-data stream and REST URLs.
fn usdm_links(config: &GatewayConfig, instruments: &Instruments) -> io::Result<Option<UsdmLinks>> {
    let mut market = None;
    for (_, spec) in instruments.iter() {
        if spec.market == Market::CoinM {
            return Err(invalid(format!(
                "{} is a coinm instrument: live order entry supports spot and usdm",
                spec.symbol
            )));
        }
        match market {
            None => market = Some(spec.market),
            Some(m) if m != spec.market => {
                return Err(invalid(
                    "one gateway trades one market: spot and usdm instruments cannot be mixed",
                ));
            }
            Some(_) => {}
        }
    }
    if market != Some(Market::UsdM) {
        return Ok(None);
    }
    let parse = |url: &Option<String>, name: &str, websocket: bool| -> io::Result<Endpoint> {
        let url = url
            .as_deref()
            .ok_or_else(|| invalid(format!("usdm order entry needs {name}")))?;
        let endpoint = Endpoint::parse(url).map_err(|e| invalid(e.to_string()))?;
        if endpoint.websocket != websocket {
            let kind = if websocket {
                "ws:// or wss://"
            } else {
                "http:// or https://"
            };
            return Err(invalid(format!("{name} {url} is not a {kind} URL")));
        }
        Ok(endpoint)
    };
    Ok(Some(UsdmLinks {
        stream: parse(&config.stream_url, "stream_url", true)?,
        rest: parse(&config.rest_url, "rest_url", false)?,
    }))
}

/// Loads the credentials named by `config.keys` and starts the gateway thread.
///
/// `intents` is the consumer end of the core thread's intent ring, `reports` the producer
/// end of its report ring. `core_waker`, when given, is woken after reports are pushed.
/// Errors (bad URL, unreadable or badly protected key file, unsupported or mixed markets,
/// USD-M without `stream_url` or `rest_url`) are returned before any thread starts and
/// never contain secrets.
pub fn spawn(
    config: GatewayConfig,
    instruments: Instruments,
    intents: rtrb::Consumer<Intent>,
    reports: rtrb::Producer<Report>,
    core_waker: Option<Arc<mio::Waker>>,
) -> io::Result<GatewayHandle> {
    let creds = Credentials::load(&config.keys).map_err(|e| invalid(e.to_string()))?;
    spawn_with_credentials(config, creds, instruments, intents, reports, core_waker)
}

/// [`spawn`] with credentials loaded by the caller (`config.keys` is ignored).
pub fn spawn_with_credentials(
    config: GatewayConfig,
    creds: Credentials,
    instruments: Instruments,
    intents: rtrb::Consumer<Intent>,
    reports: rtrb::Producer<Report>,
    core_waker: Option<Arc<mio::Waker>>,
) -> io::Result<GatewayHandle> {
    config.validate().map_err(invalid)?;
    let endpoint = Endpoint::parse(&config.ws_api_url).map_err(|e| invalid(e.to_string()))?;
    if !endpoint.websocket {
        return Err(invalid(format!(
            "ws_api_url {} is not a ws:// or wss:// URL",
            config.ws_api_url
        )));
    }
    if instruments.is_empty() {
        return Err(invalid("the gateway needs at least one instrument"));
    }
    let usdm_links = usdm_links(&config, &instruments)?;
    let poll = mio::Poll::new()?;
    let waker = Arc::new(mio::Waker::new(poll.registry(), WAKER_TOKEN)?);
    let stats = Arc::new(GatewayStats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let worker = Worker::new(
        config,
        endpoint,
        creds,
        instruments,
        intents,
        reports,
        core_waker,
        Arc::clone(&stats),
        Arc::clone(&stop),
        poll,
        usdm_links,
    );
    let thread = std::thread::Builder::new()
        .name("obi-gateway".into())
        .spawn(move || worker.run())?;
    Ok(GatewayHandle {
        stats,
        waker,
        stop,
        thread: Some(thread),
    })
}
