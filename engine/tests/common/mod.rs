//! Shared helpers for integration tests: locating `../shared/data`.

#![allow(dead_code)]

use std::path::PathBuf;

/// The recorded-data folder, or `None` (with a clear SKIPPED line) when it is absent.
///
/// `OBI_SHARED_DATA` overrides the location; `OBI_REQUIRE_DATA=1` (set by CI) turns a
/// missing folder into a failure instead of a skip.
pub fn shared_data(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("OBI_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data"))
        });
    if dir.join("README.md").exists() {
        return Some(dir);
    }
    if std::env::var("OBI_REQUIRE_DATA").is_ok_and(|v| v == "1") {
        panic!(
            "{test}: ../shared/data not found at {} and OBI_REQUIRE_DATA=1",
            dir.display()
        );
    }
    say_skipped(&format!(
        "SKIPPED {test}: ../shared/data not found at {}",
        dir.display()
    ));
    None
}

/// Prints a skip so it shows even for a passing test: the harness captures `eprintln!`, so
/// this writes to `/dev/stderr` directly (falling back to `eprintln!`).
pub fn say_skipped(line: &str) {
    use std::io::Write as _;
    match std::fs::OpenOptions::new().append(true).open("/dev/stderr") {
        Ok(mut tty) => {
            let _ = writeln!(tty, "{line}");
        }
        Err(_) => eprintln!("{line}"),
    }
}

/// A fresh scratch directory under the target dir.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Every Binance recording in the data folder, as replay arguments.
pub fn binance_recordings(data: &std::path::Path) -> Vec<(&'static str, PathBuf)> {
    vec![
        (
            "cryptofeed BINANCE (spot)",
            data.join("cryptofeed-sample/BINANCE.ws.1.0"),
        ),
        (
            "cryptofeed BINANCE_US (spot)",
            data.join("cryptofeed-sample/BINANCE_US.ws.1.0"),
        ),
        (
            "cryptofeed BINANCE_FUTURES (usdm)",
            data.join("cryptofeed-sample/BINANCE_FUTURES.ws.1.0"),
        ),
        (
            "cryptofeed BINANCE_DELIVERY (coinm)",
            data.join("cryptofeed-sample/BINANCE_DELIVERY.ws.1.0"),
        ),
        (
            "hftbacktest spot ETHUSDT",
            data.join("hftbacktest-sample/spot/ethusdt_20240808.gz"),
        ),
        (
            "hftbacktest usdm ETHUSDT",
            data.join("hftbacktest-sample/usdm/ethusdt_20240808.gz"),
        ),
    ]
}

pub mod core_alloc;
pub mod market_server;
pub mod recording;

/// A config for the recorded ETHUSDT USD-M stream (price 0.01, quantity 0.001), defaults
/// otherwise and no shared memory.
pub fn eth_usdm_config() -> obi_engine::config::Config {
    use obi_engine::instrument::{InstrumentSpec, Instruments, Market, Scale, Symbol};
    let mut instruments = Instruments::default();
    instruments.add(InstrumentSpec {
        symbol: Symbol::new("ETHUSDT").expect("symbol"),
        market: Market::UsdM,
        price: Scale::unit(2),
        qty: Scale::unit(3),
    });
    let mut cfg = obi_engine::config::Config::with_instruments(instruments);
    cfg.engine.shm_enabled = false;
    cfg
}
