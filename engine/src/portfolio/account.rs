//! The portfolio: positions, PnL, equity curves and round-trip statistics per instrument.

use super::equity::EquityCurve;
use super::position::{Position, prorate};
use super::round_trip::{RoundTrip, RoundTripStats};
use super::trade_stats::TradeStats;
use crate::book::L2Book;
use crate::instrument::{InstrumentId, InstrumentSpec};
use crate::order::Fill;
use crate::units::{Lots, Notional, Side, Ticks};

/// The round trip in progress on an instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OpenTrip {
    side: Side,
    open_ns: u64,
    gross_pnl: Notional,
    fees: Notional,
}

/// Everything the portfolio keeps for one instrument (notional units of that instrument).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Account {
    position: Position,
    /// Last mark, doubled ticks; `None` until a mark or a fill.
    mark_x2_ticks: Option<i64>,
    curve: EquityCurve,
    trip: Option<OpenTrip>,
    trips: RoundTripStats,
}

impl Account {
    fn unrealized(&self) -> Notional {
        self.mark_x2_ticks
            .map_or(0, |m| self.position.unrealized(m))
    }

    /// Realized - fees + unrealized.
    fn equity(&self) -> Notional {
        self.position
            .realized
            .saturating_sub(self.position.fees)
            .saturating_add(self.unrealized())
    }
}

/// A copy of one instrument's accounting, notional units (`tick * lot`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PositionSnapshot {
    /// Signed position, lots.
    pub position: Lots,
    /// Signed cost basis of the open lots.
    pub cost: Notional,
    /// Realized PnL before fees.
    pub realized: Notional,
    /// Fees paid (negative: rebates).
    pub fees: Notional,
    /// Unrealized PnL at the last mark.
    pub unrealized: Notional,
    /// The equity curve: realized - fees + unrealized, its peak and max drawdown.
    pub curve: EquityCurve,
}

/// Positions and PnL of every instrument, from fills and marks.
///
/// Money is integer notional units of each instrument; instruments with different tick or lot
/// sizes have different units, so curves and statistics are kept per instrument and only
/// converted to quote currency in [`Portfolio::trade_stats`]. [`on_fill`](Self::on_fill) and
/// [`mark`](Self::mark) never allocate.
#[derive(Debug)]
pub struct Portfolio {
    accounts: Box<[Account]>,
    ignored_fills: u64,
}

impl Portfolio {
    /// A flat portfolio of `n_instruments`.
    pub fn new(n_instruments: usize) -> Portfolio {
        Portfolio {
            accounts: vec![Account::default(); n_instruments].into_boxed_slice(),
            ignored_fills: 0,
        }
    }

    /// Sets an instrument's position, cost basis, realized PnL and fees (start-up recovery
    /// from the journal); unknown instruments are ignored.
    pub fn restore(&mut self, instrument: InstrumentId, position: Position) {
        if let Some(acct) = self.accounts.get_mut(instrument.index()) {
            acct.position = position;
        }
    }

    /// Books one fill; returns the round trip it finished, if any.
    ///
    /// Fills with a non-positive quantity or an unknown instrument are counted and ignored.
    pub fn on_fill(&mut self, fill: &Fill) -> Option<RoundTrip> {
        let Some(acct) = self.accounts.get_mut(fill.instrument.index()) else {
            self.ignored_fills += 1;
            return None;
        };
        if fill.qty.0 <= 0 {
            self.ignored_fills += 1;
            return None;
        }
        let effect = acct
            .position
            .apply(fill.side, fill.price, fill.qty, fill.fee);
        // A flip's fee is split by quantity between the closing and the opening part.
        let close_fee = if effect.opened_lots == 0 {
            fill.fee
        } else {
            prorate(fill.fee, effect.closed_lots, fill.qty.0.unsigned_abs())
        };
        let open_fee = fill.fee - close_fee;
        let mut finished = None;
        if effect.closed_lots > 0 {
            if let Some(trip) = acct.trip.as_mut() {
                trip.gross_pnl = trip.gross_pnl.saturating_add(effect.realized);
                trip.fees = trip.fees.saturating_add(close_fee);
            }
            if acct.position.qty_lots == 0 || effect.opened_lots > 0 {
                finished = acct.trip.take().map(|t| RoundTrip {
                    instrument: fill.instrument,
                    side: t.side,
                    open_ns: t.open_ns,
                    close_ns: fill.ts_ns,
                    gross_pnl: t.gross_pnl,
                    fees: t.fees,
                });
            }
        }
        if effect.opened_lots > 0 {
            match acct.trip.as_mut() {
                Some(trip) => trip.fees = trip.fees.saturating_add(open_fee),
                None => {
                    acct.trip = Some(OpenTrip {
                        side: fill.side,
                        open_ns: fill.ts_ns,
                        gross_pnl: 0,
                        fees: open_fee,
                    })
                }
            }
        }
        if let Some(trip) = &finished {
            acct.trips.record(trip);
        }
        if acct.mark_x2_ticks.is_none() {
            acct.mark_x2_ticks = Some(fill.price.0.saturating_mul(2));
        }
        let equity = acct.equity();
        acct.curve.update(equity, fill.ts_ns);
        finished
    }

    /// Marks `instrument` at `mid_x2_ticks / 2` ticks at `ts_ns` and updates its equity curve.
    ///
    /// The mid of a book is `(bid + ask) / 2`, which is half a tick off the grid whenever the
    /// spread is an odd number of ticks; passing `bid + ask` keeps it exact (see
    /// [`Portfolio::mid_x2_ticks`]). Unrealized PnL is rounded down to a whole notional unit.
    pub fn mark(&mut self, instrument: InstrumentId, mid_x2_ticks: i64, ts_ns: u64) {
        if let Some(acct) = self.accounts.get_mut(instrument.index()) {
            acct.mark_x2_ticks = Some(mid_x2_ticks);
            let equity = acct.equity();
            acct.curve.update(equity, ts_ns);
        }
    }

    /// Marks `instrument` at a whole-tick price.
    pub fn mark_price(&mut self, instrument: InstrumentId, price: Ticks, ts_ns: u64) {
        self.mark(instrument, price.0.saturating_mul(2), ts_ns);
    }

    /// `best_bid + best_ask` in ticks (the doubled mid), if the book has both sides.
    pub fn mid_x2_ticks(book: &L2Book) -> Option<i64> {
        match (book.best_bid(), book.best_ask()) {
            (Some(b), Some(a)) => b.price.0.checked_add(a.price.0),
            _ => None,
        }
    }

    /// Signed position of `instrument`, lots (zero if unknown).
    pub fn position(&self, instrument: InstrumentId) -> Lots {
        Lots(
            self.accounts
                .get(instrument.index())
                .map_or(0, |a| a.position.qty_lots),
        )
    }

    /// Realized PnL before fees, notional units.
    pub fn realized_pnl(&self, instrument: InstrumentId) -> Notional {
        self.accounts
            .get(instrument.index())
            .map_or(0, |a| a.position.realized)
    }

    /// Fees paid, notional units.
    pub fn fees(&self, instrument: InstrumentId) -> Notional {
        self.accounts
            .get(instrument.index())
            .map_or(0, |a| a.position.fees)
    }

    /// Unrealized PnL at the last mark, notional units.
    pub fn unrealized_pnl(&self, instrument: InstrumentId) -> Notional {
        self.accounts
            .get(instrument.index())
            .map_or(0, Account::unrealized)
    }

    /// Realized - fees + unrealized, notional units.
    pub fn equity(&self, instrument: InstrumentId) -> Notional {
        self.accounts
            .get(instrument.index())
            .map_or(0, Account::equity)
    }

    /// The accounting of one instrument, or `None` if unknown.
    pub fn snapshot(&self, instrument: InstrumentId) -> Option<PositionSnapshot> {
        self.accounts
            .get(instrument.index())
            .map(|a| PositionSnapshot {
                position: Lots(a.position.qty_lots),
                cost: a.position.cost,
                realized: a.position.realized,
                fees: a.position.fees,
                unrealized: a.unrealized(),
                curve: a.curve,
            })
    }

    /// Running round-trip statistics of one instrument, notional units.
    pub fn round_trips(&self, instrument: InstrumentId) -> Option<&RoundTripStats> {
        self.accounts.get(instrument.index()).map(|a| &a.trips)
    }

    /// Fills ignored (unknown instrument or non-positive quantity).
    pub fn ignored_fills(&self) -> u64 {
        self.ignored_fills
    }

    /// Statistics of `instrument` in quote currency, converted with `spec` (report time only).
    pub fn trade_stats(&self, instrument: InstrumentId, spec: &InstrumentSpec) -> TradeStats {
        let Some(a) = self.accounts.get(instrument.index()) else {
            return TradeStats::default();
        };
        TradeStats::from_parts(
            &a.trips,
            &a.position,
            a.unrealized(),
            &a.curve,
            spec.notional_unit_f64(),
            spec.price.step_f64(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instrument::{Market, Scale, Symbol};
    use crate::order::{Liquidity, OrderId};
    use crate::portfolio::PROFIT_FACTOR_CAP;

    const I0: InstrumentId = InstrumentId(0);

    fn fill(side: Side, price: i64, qty: i64, fee: i128, ts_ms: u64) -> Fill {
        Fill {
            order_id: OrderId(1),
            instrument: I0,
            side,
            price: Ticks(price),
            qty: Lots(qty),
            leaves_qty: Lots(0),
            fee,
            liquidity: Liquidity::Maker,
            ts_ns: ts_ms * 1_000_000,
        }
    }

    fn spec() -> InstrumentSpec {
        InstrumentSpec {
            symbol: Symbol::new("ETHUSDT").expect("valid symbol"),
            market: Market::UsdM,
            price: Scale::unit(2), // 0.01
            qty: Scale::unit(3),   // 0.001
        }
    }

    #[test]
    fn long_then_close_at_profit() {
        let mut p = Portfolio::new(1);
        assert_eq!(p.on_fill(&fill(Side::Bid, 1_000, 2, 1, 0)), None);
        p.mark(I0, 2_011, 5_000_000); // mid 1005.5
        assert_eq!(p.unrealized_pnl(I0), 11);
        assert_eq!(p.equity(I0), 10);
        let trip = p
            .on_fill(&fill(Side::Ask, 1_010, 2, 1, 10))
            .expect("trip closes");
        assert_eq!(
            (trip.side, trip.gross_pnl, trip.fees, trip.net_pnl()),
            (Side::Bid, 20, 2, 18)
        );
        assert_eq!((trip.open_ns, trip.close_ns), (0, 10_000_000));
        assert_eq!(p.position(I0), Lots(0));
        assert_eq!(
            (
                p.realized_pnl(I0),
                p.fees(I0),
                p.unrealized_pnl(I0),
                p.equity(I0)
            ),
            (20, 2, 0, 18)
        );
    }

    #[test]
    fn short_with_partial_closes_is_one_trip() {
        let mut p = Portfolio::new(1);
        p.on_fill(&fill(Side::Ask, 2_000, 3, 0, 0));
        assert_eq!(p.position(I0), Lots(-3));
        assert_eq!(p.on_fill(&fill(Side::Bid, 1_990, 1, 0, 1)), None);
        assert_eq!(p.realized_pnl(I0), 10);
        assert_eq!(p.on_fill(&fill(Side::Bid, 2_005, 1, 0, 2)), None);
        assert_eq!(p.realized_pnl(I0), 5);
        let trip = p
            .on_fill(&fill(Side::Bid, 1_980, 1, 0, 3))
            .expect("flat again");
        assert_eq!((trip.side, trip.net_pnl()), (Side::Ask, 25));
        assert_eq!(p.round_trips(I0).map(|s| s.count), Some(1));
    }

    #[test]
    fn flip_closes_one_trip_and_opens_the_next_with_split_fee() {
        let mut p = Portfolio::new(1);
        p.on_fill(&fill(Side::Bid, 100, 2, 2, 0));
        // Sell 5: close 2 (+20), open short 3; fee 10 split 4 / 6.
        let trip = p
            .on_fill(&fill(Side::Ask, 110, 5, 10, 1))
            .expect("flip closes the long");
        assert_eq!((trip.gross_pnl, trip.fees, trip.net_pnl()), (20, 6, 14));
        assert_eq!(p.position(I0), Lots(-3));
        let trip = p
            .on_fill(&fill(Side::Bid, 112, 3, 0, 2))
            .expect("short closes");
        assert_eq!(
            (trip.side, trip.gross_pnl, trip.fees, trip.net_pnl()),
            (Side::Ask, -6, 6, -12)
        );
        assert_eq!((p.realized_pnl(I0), p.fees(I0)), (14, 12));
    }

    #[test]
    fn drawdown_follows_marks_and_fills() {
        let mut p = Portfolio::new(1);
        p.on_fill(&fill(Side::Bid, 100, 1, 0, 0));
        p.mark_price(I0, Ticks(110), 1);
        p.mark_price(I0, Ticks(95), 2);
        p.mark_price(I0, Ticks(104), 3);
        let snap = p.snapshot(I0).expect("known instrument");
        assert_eq!(
            (snap.curve.peak, snap.curve.max_drawdown, snap.curve.equity),
            (10, 15, 4)
        );
        assert_eq!(snap.curve.max_drawdown_ns, 2);
        assert_eq!(Portfolio::mid_x2_ticks(&L2Book::new()), None);
    }

    #[test]
    fn stats_with_no_losses_and_one_trade_are_finite() {
        let mut p = Portfolio::new(1);
        let empty = p.trade_stats(I0, &spec());
        assert_eq!(
            (empty.trades, empty.profit_factor, empty.sqn, empty.win_rate),
            (0, 0.0, 0.0, 0.0)
        );
        p.on_fill(&fill(Side::Bid, 100_000, 1_000, 0, 0));
        p.on_fill(&fill(Side::Ask, 100_100, 1_000, 0, 250));
        let s = p.trade_stats(I0, &spec());
        assert_eq!((s.trades, s.wins, s.losses, s.win_rate), (1, 1, 0, 1.0));
        assert_eq!(s.profit_factor, PROFIT_FACTOR_CAP);
        assert_eq!(
            (s.sqn, s.sharpe_per_trade, s.trade_pnl_stdev),
            (0.0, 0.0, 0.0)
        );
        // 1 quote unit per lot-tick... 100 ticks * 1000 lots * 1e-5 = 1.0 quote.
        assert!((s.total_trade_pnl - 1.0).abs() < 1e-9);
        assert!((s.avg_hold_ms - 250.0).abs() < 1e-9);
        let json = serde_json::to_string(&s).expect("serializes");
        assert!(
            !json.contains("null") && json.contains("\"profit_factor\":1000.0"),
            "{json}"
        );
    }

    #[test]
    fn stats_over_several_trades() {
        let mut p = Portfolio::new(1);
        for (i, exit) in [110, 95, 120, 100].into_iter().enumerate() {
            let t = i as u64 * 10;
            p.on_fill(&fill(Side::Bid, 100, 1, 1, t));
            p.on_fill(&fill(Side::Ask, exit, 1, 1, t + 1));
        }
        // Net per trip: 8, -7, 18, -2.
        let s = p.trade_stats(I0, &spec());
        assert_eq!((s.trades, s.wins, s.losses), (4, 2, 2));
        assert!((s.win_rate - 0.5).abs() < 1e-12);
        assert!((s.profit_factor - 26.0 / 9.0).abs() < 1e-12);
        let mean = 17.0 / 4.0;
        let var = [8.0f64, -7.0, 18.0, -2.0]
            .iter()
            .map(|x| (x - mean) * (x - mean))
            .sum::<f64>()
            / 3.0;
        assert!((s.sharpe_per_trade - mean / var.sqrt()).abs() < 1e-12);
        assert!((s.sqn - 2.0 * mean / var.sqrt()).abs() < 1e-12);
        assert!((s.avg_hold_ms - 1.0).abs() < 1e-12);
        assert!(s.max_drawdown > 0.0);
    }

    #[test]
    fn bad_fills_are_ignored() {
        let mut p = Portfolio::new(1);
        p.on_fill(&fill(Side::Bid, 100, 0, 0, 0));
        p.on_fill(&Fill {
            instrument: InstrumentId(3),
            ..fill(Side::Bid, 100, 1, 0, 0)
        });
        p.mark(InstrumentId(3), 1, 0);
        assert_eq!((p.ignored_fills(), p.position(I0)), (2, Lots(0)));
        assert_eq!(
            p.trade_stats(InstrumentId(3), &spec()),
            TradeStats::default()
        );
    }
}
