//! The simulated account: base and quote balances (moved by fills and fees, locked by resting
//! orders) and the `allOrders` / `myTrades` query windows, as Binance's account endpoints
//! show them.

use obi_engine::instrument::InstrumentSpec;
use obi_engine::units::Side;
use serde_json::{Value, json};

use super::venue::ApiError;

/// Balances are held in units of `10^-BALANCE_DECIMALS` of an asset (Binance shows 8).
pub const BALANCE_DECIMALS: u8 = 8;

/// `limit` of `allOrders` / `myTrades` when none is sent.
pub const DEFAULT_LIMIT: usize = 500;
/// Largest `limit` Binance accepts there.
pub const MAX_LIMIT: usize = 1_000;
/// Widest `startTime`..`endTime` window Binance accepts, ms (24 h).
pub const MAX_WINDOW_MS: u64 = 86_400_000;

fn pow10(n: u32) -> i128 {
    10i128.pow(n)
}

/// Converts `value * step_units * 10^-decimals` into balance units (truncating below
/// `10^-8`, which only grids finer than 8 decimals in total can produce).
fn to_balance_units(value: i128, step_units: i128, decimals: u32) -> i128 {
    let d = u32::from(BALANCE_DECIMALS);
    let v = value * step_units;
    if decimals <= d {
        v * pow10(d - decimals)
    } else {
        v / pow10(decimals - d)
    }
}

/// The account's two balances (the instrument's base and quote assets).
#[derive(Clone, Debug)]
pub struct Account {
    /// Base asset name (`ETH` of `ETHUSDT`).
    pub base_asset: String,
    /// Quote asset name (also the commission asset).
    pub quote_asset: String,
    /// Total base balance (free + locked), balance units.
    pub base_units: i128,
    /// Total quote balance (free + locked), balance units.
    pub quote_units: i128,
    spec: InstrumentSpec,
}

impl Account {
    /// An account for `spec` holding the starting balances (balance units). The base asset is
    /// the symbol without its quote-asset suffix (`BASE` when the symbol has no such suffix).
    pub fn new(
        spec: InstrumentSpec,
        quote_asset: &str,
        base_units: i128,
        quote_units: i128,
    ) -> Account {
        let base_asset = spec
            .symbol
            .as_str()
            .strip_suffix(quote_asset)
            .filter(|b| !b.is_empty())
            .unwrap_or("BASE")
            .to_owned();
        Account {
            base_asset,
            quote_asset: quote_asset.to_owned(),
            base_units,
            quote_units,
            spec,
        }
    }

    /// `lots` of the instrument in base balance units.
    pub fn lots_units(&self, lots: i64) -> i128 {
        let q = self.spec.qty;
        to_balance_units(
            i128::from(lots),
            i128::from(q.step_units),
            u32::from(q.decimals),
        )
    }

    /// A notional (ticks × lots) in quote balance units.
    pub fn notional_units(&self, notional: i128) -> i128 {
        let (p, q) = (self.spec.price, self.spec.qty);
        to_balance_units(
            notional,
            i128::from(p.step_units) * i128::from(q.step_units),
            u32::from(p.decimals) + u32::from(q.decimals),
        )
    }

    /// One fill: the base asset moves by the quantity, the quote asset by the notional, the
    /// fee (notional units, quote asset; negative = rebate) is paid from the quote asset.
    pub fn on_fill(&mut self, side: Side, price_ticks: i64, qty_lots: i64, fee_notional: i128) {
        let base = self.lots_units(qty_lots);
        let quote = self.notional_units(i128::from(price_ticks) * i128::from(qty_lots));
        let fee = self.notional_units(fee_notional);
        match side {
            Side::Bid => {
                self.base_units += base;
                self.quote_units -= quote;
            }
            Side::Ask => {
                self.base_units -= base;
                self.quote_units += quote;
            }
        }
        self.quote_units -= fee;
    }

    /// The `balances` array: free = total − locked, per asset.
    pub fn balances_json(&self, base_locked: i128, quote_locked: i128) -> Value {
        let text = |v: i128| {
            let mut s = String::with_capacity(24);
            let _ = obi_engine::decimal::write_scaled(&mut s, v, BALANCE_DECIMALS);
            s
        };
        json!([
            {
                "asset": self.base_asset,
                "free": text(self.base_units - base_locked),
                "locked": text(base_locked),
            },
            {
                "asset": self.quote_asset,
                "free": text(self.quote_units - quote_locked),
                "locked": text(quote_locked),
            },
        ])
    }
}

/// Parses a starting balance (decimal text, at most 8 decimals, not negative).
pub fn parse_balance(text: &str) -> Option<i128> {
    obi_engine::decimal::parse_scaled(text.trim().as_bytes(), BALANCE_DECIMALS)
        .ok()
        .filter(|v| *v >= 0)
        .map(i128::from)
}

/// The `startTime` / `endTime` / `limit` part of a history query, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryWindow {
    /// Earliest time included, Unix ms.
    pub start_ms: Option<u64>,
    /// Latest time included, Unix ms.
    pub end_ms: Option<u64>,
    /// Most rows returned.
    pub limit: usize,
}

impl QueryWindow {
    /// Checks the window as Binance does: `limit` in 1..=1000 (default 500), `startTime` not
    /// after `endTime`, and at most 24 h between them.
    pub fn new(
        start_ms: Option<u64>,
        end_ms: Option<u64>,
        limit: Option<u64>,
    ) -> Result<QueryWindow, ApiError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(l) if (1..=MAX_LIMIT as u64).contains(&l) => l as usize,
            Some(_) => {
                return Err(ApiError::bad(
                    -1130,
                    "Invalid data sent for a parameter: limit must be in [1, 1000].",
                ));
            }
        };
        if let (Some(s), Some(e)) = (start_ms, end_ms) {
            if s > e {
                return Err(ApiError::bad(
                    -1127,
                    "startTime must be less than or equal to endTime.",
                ));
            }
            if e - s > MAX_WINDOW_MS {
                return Err(ApiError::bad(
                    -1127,
                    "More than 24 hours between startTime and endTime.",
                ));
            }
        }
        Ok(QueryWindow {
            start_ms,
            end_ms,
            limit,
        })
    }

    /// True when `t_ms` lies in the window.
    pub fn contains(&self, t_ms: u64) -> bool {
        self.start_ms.is_none_or(|s| t_ms >= s) && self.end_ms.is_none_or(|e| t_ms <= e)
    }

    /// Keeps at most `limit` of `rows` (oldest first): the oldest ones when the query names a
    /// starting point (`from_start`), else the most recent ones, as Binance does.
    pub fn take<T>(&self, mut rows: Vec<T>, from_start: bool) -> Vec<T> {
        if rows.len() > self.limit {
            if from_start {
                rows.truncate(self.limit);
            } else {
                rows.drain(..rows.len() - self.limit);
            }
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use obi_engine::instrument::{Market, Scale, Symbol};

    fn spec() -> InstrumentSpec {
        InstrumentSpec {
            symbol: Symbol::new("ETHUSDT").unwrap(),
            market: Market::Spot,
            price: Scale::from_step_text("0.01").unwrap(),
            qty: Scale::from_step_text("0.001").unwrap(),
        }
    }

    #[test]
    fn fills_move_balances() {
        let mut a = Account::new(
            spec(),
            "USDT",
            parse_balance("1").unwrap(),
            parse_balance("100000").unwrap(),
        );
        assert_eq!(a.base_asset, "ETH");
        // Buy 0.010 at 2500.00, fee 0.0025 USDT (250000 ticks * 10 lots = 2.5e6 notional).
        a.on_fill(Side::Bid, 250_000, 10, 250);
        assert_eq!(a.base_units, parse_balance("1.01").unwrap());
        assert_eq!(a.quote_units, parse_balance("99974.9975").unwrap());
        a.on_fill(Side::Ask, 250_100, 10, -250);
        assert_eq!(a.base_units, parse_balance("1").unwrap());
        assert_eq!(a.quote_units, parse_balance("100000.0100").unwrap());
        let b = a.balances_json(0, parse_balance("25").unwrap());
        assert_eq!(b[1]["free"], "99975.01000000");
        assert_eq!(b[1]["locked"], "25.00000000");
    }

    #[test]
    fn windows() {
        assert_eq!(
            QueryWindow::new(None, None, None).unwrap().limit,
            DEFAULT_LIMIT
        );
        assert!(QueryWindow::new(None, None, Some(0)).is_err());
        assert!(QueryWindow::new(None, None, Some(1001)).is_err());
        assert!(QueryWindow::new(Some(5), Some(4), None).is_err());
        assert!(QueryWindow::new(Some(0), Some(MAX_WINDOW_MS + 1), None).is_err());
        let w = QueryWindow::new(Some(10), Some(20), Some(2)).unwrap();
        assert!(w.contains(10) && w.contains(20) && !w.contains(21));
        assert_eq!(w.take(vec![1, 2, 3], true), vec![1, 2]);
        assert_eq!(w.take(vec![1, 2, 3], false), vec![2, 3]);
    }
}
