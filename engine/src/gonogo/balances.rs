//! Check: free balances cover what the configuration will use. The quote need is the
//! larger of the breakers' `capital_quote` (their percentages are of that money: less in
//! the account makes every loss limit looser than written) and the notional of the
//! strategy's entries that can be open at once (`order_qty_lots` at the best ask, for the
//! `max_open_positions` largest instruments); `--min-quote` replaces it. Spot shorts need
//! the base asset (a warning only: longs still work).

use super::money::{notional_micros, show, to_micros};
use super::verdict::Check;
use crate::config::Config;
use crate::instrument::Market;
use serde_json::Value;

const ID: &str = "balances";

/// The quote asset of a symbol (`ETHUSDT` → `USDT`): the fee code's rule, one list.
pub use crate::venue::binance::fees::quote_asset;

/// One asset's free balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Balance {
    /// Asset, e.g. `USDT`.
    pub asset: String,
    /// Free (not locked) amount, millionths.
    pub free_micros: i128,
}

/// What `account.status` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// `canTrade`, when sent.
    pub can_trade: Option<bool>,
    /// Balances.
    pub balances: Vec<Balance>,
}

impl Account {
    /// Free amount of `asset` (0 when not listed).
    pub fn free_micros(&self, asset: &str) -> i128 {
        self.balances
            .iter()
            .filter(|b| b.asset == asset)
            .map(|b| b.free_micros)
            .sum()
    }
}

/// Parses an `account.status` result (`balances: [{asset, free, locked}]`, `canTrade`).
pub fn parse_account(v: &Value) -> Result<Account, String> {
    let list = v
        .get("balances")
        .and_then(Value::as_array)
        .ok_or("account.status has no balances list")?;
    let mut balances = Vec::with_capacity(list.len());
    for b in list {
        let asset = b
            .get("asset")
            .and_then(Value::as_str)
            .ok_or("a balance has no asset")?;
        let free = b
            .get("free")
            .and_then(Value::as_str)
            .ok_or("a balance has no free")?;
        let free_micros = to_micros(free)
            .ok_or_else(|| format!("balance of {asset}: {free:?} is not a number"))?;
        balances.push(Balance {
            asset: asset.to_string(),
            free_micros,
        });
    }
    Ok(Account {
        can_trade: v.get("canTrade").and_then(Value::as_bool),
        balances,
    })
}

/// An amount the account must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    /// Asset.
    pub asset: String,
    /// Amount, millionths.
    pub micros: i128,
    /// How it was derived.
    pub why: String,
    /// Below it is a failure (else a warning).
    pub hard: bool,
}

/// What the config needs, given each instrument's best ask as decimal text (`None`: no
/// price, that instrument's entry size is left out and said so in the notes).
/// `min_quote_micros` replaces the derived quote need.
pub fn needs(
    cfg: &Config,
    best_asks: &[Option<String>],
    min_quote_micros: Option<i128>,
) -> (Vec<Need>, Vec<String>) {
    let mut notes = Vec::new();
    // (quote asset, entry notionals)
    let mut per_quote: Vec<(&'static str, Vec<i128>)> = Vec::new();
    let mut base_needs = Vec::new();
    let qty_lots = i128::from(cfg.strategy.order_qty_lots);
    for (i, (_, spec)) in cfg.instruments.iter().enumerate() {
        let symbol = spec.symbol.as_str();
        let Some(quote) = quote_asset(symbol) else {
            notes.push(format!("quote asset of {symbol} unknown"));
            continue;
        };
        let slot = match per_quote.iter().position(|(q, _)| *q == quote) {
            Some(i) => i,
            None => {
                per_quote.push((quote, Vec::new()));
                per_quote.len() - 1
            }
        };
        let qty_units = qty_lots * i128::from(spec.qty.step_units);
        match best_asks.get(i).and_then(Option::as_deref) {
            Some(ask) => match notional_micros(qty_units, spec.qty.decimals, ask) {
                Some(n) => per_quote[slot].1.push(n),
                None => notes.push(format!("{symbol}: price {ask:?} unusable")),
            },
            None => notes.push(format!("{symbol}: no price, entry size not counted")),
        }
        if spec.market == Market::Spot && cfg.strategy.allow_short {
            let base = &symbol[..symbol.len() - quote.len()];
            let micros = qty_units * 1_000_000 / 10i128.pow(u32::from(spec.qty.decimals));
            base_needs.push(Need {
                asset: base.to_string(),
                micros,
                why: format!(
                    "allow_short: a {symbol} short sells {} {base}",
                    show(micros)
                ),
                hard: false,
            });
        }
    }
    let max_positions =
        usize::try_from(cfg.safety.breakers.max_open_positions).unwrap_or(usize::MAX);
    let capital = i128::from(cfg.safety.breakers.capital_quote) * 1_000_000;
    let mut out = Vec::new();
    for (n, (quote, mut entries)) in per_quote.into_iter().enumerate() {
        entries.sort_unstable_by(|a, b| b.cmp(a));
        let k = entries.len().min(max_positions);
        let open: i128 = entries.iter().take(k).sum();
        let need = match min_quote_micros {
            Some(m) => Need {
                asset: quote.to_string(),
                micros: m,
                why: "--min-quote".to_string(),
                hard: true,
            },
            None if n == 0 => Need {
                asset: quote.to_string(),
                micros: capital.max(open),
                why: format!(
                    "max of breaker capital_quote {} and {k} open entries {}",
                    cfg.safety.breakers.capital_quote,
                    show(open)
                ),
                hard: true,
            },
            None => Need {
                asset: quote.to_string(),
                micros: open,
                why: format!("{k} open entries"),
                hard: true,
            },
        };
        out.push(need);
    }
    out.extend(base_needs);
    (out, notes)
}

/// FAIL when the account cannot trade or a hard need is not covered; WARN for a soft need
/// not covered or anything that could not be derived; else PASS.
pub fn judge(account: &Account, needs: &[Need], notes: &[String]) -> Check {
    if account.can_trade == Some(false) {
        return Check::fail(ID, "the account reports canTrade = false");
    }
    let mut short = Vec::new();
    let mut soft_short = Vec::new();
    let mut ok = Vec::new();
    for n in needs {
        let free = account.free_micros(&n.asset);
        let line = format!(
            "{} free {} {} need {} ({})",
            n.asset,
            show(free),
            if free >= n.micros { ">=" } else { "<" },
            show(n.micros),
            n.why
        );
        match (free >= n.micros, n.hard) {
            (true, _) => ok.push(line),
            (false, true) => short.push(line),
            (false, false) => soft_short.push(line),
        }
    }
    if needs.is_empty() {
        return Check::warn(ID, format!("nothing to compare: {}", notes.join("; ")));
    }
    let mut parts: Vec<String> = short
        .iter()
        .chain(&soft_short)
        .chain(&ok)
        .cloned()
        .collect();
    parts.extend(notes.iter().cloned());
    let text = parts.join("; ");
    if !short.is_empty() {
        Check::fail(ID, text)
    } else if !soft_short.is_empty() || !notes.is_empty() {
        Check::warn(ID, text)
    } else {
        Check::pass(ID, text)
    }
}
