//! User-data events: spot `executionReport` (on the WS API connection after
//! `userDataStream.subscribe`) and USD-M `ORDER_TRADE_UPDATE` (on the listenKey stream),
//! both read into one venue-neutral [`Execution`].

use serde::Deserialize;
use std::borrow::Cow;

/// What happened to the order (`x`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecKind {
    /// Accepted by the engine.
    New,
    /// A trade (partial or full).
    Trade,
    /// Cancelled by us (or the venue).
    Canceled,
    /// Refused.
    Rejected,
    /// Expired (IOC remainder, self-trade prevention, ...): handled as a cancel.
    Expired,
    /// Anything else (`REPLACED`, `TRADE_PREVENTION`, `AMENDMENT`, `CALCULATED`...): ignored.
    Other,
}

impl ExecKind {
    fn parse(text: &str) -> ExecKind {
        match text {
            "NEW" => ExecKind::New,
            "TRADE" => ExecKind::Trade,
            "CANCELED" => ExecKind::Canceled,
            "REJECTED" => ExecKind::Rejected,
            "EXPIRED" | "EXPIRED_IN_MATCH" => ExecKind::Expired,
            _ => ExecKind::Other,
        }
    }
}

/// One execution event, venue-neutral; text fields are the venue's decimal strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution<'a> {
    /// Symbol.
    pub symbol: Cow<'a, str>,
    /// The client order id of the order itself (for spot cancels, `C`, else `c`).
    pub client_order_id: Cow<'a, str>,
    /// What happened.
    pub kind: ExecKind,
    /// Order status after the event (`X`).
    pub status: Cow<'a, str>,
    /// Ordered quantity.
    pub order_qty: Cow<'a, str>,
    /// Last executed quantity (`l`).
    pub last_qty: Cow<'a, str>,
    /// Cumulative executed quantity (`z`).
    pub cum_qty: Cow<'a, str>,
    /// Last executed price (`L`).
    pub last_price: Cow<'a, str>,
    /// Cumulative quote quantity (`Z`, spot only).
    pub cum_quote: Option<Cow<'a, str>>,
    /// Commission of this trade (`n`).
    pub commission: Option<Cow<'a, str>>,
    /// Commission asset (`N`), absent without commission.
    pub commission_asset: Option<Cow<'a, str>>,
    /// Maker side of the trade (`m`).
    pub maker: bool,
    /// Transaction time (`T`), venue ms.
    pub time_ms: i64,
    /// Reject reason text (`r`), `NONE` normally.
    pub reject_reason: Cow<'a, str>,
}

#[derive(Debug, Deserialize)]
struct SpotReport<'a> {
    #[serde(rename = "s", borrow)]
    symbol: Cow<'a, str>,
    #[serde(rename = "c", borrow)]
    client_id: Cow<'a, str>,
    #[serde(rename = "C", borrow, default)]
    orig_client_id: Option<Cow<'a, str>>,
    #[serde(rename = "x", borrow)]
    exec: Cow<'a, str>,
    #[serde(rename = "X", borrow)]
    status: Cow<'a, str>,
    #[serde(rename = "q", borrow, default)]
    qty: Cow<'a, str>,
    #[serde(rename = "l", borrow, default)]
    last_qty: Cow<'a, str>,
    #[serde(rename = "z", borrow, default)]
    cum_qty: Cow<'a, str>,
    #[serde(rename = "L", borrow, default)]
    last_price: Cow<'a, str>,
    #[serde(rename = "Z", borrow, default)]
    cum_quote: Option<Cow<'a, str>>,
    #[serde(rename = "n", borrow, default)]
    commission: Option<Cow<'a, str>>,
    #[serde(rename = "N", borrow, default)]
    commission_asset: Option<Cow<'a, str>>,
    #[serde(rename = "m", default)]
    maker: bool,
    #[serde(rename = "T", default)]
    time_ms: i64,
    #[serde(rename = "E", default)]
    event_ms: i64,
    #[serde(rename = "r", borrow, default)]
    reject_reason: Cow<'a, str>,
}

/// Reads a spot `executionReport` event object (the value of `event`).
pub fn from_spot(report: SpotEvent<'_>) -> Execution<'_> {
    let r = report.0;
    let kind = ExecKind::parse(&r.exec);
    // Binance puts a cancel request's own id in `c` and the order's id in `C`.
    let client_order_id = match (kind, r.orig_client_id) {
        (ExecKind::Canceled, Some(orig)) if !orig.is_empty() => orig,
        _ => r.client_id,
    };
    Execution {
        symbol: r.symbol,
        client_order_id,
        kind,
        status: r.status,
        order_qty: r.qty,
        last_qty: r.last_qty,
        cum_qty: r.cum_qty,
        last_price: r.last_price,
        cum_quote: r.cum_quote,
        commission: r.commission,
        commission_asset: r.commission_asset,
        maker: r.maker,
        time_ms: if r.time_ms > 0 { r.time_ms } else { r.event_ms },
        reject_reason: r.reject_reason,
    }
}

/// A spot `executionReport` as deserialized (see [`from_spot`]).
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct SpotEvent<'a>(#[serde(borrow)] SpotReport<'a>);

#[derive(Debug, Deserialize)]
struct UsdmOrder<'a> {
    #[serde(rename = "s", borrow)]
    symbol: Cow<'a, str>,
    #[serde(rename = "c", borrow)]
    client_id: Cow<'a, str>,
    #[serde(rename = "x", borrow)]
    exec: Cow<'a, str>,
    #[serde(rename = "X", borrow)]
    status: Cow<'a, str>,
    #[serde(rename = "q", borrow, default)]
    qty: Cow<'a, str>,
    #[serde(rename = "l", borrow, default)]
    last_qty: Cow<'a, str>,
    #[serde(rename = "z", borrow, default)]
    cum_qty: Cow<'a, str>,
    #[serde(rename = "L", borrow, default)]
    last_price: Cow<'a, str>,
    #[serde(rename = "n", borrow, default)]
    commission: Option<Cow<'a, str>>,
    #[serde(rename = "N", borrow, default)]
    commission_asset: Option<Cow<'a, str>>,
    #[serde(rename = "m", default)]
    maker: bool,
    #[serde(rename = "T", default)]
    time_ms: i64,
}

/// A USD-M `ORDER_TRADE_UPDATE` event object.
#[derive(Debug, Deserialize)]
pub struct UsdmEvent<'a> {
    #[serde(rename = "E", default)]
    event_ms: i64,
    #[serde(rename = "o", borrow)]
    order: UsdmOrder<'a>,
}

/// Reads a USD-M `ORDER_TRADE_UPDATE` (no cumulative quote: `Z` does not exist there).
pub fn from_usdm(event: UsdmEvent<'_>) -> Execution<'_> {
    let o = event.order;
    Execution {
        symbol: o.symbol,
        client_order_id: o.client_id,
        kind: ExecKind::parse(&o.exec),
        status: o.status,
        order_qty: o.qty,
        last_qty: o.last_qty,
        cum_qty: o.cum_qty,
        last_price: o.last_price,
        cum_quote: None,
        commission: o.commission,
        commission_asset: o.commission_asset,
        maker: o.maker,
        time_ms: if o.time_ms > 0 {
            o.time_ms
        } else {
            event.event_ms
        },
        reject_reason: Cow::Borrowed("NONE"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::response::parse_event;
    use super::*;

    #[test]
    fn spot_trade_and_cancel() {
        let trade = r#"{"subscriptionId":0,"event":{"e":"executionReport","E":1499405658658,"s":"ETHUSDT","c":"obi1x7","S":"BUY","o":"LIMIT","f":"GTC","q":"0.01000000","p":"2500.00000000","P":"0.00000000","F":"0.00000000","g":-1,"C":"","x":"TRADE","X":"PARTIALLY_FILLED","r":"NONE","i":4293153,"l":"0.00400000","z":"0.00400000","L":"2499.50000000","n":"0.00999800","N":"USDT","T":1499405658657,"t":77,"I":8641984,"w":false,"m":true,"M":false,"O":1499405658657,"Z":"9.99800000","Y":"9.99800000","Q":"0.00000000","W":1499405658657,"V":"NONE"}}"#;
        let e = from_spot(parse_event(trade).unwrap());
        assert_eq!(e.kind, ExecKind::Trade);
        assert_eq!(
            (
                e.client_order_id.as_ref(),
                e.last_qty.as_ref(),
                e.cum_qty.as_ref()
            ),
            ("obi1x7", "0.00400000", "0.00400000")
        );
        assert_eq!(
            (
                e.last_price.as_ref(),
                e.commission.as_deref(),
                e.commission_asset.as_deref()
            ),
            ("2499.50000000", Some("0.00999800"), Some("USDT"))
        );
        assert!(e.maker);
        assert_eq!(e.time_ms, 1_499_405_658_657);

        let cancel = r#"{"subscriptionId":0,"event":{"e":"executionReport","E":2,"s":"ETHUSDT","c":"cancelReq1","S":"BUY","o":"LIMIT","f":"GTC","q":"0.01000000","p":"2500.00000000","C":"obi1x7","x":"CANCELED","X":"CANCELED","r":"NONE","i":4293153,"l":"0.00000000","z":"0.00400000","L":"0.00000000","n":"0","N":null,"T":3,"t":-1,"m":false,"O":1}}"#;
        let e = from_spot(parse_event(cancel).unwrap());
        assert_eq!(
            (e.kind, e.client_order_id.as_ref(), e.commission_asset),
            (ExecKind::Canceled, "obi1x7", None)
        );
        let expired = cancel
            .replace("\"x\":\"CANCELED\"", "\"x\":\"EXPIRED\"")
            .replace("\"C\":\"obi1x7\"", "\"C\":\"\"")
            .replace("cancelReq1", "obi1x8");
        let e = from_spot(parse_event(&expired).unwrap());
        assert_eq!(
            (e.kind, e.client_order_id.as_ref()),
            (ExecKind::Expired, "obi1x8")
        );
    }

    #[test]
    fn usdm_order_trade_update() {
        // Shaped like Binance's USD-M docs example.
        let text = r#"{"e":"ORDER_TRADE_UPDATE","E":1568879465651,"T":1568879465650,"o":{"s":"BTCUSDT","c":"obi1x9","S":"SELL","o":"LIMIT","f":"GTX","q":"0.001","p":"9910","ap":"9910","sp":"0","x":"TRADE","X":"FILLED","i":8886774,"l":"0.001","z":"0.001","L":"9910","N":"USDT","n":"0.0019820","T":1568879465650,"t":1,"b":"0","a":"9.91","m":true,"R":false,"wt":"CONTRACT_PRICE","ot":"LIMIT","ps":"BOTH","cp":false,"rp":"0","pP":false,"si":0,"ss":0,"V":"NONE","pm":"NONE","gtd":0}}"#;
        let event: UsdmEvent<'_> = serde_json::from_str(text).unwrap();
        let e = from_usdm(event);
        assert_eq!(
            (e.kind, e.status.as_ref(), e.client_order_id.as_ref()),
            (ExecKind::Trade, "FILLED", "obi1x9")
        );
        assert_eq!(
            (e.last_price.as_ref(), e.commission.as_deref(), e.maker),
            ("9910", Some("0.0019820"), true)
        );
    }

    #[test]
    fn malformed_events_are_errors() {
        assert!(parse_event::<SpotEvent<'_>>(r#"{"event":{"e":"executionReport"}}"#).is_err());
        assert!(serde_json::from_str::<UsdmEvent<'_>>(r#"{"o":{}}"#).is_err());
    }
}
