//! A single-writer sequence lock over a slice of atomics: the writer never waits, readers retry.
//!
//! Every protected field is an atomic read `Relaxed` inside the sequence protocol, never plain
//! data (crossbeam's note: a seqlock over non-atomic data is a data race even if the torn value
//! is discarded). The type borrows its atomics, so the same code runs over a memory-mapped file
//! and, under `cfg(loom)`, over loom atomics on the heap.

use crate::sync::atomic::{AtomicU64, Ordering, fence};
use crate::sync::spin_loop;

/// A seqlock view: one sequence word and the payload it protects.
///
/// Invariant: at most one thread (in any process) calls [`SeqLock::write`] on the same
/// sequence word at a time. Breaking it cannot cause undefined behaviour (everything is
/// atomic) but readers may then accept torn snapshots.
#[derive(Debug, Clone, Copy)]
pub struct SeqLock<'a> {
    /// Even: no write in progress. Odd: a write section is open.
    seq: &'a AtomicU64,
    data: &'a [AtomicU64],
}

/// No consistent snapshot could be read within the allowed attempts: the writer was
/// mid-section every time, or it stopped inside a section (crash) and the sequence stayed odd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no consistent snapshot after {attempts} attempts (writer busy, or stopped mid-write)")]
pub struct Contended {
    /// How many read attempts were made.
    pub attempts: u32,
}

impl<'a> SeqLock<'a> {
    /// Wraps a sequence word and the payload it protects.
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// use obi_shm::SeqLock;
    ///
    /// let seq = AtomicU64::new(0);
    /// let data = [AtomicU64::new(0), AtomicU64::new(0)];
    /// let lock = SeqLock::new(&seq, &data);
    /// assert_eq!(lock.len(), 2);
    /// ```
    #[must_use]
    pub const fn new(seq: &'a AtomicU64, data: &'a [AtomicU64]) -> Self {
        Self { seq, data }
    }

    /// Number of protected payload words.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the payload has no words.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Runs one write section: `f` stores the payload with `Relaxed` stores.
    ///
    /// Must only be called by the single writer (see the type's invariant). Never blocks,
    /// allocates or makes a syscall.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use obi_shm::SeqLock;
    ///
    /// let seq = AtomicU64::new(0);
    /// let data = [AtomicU64::new(0), AtomicU64::new(0)];
    /// let lock = SeqLock::new(&seq, &data);
    /// lock.write(|d| {
    ///     d[0].store(7, Ordering::Relaxed);
    ///     d[1].store(8, Ordering::Relaxed);
    /// });
    /// let mut out = [0; 2];
    /// assert_eq!(lock.read(&mut out, 4), Ok(2));
    /// assert_eq!(out, [7, 8]);
    /// ```
    #[inline]
    pub fn write<R>(&self, f: impl FnOnce(&'a [AtomicU64]) -> R) -> R {
        // Relaxed: only this writer stores `seq`, so it always reads its own last store.
        let start = self.seq.load(Ordering::Relaxed);
        debug_assert!(
            start.is_multiple_of(2),
            "seqlock write re-entered, or a second writer"
        );
        self.seq.store(start.wrapping_add(1), Ordering::Relaxed);
        // Release fence: keeps the odd store above before every payload store in `f`. Pairs
        // with the reader's Acquire fence: a reader whose Relaxed payload load saw a store from
        // this section then sees this odd value (or later) when it reloads `seq`, and retries.
        fence(Ordering::Release);
        let out = f(self.data);
        // Release: publishes the payload stores of this section. Pairs with the reader's
        // Acquire load of `seq` at the start of an attempt.
        self.seq.store(start.wrapping_add(2), Ordering::Release);
        out
    }

    /// Copies a consistent snapshot of the payload into `out` (which must have
    /// [`len`](Self::len) words), trying at most `max_attempts` times.
    ///
    /// Returns the (even) sequence number of the snapshot. Never blocks beyond the bounded
    /// spin; never allocates.
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// use obi_shm::{Contended, SeqLock};
    ///
    /// let seq = AtomicU64::new(1); // odd: a writer that never finished
    /// let data = [AtomicU64::new(0)];
    /// let mut out = [0; 1];
    /// assert_eq!(SeqLock::new(&seq, &data).read(&mut out, 3), Err(Contended { attempts: 3 }));
    /// ```
    #[inline]
    pub fn read(&self, out: &mut [u64], max_attempts: u32) -> Result<u64, Contended> {
        debug_assert_eq!(out.len(), self.data.len(), "snapshot buffer length");
        for _ in 0..max_attempts {
            // Acquire: pairs with the writer's closing Release store, so every payload store of
            // the section that produced `before` is visible to the loads below.
            let before = self.seq.load(Ordering::Acquire);
            if before.is_multiple_of(2) {
                for (slot, word) in out.iter_mut().zip(self.data) {
                    *slot = word.load(Ordering::Relaxed);
                }
                // Acquire fence: pairs with the writer's Release fence after its odd store (see
                // `write`): if any load above saw a newer section's store, the reload below sees
                // that section's odd sequence or later, so the attempt is rejected.
                fence(Ordering::Acquire);
                let after = self.seq.load(Ordering::Relaxed);
                if before == after {
                    return Ok(before);
                }
            }
            spin_loop();
        }
        Err(Contended {
            attempts: max_attempts,
        })
    }
}
