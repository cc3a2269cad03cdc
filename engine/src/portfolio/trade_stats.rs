//! Report-time statistics in quote currency, as plain numbers for JSON.

use super::equity::EquityCurve;
use super::position::Position;
use super::round_trip::RoundTripStats;

/// Profit factor reported when there are wins and no losses (and the cap for any value), so
/// the figure stays a finite JSON number. 1000 reads as "no meaningful losses".
pub const PROFIT_FACTOR_CAP: f64 = 1000.0;

/// Performance of one instrument, money in quote currency.
///
/// A round trip runs from flat to flat; a fill that flips the position closes one trip and
/// opens the next (its fee split by quantity). Trip PnL is net of the trip's fees.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct TradeStats {
    /// Finished round trips.
    pub trades: u64,
    /// Trips with net PnL > 0.
    pub wins: u64,
    /// Trips with net PnL < 0 (breakeven trips are neither).
    pub losses: u64,
    /// `wins / trades`; 0 with no trades.
    pub win_rate: f64,
    /// Sum of trip net PnL.
    pub total_trade_pnl: f64,
    /// Sum of winning trips' net PnL.
    pub gross_profit: f64,
    /// Sum of losing trips' net losses, as a positive number.
    pub gross_loss: f64,
    /// `gross_profit / gross_loss`, capped at [`PROFIT_FACTOR_CAP`]; the cap when there are
    /// wins and no losses; 0 when there are no wins.
    pub profit_factor: f64,
    /// Mean net PnL per trip.
    pub avg_trade_pnl: f64,
    /// Sample standard deviation (n - 1) of net PnL per trip; 0 with fewer than 2 trips.
    pub trade_pnl_stdev: f64,
    /// Per-trade Sharpe-like ratio: mean / sample stdev of trip net PnL. Not annualized, no
    /// risk-free rate, not time-weighted. 0 when the stdev is 0 or undefined.
    pub sharpe_per_trade: f64,
    /// System quality number: `sqrt(trades) * mean / stdev`; 0 when the stdev is 0 or
    /// undefined (fewer than 2 trips).
    pub sqn: f64,
    /// Mean time from opening to closing fill, ms.
    pub avg_hold_ms: f64,
    /// Realized PnL before fees, all fills.
    pub realized_pnl: f64,
    /// Fees paid (negative: net rebates), all fills.
    pub fees: f64,
    /// Unrealized PnL at the last mark.
    pub unrealized_pnl: f64,
    /// Realized - fees + unrealized.
    pub equity: f64,
    /// Highest equity seen (at least 0).
    pub peak_equity: f64,
    /// Largest fall of equity from a peak (>= 0).
    pub max_drawdown: f64,
    /// Open position, lots.
    pub position_lots: i64,
    /// Average entry price of the open position, quote currency (0 when flat).
    pub avg_entry_price: f64,
}

impl TradeStats {
    /// Converts integer state with `unit` (quote value of one notional unit) and `tick` (quote
    /// value of one tick).
    pub fn from_parts(
        trips: &RoundTripStats,
        position: &Position,
        unrealized: i128,
        curve: &EquityCurve,
        unit: f64,
        tick: f64,
    ) -> TradeStats {
        let money = |x: i128| x as f64 * unit;
        let n = trips.count;
        let stdev = trips.stdev();
        let ratio = if stdev > 0.0 && stdev.is_finite() {
            trips.mean() / stdev
        } else {
            0.0
        };
        let profit_factor = if trips.gross_win <= 0 {
            0.0
        } else if trips.gross_loss <= 0 {
            PROFIT_FACTOR_CAP
        } else {
            (trips.gross_win as f64 / trips.gross_loss as f64).min(PROFIT_FACTOR_CAP)
        };
        let per_trade = |x: f64| if n == 0 { 0.0 } else { x / n as f64 };
        TradeStats {
            trades: n,
            wins: trips.wins,
            losses: trips.losses,
            win_rate: per_trade(trips.wins as f64),
            total_trade_pnl: money(trips.total),
            gross_profit: money(trips.gross_win),
            gross_loss: money(trips.gross_loss),
            profit_factor,
            avg_trade_pnl: trips.mean() * unit,
            trade_pnl_stdev: stdev * unit,
            sharpe_per_trade: ratio,
            sqn: (n as f64).sqrt() * ratio,
            avg_hold_ms: per_trade(trips.hold_ns_total as f64 / 1e6),
            realized_pnl: money(position.realized),
            fees: money(position.fees),
            unrealized_pnl: money(unrealized),
            equity: money(curve.equity),
            peak_equity: money(curve.peak),
            max_drawdown: money(curve.max_drawdown),
            position_lots: position.qty_lots,
            avg_entry_price: position.avg_entry_ticks() * tick,
        }
    }
}
