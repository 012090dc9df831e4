//! The `listpack` encoding of a small sorted set: its (score, member) entries in one
//! byte buffer, in order, each as `[score][member length: varint][member]`. A score
//! takes one tag byte plus 1, 2 or 4 bytes when it is an integer, or a decimal with up
//! to three digits after the point, that fits 32 bits (what most scores are), else
//! 8 bytes. An entry of a 13-byte member costs 16-22 bytes instead of the 32 of an
//! element struct: the set is scanned linearly anyway at this size, as Redis's listpack
//! is. The buffer grows to fit, not by doubling.

use std::cmp::Ordering;

use super::{cmp_key, Elem};

/// Tag: the low two bits are the scale (the stored integer is score × 10^scale), the
/// next two the width of the integer (1, 2 or 4 bytes); `F64` means 8 raw bytes.
const F64: u8 = 0xff;
const POW10: [f64; 4] = [1.0, 10.0, 100.0, 1000.0];

#[derive(Clone, Default, PartialEq)]
pub struct Packed {
    buf: Vec<u8>,
    len: usize,
}

/// Appends `score`'s encoding.
fn put_score(out: &mut Vec<u8>, score: f64) {
    for (scale, p) in POW10.iter().enumerate() {
        let v = score * p;
        if v.fract() != 0.0 || v.abs() >= 2_147_483_648.0 {
            continue;
        }
        let i = v as i32;
        // Only when decoding gives back exactly the same double.
        if (f64::from(i) / p).to_bits() != score.to_bits() {
            continue;
        }
        let scale = scale as u8;
        if let Ok(b) = i8::try_from(i) {
            out.push(scale);
            out.push(b as u8);
        } else if let Ok(h) = i16::try_from(i) {
            out.push(1 << 2 | scale);
            out.extend_from_slice(&h.to_le_bytes());
        } else {
            out.push(2 << 2 | scale);
            out.extend_from_slice(&i.to_le_bytes());
        }
        return;
    }
    out.push(F64);
    out.extend_from_slice(&score.to_bits().to_le_bytes());
}

/// Decodes the score at `at`; returns it and the offset after it.
#[inline]
fn get_score(buf: &[u8], at: usize) -> (f64, usize) {
    let tag = buf[at];
    let at = at + 1;
    if tag == F64 {
        let bits = u64::from_le_bytes(buf[at..at + 8].try_into().expect("8 bytes"));
        return (f64::from_bits(bits), at + 8);
    }
    let (i, n) = match tag >> 2 {
        0 => (i32::from(buf[at] as i8), 1),
        1 => (i32::from(i16::from_le_bytes([buf[at], buf[at + 1]])), 2),
        _ => (
            i32::from_le_bytes(buf[at..at + 4].try_into().expect("4 bytes")),
            4,
        ),
    };
    (f64::from(i) / POW10[(tag & 3) as usize], at + n)
}

/// One decoded entry: where it starts and ends in the buffer.
#[derive(Clone, Copy)]
struct At<'a> {
    start: usize,
    end: usize,
    member: &'a [u8],
    score: f64,
}

fn entry_at(buf: &[u8], start: usize) -> At<'_> {
    let (score, at) = get_score(buf, start);
    let (n, at) = crate::varint::get(buf, at);
    let n = n as usize;
    At {
        start,
        end: at + n,
        member: &buf[at..at + n],
        score,
    }
}

fn encode(member: &[u8], score: f64) -> Vec<u8> {
    let mut e = Vec::with_capacity(member.len() + 12);
    put_score(&mut e, score);
    crate::varint::put(&mut e, member.len() as u64);
    e.extend_from_slice(member);
    e
}

impl Packed {
    /// From elements already sorted by (score, member), distinct.
    pub fn from_sorted(elems: &[Elem]) -> Packed {
        let mut p = Packed::default();
        for e in elems {
            p.buf.extend_from_slice(&encode(&e.member, e.score));
        }
        p.len = elems.len();
        p.buf.shrink_to_fit();
        p
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn heap_size(&self) -> usize {
        self.buf.capacity()
    }

    fn entries(&self) -> impl Iterator<Item = At<'_>> + '_ {
        let mut at = 0;
        std::iter::from_fn(move || {
            (at < self.buf.len()).then(|| {
                let e = entry_at(&self.buf, at);
                at = e.end;
                e
            })
        })
    }

    /// (member, score) in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> + '_ {
        self.entries().map(|e| (e.member, e.score))
    }

    /// The start offset of every entry, in order (for walking backwards).
    fn offsets(&self) -> Vec<usize> {
        self.entries().map(|e| e.start).collect()
    }

    /// Rank and score of `member`.
    pub fn find(&self, member: &[u8]) -> Option<(usize, f64)> {
        self.entries()
            .enumerate()
            .find(|(_, e)| e.member == member)
            .map(|(r, e)| (r, e.score))
    }

    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        self.entries().nth(rank).map(|e| (e.member, e.score))
    }

    /// Inserts a member known to be absent at its place in the order.
    pub fn insert(&mut self, member: &[u8], score: f64) {
        let at = self
            .entries()
            .find(|e| cmp_key(e.score, e.member, score, member) != Ordering::Less)
            .map_or(self.buf.len(), |e| e.start);
        let e = encode(member, score);
        self.buf.reserve_exact(e.len());
        self.buf.splice(at..at, e);
        self.len += 1;
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let e = self.entries().find(|e| e.member == member)?;
        let (score, span) = (e.score, e.start..e.end);
        self.buf.drain(span);
        self.len -= 1;
        Some(score)
    }

    /// Removes ascending ranks `start..end` (within bounds).
    pub fn remove_ranks(&mut self, start: usize, end: usize) {
        if start >= end {
            return;
        }
        let spans: Vec<(usize, usize)> = self
            .entries()
            .skip(start)
            .take(end - start)
            .map(|e| (e.start, e.end))
            .collect();
        if let (Some(first), Some(last)) = (spans.first(), spans.last()) {
            self.buf.drain(first.0..last.1);
            self.len -= spans.len();
        }
    }

    /// Elements of ascending ranks `start..end`, backwards when `rev`.
    pub fn range(&self, start: usize, end: usize, rev: bool) -> PackedIter<'_> {
        if rev {
            let mut offsets = self.offsets();
            offsets.truncate(end);
            offsets.drain(..start.min(offsets.len()));
            PackedIter::Back {
                buf: &self.buf,
                offsets,
            }
        } else {
            let at = self
                .entries()
                .nth(start)
                .map_or(self.buf.len(), |e| e.start);
            PackedIter::Fwd {
                buf: &self.buf,
                at,
                left: end.saturating_sub(start),
            }
        }
    }

    /// Ascending ranks `start..end` of the entries from the first for which `after_min`
    /// holds, as long as `before_max` holds.
    pub fn range_ranks(
        &self,
        after_min: impl Fn(f64, &[u8]) -> bool,
        before_max: impl Fn(f64, &[u8]) -> bool,
    ) -> (usize, usize) {
        let start = self
            .entries()
            .position(|e| after_min(e.score, e.member))
            .unwrap_or(self.len);
        let n = self
            .entries()
            .skip(start)
            .take_while(|e| before_max(e.score, e.member))
            .count();
        (start, start + n)
    }

    /// Every element, decoded.
    pub fn to_elems(&self) -> Vec<Elem> {
        self.iter().map(|(m, s)| Elem::new(m, s)).collect()
    }
}

pub enum PackedIter<'a> {
    Fwd {
        buf: &'a [u8],
        at: usize,
        left: usize,
    },
    Back {
        buf: &'a [u8],
        offsets: Vec<usize>,
    },
}

impl<'a> Iterator for PackedIter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            PackedIter::Fwd { buf, at, left } => {
                if *left == 0 || *at >= buf.len() {
                    return None;
                }
                let e = entry_at(buf, *at);
                *at = e.end;
                *left -= 1;
                Some((e.member, e.score))
            }
            PackedIter::Back { buf, offsets } => {
                let e = entry_at(buf, offsets.pop()?);
                Some((e.member, e.score))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_round_trip_in_their_smallest_form() {
        let cases: [(f64, usize); 12] = [
            (0.0, 2),
            (-3.0, 2),
            (127.0, 2),
            (184.5, 3),
            (-0.125, 2),
            (300.25, 3),
            (40_000.0, 5),
            (2_147_483_647.0, 5),
            (2_147_483_648.0, 9),
            (0.1 + 0.2, 9),
            (f64::INFINITY, 9),
            (1e-300, 9),
        ];
        for (score, size) in cases {
            let mut out = Vec::new();
            put_score(&mut out, score);
            assert_eq!(out.len(), size, "{score}");
            let (back, end) = get_score(&out, 0);
            assert_eq!((back.to_bits(), end), (score.to_bits(), size), "{score}");
        }
    }

    #[test]
    fn entries_stay_ordered_through_inserts_and_removals() {
        let mut p = Packed::default();
        let long = vec![b'x'; 300];
        for (i, m) in [&b"b"[..], b"a", &long, b"c", b""].iter().enumerate() {
            p.insert(m, (i % 2) as f64 * 1.5);
        }
        let got: Vec<(Vec<u8>, f64)> = p.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        let mut want = got.clone();
        want.sort_by(|a, b| cmp_key(a.1, &a.0, b.1, &b.0));
        assert_eq!(got, want);
        assert_eq!(p.find(&long).map(|(_, s)| s), Some(0.0));
        let back: Vec<Vec<u8>> = p.range(1, 4, true).map(|(m, _)| m.to_vec()).collect();
        let fwd: Vec<Vec<u8>> = p.range(1, 4, false).map(|(m, _)| m.to_vec()).collect();
        assert_eq!(back.iter().rev().cloned().collect::<Vec<_>>(), fwd);
        assert_eq!(p.remove(b"c"), Some(1.5));
        p.remove_ranks(0, 2);
        assert_eq!(p.len(), 2);
        assert_eq!(p.iter().count(), 2);
    }
}
