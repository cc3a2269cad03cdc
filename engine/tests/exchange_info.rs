//! Price and quantity grids from a real exchangeInfo record (the cryptofeed `BINANCE.0` capture),
//! then a strict replay of the same session with those scales: the book still matches the
//! exchange's bookTicker everywhere.

mod common;

use obi_engine::config::Config;
use obi_engine::instrument::Scale;
use obi_engine::replay::{self, ReplayOptions};
use std::path::Path;

#[test]
fn scales_from_exchange_info_replay_cleanly() {
    let Some(data) = common::shared_data("scales_from_exchange_info_replay_cleanly") else {
        return;
    };
    let info = data.join("cryptofeed-sample/BINANCE.0");
    let mut text = format!(
        "exchange_info = {:?}\n\n[engine]\nshm_enabled = false\n",
        info.display().to_string()
    );
    for symbol in ["NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"] {
        text.push_str(&format!(
            "\n[[instruments]]\nsymbol = \"{symbol}\"\nmarket = \"spot\"\n"
        ));
    }
    let cfg =
        Config::from_toml(&text, Path::new("inline.toml")).expect("config with exchange_info");
    let nkn = cfg
        .instruments
        .iter()
        .find(|(_, s)| s.symbol.as_str() == "NKNUSDT")
        .expect("NKNUSDT")
        .1;
    // tickSize is 0.0001, yet the book holds bids at 0.25974 (left from an older tick): the
    // book's grid is quotePrecision (8).
    assert_eq!(
        nkn.price,
        Scale {
            decimals: 8,
            step_units: 1
        },
        "quotePrecision 8"
    );
    // LOT_SIZE stepSize is 1, yet the book holds 11979.3: lots follow baseAssetPrecision (8).
    assert_eq!(
        nkn.qty,
        Scale {
            decimals: 8,
            step_units: 1
        },
        "baseAssetPrecision 8"
    );

    let options = ReplayOptions {
        no_timing: true,
        ..ReplayOptions::default()
    };
    let report = replay::run(
        &cfg,
        &[data.join("cryptofeed-sample/BINANCE.ws.1.0")],
        &options,
    )
    .expect("replay");
    let c = report.counters;
    assert!(c.diffs_applied > 0 && c.oracle_checked > 0);
    assert_eq!(report.first_parse_error, None);
    assert_eq!(
        (c.gaps, c.crossed, c.parse_errors, c.oracle_mismatches),
        (0, 0, 0, 0)
    );
}

#[test]
fn missing_exchange_info_symbol_is_a_clear_error() {
    let Some(data) = common::shared_data("missing_exchange_info_symbol_is_a_clear_error") else {
        return;
    };
    let info = data.join("cryptofeed-sample/BINANCE.0");
    let text = format!(
        "exchange_info = {:?}\n[[instruments]]\nsymbol = \"NOSUCHCOIN\"\nmarket = \"spot\"\n",
        info.display().to_string()
    );
    let err = Config::from_toml(&text, Path::new("inline.toml"))
        .expect_err("unknown symbol")
        .to_string();
    assert!(
        err.contains("NOSUCHCOIN") && err.contains("tick_size missing"),
        "{err}"
    );
}
