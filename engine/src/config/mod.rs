//! Engine configuration: one TOML file, parsed with unknown keys rejected, then validated
//! into typed values. A bad file is a clear error, never a silent default.

mod exchange_info;
mod raw;
mod venue;

pub use exchange_info::{ExchangeInfoError, SymbolFilters, read_exchange_info};
pub use raw::{EngineSection, PollMode, RawConfig, RawInstrument};
pub use venue::{KeyKind, TradingMode, VenueConfig, VenueProfile, VenueSection};

use crate::instrument::{InstrumentSpec, Instruments, Market, Scale, Symbol};
use crate::paper::PaperConfig;
use crate::risk::RiskConfig;
use crate::signal::SignalConfig;
use crate::strategy::StrategyConfig;
use std::path::{Path, PathBuf};

/// A configuration that could not be used. The message names the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax error, unknown key or wrong type.
    #[error("invalid config {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML parser's message (names the key and line).
        message: String,
    },
    /// The values parse but cannot be used.
    #[error("invalid config {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// A validated engine configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Process-level settings.
    pub engine: EngineSection,
    /// Instruments, in configuration order (their ids index per-instrument state).
    pub instruments: Instruments,
    /// Signal parameters.
    pub signal: SignalConfig,
    /// Strategy parameters.
    pub strategy: StrategyConfig,
    /// Pre-trade risk limits.
    pub risk: RiskConfig,
    /// Paper venue model.
    pub paper: PaperConfig,
    /// Live venue connections (market data, order entry).
    pub venue: VenueConfig,
    /// Breakers, kill inputs, flatten policy.
    pub safety: crate::safety::SafetyConfig,
    /// Journal and checkpoint writer.
    pub journal: crate::journal::JournalConfig,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        Config::from_toml(&text, path)
    }

    /// Parses and validates TOML text; `path` is used in messages and to resolve relative
    /// paths inside the file.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.to_string(),
        })?;
        raw.validate(path)
    }

    /// A config for a recording without one: default parameters and the given instruments.
    pub fn with_instruments(instruments: Instruments) -> Config {
        let venue = default_venue(&instruments_market_of(&instruments));
        Config {
            engine: EngineSection::default(),
            instruments,
            signal: SignalConfig::default(),
            strategy: StrategyConfig::default(),
            risk: RiskConfig::default(),
            paper: PaperConfig::default(),
            venue,
            safety: crate::safety::SafetyConfig::default(),
            journal: crate::journal::JournalConfig::default(),
        }
    }
}

/// The market shared by the instruments (spot when there are none).
fn instruments_market_of(instruments: &Instruments) -> Market {
    instruments
        .iter()
        .next()
        .map_or(Market::Spot, |(_, s)| s.market)
}

/// The default venue settings for a market: its production profile, which always resolves
/// (a unit test checks every built-in profile).
fn default_venue(market: &Market) -> VenueConfig {
    VenueConfig::resolve(VenueSection::default(), *market)
        .expect("built-in venue profiles are valid")
}

impl RawConfig {
    /// Turns the raw file into a [`Config`], or says precisely what is wrong.
    pub fn validate(self, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.into(),
            message,
        };
        self.engine
            .validate()
            .map_err(|m| invalid(format!("[engine] {m}")))?;
        self.signal
            .validate()
            .map_err(|m| invalid(format!("[signal] {m}")))?;
        self.strategy
            .validate()
            .map_err(|m| invalid(format!("[strategy] {m}")))?;
        self.strategy
            .validate_against(&self.signal)
            .map_err(|m| invalid(format!("[strategy] {m}")))?;
        self.risk
            .validate()
            .map_err(|m| invalid(format!("[risk] {m}")))?;
        self.paper
            .validate()
            .map_err(|m| invalid(format!("[paper] {m}")))?;
        if self.instruments.is_empty() {
            return Err(invalid(
                "no instruments: add at least one [[instruments]] table with symbol and market"
                    .into(),
            ));
        }
        let filters = match &self.exchange_info {
            Some(file) => {
                let file = path.parent().unwrap_or(Path::new(".")).join(file);
                read_exchange_info(&file).map_err(|e| invalid(e.to_string()))?
            }
            None => Vec::new(),
        };
        let mut instruments = Instruments::default();
        for (i, inst) in self.instruments.iter().enumerate() {
            let at = format!("[[instruments]] #{} ({})", i + 1, inst.symbol);
            let symbol = Symbol::new(&inst.symbol).ok_or_else(|| {
                invalid(format!("{at}: symbol must be 1-31 letters, digits, _ or -"))
            })?;
            let listed = filters.iter().find(|f| symbol.matches(f.symbol.as_bytes()));
            let step = |given: &Option<String>, name: &str, listed: Option<&String>| {
                let text = given.as_ref().or(listed).ok_or_else(|| {
                    invalid(format!("{at}: {name} missing (set it, or point exchange_info at a record listing the symbol)"))
                })?;
                Scale::from_step_text(text)
                    .map_err(|e| invalid(format!("{at}: {name} \"{text}\": {e}")))
            };
            // From exchangeInfo, the book's grid is the venue's reported precision, not the
            // order tick and step: real books hold prices off `tickSize` and quantities finer
            // than `LOT_SIZE.stepSize` (see `SymbolFilters`). Strategy and risk parameters in
            // ticks and lots are then in units of that grid.
            let price = match (&inst.tick_size, listed.and_then(|f| f.price_decimals)) {
                (None, Some(decimals)) if decimals <= crate::decimal::MAX_DECIMALS => {
                    Scale::unit(decimals)
                }
                _ => step(&inst.tick_size, "tick_size", listed.map(|f| &f.tick_size))?,
            };
            let qty = match (&inst.lot_size, listed.and_then(|f| f.qty_decimals)) {
                (None, Some(decimals)) if decimals <= crate::decimal::MAX_DECIMALS => {
                    Scale::unit(decimals)
                }
                _ => step(&inst.lot_size, "lot_size", listed.map(|f| &f.step_size))?,
            };
            instruments
                .add(InstrumentSpec {
                    symbol,
                    market: inst.market,
                    price,
                    qty,
                })
                .ok_or_else(|| invalid(format!("{at}: symbol listed twice")))?;
        }
        let market = instruments_market_of(&instruments);
        if let Some((_, other)) = instruments.iter().find(|(_, s)| s.market != market) {
            return Err(invalid(format!(
                "[[instruments]]: every instrument must be on one market ({} is {}, the first is {})",
                other.symbol,
                other.market.name(),
                market.name()
            )));
        }
        let venue = VenueConfig::resolve(self.venue, market)
            .map_err(|m| invalid(format!("[venue] {m}")))?;
        self.safety
            .validate()
            .map_err(|m| invalid(format!("[safety] {m}")))?;
        self.journal
            .validate()
            .map_err(|m| invalid(format!("[journal] {m}")))?;
        Ok(Config {
            engine: self.engine,
            instruments,
            signal: self.signal,
            strategy: self.strategy,
            risk: self.risk,
            paper: self.paper,
            venue,
            safety: self.safety,
            journal: self.journal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("test.toml"))
    }

    const GOOD: &str = r#"
        [[instruments]]
        symbol = "ETHUSDT"
        market = "usdm"
        tick_size = "0.01"
        lot_size = "0.001"
    "#;

    #[test]
    fn accepts_minimal_config() {
        let cfg = parse(GOOD).unwrap();
        assert_eq!(cfg.instruments.len(), 1);
        let (_, spec) = cfg.instruments.iter().next().unwrap();
        assert_eq!(
            spec.price,
            Scale {
                decimals: 2,
                step_units: 1
            }
        );
        assert_eq!(
            spec.qty,
            Scale {
                decimals: 3,
                step_units: 1
            }
        );
    }

    #[test]
    fn example_file_is_valid_and_states_the_defaults() {
        let cfg = Config::from_toml(
            include_str!("../../engine.example.toml"),
            Path::new("engine.example.toml"),
        )
        .unwrap();
        assert_eq!(
            format!("{:?}", cfg.signal),
            format!("{:?}", SignalConfig::default())
        );
        assert_eq!(
            format!("{:?}", cfg.strategy),
            format!("{:?}", StrategyConfig::default())
        );
        assert_eq!(
            format!("{:?}", cfg.risk),
            format!("{:?}", RiskConfig::default())
        );
        assert_eq!(
            format!("{:?}", cfg.paper),
            format!("{:?}", PaperConfig::default())
        );
        assert_eq!(
            format!("{:?}", cfg.engine),
            format!("{:?}", EngineSection::default())
        );
        assert_eq!(
            format!("{:?}", cfg.venue.section),
            format!("{:?}", VenueSection::default())
        );
        assert_eq!(
            format!("{:?}", cfg.safety),
            format!("{:?}", crate::safety::SafetyConfig::default())
        );
        assert_eq!(
            format!("{:?}", cfg.journal),
            format!("{:?}", crate::journal::JournalConfig::default())
        );
    }

    #[test]
    fn every_profile_resolves_and_overrides_are_checked() {
        for profile in ["spot", "spot_testnet", "usdm", "usdm_testnet"] {
            let cfg = parse(&format!("{GOOD}\n[venue]\nprofile = \"{profile}\"\n")).unwrap();
            assert!(cfg.venue.stream.tls && cfg.venue.rest.tls, "{profile}");
        }
        let cfg = parse(&format!(
            "{GOOD}\n[venue]\nrest_url = \"http://127.0.0.1:9000\"\nstream_url = \"ws://127.0.0.1:9000\"\nws_api_url = \"ws://127.0.0.1:9000/ws-api/v3\"\n"
        ))
        .unwrap();
        assert!(cfg.venue.stream.is_loopback() && !cfg.venue.stream.tls);
        let err = parse(&format!("{GOOD}\n[venue]\nstream_url = \"https://x\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("stream_url"), "{err}");
        let err = parse(&format!("{GOOD}\n[venue]\ndepth_stream = \"trade\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("depth_stream"), "{err}");
        let two_markets = format!(
            "{GOOD}\n[[instruments]]\nsymbol = \"BTCUSDT\"\nmarket = \"spot\"\ntick_size = \"0.01\"\nlot_size = \"0.00001\"\n"
        );
        let err = parse(&two_markets).unwrap_err().to_string();
        assert!(err.contains("one market"), "{err}");
    }

    #[test]
    fn rejects_unknown_key() {
        let err = parse(&format!("{GOOD}\nbogus = 1\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bogus"), "{err}");
        let err = parse(&GOOD.replace("lot_size", "lot_sz"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("lot_sz"), "{err}");
    }

    #[test]
    fn rejects_missing_instrument_and_zero_tick() {
        let err = parse("[engine]\n").unwrap_err().to_string();
        assert!(err.contains("no instruments"), "{err}");
        let err = parse(&GOOD.replace("\"0.01\"", "\"0\""))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tick_size") && err.contains("greater than zero"),
            "{err}"
        );
        let err = parse(&GOOD.replace("tick_size = \"0.01\"\n", ""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("tick_size missing"), "{err}");
    }
}
