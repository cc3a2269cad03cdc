//! Start-up reconciliation with the venue on USD-M futures, over signed REST: before a live
//! run trades, the venue must hold exactly the position the journal holds and no order.
//!
//! Per configured symbol:
//! 1. `GET /fapi/v1/openOrders`: with no order open in the journal, every order the venue
//!    lists was placed by someone else — a mismatch; they are cancelled
//!    (`DELETE /fapi/v1/allOpenOrders`) so nothing fills while an operator looks.
//! 2. `GET /fapi/v2/positionRisk`: the sum of `positionAmt` (one entry in one-way mode,
//!    `LONG` and `SHORT` in hedge mode) must equal the journal's position; anything else is a
//!    mismatch.
//!
//! What this does not do (unlike spot): ask the venue what happened to orders the journal
//! still holds open — USD-M order and trade history is not queried. A journal with open
//! orders (the engine died with orders working) is an error here, so the engine starts
//! halted and the operator checks the account by hand.

use super::reconcile::{ReconcileError, Reconciled};
use super::rest::{RestClient, RestError};
use super::session::now_ms;
use crate::config::VenueConfig;
use crate::instrument::{InstrumentSpec, Instruments};
use crate::journal::JournalState;
use crate::venue::keys::Credentials;
use serde_json::Value;
use std::time::Duration;

/// Reconciles `state` with the USD-M venue for `instruments` (see the module docs).
pub fn reconcile_usdm(
    venue: &VenueConfig,
    instruments: &Instruments,
    state: &JournalState,
    creds: &Credentials,
) -> Result<Reconciled, ReconcileError> {
    if !state.open_orders.is_empty() {
        return Err(ReconcileError::Unsupported(format!(
            "the journal holds {} USD-M order(s) whose outcome it never saw (the engine stopped \
             with them working) and obi does not query USD-M order history: check the \
             account's orders and positions in the venue's UI, then reset",
            state.open_orders.len()
        )));
    }
    let timeout = Duration::from_millis(venue.section.connect_timeout_ms.max(1000));
    let mut rest = RestClient::new(&venue.rest, venue.section.recv_window_ms, timeout);
    let plan = state.restore_plan(instruments);
    let mut out = Reconciled::default();
    for (id, spec) in instruments.iter() {
        let journal_lots = plan
            .positions
            .iter()
            .find(|(i, _)| *i == id)
            .map_or(0, |(_, p)| p.qty_lots);
        check_symbol(&mut rest, creds, spec, journal_lots, &mut out)?;
    }
    Ok(out)
}

fn check_symbol(
    rest: &mut RestClient,
    creds: &Credentials,
    spec: &InstrumentSpec,
    journal_lots: i64,
    out: &mut Reconciled,
) -> Result<(), RestError> {
    let symbol = spec.symbol.as_str();
    let open = rest.open_orders(symbol, now_ms(), creds)?;
    let open = open.as_array().map(Vec::as_slice).unwrap_or_default();
    for order in open {
        let client_id = order["clientOrderId"].as_str().unwrap_or("");
        out.mismatches.push(format!(
            "{symbol}: open order {client_id:?} at the venue was not placed by this engine (cancelled)"
        ));
    }
    if !open.is_empty() {
        rest.cancel_all(symbol, now_ms(), creds)?;
        out.cancelled += open.len();
    }
    let positions = rest.position_risk(symbol, now_ms(), creds)?;
    match venue_position_lots(&positions, spec) {
        Some(venue_lots) if venue_lots == journal_lots => {}
        Some(venue_lots) => out.mismatches.push(format!(
            "{symbol}: the journal holds a position of {journal_lots} lots, the venue {venue_lots}"
        )),
        None => out.mismatches.push(format!(
            "{symbol}: unreadable position answer from the venue"
        )),
    }
    Ok(())
}

/// The net `positionAmt` of `spec`'s symbol in a positionRisk answer, in lots; `None` when
/// an entry cannot be read or is off the lot grid.
fn venue_position_lots(answer: &Value, spec: &InstrumentSpec) -> Option<i64> {
    let mut total = 0i64;
    for entry in answer.as_array()? {
        if entry["symbol"].as_str() != Some(spec.symbol.as_str()) {
            continue;
        }
        let lots = spec
            .qty
            .steps(entry["positionAmt"].as_str()?.as_bytes())
            .ok()?;
        total = total.checked_add(lots)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instrument::{Market, Scale, Symbol};
    use serde_json::json;

    fn eth() -> InstrumentSpec {
        InstrumentSpec {
            symbol: Symbol::new("ETHUSDT").unwrap(),
            market: Market::UsdM,
            price: Scale::unit(2),
            qty: Scale::unit(3),
        }
    }

    #[test]
    fn net_position_of_the_symbol_in_lots() {
        let one_way = json!([{"symbol":"ETHUSDT","positionAmt":"-0.250","positionSide":"BOTH"}]);
        assert_eq!(venue_position_lots(&one_way, &eth()), Some(-250));
        let hedge = json!([
            {"symbol":"ETHUSDT","positionAmt":"1.000","positionSide":"LONG"},
            {"symbol":"ETHUSDT","positionAmt":"-0.400","positionSide":"SHORT"},
            {"symbol":"BTCUSDT","positionAmt":"9.000","positionSide":"BOTH"}
        ]);
        assert_eq!(venue_position_lots(&hedge, &eth()), Some(600));
        assert_eq!(venue_position_lots(&json!([]), &eth()), Some(0));
        let bad = json!([{"symbol":"ETHUSDT","positionAmt":"abc"}]);
        assert_eq!(venue_position_lots(&bad, &eth()), None);
        let off_grid = json!([{"symbol":"ETHUSDT","positionAmt":"0.0001"}]);
        assert_eq!(venue_position_lots(&off_grid, &eth()), None);
        assert_eq!(venue_position_lots(&json!({"code":-1}), &eth()), None);
    }
}
