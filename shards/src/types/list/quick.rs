//! The quicklist encoding: a deque of nodes, split and merged as Redis's quicklist does.

use std::collections::VecDeque;

use super::node::{exceeds_limit, Node, LP_EMPTY, SIZE_ESTIMATE_OVERHEAD};
use super::End;

/// The scalable encoding: a deque of nodes, none of them empty.
#[derive(Clone)]
pub(super) struct Quick {
    pub(super) nodes: VecDeque<Node>,
    pub(super) count: usize,
    /// The fill the quicklist was created with (Redis keeps it per quicklist).
    pub(super) fill: i64,
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

    pub(super) fn pop(&mut self, end: End) -> Option<Vec<u8>> {
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
    pub(super) fn insert(&mut self, ni: usize, off: usize, v: &[u8], after: bool) {
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
    pub(super) fn remove_range(&mut self, start: usize, mut n: usize) {
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
