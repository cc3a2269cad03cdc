//! Book update cost on real depth diffs: the fast `L2Book` vs the `BTreeMap` reference book,
//! same updates, same run. Each iteration loads the recording's snapshot, then applies every
//! diff's levels and reads the best bid and ask after each diff (what the tick path does).

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use obi_engine::book::{L2Book, ReferenceBook};
use obi_engine::units::{Level, Side};
use std::hint::black_box;

struct Diffs {
    snapshot: (Vec<Level>, Vec<Level>),
    diffs: Vec<(Vec<Level>, Vec<Level>)>,
    levels: u64,
}

fn load() -> Option<Diffs> {
    let frames = common::usdm_frames()?;
    let input = obi_bench::data::book_input(&frames, &obi_bench::data::eth_usdm_instruments());
    Some(Diffs {
        snapshot: input.snapshot,
        diffs: input.diffs.into_iter().map(|d| (d.bids, d.asks)).collect(),
        levels: input.levels,
    })
}

macro_rules! replay_into {
    ($book:expr, $d:expr) => {{
        let book = $book;
        book.clear();
        for l in &$d.snapshot.0 {
            book.set(Side::Bid, l.price, l.qty);
        }
        for l in &$d.snapshot.1 {
            book.set(Side::Ask, l.price, l.qty);
        }
        let mut acc = 0i64;
        for (bids, asks) in &$d.diffs {
            for l in bids {
                book.set(Side::Bid, l.price, l.qty);
            }
            for l in asks {
                book.set(Side::Ask, l.price, l.qty);
            }
            acc = acc.wrapping_add(book.best_bid().map_or(0, |l| l.price.0));
            acc = acc.wrapping_add(book.best_ask().map_or(0, |l| l.qty.0));
        }
        black_box(acc)
    }};
}

fn bench_book(c: &mut Criterion) {
    let Some(d) = load() else { return };
    eprintln!(
        "{} diffs, {} level updates after the snapshot",
        d.diffs.len(),
        d.levels
    );
    let mut group = c.benchmark_group("book_real_diffs");
    group.throughput(Throughput::Elements(d.levels));
    let mut fast = L2Book::new();
    group.bench_function("obi_l2book", |b| b.iter(|| replay_into!(&mut fast, d)));
    let mut reference = ReferenceBook::new();
    group.bench_function("btreemap_reference", |b| {
        b.iter(|| replay_into!(&mut reference, d))
    });
    group.finish();

    // Top-N reads for the OBI signal.
    let mut group = c.benchmark_group("book_top_levels");
    replay_into!(&mut fast, d);
    replay_into!(&mut reference, d);
    for n in [5usize, 20] {
        group.bench_function(format!("obi_l2book_sum_top{n}"), |b| {
            b.iter(|| black_box(fast.sum_qty(Side::Bid, n) + fast.sum_qty(Side::Ask, n)))
        });
        group.bench_function(format!("btreemap_reference_sum_top{n}"), |b| {
            b.iter(|| black_box(reference.sum_qty(Side::Bid, n) + reference.sum_qty(Side::Ask, n)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_book);
criterion_main!(benches);
