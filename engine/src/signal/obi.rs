//! Order-book imbalance: plain OBI over the top N levels and distance-weighted OBI.
//!
//! `OBI = (Σbid − Σask) / (Σbid + Σask)`, in `[-1, 1]`; positive means more resting buy
//! quantity. A book with no quantity at all gives `None` (never NaN); one empty side gives
//! `±1`, which is the formula's value — callers that need both sides check the touch.

use crate::book::L2Book;
use crate::units::Side;

/// `(bid − ask) / (bid + ask)` from summed lots; `None` when the total is zero.
///
/// Negative inputs (not expected from a book) count as zero, keeping the result in `[-1, 1]`.
#[inline]
pub fn obi_ratio(bid_lots: i64, ask_lots: i64) -> Option<f64> {
    let b = bid_lots.max(0) as f64;
    let a = ask_lots.max(0) as f64;
    let total = b + a;
    if total > 0.0 {
        Some((b - a) / total)
    } else {
        None
    }
}

/// Cumulative quantity of `side` at each of `depths_levels` (ascending), in one pass.
///
/// `out[k]` is the summed lots of the best `depths_levels[k]` levels (all levels when the
/// side is shallower). `out` must be at least as long as `depths_levels`; extra entries are
/// untouched.
#[inline]
pub fn depth_sums(book: &L2Book, side: Side, depths_levels: &[usize], out: &mut [i64]) {
    let n = depths_levels.len().min(out.len());
    let max_depth = depths_levels[..n].iter().copied().max().unwrap_or(0);
    let mut cum: i64 = 0;
    let mut seen: usize = 0;
    let mut k = 0;
    while k < n && depths_levels[k] == 0 {
        out[k] = 0;
        k += 1;
    }
    book.for_each_level(side, max_depth, |lv| {
        cum = cum.saturating_add(lv.qty.0.max(0));
        seen += 1;
        while k < n && depths_levels[k] <= seen {
            out[k] = cum;
            k += 1;
        }
        k < n
    });
    // Shallower book than a depth: that depth sums every level there is.
    for slot in &mut out[k..n] {
        *slot = cum;
    }
}

/// OBI over the best `depth_levels` levels of each side.
#[inline]
pub fn depth_obi(book: &L2Book, depth_levels: usize) -> Option<f64> {
    let depths = [depth_levels];
    let mut bid = [0i64];
    let mut ask = [0i64];
    depth_sums(book, Side::Bid, &depths, &mut bid);
    depth_sums(book, Side::Ask, &depths, &mut ask);
    obi_ratio(bid[0], ask[0])
}

/// Weight of a level `distance_ticks` from the mid: `1 / (1 + d / λ)`.
///
/// Hyperbolic rather than `exp(−d/λ)`: one division per level instead of an `exp`, the same
/// shape near the touch (`w ≈ 1 − d/λ`), and a heavier tail. `inv_lambda = 1/λ`; zero makes
/// every weight 1 (plain OBI).
#[inline]
pub fn distance_weight(distance_ticks: f64, inv_lambda: f64) -> f64 {
    1.0 / (1.0 + distance_ticks.abs() * inv_lambda)
}

/// Distance-weighted quantity of the best `depth_levels` levels of `side`.
#[inline]
fn weighted_side(
    book: &L2Book,
    side: Side,
    depth_levels: usize,
    mid_ticks: f64,
    inv_lambda: f64,
) -> f64 {
    let mut sum = 0.0;
    book.for_each_level(side, depth_levels, |lv| {
        let d = lv.price.0 as f64 - mid_ticks;
        sum += lv.qty.0.max(0) as f64 * distance_weight(d, inv_lambda);
        true
    });
    sum
}

/// Distance-weighted OBI: each level's lots weighted by [`distance_weight`] of its distance
/// from `mid_ticks`, over the best `depth_levels` levels per side. `None` when nothing rests
/// or the inputs are not finite.
#[inline]
pub fn weighted_obi(
    book: &L2Book,
    depth_levels: usize,
    mid_ticks: f64,
    lambda_ticks: f64,
) -> Option<f64> {
    if !mid_ticks.is_finite() {
        return None;
    }
    let inv_lambda = if lambda_ticks.is_finite() && lambda_ticks > 0.0 {
        1.0 / lambda_ticks
    } else {
        0.0
    };
    let b = weighted_side(book, Side::Bid, depth_levels, mid_ticks, inv_lambda);
    let a = weighted_side(book, Side::Ask, depth_levels, mid_ticks, inv_lambda);
    let total = b + a;
    let r = (b - a) / total;
    (total > 0.0 && r.is_finite()).then_some(r)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::units::{Lots, Ticks};

    fn book(bids: &[(i64, i64)], asks: &[(i64, i64)]) -> L2Book {
        let mut b = L2Book::new();
        for &(p, q) in bids {
            b.set(Side::Bid, Ticks(p), Lots(q));
        }
        for &(p, q) in asks {
            b.set(Side::Ask, Ticks(p), Lots(q));
        }
        b
    }

    fn example() -> L2Book {
        book(
            &[
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
            ],
            &[(101, 2), (102, 2), (103, 2), (104, 2), (105, 2)],
        )
    }

    #[test]
    fn obi_over_depths_matches_hand_sums() {
        let b = example();
        let obi8 = depth_obi(&b, 8).unwrap();
        let obi16 = depth_obi(&b, 16).unwrap();
        assert!((obi8 - 14.0 / 34.0).abs() < 1e-12, "{obi8}");
        assert!((obi16 - 16.0 / 36.0).abs() < 1e-12, "{obi16}");
        assert!((depth_obi(&b, 1).unwrap() - 8.0 / 12.0).abs() < 1e-12);
        // One pass gives every depth at once, including depths beyond the book.
        let mut bid = [0i64; 4];
        let mut ask = [0i64; 4];
        depth_sums(&b, Side::Bid, &[1, 5, 8, 16], &mut bid);
        depth_sums(&b, Side::Ask, &[1, 5, 8, 16], &mut ask);
        assert_eq!(bid, [10, 21, 24, 26]);
        assert_eq!(ask, [2, 10, 10, 10]);
    }

    #[test]
    fn empty_sides_are_defined() {
        let empty = L2Book::new();
        assert_eq!(depth_obi(&empty, 5), None);
        assert_eq!(depth_obi(&empty, 0), None);
        assert_eq!(weighted_obi(&empty, 5, 100.0, 5.0), None);
        let bids_only = book(&[(100, 3)], &[]);
        assert_eq!(depth_obi(&bids_only, 5), Some(1.0));
        let asks_only = book(&[], &[(101, 3)]);
        assert_eq!(depth_obi(&asks_only, 5), Some(-1.0));
        assert_eq!(obi_ratio(0, 0), None);
        assert_eq!(obi_ratio(-5, 0), None);
        assert_eq!(weighted_obi(&example(), 5, f64::NAN, 5.0), None);
    }

    #[test]
    fn weighted_obi_discounts_far_levels() {
        // Symmetric touch; the bid side's extra size sits far away, so weighting shrinks it.
        let b = book(&[(100, 1), (90, 9)], &[(101, 1), (102, 1)]);
        let plain = depth_obi(&b, 2).unwrap();
        let w = weighted_obi(&b, 2, 100.5, 2.0).unwrap();
        assert!(w > 0.0 && w < plain, "{w} vs {plain}");
        // Hand value: bids 1/(1+0.25) + 9/(1+5.25); asks 1/(1+0.25) + 1/(1+0.75).
        let bs = 1.0 / 1.25 + 9.0 / 6.25;
        let asum = 1.0 / 1.25 + 1.0 / 1.75;
        assert!((w - (bs - asum) / (bs + asum)).abs() < 1e-12);
        // λ → ∞ (inv 0) is the plain OBI.
        assert!((weighted_obi(&b, 2, 100.5, f64::INFINITY).unwrap() - plain).abs() < 1e-12);
        assert!((distance_weight(-3.0, 1.0 / 3.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn zero_quantities_give_none_not_nan() {
        let b = book(&[(100, 0)], &[(101, 0)]); // zero qty deletes levels
        assert_eq!(depth_obi(&b, 1), None);
    }
}
