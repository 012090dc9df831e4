//! The provided-buffer ring multishot receives pick their buffers from: `count`
//! buffers of `size` bytes in one allocation, and the ring of descriptors the kernel
//! reads them from (page-aligned, as the kernel requires). A buffer goes back to the
//! ring as soon as its bytes are copied out; the new tail is published to the kernel
//! once per loop, before the driver enters the ring.
//!
//! Only some of the buffers circulate at first (`INITIAL`): the kernel takes ring
//! entries in order, so every buffer in circulation ends up touched, and a shard that
//! never has more than a few receives in flight would otherwise still hold all of them
//! in its RSS. When a receive finds the ring empty (ENOBUFS) more buffers join, up to
//! `count`. An idle shard gives the buffers' pages back (`release_pages`): a bulk load
//! does not keep them in its RSS.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::types::BufRingEntry;
use io_uring::IoUring;

/// Buffers in circulation at first.
const INITIAL: u16 = 16;

pub struct BufRing {
    ring: *mut BufRingEntry,
    ring_layout: Layout,
    bufs: *mut u8,
    bufs_layout: Layout,
    size: usize,
    count: u16,
    /// Buffers `0..active` circulate; the rest have never been handed out.
    active: u16,
    /// Our copy of the tail; the kernel sees it after `publish`.
    tail: u16,
    dirty: bool,
}

impl BufRing {
    /// The heap bytes the ring and its buffers take.
    pub fn bytes_held(&self) -> usize {
        self.ring_layout.size() + self.bufs_layout.size()
    }

    /// Allocates and registers a ring of `count` (a power of two) buffers of `size`
    /// bytes as buffer group `group`.
    pub fn new(ring: &IoUring, group: u16, count: u16, size: usize) -> std::io::Result<BufRing> {
        assert!(count.is_power_of_two());
        let page = 4096;
        // Whole pages per buffer: giving pages back (`release_pages`) then never
        // reaches past the buffers, and the allocation is never empty.
        assert!(
            size > 0 && size.is_multiple_of(page),
            "receive buffers are whole pages"
        );
        let ring_layout = Layout::from_size_align(
            (count as usize * std::mem::size_of::<BufRingEntry>()).max(page),
            page,
        )
        .expect("layout");
        let bufs_layout = Layout::from_size_align(size * count as usize, page).expect("layout");
        // SAFETY: `alloc_zeroed` needs non-zero sizes: the ring's layout is at least a
        // page; the buffers' is `size * count` bytes with `count` >= 1 (a power of
        // two), non-zero since `size` is (asserted above). Null results are checked
        // below.
        let (entries, bufs) = unsafe { (alloc_zeroed(ring_layout), alloc_zeroed(bufs_layout)) };
        assert!(!entries.is_null() && !bufs.is_null(), "out of memory");
        let mut me = BufRing {
            ring: entries.cast(),
            ring_layout,
            bufs,
            bufs_layout,
            size,
            count,
            active: 0,
            tail: 0,
            dirty: false,
        };
        // SAFETY: the ring memory (page-aligned, `count` entries, as the kernel
        // requires) and the buffers its entries point to stay allocated until
        // `BufRing::drop`; `Driver::drop` unregisters the group before its fields (the
        // ring, then this) are dropped, and if `new` fails here nothing was registered.
        unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(me.ring as u64, count, group, 0)?;
        }
        me.grow();
        Ok(me)
    }

    /// Puts more buffers in circulation (the first call: `INITIAL`; then twice as
    /// many, up to `count`); false when all already circulate.
    pub fn grow(&mut self) -> bool {
        let to = if self.active == 0 {
            INITIAL.min(self.count)
        } else {
            self.active.saturating_mul(2).min(self.count)
        };
        if to == self.active {
            return false;
        }
        for bid in self.active..to {
            self.give_back(bid);
        }
        self.active = to;
        self.publish();
        true
    }

    /// Gives the pages of the circulating buffers back to the kernel (they read as
    /// zeros until written again). Only when no buffer holds unread bytes: with
    /// DEFER_TASKRUN the kernel fills buffers only inside `io_uring_enter`, so once
    /// every completion is handled all of them are empty.
    pub fn release_pages(&self) {
        let len = self.active as usize * self.size;
        if len == 0 {
            return;
        }
        // SAFETY: the range starts at our page-aligned allocation and covers the
        // circulating buffers; the kernel rounds `len` up to whole pages, which stay
        // inside the allocation since `size` is a multiple of the page (asserted in
        // `new`). MADV_DONTNEED on private anonymous memory only
        // drops contents, which no one needs here (no buffer holds unread bytes).
        unsafe {
            libc::madvise(self.bufs.cast(), len, libc::MADV_DONTNEED);
        }
    }

    /// The bytes the kernel put in buffer `bid`.
    pub fn bytes(&self, bid: u16, len: usize) -> &[u8] {
        assert!(bid < self.count && len <= self.size);
        // SAFETY: `bid` names a buffer inside the allocation; the kernel wrote `len`
        // bytes there and does not touch it until it is given back.
        unsafe { std::slice::from_raw_parts(self.bufs.add(bid as usize * self.size), len) }
    }

    /// Returns buffer `bid` to the ring (visible to the kernel after `publish`).
    pub fn give_back(&mut self, bid: u16) {
        let mask = self.count - 1;
        // SAFETY: the index is masked into the ring; the entry is ours until the tail
        // passes it.
        unsafe {
            let entry = &mut *self.ring.add((self.tail & mask) as usize);
            entry.set_addr(self.bufs.add(bid as usize * self.size) as u64);
            entry.set_len(self.size as u32);
            entry.set_bid(bid);
        }
        self.tail = self.tail.wrapping_add(1);
        self.dirty = true;
    }

    /// Publishes the buffers given back since the last call.
    pub fn publish(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        // SAFETY: the tail field overlays the first entry's reserved field; the kernel
        // reads it with acquire semantics.
        unsafe {
            let tail = BufRingEntry::tail(self.ring) as *const AtomicU16;
            (*tail).store(self.tail, Ordering::Release);
        }
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with these layouts. The driver unregisters the
        // group before it drops this (see `Driver::drop`).
        unsafe {
            dealloc(self.ring.cast(), self.ring_layout);
            dealloc(self.bufs, self.bufs_layout);
        }
    }
}
