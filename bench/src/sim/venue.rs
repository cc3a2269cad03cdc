//! The venue state behind one lock: the simulator's own book, the paper venue matching our
//! orders against it, our orders, execution-report fan-out, and the record.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use obi_engine::book::L2Book;
use obi_engine::feed::event::{BookTicker, DepthDiff, DepthSnapshot, MarketEvent, Trade};
use obi_engine::instrument::{InstrumentId, InstrumentSpec};
use obi_engine::order::{Intent, Liquidity, NewOrder, OrderId, RejectReason, Report, TimeInForce};
use obi_engine::paper::PaperVenue;
use obi_engine::units::{Level, Lots, Side, Ticks};
use serde_json::Value;

use super::account::{Account, QueryWindow};
use super::config::{Resolved, SimConfig};
use super::orders::{
    Decimals, LastTrade, Order, OrderStatus, OrderType, PlaceRequest, Tif, execution_report,
    side_str,
};
use super::outbox::ConnHandle;
use super::record::{FillRecord, OrderRecord, SimRecord};
use super::source::{InitialBook, SourceEvent};

/// The instrument's index in the paper venue.
pub const INSTRUMENT: InstrumentId = InstrumentId(0);

/// Most wire-to-wire samples kept.
const MAX_LATENCY_SAMPLES: usize = 1_000_000;

/// A Binance-style refusal: HTTP-like status, error code, message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// 400, 401, 429, 503 ...
    pub status: u16,
    /// Binance code (negative).
    pub code: i32,
    /// Binance message.
    pub msg: String,
}

impl ApiError {
    /// A 400 with `code` and `msg`.
    pub fn bad(code: i32, msg: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            code,
            msg: msg.into(),
        }
    }
}

/// -1007's message, word for word.
pub const MSG_UNKNOWN: &str = "Timeout waiting for response from backend server. Send status unknown; execution status unknown.";

/// Fault switches that act on orders.
#[derive(Clone, Copy, Debug, Default)]
struct OrderFaults {
    reject_every_n: u64,
    unknown_every_n: u64,
}

/// Everything behind the venue lock.
#[derive(Debug)]
pub struct State {
    /// The instrument served.
    pub spec: InstrumentSpec,
    /// Decimal writers.
    pub decimals: Decimals,
    /// Quote asset (commission asset).
    pub quote_asset: String,
    /// The simulator's own book: every published diff applied (and skipped ones too).
    pub book: L2Book,
    /// `u` of the last diff applied to `book`.
    pub last_update_id: u64,
    paper: PaperVenue,
    orders: Vec<Order>,
    by_client: HashMap<String, usize>,
    seen_client_ids: HashSet<String>,
    /// Record being built (orders are filled in by [`State::record`]).
    pub record: SimRecord,
    /// API connections subscribed to execution reports.
    pub subscribers: Vec<Arc<ConnHandle>>,
    pending_events: Vec<String>,
    reports: Vec<Report>,
    faults: OrderFaults,
    placements: u64,
    unknown_fired: u64,
    next_own_trade_id: u64,
    generated_ids: u64,
    account: Account,
    maker_fee_bps: f64,
    taker_fee_bps: f64,
}

fn ms(ns: u64) -> u64 {
    ns / 1_000_000
}

impl State {
    /// A venue for `spec` starting from `initial`.
    pub fn new(cfg: &SimConfig, resolved: &Resolved, initial: &InitialBook, now_ns: u64) -> State {
        let spec = resolved.spec;
        let mut book = L2Book::with_capacity(4096);
        book.apply_snapshot(&initial.bids, &initial.asks);
        let mut paper = PaperVenue::new(cfg.paper_config(), 1);
        let snapshot = MarketEvent::Snapshot(DepthSnapshot {
            instrument: INSTRUMENT,
            last_update_id: initial.last_update_id,
            bids: &initial.bids,
            asks: &initial.asks,
        });
        paper.on_market(&snapshot, &book, now_ns);
        let record = SimRecord {
            symbol: spec.symbol.as_str().to_owned(),
            ..SimRecord::default()
        };
        State {
            spec,
            decimals: Decimals { spec },
            quote_asset: cfg.instrument.quote_asset.clone(),
            book,
            last_update_id: initial.last_update_id,
            paper,
            orders: Vec::new(),
            by_client: HashMap::new(),
            seen_client_ids: HashSet::new(),
            record,
            subscribers: Vec::new(),
            pending_events: Vec::new(),
            reports: Vec::new(),
            faults: OrderFaults {
                reject_every_n: cfg.faults.reject_every_n_orders,
                unknown_every_n: cfg.faults.unknown_every_n_orders,
            },
            placements: 0,
            unknown_fired: 0,
            next_own_trade_id: 1,
            generated_ids: 0,
            account: Account::new(
                spec,
                &cfg.instrument.quote_asset,
                resolved.base_balance_units,
                resolved.quote_balance_units,
            ),
            maker_fee_bps: cfg.matching.maker_fee_bps,
            taker_fee_bps: cfg.matching.taker_fee_bps,
        }
    }

    /// The symbol served.
    pub fn symbol(&self) -> &str {
        self.spec.symbol.as_str()
    }

    /// Applies one market event to the book and the matching; returns the diff's first
    /// update id (`U`, always the previous `u` + 1) for a diff.
    pub fn on_market(&mut self, event: &SourceEvent, now_ns: u64) -> Option<u64> {
        let now_ms = i64::try_from(ms(now_ns)).unwrap_or(i64::MAX);
        let mut first_id = None;
        match event {
            SourceEvent::Diff {
                last_update_id,
                bids,
                asks,
            } => {
                for l in bids {
                    self.book.set(Side::Bid, l.price, l.qty);
                }
                for l in asks {
                    self.book.set(Side::Ask, l.price, l.qty);
                }
                let first = self.last_update_id + 1;
                first_id = Some(first);
                self.last_update_id = (*last_update_id).max(first);
                let diff = MarketEvent::Depth(DepthDiff {
                    instrument: INSTRUMENT,
                    event_time_ms: now_ms,
                    first_update_id: first,
                    final_update_id: self.last_update_id,
                    prev_final_update_id: None,
                    bids,
                    asks,
                });
                self.paper.on_market(&diff, &self.book, now_ns);
            }
            SourceEvent::Ticker {
                update_id,
                bid,
                ask,
            } => {
                let t = MarketEvent::Ticker(BookTicker {
                    instrument: INSTRUMENT,
                    update_id: *update_id,
                    bid: *bid,
                    ask: *ask,
                    event_time_ms: None,
                });
                self.paper.on_market(&t, &self.book, now_ns);
            }
            SourceEvent::Trade {
                print,
                buyer_is_maker,
            } => {
                let t = MarketEvent::Trade(Trade {
                    instrument: INSTRUMENT,
                    trade_id: 0,
                    trade_time_ms: now_ms,
                    price: print.price,
                    qty: print.qty,
                    aggressor: if *buyer_is_maker {
                        Side::Ask
                    } else {
                        Side::Bid
                    },
                });
                self.paper.on_market(&t, &self.book, now_ns);
            }
        }
        self.drain_reports(now_ns);
        first_id
    }

    /// Sends the execution reports made since the last call to every subscriber.
    pub fn flush_events(&mut self) {
        if self.pending_events.is_empty() {
            return;
        }
        for ev in self.pending_events.drain(..) {
            for s in &self.subscribers {
                s.push(ev.clone());
            }
        }
    }

    /// Adds a wire-to-wire sample.
    pub fn add_latency_sample(&mut self, sample_ns: u64) {
        if self.record.order_latency_ns.len() < MAX_LATENCY_SAMPLES {
            self.record.order_latency_ns.push(sample_ns);
        }
    }

    /// A fresh client id for requests that carry none.
    pub fn generated_client_id(&mut self) -> String {
        self.generated_ids += 1;
        format!("sim{}", self.generated_ids)
    }

    fn drain_reports(&mut self, now_ns: u64) {
        let mut reports = std::mem::take(&mut self.reports);
        self.paper.poll(now_ns, &mut |r| reports.push(r));
        for r in reports.drain(..) {
            self.on_report(r, now_ns);
        }
        self.reports = reports;
    }

    fn on_report(&mut self, report: Report, now_ns: u64) {
        let now_ms = ms(now_ns);
        let order_id = match report {
            Report::Accepted { order_id, .. }
            | Report::Rejected { order_id, .. }
            | Report::Canceled { order_id, .. } => order_id,
            Report::Filled(f) => f.order_id,
        };
        let Some(index) = usize::try_from(order_id.0)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .filter(|i| *i < self.orders.len())
        else {
            return;
        };
        let symbol = self.spec.symbol.as_str().to_owned();
        let d = self.decimals;
        let mut trade = None;
        let exec_type = {
            let o = &mut self.orders[index];
            o.update_time_ms = now_ms;
            match report {
                Report::Accepted { .. } => "NEW",
                Report::Rejected { .. } => {
                    o.status = OrderStatus::Rejected;
                    "REJECTED"
                }
                Report::Canceled { .. } => {
                    if o.cancel_client_id.is_some() {
                        o.status = OrderStatus::Canceled;
                        "CANCELED"
                    } else {
                        o.status = OrderStatus::Expired;
                        "EXPIRED"
                    }
                }
                Report::Filled(f) => {
                    o.executed_lots += f.qty.0;
                    o.cum_notional += i128::from(f.price.0) * i128::from(f.qty.0);
                    o.status = if f.leaves_qty.is_zero() {
                        OrderStatus::Filled
                    } else {
                        OrderStatus::PartiallyFilled
                    };
                    let fee_i64 = i64::try_from(f.fee).unwrap_or(i64::MAX);
                    let t = LastTrade {
                        qty_lots: f.qty.0,
                        price_ticks: f.price.0,
                        commission: d.notional(f.fee),
                        trade_id: self.next_own_trade_id,
                        maker: f.liquidity == Liquidity::Maker,
                    };
                    self.next_own_trade_id += 1;
                    *self.record.position_lots.entry(symbol.clone()).or_insert(0) +=
                        f.side.sign() * f.qty.0;
                    self.account.on_fill(f.side, f.price.0, f.qty.0, f.fee);
                    self.record.fills.push(FillRecord {
                        trade_id: t.trade_id,
                        order_id: o.order_id,
                        client_order_id: o.req.client_order_id.clone(),
                        side: side_str(f.side).to_owned(),
                        price_ticks: f.price.0,
                        qty_lots: f.qty.0,
                        fee_notional: fee_i64,
                        fee: t.commission.clone(),
                        maker: t.maker,
                        ts_ns: now_ns,
                    });
                    trade = Some(t);
                    "TRADE"
                }
            }
        };
        let o = &self.orders[index];
        let ev = execution_report(
            o,
            &symbol,
            &self.quote_asset,
            &d,
            exec_type,
            trade.as_ref(),
            now_ms,
        );
        self.pending_events.push(ev);
    }

    /// -1121 unless `symbol` is the one served.
    pub fn check_symbol(&self, symbol: &str) -> Result<(), ApiError> {
        if symbol == self.symbol() {
            Ok(())
        } else {
            Err(ApiError::bad(-1121, "Invalid symbol."))
        }
    }

    /// `order.place`. Returns the ACK result, or the refusal.
    pub fn place(
        &mut self,
        symbol: &str,
        req: PlaceRequest,
        now_ns: u64,
    ) -> Result<Value, ApiError> {
        self.check_symbol(symbol)?;
        let now_ms = ms(now_ns);
        if !self.seen_client_ids.insert(req.client_order_id.clone()) {
            self.record.duplicate_client_order_ids += 1;
            if self.record.duplicate_ids.len() < 100 {
                self.record.duplicate_ids.push(req.client_order_id.clone());
            }
            return Err(ApiError::bad(-2010, "Duplicate order sent."));
        }
        self.placements += 1;
        let n = self.placements;
        if self.faults.reject_every_n > 0 && n.is_multiple_of(self.faults.reject_every_n) {
            self.record.faults.rejected_orders += 1;
            return Err(ApiError::bad(
                -2010,
                "Account has insufficient balance for requested action.",
            ));
        }
        let mut answer_unknown = false;
        if self.faults.unknown_every_n > 0 && n.is_multiple_of(self.faults.unknown_every_n) {
            self.unknown_fired += 1;
            if self.unknown_fired.is_multiple_of(2) {
                self.record.faults.unknown_not_placed += 1;
                return Err(unknown_error());
            }
            self.record.faults.unknown_placed += 1;
            answer_unknown = true;
        }
        if req.order_type == OrderType::LimitMaker {
            let crosses = match req.side {
                Side::Bid => self
                    .book
                    .best_ask()
                    .is_some_and(|a| req.price_ticks >= a.price.0),
                Side::Ask => self
                    .book
                    .best_bid()
                    .is_some_and(|b| req.price_ticks <= b.price.0),
            };
            if crosses {
                return Err(ApiError::bad(
                    -2010,
                    "Order would immediately match and take.",
                ));
            }
        }
        let order_id = self.orders.len() as u64 + 1;
        let tif = match (req.order_type, req.tif) {
            (OrderType::LimitMaker, _) => TimeInForce::PostOnly,
            (OrderType::Limit, Tif::Gtc) => TimeInForce::Gtc,
            (OrderType::Limit, Tif::Ioc) => TimeInForce::Ioc,
        };
        let intent = Intent::Place(NewOrder {
            order_id: OrderId(order_id),
            instrument: INSTRUMENT,
            side: req.side,
            price: Ticks(req.price_ticks),
            qty: Lots(req.qty_lots),
            tif,
            cause_ts_ns: now_ns,
            reduce_only: false,
        });
        let client_order_id = req.client_order_id.clone();
        self.by_client
            .insert(client_order_id.clone(), self.orders.len());
        self.orders.push(Order {
            order_id,
            req,
            executed_lots: 0,
            cum_notional: 0,
            status: OrderStatus::New,
            time_ms: now_ms,
            update_time_ms: now_ms,
            cancel_client_id: None,
            answered_unknown: answer_unknown,
        });
        // The paper venue reports acceptance before rejection checks pass, so look at the
        // rejection reason it gives, if any.
        let mut reject_reason = None;
        let mut reports = std::mem::take(&mut self.reports);
        self.paper.submit(intent, now_ns);
        self.paper.poll(now_ns, &mut |r| reports.push(r));
        for r in &reports {
            if let Report::Rejected { reason, .. } = r {
                reject_reason = Some(*reason);
            }
        }
        for r in reports.drain(..) {
            self.on_report(r, now_ns);
        }
        self.reports = reports;
        if answer_unknown {
            return Err(unknown_error());
        }
        if let Some(reason) = reject_reason {
            let msg = match reason {
                RejectReason::WouldCross => "Order would immediately match and take.",
                RejectReason::NoMarket => "Market is closed.",
                RejectReason::Venue => "Account has too many open orders.",
                RejectReason::UnknownOrder => "Unknown order sent.",
            };
            return Err(ApiError::bad(-2010, msg));
        }
        Ok(serde_json::json!({
            "symbol": self.symbol(),
            "orderId": order_id,
            "orderListId": -1,
            "clientOrderId": client_order_id,
            "transactTime": now_ms,
        }))
    }

    fn find(&self, orig_client_id: Option<&str>, order_id: Option<u64>) -> Option<usize> {
        match (orig_client_id, order_id) {
            (Some(c), _) => self.by_client.get(c).copied(),
            (None, Some(id)) => usize::try_from(id)
                .ok()
                .and_then(|i| i.checked_sub(1))
                .filter(|i| *i < self.orders.len()),
            (None, None) => None,
        }
    }

    /// `order.cancel`.
    pub fn cancel(
        &mut self,
        symbol: &str,
        orig_client_id: Option<&str>,
        order_id: Option<u64>,
        cancel_client_id: String,
        now_ns: u64,
    ) -> Result<Value, ApiError> {
        self.check_symbol(symbol)?;
        let Some(index) = self
            .find(orig_client_id, order_id)
            .filter(|i| self.orders[*i].status.is_open())
        else {
            return Err(ApiError::bad(-2011, "Unknown order sent."));
        };
        self.orders[index].cancel_client_id = Some(cancel_client_id);
        let oid = OrderId(self.orders[index].order_id);
        self.paper.submit(
            Intent::Cancel {
                instrument: INSTRUMENT,
                order_id: oid,
                cause_ts_ns: now_ns,
            },
            now_ns,
        );
        self.drain_reports(now_ns);
        let o = &self.orders[index];
        if o.status != OrderStatus::Canceled {
            return Err(ApiError::bad(-2011, "Unknown order sent."));
        }
        Ok(o.cancel_json(self.symbol(), &self.decimals, ms(now_ns)))
    }

    /// `openOrders.cancelAll`: the cancelled orders (`[]` when none).
    pub fn cancel_all(&mut self, symbol: &str, now_ns: u64) -> Result<Value, ApiError> {
        self.check_symbol(symbol)?;
        let open: Vec<usize> = (0..self.orders.len())
            .filter(|i| self.orders[*i].status.is_open())
            .collect();
        for &i in &open {
            let id = self.generated_client_id();
            self.orders[i].cancel_client_id = Some(id);
        }
        self.paper.submit(
            Intent::CancelAll {
                instrument: INSTRUMENT,
                cause_ts_ns: now_ns,
            },
            now_ns,
        );
        self.drain_reports(now_ns);
        let now_ms = ms(now_ns);
        let rows: Vec<Value> = open
            .iter()
            .map(|&i| self.orders[i].cancel_json(self.symbol(), &self.decimals, now_ms))
            .collect();
        Ok(Value::Array(rows))
    }

    /// `order.status`.
    pub fn status(
        &self,
        symbol: &str,
        orig_client_id: Option<&str>,
        order_id: Option<u64>,
    ) -> Result<Value, ApiError> {
        self.check_symbol(symbol)?;
        match self.find(orig_client_id, order_id) {
            Some(i) => Ok(self.orders[i].status_json(self.symbol(), &self.decimals)),
            None => Err(ApiError::bad(-2013, "Order does not exist.")),
        }
    }

    /// `openOrders.status`.
    pub fn open_status(&self, symbol: &str) -> Result<Value, ApiError> {
        self.check_symbol(symbol)?;
        Ok(Value::Array(
            self.orders
                .iter()
                .filter(|o| o.status.is_open())
                .map(|o| o.status_json(self.symbol(), &self.decimals))
                .collect(),
        ))
    }

    /// Our orders resting now.
    pub fn open_order_count(&self) -> usize {
        self.orders.iter().filter(|o| o.status.is_open()).count()
    }

    /// `account.status`: Binance's account shape with the two balances (locked = what resting
    /// orders hold: quote for buys, base for sells).
    pub fn account_status(&self, now_ms: u64) -> Value {
        let (mut base_locked, mut quote_locked) = (0i128, 0i128);
        for o in self.orders.iter().filter(|o| o.status.is_open()) {
            let leaves_lots = o.req.qty_lots - o.executed_lots;
            match o.req.side {
                Side::Bid => {
                    quote_locked += self
                        .account
                        .notional_units(i128::from(o.req.price_ticks) * i128::from(leaves_lots));
                }
                Side::Ask => base_locked += self.account.lots_units(leaves_lots),
            }
        }
        // Binance gives commissions as whole bps and as rates.
        let rate = |bps: f64| format!("{:.8}", bps / 10_000.0);
        serde_json::json!({
            "makerCommission": self.maker_fee_bps.round() as i64,
            "takerCommission": self.taker_fee_bps.round() as i64,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": rate(self.maker_fee_bps),
                "taker": rate(self.taker_fee_bps),
                "buyer": "0.00000000",
                "seller": "0.00000000",
            },
            "canTrade": true,
            "canWithdraw": false,
            "canDeposit": false,
            "brokered": false,
            "requireSelfTradePrevention": false,
            "preventSor": false,
            "updateTime": now_ms,
            "accountType": "SPOT",
            "balances": self.account.balances_json(base_locked, quote_locked),
            "permissions": ["SPOT"],
            "uid": 1,
        })
    }

    /// `allOrders`: every order of `symbol` (oldest first) with `orderId >= from_order_id`
    /// when given, placed within `window`; a starting point keeps the oldest `limit`, else
    /// the most recent `limit` are kept. Binance ignores `orderId` when a time is given.
    pub fn all_orders(
        &self,
        symbol: &str,
        from_order_id: Option<u64>,
        window: QueryWindow,
    ) -> Result<Value, ApiError> {
        self.check_symbol(symbol)?;
        let timed = window.start_ms.is_some() || window.end_ms.is_some();
        let from_id = if timed { None } else { from_order_id };
        let rows: Vec<Value> = self
            .orders
            .iter()
            .filter(|o| from_id.is_none_or(|id| o.order_id >= id) && window.contains(o.time_ms))
            .map(|o| o.status_json(self.symbol(), &self.decimals))
            .collect();
        let from_start = from_id.is_some() || window.start_ms.is_some();
        Ok(Value::Array(window.take(rows, from_start)))
    }

    /// `myTrades`: our fills of `symbol` (oldest first), of one order when `order_id` is
    /// given, with `id >= from_id` or within `window` (not both: -1128).
    pub fn my_trades(
        &self,
        symbol: &str,
        order_id: Option<u64>,
        from_id: Option<u64>,
        window: QueryWindow,
    ) -> Result<Value, ApiError> {
        self.check_symbol(symbol)?;
        let timed = window.start_ms.is_some() || window.end_ms.is_some();
        if timed && from_id.is_some() {
            return Err(ApiError::bad(
                -1128,
                "Combination of optional parameters invalid.",
            ));
        }
        let d = &self.decimals;
        let rows: Vec<Value> = self
            .record
            .fills
            .iter()
            .filter(|f| {
                order_id.is_none_or(|id| f.order_id == id)
                    && from_id.is_none_or(|id| f.trade_id >= id)
                    && window.contains(ms(f.ts_ns))
            })
            .map(|f| {
                serde_json::json!({
                    "symbol": self.symbol(),
                    "id": f.trade_id,
                    "orderId": f.order_id,
                    "orderListId": -1,
                    "price": d.price(f.price_ticks),
                    "qty": d.qty(f.qty_lots),
                    "quoteQty": d.notional(i128::from(f.price_ticks) * i128::from(f.qty_lots)),
                    "commission": f.fee,
                    "commissionAsset": self.quote_asset,
                    "time": ms(f.ts_ns),
                    "isBuyer": f.side == "BUY",
                    "isMaker": f.maker,
                    "isBestMatch": true,
                })
            })
            .collect();
        let from_start = from_id.is_some() || window.start_ms.is_some();
        Ok(Value::Array(window.take(rows, from_start)))
    }

    /// A copy of the record with the order list and open orders filled in.
    pub fn record(&self) -> SimRecord {
        let mut r = self.record.clone();
        r.orders = self
            .orders
            .iter()
            .map(|o| OrderRecord {
                order_id: o.order_id,
                client_order_id: o.req.client_order_id.clone(),
                side: side_str(o.req.side).to_owned(),
                order_type: o.req.order_type.as_str().to_owned(),
                time_in_force: o.req.tif.as_str().to_owned(),
                price_ticks: o.req.price_ticks,
                qty_lots: o.req.qty_lots,
                executed_lots: o.executed_lots,
                status: o.status.as_str().to_owned(),
                answered_unknown: o.answered_unknown,
            })
            .collect();
        r.open_orders = self
            .orders
            .iter()
            .filter(|o| o.status.is_open())
            .map(|o| o.req.client_order_id.clone())
            .collect();
        r.position_lots.entry(r.symbol.clone()).or_insert(0);
        r
    }

    /// Best levels of the own book, for tests: `(last_update_id, bids, asks)`.
    pub fn book_view(&self, depth: usize) -> (u64, Vec<Level>, Vec<Level>) {
        (
            self.last_update_id,
            self.book.levels(Side::Bid).take(depth).collect(),
            self.book.levels(Side::Ask).take(depth).collect(),
        )
    }
}

fn unknown_error() -> ApiError {
    ApiError {
        status: 503,
        code: -1007,
        msg: MSG_UNKNOWN.to_owned(),
    }
}
