//! The encodings Redis used before listpacks, which RESTORE still reads: the ziplist
//! (lists, hashes and sorted sets up to Redis 6.2, and quicklist nodes) and the zipmap
//! (hashes before Redis 2.6). Decoding only: we never write them.

const ZIPLIST_HEADER: usize = 10;
const END: u8 = 0xff;

/// The elements of a ziplist blob, validated (header sizes, tail offset, count, each
/// entry's record of the previous entry's length, terminator).
pub fn decode(blob: &[u8]) -> Option<Vec<Vec<u8>>> {
    if blob.len() < ZIPLIST_HEADER + 1 {
        return None;
    }
    let total = u32::from_le_bytes(blob[..4].try_into().ok()?) as usize;
    let tail = u32::from_le_bytes(blob[4..8].try_into().ok()?) as usize;
    let count = u16::from_le_bytes(blob[8..10].try_into().ok()?) as usize;
    if total != blob.len() || blob[total - 1] != END {
        return None;
    }
    let body = &blob[..total - 1];
    let mut items = Vec::new();
    let mut p = ZIPLIST_HEADER;
    let mut prev_len = 0usize;
    let mut last_start = ZIPLIST_HEADER;
    while p < body.len() {
        let (recorded_prev, prev_size) = match body[p] {
            254 => (
                u32::from_le_bytes(body.get(p + 1..p + 5)?.try_into().ok()?) as usize,
                5,
            ),
            b => (b as usize, 1),
        };
        if recorded_prev != prev_len {
            return None;
        }
        let (item, len) = entry(body.get(p + prev_size..)?)?;
        items.push(item);
        last_start = p;
        prev_len = prev_size + len;
        p += prev_len;
    }
    if p != body.len() || tail != last_start || (count != u16::MAX as usize && count != items.len())
    {
        return None;
    }
    Some(items)
}

/// The entry (after its previous-length field) at the start of `b`, and its length.
fn entry(b: &[u8]) -> Option<(Vec<u8>, usize)> {
    let e = *b.first()?;
    let int = |n: usize| -> Option<i64> {
        let raw = b.get(1..1 + n)?;
        let mut buf = [0u8; 8];
        buf[..n].copy_from_slice(raw);
        let shift = 64 - 8 * n as u32;
        Some(((u64::from_le_bytes(buf) << shift) as i64) >> shift)
    };
    let string = |header: usize, l: usize| -> Option<(Vec<u8>, usize)> {
        Some((b.get(header..header + l)?.to_vec(), header + l))
    };
    let number = |v: i64, len: usize| Some((v.to_string().into_bytes(), len));
    match e >> 6 {
        0 => string(1, (e & 0x3f) as usize),
        1 => string(2, (((e & 0x3f) as usize) << 8) | *b.get(1)? as usize),
        2 => {
            let l = u32::from_be_bytes(b.get(1..5)?.try_into().ok()?) as usize;
            string(5, l)
        }
        _ => match e {
            0xc0 => number(int(2)?, 3),
            0xd0 => number(int(4)?, 5),
            0xe0 => number(int(8)?, 9),
            0xf0 => number(int(3)?, 4),
            0xfe => number(int(1)?, 2),
            0xf1..=0xfd => number((e & 0x0f) as i64 - 1, 1),
            _ => None,
        },
    }
}

/// The field/value pairs of a zipmap blob, flattened.
pub fn decode_zipmap(blob: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut p = 1; // the first byte is a count hint
    let mut items = Vec::new();
    let len_at = |p: usize| -> Option<(usize, usize)> {
        match *blob.get(p)? {
            254 => Some((
                u32::from_le_bytes(blob.get(p + 1..p + 5)?.try_into().ok()?) as usize,
                5,
            )),
            END => None,
            b => Some((b as usize, 1)),
        }
    };
    loop {
        if *blob.get(p)? == END {
            break;
        }
        let (klen, ks) = len_at(p)?;
        p += ks;
        items.push(blob.get(p..p + klen)?.to_vec());
        p += klen;
        let (vlen, vs) = len_at(p)?;
        p += vs;
        let free = *blob.get(p)? as usize;
        p += 1;
        items.push(blob.get(p..p + vlen)?.to_vec());
        p += vlen + free;
    }
    (p + 1 == blob.len()).then_some(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ziplist built by hand the way Redis 6 lays one out.
    fn ziplist(entries: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = ZIPLIST_HEADER;
        for e in entries {
            let start = body.len();
            tail = ZIPLIST_HEADER + start;
            body.push(prev as u8);
            body.extend_from_slice(e);
            prev = body.len() - start;
        }
        let total = ZIPLIST_HEADER + body.len() + 1;
        let mut out = Vec::new();
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&(tail as u32).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend(body);
        out.push(END);
        out
    }

    #[test]
    fn reads_every_entry_encoding() {
        let zl = ziplist(&[
            b"\x03abc",
            b"\xf1",
            b"\xfd",
            b"\xfe\x80",
            b"\xc0\x00\x80",
            b"\xf0\x00\x00\x80",
            b"\xd0\x00\x00\x00\x80",
            b"\xe0\x00\x00\x00\x00\x00\x00\x00\x80",
            b"\x40\x02hi",
        ]);
        let items = decode(&zl).unwrap();
        let want: Vec<Vec<u8>> = [
            "abc",
            "0",
            "12",
            "-128",
            "-32768",
            "-8388608",
            "-2147483648",
            "-9223372036854775808",
            "hi",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        assert_eq!(items, want);
    }

    #[test]
    fn rejects_inconsistent_ziplists() {
        let mut zl = ziplist(&[b"\x01a", b"\x01b"]);
        assert!(decode(&zl).is_some());
        zl[ZIPLIST_HEADER + 3] = 9; // wrong previous length of the second entry
        assert!(decode(&zl).is_none());
        let mut zl = ziplist(&[b"\x01a"]);
        zl[4] = 0;
        assert!(decode(&zl).is_none());
    }

    #[test]
    fn reads_zipmaps() {
        let zm = b"\x02\x03foo\x03\x00bar\x01k\x02\x02vv..\xff";
        let items = decode_zipmap(zm).unwrap();
        assert_eq!(
            items,
            vec![
                b"foo".to_vec(),
                b"bar".to_vec(),
                b"k".to_vec(),
                b"vv".to_vec()
            ]
        );
        assert!(decode_zipmap(&zm[..zm.len() - 1]).is_none());
    }
}
