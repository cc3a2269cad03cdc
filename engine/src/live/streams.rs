//! What the feed subscribes to: the combined-stream path and the REST snapshot URL.

use crate::config::VenueConfig;
use crate::instrument::{InstrumentSpec, Instruments, Market};
use crate::net::Endpoint;

/// The combined-stream endpoint for every instrument: depth diffs, and bookTicker and
/// trades when enabled (`/stream?streams=ethusdt@depth@100ms/ethusdt@bookTicker/...`).
pub fn combined_stream(venue: &VenueConfig, instruments: &Instruments) -> Endpoint {
    let mut streams = String::new();
    for (_, spec) in instruments.iter() {
        let symbol = spec.symbol.as_str().to_ascii_lowercase();
        let mut add = |suffix: &str| {
            if !streams.is_empty() {
                streams.push('/');
            }
            streams.push_str(&symbol);
            streams.push('@');
            streams.push_str(suffix);
        };
        add(&venue.section.depth_stream);
        if venue.section.book_ticker {
            add("bookTicker");
        }
        if venue.section.trades {
            add("trade");
        }
    }
    venue
        .stream
        .with_path(&format!("/stream?streams={streams}"))
}

/// The REST depth snapshot URL of one instrument.
pub fn snapshot_url(venue: &VenueConfig, spec: &InstrumentSpec) -> String {
    let path = match spec.market {
        Market::Spot => "/api/v3/depth",
        Market::UsdM => "/fapi/v1/depth",
        Market::CoinM => "/dapi/v1/depth",
    };
    let limit = venue.section.snapshot_limit;
    venue
        .rest
        .with_path(&format!(
            "{path}?symbol={}&limit={limit}",
            spec.symbol.as_str()
        ))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;

    #[test]
    fn builds_binance_urls() {
        let cfg = Config::from_toml(
            "[[instruments]]\nsymbol = \"ETHUSDT\"\nmarket = \"usdm\"\ntick_size = \"0.01\"\nlot_size = \"0.001\"\n\
             [[instruments]]\nsymbol = \"BTCUSDT\"\nmarket = \"usdm\"\ntick_size = \"0.1\"\nlot_size = \"0.001\"\n\
             [venue]\ndepth_stream = \"depth@0ms\"\n",
            Path::new("t.toml"),
        )
        .unwrap();
        let e = combined_stream(&cfg.venue, &cfg.instruments);
        assert_eq!(
            e.to_string(),
            "wss://fstream.binance.com:443/stream?streams=ethusdt@depth@0ms/ethusdt@bookTicker/\
             ethusdt@trade/btcusdt@depth@0ms/btcusdt@bookTicker/btcusdt@trade"
        );
        let (_, spec) = cfg.instruments.iter().next().unwrap();
        assert_eq!(
            snapshot_url(&cfg.venue, spec),
            "https://fapi.binance.com:443/fapi/v1/depth?symbol=ETHUSDT&limit=1000"
        );
    }
}
