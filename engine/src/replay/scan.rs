//! Works out instruments from a recording alone, for `replay` without a config.
//!
//! Each REST snapshot names (or, in collector files, implies) a symbol. Binance writes every
//! price and quantity of a symbol with a fixed number of decimals, so the number of decimals
//! written in the snapshot is an exact fixed-point scale: every later frame parses onto it
//! (a frame that does not is counted as a parse error, never rounded).

use super::source::{Frame, RecordingError, RecordingSource};
use crate::decimal::MAX_DECIMALS;
use crate::instrument::{InstrumentSpec, Instruments, Market, Scale, Symbol};
use simd_json::prelude::*;
use std::path::Path;

/// An instrument inferred from a recording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DerivedInstrument {
    /// Upper-case symbol.
    pub symbol: String,
    /// Market kind, from the snapshot's shape (futures snapshots carry `E`/`T`).
    pub market: Market,
    /// Decimals written in the snapshot's prices: the price grid is `10^-price_decimals`.
    pub price_decimals: u8,
    /// Decimals written in the snapshot's quantities.
    pub qty_decimals: u8,
}

/// The symbol of a combined stream name: `ethusdt@depth@0ms` → `ETHUSDT`.
pub fn stream_symbol(json: &[u8]) -> Option<String> {
    let key = b"\"stream\":\"";
    let start = json.windows(key.len()).position(|w| w == key)? + key.len();
    let rest = &json[start..];
    let end = rest.iter().position(|&b| b == b'@' || b == b'"')?;
    Some(String::from_utf8_lossy(&rest[..end]).to_ascii_uppercase())
}

fn written_decimals(text: &str) -> u8 {
    text.split_once('.')
        .map_or(0, |(_, f)| u8::try_from(f.len()).unwrap_or(u8::MAX))
}

/// Reads a snapshot body into (market, price decimals, qty decimals).
fn snapshot_shape(json: &mut [u8]) -> Option<(Market, u8, u8)> {
    let value = simd_json::to_borrowed_value(json).ok()?;
    let obj = value.as_object()?;
    let futures = obj.contains_key("E") || obj.contains_key("T");
    let coin = obj.contains_key("pair");
    let market = match (futures, coin) {
        (false, _) => Market::Spot,
        (true, false) => Market::UsdM,
        (true, true) => Market::CoinM,
    };
    let (mut px, mut qty) = (0u8, 0u8);
    for side in ["bids", "asks"] {
        for level in obj.get(side)?.as_array()? {
            let level = level.as_array()?;
            px = px.max(written_decimals(level.first()?.as_str()?));
            qty = qty.max(written_decimals(level.get(1)?.as_str()?));
        }
    }
    Some((market, px, qty))
}

/// Instruments found in `paths`, in the order their snapshots appear.
pub fn derive_instruments(paths: &[&Path]) -> Result<Vec<DerivedInstrument>, RecordingError> {
    let mut found: Vec<DerivedInstrument> = Vec::new();
    for path in paths {
        let mut source = RecordingSource::open(path)?;
        let mut stream_sym: Option<String> = None;
        let mut pending: Option<Vec<u8>> = None;
        // Collector files hold one snapshot for the file's one symbol; cryptofeed snapshots
        // name theirs. Stop once a collector file's snapshot has been attributed.
        while let Some(Frame {
            is_snapshot,
            snapshot_symbol,
            json,
            ..
        }) = source.next_frame()?
        {
            if is_snapshot {
                if let Some(sym) = snapshot_symbol {
                    push_unique(&mut found, sym.to_string(), json);
                    continue;
                }
                pending = Some(json.to_vec());
            } else if stream_sym.is_none() {
                stream_sym = stream_symbol(json);
            }
            if let (Some(sym), Some(mut body)) = (stream_sym.clone(), pending.take()) {
                push_unique(&mut found, sym, &mut body);
                break;
            }
        }
    }
    Ok(found)
}

/// Why a recording alone does not give usable instruments.
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
    /// A recording could not be read.
    #[error(transparent)]
    Recording(#[from] RecordingError),
    /// No depth snapshot to derive from.
    #[error("no depth snapshot found in the recordings to derive instruments from")]
    NoSnapshot,
    /// A snapshot names a symbol we cannot store.
    #[error("recording names an unusable symbol {0:?}")]
    BadSymbol(String),
    /// A snapshot writes more decimals than an `i64` grid holds.
    #[error("{0}: more than 18 decimals in the snapshot")]
    TooManyDecimals(String),
}

/// The instruments of `paths` with exact unit scales, and what was derived for each.
pub fn derived_instruments(
    paths: &[&Path],
) -> Result<(Instruments, Vec<DerivedInstrument>), DeriveError> {
    let derived = derive_instruments(paths)?;
    if derived.is_empty() {
        return Err(DeriveError::NoSnapshot);
    }
    let mut instruments = Instruments::default();
    for d in &derived {
        let symbol =
            Symbol::new(&d.symbol).ok_or_else(|| DeriveError::BadSymbol(d.symbol.clone()))?;
        if d.price_decimals > MAX_DECIMALS || d.qty_decimals > MAX_DECIMALS {
            return Err(DeriveError::TooManyDecimals(d.symbol.clone()));
        }
        instruments.add(InstrumentSpec {
            symbol,
            market: d.market,
            price: Scale::unit(d.price_decimals),
            qty: Scale::unit(d.qty_decimals),
        });
    }
    Ok((instruments, derived))
}

fn push_unique(found: &mut Vec<DerivedInstrument>, symbol: String, json: &mut [u8]) {
    if found.iter().any(|d| d.symbol == symbol) {
        return;
    }
    if let Some((market, price_decimals, qty_decimals)) = snapshot_shape(json) {
        found.push(DerivedInstrument {
            symbol,
            market,
            price_decimals,
            qty_decimals,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stream_symbol_and_shape() {
        assert_eq!(
            stream_symbol(br#"{"stream":"ethusdt@depth@0ms","data":{}}"#),
            Some("ETHUSDT".into())
        );
        let mut spot =
            br#"{"lastUpdateId":1,"bids":[["2683.80000000","3.02920000"]],"asks":[]}"#.to_vec();
        assert_eq!(snapshot_shape(&mut spot), Some((Market::Spot, 8, 8)));
        let mut fut = br#"{"lastUpdateId":1,"E":1,"T":1,"bids":[["2681.62","16.969"]],"asks":[["2681.63","1"]]}"#.to_vec();
        assert_eq!(snapshot_shape(&mut fut), Some((Market::UsdM, 2, 3)));
    }
}
