//! Reading and rewriting collector recordings in tests (independent of the engine's reader).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// All lines of a collector file (plain or .gz).
pub fn read_lines(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).expect("open recording");
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    BufReader::new(reader)
        .lines()
        .map(|l| l.expect("line"))
        .collect()
}

/// The JSON of a collector line.
pub fn json_of(line: &str) -> serde_json::Value {
    let start = line.find('{').expect("json in line");
    serde_json::from_str(&line[start..]).expect("valid json")
}

/// True for a depthUpdate line.
pub fn is_diff(line: &str) -> bool {
    line.contains("\"e\":\"depthUpdate\"")
}

/// True for the bare snapshot line.
pub fn is_snapshot(line: &str) -> bool {
    line.contains(" {\"lastUpdateId\"")
}

/// A book built with BTreeMaps keyed by the decimal text's value in 1e-8 units.
#[derive(Default, Debug, Clone)]
pub struct TextBook {
    /// Bids: price → (price text, qty text).
    pub bids: BTreeMap<u128, (String, String)>,
    /// Asks.
    pub asks: BTreeMap<u128, (String, String)>,
}

fn key(text: &str) -> u128 {
    let (w, f) = text.split_once('.').unwrap_or((text, ""));
    let mut f = f.to_string();
    f.truncate(10);
    while f.len() < 10 {
        f.push('0');
    }
    w.parse::<u128>().expect("whole") * 10u128.pow(10) + f.parse::<u128>().expect("frac")
}

fn is_zero(text: &str) -> bool {
    text.bytes().all(|b| b == b'0' || b == b'.')
}

impl TextBook {
    /// Applies `[["p","q"],...]` to one side.
    pub fn apply(&mut self, bids: &serde_json::Value, asks: &serde_json::Value) {
        for (side, levels) in [(&mut self.bids, bids), (&mut self.asks, asks)] {
            for l in levels.as_array().expect("levels") {
                let p = l[0].as_str().expect("price");
                let q = l[1].as_str().expect("qty");
                if is_zero(q) {
                    side.remove(&key(p));
                } else {
                    side.insert(key(p), (p.to_string(), q.to_string()));
                }
            }
        }
    }

    /// A futures-style snapshot JSON of this book.
    pub fn snapshot_json(&self, last_update_id: u64) -> String {
        let side = |m: &BTreeMap<u128, (String, String)>, rev: bool| {
            let mut v: Vec<String> = m
                .values()
                .map(|(p, q)| format!("[\"{p}\",\"{q}\"]"))
                .collect();
            if rev {
                v.reverse();
            }
            v.join(",")
        };
        format!(
            "{{\"lastUpdateId\":{last_update_id},\"E\":1,\"T\":1,\"bids\":[{}],\"asks\":[{}]}}",
            side(&self.bids, true),
            side(&self.asks, false)
        )
    }
}
