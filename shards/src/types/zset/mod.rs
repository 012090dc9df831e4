//! A Redis sorted set value: members (byte strings) with f64 scores, ordered by
//! (score, member).
//!
//! Two encodings, as in Redis:
//! - `listpack`: the entries packed in one byte buffer, in order (`packed`), while the
//!   set has at most `zset-max-listpack-entries` members of at most
//!   `zset-max-listpack-value` bytes. Every operation is a linear scan plus a memmove:
//!   cheap at that size.
//! - `skiplist`: a `Dict` member -> score (O(1) ZSCORE, SCAN cursors that survive
//!   resizes) plus an order-statistic B+tree of (score, member) whose inner nodes keep
//!   subtree sizes. Insert, remove, rank (ZRANK), select by rank (ZRANGE by index) and
//!   score / lex bound searches are all O(log n) with a fanout of 64; walking k
//!   consecutive elements from a rank is O(log n + k).
//!
//! Scores are never NaN (callers reject it). Scores compare as C doubles do, so -0 and
//! 0 are equal and ties order by member bytes. Like Redis, the listpack encoding does
//! not keep a negative zero (it stores 0), the skiplist encoding does.
//! Sets never convert back to listpack when they shrink.

use std::cmp::Ordering;
use std::fmt;

use crate::config::EngineConfig;
use crate::dict::Dict;
use crate::smallbytes::SmallBytes;

/// One member and its score.
#[derive(Debug, Clone, PartialEq)]
pub struct Elem {
    pub score: f64,
    pub member: SmallBytes,
}

impl Elem {
    pub fn new(member: &[u8], score: f64) -> Elem {
        Elem {
            score,
            member: SmallBytes::new(member),
        }
    }

    /// Order by score (C comparison: -0 == 0), then member bytes.
    #[inline]
    pub fn cmp_to(&self, score: f64, member: &[u8]) -> Ordering {
        cmp_key(self.score, &self.member, score, member)
    }
}

#[inline]
pub fn cmp_key(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    a_score
        .partial_cmp(&b_score)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a_member.cmp(b_member))
}

/// The listpack encoding stores an integral score as an integer, which loses the sign
/// of a negative zero; mirror that.
#[inline]
fn listpack_score(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

pub enum ZSet {
    /// Sorted by (score, member).
    Listpack(Packed),
    Skiplist(Box<Sorted>),
}

/// The large encoding: member -> score, plus the ordered index.
pub struct Sorted {
    dict: Dict<f64>,
    tree: tree::OrderTree,
    /// Heap bytes that depend on the members: each member's dict node (member inline)
    /// and the tree's copy of long members; see `member_bytes`.
    member_heap: usize,
}

/// What one member adds to `Sorted::member_heap`.
fn member_bytes(member: &[u8]) -> usize {
    let tree_copy = if member.len() > crate::smallbytes::INLINE {
        member.len()
    } else {
        0
    };
    Dict::<f64>::node_bytes(member.len(), false) + tree_copy
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::Listpack(Packed::default())
    }
}

impl Clone for ZSet {
    fn clone(&self) -> Self {
        match self {
            ZSet::Listpack(v) => ZSet::Listpack(v.clone()),
            ZSet::Skiplist(s) => ZSet::Skiplist(Box::new(Sorted::from_sorted(
                s.tree.iter_from(0, false).cloned().collect(),
            ))),
        }
    }
}

impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        self.is_listpack() == other.is_listpack()
            && self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|(a, b)| a.0 == b.0 && a.1 == b.1)
    }
}

impl fmt::Debug for ZSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = if self.is_listpack() {
            "ZSet::Listpack"
        } else {
            "ZSet::Skiplist"
        };
        f.write_str(name)?;
        f.debug_list()
            .entries(
                self.iter()
                    .map(|(m, s)| (String::from_utf8_lossy(m).into_owned(), s)),
            )
            .finish()
    }
}

impl Sorted {
    /// Builds from elements already sorted by (score, member) with distinct members.
    fn from_sorted(elems: Vec<Elem>) -> Sorted {
        let mut dict = Dict::new();
        let mut member_heap = 0;
        for e in &elems {
            dict.insert_new(&e.member, e.score);
            member_heap += member_bytes(&e.member);
        }
        Sorted {
            dict,
            tree: tree::OrderTree::from_sorted(elems),
            member_heap,
        }
    }
}

/// Iterator over (member, score) pairs of a rank range.
pub enum ZIter<'a> {
    Listpack(PackedIter<'a>),
    Tree(tree::Iter<'a>),
}

impl<'a> Iterator for ZIter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            ZIter::Listpack(it) => it.next(),
            ZIter::Tree(it) => it.next().map(|e| (&e.member[..], e.score)),
        }
    }
}

impl ZSet {
    pub fn new() -> ZSet {
        ZSet::default()
    }

    /// Builds a set from distinct members in any order, with the encoding Redis picks
    /// for a stored result (ZUNIONSTORE, ZRANGESTORE ...): listpack if it fits.
    pub fn from_elems(mut elems: Vec<Elem>, config: &EngineConfig) -> ZSet {
        elems.sort_by(|a, b| a.cmp_to(b.score, &b.member));
        let fits = elems.len() <= config.zset_max_listpack_entries
            && elems
                .iter()
                .all(|e| e.member.len() <= config.zset_max_listpack_value);
        if fits {
            for e in &mut elems {
                e.score = listpack_score(e.score);
            }
            ZSet::Listpack(Packed::from_sorted(&elems))
        } else {
            ZSet::Skiplist(Box::new(Sorted::from_sorted(elems)))
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ZSet::Listpack(v) => v.len(),
            ZSet::Skiplist(s) => s.dict.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_listpack(&self) -> bool {
        matches!(self, ZSet::Listpack(_))
    }

    /// The Redis encoding name OBJECT ENCODING reports.
    pub fn encoding(&self, _config: &EngineConfig) -> &'static str {
        match self {
            ZSet::Listpack(_) => "listpack",
            ZSet::Skiplist(_) => "skiplist",
        }
    }

    /// Heap bytes owned (memory accounting); O(1) for listpack capacity and O(n / 64)
    /// node walk for the tree.
    pub fn heap_size(&self) -> usize {
        match self {
            ZSet::Listpack(p) => p.heap_size(),
            ZSet::Skiplist(s) => {
                std::mem::size_of::<Sorted>()
                    + s.dict.bucket_count() * 8
                    + s.tree.heap_size()
                    + s.member_heap
            }
        }
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Listpack(p) => p.find(member).map(|(_, s)| s),
            ZSet::Skiplist(s) => s.dict.get(member).copied(),
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.score(member).is_some()
    }

    /// Adds `member` or changes its score; returns the previous score. Converts to the
    /// skiplist encoding first when the new member would overflow the listpack limits.
    pub fn insert(&mut self, member: &[u8], score: f64, config: &EngineConfig) -> Option<f64> {
        if let ZSet::Listpack(p) = self {
            if let Some((_, old)) = p.find(member) {
                let score = listpack_score(score);
                if old != score {
                    p.remove(member);
                    p.insert(member, score);
                }
                return Some(old);
            }
            if p.len() < config.zset_max_listpack_entries
                && member.len() <= config.zset_max_listpack_value
            {
                p.insert(member, listpack_score(score));
                return None;
            }
            self.convert_to_skiplist();
        }
        let ZSet::Skiplist(s) = self else {
            unreachable!("converted above")
        };
        match s.dict.get_mut(member) {
            Some(cur) => {
                let old = *cur;
                // Like Redis, an equal score (0 vs -0 included) changes nothing.
                if old != score {
                    *cur = score;
                    s.tree.remove(old, member);
                    s.tree.insert(Elem::new(member, score));
                }
                Some(old)
            }
            None => {
                s.dict.insert_new(member, score);
                let e = Elem::new(member, score);
                s.member_heap += member_bytes(&e.member);
                s.tree.insert(e);
                None
            }
        }
    }

    /// Converts a listpack set to the skiplist encoding (no-op otherwise).
    pub fn convert_to_skiplist(&mut self) {
        if let ZSet::Listpack(p) = self {
            let elems = p.to_elems();
            *self = ZSet::Skiplist(Box::new(Sorted::from_sorted(elems)));
        }
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Listpack(p) => p.remove(member),
            ZSet::Skiplist(s) => {
                let score = s.dict.remove(member)?.value;
                s.member_heap -= member_bytes(member);
                s.tree.remove(score, member);
                Some(score)
            }
        }
    }

    /// 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match self {
            ZSet::Listpack(p) => p.find(member).map(|(r, _)| r),
            ZSet::Skiplist(s) => {
                let score = *s.dict.get(member)?;
                s.tree.rank(score, member)
            }
        }
    }

    /// The element at ascending rank `rank`.
    pub fn get_by_rank(&self, rank: usize) -> Option<(&[u8], f64)> {
        match self {
            ZSet::Listpack(p) => p.get(rank),
            ZSet::Skiplist(s) => s.tree.select(rank).map(|e| (&e.member[..], e.score)),
        }
    }

    /// All elements in ascending order.
    pub fn iter(&self) -> ZIter<'_> {
        self.iter_range(0, self.len(), false)
    }

    /// Elements of ascending ranks `start..end` (clamped to the set), in ascending
    /// order, or in descending order (from `end - 1` down to `start`) when `rev`.
    pub fn iter_range(&self, start: usize, end: usize, rev: bool) -> ZIter<'_> {
        let end = end.min(self.len());
        let start = start.min(end);
        match self {
            ZSet::Listpack(p) => ZIter::Listpack(p.range(start, end, rev)),
            ZSet::Skiplist(s) => {
                let from = if rev { end.saturating_sub(1) } else { start };
                ZIter::Tree(s.tree.iter_from(from, rev).limit(end - start))
            }
        }
    }

    /// Ascending ranks `start..end` of the elements inside a range given by two
    /// predicates: `after_min(score, member)` (at or past the lower bound) and
    /// `before_max` (at or before the upper bound). For well-formed ranges both are
    /// monotone and the result is exact; for lex ranges over mixed scores it follows
    /// Redis: the listpack scans linearly from the head, the skiplist searches.
    pub fn range_ranks(
        &self,
        after_min: impl Fn(f64, &[u8]) -> bool,
        before_max: impl Fn(f64, &[u8]) -> bool,
    ) -> (usize, usize) {
        match self {
            ZSet::Listpack(p) => p.range_ranks(after_min, before_max),
            ZSet::Skiplist(s) => {
                let start = s.tree.count_while(|e| !after_min(e.score, &e.member));
                let end = s.tree.count_while(|e| before_max(e.score, &e.member));
                (start, end.max(start))
            }
        }
    }

    /// Removes the elements of ascending ranks `start..end`; returns how many.
    pub fn remove_rank_range(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(self.len());
        if start >= end {
            return 0;
        }
        match self {
            ZSet::Listpack(p) => p.remove_ranks(start, end),
            ZSet::Skiplist(s) => {
                let doomed: Vec<Elem> = s
                    .tree
                    .iter_from(start, false)
                    .take(end - start)
                    .cloned()
                    .collect();
                for e in doomed {
                    s.dict.remove(&e.member);
                    s.member_heap -= member_bytes(&e.member);
                    s.tree.remove(e.score, &e.member);
                }
            }
        }
        end - start
    }

    /// Removes and returns the lowest (or, with `max`, highest) element.
    pub fn pop(&mut self, max: bool) -> Option<(SmallBytes, f64)> {
        let len = self.len();
        if len == 0 {
            return None;
        }
        let rank = if max { len - 1 } else { 0 };
        match self {
            ZSet::Listpack(p) => {
                let (member, score) = p.get(rank).map(|(m, s)| (SmallBytes::new(m), s))?;
                p.remove_ranks(rank, rank + 1);
                Some((member, score))
            }
            ZSet::Skiplist(s) => {
                let e = s.tree.select(rank)?.clone();
                s.dict.remove(&e.member);
                s.member_heap -= member_bytes(&e.member);
                s.tree.remove(e.score, &e.member);
                Some((e.member, e.score))
            }
        }
    }

    /// One step of ZSCAN: listpack sets are returned whole with cursor 0; skiplist sets
    /// follow the dict's reverse-binary cursor.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], f64)) -> u64 {
        match self {
            ZSet::Listpack(p) => {
                for (m, s) in p.iter() {
                    visit(m, s);
                }
                0
            }
            ZSet::Skiplist(s) => s.dict.scan(cursor, count, |k, v| visit(k, *v)),
        }
    }

    /// Checks the internal invariants (tests).
    #[cfg(test)]
    pub fn check(&self) {
        match self {
            ZSet::Listpack(p) => {
                let all: Vec<_> = p.iter().collect();
                assert_eq!(all.len(), p.len());
                for w in all.windows(2) {
                    assert_eq!(cmp_key(w[0].1, w[0].0, w[1].1, w[1].0), Ordering::Less);
                }
            }
            ZSet::Skiplist(s) => {
                s.tree.check();
                assert_eq!(s.tree.len(), s.dict.len());
                for e in s.tree.iter_from(0, false) {
                    assert_eq!(
                        s.dict.get(&e.member).map(|v| v.to_bits()),
                        Some(e.score.to_bits())
                    );
                }
            }
        }
    }
}

/// An order-statistic B+tree of elements. Leaves hold sorted runs of elements; inner
/// nodes hold their children, each child's subtree size, and between consecutive
/// children a separator that is >= every element of the left child and < every element
/// of the right one. Separators are copies and may outlive the element they were
/// copied from: they stay valid bounds, which is all routing needs.
pub mod tree;

mod packed;
use packed::{Packed, PackedIter};

#[cfg(test)]
mod tests {
    use super::tree::OrderTree;
    use super::*;
    use std::collections::BTreeSet;

    /// A total-order key for the model: scores here are finite and never -0.
    fn key(score: f64, member: &[u8]) -> (i64, Vec<u8>) {
        (score as i64, member.to_vec())
    }

    #[test]
    fn order_tree_matches_a_btreeset_under_random_inserts_and_removes() {
        let mut t = OrderTree::default();
        let mut model: BTreeSet<(i64, Vec<u8>)> = BTreeSet::new();
        let mut x: u64 = 0x1234_5678;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for step in 0..40_000 {
            let r = next();
            let score = (r % 500) as f64;
            let member = format!("m{}", (r >> 20) % 3000).into_bytes();
            // Grow for the first half, then mostly shrink.
            let grow = if step < 20_000 { 3 } else { 1 };
            if (r >> 40) % 4 < grow {
                if model.insert(key(score, &member)) {
                    t.insert(Elem::new(&member, score));
                }
            } else {
                let had = model.remove(&key(score, &member));
                assert_eq!(t.remove(score, &member), had);
            }
            if step % 4000 == 0 {
                t.check();
            }
        }
        t.check();
        assert_eq!(t.len(), model.len());
        let all: Vec<(i64, Vec<u8>)> = t
            .iter_from(0, false)
            .map(|e| key(e.score, &e.member))
            .collect();
        let want: Vec<_> = model.iter().cloned().collect();
        assert_eq!(all, want);
        for (r, (s, m)) in want.iter().enumerate().step_by(7) {
            assert_eq!(t.rank(*s as f64, m), Some(r));
            assert_eq!(
                t.select(r).map(|e| key(e.score, &e.member)),
                Some((*s, m.clone()))
            );
            let back: Vec<_> = t
                .iter_from(r, true)
                .take(5)
                .map(|e| key(e.score, &e.member))
                .collect();
            let want_back: Vec<_> = want[..=r].iter().rev().take(5).cloned().collect();
            assert_eq!(back, want_back);
            let below = t.count_while(|e| e.score < *s as f64);
            assert_eq!(below, want.iter().filter(|(ws, _)| ws < s).count());
        }
        assert_eq!(t.rank(1e9, b"nope"), None);
    }

    #[test]
    fn order_tree_bulk_load_is_balanced_at_every_size() {
        for n in [0usize, 1, 2, 47, 48, 49, 97, 1000, 2305, 5000] {
            let elems: Vec<Elem> = (0..n)
                .map(|i| Elem::new(format!("{i:06}").as_bytes(), 1.0))
                .collect();
            let t = OrderTree::from_sorted(elems);
            t.check();
            assert_eq!(t.len(), n);
            assert_eq!(t.iter_from(0, false).count(), n);
            assert_eq!(t.iter_from(n.saturating_sub(1), true).count(), n);
        }
    }

    #[test]
    fn negative_zero_is_kept_only_by_the_skiplist_encoding() {
        let cfg = EngineConfig::default();
        let mut z = ZSet::new();
        z.insert(b"a", -0.0, &cfg);
        assert!(z.score(b"a").unwrap().is_sign_positive());
        z.convert_to_skiplist();
        z.insert(b"b", -0.0, &cfg);
        assert!(z.score(b"b").unwrap().is_sign_negative());
        // -0 and 0 are equal scores: members order the tie.
        let members: Vec<&[u8]> = z.iter().map(|(m, _)| m).collect();
        assert_eq!(members, vec![&b"a"[..], b"b"]);
        z.check();
    }
}
