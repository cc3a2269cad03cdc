//! Spot-shaped market frame text: depth diffs, bookTickers, trades (combined-stream
//! envelopes) and the REST depth snapshot, with prices and quantities as 8-decimal strings
//! as Binance spot writes them.

use std::fmt::Write as _;

use obi_engine::instrument::Scale;
use obi_engine::units::Level;

/// Decimals Binance spot writes prices and quantities with.
const WIRE_DECIMALS: u8 = 8;

/// Appends `steps` on `scale` as decimal text with (at least) 8 decimals.
pub fn push_decimal(out: &mut String, steps: i64, scale: &Scale) {
    let decimals = scale.decimals.max(WIRE_DECIMALS);
    let widen = 10i128.pow(u32::from(decimals - scale.decimals));
    let value = i128::from(steps) * i128::from(scale.step_units) * widen;
    let _ = obi_engine::decimal::write_scaled(out, value, decimals);
}

/// `steps` on `scale` as an owned decimal string.
pub fn decimal(steps: i64, scale: &Scale) -> String {
    let mut s = String::with_capacity(24);
    push_decimal(&mut s, steps, scale);
    s
}

/// Writes the frames of one instrument.
#[derive(Clone, Debug)]
pub struct FrameWriter {
    /// Upper-case symbol (`"s"`).
    pub symbol: String,
    /// Price grid.
    pub price: Scale,
    /// Quantity grid.
    pub qty: Scale,
}

impl FrameWriter {
    fn push_levels(&self, out: &mut String, levels: impl Iterator<Item = Level>) {
        out.push('[');
        for (i, l) in levels.enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("[\"");
            push_decimal(out, l.price.0, &self.price);
            out.push_str("\",\"");
            push_decimal(out, l.qty.0, &self.qty);
            out.push_str("\"]");
        }
        out.push(']');
    }

    /// The `data` payload of a spot depth diff.
    pub fn depth_payload(
        &self,
        out: &mut String,
        event_ms: u64,
        first_update_id: u64,
        last_update_id: u64,
        bids: &[Level],
        asks: &[Level],
    ) {
        let _ = write!(
            out,
            r#"{{"e":"depthUpdate","E":{event_ms},"s":"{}","U":{first_update_id},"u":{last_update_id},"b":"#,
            self.symbol
        );
        self.push_levels(out, bids.iter().copied());
        out.push_str(r#","a":"#);
        self.push_levels(out, asks.iter().copied());
        out.push('}');
    }

    /// The `data` payload of a spot bookTicker.
    pub fn ticker_payload(&self, out: &mut String, update_id: u64, bid: Level, ask: Level) {
        let _ = write!(out, r#"{{"u":{update_id},"s":"{}","b":""#, self.symbol);
        push_decimal(out, bid.price.0, &self.price);
        out.push_str(r#"","B":""#);
        push_decimal(out, bid.qty.0, &self.qty);
        out.push_str(r#"","a":""#);
        push_decimal(out, ask.price.0, &self.price);
        out.push_str(r#"","A":""#);
        push_decimal(out, ask.qty.0, &self.qty);
        out.push_str("\"}");
    }

    /// The `data` payload of a spot trade.
    pub fn trade_payload(
        &self,
        out: &mut String,
        event_ms: u64,
        trade_id: u64,
        trade: Level,
        buyer_is_maker: bool,
    ) {
        let _ = write!(
            out,
            r#"{{"e":"trade","E":{event_ms},"s":"{}","t":{trade_id},"p":""#,
            self.symbol
        );
        push_decimal(out, trade.price.0, &self.price);
        out.push_str(r#"","q":""#);
        push_decimal(out, trade.qty.0, &self.qty);
        let _ = write!(out, r#"","T":{event_ms},"m":{buyer_is_maker},"M":true}}"#);
    }

    /// The REST snapshot body; `futures_times` adds `"E"`/`"T"` (the `/fapi` alias).
    pub fn snapshot(
        &self,
        out: &mut String,
        last_update_id: u64,
        futures_times_ms: Option<u64>,
        bids_best_first: impl Iterator<Item = Level>,
        asks_best_first: impl Iterator<Item = Level>,
    ) {
        let _ = write!(out, r#"{{"lastUpdateId":{last_update_id},"#);
        if let Some(ms) = futures_times_ms {
            let _ = write!(out, r#""E":{ms},"T":{ms},"#);
        }
        out.push_str(r#""bids":"#);
        self.push_levels(out, bids_best_first);
        out.push_str(r#","asks":"#);
        self.push_levels(out, asks_best_first);
        out.push('}');
    }
}

/// Wraps a payload in the combined-stream envelope of `stream`.
pub fn envelope(stream: &str, payload: &str) -> String {
    let mut s = String::with_capacity(payload.len() + stream.len() + 24);
    s.push_str(r#"{"stream":""#);
    s.push_str(stream);
    s.push_str(r#"","data":"#);
    s.push_str(payload);
    s.push('}');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spot_frames() {
        let w = FrameWriter {
            symbol: "ETHUSDT".into(),
            price: Scale::from_step_text("0.01").unwrap(),
            qty: Scale::from_step_text("0.001").unwrap(),
        };
        let mut s = String::new();
        w.depth_payload(&mut s, 5, 10, 12, &[Level::new(250_000, 1_500)], &[]);
        assert_eq!(
            s,
            r#"{"e":"depthUpdate","E":5,"s":"ETHUSDT","U":10,"u":12,"b":[["2500.00000000","1.50000000"]],"a":[]}"#
        );
        s.clear();
        w.ticker_payload(&mut s, 12, Level::new(1, 2), Level::new(3, 4));
        assert_eq!(
            s,
            r#"{"u":12,"s":"ETHUSDT","b":"0.01000000","B":"0.00200000","a":"0.03000000","A":"0.00400000"}"#
        );
        assert_eq!(
            envelope("ethusdt@trade", "{}"),
            r#"{"stream":"ethusdt@trade","data":{}}"#
        );
        let tick5 = Scale::from_step_text("0.05").unwrap();
        assert_eq!(decimal(3, &tick5), "0.15000000");
    }
}
