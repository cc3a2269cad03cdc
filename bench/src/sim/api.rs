//! The Spot WebSocket API: request envelope, authentication, rate-limit counts, and the
//! methods obi uses, answered from the venue state.

use std::sync::Arc;

use obi_engine::units::Side;
use serde_json::{Map, Value, json};

use super::Shared;
use super::account::QueryWindow;
use super::auth::{bad_key, check_timestamp, signing_payload, verify_ed25519, verify_hmac};
use super::orders::{OrderType, PlaceRequest, Tif};
use super::outbox::ConnHandle;
use super::venue::{ApiError, State};

/// Request weight allowed per minute and connection (Binance spot: 6000).
const WEIGHT_PER_MINUTE: u64 = 6_000;
/// Orders allowed per 10 s (Binance spot: 100).
const ORDERS_PER_10S: u64 = 100;
/// Orders allowed per day (Binance spot: 200,000).
const ORDERS_PER_DAY: u64 = 200_000;

/// A fixed window counter, reset at interval boundaries as Binance does.
#[derive(Clone, Copy, Debug, Default)]
struct Window {
    start_ms: u64,
    count: u64,
}

impl Window {
    fn add(&mut self, now_ms: u64, interval_ms: u64, n: u64) -> u64 {
        let start = now_ms - now_ms % interval_ms;
        if start != self.start_ms {
            self.start_ms = start;
            self.count = 0;
        }
        self.count += n;
        self.count
    }
}

/// Per-connection session state.
#[derive(Debug, Default)]
pub struct ApiSession {
    /// Logged on with `session.logon` (authorized since, ms).
    pub authorized_since_ms: Option<u64>,
    /// The logged-on key.
    pub api_key: Option<String>,
    /// Connection time, ms.
    pub connected_since_ms: u64,
    weight: Window,
    orders_10s: Window,
    orders_day: Window,
}

impl ApiSession {
    /// A session on a connection opened at `connected_since_ms`.
    pub fn new(connected_since_ms: u64) -> ApiSession {
        ApiSession {
            connected_since_ms,
            ..ApiSession::default()
        }
    }
}

fn err_json(id: &Value, e: &ApiError, limits: Value) -> String {
    json!({"id": id, "status": e.status, "error": {"code": e.code, "msg": e.msg}, "rateLimits": limits})
        .to_string()
}

fn str_param<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn mandatory<'a>(params: &'a Map<String, Value>, name: &str) -> Result<&'a str, ApiError> {
    str_param(params, name).ok_or_else(|| {
        ApiError::bad(
            -1102,
            format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."),
        )
    })
}

fn illegal(name: &str) -> ApiError {
    ApiError::bad(
        -1100,
        format!("Illegal characters found in parameter '{name}'."),
    )
}

fn valid_client_id(id: &str) -> bool {
    (1..=36).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'/' | b'_' | b'-'))
}

fn order_id_param(params: &Map<String, Value>) -> Option<u64> {
    match params.get("orderId") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
}

/// An optional whole-number parameter: absent is `None`, a malformed value is -1100.
fn u64_param(params: &Map<String, Value>, name: &str) -> Result<Option<u64>, ApiError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| illegal(name)),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| illegal(name)),
        Some(_) => Err(illegal(name)),
    }
}

/// The `startTime` / `endTime` / `limit` of a history query.
fn window_params(params: &Map<String, Value>) -> Result<QueryWindow, ApiError> {
    QueryWindow::new(
        u64_param(params, "startTime")?,
        u64_param(params, "endTime")?,
        u64_param(params, "limit")?,
    )
}

fn weight_of(method: &str) -> u64 {
    match method {
        "session.logon" | "userDataStream.subscribe" => 2,
        "order.status" => 4,
        "openOrders.status" => 6,
        "account.status" | "allOrders" | "myTrades" => 20,
        _ => 1,
    }
}

/// Whether the request's signing is acceptable for a signed method.
fn authorize(
    shared: &Shared,
    session: &ApiSession,
    params: &Map<String, Value>,
    now_ms: u64,
) -> Result<(), ApiError> {
    let Some(expected_key) = shared.resolved.api_key.as_deref() else {
        return Ok(());
    };
    if session.authorized_since_ms.is_some() && params.get("signature").is_none() {
        return check_timestamp(params, now_ms);
    }
    let signature = mandatory(params, "signature")?;
    let key = mandatory(params, "apiKey")?;
    if key != expected_key {
        return Err(bad_key());
    }
    let payload = signing_payload(params);
    match (&shared.resolved.hmac_secret, &shared.resolved.ed25519) {
        (Some(secret), _) if signature.len() == 64 => verify_hmac(secret, &payload, signature)?,
        (_, Some(key)) => verify_ed25519(key, &payload, signature)?,
        (Some(secret), None) => verify_hmac(secret, &payload, signature)?,
        (None, None) => return Err(bad_key()),
    }
    check_timestamp(params, now_ms)
}

fn logon(
    shared: &Shared,
    session: &mut ApiSession,
    params: &Map<String, Value>,
    now_ms: u64,
) -> Result<Value, ApiError> {
    let api_key = str_param(params, "apiKey").unwrap_or("").to_owned();
    if let Some(expected) = shared.resolved.api_key.as_deref() {
        if api_key != expected {
            return Err(bad_key());
        }
        let signature = mandatory(params, "signature")?;
        let payload = signing_payload(params);
        // Binance logs sessions on with Ed25519 keys; an HMAC-signed logon (hex signature)
        // is accepted too, as obi's gateway sends one for HMAC keys.
        match (&shared.resolved.ed25519, &shared.resolved.hmac_secret) {
            (_, Some(secret)) if signature.len() == 64 => {
                verify_hmac(secret, &payload, signature)?;
            }
            (Some(key), _) => verify_ed25519(key, &payload, signature)?,
            (None, _) => return Err(bad_key()),
        }
        check_timestamp(params, now_ms)?;
    }
    session.authorized_since_ms = Some(now_ms);
    session.api_key = Some(api_key.clone());
    Ok(json!({
        "apiKey": api_key,
        "authorizedSince": now_ms,
        "connectedSince": session.connected_since_ms,
        "returnRateLimits": false,
        "serverTime": now_ms,
        "userDataStream": false,
    }))
}

fn parse_place(st: &mut State, params: &Map<String, Value>) -> Result<PlaceRequest, ApiError> {
    let side = match mandatory(params, "side")? {
        "BUY" => Side::Bid,
        "SELL" => Side::Ask,
        _ => return Err(illegal("side")),
    };
    let order_type = match mandatory(params, "type")? {
        "LIMIT" => OrderType::Limit,
        "LIMIT_MAKER" => OrderType::LimitMaker,
        _ => return Err(ApiError::bad(-1116, "Invalid orderType.")),
    };
    let tif = match (order_type, str_param(params, "timeInForce")) {
        (OrderType::Limit, Some("GTC")) => Tif::Gtc,
        (OrderType::Limit, Some("IOC")) => Tif::Ioc,
        (OrderType::Limit, Some(_)) => return Err(ApiError::bad(-1115, "Invalid timeInForce.")),
        (OrderType::Limit, None) => mandatory(params, "timeInForce").map(|_| Tif::Gtc)?,
        (OrderType::LimitMaker, None) => Tif::Gtc,
        (OrderType::LimitMaker, Some(_)) => {
            return Err(ApiError::bad(
                -1106,
                "Parameter 'timeInForce' sent when not required.",
            ));
        }
    };
    let price_ticks = st
        .spec
        .price
        .steps(mandatory(params, "price")?.as_bytes())
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| ApiError::bad(-1013, "Filter failure: PRICE_FILTER"))?;
    let qty_lots = st
        .spec
        .qty
        .steps(mandatory(params, "quantity")?.as_bytes())
        .ok()
        .filter(|q| *q > 0)
        .ok_or_else(|| ApiError::bad(-1013, "Filter failure: LOT_SIZE"))?;
    let client_order_id = match str_param(params, "newClientOrderId") {
        Some(id) if valid_client_id(id) => id.to_owned(),
        Some(_) => return Err(illegal("newClientOrderId")),
        None => st.generated_client_id(),
    };
    Ok(PlaceRequest {
        client_order_id,
        side,
        order_type,
        tif,
        price_ticks,
        qty_lots,
    })
}

/// One request being answered.
struct Call<'a> {
    method: &'a str,
    params: &'a Map<String, Value>,
    /// Venue time of the answer, Unix ns.
    now_ns: u64,
    /// When the request frame had been read, Unix ns.
    received_ns: u64,
    /// The same moment read from `SystemTime` (for comparisons with other processes).
    received_unix_ns: u64,
}

/// Most cancel receipt times kept per kind.
const MAX_CANCEL_RECEIPTS: usize = 100_000;

fn push_receipt(v: &mut Vec<u64>, unix_ns: u64) {
    if v.len() < MAX_CANCEL_RECEIPTS {
        v.push(unix_ns);
    }
}

/// Runs one method against the venue state.
fn dispatch(
    shared: &Shared,
    conn: &Arc<ConnHandle>,
    session: &mut ApiSession,
    st: &mut State,
    call: &Call<'_>,
) -> Result<Value, ApiError> {
    let Call {
        method,
        params,
        now_ns,
        received_ns,
        received_unix_ns,
    } = *call;
    let now_ms = now_ns / 1_000_000;
    match method {
        "openOrders.cancelAll" => {
            push_receipt(&mut st.record.cancel_all_received_unix_ns, received_unix_ns);
        }
        "order.cancel" => push_receipt(&mut st.record.cancel_received_unix_ns, received_unix_ns),
        _ => {}
    }
    // `userDataStream.*` need a logged-on session (checked below), not a timestamp.
    let signed = !matches!(
        method,
        "time"
            | "ping"
            | "session.logon"
            | "session.status"
            | "userDataStream.subscribe"
            | "userDataStream.unsubscribe"
    );
    if signed && let Err(e) = authorize(shared, session, params, now_ms) {
        if matches!(e.code, -1022 | -2015) {
            st.record.auth_failures += 1;
        }
        return Err(e);
    }
    if matches!(method, "order.place" | "order.cancel") {
        let last = shared.last_frame_written_ns();
        if last > 0 {
            st.add_latency_sample(received_ns.saturating_sub(last));
        }
    }
    match method {
        "time" => Ok(json!({"serverTime": now_ms})),
        "ping" => Ok(json!({})),
        "session.logon" => logon(shared, session, params, now_ms).inspect_err(|e| {
            if matches!(e.code, -1022 | -2015) {
                st.record.auth_failures += 1;
            }
        }),
        "session.status" => Ok(json!({
            "apiKey": session.api_key,
            "authorizedSince": session.authorized_since_ms,
            "connectedSince": session.connected_since_ms,
            "returnRateLimits": false,
            "serverTime": now_ms,
            "userDataStream": st.subscribers.iter().any(|s| s.id == conn.id),
        })),
        "userDataStream.subscribe" => {
            if shared.resolved.api_key.is_some() && session.authorized_since_ms.is_none() {
                // Binance: -2015 unless the session is logged on. A request signed like
                // any other (apiKey, timestamp, signature) is accepted too.
                if params.get("signature").is_none() {
                    return Err(bad_key());
                }
                authorize(shared, session, params, now_ms)?;
            }
            if !st.subscribers.iter().any(|s| s.id == conn.id) {
                st.subscribers.push(Arc::clone(conn));
            }
            Ok(json!({"subscriptionId": 0}))
        }
        "userDataStream.unsubscribe" => {
            st.subscribers.retain(|s| s.id != conn.id);
            Ok(json!({}))
        }
        "order.place" => {
            let symbol = mandatory(params, "symbol")?.to_owned();
            st.check_symbol(&symbol)?;
            let req = parse_place(st, params)?;
            st.place(&symbol, req, now_ns)
        }
        "order.cancel" => {
            let symbol = mandatory(params, "symbol")?.to_owned();
            let orig = str_param(params, "origClientOrderId");
            let order_id = order_id_param(params);
            if orig.is_none() && order_id.is_none() {
                return Err(ApiError::bad(
                    -1102,
                    "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
                ));
            }
            let cancel_id = match str_param(params, "newClientOrderId") {
                Some(id) => id.to_owned(),
                None => st.generated_client_id(),
            };
            st.cancel(&symbol, orig, order_id, cancel_id, now_ns)
        }
        "openOrders.cancelAll" => {
            let symbol = mandatory(params, "symbol")?.to_owned();
            st.cancel_all(&symbol, now_ns)
        }
        "order.status" => {
            let symbol = mandatory(params, "symbol")?;
            st.status(
                symbol,
                str_param(params, "origClientOrderId"),
                order_id_param(params),
            )
        }
        "openOrders.status" => {
            let symbol = mandatory(params, "symbol")?;
            st.open_status(symbol)
        }
        "account.status" => Ok(st.account_status(now_ms)),
        "allOrders" => {
            let symbol = mandatory(params, "symbol")?;
            let window = window_params(params)?;
            st.all_orders(symbol, u64_param(params, "orderId")?, window)
        }
        "myTrades" => {
            let symbol = mandatory(params, "symbol")?;
            let window = window_params(params)?;
            st.my_trades(
                symbol,
                u64_param(params, "orderId")?,
                u64_param(params, "fromId")?,
                window,
            )
        }
        _ => Err(ApiError::bad(-1020, "This operation is not supported.")),
    }
}

/// Handles one text frame from an API connection: the response (and any execution reports)
/// go to the connection queues.
pub fn handle_text(shared: &Shared, conn: &Arc<ConnHandle>, session: &mut ApiSession, text: &str) {
    let received_unix_ns = super::unix_now_ns();
    let received_ns = shared.clock.now_ns();
    let mut st = shared.lock_state();
    st.record.api_requests += 1;
    let request: Value = match serde_json::from_str(text) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            st.record.bad_requests += 1;
            let e = ApiError::bad(-1000, "Malformed request.");
            conn.push(err_json(&Value::Null, &e, Value::Array(Vec::new())));
            return;
        }
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let method = request.get("method").and_then(Value::as_str).unwrap_or("");
    let empty = Map::new();
    let params = match request.get("params") {
        Some(Value::Object(m)) => m,
        None => &empty,
        Some(_) => {
            st.record.bad_requests += 1;
            let e = ApiError::bad(-1000, "Malformed request: 'params' must be an object.");
            conn.push(err_json(&id, &e, Value::Array(Vec::new())));
            return;
        }
    };
    let now_ns = shared.clock.now_ns();
    let now_ms = now_ns / 1_000_000;
    let weight = session.weight.add(now_ms, 60_000, weight_of(method));
    let mut limits = vec![json!({
        "rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
        "limit": WEIGHT_PER_MINUTE, "count": weight,
    })];
    if method == "order.place" {
        let c10 = session.orders_10s.add(now_ms, 10_000, 1);
        let cday = session.orders_day.add(now_ms, 86_400_000, 1);
        limits.push(json!({
            "rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10,
            "limit": ORDERS_PER_10S, "count": c10,
        }));
        limits.push(json!({
            "rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1,
            "limit": ORDERS_PER_DAY, "count": cday,
        }));
    }
    let limits = Value::Array(limits);
    let outcome = if weight > WEIGHT_PER_MINUTE {
        Err(ApiError {
            status: 429,
            code: -1003,
            msg: format!(
                "Too many requests; current limit is {WEIGHT_PER_MINUTE} requests per minute."
            ),
        })
    } else {
        let call = Call {
            method,
            params,
            now_ns,
            received_ns,
            received_unix_ns,
        };
        dispatch(shared, conn, session, &mut st, &call)
    };
    let text = match outcome {
        Ok(result) => {
            json!({"id": id, "status": 200, "result": result, "rateLimits": limits}).to_string()
        }
        Err(e) => err_json(&id, &e, limits),
    };
    conn.push(text);
    st.flush_events();
}

/// Forgets a closed connection's subscription.
pub fn on_close(shared: &Shared, conn: &ConnHandle) {
    shared.lock_state().subscribers.retain(|s| s.id != conn.id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids() {
        assert!(valid_client_id("obi1a2bx17"));
        assert!(!valid_client_id(""));
        assert!(!valid_client_id("a b"));
        assert!(!valid_client_id(&"x".repeat(37)));
    }

    #[test]
    fn windows_reset() {
        let mut w = Window::default();
        assert_eq!(w.add(60_001, 60_000, 2), 2);
        assert_eq!(w.add(60_002, 60_000, 2), 4);
        assert_eq!(w.add(120_000, 60_000, 1), 1);
    }
}
