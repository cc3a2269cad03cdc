//! Deterministic workloads for the instruction-count gates.
//!
//! Each workload loads its input first, then runs one `#[inline(never)]` function named
//! `measured_*`. `scripts/icount-gate.sh` runs a workload under callgrind with collection
//! switched on only inside `gates::measured_*`, so the count covers exactly the measured work
//! and is the same on every run of the same binary and input, whatever else the machine does.
//! Baselines live in `bench/baselines/icount.txt`.

use crate::data::{self, DiffLevels};
use obi_engine::book::L2Book;
use obi_engine::config::Config;
use obi_engine::feed::binance::{BinanceParser, Parsed};
use obi_engine::instrument::{InstrumentId, Instruments};
use obi_engine::replay::ReplaySession;
use obi_engine::signal::{SignalConfig, SignalState};
use obi_engine::units::Side;
use std::hint::black_box;
use std::path::Path;

/// The workloads, by name.
pub const WORKLOADS: [&str; 4] = ["parse", "book", "signal", "pipeline"];

/// Frames of the recording each workload uses (the first ones, after the snapshot loads).
pub const FRAMES: usize = 20_000;

fn eth_usdm() -> Config {
    let mut cfg = Config::with_instruments(data::eth_usdm_instruments());
    cfg.engine.shm_enabled = false;
    cfg
}

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
    for d in diffs {
        apply(book, d);
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

fn apply(book: &mut L2Book, d: &DiffLevels) {
    for l in &d.bids {
        book.set(Side::Bid, l.price, l.qty);
    }
    for l in &d.asks {
        book.set(Side::Ask, l.price, l.qty);
    }
}

/// The book loaded with the snapshot, and the diffs to apply, parsed outside measurement.
fn loaded_book(frames: &[(u64, Vec<u8>)], instruments: &Instruments) -> (L2Book, Vec<DiffLevels>) {
    let input = data::book_input(frames, instruments);
    let mut book = L2Book::with_capacity(8192);
    book.apply_snapshot(&input.snapshot.0, &input.snapshot.1);
    (book, input.diffs)
}

/// Runs workload `name` on the recording at `path`; returns a checksum so nothing is
/// optimised away, or an error for an unknown name or unreadable file.
pub fn run(name: &str, path: &Path) -> std::io::Result<u64> {
    let frames = data::load_collector(path, FRAMES)?;
    let cfg = eth_usdm();
    let instruments = cfg.instruments.clone();
    Ok(match name {
        "parse" => black_box(measured_parse(&frames, &instruments)),
        "book" => {
            let (mut book, diffs) = loaded_book(&frames, &instruments);
            black_box(measured_book(&mut book, &diffs)) as u64
        }
        "signal" => {
            let (mut book, diffs) = loaded_book(&frames, &instruments);
            for d in &diffs {
                apply(&mut book, d);
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
