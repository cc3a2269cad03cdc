//! Synthetic Binance USD-M futures market data for one symbol, in the collector format the
//! engine's replay reads, with order-book imbalance that carries real information.
//!
//! # Output
//!
//! One line per frame, `<local_receive_time_ns> <raw json>`, local times strictly increasing:
//! combined-stream envelopes for `<sym>@depth@0ms`, `<sym>@bookTicker` and `<sym>@trade`, and
//! exactly one bare REST snapshot `{"lastUpdateId":..,"E":..,"T":..,"bids":..,"asks":..}`.
//! Prices and quantities are fixed-decimal strings (default 2 and 3 decimals).
//!
//! Sequencing follows the USD-M rule: every diff's `pu` is the previous diff's `u`, `U <= u`,
//! and ids skip values between diffs as on the real venue (so `U != pu + 1`). The snapshot is
//! taken mid-batch (`snapshot_at_ms` into the session) and arrives `snapshot_latency_ms` later,
//! so several diffs precede it in the file: those with `u < lastUpdateId` must be dropped, and
//! the first diff to apply has `U <= lastUpdateId <= u`. Diffs carry absolute level quantities
//! (`"0.000"` deletes), so applying that straddling diff on top of the snapshot is exact.
//!
//! bookTicker: after every diff that changed the best bid/ask (price or quantity), a ticker
//! whose `u` is that diff's final `u` arrives a few µs after the diff: an exact oracle of the
//! book. With `intra_diff_tickers` (default), touch changes inside a batch also publish a
//! ticker with the intermediate update id, arriving before the diff, as on the real stream;
//! those match no diff's `u`. Tickers never contradict the diffs: each shows the true touch at
//! its `u`. Trades: one to three prints per level a market order takes, `m == true` when the
//! aggressor sold. Exchange `E`/`T` (ms) precede local receipt by a per-stream feed lag
//! (depth 4 ms, ticker 2 ms, trade 2.5 ms, plus exponential jitter).
//!
//! # Market model
//!
//! - A latent fair price (ticks) is a random walk of ±1 tick moves (Poisson, 3/s); the book is
//!   quoted around it: bids at `fair - d`, asks at `fair + 1 + d`, `d` exponential (mean 6
//!   ticks) with occasional far levels (up to 15.00 away); adds never cross the book.
//! - A hidden pressure state (Sell, Neutral, Buy) switches as a Markov chain (Neutral lasts
//!   2.5 s on average, pressure 1.7 s). Under Buy pressure, near-touch (d < 5) limit adds go
//!   to the bid and near-touch cancels to the ask with weights 1 ± 0.4, bid adds are 1.4×
//!   larger, market orders buy with probability 0.7, and fair moves are up with probability
//!   0.65; Sell mirrors it. So top-of-book imbalance rises first and the mid follows over the
//!   next ~0.5–5 s (top-5 OBI vs the next 1 s mid change correlates at about 0.15–0.25).
//! - Limit adds (170/s) and cancels (150/s, each taking a random share of a level) at random
//!   depths; market orders (4/s, log-normal sizes) sweep the touch; when the mid strays from
//!   fair, arbitrage market orders and cancels of stale touch levels pull it back.
//! - `ModelParams::pressure_strength = 0` turns every pressure effect off (the control).
//!
//! Everything is drawn from one `ChaCha8Rng` seeded by `SynthConfig::seed` and written in a
//! fixed order, so one config always gives the same bytes.

mod book;
mod config;
mod dist;
mod feed;
mod model;
mod session;
mod wire;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// The model's parts, for drivers that step the market themselves (the venue simulator
/// runs it in real time instead of writing a session file).
pub use book::{BookSide, PendingDiff, SimBook, Touch};
pub use config::{FeedParams, ModelParams, SynthConfig, SynthConfigError};
pub use model::{Fill as ModelFill, Market, MarketEvent as ModelEvent};
pub use session::{SynthSummary, generate};

/// Generates `cfg` into the file at `path`, gzip-compressed when the name ends in `.gz`.
pub fn write_to_path(cfg: &SynthConfig, path: &Path) -> io::Result<SynthSummary> {
    let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let gzip = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("gz"));
    if gzip {
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        let summary = generate(cfg, &mut gz)?;
        gz.finish()?.flush()?;
        Ok(summary)
    } else {
        let mut file = file;
        let summary = generate(cfg, &mut file)?;
        file.flush()?;
        Ok(summary)
    }
}
