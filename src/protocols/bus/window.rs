//! A receiver's dedup window: the ids it delivered recently, in a
//! set-associative table so that a lookup and an insertion touch one cache
//! line (at a thousand receivers the windows do not fit in cache together).
//!
//! The table has `sets` sets of [`WAYS`] entries, `sets` a power of two with
//! `sets × WAYS ≥ dedup_window`. An id lives in the set its hash picks; when
//! that set is full, the entry published earliest is pushed out (its
//! publication time is returned, for the at-most-once floor). So the window
//! holds at least the `dedup_window` most recent ids only approximately: an
//! id may be pushed out a little early by newer ids of its own set.

use super::arena;

/// Entries per set: four (id, publication time) pairs are one 64-byte line.
pub const WAYS: usize = 4;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(64))]
struct Set {
    /// `id + 1`, 0 for a free entry.
    ids: [u64; WAYS],
    /// Publication times.
    ats: [u64; WAYS],
}

/// A window's sets: a block of the bus's huge-page arena ([`super::arena`]),
/// or none.
#[derive(Default)]
struct Sets(Option<arena::Block>);

impl Sets {
    /// `n` zeroed (free) sets, `n` a power of two.
    fn zeroed(n: usize) -> Sets {
        Sets(Some(arena::Block::zeroed(n * std::mem::size_of::<Set>())))
    }
}

impl std::ops::Deref for Sets {
    type Target = [Set];
    #[inline]
    fn deref(&self) -> &[Set] {
        match &self.0 {
            // SAFETY: the block is ours, 64-byte aligned, `bytes` long and
            // initialised (zeroed: free sets, or written as sets since).
            Some(b) => unsafe {
                std::slice::from_raw_parts(b.as_ptr() as *const Set, b.bytes() / std::mem::size_of::<Set>())
            },
            None => &[],
        }
    }
}

impl std::ops::DerefMut for Sets {
    #[inline]
    fn deref_mut(&mut self) -> &mut [Set] {
        match &mut self.0 {
            // SAFETY: as in `deref`, and borrowed mutably through `self`.
            Some(b) => unsafe {
                std::slice::from_raw_parts_mut(b.as_ptr() as *mut Set, b.bytes() / std::mem::size_of::<Set>())
            },
            None => &mut [],
        }
    }
}

impl Clone for Sets {
    fn clone(&self) -> Sets {
        if self.is_empty() {
            return Sets(None);
        }
        let mut copy = Sets::zeroed(self.len());
        copy.copy_from_slice(self);
        copy
    }
}

impl PartialEq for Sets {
    fn eq(&self, other: &Sets) -> bool {
        **self == **other
    }
}

impl Eq for Sets {}

impl std::fmt::Debug for Sets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The set of a window of `2^(64 - shift)` sets that `id` goes to.
#[inline]
fn set_index(shift: u32, id: u64) -> usize {
    if shift >= 64 {
        return 0;
    }
    (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}

/// Where a window's sets were when last looked at: enough to prefetch the
/// set of an id without reading the window (another cache line). A hint
/// that went stale (the window was reallocated or copied since) only makes
/// a prefetch useless: it is never dereferenced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hint {
    /// The address of the first set; 0 for a window with none.
    addr: usize,
    shift: u32,
}

impl Hint {
    /// Starts loading the cache line that holds `id`'s set.
    #[inline]
    pub fn prefetch(self, id: u64) {
        if let Some(at) = self.set_addr(id) {
            crate::engine::prefetch(at as *const u8);
        }
    }

    /// The address of `id`'s set, if the window had sets.
    #[inline]
    fn set_addr(self, id: u64) -> Option<usize> {
        (self.addr != 0).then(|| {
            self.addr
                .wrapping_add(set_index(self.shift, id) * std::mem::size_of::<Set>())
        })
    }
}

/// The ids a receiver delivered recently (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DedupWindow {
    sets: Sets,
    /// `64 - log2(sets)`: the shift that turns a hash into a set index.
    shift: u32,
    len: u32,
}

impl DedupWindow {
    /// An empty window of at least `capacity` entries (allocated at the
    /// first insertion).
    fn sized(capacity: u32) -> DedupWindow {
        let sets = (capacity as usize).div_ceil(WAYS).next_power_of_two().max(1);
        DedupWindow {
            sets: Sets::zeroed(sets),
            shift: 64 - sets.trailing_zeros(),
            len: 0,
        }
    }

    #[inline]
    fn set_of(&self, id: u64) -> usize {
        set_index(self.shift, id)
    }

    /// Where this window's sets are now, for [`Hint::prefetch`].
    #[inline]
    pub fn hint(&self) -> Hint {
        let addr = if self.sets.is_empty() {
            0
        } else {
            self.sets.as_ptr() as usize
        };
        Hint {
            addr,
            shift: self.shift,
        }
    }

    /// Whether `id` is in the window.
    #[inline]
    pub fn contains(&self, id: u64) -> bool {
        if self.sets.is_empty() {
            return false;
        }
        self.sets[self.set_of(id)].ids.contains(&(id + 1))
    }

    /// Adds `id`, published at `at`, to a window of `capacity` entries.
    /// Returns the publication time of the entry it pushed out, if any.
    #[inline]
    pub fn insert(&mut self, capacity: u32, id: u64, at: u64) -> Option<u64> {
        if self.sets.is_empty() {
            *self = DedupWindow::sized(capacity);
        }
        let s = self.set_of(id);
        let set = &mut self.sets[s];
        if set.ids.contains(&(id + 1)) {
            return None;
        }
        if let Some(free) = set.ids.iter().position(|&x| x == 0) {
            set.ids[free] = id + 1;
            set.ats[free] = at;
            self.len += 1;
            return None;
        }
        // Full: the entry published earliest (the first of equals) goes.
        let mut old = 0;
        for w in 1..WAYS {
            if set.ats[w] < set.ats[old] {
                old = w;
            }
        }
        let pushed = set.ats[old];
        set.ids[old] = id + 1;
        set.ats[old] = at;
        Some(pushed)
    }

    /// Ids held.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether it holds no id.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every id.
    pub fn clear(&mut self) {
        *self = DedupWindow::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_recent_ids_and_pushes_out_the_oldest_of_a_full_set() {
        let mut w = DedupWindow::default();
        assert!(!w.contains(7));
        assert_eq!(w.insert(64, 7, 100), None);
        assert!(w.contains(7));
        assert!(!w.contains(8));
        // A window of 64: 16 sets of 4. Fill well past it: every id pushed
        // out is older than every id that stays, set by set.
        let mut pushed = 0;
        for i in 0..1000u64 {
            if w.insert(64, 1000 + i, 1000 + i).is_some() {
                pushed += 1;
            }
        }
        assert_eq!(w.len() as u64 + pushed, 1001);
        assert!(w.len() <= 64);
        // The most recent ids are there (each set keeps its newest four).
        let recent = (1990..2000u64).filter(|&i| w.contains(i)).count();
        assert_eq!(recent, 10);
        assert!(!w.contains(7));
        // Ids 0 and u64::MAX - 1 are ids like any other.
        let mut z = DedupWindow::default();
        z.insert(8, 0, 0);
        assert!(z.contains(0) && !z.contains(1));
    }

    #[test]
    fn a_copy_is_its_own_window() {
        // A crash-surviving window is copied when the engine keeps the
        // persisted state: the copy must not share the sets.
        let mut w = DedupWindow::default();
        assert_eq!(w.clone(), w);
        for id in 0..100u64 {
            w.insert(256, id, id);
        }
        let copy = w.clone();
        assert_eq!(copy, w);
        assert_ne!(copy.hint(), w.hint());
        w.insert(256, 5000, 5000);
        assert!(w.contains(5000) && !copy.contains(5000));
        assert_ne!(copy, w);
        assert!((0..100u64).all(|id| copy.contains(id)));
        // Cleared, then used again: a fresh, empty window.
        w.clear();
        assert!(w.is_empty() && !w.contains(5000));
        w.insert(256, 1, 1);
        assert!(w.contains(1) && !w.contains(2) && w.len() == 1);
    }

    #[test]
    fn the_hint_points_at_the_set_an_id_lives_in() {
        let mut w = DedupWindow::default();
        // No sets yet: nothing to prefetch.
        assert_eq!(w.hint().set_addr(7), None);
        let ids: Vec<u64> = (0..300u64).map(|i| i * 7919 + (i << 40)).collect();
        for (k, &id) in ids.iter().enumerate() {
            w.insert(1024, id, k as u64);
        }
        let h = w.hint();
        for &id in &ids {
            let set = &w.sets[w.set_of(id)];
            assert_eq!(h.set_addr(id), Some(set as *const Set as usize), "id {id}");
            assert!(set.ids.contains(&(id + 1)), "id {id} in its set");
        }
        // A window of one set: every id goes there.
        let mut one = DedupWindow::default();
        one.insert(4, 5, 0);
        let h = one.hint();
        assert_eq!(h.set_addr(u64::MAX), Some(one.sets.as_ptr() as usize));
    }
}
