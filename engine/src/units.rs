//! Integer market units: prices in ticks, sizes in lots, money in notional units.
//!
//! Prices and quantities never pass through `f64` on the way in: decimal strings from the
//! venue are parsed straight into integers on an instrument's fixed-point grid (see
//! [`crate::instrument::Scale`]). `f64` appears only inside signal math and reports.

use std::fmt;

/// A price, as an integer number of the instrument's price steps ("ticks").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Ticks(pub i64);

/// A quantity, as an integer number of the instrument's quantity steps ("lots").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Lots(pub i64);

/// Money in notional units: one unit is `tick_size * lot_size` of the quote currency.
///
/// `i128` because `price_ticks * qty_lots` of a finely scaled instrument (8 price and 8
/// quantity decimals) overflows `i64` for ordinary orders.
pub type Notional = i128;

impl Ticks {
    /// Signed distance `self - other`, in ticks.
    #[inline]
    pub const fn minus(self, other: Ticks) -> i64 {
        self.0 - other.0
    }
    /// The price `delta_ticks` away from this one.
    #[inline]
    pub const fn offset(self, delta_ticks: i64) -> Ticks {
        Ticks(self.0 + delta_ticks)
    }
}

impl Lots {
    /// Zero quantity; on a book level it means "delete this level".
    pub const ZERO: Lots = Lots(0);
    /// True when the quantity is zero.
    #[inline]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

/// Which side of the book, or of an order: `Bid` is a buy, `Ask` is a sell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Side {
    /// Bids; for an order, a buy.
    Bid = 0,
    /// Asks; for an order, a sell.
    Ask = 1,
}

impl Side {
    /// The other side.
    #[inline]
    pub const fn opposite(self) -> Side {
        match self {
            Side::Bid => Side::Ask,
            Side::Ask => Side::Bid,
        }
    }
    /// `+1` for a buy, `-1` for a sell: the sign of a position change.
    #[inline]
    pub const fn sign(self) -> i64 {
        match self {
            Side::Bid => 1,
            Side::Ask => -1,
        }
    }
    /// Index for `[T; 2]` arrays keyed by side.
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Bid => "buy",
            Side::Ask => "sell",
        })
    }
}

/// One price level: a price and the total quantity resting there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct Level {
    /// Price, in ticks.
    pub price: Ticks,
    /// Total quantity at the price, in lots; zero means "no level".
    pub qty: Lots,
}

impl Level {
    /// A level at `price_ticks` with `qty_lots`.
    #[inline]
    pub const fn new(price_ticks: i64, qty_lots: i64) -> Level {
        Level {
            price: Ticks(price_ticks),
            qty: Lots(qty_lots),
        }
    }
}
