//! `[venue]`: where market data and orders go, how the feed reconnects, and the API keys'
//! source (never the keys themselves: those come from the environment or an owner-only file).

use crate::instrument::Market;
use crate::net::{Endpoint, backoff::BackoffConfig};
use crate::venue::keys::{KeySource, KeyType, SecretSource};
use serde::Deserialize;
use std::path::PathBuf;

/// Paper trading (live market data, simulated fills) or real orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TradingMode {
    /// Fills from the paper venue's queue model; no order leaves the process.
    Paper,
    /// Orders go to the venue's order API. Needs `--live` or `OBI_ENABLE_LIVE=1` as well.
    Live,
}

/// A venue's endpoint set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VenueProfile {
    /// Binance spot.
    Spot,
    /// Binance spot testnet.
    SpotTestnet,
    /// Binance USD-M futures.
    Usdm,
    /// Binance USD-M futures testnet.
    UsdmTestnet,
}

impl VenueProfile {
    /// `(rest_url, stream_url, ws_api_url)` of the profile.
    pub fn urls(self) -> (&'static str, &'static str, &'static str) {
        match self {
            VenueProfile::Spot => (
                "https://api.binance.com",
                "wss://stream.binance.com:9443",
                "wss://ws-api.binance.com:443/ws-api/v3",
            ),
            VenueProfile::SpotTestnet => (
                "https://testnet.binance.vision",
                "wss://stream.testnet.binance.vision",
                "wss://ws-api.testnet.binance.vision/ws-api/v3",
            ),
            VenueProfile::Usdm => (
                "https://fapi.binance.com",
                "wss://fstream.binance.com",
                "wss://ws-fapi.binance.com/ws-fapi/v1",
            ),
            VenueProfile::UsdmTestnet => (
                "https://testnet.binancefuture.com",
                "wss://fstream.binancefuture.com",
                "wss://testnet.binancefuture.com/ws-fapi/v1",
            ),
        }
    }

    /// The production profile for a market.
    pub fn for_market(market: Market) -> VenueProfile {
        match market {
            Market::Spot => VenueProfile::Spot,
            _ => VenueProfile::Usdm,
        }
    }
}

/// The kind of API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// Ed25519 key pair: the session logs on once (required by Binance for `session.logon`).
    Ed25519,
    /// HMAC-SHA256 secret: every request is signed.
    Hmac,
}

/// `[venue]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VenueSection {
    /// `paper` or `live`.
    pub mode: TradingMode,
    /// Endpoint set; absent = the production profile of the instruments' market.
    pub profile: Option<VenueProfile>,
    /// Overrides the profile's REST base URL (depth snapshots).
    pub rest_url: Option<String>,
    /// Overrides the profile's market-stream base URL.
    pub stream_url: Option<String>,
    /// Overrides the profile's WebSocket order API URL.
    pub ws_api_url: Option<String>,
    /// Depth stream suffix, e.g. `depth@100ms` (spot) or `depth@0ms` (usdm).
    pub depth_stream: String,
    /// Subscribe to bookTicker (the book's running cross-check).
    pub book_ticker: bool,
    /// Subscribe to public trades (`<symbol>@trade`).
    pub trades: bool,
    /// Levels in each REST depth snapshot.
    pub snapshot_limit: u32,
    /// Least time between two snapshot requests for one instrument, ms.
    pub snapshot_min_interval_ms: u64,
    /// Timeout for each connection step and each snapshot request, ms.
    pub connect_timeout_ms: u64,
    /// No frame for this long marks the feed stale and reconnects it, ms.
    pub stale_feed_ms: u64,
    /// Connections are replaced (new one first) after this age, s; Binance closes at 24 h.
    pub max_connection_age_s: u64,
    /// First reconnect delay, ms.
    pub reconnect_initial_ms: u64,
    /// Largest reconnect delay, ms.
    pub reconnect_max_ms: u64,
    /// A connection up this long resets the reconnect delay, ms.
    pub reconnect_healthy_after_ms: u64,
    /// Consecutive failed attempts that raise the feed's "exhausted" alert state (0 = never).
    pub reconnect_max_attempts: u32,
    /// Order-request validity window sent with signed requests, ms.
    pub recv_window_ms: u64,
    /// USD-M exchange-side dead-man switch: `countdownCancelAll` with this countdown, ms
    /// (0 = off; spot has no such call and ignores it). Re-armed every
    /// `dead_man_refresh_ms` while order entry is up, so if the engine dies or loses the
    /// venue for longer than this, the venue cancels every resting order itself.
    pub dead_man_ms: u64,
    /// Interval between dead-man re-arms, ms (below `dead_man_ms`).
    pub dead_man_refresh_ms: u64,
    /// API key type.
    pub key_kind: KeyKind,
    /// Environment variable holding the API key.
    pub api_key_env: String,
    /// Environment variable holding the secret (HMAC secret or Ed25519 private key PEM).
    pub secret_env: String,
    /// Owner-only file holding the secret, used when the variable is unset.
    pub secret_file: Option<PathBuf>,
}

impl Default for VenueSection {
    fn default() -> Self {
        VenueSection {
            mode: TradingMode::Paper,
            profile: None,
            rest_url: None,
            stream_url: None,
            ws_api_url: None,
            depth_stream: "depth@100ms".into(),
            book_ticker: true,
            trades: true,
            snapshot_limit: 1000,
            snapshot_min_interval_ms: 1000,
            connect_timeout_ms: 5000,
            stale_feed_ms: 10_000,
            max_connection_age_s: 23 * 3600,
            reconnect_initial_ms: 100,
            reconnect_max_ms: 60_000,
            reconnect_healthy_after_ms: 30_000,
            reconnect_max_attempts: 20,
            recv_window_ms: 5000,
            dead_man_ms: 60_000,
            dead_man_refresh_ms: 15_000,
            key_kind: KeyKind::Ed25519,
            api_key_env: "OBI_API_KEY".into(),
            secret_env: "OBI_API_SECRET".into(),
            secret_file: None,
        }
    }
}

/// The venue settings resolved: parsed URLs, one market for every instrument.
#[derive(Debug, Clone)]
pub struct VenueConfig {
    /// As written (mode, timeouts, key source).
    pub section: VenueSection,
    /// The instruments' market.
    pub market: Market,
    /// REST base URL.
    pub rest: Endpoint,
    /// Market-stream base URL.
    pub stream: Endpoint,
    /// Order API URL.
    pub ws_api: Endpoint,
}

impl VenueConfig {
    /// Resolves the profile and overrides; every instrument must be on `market`.
    pub fn resolve(section: VenueSection, market: Market) -> Result<VenueConfig, String> {
        let profile = section
            .profile
            .unwrap_or_else(|| VenueProfile::for_market(market));
        let (rest, stream, ws_api) = profile.urls();
        let parse = |given: &Option<String>, default: &str, name: &str, websocket: bool| {
            let text = given.as_deref().unwrap_or(default);
            let e = Endpoint::parse(text).map_err(|e| format!("{name}: {e}"))?;
            if e.websocket != websocket {
                let want = if websocket {
                    "ws:// or wss://"
                } else {
                    "http:// or https://"
                };
                return Err(format!("{name} must be a {want} URL, got {text:?}"));
            }
            Ok(e)
        };
        let rest = parse(&section.rest_url, rest, "rest_url", false)?;
        let stream = parse(&section.stream_url, stream, "stream_url", true)?;
        let ws_api = parse(&section.ws_api_url, ws_api, "ws_api_url", true)?;
        for (name, v) in [
            ("connect_timeout_ms", section.connect_timeout_ms),
            ("stale_feed_ms", section.stale_feed_ms),
            ("max_connection_age_s", section.max_connection_age_s),
            ("reconnect_initial_ms", section.reconnect_initial_ms),
            ("recv_window_ms", section.recv_window_ms),
        ] {
            if v == 0 {
                return Err(format!("{name} must be at least 1"));
            }
        }
        if section.reconnect_max_ms < section.reconnect_initial_ms {
            return Err("reconnect_max_ms must be at least reconnect_initial_ms".into());
        }
        crate::venue::binance::config::check_dead_man(
            section.dead_man_ms,
            section.dead_man_refresh_ms,
        )?;
        if section.recv_window_ms > 60_000 {
            return Err("recv_window_ms must be at most 60000 (Binance's limit)".into());
        }
        if !matches!(
            section.snapshot_limit,
            5 | 10 | 20 | 50 | 100 | 500 | 1000 | 5000
        ) {
            return Err("snapshot_limit must be one of 5, 10, 20, 50, 100, 500, 1000, 5000".into());
        }
        let stream_ok = section
            .depth_stream
            .strip_prefix("depth")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('@'));
        if !stream_ok || section.depth_stream.contains(['/', '?', '&', ' ']) {
            return Err(format!(
                "depth_stream must look like \"depth@100ms\", got {:?}",
                section.depth_stream
            ));
        }
        Ok(VenueConfig {
            section,
            market,
            rest,
            stream,
            ws_api,
        })
    }

    /// Reconnect backoff settings.
    pub fn backoff(&self) -> BackoffConfig {
        BackoffConfig {
            initial_ms: self.section.reconnect_initial_ms,
            max_ms: self.section.reconnect_max_ms,
            healthy_after_ms: self.section.reconnect_healthy_after_ms,
            max_attempts: self.section.reconnect_max_attempts,
        }
    }

    /// Where the order API key and secret come from.
    pub fn key_source(&self) -> KeySource {
        let v = &self.section;
        KeySource {
            key_type: match v.key_kind {
                KeyKind::Ed25519 => KeyType::Ed25519,
                KeyKind::Hmac => KeyType::Hmac,
            },
            api_key_env: v.api_key_env.clone(),
            secret: match &v.secret_file {
                Some(file) => SecretSource::EnvThenFile {
                    var: v.secret_env.clone(),
                    file: file.clone(),
                },
                None => SecretSource::Env(v.secret_env.clone()),
            },
        }
    }
}
