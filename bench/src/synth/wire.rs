//! Binance USD-M wire text: the JSON of depth diffs, bookTickers, trades and the REST
//! snapshot, with prices and quantities as fixed-decimal strings.

use std::fmt::Write as _;

use super::book::{PendingDiff, Touch};

/// Fixed-point grid and names of the instrument as they appear on the wire.
#[derive(Clone, Debug)]
pub struct WireFormat {
    /// Upper-case symbol, the `"s"` field.
    pub symbol: String,
    /// Lower-case symbol, the stream name prefix.
    pub stream_prefix: String,
    /// Decimals of prices.
    pub price_decimals: u8,
    /// Decimals of quantities.
    pub qty_decimals: u8,
}

/// Appends `value / 10^decimals` with exactly `decimals` decimals.
pub fn push_scaled(out: &mut String, value: i64, decimals: u8) {
    let divisor = 10u64.pow(u32::from(decimals));
    let magnitude = value.unsigned_abs();
    if value < 0 {
        out.push('-');
    }
    // Writing to a String cannot fail.
    let _ = if decimals == 0 {
        write!(out, "{magnitude}")
    } else {
        write!(
            out,
            "{}.{:0width$}",
            magnitude / divisor,
            magnitude % divisor,
            width = usize::from(decimals)
        )
    };
}

impl WireFormat {
    /// Wire names for `symbol`, on the given grid.
    pub fn new(symbol: &str, price_decimals: u8, qty_decimals: u8) -> Self {
        Self {
            symbol: symbol.to_ascii_uppercase(),
            stream_prefix: symbol.to_ascii_lowercase(),
            price_decimals,
            qty_decimals,
        }
    }

    fn push_price(&self, out: &mut String, price_ticks: i64) {
        out.push('"');
        push_scaled(out, price_ticks, self.price_decimals);
        out.push('"');
    }

    fn push_qty(&self, out: &mut String, qty_lots: i64) {
        out.push('"');
        push_scaled(out, qty_lots, self.qty_decimals);
        out.push('"');
    }

    fn push_levels(&self, out: &mut String, levels: impl Iterator<Item = (i64, i64)>) {
        out.push('[');
        for (i, (price_ticks, qty_lots)) in levels.enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('[');
            self.push_price(out, price_ticks);
            out.push(',');
            self.push_qty(out, qty_lots);
            out.push(']');
        }
        out.push(']');
    }

    /// A `@depth@0ms` combined-stream envelope.
    pub fn depth_update(
        &self,
        out: &mut String,
        event_ms: u64,
        transact_ms: u64,
        diff: &PendingDiff,
        prev_last_update_id: u64,
    ) {
        let _ = write!(
            out,
            r#"{{"stream":"{}@depth@0ms","data":{{"e":"depthUpdate","E":{},"T":{},"s":"{}","U":{},"u":{},"pu":{},"b":"#,
            self.stream_prefix,
            event_ms,
            transact_ms,
            self.symbol,
            diff.first_update_id,
            diff.last_update_id,
            prev_last_update_id
        );
        self.push_levels(out, diff.bids.iter().copied());
        out.push_str(r#","a":"#);
        self.push_levels(out, diff.asks.iter().copied());
        out.push_str("}}");
    }

    /// A `@bookTicker` combined-stream envelope.
    pub fn book_ticker(
        &self,
        out: &mut String,
        update_id: u64,
        touch: &Touch,
        transact_ms: u64,
        event_ms: u64,
    ) {
        let _ = write!(
            out,
            r#"{{"stream":"{}@bookTicker","data":{{"e":"bookTicker","u":{},"s":"{}","b":"#,
            self.stream_prefix, update_id, self.symbol
        );
        self.push_price(out, touch.bid_ticks);
        out.push_str(r#","B":"#);
        self.push_qty(out, touch.bid_lots);
        out.push_str(r#","a":"#);
        self.push_price(out, touch.ask_ticks);
        out.push_str(r#","A":"#);
        self.push_qty(out, touch.ask_lots);
        let _ = write!(out, r#","T":{transact_ms},"E":{event_ms}}}}}"#);
    }

    /// A `@trade` combined-stream envelope.
    #[allow(clippy::too_many_arguments)]
    pub fn trade(
        &self,
        out: &mut String,
        event_ms: u64,
        transact_ms: u64,
        trade_id: u64,
        price_ticks: i64,
        qty_lots: i64,
        buyer_is_maker: bool,
    ) {
        let _ = write!(
            out,
            r#"{{"stream":"{}@trade","data":{{"e":"trade","E":{},"T":{},"s":"{}","t":{},"p":"#,
            self.stream_prefix, event_ms, transact_ms, self.symbol, trade_id
        );
        self.push_price(out, price_ticks);
        out.push_str(r#","q":"#);
        self.push_qty(out, qty_lots);
        let _ = write!(out, r#","X":"MARKET","m":{buyer_is_maker}}}}}"#);
    }

    /// The bare REST depth snapshot body.
    pub fn snapshot(
        &self,
        out: &mut String,
        last_update_id: u64,
        event_ms: u64,
        transact_ms: u64,
        bids_best_first: impl Iterator<Item = (i64, i64)>,
        asks_best_first: impl Iterator<Item = (i64, i64)>,
    ) {
        let _ = write!(
            out,
            r#"{{"lastUpdateId":{last_update_id},"E":{event_ms},"T":{transact_ms},"bids":"#
        );
        self.push_levels(out, bids_best_first);
        out.push_str(r#","asks":"#);
        self.push_levels(out, asks_best_first);
        out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_text() {
        let mut s = String::new();
        push_scaled(&mut s, 250_001, 2);
        s.push(' ');
        push_scaled(&mut s, 7, 3);
        s.push(' ');
        push_scaled(&mut s, 0, 3);
        s.push(' ');
        push_scaled(&mut s, 42, 0);
        assert_eq!(s, "2500.01 0.007 0.000 42");
    }

    #[test]
    fn frames_look_like_binance() {
        let wire = WireFormat::new("SynUsdt", 2, 3);
        let mut s = String::new();
        let diff = PendingDiff {
            first_update_id: 10,
            last_update_id: 12,
            bids: vec![(249_999, 0), (250_000, 1_500)],
            asks: vec![],
        };
        wire.depth_update(&mut s, 1_001, 1_000, &diff, 9);
        assert_eq!(
            s,
            r#"{"stream":"synusdt@depth@0ms","data":{"e":"depthUpdate","E":1001,"T":1000,"s":"SYNUSDT","U":10,"u":12,"pu":9,"b":[["2499.99","0.000"],["2500.00","1.500"]],"a":[]}}"#
        );
        s.clear();
        let touch = Touch {
            bid_ticks: 250_000,
            bid_lots: 1,
            ask_ticks: 250_001,
            ask_lots: 20,
        };
        wire.book_ticker(&mut s, 12, &touch, 1_000, 1_001);
        assert_eq!(
            s,
            r#"{"stream":"synusdt@bookTicker","data":{"e":"bookTicker","u":12,"s":"SYNUSDT","b":"2500.00","B":"0.001","a":"2500.01","A":"0.020","T":1000,"E":1001}}"#
        );
        s.clear();
        wire.trade(&mut s, 1_001, 1_000, 77, 250_001, 5, false);
        assert_eq!(
            s,
            r#"{"stream":"synusdt@trade","data":{"e":"trade","E":1001,"T":1000,"s":"SYNUSDT","t":77,"p":"2500.01","q":"0.005","X":"MARKET","m":false}}"#
        );
        s.clear();
        wire.snapshot(
            &mut s,
            12,
            1_001,
            1_000,
            [(250_000, 1)].into_iter(),
            std::iter::empty(),
        );
        assert_eq!(
            s,
            r#"{"lastUpdateId":12,"E":1001,"T":1000,"bids":[["2500.00","0.001"]],"asks":[]}"#
        );
    }
}
