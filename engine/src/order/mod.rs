//! Order intents (core thread → gateway) and execution reports (gateway → core thread).
//!
//! Both travel through `rtrb` SPSC rings, so both are small `Copy` types with no heap data.

use crate::instrument::InstrumentId;
use crate::units::{Lots, Notional, Side, Ticks};

/// Engine-assigned client order id; unique and increasing within a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderId(pub u64);

/// How long an order may rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeInForce {
    /// Rests until filled or cancelled.
    Gtc,
    /// Fills what it can at once; the rest is cancelled.
    Ioc,
    /// Rejected instead of taking liquidity (`GTX` on Binance).
    PostOnly,
}

/// A new order the strategy wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewOrder {
    /// Client order id.
    pub order_id: OrderId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Buy (`Bid`) or sell (`Ask`).
    pub side: Side,
    /// Limit price, in ticks.
    pub price: Ticks,
    /// Quantity, in lots.
    pub qty: Lots,
    /// Time in force.
    pub tif: TimeInForce,
    /// Local receive time of the frame that caused this intent, ns (market clock).
    pub cause_ts_ns: u64,
    /// Ask the venue to refuse anything but a reduction of the position (USD-M
    /// `reduceOnly=true`; spot has no such flag, there the pre-trade check alone holds it).
    pub reduce_only: bool,
}

/// What the core thread asks the gateway to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    /// Place a new order.
    Place(NewOrder),
    /// Cancel one order.
    Cancel {
        /// Instrument of the order.
        instrument: InstrumentId,
        /// The order to cancel.
        order_id: OrderId,
        /// Local receive time of the causing frame, ns (market clock).
        cause_ts_ns: u64,
    },
    /// Cancel every open order on an instrument.
    CancelAll {
        /// Instrument.
        instrument: InstrumentId,
        /// Local receive time of the causing frame, ns (market clock).
        cause_ts_ns: u64,
    },
}

/// Whether a fill added liquidity (maker) or took it (taker).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liquidity {
    /// Resting order was hit.
    Maker,
    /// Order crossed the spread.
    Taker,
}

/// Why the venue (or the paper venue) refused an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectReason {
    /// A post-only order would have crossed.
    WouldCross,
    /// Unknown order id (cancel of an order that is gone).
    UnknownOrder,
    /// The venue has no usable book for the instrument.
    NoMarket,
    /// Any other venue-side refusal.
    Venue,
}

/// A fill of (part of) one order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    /// Order that was filled.
    pub order_id: OrderId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side of our order.
    pub side: Side,
    /// Execution price, ticks.
    pub price: Ticks,
    /// Executed quantity, lots.
    pub qty: Lots,
    /// Quantity still open after this fill, lots.
    pub leaves_qty: Lots,
    /// Fee paid (negative for a rebate), in notional units (`tick * lot`).
    pub fee: Notional,
    /// Maker or taker.
    pub liquidity: Liquidity,
    /// Venue time of the fill, ns (market clock).
    pub ts_ns: u64,
}

/// What the gateway tells the core thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    /// The order is live at the venue.
    Accepted {
        /// Order id.
        order_id: OrderId,
        /// Venue time, ns.
        ts_ns: u64,
    },
    /// The order was refused.
    Rejected {
        /// Order id.
        order_id: OrderId,
        /// Why.
        reason: RejectReason,
        /// Venue time, ns.
        ts_ns: u64,
    },
    /// (Part of) the order traded.
    Filled(Fill),
    /// The order is gone without (further) fills.
    Canceled {
        /// Order id.
        order_id: OrderId,
        /// Venue time, ns.
        ts_ns: u64,
    },
}
