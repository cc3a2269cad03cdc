//! Venue-neutral market events, as the parsers produce them and the tick path consumes them.
//!
//! Events borrow their level lists from the parser's reusable scratch buffers, so producing
//! one never allocates; an event is valid until the next frame is parsed.

use crate::instrument::InstrumentId;
use crate::units::{Level, Lots, Side, Ticks};

/// An incremental depth update: absolute quantities per level (`qty == 0` deletes the level).
#[derive(Clone, Copy, Debug)]
pub struct DepthDiff<'a> {
    /// Instrument the diff applies to.
    pub instrument: InstrumentId,
    /// Exchange event time, ms since the Unix epoch (`E`).
    pub event_time_ms: i64,
    /// First update id in this diff (`U`).
    pub first_update_id: u64,
    /// Final update id in this diff (`u`).
    pub final_update_id: u64,
    /// Final update id of the previous diff (`pu`, futures only).
    pub prev_final_update_id: Option<u64>,
    /// Bid levels, in wire order.
    pub bids: &'a [Level],
    /// Ask levels, in wire order.
    pub asks: &'a [Level],
}

/// A full depth snapshot (REST `GET depth`): replaces the book.
#[derive(Clone, Copy, Debug)]
pub struct DepthSnapshot<'a> {
    /// Instrument the snapshot belongs to.
    pub instrument: InstrumentId,
    /// Update id the snapshot is current as of (`lastUpdateId`).
    pub last_update_id: u64,
    /// Bid levels, best first as sent.
    pub bids: &'a [Level],
    /// Ask levels, best first as sent.
    pub asks: &'a [Level],
}

/// Best bid and offer as the exchange states it (`bookTicker`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookTicker {
    /// Instrument.
    pub instrument: InstrumentId,
    /// Order-book update id the quote is current as of (`u`).
    pub update_id: u64,
    /// Best bid price and quantity.
    pub bid: Level,
    /// Best ask price and quantity.
    pub ask: Level,
    /// Exchange event time in ms (`E`), absent on spot.
    pub event_time_ms: Option<i64>,
}

/// A public trade (`trade` or `aggTrade`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trade {
    /// Instrument.
    pub instrument: InstrumentId,
    /// Trade (or aggregate trade) id.
    pub trade_id: u64,
    /// Trade time, ms since the Unix epoch (`T`).
    pub trade_time_ms: i64,
    /// Execution price, in ticks.
    pub price: Ticks,
    /// Executed quantity, in lots.
    pub qty: Lots,
    /// The aggressor's side: `Ask` when the buyer was the maker (`m == true`).
    pub aggressor: Side,
}

/// One parsed market-data message.
#[derive(Clone, Copy, Debug)]
pub enum MarketEvent<'a> {
    /// Incremental depth update.
    Depth(DepthDiff<'a>),
    /// Full depth snapshot.
    Snapshot(DepthSnapshot<'a>),
    /// Best bid/offer.
    Ticker(BookTicker),
    /// Public trade.
    Trade(Trade),
}

impl MarketEvent<'_> {
    /// The instrument the event is about.
    pub fn instrument(&self) -> InstrumentId {
        match self {
            MarketEvent::Depth(d) => d.instrument,
            MarketEvent::Snapshot(s) => s.instrument,
            MarketEvent::Ticker(t) => t.instrument,
            MarketEvent::Trade(t) => t.instrument,
        }
    }
}
