//! Redis's listpack blob, as RDB stores hashes, sorted sets, list nodes and stream
//! nodes: a 6-byte header (total bytes u32 LE, element count u16 LE, 65535 when
//! unknown), the entries, and a 0xFF terminator. An entry is an encoding byte (small
//! integers packed in it), its data, and its own length again as a backwards varint so
//! the blob can be walked from the tail.

use crate::args::parse_i64_opt;

const END: u8 = 0xff;
const HEADER: usize = 6;
/// The element count field saturates here.
const COUNT_UNKNOWN: usize = u16::MAX as usize;
/// The bytes of a listpack besides its entries (header and terminator).
pub const OVERHEAD: usize = HEADER + 1;

/// Builds a listpack holding `items`; canonical integers are stored as integers, as
/// Redis stores them.
pub fn encode<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = vec![0u8; HEADER];
    let mut count = 0usize;
    for item in items {
        push(&mut out, item);
        count += 1;
    }
    seal(out, count)
}

/// The blob of `count` entries already encoded (with `push` and `push_integer`) into
/// `parts`, in order: `OVERHEAD` bytes more than the parts.
pub fn assemble(parts: &[&[u8]], count: usize) -> Vec<u8> {
    let body: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(HEADER + body + 1);
    out.resize(HEADER, 0);
    for p in parts {
        out.extend_from_slice(p);
    }
    seal(out, count)
}

/// Fills in the header of `out` (a header placeholder then `count` entries) and ends it.
fn seal(mut out: Vec<u8>, count: usize) -> Vec<u8> {
    out.push(END);
    let total = out.len() as u32;
    out[..4].copy_from_slice(&total.to_le_bytes());
    let c = count.min(COUNT_UNKNOWN) as u16;
    out[4..6].copy_from_slice(&c.to_le_bytes());
    out
}

/// Appends one entry (with its back length) as Redis's `lpAppend` does: an integer
/// when `item` is a canonical one, a string otherwise.
pub fn push(out: &mut Vec<u8>, item: &[u8]) {
    match parse_i64_opt(item) {
        Some(v) => push_integer(out, v),
        None => push_str(out, item),
    }
}

/// Appends an integer entry (with its back length), as Redis's `lpAppendInteger`.
pub fn push_integer(out: &mut Vec<u8>, v: i64) {
    let start = out.len();
    push_int(out, v);
    let entry_len = out.len() - start;
    push_backlen(out, entry_len);
}

fn push_str(out: &mut Vec<u8>, item: &[u8]) {
    let start = out.len();
    let l = item.len();
    if l < 64 {
        out.push(0x80 | l as u8);
    } else if l < 4096 {
        out.push(0xe0 | (l >> 8) as u8);
        out.push(l as u8);
    } else {
        out.push(0xf0);
        out.extend_from_slice(&(l as u32).to_le_bytes());
    }
    out.extend_from_slice(item);
    let entry_len = out.len() - start;
    push_backlen(out, entry_len);
}

fn push_int(out: &mut Vec<u8>, v: i64) {
    match v {
        0..=127 => out.push(v as u8),
        -4096..=4095 => {
            let u = (v as u64 & 0x1fff) as u16;
            out.push(0xc0 | (u >> 8) as u8);
            out.push(u as u8);
        }
        -32768..=32767 => {
            out.push(0xf1);
            out.extend_from_slice(&(v as i16).to_le_bytes());
        }
        -8388608..=8388607 => {
            out.push(0xf2);
            out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        }
        -2147483648..=2147483647 => {
            out.push(0xf3);
            out.extend_from_slice(&(v as i32).to_le_bytes());
        }
        _ => {
            out.push(0xf4);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// The entry length, most significant 7-bit group first; every byte but the first
/// carries the continuation bit, so a reader going backwards stops at the first one.
/// The number of bytes follows Redis's (slightly conservative) thresholds.
fn push_backlen(out: &mut Vec<u8>, l: usize) {
    let n = backlen_size(l);
    for i in (0..n).rev() {
        let group = ((l >> (7 * i)) & 0x7f) as u8;
        let cont = if i == n - 1 { 0 } else { 0x80 };
        out.push(group | cont);
    }
}

/// One decoded element.
#[derive(Debug, Clone, PartialEq)]
pub enum Item<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Item<'_> {
    pub fn to_vec(&self) -> Vec<u8> {
        match *self {
            Item::Int(v) => v.to_string().into_bytes(),
            Item::Str(s) => s.to_vec(),
        }
    }
}

/// The elements of a listpack blob, fully validated (sizes, terminator, back lengths,
/// count); `None` when anything is off.
pub fn decode(blob: &[u8]) -> Option<Vec<Item<'_>>> {
    if blob.len() < HEADER + 1 {
        return None;
    }
    let total = u32::from_le_bytes(blob[..4].try_into().ok()?) as usize;
    let count = u16::from_le_bytes(blob[4..6].try_into().ok()?) as usize;
    if total != blob.len() || blob[total - 1] != END {
        return None;
    }
    let body = &blob[..total - 1];
    let mut items = Vec::new();
    let mut p = HEADER;
    while p < body.len() {
        let (item, len) = entry(&body[p..])?;
        let back_len = backlen_size(len);
        let back = body.get(p + len..p + len + back_len)?;
        if read_backlen(back)? != len {
            return None;
        }
        items.push(item);
        p += len + back_len;
    }
    if count != COUNT_UNKNOWN && count != items.len() {
        return None;
    }
    Some(items)
}

/// The entry at the start of `b` and its length without the back length.
fn entry(b: &[u8]) -> Option<(Item<'_>, usize)> {
    let e = *b.first()?;
    let bytes = |from: usize, n: usize| b.get(from..from + n);
    let int = |n: usize| -> Option<i64> {
        let raw = bytes(1, n)?;
        let mut buf = [0u8; 8];
        buf[..n].copy_from_slice(raw);
        let v = u64::from_le_bytes(buf);
        let shift = 64 - 8 * n as u32;
        Some(((v << shift) as i64) >> shift)
    };
    Some(match e {
        0x00..=0x7f => (Item::Int(e as i64), 1),
        0x80..=0xbf => {
            let l = (e & 0x3f) as usize;
            (Item::Str(bytes(1, l)?), 1 + l)
        }
        0xc0..=0xdf => {
            let u = (((e & 0x1f) as u16) << 8) | *b.get(1)? as u16;
            let v = ((u << 3) as i16 >> 3) as i64;
            (Item::Int(v), 2)
        }
        0xe0..=0xef => {
            let l = (((e & 0x0f) as usize) << 8) | *b.get(1)? as usize;
            (Item::Str(bytes(2, l)?), 2 + l)
        }
        0xf0 => {
            let l = u32::from_le_bytes(bytes(1, 4)?.try_into().ok()?) as usize;
            (Item::Str(bytes(5, l)?), 5 + l)
        }
        0xf1 => (Item::Int(int(2)?), 3),
        0xf2 => (Item::Int(int(3)?), 4),
        0xf3 => (Item::Int(int(4)?), 5),
        0xf4 => (Item::Int(int(8)?), 9),
        _ => return None,
    })
}

fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

fn read_backlen(b: &[u8]) -> Option<usize> {
    let mut v = 0usize;
    for (i, &byte) in b.iter().enumerate() {
        let cont = byte & 0x80 != 0;
        if cont != (i > 0) {
            return None;
        }
        v = (v << 7) | (byte & 0x7f) as usize;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_redis() {
        // The listpack inside redis-server 7.0's DUMP of RPUSH l a b 1 300 -5.
        let lp = encode([&b"a"[..], b"b", b"1", b"300", b"-5"]);
        let expected = [
            0x15, 0, 0, 0, 5, 0, 0x81, 0x61, 2, 0x81, 0x62, 2, 1, 1, 0xc1, 0x2c, 2, 0xdf, 0xfb, 2,
            0xff,
        ];
        assert_eq!(lp, expected);
    }

    #[test]
    fn every_encoding_round_trips() {
        let long = vec![b'x'; 5000];
        let mid = vec![b'y'; 300];
        let ints = [
            0i64,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -32768,
            32767,
            -8388608,
            8388607,
            i32::MIN as i64,
            i32::MAX as i64,
            i64::MIN,
            i64::MAX,
        ];
        let mut items: Vec<Vec<u8>> = ints.iter().map(|v| v.to_string().into_bytes()).collect();
        items.push(long.clone());
        items.push(mid.clone());
        items.push(b"".to_vec());
        items.push(b"007".to_vec());
        let lp = encode(items.iter().map(|v| &v[..]));
        let back: Vec<Vec<u8>> = decode(&lp).unwrap().iter().map(Item::to_vec).collect();
        assert_eq!(back, items);
        // Every backlen size.
        assert_eq!(
            read_backlen(&{
                let mut v = Vec::new();
                push_backlen(&mut v, 300_000);
                v
            }),
            Some(300_000)
        );
    }

    #[test]
    fn rejects_damaged_blobs() {
        let lp = encode([&b"hello"[..], b"12"]);
        assert!(decode(&lp[..lp.len() - 1]).is_none());
        let mut bad = lp.clone();
        bad[4] = 3;
        assert!(decode(&bad).is_none());
        let mut bad = lp.clone();
        bad[6] = 0x8f;
        assert!(decode(&bad).is_none());
        assert!(decode(&[7, 0, 0, 0, 0, 0, 0xff]).unwrap().is_empty());
    }
}
