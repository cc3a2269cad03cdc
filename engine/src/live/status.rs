//! The status line `obi-engine run` prints while it runs, read from the engine's own stats
//! file on the main thread (the core thread never formats or prints).

use obi_shm::{CounterId, GaugeId, InstrumentGaugeId, ReaderState, StatsReader};
use std::path::Path;

/// One status line from the stats file, or None when it cannot be read yet.
pub fn status_line(path: &Path, symbols: &[String]) -> Option<String> {
    let ReaderState::Ready(view) = StatsReader::open(path) else {
        return None;
    };
    let c = view.counters();
    let g = view.gauges().ok()?;
    let state = if g.get(GaugeId::KillState) != 0 {
        "HALTED"
    } else if g.get(GaugeId::FeedUp) == 0 {
        "CONNECTING"
    } else if (0..symbols.len()).all(|i| g.instrument(i, InstrumentGaugeId::BookValid) == Some(1)) {
        "TRADING"
    } else {
        "SYNCING"
    };
    let mut positions = String::new();
    for (i, s) in symbols.iter().enumerate() {
        let lots = g
            .instrument(i, InstrumentGaugeId::PositionLots)
            .unwrap_or(0);
        positions.push_str(&format!(" {s}={lots}"));
    }
    let pnl = (g.get(GaugeId::RealizedPnlQuoteMicros) + g.get(GaugeId::UnrealizedPnlQuoteMicros))
        as f64
        / 1e6;
    Some(format!(
        "{state:<10} pos(lots){positions} pnl {pnl:+.4} | {} frames/s | tick->intent p50 {:.1} us p99 {:.1} us | fills {} | reconnects {} gaps {}",
        g.get(GaugeId::FramesPerSec),
        g.get(GaugeId::LatencyP50Ns) as f64 / 1e3,
        g.get(GaugeId::LatencyP99Ns) as f64 / 1e3,
        c.get(CounterId::FillsTotal),
        c.get(CounterId::FeedDisconnectsTotal),
        c.get(CounterId::GapsTotal),
    ))
}
