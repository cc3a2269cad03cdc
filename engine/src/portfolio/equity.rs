//! Equity curve summary: current equity, running peak and maximum drawdown.

use crate::units::Notional;

/// Peak and maximum drawdown of an equity series starting at zero, in notional units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EquityCurve {
    /// Latest equity.
    pub equity: Notional,
    /// Highest equity so far (at least the starting zero).
    pub peak: Notional,
    /// Largest fall from a peak so far (>= 0).
    pub max_drawdown: Notional,
    /// Market time of the latest update, ns.
    pub updated_ns: u64,
    /// Market time at which the maximum drawdown was reached, ns.
    pub max_drawdown_ns: u64,
}

impl EquityCurve {
    /// Records equity `equity` at `ts_ns`.
    #[inline]
    pub fn update(&mut self, equity: Notional, ts_ns: u64) {
        self.equity = equity;
        self.updated_ns = ts_ns;
        self.peak = self.peak.max(equity);
        let drawdown = self.peak.saturating_sub(equity);
        if drawdown > self.max_drawdown {
            self.max_drawdown = drawdown;
            self.max_drawdown_ns = ts_ns;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_peak_and_deepest_fall() {
        let mut c = EquityCurve::default();
        for (eq, ts) in [(-5, 1), (10, 2), (4, 3), (12, 4), (7, 5)] {
            c.update(eq, ts);
        }
        assert_eq!(
            (c.equity, c.peak, c.max_drawdown, c.max_drawdown_ns),
            (7, 12, 6, 3)
        );
    }
}
