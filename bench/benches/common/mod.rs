//! Loading real frames from `../shared/data` for benchmarks.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;

/// The recorded-data folder (`OBI_SHARED_DATA` or `../shared/data`), or `None` with a note.
pub fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("OBI_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data"))
        });
    if dir.join("README.md").exists() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED benchmark: ../shared/data not found at {}",
            dir.display()
        );
        None
    }
}

/// `(local_ns, json)` of every line of the USD-M ETHUSDT recording.
pub fn usdm_frames() -> Option<Vec<(u64, Vec<u8>)>> {
    let data = shared_data()?;
    let file =
        std::fs::File::open(data.join("hftbacktest-sample/usdm/ethusdt_20240808.gz")).ok()?;
    let reader = BufReader::new(flate2::read::MultiGzDecoder::new(file));
    Some(
        reader
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| {
                let (ns, json) = l.split_once(' ')?;
                Some((ns.parse().ok()?, json.as_bytes().to_vec()))
            })
            .collect(),
    )
}
