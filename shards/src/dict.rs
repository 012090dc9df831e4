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

pub struct Dict<V> {
    buckets: Vec<Link<V>>,
    len: usize,
    hasher: ahash::RandomState,
}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> Dict<V> {
    /// Bytes of one entry's node (key inline up to its small size, value, link).
    pub const NODE_BYTES: usize = std::mem::size_of::<Node<V>>();

    pub fn new() -> Self {
        Dict {
            buckets: Vec::new(),
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

    /// Number of buckets (for memory accounting and tests).
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    #[inline]
    fn index(&self, key: &[u8]) -> usize {
        (self.hash(key) as usize) & (self.buckets.len() - 1)
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        if self.len == 0 {
            return None;
        }
        let mut link = &self.buckets[self.index(key)];
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
        let idx = self.index(key);
        let mut link = &mut self.buckets[idx];
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
        let bucket = &self.buckets[self.index(key)];
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
        let idx = self.index(key);
        let mut depth = 0;
        let mut link = &self.buckets[idx];
        let dead = loop {
            match link {
                None => return Err(None),
                Some(node) if &*node.key == key => break stale(&node.value),
                Some(node) => link = &node.next,
            }
            depth += 1;
        };
        if dead {
            return Err(self.unlink_at(idx, depth));
        }
        let mut link = &mut self.buckets[idx];
        for _ in 0..depth {
            link = &mut link.as_mut().expect("chain shorter than found").next;
        }
        Ok(&mut link.as_mut().expect("found node vanished").value)
    }

    /// Inserts or replaces; returns the previous value. One hash, one chain walk.
    pub fn insert(&mut self, key: &[u8], value: V) -> Option<V> {
        if self.buckets.is_empty() {
            self.resize(MIN_BUCKETS);
        }
        let hash = self.hash(key) as usize;
        let mask = self.buckets.len() - 1;
        let mut link = &mut self.buckets[hash & mask];
        while let Some(node) = link {
            if &*node.key == key {
                return Some(std::mem::replace(&mut node.value, value));
            }
            link = &mut node.next;
        }
        if self.len >= self.buckets.len() {
            self.resize(self.buckets.len() * 2);
        }
        let idx = hash & (self.buckets.len() - 1);
        let next = self.buckets[idx].take();
        self.buckets[idx] = Some(Box::new(Node {
            key: SmallBytes::new(key),
            value,
            next,
        }));
        self.len += 1;
        None
    }

    /// Inserts a key known to be absent.
    pub fn insert_new(&mut self, key: &[u8], value: V) {
        if self.len >= self.buckets.len() {
            self.resize((self.buckets.len() * 2).max(MIN_BUCKETS));
        }
        let idx = self.index(key);
        let next = self.buckets[idx].take();
        self.buckets[idx] = Some(Box::new(Node {
            key: SmallBytes::new(key),
            value,
            next,
        }));
        self.len += 1;
    }

    /// Returns the value for `key`, inserting `make()` first if it is absent.
    pub fn get_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> V) -> &mut V {
        if !self.contains_key(key) {
            self.insert_new(key, make());
        }
        self.get_mut(key).expect("just inserted")
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Removed<V>> {
        if self.len == 0 {
            return None;
        }
        let idx = self.index(key);
        let mut depth = 0;
        let mut link = &self.buckets[idx];
        loop {
            match link {
                None => return None,
                Some(node) if &*node.key == key => break,
                Some(node) => link = &node.next,
            }
            depth += 1;
        }
        self.unlink_at(idx, depth)
    }

    fn unlink_at(&mut self, idx: usize, depth: usize) -> Option<Removed<V>> {
        let mut link = &mut self.buckets[idx];
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
        if n > MIN_BUCKETS && self.len * 8 < n {
            self.resize(self.len.next_power_of_two().max(MIN_BUCKETS));
        }
    }

    fn resize(&mut self, new_len: usize) {
        let old = std::mem::take(&mut self.buckets);
        self.buckets.resize_with(new_len, || None);
        for mut link in old {
            while let Some(mut node) = link {
                link = node.next.take();
                let idx = self.index(&node.key);
                node.next = self.buckets[idx].take();
                self.buckets[idx] = Some(node);
            }
        }
    }

    /// Drops every element and the bucket array.
    pub fn clear(&mut self) {
        let old = std::mem::take(&mut self.buckets);
        self.len = 0;
        drop_chains(old);
    }

    /// Takes the whole content out, leaving an empty dict (for dropping elsewhere).
    pub fn take(&mut self) -> Dict<V> {
        std::mem::take(self)
    }

    /// Visits one bucket (and its chain) per step, following Redis's reverse-binary
    /// cursor, until at least `count` elements were visited or the table was covered.
    /// Returns the next cursor; 0 means the scan is complete. Elements present for the
    /// whole scan are visited at least once even if the table is resized in between.
    pub fn scan(&self, mut cursor: u64, count: usize, mut visit: impl FnMut(&[u8], &V)) -> u64 {
        if self.len == 0 {
            return 0;
        }
        let mask = (self.buckets.len() - 1) as u64;
        let mut seen = 0;
        // Bound the number of empty buckets we step over so one call stays short.
        let mut steps = count.saturating_mul(10).max(10);
        loop {
            let mut link = &self.buckets[(cursor & mask) as usize];
            while let Some(node) = link {
                visit(&node.key, &node.value);
                seen += 1;
                link = &node.next;
            }
            cursor |= !mask;
            cursor = cursor.reverse_bits().wrapping_add(1).reverse_bits();
            steps -= 1;
            if cursor == 0 || seen >= count || steps == 0 {
                return cursor;
            }
        }
    }

    /// A random element: a random non-empty bucket, then a random node of its chain.
    /// `rand` yields uniformly distributed u64 values.
    pub fn random(&self, mut rand: impl FnMut() -> u64) -> Option<(&[u8], &V)> {
        if self.len == 0 {
            return None;
        }
        let mask = self.buckets.len() - 1;
        let head = loop {
            if let Some(node) = &self.buckets[rand() as usize & mask] {
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
            buckets: &self.buckets,
            bucket: 0,
            node: None,
        }
    }

    /// Keeps only the elements for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&[u8], &mut V) -> bool) {
        let mut removed = 0;
        for bucket in self.buckets.iter_mut() {
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
    }
}

pub struct Iter<'a, V> {
    buckets: &'a [Link<V>],
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
            let head = self.buckets.get(self.bucket)?;
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
        assert!(d.bucket_count() <= 64);
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
}
