//! Streams in the RDB format. We write `STREAM_LISTPACKS_2` (type 19), as redis-server
//! 7.0 does, and read it, Redis 5/6's `STREAM_LISTPACKS` (15) and Redis 7.2's
//! `STREAM_LISTPACKS_3` (21).
//!
//! The value, after its type byte (all numbers are RDB lengths unless said otherwise):
//!
//! - the node count, then per node its master ID as an RDB string of 16 raw bytes (ms
//!   and seq, big-endian) and the node itself, a listpack, as an RDB string;
//! - the length (live entries), the last ID (ms, seq); since 7.0 the first live entry's
//!   ID, the largest deleted ID and the count of entries ever added;
//! - the consumer groups: their count, then per group its name, its last delivered ID,
//!   since 7.0 its entries-read counter (Redis's -1, "unknown", is saved as the length
//!   2^64-1), its PEL (count, then per entry the raw 16-byte ID, the delivery time as
//!   8 bytes of little-endian Unix ms, the delivery count), and its consumers (count,
//!   then per consumer its name, its seen time as 8 little-endian bytes, since 7.2 its
//!   active time likewise, and its own PEL: a count and raw IDs, which must be entries
//!   of the group's PEL; that is how an entry's owner is saved).
//!
//! A node's listpack starts with the master entry: `count deleted nfields field... 0`
//! (live and deleted entries, the fields of the node's first entry, a terminator); then
//! per entry `flags ms-diff seq-diff`, either `nfields field value ... ` or, with the
//! SAMEFIELDS flag (the master's fields), only the values, and `lp-count` (the number
//! of elements of the entry before it). The ID differences are from the master ID,
//! computed in wrapping 64-bit arithmetic and stored as signed integers.
//!
//! Our stream does not expose its node boundaries, so we write nodes of the live
//! entries with redis-server's default limits (100 entries, 4096 bytes) and its rule
//! for when to open a node: a stream that never had a deletion is written as the very
//! bytes redis-server 7.0 would write for it. Loading rebuilds the stream with the
//! engine's node limits, skipping entries marked deleted, then restores the counters.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::decode::{DecodeError, Decoded, Reader};
use super::encode::{write_len, write_string};
use super::{listpack, types};
use crate::args::parse_i64_opt;
use crate::config::EngineConfig;
use crate::types::stream::{Consumer, Group, NodeLimits, Pending, Stream, StreamId};
use crate::value::Value;

/// Entry flags inside a node.
const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

/// The node limits we write with: redis-server's `stream-node-max-entries` and
/// `stream-node-max-bytes` defaults.
const WRITE_MAX_ENTRIES: usize = 100;
const WRITE_MAX_BYTES: usize = 4096;

/// Redis's -1 for a group's unknown entries-read counter, as saved (unsigned).
const ENTRIES_READ_UNKNOWN: u64 = u64::MAX;

type Pairs<'a> = [(&'a [u8], &'a [u8])];
/// A field and value read from a node (borrowed, or the text of an integer).
type ReadPair<'b> = (Cow<'b, [u8]>, Cow<'b, [u8]>);

fn bad<T>(why: &'static str) -> Decoded<T> {
    Err(DecodeError(why))
}

/// An ID as Redis keys its radix trees: 128 bits big-endian.
fn raw_id(id: StreamId) -> [u8; 16] {
    ((u128::from(id.ms) << 64) | u128::from(id.seq)).to_be_bytes()
}

fn id_from_raw(b: &[u8]) -> Decoded<StreamId> {
    let raw: [u8; 16] = b
        .try_into()
        .map_err(|_| DecodeError("stream ID is not 16 bytes"))?;
    let v = u128::from_be_bytes(raw);
    Ok(StreamId::new((v >> 64) as u64, v as u64))
}

/// Writes a stream value, type byte included.
pub fn write_stream(out: &mut Vec<u8>, s: &Stream) {
    out.push(types::STREAM_LISTPACKS_2);

    // The nodes, opened as redis-server opens them while XADD appends.
    let entries = s.entries();
    let mut nodes = Vec::new();
    let mut node: Option<NodeWriter> = None;
    for (id, pairs) in &entries {
        let data: usize = pairs.iter().map(|(f, v)| f.len() + v.len()).sum();
        if node.as_ref().is_some_and(|n| n.full(data)) {
            nodes.extend(node.take().map(NodeWriter::finish));
        }
        node.get_or_insert_with(|| NodeWriter::new(*id, pairs))
            .add(*id, pairs);
    }
    nodes.extend(node.map(NodeWriter::finish));
    write_len(out, nodes.len() as u64);
    for (master, blob) in &nodes {
        write_string(out, &raw_id(*master));
        write_string(out, blob);
    }

    write_len(out, s.len());
    for id in [s.last_id, s.first_id, s.max_deleted_id] {
        write_len(out, id.ms);
        write_len(out, id.seq);
    }
    write_len(out, s.entries_added);

    write_len(out, s.groups.len() as u64);
    for (name, g) in &s.groups {
        write_string(out, name);
        write_len(out, g.last_id.ms);
        write_len(out, g.last_id.seq);
        write_len(out, g.entries_read.unwrap_or(ENTRIES_READ_UNKNOWN));
        write_len(out, g.pel.len() as u64);
        for (id, p) in &g.pel {
            out.extend_from_slice(&raw_id(*id));
            out.extend_from_slice(&p.delivery_time.to_le_bytes());
            write_len(out, p.delivery_count);
        }
        write_len(out, g.consumers.len() as u64);
        for (name, c) in &g.consumers {
            write_string(out, name);
            out.extend_from_slice(&c.seen_time.to_le_bytes());
            write_len(out, c.pel.len() as u64);
            for id in &c.pel {
                out.extend_from_slice(&raw_id(*id));
            }
        }
    }
}

/// A node being written. Its listpack is the count of entries, then `master` (the rest
/// of the master entry), then `entries`; the count is kept encoded apart since it
/// changes with each entry.
struct NodeWriter<'a> {
    master_id: StreamId,
    /// The master entry's fields: those of the node's first entry.
    fields: Vec<&'a [u8]>,
    count: usize,
    /// The count as a listpack element.
    count_elem: Vec<u8>,
    /// deleted (0), the number of fields, the fields, the terminator (0).
    master: Vec<u8>,
    entries: Vec<u8>,
    /// Listpack elements in `master` and `entries`.
    elements: usize,
}

impl<'a> NodeWriter<'a> {
    fn new(id: StreamId, first: &Pairs<'a>) -> Self {
        let fields: Vec<&[u8]> = first.iter().map(|(f, _)| *f).collect();
        let mut master = Vec::new();
        listpack::push_integer(&mut master, 0);
        listpack::push_integer(&mut master, fields.len() as i64);
        for f in &fields {
            listpack::push(&mut master, f);
        }
        listpack::push_integer(&mut master, 0);
        NodeWriter {
            master_id: id,
            elements: fields.len() + 3,
            fields,
            count: 0,
            count_elem: Vec::new(),
            master,
            entries: Vec::new(),
        }
    }

    /// Whether redis-server would open a new node for an entry of `data` bytes of
    /// fields and values (`streamAppendItem`: the listpack's bytes plus the data reach
    /// the byte limit, or the node holds the maximum number of entries).
    fn full(&self, data: usize) -> bool {
        let bytes = listpack::OVERHEAD + self.count_elem.len() + self.master.len();
        bytes + self.entries.len() + data >= WRITE_MAX_BYTES || self.count >= WRITE_MAX_ENTRIES
    }

    fn add(&mut self, id: StreamId, pairs: &Pairs) {
        let same = pairs.len() == self.fields.len()
            && pairs.iter().zip(&self.fields).all(|((f, _), m)| f == m);
        let e = &mut self.entries;
        listpack::push_integer(e, if same { FLAG_SAMEFIELDS } else { 0 });
        listpack::push_integer(e, id.ms.wrapping_sub(self.master_id.ms) as i64);
        listpack::push_integer(e, id.seq.wrapping_sub(self.master_id.seq) as i64);
        let n = pairs.len();
        if same {
            for (_, v) in pairs {
                listpack::push(e, v);
            }
        } else {
            listpack::push_integer(e, n as i64);
            for (f, v) in pairs {
                listpack::push(e, f);
                listpack::push(e, v);
            }
        }
        // Elements before lp-count: flags, the two differences, and the values, or the
        // field count, the fields and the values.
        let lp_count = if same { 3 + n } else { 4 + 2 * n };
        listpack::push_integer(e, lp_count as i64);
        self.elements += lp_count + 1;
        self.count += 1;
        self.count_elem.clear();
        listpack::push_integer(&mut self.count_elem, self.count as i64);
    }

    /// The master ID and the listpack.
    fn finish(self) -> (StreamId, Vec<u8>) {
        let parts = [&self.count_elem[..], &self.master, &self.entries];
        let blob = listpack::assemble(&parts, 1 + self.elements);
        (self.master_id, blob)
    }
}

/// Reads a stream value of RDB type `kind` (one of the three stream types).
pub fn read_stream(r: &mut Reader, kind: u8, config: &EngineConfig) -> Decoded<Value> {
    let limits = NodeLimits {
        max_bytes: config.stream_node_max_bytes,
        max_entries: config.stream_node_max_entries,
    };
    // Redis keys its radix tree by master ID whatever the order of the nodes.
    let mut nodes = BTreeMap::new();
    for _ in 0..r.count()? {
        let master = id_from_raw(&r.string()?)?;
        let blob = r.string()?;
        if nodes.insert(master, blob).is_some() {
            return bad("duplicate stream node");
        }
    }
    let mut s = Stream::new();
    for (master, blob) in &nodes {
        read_node(&mut s, *master, blob, limits)?;
    }

    let length = r.length()?;
    let last_id = read_id(r)?;
    if length != s.len() {
        return bad("stream length differs from its entries");
    }
    if last_id < s.last_id {
        return bad("stream last ID before its last entry");
    }
    if kind == types::STREAM_LISTPACKS {
        // Redis 5/6 kept no counters: Redis 7 takes the length as the entries added
        // and knows of no deletion; the first ID is the first live entry's (`append`
        // set it).
        s.set_meta(last_id, length, StreamId::MIN);
    } else {
        let first_id = read_id(r)?;
        let max_deleted_id = read_id(r)?;
        let entries_added = r.length()?;
        if entries_added < length {
            return bad("stream added fewer entries than it holds");
        }
        s.set_meta(last_id, entries_added, max_deleted_id);
        s.first_id = first_id;
    }

    for _ in 0..r.count()? {
        let (name, group) = read_group(r, kind, &s)?;
        if s.groups.insert(name, group).is_some() {
            return bad("duplicate consumer group");
        }
    }
    Ok(Value::Stream(Box::new(s)))
}

/// An ID saved as two lengths.
fn read_id(r: &mut Reader) -> Decoded<StreamId> {
    let ms = r.length()?;
    let seq = r.length()?;
    Ok(StreamId::new(ms, seq))
}

/// A millisecond time: 8 bytes, little-endian (signed in Redis; we keep the bits).
fn read_ms_time(r: &mut Reader) -> Decoded<u64> {
    let raw: [u8; 8] = r
        .take(8)?
        .try_into()
        .map_err(|_| DecodeError("truncated"))?;
    Ok(u64::from_le_bytes(raw))
}

/// The elements of a node's listpack, read in order.
struct Elements<'b> {
    items: std::slice::Iter<'b, listpack::Item<'b>>,
}

impl<'b> Elements<'b> {
    fn next(&mut self) -> Decoded<&'b listpack::Item<'b>> {
        self.items
            .next()
            .ok_or(DecodeError("stream node ends early"))
    }

    /// An integer element (or a string holding one, as Redis accepts).
    fn int(&mut self) -> Decoded<i64> {
        match self.next()? {
            listpack::Item::Int(v) => Ok(*v),
            listpack::Item::Str(s) => {
                parse_i64_opt(s).ok_or(DecodeError("stream node element is not a number"))
            }
        }
    }

    /// A count: a non-negative integer no larger than the elements left.
    fn count(&mut self) -> Decoded<usize> {
        let n = self.int()?;
        match usize::try_from(n) {
            Ok(n) if n <= self.items.len() => Ok(n),
            _ => bad("bad count in a stream node"),
        }
    }

    /// A field or value; integers are given back as their decimal text.
    fn bytes(&mut self) -> Decoded<Cow<'b, [u8]>> {
        Ok(match self.next()? {
            listpack::Item::Int(v) => Cow::Owned(v.to_string().into_bytes()),
            listpack::Item::Str(s) => Cow::Borrowed(*s),
        })
    }
}

/// Appends the live entries of one node (listpack `blob`, master ID `master`) to `s`,
/// validating the node's layout (as Redis's deep sanitization does) and that IDs
/// ascend.
fn read_node(s: &mut Stream, master: StreamId, blob: &[u8], limits: NodeLimits) -> Decoded<()> {
    let items = listpack::decode(blob).ok_or(DecodeError("bad stream listpack"))?;
    let mut el = Elements {
        items: items.iter(),
    };
    let live = el.count()?;
    let deleted = el.count()?;
    let nfields = el.count()?;
    let fields = (0..nfields)
        .map(|_| el.bytes())
        .collect::<Decoded<Vec<_>>>()?;
    if el.int()? != 0 {
        return bad("stream master entry not terminated");
    }
    let total = live
        .checked_add(deleted)
        .ok_or(DecodeError("bad stream node counts"))?;
    let mut seen_live = 0usize;
    let mut pairs: Vec<ReadPair> = Vec::new();
    for _ in 0..total {
        let flags = el.int()?;
        let ms = master.ms.wrapping_add(el.int()? as u64);
        let seq = master.seq.wrapping_add(el.int()? as u64);
        let id = StreamId::new(ms, seq);
        pairs.clear();
        let elements = if flags & FLAG_SAMEFIELDS != 0 {
            for f in &fields {
                pairs.push((f.clone(), el.bytes()?));
            }
            3 + nfields
        } else {
            let n = el.count()?;
            for _ in 0..n {
                let f = el.bytes()?;
                pairs.push((f, el.bytes()?));
            }
            4 + 2 * n
        };
        if usize::try_from(el.int()?).ok() != Some(elements) {
            return bad("bad lp-count in a stream entry");
        }
        if flags & FLAG_DELETED != 0 {
            continue;
        }
        // IDs must ascend (which also rules out 0-0).
        if id <= s.last_id {
            return bad("stream entries out of order");
        }
        let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(f, v)| (&f[..], &v[..])).collect();
        s.append(id, &refs, limits);
        seen_live += 1;
    }
    if el.items.len() != 0 {
        return bad("stray elements in a stream node");
    }
    if seen_live != live {
        return bad("stream node count differs from its entries");
    }
    Ok(())
}

/// Reads one consumer group of a stream of type `kind`; `s` is the loaded stream (for
/// the entries-read estimate of Redis 5/6 groups).
fn read_group(r: &mut Reader, kind: u8, s: &Stream) -> Decoded<(Vec<u8>, Group)> {
    let name = r.string()?;
    let last_id = read_id(r)?;
    let entries_read = if kind == types::STREAM_LISTPACKS {
        // Redis 7 estimates the counter of a group from Redis 5/6
        // (streamEstimateDistanceFromFirstEverEntry).
        s.entries_read_at(last_id)
    } else {
        match r.length()? {
            ENTRIES_READ_UNKNOWN => None,
            n if n > i64::MAX as u64 => return bad("negative entries-read"),
            n => Some(n),
        }
    };
    let mut g = Group::new(last_id, entries_read);

    // The group's PEL; each entry's owner comes with the consumers.
    for _ in 0..r.count()? {
        let id = id_from_raw(r.take(16)?)?;
        let delivery_time = read_ms_time(r)?;
        let delivery_count = r.length()?;
        let p = Pending {
            consumer: Vec::new(),
            delivery_time,
            delivery_count,
        };
        if g.pel.insert(id, p).is_some() {
            return bad("duplicate entry in a group PEL");
        }
    }

    let mut owned = BTreeSet::new();
    for _ in 0..r.count()? {
        let cname = r.string()?;
        if g.consumers.contains_key(&cname) {
            return bad("duplicate consumer");
        }
        let seen_time = read_ms_time(r)?;
        if kind == types::STREAM_LISTPACKS_3 {
            // Redis 7.2's active time, which we do not keep.
            read_ms_time(r)?;
        }
        let mut c = Consumer {
            seen_time,
            pel: BTreeSet::new(),
        };
        for _ in 0..r.count()? {
            let id = id_from_raw(r.take(16)?)?;
            let Some(p) = g.pel.get_mut(&id) else {
                return bad("consumer PEL entry missing from the group PEL");
            };
            if !owned.insert(id) {
                return bad("PEL entry owned twice");
            }
            p.consumer.clone_from(&cname);
            c.pel.insert(id);
        }
        g.consumers.insert(cname, c);
    }
    if owned.len() != g.pel.len() {
        return bad("group PEL entry without a consumer");
    }
    Ok((name, g))
}
