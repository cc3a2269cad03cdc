//! Tick and lot sizes from a Binance `exchangeInfo` record.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The grid of one symbol as exchangeInfo states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolFilters {
    /// Symbol, as listed.
    pub symbol: String,
    /// `PRICE_FILTER.tickSize`.
    pub tick_size: String,
    /// `LOT_SIZE.stepSize`: the step of *order* quantities.
    pub step_size: String,
    /// Decimals of quantities as the venue reports them (`quantityPrecision` on futures,
    /// `baseAssetPrecision` on spot). Book quantities live on this finer grid, not on
    /// `stepSize`: real spot books hold quantities like 11979.3 where `stepSize` is 1.
    pub qty_decimals: Option<u8>,
    /// Decimals of prices as the venue reports them (`pricePrecision` on futures,
    /// `quotePrecision` on spot). Real spot books hold levels off `tickSize` (NKNUSDT bids
    /// at 0.25974 with tickSize 0.0001, left from an older tick), so the book's grid must be
    /// this one.
    pub price_decimals: Option<u8>,
}

/// An exchangeInfo record that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeInfoError {
    /// File unreadable.
    #[error("cannot read exchange_info {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not an exchangeInfo body.
    #[error("exchange_info {path}: no exchangeInfo JSON found ({message})")]
    Format {
        /// The file.
        path: PathBuf,
        /// Parser message.
        message: String,
    },
}

#[derive(Deserialize)]
struct Info {
    symbols: Vec<InfoSymbol>,
}

#[derive(Deserialize)]
struct InfoSymbol {
    symbol: String,
    #[serde(rename = "quantityPrecision")]
    quantity_precision: Option<u8>,
    #[serde(rename = "baseAssetPrecision")]
    base_asset_precision: Option<u8>,
    #[serde(rename = "pricePrecision")]
    price_precision: Option<u8>,
    #[serde(rename = "quotePrecision")]
    quote_precision: Option<u8>,
    #[serde(default)]
    filters: Vec<Filter>,
}

#[derive(Deserialize)]
struct Filter {
    #[serde(rename = "filterType")]
    filter_type: String,
    #[serde(rename = "tickSize")]
    tick_size: Option<String>,
    #[serde(rename = "stepSize")]
    step_size: Option<String>,
}

/// Reads exchangeInfo from a JSON file, or from the first `... exchangeInfo -> ts: {json}`
/// line of a cryptofeed `X.0` capture.
pub fn read_exchange_info(path: &Path) -> Result<Vec<SymbolFilters>, ExchangeInfoError> {
    let text = std::fs::read_to_string(path).map_err(|source| ExchangeInfoError::Read {
        path: path.into(),
        source,
    })?;
    let body = if text.trim_start().starts_with('{') {
        text.trim().to_string()
    } else {
        text.lines()
            .find(|l| l.contains("exchangeInfo -> "))
            .and_then(|l| l.split_once(": {").map(|(_, b)| format!("{{{b}")))
            .ok_or_else(|| ExchangeInfoError::Format {
                path: path.into(),
                message: "no line with an exchangeInfo URL".into(),
            })?
    };
    let mut bytes = body.into_bytes();
    let info: Info =
        simd_json::serde::from_slice(&mut bytes).map_err(|e| ExchangeInfoError::Format {
            path: path.into(),
            message: e.to_string(),
        })?;
    Ok(info
        .symbols
        .into_iter()
        .filter_map(|s| {
            let tick = s
                .filters
                .iter()
                .find(|f| f.filter_type == "PRICE_FILTER")?
                .tick_size
                .clone()?;
            let step = s
                .filters
                .iter()
                .find(|f| f.filter_type == "LOT_SIZE")?
                .step_size
                .clone()?;
            let qty_decimals = s.quantity_precision.or(s.base_asset_precision);
            let price_decimals = s.price_precision.or(s.quote_precision);
            Some(SymbolFilters {
                symbol: s.symbol,
                tick_size: tick,
                step_size: step,
                qty_decimals,
                price_decimals,
            })
        })
        .collect())
}
