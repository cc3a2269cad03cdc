//! Commissions in notional units (`tick * lot` of the quote asset).
//!
//! - Commission in the quote asset (`USDT` on `ETHUSDT`): exact, rounded up.
//! - Commission in the base asset (spot buys without BNB): `commission * price`, exact at
//!   the fill's price, rounded up.
//! - Any other asset (BNB, ...): unknown value in quote terms without a price feed, so the
//!   fee is *approximated* as `fallback_bps` of the fill's notional and counted by the
//!   gateway (`fees_approximated`).

use crate::instrument::InstrumentSpec;
use crate::units::{Lots, Notional, Ticks};

/// Quote assets recognised at the end of a symbol; a suffix of another comes after it.
const QUOTE_ASSETS: [&str; 17] = [
    "FDUSD", "USDT", "USDC", "TUSD", "BUSD", "USDP", "DAI", "EUR", "TRY", "BRL", "JPY", "GBP",
    "AUD", "BTC", "ETH", "BNB", "USD",
];

/// The quote asset of a symbol (`ETHUSDT` → `USDT`, `BTCUSD_PERP` → `USD`), when known.
pub fn quote_asset(symbol: &str) -> Option<&'static str> {
    let core = symbol.split('_').next().unwrap_or(symbol);
    QUOTE_ASSETS
        .iter()
        .copied()
        .find(|q| core.len() > q.len() && core.ends_with(q))
}

/// How a commission was converted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeeKind {
    /// No commission (zero or absent).
    None,
    /// Exact from the quote asset.
    Quote,
    /// Exact from the base asset at the fill price.
    Base,
    /// Approximated from `fallback_bps` (another asset, or unparsable text).
    Approximated,
}

/// Parses decimal text into `(mantissa, fractional digits)`, exactly.
fn parse_exact(text: &str) -> Option<(i128, u32)> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut mantissa: i128 = 0;
    let mut frac = 0u32;
    let mut seen_dot = false;
    let mut any = false;
    for b in digits.bytes() {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa
                    .checked_mul(10)?
                    .checked_add(i128::from(b - b'0'))?;
                any = true;
                if seen_dot {
                    frac += 1;
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => return None,
        }
    }
    if !any || frac > 30 {
        return None;
    }
    Some((if negative { -mantissa } else { mantissa }, frac))
}

/// `num * 10^exp / den`, rounded up (towards +infinity); `None` on overflow.
fn scaled_div_ceil(num: i128, exp: i32, den: i128) -> Option<i128> {
    let (num, den) = if exp >= 0 {
        (num.checked_mul(10i128.checked_pow(exp as u32)?)?, den)
    } else {
        (num, den.checked_mul(10i128.checked_pow((-exp) as u32)?)?)
    };
    if den <= 0 {
        return None;
    }
    let q = num.div_euclid(den);
    Some(if num.rem_euclid(den) == 0 { q } else { q + 1 })
}

/// The commission of one fill in notional units, and how it was obtained.
pub fn commission_notional(
    spec: &InstrumentSpec,
    commission: Option<&str>,
    asset: Option<&str>,
    price: Ticks,
    qty: Lots,
    fallback_bps: f64,
) -> (Notional, FeeKind) {
    let Some(text) = commission else {
        return (0, FeeKind::None);
    };
    let Some((mantissa, frac)) = parse_exact(text) else {
        return (approximate(price, qty, fallback_bps), FeeKind::Approximated);
    };
    if mantissa == 0 {
        return (0, FeeKind::None);
    }
    let symbol = spec.symbol.as_str();
    let quote = quote_asset(symbol);
    let asset = asset.unwrap_or("");
    let pd = i32::from(spec.price.decimals);
    let qd = i32::from(spec.qty.decimals);
    let ps = i128::from(spec.price.step_units);
    let qs = i128::from(spec.qty.step_units);
    let frac = frac as i32;
    if Some(asset) == quote {
        // fee / (tick * lot) = m * 10^-f / (ps * 10^-pd * qs * 10^-qd)
        if let Some(fee) = scaled_div_ceil(mantissa, pd + qd - frac, ps * qs) {
            return (fee, FeeKind::Quote);
        }
    } else if let Some(q) = quote
        && symbol.split('_').next().unwrap_or(symbol).strip_suffix(q) == Some(asset)
    {
        // fee_base * price / (tick * lot) = m * 10^-f * price_ticks / (qs * 10^-qd)
        if let Some(num) = mantissa.checked_mul(i128::from(price.0))
            && let Some(fee) = scaled_div_ceil(num, qd - frac, qs)
        {
            return (fee, FeeKind::Base);
        }
    }
    (approximate(price, qty, fallback_bps), FeeKind::Approximated)
}

/// A quote-asset amount (`cummulativeQuoteQty`, `Z`) in notional units, rounded to the
/// nearest unit (exact for fills on the instrument's grid).
pub fn quote_notional(spec: &InstrumentSpec, text: &str) -> Option<Notional> {
    let (mantissa, frac) = parse_exact(text)?;
    let exp = i32::from(spec.price.decimals) + i32::from(spec.qty.decimals) - frac as i32;
    let den = i128::from(spec.price.step_units) * i128::from(spec.qty.step_units);
    // Round half up: floor((2 * num + den) / (2 * den)).
    let (num, den) = if exp >= 0 {
        (mantissa.checked_mul(10i128.checked_pow(exp as u32)?)?, den)
    } else {
        (
            mantissa,
            den.checked_mul(10i128.checked_pow((-exp) as u32)?)?,
        )
    };
    let twice = num.checked_mul(2)?.checked_add(den)?;
    Some(twice.div_euclid(den.checked_mul(2)?))
}

/// `bps` of the fill's notional, rounded up.
fn approximate(price: Ticks, qty: Lots, bps: f64) -> Notional {
    crate::paper::FeeRate::from_bps(bps).fee(price, qty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instrument::{Market, Scale, Symbol};

    fn eth() -> InstrumentSpec {
        InstrumentSpec {
            symbol: Symbol::new("ETHUSDT").unwrap(),
            market: Market::Spot,
            price: Scale::from_step_text("0.01").unwrap(),
            qty: Scale::from_step_text("0.0001").unwrap(),
        }
    }

    #[test]
    fn quote_amounts() {
        let spec = eth();
        assert_eq!(quote_notional(&spec, "9.99800000"), Some(9_998_000));
        assert_eq!(quote_notional(&spec, "0"), Some(0));
        assert_eq!(quote_notional(&spec, "0.0000004"), Some(0));
        assert_eq!(quote_notional(&spec, "0.0000005"), Some(1));
        assert_eq!(quote_notional(&spec, "abc"), None);
    }

    #[test]
    fn quote_assets() {
        assert_eq!(quote_asset("ETHUSDT"), Some("USDT"));
        assert_eq!(quote_asset("ETHFDUSD"), Some("FDUSD"));
        assert_eq!(quote_asset("BTCUSD_PERP"), Some("USD"));
        assert_eq!(quote_asset("ETHBTC"), Some("BTC"));
        assert_eq!(quote_asset("USDT"), None);
    }

    #[test]
    fn converts_quote_base_and_other() {
        let spec = eth();
        // 2499.50 * 0.0040 = 9.998 USDT; 0.1 % = 0.009998 USDT; unit = 0.01 * 0.0001 = 1e-6.
        let (fee, kind) = commission_notional(
            &spec,
            Some("0.00999800"),
            Some("USDT"),
            Ticks(249_950),
            Lots(40),
            7.5,
        );
        assert_eq!((fee, kind), (9_998, FeeKind::Quote));
        // 0.000004 ETH at 2499.50 = 0.009998 USDT.
        let (fee, kind) = commission_notional(
            &spec,
            Some("0.00000400"),
            Some("ETH"),
            Ticks(249_950),
            Lots(40),
            7.5,
        );
        assert_eq!((fee, kind), (9_998, FeeKind::Base));
        // BNB: 7.5 bps of 9.998 USDT = 0.0074985 -> 7_499 (rounded up from 7_498.5).
        let (fee, kind) = commission_notional(
            &spec,
            Some("0.00001"),
            Some("BNB"),
            Ticks(249_950),
            Lots(40),
            7.5,
        );
        assert_eq!((fee, kind), (7_499, FeeKind::Approximated));
        assert_eq!(
            commission_notional(&spec, Some("0"), None, Ticks(1), Lots(1), 7.5),
            (0, FeeKind::None)
        );
        assert_eq!(
            commission_notional(&spec, None, None, Ticks(1), Lots(1), 7.5),
            (0, FeeKind::None)
        );
        // Finer than a notional unit rounds up (in the venue's favour).
        let (fee, _) = commission_notional(
            &spec,
            Some("0.0000001"),
            Some("USDT"),
            Ticks(1),
            Lots(1),
            0.0,
        );
        assert_eq!(fee, 1);
        let (fee, kind) =
            commission_notional(&spec, Some("x"), Some("USDT"), Ticks(100), Lots(100), 10.0);
        assert_eq!((fee, kind), (10, FeeKind::Approximated));
    }
}
