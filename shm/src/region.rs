//! A shared memory mapping seen as the layout's atomics; the only place raw pointers live.

use std::ptr::NonNull;
use std::sync::Arc;

use memmap2::MmapMut;

use crate::layout::{LAYOUT_LEN_BYTES, MappedLayout, Prefix};
use crate::sync::atomic::Ordering;

/// A mapping at least [`LAYOUT_LEN_BYTES`] long, shared by a writer and any views of it.
#[derive(Debug, Clone)]
pub(crate) struct Region {
    /// Invariant: points at the first byte of `map`, which is page aligned (so aligned for
    /// `MappedLayout`) and at least `size_of::<MappedLayout>()` bytes long, and stays mapped
    /// while `map` lives. Its bytes are only ever accessed through the atomics of
    /// `MappedLayout`: nothing in this crate derefs `map` as `[u8]`.
    base: NonNull<MappedLayout>,
    map: Arc<MmapMut>,
}

// SAFETY: `Region` only hands out `&MappedLayout`, which is all atomics and therefore `Sync`;
// the raw pointer is just a cached address inside `map`, which is `Send + Sync` and kept alive
// by the `Arc`.
unsafe impl Send for Region {}
// SAFETY: as above: shared access goes through atomics only.
unsafe impl Sync for Region {}

impl Region {
    /// Takes ownership of a mapping; gives it back if it is too short for the layout.
    pub(crate) fn new(mut map: MmapMut) -> Result<Self, MmapMut> {
        if map.len() < LAYOUT_LEN_BYTES {
            return Err(map);
        }
        let base = map.as_mut_ptr().cast::<MappedLayout>();
        debug_assert!(base.is_aligned(), "mmap returns page-aligned memory");
        let Some(base) = NonNull::new(base) else {
            return Err(map);
        };
        Ok(Self {
            base,
            map: Arc::new(map),
        })
    }

    /// The file's fields.
    #[inline]
    pub(crate) fn layout(&self) -> &MappedLayout {
        // SAFETY: `base` is aligned, in bounds for the whole `MappedLayout` and mapped for as
        // long as `self.map` lives, which outlives the returned borrow (invariant on `base`).
        // `MappedLayout` is only atomics, valid for any bit pattern, and all mutation by this
        // or other processes goes through those atomics, so a shared reference is sound.
        unsafe { self.base.as_ref() }
    }

    /// Length of the mapping in bytes.
    pub(crate) fn len_bytes(&self) -> usize {
        self.map.len()
    }
}

/// Reads `(magic, layout_version)` from a mapping that may be shorter than the full layout.
/// The version is loaded first, with Acquire (pairs with the writer's Release store of the
/// version, which it stores last), so when it is non-zero every header field is visible.
/// Returns `None` if the mapping is shorter than the prefix.
pub(crate) fn read_prefix(map: &mut MmapMut) -> Option<(u64, u64)> {
    if map.len() < size_of::<Prefix>() {
        return None;
    }
    let ptr = map.as_mut_ptr().cast::<Prefix>();
    debug_assert!(ptr.is_aligned(), "mmap returns page-aligned memory");
    // SAFETY: the mapping is at least `size_of::<Prefix>()` bytes, page aligned, and stays
    // mapped while `map` is borrowed here; `Prefix` is two atomics, valid for any bits, and
    // other processes only modify them atomically.
    let prefix = unsafe { &*ptr };
    // Acquire: pairs with the writer's Release store of the version (see `StatsWriter::init`).
    let version = prefix.layout_version.load(Ordering::Acquire);
    let magic = prefix.magic.load(Ordering::Relaxed);
    Some((magic, version))
}
