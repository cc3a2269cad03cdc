//! One side of the fast book: a dense, bitmap-indexed window of price slots near the best
//! level plus a sorted overflow `Vec` for every level outside the window.
//!
//! The ladder is side-agnostic: it stores `i64` keys where the *highest* key is the best
//! level. The bid side uses the price as key; the ask side uses `!price` (bitwise not), which
//! reverses the order without overflow for every `i64`, so one code path serves both sides.
//!
//! Invariants (checked by `debug_assert!` in [`Ladder::check_invariants`] in tests):
//! - `qty[i] != 0` exactly when bit `i` of `bits` is set; `count` is the number of set bits;
//! - when `count > 0`, `top` is the highest set bit;
//! - `overflow` is strictly ascending by key, holds no key inside `[base, base + window)`
//!   and no zero quantity;
//! - `below == overflow.partition_point(|&(k, _)| k < base)`: the overflow levels below the
//!   window are `overflow[..below]`, those above it `overflow[below..]`;
//! - `base <= i64::MAX - (window - 1)`, so `base + idx` never overflows;
//! - `overflow.capacity()` and `scratch.capacity()` are at least `len()`, so neither an
//!   overflow insert nor a re-centre allocates once the level count has reached its
//!   high-water mark.

use std::fmt;

/// Bits per occupancy word.
const WORD_BITS: usize = 64;

/// Smallest and largest window, in ticks (slots). Always a power of two, a multiple of 64.
pub(crate) const MIN_WINDOW: usize = 64;
pub(crate) const MAX_WINDOW: usize = 1 << 22;

/// One side of an L2 book, keyed so that the highest key is the best level.
#[derive(Clone)]
pub(crate) struct Ladder {
    /// Key of slot 0 of the window.
    base: i64,
    /// Quantity per window slot; 0 means "no level".
    qty: Box<[i64]>,
    /// Occupancy bitmap of `qty`, one bit per slot.
    bits: Box<[u64]>,
    /// Number of occupied window slots.
    count: usize,
    /// Highest occupied slot; meaningful only when `count > 0`.
    top: usize,
    /// Levels outside the window as `(key, qty)`, ascending by key.
    overflow: Vec<(i64, i64)>,
    /// Number of overflow levels below the window (cached so top-N reads need no search).
    below: usize,
    /// Reused buffer for re-centring, so that re-centring does not allocate.
    scratch: Vec<(i64, i64)>,
    /// Number of re-centres done (a gauge for tuning the window size).
    recentres: u64,
}

impl fmt::Debug for Ladder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The dense arrays are thousands of slots: summarise instead of dumping them.
        f.debug_struct("Ladder")
            .field("base", &self.base)
            .field("window", &self.qty.len())
            .field("in_window", &self.count)
            .field("in_overflow", &self.overflow.len())
            .field("best", &self.best())
            .field("recentres", &self.recentres)
            .finish()
    }
}

impl Ladder {
    /// An empty ladder with a window of `window` slots (rounded up to a power of two within
    /// `[MIN_WINDOW, MAX_WINDOW]`) and room for `levels` levels before allocating again.
    pub(crate) fn new(window: usize, levels: usize) -> Ladder {
        let window = window.clamp(MIN_WINDOW, MAX_WINDOW).next_power_of_two();
        Ladder {
            base: 0,
            qty: vec![0; window].into_boxed_slice(),
            bits: vec![0; window / WORD_BITS].into_boxed_slice(),
            count: 0,
            top: 0,
            overflow: Vec::with_capacity(levels),
            below: 0,
            scratch: Vec::with_capacity(levels),
            recentres: 0,
        }
    }

    /// Window size in slots.
    #[inline]
    pub(crate) fn window(&self) -> usize {
        self.qty.len()
    }

    /// Number of levels.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.count + self.overflow.len()
    }

    /// Number of re-centres so far.
    pub(crate) fn recentres(&self) -> u64 {
        self.recentres
    }

    /// Window slot of `key`, if it lies inside the window.
    #[inline]
    fn slot(&self, key: i64) -> Option<usize> {
        // i128 so that keys at the i64 extremes cannot overflow the subtraction.
        let off = i128::from(key) - i128::from(self.base);
        if off >= 0 && off < self.qty.len() as i128 {
            Some(off as usize)
        } else {
            None
        }
    }

    /// Key of window slot `idx` (`idx < window`, which cannot overflow by the base invariant).
    #[inline]
    fn key_of(&self, idx: usize) -> i64 {
        self.base + idx as i64
    }

    /// Removes every level; keeps all allocated memory.
    pub(crate) fn clear(&mut self) {
        // Only touch occupied words: a sparse window is cleared in O(window / 64).
        for w in 0..self.bits.len() {
            let mut word = self.bits[w];
            while word != 0 {
                let b = word.trailing_zeros() as usize;
                self.qty[w * WORD_BITS + b] = 0;
                word &= word - 1;
            }
            self.bits[w] = 0;
        }
        self.count = 0;
        self.top = 0;
        self.overflow.clear();
        self.below = 0;
    }

    /// Quantity at `key` (0 when there is no level).
    #[inline]
    pub(crate) fn get(&self, key: i64) -> i64 {
        match self.slot(key) {
            Some(idx) => self.qty[idx],
            None => match self.overflow.binary_search_by_key(&key, |&(k, _)| k) {
                Ok(i) => self.overflow[i].1,
                Err(_) => 0,
            },
        }
    }

    /// Best (highest-key) level as `(key, qty)`.
    #[inline]
    pub(crate) fn best(&self) -> Option<(i64, i64)> {
        // A level above the window is rare (only between a jump of the touch and the
        // re-centre that follows it in the same `set`), but it is the best when present.
        // Overflow keys are never inside the window, so `k > base` means "above the window".
        if let Some(&(k, q)) = self.overflow.last()
            && (self.count == 0 || k > self.base)
        {
            return Some((k, q));
        }
        if self.count > 0 {
            return Some((self.key_of(self.top), self.qty[self.top]));
        }
        None
    }

    /// Sets `key` to `qty` (`qty == 0` deletes; deleting an absent level is a no-op).
    /// `qty` must be non-negative; the caller rejects negative quantities.
    pub(crate) fn set(&mut self, key: i64, qty: i64) {
        debug_assert!(qty >= 0);
        match self.slot(key) {
            Some(idx) => self.set_in_window(idx, qty),
            None => self.set_in_overflow(key, qty),
        }
        self.maybe_recentre();
    }

    fn set_in_window(&mut self, idx: usize, qty: i64) {
        let old = self.qty[idx];
        self.qty[idx] = qty;
        let (w, bit) = (idx / WORD_BITS, 1u64 << (idx % WORD_BITS));
        if qty == 0 {
            if old != 0 {
                self.bits[w] &= !bit;
                self.count -= 1;
                if self.count > 0 && idx == self.top {
                    // Next best is usually a few ticks away: a short backwards bit scan.
                    self.top = self.prev_set(idx).unwrap_or(0);
                }
            }
        } else if old == 0 {
            self.reserve_for_one_more();
            self.bits[w] |= bit;
            self.top = if self.count == 0 {
                idx
            } else {
                self.top.max(idx)
            };
            self.count += 1;
        }
    }

    fn set_in_overflow(&mut self, key: i64, qty: i64) {
        match self.overflow.binary_search_by_key(&key, |&(k, _)| k) {
            Ok(i) if qty == 0 => {
                self.overflow.remove(i);
                if key < self.base {
                    self.below -= 1;
                }
            }
            Ok(i) => self.overflow[i].1 = qty,
            Err(_) if qty == 0 => {}
            Err(i) => {
                self.reserve_for_one_more();
                self.overflow.insert(i, (key, qty));
                if key < self.base {
                    self.below += 1;
                }
            }
        }
    }

    /// Grows `overflow` and `scratch` to hold `len() + 1` levels, before a level is added.
    /// This is the only place the ladder allocates after construction, and it only does so
    /// when the level count exceeds every earlier count.
    fn reserve_for_one_more(&mut self) {
        let need = self.len() + 1;
        if self.overflow.capacity() < need {
            self.overflow.reserve(need - self.overflow.len());
        }
        if self.scratch.capacity() < need {
            self.scratch.reserve(need - self.scratch.len());
        }
    }

    /// Highest set slot strictly below `idx`.
    #[inline]
    fn prev_set(&self, idx: usize) -> Option<usize> {
        let mut w = idx / WORD_BITS;
        let b = idx % WORD_BITS;
        // Bits strictly below `b` in the first word; `b == 0` leaves none.
        let mut word = self.bits[w] & ((1u64 << b) - 1);
        loop {
            if word != 0 {
                return Some(w * WORD_BITS + (WORD_BITS - 1 - word.leading_zeros() as usize));
            }
            if w == 0 {
                return None;
            }
            w -= 1;
            word = self.bits[w];
        }
    }

    /// Base that puts `best` three quarters up the window: most levels lie below the best
    /// (depth), and a quarter of the window is left for the touch to improve into.
    fn base_for(&self, best: i64) -> i64 {
        let w = self.window() as i64;
        best.saturating_sub(w - w / 4).min(i64::MAX - (w - 1))
    }

    /// Re-centres when the best has left the band `[w/8, w - w/16)` of the window. The band
    /// is the hysteresis: after a re-centre the best sits at `3w/4`, so the next one needs a
    /// move of at least `3w/16` ticks up or `5w/8` down.
    #[inline]
    fn maybe_recentre(&mut self) {
        let Some((best, _)) = self.best() else { return };
        let w = self.window() as i128;
        let off = i128::from(best) - i128::from(self.base);
        if off >= w / 8 && off < w - w / 16 {
            return;
        }
        let new_base = self.base_for(best);
        // Near the i64 extremes the clamp can reproduce the current base; re-centring would
        // then change nothing and repeat on every call.
        if new_base != self.base {
            self.recentre(new_base);
        }
    }

    /// Moves the window to start at `new_base`: O(levels + window / 64), no allocation.
    #[cold]
    fn recentre(&mut self, new_base: i64) {
        self.recentres += 1;
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        // All levels in ascending key order: overflow below the window, window, overflow above.
        let split = self.below;
        scratch.extend_from_slice(&self.overflow[..split]);
        for w in 0..self.bits.len() {
            let mut word = self.bits[w];
            while word != 0 {
                let idx = w * WORD_BITS + word.trailing_zeros() as usize;
                scratch.push((self.key_of(idx), self.qty[idx]));
                self.qty[idx] = 0;
                word &= word - 1;
            }
            self.bits[w] = 0;
        }
        scratch.extend_from_slice(&self.overflow[split..]);
        self.overflow.clear();
        self.below = 0;
        self.count = 0;
        self.top = 0;
        self.base = new_base;
        for &(k, q) in &scratch {
            match self.slot(k) {
                Some(idx) => {
                    self.qty[idx] = q;
                    self.bits[idx / WORD_BITS] |= 1u64 << (idx % WORD_BITS);
                    // Ascending order: the last slot written is the top.
                    self.top = idx;
                    self.count += 1;
                }
                // Ascending input keeps the overflow sorted.
                None => {
                    if k < new_base {
                        self.below += 1;
                    }
                    self.overflow.push((k, q));
                }
            }
        }
        scratch.clear();
        self.scratch = scratch;
    }

    /// Calls `f(key, qty)` for up to `n` levels, best first, until it returns false.
    ///
    /// The same order as [`Ladder::iter`], but a plain loop over bitmap words: top-N reads
    /// run every diff, and this is several times faster than driving the iterator's state
    /// machine one level at a time.
    #[inline]
    pub(crate) fn walk(&self, mut n: usize, mut f: impl FnMut(i64, i64) -> bool) {
        if n == 0 {
            return;
        }
        for &(k, q) in self.overflow[self.below..].iter().rev() {
            n -= 1;
            if !f(k, q) || n == 0 {
                return;
            }
        }
        if self.count > 0 {
            let mut w = self.top / WORD_BITS;
            // Only bits at or below `top` in the first word (all of them when top is bit 63).
            let mut word = self.bits[w] & (u64::MAX >> (WORD_BITS - 1 - self.top % WORD_BITS));
            loop {
                while word != 0 {
                    let b = WORD_BITS - 1 - word.leading_zeros() as usize;
                    word &= !(1u64 << b);
                    let idx = w * WORD_BITS + b;
                    n -= 1;
                    if !f(self.key_of(idx), self.qty[idx]) || n == 0 {
                        return;
                    }
                }
                if w == 0 {
                    break;
                }
                w -= 1;
                word = self.bits[w];
            }
        }
        for &(k, q) in self.overflow[..self.below].iter().rev() {
            n -= 1;
            if !f(k, q) || n == 0 {
                return;
            }
        }
    }

    /// Levels as `(key, qty)`, best (highest key) first.
    pub(crate) fn iter(&self) -> LadderIter<'_> {
        LadderIter {
            ladder: self,
            phase: Phase::Above,
            above_next: self.overflow.len(),
            above_end: self.below,
            slot: if self.count > 0 { Some(self.top) } else { None },
            below_next: self.below,
        }
    }

    /// Checks every invariant listed in the module doc; for tests.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let w = self.window();
        assert!(w.is_power_of_two() && w.is_multiple_of(WORD_BITS));
        assert!(self.base <= i64::MAX - (w as i64 - 1));
        let mut count = 0;
        let mut top = None;
        for idx in 0..w {
            let set = self.bits[idx / WORD_BITS] >> (idx % WORD_BITS) & 1 == 1;
            assert_eq!(set, self.qty[idx] != 0, "slot {idx}");
            if set {
                count += 1;
                top = Some(idx);
            }
        }
        assert_eq!(count, self.count);
        if let Some(t) = top {
            assert_eq!(t, self.top);
        }
        for pair in self.overflow.windows(2) {
            assert!(pair[0].0 < pair[1].0);
        }
        for &(k, q) in &self.overflow {
            assert!(self.slot(k).is_none(), "overflow key {k} inside window");
            assert!(q != 0);
        }
        assert_eq!(
            self.below,
            self.overflow.partition_point(|&(k, _)| k < self.base)
        );
        assert!(self.overflow.capacity() >= self.len());
        assert!(self.scratch.capacity() >= self.len());
    }
}

/// Which part of the ladder an iterator is walking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Overflow levels above the window, walking down.
    Above,
    /// Window slots, walking down the bitmap.
    Window,
    /// Overflow levels below the window, walking down.
    Below,
}

/// Iterator over a ladder's levels, best first. Allocation-free.
#[derive(Clone, Debug)]
pub(crate) struct LadderIter<'a> {
    ladder: &'a Ladder,
    phase: Phase,
    /// One past the next overflow index to yield while above the window.
    above_next: usize,
    /// First overflow index above the window.
    above_end: usize,
    /// Next window slot to yield.
    slot: Option<usize>,
    /// One past the next overflow index to yield below the window.
    below_next: usize,
}

impl Iterator for LadderIter<'_> {
    type Item = (i64, i64);

    #[inline]
    fn next(&mut self) -> Option<(i64, i64)> {
        let l = self.ladder;
        loop {
            match self.phase {
                Phase::Above => {
                    if self.above_next > self.above_end {
                        self.above_next -= 1;
                        return l.overflow.get(self.above_next).copied();
                    }
                    self.phase = Phase::Window;
                }
                Phase::Window => match self.slot {
                    Some(idx) => {
                        self.slot = l.prev_set(idx);
                        return Some((l.key_of(idx), l.qty[idx]));
                    }
                    None => self.phase = Phase::Below,
                },
                Phase::Below => {
                    if self.below_next == 0 {
                        return None;
                    }
                    self.below_next -= 1;
                    return l.overflow.get(self.below_next).copied();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_rounds_to_power_of_two_within_bounds() {
        assert_eq!(Ladder::new(0, 0).window(), MIN_WINDOW);
        assert_eq!(Ladder::new(1000, 0).window(), 1024);
        assert_eq!(Ladder::new(usize::MAX, 0).window(), MAX_WINDOW);
    }

    #[test]
    fn prev_set_crosses_words() {
        let mut l = Ladder::new(256, 0);
        // The first level re-centres the window so that key 3 sits at slot 192.
        l.set(3, 1);
        l.set(-150, 1);
        l.check_invariants();
        let (lo, hi) = (l.slot(-150).unwrap_or(999), l.slot(3).unwrap_or(999));
        assert_eq!((lo, hi), (39, 192));
        assert_eq!(l.prev_set(hi), Some(lo));
        assert_eq!(l.prev_set(lo), None);
    }

    #[test]
    fn recentre_follows_the_best_and_keeps_levels() {
        let mut l = Ladder::new(64, 0);
        for k in [10, 11, 500, -7, 1_000_000, i64::MIN, i64::MAX] {
            l.set(k, 5);
            l.check_invariants();
        }
        assert_eq!(l.best(), Some((i64::MAX, 5)));
        let keys: Vec<i64> = l.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![i64::MAX, 1_000_000, 500, 11, 10, -7, i64::MIN]);
        l.set(i64::MAX, 0);
        l.check_invariants();
        assert_eq!(l.best(), Some((1_000_000, 5)));
        assert!(l.recentres() >= 2);
    }
}
