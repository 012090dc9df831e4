//! A chained hash table keyed by byte strings, with a power-of-two bucket array.
//!
//! We keep our own table (rather than `std`'s) for one property Redis users rely on:
//! SCAN with a reverse-binary cursor returns every element present for the whole scan,
//! even when the table grows or shrinks between calls. It also gives cheap random
//! sampling (RANDOMKEY, SPOP, eviction) and exact control of the per-key layout.

mod node;

use node::Link;
pub use node::NodeBox as Node;

/// What an unlinked element held: its value, its meta word and its extension.
#[derive(Debug)]
pub struct Removed<V, M = ()> {
    pub value: V,
    pub meta: M,
    pub ext: Option<u64>,
}

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
pub struct Dict<V, M: Copy = ()> {
    buckets: Vec<Link<V, M>>,
    /// The array being emptied into `buckets`; empty when no resize is in progress.
    old: Vec<Link<V, M>>,
    /// Buckets of `old` below this index have been moved.
    moved: usize,
    len: usize,
    hasher: ahash::RandomState,
    /// The mark new nodes get (see `node::NodeBox::mark`).
    fresh_mark: bool,
}

impl<V, M: Copy + Default> Default for Dict<V, M> {
    fn default() -> Self {
        Dict {
            buckets: Vec::new(),
            old: Vec::new(),
            moved: 0,
            len: 0,
            fresh_mark: false,
            hasher: ahash::RandomState::with_seeds(
                0x243f_6a88_85a3_08d3,
                0x1319_8a2e_0370_7344,
                0xa409_3822_299f_31d0,
                0x082e_fa98_ec4e_6c89,
            ),
        }
    }
}

impl<V> Dict<V> {
    /// A dict without meta words (`Dict::default()` makes one with them).
    pub fn new() -> Self {
        Self::default()
    }
}

/// A bucket array of `n` empty buckets, from zeroed memory (a fresh mapping for large
/// arrays: nothing is written until buckets are used).
fn empty_buckets<V, M: Copy>(n: usize) -> Vec<Link<V, M>> {
    if n == 0 {
        return Vec::new();
    }
    let layout = std::alloc::Layout::array::<Link<V, M>>(n).expect("bucket array size");
    // SAFETY: a bucket is `Option<NodeBox>`, and `NodeBox` is a `NonNull` plus a
    // zero-sized marker, so rustc stores `None` in the `NonNull`'s niche as the null
    // pointer: zeroed memory is `n` valid empty buckets. (This relies on rustc's
    // layout of a struct that is not `#[repr(transparent)]`; the documented guarantee
    // covers `Option<NonNull<_>>` and transparent wrappers of it.) The allocation comes
    // from the global allocator with `Layout::array::<Link>(n)`, the layout `Vec`
    // expects for capacity `n`; `n` is non-zero and a null result is handled.
    unsafe {
        let p = std::alloc::alloc_zeroed(layout) as *mut Link<V, M>;
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Vec::from_raw_parts(p, n, n)
    }
}

impl<V, M: Copy + Default> Dict<V, M> {
    /// Bytes of the node of a key of `key_len` bytes (the key is inline), with or
    /// without the 64-bit extension.
    pub fn node_bytes(key_len: usize, ext: bool) -> usize {
        node::block_bytes::<V, M>(key_len, ext)
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

    /// Heap bytes of the table: its bucket arrays and every node (keys inline), but
    /// not what values own beyond their node. Walks every node.
    pub fn bytes(&self) -> usize {
        self.bucket_count() * std::mem::size_of::<usize>()
            + self.nodes().map(Node::bytes).sum::<usize>()
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
    fn bucket(&self, (table, i): (Table, usize)) -> &Link<V, M> {
        match table {
            Table::Main => &self.buckets[i],
            Table::Old => &self.old[i],
        }
    }

    #[inline]
    fn bucket_mut(&mut self, (table, i): (Table, usize)) -> &mut Link<V, M> {
        match table {
            Table::Main => &mut self.buckets[i],
            Table::Old => &mut self.old[i],
        }
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.node(key).map(Node::value)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.node_mut(key).map(Node::value_mut)
    }

    /// The node of `key`: its value with the meta word and extension.
    pub fn node(&self, key: &[u8]) -> Option<&Node<V, M>> {
        if self.len == 0 {
            return None;
        }
        let mut link = self.bucket(self.locate(key));
        while let Some(node) = link {
            if node.key() == key {
                return Some(node);
            }
            link = node.next();
        }
        None
    }

    pub fn node_mut(&mut self, key: &[u8]) -> Option<&mut Node<V, M>> {
        if self.len == 0 {
            return None;
        }
        let at = self.locate(key);
        let mut link = self.bucket_mut(at);
        while let Some(node) = link {
            if node.key() == key {
                return Some(node);
            }
            link = node.next_mut();
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
            0 => prefetch_read(bucket as *const Link<V, M> as *const u8),
            _ => {
                if let Some(node) = bucket {
                    prefetch_read(node.addr());
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
        stale: impl FnOnce(&Node<V, M>) -> bool,
    ) -> Result<&mut Node<V, M>, Option<Removed<V, M>>> {
        if self.len == 0 {
            return Err(None);
        }
        let at = self.locate(key);
        let mut depth = 0;
        let mut link = self.bucket(at);
        let dead = loop {
            match link {
                None => return Err(None),
                Some(node) if node.key() == key => break stale(node),
                Some(node) => link = node.next(),
            }
            depth += 1;
        };
        if dead {
            return Err(self.unlink_at(at, depth));
        }
        let mut link = self.bucket_mut(at);
        for _ in 0..depth {
            link = link.as_mut().expect("chain shorter than found").next_mut();
        }
        Ok(link.as_mut().expect("found node vanished"))
    }

    /// Inserts or replaces; returns the previous value. One hash, one chain walk.
    /// A replaced element keeps its meta word and extension.
    pub fn insert(&mut self, key: &[u8], value: V) -> Option<V> {
        self.step(MOVE_PER_OP);
        if let Some(node) = self.find_for_insert(key) {
            return Some(std::mem::replace(node.value_mut(), value));
        }
        self.put_new(key, value, M::default(), None);
        None
    }

    /// Inserts or replaces the whole element (value, meta word, extension); returns
    /// what a replaced element held.
    pub fn insert_full(
        &mut self,
        key: &[u8],
        value: V,
        meta: M,
        ext: Option<u64>,
    ) -> Option<Removed<V, M>> {
        self.step(MOVE_PER_OP);
        if let Some(node) = self.find_for_insert(key) {
            let old = Removed {
                value: std::mem::replace(node.value_mut(), value),
                meta: std::mem::replace(node.meta_mut(), meta),
                ext: node.ext(),
            };
            node.set_ext(ext);
            return Some(old);
        }
        self.put_new(key, value, meta, ext);
        None
    }

    fn find_for_insert(&mut self, key: &[u8]) -> Option<&mut Node<V, M>> {
        if self.buckets.is_empty() {
            return None;
        }
        self.node_mut(key)
    }

    /// Inserts a key known to be absent.
    pub fn insert_new(&mut self, key: &[u8], value: V) {
        self.step(MOVE_PER_OP);
        self.put_new(key, value, M::default(), None);
    }

    fn put_new(&mut self, key: &[u8], value: V, meta: M, ext: Option<u64>) {
        if self.buckets.is_empty() {
            self.buckets = empty_buckets(MIN_BUCKETS);
        } else if self.len >= self.buckets.len() {
            self.start_resize(self.buckets.len() * 2);
        }
        // Where lookups will look: the old array while the key's bucket there has not
        // been moved yet (it moves with that bucket), else the main one.
        let at = self.locate(key);
        let mark = self.fresh_mark;
        let bucket = self.bucket_mut(at);
        let next = bucket.take();
        *bucket = Some(Node::new(key, value, meta, ext, mark, next));
        self.len += 1;
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Removed<V, M>> {
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
                Some(node) if node.key() == key => break,
                Some(node) => link = node.next(),
            }
            depth += 1;
        }
        self.unlink_at(at, depth)
    }

    fn unlink_at(&mut self, at: (Table, usize), depth: usize) -> Option<Removed<V, M>> {
        let mut link = self.bucket_mut(at);
        for _ in 0..depth {
            link = link.as_mut()?.next_mut();
        }
        let node = link.take()?;
        let (value, meta, ext, next) = node.into_parts();
        *link = next;
        self.len -= 1;
        self.maybe_shrink();
        Some(Removed { value, meta, ext })
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
                link = node.next_mut().take();
                let i = (self.hasher.hash_one(node.key()) as usize) & mask;
                *node.next_mut() = self.buckets[i].take();
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
    pub fn take(&mut self) -> Dict<V, M> {
        std::mem::take(self)
    }

    /// Visits elements following Redis's reverse-binary cursor (see `cursor_walk`).
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], &V)) -> u64 {
        self.scan_nodes(cursor, count, |n| visit(n.key(), n.value()))
    }

    /// `scan` passing whole nodes (meta word and extension too).
    pub fn scan_nodes(&self, cursor: u64, count: usize, mut visit: impl FnMut(&Node<V, M>)) -> u64 {
        if self.len == 0 {
            return 0;
        }
        cursor_walk(self.old.len(), self.buckets.len(), cursor, count, |at| {
            let mut link = self.bucket(at);
            let mut n = 0;
            while let Some(node) = link {
                visit(node);
                n += 1;
                link = node.next();
            }
            n
        })
    }

    /// `scan_nodes` with each node mutable (a snapshot marks the nodes it saved).
    pub fn scan_nodes_mut(
        &mut self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&mut Node<V, M>),
    ) -> u64 {
        if self.len == 0 {
            return 0;
        }
        let (old, main) = (self.old.len(), self.buckets.len());
        cursor_walk(old, main, cursor, count, |at| {
            let mut link = self.bucket_mut(at);
            let mut n = 0;
            while let Some(node) = link {
                visit(node);
                n += 1;
                link = node.next_mut();
            }
            n
        })
    }

    /// The mark nodes inserted from now on get.
    pub fn set_fresh_mark(&mut self, mark: bool) {
        self.fresh_mark = mark;
    }

    /// A random element: a random non-empty bucket (of either array during a resize),
    /// then a random node of its chain. `rand` yields uniformly distributed u64 values.
    pub fn random(&self, rand: impl FnMut() -> u64) -> Option<(&[u8], &V)> {
        self.random_node(rand).map(|n| (n.key(), n.value()))
    }

    /// `random`, the whole node.
    pub fn random_node(&self, mut rand: impl FnMut() -> u64) -> Option<&Node<V, M>> {
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
            link = n.next().as_ref();
        }
        let mut node = head;
        for _ in 0..(rand() as usize % chain_len) {
            node = node.next().as_ref().expect("within chain length");
        }
        Some(node)
    }

    pub fn iter(&self) -> Iter<'_, V, M> {
        Iter {
            nodes: self.nodes(),
        }
    }

    /// Every node, in table order.
    pub fn nodes(&self) -> Nodes<'_, V, M> {
        Nodes {
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
                chain = node.next_mut().take();
                let (key, value) = node.key_and_value_mut();
                if keep(key, value) {
                    *node.next_mut() = bucket.take();
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

/// Follows Redis's reverse-binary cursor over a table of `main` buckets (and, during a
/// resize, `old` more), calling `each` with every bucket to visit (it returns how many
/// elements it saw), until at least `count` elements were seen or the table was
/// covered; returns the next cursor (0: the scan is complete). Elements present for the
/// whole scan are visited at least once even if the table is resized in between: during
/// a resize the cursor walks the smaller array and, for each of its buckets, every
/// bucket of the larger array its elements may have moved to (as Redis does).
fn cursor_walk(
    old: usize,
    main: usize,
    mut cursor: u64,
    count: usize,
    mut each: impl FnMut((Table, usize)) -> usize,
) -> u64 {
    let mut seen = 0;
    // Bound the number of empty buckets we step over so one call stays short.
    let mut steps = count.saturating_mul(10).max(10);
    let next = |c: u64, mask: u64| (c | !mask).reverse_bits().wrapping_add(1).reverse_bits();
    loop {
        if old == 0 {
            let mask = (main - 1) as u64;
            seen += each((Table::Main, (cursor & mask) as usize));
            cursor = next(cursor, mask);
        } else {
            let ((small, s_len), (large, l_len)) = if old <= main {
                ((Table::Old, old), (Table::Main, main))
            } else {
                ((Table::Main, main), (Table::Old, old))
            };
            let (m0, m1) = ((s_len - 1) as u64, (l_len - 1) as u64);
            seen += each((small, (cursor & m0) as usize));
            // Every bucket of the larger array whose low bits are the cursor's.
            let mut v = cursor;
            loop {
                seen += each((large, (v & m1) as usize));
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

fn drop_chains<V, M: Copy>(buckets: Vec<Link<V, M>>) {
    for mut link in buckets {
        while let Some(mut node) = link {
            link = node.next_mut().take();
        }
    }
}

impl<V, M: Copy> Drop for Dict<V, M> {
    fn drop(&mut self) {
        drop_chains(std::mem::take(&mut self.buckets));
        drop_chains(std::mem::take(&mut self.old));
    }
}

pub struct Iter<'a, V, M: Copy = ()> {
    nodes: Nodes<'a, V, M>,
}

impl<'a, V, M: Copy> Iterator for Iter<'a, V, M> {
    type Item = (&'a [u8], &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        self.nodes.next().map(|n| (n.key(), n.value()))
    }
}

pub struct Nodes<'a, V, M: Copy = ()> {
    /// The unmoved part of the old array, then the main array.
    arrays: [&'a [Link<V, M>]; 2],
    array: usize,
    bucket: usize,
    node: Option<&'a Node<V, M>>,
}

impl<'a, V, M: Copy> Iterator for Nodes<'a, V, M> {
    type Item = &'a Node<V, M>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(node) = self.node {
                self.node = node.next().as_ref();
                return Some(node);
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
            self.node = head.as_ref();
        }
    }
}

#[cfg(test)]
mod tests;
