//! The core thread's journal call, [`JournalSender::push`], allocates nothing — whether the
//! ring has room or is full.

use obi_engine::instrument::InstrumentId;
use obi_engine::journal::{self, JournalConfig, JournalWriter, RecordBody, StatePaths};
use obi_engine::order::{Fill, Liquidity, OrderId};
use obi_engine::units::{Lots, Side, Ticks};
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

#[test]
fn journal_push_does_not_allocate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = journal::recover(&StatePaths::new(dir.path())).expect("recover");
    // A writer that sleeps long between drains, so the small ring fills during the loop.
    let config = JournalConfig {
        ring_capacity: 64,
        idle_sleep_us: 100_000,
        ..JournalConfig::default()
    };
    let (mut tx, writer) =
        JournalWriter::spawn(rec.journal, rec.state, None, &config).expect("spawn");
    let fill = Fill {
        order_id: OrderId(1),
        instrument: InstrumentId(0),
        side: Side::Bid,
        price: Ticks(100),
        qty: Lots(1),
        leaves_qty: Lots(0),
        fee: 0,
        liquidity: Liquidity::Taker,
        ts_ns: 1,
    };
    MEASURED.with(|m| m.set(true));
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut full = 0u64;
    for i in 0..500u64 {
        if tx.push(i, RecordBody::Fill(fill)).is_err() {
            full += 1;
        }
        let _ = tx.durable_seq();
        let _ = tx.is_failed();
    }
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    MEASURED.with(|m| m.set(false));
    assert!(full > 0, "the ring filled during the loop");
    drop(tx);
    writer.finish().expect("finish");
    assert_eq!(after - before, 0, "journal push allocated");
}
