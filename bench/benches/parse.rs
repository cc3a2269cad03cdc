//! Parsing real Binance frames: our simd-json tape parser vs `serde_json` into the same
//! events, measured in the same run on the same frames (USD-M ETHUSDT, 2024-08-08).
//!
//! The serde_json reference is given the frame kind up front (it deserializes straight into
//! the right struct, borrowing strings) and converts decimals with the same fixed-point
//! code, so the difference is the JSON work, not the decimal conversion.

mod common;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use obi_engine::feed::binance::{BinanceParser, Parsed};
use obi_engine::instrument::{InstrumentId, InstrumentSpec};
use obi_engine::units::{Level, Lots, Ticks};
use serde::Deserialize;
use std::hint::black_box;

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

#[allow(non_snake_case, dead_code)]
#[derive(Deserialize)]
struct DepthWire<'a> {
    E: i64,
    #[serde(borrow)]
    s: &'a str,
    U: u64,
    u: u64,
    pu: u64,
    #[serde(borrow)]
    b: Vec<[&'a str; 2]>,
    #[serde(borrow)]
    a: Vec<[&'a str; 2]>,
}

#[allow(non_snake_case, dead_code)]
#[derive(Deserialize)]
struct TickerWire<'a> {
    u: u64,
    s: &'a str,
    b: &'a str,
    B: &'a str,
    a: &'a str,
    A: &'a str,
}

#[allow(non_snake_case, dead_code)]
#[derive(Deserialize)]
struct TradeWire<'a> {
    T: i64,
    s: &'a str,
    t: u64,
    p: &'a str,
    q: &'a str,
    m: bool,
}

/// serde_json reference: same events (levels as integer ticks/lots into reused vectors).
fn serde_parse(
    kind: Kind,
    frame: &[u8],
    spec: &InstrumentSpec,
    bids: &mut Vec<Level>,
    asks: &mut Vec<Level>,
) -> u64 {
    let conv = |p: &str, q: &str| Level {
        price: Ticks(spec.price.steps(p.as_bytes()).unwrap_or(0)),
        qty: Lots(spec.qty.steps(q.as_bytes()).unwrap_or(0)),
    };
    match kind {
        Kind::Depth | Kind::DepthLarge => {
            let Ok(env) = serde_json::from_slice::<Envelope<DepthWire<'_>>>(frame) else {
                return 0;
            };
            bids.clear();
            asks.clear();
            bids.extend(env.data.b.iter().map(|[p, q]| conv(p, q)));
            asks.extend(env.data.a.iter().map(|[p, q]| conv(p, q)));
            env.data.u
        }
        Kind::Ticker => {
            let Ok(env) = serde_json::from_slice::<Envelope<TickerWire<'_>>>(frame) else {
                return 0;
            };
            let l = conv(env.data.b, env.data.B);
            black_box(conv(env.data.a, env.data.A));
            env.data.u ^ l.price.0 as u64
        }
        Kind::Trade => {
            let Ok(env) = serde_json::from_slice::<Envelope<TradeWire<'_>>>(frame) else {
                return 0;
            };
            env.data.t ^ conv(env.data.p, env.data.q).qty.0 as u64
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Depth,
    DepthLarge,
    Ticker,
    Trade,
}

fn bench_parse(c: &mut Criterion) {
    let Some(frames) = common::usdm_frames() else {
        return;
    };
    let insts = obi_bench::data::eth_usdm_instruments();
    let spec = *insts.get(InstrumentId(0));
    let mut groups: Vec<(Kind, Vec<Vec<u8>>)> = vec![
        (Kind::Depth, Vec::new()),
        (Kind::DepthLarge, Vec::new()),
        (Kind::Ticker, Vec::new()),
        (Kind::Trade, Vec::new()),
    ];
    for (_, f) in &frames {
        let text = String::from_utf8_lossy(f);
        let kind = if text.contains("@depth") {
            // Compact diffs are the common case; many-level ones (> 20 levels) are apart.
            if f.iter().filter(|&&b| b == b'[').count() > 22 {
                1
            } else {
                0
            }
        } else if text.contains("@bookTicker") {
            2
        } else if text.contains("@trade") {
            3
        } else {
            continue;
        };
        if groups[kind].1.len() < 2000 {
            groups[kind].1.push(f.clone());
        }
    }
    let mut group = c.benchmark_group("parse_real_frames");
    for (kind, set) in &groups {
        if set.is_empty() {
            continue;
        }
        let bytes: usize = set.iter().map(Vec::len).sum();
        group.throughput(Throughput::Elements(set.len() as u64));
        let mut parser = BinanceParser::new();
        let mut buf = Vec::with_capacity(1 << 16);
        group.bench_with_input(
            BenchmarkId::new("obi_simd_tape", format!("{kind:?}")),
            set,
            |b, set| {
                b.iter(|| {
                    let mut acc = 0u64;
                    for f in set {
                        buf.clear();
                        buf.extend_from_slice(f);
                        if let Ok(Parsed::Event(e)) = parser.parse(&mut buf, &insts, None) {
                            acc = acc.wrapping_add(e.instrument().0 as u64 + 1);
                        }
                    }
                    black_box(acc)
                })
            },
        );
        let (mut bids, mut asks) = (Vec::with_capacity(1024), Vec::with_capacity(1024));
        group.bench_with_input(
            BenchmarkId::new("serde_json_reference", format!("{kind:?}")),
            set,
            |b, set| {
                b.iter(|| {
                    let mut acc = 0u64;
                    for f in set {
                        acc = acc.wrapping_add(serde_parse(*kind, f, &spec, &mut bids, &mut asks));
                    }
                    black_box(acc)
                })
            },
        );
        eprintln!(
            "{kind:?}: {} frames, {} bytes avg",
            set.len(),
            bytes / set.len()
        );
    }
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
