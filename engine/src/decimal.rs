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
///
/// Fast path: up to 18 digits accumulate in a `u64` without overflow checks (18 decimal
/// digits always fit); longer inputs take the checked path.
#[inline]
pub fn parse_scaled(text: &[u8], decimals: u8) -> Result<i64, DecimalError> {
    debug_assert!(decimals <= MAX_DECIMALS);
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let len = digits.len();
    let mut acc: u64 = 0;
    let mut i = 0;
    while i < len {
        let d = digits[i].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        acc = acc.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    let int_digits = i;
    let mut frac_seen = 0usize;
    let mut frac_used: u8 = 0;
    if i < len && digits[i] == b'.' {
        i += 1;
        while i < len {
            let d = digits[i].wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            if frac_used < decimals {
                acc = acc.wrapping_mul(10).wrapping_add(u64::from(d));
                frac_used += 1;
            } else if d != 0 {
                return Err(DecimalError::TooPrecise);
            }
            frac_seen += 1;
            i += 1;
        }
    }
    if i != len {
        return Err(DecimalError::InvalidChar);
    }
    if int_digits + frac_seen == 0 {
        return Err(DecimalError::Empty);
    }
    if int_digits + usize::from(frac_used) > 18 {
        return parse_scaled_checked(digits, decimals).map(|v| if negative { -v } else { v });
    }
    // At most 18 digits: `acc < 10^18`, so the cast is exact.
    let scaled = (acc as i64)
        .checked_mul(pow10(decimals - frac_used))
        .ok_or(DecimalError::Overflow)?;
    Ok(if negative { -scaled } else { scaled })
}

/// The checked digit-by-digit parse for unsigned text of any length.
fn parse_scaled_checked(digits: &[u8], decimals: u8) -> Result<i64, DecimalError> {
    let mut acc: i64 = 0;
    let mut frac_digits: u8 = 0;
    let mut in_frac = false;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
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
    acc.checked_mul(pow10(decimals - frac_digits))
        .ok_or(DecimalError::Overflow)
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
    fn fast_and_checked_paths_agree() {
        for text in [
            "0",
            "7",
            "12.5",
            "0.00000001",
            "999999999999999999",
            "123456789.123456789",
            "00000000000000000000001.5",
            "1.",
            ".1",
        ] {
            for decimals in [0u8, 1, 2, 8, 9, 18] {
                let fast = parse_scaled(text.as_bytes(), decimals);
                let slow = parse_scaled_checked(text.as_bytes(), decimals);
                assert_eq!(fast, slow, "{text} at {decimals}");
            }
        }
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
