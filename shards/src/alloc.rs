//! A counting global allocator over mimalloc (fast with the cross-thread frees that
//! mailbox hops cause): every thread keeps its own tally of live heap bytes, so
//! each shard knows its used memory exactly without any shared counter. Memory freed on
//! another thread than the one that allocated it (a value moved by RENAME across shards)
//! moves between tallies; the sum over shards stays right.

use std::alloc::{GlobalAlloc, Layout};

use mimalloc::MiMalloc;
use std::cell::Cell;

pub struct CountingAlloc;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

#[inline]
fn add(delta: isize) {
    let _ = LIVE.try_with(|c| c.set(c.get() + delta));
}

/// Live heap bytes allocated minus freed by the calling thread.
pub fn thread_used() -> isize {
    LIVE.try_with(|c| c.get()).unwrap_or(0)
}

// SAFETY: every call forwards to mimalloc (a correct `GlobalAlloc`) with the
// caller's arguments unchanged and returns its result unchanged; the counting only
// touches a const-initialised thread-local `Cell` (no allocation, no panic, no
// destructor), so the allocator never re-enters itself.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: our caller upholds `GlobalAlloc::alloc`'s contract (a layout of
        // non-zero size), which is exactly what mimalloc's `alloc` requires.
        let p = unsafe { MiMalloc.alloc(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: our caller upholds `GlobalAlloc::alloc_zeroed`'s contract (a layout
        // of non-zero size), which is exactly what mimalloc's `alloc_zeroed` requires.
        let p = unsafe { MiMalloc.alloc_zeroed(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: our caller guarantees `ptr` came from this allocator with `layout`;
        // every block this allocator hands out is mimalloc's, allocated with that layout.
        unsafe { MiMalloc.dealloc(ptr, layout) };
        add(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: our caller guarantees `ptr` came from this allocator with `layout`
        // (so from mimalloc) and that `new_size` is non-zero and valid for the align.
        let p = unsafe { MiMalloc.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        p
    }
}
