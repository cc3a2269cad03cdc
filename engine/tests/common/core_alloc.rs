//! A counting global allocator for the zero-allocation tests: counts what one thread (the
//! live core thread) allocates, and keeps a backtrace of the first allocation made while
//! measuring, so a failure names its cause. Install it in the test crate with
//! `#[global_allocator] static GLOBAL: CoreThreadCounting = CoreThreadCounting;`.
//!
//! One allocation is known and bounded, and counted apart: tungstenite's frame read buffer
//! grows (amortized doubling) the first time a burst larger than any before arrives while
//! a frame is half read. Its size cannot be set apart from the per-read size, so a feed
//! that never bursts during warm-up may grow it once later; tests allow a few such growths
//! and nothing else.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The allocator.
pub struct CoreThreadCounting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static MEASURING: AtomicBool = AtomicBool::new(false);
static FIRST: Mutex<Option<String>> = Mutex::new(None);
static READ_BUFFER_GROWTHS: AtomicU64 = AtomicU64::new(0);
static OTHER: AtomicU64 = AtomicU64::new(0);

/// The frame in a backtrace that marks tungstenite's read-buffer growth.
const READ_BUFFER_FRAME: &str = "tungstenite::protocol::frame::FrameCodec::read_frame";

thread_local! {
    // Set on the thread whose allocations count.
    static COUNT_HERE: Cell<bool> = const { Cell::new(false) };
    // Set while a backtrace is taken (that allocates too).
    static IN_BACKTRACE: Cell<bool> = const { Cell::new(false) };
}

/// Counts the calling thread's allocations from now on.
pub fn count_this_thread() {
    COUNT_HERE.with(|c| c.set(true));
}

/// Starts a measurement window.
pub fn start_measuring() {
    READ_BUFFER_GROWTHS.store(0, Ordering::Relaxed);
    OTHER.store(0, Ordering::Relaxed);
    MEASURING.store(true, Ordering::Relaxed);
}

/// What the window saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measured {
    /// Allocations other than the read-buffer growth: must be 0.
    pub other: u64,
    /// tungstenite read-buffer growths (bounded; see the module docs).
    pub read_buffer_growths: u64,
}

/// Ends the window.
pub fn stop_measuring() -> Measured {
    MEASURING.store(false, Ordering::Relaxed);
    Measured {
        other: OTHER.load(Ordering::Relaxed),
        read_buffer_growths: READ_BUFFER_GROWTHS.load(Ordering::Relaxed),
    }
}

/// The backtrace of the first counted allocation inside a window, other than a read-buffer
/// growth ("" if none).
pub fn first_allocation() -> String {
    FIRST
        .lock()
        .map(|f| f.clone().unwrap_or_default())
        .unwrap_or_default()
}

fn count() {
    if !COUNT_HERE.try_with(Cell::get).unwrap_or(false)
        || IN_BACKTRACE.try_with(Cell::get).unwrap_or(true)
    {
        return;
    }
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    if MEASURING.load(Ordering::Relaxed) {
        IN_BACKTRACE.with(|b| b.set(true));
        let trace = std::backtrace::Backtrace::force_capture().to_string();
        if trace.contains(READ_BUFFER_FRAME) {
            READ_BUFFER_GROWTHS.fetch_add(1, Ordering::Relaxed);
        } else {
            OTHER.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut first) = FIRST.lock() {
                first.get_or_insert(trace);
            }
        }
        IN_BACKTRACE.with(|b| b.set(false));
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract holds exactly as it does for `System`; we only count.
unsafe impl GlobalAlloc for CoreThreadCounting {
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

/// Most read-buffer growths a test accepts in one window (doubling from 128 KiB: a few at
/// most before it covers any frame the feed sends).
pub const MAX_READ_BUFFER_GROWTHS: u64 = 3;
