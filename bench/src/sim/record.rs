//! What the simulator saw and did, for tests and the `--report-out` JSON: our orders and
//! fills, duplicates, positions, fault counts, wire-to-wire samples, frames sent.

use std::collections::BTreeMap;

/// One order the venue accepted.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OrderRecord {
    /// Venue order id (`orderId`).
    pub order_id: u64,
    /// `newClientOrderId` of the placement.
    pub client_order_id: String,
    /// `BUY` or `SELL`.
    pub side: String,
    /// `LIMIT` or `LIMIT_MAKER`.
    pub order_type: String,
    /// `GTC`, `IOC` (LIMIT_MAKER orders show `GTC`).
    pub time_in_force: String,
    /// Limit price, ticks.
    pub price_ticks: i64,
    /// Ordered quantity, lots.
    pub qty_lots: i64,
    /// Executed quantity, lots.
    pub executed_lots: i64,
    /// Final or current status (`NEW`, `FILLED`, ...).
    pub status: String,
    /// True when the placement was answered with -1007 although the order was placed.
    pub answered_unknown: bool,
}

/// One fill of one of our orders.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FillRecord {
    /// Trade id (`id` in `myTrades`, `t` in execution reports), from 1.
    pub trade_id: u64,
    /// Venue order id.
    pub order_id: u64,
    /// Client order id.
    pub client_order_id: String,
    /// `BUY` or `SELL`.
    pub side: String,
    /// Execution price, ticks.
    pub price_ticks: i64,
    /// Executed quantity, lots.
    pub qty_lots: i64,
    /// Fee in notional units (`tick * lot`); negative is a rebate.
    pub fee_notional: i64,
    /// Fee as decimal text in the quote asset (the `n` field sent).
    pub fee: String,
    /// True when our order was the maker.
    pub maker: bool,
    /// Venue time, Unix ns.
    pub ts_ns: u64,
}

/// How often each fault fired.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FaultCounts {
    /// Connection drops: one per connection dropped.
    pub dropped_connections: u64,
    /// Depth diffs left out of the stream.
    pub gaps: u64,
    /// Malformed frames sent (one per connection it reached).
    pub malformed_frames: u64,
    /// Stalls started (one per stall period, over all market connections).
    pub stalls: u64,
    /// Orders refused with -2010 by `reject_every_n_orders`.
    pub rejected_orders: u64,
    /// -1007 answers where the order was placed.
    pub unknown_placed: u64,
    /// -1007 answers where the order was not placed.
    pub unknown_not_placed: u64,
    /// `serverShutdown` events sent (one per API connection).
    pub server_shutdowns: u64,
    /// Market silences started (config or [`super::SimHandle::silence_market_for`]).
    pub silences: u64,
    /// Price jumps made (config or [`super::SimHandle::jump_price_bps`]).
    pub price_jumps: u64,
}

/// The simulator's record; [`super::SimHandle::record`] returns a copy.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct SimRecord {
    /// Symbol served.
    pub symbol: String,
    /// Every order the venue accepted, in order of acceptance.
    pub orders: Vec<OrderRecord>,
    /// Every fill of our orders.
    pub fills: Vec<FillRecord>,
    /// `order.place` requests whose `newClientOrderId` had been seen before (refused).
    pub duplicate_client_order_ids: u64,
    /// The duplicate ids themselves (first 100).
    pub duplicate_ids: Vec<String>,
    /// Net position per symbol, lots (buys minus sells).
    pub position_lots: BTreeMap<String, i64>,
    /// Client order ids of our orders resting now.
    pub open_orders: Vec<String>,
    /// Fault counts.
    pub faults: FaultCounts,
    /// Wire-to-wire samples, ns: for each `order.place`/`order.cancel`, the time from the
    /// last market frame written to any stream connection to the request's receipt.
    pub order_latency_ns: Vec<u64>,
    /// Receipt time (Unix ns, `SystemTime`: the clock other processes on this machine read)
    /// of every `openOrders.cancelAll` request, valid or not, in order (first 100,000).
    pub cancel_all_received_unix_ns: Vec<u64>,
    /// Receipt time (Unix ns, `SystemTime`) of every `order.cancel` request (first 100,000).
    pub cancel_received_unix_ns: Vec<u64>,
    /// Market frames written to stream connections (all connections).
    pub frames_sent: u64,
    /// Depth diffs published (before per-connection fan-out; skipped ones excluded).
    pub diffs_published: u64,
    /// REST depth snapshots served.
    pub snapshots_served: u64,
    /// WebSocket API requests handled.
    pub api_requests: u64,
    /// API requests refused for a bad or missing signature or key.
    pub auth_failures: u64,
    /// Requests that were not valid JSON requests (answered with an error or skipped).
    pub bad_requests: u64,
    /// Connections accepted (REST, market and API).
    pub connections: u64,
    /// Market connections dropped because they fell too far behind.
    pub slow_consumers_dropped: u64,
    /// Pings answered by clients (pongs received).
    pub pongs_received: u64,
    /// True once a replayed recording has no more frames.
    pub source_ended: bool,
    /// Frames of the recording skipped as unparseable or out of sequence.
    pub source_skipped: u64,
}
