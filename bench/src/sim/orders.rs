//! Our orders as the venue knows them: parameters, status, fills, and their JSON views
//! (`order.status` rows, cancel results, `executionReport` events).

use obi_engine::instrument::InstrumentSpec;
use obi_engine::units::Side;
use serde_json::{Value, json};

use super::wire::decimal;

/// Binance order status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    /// Resting, nothing filled.
    New,
    /// Resting, partly filled.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled on request.
    Canceled,
    /// Refused by the matching engine.
    Rejected,
    /// IOC remainder cancelled by the venue.
    Expired,
}

impl OrderStatus {
    /// Binance's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::New => "NEW",
            OrderStatus::PartiallyFilled => "PARTIALLY_FILLED",
            OrderStatus::Filled => "FILLED",
            OrderStatus::Canceled => "CANCELED",
            OrderStatus::Rejected => "REJECTED",
            OrderStatus::Expired => "EXPIRED",
        }
    }

    /// True while the order rests on the book.
    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::New | OrderStatus::PartiallyFilled)
    }
}

/// `LIMIT` or `LIMIT_MAKER`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderType {
    /// Plain limit order (`GTC` or `IOC`).
    Limit,
    /// Post-only.
    LimitMaker,
}

impl OrderType {
    /// Binance's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Limit => "LIMIT",
            OrderType::LimitMaker => "LIMIT_MAKER",
        }
    }
}

/// `GTC` or `IOC`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tif {
    /// Good till cancelled (also shown for LIMIT_MAKER).
    Gtc,
    /// Immediate or cancel.
    Ioc,
}

impl Tif {
    /// Binance's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Tif::Gtc => "GTC",
            Tif::Ioc => "IOC",
        }
    }
}

/// `BUY`/`SELL` of a side.
pub fn side_str(side: Side) -> &'static str {
    match side {
        Side::Bid => "BUY",
        Side::Ask => "SELL",
    }
}

/// A validated `order.place` request.
#[derive(Clone, Debug)]
pub struct PlaceRequest {
    /// Client order id (given or generated).
    pub client_order_id: String,
    /// Buy or sell.
    pub side: Side,
    /// Order type.
    pub order_type: OrderType,
    /// Time in force.
    pub tif: Tif,
    /// Limit price, ticks.
    pub price_ticks: i64,
    /// Quantity, lots.
    pub qty_lots: i64,
}

/// One of our orders at the venue.
#[derive(Clone, Debug)]
pub struct Order {
    /// Venue order id, from 1.
    pub order_id: u64,
    /// The request.
    pub req: PlaceRequest,
    /// Executed quantity, lots.
    pub executed_lots: i64,
    /// Executed notional, ticks × lots.
    pub cum_notional: i128,
    /// Status.
    pub status: OrderStatus,
    /// Placement time, Unix ms.
    pub time_ms: u64,
    /// Last change, Unix ms.
    pub update_time_ms: u64,
    /// Client id of the cancel request that cancelled it, if any.
    pub cancel_client_id: Option<String>,
    /// The placement was answered -1007 although the order was placed.
    pub answered_unknown: bool,
}

/// Writes prices, quantities and notionals of one instrument.
#[derive(Clone, Copy, Debug)]
pub struct Decimals {
    /// The instrument.
    pub spec: InstrumentSpec,
}

impl Decimals {
    /// Price text.
    pub fn price(&self, ticks: i64) -> String {
        decimal(ticks, &self.spec.price)
    }
    /// Quantity text.
    pub fn qty(&self, lots: i64) -> String {
        decimal(lots, &self.spec.qty)
    }
    /// Notional (ticks × lots) as quote-asset text, at least 8 decimals.
    pub fn notional(&self, value: i128) -> String {
        let p = self.spec.price;
        let q = self.spec.qty;
        let mut decimals = p.decimals + q.decimals;
        let mut units = value * i128::from(p.step_units) * i128::from(q.step_units);
        while decimals < 8 {
            units *= 10;
            decimals += 1;
        }
        let mut s = String::with_capacity(24);
        let _ = obi_engine::decimal::write_scaled(&mut s, units, decimals);
        s
    }
}

impl Order {
    /// The `order.status` / `openOrders.status` row.
    pub fn status_json(&self, symbol: &str, d: &Decimals) -> Value {
        json!({
            "symbol": symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.req.client_order_id,
            "price": d.price(self.req.price_ticks),
            "origQty": d.qty(self.req.qty_lots),
            "executedQty": d.qty(self.executed_lots),
            "cummulativeQuoteQty": d.notional(self.cum_notional),
            "status": self.status.as_str(),
            "timeInForce": self.req.tif.as_str(),
            "type": self.req.order_type.as_str(),
            "side": side_str(self.req.side),
            "stopPrice": "0.00000000",
            "icebergQty": "0.00000000",
            "time": self.time_ms,
            "updateTime": self.update_time_ms,
            "isWorking": true,
            "workingTime": self.time_ms,
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "NONE",
        })
    }

    /// The `order.cancel` result (also one element of `openOrders.cancelAll`).
    pub fn cancel_json(&self, symbol: &str, d: &Decimals, now_ms: u64) -> Value {
        json!({
            "symbol": symbol,
            "origClientOrderId": self.req.client_order_id,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.cancel_client_id.clone().unwrap_or_default(),
            "transactTime": now_ms,
            "price": d.price(self.req.price_ticks),
            "origQty": d.qty(self.req.qty_lots),
            "executedQty": d.qty(self.executed_lots),
            "cummulativeQuoteQty": d.notional(self.cum_notional),
            "status": self.status.as_str(),
            "timeInForce": self.req.tif.as_str(),
            "type": self.req.order_type.as_str(),
            "side": side_str(self.req.side),
            "selfTradePreventionMode": "NONE",
        })
    }
}

/// The trade part of an execution report.
#[derive(Clone, Debug, Default)]
pub struct LastTrade {
    /// Last executed quantity, lots.
    pub qty_lots: i64,
    /// Last executed price, ticks.
    pub price_ticks: i64,
    /// Commission text.
    pub commission: String,
    /// Trade id.
    pub trade_id: u64,
    /// Maker side.
    pub maker: bool,
}

/// One `executionReport` event frame, as sent on a subscribed API connection.
pub fn execution_report(
    order: &Order,
    symbol: &str,
    quote_asset: &str,
    d: &Decimals,
    exec_type: &str,
    trade: Option<&LastTrade>,
    now_ms: u64,
) -> String {
    let canceled = exec_type == "CANCELED";
    let (c, big_c) = match (&order.cancel_client_id, canceled) {
        (Some(cancel_id), true) => (cancel_id.clone(), order.req.client_order_id.clone()),
        _ => (order.req.client_order_id.clone(), String::new()),
    };
    let (l, big_l, n, big_n, t, m) = match trade {
        Some(tr) => (
            d.qty(tr.qty_lots),
            d.price(tr.price_ticks),
            tr.commission.clone(),
            Value::from(quote_asset),
            i64::try_from(tr.trade_id).unwrap_or(i64::MAX),
            tr.maker,
        ),
        None => (d.qty(0), d.price(0), "0".to_owned(), Value::Null, -1, false),
    };
    let last_quote = trade.map_or(0, |tr| i128::from(tr.price_ticks) * i128::from(tr.qty_lots));
    let event = json!({
        "e": "executionReport",
        "E": now_ms,
        "s": symbol,
        "c": c,
        "S": side_str(order.req.side),
        "o": order.req.order_type.as_str(),
        "f": order.req.tif.as_str(),
        "q": d.qty(order.req.qty_lots),
        "p": d.price(order.req.price_ticks),
        "P": "0.00000000",
        "F": "0.00000000",
        "g": -1,
        "C": big_c,
        "x": exec_type,
        "X": order.status.as_str(),
        "r": "NONE",
        "i": order.order_id,
        "l": l,
        "z": d.qty(order.executed_lots),
        "L": big_l,
        "n": n,
        "N": big_n,
        "T": now_ms,
        "t": t,
        "I": 0,
        "w": order.status.is_open(),
        "m": m,
        "M": false,
        "O": order.time_ms,
        "Z": d.notional(order.cum_notional),
        "Y": d.notional(last_quote),
        "Q": "0.00000000",
        "W": order.time_ms,
        "V": "NONE",
    });
    json!({"subscriptionId": 0, "event": event}).to_string()
}
