//! Decimal text ↔ fixed-point integers, without a floating-point round trip.
//!
//! `parse_scaled(b"2683.80", 8)` is `268_380_000_000`: the value times `10^decimals`.
//! Digits beyond `decimals` must be zeros, otherwise the text is not on the grid and the
//! parse fails (a price the instrument cannot represent is an error, not a rounding).

use std::fmt;

/// Largest number of decimals a scale may have (`10^18` still fits in `i64`).
pub const MAX_DECIMALS: u8 = 18;

/// Why a decimal string could not become a fixed-point integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecimalError {
    /// No digits at all.
    Empty,
    /// A byte that is not a digit, a single `.`, or a leading `-`.
    InvalidChar,
    /// Non-zero digits beyond the scale's decimals.
    TooPrecise,
    /// The scaled value does not fit in `i64`.
    Overflow,
    /// The value is not a whole multiple of the step (tick or lot size).
    OffGrid,
}

impl fmt::Display for DecimalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecimalError::Empty => "no digits",
            DecimalError::InvalidChar => "not a decimal number",
            DecimalError::TooPrecise => "more decimals than the instrument's scale",
            DecimalError::Overflow => "value out of range",
            DecimalError::OffGrid => "value is not a multiple of the step size",
        })
    }
}

impl std::error::Error for DecimalError {}

const POW10: [i64; 19] = {
    let mut p = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

/// `10^n` for `n <= 18`.
#[inline]
pub const fn pow10(n: u8) -> i64 {
    POW10[n as usize]
}

/// Parses decimal text into `value * 10^decimals`.
#[inline]
pub fn parse_scaled(text: &[u8], decimals: u8) -> Result<i64, DecimalError> {
    debug_assert!(decimals <= MAX_DECIMALS);
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return Err(DecimalError::Empty);
    }
    let mut acc: i64 = 0;
    let mut seen_digit = false;
    let mut frac_digits: u8 = 0;
    let mut in_frac = false;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                seen_digit = true;
                let d = i64::from(b - b'0');
                if in_frac {
                    if frac_digits >= decimals {
                        if d != 0 {
                            return Err(DecimalError::TooPrecise);
                        }
                        continue;
                    }
                    frac_digits += 1;
                }
                acc = acc
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(d))
                    .ok_or(DecimalError::Overflow)?;
            }
            b'.' if !in_frac => in_frac = true,
            _ => return Err(DecimalError::InvalidChar),
        }
    }
    if !seen_digit {
        return Err(DecimalError::Empty);
    }
    let scaled = acc
        .checked_mul(pow10(decimals - frac_digits))
        .ok_or(DecimalError::Overflow)?;
    Ok(if negative { -scaled } else { scaled })
}

/// Number of significant decimals in `text`: `"0.0100"` has 2, `"12"` has 0.
pub fn significant_decimals(text: &[u8]) -> u8 {
    let Some(dot) = text.iter().position(|&b| b == b'.') else {
        return 0;
    };
    let frac = &text[dot + 1..];
    let used = frac.iter().rposition(|&b| b != b'0').map_or(0, |i| i + 1);
    u8::try_from(used).unwrap_or(u8::MAX)
}

/// Writes `value / 10^decimals` as plain decimal text with exactly `decimals` decimals.
pub fn write_scaled(out: &mut impl fmt::Write, value: i128, decimals: u8) -> fmt::Result {
    let negative = value < 0;
    let magnitude = value.unsigned_abs();
    let divisor = 10u128.pow(u32::from(decimals));
    let whole = magnitude / divisor;
    let frac = magnitude % divisor;
    if negative {
        out.write_char('-')?;
    }
    if decimals == 0 {
        write!(out, "{whole}")
    } else {
        write!(out, "{whole}.{frac:0width$}", width = usize::from(decimals))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_on_scale() {
        assert_eq!(parse_scaled(b"2683.80000000", 8), Ok(268_380_000_000));
        assert_eq!(parse_scaled(b"2683.8", 2), Ok(268_380));
        assert_eq!(parse_scaled(b"12", 3), Ok(12_000));
        assert_eq!(parse_scaled(b"0.00000000", 2), Ok(0));
        assert_eq!(parse_scaled(b"-1.5", 1), Ok(-15));
        assert_eq!(parse_scaled(b".5", 1), Ok(5));
    }

    #[test]
    fn rejects_bad_text() {
        assert_eq!(parse_scaled(b"", 2), Err(DecimalError::Empty));
        assert_eq!(parse_scaled(b"-", 2), Err(DecimalError::Empty));
        assert_eq!(parse_scaled(b".", 2), Err(DecimalError::Empty));
        assert_eq!(parse_scaled(b"1.2.3", 2), Err(DecimalError::InvalidChar));
        assert_eq!(parse_scaled(b"1e5", 2), Err(DecimalError::InvalidChar));
        assert_eq!(parse_scaled(b"1.234", 2), Err(DecimalError::TooPrecise));
        assert_eq!(
            parse_scaled(b"99999999999999999999", 0),
            Err(DecimalError::Overflow)
        );
        assert_eq!(parse_scaled(b"9999999999", 18), Err(DecimalError::Overflow));
    }

    #[test]
    fn counts_significant_decimals() {
        assert_eq!(significant_decimals(b"0.01000000"), 2);
        assert_eq!(significant_decimals(b"12"), 0);
        assert_eq!(significant_decimals(b"12.000"), 0);
        assert_eq!(significant_decimals(b"0.00000001"), 8);
    }

    #[test]
    fn writes_plain_text() {
        let mut s = String::new();
        write_scaled(&mut s, 268_380, 2).unwrap();
        s.push(' ');
        write_scaled(&mut s, -5, 3).unwrap();
        s.push(' ');
        write_scaled(&mut s, 7, 0).unwrap();
        assert_eq!(s, "2683.80 -0.005 7");
    }
}
