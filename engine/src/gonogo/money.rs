//! Money for the balance check: decimal text to millionths of a unit (`_micros`), exact
//! integer arithmetic, and display with two decimals.

use crate::decimal::{self, MAX_DECIMALS};

/// Decimal text (`"1234.56780000"`) as millionths, digits beyond the sixth decimal cut
/// (a balance is never overstated). `None` for text that is not a plain decimal.
pub fn to_micros(text: &str) -> Option<i128> {
    let d = decimal::significant_decimals(text.as_bytes()).min(MAX_DECIMALS);
    let scaled = i128::from(decimal::parse_scaled(text.as_bytes(), d).ok()?);
    let p = 10i128.pow(u32::from(d));
    Some(scaled * 1_000_000 / p)
}

/// Notional of `qty_units * 10^-qty_decimals` at `price_text`, in millionths of the quote,
/// rounded up (a need is never understated). `None` for a price that is not positive.
pub fn notional_micros(qty_units: i128, qty_decimals: u8, price_text: &str) -> Option<i128> {
    let pd = decimal::significant_decimals(price_text.as_bytes()).min(MAX_DECIMALS);
    let price = i128::from(decimal::parse_scaled(price_text.as_bytes(), pd).ok()?);
    if price <= 0 || qty_units < 0 {
        return None;
    }
    let num = qty_units.checked_mul(price)?.checked_mul(1_000_000)?;
    let den = 10i128.checked_pow(u32::from(qty_decimals) + u32::from(pd))?;
    Some(num.checked_add(den - 1)?.div_euclid(den))
}

/// `micros` as text: two decimals (cut, not rounded), or all six below one unit so small
/// amounts (a base asset's lot) do not show as zero.
pub fn show(micros: i128) -> String {
    let mut s = String::new();
    if micros.abs() < 1_000_000 {
        let _ = decimal::write_scaled(&mut s, micros, 6);
    } else {
        let _ = decimal::write_scaled(&mut s, micros / 10_000, 2);
    }
    s
}
