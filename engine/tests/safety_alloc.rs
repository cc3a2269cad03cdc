//! The core thread's safety calls allocate nothing after construction: every breaker
//! update, `evaluate`, a trip, and the kill watch's `poll` when nothing happened (inotify
//! drained with no events, and the timed `stat` check).

use obi_engine::instrument::InstrumentId;
use obi_engine::order::OrderId;
use obi_engine::safety::{
    BreakerConfig, Breakers, FlattenConfig, FlattenInput, KillConfig, KillWatch, ReasonCode,
    flatten_order,
};
use obi_engine::units::Ticks;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Set on the thread under measurement: only its allocations count (the test harness
    /// and helper threads allocate on their own schedule).
    static MEASURED: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if MEASURED.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// the `GlobalAlloc` contract holds exactly as it does for `System`; we only count.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's; forwarded unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const S: u64 = 1_000_000_000;
const T0: u64 = 20_415 * 86_400 * S;

#[test]
fn safety_calls_do_not_allocate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = vec![dir.path().join("KILL"), dir.path().join("obi.stop")];
    let mut inotify_watch = KillWatch::new(&paths, &KillConfig::default()).expect("watch");
    let mut timed_watch = KillWatch::new(
        &paths,
        &KillConfig {
            use_inotify: false,
            ..KillConfig::default()
        },
    )
    .expect("watch");
    // Unrelated activity in the directory, so the inotify drain reads real events.
    std::fs::write(dir.path().join("other"), b"x").expect("write");
    let mut b = Breakers::new(&BreakerConfig::default(), 4);
    let flatten = FlattenConfig {
        on_halt: true,
        ..FlattenConfig::default()
    };

    MEASURED.with(|m| m.set(true));
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut trips = 0;
    for step in 0..20_000u64 {
        let now = T0 + step * 1_000_000;
        let id = InstrumentId((step % 4) as u16);
        b.on_equity(10_000_000_000 - (step as i64 % 1_000) * 1_000, now);
        b.on_mid(id, 200_000 + (step % 50) as i64, now);
        b.on_book(id, !step.is_multiple_of(7), now);
        b.on_fill(id, (step % 3) as i64 - 1);
        b.on_round_trip(if step.is_multiple_of(2) { -1 } else { 1 });
        b.on_order_sent(now);
        if step.is_multiple_of(10) {
            b.on_reject(now);
        }
        b.on_rate_limit(if step == 10_000 { 95 } else { step % 50 }, 100);
        if step.is_multiple_of(5_000) {
            b.on_reconnect(now);
        }
        if b.evaluate(now).is_some() {
            trips += 1;
        }
        let _ = b.anchors();
        inotify_watch.on_readable();
        assert_eq!(inotify_watch.poll(step * 1_000_000), None);
        assert_eq!(timed_watch.poll(step * 1_000_000), None);
        let _ = flatten_order(
            &flatten,
            &FlattenInput {
                instrument: id,
                position_lots: 3,
                best_bid: Some(Ticks(100)),
                best_ask: Some(Ticks(101)),
                attempts_made: 0,
                order_id: OrderId(step),
                ts_ns: now,
            },
        );
    }
    let _ = b.on_kill(ReasonCode::ControlWord, T0);
    b.on_intent_ring_full(T0);
    b.on_journal_unavailable();
    let _ = b.evaluate(T0);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    MEASURED.with(|m| m.set(false));
    assert!(trips > 0, "the loop exercised a trip");
    assert_eq!(allocations, 0, "safety calls allocated {allocations} times");
}
