//! Trading results for the report: per-instrument statistics from the portfolio, pooled.

use super::report::TradingSummary;
use crate::portfolio::{PROFIT_FACTOR_CAP, TradeStats};
use crate::runtime::{TickObserver, TickPath};

/// Per-instrument statistics, in instrument order.
pub fn by_instrument<O: TickObserver>(tick: &TickPath<O>) -> Vec<TradeStats> {
    tick.instruments()
        .iter()
        .map(|(id, spec)| tick.portfolio().trade_stats(id, spec))
        .collect()
}

/// All instruments pooled. Money is summed in quote currency (instruments are assumed to
/// share one quote currency); per-trade mean and variance are pooled exactly from each
/// instrument's count, mean and sample stdev; drawdown is the sum of the per-instrument
/// maxima (exact for one instrument, an upper bound for several).
pub fn summary<O: TickObserver>(tick: &TickPath<O>) -> TradingSummary {
    let stats = by_instrument(tick);
    let n: u64 = stats.iter().map(|s| s.trades).sum();
    let wins: u64 = stats.iter().map(|s| s.wins).sum();
    let gross_profit: f64 = stats.iter().map(|s| s.gross_profit).sum();
    let gross_loss: f64 = stats.iter().map(|s| s.gross_loss).sum();
    let nf = n as f64;
    let mean = if n > 0 {
        stats
            .iter()
            .map(|s| s.trades as f64 * s.avg_trade_pnl)
            .sum::<f64>()
            / nf
    } else {
        0.0
    };
    let var = if n > 1 {
        let within: f64 = stats
            .iter()
            .map(|s| s.trades.saturating_sub(1) as f64 * s.trade_pnl_stdev * s.trade_pnl_stdev)
            .sum();
        let between: f64 = stats
            .iter()
            .map(|s| s.trades as f64 * (s.avg_trade_pnl - mean).powi(2))
            .sum();
        (within + between) / (nf - 1.0)
    } else {
        0.0
    };
    let sd = var.sqrt();
    let (sharpe, sqn) = if sd > 0.0 && sd.is_finite() {
        (mean / sd, nf.sqrt() * mean / sd)
    } else {
        (0.0, 0.0)
    };
    let profit_factor = if gross_loss > 0.0 {
        (gross_profit / gross_loss).min(PROFIT_FACTOR_CAP)
    } else if gross_profit > 0.0 {
        PROFIT_FACTOR_CAP
    } else {
        0.0
    };
    let hold_total: f64 = stats.iter().map(|s| s.trades as f64 * s.avg_hold_ms).sum();
    TradingSummary {
        trades: n,
        pnl: stats.iter().map(|s| s.equity).sum(),
        fees: stats.iter().map(|s| s.fees).sum(),
        max_drawdown: stats.iter().map(|s| s.max_drawdown).sum(),
        win_rate: if n > 0 { wins as f64 / nf } else { 0.0 },
        profit_factor,
        sqn,
        sharpe,
        avg_hold_ms: if n > 0 { hold_total / nf } else { 0.0 },
        fills: tick.counters.fills,
    }
}
