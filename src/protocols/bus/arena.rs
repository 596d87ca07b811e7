//! Where the dedup windows' sets live: blocks carved from 2 MiB regions
//! that the kernel is asked to back with huge pages.
//!
//! At a thousand receivers the windows are ~4,000 pages of 4 KiB (16 KiB
//! each by default), more than the TLB holds: a delivery's look-ahead
//! prefetch of its window set costs a page walk before it costs a memory
//! read. On 2 MiB pages the same windows are 8 pages. Only the windows go
//! there, not the whole heap, so protocols with many small nodes (gossip at
//! a million) keep their memory.
//!
//! The blocks are per thread (one simulation runs on one thread) in size
//! classes of powers of two; a freed block waits for the next window of its
//! class. Where blocks live never changes what a run does: only the
//! prefetch hint holds an address, and it is never dereferenced.
//!
//! Huge pages are asked for with `madvise(MADV_HUGEPAGE)` on Linux (they
//! come when transparent huge pages are `always` or `madvise`, the usual
//! default); elsewhere, or when the kernel declines, the regions are
//! ordinary memory and everything works the same.

use std::alloc::Layout;
use std::cell::RefCell;
use std::ptr::NonNull;

/// A region: one huge page, aligned to its size.
const REGION: usize = 2 << 20;
/// The largest block taken from a region (bytes); larger windows (over
/// 32,768 ids) go to the global allocator.
const LARGEST: usize = REGION / 4;
/// The smallest block: one cache line.
const SMALLEST: usize = 64;
/// Size classes, `SMALLEST << c` for `c` below this.
const CLASSES: usize = (LARGEST / SMALLEST).trailing_zeros() as usize + 1;

/// An owned, zero-initialised, 64-byte-aligned block of `bytes` bytes
/// (`bytes` a power of two, at least 64).
pub(super) struct Block {
    ptr: NonNull<u8>,
    bytes: usize,
}

impl Block {
    /// A zeroed block of `bytes` bytes (a power of two, at least 64).
    pub(super) fn zeroed(bytes: usize) -> Block {
        debug_assert!(bytes.is_power_of_two() && bytes >= SMALLEST);
        let ptr = match class(bytes) {
            Some(c) => POOL.with(|p| p.borrow_mut().take(c)),
            None => {
                let layout = Layout::from_size_align(bytes, SMALLEST).expect("a window's size");
                // SAFETY: the layout has a non-zero size.
                let p = unsafe { std::alloc::alloc_zeroed(layout) };
                NonNull::new(p).unwrap_or_else(|| std::alloc::handle_alloc_error(layout))
            }
        };
        Block { ptr, bytes }
    }

    pub(super) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        match class(self.bytes) {
            // A block dropped while its thread ends, after the pool: its
            // region outlives it (see `Pool`'s drop), so it is just left.
            Some(c) => {
                let _ = POOL.try_with(|p| p.borrow_mut().give(c, self.ptr));
            }
            None => {
                let layout = Layout::from_size_align(self.bytes, SMALLEST).expect("a window's size");
                // SAFETY: allocated in `zeroed` with this layout.
                unsafe { std::alloc::dealloc(self.ptr.as_ptr(), layout) };
            }
        }
    }
}

/// The size class of a block of `bytes`, if it comes from the pool.
fn class(bytes: usize) -> Option<usize> {
    (bytes <= LARGEST).then(|| (bytes / SMALLEST).trailing_zeros() as usize)
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

/// One thread's regions and free blocks.
#[derive(Default)]
struct Pool {
    regions: Vec<NonNull<u8>>,
    /// Bytes of the last region not handed out yet.
    left: usize,
    /// Freed blocks, per class.
    free: [Vec<NonNull<u8>>; CLASSES],
    /// Blocks handed out and not given back.
    live: usize,
}

impl Pool {
    fn take(&mut self, c: usize) -> NonNull<u8> {
        let bytes = SMALLEST << c;
        self.live += 1;
        if let Some(p) = self.free[c].pop() {
            // SAFETY: a block of this class, owned by no one now.
            unsafe { std::ptr::write_bytes(p.as_ptr(), 0, bytes) };
            return p;
        }
        if self.left < bytes {
            // The rest of the region (less than a block of this class, and
            // a multiple of 64 bytes) goes to the smaller classes' lists.
            self.spill();
            self.regions.push(region());
            self.left = REGION;
        }
        let last = *self.regions.last().expect("a region");
        self.left -= bytes;
        // SAFETY: within the region; regions are zeroed when made.
        unsafe { last.add(self.left) }
    }

    fn give(&mut self, c: usize, p: NonNull<u8>) {
        self.live -= 1;
        self.free[c].push(p);
    }

    /// Hands the last region's remainder out as free blocks.
    fn spill(&mut self) {
        let Some(&last) = self.regions.last() else {
            return;
        };
        // Blocks are carved from the region's end, so the remainder is its
        // first `left` bytes; split it by the bits of `left`, largest first,
        // each block aligned to its size.
        let mut at = 0;
        for c in (0..CLASSES).rev() {
            let bytes = SMALLEST << c;
            if self.left & bytes != 0 {
                // SAFETY: within the region.
                let p = unsafe { last.add(at) };
                // Fresh memory: zeroed on the way out like any free block.
                self.free[c].push(p);
                at += bytes;
            }
        }
        self.left = 0;
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Blocks still live (held by something a thread-local destructor
        // drops later) keep their regions: those are left to the process.
        if self.live == 0 {
            for &r in &self.regions {
                // SAFETY: allocated by `region` with this layout.
                unsafe { std::alloc::dealloc(r.as_ptr(), region_layout()) };
            }
        }
    }
}

fn region_layout() -> Layout {
    Layout::from_size_align(REGION, REGION).expect("2 MiB")
}

/// A zeroed region, advised to be backed by a huge page.
fn region() -> NonNull<u8> {
    let layout = region_layout();
    // Not `alloc_zeroed`: at this alignment it writes the zeros itself,
    // which would fault the region in as small pages before the advice.
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { std::alloc::alloc(layout) };
    let Some(p) = NonNull::new(p) else {
        std::alloc::handle_alloc_error(layout)
    };
    #[cfg(target_os = "linux")]
    // SAFETY: the range is this region, ours; the advice changes only how
    // the kernel backs it (it fails harmlessly where THP is off).
    unsafe {
        libc::madvise(p.as_ptr().cast(), REGION, libc::MADV_HUGEPAGE);
    }
    // SAFETY: the region is ours and `REGION` bytes long.
    unsafe { std::ptr::write_bytes(p.as_ptr(), 0, REGION) };
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_zeroed_aligned_disjoint_and_reused() {
        let mut held: Vec<Block> = Vec::new();
        // Mixed sizes, more than one region's worth.
        for i in 0..600 {
            let bytes = SMALLEST << (i % 9);
            let b = Block::zeroed(bytes);
            assert_eq!(b.as_ptr() as usize % SMALLEST, 0);
            // SAFETY: the block's own bytes.
            let s = unsafe { std::slice::from_raw_parts_mut(b.as_ptr(), b.bytes()) };
            assert!(s.iter().all(|&x| x == 0));
            s.fill(0xA5);
            held.push(b);
        }
        let mut spans: Vec<(usize, usize)> =
            held.iter().map(|b| (b.as_ptr() as usize, b.as_ptr() as usize + b.bytes())).collect();
        spans.sort();
        assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0), "blocks overlap");
        // A freed block is handed out again, zeroed.
        let addr = held[5].as_ptr() as usize;
        let bytes = held[5].bytes();
        held.swap_remove(5);
        let again = Block::zeroed(bytes);
        assert_eq!(again.as_ptr() as usize, addr);
        // SAFETY: the block's own bytes.
        let s = unsafe { std::slice::from_raw_parts(again.as_ptr(), again.bytes()) };
        assert!(s.iter().all(|&x| x == 0));
        // Past the pool's largest class: the global allocator.
        let big = Block::zeroed(LARGEST * 2);
        assert_eq!(big.as_ptr() as usize % SMALLEST, 0);
    }
}
