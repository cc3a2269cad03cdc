//! The replay report: counts, timing and trading results, as JSON or text for a person.

use crate::instrument::InstrumentSpec;
use crate::runtime::{Counters, InstrumentBook, Percentiles, TickObserver, TickPath};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

/// Where an instrument's tick and lot sizes came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleSource {
    /// The config file (or its exchange_info).
    Config,
    /// Derived from the decimals written in the recording's snapshot.
    DerivedFromSnapshot,
}

/// One instrument's line in the report.
#[derive(Clone, Debug, Serialize)]
pub struct InstrumentInfo {
    /// Symbol.
    pub symbol: String,
    /// Market kind.
    pub market: &'static str,
    /// Tick size as decimal text.
    pub tick_size: String,
    /// Lot size as decimal text.
    pub lot_size: String,
    /// Where those came from.
    pub scale_source: ScaleSource,
    /// Whether the book was valid at the end.
    pub book_valid_at_end: bool,
    /// Levels per side at the end.
    pub bid_levels: usize,
    /// Levels per side at the end.
    pub ask_levels: usize,
}

impl InstrumentInfo {
    /// Describes `spec` and its final book.
    pub fn new(
        spec: &InstrumentSpec,
        scale_source: ScaleSource,
        ib: &InstrumentBook,
    ) -> InstrumentInfo {
        let step = |s: &crate::instrument::Scale| {
            let mut t = String::new();
            let _ = s.write(&mut t, 1);
            t
        };
        InstrumentInfo {
            symbol: spec.symbol.to_string(),
            market: spec.market.name(),
            tick_size: step(&spec.price),
            lot_size: step(&spec.qty),
            scale_source,
            book_valid_at_end: ib.sync.is_valid(),
            bid_levels: ib.book.len(crate::units::Side::Bid),
            ask_levels: ib.book.len(crate::units::Side::Ask),
        }
    }
}

/// Round-trip trading results in quote currency.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct TradingSummary {
    /// Completed round trips (flat → flat).
    pub trades: u64,
    /// Net PnL after fees, quote currency (realized + unrealized at the last mid).
    pub pnl: f64,
    /// Fees paid, quote currency.
    pub fees: f64,
    /// Largest peak-to-trough fall of equity, quote currency.
    pub max_drawdown: f64,
    /// Winning round trips / all round trips.
    pub win_rate: f64,
    /// Gross wins / gross losses (0 losses with wins → reported as null-free large value).
    pub profit_factor: f64,
    /// System quality number: √N · mean / stdev of per-trade PnL.
    pub sqn: f64,
    /// Per-trade Sharpe-like ratio: mean / stdev of per-trade PnL (not annualised).
    pub sharpe: f64,
    /// Average holding time, ms.
    pub avg_hold_ms: f64,
    /// Fill reports received.
    pub fills: u64,
}

/// Timing figures; absent with `--no-timing`.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Timing {
    /// Wall time of the replay loop, ms.
    pub elapsed_ms: f64,
    /// Frames per wall second.
    pub frames_per_sec: f64,
}

/// Everything `replay` reports.
#[derive(Clone, Debug, Serialize)]
pub struct ReplayReport {
    /// Recordings, in replay order.
    pub recordings: Vec<PathBuf>,
    /// Instruments and their scales.
    pub instruments: Vec<InstrumentInfo>,
    /// All counters (frames, diffs_applied, gaps, resyncs, crossed, parse_errors, …).
    #[serde(flatten)]
    pub counters: Counters,
    /// Lines that were not frames (connect lines, outgoing frames).
    pub skipped_lines: u64,
    /// The first frame that failed to parse, as "frame N: why".
    pub first_parse_error: Option<String>,
    /// Rows written to `--tob-out`.
    pub tob_rows: Option<u64>,
    /// Frames per wall second (0 with `--no-timing`).
    pub frames_per_sec: f64,
    /// Wall time, ms (0 with `--no-timing`).
    pub elapsed_ms: f64,
    /// Receipt of the causing frame → intent pushed, ns (zeros with `--no-timing`).
    pub latency_ns: Percentiles,
    /// Receipt → tick-path work done, every frame, ns (zeros with `--no-timing`).
    pub frame_latency_ns: Percentiles,
    /// Trading results from the paper venue, all instruments.
    pub trading: TradingSummary,
    /// The same per instrument, in instrument order, with the full statistics.
    pub trading_by_instrument: Vec<crate::portfolio::TradeStats>,
}

impl ReplayReport {
    /// Collects the report from a finished tick path.
    pub fn build<O: TickObserver>(
        recordings: &[PathBuf],
        instruments: Vec<InstrumentInfo>,
        tick: &TickPath<O>,
        skipped_lines: u64,
        tob_rows: Option<u64>,
        elapsed: Option<Duration>,
    ) -> ReplayReport {
        let counters = tick.counters;
        let (frames_per_sec, elapsed_ms, latency_ns, frame_latency_ns) = match elapsed {
            Some(d) => (
                counters.frames as f64 / d.as_secs_f64().max(1e-9),
                d.as_secs_f64() * 1e3,
                tick.intent_latency.percentiles(),
                tick.frame_latency.percentiles(),
            ),
            None => (0.0, 0.0, Percentiles::default(), Percentiles::default()),
        };
        ReplayReport {
            recordings: recordings.to_vec(),
            instruments,
            counters,
            skipped_lines,
            first_parse_error: tick
                .first_parse_error
                .map(|(n, e)| format!("frame {n}: {e}")),
            tob_rows,
            frames_per_sec,
            elapsed_ms,
            latency_ns,
            frame_latency_ns,
            trading: super::trading::summary(tick),
            trading_by_instrument: super::trading::by_instrument(tick),
        }
    }

    /// One JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The same figures laid out for a person.
    pub fn to_text(&self) -> String {
        let c = &self.counters;
        let mut s = String::new();
        let _ = writeln!(s, "obi replay");
        for r in &self.recordings {
            let _ = writeln!(s, "  recording      {}", r.display());
        }
        for i in &self.instruments {
            let _ = writeln!(
                s,
                "  instrument     {} ({}) tick {} lot {} [{}] book {} ({} bids / {} asks)",
                i.symbol,
                i.market,
                i.tick_size,
                i.lot_size,
                match i.scale_source {
                    ScaleSource::Config => "from config",
                    ScaleSource::DerivedFromSnapshot => "derived from snapshot",
                },
                if i.book_valid_at_end {
                    "valid"
                } else {
                    "INVALID"
                },
                i.bid_levels,
                i.ask_levels
            );
        }
        let _ = writeln!(s, "\nfeed");
        let _ = writeln!(
            s,
            "  frames         {} ({} bytes, {} parse errors, {} unknown events, {} unknown symbols)",
            c.frames, c.bytes, c.parse_errors, c.unknown_events, c.unknown_symbols
        );
        let _ = writeln!(
            s,
            "  depth diffs    {} applied, {} buffered, {} stale",
            c.diffs_applied, c.diffs_buffered, c.diffs_stale
        );
        let _ = writeln!(
            s,
            "  sequence       {} gaps, {} resyncs, {} crossed, {} snapshots ({} ignored)",
            c.gaps, c.resyncs, c.crossed, c.snapshots, c.snapshots_ignored
        );
        let _ = writeln!(
            s,
            "  oracle         {} bookTickers checked, {} mismatches (of {} tickers)",
            c.oracle_checked, c.oracle_mismatches, c.tickers
        );
        let _ = writeln!(s, "  trades seen    {}", c.trades);
        let _ = writeln!(s, "\norders");
        let _ = writeln!(
            s,
            "  intents        {} sent, {} refused by risk, {} ring full",
            c.intents, c.intents_risk_rejected, c.intent_ring_full
        );
        let _ = writeln!(
            s,
            "  venue          {} accepted, {} cancelled, {} rejected, {} fills",
            c.orders_accepted, c.orders_canceled, c.orders_rejected, c.fills
        );
        let t = &self.trading;
        let _ = writeln!(s, "\ntrading (paper)");
        let _ = writeln!(
            s,
            "  round trips    {}  win rate {:.1}%  profit factor {:.2}",
            t.trades,
            t.win_rate * 100.0,
            t.profit_factor
        );
        let _ = writeln!(
            s,
            "  pnl            {:.6} (fees {:.6})  max drawdown {:.6}",
            t.pnl, t.fees, t.max_drawdown
        );
        let _ = writeln!(
            s,
            "  sqn            {:.3}  sharpe/trade {:.3}  avg hold {:.0} ms",
            t.sqn, t.sharpe, t.avg_hold_ms
        );
        if self.elapsed_ms > 0.0 {
            let l = &self.latency_ns;
            let f = &self.frame_latency_ns;
            let _ = writeln!(s, "\ntiming (wall clock, this machine)");
            let _ = writeln!(
                s,
                "  throughput     {:.0} frames/s over {:.1} ms",
                self.frames_per_sec, self.elapsed_ms
            );
            let _ = writeln!(
                s,
                "  receipt→intent p50 {} ns  p99 {} ns  p99.9 {} ns  max {} ns  (n={})",
                l.p50, l.p99, l.p999, l.max, l.count
            );
            let _ = writeln!(
                s,
                "  per frame      p50 {} ns  p99 {} ns  p99.9 {} ns  max {} ns  (n={})",
                f.p50, f.p99, f.p999, f.max, f.count
            );
        }
        s
    }
}
