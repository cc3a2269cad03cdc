//! Proves that [`L2Book`] does not allocate after warm-up: a counting global allocator counts
//! allocations while a realistic update stream (near-touch churn, far levels, a drifting
//! touch that forces window re-centres, top-N reads) is replayed a second time.

use obi_engine::book::L2Book;
use obi_engine::units::{Lots, Side, Ticks};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counts allocations made while `COUNTING` is set; otherwise just the system allocator.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees are ours; the counters are plain atomics and never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` via `alloc`/`realloc` above with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged; `ptr`/`layout` came from `System` as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Deterministic xorshift so the stream is the same on every run without a `rand` dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

/// One update: side, price in ticks, quantity in lots.
type Update = (Side, i64, i64);

/// A stream shaped like the ETHUSDT USD-M recording: the touch (tick 0.01) random-walks and
/// makes two large excursions of ±1500 ticks (so the window re-centres both ways), most
/// updates land within 50 ticks of the touch, a tenth are far (up to 300 000 ticks away,
/// like the 200.00 bids under a 2681 touch), a third are deletes.
fn stream() -> Vec<Vec<Update>> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut mid = 268_162i64;
    let mut diffs = Vec::new();
    for i in 0..6_000 {
        let excursion = match i % 3_000 {
            1_000..=1_999 => 2,
            2_000..=2_499 => -3,
            _ => 0,
        };
        mid += rng.below(5) - 2 + excursion;
        let mut diff = Vec::new();
        for _ in 0..30 {
            let side = if rng.below(2) == 0 {
                Side::Bid
            } else {
                Side::Ask
            };
            let dist = if rng.below(10) == 0 {
                rng.below(300_000)
            } else {
                rng.below(50)
            };
            let price = match side {
                Side::Bid => mid - 1 - dist,
                Side::Ask => mid + dist,
            };
            let qty = if rng.below(3) == 0 {
                0
            } else {
                1 + rng.below(100_000)
            };
            diff.push((side, price, qty));
        }
        diffs.push(diff);
    }
    diffs
}

/// Applies the stream, reading what the signal code reads after every diff.
fn replay(book: &mut L2Book, diffs: &[Vec<Update>]) -> i64 {
    let mut acc = 0i64;
    for diff in diffs {
        for &(side, price, qty) in diff {
            book.set(side, Ticks(price), Lots(qty));
        }
        let touch = book.best_bid().map_or(0, |l| l.qty.0) + book.best_ask().map_or(0, |l| l.qty.0);
        acc = acc.wrapping_add(touch);
        acc = acc.wrapping_add(book.sum_qty(Side::Bid, 10) - book.sum_qty(Side::Ask, 10));
        book.for_each_level(Side::Ask, 20, |lv| {
            acc = acc.wrapping_add(lv.qty.0);
            true
        });
        acc = acc.wrapping_add(
            book.levels(Side::Bid)
                .take(5)
                .map(|l| l.price.0)
                .sum::<i64>(),
        );
    }
    acc
}

/// Warms `book` up with one pass, clears it, and counts allocations during a second pass.
/// Returns (allocations, re-centres during the counted pass).
fn allocs_after_warm_up(mut book: L2Book, diffs: &[Vec<Update>]) -> (u64, u64) {
    // Warm-up: the first pass takes the level count to its high-water mark.
    let warm = replay(&mut book, diffs);
    let recentres_warm = book.recentres(Side::Bid) + book.recentres(Side::Ask);
    // Clearing does not give memory back, so the same stream again (like a resync from a
    // snapshot) stays under the mark.
    book.clear();
    let before = ALLOCS.load(Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let again = replay(&mut book, diffs);
    COUNTING.store(false, Ordering::SeqCst);
    let allocs = ALLOCS.load(Ordering::SeqCst) - before;
    assert_eq!(warm, again, "same stream, same reads");
    assert!(book.len(Side::Bid) > 1_000, "far levels must accumulate");
    (
        allocs,
        book.recentres(Side::Bid) + book.recentres(Side::Ask) - recentres_warm,
    )
}

#[test]
fn book_does_not_allocate_after_warm_up() {
    let diffs = stream();
    // The default book, and a narrow window that re-centres often on the same stream.
    let (allocs_default, _) = allocs_after_warm_up(L2Book::new(), &diffs);
    let (allocs_narrow, recentres) = allocs_after_warm_up(L2Book::with_window(1024, 0), &diffs);
    assert!(
        recentres > 4,
        "the stream must exercise re-centring, got {recentres}"
    );
    assert_eq!(
        (allocs_default, allocs_narrow),
        (0, 0),
        "allocations after warm-up"
    );
}
