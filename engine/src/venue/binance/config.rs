//! Gateway settings: a plain struct the engine fills from its TOML.

use crate::net::backoff::BackoffConfig;
use crate::venue::keys::KeySource;

/// How the gateway thread waits for work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollMode {
    /// Busy-polls the intent ring and the non-blocking socket (one core, lowest latency).
    Spin,
    /// Sleeps in `mio::Poll` on the socket and a waker the core thread calls after pushing
    /// intents.
    Block,
}

/// Everything the gateway thread needs besides its rings and instruments.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// WebSocket API URL, e.g. `wss://ws-api.binance.com:443/ws-api/v3`.
    pub ws_api_url: String,
    /// Where the API key and secret come from.
    pub keys: KeySource,
    /// `recvWindow` sent with signed requests, ms (0 = omit, venue default 5000).
    pub recv_window_ms: u64,
    /// Timeout of each connection step, ms.
    pub connect_timeout_ms: u64,
    /// Reconnect backoff.
    pub backoff: BackoffConfig,
    /// Interval between clock syncs (`time`), ms.
    pub clock_sync_interval_ms: u64,
    /// A request unanswered this long marks the connection dead (it is replaced and every
    /// open order reconciled), ms.
    pub request_timeout_ms: u64,
    /// New orders are refused locally once an `ORDERS` limit's count would exceed this
    /// fraction of the limit.
    pub rate_limit_headroom: f64,
    /// New orders pause this long after `-1003`/`-1015`, ms.
    pub rate_limit_pause_ms: u64,
    /// Spin or block.
    pub poll_mode: PollMode,
    /// The engine's start time, Unix seconds: the `<run>` of client order ids.
    pub run_id: u64,
    /// On stop, how long to wait for the cancel-alls to be answered and confirmed (every
    /// instrument's `openOrders.status` empty, re-cancelling meanwhile), ms.
    pub stop_timeout_ms: u64,
    /// After `serverShutdown`, how long the old session is kept for in-flight answers, ms.
    pub drain_ms: u64,
    /// Fee rate used when a commission is in neither the quote nor the base asset (BNB) or
    /// unknown (fills found by reconciliation), bps of notional.
    pub fallback_fee_bps: f64,
    /// Finished orders remembered to recognise late events.
    pub keep_done_orders: usize,
    /// Market-stream base URL, e.g. `wss://fstream.binance.com`: the USD-M user-data stream
    /// is `{stream_url}/ws/<listenKey>`. Required for USD-M, unused for spot.
    pub stream_url: Option<String>,
    /// REST base URL, e.g. `https://fapi.binance.com`: USD-M cancel-all
    /// (`DELETE /fapi/v1/allOpenOrders`) and the dead-man switch
    /// (`POST /fapi/v1/countdownCancelAll`). Required for USD-M, unused for spot.
    pub rest_url: Option<String>,
    /// Interval between `userDataStream.ping` keep-alives of the USD-M listenKey, ms
    /// (Binance: a listenKey lapses 60 min after its last keep-alive).
    pub listen_key_ping_ms: u64,
    /// USD-M dead-man switch: `countdownCancelAll` with this countdown, ms (0 = off). While
    /// order entry is fully up the countdown is refreshed every `dead_man_refresh_ms`; if
    /// the process dies or both links stay down longer than this, the venue cancels every
    /// open order of the configured symbols.
    pub dead_man_ms: u64,
    /// Interval between dead-man refreshes, ms (must be below `dead_man_ms`).
    pub dead_man_refresh_ms: u64,
}

impl GatewayConfig {
    /// Defaults for everything but the URL, the keys and the run id.
    pub fn new(ws_api_url: impl Into<String>, keys: KeySource, run_id: u64) -> GatewayConfig {
        GatewayConfig {
            ws_api_url: ws_api_url.into(),
            keys,
            recv_window_ms: 5000,
            connect_timeout_ms: 5000,
            backoff: BackoffConfig::default(),
            clock_sync_interval_ms: 60_000,
            request_timeout_ms: 10_000,
            rate_limit_headroom: 0.9,
            rate_limit_pause_ms: 1000,
            poll_mode: PollMode::Block,
            run_id,
            stop_timeout_ms: 3000,
            drain_ms: 2000,
            fallback_fee_bps: 7.5,
            keep_done_orders: 4096,
            stream_url: None,
            rest_url: None,
            listen_key_ping_ms: 30 * 60 * 1000,
            dead_man_ms: 0,
            dead_man_refresh_ms: 20_000,
        }
    }

    /// Checks values that would make the gateway misbehave.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.rate_limit_headroom > 0.0 && self.rate_limit_headroom <= 1.0) {
            return Err(format!(
                "rate_limit_headroom must be in (0, 1], got {}",
                self.rate_limit_headroom
            ));
        }
        if !self.fallback_fee_bps.is_finite() {
            return Err("fallback_fee_bps must be finite".into());
        }
        if self.request_timeout_ms == 0 || self.connect_timeout_ms == 0 {
            return Err("request_timeout_ms and connect_timeout_ms must be > 0".into());
        }
        if self.clock_sync_interval_ms == 0 {
            return Err("clock_sync_interval_ms must be > 0".into());
        }
        if self.listen_key_ping_ms == 0 || self.listen_key_ping_ms >= 60 * 60 * 1000 {
            return Err(format!(
                "listen_key_ping_ms must be in (0, 3600000) (a listenKey lapses after 60 min), \
                 got {}",
                self.listen_key_ping_ms
            ));
        }
        check_dead_man(self.dead_man_ms, self.dead_man_refresh_ms)
    }
}

/// The dead-man switch's rule: when on (`dead_man_ms > 0`), it is re-armed more often than
/// it runs out.
pub fn check_dead_man(dead_man_ms: u64, dead_man_refresh_ms: u64) -> Result<(), String> {
    if dead_man_ms > 0 && (dead_man_refresh_ms == 0 || dead_man_refresh_ms >= dead_man_ms) {
        return Err(format!(
            "dead_man_refresh_ms must be in (0, dead_man_ms = {dead_man_ms}), got {dead_man_refresh_ms}"
        ));
    }
    Ok(())
}
