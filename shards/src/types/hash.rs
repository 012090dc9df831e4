//! A Redis hash value: a packed "listpack" of field/value pairs (insertion order) while
//! the hash is small, a `Dict` ("hashtable") above `hash-max-listpack-entries` entries or
//! once a field or value is longer than `hash-max-listpack-value` bytes. Like Redis, a
//! hash never goes back to the compact encoding.
//!
//! This file also holds the packed byte sequence (`Listpack`) and the small random
//! generator (`Rng`) that the set type shares.

use std::fmt;

use crate::config::EngineConfig;
use crate::dict::{self, Dict};
use crate::smallbytes::SmallBytes;

// ---------------------------------------------------------------------------------------
// Listpack: a packed sequence of byte strings.

/// Bytes of the element-count header at the start of a non-empty buffer.
const HEADER: usize = 4;

/// A flat sequence of byte strings in one buffer: a little-endian u32 element count,
/// then each element as its LEB128 length followed by its bytes. An empty sequence owns
/// no heap memory. Costs about one or two bytes per element beyond the data, like
/// Redis's listpack; lookups are linear scans, which is why callers bound its size.
///
/// The buffer is exactly as long as its contents (two words, no capacity), so a small
/// hash fits in a `Value` without a box of its own. Edits resize it in place: the
/// allocator keeps a block whose size class still fits.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Listpack {
    buf: Box<[u8]>,
}

/// One element of a `Listpack`: its bytes and where its encoding starts and ends.
#[derive(Debug, Clone, Copy)]
pub struct LpEntry<'a> {
    pub start: usize,
    pub end: usize,
    pub data: &'a [u8],
}

impl Listpack {
    /// The most elements a listpack can count.
    pub const MAX_LEN: usize = u32::MAX as usize;

    pub fn new() -> Self {
        Listpack::default()
    }

    /// Runs `f` on the buffer as a vector, then makes it exact again.
    fn edit<R>(&mut self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let mut v = std::mem::take(&mut self.buf).into_vec();
        let r = f(&mut v);
        self.buf = v.into_boxed_slice();
        r
    }

    /// Number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        match self.buf.get(..HEADER) {
            Some(h) => u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize,
            None => 0,
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the element count; the buffer must hold the header.
    fn set_len(buf: &mut [u8], n: usize) {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        buf[..HEADER].copy_from_slice(&n.to_le_bytes());
    }

    /// Heap bytes owned.
    pub fn heap_size(&self) -> usize {
        self.buf.len()
    }

    /// Encoded size of the whole buffer.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    pub fn iter(&self) -> LpIter<'_> {
        LpIter {
            buf: &self.buf,
            pos: HEADER.min(self.buf.len()),
        }
    }

    /// The element at `index` (linear).
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        self.iter().nth(index).map(|e| e.data)
    }

    /// The first element equal to `item`.
    pub fn find(&self, item: &[u8]) -> Option<LpEntry<'_>> {
        self.iter().find(|e| e.data == item)
    }

    /// Appends one element.
    pub fn push(&mut self, item: &[u8]) {
        let n = self.len();
        self.edit(|buf| {
            buf.reserve_exact(HEADER + 10 + item.len());
            if buf.len() < HEADER {
                buf.resize(HEADER, 0);
            }
            Self::set_len(buf, n + 1);
            crate::varint::put(buf, item.len() as u64);
            buf.extend_from_slice(item);
        });
    }

    /// Replaces the element encoded at `start..end` by `item`.
    pub fn replace(&mut self, start: usize, end: usize, item: &[u8]) {
        let mut enc = Vec::with_capacity(10 + item.len());
        crate::varint::put(&mut enc, item.len() as u64);
        enc.extend_from_slice(item);
        self.edit(|buf| {
            buf.reserve_exact(enc.len().saturating_sub(end - start));
            buf.splice(start..end, enc);
        });
    }

    /// Removes the `count` elements encoded at `start..end`.
    pub fn remove_range(&mut self, start: usize, end: usize, count: usize) {
        let n = self.len();
        if n <= count {
            self.buf = Box::default();
            return;
        }
        self.edit(|buf| {
            buf.drain(start..end);
            Self::set_len(buf, n - count);
        });
    }

    /// Removes the element equal to `item`; false if there is none.
    pub fn remove(&mut self, item: &[u8]) -> bool {
        match self.find(item) {
            Some(e) => {
                let (s, t) = (e.start, e.end);
                self.remove_range(s, t, 1);
                true
            }
            None => false,
        }
    }

    /// Keeps the elements for which `keep` returns true (one pass, one rebuild).
    pub fn retain(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        let mut out = Vec::with_capacity(self.buf.len());
        let mut n = 0;
        for e in self.iter() {
            if keep(e.data) {
                if out.is_empty() {
                    out.resize(HEADER, 0);
                }
                crate::varint::put(&mut out, e.data.len() as u64);
                out.extend_from_slice(e.data);
                n += 1;
            }
        }
        if n > 0 {
            Self::set_len(&mut out, n);
        }
        self.buf = out.into_boxed_slice();
    }
}

impl fmt::Debug for Listpack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|e| String::from_utf8_lossy(e.data)))
            .finish()
    }
}

pub struct LpIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for LpIter<'a> {
    type Item = LpEntry<'a>;

    fn next(&mut self) -> Option<LpEntry<'a>> {
        let start = self.pos;
        let mut len = 0usize;
        let mut shift = 0u32;
        let mut p = start;
        loop {
            let b = *self.buf.get(p)?;
            p += 1;
            len |= ((b & 0x7f) as usize) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift >= usize::BITS {
                return None;
            }
        }
        let end = p.checked_add(len).filter(|&e| e <= self.buf.len())?;
        self.pos = end;
        Some(LpEntry {
            start,
            end,
            data: &self.buf[p..end],
        })
    }
}

// ---------------------------------------------------------------------------------------
// Rng: a small generator seeded from the keyspace's, so a handler can draw random
// numbers while it holds a borrow of an entry.

/// SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`; `n` must be positive.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

/// Puts `k` distinct random elements of `v` at its front (partial Fisher-Yates).
pub fn partial_shuffle<T>(v: &mut [T], k: usize, rng: &mut Rng) {
    let n = v.len();
    for i in 0..k.min(n) {
        let j = i + rng.below(n - i);
        v.swap(i, j);
    }
}

// ---------------------------------------------------------------------------------------
// Hash.

/// The thresholds of the compact encoding (from CONFIG).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HashLimits {
    pub max_entries: usize,
    pub max_value: usize,
}

impl HashLimits {
    pub fn from_config(c: &EngineConfig) -> Self {
        HashLimits {
            max_entries: c.hash_max_listpack_entries,
            max_value: c.hash_max_listpack_value,
        }
    }
}

pub enum Hash {
    /// Field, value, field, value ... in insertion order ("listpack").
    Listpack(Listpack),
    /// "hashtable". Boxed so a `Value` stays small.
    Table(Box<Dict<SmallBytes>>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Listpack(Listpack::new())
    }
}

impl Clone for Hash {
    fn clone(&self) -> Self {
        match self {
            Hash::Listpack(lp) => Hash::Listpack(lp.clone()),
            Hash::Table(d) => {
                let mut t = Dict::new();
                for (k, v) in d.iter() {
                    t.insert_new(k, v.clone());
                }
                Hash::Table(Box::new(t))
            }
        }
    }
}

/// Equal content (the same field/value map), whatever the encodings.
impl PartialEq for Hash {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Hash::Listpack(_) => "Listpack",
            Hash::Table(_) => "Table",
        };
        f.debug_tuple(name).field(&DebugPairs(self)).finish()
    }
}

struct DebugPairs<'a>(&'a Hash);

impl fmt::Debug for DebugPairs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.0
                    .iter()
                    .map(|(k, v)| (String::from_utf8_lossy(k), String::from_utf8_lossy(v))),
            )
            .finish()
    }
}

impl Hash {
    pub fn len(&self) -> usize {
        match self {
            Hash::Listpack(lp) => lp.len() / 2,
            Hash::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The Redis encoding name OBJECT ENCODING reports.
    pub fn encoding(&self, _config: &EngineConfig) -> &'static str {
        match self {
            Hash::Listpack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    pub fn is_listpack(&self) -> bool {
        matches!(self, Hash::Listpack(_))
    }

    /// Heap bytes owned (memory accounting).
    pub fn heap_size(&self) -> usize {
        match self {
            Hash::Listpack(lp) => lp.heap_size(),
            Hash::Table(d) => {
                std::mem::size_of::<Dict<SmallBytes>>()
                    + d.bytes()
                    + d.iter().map(|(_, v)| v.heap_size()).sum::<usize>()
            }
        }
    }

    /// In the listpack: the field's entry and its value's entry.
    fn lp_find<'a>(lp: &'a Listpack, field: &[u8]) -> Option<(LpEntry<'a>, LpEntry<'a>)> {
        let mut it = lp.iter();
        while let Some(f) = it.next() {
            let v = it.next()?;
            if f.data == field {
                return Some((f, v));
            }
        }
        None
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Listpack(lp) => Self::lp_find(lp, field).map(|(_, v)| v.data),
            Hash::Table(d) => d.get(field).map(|v| &v[..]),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Converts to the hashtable encoding.
    fn convert(&mut self) {
        if let Hash::Listpack(lp) = self {
            let mut d = Dict::new();
            let mut it = lp.iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                d.insert(f.data, SmallBytes::new(v.data));
            }
            *self = Hash::Table(Box::new(d));
        }
    }

    /// Sets `field` to `value`; true when the field is new. Converts to a hashtable
    /// when the field or value is too long for the listpack or the count goes over.
    pub fn insert(&mut self, field: &[u8], value: &[u8], lim: HashLimits) -> bool {
        if let Hash::Listpack(_) = self {
            if field.len() > lim.max_value || value.len() > lim.max_value {
                self.convert();
            }
        }
        match self {
            Hash::Listpack(lp) => {
                let new = match Self::lp_find(lp, field) {
                    Some((_, v)) => {
                        let (s, e) = (v.start, v.end);
                        lp.replace(s, e, value);
                        false
                    }
                    None => {
                        lp.push(field);
                        lp.push(value);
                        true
                    }
                };
                // Checked after updates too (the limit may have been lowered), as Redis.
                if lp.len() / 2 > lim.max_entries || lp.len() >= Listpack::MAX_LEN - 1 {
                    self.convert();
                }
                new
            }
            Hash::Table(d) => d.insert(field, SmallBytes::new(value)).is_none(),
        }
    }

    /// Removes `field`; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(lp) => match Self::lp_find(lp, field) {
                Some((f, v)) => {
                    let (s, e) = (f.start, v.end);
                    lp.remove_range(s, e, 2);
                    true
                }
                None => false,
            },
            Hash::Table(d) => d.remove(field).is_some(),
        }
    }

    /// Field/value pairs: insertion order for a listpack, table order otherwise.
    pub fn iter(&self) -> HashIter<'_> {
        match self {
            Hash::Listpack(lp) => HashIter::Listpack(lp.iter()),
            Hash::Table(d) => HashIter::Table(d.iter()),
        }
    }

    /// One HSCAN step. A listpack is returned whole with cursor 0, as Redis does; a
    /// hashtable follows the dict's reverse-binary cursor.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], &[u8])) -> u64 {
        match self {
            Hash::Listpack(_) => {
                for (f, v) in self.iter() {
                    visit(f, v);
                }
                0
            }
            Hash::Table(d) => d.scan(cursor, count, |k, v| visit(k, v)),
        }
    }

    /// A random field and its value.
    pub fn random(&self, rng: &mut Rng) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Listpack(lp) => {
                let n = lp.len() / 2;
                if n == 0 {
                    return None;
                }
                let i = rng.below(n);
                let mut it = lp.iter().skip(2 * i);
                Some((it.next()?.data, it.next()?.data))
            }
            Hash::Table(d) => d.random(|| rng.next_u64()).map(|(k, v)| (k, &v[..])),
        }
    }
}

/// Heap bytes of a dict key: `SmallBytes` keeps up to 22 bytes inline.
pub enum HashIter<'a> {
    Listpack(LpIter<'a>),
    Table(dict::Iter<'a, SmallBytes>),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            HashIter::Listpack(it) => {
                let f = it.next()?;
                let v = it.next()?;
                Some((f.data, v.data))
            }
            HashIter::Table(it) => it.next().map(|(k, v)| (k, &v[..])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn lim(entries: usize, value: usize) -> HashLimits {
        HashLimits {
            max_entries: entries,
            max_value: value,
        }
    }

    #[test]
    fn listpack_round_trips_elements_of_any_length() {
        let mut lp = Listpack::new();
        assert_eq!(lp.heap_size(), 0);
        let items: Vec<Vec<u8>> = [0usize, 1, 127, 128, 300, 20_000]
            .iter()
            .map(|&n| vec![b'x'; n])
            .collect();
        for it in &items {
            lp.push(it);
        }
        assert_eq!(lp.len(), items.len());
        let back: Vec<Vec<u8>> = lp.iter().map(|e| e.data.to_vec()).collect();
        assert_eq!(back, items);
        let e = lp.find(&items[3]).unwrap();
        lp.replace(e.start, e.end, b"short");
        assert_eq!(lp.get(3), Some(&b"short"[..]));
        assert!(lp.remove(&items[5]));
        assert!(!lp.remove(b"absent"));
        assert_eq!(lp.len(), 5);
        lp.retain(|d| d.len() < 100);
        assert_eq!(lp.len(), 3);
        for _ in 0..3 {
            let e = lp.iter().next().unwrap();
            let (s, t) = (e.start, e.end);
            lp.remove_range(s, t, 1);
        }
        assert!(lp.is_empty());
        assert_eq!(lp.heap_size(), 0);
    }

    #[test]
    fn listpack_costs_a_few_bytes_per_element() {
        let mut lp = Listpack::new();
        for i in 0..128 {
            lp.push(format!("field:{i:04}").as_bytes());
        }
        // 10 data bytes and 1 length byte per element, plus the header.
        assert_eq!(lp.bytes(), 4 + 128 * 11);
        assert!(lp.heap_size() < lp.bytes() * 5 / 4 + 64);
    }

    #[test]
    fn hash_behaves_like_a_map_in_both_encodings() {
        let mut rng = Rng::new(3);
        for limits in [lim(128, 64), lim(4, 8), lim(0, 0)] {
            let mut h = Hash::default();
            let mut model = BTreeMap::new();
            for _ in 0..3000 {
                let f = format!("f{}", rng.below(40)).into_bytes();
                let v = vec![b'v'; rng.below(12)];
                match rng.below(3) {
                    0 | 1 => assert_eq!(
                        h.insert(&f, &v, limits),
                        model.insert(f.clone(), v.clone()).is_none()
                    ),
                    _ => assert_eq!(h.remove(&f), model.remove(&f).is_some()),
                }
                assert_eq!(h.len(), model.len());
                assert_eq!(h.get(&f), model.get(&f).map(|v| &v[..]));
            }
            let all: BTreeMap<Vec<u8>, Vec<u8>> =
                h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            assert_eq!(all, model);
            assert_eq!(h.clone(), h);
        }
    }

    #[test]
    fn listpack_keeps_insertion_order_and_updates_in_place() {
        let l = lim(128, 64);
        let mut h = Hash::default();
        h.insert(b"b", b"1", l);
        h.insert(b"a", b"2", l);
        h.insert(b"c", b"3", l);
        h.insert(b"a", b"a much longer value", l);
        let order: Vec<&[u8]> = h.iter().map(|(f, _)| f).collect();
        assert_eq!(order, vec![&b"b"[..], b"a", b"c"]);
        assert_eq!(h.get(b"a"), Some(&b"a much longer value"[..]));
    }

    #[test]
    fn converts_on_count_or_length_and_never_back() {
        let l = lim(2, 5);
        let mut h = Hash::default();
        h.insert(b"a", b"1", l);
        h.insert(b"b", b"1", l);
        assert!(h.is_listpack());
        h.insert(b"c", b"1", l);
        assert!(!h.is_listpack());
        h.remove(b"c");
        h.remove(b"b");
        assert!(!h.is_listpack());

        let mut h = Hash::default();
        h.insert(b"a", b"12345", l);
        assert!(h.is_listpack());
        h.insert(b"a", b"123456", l);
        assert!(!h.is_listpack());
        let mut h = Hash::default();
        h.insert(b"123456", b"1", l);
        assert!(!h.is_listpack());
    }

    #[test]
    fn equality_ignores_encoding() {
        let mut a = Hash::default();
        let mut b = Hash::default();
        a.insert(b"x", b"1", lim(128, 64));
        a.insert(b"y", b"2", lim(128, 64));
        b.insert(b"y", b"2", lim(0, 0));
        b.insert(b"x", b"1", lim(0, 0));
        assert!(a.is_listpack() && !b.is_listpack());
        assert_eq!(a, b);
        b.insert(b"x", b"3", lim(0, 0));
        assert_ne!(a, b);
    }

    #[test]
    fn values_stay_small() {
        assert_eq!(std::mem::size_of::<Hash>(), 16);
        assert_eq!(std::mem::size_of::<crate::value::Value>(), 24);
    }
}
