//! One packed node (see the module docs of `types::list` for its layout), and the
//! listpack sizes Redis measures its limits in.

use std::borrow::Cow;

use super::End;
use crate::args::parse_i64_opt;
use crate::lzf;

/// Node byte limits for `list-max-listpack-size` -1 .. -5.
const SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Largest node when nodes are limited by entry count.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Redis's over-estimate of one entry's overhead when checking room in a node.
pub(super) const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// Header and terminator bytes of an empty Redis listpack.
pub(super) const LP_EMPTY: usize = 7;
/// Redis clamps a quicklist's fill to this many entries per node.
pub(super) const FILL_MAX: i64 = (1 << 15) - 1;
/// Our node header: entry count (u32, its top two bits the node's flags) and
/// listpack-equivalent size (u32, saturating).
pub(super) const HDR: usize = 8;
/// Header flag: the entries are LZF-compressed (an interior node of a list with
/// `list-compress-depth`); only the header may be read until `decompress`.
const LZF: u32 = 1 << 31;
/// Header flag: a plain node, a single element at or above the packed threshold,
/// never merged with others or given a second element.
const PLAIN: u32 = 1 << 30;
const COUNT_MASK: u32 = PLAIN - 1;
/// Redis leaves nodes of fewer listpack bytes than this uncompressed.
const MIN_COMPRESS_BYTES: usize = 48;
/// Redis keeps a node's compression only when it saves more than this many bytes.
const MIN_COMPRESS_IMPROVE: usize = 8;

/// The per-node limits a fill value sets: (max bytes, max entries).
pub(super) fn node_limits(fill: i64) -> (usize, usize) {
    if fill >= 0 {
        let count = fill.clamp(1, u32::MAX as i64) as usize;
        (usize::MAX, count)
    } else {
        let level = ((-(fill as i128)) - 1).min(SIZE_LEVELS.len() as i128 - 1) as usize;
        (SIZE_LEVELS[level], u32::MAX as usize)
    }
}

/// Whether a node of `size` listpack bytes and `count` entries would be over the limit.
pub(super) fn exceeds_limit(fill: i64, size: usize, count: usize) -> bool {
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
pub(super) fn lp_entry_size(v: &[u8]) -> usize {
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
pub(super) fn entry_size(len: usize) -> usize {
    len + 2 * varint_len(len)
}

/// One packed node. See the module docs for the layout.
#[derive(Clone)]
pub(super) struct Node {
    /// The header, then the entries; or, when flagged LZF, the header, the entries'
    /// byte length (u32) and their LZF compression.
    pub(super) buf: Vec<u8>,
}

impl Node {
    pub(super) fn new() -> Node {
        let mut n = Node {
            buf: Vec::with_capacity(HDR),
        };
        n.buf.extend_from_slice(&[0; HDR]);
        n.set_lp(LP_EMPTY);
        n
    }

    /// A plain node holding `v` alone.
    pub(super) fn plain(v: &[u8]) -> Node {
        let mut n = Node::new();
        n.push(End::Tail, v);
        n.set_flag(PLAIN, true);
        n
    }

    #[inline]
    fn word0(&self) -> u32 {
        u32::from_le_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]])
    }

    #[inline]
    fn set_flag(&mut self, flag: u32, on: bool) {
        let w = if on {
            self.word0() | flag
        } else {
            self.word0() & !flag
        };
        self.buf[0..4].copy_from_slice(&w.to_le_bytes());
    }

    #[inline]
    pub(super) fn is_lzf(&self) -> bool {
        self.word0() & LZF != 0
    }

    #[inline]
    pub(super) fn is_plain(&self) -> bool {
        self.word0() & PLAIN != 0
    }

    /// Compresses the entries as Redis does an interior node: not when the node is
    /// under 48 listpack bytes or LZF saves 8 bytes or fewer. True when compressed.
    pub(super) fn compress(&mut self) -> bool {
        if self.is_lzf() || self.lp() < MIN_COMPRESS_BYTES {
            return false;
        }
        let body = &self.buf[HDR..];
        let Some(room) = body.len().checked_sub(MIN_COMPRESS_IMPROVE + 1) else {
            return false;
        };
        let Some(packed) = lzf::compress(body, room) else {
            return false;
        };
        let mut buf = Vec::with_capacity(HDR + 4 + packed.len());
        buf.extend_from_slice(&self.buf[..HDR]);
        buf.extend_from_slice(&(body.len() as u32).to_le_bytes());
        buf.extend_from_slice(&packed);
        self.buf = buf;
        self.set_flag(LZF, true);
        true
    }

    /// Makes a compressed node plain bytes again (in place).
    pub(super) fn decompress(&mut self) {
        if self.is_lzf() {
            self.buf = self.expanded();
        }
    }

    /// The length of the buffer with its entries readable (as `readable` gives it).
    #[inline]
    pub(super) fn raw_len(&self) -> usize {
        if self.is_lzf() {
            let b = &self.buf;
            HDR + u32::from_le_bytes([b[HDR], b[HDR + 1], b[HDR + 2], b[HDR + 3]]) as usize
        } else {
            self.buf.len()
        }
    }

    /// The buffer a compressed node stands for.
    fn expanded(&self) -> Vec<u8> {
        let body = lzf::decompress(&self.buf[HDR + 4..], self.raw_len() - HDR)
            .expect("a node decompresses what it compressed");
        let mut buf = Vec::with_capacity(HDR + body.len());
        buf.extend_from_slice(&self.buf[..HDR]);
        buf.extend_from_slice(&body);
        let w = self.word0() & !LZF;
        buf[0..4].copy_from_slice(&w.to_le_bytes());
        buf
    }

    /// The node with its entries readable: itself, or a decompressed copy.
    pub(super) fn readable(&self) -> Cow<'_, Node> {
        if self.is_lzf() {
            Cow::Owned(Node {
                buf: self.expanded(),
            })
        } else {
            Cow::Borrowed(self)
        }
    }

    #[inline]
    pub(super) fn count(&self) -> usize {
        (self.word0() & COUNT_MASK) as usize
    }

    /// Sets the entry count (nodes hold far fewer than 2^30 entries), keeping the flags.
    #[inline]
    fn set_count(&mut self, c: usize) {
        let w = (self.word0() & !COUNT_MASK) | (c as u32 & COUNT_MASK);
        self.buf[0..4].copy_from_slice(&w.to_le_bytes());
    }

    /// The node's size as a Redis listpack (saturates at u32::MAX).
    #[inline]
    pub(super) fn lp(&self) -> usize {
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

    pub(super) fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// The entry starting at byte `p`: (data start, data length, next entry start).
    #[inline]
    pub(super) fn entry_at(&self, p: usize) -> (usize, usize, usize) {
        debug_assert!(!self.is_lzf(), "entries of a compressed node");
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
    pub(super) fn entry_before(&self, end: usize) -> usize {
        debug_assert!(!self.is_lzf(), "entries of a compressed node");
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
    pub(super) fn data(&self, p: usize) -> &[u8] {
        let (d, len, _) = self.entry_at(p);
        &self.buf[d..d + len]
    }

    /// Entries from byte `p` to the end.
    pub(super) fn entries(&self, p: usize) -> impl Iterator<Item = &[u8]> + '_ {
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
    pub(super) fn seek(&self, i: usize) -> usize {
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
    pub(super) fn insert_at(&mut self, p: usize, v: &[u8]) {
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

    pub(super) fn push(&mut self, end: End, v: &[u8]) {
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

    pub(super) fn pop(&mut self, end: End) -> Option<Vec<u8>> {
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
    pub(super) fn replace_at(&mut self, p: usize, v: &[u8]) {
        self.remove_at(p);
        self.insert_at(p, v);
    }

    /// Removes `n` entries starting at entry `start`.
    pub(super) fn remove_range(&mut self, start: usize, n: usize) {
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
    pub(super) fn split_off(&mut self, at: usize) -> Node {
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
    pub(super) fn append(&mut self, other: Node) {
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
    pub(super) fn remove_matches(&mut self, v: &[u8], limit: usize, from_back: bool) -> usize {
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
