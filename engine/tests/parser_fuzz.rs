//! Malformed frames are counted and skipped, never a panic: property tests drive the Binance
//! parser with truncated JSON, wrong types, huge numbers, missing fields and invalid UTF-8.

use obi_engine::feed::binance::{BinanceParser, Parsed};
use obi_engine::instrument::{InstrumentId, InstrumentSpec, Instruments, Market, Scale, Symbol};
use proptest::prelude::*;

fn instruments() -> Instruments {
    let mut i = Instruments::default();
    i.add(InstrumentSpec {
        symbol: Symbol::new("ETHUSDT").expect("symbol"),
        market: Market::UsdM,
        price: Scale::unit(2),
        qty: Scale::unit(3),
    });
    i
}

const SEEDS: [&str; 5] = [
    r#"{"stream":"ethusdt@depth@0ms","data":{"e":"depthUpdate","E":1723161256303,"T":1723161256302,"s":"ETHUSDT","U":5123107832349,"u":5123107837896,"pu":5123107832175,"b":[["2671.65","20.506"],["2676.24","0.000"]],"a":[["2681.63","1.5"]]}}"#,
    r#"{"stream":"ethusdt@bookTicker","data":{"e":"bookTicker","u":5123107838717,"s":"ETHUSDT","b":"2681.62","B":"1.165","a":"2681.63","A":"73.077","T":1723161256310,"E":1723161256311}}"#,
    r#"{"stream":"ethusdt@trade","data":{"e":"trade","E":1723161256560,"T":1723161256560,"s":"ETHUSDT","t":4308068523,"p":"2681.62","q":"1.000","X":"MARKET","m":true}}"#,
    r#"{"lastUpdateId":5123107856276,"E":1723161256567,"T":1723161256561,"bids":[["2681.62","16.969"]],"asks":[["2681.63","0.015"]]}"#,
    r#"{"e":"aggTrade","E":1,"s":"ETHUSDT","a":5,"p":"2681.62","q":"1.000","f":1,"l":2,"T":1,"m":false}"#,
];

fn parse(bytes: &[u8]) -> Result<bool, String> {
    let mut parser = BinanceParser::new();
    let mut frame = bytes.to_vec();
    match parser.parse(&mut frame, &instruments(), Some(InstrumentId(0))) {
        Ok(Parsed::Event(_)) => Ok(true),
        Ok(_) => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn seeds_parse() {
    for s in SEEDS {
        assert_eq!(parse(s.as_bytes()), Ok(true), "{s}");
    }
}

#[test]
fn known_bad_frames_are_errors() {
    let bad = [
        &b"{\"stream\":\"ethusdt@trade\",\"data\":{\"e\":\"trade\""[..],
        b"[1,2,3]",
        b"\xff\xfe{}",
        br#"{"e":"depthUpdate","s":"ETHUSDT","U":"1","u":2,"b":[],"a":[]}"#,
        br#"{"e":"depthUpdate","s":"ETHUSDT","U":1,"u":2,"b":[["1e999","1"]],"a":[]}"#,
        br#"{"e":"depthUpdate","s":"ETHUSDT","U":1,"u":2,"b":[["99999999999999999999999","1"]],"a":[]}"#,
        br#"{"e":"depthUpdate","s":"ETHUSDT","U":1,"u":2,"b":[["1.001","1"]],"a":[]}"#,
        br#"{"e":"depthUpdate","s":"ETHUSDT","U":1,"u":2,"b":[["-1","1"]],"a":[]}"#,
        br#"{"e":"depthUpdate","s":"ETHUSDT","U":3,"u":2,"b":[],"a":[]}"#,
        br#"{"e":"depthUpdate","s":"ETHUSDT","u":2,"b":[],"a":[]}"#,
        br#"{"e":"trade","s":"ETHUSDT","t":1,"p":"1","q":"1","T":1}"#,
        br#"{"e":"bookTicker","s":"ETHUSDT","u":1,"b":1,"B":"1","a":"1","A":"1"}"#,
        br#"{"e":"depthUpdate","s":"ETHUSDT","U":1,"u":2,"b":[["1"]],"a":[]}"#,
        br#"{"e":"depthUpdate","s":"ETHUSDT","U":1,"u":18446744073709551616,"b":[],"a":[]}"#,
    ];
    for b in bad {
        assert!(
            parse(b).is_err(),
            "{:?} should be an error",
            String::from_utf8_lossy(b)
        );
    }
    // Unknown types and symbols are not errors: they are counted separately.
    assert_eq!(
        parse(br#"{"stream":"ethusdt@kline_1m","data":{"e":"kline","s":"ETHUSDT","k":{}}}"#),
        Ok(false)
    );
    assert_eq!(
        parse(br#"{"e":"trade","s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":true}"#),
        Ok(false)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any prefix of a valid frame: no panic.
    #[test]
    fn truncated_frames_never_panic(seed in 0usize..SEEDS.len(), cut in 0usize..400) {
        let s = SEEDS[seed].as_bytes();
        let _ = parse(&s[..cut.min(s.len())]);
    }

    /// Random byte edits anywhere in a valid frame: no panic.
    #[test]
    fn mutated_frames_never_panic(seed in 0usize..SEEDS.len(), edits in prop::collection::vec((0usize..400, any::<u8>()), 1..8)) {
        let mut s = SEEDS[seed].as_bytes().to_vec();
        for (at, byte) in edits {
            let n = s.len();
            s[at % n] = byte;
        }
        let _ = parse(&s);
    }

    /// Values of the wrong kind or absurd size in place of each field: no panic, and a
    /// wrong-typed required field is an error.
    #[test]
    fn wrong_values_never_panic(seed in 0usize..SEEDS.len(), field in "[a-zA-Z]{1,2}", value in prop_oneof![
        Just("null".to_string()), Just("true".to_string()), Just("[]".to_string()), Just("{}".to_string()),
        Just("-1".to_string()), Just("1e400".to_string()), Just("\"\"".to_string()),
        Just("\"99999999999999999999.99\"".to_string()), Just("18446744073709551616".to_string()),
        "\"[0-9.\\-e]{0,30}\"",
    ]) {
        let s = SEEDS[seed].replace(&format!("\"{field}\":"), &format!("\"{field}\":{value},\"_old\":"));
        let _ = parse(s.as_bytes());
    }

    /// Arbitrary bytes: no panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse(&bytes);
    }
}
