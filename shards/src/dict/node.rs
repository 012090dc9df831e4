//! One element of a `Dict`: a single heap block holding the chain link, the value, an
//! optional meta word `M` for the owner (the keyspace keeps its LRU/LFU clock there in
//! a u32; collections use `()`, which takes no room), the key's
//! bytes inline and, only when present, a 64-bit extension (the keyspace's expiry
//! time). Packing everything into one block of exactly the bytes it needs is what
//! makes a small key cost one allocation of 48 bytes rather than a fixed-size node
//! plus a second index entry for its TTL.
//!
//! Layout (`Head<V, M>` is `#[repr(C)]`; the key starts right after `klen`, inside what
//! would be the struct's tail padding, so no reference to a whole `Head` is ever made):
//!
//! ```text
//! next: Link | value: V | meta: M | klen: u16 | [long length: u64] | key | [ext: u64]
//! ```
//!
//! `klen`'s top bit says whether `ext` is present, the next one is the node's *mark*
//! (a snapshot in progress tells saved nodes from the others with it); its low 14 bits
//! hold the key's length, or `LONG` when the length (16 383 bytes or more) follows as a
//! u64. The optional fields are read and written unaligned.

use std::alloc::{self, Layout};
use std::marker::PhantomData;
use std::mem::{align_of, offset_of, size_of};
use std::ptr::{self, addr_of, addr_of_mut, NonNull};

pub(super) type Link<V, M> = Option<NodeBox<V, M>>;

#[repr(C)]
struct Head<V, M: Copy> {
    next: Link<V, M>,
    value: V,
    meta: M,
    klen: u16,
}

const HAS_EXT: u16 = 0x8000;
const MARK: u16 = 0x4000;
const LONG: u16 = 0x3fff;

/// Owns one node block (like a `Box`, with a size that depends on the key).
/// Transparent over its pointer, so `None` of `Option<NodeBox>` is all zeros (the
/// dict builds empty bucket arrays from zeroed memory).
#[repr(transparent)]
pub struct NodeBox<V, M: Copy> {
    ptr: NonNull<Head<V, M>>,
    _owns: PhantomData<(V, M)>,
}

// SAFETY: a node owns its value, its meta word and its chain exactly as
// `Box<(V, M, Link<V, M>)>` would, and holds no shared or thread-bound state.
unsafe impl<V: Send, M: Copy + Send> Send for NodeBox<V, M> {}
// SAFETY: shared access only hands out shared references (`&V`, `&Link`, the key's
// bytes) or copies of `M`; every mutation goes through `&mut self`.
unsafe impl<V: Sync, M: Copy + Sync> Sync for NodeBox<V, M> {}

/// Where the key's bytes start: after `klen`, and after the long length if present.
#[inline]
fn key_offset<V, M: Copy>(long: bool) -> usize {
    offset_of!(Head<V, M>, klen) + size_of::<u16>() + if long { size_of::<u64>() } else { 0 }
}

/// The block's layout for a key of `key_len` bytes, with or without the extension.
/// Never smaller than `Head<V>` itself, so every field projection stays in bounds.
#[inline]
fn layout<V, M: Copy>(key_len: usize, ext: bool) -> Layout {
    let long = key_len >= LONG as usize;
    let size = key_offset::<V, M>(long) + key_len + if ext { size_of::<u64>() } else { 0 };
    Layout::from_size_align(size.max(size_of::<Head<V, M>>()), align_of::<Head<V, M>>())
        .expect("node layout")
}

/// Bytes of the block for a key of `key_len` bytes (before the allocator's rounding).
pub(super) fn block_bytes<V, M: Copy>(key_len: usize, ext: bool) -> usize {
    layout::<V, M>(key_len, ext).size()
}

impl<V, M: Copy> NodeBox<V, M> {
    pub(super) fn new(
        key: &[u8],
        value: V,
        meta: M,
        ext: Option<u64>,
        mark: bool,
        next: Link<V, M>,
    ) -> Self {
        let long = key.len() >= LONG as usize;
        let lay = layout::<V, M>(key.len(), ext.is_some());
        // SAFETY: the layout has a non-zero size (at least `Head<V>`, which holds a
        // pointer). Every field is written before the node is used; the key and the
        // optional fields lie inside the block by construction of `layout`.
        unsafe {
            let raw = alloc::alloc(lay) as *mut Head<V, M>;
            let Some(p) = NonNull::new(raw) else {
                alloc::handle_alloc_error(lay);
            };
            let h = p.as_ptr();
            addr_of_mut!((*h).next).write(next);
            addr_of_mut!((*h).value).write(value);
            addr_of_mut!((*h).meta).write(meta);
            let mut klen = if long { LONG } else { key.len() as u16 };
            if ext.is_some() {
                klen |= HAS_EXT;
            }
            if mark {
                klen |= MARK;
            }
            addr_of_mut!((*h).klen).write(klen);
            let base = h as *mut u8;
            if long {
                let at = base.add(key_offset::<V, M>(false)) as *mut u64;
                at.write_unaligned(key.len() as u64);
            }
            let k = base.add(key_offset::<V, M>(long));
            ptr::copy_nonoverlapping(key.as_ptr(), k, key.len());
            if let Some(x) = ext {
                (k.add(key.len()) as *mut u64).write_unaligned(x);
            }
            NodeBox {
                ptr: p,
                _owns: PhantomData,
            }
        }
    }

    #[inline]
    fn klen_word(&self) -> u16 {
        // SAFETY: `ptr` is a live node; `klen` is in bounds and initialised.
        unsafe { addr_of!((*self.ptr.as_ptr()).klen).read() }
    }

    #[inline]
    fn key_len_and_long(&self) -> (usize, bool) {
        let w = self.klen_word() & LONG;
        if w == LONG {
            // SAFETY: a long key's length was written at this offset by `new`.
            let n = unsafe {
                (self.base().add(key_offset::<V, M>(false)) as *const u64).read_unaligned()
            };
            (n as usize, true)
        } else {
            (w as usize, false)
        }
    }

    #[inline]
    fn base(&self) -> *mut u8 {
        self.ptr.as_ptr() as *mut u8
    }

    #[inline]
    pub fn key(&self) -> &[u8] {
        let (n, long) = self.key_len_and_long();
        // SAFETY: the key's `n` bytes were copied here by `new` and live as long as
        // the node, which `&self` borrows.
        unsafe { std::slice::from_raw_parts(self.base().add(key_offset::<V, M>(long)), n) }
    }

    #[inline]
    pub fn value(&self) -> &V {
        // SAFETY: the value is initialised; the borrow follows `&self`.
        unsafe { &*addr_of!((*self.ptr.as_ptr()).value) }
    }

    #[inline]
    pub fn value_mut(&mut self) -> &mut V {
        // SAFETY: as `value`, exclusively through `&mut self`.
        unsafe { &mut *addr_of_mut!((*self.ptr.as_ptr()).value) }
    }

    #[inline]
    pub fn meta(&self) -> M {
        // SAFETY: initialised field of a live node.
        unsafe { addr_of!((*self.ptr.as_ptr()).meta).read() }
    }

    #[inline]
    pub fn meta_mut(&mut self) -> &mut M {
        // SAFETY: initialised field, exclusively borrowed through `&mut self`.
        unsafe { &mut *addr_of_mut!((*self.ptr.as_ptr()).meta) }
    }

    /// The value and the meta word, both mutable at once.
    #[inline]
    pub fn value_and_meta_mut(&mut self) -> (&mut V, &mut M) {
        let h = self.ptr.as_ptr();
        // SAFETY: two distinct initialised fields, exclusively borrowed via `&mut self`.
        unsafe {
            (
                &mut *addr_of_mut!((*h).value),
                &mut *addr_of_mut!((*h).meta),
            )
        }
    }

    /// The key and the value, the value mutable (they never overlap).
    #[inline]
    pub(super) fn key_and_value_mut(&mut self) -> (&[u8], &mut V) {
        let (n, long) = self.key_len_and_long();
        let h = self.ptr.as_ptr();
        // SAFETY: the key's bytes and the value are disjoint parts of the block.
        unsafe {
            (
                std::slice::from_raw_parts(self.base().add(key_offset::<V, M>(long)), n),
                &mut *addr_of_mut!((*h).value),
            )
        }
    }

    #[inline]
    pub(super) fn next(&self) -> &Link<V, M> {
        // SAFETY: initialised field of a live node.
        unsafe { &*addr_of!((*self.ptr.as_ptr()).next) }
    }

    #[inline]
    pub(super) fn next_mut(&mut self) -> &mut Link<V, M> {
        // SAFETY: as `next`, exclusively through `&mut self`.
        unsafe { &mut *addr_of_mut!((*self.ptr.as_ptr()).next) }
    }

    /// The node's mark bit (see the module comment).
    #[inline]
    pub fn mark(&self) -> bool {
        self.klen_word() & MARK != 0
    }

    pub fn set_mark(&mut self, on: bool) {
        let w = self.klen_word();
        let w = if on { w | MARK } else { w & !MARK };
        // SAFETY: initialised field of a live node, written through `&mut self`.
        unsafe { addr_of_mut!((*self.ptr.as_ptr()).klen).write(w) }
    }

    #[inline]
    pub fn has_ext(&self) -> bool {
        self.klen_word() & HAS_EXT != 0
    }

    #[inline]
    fn ext_ptr(&self) -> *mut u64 {
        let (n, long) = self.key_len_and_long();
        // SAFETY: `key_offset + n` is at most the block's size (see `layout`), so the
        // pointer stays inside the allocation or one past its end; callers read or
        // write through it only when the extension's 8 bytes are there.
        unsafe { self.base().add(key_offset::<V, M>(long) + n) as *mut u64 }
    }

    #[inline]
    pub fn ext(&self) -> Option<u64> {
        // SAFETY: the extension exists when its flag is set.
        self.has_ext()
            .then(|| unsafe { self.ext_ptr().read_unaligned() })
    }

    /// Sets or clears the extension, reallocating the block when it must grow or
    /// shrink (the node's address changes; its chain position does not).
    pub fn set_ext(&mut self, ext: Option<u64>) {
        let had = self.has_ext();
        if let (true, Some(x)) = (had, ext) {
            // SAFETY: the extension is present.
            unsafe { self.ext_ptr().write_unaligned(x) };
            return;
        }
        if !had && ext.is_none() {
            return;
        }
        let (n, _) = self.key_len_and_long();
        let old = layout::<V, M>(n, had);
        let new = layout::<V, M>(n, ext.is_some());
        // SAFETY: the block was allocated with `old`; `realloc` keeps the first
        // min(old, new) bytes (header and key), and only the extension differs.
        unsafe {
            let raw = alloc::realloc(self.base(), old, new.size()) as *mut Head<V, M>;
            let Some(p) = NonNull::new(raw) else {
                alloc::handle_alloc_error(new);
            };
            self.ptr = p;
            let w = addr_of!((*p.as_ptr()).klen).read();
            let w = if ext.is_some() {
                w | HAS_EXT
            } else {
                w & !HAS_EXT
            };
            addr_of_mut!((*p.as_ptr()).klen).write(w);
            if let Some(x) = ext {
                self.ext_ptr().write_unaligned(x);
            }
        }
    }

    /// The block's requested size.
    pub fn bytes(&self) -> usize {
        layout::<V, M>(self.key_len_and_long().0, self.has_ext()).size()
    }

    /// Where to prefetch the node from.
    #[inline]
    pub(super) fn addr(&self) -> *const u8 {
        self.base()
    }

    /// Takes the node apart: its value, meta word, extension and the rest of its
    /// chain; the block is freed.
    pub(super) fn into_parts(self) -> (V, M, Option<u64>, Link<V, M>) {
        let me = std::mem::ManuallyDrop::new(self);
        let lay = layout::<V, M>(me.key_len_and_long().0, me.has_ext());
        let h = me.ptr.as_ptr();
        // SAFETY: each initialised field is read out exactly once and the block is
        // freed with its layout; `ManuallyDrop` keeps `Drop` from running on it.
        unsafe {
            let next = addr_of!((*h).next).read();
            let value = addr_of!((*h).value).read();
            let meta = addr_of!((*h).meta).read();
            let ext = me.ext();
            alloc::dealloc(h as *mut u8, lay);
            (value, meta, ext, next)
        }
    }
}

impl<V, M: Copy> Drop for NodeBox<V, M> {
    fn drop(&mut self) {
        // Chains are unlinked iteratively by the table; dropping one node drops the
        // rest of its chain, which is short.
        let lay = layout::<V, M>(self.key_len_and_long().0, self.has_ext());
        let h = self.ptr.as_ptr();
        // SAFETY: the fields are initialised and dropped once; then the block is freed
        // with the layout it was allocated with.
        unsafe {
            ptr::drop_in_place(addr_of_mut!((*h).next));
            ptr::drop_in_place(addr_of_mut!((*h).value));
            alloc::dealloc(h as *mut u8, lay);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_as_small_as_their_key() {
        // A keyspace entry for "key:123456" without TTL: link, value, meta, length,
        // key = 48 bytes, one of the allocator's classes.
        assert_eq!(block_bytes::<crate::value::Value, u32>(10, false), 48);
        assert_eq!(block_bytes::<crate::value::Value, u32>(10, true), 56);
        // A set member of 13 bytes: link, length, key (no meta word).
        assert_eq!(block_bytes::<(), ()>(13, false), 23);
        // A sorted set's member of 13 bytes with its score: 31 bytes.
        assert_eq!(block_bytes::<f64, ()>(13, false), 31);
    }

    #[test]
    fn keys_values_and_extensions_round_trip() {
        let long = vec![7u8; 40_000];
        let edge = vec![8u8; LONG as usize];
        let below = vec![9u8; LONG as usize - 1];
        for key in [
            &b""[..],
            b"k",
            b"a-key-of-some-length",
            &long,
            &edge,
            &below,
        ] {
            let mut n = NodeBox::<String, u32>::new(key, String::from("v"), 5, None, false, None);
            assert_eq!(n.key(), key);
            assert_eq!(n.ext(), None);
            n.set_ext(Some(u64::MAX - 1));
            assert_eq!((n.key(), n.ext()), (key, Some(u64::MAX - 1)));
            n.set_ext(Some(3));
            assert_eq!(n.ext(), Some(3));
            n.value_mut().push('w');
            *n.meta_mut() += 1;
            n.set_mark(true);
            n.set_ext(None);
            assert!(n.mark());
            n.set_mark(false);
            assert_eq!((n.key(), n.value().as_str(), n.meta()), (key, "vw", 6));
            let chained = NodeBox::new(b"x", String::from("y"), 0, Some(9), true, Some(n));
            assert!(chained.mark());
            let (v, m, e, next) = chained.into_parts();
            assert_eq!((v.as_str(), m, e), ("y", 0, Some(9)));
            assert_eq!(next.unwrap().key(), key);
        }
    }
}
