//! Binance depth synchronisation: REST snapshot + sequenced diffs, as real data shows it.
//!
//! The rules (see `shared/data/README.md`, checked on real captures):
//! - **spot**: drop diffs with `u <= lastUpdateId`; the first applied diff has
//!   `U <= lastUpdateId + 1 <= u`; then each diff must have `U == previous u + 1`.
//! - **futures** (USD-M, COIN-M): drop diffs with `u < lastUpdateId`; the first applied diff
//!   has `U <= lastUpdateId <= u`; then each diff's `pu` must equal the previous diff's `u`.
//!
//! Diffs that arrive before the snapshot are buffered (levels copied into reusable storage)
//! and applied once it lands. A broken chain is a gap: the book is invalid from that moment,
//! diffs are buffered again and a resync (fresh snapshot) is requested.

use crate::book::L2Book;
use crate::feed::event::{DepthDiff, DepthSnapshot};
use crate::instrument::{InstrumentId, Market};
use crate::units::{Level, Side};

/// Most diffs kept while waiting for a snapshot; older ones are discarded past this.
pub const MAX_BUFFERED_DIFFS: usize = 4096;

/// Where an instrument's book stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncState {
    /// No usable book: buffering diffs until a snapshot arrives.
    AwaitingSnapshot,
    /// Snapshot loaded; waiting for the diff that straddles its `lastUpdateId`.
    AwaitingFirstDiff {
        /// The snapshot's `lastUpdateId`.
        snapshot_id: u64,
    },
    /// In sequence; `last_final_id` is the `u` of the last applied diff.
    Synced {
        /// Final update id of the last applied diff.
        last_final_id: u64,
    },
}

/// What happened to one diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffAction {
    /// Applied to the book.
    Applied,
    /// Kept until a snapshot arrives.
    Buffered,
    /// Older than the book (already covered by the snapshot or a previous diff): dropped.
    Stale,
    /// Sequence broken: the book is now invalid and a resync is needed.
    Gap,
    /// Applying it left the book crossed: treated like a gap.
    Crossed,
}

/// Counts from loading one snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SnapshotOutcome {
    /// Buffered diffs applied on top of the snapshot.
    pub applied: u32,
    /// Buffered diffs dropped as older than the snapshot.
    pub stale: u32,
    /// True when the buffered diffs did not continue the snapshot (it is too old or a diff
    /// is missing): the book stays invalid and another snapshot is needed.
    pub gap: bool,
    /// True when a buffered diff left the book crossed.
    pub crossed: bool,
    /// True when the book was already in sequence, so the snapshot was not needed.
    pub ignored: bool,
}

#[derive(Clone, Copy, Debug)]
struct BufferedDiff {
    first_update_id: u64,
    final_update_id: u64,
    prev_final_update_id: Option<u64>,
    event_time_ms: i64,
    levels_start: usize,
    n_bids: usize,
    n_asks: usize,
}

/// Sequence state of one instrument's book, applying diffs to an [`L2Book`].
#[derive(Debug)]
pub struct BookSync {
    instrument: InstrumentId,
    futures: bool,
    state: SyncState,
    buffered: Vec<BufferedDiff>,
    buffered_levels: Vec<Level>,
    discarded: u64,
}

impl BookSync {
    /// A book sync for `market`, starting without a snapshot.
    pub fn new(instrument: InstrumentId, market: Market) -> BookSync {
        BookSync {
            instrument,
            futures: market.is_futures(),
            state: SyncState::AwaitingSnapshot,
            buffered: Vec::with_capacity(256),
            buffered_levels: Vec::with_capacity(16 * 1024),
            discarded: 0,
        }
    }

    /// Current state.
    pub fn state(&self) -> SyncState {
        self.state
    }

    /// True when the book may be used for signals and trading.
    pub fn is_valid(&self) -> bool {
        !matches!(self.state, SyncState::AwaitingSnapshot)
    }

    /// Diffs currently held waiting for a snapshot.
    pub fn buffered(&self) -> usize {
        self.buffered.len()
    }

    /// Diffs thrown away because the wait buffer was full.
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// Forgets the book: the next snapshot starts over (used after a reconnect).
    pub fn reset(&mut self, book: &mut L2Book) {
        book.clear();
        self.state = SyncState::AwaitingSnapshot;
        self.buffered.clear();
        self.buffered_levels.clear();
    }

    /// Handles one diff; `on_applied(book, final_update_id)` runs after each applied diff.
    pub fn on_diff(
        &mut self,
        diff: &DepthDiff<'_>,
        book: &mut L2Book,
        on_applied: &mut impl FnMut(&L2Book, u64),
    ) -> DiffAction {
        match self.state {
            SyncState::AwaitingSnapshot => {
                self.buffer(diff);
                DiffAction::Buffered
            }
            SyncState::AwaitingFirstDiff { snapshot_id } => {
                self.first_diff(snapshot_id, diff, book, on_applied)
            }
            SyncState::Synced { last_final_id } => {
                if diff.final_update_id <= last_final_id {
                    return DiffAction::Stale;
                }
                let chained = match (self.futures, diff.prev_final_update_id) {
                    (true, Some(pu)) => pu == last_final_id,
                    _ => diff.first_update_id == last_final_id + 1,
                };
                if !chained {
                    self.invalidate(book);
                    self.buffer(diff);
                    return DiffAction::Gap;
                }
                self.apply(diff, book, on_applied)
            }
        }
    }

    /// Loads a snapshot, then applies the buffered diffs that continue it.
    pub fn on_snapshot(
        &mut self,
        snapshot: &DepthSnapshot<'_>,
        book: &mut L2Book,
        on_applied: &mut impl FnMut(&L2Book, u64),
    ) -> SnapshotOutcome {
        if matches!(self.state, SyncState::Synced { .. }) {
            // An in-sequence book is exact; an older snapshot would only rewind it.
            return SnapshotOutcome {
                ignored: true,
                ..SnapshotOutcome::default()
            };
        }
        book.clear();
        for l in snapshot.bids {
            book.set(Side::Bid, l.price, l.qty);
        }
        for l in snapshot.asks {
            book.set(Side::Ask, l.price, l.qty);
        }
        self.state = SyncState::AwaitingFirstDiff {
            snapshot_id: snapshot.last_update_id,
        };
        let mut outcome = SnapshotOutcome::default();
        let pending = std::mem::take(&mut self.buffered);
        let levels = std::mem::take(&mut self.buffered_levels);
        for b in &pending {
            let bids = &levels[b.levels_start..b.levels_start + b.n_bids];
            let asks = &levels[b.levels_start + b.n_bids..b.levels_start + b.n_bids + b.n_asks];
            let diff = DepthDiff {
                instrument: self.instrument,
                event_time_ms: b.event_time_ms,
                first_update_id: b.first_update_id,
                final_update_id: b.final_update_id,
                prev_final_update_id: b.prev_final_update_id,
                bids,
                asks,
            };
            if !self.is_valid() {
                // A gap inside the buffer: keep the rest for the next snapshot.
                self.buffer(&diff);
                continue;
            }
            match self.on_diff(&diff, book, on_applied) {
                DiffAction::Applied => outcome.applied += 1,
                DiffAction::Stale => outcome.stale += 1,
                DiffAction::Gap => outcome.gap = true,
                DiffAction::Crossed => outcome.crossed = true,
                DiffAction::Buffered => {}
            }
        }
        // Hand the (now drained) storage back so its capacity is reused.
        let (mut pending, mut levels) = (pending, levels);
        pending.clear();
        levels.clear();
        if self.buffered.is_empty() {
            self.buffered = pending;
            self.buffered_levels = levels;
        }
        outcome
    }

    fn first_diff(
        &mut self,
        snapshot_id: u64,
        diff: &DepthDiff<'_>,
        book: &mut L2Book,
        on_applied: &mut impl FnMut(&L2Book, u64),
    ) -> DiffAction {
        // Spot: the snapshot covers ids up to lastUpdateId, so the next needed id is +1.
        let needed = if self.futures {
            snapshot_id
        } else {
            snapshot_id + 1
        };
        let older = if self.futures {
            diff.final_update_id < snapshot_id
        } else {
            diff.final_update_id <= snapshot_id
        };
        if older {
            return DiffAction::Stale;
        }
        if diff.first_update_id <= needed && needed <= diff.final_update_id {
            return self.apply(diff, book, on_applied);
        }
        // The first diff after the snapshot starts beyond it: ids are missing.
        self.invalidate(book);
        self.buffer(diff);
        DiffAction::Gap
    }

    fn apply(
        &mut self,
        diff: &DepthDiff<'_>,
        book: &mut L2Book,
        on_applied: &mut impl FnMut(&L2Book, u64),
    ) -> DiffAction {
        for l in diff.bids {
            book.set(Side::Bid, l.price, l.qty);
        }
        for l in diff.asks {
            book.set(Side::Ask, l.price, l.qty);
        }
        if book.is_crossed() {
            self.invalidate(book);
            return DiffAction::Crossed;
        }
        self.state = SyncState::Synced {
            last_final_id: diff.final_update_id,
        };
        on_applied(book, diff.final_update_id);
        DiffAction::Applied
    }

    fn invalidate(&mut self, book: &mut L2Book) {
        book.clear();
        self.state = SyncState::AwaitingSnapshot;
        self.buffered.clear();
        self.buffered_levels.clear();
    }

    fn buffer(&mut self, diff: &DepthDiff<'_>) {
        if self.buffered.len() >= MAX_BUFFERED_DIFFS {
            // Drop everything held: a snapshot new enough to need these cannot exist yet.
            self.discarded += self.buffered.len() as u64;
            self.buffered.clear();
            self.buffered_levels.clear();
        }
        let levels_start = self.buffered_levels.len();
        self.buffered_levels.extend_from_slice(diff.bids);
        self.buffered_levels.extend_from_slice(diff.asks);
        self.buffered.push(BufferedDiff {
            first_update_id: diff.first_update_id,
            final_update_id: diff.final_update_id,
            prev_final_update_id: diff.prev_final_update_id,
            event_time_ms: diff.event_time_ms,
            levels_start,
            n_bids: diff.bids.len(),
            n_asks: diff.asks.len(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(first: u64, last: u64, pu: Option<u64>, bids: &[Level]) -> DepthDiff<'_> {
        DepthDiff {
            instrument: InstrumentId(0),
            event_time_ms: 0,
            first_update_id: first,
            final_update_id: last,
            prev_final_update_id: pu,
            bids,
            asks: &[],
        }
    }

    fn snapshot(id: u64) -> DepthSnapshot<'static> {
        const BIDS: [Level; 1] = [Level::new(100, 1)];
        const ASKS: [Level; 1] = [Level::new(101, 1)];
        DepthSnapshot {
            instrument: InstrumentId(0),
            last_update_id: id,
            bids: &BIDS,
            asks: &ASKS,
        }
    }

    fn noop() -> impl FnMut(&L2Book, u64) {
        |_, _| {}
    }

    #[test]
    fn spot_buffers_then_applies_straddling_diff() {
        let mut s = BookSync::new(InstrumentId(0), Market::Spot);
        let mut book = L2Book::new();
        let lv = [Level::new(99, 5)];
        assert_eq!(
            s.on_diff(&diff(5, 9, None, &lv), &mut book, &mut noop()),
            DiffAction::Buffered
        );
        assert_eq!(
            s.on_diff(&diff(10, 12, None, &lv), &mut book, &mut noop()),
            DiffAction::Buffered
        );
        // Real spot data: first applicable diff has U == lastUpdateId + 1.
        let out = s.on_snapshot(&snapshot(9), &mut book, &mut noop());
        assert_eq!(
            out,
            SnapshotOutcome {
                applied: 1,
                stale: 1,
                ..SnapshotOutcome::default()
            }
        );
        assert_eq!(s.state(), SyncState::Synced { last_final_id: 12 });
        assert_eq!(
            s.on_diff(&diff(13, 13, None, &lv), &mut book, &mut noop()),
            DiffAction::Applied
        );
        assert_eq!(
            s.on_diff(&diff(15, 16, None, &lv), &mut book, &mut noop()),
            DiffAction::Gap
        );
        assert!(!s.is_valid());
        assert!(book.is_empty());
    }

    #[test]
    fn futures_chain_by_pu() {
        let mut s = BookSync::new(InstrumentId(0), Market::UsdM);
        let mut book = L2Book::new();
        let lv = [Level::new(99, 5)];
        s.on_snapshot(&snapshot(100), &mut book, &mut noop());
        assert_eq!(
            s.on_diff(&diff(90, 99, Some(80), &lv), &mut book, &mut noop()),
            DiffAction::Stale
        );
        assert_eq!(
            s.on_diff(&diff(95, 105, Some(94), &lv), &mut book, &mut noop()),
            DiffAction::Applied
        );
        // Futures ids are not contiguous: only pu matters.
        assert_eq!(
            s.on_diff(&diff(110, 120, Some(105), &lv), &mut book, &mut noop()),
            DiffAction::Applied
        );
        assert_eq!(
            s.on_diff(&diff(130, 140, Some(125), &lv), &mut book, &mut noop()),
            DiffAction::Gap
        );
    }

    #[test]
    fn snapshot_older_than_buffer_is_a_gap() {
        let mut s = BookSync::new(InstrumentId(0), Market::UsdM);
        let mut book = L2Book::new();
        let lv = [Level::new(99, 5)];
        s.on_diff(&diff(200, 210, Some(190), &lv), &mut book, &mut noop());
        let out = s.on_snapshot(&snapshot(100), &mut book, &mut noop());
        assert!(out.gap);
        assert!(!s.is_valid());
        // The newer diff is kept for the next snapshot.
        assert_eq!(s.buffered(), 1);
        let out = s.on_snapshot(&snapshot(205), &mut book, &mut noop());
        assert_eq!(out.applied, 1);
        assert!(s.is_valid());
    }

    #[test]
    fn crossing_diff_invalidates() {
        let mut s = BookSync::new(InstrumentId(0), Market::Spot);
        let mut book = L2Book::new();
        s.on_snapshot(&snapshot(10), &mut book, &mut noop());
        let crossing = [Level::new(105, 1)];
        assert_eq!(
            s.on_diff(&diff(11, 11, None, &crossing), &mut book, &mut noop()),
            DiffAction::Crossed
        );
        assert!(!s.is_valid());
    }
}
