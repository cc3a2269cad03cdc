//! Incoming WebSocket API frames: responses (`id`, `status`, `result` or `error`,
//! `rateLimits`) and pushed events (`{"subscriptionId":N,"event":{..}}`).
//!
//! Parsing is two-pass and borrowing: [`Frame::parse`] reads the envelope and skips the
//! payload; the caller, knowing from the request id what the result is, parses it with
//! [`parse_result`]. Strings borrow from the frame where they have no escapes.

use serde::Deserialize;
use serde::de::IgnoredAny;
use std::borrow::Cow;

/// An error body: `{"code":-2010,"msg":"..."}`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct ErrorBody<'a> {
    /// Binance error code (negative).
    pub code: i64,
    /// Binance's message.
    #[serde(borrow, default)]
    pub msg: Cow<'a, str>,
}

/// One `rateLimits` entry.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct RateLimit<'a> {
    /// `REQUEST_WEIGHT`, `ORDERS`, `CONNECTIONS`.
    #[serde(rename = "rateLimitType", borrow)]
    pub kind: Cow<'a, str>,
    /// `SECOND`, `MINUTE`, `HOUR`, `DAY`.
    #[serde(borrow)]
    pub interval: Cow<'a, str>,
    /// Number of intervals in the window.
    #[serde(rename = "intervalNum", default = "one")]
    pub interval_num: u64,
    /// The limit.
    pub limit: u64,
    /// Used so far in the window.
    #[serde(default)]
    pub count: u64,
}

fn one() -> u64 {
    1
}

impl RateLimit<'_> {
    /// The window length, ms (0 when the interval is unknown).
    pub fn window_ms(&self) -> u64 {
        let unit_ms = match self.interval.as_ref() {
            "SECOND" => 1_000,
            "MINUTE" => 60_000,
            "HOUR" => 3_600_000,
            "DAY" => 86_400_000,
            _ => 0,
        };
        unit_ms * self.interval_num.max(1)
    }

    /// True for the `ORDERS` limits.
    pub fn is_orders(&self) -> bool {
        self.kind == "ORDERS"
    }
}

/// The request id as sent back: we send decimal strings, accept numbers too.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum IdValue<'a> {
    Number(u64),
    #[serde(borrow)]
    Text(Cow<'a, str>),
}

#[derive(Debug, Deserialize)]
struct EventHead<'a> {
    #[serde(rename = "e", borrow)]
    kind: Cow<'a, str>,
}

#[derive(Debug, Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow)]
    id: Option<IdValue<'a>>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default, borrow)]
    error: Option<ErrorBody<'a>>,
    #[serde(default, rename = "rateLimits", borrow)]
    rate_limits: Option<Vec<RateLimit<'a>>>,
    #[serde(default, borrow)]
    event: Option<EventHead<'a>>,
    #[serde(default)]
    result: Option<IgnoredAny>,
}

/// One incoming frame, envelope only.
#[derive(Debug)]
pub enum Frame<'a> {
    /// A response to our request `id`.
    Response {
        /// Our request id (`None` if the venue could not read it: `"id":null`).
        id: Option<u64>,
        /// HTTP-like status.
        status: u16,
        /// The error, for `status != 200`.
        error: Option<ErrorBody<'a>>,
        /// Rate-limit counts, when sent.
        rate_limits: Vec<RateLimit<'a>>,
    },
    /// A pushed event; `kind` is its `e` field (`executionReport`, `serverShutdown`, ...).
    Event {
        /// Event type.
        kind: Cow<'a, str>,
    },
}

/// Why a frame could not be used (a counted skip, never a panic).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Not the JSON we expect.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// Neither a response nor an event.
    #[error("frame is neither a response nor an event")]
    Unknown,
}

impl<'a> Frame<'a> {
    /// Reads the envelope of `text`.
    pub fn parse(text: &'a str) -> Result<Frame<'a>, FrameError> {
        let env: Envelope<'a> =
            serde_json::from_str(text).map_err(|e| FrameError::Malformed(e.to_string()))?;
        if let Some(event) = env.event {
            return Ok(Frame::Event { kind: event.kind });
        }
        let Some(status) = env.status else {
            return Err(FrameError::Unknown);
        };
        let id = match env.id {
            Some(IdValue::Number(n)) => Some(n),
            Some(IdValue::Text(t)) => t.parse().ok(),
            None => None,
        };
        let _ = env.result;
        Ok(Frame::Response {
            id,
            status,
            error: env.error,
            rate_limits: env.rate_limits.unwrap_or_default(),
        })
    }
}

#[derive(Deserialize)]
struct WithResult<T> {
    result: T,
}

#[derive(Deserialize)]
struct WithEvent<T> {
    event: T,
}

/// Parses the `result` of a response frame as `T`.
pub fn parse_result<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, FrameError> {
    serde_json::from_str::<WithResult<T>>(text)
        .map(|w| w.result)
        .map_err(|e| FrameError::Malformed(e.to_string()))
}

/// Parses the `event` of an event frame as `T`.
pub fn parse_event<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, FrameError> {
    serde_json::from_str::<WithEvent<T>>(text)
        .map(|w| w.event)
        .map_err(|e| FrameError::Malformed(e.to_string()))
}

/// `time` result.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub struct ServerTime {
    /// Venue time, ms.
    #[serde(rename = "serverTime")]
    pub server_time_ms: i64,
}

/// `userDataStream.start` result (USD-M): the key of the user-data stream
/// `{stream_url}/ws/<listenKey>`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct ListenKey<'a> {
    /// The listen key.
    #[serde(rename = "listenKey", borrow)]
    pub listen_key: Cow<'a, str>,
}

/// `order.place` result with `newOrderRespType` `ACK`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct PlaceAck<'a> {
    /// Venue order id.
    #[serde(rename = "orderId", default)]
    pub venue_order_id: u64,
    /// Our client order id.
    #[serde(rename = "clientOrderId", borrow, default)]
    pub client_order_id: Cow<'a, str>,
    /// Venue time of the placement, ms (spot).
    #[serde(rename = "transactTime", default)]
    pub transact_time_ms: i64,
    /// Venue time of the placement, ms (USD-M answers carry `updateTime`).
    #[serde(rename = "updateTime", default)]
    pub update_time_ms: i64,
}

impl PlaceAck<'_> {
    /// Venue time of the placement, ms (0 when absent).
    pub fn time_ms(&self) -> i64 {
        if self.transact_time_ms > 0 {
            self.transact_time_ms
        } else {
            self.update_time_ms
        }
    }
}

/// An order as `order.status`, `order.cancel`, `openOrders.*` return it (spot and USD-M).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct OrderState<'a> {
    /// Symbol.
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    /// Venue order id.
    #[serde(rename = "orderId", default)]
    pub venue_order_id: u64,
    /// The order's client id (for `order.cancel`, the cancel's own id; see
    /// `orig_client_order_id`).
    #[serde(rename = "clientOrderId", borrow, default)]
    pub client_order_id: Cow<'a, str>,
    /// The cancelled order's client id (`order.cancel` results only).
    #[serde(rename = "origClientOrderId", borrow, default)]
    pub orig_client_order_id: Option<Cow<'a, str>>,
    /// Ordered quantity, decimal text.
    #[serde(rename = "origQty", borrow, default)]
    pub orig_qty: Cow<'a, str>,
    /// Executed quantity so far, decimal text.
    #[serde(rename = "executedQty", borrow, default)]
    pub executed_qty: Cow<'a, str>,
    /// Executed quote quantity so far (spot; Binance's spelling), decimal text.
    #[serde(rename = "cummulativeQuoteQty", borrow, default)]
    pub cum_quote_qty: Option<Cow<'a, str>>,
    /// Executed quote quantity so far (USD-M), decimal text.
    #[serde(rename = "cumQuote", borrow, default)]
    pub cum_quote: Option<Cow<'a, str>>,
    /// `NEW`, `PARTIALLY_FILLED`, `FILLED`, `CANCELED`, `REJECTED`, `EXPIRED`, ...
    #[serde(borrow)]
    pub status: Cow<'a, str>,
    /// Last update, venue ms (`order.status`).
    #[serde(rename = "updateTime", default)]
    pub update_time_ms: Option<i64>,
    /// Time of the cancel, venue ms (`order.cancel`).
    #[serde(rename = "transactTime", default)]
    pub transact_time_ms: Option<i64>,
}

impl OrderState<'_> {
    /// Venue time of the state, ms (0 when absent).
    pub fn time_ms(&self) -> i64 {
        self.update_time_ms.or(self.transact_time_ms).unwrap_or(0)
    }

    /// Cumulative quote quantity text, either spelling.
    pub fn quote_qty(&self) -> Option<&str> {
        self.cum_quote_qty.as_deref().or(self.cum_quote.as_deref())
    }

    /// The client id identifying the order itself.
    pub fn order_client_id(&self) -> &str {
        match &self.orig_client_order_id {
            Some(orig) if !orig.is_empty() => orig,
            _ => &self.client_order_id,
        }
    }
}

/// Binance error codes the gateway acts on.
pub mod codes {
    /// Send status unknown: query, never re-send.
    pub const STATUS_UNKNOWN: i64 = -1007;
    /// Too many requests.
    pub const TOO_MANY_REQUESTS: i64 = -1003;
    /// Too many new orders (order rate limit).
    pub const TOO_MANY_ORDERS: i64 = -1015;
    /// Timestamp outside recvWindow: re-sync the clock.
    pub const TIMESTAMP_OUTSIDE_WINDOW: i64 = -1021;
    /// Bad signature: configuration error.
    pub const BAD_SIGNATURE: i64 = -1022;
    /// New order rejected (post-only would take, balance, filters, ...).
    pub const NEW_ORDER_REJECTED: i64 = -2010;
    /// Cancel rejected: unknown order.
    pub const CANCEL_REJECTED: i64 = -2011;
    /// Order does not exist.
    pub const NO_SUCH_ORDER: i64 = -2013;
    /// Invalid API key, IP or permissions: configuration error.
    pub const BAD_API_KEY: i64 = -2015;
    /// USD-M: post-only (GTX) order would take.
    pub const USDM_GTX_WOULD_TAKE: i64 = -5022;
    /// USD-M: the listenKey does not exist (expired): start a new one.
    pub const NO_LISTEN_KEY: i64 = -1125;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_and_events() {
        let ok = r#"{"id":"17","status":200,"result":{"symbol":"BTCUSDT","orderId":12,"orderListId":-1,"clientOrderId":"obi1x7","transactTime":1660801715639},"rateLimits":[{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":50,"count":3},{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":1}]}"#;
        let Frame::Response {
            id,
            status,
            error,
            rate_limits,
        } = Frame::parse(ok).unwrap()
        else {
            panic!("not a response")
        };
        assert_eq!((id, status, error), (Some(17), 200, None));
        assert_eq!(rate_limits.len(), 2);
        assert!(rate_limits[0].is_orders());
        assert_eq!(rate_limits[0].window_ms(), 10_000);
        let ack: PlaceAck<'_> = parse_result(ok).unwrap();
        assert_eq!(
            (ack.venue_order_id, ack.client_order_id.as_ref()),
            (12, "obi1x7")
        );

        let err = r#"{"id":"18","status":400,"error":{"code":-2010,"msg":"Order would immediately match and take."}}"#;
        let Frame::Response { error, .. } = Frame::parse(err).unwrap() else {
            panic!()
        };
        assert_eq!(error.unwrap().code, -2010);

        let shutdown = r#"{"event":{"e":"serverShutdown","E":1}}"#;
        assert!(
            matches!(Frame::parse(shutdown).unwrap(), Frame::Event { kind } if kind == "serverShutdown")
        );
        let exec = r#"{"subscriptionId":0,"event":{"e":"executionReport","E":1}}"#;
        assert!(
            matches!(Frame::parse(exec).unwrap(), Frame::Event { kind } if kind == "executionReport")
        );

        let time: ServerTime =
            parse_result(r#"{"id":"1","status":200,"result":{"serverTime":1656400526260}}"#)
                .unwrap();
        assert_eq!(time.server_time_ms, 1_656_400_526_260);
        assert_eq!(
            Frame::parse(r#"{"id":null,"status":400,"error":{"code":-1000,"msg":"x"}}"#)
                .map(|f| matches!(f, Frame::Response { id: None, .. })),
            Ok(true)
        );
    }

    #[test]
    fn order_states() {
        let status = r#"{"id":"3","status":200,"result":{"symbol":"BTCUSDT","orderId":12,"orderListId":-1,"clientOrderId":"obi1x7","price":"23416.10000000","origQty":"0.00847000","executedQty":"0.00500000","cummulativeQuoteQty":"117.08050000","status":"PARTIALLY_FILLED","timeInForce":"GTC","type":"LIMIT","side":"SELL","time":1,"updateTime":2}}"#;
        let s: OrderState<'_> = parse_result(status).unwrap();
        assert_eq!(
            (
                s.status.as_ref(),
                s.executed_qty.as_ref(),
                s.order_client_id()
            ),
            ("PARTIALLY_FILLED", "0.00500000", "obi1x7")
        );
        let cancel = r#"{"id":"4","status":200,"result":{"symbol":"BTCUSDT","origClientOrderId":"obi1x7","orderId":12,"orderListId":-1,"clientOrderId":"91fe37ce9e69c90d6358c0","price":"1","origQty":"1","executedQty":"0","cummulativeQuoteQty":"0","status":"CANCELED","timeInForce":"GTC","type":"LIMIT","side":"SELL","transactTime":5}}"#;
        let s: OrderState<'_> = parse_result(cancel).unwrap();
        assert_eq!((s.order_client_id(), s.time_ms()), ("obi1x7", 5));
        let all: Vec<OrderState<'_>> =
            parse_result(r#"{"id":"5","status":200,"result":[]}"#).unwrap();
        assert!(all.is_empty());
    }

    #[test]
    fn usdm_results() {
        let key: ListenKey<'_> = parse_result(
            r#"{"id":"1","status":200,"result":{"listenKey":"xs0mRXdAKlIPDRFrlPcw0qI41Eh3ixNntmymGyhrhgqo7L6FuLaWArTD7RLP"}}"#,
        )
        .unwrap();
        assert_eq!(key.listen_key.len(), 60);
        // USD-M order.status: cumQuote instead of cummulativeQuoteQty.
        let s: OrderState<'_> = parse_result(
            r#"{"id":"2","status":200,"result":{"avgPrice":"0.00000","clientOrderId":"obi1x3","cumQuote":"0.00000","executedQty":"0","orderId":1917641,"origQty":"0.40","origType":"LIMIT","price":"0","reduceOnly":false,"side":"BUY","positionSide":"SHORT","status":"NEW","stopPrice":"9300","closePosition":false,"symbol":"BTCUSDT","time":1579276756075,"timeInForce":"GTX","type":"LIMIT","activatePrice":"9020","priceRate":"0.3","updateTime":1579276756075,"workingType":"CONTRACT_PRICE","priceProtect":false}}"#,
        )
        .unwrap();
        assert_eq!(
            (s.quote_qty(), s.time_ms()),
            (Some("0.00000"), 1_579_276_756_075)
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = Frame::parse(&text);
            let _ = parse_result::<OrderState<'_>>(&text);
            let _ = parse_event::<crate::venue::binance::user_data::SpotEvent<'_>>(&text);
        }

        #[test]
        fn truncated_frames_never_panic(cut in 0usize..400) {
            let frame = r#"{"subscriptionId":0,"event":{"e":"executionReport","E":1,"s":"ETHUSDT","c":"obi1x7","S":"BUY","o":"LIMIT","f":"GTC","q":"0.01000000","p":"2500.00000000","C":"","x":"TRADE","X":"FILLED","r":"NONE","i":4,"l":"0.01000000","z":"0.01000000","L":"2500.00000000","n":"0","N":null,"T":1,"t":1,"m":true,"Z":"25.00000000"}}"#;
            let text = &frame[..cut.min(frame.len())];
            let _ = Frame::parse(text);
            if let Ok(event) = parse_event::<crate::venue::binance::user_data::SpotEvent<'_>>(text) {
                let _ = crate::venue::binance::user_data::from_spot(event);
            }
        }
    }

    #[test]
    fn junk_is_an_error_not_a_panic() {
        for junk in [
            "",
            "{",
            "[]",
            "null",
            r#"{"id":"1"}"#,
            r#"{"status":"x"}"#,
            "\u{0}",
        ] {
            assert!(Frame::parse(junk).is_err(), "{junk:?}");
        }
        assert!(parse_result::<ServerTime>(r#"{"result":{}}"#).is_err());
    }
}
