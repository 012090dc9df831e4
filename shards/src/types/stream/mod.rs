//! A Redis stream: entries with increasing IDs (`ms-seq`), each a list of field/value
//! pairs, kept in packed nodes ordered by the ID of their first entry (Redis keeps
//! listpacks in a radix tree keyed the same way), plus the stream's counters and its
//! consumer groups (`group.rs`).
//!
//! A node is one buffer: per entry a flag byte (live or deleted), the ID as a varint
//! distance from the node's key in milliseconds plus the sequence number, the number of
//! fields, then each field and value as a varint length and bytes. A node is closed when
//! it holds `stream-node-max-entries` entries (deleted ones included, as in Redis) or
//! passes `stream-node-max-bytes`. Deleting an entry only marks it; a node whose
//! entries are all deleted goes away. Trimming removes whole nodes from the front and,
//! unless approximate, marks entries of the first remaining node, which is how Redis
//! trims, so MAXLEN ~ and LIMIT remove the same counts as redis-server.

use std::collections::BTreeMap;
use std::fmt;

use crate::varint::{get as get_varint, put as put_varint};

pub mod group;

pub use group::{Consumer, Group, Pending};

/// A stream entry ID.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    pub fn is_zero(&self) -> bool {
        *self == StreamId::MIN
    }

    /// The next ID; None past the largest.
    pub fn next(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The previous ID; None before 0-0.
    pub fn prev(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    /// Parses `ms-seq` or `ms` (the sequence is then `missing_seq`). Each number is
    /// read as Redis reads it (`strtoull` after a strict integer parse): leading
    /// white space and a sign are accepted, a leading `-` without white space is not.
    pub fn parse(b: &[u8], missing_seq: u64) -> Option<StreamId> {
        let (ms, seq) = match b.iter().position(|&c| c == b'-') {
            Some(0) => return None,
            Some(dash) => (&b[..dash], Some(&b[dash + 1..])),
            None => (b, None),
        };
        let ms = parse_u64(ms)?;
        let seq = match seq {
            Some(s) => parse_u64(s)?,
            None => missing_seq,
        };
        Some(StreamId::new(ms, seq))
    }
}

/// Redis's `string2ull`: a plain non-negative integer, or what `strtoull` accepts
/// (white space, then `+` or `-`, then digits; `-` negates modulo 2^64).
fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.first() == Some(&b'-') {
        return None;
    }
    let text = b.trim_ascii_start();
    let (neg, digits) = match text.first() {
        Some(b'+') => (false, &text[1..]),
        Some(b'-') => (true, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(if neg { n.wrapping_neg() } else { n })
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Node limits (`stream-node-max-bytes`, `stream-node-max-entries`; 0: no limit).
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    pub max_bytes: usize,
    pub max_entries: usize,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            max_bytes: 4096,
            max_entries: 100,
        }
    }
}

const LIVE: u8 = 0;
/// Flag bits of an entry.
const DELETED: u8 = 1;
/// The entry has the node's master fields (the first entry's field names, in order):
/// only its values are stored.
const SAME_FIELDS: u8 = 2;

/// A node's buffer: the master fields (their count, then each name as a varint length
/// and bytes), then the entries.
#[derive(Clone, Default, PartialEq, Eq)]
struct Node {
    buf: Vec<u8>,
    /// Where the entries start (after the master fields).
    entries_at: u32,
    /// Live entries.
    live: u32,
    /// Entries marked deleted.
    deleted: u32,
}

/// One decoded entry of a node: where it starts, its ID, whether it is deleted, and
/// where its fields start (for an entry with the master fields, its values only).
struct Raw {
    at: usize,
    id: StreamId,
    deleted: bool,
    same: bool,
    fields_at: usize,
    nfields: usize,
}

/// Skips `n` length-prefixed strings from `at`.
fn skip_strings(buf: &[u8], mut at: usize, n: usize) -> usize {
    for _ in 0..n {
        let (len, q) = get_varint(buf, at);
        at = q + len as usize;
    }
    at
}

impl Node {
    /// A node whose master fields are `pairs`' names.
    fn new(pairs: &[(&[u8], &[u8])]) -> Node {
        let mut buf = Vec::new();
        put_varint(&mut buf, pairs.len() as u64);
        for (f, _) in pairs {
            put_varint(&mut buf, f.len() as u64);
            buf.extend_from_slice(f);
        }
        Node {
            entries_at: buf.len() as u32,
            buf,
            live: 0,
            deleted: 0,
        }
    }

    fn master_count(&self) -> usize {
        get_varint(&self.buf, 0).0 as usize
    }

    /// Whether `pairs` have exactly the master fields, in order.
    fn same_fields(&self, pairs: &[(&[u8], &[u8])]) -> bool {
        let (n, mut at) = get_varint(&self.buf, 0);
        if n as usize != pairs.len() {
            return false;
        }
        for (f, _) in pairs {
            let (len, q) = get_varint(&self.buf, at);
            let end = q + len as usize;
            if &self.buf[q..end] != *f {
                return false;
            }
            at = end;
        }
        true
    }

    fn entries(&self, key: StreamId) -> NodeIter<'_> {
        NodeIter {
            buf: &self.buf,
            at: self.entries_at as usize,
            key,
            master: self.master_count(),
        }
    }
}

struct NodeIter<'a> {
    buf: &'a [u8],
    at: usize,
    key: StreamId,
    master: usize,
}

impl Iterator for NodeIter<'_> {
    type Item = Raw;

    fn next(&mut self) -> Option<Raw> {
        if self.at >= self.buf.len() {
            return None;
        }
        let at = self.at;
        let flags = self.buf[at];
        let (dms, p) = get_varint(self.buf, at + 1);
        let (seq, p) = get_varint(self.buf, p);
        let same = flags & SAME_FIELDS != 0;
        let (nfields, fields_at) = if same {
            (self.master, p)
        } else {
            let (n, q) = get_varint(self.buf, p);
            (n as usize, q)
        };
        let strings = if same { nfields } else { nfields * 2 };
        self.at = skip_strings(self.buf, fields_at, strings);
        Some(Raw {
            at,
            id: StreamId::new(self.key.ms + dms, seq),
            deleted: flags & DELETED != 0,
            same,
            fields_at,
            nfields,
        })
    }
}

/// An entry's field/value pairs, borrowed from its node (the names from the node's
/// master fields when the entry has them).
#[derive(Clone)]
pub struct Fields<'a> {
    buf: &'a [u8],
    at: usize,
    /// Next master field name, for an entry with the master fields.
    master_at: Option<usize>,
    left: usize,
}

impl<'a> Fields<'a> {
    fn of(node: &'a Node, e: &Raw) -> Fields<'a> {
        Fields {
            buf: &node.buf,
            at: e.fields_at,
            // The first name follows the master count.
            master_at: e.same.then(|| get_varint(&node.buf, 0).1),
            left: e.nfields,
        }
    }

    fn string(&mut self, from_master: bool) -> &'a [u8] {
        let at = if from_master {
            self.master_at.as_mut().expect("master fields")
        } else {
            &mut self.at
        };
        let (len, p) = get_varint(self.buf, *at);
        let end = p + len as usize;
        *at = end;
        &self.buf[p..end]
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let field = self.string(self.master_at.is_some());
        let value = self.string(false);
        Some((field, value))
    }
}

impl Fields<'_> {
    /// Pairs not yet iterated.
    pub fn remaining(&self) -> usize {
        self.left
    }
}

/// An entry's ID and field/value pairs, borrowed from its node.
pub type EntryPairs<'a> = (StreamId, Vec<(&'a [u8], &'a [u8])>);

/// How XADD/XTRIM trim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    /// Live entries.
    length: u64,
    pub last_id: StreamId,
    /// The first live entry's ID (0-0 when empty).
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    pub groups: BTreeMap<Vec<u8>, Group>,
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream")
            .field("length", &self.length)
            .field("last_id", &self.last_id)
            .field("groups", &self.groups.len())
            .finish()
    }
}

impl Stream {
    pub fn new() -> Self {
        Stream::default()
    }

    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Packed nodes (XINFO STREAM's `radix-tree-keys`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Heap bytes owned (approximate for the maps' own nodes).
    pub fn heap_size(&self) -> usize {
        const MAP_SLOT: usize = 48;
        let nodes: usize = self
            .nodes
            .values()
            .map(|n| n.buf.capacity() + MAP_SLOT)
            .sum();
        let groups: usize = self
            .groups
            .iter()
            .map(|(name, g)| name.len() + MAP_SLOT + g.heap_size())
            .sum();
        nodes + groups
    }

    /// The ID XADD would give an entry with `requested` (None: `*`; `seq_given`
    /// false: `ms-*`) at time `now`. None when no greater ID exists or the requested
    /// one is not greater than the last.
    pub fn next_id(
        &self,
        requested: Option<StreamId>,
        seq_given: bool,
        now: u64,
    ) -> Option<StreamId> {
        let id = match requested {
            None => {
                if now > self.last_id.ms {
                    StreamId::new(now, 0)
                } else {
                    self.last_id.next()?
                }
            }
            Some(r) if !seq_given => {
                if r.ms == self.last_id.ms {
                    if self.last_id.seq == u64::MAX {
                        return None;
                    }
                    StreamId::new(r.ms, self.last_id.seq + 1)
                } else {
                    StreamId::new(r.ms, 0)
                }
            }
            Some(r) => r,
        };
        (id > self.last_id).then_some(id)
    }

    /// Appends an entry; `id` must be greater than `last_id` (see `next_id`).
    pub fn append(&mut self, id: StreamId, pairs: &[(&[u8], &[u8])], limits: NodeLimits) {
        debug_assert!(id > self.last_id);
        let data: usize = pairs.iter().map(|(f, v)| f.len() + v.len()).sum();
        let fits = self.nodes.last_key_value().is_some_and(|(_, n)| {
            let count = (n.live + n.deleted) as usize;
            (limits.max_bytes == 0 || n.buf.len() + data < limits.max_bytes)
                && (limits.max_entries == 0 || count < limits.max_entries)
        });
        if !fits {
            // The node before is complete: it keeps no spare room.
            if let Some(mut last) = self.nodes.last_entry() {
                last.get_mut().buf.shrink_to_fit();
            }
            self.nodes.insert(id, Node::new(pairs));
        }
        let (key, node) = self.nodes.iter_mut().next_back().expect("a node");
        let key = *key;
        let same = node.same_fields(pairs);
        let buf = &mut node.buf;
        // Grow by a quarter at a time: a node's buffer stays close to its size (with
        // doubling, a closed node would keep up to half of its block unused).
        let need = 24 + data + pairs.len() * 20;
        if buf.capacity() - buf.len() < need {
            buf.reserve_exact(need.max(buf.len() / 4).max(64));
        }
        buf.push(if same { LIVE | SAME_FIELDS } else { LIVE });
        put_varint(buf, id.ms - key.ms);
        put_varint(buf, id.seq);
        if same {
            for (_, v) in pairs {
                put_varint(buf, v.len() as u64);
                buf.extend_from_slice(v);
            }
        } else {
            put_varint(buf, pairs.len() as u64);
            for (f, v) in pairs {
                put_varint(buf, f.len() as u64);
                buf.extend_from_slice(f);
                put_varint(buf, v.len() as u64);
                buf.extend_from_slice(v);
            }
        }
        node.live += 1;
        if self.length == 0 {
            self.first_id = id;
        }
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
    }

    /// Calls `f` with each live entry from `start` to `end` (inclusive), ascending or
    /// descending, until it returns false.
    pub fn range<'s>(
        &'s self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        mut f: impl FnMut(StreamId, Fields<'s>) -> bool,
    ) {
        if start > end {
            return;
        }
        // The node that may hold `start` is the last one keyed at or before it.
        let from = self
            .nodes
            .range(..=start)
            .next_back()
            .map_or(start, |(k, _)| *k);
        let mut visit = |key: &StreamId, node: &'s Node| -> bool {
            let mut wanted = node
                .entries(*key)
                .take_while(|e| e.id <= end)
                .filter(|e| !e.deleted && e.id >= start);
            if !rev {
                // Forward: decode only as far as the caller reads.
                return wanted.all(|e| f(e.id, Fields::of(node, &e)));
            }
            let mut all: Vec<Raw> = wanted.collect();
            all.reverse();
            all.into_iter().all(|e| f(e.id, Fields::of(node, &e)))
        };
        let mut nodes = self.nodes.range(from..=end);
        if rev {
            nodes.rev().all(|(k, n)| visit(k, n));
        } else {
            nodes.all(|(k, n)| visit(k, n));
        }
    }

    /// The live entry `id` as owned pairs.
    pub fn get(&self, id: StreamId) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = None;
        self.range(id, id, false, |_, fields| {
            out = Some(fields.map(|(f, v)| (f.to_vec(), v.to_vec())).collect());
            false
        });
        out
    }

    pub fn contains(&self, id: StreamId) -> bool {
        let mut found = false;
        self.range(id, id, false, |_, _| {
            found = true;
            false
        });
        found
    }

    /// The last live entry's ID (0-0 when empty).
    pub fn last_live_id(&self) -> StreamId {
        let mut last = StreamId::MIN;
        self.range(StreamId::MIN, StreamId::MAX, true, |id, _| {
            last = id;
            false
        });
        last
    }

    fn first_live_id(&self) -> StreamId {
        let mut first = StreamId::MIN;
        self.range(StreamId::MIN, StreamId::MAX, false, |id, _| {
            first = id;
            false
        });
        first
    }

    /// Marks entry `id` deleted; false when there is no such live entry.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&key, node)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        let Some(at) = node
            .entries(key)
            .find(|e| e.id == id && !e.deleted)
            .map(|e| e.at)
        else {
            return false;
        };
        node.buf[at] |= DELETED;
        node.live -= 1;
        node.deleted += 1;
        if node.live == 0 {
            self.nodes.remove(&key);
        }
        self.length -= 1;
        if id > self.max_deleted_id {
            self.max_deleted_id = id;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if id == self.first_id {
            self.first_id = self.first_live_id();
        }
        true
    }

    /// Trims as XTRIM/XADD do; `approx` removes whole nodes only; `limit` (0: none)
    /// bounds the entries removed. Returns how many were removed.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut removed = 0u64;
        while let Some((&key, node)) = self.nodes.first_key_value() {
            if let Trim::MaxLen(max) = how {
                if self.length <= max {
                    break;
                }
            }
            let entries = u64::from(node.live);
            if limit > 0 && removed + entries > limit {
                break;
            }
            let whole = match how {
                Trim::MaxLen(max) => self.length - entries >= max,
                Trim::MinId(min) => node.entries(key).last().is_some_and(|e| e.id < min),
            };
            if whole {
                self.nodes.remove(&key);
                self.length -= entries;
                removed += entries;
                continue;
            }
            if approx {
                break;
            }
            let node = self.nodes.get_mut(&key).expect("first node");
            let marks: Vec<usize> = {
                let mut length = self.length;
                let mut marks = Vec::new();
                for e in node.entries(key) {
                    let stop = match how {
                        Trim::MaxLen(max) => length <= max,
                        Trim::MinId(min) => e.id >= min,
                    };
                    if stop {
                        break;
                    }
                    if !e.deleted {
                        marks.push(e.at);
                        length -= 1;
                    }
                }
                marks
            };
            for at in &marks {
                node.buf[*at] |= DELETED;
            }
            let n = marks.len() as u32;
            node.live -= n;
            node.deleted += n;
            self.length -= u64::from(n);
            removed += u64::from(n);
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if removed > 0 {
            self.first_id = self.first_live_id();
        }
        removed
    }

    /// Whether a deleted entry may lie between `start` and `end` (Redis's test: the
    /// largest deleted ID falls in the range).
    pub fn range_has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_id.is_zero() || self.first_id > self.max_deleted_id
        {
            return false;
        }
        start <= self.max_deleted_id && self.max_deleted_id <= end
    }

    /// The number of entries added before and including `id`, when it can be known
    /// (Redis's estimate of a consumer group's `entries-read`).
    pub fn entries_read_at(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return Some(self.entries_added - self.length);
            }
            if id == self.first_id {
                return Some(self.entries_added - self.length + 1);
            }
        }
        None
    }

    /// A consumer group's lag (entries not yet delivered), when it can be known. Like
    /// Redis 7.0 it is a plain difference: a group whose `entries-read` was set above the
    /// stream's `entries-added` (XGROUP CREATE/SETID ... ENTRIESREAD) has a negative lag.
    pub fn lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        let diff = |read: u64| (self.entries_added as i64).wrapping_sub(read as i64);
        if let Some(read) = g.entries_read {
            if !self.range_has_tombstones(g.last_id, StreamId::MAX) {
                return Some(diff(read));
            }
        }
        self.entries_read_at(g.last_id).map(diff)
    }

    /// Every node's live entries in order, for serialisers: (id, pairs).
    pub fn entries(&self) -> Vec<EntryPairs<'_>> {
        let mut out = Vec::with_capacity(self.length as usize);
        self.range(StreamId::MIN, StreamId::MAX, false, |id, fields| {
            out.push((id, fields.collect()));
            true
        });
        out
    }

    /// Sets the counters XSETID and loaders restore.
    pub fn set_meta(&mut self, last_id: StreamId, entries_added: u64, max_deleted_id: StreamId) {
        self.last_id = last_id;
        self.entries_added = entries_added;
        self.max_deleted_id = max_deleted_id;
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
