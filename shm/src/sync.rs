//! Atomics and spin hints, swapped for loom's model-checked versions under `cfg(loom)`.
//!
//! Everything in this crate that synchronises goes through this module, so
//! `RUSTFLAGS="--cfg loom"` checks the real seqlock code, not a copy of it.

#[cfg(not(loom))]
pub(crate) mod atomic {
    #[allow(unused_imports, reason = "not every item is used in every cfg")]
    pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};
}

#[cfg(loom)]
pub(crate) mod atomic {
    #[allow(unused_imports, reason = "not every item is used in every cfg")]
    pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};
}

/// Busy-wait hint; under loom it yields so the model checker can run the writer.
#[cfg(not(loom))]
pub(crate) use std::hint::spin_loop;

#[cfg(loom)]
pub(crate) use loom::hint::spin_loop;
