//! Zero heap allocations per frame on the tick path after warm-up, over a real recording.
//!
//! A counting global allocator wraps the system one. The whole USD-M recording is loaded
//! first; the first part warms up (buffers and books grow to their working size), then every
//! remaining frame goes through the full replay session — parse, sync, book, signals,
//! strategy, risk, intent ring, paper venue, reports — and the allocation count must not move.

mod common;

use obi_engine::instrument::InstrumentId;
use obi_engine::replay::ReplaySession;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// the `GlobalAlloc` contract holds exactly as it does for `System`; we only count.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's; forwarded unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn tick_path_does_not_allocate_after_warm_up() {
    let Some(data) = common::shared_data("tick_path_does_not_allocate_after_warm_up") else {
        return;
    };
    let lines =
        common::recording::read_lines(&data.join("hftbacktest-sample/usdm/ethusdt_20240808.gz"));
    let frames: Vec<(u64, Vec<u8>)> = lines
        .iter()
        .filter_map(|l| {
            let (ns, json) = l.split_once(' ')?;
            Some((ns.parse().ok()?, json.as_bytes().to_vec()))
        })
        .collect();
    let mut cfg = common::eth_usdm_config();
    // Trade actively, so the order path (risk, ring, venue, reports, portfolio) is exercised.
    cfg.strategy.long_threshold = 0.2;
    cfg.strategy.short_threshold = 0.2;
    let mut session = ReplaySession::new(&cfg, None);
    let max_len = frames.iter().map(|(_, f)| f.len()).max().unwrap_or(0);
    let mut buf = Vec::with_capacity(max_len);
    let warm = frames.len() / 3;
    let run = |session: &mut ReplaySession, buf: &mut Vec<u8>, range: std::ops::Range<usize>| {
        for (ns, frame) in &frames[range] {
            buf.clear();
            buf.extend_from_slice(frame);
            session.on_frame(buf, *ns, Some(InstrumentId(0)));
        }
    };
    run(&mut session, &mut buf, 0..warm);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    run(&mut session, &mut buf, warm..frames.len());
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    let c = session.tick().counters;
    eprintln!(
        "measured {} frames after {} warm-up: {} allocations; intents {} fills {} diffs {}",
        frames.len() - warm,
        warm,
        allocations,
        c.intents,
        c.fills,
        c.diffs_applied
    );
    assert!(c.diffs_applied > 1000, "the book did not run");
    assert!(c.intents > 0, "the order path was not exercised");
    assert_eq!(allocations, 0, "tick path allocated after warm-up");
}
