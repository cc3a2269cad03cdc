//! WebSocket API requests: `{"id":..,"method":..,"params":{..}}` text frames for the spot
//! (`/ws-api/v3`) and USD-M (`/ws-fapi/v1`) order APIs, signed as the venue requires.
//!
//! One [`RequestWriter`] is reused for every request: its parameter slots and output buffers
//! keep their capacity, so steady-state requests do not allocate.

use super::client_id::ClientIds;
use super::sign;
use crate::instrument::InstrumentSpec;
use crate::order::{NewOrder, OrderId, TimeInForce};
use crate::units::Side;
use crate::venue::keys::{Credentials, KeyType};
use std::fmt::Write as _;

/// Most orders one `allOrders` answer holds (Binance's maximum `limit`).
pub const ALL_ORDERS_PAGE: u16 = 1000;

/// Which order API the requests are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Spot WebSocket API (`/ws-api/v3`): post-only is `LIMIT_MAKER`.
    Spot,
    /// USD-M futures WebSocket API (`/ws-fapi/v1`): post-only is `LIMIT` + `GTX`.
    UsdM,
}

/// A WebSocket API method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `time`.
    Time,
    /// `session.logon`.
    SessionLogon,
    /// `userDataStream.subscribe` (spot).
    UserDataSubscribe,
    /// `userDataStream.start` (USD-M: returns a listenKey).
    UserDataStart,
    /// `userDataStream.ping` (USD-M keep-alive).
    UserDataPing,
    /// `order.place`.
    OrderPlace,
    /// `order.cancel`.
    OrderCancel,
    /// `openOrders.cancelAll` (spot).
    CancelAll,
    /// `order.status`.
    OrderStatus,
    /// `openOrders.status`.
    OpenOrdersStatus,
    /// `allOrders` (spot): every order of a symbol from a start time.
    AllOrders,
    /// `myTrades` (spot): the trades of one order.
    MyTrades,
}

impl Method {
    /// The method name on the wire.
    pub const fn name(self) -> &'static str {
        match self {
            Method::Time => "time",
            Method::SessionLogon => "session.logon",
            Method::UserDataSubscribe => "userDataStream.subscribe",
            Method::UserDataStart => "userDataStream.start",
            Method::UserDataPing => "userDataStream.ping",
            Method::OrderPlace => "order.place",
            Method::OrderCancel => "order.cancel",
            Method::CancelAll => "openOrders.cancelAll",
            Method::OrderStatus => "order.status",
            Method::OpenOrdersStatus => "openOrders.status",
            Method::AllOrders => "allOrders",
            Method::MyTrades => "myTrades",
        }
    }
}

/// How a request is authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// No signature, no timestamp (`time`, `userDataStream.subscribe`).
    None,
    /// `timestamp` and `recvWindow` only: the session is logged on (Ed25519).
    Session,
    /// `apiKey`, `timestamp`, `recvWindow` and `signature` (HMAC per request, or the logon).
    Signed,
    /// `apiKey` only (USD-M `userDataStream.*`).
    ApiKey,
}

#[derive(Clone, Debug, Default)]
struct Param {
    name: &'static str,
    value: String,
    numeric: bool,
}

/// Builds request frames into reused buffers.
#[derive(Debug)]
pub struct RequestWriter {
    flavor: Flavor,
    recv_window_ms: u64,
    ids: ClientIds,
    params: Vec<Param>,
    used: usize,
    payload: String,
    frame: String,
}

impl RequestWriter {
    /// A writer for `flavor`, sending `recvWindow` = `recv_window_ms` (0 = omit) and client
    /// order ids from `ids`.
    pub fn new(flavor: Flavor, recv_window_ms: u64, ids: ClientIds) -> RequestWriter {
        RequestWriter {
            flavor,
            recv_window_ms,
            ids,
            params: Vec::with_capacity(16),
            used: 0,
            payload: String::with_capacity(512),
            frame: String::with_capacity(1024),
        }
    }

    /// The client-id scheme in use.
    pub fn ids(&self) -> &ClientIds {
        &self.ids
    }

    /// The API flavor.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    fn begin(&mut self) {
        self.used = 0;
    }

    fn slot(&mut self, name: &'static str, numeric: bool) -> &mut String {
        if self.used == self.params.len() {
            self.params.push(Param::default());
        }
        let p = &mut self.params[self.used];
        self.used += 1;
        p.name = name;
        p.numeric = numeric;
        p.value.clear();
        &mut p.value
    }

    fn text(&mut self, name: &'static str, value: &str) {
        self.slot(name, false).push_str(value);
    }

    fn number(&mut self, name: &'static str, value: i64) {
        let _ = write!(self.slot(name, true), "{value}");
    }

    /// Adds the authentication params, signs, and writes the frame; returns its text.
    fn finish(
        &mut self,
        id: u64,
        method: Method,
        auth: Auth,
        timestamp_ms: i64,
        creds: &Credentials,
    ) -> &str {
        match auth {
            Auth::None => {}
            Auth::ApiKey => self.text("apiKey", creds.api_key()),
            Auth::Session | Auth::Signed => {
                if auth == Auth::Signed {
                    self.text("apiKey", creds.api_key());
                }
                self.number("timestamp", timestamp_ms);
                if self.recv_window_ms > 0 && method != Method::SessionLogon {
                    self.number("recvWindow", self.recv_window_ms as i64);
                }
            }
        }
        let used = self.used;
        self.params[..used].sort_unstable_by_key(|p| p.name);
        if auth == Auth::Signed {
            let pairs: &[Param] = &self.params[..used];
            write_payload(pairs, &mut self.payload);
            let mut signature = std::mem::take(self.slot("signature", false));
            creds.sign_into(self.payload.as_bytes(), &mut signature);
            let last = self.used - 1;
            self.params[last].value = signature;
        }
        let frame = &mut self.frame;
        frame.clear();
        let _ = write!(frame, "{{\"id\":\"{id}\",\"method\":\"{}\"", method.name());
        if self.used > 0 {
            frame.push_str(",\"params\":{");
            for (i, p) in self.params[..self.used].iter().enumerate() {
                if i > 0 {
                    frame.push(',');
                }
                frame.push('"');
                frame.push_str(p.name);
                frame.push_str("\":");
                if p.numeric {
                    frame.push_str(&p.value);
                } else {
                    push_json_string(frame, &p.value);
                }
            }
            frame.push('}');
        }
        frame.push('}');
        &self.frame
    }

    /// The auth mode of signed requests for this key type once the session is set up:
    /// Ed25519 sessions are logged on, HMAC keys sign every request.
    pub fn request_auth(key_type: KeyType) -> Auth {
        match key_type {
            KeyType::Ed25519 => Auth::Session,
            KeyType::Hmac => Auth::Signed,
        }
    }

    /// `time`.
    pub fn time(&mut self, id: u64, creds: &Credentials) -> &str {
        self.begin();
        self.finish(id, Method::Time, Auth::None, 0, creds)
    }

    /// `session.logon`, signed with the key (Ed25519, or HMAC as in Binance's example).
    pub fn logon(&mut self, id: u64, timestamp_ms: i64, creds: &Credentials) -> &str {
        self.begin();
        self.finish(id, Method::SessionLogon, Auth::Signed, timestamp_ms, creds)
    }

    /// `userDataStream.subscribe` (spot; the session must be logged on).
    pub fn subscribe(&mut self, id: u64, creds: &Credentials) -> &str {
        self.begin();
        self.finish(id, Method::UserDataSubscribe, Auth::None, 0, creds)
    }

    /// `userDataStream.start` (USD-M): the result carries a listenKey.
    pub fn user_data_start(&mut self, id: u64, creds: &Credentials) -> &str {
        self.begin();
        self.finish(id, Method::UserDataStart, Auth::ApiKey, 0, creds)
    }

    /// `userDataStream.ping` (USD-M), every 30 minutes.
    pub fn user_data_ping(&mut self, id: u64, creds: &Credentials) -> &str {
        self.begin();
        self.finish(id, Method::UserDataPing, Auth::ApiKey, 0, creds)
    }

    /// `order.place`: LIMIT GTC/IOC, or post-only (`LIMIT_MAKER` on spot, `GTX` on USD-M);
    /// price and quantity formatted from ticks and lots on the instrument's grid;
    /// `newOrderRespType` `ACK`.
    pub fn place(
        &mut self,
        id: u64,
        auth: Auth,
        timestamp_ms: i64,
        spec: &InstrumentSpec,
        order: &NewOrder,
        creds: &Credentials,
    ) -> &str {
        self.begin();
        self.text("symbol", spec.symbol.as_str());
        self.text("side", side_text(order.side));
        match (self.flavor, order.tif) {
            (Flavor::Spot, TimeInForce::PostOnly) => self.text("type", "LIMIT_MAKER"),
            (_, tif) => {
                self.text("type", "LIMIT");
                self.text(
                    "timeInForce",
                    match tif {
                        TimeInForce::Gtc => "GTC",
                        TimeInForce::Ioc => "IOC",
                        TimeInForce::PostOnly => "GTX",
                    },
                );
            }
        }
        if self.flavor == Flavor::UsdM && order.reduce_only {
            self.text("reduceOnly", "true");
        }
        let _ = spec.price.write(self.slot("price", false), order.price.0);
        let _ = spec.qty.write(self.slot("quantity", false), order.qty.0);
        let client_id = self.client_id_slot("newClientOrderId");
        let (ids, value) = client_id;
        ids.write(order.order_id, value);
        self.text("newOrderRespType", "ACK");
        self.finish(id, Method::OrderPlace, auth, timestamp_ms, creds)
    }

    fn client_id_slot(&mut self, name: &'static str) -> (&ClientIds, &mut String) {
        if self.used == self.params.len() {
            self.params.push(Param::default());
        }
        let p = &mut self.params[self.used];
        self.used += 1;
        p.name = name;
        p.numeric = false;
        p.value.clear();
        (&self.ids, &mut p.value)
    }

    /// `order.cancel` by our client order id.
    pub fn cancel(
        &mut self,
        id: u64,
        auth: Auth,
        timestamp_ms: i64,
        spec: &InstrumentSpec,
        order_id: OrderId,
        creds: &Credentials,
    ) -> &str {
        self.begin();
        self.text("symbol", spec.symbol.as_str());
        let (ids, value) = self.client_id_slot("origClientOrderId");
        ids.write(order_id, value);
        self.finish(id, Method::OrderCancel, auth, timestamp_ms, creds)
    }

    /// `order.status` by our client order id.
    pub fn status(
        &mut self,
        id: u64,
        auth: Auth,
        timestamp_ms: i64,
        spec: &InstrumentSpec,
        order_id: OrderId,
        creds: &Credentials,
    ) -> &str {
        self.begin();
        self.text("symbol", spec.symbol.as_str());
        let (ids, value) = self.client_id_slot("origClientOrderId");
        ids.write(order_id, value);
        self.finish(id, Method::OrderStatus, auth, timestamp_ms, creds)
    }

    /// `openOrders.cancelAll` for one symbol (spot).
    pub fn cancel_all(
        &mut self,
        id: u64,
        auth: Auth,
        timestamp_ms: i64,
        spec: &InstrumentSpec,
        creds: &Credentials,
    ) -> &str {
        self.begin();
        self.text("symbol", spec.symbol.as_str());
        self.finish(id, Method::CancelAll, auth, timestamp_ms, creds)
    }

    /// `openOrders.status` for one symbol.
    pub fn open_orders(
        &mut self,
        id: u64,
        auth: Auth,
        timestamp_ms: i64,
        spec: &InstrumentSpec,
        creds: &Credentials,
    ) -> &str {
        self.begin();
        self.text("symbol", spec.symbol.as_str());
        self.finish(id, Method::OpenOrdersStatus, auth, timestamp_ms, creds)
    }

    /// `allOrders` for one symbol: orders created at or after `start_time_ms` (Unix ms), at
    /// most [`ALL_ORDERS_PAGE`] (the venue's maximum), oldest first.
    pub fn all_orders(
        &mut self,
        id: u64,
        auth: Auth,
        timestamp_ms: i64,
        spec: &InstrumentSpec,
        start_time_ms: i64,
        creds: &Credentials,
    ) -> &str {
        self.begin();
        self.text("symbol", spec.symbol.as_str());
        self.number("startTime", start_time_ms);
        self.number("limit", i64::from(ALL_ORDERS_PAGE));
        self.finish(id, Method::AllOrders, auth, timestamp_ms, creds)
    }

    /// `myTrades` of one order (by the venue's `orderId`).
    pub fn my_trades(
        &mut self,
        id: u64,
        auth: Auth,
        timestamp_ms: i64,
        spec: &InstrumentSpec,
        venue_order_id: u64,
        creds: &Credentials,
    ) -> &str {
        self.begin();
        self.text("symbol", spec.symbol.as_str());
        self.number("orderId", venue_order_id as i64);
        self.finish(id, Method::MyTrades, auth, timestamp_ms, creds)
    }

    /// The signing payload of the last signed request (for tests and diagnostics; it holds
    /// no secret).
    pub fn last_payload(&self) -> &str {
        &self.payload
    }
}

/// `BUY` or `SELL`.
pub const fn side_text(side: Side) -> &'static str {
    match side {
        Side::Bid => "BUY",
        Side::Ask => "SELL",
    }
}

fn write_payload(params: &[Param], out: &mut String) {
    out.clear();
    // Already sorted by name.
    for (i, p) in params.iter().filter(|p| p.name != "signature").enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(p.name);
        out.push('=');
        out.push_str(&p.value);
    }
    debug_assert_eq!(
        *out,
        sign::ws_payload(
            &params
                .iter()
                .map(|p| (p.name, p.value.as_str()))
                .collect::<Vec<_>>()
        )
    );
}

/// Appends `value` as a JSON string literal.
fn push_json_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instrument::InstrumentId;
    use crate::instrument::{Market, Scale, Symbol};
    use crate::units::{Lots, Ticks};

    const KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
    const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

    fn btc() -> InstrumentSpec {
        InstrumentSpec {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            market: Market::Spot,
            price: Scale::unit(8),
            qty: Scale::unit(8),
        }
    }

    fn order(tif: TimeInForce) -> NewOrder {
        NewOrder {
            order_id: OrderId(7),
            instrument: InstrumentId(0),
            side: Side::Ask,
            price: Ticks(2_341_610_000_000),
            qty: Lots(847_000),
            tif,
            cause_ts_ns: 0,
            reduce_only: false,
        }
    }

    fn json(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn hmac_place_matches_the_docs_signature_shape() {
        let creds = Credentials::from_hmac(KEY, SECRET.as_bytes());
        let mut w = RequestWriter::new(Flavor::Spot, 0, ClientIds::new(1));
        let frame = json(w.place(
            5,
            Auth::Signed,
            1_660_801_715_431,
            &btc(),
            &order(TimeInForce::Gtc),
            &creds,
        ));
        let p = &frame["params"];
        assert_eq!(frame["id"], "5");
        assert_eq!(frame["method"], "order.place");
        assert_eq!(p["price"], "23416.10000000");
        assert_eq!(p["quantity"], "0.00847000");
        assert_eq!(p["timeInForce"], "GTC");
        assert_eq!(p["newClientOrderId"], "obi1x7");
        assert_eq!(p["timestamp"], 1_660_801_715_431i64);
        let expected = "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&newClientOrderId=obi1x7&newOrderRespType=ACK&price=23416.10000000&quantity=0.00847000&side=SELL&symbol=BTCUSDT&timeInForce=GTC&timestamp=1660801715431&type=LIMIT";
        assert_eq!(w.last_payload(), expected);
        assert_eq!(
            p["signature"],
            sign::hmac_sha256_hex(SECRET.as_bytes(), expected.as_bytes())
        );
    }

    #[test]
    fn logon_reproduces_the_docs_example() {
        let creds = Credentials::from_hmac(KEY, SECRET.as_bytes());
        let mut w = RequestWriter::new(Flavor::Spot, 5000, ClientIds::new(1));
        let frame = json(w.logon(1, 1_649_729_878_532, &creds));
        assert_eq!(frame["method"], "session.logon");
        assert_eq!(
            frame["params"]["signature"],
            "1cf54395b336b0a9727ef27d5d98987962bc47aca6e13fe978612d0adee066ed"
        );
    }

    #[test]
    fn post_only_and_session_auth() {
        let creds = Credentials::from_hmac(KEY, SECRET.as_bytes());
        let mut w = RequestWriter::new(Flavor::Spot, 5000, ClientIds::new(1));
        let f = json(w.place(
            2,
            Auth::Session,
            10,
            &btc(),
            &order(TimeInForce::PostOnly),
            &creds,
        ));
        let p = &f["params"];
        assert_eq!(p["type"], "LIMIT_MAKER");
        assert!(p.get("timeInForce").is_none() && p.get("signature").is_none());
        assert!(p.get("apiKey").is_none());
        assert_eq!(
            (p["timestamp"].as_i64(), p["recvWindow"].as_i64()),
            (Some(10), Some(5000))
        );

        let mut w = RequestWriter::new(Flavor::UsdM, 0, ClientIds::new(1));
        let f = json(w.place(
            3,
            Auth::Session,
            10,
            &btc(),
            &order(TimeInForce::PostOnly),
            &creds,
        ));
        assert_eq!(
            (
                f["params"]["type"].as_str(),
                f["params"]["timeInForce"].as_str()
            ),
            (Some("LIMIT"), Some("GTX"))
        );
        let f = json(w.place(
            3,
            Auth::Session,
            10,
            &btc(),
            &order(TimeInForce::Ioc),
            &creds,
        ));
        assert_eq!(f["params"]["timeInForce"], "IOC");
        assert!(f["params"].get("reduceOnly").is_none());
        let flatten = NewOrder {
            reduce_only: true,
            ..order(TimeInForce::Ioc)
        };
        let f = json(w.place(3, Auth::Session, 10, &btc(), &flatten, &creds));
        assert_eq!(f["params"]["reduceOnly"], "true");
        // Spot has no reduceOnly: the flag is never sent there.
        let mut spot = RequestWriter::new(Flavor::Spot, 0, ClientIds::new(1));
        let f = json(spot.place(3, Auth::Session, 10, &btc(), &flatten, &creds));
        assert!(f["params"].get("reduceOnly").is_none());
        let f = json(w.user_data_start(4, &creds));
        assert_eq!(
            (f["method"].as_str(), f["params"]["apiKey"].as_str()),
            (Some("userDataStream.start"), Some(KEY))
        );
    }

    #[test]
    fn other_requests() {
        let creds = Credentials::from_hmac(KEY, SECRET.as_bytes());
        let mut w = RequestWriter::new(Flavor::Spot, 5000, ClientIds::new(35));
        assert_eq!(w.time(9, &creds), r#"{"id":"9","method":"time"}"#);
        assert_eq!(
            w.subscribe(10, &creds),
            r#"{"id":"10","method":"userDataStream.subscribe"}"#
        );
        let f = json(w.cancel(11, Auth::Session, 1, &btc(), OrderId(3), &creds));
        assert_eq!(
            (
                f["method"].as_str(),
                f["params"]["origClientOrderId"].as_str()
            ),
            (Some("order.cancel"), Some("obizx3"))
        );
        let f = json(w.status(12, Auth::Session, 1, &btc(), OrderId(3), &creds));
        assert_eq!(f["method"], "order.status");
        let f = json(w.cancel_all(13, Auth::Signed, 1, &btc(), &creds));
        assert_eq!(
            (f["method"].as_str(), f["params"]["symbol"].as_str()),
            (Some("openOrders.cancelAll"), Some("BTCUSDT"))
        );
        assert!(f["params"]["signature"].is_string());
        let f = json(w.open_orders(14, Auth::Session, 1, &btc(), &creds));
        assert_eq!(f["method"], "openOrders.status");
        let mut s = String::new();
        push_json_string(&mut s, "a\"b\\c\n");
        assert_eq!(s, r#""a\"b\\c\u000a""#);
    }
}
