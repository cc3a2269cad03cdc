//! USD-M start-up reconciliation against a fake futures REST venue on loopback: the venue's
//! position must equal the journal's and no order may be open; a foreign order is cancelled
//! and reported, a different position is reported, a journal with orders it never saw
//! finish is refused. Every call is signed (HMAC over the query, key in the header).

use obi_engine::config::Config;
use obi_engine::instrument::InstrumentId;
use obi_engine::journal::{JournalState, Record, RecordBody};
use obi_engine::order::{Fill, Liquidity, NewOrder, OrderId, TimeInForce};
use obi_engine::units::{Lots, Side, Ticks};
use obi_engine::venue::binance::reconcile::ReconcileError;
use obi_engine::venue::binance::reconcile_usdm::reconcile_usdm;
use obi_engine::venue::binance::sign::hmac_sha256_hex;
use obi_engine::venue::keys::Credentials;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

const KEY: &str = "usdm-test-key";
const SECRET: &str = "usdm-test-secret";

/// What the fake venue holds and what it was asked.
#[derive(Default)]
struct Venue {
    position_amt: String,
    open_client_ids: Vec<String>,
    calls: Vec<(String, String)>,
    bad_signatures: usize,
}

fn serve(venue: Arc<Mutex<Venue>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut api_key = String::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("x-mbx-apikey:") {
                    api_key = v.trim().to_string();
                }
            }
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or("").to_string();
            let target = parts.next().unwrap_or("");
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let (payload, signature) = query.rsplit_once("&signature=").unwrap_or((query, ""));
            let mut v = venue.lock().expect("venue");
            if api_key != KEY.to_ascii_lowercase()
                || signature != hmac_sha256_hex(SECRET.as_bytes(), payload.as_bytes())
            {
                v.bad_signatures += 1;
            }
            v.calls.push((method.clone(), path.to_string()));
            let body = match (method.as_str(), path) {
                ("GET", "/fapi/v1/openOrders") => serde_json::Value::Array(
                    v.open_client_ids
                        .iter()
                        .map(|c| serde_json::json!({"symbol":"ETHUSDT","clientOrderId":c}))
                        .collect(),
                )
                .to_string(),
                ("DELETE", "/fapi/v1/allOpenOrders") => {
                    v.open_client_ids.clear();
                    r#"{"code":200,"msg":"The operation of cancel all open order is done."}"#
                        .to_string()
                }
                ("GET", "/fapi/v2/positionRisk") => serde_json::json!([
                    {"symbol":"ETHUSDT","positionAmt":v.position_amt,"positionSide":"BOTH"}
                ])
                .to_string(),
                _ => r#"{"code":-1000,"msg":"unknown"}"#.to_string(),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

fn config(addr: SocketAddr) -> Config {
    let text = format!(
        r#"
[[instruments]]
symbol = "ETHUSDT"
market = "usdm"
tick_size = "0.01"
lot_size = "0.001"

[venue]
mode = "live"
key_kind = "hmac"
rest_url = "http://{addr}"
stream_url = "ws://{addr}"
ws_api_url = "ws://{addr}/ws-fapi/v1"
"#
    );
    Config::from_toml(&text, std::path::Path::new("engine.toml")).expect("config")
}

/// A journal that bought 0.250 ETH in one order, filled completely.
fn long_250(open_order_left: bool) -> JournalState {
    let eth = InstrumentId(0);
    let order = NewOrder {
        order_id: OrderId(1),
        instrument: eth,
        side: Side::Bid,
        price: Ticks(300_000),
        qty: Lots(if open_order_left { 500 } else { 250 }),
        tif: TimeInForce::Gtc,
        cause_ts_ns: 0,
        reduce_only: false,
    };
    let fill = Fill {
        order_id: OrderId(1),
        instrument: eth,
        side: Side::Bid,
        price: Ticks(300_000),
        qty: Lots(250),
        leaves_qty: Lots(if open_order_left { 250 } else { 0 }),
        fee: 0,
        liquidity: Liquidity::Maker,
        ts_ns: 3,
    };
    let bodies = [
        RecordBody::SessionStart { pid: 7 },
        RecordBody::Instrument {
            id: eth,
            symbol: obi_engine::instrument::Symbol::new("ETHUSDT").expect("symbol"),
        },
        RecordBody::OrderSent(order),
        RecordBody::Accepted {
            order_id: OrderId(1),
            venue_ts_ns: 2,
        },
        RecordBody::Fill(fill),
    ];
    let mut state = JournalState::default();
    for (i, body) in bodies.into_iter().enumerate() {
        state.apply(&Record {
            seq: i as u64 + 1,
            ts_ns: 1_700_000_000_000_000_000 + i as u64,
            body,
        });
    }
    state
}

fn setup(position_amt: &str, open: &[&str]) -> (Arc<Mutex<Venue>>, Config) {
    let venue = Arc::new(Mutex::new(Venue {
        position_amt: position_amt.to_string(),
        open_client_ids: open.iter().map(|s| s.to_string()).collect(),
        ..Venue::default()
    }));
    let addr = serve(Arc::clone(&venue));
    (venue, config(addr))
}

fn creds() -> Credentials {
    Credentials::from_hmac(KEY, SECRET.as_bytes())
}

#[test]
fn a_matching_position_and_no_orders_reconcile_cleanly() {
    let (venue, cfg) = setup("0.250", &[]);
    let r = reconcile_usdm(&cfg.venue, &cfg.instruments, &long_250(false), &creds())
        .expect("reconciles");
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
    assert_eq!(r.cancelled, 0);
    let v = venue.lock().unwrap();
    assert_eq!(v.bad_signatures, 0);
    assert_eq!(
        v.calls,
        [
            ("GET".to_string(), "/fapi/v1/openOrders".to_string()),
            ("GET".to_string(), "/fapi/v2/positionRisk".to_string()),
        ]
    );
}

#[test]
fn a_different_position_is_a_mismatch() {
    let (_, cfg) = setup("-0.100", &[]);
    let r = reconcile_usdm(&cfg.venue, &cfg.instruments, &long_250(false), &creds())
        .expect("reconciles");
    assert_eq!(r.mismatches.len(), 1, "{:?}", r.mismatches);
    assert!(
        r.mismatches[0].contains("250") && r.mismatches[0].contains("-100"),
        "{:?}",
        r.mismatches
    );
}

#[test]
fn a_foreign_order_is_cancelled_and_a_mismatch() {
    let (venue, cfg) = setup("0.250", &["web_manual_1"]);
    let r = reconcile_usdm(&cfg.venue, &cfg.instruments, &long_250(false), &creds())
        .expect("reconciles");
    assert_eq!(r.cancelled, 1);
    assert!(
        r.mismatches.len() == 1 && r.mismatches[0].contains("web_manual_1"),
        "{:?}",
        r.mismatches
    );
    let v = venue.lock().unwrap();
    assert!(v.open_client_ids.is_empty(), "cancel-all was not sent");
    assert!(
        v.calls
            .iter()
            .any(|(m, p)| m == "DELETE" && p == "/fapi/v1/allOpenOrders")
    );
}

#[test]
fn orders_the_journal_never_saw_finish_are_refused_without_asking() {
    let (venue, cfg) = setup("0.250", &[]);
    let e = reconcile_usdm(&cfg.venue, &cfg.instruments, &long_250(true), &creds())
        .expect_err("open orders in the journal");
    assert!(matches!(e, ReconcileError::Unsupported(_)), "{e}");
    assert!(e.to_string().contains("1 USD-M order"), "{e}");
    assert!(venue.lock().unwrap().calls.is_empty());
}

#[test]
fn an_unreachable_venue_is_an_error() {
    // A port that was just free: nothing listens there.
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let cfg = config(dead);
    let e = reconcile_usdm(&cfg.venue, &cfg.instruments, &long_250(false), &creds())
        .expect_err("nobody listens");
    assert!(matches!(e, ReconcileError::Rest(_)), "{e}");
}
