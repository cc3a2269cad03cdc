//! Simulator configuration: the TOML shape (unknown keys rejected), defaults, and validation
//! into the instrument and keys the simulator runs with.

use std::path::PathBuf;

use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey;
use obi_engine::instrument::{InstrumentSpec, Market, Scale, Symbol};

/// Everything the simulator needs; every field has a default, so `SimConfig::default()` is a
/// working synthetic venue on a free loopback port with authentication off.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Loopback port to listen on; 0 picks a free one. The listener is always `127.0.0.1`.
    pub port: u16,
    /// Seed of the synthetic market (ignored when replaying).
    pub seed: u64,
    /// Pace of the market: 1 = the source's own time, 2 = twice as fast, 0 = as fast as the
    /// stream connections take frames.
    pub speed: f64,
    /// When above 0: one market frame every this many µs (a fixed cadence), whatever the
    /// source's time says (latency benchmarks). Overrides `speed`. Below ~200 µs the rate is
    /// bounded by the simulator's own cost per frame (about 5,000 frames/s in a debug build).
    pub frame_interval_us: u64,
    /// Replay this collector-format recording (`<local_ns> <json>`, plain or `.gz`) instead
    /// of the synthetic market.
    pub replay: Option<PathBuf>,
    /// Server WebSocket ping interval on every connection, ms.
    pub ping_interval_ms: u64,
    /// The one instrument served.
    pub instrument: InstrumentConfig,
    /// The synthetic market's publication settings.
    pub synth: SynthSettings,
    /// Matching and fees of our orders.
    pub matching: MatchingConfig,
    /// Keys the WebSocket API accepts.
    pub auth: AuthConfig,
    /// Fault injection; every switch off by default.
    pub faults: FaultConfig,
    /// The simulated account's starting balances.
    pub account: AccountConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            port: 0,
            seed: 1,
            speed: 1.0,
            frame_interval_us: 0,
            replay: None,
            ping_interval_ms: 20_000,
            instrument: InstrumentConfig::default(),
            synth: SynthSettings::default(),
            matching: MatchingConfig::default(),
            auth: AuthConfig::default(),
            faults: FaultConfig::default(),
            account: AccountConfig::default(),
        }
    }
}

/// Starting balances of the one simulated account (`account.status`). Fills move them; orders
/// are not refused for want of balance.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountConfig {
    /// Base asset (`ETH` of `ETHUSDT`) at start, decimal text, at most 8 decimals.
    pub base_balance: String,
    /// Quote asset (`instrument.quote_asset`) at start, decimal text, at most 8 decimals.
    pub quote_balance: String,
}

impl Default for AccountConfig {
    fn default() -> Self {
        Self {
            base_balance: "10".to_owned(),
            quote_balance: "100000".to_owned(),
        }
    }
}

/// The instrument: symbol and grids (spot).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InstrumentConfig {
    /// Upper-case symbol (`ETHUSDT`).
    pub symbol: String,
    /// Price step as decimal text.
    pub tick_size: String,
    /// Quantity step as decimal text.
    pub step_size: String,
    /// Asset commissions are charged in (`N` of execution reports).
    pub quote_asset: String,
    /// Initial price of the synthetic market, decimal text on the tick grid.
    pub start_price: String,
}

impl Default for InstrumentConfig {
    fn default() -> Self {
        Self {
            symbol: "ETHUSDT".to_owned(),
            tick_size: "0.01".to_owned(),
            step_size: "0.001".to_owned(),
            quote_asset: "USDT".to_owned(),
            start_price: "2500.00".to_owned(),
        }
    }
}

/// How the synthetic market is published.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SynthSettings {
    /// Interval between depth diffs, ms (Binance spot `@depth@100ms` is 100).
    pub diff_interval_ms: f64,
    /// Scales every hidden-pressure effect of the model; 0 is a market with no signal.
    pub pressure_strength: f64,
}

impl Default for SynthSettings {
    fn default() -> Self {
        Self {
            diff_interval_ms: 100.0,
            pressure_strength: 1.0,
        }
    }
}

/// Matching of our orders (the paper venue's queue model with zero latency) and fees.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchingConfig {
    /// Fee on maker fills, bps of notional.
    pub maker_fee_bps: f64,
    /// Fee on taker fills, bps of notional.
    pub taker_fee_bps: f64,
    /// `proportional`, `all_ahead` or `trades_only`.
    pub queue_model: obi_engine::paper::QueueModel,
    /// Book levels per side marketable orders may take.
    pub visible_levels: u32,
    /// Most of our orders resting at once.
    pub max_open_orders: u32,
}

impl Default for MatchingConfig {
    fn default() -> Self {
        Self {
            maker_fee_bps: 1.0,
            taker_fee_bps: 1.0,
            queue_model: obi_engine::paper::QueueModel::Proportional,
            visible_levels: 32,
            max_open_orders: 200,
        }
    }
}

/// API keys. With no `api_key`, authentication is off: any logon succeeds and no request
/// needs a signature.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// The API key requests must name.
    pub api_key: Option<String>,
    /// Ed25519 public key for `session.logon`: PEM text, 64 hex digits, or a path to a file
    /// holding either.
    pub ed25519_public_key: Option<String>,
    /// Name of an environment variable holding the HMAC-SHA256 secret (per-request signing).
    pub hmac_secret_env: Option<String>,
    /// The HMAC secret itself (library use; never read from a file).
    #[serde(skip)]
    pub hmac_secret: Option<String>,
}

/// Faults, each off at 0. Periods are seconds (fractions allowed) of wall-clock time.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultConfig {
    /// Drop every market and API connection (no close frame) every this many s.
    pub drop_every_s: f64,
    /// Leave one depth diff out of the stream (a sequence gap) every this many s.
    pub gap_every_s: f64,
    /// Send a truncated, unparseable frame on market connections every this many s.
    pub malformed_every_s: f64,
    /// Stop writing to market connections (socket left open) every this many s ...
    pub stall_every_s: f64,
    /// ... for this many ms; frames held meanwhile follow afterwards.
    pub stall_ms: u64,
    /// Refuse every Nth `order.place` with -2010.
    pub reject_every_n_orders: u64,
    /// Answer every Nth `order.place` with -1007 (status unknown), placing the order on
    /// odd occurrences and not on even ones.
    pub unknown_every_n_orders: u64,
    /// Send `serverShutdown` on API connections every this many s ...
    pub shutdown_every_s: f64,
    /// ... and close them this many ms later.
    pub shutdown_grace_ms: u64,
    /// Once, this many s after start: publish no market data at all (every socket stays
    /// open, new connections get snapshots but no diffs) ...
    pub silence_after_s: f64,
    /// ... for this many ms; the market then resumes where it stopped (nothing is held).
    pub silence_ms: u64,
    /// Once, this many s after start: move the whole book by `price_jump_bps` of the mid
    /// (every level deleted, then re-added shifted; later prices and trades stay shifted).
    pub price_jump_after_s: f64,
    /// The jump, bps of the mid, signed (1000 = +10 %), in -5000..=10000 and not 0.
    pub price_jump_bps: i32,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            drop_every_s: 0.0,
            gap_every_s: 0.0,
            malformed_every_s: 0.0,
            stall_every_s: 0.0,
            stall_ms: 0,
            reject_every_n_orders: 0,
            unknown_every_n_orders: 0,
            shutdown_every_s: 0.0,
            shutdown_grace_ms: 1_000,
            silence_after_s: 0.0,
            silence_ms: 0,
            price_jump_after_s: 0.0,
            price_jump_bps: 0,
        }
    }
}

/// Why a configuration is unusable. The message names the key.
#[derive(Debug, thiserror::Error)]
pub enum SimConfigError {
    /// The TOML text does not parse or has an unknown key.
    #[error("config: {0}")]
    Toml(String),
    /// A value is out of range.
    #[error("config: {key}: {why}")]
    Invalid {
        /// The offending key.
        key: &'static str,
        /// What is wrong.
        why: String,
    },
    /// A file the config names cannot be read.
    #[error("config: cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Longest delay any `_ms` key accepts (1 h): anything longer is a unit mistake.
const HOUR_MS: u64 = 3_600_000;

fn invalid(key: &'static str, why: impl Into<String>) -> SimConfigError {
    SimConfigError::Invalid {
        key,
        why: why.into(),
    }
}

/// The parts of a config that need checking, in the form the simulator uses.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub spec: InstrumentSpec,
    pub start_price_ticks: i64,
    pub api_key: Option<String>,
    pub ed25519: Option<VerifyingKey>,
    pub hmac_secret: Option<Vec<u8>>,
    /// Starting base balance, balance units (`account::BALANCE_DECIMALS`).
    pub base_balance_units: i128,
    /// Starting quote balance, balance units.
    pub quote_balance_units: i128,
}

impl SimConfig {
    /// Parses TOML text (unknown keys are errors) without validating values.
    pub fn from_toml(text: &str) -> Result<SimConfig, SimConfigError> {
        toml::from_str(text).map_err(|e| SimConfigError::Toml(e.to_string()))
    }

    /// Checks every value; resolves the instrument grids and keys.
    pub fn validate(&self) -> Result<(), SimConfigError> {
        self.resolve().map(|_| ())
    }

    pub(crate) fn resolve(&self) -> Result<Resolved, SimConfigError> {
        if !(self.speed == 0.0 || (self.speed.is_finite() && (0.001..=1e6).contains(&self.speed))) {
            return Err(invalid(
                "speed",
                "must be 0 (as fast as possible) or in [0.001, 1e6]",
            ));
        }
        if !(1..=HOUR_MS).contains(&self.ping_interval_ms) {
            return Err(invalid("ping_interval_ms", "must be in [1, 3600000]"));
        }
        if self.frame_interval_us > 60_000_000 {
            return Err(invalid(
                "frame_interval_us",
                "must be at most 60000000 (60 s)",
            ));
        }
        let s = &self.synth;
        if !(s.diff_interval_ms.is_finite() && s.diff_interval_ms >= 1.0) {
            return Err(invalid("synth.diff_interval_ms", "must be at least 1"));
        }
        if !(s.pressure_strength.is_finite() && (0.0..=1.0).contains(&s.pressure_strength)) {
            return Err(invalid("synth.pressure_strength", "must be in [0, 1]"));
        }
        let f = &self.faults;
        for (key, v) in [
            ("faults.drop_every_s", f.drop_every_s),
            ("faults.gap_every_s", f.gap_every_s),
            ("faults.malformed_every_s", f.malformed_every_s),
            ("faults.stall_every_s", f.stall_every_s),
            ("faults.shutdown_every_s", f.shutdown_every_s),
            ("faults.silence_after_s", f.silence_after_s),
            ("faults.price_jump_after_s", f.price_jump_after_s),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(invalid(key, "must be a finite number of seconds >= 0"));
            }
            if v > 0.0 && !(0.01..=1e6).contains(&v) {
                return Err(invalid(key, "must be 0 (off) or in [0.01, 1e6] s"));
            }
        }
        for (key, v) in [
            ("faults.stall_ms", f.stall_ms),
            ("faults.shutdown_grace_ms", f.shutdown_grace_ms),
            ("faults.silence_ms", f.silence_ms),
        ] {
            if v > HOUR_MS {
                return Err(invalid(key, "must be at most 3600000 (1 h)"));
            }
        }
        if f.stall_every_s > 0.0 && f.stall_ms == 0 {
            return Err(invalid(
                "faults.stall_ms",
                "must be above 0 when stalls are on",
            ));
        }
        if f.silence_after_s > 0.0 && f.silence_ms == 0 {
            return Err(invalid(
                "faults.silence_ms",
                "must be above 0 when a silence is scheduled",
            ));
        }
        if f.price_jump_after_s > 0.0 && !valid_jump_bps(f.price_jump_bps) {
            return Err(invalid(
                "faults.price_jump_bps",
                "must be in -5000..=10000 and not 0 when a jump is scheduled",
            ));
        }
        let m = &self.matching;
        let paper = self.paper_config();
        paper.validate().map_err(|why| invalid("matching", why))?;
        if m.visible_levels == 0 || m.max_open_orders == 0 {
            return Err(invalid(
                "matching",
                "visible_levels and max_open_orders must be above 0",
            ));
        }
        let i = &self.instrument;
        let symbol = Symbol::new(&i.symbol)
            .filter(|_| i.symbol.bytes().all(|b| b.is_ascii_alphanumeric()))
            .ok_or_else(|| invalid("instrument.symbol", "must be 1 to 31 letters or digits"))?;
        let price = Scale::from_step_text(&i.tick_size)
            .map_err(|e| invalid("instrument.tick_size", e.to_string()))?;
        let qty = Scale::from_step_text(&i.step_size)
            .map_err(|e| invalid("instrument.step_size", e.to_string()))?;
        if price.decimals > 8 || qty.decimals > 8 {
            return Err(invalid(
                "instrument",
                "tick_size and step_size may have at most 8 decimals",
            ));
        }
        if i.quote_asset.is_empty() || !i.quote_asset.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid(
                "instrument.quote_asset",
                "must be letters or digits",
            ));
        }
        let start_price_ticks = price
            .steps(i.start_price.as_bytes())
            .ok()
            .filter(|t| *t > 1_000)
            .ok_or_else(|| {
                invalid(
                    "instrument.start_price",
                    "must be a price on the tick grid, above 1000 ticks",
                )
            })?;
        let spec = InstrumentSpec {
            symbol,
            market: Market::Spot,
            price,
            qty,
        };
        let a = &self.auth;
        let ed25519 = a
            .ed25519_public_key
            .as_deref()
            .map(parse_ed25519_public_key)
            .transpose()?;
        let hmac_secret = match (&a.hmac_secret, &a.hmac_secret_env) {
            (Some(s), _) => Some(s.clone().into_bytes()),
            (None, Some(var)) => Some(
                std::env::var(var)
                    .map_err(|_| {
                        invalid(
                            "auth.hmac_secret_env",
                            format!("environment variable {var} is not set"),
                        )
                    })?
                    .into_bytes(),
            ),
            (None, None) => None,
        };
        if a.api_key.as_deref().is_some_and(str::is_empty) {
            return Err(invalid("auth.api_key", "must not be empty"));
        }
        if a.api_key.is_none() && (ed25519.is_some() || hmac_secret.is_some()) {
            return Err(invalid(
                "auth.api_key",
                "is needed when a key is configured",
            ));
        }
        let balance = |key: &'static str, text: &str| {
            super::account::parse_balance(text).ok_or_else(|| {
                invalid(key, "must be a decimal number >= 0 with at most 8 decimals")
            })
        };
        let base_balance_units = balance("account.base_balance", &self.account.base_balance)?;
        let quote_balance_units = balance("account.quote_balance", &self.account.quote_balance)?;
        Ok(Resolved {
            spec,
            start_price_ticks,
            api_key: a.api_key.clone(),
            ed25519,
            hmac_secret,
            base_balance_units,
            quote_balance_units,
        })
    }

    /// The paper venue settings matching our orders: zero latencies, this config's fees.
    pub(crate) fn paper_config(&self) -> obi_engine::paper::PaperConfig {
        let m = &self.matching;
        obi_engine::paper::PaperConfig {
            order_latency_ns: 0,
            report_latency_ns: 0,
            maker_fee_bps: m.maker_fee_bps,
            taker_fee_bps: m.taker_fee_bps,
            queue_model: m.queue_model,
            visible_levels: m.visible_levels,
            max_open_orders: m.max_open_orders,
            max_in_flight: 1024,
        }
    }
}

/// A price jump the simulator can make: not 0, not below -50 %, not above +100 %.
pub fn valid_jump_bps(bps: i32) -> bool {
    bps != 0 && (-5_000..=10_000).contains(&bps)
}

/// Reads an Ed25519 public key: PEM (SPKI) text, 64 hex digits, or a file holding either.
pub fn parse_ed25519_public_key(text: &str) -> Result<VerifyingKey, SimConfigError> {
    const KEY: &str = "auth.ed25519_public_key";
    let t = text.trim();
    if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(t, &mut bytes).map_err(|e| invalid(KEY, e.to_string()))?;
        return VerifyingKey::from_bytes(&bytes).map_err(|e| invalid(KEY, e.to_string()));
    }
    if t.starts_with("-----BEGIN") {
        return VerifyingKey::from_public_key_pem(t)
            .map_err(|e| invalid(KEY, format!("not an Ed25519 public key PEM: {e}")));
    }
    let path = PathBuf::from(t);
    let content = std::fs::read_to_string(&path).map_err(|source| SimConfigError::Io {
        path: path.clone(),
        source,
    })?;
    let c = content.trim();
    if c.starts_with("-----BEGIN") || (c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit())) {
        parse_ed25519_public_key(c)
    } else {
        Err(invalid(KEY, "file holds neither PEM nor 64 hex digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_unknown_keys_fail() {
        SimConfig::default().validate().unwrap();
        assert!(SimConfig::from_toml("bogus = 1").is_err());
        assert!(SimConfig::from_toml("[faults]\nnope = 2").is_err());
        let cfg = SimConfig::from_toml("speed = -1.0").unwrap();
        assert!(cfg.validate().is_err());
        let cfg = SimConfig::from_toml("[instrument]\ntick_size = \"abc\"").unwrap();
        assert!(cfg.validate().is_err());
    }

    #[test]
    fn one_shot_faults_and_balances_are_checked() {
        let bad = [
            "[faults]\nsilence_after_s = 1.0",
            "[faults]\nprice_jump_after_s = 1.0",
            "[faults]\nprice_jump_after_s = 1.0\nprice_jump_bps = -6000",
            "[account]\nquote_balance = \"-1\"",
            "[account]\nbase_balance = \"0.000000001\"",
        ];
        for text in bad {
            let cfg = SimConfig::from_toml(text).unwrap();
            assert!(cfg.validate().is_err(), "{text}");
        }
        let good = "[faults]\nsilence_after_s = 1.0\nsilence_ms = 500\nprice_jump_after_s = 2.0\nprice_jump_bps = -1000\n[account]\nbase_balance = \"0.5\"";
        SimConfig::from_toml(good).unwrap().validate().unwrap();
    }
}
