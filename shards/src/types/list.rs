//! A Redis list value, with Redis 7's two encodings:
//!
//! - `listpack`: one packed node, for small lists;
//! - `quicklist`: a deque of packed nodes, each bounded by `list-max-listpack-size`
//!   (positive: entries per node; -1..-5: node bytes 4/8/16/32/64 KiB).
//!
//! A node is one byte buffer: an 8-byte header (entry count, and the size the node
//! would have as a Redis listpack, which is what Redis's limits are measured in), then
//! the entries, each `varint(len) bytes reversed-varint(len)` so the buffer can be
//! walked from either end.
//!
//! The conversions follow Redis: a listpack becomes a quicklist when an addition
//! would take it past one node's limit (`try_grow`, checked before adding); a
//! quicklist goes back to a listpack when it is down to a single node of at most half
//! the limit (`try_shrink`, checked after removing). Node splits and merges on
//! insertion follow Redis's quicklist too, so node counts (and with them the moment a
//! quicklist may convert back) match.

use std::collections::VecDeque;
use std::fmt;

use crate::args::parse_i64_opt;
use crate::config::EngineConfig;

/// Node byte limits for `list-max-listpack-size` -1 .. -5.
const SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Largest node when nodes are limited by entry count.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Redis's over-estimate of one entry's overhead when checking room in a node.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// Header and terminator bytes of an empty Redis listpack.
const LP_EMPTY: usize = 7;
/// Redis clamps a quicklist's fill to this many entries per node.
const FILL_MAX: i64 = (1 << 15) - 1;
/// Our node header: entry count (u32) and listpack-equivalent size (u32, saturating).
const HDR: usize = 8;

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
}

/// The per-node limits a fill value sets: (max bytes, max entries).
fn node_limits(fill: i64) -> (usize, usize) {
    if fill >= 0 {
        let count = fill.clamp(1, u32::MAX as i64) as usize;
        (usize::MAX, count)
    } else {
        let level = ((-(fill as i128)) - 1).min(SIZE_LEVELS.len() as i128 - 1) as usize;
        (SIZE_LEVELS[level], u32::MAX as usize)
    }
}

/// Whether a node of `size` listpack bytes and `count` entries would be over the limit.
fn exceeds_limit(fill: i64, size: usize, count: usize) -> bool {
    let (max_size, max_count) = node_limits(fill);
    if max_size != usize::MAX {
        size > max_size
    } else {
        size > SIZE_SAFETY_LIMIT || count > max_count
    }
}

/// Bytes of a Redis listpack backlen field for an entry of `l` bytes.
fn lp_backlen(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// The bytes `v` takes as an entry of a Redis listpack (integers are stored packed).
fn lp_entry_size(v: &[u8]) -> usize {
    let enc = match parse_i64_opt(v) {
        Some(n) => match n {
            0..=127 => 1,
            -4096..=4095 => 2,
            -32768..=32767 => 3,
            -8388608..=8388607 => 4,
            -2147483648..=2147483647 => 5,
            _ => 9,
        },
        None => {
            let l = v.len();
            if l < 64 {
                1 + l
            } else if l < 4096 {
                2 + l
            } else {
                5 + l
            }
        }
    };
    enc + lp_backlen(enc)
}

fn varint_len(mut n: usize) -> usize {
    let mut k = 1;
    while n >= 0x80 {
        n >>= 7;
        k += 1;
    }
    k
}

/// Writes `n` as a little-endian base-128 varint into `out`; returns bytes written.
fn write_varint(out: &mut [u8], mut n: usize) -> usize {
    let mut i = 0;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out[i] = b;
            return i + 1;
        }
        out[i] = b | 0x80;
        i += 1;
    }
}

/// Bytes of our encoding of an entry with `len` data bytes.
fn entry_size(len: usize) -> usize {
    len + 2 * varint_len(len)
}

/// One packed node. See the module docs for the layout.
#[derive(Clone)]
struct Node {
    buf: Vec<u8>,
}

impl Node {
    fn new() -> Node {
        let mut n = Node {
            buf: Vec::with_capacity(HDR),
        };
        n.buf.extend_from_slice(&[0; HDR]);
        n.set_lp(LP_EMPTY);
        n
    }

    #[inline]
    fn count(&self) -> usize {
        u32::from_le_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize
    }

    #[inline]
    fn set_count(&mut self, c: usize) {
        self.buf[0..4].copy_from_slice(&(c as u32).to_le_bytes());
    }

    /// The node's size as a Redis listpack (saturates at u32::MAX).
    #[inline]
    fn lp(&self) -> usize {
        u32::from_le_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize
    }

    #[inline]
    fn set_lp(&mut self, v: usize) {
        let v = v.min(u32::MAX as usize) as u32;
        self.buf[4..8].copy_from_slice(&v.to_le_bytes());
    }

    fn add_lp(&mut self, d: usize) {
        self.set_lp(self.lp().saturating_add(d));
    }

    /// Takes `d` off the listpack size after entries were removed; a saturated size is
    /// recomputed from the entries.
    fn sub_lp(&mut self, d: usize) {
        let cur = self.lp();
        if cur == u32::MAX as usize {
            let total = LP_EMPTY + self.entries(HDR).map(lp_entry_size).sum::<usize>();
            self.set_lp(total);
        } else {
            self.set_lp(cur.saturating_sub(d).max(LP_EMPTY));
        }
    }

    fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// The entry starting at byte `p`: (data start, data length, next entry start).
    #[inline]
    fn entry_at(&self, p: usize) -> (usize, usize, usize) {
        let mut len = 0usize;
        let mut shift = 0;
        let mut i = p;
        loop {
            let b = self.buf[i];
            len |= ((b & 0x7f) as usize) << shift;
            i += 1;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let k = i - p;
        (i, len, i + len + k)
    }

    /// The start of the entry that ends at byte `end`.
    #[inline]
    fn entry_before(&self, end: usize) -> usize {
        let mut len = 0usize;
        let mut shift = 0;
        let mut i = end;
        loop {
            i -= 1;
            let b = self.buf[i];
            len |= ((b & 0x7f) as usize) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let k = end - i;
        end - k - len - k
    }

    #[inline]
    fn data(&self, p: usize) -> &[u8] {
        let (d, len, _) = self.entry_at(p);
        &self.buf[d..d + len]
    }

    /// Entries from byte `p` to the end.
    fn entries(&self, p: usize) -> impl Iterator<Item = &[u8]> + '_ {
        let mut p = p;
        std::iter::from_fn(move || {
            if p >= self.buf.len() {
                return None;
            }
            let (d, len, next) = self.entry_at(p);
            p = next;
            Some(&self.buf[d..d + len])
        })
    }

    /// Byte position of entry `i` (or the end of the buffer when `i == count`), walking
    /// from the nearer end.
    fn seek(&self, i: usize) -> usize {
        let count = self.count();
        if i <= count / 2 {
            let mut p = HDR;
            for _ in 0..i {
                p = self.entry_at(p).2;
            }
            p
        } else {
            let mut p = self.buf.len();
            for _ in i..count {
                p = self.entry_before(p);
            }
            p
        }
    }

    /// Inserts entry `v` at byte position `p`.
    fn insert_at(&mut self, p: usize, v: &[u8]) {
        let vl = varint_len(v.len());
        let total = entry_size(v.len());
        let old_len = self.buf.len();
        self.buf.reserve_exact(total);
        self.buf.resize(old_len + total, 0);
        self.buf.copy_within(p..old_len, p + total);
        let mut hdr = [0u8; 10];
        write_varint(&mut hdr, v.len());
        self.buf[p..p + vl].copy_from_slice(&hdr[..vl]);
        self.buf[p + vl..p + vl + v.len()].copy_from_slice(v);
        for (j, b) in hdr[..vl].iter().rev().enumerate() {
            self.buf[p + vl + v.len() + j] = *b;
        }
        self.set_count(self.count() + 1);
        self.add_lp(lp_entry_size(v));
    }

    fn push(&mut self, end: End, v: &[u8]) {
        let p = match end {
            End::Head => HDR,
            End::Tail => self.buf.len(),
        };
        self.insert_at(p, v);
    }

    /// Gives memory back once the buffer uses less than half of it.
    fn trim_capacity(&mut self) {
        if self.buf.capacity() > 64 && self.buf.len() < self.buf.capacity() / 2 {
            self.buf.shrink_to_fit();
        }
    }

    /// Removes the entry at byte `p`.
    fn remove_at(&mut self, p: usize) {
        let (d, len, next) = self.entry_at(p);
        let lp = lp_entry_size(&self.buf[d..d + len]);
        self.buf.drain(p..next);
        self.set_count(self.count() - 1);
        self.sub_lp(lp);
        self.trim_capacity();
    }

    fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        if self.is_empty() {
            return None;
        }
        let p = match end {
            End::Head => HDR,
            End::Tail => self.entry_before(self.buf.len()),
        };
        let v = self.data(p).to_vec();
        self.remove_at(p);
        Some(v)
    }

    /// Replaces the entry at byte `p` with `v`.
    fn replace_at(&mut self, p: usize, v: &[u8]) {
        self.remove_at(p);
        self.insert_at(p, v);
    }

    /// Removes `n` entries starting at entry `start`.
    fn remove_range(&mut self, start: usize, n: usize) {
        if n == 0 {
            return;
        }
        let from = self.seek(start);
        let mut p = from;
        let mut lp = 0;
        for _ in 0..n {
            let (d, len, next) = self.entry_at(p);
            lp += lp_entry_size(&self.buf[d..d + len]);
            p = next;
        }
        self.buf.drain(from..p);
        self.set_count(self.count() - n);
        self.sub_lp(lp);
        self.trim_capacity();
    }

    /// Splits off entries `at..` into a new node.
    fn split_off(&mut self, at: usize) -> Node {
        let p = self.seek(at);
        let mut tail = Node::new();
        let moved = self.count() - at;
        tail.buf.reserve_exact(self.buf.len() - p);
        tail.buf.extend_from_slice(&self.buf[p..]);
        let lp: usize = tail.entries(HDR).map(lp_entry_size).sum();
        tail.set_count(moved);
        tail.set_lp(LP_EMPTY + lp);
        self.buf.truncate(p);
        self.trim_capacity();
        self.set_count(at);
        self.sub_lp(lp);
        tail
    }

    /// Appends the entries of `other`.
    fn append(&mut self, other: Node) {
        self.buf.reserve_exact(other.buf.len() - HDR);
        self.buf.extend_from_slice(&other.buf[HDR..]);
        self.set_count(self.count() + other.count());
        let lp = self
            .lp()
            .saturating_add(other.lp())
            .saturating_sub(LP_EMPTY);
        self.set_lp(lp);
        if self.lp() == u32::MAX as usize {
            // Saturated: keep it exact from the entries.
            self.sub_lp(0);
        }
    }

    /// Removes the entries equal to `v`: all when `limit` is 0, else the first
    /// `limit` (or the last `limit` when `from_back`). Returns how many.
    fn remove_matches(&mut self, v: &[u8], limit: usize, from_back: bool) -> usize {
        let mut hits: Vec<usize> = Vec::new();
        let mut p = HDR;
        while p < self.buf.len() {
            let (d, len, next) = self.entry_at(p);
            if &self.buf[d..d + len] == v {
                hits.push(p);
                if limit != 0 && !from_back && hits.len() == limit {
                    break;
                }
            }
            p = next;
        }
        if limit != 0 && from_back && hits.len() > limit {
            hits.drain(..hits.len() - limit);
        }
        if hits.is_empty() {
            return 0;
        }
        // One compaction pass over the buffer.
        let mut w = hits[0];
        let mut lp = 0;
        for (i, &h) in hits.iter().enumerate() {
            let next = self.entry_at(h).2;
            lp += lp_entry_size(self.data(h));
            let keep_end = hits.get(i + 1).copied().unwrap_or(self.buf.len());
            self.buf.copy_within(next..keep_end, w);
            w += keep_end - next;
        }
        self.buf.truncate(w);
        self.trim_capacity();
        let removed = hits.len();
        self.set_count(self.count() - removed);
        self.sub_lp(lp);
        removed
    }
}

/// The scalable encoding: a deque of nodes, none of them empty.
#[derive(Clone)]
struct Quick {
    nodes: VecDeque<Node>,
    count: usize,
    /// The fill the quicklist was created with (Redis keeps it per quicklist).
    fill: i64,
}

impl Quick {
    fn allow_insert(&self, node: &Node, sz: usize) -> bool {
        let new_sz = node
            .lp()
            .saturating_add(sz)
            .saturating_add(SIZE_ESTIMATE_OVERHEAD);
        !exceeds_limit(self.fill, new_sz, node.count() + 1)
    }

    fn allow_merge(&self, a: usize, b: usize) -> bool {
        let (a, b) = (&self.nodes[a], &self.nodes[b]);
        let size = a.lp().saturating_add(b.lp()) - LP_EMPTY;
        !exceeds_limit(self.fill, size, a.count() + b.count())
    }

    /// Merges node `a + 1` into node `a`.
    fn merge(&mut self, a: usize) {
        if let Some(b) = self.nodes.remove(a + 1) {
            self.nodes[a].append(b);
        }
    }

    /// (node, entry within it) of list index `i` (< count), walking from the nearer end.
    fn locate(&self, i: usize) -> (usize, usize) {
        if i < self.count / 2 {
            let mut rest = i;
            for (ni, n) in self.nodes.iter().enumerate() {
                let c = n.count();
                if rest < c {
                    return (ni, rest);
                }
                rest -= c;
            }
        } else {
            let mut rest = self.count - 1 - i;
            for (ni, n) in self.nodes.iter().enumerate().rev() {
                let c = n.count();
                if rest < c {
                    return (ni, c - 1 - rest);
                }
                rest -= c;
            }
        }
        unreachable!("index checked against count")
    }

    fn push(&mut self, end: End, v: &[u8]) {
        let target = match end {
            End::Head => self.nodes.front(),
            End::Tail => self.nodes.back(),
        };
        if target.is_some_and(|n| self.allow_insert(n, v.len())) {
            let n = match end {
                End::Head => self.nodes.front_mut(),
                End::Tail => self.nodes.back_mut(),
            };
            n.expect("checked above").push(end, v);
        } else {
            let mut n = Node::new();
            n.push(end, v);
            match end {
                End::Head => self.nodes.push_front(n),
                End::Tail => self.nodes.push_back(n),
            }
        }
        self.count += 1;
    }

    fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        let ni = match end {
            End::Head => 0,
            End::Tail => self.nodes.len().checked_sub(1)?,
        };
        let v = self.nodes.get_mut(ni)?.pop(end)?;
        if self.nodes[ni].is_empty() {
            self.nodes.remove(ni);
        }
        self.count -= 1;
        Some(v)
    }

    /// Inserts `v` next to entry `off` of node `ni`, like Redis's quicklist: into the
    /// node when it has room, else into a neighbour at that edge, else a new node at the
    /// edge, else by splitting the node (then merging neighbours that fit together).
    fn insert(&mut self, ni: usize, off: usize, v: &[u8], after: bool) {
        let sz = v.len();
        let node_count = self.nodes[ni].count();
        let full = !self.allow_insert(&self.nodes[ni], sz);
        let at_tail = after && off + 1 == node_count;
        let at_head = !after && off == 0;
        let avail_next = at_tail
            && self
                .nodes
                .get(ni + 1)
                .is_some_and(|n| self.allow_insert(n, sz));
        let avail_prev = at_head && ni > 0 && self.allow_insert(&self.nodes[ni - 1], sz);
        if !full {
            let node = &mut self.nodes[ni];
            let p = node.seek(if after { off + 1 } else { off });
            node.insert_at(p, v);
        } else if at_tail && avail_next {
            self.nodes[ni + 1].push(End::Head, v);
        } else if at_head && avail_prev {
            self.nodes[ni - 1].push(End::Tail, v);
        } else if at_tail || at_head {
            let mut n = Node::new();
            n.push(End::Head, v);
            self.nodes.insert(if after { ni + 1 } else { ni }, n);
        } else if after {
            let mut tail = self.nodes[ni].split_off(off + 1);
            tail.push(End::Head, v);
            self.nodes.insert(ni + 1, tail);
            self.merge_around(ni);
        } else {
            let rest = self.nodes[ni].split_off(off);
            let mut head = std::mem::replace(&mut self.nodes[ni], rest);
            head.push(End::Tail, v);
            self.nodes.insert(ni, head);
            self.merge_around(ni + 1);
        }
        self.count += 1;
    }

    /// Redis's merge after a split: (prev-prev, prev), (next, next-next), then the
    /// centre with its previous node, then the result with its next node.
    fn merge_around(&mut self, mut c: usize) {
        if c >= 2 && self.allow_merge(c - 2, c - 1) {
            self.merge(c - 2);
            c -= 1;
        }
        if c + 2 < self.nodes.len() && self.allow_merge(c + 1, c + 2) {
            self.merge(c + 1);
        }
        let target = if c >= 1 && self.allow_merge(c - 1, c) {
            self.merge(c - 1);
            c - 1
        } else {
            c
        };
        if target + 1 < self.nodes.len() && self.allow_merge(target, target + 1) {
            self.merge(target);
        }
    }

    /// Removes `n` entries from index `start` (both in range).
    fn remove_range(&mut self, start: usize, mut n: usize) {
        if n == 0 {
            return;
        }
        let (mut ni, mut off) = self.locate(start);
        self.count -= n;
        while n > 0 {
            let c = self.nodes[ni].count();
            let del = n.min(c - off);
            if off == 0 && del == c {
                self.nodes.remove(ni);
            } else {
                self.nodes[ni].remove_range(off, del);
                ni += 1;
            }
            n -= del;
            off = 0;
        }
    }
}

#[derive(Clone)]
enum Repr {
    Pack(Node),
    Quick(Box<Quick>),
}

/// A list value.
#[derive(Clone)]
pub struct List {
    repr: Repr,
}

impl Default for List {
    fn default() -> Self {
        List::new()
    }
}

impl List {
    /// An empty list in the compact encoding.
    pub fn new() -> List {
        List {
            repr: Repr::Pack(Node::new()),
        }
    }

    /// Builds a list from `items` with the encoding Redis picks for a list built whole
    /// (SORT ... STORE and the like): listpack when it fits one node.
    pub fn build<I, T>(fill: i64, items: I) -> List
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut l = List {
            repr: Repr::Quick(Box::new(Quick {
                nodes: VecDeque::new(),
                count: 0,
                fill: fill.clamp(-5, FILL_MAX),
            })),
        };
        for it in items {
            l.push(End::Tail, it.as_ref());
        }
        l.try_convert_quicklist(fill, false);
        l
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Pack(n) => n.count(),
            Repr::Quick(q) => q.count,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The Redis encoding name OBJECT ENCODING reports.
    pub fn encoding(&self, _config: &EngineConfig) -> &'static str {
        match &self.repr {
            Repr::Pack(_) => "listpack",
            Repr::Quick(_) => "quicklist",
        }
    }

    pub fn is_quicklist(&self) -> bool {
        matches!(self.repr, Repr::Quick(_))
    }

    /// Heap bytes owned (memory accounting).
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Pack(n) => n.buf.capacity(),
            Repr::Quick(q) => {
                std::mem::size_of::<Quick>()
                    + q.nodes.capacity() * std::mem::size_of::<Node>()
                    + q.nodes.iter().map(|n| n.buf.capacity()).sum::<usize>()
            }
        }
    }

    /// Before adding `add_count` elements of `add_bytes` bytes in all: converts a
    /// listpack that would go over one node's limit to a quicklist.
    pub fn try_grow(&mut self, fill: i64, add_bytes: usize, add_count: usize) {
        let Repr::Pack(n) = &mut self.repr else {
            return;
        };
        let size = n.lp().saturating_add(add_bytes);
        if !exceeds_limit(fill, size, n.count().saturating_add(add_count)) {
            return;
        }
        let node = std::mem::replace(n, Node::new());
        let count = node.count();
        let mut nodes = VecDeque::new();
        if count > 0 {
            nodes.push_back(node);
        }
        self.repr = Repr::Quick(Box::new(Quick {
            nodes,
            count,
            fill: fill.clamp(-5, FILL_MAX),
        }));
    }

    /// After removing elements: converts a quicklist down to a single node of at most
    /// half the limit back to a listpack.
    pub fn try_shrink(&mut self, fill: i64) {
        self.try_convert_quicklist(fill, true);
    }

    fn try_convert_quicklist(&mut self, fill: i64, shrinking: bool) {
        let Repr::Quick(q) = &mut self.repr else {
            return;
        };
        if q.nodes.len() != 1 {
            return;
        }
        let (mut max_size, mut max_count) = node_limits(fill);
        if shrinking {
            max_size /= 2;
            max_count /= 2;
        }
        let node = &q.nodes[0];
        if node.lp() > max_size || q.count > max_count {
            return;
        }
        let node = q.nodes.pop_front().expect("one node");
        self.repr = Repr::Pack(node);
    }

    /// Adds `v` at `end` (no encoding conversion: call `try_grow` first).
    pub fn push(&mut self, end: End, v: &[u8]) {
        match &mut self.repr {
            Repr::Pack(n) => n.push(end, v),
            Repr::Quick(q) => q.push(end, v),
        }
    }

    /// Removes and returns the element at `end` (no encoding conversion).
    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        match &mut self.repr {
            Repr::Pack(n) => n.pop(end),
            Repr::Quick(q) => q.pop(end),
        }
    }

    /// A Redis index (negative counts from the tail) as a position, if in range.
    fn position(&self, index: i64) -> Option<usize> {
        let len = self.len() as i64;
        let i = if index < 0 { len + index } else { index };
        (0..len).contains(&i).then_some(i as usize)
    }

    /// The element at a Redis index (negative counts from the tail).
    pub fn get(&self, index: i64) -> Option<&[u8]> {
        let i = self.position(index)?;
        Some(match &self.repr {
            Repr::Pack(n) => n.data(n.seek(i)),
            Repr::Quick(q) => {
                let (ni, off) = q.locate(i);
                let n = &q.nodes[ni];
                n.data(n.seek(off))
            }
        })
    }

    /// Replaces the element at a Redis index; false when out of range.
    pub fn set(&mut self, index: i64, v: &[u8]) -> bool {
        let Some(i) = self.position(index) else {
            return false;
        };
        let (n, off) = match &mut self.repr {
            Repr::Pack(n) => (n, i),
            Repr::Quick(q) => {
                let (ni, off) = q.locate(i);
                (&mut q.nodes[ni], off)
            }
        };
        let p = n.seek(off);
        n.replace_at(p, v);
        true
    }

    /// Inserts `v` before (or after) the first element equal to `pivot`; false when
    /// there is none.
    pub fn insert(&mut self, pivot: &[u8], v: &[u8], after: bool) -> bool {
        match &mut self.repr {
            Repr::Pack(n) => {
                let mut p = HDR;
                while p < n.buf.len() {
                    let (d, len, next) = n.entry_at(p);
                    if &n.buf[d..d + len] == pivot {
                        n.insert_at(if after { next } else { p }, v);
                        return true;
                    }
                    p = next;
                }
                false
            }
            Repr::Quick(q) => {
                let found = q.nodes.iter().enumerate().find_map(|(ni, n)| {
                    n.entries(HDR).position(|e| e == pivot).map(|off| (ni, off))
                });
                match found {
                    Some((ni, off)) => {
                        q.insert(ni, off, v, after);
                        true
                    }
                    None => false,
                }
            }
        }
    }

    /// LREM: removes elements equal to `v`: all when `count` is 0, the first `count`
    /// from the head when positive, the first `-count` from the tail when negative.
    pub fn remove(&mut self, v: &[u8], count: i64) -> usize {
        let from_back = count < 0;
        let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
        match &mut self.repr {
            Repr::Pack(n) => n.remove_matches(v, limit, from_back),
            Repr::Quick(q) => {
                let mut removed = 0;
                let mut ni = if from_back { q.nodes.len() } else { 0 };
                loop {
                    if from_back {
                        if ni == 0 {
                            break;
                        }
                        ni -= 1;
                    } else if ni >= q.nodes.len() {
                        break;
                    }
                    let rest = if limit == 0 { 0 } else { limit - removed };
                    removed += q.nodes[ni].remove_matches(v, rest, from_back);
                    if q.nodes[ni].is_empty() {
                        q.nodes.remove(ni);
                    } else if !from_back {
                        ni += 1;
                    }
                    if limit != 0 && removed == limit {
                        break;
                    }
                }
                q.count -= removed;
                removed
            }
        }
    }

    /// Removes `n` elements from position `start` (clamped to the list).
    pub fn remove_range(&mut self, start: usize, n: usize) {
        let len = self.len();
        if start >= len {
            return;
        }
        let n = n.min(len - start);
        match &mut self.repr {
            Repr::Pack(node) => node.remove_range(start, n),
            Repr::Quick(q) => q.remove_range(start, n),
        }
    }

    /// Keeps the elements between `ltrim` from the head and `rtrim` from the tail.
    pub fn trim(&mut self, ltrim: usize, rtrim: usize) {
        self.remove_range(0, ltrim);
        let len = self.len();
        let rtrim = rtrim.min(len);
        self.remove_range(len - rtrim, rtrim);
    }

    fn node_count(&self) -> usize {
        match &self.repr {
            Repr::Pack(_) => 1,
            Repr::Quick(q) => q.nodes.len(),
        }
    }

    fn node(&self, i: usize) -> &Node {
        match &self.repr {
            Repr::Pack(n) => n,
            Repr::Quick(q) => &q.nodes[i],
        }
    }

    /// (node, byte position) of position `i` (< len).
    fn cursor(&self, i: usize) -> (usize, usize) {
        match &self.repr {
            Repr::Pack(n) => (0, n.seek(i)),
            Repr::Quick(q) => {
                let (ni, off) = q.locate(i);
                (ni, q.nodes[ni].seek(off))
            }
        }
    }

    /// The elements node by node, head to tail: DUMP writes one listpack per node, as
    /// Redis does.
    pub fn node_items(&self) -> impl Iterator<Item = impl Iterator<Item = &[u8]> + '_> + '_ {
        (0..self.node_count()).map(move |i| self.node(i).entries(HDR))
    }

    /// All elements, head to tail (double-ended).
    pub fn iter(&self) -> Iter<'_> {
        self.range(0, self.len())
    }

    /// `count` elements from position `start`, head to tail (double-ended: `.rev()`
    /// walks them tail to head). Both are clamped to the list.
    pub fn range(&self, start: usize, count: usize) -> Iter<'_> {
        let len = self.len();
        let start = start.min(len);
        let count = count.min(len - start);
        if count == 0 {
            return Iter {
                list: self,
                front: (0, 0),
                back: (0, 0),
                remaining: 0,
            };
        }
        let front = self.cursor(start);
        let (bn, bp) = self.cursor(start + count - 1);
        let back = (bn, self.node(bn).entry_at(bp).2);
        Iter {
            list: self,
            front,
            back,
            remaining: count,
        }
    }

    /// Checks the structure (tests): counts, listpack sizes, no empty quicklist nodes.
    #[cfg(test)]
    pub(crate) fn check(&self) {
        let mut total = 0;
        for i in 0..self.node_count() {
            let n = self.node(i);
            let items: Vec<&[u8]> = n.entries(HDR).collect();
            assert_eq!(items.len(), n.count(), "node {i} count");
            let lp = LP_EMPTY + items.iter().map(|e| lp_entry_size(e)).sum::<usize>();
            assert_eq!(lp, n.lp(), "node {i} listpack size");
            let bytes: usize = HDR + items.iter().map(|e| entry_size(e.len())).sum::<usize>();
            assert_eq!(bytes, n.buf.len(), "node {i} bytes");
            if self.is_quicklist() {
                assert!(!n.is_empty(), "empty quicklist node {i}");
            }
            total += n.count();
        }
        assert_eq!(total, self.len());
        let back: Vec<&[u8]> = self.iter().rev().collect();
        let mut fwd: Vec<&[u8]> = self.iter().collect();
        fwd.reverse();
        assert_eq!(back, fwd);
    }

    /// Number of nodes (tests).
    #[cfg(test)]
    pub(crate) fn nodes(&self) -> usize {
        match &self.repr {
            Repr::Pack(_) => 1,
            Repr::Quick(q) => q.nodes.len(),
        }
    }
}

/// Iterator over a range of a list's elements.
pub struct Iter<'a> {
    list: &'a List,
    /// (node, byte position of the next entry from the front)
    front: (usize, usize),
    /// (node, byte position just past the next entry from the back)
    back: (usize, usize),
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        let list: &'a List = self.list;
        let mut node = list.node(self.front.0);
        while self.front.1 >= node.buf.len() {
            self.front = (self.front.0 + 1, HDR);
            node = list.node(self.front.0);
        }
        let (d, len, next) = node.entry_at(self.front.1);
        self.front.1 = next;
        self.remaining -= 1;
        Some(&node.buf[d..d + len])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let list = self.list;
        let mut node = list.node(self.back.0);
        while self.back.1 <= HDR {
            let ni = self.back.0 - 1;
            node = list.node(ni);
            self.back = (ni, node.buf.len());
        }
        let p = node.entry_before(self.back.1);
        self.back.1 = p;
        self.remaining -= 1;
        Some(node.data(p))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl PartialEq for List {
    fn eq(&self, other: &List) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_quicklist() {
            "quicklist"
        } else {
            "listpack"
        };
        write!(f, "List({kind}, {} nodes) ", self.node_count())?;
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

#[cfg(test)]
#[path = "tests/list.rs"]
mod tests;
