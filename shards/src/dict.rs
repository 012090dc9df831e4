//! A chained hash table keyed by byte strings, with a power-of-two bucket array.
//!
//! We keep our own table (rather than `std`'s) for one property Redis users rely on:
//! SCAN with a reverse-binary cursor returns every element present for the whole scan,
//! even when the table grows or shrinks between calls. It also gives cheap random
//! sampling (RANDOMKEY, SPOP, eviction) and exact control of the per-key layout.

use crate::smallbytes::SmallBytes;

struct Node<V> {
    key: SmallBytes,
    value: V,
    next: Link<V>,
}

type Link<V> = Option<Box<Node<V>>>;

/// A key and value unlinked from the table.
pub type Removed<V> = (SmallBytes, V);

const MIN_BUCKETS: usize = 4;
/// Buckets of the old table moved per operation while a resize is in progress (and
/// at most ten times as many empty ones stepped over), as Redis does.
const MOVE_PER_OP: usize = 1;

/// Which of the two tables a bucket index refers to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Table {
    Main,
    Old,
}

/// Grows and shrinks incrementally: a resize allocates the new bucket array (zeroed
/// pages, so no pass over it) and then every operation moves a bucket of the old array
/// into it, as Redis's incremental rehashing does, so no single command pays for moving
/// millions of keys. While a resize is in progress an element lives in the old array
/// if its bucket there has not been moved yet, else in the new one: one probe finds it.
pub struct Dict<V> {
    buckets: Vec<Link<V>>,
    /// The array being emptied into `buckets`; empty when no resize is in progress.
    old: Vec<Link<V>>,
    /// Buckets of `old` below this index have been moved.
    moved: usize,
    len: usize,
    hasher: ahash::RandomState,
}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Self::new()
    }
}

/// A bucket array of `n` empty buckets, from zeroed memory (a fresh mapping for large
/// arrays: nothing is written until buckets are used).
fn empty_buckets<V>(n: usize) -> Vec<Link<V>> {
    if n == 0 {
        return Vec::new();
    }
    let layout = std::alloc::Layout::array::<Link<V>>(n).expect("bucket array size");
    // SAFETY: `Option<Box<_>>` is guaranteed to use the null pointer for `None`, so
    // zeroed memory is `n` valid empty buckets; the allocation has the layout `Vec`
    // expects for capacity `n`, and a null result is handled.
    unsafe {
        let p = std::alloc::alloc_zeroed(layout) as *mut Link<V>;
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Vec::from_raw_parts(p, n, n)
    }
}

impl<V> Dict<V> {
    /// Bytes of one entry's node (key inline up to its small size, value, link).
    pub const NODE_BYTES: usize = std::mem::size_of::<Node<V>>();

    pub fn new() -> Self {
        Dict {
            buckets: Vec::new(),
            old: Vec::new(),
            moved: 0,
            len: 0,
            hasher: ahash::RandomState::with_seeds(
                0x243f_6a88_85a3_08d3,
                0x1319_8a2e_0370_7344,
                0xa409_3822_299f_31d0,
                0x082e_fa98_ec4e_6c89,
            ),
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of buckets, of both arrays while a resize is in progress (for memory
    /// accounting and tests).
    pub fn bucket_count(&self) -> usize {
        self.buckets.len() + self.old.len()
    }

    /// Whether a resize is in progress.
    pub fn is_resizing(&self) -> bool {
        !self.old.is_empty()
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Where `key` lives (or would): its bucket in the old array if that bucket has not
    /// been moved yet, else in the main one.
    #[inline]
    fn locate(&self, key: &[u8]) -> (Table, usize) {
        let h = self.hash(key) as usize;
        if !self.old.is_empty() {
            let i = h & (self.old.len() - 1);
            if i >= self.moved {
                return (Table::Old, i);
            }
        }
        (Table::Main, h & (self.buckets.len().max(1) - 1))
    }

    #[inline]
    fn bucket(&self, (table, i): (Table, usize)) -> &Link<V> {
        match table {
            Table::Main => &self.buckets[i],
            Table::Old => &self.old[i],
        }
    }

    #[inline]
    fn bucket_mut(&mut self, (table, i): (Table, usize)) -> &mut Link<V> {
        match table {
            Table::Main => &mut self.buckets[i],
            Table::Old => &mut self.old[i],
        }
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        if self.len == 0 {
            return None;
        }
        let mut link = self.bucket(self.locate(key));
        while let Some(node) = link {
            if &*node.key == key {
                return Some(&node.value);
            }
            link = &node.next;
        }
        None
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        if self.len == 0 {
            return None;
        }
        let at = self.locate(key);
        let mut link = self.bucket_mut(at);
        while let Some(node) = link {
            if &*node.key == key {
                return Some(&mut node.value);
            }
            link = &mut node.next;
        }
        None
    }

    /// Hints the CPU to load `key`'s bucket (`stage` 0) or the first node of its chain
    /// (`stage` 1, once the bucket is cached). Called for every key of a pipelined batch
    /// before the batch runs, so the cache misses of many lookups overlap.
    #[inline]
    pub fn prefetch(&self, key: &[u8], stage: u8) {
        if self.len == 0 {
            return;
        }
        let bucket = self.bucket(self.locate(key));
        match stage {
            0 => prefetch_read(bucket as *const Link<V> as *const u8),
            _ => {
                if let Some(node) = bucket {
                    prefetch_read(&**node as *const Node<V> as *const u8);
                }
            }
        }
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Looks `key` up once; if `stale` says the value is dead, unlinks it and returns it
    /// as `Err(Some(..))`. Absent keys give `Err(None)`. Used for lazy expiry.
    pub fn get_mut_unless(
        &mut self,
        key: &[u8],
        stale: impl FnOnce(&V) -> bool,
    ) -> Result<&mut V, Option<Removed<V>>> {
        if self.len == 0 {
            return Err(None);
        }
        let at = self.locate(key);
        let mut depth = 0;
        let mut link = self.bucket(at);
        let dead = loop {
            match link {
                None => return Err(None),
                Some(node) if &*node.key == key => break stale(&node.value),
                Some(node) => link = &node.next,
            }
            depth += 1;
        };
        if dead {
            return Err(self.unlink_at(at, depth));
        }
        let mut link = self.bucket_mut(at);
        for _ in 0..depth {
            link = &mut link.as_mut().expect("chain shorter than found").next;
        }
        Ok(&mut link.as_mut().expect("found node vanished").value)
    }

    /// Inserts or replaces; returns the previous value. One hash, one chain walk.
    pub fn insert(&mut self, key: &[u8], value: V) -> Option<V> {
        self.step(MOVE_PER_OP);
        if !self.buckets.is_empty() {
            let at = self.locate(key);
            let mut link = self.bucket_mut(at);
            while let Some(node) = link {
                if &*node.key == key {
                    return Some(std::mem::replace(&mut node.value, value));
                }
                link = &mut node.next;
            }
        }
        self.put_new(key, value);
        None
    }

    /// Inserts a key known to be absent.
    pub fn insert_new(&mut self, key: &[u8], value: V) {
        self.step(MOVE_PER_OP);
        self.put_new(key, value);
    }

    fn put_new(&mut self, key: &[u8], value: V) {
        if self.buckets.is_empty() {
            self.buckets = empty_buckets(MIN_BUCKETS);
        } else if self.len >= self.buckets.len() {
            self.start_resize(self.buckets.len() * 2);
        }
        // Where lookups will look: the old array while the key's bucket there has not
        // been moved yet (it moves with that bucket), else the main one.
        let at = self.locate(key);
        let bucket = self.bucket_mut(at);
        let next = bucket.take();
        *bucket = Some(Box::new(Node {
            key: SmallBytes::new(key),
            value,
            next,
        }));
        self.len += 1;
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Removed<V>> {
        if self.len == 0 {
            return None;
        }
        self.step(MOVE_PER_OP);
        let at = self.locate(key);
        let mut depth = 0;
        let mut link = self.bucket(at);
        loop {
            match link {
                None => return None,
                Some(node) if &*node.key == key => break,
                Some(node) => link = &node.next,
            }
            depth += 1;
        }
        self.unlink_at(at, depth)
    }

    fn unlink_at(&mut self, at: (Table, usize), depth: usize) -> Option<Removed<V>> {
        let mut link = self.bucket_mut(at);
        for _ in 0..depth {
            link = &mut link.as_mut()?.next;
        }
        let mut node = link.take()?;
        *link = node.next.take();
        self.len -= 1;
        self.maybe_shrink();
        let Node { key, value, .. } = *node;
        Some((key, value))
    }

    fn maybe_shrink(&mut self) {
        let n = self.buckets.len();
        if n > MIN_BUCKETS && self.len * 8 < n && self.old.is_empty() {
            self.start_resize(self.len.next_power_of_two().max(MIN_BUCKETS));
        }
    }

    /// Begins moving everything to an array of `new_len` buckets. One resize at a
    /// time: a resize still in progress is finished first.
    fn start_resize(&mut self, new_len: usize) {
        while self.step(usize::MAX) {}
        self.old = std::mem::replace(&mut self.buckets, empty_buckets(new_len));
        self.moved = 0;
    }

    /// Moves up to `buckets` non-empty buckets of the old array (stepping over at most
    /// ten times as many empty ones); true while a resize is still in progress.
    pub fn step(&mut self, buckets: usize) -> bool {
        if self.old.is_empty() {
            return false;
        }
        let mask = self.buckets.len() - 1;
        let mut empty_left = buckets.saturating_mul(10);
        let mut left = buckets;
        while left > 0 && self.moved < self.old.len() {
            let mut link = self.old[self.moved].take();
            self.moved += 1;
            if link.is_none() {
                empty_left = empty_left.saturating_sub(1);
                if empty_left == 0 {
                    break;
                }
                continue;
            }
            while let Some(mut node) = link {
                link = node.next.take();
                let i = (self.hasher.hash_one(&*node.key) as usize) & mask;
                node.next = self.buckets[i].take();
                self.buckets[i] = Some(node);
            }
            left -= 1;
        }
        if self.moved >= self.old.len() {
            self.old = Vec::new();
            self.moved = 0;
            // Deletes during a shrink may call for a smaller array still.
            self.maybe_shrink();
            return !self.old.is_empty();
        }
        true
    }

    /// Drops every element and the bucket arrays.
    pub fn clear(&mut self) {
        let old = std::mem::take(&mut self.buckets);
        let older = std::mem::take(&mut self.old);
        self.moved = 0;
        self.len = 0;
        drop_chains(old);
        drop_chains(older);
    }

    /// Takes the whole content out, leaving an empty dict (for dropping elsewhere).
    pub fn take(&mut self) -> Dict<V> {
        std::mem::take(self)
    }

    /// Visits buckets following Redis's reverse-binary cursor until at least `count`
    /// elements were visited or the table was covered; returns the next cursor (0: the
    /// scan is complete). Elements present for the whole scan are visited at least once
    /// even if the table is resized in between. During a resize the cursor walks the
    /// smaller array and, for each of its buckets, every bucket of the larger array
    /// that its elements may have moved to (as Redis does).
    pub fn scan(&self, mut cursor: u64, count: usize, mut visit: impl FnMut(&[u8], &V)) -> u64 {
        if self.len == 0 {
            return 0;
        }
        let mut seen = 0;
        let mut each = |link: &Link<V>| -> usize {
            let mut link = link;
            let mut n = 0;
            while let Some(node) = link {
                visit(&node.key, &node.value);
                n += 1;
                link = &node.next;
            }
            n
        };
        // Bound the number of empty buckets we step over so one call stays short.
        let mut steps = count.saturating_mul(10).max(10);
        let next = |c: u64, mask: u64| (c | !mask).reverse_bits().wrapping_add(1).reverse_bits();
        loop {
            if self.old.is_empty() {
                let mask = (self.buckets.len() - 1) as u64;
                seen += each(&self.buckets[(cursor & mask) as usize]);
                cursor = next(cursor, mask);
            } else {
                let (small, large) = if self.old.len() <= self.buckets.len() {
                    (&self.old, &self.buckets)
                } else {
                    (&self.buckets, &self.old)
                };
                let (m0, m1) = ((small.len() - 1) as u64, (large.len() - 1) as u64);
                seen += each(&small[(cursor & m0) as usize]);
                // Every bucket of the larger array whose low bits are the cursor's.
                let mut v = cursor;
                loop {
                    seen += each(&large[(v & m1) as usize]);
                    v = next(v, m1);
                    if v & (m0 ^ m1) == 0 {
                        break;
                    }
                }
                cursor = next(cursor, m0);
            }
            steps -= 1;
            if cursor == 0 || seen >= count || steps == 0 {
                return cursor;
            }
        }
    }

    /// A random element: a random non-empty bucket (of either array during a resize),
    /// then a random node of its chain. `rand` yields uniformly distributed u64 values.
    pub fn random(&self, mut rand: impl FnMut() -> u64) -> Option<(&[u8], &V)> {
        if self.len == 0 {
            return None;
        }
        let unmoved = self.old.len() - self.moved;
        let head = loop {
            let r = rand() as usize;
            let bucket = if unmoved > 0 && r % (unmoved + self.buckets.len()) < unmoved {
                &self.old[self.moved + (r >> 1) % unmoved]
            } else {
                &self.buckets[r & (self.buckets.len() - 1)]
            };
            if let Some(node) = bucket {
                break node;
            }
        };
        let mut chain_len = 0;
        let mut link = Some(head);
        while let Some(n) = link {
            chain_len += 1;
            link = n.next.as_ref();
        }
        let mut node = head;
        for _ in 0..(rand() as usize % chain_len) {
            node = node.next.as_ref().expect("within chain length");
        }
        Some((&node.key, &node.value))
    }

    pub fn iter(&self) -> Iter<'_, V> {
        Iter {
            arrays: [&self.old[self.moved.min(self.old.len())..], &self.buckets],
            array: 0,
            bucket: 0,
            node: None,
        }
    }

    /// Keeps only the elements for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&[u8], &mut V) -> bool) {
        let mut removed = 0;
        for bucket in self.old.iter_mut().chain(self.buckets.iter_mut()) {
            let mut chain = bucket.take();
            while let Some(mut node) = chain {
                chain = node.next.take();
                if keep(&node.key, &mut node.value) {
                    node.next = bucket.take();
                    *bucket = Some(node);
                } else {
                    removed += 1;
                }
            }
        }
        self.len -= removed;
        self.maybe_shrink();
    }
}

#[inline]
fn prefetch_read(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; it never faults, even on an invalid address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

fn drop_chains<V>(buckets: Vec<Link<V>>) {
    for mut link in buckets {
        while let Some(mut node) = link {
            link = node.next.take();
        }
    }
}

impl<V> Drop for Dict<V> {
    fn drop(&mut self) {
        drop_chains(std::mem::take(&mut self.buckets));
        drop_chains(std::mem::take(&mut self.old));
    }
}

pub struct Iter<'a, V> {
    /// The unmoved part of the old array, then the main array.
    arrays: [&'a [Link<V>]; 2],
    array: usize,
    bucket: usize,
    node: Option<&'a Node<V>>,
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a [u8], &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(node) = self.node {
                self.node = node.next.as_deref();
                return Some((&node.key, &node.value));
            }
            let arrays = self.arrays;
            let head = match arrays.get(self.array)?.get(self.bucket) {
                Some(head) => head,
                None => {
                    self.array += 1;
                    self.bucket = 0;
                    continue;
                }
            };
            self.bucket += 1;
            self.node = head.as_deref();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn key(i: u32) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    #[test]
    fn insert_get_remove_behave_like_a_map() {
        let mut d = Dict::new();
        let mut model = HashMap::new();
        let mut x: u64 = 7;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = key((x % 3000) as u32);
            match x % 5 {
                0 | 1 => assert_eq!(d.insert(&k, x), model.insert(k.clone(), x)),
                2 => assert_eq!(d.remove(&k).map(|(_, v)| v), model.remove(&k)),
                _ => assert_eq!(d.get(&k), model.get(&k)),
            }
            assert_eq!(d.len(), model.len());
        }
        let all: HashMap<Vec<u8>, u64> = d.iter().map(|(k, v)| (k.to_vec(), *v)).collect();
        assert_eq!(all, model);
    }

    #[test]
    fn scan_visits_every_stable_element_across_resizes() {
        let mut d = Dict::new();
        for i in 0..1000 {
            d.insert(&key(i), i);
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = d.scan(cursor, 10, |k, _| {
                seen.insert(k.to_vec());
            });
            round += 1;
            // Grow and shrink the table while the scan runs, with temporary keys only.
            if round == 5 {
                for i in 1000..5000 {
                    d.insert(&key(i), i);
                }
            }
            if round == 30 {
                for i in 1000..5000 {
                    d.remove(&key(i));
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(&key(i)), "missed {i}");
        }
    }

    #[test]
    fn get_mut_unless_unlinks_stale_values() {
        let mut d = Dict::new();
        for i in 0..50 {
            d.insert(&key(i), i);
        }
        assert!(matches!(
            d.get_mut_unless(&key(3), |v| *v == 3),
            Err(Some((_, 3)))
        ));
        assert!(matches!(d.get_mut_unless(&key(3), |_| false), Err(None)));
        *d.get_mut_unless(&key(4), |_| false).unwrap() = 40;
        assert_eq!(d.get(&key(4)), Some(&40));
        assert_eq!(d.len(), 49);
    }

    #[test]
    fn random_returns_members_and_shrinks_after_deletes() {
        let mut d = Dict::new();
        for i in 0..4096 {
            d.insert(&key(i), i);
        }
        for i in 0..4090 {
            d.remove(&key(i));
        }
        // Shrinking is incremental too: let it finish.
        while d.step(64) {}
        assert!(
            d.bucket_count() <= 64,
            "{} buckets for {} keys",
            d.bucket_count(),
            d.len()
        );
        let mut x = 1u64;
        for _ in 0..100 {
            let (_, v) = d
                .random(|| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    x >> 11
                })
                .unwrap();
            assert!(*v >= 4090);
        }
        d.retain(|_, v| *v % 2 == 0);
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn resizes_move_a_bucket_per_operation_and_lose_nothing() {
        let mut d = Dict::new();
        let mut resizing_seen = 0;
        for i in 0..100_000u32 {
            d.insert(&key(i), i);
            if d.is_resizing() {
                resizing_seen += 1;
                // Everything is findable, wherever it lives right now.
                let probe = i / 2;
                assert_eq!(d.get(&key(probe)), Some(&probe));
            }
        }
        assert!(
            resizing_seen > 30_000,
            "resizes spread over {resizing_seen} inserts"
        );
        assert_eq!(d.iter().count(), 100_000);
        // Mid-resize: iteration, random sampling and SCAN see every element.
        let mut d = Dict::new();
        for i in 0..1025u32 {
            d.insert(&key(i), i);
        }
        assert!(d.is_resizing());
        assert_eq!(d.iter().count(), 1025);
        let mut x = 9u64;
        for _ in 0..100 {
            let (k, v) = d
                .random(|| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    x >> 11
                })
                .unwrap();
            assert_eq!(k, &key(*v)[..]);
        }
        // The resize moves on between the scan's calls.
        assert_eq!(scan_while_resizing(&mut d, 10, 3).len(), 1025);
    }

    #[test]
    fn scan_survives_a_shrink_in_progress() {
        let mut d = Dict::new();
        for i in 0..4096u32 {
            d.insert(&key(i), i);
        }
        while d.step(64) {}
        // Delete most keys: a shrink starts; the survivors must all be scanned.
        for i in 100..4096u32 {
            d.remove(&key(i));
        }
        assert!(d.is_resizing());
        assert_eq!(scan_while_resizing(&mut d, 5, 1).len(), 100);
    }

    /// A whole SCAN, `count` per call, moving `step` buckets of a resize in progress
    /// between calls; the distinct keys it returned.
    fn scan_while_resizing(d: &mut Dict<u32>, count: usize, step: usize) -> HashSet<Vec<u8>> {
        let mut seen = HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = d.scan(cursor, count, |k, _| {
                seen.insert(k.to_vec());
            });
            d.step(step);
            if cursor == 0 {
                return seen;
            }
        }
    }
}
