//! The book rebuilt by `replay` against the exchange's own bookTicker, on every Binance
//! recording in `../shared/data`: 0 mismatches, 0 gaps, 0 crossed.
//!
//! Two independent checks: the engine's built-in oracle counters, and this test's own join
//! of the `--tob-out` CSV against the recorded bookTicker frames (parsed with serde_json,
//! compared as decimal values), so a bug in the engine's oracle cannot hide a wrong book.

mod common;

use obi_engine::config::Config;
use obi_engine::replay::{self, ReplayOptions, ScaleSource};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

fn derived(path: &Path) -> Config {
    let (instruments, _) = replay::scan::derived_instruments(&[path]).expect("derive instruments");
    Config::with_instruments(instruments)
}

/// Decimal text → canonical form (no trailing zeros) so "1.50" == "1.5000".
fn canon(text: &str) -> String {
    if !text.contains('.') {
        return text.to_string();
    }
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

type Quote = (String, String, String, String);

/// (symbol, u) → quote, from the recording's bookTicker frames, read independently.
fn recorded_tickers(path: &Path) -> HashMap<(String, u64), Quote> {
    let file = std::fs::File::open(path).expect("open");
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut out = HashMap::new();
    for line in BufReader::new(reader).lines() {
        let line = line.expect("line");
        let Some(start) = line.find('{') else {
            continue;
        };
        if !line.contains("bookTicker") {
            continue;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line[start..]) else {
            continue;
        };
        let d = v.get("data").unwrap_or(&v);
        let (Some(s), Some(u)) = (d["s"].as_str(), d["u"].as_u64()) else {
            continue;
        };
        let q = |k: &str| canon(d[k].as_str().unwrap_or(""));
        out.insert((s.to_string(), u), (q("b"), q("B"), q("a"), q("A")));
    }
    out
}

fn check_recording(name: &str, path: PathBuf, dir: &Path) {
    let cfg = derived(&path);
    let tob = dir.join(format!("{}.csv", name.replace([' ', '(', ')'], "_")));
    let options = ReplayOptions {
        tob_out: Some(tob.clone()),
        no_timing: true,
        scale_sources: vec![ScaleSource::DerivedFromSnapshot; cfg.instruments.len()],
        ..ReplayOptions::default()
    };
    let report = replay::run(&cfg, std::slice::from_ref(&path), &options).expect("replay");
    let c = report.counters;
    eprintln!(
        "{name}: frames {} diffs applied {} oracle checked {} mismatches {} gaps {} crossed {}",
        c.frames, c.diffs_applied, c.oracle_checked, c.oracle_mismatches, c.gaps, c.crossed
    );
    assert!(c.diffs_applied > 0, "{name}: no diff applied");
    assert_eq!(c.gaps, 0, "{name}: gaps");
    assert_eq!(c.crossed, 0, "{name}: crossed books");
    assert_eq!(c.parse_errors, 0, "{name}: parse errors");
    assert_eq!(c.oracle_mismatches, 0, "{name}: engine oracle mismatches");
    assert!(
        c.oracle_checked > 0,
        "{name}: engine oracle never checked a ticker"
    );

    // Independent join: every CSV row whose update id has a recorded bookTicker must match.
    let tickers = recorded_tickers(&path);
    let csv = std::fs::read_to_string(&tob).expect("read tob csv");
    let (mut checked, mut mismatched) = (0u64, 0u64);
    for row in csv.lines().skip(1) {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(f.len(), 6, "{name}: bad row {row}");
        let u: u64 = f[1].parse().expect("update id");
        if let Some(q) = tickers.get(&(f[0].to_string(), u)) {
            checked += 1;
            let ours = (canon(f[2]), canon(f[3]), canon(f[4]), canon(f[5]));
            if &ours != q {
                mismatched += 1;
                if mismatched <= 3 {
                    eprintln!("{name}: u={u} ours {ours:?} exchange {q:?}");
                }
            }
            // The book is never crossed.
            let (bid, ask): (f64, f64) = (f[2].parse().expect("bid"), f[4].parse().expect("ask"));
            assert!(bid < ask, "{name}: crossed row {row}");
        }
    }
    eprintln!("{name}: independent join checked {checked} rows, {mismatched} mismatches");
    assert!(
        checked > 0,
        "{name}: no tob row had a bookTicker with the same update id"
    );
    assert_eq!(
        mismatched, 0,
        "{name}: rows differ from the exchange's bookTicker"
    );
}

#[test]
fn replay_matches_exchange_book_ticker_on_all_binance_recordings() {
    let Some(data) = common::shared_data("replay_matches_exchange_book_ticker") else {
        return;
    };
    let dir = common::scratch_dir("oracle");
    for (name, path) in common::binance_recordings(&data) {
        check_recording(name, path, &dir);
    }
}
