//! Client order ids `obi<run>x<n>`: `<run>` is the engine start time in seconds (base 36),
//! `<n>` the engine's [`OrderId`] in decimal. Unique per run, and a run's prefix tells our
//! orders apart from anyone else's on the same account.

use crate::order::OrderId;
use std::fmt::Write as _;

/// Longest client order id Binance accepts.
pub const MAX_LEN: usize = 36;

/// Formats and parses one run's client order ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientIds {
    prefix: String,
}

impl ClientIds {
    /// The ids of the run started at `run_start_s` (Unix seconds).
    pub fn new(run_start_s: u64) -> ClientIds {
        let mut prefix = String::from("obi");
        let mut digits = [0u8; 13];
        let mut n = run_start_s;
        let mut len = 0;
        loop {
            let d = (n % 36) as u8;
            digits[len] = if d < 10 { b'0' + d } else { b'a' + d - 10 };
            len += 1;
            n /= 36;
            if n == 0 {
                break;
            }
        }
        for &d in digits[..len].iter().rev() {
            prefix.push(char::from(d));
        }
        prefix.push('x');
        ClientIds { prefix }
    }

    /// The run's prefix, `obi<run>x`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Appends the client order id of `order_id` to `out`.
    pub fn write(&self, order_id: OrderId, out: &mut String) {
        out.push_str(&self.prefix);
        let _ = write!(out, "{}", order_id.0);
    }

    /// The client order id of `order_id`.
    pub fn format(&self, order_id: OrderId) -> String {
        let mut out = String::with_capacity(MAX_LEN);
        self.write(order_id, &mut out);
        out
    }

    /// The [`OrderId`] of one of this run's client order ids; `None` for anyone else's.
    pub fn parse(&self, text: &str) -> Option<OrderId> {
        let digits = text.strip_prefix(self.prefix.as_str())?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(OrderId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_fits_binance_rules() {
        let ids = ClientIds::new(1_763_887_446);
        assert_eq!(ids.prefix(), "obit6689ix");
        let id = ids.format(OrderId(u64::MAX));
        assert!(id.len() <= MAX_LEN, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(ids.parse(&id), Some(OrderId(u64::MAX)));
        assert_eq!(ids.parse("obit6689ix42"), Some(OrderId(42)));
        assert_eq!(ids.parse("obit6689ix"), None);
        assert_eq!(ids.parse("obit6689jx42"), None);
        assert_eq!(ids.parse("web_abc"), None);
        assert_eq!(ClientIds::new(0).prefix(), "obi0x");
    }
}
