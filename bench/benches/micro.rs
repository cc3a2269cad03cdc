//! Micro-costs of the tick path's pieces, each next to a reference measured in the same run.
//!
//! - `signals_per_diff`: one real depth diff of the USD-M ETHUSDT recording (2024-08-08)
//!   applied to an [`L2Book`], then [`SignalState::on_book`] (default [`SignalConfig`]), per
//!   iteration, walking the diffs in order (the book is reloaded from the snapshot when the
//!   recording wraps, once per few thousand iterations). Reference: the same diff without
//!   `on_book`; the difference is the cost of one `on_book` call on a real book state.
//!   Because a diff (~65 levels) costs far more than `on_book`, that difference is noisy, so
//!   `on_book` is also timed alone: the diff applied untimed, each call bracketed by two TSC
//!   reads (`quanta::Clock::raw`), next to the same brackets around nothing (the timer's own
//!   cost, to subtract). The TSC reads are not serializing, so treat that line as ±10 ns.
//! - `signals_fixed_book`: each signal function alone (`depth_obi` at 5 and 20 levels,
//!   `weighted_obi` over 10 levels, `microprice` of the touch) on the book as it stands after
//!   every diff. Reference: the same OBI from the `BTreeMap` [`ReferenceBook`] (`sum_qty` of
//!   the top N per side, then the same `obi_ratio`), same book state.
//! - `risk_check`: [`PreTradeRisk::check`] on a post-only bid at the real best bid with three
//!   orders already open: passing (the order is then taken out again by its `Canceled`
//!   report, so that pair is measured), rejected late (price band, every earlier rule
//!   evaluated) and rejected early (too large). There is no natural peer; the reference is a
//!   hand-inlined version of the same rules over a plain `Vec` of open orders, without the
//!   rate window, reject counters or open-order bookkeeping — a floor, not a competitor.
//! - `ring_intent` / `ring_intent_batch64`: an [`Intent`] pushed and popped on one thread
//!   (pop after each push; then 64 pushes followed by 64 pops) through `rtrb` (our ring),
//!   `crossbeam::queue::ArrayQueue` and `crossbeam::channel::bounded`, capacity 1024 each.
//!   Same thread, so no cross-core cache traffic: this is the instruction cost only.
//! - `shm_publish`: one full stats publish into an anonymous [`StatsWriter`] mapping: 22
//!   `set_counter`, then one seqlock `publish` setting the 17 global gauges and the 10 gauges
//!   of one instrument. Reference: the same 49 stores into a plain `[u64; 64]`, which shows
//!   what the atomics and the seqlock add.
//!
//! Wall-clock numbers on a shared machine are noisy; compare the lines of one run only.

#![forbid(unsafe_code)]

mod common;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use obi_engine::book::{L2Book, ReferenceBook};
use obi_engine::instrument::InstrumentId;
use obi_engine::order::{Intent, NewOrder, OrderId, Report, TimeInForce};
use obi_engine::risk::{PreTradeRisk, RiskConfig};
use obi_engine::signal::{
    SignalConfig, SignalState, depth_obi, microprice, obi_ratio, weighted_obi,
};
use obi_engine::units::{Level, Lots, Side, Ticks};
use obi_shm::{CounterId, GaugeId, InstrumentGaugeId, StatsWriter, WriterInfo};
use std::hint::black_box;
use std::time::Duration;

/// The recording after its snapshot: the snapshot, then each diff with its local time.
struct Diffs {
    snapshot: (Vec<Level>, Vec<Level>),
    /// `(local_ns, bids, asks)` of every diff at or after the snapshot's update id.
    diffs: Vec<(u64, Vec<Level>, Vec<Level>)>,
    levels: u64,
}

fn load() -> Option<Diffs> {
    let frames = common::usdm_frames()?;
    let input = obi_bench::data::book_input(&frames, &obi_bench::data::eth_usdm_instruments());
    let out = Diffs {
        snapshot: input.snapshot,
        diffs: input
            .diffs
            .into_iter()
            .map(|d| (d.local_ns, d.bids, d.asks))
            .collect(),
        levels: input.levels,
    };
    (!out.diffs.is_empty()).then_some(out)
}

fn load_snapshot(book: &mut L2Book, d: &Diffs) {
    book.apply_snapshot(&d.snapshot.0, &d.snapshot.1);
}

fn apply(book: &mut L2Book, bids: &[Level], asks: &[Level]) {
    for l in bids {
        book.set(Side::Bid, l.price, l.qty);
    }
    for l in asks {
        book.set(Side::Ask, l.price, l.qty);
    }
}

/// Walks the diffs one per call, reloading the snapshot when the recording wraps.
struct DiffCursor<'a> {
    d: &'a Diffs,
    next: usize,
    /// Added to each diff's time so market time keeps increasing across wraps (the EWMAs
    /// and windows in `SignalState` expect that).
    ts_offset_ns: u64,
}

impl<'a> DiffCursor<'a> {
    fn new(d: &'a Diffs, book: &mut L2Book) -> Self {
        load_snapshot(book, d);
        DiffCursor {
            d,
            next: 0,
            ts_offset_ns: 0,
        }
    }

    /// Applies the next diff and returns its (monotonic) market time, ns.
    #[inline]
    fn step(&mut self, book: &mut L2Book) -> u64 {
        if self.next == self.d.diffs.len() {
            load_snapshot(book, self.d);
            self.next = 0;
            let first = self.d.diffs.first().map_or(0, |x| x.0);
            let last = self.d.diffs.last().map_or(0, |x| x.0);
            self.ts_offset_ns += last.saturating_sub(first) + 1_000_000;
        }
        let (ts, bids, asks) = &self.d.diffs[self.next];
        self.next += 1;
        apply(book, bids, asks);
        ts + self.ts_offset_ns
    }
}

fn bench_signals(c: &mut Criterion, d: &Diffs) {
    let cfg = SignalConfig::default();
    let mut group = c.benchmark_group("signals_per_diff");
    group.throughput(Throughput::Elements(1));
    let mut book = L2Book::new();
    let mut cursor = DiffCursor::new(d, &mut book);
    group.bench_function("apply_diff_reference", |b| {
        b.iter(|| {
            let ts = cursor.step(&mut book);
            black_box((ts, book.best_bid()))
        })
    });
    let mut book = L2Book::new();
    let mut cursor = DiffCursor::new(d, &mut book);
    let mut state = SignalState::new(&cfg);
    group.bench_function("apply_diff_then_on_book", |b| {
        b.iter(|| {
            let ts = cursor.step(&mut book);
            black_box(state.on_book(&book, ts).obi[0])
        })
    });

    // `on_book` alone: each call timed with the TSC (quanta), the diff applied outside the
    // timed section; next to an empty timed section, the timer's own cost.
    let clock = quanta::Clock::new();
    let mut book = L2Book::new();
    let mut cursor = DiffCursor::new(d, &mut book);
    let mut state = SignalState::new(&cfg);
    group.bench_function("on_book_alone_tsc_timed", |b| {
        b.iter_custom(|iters| {
            let mut total_ns = 0u64;
            for _ in 0..iters {
                let ts = cursor.step(&mut book);
                let t0 = clock.raw();
                black_box(state.on_book(black_box(&book), ts).obi[0]);
                let t1 = clock.raw();
                total_ns += clock.delta_as_nanos(t0, t1);
            }
            Duration::from_nanos(total_ns)
        })
    });
    let mut book = L2Book::new();
    let mut cursor = DiffCursor::new(d, &mut book);
    group.bench_function("empty_tsc_timed_section_reference", |b| {
        b.iter_custom(|iters| {
            let mut total_ns = 0u64;
            for _ in 0..iters {
                let ts = cursor.step(&mut book);
                let t0 = clock.raw();
                black_box((black_box(&book), ts));
                let t1 = clock.raw();
                total_ns += clock.delta_as_nanos(t0, t1);
            }
            Duration::from_nanos(total_ns)
        })
    });
    group.finish();

    // One fixed real book: the state after every diff.
    let mut book = L2Book::new();
    load_snapshot(&mut book, d);
    let mut reference = ReferenceBook::new();
    reference.apply_snapshot(&d.snapshot.0, &d.snapshot.1);
    for (_, bids, asks) in &d.diffs {
        apply(&mut book, bids, asks);
        for l in bids {
            reference.set(Side::Bid, l.price, l.qty);
        }
        for l in asks {
            reference.set(Side::Ask, l.price, l.qty);
        }
    }
    let (Some(bid), Some(ask)) = (book.best_bid(), book.best_ask()) else {
        eprintln!("SKIPPED signals_fixed_book: the final book has an empty side");
        return;
    };
    let mid_ticks = 0.5 * (bid.price.0 + ask.price.0) as f64;
    eprintln!(
        "fixed book: {} bid / {} ask levels, touch {} x {} ticks, sizes {} / {} lots",
        book.len(Side::Bid),
        book.len(Side::Ask),
        bid.price.0,
        ask.price.0,
        bid.qty.0,
        ask.qty.0
    );
    let mut group = c.benchmark_group("signals_fixed_book");
    for n in [5usize, 20] {
        group.bench_function(format!("obi_l2book_depth{n}"), |b| {
            b.iter(|| depth_obi(black_box(&book), black_box(n)))
        });
        group.bench_function(format!("obi_btreemap_reference_depth{n}"), |b| {
            b.iter(|| {
                let r = black_box(&reference);
                let n = black_box(n);
                obi_ratio(r.sum_qty(Side::Bid, n), r.sum_qty(Side::Ask, n))
            })
        });
    }
    group.bench_function("weighted_obi_l2book_depth10_lambda5", |b| {
        b.iter(|| weighted_obi(black_box(&book), 10, black_box(mid_ticks), 5.0))
    });
    group.bench_function("microprice_touch", |b| {
        b.iter(|| microprice(black_box(bid), black_box(ask)))
    });
    group.finish();
}

/// The rules of `PreTradeRisk::check_place` written inline over a plain `Vec` (reference).
struct InlineRisk {
    cfg: RiskConfig,
    /// `(order_id, side, qty_lots)` of open orders.
    open: Vec<(u64, Side, i64)>,
    position_lots: i64,
}

impl InlineRisk {
    #[inline]
    fn check(&self, o: &NewOrder, book: &L2Book) -> bool {
        if o.qty.0 < self.cfg.min_order_qty_lots || o.qty.0 > self.cfg.max_order_qty_lots {
            return false;
        }
        if self.open.iter().any(|&(id, _, _)| id == o.order_id.0)
            || self.open.len() >= self.cfg.max_open_orders as usize
        {
            return false;
        }
        let same_side: i64 = self
            .open
            .iter()
            .filter(|&&(_, s, _)| s == o.side)
            .map(|&(_, _, q)| q)
            .sum::<i64>()
            + o.qty.0;
        if (self.position_lots + o.side.sign() * same_side).abs() > self.cfg.max_position_lots {
            return false;
        }
        let (Some(b), Some(a)) = (book.best_bid(), book.best_ask()) else {
            return false;
        };
        let sum = b.price.0 + a.price.0;
        (2 * o.price.0 - sum).abs() * 10_000 <= i64::from(self.cfg.price_band_bps) * sum
    }
}

fn bench_risk(c: &mut Criterion, d: &Diffs) {
    let mut book = L2Book::new();
    load_snapshot(&mut book, d);
    let Some(bid) = book.best_bid() else {
        eprintln!("SKIPPED risk_check: the snapshot has no bids");
        return;
    };
    let cfg = RiskConfig::default();
    let order = NewOrder {
        order_id: OrderId(100),
        instrument: InstrumentId(0),
        side: Side::Bid,
        price: bid.price,
        qty: Lots(10),
        tif: TimeInForce::PostOnly,
        cause_ts_ns: 0,
        reduce_only: false,
    };
    // Three orders already open (ids 1..=3), as a quoting strategy would have.
    let fresh = || {
        let mut risk = PreTradeRisk::new(cfg, 1);
        for id in 1..=3u64 {
            let resting = NewOrder {
                order_id: OrderId(id),
                price: Ticks(bid.price.0 - id as i64),
                ..order
            };
            let _ = risk.check(&Intent::Place(resting), &book, id * 1_000_000_000);
        }
        risk
    };
    let far = Intent::Place(NewOrder {
        price: Ticks(bid.price.0 * 95 / 100),
        ..order
    });
    let large = Intent::Place(NewOrder {
        qty: Lots(cfg.max_order_qty_lots + 1),
        ..order
    });
    let place = Intent::Place(order);
    let canceled = Report::Canceled {
        order_id: order.order_id,
        ts_ns: 0,
    };

    let mut group = c.benchmark_group("risk_check");
    let mut risk = fresh();
    let mut ts_ns = 10_000_000_000u64;
    group.bench_function("pass_then_cancel_report", |b| {
        b.iter(|| {
            // A second apart, so the rate window always admits.
            ts_ns += 1_000_000_000;
            let r = risk.check(black_box(&place), black_box(&book), ts_ns);
            risk.on_report(black_box(&canceled));
            r
        })
    });
    group.bench_function("pass_only_fresh_state", |b| {
        b.iter_batched(
            fresh,
            |mut risk| {
                let r = risk.check(black_box(&place), black_box(&book), 10_000_000_000);
                (risk, r)
            },
            BatchSize::SmallInput,
        )
    });
    let mut risk = fresh();
    group.bench_function("reject_price_band", |b| {
        b.iter(|| risk.check(black_box(&far), black_box(&book), 10_000_000_000))
    });
    group.bench_function("reject_too_large", |b| {
        b.iter(|| risk.check(black_box(&large), black_box(&book), 10_000_000_000))
    });
    let inline = InlineRisk {
        cfg,
        open: (1..=3u64).map(|id| (id, Side::Bid, 10)).collect(),
        position_lots: 0,
    };
    group.bench_function("inline_rules_vec_reference_pass", |b| {
        b.iter(|| black_box(&inline).check(black_box(&order), black_box(&book)))
    });
    group.finish();
}

fn intent(i: u64) -> Intent {
    Intent::Place(NewOrder {
        order_id: OrderId(i),
        instrument: InstrumentId(0),
        side: Side::Bid,
        price: Ticks(268_162),
        qty: Lots(10),
        tif: TimeInForce::PostOnly,
        cause_ts_ns: i,
        reduce_only: false,
    })
}

const RING_CAPACITY: usize = 1024;
const BATCH: u64 = 64;

fn bench_ring(c: &mut Criterion) {
    eprintln!(
        "Intent: {} bytes; rings of {RING_CAPACITY} slots",
        std::mem::size_of::<Intent>()
    );
    let (mut tx, mut rx) = rtrb::RingBuffer::<Intent>::new(RING_CAPACITY);
    let queue = crossbeam::queue::ArrayQueue::<Intent>::new(RING_CAPACITY);
    let (ctx, crx) = crossbeam::channel::bounded::<Intent>(RING_CAPACITY);

    let mut group = c.benchmark_group("ring_intent");
    group.throughput(Throughput::Elements(1));
    let mut i = 0u64;
    group.bench_function("rtrb_push_pop", |b| {
        b.iter(|| {
            i += 1;
            let _ = tx.push(black_box(intent(i)));
            rx.pop().ok()
        })
    });
    group.bench_function("crossbeam_arrayqueue_push_pop", |b| {
        b.iter(|| {
            i += 1;
            let _ = queue.push(black_box(intent(i)));
            queue.pop()
        })
    });
    group.bench_function("crossbeam_channel_bounded_send_recv", |b| {
        b.iter(|| {
            i += 1;
            let _ = ctx.try_send(black_box(intent(i)));
            crx.try_recv().ok()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("ring_intent_batch64");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("rtrb", |b| {
        b.iter(|| {
            for k in 0..BATCH {
                let _ = tx.push(black_box(intent(k)));
            }
            let mut acc = 0u64;
            while let Ok(Intent::Place(o)) = rx.pop() {
                acc = acc.wrapping_add(o.order_id.0);
            }
            acc
        })
    });
    group.bench_function("crossbeam_arrayqueue", |b| {
        b.iter(|| {
            for k in 0..BATCH {
                let _ = queue.push(black_box(intent(k)));
            }
            let mut acc = 0u64;
            while let Some(Intent::Place(o)) = queue.pop() {
                acc = acc.wrapping_add(o.order_id.0);
            }
            acc
        })
    });
    group.bench_function("crossbeam_channel_bounded", |b| {
        b.iter(|| {
            for k in 0..BATCH {
                let _ = ctx.try_send(black_box(intent(k)));
            }
            let mut acc = 0u64;
            while let Ok(Intent::Place(o)) = crx.try_recv() {
                acc = acc.wrapping_add(o.order_id.0);
            }
            acc
        })
    });
    group.finish();
}

/// The counters the runtime mirrors on each publish (`runtime/publish.rs`).
const PUBLISHED_COUNTERS: usize = 22;

fn bench_shm(c: &mut Criterion) {
    let info = WriterInfo {
        pid: std::process::id(),
        start_unix_ns: 1,
        instruments: &["ETHUSDT"],
    };
    let mut writer = match StatsWriter::anonymous(&info) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("SKIPPED shm_publish: no anonymous mapping: {e}");
            return;
        }
    };
    let counters = &CounterId::ALL[..PUBLISHED_COUNTERS.min(CounterId::ALL.len())];
    eprintln!(
        "shm publish: {} counters, {} gauges, {} instrument gauges",
        counters.len(),
        GaugeId::ALL.len(),
        InstrumentGaugeId::ALL.len()
    );
    let mut group = c.benchmark_group("shm_publish");
    let mut n = 0u64;
    group.bench_function("stats_writer_counters_and_seqlock_gauges", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            let v = black_box(n);
            for (k, &id) in counters.iter().enumerate() {
                writer.set_counter(id, v + k as u64);
            }
            writer.publish(|g| {
                for (k, &id) in GaugeId::ALL.iter().enumerate() {
                    g.set(id, (v + k as u64) as i64);
                }
                for (k, &id) in InstrumentGaugeId::ALL.iter().enumerate() {
                    g.set_instrument(0, id, (v + k as u64) as i64);
                }
            });
        })
    });
    let mut plain = [0u64; 64];
    let globals = GaugeId::ALL.len();
    group.bench_function("plain_array_reference", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            let v = black_box(n);
            let p = black_box(&mut plain);
            for (k, &id) in counters.iter().enumerate() {
                p[id.slot()] = v + k as u64;
            }
            for (k, &id) in GaugeId::ALL.iter().enumerate() {
                p[counters.len() + id.slot()] = v + k as u64;
            }
            for (k, &id) in InstrumentGaugeId::ALL.iter().enumerate() {
                p[counters.len() + globals + id.slot()] = v + k as u64;
            }
            black_box(p);
        })
    });
    group.finish();
}

fn bench_micro(c: &mut Criterion) {
    if let Some(d) = load() {
        eprintln!(
            "{} diffs, {} level updates after the snapshot",
            d.diffs.len(),
            d.levels
        );
        bench_signals(c, &d);
        bench_risk(c, &d);
    }
    bench_ring(c);
    bench_shm(c);
}

criterion_group!(benches, bench_micro);
criterion_main!(benches);
