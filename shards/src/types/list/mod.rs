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
//! As in Redis, a quicklist may keep its interior nodes LZF-compressed: all but the
//! `list-compress-depth` nodes at each end (`Node::compress`, kept so by
//! `Quick::settle` after every change of the node deque). Reads through `&self` see a
//! compressed node through a decompressed copy (`Node::readable`), which is why
//! `get` and the iterator hand out `Cow`s; writes decompress the node in place first.
//! Elements at or above the packed threshold (DEBUG QUICKLIST-PACKED-THRESHOLD) get a
//! plain node of their own.
//!
//! The conversions follow Redis: a listpack becomes a quicklist when an addition
//! would take it past one node's limit (`try_grow`, checked before adding); a
//! quicklist goes back to a listpack when it is down to a single node of at most half
//! the limit (`try_shrink`, checked after removing). Node splits and merges on
//! insertion follow Redis's quicklist too, so node counts (and with them the moment a
//! quicklist may convert back) match.
//!
//! This file holds the `List` value and its iterator; `node` has the node format and
//! the listpack size arithmetic, `quick` the quicklist's node deque.

mod node;
mod quick;

use std::borrow::Cow;
use std::fmt;

#[cfg(test)]
use self::node::{entry_size, lp_entry_size, LP_EMPTY};
use self::node::{exceeds_limit, node_limits, Node, FILL_MAX, HDR};
pub use self::quick::set_packed_threshold;
use self::quick::Quick;
use crate::config::EngineConfig;

/// How a list lays out its nodes: `list-max-listpack-size` and `list-compress-depth`
/// when it became a quicklist (Redis keeps both per quicklist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub fill: i64,
    pub depth: usize,
}

impl Shape {
    /// The shape the configuration gives new lists.
    pub fn of(config: &EngineConfig) -> Shape {
        Shape {
            fill: config.list_max_listpack_size,
            depth: config.list_compress_depth,
        }
    }

    /// Nodes limited by `fill`, none compressed.
    pub fn fill(fill: i64) -> Shape {
        Shape { fill, depth: 0 }
    }
}

/// A quicklist's figures for DEBUG OBJECT.
pub struct QuicklistInfo {
    pub nodes: usize,
    /// The quicklist's fill (`ql_listpack_max`).
    pub fill: i64,
    /// Whether it compresses interior nodes (`ql_compressed`).
    pub compresses: bool,
    /// The nodes' bytes as Redis's listpacks, uncompressed (`ql_uncompressed_size`).
    pub uncompressed: usize,
}

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
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
    pub fn build<I, T>(shape: Shape, items: I) -> List
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut l = List {
            repr: Repr::Quick(Box::new(Quick::new(
                shape.fill.clamp(-5, FILL_MAX),
                shape.depth,
            ))),
        };
        for it in items {
            l.push(End::Tail, it.as_ref());
        }
        l.try_convert_quicklist(shape.fill, false);
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
    pub fn try_grow(&mut self, shape: Shape, add_bytes: usize, add_count: usize) {
        let Repr::Pack(n) = &mut self.repr else {
            return;
        };
        let size = n.lp().saturating_add(add_bytes);
        if !exceeds_limit(shape.fill, size, n.count().saturating_add(add_count)) {
            return;
        }
        let node = std::mem::replace(n, Node::new());
        let mut q = Quick::new(shape.fill.clamp(-5, FILL_MAX), shape.depth);
        q.count = node.count();
        if q.count > 0 {
            q.nodes.push_back(node);
        }
        self.repr = Repr::Quick(Box::new(q));
    }

    /// After removing elements: converts a quicklist down to a single node of at most
    /// half the limit back to a listpack.
    pub fn try_shrink(&mut self, shape: Shape) {
        self.try_convert_quicklist(shape.fill, true);
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
        if node.is_plain() || node.lp() > max_size || q.count > max_count {
            return;
        }
        let mut node = q.nodes.pop_front().expect("one node");
        node.decompress();
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
    pub fn get(&self, index: i64) -> Option<Cow<'_, [u8]>> {
        let i = self.position(index)?;
        let (ni, off) = match &self.repr {
            Repr::Pack(_) => (0, i),
            Repr::Quick(q) => q.locate(i),
        };
        Some(match self.node(ni).readable() {
            Cow::Borrowed(n) => Cow::Borrowed(n.data(n.seek(off))),
            Cow::Owned(n) => Cow::Owned(n.data(n.seek(off)).to_vec()),
        })
    }

    /// Replaces the element at a Redis index; false when out of range.
    pub fn set(&mut self, index: i64, v: &[u8]) -> bool {
        let Some(i) = self.position(index) else {
            return false;
        };
        match &mut self.repr {
            Repr::Pack(n) => {
                let p = n.seek(i);
                n.replace_at(p, v);
            }
            Repr::Quick(q) => {
                let (ni, off) = q.locate(i);
                q.replace(ni, off, v);
            }
        }
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
                    let n = n.readable();
                    let off = n.entries(HDR).position(|e| e == pivot);
                    off.map(|off| (ni, off))
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
            Repr::Quick(q) => q.remove_matches(v, limit, from_back),
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

    /// (node, byte position of the entry, byte position past it) of position `i` (< len).
    fn cursor(&self, i: usize) -> (usize, usize, usize) {
        let (ni, off) = match &self.repr {
            Repr::Pack(_) => (0, i),
            Repr::Quick(q) => q.locate(i),
        };
        let n = self.node(ni).readable();
        let p = n.seek(off);
        (ni, p, n.entry_at(p).2)
    }

    /// The elements node by node, head to tail, with whether the node is a plain one:
    /// DUMP writes one listpack per node (a plain node's element as it is), as Redis
    /// does.
    pub fn each_node(&self, mut f: impl FnMut(bool, &mut dyn Iterator<Item = &[u8]>)) {
        for i in 0..self.node_count() {
            let n = self.node(i).readable();
            f(n.is_plain(), &mut n.entries(HDR));
        }
    }

    /// One line per node for DEBUG QUICKLIST: its entries, listpack bytes, and
    /// whether it is compressed or plain.
    pub fn node_lines(&self) -> Vec<String> {
        (0..self.node_count())
            .map(|i| {
                let n = self.node(i);
                format!(
                    "{{node {i}}} {{count {}}} {{listpack bytes {}}} {{compressed {}}} {{plain {}}} {{bytes held {}}}",
                    n.count(),
                    n.lp(),
                    u8::from(n.is_lzf()),
                    u8::from(n.is_plain()),
                    n.buf.len(),
                )
            })
            .collect()
    }

    /// DEBUG OBJECT's quicklist figures; `None` for a listpack.
    pub fn quicklist_info(&self) -> Option<QuicklistInfo> {
        let Repr::Quick(q) = &self.repr else {
            return None;
        };
        let uncompressed = q
            .nodes
            .iter()
            .map(|n| {
                if n.is_plain() {
                    n.readable().data(HDR).len()
                } else {
                    n.lp()
                }
            })
            .sum();
        Some(QuicklistInfo {
            nodes: q.nodes.len(),
            fill: q.fill,
            compresses: q.depth != 0,
            uncompressed,
        })
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
        let mut it = Iter {
            list: self,
            front: (0, 0),
            back: (0, 0),
            remaining: 0,
            front_copy: None,
            back_copy: None,
        };
        if count > 0 {
            let (fnode, fp, _) = self.cursor(start);
            let (bnode, _, bend) = self.cursor(start + count - 1);
            it.front = (fnode, fp);
            it.back = (bnode, bend);
            it.remaining = count;
        }
        it
    }

    /// Checks the structure (tests): counts, listpack sizes, no empty quicklist nodes.
    #[cfg(test)]
    pub(crate) fn check(&self) {
        let mut total = 0;
        if let Repr::Quick(q) = &self.repr {
            assert!(
                q.ends_uncompressed(),
                "a node within the depth is compressed"
            );
        }
        for i in 0..self.node_count() {
            let n = self.node(i).readable();
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
        let back: Vec<Cow<[u8]>> = self.iter().rev().collect();
        let mut fwd: Vec<Cow<[u8]>> = self.iter().collect();
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

    /// Number of compressed nodes (tests).
    #[cfg(test)]
    pub(crate) fn compressed_nodes(&self) -> usize {
        match &self.repr {
            Repr::Pack(_) => 0,
            Repr::Quick(q) => q.compressed_nodes(),
        }
    }
}

/// Iterator over a range of a list's elements. Elements of uncompressed nodes are
/// borrowed; those of a compressed node are copied out of a decompressed copy of it,
/// made once per node and cursor.
pub struct Iter<'a> {
    list: &'a List,
    /// (node, byte position of the next entry from the front)
    front: (usize, usize),
    /// (node, byte position just past the next entry from the back)
    back: (usize, usize),
    remaining: usize,
    front_copy: Option<(usize, Node)>,
    back_copy: Option<(usize, Node)>,
}

/// Node `ni` of `list` readable: the node, or the copy in `slot` (made if needed).
fn readable_in<'a, 'c>(
    list: &'a List,
    slot: &'c mut Option<(usize, Node)>,
    ni: usize,
) -> Result<&'a Node, &'c Node> {
    let n = list.node(ni);
    if !n.is_lzf() {
        return Ok(n);
    }
    if slot.as_ref().map(|s| s.0) != Some(ni) {
        *slot = Some((ni, n.readable().into_owned()));
    }
    Err(&slot.as_ref().expect("just filled").1)
}

/// The entry at byte `p` of a readable node: borrowed from the list, or copied.
fn element<'a>(node: Result<&'a Node, &Node>, p: usize) -> Cow<'a, [u8]> {
    match node {
        Ok(n) => Cow::Borrowed(n.data(p)),
        Err(copy) => Cow::Owned(copy.data(p).to_vec()),
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = Cow<'a, [u8]>;

    fn next(&mut self) -> Option<Cow<'a, [u8]>> {
        if self.remaining == 0 {
            return None;
        }
        let list: &'a List = self.list;
        while self.front.1 >= list.node(self.front.0).raw_len() {
            self.front = (self.front.0 + 1, HDR);
        }
        let node = readable_in(list, &mut self.front_copy, self.front.0);
        let p = self.front.1;
        self.front.1 = node.map_or_else(|c| c.entry_at(p).2, |n| n.entry_at(p).2);
        self.remaining -= 1;
        Some(element(node, p))
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
        while self.back.1 <= HDR {
            let ni = self.back.0 - 1;
            self.back = (ni, list.node(ni).raw_len());
        }
        let node = readable_in(list, &mut self.back_copy, self.back.0);
        let end = self.back.1;
        let p = node.map_or_else(|c| c.entry_before(end), |n| n.entry_before(end));
        self.back.1 = p;
        self.remaining -= 1;
        Some(element(node, p))
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
            .entries(
                self.iter()
                    .map(|e| String::from_utf8_lossy(&e).into_owned()),
            )
            .finish()
    }
}

#[cfg(test)]
#[path = "../tests/list.rs"]
mod tests;
