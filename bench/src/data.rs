//! Real recorded frames for benchmarks and gates: loading a collector file and splitting it
//! into the snapshot and the depth diffs that follow it.

use obi_engine::feed::binance::{BinanceParser, Parsed};
use obi_engine::feed::event::MarketEvent;
use obi_engine::instrument::{InstrumentId, InstrumentSpec, Instruments, Market, Scale, Symbol};
use obi_engine::units::Level;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// The ETHUSDT USD-M instrument of the recorded capture (price 0.01, quantity 0.001).
pub fn eth_usdm_instruments() -> Instruments {
    let mut instruments = Instruments::default();
    if let Some(symbol) = Symbol::new("ETHUSDT") {
        instruments.add(InstrumentSpec {
            symbol,
            market: Market::UsdM,
            price: Scale::unit(2),
            qty: Scale::unit(3),
        });
    }
    instruments
}

/// `(local_ns, json)` of up to `limit` lines of a collector recording (plain or `.gz`).
pub fn load_collector(path: &Path, limit: usize) -> std::io::Result<Vec<(u64, Vec<u8>)>> {
    let file = std::fs::File::open(path)?;
    let reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let mut out = Vec::new();
    for line in reader.lines().take(limit) {
        let line = line?;
        if let Some((Ok(ns), json)) = line.split_once(' ').map(|(ns, j)| (ns.parse(), j)) {
            out.push((ns, json.as_bytes().to_vec()));
        }
    }
    Ok(out)
}

/// One depth diff as levels, with its local receive time.
#[derive(Debug, Clone)]
pub struct DiffLevels {
    /// Local receive time, ns.
    pub local_ns: u64,
    /// Bid levels.
    pub bids: Vec<Level>,
    /// Ask levels.
    pub asks: Vec<Level>,
}

/// The snapshot of a recording and every diff at or after its update id, parsed up front.
#[derive(Debug, Clone, Default)]
pub struct BookInput {
    /// Snapshot bids and asks.
    pub snapshot: (Vec<Level>, Vec<Level>),
    /// The diffs that apply on top of it, in order.
    pub diffs: Vec<DiffLevels>,
    /// Level updates in those diffs.
    pub levels: u64,
}

/// Parses `frames` of instrument 0 into a [`BookInput`] (the parse is not what is measured).
pub fn book_input(frames: &[(u64, Vec<u8>)], instruments: &Instruments) -> BookInput {
    let mut parser = BinanceParser::new();
    let mut out = BookInput::default();
    let mut snapshot_id = None;
    let mut buf = Vec::new();
    for (ns, f) in frames {
        buf.clear();
        buf.extend_from_slice(f);
        match parser.parse(&mut buf, instruments, Some(InstrumentId(0))) {
            Ok(Parsed::Event(MarketEvent::Snapshot(s))) => {
                out.snapshot = (s.bids.to_vec(), s.asks.to_vec());
                snapshot_id = Some(s.last_update_id);
            }
            Ok(Parsed::Event(MarketEvent::Depth(d)))
                if snapshot_id.is_some_and(|id| d.final_update_id >= id) =>
            {
                out.levels += (d.bids.len() + d.asks.len()) as u64;
                out.diffs.push(DiffLevels {
                    local_ns: *ns,
                    bids: d.bids.to_vec(),
                    asks: d.asks.to_vec(),
                });
            }
            _ => {}
        }
    }
    out
}
