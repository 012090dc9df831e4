//! The quicklist encoding: a deque of nodes, split and merged as Redis's quicklist does,
//! with Redis's two refinements: interior nodes LZF-compressed beyond
//! `list-compress-depth` nodes from either end, and plain nodes for elements at or above
//! the packed threshold.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::node::{exceeds_limit, Node, HDR, LP_EMPTY, SIZE_ESTIMATE_OVERHEAD};
use super::End;

/// Elements of at least this many bytes get a plain node of their own. Process-wide,
/// as in Redis (DEBUG QUICKLIST-PACKED-THRESHOLD sets it; 1 GiB by default).
static PACKED_THRESHOLD: AtomicUsize = AtomicUsize::new(DEFAULT_PACKED_THRESHOLD);
const DEFAULT_PACKED_THRESHOLD: usize = 1 << 30;

/// Sets the packed threshold (0 restores the default); false when it is at or within
/// a MiB of 4 GiB, which Redis refuses.
pub fn set_packed_threshold(sz: u64) -> bool {
    if sz > (1u64 << 32) - (1 << 20) {
        return false;
    }
    let sz = if sz == 0 {
        DEFAULT_PACKED_THRESHOLD
    } else {
        sz as usize
    };
    PACKED_THRESHOLD.store(sz, Ordering::Relaxed);
    true
}

fn is_large(len: usize) -> bool {
    len >= PACKED_THRESHOLD.load(Ordering::Relaxed)
}

/// Redis keeps a quicklist's compress depth in 16 bits.
pub(super) const DEPTH_MAX: usize = (1 << 16) - 1;

/// The scalable encoding: a deque of nodes, none of them empty.
#[derive(Clone)]
pub(super) struct Quick {
    pub(super) nodes: VecDeque<Node>,
    pub(super) count: usize,
    /// The fill the quicklist was created with (Redis keeps it per quicklist).
    pub(super) fill: i64,
    /// Nodes kept uncompressed at each end; 0 compresses none (also per quicklist).
    pub(super) depth: usize,
}

impl Quick {
    pub(super) fn new(fill: i64, depth: usize) -> Quick {
        Quick {
            nodes: VecDeque::new(),
            count: 0,
            fill,
            depth: depth.min(DEPTH_MAX),
        }
    }

    fn allow_insert(&self, node: &Node, sz: usize) -> bool {
        if node.is_plain() || is_large(sz) {
            return false;
        }
        let new_sz = node
            .lp()
            .saturating_add(sz)
            .saturating_add(SIZE_ESTIMATE_OVERHEAD);
        !exceeds_limit(self.fill, new_sz, node.count() + 1)
    }

    fn allow_merge(&self, a: usize, b: usize) -> bool {
        let (a, b) = (&self.nodes[a], &self.nodes[b]);
        if a.is_plain() || b.is_plain() {
            return false;
        }
        let size = a.lp().saturating_add(b.lp()) - LP_EMPTY;
        !exceeds_limit(self.fill, size, a.count() + b.count())
    }

    /// Merges node `a + 1` into node `a`.
    fn merge(&mut self, a: usize) {
        if let Some(mut b) = self.nodes.remove(a + 1) {
            b.decompress();
            self.nodes[a].decompress();
            self.nodes[a].append(b);
        }
    }

    /// Keeps Redis's compression rule after nodes changed: the `depth` nodes at each
    /// end uncompressed, and the first interior node from each end, plus the `touched`
    /// ones that are interior, compressed (when compression pays, see
    /// `Node::compress`). Costs O(depth) plus the touched nodes.
    fn settle(&mut self, touched: impl IntoIterator<Item = usize>) {
        if self.depth == 0 {
            return;
        }
        let len = self.nodes.len();
        for i in 0..self.depth.min(len) {
            self.nodes[i].decompress();
            self.nodes[len - 1 - i].decompress();
        }
        if len <= 2 * self.depth {
            return;
        }
        let interior = self.depth..len - self.depth;
        for i in [self.depth, len - 1 - self.depth]
            .into_iter()
            .chain(touched)
        {
            if interior.contains(&i) {
                self.nodes[i].compress();
            }
        }
    }

    /// `settle` with every node touched (after a pass over the whole list).
    fn settle_all(&mut self) {
        self.settle(0..self.nodes.len());
    }

    /// Whether nodes within `depth` of an end are uncompressed (tests).
    #[cfg(test)]
    pub(super) fn ends_uncompressed(&self) -> bool {
        let len = self.nodes.len();
        (0..self.depth.min(len))
            .all(|i| !self.nodes[i].is_lzf() && !self.nodes[len - 1 - i].is_lzf())
    }

    /// Number of compressed nodes (tests).
    #[cfg(test)]
    pub(super) fn compressed_nodes(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_lzf()).count()
    }

    /// (node, entry within it) of list index `i` (< count), walking from the nearer end.
    pub(super) fn locate(&self, i: usize) -> (usize, usize) {
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

    pub(super) fn push(&mut self, end: End, v: &[u8]) {
        if is_large(v.len()) {
            match end {
                End::Head => self.nodes.push_front(Node::plain(v)),
                End::Tail => self.nodes.push_back(Node::plain(v)),
            }
            self.count += 1;
            self.settle([]);
            return;
        }
        let target = match end {
            End::Head => self.nodes.front(),
            End::Tail => self.nodes.back(),
        };
        if target.is_some_and(|n| self.allow_insert(n, v.len())) {
            let n = match end {
                End::Head => self.nodes.front_mut(),
                End::Tail => self.nodes.back_mut(),
            };
            let n = n.expect("checked above");
            n.decompress();
            n.push(end, v);
        } else {
            let mut n = Node::new();
            n.push(end, v);
            match end {
                End::Head => self.nodes.push_front(n),
                End::Tail => self.nodes.push_back(n),
            }
            self.settle([]);
        }
        self.count += 1;
    }

    pub(super) fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        let ni = match end {
            End::Head => 0,
            End::Tail => self.nodes.len().checked_sub(1)?,
        };
        let node = self.nodes.get_mut(ni)?;
        node.decompress();
        let v = node.pop(end)?;
        if self.nodes[ni].is_empty() {
            self.nodes.remove(ni);
            self.settle([]);
        }
        self.count -= 1;
        Some(v)
    }

    /// Inserts `v` next to entry `off` of node `ni`, like Redis's quicklist: into the
    /// node when it has room, else into a neighbour at that edge, else a new node at the
    /// edge, else by splitting the node (then merging neighbours that fit together).
    pub(super) fn insert(&mut self, ni: usize, off: usize, v: &[u8], after: bool) {
        self.nodes[ni].decompress();
        if is_large(v.len()) {
            self.insert_plain(ni, off, v, after);
        } else {
            self.insert_packed(ni, off, v, after);
        }
        self.count += 1;
        let window = ni.saturating_sub(2)..(ni + 3).min(self.nodes.len());
        self.settle(window);
    }

    /// A large element gets a plain node: next to node `ni` when it goes at the node's
    /// edge (or the node is plain itself), else between the two halves of node `ni`.
    fn insert_plain(&mut self, ni: usize, off: usize, v: &[u8], after: bool) {
        let node = &mut self.nodes[ni];
        let at_edge = if after {
            off + 1 == node.count()
        } else {
            off == 0
        };
        if node.is_plain() || at_edge {
            self.nodes
                .insert(if after { ni + 1 } else { ni }, Node::plain(v));
        } else {
            let rest = node.split_off(if after { off + 1 } else { off });
            self.nodes.insert(ni + 1, Node::plain(v));
            self.nodes.insert(ni + 2, rest);
        }
    }

    fn insert_packed(&mut self, ni: usize, off: usize, v: &[u8], after: bool) {
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
            self.nodes[ni + 1].decompress();
            self.nodes[ni + 1].push(End::Head, v);
        } else if at_head && avail_prev {
            self.nodes[ni - 1].decompress();
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
    pub(super) fn remove_range(&mut self, start: usize, mut n: usize) {
        if n == 0 {
            return;
        }
        let (mut ni, mut off) = self.locate(start);
        let first = ni;
        self.count -= n;
        while n > 0 {
            let c = self.nodes[ni].count();
            let del = n.min(c - off);
            if off == 0 && del == c {
                self.nodes.remove(ni);
            } else {
                self.nodes[ni].decompress();
                self.nodes[ni].remove_range(off, del);
                ni += 1;
            }
            n -= del;
            off = 0;
        }
        self.settle([first, first + 1]);
    }

    /// Replaces element `off` of node `ni` (LSET). A large value, or any value in a
    /// plain node, goes in by removing the old element and inserting the new one.
    pub(super) fn replace(&mut self, ni: usize, off: usize, v: &[u8]) {
        if self.nodes[ni].is_plain() || is_large(v.len()) {
            let i = self.nodes.iter().take(ni).map(Node::count).sum::<usize>() + off;
            self.remove_range(i, 1);
            if i < self.count {
                let (ni, off) = self.locate(i);
                self.insert(ni, off, v, false);
            } else {
                self.push(End::Tail, v);
            }
            return;
        }
        let node = &mut self.nodes[ni];
        node.decompress();
        let p = node.seek(off);
        node.replace_at(p, v);
        self.settle([ni]);
    }

    /// LREM on a quicklist (see `List::remove`). Nodes without `v` stay as they are.
    pub(super) fn remove_matches(&mut self, v: &[u8], limit: usize, from_back: bool) -> usize {
        let mut removed = 0;
        let mut ni = if from_back { self.nodes.len() } else { 0 };
        loop {
            if from_back {
                if ni == 0 {
                    break;
                }
                ni -= 1;
            } else if ni >= self.nodes.len() {
                break;
            }
            let node = &mut self.nodes[ni];
            if node.readable().entries(HDR).any(|e| e == v) {
                node.decompress();
                let rest = if limit == 0 { 0 } else { limit - removed };
                removed += node.remove_matches(v, rest, from_back);
            }
            if self.nodes[ni].is_empty() {
                self.nodes.remove(ni);
            } else if !from_back {
                ni += 1;
            }
            if limit != 0 && removed == limit {
                break;
            }
        }
        self.count -= removed;
        if removed > 0 {
            self.settle_all();
        }
        removed
    }
}
