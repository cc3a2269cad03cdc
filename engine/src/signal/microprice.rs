//! Microprice: the touch prices weighted by the opposite side's size, and its offset from mid.

use crate::units::Level;

/// Microprice of one touch, in ticks (as `f64`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Microprice {
    /// `(bid·askQty + ask·bidQty) / (bidQty + askQty)`, in ticks.
    pub price_ticks: f64,
    /// `price_ticks − mid`, in ticks; positive when the bid is heavier (price pressure up).
    pub offset_ticks: f64,
    /// `2 · offset / spread`, in `[-1, 1]`: the offset as a fraction of the half-spread.
    pub skew: f64,
}

/// The microprice of a touch; `None` when a quantity is not positive or the book is
/// crossed or locked (`ask <= bid`).
#[inline]
pub fn microprice(bid: Level, ask: Level) -> Option<Microprice> {
    if bid.qty.0 <= 0 || ask.qty.0 <= 0 || ask.price <= bid.price {
        return None;
    }
    let (pb, pa) = (bid.price.0 as f64, ask.price.0 as f64);
    let (qb, qa) = (bid.qty.0 as f64, ask.qty.0 as f64);
    let price_ticks = (pb * qa + pa * qb) / (qb + qa);
    let mid = 0.5 * (pb + pa);
    let offset_ticks = price_ticks - mid;
    let skew = (2.0 * offset_ticks / (pa - pb)).clamp(-1.0, 1.0);
    (price_ticks.is_finite() && skew.is_finite()).then_some(Microprice {
        price_ticks,
        offset_ticks,
        skew,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn microprice_leans_towards_the_thin_side() {
        // Bid 100 x 3, ask 102 x 1: (100*1 + 102*3) / 4 = 101.5; mid 101; offset +0.5.
        let m = microprice(Level::new(100, 3), Level::new(102, 1)).unwrap();
        assert!((m.price_ticks - 101.5).abs() < 1e-12);
        assert!((m.offset_ticks - 0.5).abs() < 1e-12);
        assert!((m.skew - 0.5).abs() < 1e-12);
        // Balanced: microprice is the mid.
        let m = microprice(Level::new(100, 5), Level::new(101, 5)).unwrap();
        assert!((m.price_ticks - 100.5).abs() < 1e-12 && m.offset_ticks.abs() < 1e-12);
        // Heavy ask: pressure down.
        let m = microprice(Level::new(100, 1), Level::new(101, 9)).unwrap();
        assert!((m.offset_ticks + 0.4).abs() < 1e-12 && m.skew < 0.0);
    }

    #[test]
    fn degenerate_touches_are_none() {
        assert_eq!(microprice(Level::new(100, 0), Level::new(101, 1)), None);
        assert_eq!(microprice(Level::new(100, 1), Level::new(101, 0)), None);
        assert_eq!(microprice(Level::new(101, 1), Level::new(101, 1)), None);
        assert_eq!(microprice(Level::new(102, 1), Level::new(101, 1)), None);
    }
}
