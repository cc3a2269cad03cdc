//! Per-instrument signal state: updates every signal family per book event, in O(levels).

use crate::book::L2Book;
use crate::feed::event::Trade;
use crate::signal::config::{MAX_OBI_DEPTHS, SignalConfig};
use crate::signal::ewma::{Ewma, EwmaZScore};
use crate::signal::microprice::microprice;
use crate::signal::obi::{depth_sums, obi_ratio, weighted_obi};
use crate::signal::ofi::{OfiTracker, WindowSum};
use crate::signal::volatility::RealizedVol;
use crate::units::{Side, Ticks};

/// The latest signal values of one instrument. `None` means "not defined now" (empty side,
/// warm-up, flat series); no field is ever NaN.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Signals {
    /// Market time of the event these values reflect, ns.
    pub ts_ns: u64,
    /// Both touches present with positive size and `ask > bid`; a strategy trades only then.
    pub valid: bool,
    /// Best bid price, ticks (`Ticks(0)` when there is no bid).
    pub best_bid: Ticks,
    /// Best ask price, ticks (`Ticks(0)` when there is no ask).
    pub best_ask: Ticks,
    /// `ask − bid`, ticks; 0 unless both touches exist.
    pub spread_ticks: i64,
    /// `(bid + ask) / 2`, ticks; `None` unless both touches exist.
    pub mid_ticks: Option<f64>,
    /// The configured OBI depths, levels per side; entries past `obi_count` are 0.
    pub obi_depths_levels: [usize; MAX_OBI_DEPTHS],
    /// How many entries of `obi` / `obi_depths_levels` are in use.
    pub obi_count: usize,
    /// OBI over the top `obi_depths_levels[k]` levels, in `[-1, 1]`; `None` with no quantity.
    pub obi: [Option<f64>; MAX_OBI_DEPTHS],
    /// Distance-weighted OBI, in `[-1, 1]`; `None` unless both touches exist.
    pub obi_weighted: Option<f64>,
    /// Time-decayed EWMA of the OBI at `ewma_depth_levels`, in `[-1, 1]`.
    pub obi_ewma: Option<f64>,
    /// z-score of the OBI at `ewma_depth_levels` against its EWMA mean and variance
    /// (dimensionless); `None` during warm-up or when the series is flat.
    pub obi_zscore: Option<f64>,
    /// Microprice, ticks.
    pub microprice_ticks: Option<f64>,
    /// Microprice minus mid, ticks (within ±spread/2).
    pub microprice_offset_ticks: Option<f64>,
    /// Microprice offset over half the spread, in `[-1, 1]`.
    pub microprice_skew: Option<f64>,
    /// Order-flow imbalance at the touch summed over `ofi_window_ms`, lots (signed, + = buy).
    pub ofi_lots: i64,
    /// `ofi_lots` over the EWMA of the mean touch size `(qb + qa) / 2` (dimensionless;
    /// 0 before any touch).
    pub ofi_norm: f64,
    /// Aggressor-signed trade volume over `ofi_window_ms`, lots (+ = buyers lifting).
    pub trade_flow_lots: i64,
    /// σ of the mid over `vol_horizon_ms`, ticks; `None` during warm-up.
    pub vol_ticks: Option<f64>,
}

impl Signals {
    /// The OBI at a configured depth (`None` if that depth is not configured or undefined).
    #[inline]
    pub fn obi_at(&self, depth_levels: usize) -> Option<f64> {
        let n = self.obi_count.min(MAX_OBI_DEPTHS);
        (0..n)
            .find(|&k| self.obi_depths_levels[k] == depth_levels)
            .and_then(|k| self.obi[k])
    }
}

/// Signal state of one instrument. Built once from a validated [`SignalConfig`]; the `on_*`
/// methods never allocate.
#[derive(Clone, Debug)]
pub struct SignalState {
    depths_levels: [usize; MAX_OBI_DEPTHS],
    n_depths: usize,
    ewma_index: usize,
    weighted_depth_levels: usize,
    weighted_lambda_ticks: f64,
    obi_ewma: Ewma,
    obi_z: EwmaZScore,
    ofi: OfiTracker,
    touch_size: Ewma,
    trade_flow: WindowSum,
    vol: RealizedVol,
    sig: Signals,
}

impl SignalState {
    /// State for one instrument. `cfg` should have passed [`SignalConfig::validate`]; an
    /// invalid one is clamped (extra depths dropped, missing EWMA depth → first depth), never
    /// a panic.
    pub fn new(cfg: &SignalConfig) -> SignalState {
        let mut depths_levels = [0usize; MAX_OBI_DEPTHS];
        let n_depths = cfg.obi_depths_levels.len().min(MAX_OBI_DEPTHS);
        depths_levels[..n_depths].copy_from_slice(&cfg.obi_depths_levels[..n_depths]);
        let ewma_index = depths_levels[..n_depths]
            .iter()
            .position(|&d| d == cfg.ewma_depth_levels)
            .unwrap_or(0);
        let sig = Signals {
            obi_depths_levels: depths_levels,
            obi_count: n_depths,
            ..Signals::default()
        };
        SignalState {
            depths_levels,
            n_depths,
            ewma_index,
            weighted_depth_levels: cfg.weighted_depth_levels,
            weighted_lambda_ticks: cfg.weighted_lambda_ticks,
            obi_ewma: Ewma::new(cfg.ewma_half_life_ms),
            obi_z: EwmaZScore::new(
                cfg.zscore_half_life_ms,
                cfg.zscore_warmup_events,
                cfg.zscore_min_std,
            ),
            ofi: OfiTracker::new(cfg.ofi_window_ms),
            touch_size: Ewma::new(cfg.ofi_window_ms),
            trade_flow: WindowSum::new(cfg.ofi_window_ms),
            vol: RealizedVol::new(cfg.vol_half_life_ms, cfg.vol_horizon_ms, cfg.vol_warmup_ms),
            sig,
        }
    }

    /// Updates every signal from the book after an event at market time `ts_ns`.
    ///
    /// Cost: one pass over the deepest configured depth per side, one over the weighted
    /// depth, and O(1) for the rest.
    pub fn on_book(&mut self, book: &L2Book, ts_ns: u64) -> &Signals {
        let n = self.n_depths;
        let bid = book.best_bid();
        let ask = book.best_ask();
        let s = &mut self.sig;
        s.ts_ns = ts_ns;
        s.best_bid = bid.map_or(Ticks(0), |l| l.price);
        s.best_ask = ask.map_or(Ticks(0), |l| l.price);
        let touch = match (bid, ask) {
            (Some(b), Some(a)) => Some((b, a)),
            _ => None,
        };
        s.valid = matches!(touch, Some((b, a)) if b.qty.0 > 0 && a.qty.0 > 0 && a.price > b.price);
        s.spread_ticks = touch.map_or(0, |(b, a)| a.price.minus(b.price));
        let mid_x2 = touch.map(|(b, a)| b.price.0.wrapping_add(a.price.0));
        s.mid_ticks = mid_x2.map(|m| m as f64 * 0.5);

        let mut bid_sums = [0i64; MAX_OBI_DEPTHS];
        let mut ask_sums = [0i64; MAX_OBI_DEPTHS];
        depth_sums(book, Side::Bid, &self.depths_levels[..n], &mut bid_sums);
        depth_sums(book, Side::Ask, &self.depths_levels[..n], &mut ask_sums);
        for k in 0..n {
            s.obi[k] = obi_ratio(bid_sums[k], ask_sums[k]);
        }

        s.obi_weighted = match s.mid_ticks {
            Some(mid) => weighted_obi(
                book,
                self.weighted_depth_levels,
                mid,
                self.weighted_lambda_ticks,
            ),
            None => None,
        };

        // Smoothed and standardised OBI follow a two-sided book only: a one-sided ±1 is a
        // data condition, not information.
        match s.obi[self.ewma_index] {
            Some(x) if s.valid => {
                s.obi_ewma = self.obi_ewma.update(x, ts_ns);
                s.obi_zscore = self.obi_z.update(x, ts_ns);
            }
            _ => {
                s.obi_ewma = self.obi_ewma.value();
                s.obi_zscore = None;
            }
        }

        let mp = if s.valid {
            touch.and_then(|(b, a)| microprice(b, a))
        } else {
            None
        };
        s.microprice_ticks = mp.map(|m| m.price_ticks);
        s.microprice_offset_ticks = mp.map(|m| m.offset_ticks);
        s.microprice_skew = mp.map(|m| m.skew);

        let valid_touch = if s.valid { touch } else { None };
        s.ofi_lots = self.ofi.update(valid_touch, ts_ns);
        if let Some((b, a)) = valid_touch {
            self.touch_size
                .update(0.5 * (b.qty.0 as f64 + a.qty.0 as f64), ts_ns);
        }
        s.ofi_norm = match self.touch_size.value() {
            Some(size) if size > 0.0 => {
                let v = s.ofi_lots as f64 / size;
                if v.is_finite() { v } else { 0.0 }
            }
            _ => 0.0,
        };

        if let (true, Some(m)) = (s.valid, mid_x2) {
            self.vol.update(m, ts_ns);
        }
        s.vol_ticks = self.vol.vol_ticks();
        s.trade_flow_lots = self.trade_flow.sum_at(ts_ns);
        &self.sig
    }

    /// Adds a public trade to the aggressor-signed trade flow.
    pub fn on_trade(&mut self, trade: &Trade, ts_ns: u64) {
        let signed = trade.aggressor.sign().wrapping_mul(trade.qty.0.max(0));
        self.trade_flow.add(ts_ns, signed);
        self.sig.trade_flow_lots = self.trade_flow.sum_at(ts_ns);
    }

    /// The latest values.
    #[inline]
    pub fn signals(&self) -> &Signals {
        &self.sig
    }

    /// Forgets all history (after a book resync): averages, OFI chain, flows, volatility.
    pub fn reset(&mut self) {
        self.obi_ewma.reset();
        self.obi_z.reset();
        self.ofi.reset();
        self.touch_size.reset();
        self.trade_flow.reset();
        self.vol.reset();
        self.sig = Signals {
            obi_depths_levels: self.depths_levels,
            obi_count: self.n_depths,
            ..Signals::default()
        };
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::instrument::InstrumentId;
    use crate::units::Lots;

    const MS: u64 = 1_000_000;

    fn example() -> L2Book {
        let mut b = L2Book::new();
        for (p, q) in [
            (100, 10),
            (99, 5),
            (98, 3),
            (97, 2),
            (96, 1),
            (95, 1),
            (94, 1),
            (93, 1),
            (92, 1),
            (91, 1),
        ] {
            b.set(Side::Bid, Ticks(p), Lots(q));
        }
        for p in 101..=105 {
            b.set(Side::Ask, Ticks(p), Lots(2));
        }
        b
    }

    #[test]
    fn state_reports_obi_at_configured_depths() {
        let mut st = SignalState::new(&SignalConfig::default());
        let s = *st.on_book(&example(), MS);
        assert!(s.valid);
        assert_eq!(s.spread_ticks, 1);
        assert_eq!(s.mid_ticks, Some(100.5));
        assert!((s.obi_at(8).unwrap() - 14.0 / 34.0).abs() < 1e-12);
        assert!((s.obi_at(16).unwrap() - 16.0 / 36.0).abs() < 1e-12);
        assert_eq!(s.obi_at(7), None);
        assert_eq!(s.obi_ewma, s.obi_at(5));
        assert_eq!(s.obi_zscore, None);
        // Microprice: (100*2 + 101*10) / 12.
        assert!((s.microprice_ticks.unwrap() - 1210.0 / 12.0).abs() < 1e-12);
        assert!(s.obi_weighted.unwrap() > 0.0);
        assert_eq!(s.ofi_lots, 0);
    }

    #[test]
    fn empty_and_one_sided_books_never_give_nan() {
        let mut st = SignalState::new(&SignalConfig::default());
        let s = *st.on_book(&L2Book::new(), 0);
        assert!(!s.valid);
        assert_eq!(s.obi, [None; MAX_OBI_DEPTHS]);
        assert_eq!(
            (s.mid_ticks, s.obi_weighted, s.microprice_ticks, s.vol_ticks),
            (None, None, None, None)
        );
        assert_eq!((s.ofi_lots, s.ofi_norm), (0, 0.0));
        let mut b = L2Book::new();
        b.set(Side::Bid, Ticks(100), Lots(4));
        let s = *st.on_book(&b, MS);
        assert!(!s.valid);
        assert_eq!(s.obi_at(1), Some(1.0));
        assert_eq!(s.obi_ewma, None, "one-sided books do not feed the EWMA");
        // Crossed book: not valid, no microprice.
        b.set(Side::Ask, Ticks(99), Lots(4));
        let s = *st.on_book(&b, 2 * MS);
        assert!(!s.valid && s.microprice_ticks.is_none());
    }

    #[test]
    fn ofi_and_trade_flow_flow_through() {
        let mut st = SignalState::new(&SignalConfig::default());
        let mut b = example();
        st.on_book(&b, MS);
        b.set(Side::Bid, Ticks(100), Lots(13)); // bid size +3
        let s = *st.on_book(&b, 2 * MS);
        assert_eq!(s.ofi_lots, 3);
        assert!(s.ofi_norm > 0.0);
        let trade = Trade {
            instrument: InstrumentId(0),
            trade_id: 1,
            trade_time_ms: 0,
            price: Ticks(101),
            qty: Lots(4),
            aggressor: Side::Bid,
        };
        st.on_trade(&trade, 3 * MS);
        st.on_trade(
            &Trade {
                aggressor: Side::Ask,
                qty: Lots(1),
                ..trade
            },
            3 * MS,
        );
        assert_eq!(st.signals().trade_flow_lots, 3);
        st.reset();
        assert_eq!(st.signals().obi_count, 4);
        assert_eq!(st.signals().trade_flow_lots, 0);
    }

    #[test]
    fn zscore_becomes_valid_after_warm_up() {
        let cfg = SignalConfig {
            zscore_warmup_events: 5,
            ..SignalConfig::default()
        };
        let mut st = SignalState::new(&cfg);
        let mut b = example();
        for i in 0..5u64 {
            b.set(Side::Bid, Ticks(99), Lots(5 + (i as i64 % 3)));
            assert_eq!(
                st.on_book(&b, (i + 1) * 10 * MS).obi_zscore,
                None,
                "event {i}"
            );
        }
        b.set(Side::Bid, Ticks(99), Lots(20));
        assert!(st.on_book(&b, 60 * MS).obi_zscore.unwrap() > 0.0);
    }
}
