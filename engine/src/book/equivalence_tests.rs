//! Cross-checks of [`L2Book`] against [`ReferenceBook`]: property tests over random operation
//! sequences, and a replay of a real Binance USD-M recording (with the exchange's own
//! bookTicker as a second oracle).

use super::{L2Book, ReferenceBook};
use crate::units::{Level, Lots, Side, Ticks};
use proptest::prelude::*;

const SIDES: [Side; 2] = [Side::Bid, Side::Ask];

/// Asserts that `fast` and `reference` describe the same book, probing `probes` with `qty_at`.
/// `full` also checks the internal invariants and every level (O(window + levels)).
fn assert_same(fast: &L2Book, reference: &ReferenceBook, probes: &[i64], full: bool) {
    if full {
        fast.check_invariants();
    }
    for side in SIDES {
        assert_eq!(fast.best(side), reference.best(side), "best {side:?}");
        assert_eq!(fast.len(side), reference.len(side), "len {side:?}");
        let depth = if full { usize::MAX } else { 50 };
        let f: Vec<Level> = fast.levels(side).take(depth).collect();
        let r: Vec<Level> = reference.levels(side).take(depth).collect();
        assert_eq!(f, r, "levels {side:?}");
        for n in [0, 1, 2, 5, 10, 20, 70, 200, usize::MAX] {
            assert_eq!(
                fast.sum_qty(side, n),
                reference.sum_qty(side, n),
                "sum_qty {side:?} {n}"
            );
        }
        let mut f10 = Vec::new();
        fast.for_each_level(side, 10, |lv| {
            f10.push(lv);
            true
        });
        assert_eq!(f10[..], r[..r.len().min(10)], "for_each_level {side:?}");
        for &p in probes {
            assert_eq!(
                fast.qty_at(side, Ticks(p)),
                reference.qty_at(side, Ticks(p)),
                "qty_at {p}"
            );
        }
    }
    assert_eq!(fast.best_bid(), reference.best_bid());
    assert_eq!(fast.best_ask(), reference.best_ask());
    assert_eq!(fast.is_crossed(), reference.is_crossed());
    assert_eq!(fast.is_empty(), reference.is_empty());
    assert_eq!(fast.rejected_updates(), reference.rejected_updates());
}

#[derive(Clone, Debug)]
enum Op {
    Set(Side, i64, i64),
    Clear,
    Snapshot(Vec<Level>, Vec<Level>),
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Bid), Just(Side::Ask)]
}

/// Prices: mostly clustered (wider than the small test window, so re-centres happen), some
/// far, a few anywhere in `i64` including the extremes.
fn price() -> impl Strategy<Value = i64> {
    prop_oneof![
        6 => 10_000i64..10_200,
        2 => 0i64..1_000_000,
        1 => -1_000i64..1_000,
        1 => prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(i64::MIN + 1), Just(i64::MAX - 1), any::<i64>()],
    ]
}

/// Quantities: deletes are frequent (many of absent levels), a few refused negatives.
fn qty() -> impl Strategy<Value = i64> {
    prop_oneof![3 => Just(0i64), 6 => 1i64..1_000, 1 => prop_oneof![Just(-1i64), Just(i64::MAX), Just(i64::MIN)]]
}

fn level() -> impl Strategy<Value = Level> {
    (price(), qty()).prop_map(|(p, q)| Level::new(p, q))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        40 => (side(), price(), qty()).prop_map(|(s, p, q)| Op::Set(s, p, q)),
        1 => Just(Op::Clear),
        1 => (prop::collection::vec(level(), 0..40), prop::collection::vec(level(), 0..40))
            .prop_map(|(b, a)| Op::Snapshot(b, a)),
    ]
}

fn apply(op: &Op, fast: &mut L2Book, reference: &mut ReferenceBook) {
    match op {
        Op::Set(s, p, q) => {
            fast.set(*s, Ticks(*p), Lots(*q));
            reference.set(*s, Ticks(*p), Lots(*q));
        }
        Op::Clear => {
            fast.clear();
            reference.clear();
        }
        Op::Snapshot(b, a) => {
            fast.apply_snapshot(b, a);
            reference.apply_snapshot(b, a);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_ops_match_reference(ops in prop::collection::vec(op(), 1..300)) {
        // A tiny window re-centres all the time; the default one mostly does not.
        let mut small = L2Book::with_window(64, 0);
        // (Not the default 16384-slot window: the per-op invariant scan is O(window).)
        let mut wider = L2Book::with_window(1024, 0);
        let mut reference = ReferenceBook::new();
        for op in &ops {
            apply(op, &mut small, &mut reference.clone());
            apply(op, &mut wider, &mut reference);
            let probe = match op { Op::Set(_, p, _) => *p, _ => 10_100 };
            assert_same(&small, &reference, &[probe, probe.wrapping_add(1), 10_000], true);
            assert_same(&wider, &reference, &[probe, probe.wrapping_sub(1), 10_000], true);
        }
    }

    /// A drifting touch: quotes placed around a random walk with jumps, so the window chases
    /// the touch and levels left behind move into the overflow and back.
    #[test]
    fn drifting_touch_matches_reference(
        steps in prop::collection::vec((-400i64..400, 0i64..60, qty(), side()), 1..400),
    ) {
        let mut fast = L2Book::with_window(256, 0);
        let mut reference = ReferenceBook::new();
        let mut mid = 1_000_000i64;
        for &(drift, depth, q, s) in &steps {
            mid += drift;
            let p = match s { Side::Bid => mid - 1 - depth, Side::Ask => mid + depth };
            fast.set(s, Ticks(p), Lots(q));
            reference.set(s, Ticks(p), Lots(q));
            assert_same(&fast, &reference, &[p, mid], true);
        }
    }
}

/// Path of the shared recordings, relative to this crate.
const DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");

/// `"2681.62"` → `268162`: fixed-decimal text to integer units by dropping the dot (tests
/// only; the feed's parser does this properly).
fn fixed(s: &str) -> i64 {
    s.replace('.', "")
        .parse()
        .unwrap_or_else(|e| panic!("bad number {s:?}: {e}"))
}

fn levels_of(v: &serde_json::Value) -> Vec<Level> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|pq| {
                    Level::new(
                        fixed(pq[0].as_str().unwrap_or("x")),
                        fixed(pq[1].as_str().unwrap_or("x")),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A depth diff of the recording: `U`, `u`, `pu`, bids, asks.
type Diff = (i64, i64, i64, Vec<Level>, Vec<Level>);

/// Replays every depth update of the USD-M ETHUSDT recording into both books, asserting
/// equality after every diff; then, with the futures sync rules, builds the book from the REST
/// snapshot and the diffs and checks it against every bookTicker whose `u` is the final id of
/// an applied diff (the exchange's own statement of the top of book).
#[test]
fn real_usdm_recording_matches_reference_and_book_ticker() {
    use std::io::BufRead;
    let path = format!("{DATA_DIR}/hftbacktest-sample/usdm/ethusdt_20240808.gz");
    let Ok(file) = std::fs::File::open(&path) else {
        assert!(
            std::env::var("OBI_REQUIRE_DATA").map_or(true, |v| v != "1"),
            "{path} not found and OBI_REQUIRE_DATA=1"
        );
        // Straight to stderr: the harness captures `println!` of passing tests.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: ../shared/data not found ({path})"
        );
        return;
    };
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));

    let mut fast = L2Book::new();
    let mut reference = ReferenceBook::new();
    let mut snapshot: Option<(i64, Vec<Level>, Vec<Level>)> = None;
    let mut diffs: Vec<Diff> = Vec::new();
    let mut tickers = std::collections::HashMap::new();
    let mut updates = 0u64;

    for line in reader.lines() {
        let line = line.expect("read recording");
        let Some((_, json)) = line.split_once(' ') else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(json).expect("json line");
        if let Some(id) = v.get("lastUpdateId").and_then(|x| x.as_i64()) {
            snapshot = Some((id, levels_of(&v["bids"]), levels_of(&v["asks"])));
            continue;
        }
        let d = &v["data"];
        match d["e"].as_str() {
            Some("depthUpdate") => {
                let (bids, asks) = (levels_of(&d["b"]), levels_of(&d["a"]));
                for (s, lv) in bids
                    .iter()
                    .map(|l| (Side::Bid, l))
                    .chain(asks.iter().map(|l| (Side::Ask, l)))
                {
                    fast.set(s, lv.price, lv.qty);
                    reference.set(s, lv.price, lv.qty);
                    updates += 1;
                }
                let probes: Vec<i64> = bids.iter().chain(&asks).map(|l| l.price.0).collect();
                // Full comparison every 64 diffs and at the end; the top 50 levels every diff.
                assert_same(&fast, &reference, &probes, diffs.len().is_multiple_of(64));
                let ids = (d["U"].as_i64(), d["u"].as_i64(), d["pu"].as_i64());
                let (Some(first), Some(fin), Some(prev)) = ids else {
                    panic!("diff without ids: {d}")
                };
                diffs.push((first, fin, prev, bids, asks));
            }
            Some("bookTicker") => {
                let Some(u) = d["u"].as_i64() else {
                    panic!("bookTicker without u: {d}")
                };
                let bid = Level::new(
                    fixed(d["b"].as_str().unwrap_or("x")),
                    fixed(d["B"].as_str().unwrap_or("x")),
                );
                let ask = Level::new(
                    fixed(d["a"].as_str().unwrap_or("x")),
                    fixed(d["A"].as_str().unwrap_or("x")),
                );
                tickers.insert(u, (Some(bid), Some(ask)));
            }
            _ => {}
        }
    }

    assert_same(&fast, &reference, &[], true);

    // Futures sync: drop diffs with u < lastUpdateId; the first applied one has
    // U <= lastUpdateId <= u; then each diff's pu is the previous diff's u.
    let (snap_id, snap_bids, snap_asks) = snapshot.expect("recording has a REST snapshot");
    let mut synced = L2Book::new();
    synced.apply_snapshot(&snap_bids, &snap_asks);
    let (mut last_u, mut applied, mut checked) = (None, 0u64, 0u64);
    for (first, fin, prev, bids, asks) in &diffs {
        match last_u {
            None if *fin < snap_id => continue,
            None => assert!(*first <= snap_id, "no diff bridges snapshot {snap_id}"),
            Some(lu) => assert_eq!(*prev, lu, "sequence gap after diff u={lu}"),
        }
        for lv in bids {
            synced.set(Side::Bid, lv.price, lv.qty);
        }
        for lv in asks {
            synced.set(Side::Ask, lv.price, lv.qty);
        }
        last_u = Some(*fin);
        applied += 1;
        assert!(!synced.is_crossed(), "crossed after u={fin}");
        if let Some(top) = tickers.get(fin) {
            assert_eq!(
                &(synced.best_bid(), synced.best_ask()),
                top,
                "top after u={fin} vs bookTicker"
            );
            checked += 1;
        }
    }
    println!(
        "replayed {} diffs, {updates} level updates; synced {applied} diffs, {checked} bookTickers \
         matched; final levels bid {} ask {}; recentres bid {} ask {}",
        diffs.len(),
        fast.len(Side::Bid),
        fast.len(Side::Ask),
        fast.recentres(Side::Bid),
        fast.recentres(Side::Ask)
    );
    assert!(
        diffs.len() > 6_000,
        "expected the whole recording, got {} diffs",
        diffs.len()
    );
    assert!(checked > 500, "too few bookTicker checks: {checked}");
}
