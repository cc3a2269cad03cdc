//! Round trips (flat to flat) and their running statistics, kept without per-trade storage.

use crate::instrument::InstrumentId;
use crate::units::{Notional, Side};

/// One finished round trip: from flat to flat (a flip closes one trip and opens the next).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoundTrip {
    /// Instrument.
    pub instrument: InstrumentId,
    /// Direction: `Bid` for a long trip, `Ask` for a short one.
    pub side: Side,
    /// Market time of the opening fill, ns.
    pub open_ns: u64,
    /// Market time of the closing fill, ns.
    pub close_ns: u64,
    /// Realized PnL before fees, notional units.
    pub gross_pnl: Notional,
    /// Fees of the trip's fills (a flip's fee split by quantity), notional units.
    pub fees: Notional,
}

impl RoundTrip {
    /// PnL net of fees, notional units.
    pub fn net_pnl(&self) -> Notional {
        self.gross_pnl.saturating_sub(self.fees)
    }
}

/// Running sums over finished round trips' net PnL (notional units).
///
/// Exact integer totals; mean and variance by Welford's update in `f64`, which stays accurate
/// where `Σx²` in any fixed width would overflow or cancel.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RoundTripStats {
    /// Finished trips.
    pub count: u64,
    /// Trips with net PnL > 0.
    pub wins: u64,
    /// Trips with net PnL < 0.
    pub losses: u64,
    /// Sum of net PnL.
    pub total: Notional,
    /// Sum of net PnL of winning trips.
    pub gross_win: Notional,
    /// Sum of the absolute net PnL of losing trips.
    pub gross_loss: Notional,
    /// Sum of hold times, ns.
    pub hold_ns_total: u128,
    mean: f64,
    m2: f64,
}

impl RoundTripStats {
    /// Adds one finished trip.
    #[inline]
    pub fn record(&mut self, trip: &RoundTrip) {
        let pnl = trip.net_pnl();
        self.count += 1;
        self.total = self.total.saturating_add(pnl);
        if pnl > 0 {
            self.wins += 1;
            self.gross_win = self.gross_win.saturating_add(pnl);
        } else if pnl < 0 {
            self.losses += 1;
            self.gross_loss = self.gross_loss.saturating_add(pnl.saturating_neg());
        }
        self.hold_ns_total += u128::from(trip.close_ns.saturating_sub(trip.open_ns));
        let x = pnl as f64;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// Mean net PnL per trip, notional units (0 with no trips).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Sample standard deviation (n - 1) of net PnL per trip; 0 with fewer than two trips.
    pub fn stdev(&self) -> f64 {
        if self.count < 2 {
            return 0.0;
        }
        (self.m2.max(0.0) / (self.count - 1) as f64).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trip(gross: i128, fees: i128) -> RoundTrip {
        RoundTrip {
            instrument: InstrumentId(0),
            side: Side::Bid,
            open_ns: 0,
            close_ns: 2_000_000,
            gross_pnl: gross,
            fees,
        }
    }

    #[test]
    fn sums_and_welford_agree_with_direct_formulas() {
        let mut s = RoundTripStats::default();
        for (g, f) in [(10, 1), (-4, 1), (0, 0), (7, 2)] {
            s.record(&trip(g, f));
        }
        // Net: 9, -5, 0, 5.
        assert_eq!((s.count, s.wins, s.losses, s.total), (4, 2, 1, 9));
        assert_eq!((s.gross_win, s.gross_loss), (14, 5));
        assert!((s.mean() - 2.25).abs() < 1e-12);
        let var = [9.0f64, -5.0, 0.0, 5.0]
            .iter()
            .map(|x| (x - 2.25) * (x - 2.25))
            .sum::<f64>()
            / 3.0;
        assert!((s.stdev() - var.sqrt()).abs() < 1e-12);
        assert_eq!(s.hold_ns_total, 8_000_000);
    }
}
