//! The writer's hot-path methods never allocate (counted by a per-thread counting allocator).
#![cfg(not(loom))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use obi_shm::{CounterId, GaugeId, InstrumentGaugeId, StatsWriter, WriterInfo};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; only counts calls on this thread.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn writer_hot_path_does_not_allocate() {
    let mut writer = StatsWriter::anonymous(&WriterInfo {
        pid: 1,
        start_unix_ns: 0,
        instruments: &["BTCUSDT"],
    })
    .expect("writer");
    let view = writer.view();
    view.request_kill(1);

    let before = ALLOCATIONS.with(Cell::get);
    for i in 0..1_000u64 {
        writer.add_counter(CounterId::FramesTotal, 1);
        writer.set_counter(CounterId::BytesTotal, i * 100);
        writer.publish(|g| {
            g.set(GaugeId::LatencyP99Ns, i as i64);
            g.set_instrument(0, InstrumentGaugeId::ObiPpm, -(i as i64));
        });
        writer.heartbeat(i);
        if let Some(seq) = writer.poll_control().kill_seq {
            writer.ack_kill(seq);
        }
        if let Some(seq) = writer.poll_control().reset_seq {
            writer.ack_reset(seq);
        }
    }
    let after = ALLOCATIONS.with(Cell::get);
    assert_eq!(after - before, 0, "hot-path writer methods allocated");
    assert_eq!(view.counters().get(CounterId::FramesTotal), 1_000);
    assert_eq!(view.control_state().kill_ack_seq, 1);
}
