//! Instruments: symbol, market kind, and the fixed-point grids for price and quantity.

use crate::decimal::{self, DecimalError};
use crate::units::{Lots, Ticks};
use std::fmt;

/// Dense instrument index, assigned in configuration order; indexes per-instrument arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstrumentId(pub u16);

impl InstrumentId {
    /// The id as an array index.
    #[inline]
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// Binance market kind; it decides the depth-sync rule and the endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Market {
    /// Spot: first diff has `U <= lastUpdateId+1 <= u`, then `U == prev_u + 1`.
    Spot,
    /// USD-M futures: first diff has `U <= lastUpdateId <= u`, then `pu == prev_u`.
    #[serde(rename = "usdm")]
    UsdM,
    /// COIN-M futures: same rule as USD-M.
    #[serde(rename = "coinm")]
    CoinM,
}

impl Market {
    /// Futures markets chain diffs by `pu`; spot chains them by `U == prev_u + 1`.
    #[inline]
    pub const fn is_futures(self) -> bool {
        !matches!(self, Market::Spot)
    }
    /// Lower-case name, as written in config.
    pub const fn name(self) -> &'static str {
        match self {
            Market::Spot => "spot",
            Market::UsdM => "usdm",
            Market::CoinM => "coinm",
        }
    }
}

/// A fixed-point grid: text `x` maps to `x * 10^decimals / step_units` steps.
///
/// The step (tick size or lot size) is `step_units * 10^-decimals`. Text that is not a whole
/// number of steps is rejected with [`DecimalError::OffGrid`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    /// Decimals of the intermediate integer.
    pub decimals: u8,
    /// Step size in units of `10^-decimals`; `>= 1`.
    pub step_units: i64,
}

impl Scale {
    /// The grid whose step is exactly `10^-decimals` (one unit per step).
    pub const fn unit(decimals: u8) -> Scale {
        Scale {
            decimals,
            step_units: 1,
        }
    }

    /// The grid whose step is the decimal text `step` (for example `"0.01"`).
    pub fn from_step_text(step: &str) -> Result<Scale, ScaleError> {
        let bytes = step.trim().as_bytes();
        let decimals = decimal::significant_decimals(bytes);
        if decimals > decimal::MAX_DECIMALS {
            return Err(ScaleError::TooManyDecimals);
        }
        let step_units = decimal::parse_scaled(bytes, decimals).map_err(ScaleError::Text)?;
        if step_units <= 0 {
            return Err(ScaleError::NotPositive);
        }
        Ok(Scale {
            decimals,
            step_units,
        })
    }

    /// Parses decimal text into whole steps.
    #[inline]
    pub fn steps(&self, text: &[u8]) -> Result<i64, DecimalError> {
        let units = decimal::parse_scaled(text, self.decimals)?;
        if self.step_units == 1 {
            return Ok(units);
        }
        if units % self.step_units != 0 {
            return Err(DecimalError::OffGrid);
        }
        Ok(units / self.step_units)
    }

    /// Writes `steps` back as plain decimal text.
    pub fn write(&self, out: &mut impl fmt::Write, steps: i64) -> fmt::Result {
        decimal::write_scaled(
            out,
            i128::from(steps) * i128::from(self.step_units),
            self.decimals,
        )
    }

    /// The step as an `f64` (for reports and signal math only).
    pub fn step_f64(&self) -> f64 {
        self.step_units as f64 / decimal::pow10(self.decimals) as f64
    }
}

/// Why a step size is unusable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScaleError {
    /// The step text is not a decimal number.
    #[error("step size is not a decimal number: {0}")]
    Text(DecimalError),
    /// The step is zero or negative.
    #[error("step size must be greater than zero")]
    NotPositive,
    /// More decimals than fit in an `i64` grid.
    #[error("step size has more than 18 decimals")]
    TooManyDecimals,
}

/// Longest symbol we store inline (Binance symbols are well under this).
pub const SYMBOL_MAX_LEN: usize = 31;

/// An upper-case ASCII symbol stored inline, so lookups never allocate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Symbol {
    len: u8,
    bytes: [u8; SYMBOL_MAX_LEN],
}

impl Symbol {
    /// Upper-cases `text`; `None` if it is empty, too long, or not ASCII alphanumeric/`_`/`-`.
    pub fn new(text: &str) -> Option<Symbol> {
        let raw = text.as_bytes();
        if raw.is_empty() || raw.len() > SYMBOL_MAX_LEN {
            return None;
        }
        let mut bytes = [0u8; SYMBOL_MAX_LEN];
        for (dst, &b) in bytes.iter_mut().zip(raw) {
            if !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
                return None;
            }
            *dst = b.to_ascii_uppercase();
        }
        Some(Symbol {
            len: raw.len() as u8,
            bytes,
        })
    }

    /// The symbol text, upper case.
    pub fn as_str(&self) -> &str {
        // Constructed from ASCII only, so this never fails.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }

    /// Case-insensitive comparison with wire text (streams use lower case, payloads upper).
    #[inline]
    pub fn matches(&self, text: &[u8]) -> bool {
        text.len() == usize::from(self.len)
            && self.bytes[..usize::from(self.len)].eq_ignore_ascii_case(text)
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything the tick path needs to know about one instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstrumentSpec {
    /// Exchange symbol, upper case (`ETHUSDT`, `BTCUSD_PERP`).
    pub symbol: Symbol,
    /// Market kind (decides the sync rule).
    pub market: Market,
    /// Price grid: one step is one tick.
    pub price: Scale,
    /// Quantity grid: one step is one lot.
    pub qty: Scale,
}

impl InstrumentSpec {
    /// Price text to ticks.
    #[inline]
    pub fn ticks(&self, text: &[u8]) -> Result<Ticks, DecimalError> {
        self.price.steps(text).map(Ticks)
    }
    /// Quantity text to lots.
    #[inline]
    pub fn lots(&self, text: &[u8]) -> Result<Lots, DecimalError> {
        self.qty.steps(text).map(Lots)
    }
    /// Quote-currency value of one notional unit (`tick_size * lot_size`), for reports.
    pub fn notional_unit_f64(&self) -> f64 {
        self.price.step_f64() * self.qty.step_f64()
    }
}

/// The instruments this engine trades, indexed by [`InstrumentId`].
#[derive(Clone, Debug, Default)]
pub struct Instruments {
    specs: Vec<InstrumentSpec>,
}

impl Instruments {
    /// Adds an instrument and returns its id; `None` if the symbol is already present.
    pub fn add(&mut self, spec: InstrumentSpec) -> Option<InstrumentId> {
        if self.lookup(spec.symbol.as_str().as_bytes()).is_some() {
            return None;
        }
        let id = InstrumentId(u16::try_from(self.specs.len()).ok()?);
        self.specs.push(spec);
        Some(id)
    }

    /// Finds an instrument by wire symbol, case-insensitively. Linear: a handful of entries.
    #[inline]
    pub fn lookup(&self, symbol: &[u8]) -> Option<InstrumentId> {
        self.specs
            .iter()
            .position(|s| s.symbol.matches(symbol))
            .map(|i| InstrumentId(i as u16))
    }

    /// The spec of `id`.
    #[inline]
    pub fn get(&self, id: InstrumentId) -> &InstrumentSpec {
        &self.specs[id.index()]
    }

    /// Number of instruments.
    pub fn len(&self) -> usize {
        self.specs.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// All instruments with their ids.
    pub fn iter(&self) -> impl Iterator<Item = (InstrumentId, &InstrumentSpec)> {
        self.specs
            .iter()
            .enumerate()
            .map(|(i, s)| (InstrumentId(i as u16), s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_scales() {
        let tick = Scale::from_step_text("0.01000000").unwrap();
        assert_eq!(
            tick,
            Scale {
                decimals: 2,
                step_units: 1
            }
        );
        assert_eq!(tick.steps(b"2683.80000000"), Ok(268_380));
        let odd = Scale::from_step_text("0.05").unwrap();
        assert_eq!(odd.steps(b"1.15"), Ok(23));
        assert_eq!(odd.steps(b"1.17"), Err(DecimalError::OffGrid));
        assert_eq!(Scale::from_step_text("0"), Err(ScaleError::NotPositive));
        let mut s = String::new();
        odd.write(&mut s, 23).unwrap();
        assert_eq!(s, "1.15");
    }

    #[test]
    fn symbols_match_case_insensitively() {
        let s = Symbol::new("ethusdt").unwrap();
        assert_eq!(s.as_str(), "ETHUSDT");
        assert!(s.matches(b"ETHUSDT") && s.matches(b"ethusdt") && !s.matches(b"ETHUSD"));
        assert!(Symbol::new("").is_none() && Symbol::new("a b").is_none());
    }
}
