//! Start-up reconciliation with the venue (spot): before a live run trades, every order of
//! the runs the journal has not reconciled yet is compared with the venue's own record, so
//! nothing filled while the engine was down (or whose journal records died with a crash)
//! is lost, and nothing is counted twice.
//!
//! Steps, per configured symbol, on one blocking WebSocket API session:
//! 1. `openOrders.cancelAll`: nothing rests at the venue any more, so nothing fills while
//!    we look (the new run starts with no working orders either way).
//! 2. `allOrders` from the oldest unreconciled run's start: the final state of every order.
//! 3. Each order whose client id carries an unreconciled run's prefix is ours. Its venue
//!    `executedQty` minus the fills the journal holds for it is what the journal missed;
//!    `myTrades` of that order gives those fills' prices and commissions (trades the
//!    journal holds are skipped oldest first). An order with an id above the highest the
//!    journal saw sent in its run is one whose records were lost: all its trades are new.
//! 4. Anything else — an order that is not ours, cancelled by step 1 or placed inside the
//!    window — and a journal holding more fills than the venue are mismatches: the engine
//!    starts halted.
//!
//! Balances are not compared: the journal books fills, not deposits, and the account may
//! hold other assets. Orders of runs reconciled earlier are not queried again. USD-M:
//! [`super::reconcile_usdm`] (positions and open orders, over REST).

use super::client_id::ClientIds;
use super::fees;
use super::session::{BlockingSession, SessionError};
use super::ws_api::{ALL_ORDERS_PAGE, Flavor};
use crate::config::VenueConfig;
use crate::instrument::{InstrumentId, InstrumentSpec, Instruments, Market};
use crate::journal::{JournalState, OpenOrder, UnreconciledRun};
use crate::order::{Fill, Liquidity, OrderId};
use crate::units::{Lots, Side, Ticks};
use crate::venue::keys::Credentials;
use serde_json::Value;
use std::time::Duration;

/// Binance's answer to `openOrders.cancelAll` when nothing is open.
const NO_OPEN_ORDERS: i64 = -2011;
/// Commission rate assumed when a commission cannot be valued exactly, bps.
const FALLBACK_FEE_BPS: f64 = 7.5;
/// Look this far before a run's start for its orders (the venue's clock may be behind
/// ours), ms. Orders not ours inside this slack are not called foreign: they may belong to
/// a run reconciled earlier.
const WINDOW_SLACK_MS: i64 = 5_000;

/// What reconciliation found and did.
#[derive(Debug, Default)]
pub struct Reconciled {
    /// Fills the journal missed, in venue order: journal and book them.
    pub fills: Vec<Fill>,
    /// What does not add up (non-empty: start halted).
    pub mismatches: Vec<String>,
    /// Open orders cancelled at the venue.
    pub cancelled: usize,
    /// Our orders compared with the venue.
    pub orders_checked: usize,
    /// Fee values that had to be approximated.
    pub fees_approximated: usize,
}

impl Reconciled {
    /// One line for the operator.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "reconciled with the venue: {} orders checked, {} fills the journal missed, {} open orders cancelled",
            self.orders_checked,
            self.fills.len(),
            self.cancelled
        );
        if !self.mismatches.is_empty() {
            s.push_str(&format!("; MISMATCH: {}", self.mismatches.join("; ")));
        }
        s
    }
}

/// Why reconciliation could not run (the engine starts halted; nothing is marked
/// reconciled, so the next start tries again).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The key could not be loaded.
    #[error("order API key: {0}")]
    Keys(String),
    /// The venue could not be asked or answered unexpectedly.
    #[error("{0}")]
    Session(#[from] SessionError),
    /// A REST call (USD-M) failed.
    #[error("{0}")]
    Rest(#[from] super::rest::RestError),
    /// This venue flavor has no reconciliation here.
    #[error("{0}")]
    Unsupported(String),
}

/// The unreconciled runs, with their client-id schemes.
struct Runs<'a> {
    runs: Vec<(&'a UnreconciledRun, ClientIds)>,
}

impl<'a> Runs<'a> {
    fn new(state: &'a JournalState) -> Runs<'a> {
        Runs {
            runs: state
                .unreconciled
                .iter()
                .map(|r| (r, ClientIds::new(r.start_ns / 1_000_000_000)))
                .collect(),
        }
    }

    /// The run and engine order id of a client order id, if it is one of ours.
    fn owner(&self, client_id: &str) -> Option<(&'a UnreconciledRun, OrderId)> {
        self.runs
            .iter()
            .find_map(|(run, ids)| ids.parse(client_id).map(|id| (*run, id)))
    }

    /// Start of the oldest unreconciled run, Unix ms.
    fn oldest_start_ms(&self) -> Option<i64> {
        self.runs
            .iter()
            .map(|(r, _)| (r.start_ns / 1_000_000) as i64)
            .min()
    }
}

/// Whether the journal has anything a venue would need to confirm.
pub fn needed(state: &JournalState) -> bool {
    !state.open_orders.is_empty() || state.unreconciled.iter().any(|r| r.max_order_id > 0)
}

/// Reconciles `state` with the venue for `instruments` (see the module docs).
pub fn reconcile(
    venue: &VenueConfig,
    instruments: &Instruments,
    state: &JournalState,
) -> Result<Reconciled, ReconcileError> {
    let creds =
        Credentials::load(&venue.key_source()).map_err(|e| ReconcileError::Keys(e.to_string()))?;
    match venue.market {
        Market::Spot => {}
        Market::UsdM => {
            return super::reconcile_usdm::reconcile_usdm(venue, instruments, state, &creds);
        }
        Market::CoinM => {
            return Err(ReconcileError::Unsupported(
                "start-up reconciliation is implemented for spot and USD-M only: inspect the COIN-M account's orders and positions by hand"
                    .into(),
            ));
        }
    }
    let timeout = Duration::from_millis(venue.section.connect_timeout_ms.max(1000));
    let mut session = BlockingSession::connect(
        &venue.ws_api,
        Flavor::Spot,
        venue.section.recv_window_ms,
        creds,
        timeout,
    )?;
    let runs = Runs::new(state);
    let mut out = Reconciled::default();
    for (id, spec) in instruments.iter() {
        reconcile_symbol(&mut session, &runs, state, id, spec, &mut out)?;
    }
    session.close();
    for o in &state.open_orders {
        if instruments.lookup(o.symbol.as_bytes()).is_none() {
            out.mismatches.push(format!(
                "order {} of run {} on {} is not in this config: cannot ask the venue",
                o.order_id, o.session, o.symbol
            ));
        }
    }
    Ok(out)
}

fn reconcile_symbol(
    session: &mut BlockingSession,
    runs: &Runs<'_>,
    state: &JournalState,
    id: InstrumentId,
    spec: &InstrumentSpec,
    out: &mut Reconciled,
) -> Result<(), ReconcileError> {
    let symbol = spec.symbol.as_str();
    // 1. Nothing may fill while we look.
    let cancelled = match session.request("openOrders.cancelAll", &mut |w, rid, auth, ts, c| {
        w.cancel_all(rid, auth, ts, spec, c)
    }) {
        Ok(v) => v.as_array().cloned().unwrap_or_default(),
        Err(e) if e.venue_code() == Some(NO_OPEN_ORDERS) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    out.cancelled += cancelled.len();
    for order in &cancelled {
        let client_id = str_field(order, "origClientOrderId")
            .or_else(|| str_field(order, "clientOrderId"))
            .unwrap_or("");
        if runs.owner(client_id).is_none() {
            out.mismatches.push(format!(
                "{symbol}: open order {client_id:?} at the venue was not placed by this engine (cancelled)"
            ));
        }
    }
    // 2. Every order since the oldest unreconciled run.
    let Some(oldest_ms) = runs.oldest_start_ms() else {
        return Ok(());
    };
    let mut start_ms = oldest_ms - WINDOW_SLACK_MS;
    let mut seen: Vec<u64> = Vec::new();
    loop {
        let page = session.request("allOrders", &mut |w, rid, auth, ts, c| {
            w.all_orders(rid, auth, ts, spec, start_ms, c)
        })?;
        let orders = page.as_array().cloned().unwrap_or_default();
        let full = orders.len() >= usize::from(ALL_ORDERS_PAGE);
        for order in &orders {
            let venue_id = u64_field(order, "orderId");
            if seen.contains(&venue_id) {
                continue;
            }
            seen.push(venue_id);
            start_ms = start_ms.max(i64_field(order, "time"));
            check_order(session, runs, state, (id, spec), order, oldest_ms, out)?;
        }
        if !full {
            return Ok(());
        }
    }
}

/// 3. and 4. for one order of the venue's list.
fn check_order(
    session: &mut BlockingSession,
    runs: &Runs<'_>,
    state: &JournalState,
    (id, spec): (InstrumentId, &InstrumentSpec),
    order: &Value,
    oldest_ms: i64,
    out: &mut Reconciled,
) -> Result<(), ReconcileError> {
    let symbol = spec.symbol.as_str();
    let client_id = str_field(order, "clientOrderId").unwrap_or("");
    let Some((run, order_id)) = runs.owner(client_id) else {
        if i64_field(order, "time") < oldest_ms {
            // In the slack before the oldest run: an earlier, reconciled run's, or older.
            return Ok(());
        }
        out.mismatches.push(format!(
            "{symbol}: order {client_id:?} (venue id {}) was placed by someone else while obi was responsible for this account",
            u64_field(order, "orderId")
        ));
        return Ok(());
    };
    out.orders_checked += 1;
    let executed = match str_field(order, "executedQty").map(|t| spec.qty.steps(t.as_bytes())) {
        Some(Ok(lots)) => lots,
        _ => {
            out.mismatches.push(format!(
                "{symbol}: order {client_id}: unreadable executedQty"
            ));
            return Ok(());
        }
    };
    let journal: Option<&OpenOrder> = state
        .open_orders
        .iter()
        .find(|o| o.session == run.session && o.order_id == order_id.0);
    let journaled_lots = match journal {
        Some(o) => o.filled_lots,
        None if order_id.0 > run.max_order_id => 0,
        // The journal saw this order finish: its fills came in order before that.
        None => return Ok(()),
    };
    if executed < journaled_lots {
        out.mismatches.push(format!(
            "{symbol}: order {client_id}: the journal holds {journaled_lots} lots of fills, the venue {executed}"
        ));
        return Ok(());
    }
    if executed == journaled_lots {
        return Ok(());
    }
    let venue_id = u64_field(order, "orderId");
    let trades = session.request("myTrades", &mut |w, rid, auth, ts, c| {
        w.my_trades(rid, auth, ts, spec, venue_id, c)
    })?;
    let side = match str_field(order, "side") {
        Some("BUY") => Side::Bid,
        Some("SELL") => Side::Ask,
        other => {
            out.mismatches.push(format!(
                "{symbol}: order {client_id}: unknown side {other:?}"
            ));
            return Ok(());
        }
    };
    let mut skip_lots = journaled_lots;
    let mut booked = 0i64;
    for trade in trades.as_array().map(Vec::as_slice).unwrap_or_default() {
        let (Some(Ok(price)), Some(Ok(qty))) = (
            str_field(trade, "price").map(|t| spec.price.steps(t.as_bytes())),
            str_field(trade, "qty").map(|t| spec.qty.steps(t.as_bytes())),
        ) else {
            out.mismatches
                .push(format!("{symbol}: order {client_id}: unreadable trade"));
            continue;
        };
        if skip_lots >= qty {
            skip_lots -= qty;
            continue;
        }
        let new_lots = qty - skip_lots;
        let (full_fee, kind) = fees::commission_notional(
            spec,
            str_field(trade, "commission"),
            str_field(trade, "commissionAsset"),
            Ticks(price),
            Lots(qty),
            FALLBACK_FEE_BPS,
        );
        let fee = if new_lots == qty {
            full_fee
        } else {
            out.fees_approximated += 1;
            full_fee * i128::from(new_lots) / i128::from(qty)
        };
        if kind == fees::FeeKind::Approximated {
            out.fees_approximated += 1;
        }
        skip_lots = 0;
        booked += new_lots;
        out.fills.push(Fill {
            order_id,
            instrument: id,
            side,
            price: Ticks(price),
            qty: Lots(new_lots),
            leaves_qty: Lots(0),
            fee,
            liquidity: if trade["isMaker"].as_bool() == Some(true) {
                Liquidity::Maker
            } else {
                Liquidity::Taker
            },
            ts_ns: u64_field(trade, "time").saturating_mul(1_000_000),
        });
    }
    if journaled_lots + booked != executed {
        out.mismatches.push(format!(
            "{symbol}: order {client_id}: trades add up to {} lots, executedQty says {executed}",
            journaled_lots + booked
        ));
    }
    Ok(())
}

fn str_field<'v>(v: &'v Value, name: &str) -> Option<&'v str> {
    v[name].as_str()
}

fn u64_field(v: &Value, name: &str) -> u64 {
    v[name].as_u64().unwrap_or(0)
}

fn i64_field(v: &Value, name: &str) -> i64 {
    v[name].as_i64().unwrap_or(0)
}
