//! Deterministic workloads for the instruction-count gates.
//!
//! Each workload loads its input first, then runs one `#[inline(never)]` function named
//! `measured_*`. `scripts/icount-gate.sh` runs a workload under callgrind with collection
//! switched on only inside `gates::measured_*`, so the count covers exactly the measured work
//! and is the same on every run of the same binary and input, whatever else the machine does.
//! Baselines live in `bench/baselines/icount.txt`.

use obi_engine::book::L2Book;
use obi_engine::config::Config;
use obi_engine::feed::binance::{BinanceParser, Parsed};
use obi_engine::feed::event::MarketEvent;
use obi_engine::instrument::{InstrumentId, InstrumentSpec, Instruments, Market, Scale, Symbol};
use obi_engine::replay::ReplaySession;
use obi_engine::signal::{SignalConfig, SignalState};
use obi_engine::units::{Level, Side};
use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// The workloads, by name.
pub const WORKLOADS: [&str; 4] = ["parse", "book", "signal", "pipeline"];

/// Frames of the recording each workload uses (the first ones, after the snapshot loads).
pub const FRAMES: usize = 20_000;

/// Loads `(local_ns, json)` lines of a collector recording.
fn load(path: &Path, limit: usize) -> std::io::Result<Vec<(u64, Vec<u8>)>> {
    let file = std::fs::File::open(path)?;
    let reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let mut out = Vec::with_capacity(limit);
    for line in reader.lines().take(limit) {
        let line = line?;
        if let Some((Ok(ns), json)) = line.split_once(' ').map(|(ns, j)| (ns.parse(), j)) {
            out.push((ns, json.as_bytes().to_vec()));
        }
    }
    Ok(out)
}

fn eth_usdm() -> Config {
    let mut instruments = Instruments::default();
    instruments.add(InstrumentSpec {
        symbol: Symbol::new("ETHUSDT").unwrap_or_else(|| unreachable!("valid literal")),
        market: Market::UsdM,
        price: Scale::unit(2),
        qty: Scale::unit(3),
    });
    let mut cfg = Config::with_instruments(instruments);
    cfg.engine.shm_enabled = false;
    cfg
}

/// Bid and ask levels of one depth diff.
type DiffLevels = (Vec<Level>, Vec<Level>);

/// Parses every frame (copied into one reusable buffer, as the feed does).
#[inline(never)]
fn measured_parse(frames: &[(u64, Vec<u8>)], instruments: &Instruments) -> u64 {
    let mut parser = BinanceParser::new();
    let mut buf = Vec::with_capacity(1 << 16);
    let mut events = 0u64;
    // A deliberately slowed build parses everything twice, to show the gate fails.
    let passes = if cfg!(feature = "deliberate-slowdown") {
        2
    } else {
        1
    };
    for _ in 0..passes {
        for (_, f) in frames {
            buf.clear();
            buf.extend_from_slice(f);
            if let Ok(Parsed::Event(_)) = parser.parse(&mut buf, instruments, Some(InstrumentId(0)))
            {
                events += 1;
            }
        }
    }
    events
}

/// Applies every level of every diff, reading best bid and ask after each diff.
#[inline(never)]
fn measured_book(book: &mut L2Book, diffs: &[DiffLevels]) -> i64 {
    let mut acc = 0i64;
    for (bids, asks) in diffs {
        for l in bids {
            book.set(Side::Bid, l.price, l.qty);
        }
        for l in asks {
            book.set(Side::Ask, l.price, l.qty);
        }
        acc = acc.wrapping_add(book.best_bid().map_or(0, |l| l.price.0));
        acc = acc.wrapping_add(book.best_ask().map_or(0, |l| l.qty.0));
    }
    acc
}

/// Updates every signal on a fixed real book, 1 ms apart.
#[inline(never)]
fn measured_signal(state: &mut SignalState, book: &L2Book, calls: u64) -> f64 {
    let mut acc = 0.0;
    for i in 0..calls {
        let s = state.on_book(book, 1_000_000 * (i + 1));
        acc += s.obi[0].unwrap_or(0.0) + s.obi_ewma.unwrap_or(0.0);
    }
    acc
}

/// The whole tick path: replay session over the frames.
#[inline(never)]
fn measured_pipeline(session: &mut ReplaySession, frames: &[(u64, Vec<u8>)]) -> u64 {
    let mut buf = Vec::with_capacity(1 << 16);
    for (ns, f) in frames {
        buf.clear();
        buf.extend_from_slice(f);
        session.on_frame(&mut buf, *ns, Some(InstrumentId(0)));
    }
    session.tick().counters.diffs_applied
}

/// Snapshot and diffs (as levels) of the frames, parsed outside any measurement.
fn book_input(frames: &[(u64, Vec<u8>)], instruments: &Instruments) -> (L2Book, Vec<DiffLevels>) {
    let mut parser = BinanceParser::new();
    let mut book = L2Book::with_capacity(8192);
    let mut diffs = Vec::new();
    let mut snapshot_id = None;
    for (_, f) in frames {
        let mut f = f.clone();
        match parser.parse(&mut f, instruments, Some(InstrumentId(0))) {
            Ok(Parsed::Event(MarketEvent::Snapshot(s))) => {
                book.apply_snapshot(s.bids, s.asks);
                snapshot_id = Some(s.last_update_id);
            }
            Ok(Parsed::Event(MarketEvent::Depth(d)))
                if snapshot_id.is_some_and(|id| d.final_update_id >= id) =>
            {
                diffs.push((d.bids.to_vec(), d.asks.to_vec()));
            }
            _ => {}
        }
    }
    (book, diffs)
}

/// Runs workload `name` on the recording at `path`; returns a checksum so nothing is
/// optimised away, or an error for an unknown name or unreadable file.
pub fn run(name: &str, path: &Path) -> std::io::Result<u64> {
    let frames = load(path, FRAMES)?;
    let cfg = eth_usdm();
    let instruments = cfg.instruments.clone();
    Ok(match name {
        "parse" => black_box(measured_parse(&frames, &instruments)),
        "book" => {
            let (mut book, diffs) = book_input(&frames, &instruments);
            black_box(measured_book(&mut book, &diffs)) as u64
        }
        "signal" => {
            let (mut book, diffs) = book_input(&frames, &instruments);
            for (bids, asks) in &diffs {
                for l in bids {
                    book.set(Side::Bid, l.price, l.qty);
                }
                for l in asks {
                    book.set(Side::Ask, l.price, l.qty);
                }
            }
            let mut state = SignalState::new(&SignalConfig::default());
            black_box(measured_signal(&mut state, &book, 100_000)).to_bits()
        }
        "pipeline" => {
            let mut session = ReplaySession::new(&cfg, None);
            black_box(measured_pipeline(&mut session, &frames))
        }
        other => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "unknown workload {other:?}; known: {}",
                    WORKLOADS.join(", ")
                ),
            ));
        }
    })
}
