//! Our order book next to hftbacktest 0.9's market depths, per level update, on the same real
//! frames (USD-M ETHUSDT, 2024-08-08; tick 0.01, lot 0.001), measured in the same run.
//!
//! Each iteration loads the recording's snapshot into an empty book, then applies every
//! level of every depth diff after it, and reads the best bid and ask (price and quantity)
//! after each diff, which is what a tick path does. Throughput is level updates (snapshot
//! levels not counted). The books:
//!
//! - `obi_l2book`: [`L2Book`], integer ticks and lots (parsed once up front).
//! - `hftbacktest_hashmap`: `HashMapMarketDepth`, `f64` price and quantity.
//! - `hftbacktest_btree`: `BTreeMarketDepth`, `f64` price and quantity.
//! - `hftbacktest_roivector`: `ROIVectorMarketDepth` with a fixed region of interest
//!   2000.00–3500.00. It keeps levels only inside that price window and drops updates
//!   outside it (about a tenth of this recording's level updates; the count is printed), so
//!   it does less work and keeps less data than ours (which keeps every level, with a dense
//!   window that follows the price). Its `clear_depth` zeroes the whole
//!   window (150 001 slots per side) on each iteration.
//!
//! hftbacktest takes `f64` prices and quantities (it rounds them to ticks and lots inside);
//! they are converted from our integer levels once, before measuring. The `clear_and_snapshot`
//! lines measure only the per-iteration reset and snapshot load of each book, so the diff
//! cost is the difference. After measuring, the final best bid and ask of every book are
//! compared to ours and printed.

#![forbid(unsafe_code)]

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hftbacktest::depth::{
    BTreeMarketDepth, HashMapMarketDepth, L2MarketDepth, MarketDepth, ROIVectorMarketDepth,
};
use hftbacktest::types::Side as HftSide;
use obi_engine::book::L2Book;
use obi_engine::units::{Level, Side};
use std::hint::black_box;

const TICK_SIZE: f64 = 0.01;
const LOT_SIZE: f64 = 0.001;
const ROI_LOW: f64 = 2000.00;
const ROI_HIGH: f64 = 3500.00;

/// One side's levels as hftbacktest takes them: `(price, qty)`.
type F64Levels = Vec<(f64, f64)>;

/// The recording after its snapshot, in both representations.
struct Diffs {
    snapshot: (Vec<Level>, Vec<Level>),
    /// `(local_ns, bids, asks)` of every diff at or after the snapshot's update id.
    diffs: Vec<(i64, Vec<Level>, Vec<Level>)>,
    snapshot_f64: (F64Levels, F64Levels),
    diffs_f64: Vec<(i64, F64Levels, F64Levels)>,
    levels: u64,
}

fn to_f64(levels: &[Level]) -> F64Levels {
    levels
        .iter()
        .map(|l| (l.price.0 as f64 * TICK_SIZE, l.qty.0 as f64 * LOT_SIZE))
        .collect()
}

fn load() -> Option<Diffs> {
    let frames = common::usdm_frames()?;
    let n_frames = frames.len();
    let input = obi_bench::data::book_input(&frames, &obi_bench::data::eth_usdm_instruments());
    let snapshot = input.snapshot;
    let levels = input.levels;
    let diffs: Vec<(i64, Vec<Level>, Vec<Level>)> = input
        .diffs
        .into_iter()
        .map(|d| (d.local_ns as i64, d.bids, d.asks))
        .collect();
    let roi = (ROI_LOW / TICK_SIZE).round() as i64..=(ROI_HIGH / TICK_SIZE).round() as i64;
    let outside_roi = diffs
        .iter()
        .flat_map(|(_, b, a): &(i64, Vec<Level>, Vec<Level>)| b.iter().chain(a))
        .filter(|l| !roi.contains(&l.price.0))
        .count();
    if diffs.is_empty() {
        eprintln!("SKIPPED peers: no depth diffs after a snapshot in the recording");
        return None;
    }
    eprintln!(
        "{n_frames} frames; snapshot {} bid + {} ask levels; {} diffs, {levels} level updates after it",
        snapshot.0.len(),
        snapshot.1.len(),
        diffs.len()
    );
    eprintln!(
        "{outside_roi} of the level updates fall outside the ROI window {ROI_LOW:.2}-{ROI_HIGH:.2}"
    );
    let snapshot_f64 = (to_f64(&snapshot.0), to_f64(&snapshot.1));
    let diffs_f64 = diffs
        .iter()
        .map(|(ns, b, a)| (*ns, to_f64(b), to_f64(a)))
        .collect();
    Some(Diffs {
        snapshot,
        diffs,
        snapshot_f64,
        diffs_f64,
        levels,
    })
}

fn l2_snapshot(book: &mut L2Book, d: &Diffs) {
    book.apply_snapshot(&d.snapshot.0, &d.snapshot.1);
}

/// Snapshot, every diff, best bid and ask after each; returns a checksum of the reads.
fn l2_replay(book: &mut L2Book, d: &Diffs) -> i64 {
    l2_snapshot(book, d);
    let mut acc = 0i64;
    for (_, bids, asks) in &d.diffs {
        for l in bids {
            book.set(Side::Bid, l.price, l.qty);
        }
        for l in asks {
            book.set(Side::Ask, l.price, l.qty);
        }
        let (b, a) = (book.best_bid(), book.best_ask());
        acc = acc.wrapping_add(b.map_or(0, |l| l.price.0 ^ l.qty.0));
        acc = acc.wrapping_add(a.map_or(0, |l| l.price.0 ^ l.qty.0));
    }
    acc
}

fn hft_snapshot<D: L2MarketDepth>(book: &mut D, d: &Diffs) {
    book.clear_depth(HftSide::None, f64::NAN);
    for &(p, q) in &d.snapshot_f64.0 {
        book.update_bid_depth(p, q, 0);
    }
    for &(p, q) in &d.snapshot_f64.1 {
        book.update_ask_depth(p, q, 0);
    }
}

/// The same replay through hftbacktest's traits.
fn hft_replay<D: L2MarketDepth + MarketDepth>(book: &mut D, d: &Diffs) -> i64 {
    hft_snapshot(book, d);
    let mut acc = 0i64;
    for (ts, bids, asks) in &d.diffs_f64 {
        for &(p, q) in bids {
            book.update_bid_depth(p, q, *ts);
        }
        for &(p, q) in asks {
            book.update_ask_depth(p, q, *ts);
        }
        acc = acc.wrapping_add(book.best_bid_tick() ^ book.best_bid_qty().to_bits() as i64);
        acc = acc.wrapping_add(book.best_ask_tick() ^ book.best_ask_qty().to_bits() as i64);
    }
    acc
}

/// Final touch of an hftbacktest book in our units, for the after-run comparison.
fn hft_touch<D: MarketDepth>(book: &D) -> (i64, i64, i64, i64) {
    (
        book.best_bid_tick(),
        (book.best_bid_qty() / LOT_SIZE).round() as i64,
        book.best_ask_tick(),
        (book.best_ask_qty() / LOT_SIZE).round() as i64,
    )
}

fn bench_peers(c: &mut Criterion) {
    let Some(d) = load() else { return };
    let mut ours = L2Book::new();
    let mut hashmap = HashMapMarketDepth::new(TICK_SIZE, LOT_SIZE);
    let mut btree = BTreeMarketDepth::new(TICK_SIZE, LOT_SIZE);
    let mut roi = ROIVectorMarketDepth::new(TICK_SIZE, LOT_SIZE, ROI_LOW, ROI_HIGH);

    let mut group = c.benchmark_group("peers_book_real_diffs");
    group.throughput(Throughput::Elements(d.levels));
    group.bench_function("obi_l2book", |b| {
        b.iter(|| black_box(l2_replay(&mut ours, &d)))
    });
    group.bench_function("hftbacktest_hashmap", |b| {
        b.iter(|| black_box(hft_replay(&mut hashmap, &d)))
    });
    group.bench_function("hftbacktest_btree", |b| {
        b.iter(|| black_box(hft_replay(&mut btree, &d)))
    });
    group.bench_function("hftbacktest_roivector_2000_3500", |b| {
        b.iter(|| black_box(hft_replay(&mut roi, &d)))
    });
    group.finish();

    // The per-iteration reset and snapshot load alone, to subtract from the lines above.
    let mut group = c.benchmark_group("peers_clear_and_snapshot");
    group.bench_function("obi_l2book", |b| {
        b.iter(|| l2_snapshot(black_box(&mut ours), &d))
    });
    group.bench_function("hftbacktest_hashmap", |b| {
        b.iter(|| hft_snapshot(black_box(&mut hashmap), &d))
    });
    group.bench_function("hftbacktest_btree", |b| {
        b.iter(|| hft_snapshot(black_box(&mut btree), &d))
    });
    group.bench_function("hftbacktest_roivector_2000_3500", |b| {
        b.iter(|| hft_snapshot(black_box(&mut roi), &d))
    });
    group.finish();

    // Same final touch everywhere? (Outside the measurement.)
    l2_replay(&mut ours, &d);
    hft_replay(&mut hashmap, &d);
    hft_replay(&mut btree, &d);
    hft_replay(&mut roi, &d);
    let (b, a) = (ours.best_bid(), ours.best_ask());
    let our_touch = (
        b.map_or(i64::MIN, |l| l.price.0),
        b.map_or(0, |l| l.qty.0),
        a.map_or(i64::MAX, |l| l.price.0),
        a.map_or(0, |l| l.qty.0),
    );
    for (name, touch) in [
        ("hashmap", hft_touch(&hashmap)),
        ("btree", hft_touch(&btree)),
        ("roivector", hft_touch(&roi)),
    ] {
        eprintln!(
            "final touch (bid ticks, lots, ask ticks, lots): obi {our_touch:?}, {name} {touch:?}{}",
            if touch == our_touch {
                " (same)"
            } else {
                " (DIFFERENT)"
            }
        );
    }
}

criterion_group!(benches, bench_peers);
criterion_main!(benches);
