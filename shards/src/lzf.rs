//! LZF, the compression of long strings in RDB payloads and of interior quicklist nodes
//! (`list-compress-depth`).
//!
//! The stream is a sequence of runs. A control byte below 32 starts a literal run of
//! `ctrl + 1` bytes. Otherwise its top three bits are a match length minus 2 (7 means
//! "add the next byte") and its low five bits, with the byte after, the distance back
//! minus 1 to copy from: the copy may overlap the bytes it produces.
//!
//! `compress` chooses matches the way liblzf 3.6 does in Redis's build (a 2^16-slot
//! table indexed by a hash of the next three bytes, two table updates after each
//! match, the same conservative room checks), so our payloads match redis-server's
//! byte for byte and it compresses exactly when redis-server would.

use std::cell::RefCell;

const HASH_LOG: u32 = 16;
const MAX_LITERAL: usize = 32;
const MAX_DISTANCE: usize = 1 << 13;
const MAX_MATCH: usize = (1 << 8) + (1 << 3);

/// Decompresses `input` into exactly `out_len` bytes; `None` when the stream is
/// malformed or does not produce exactly that many bytes.
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    // A 3-byte back reference yields at most 264 bytes: a longer claimed output is a
    // lie we must not allocate for.
    if out_len > input.len().saturating_mul(MAX_MATCH / 3 + 1) {
        return None;
    }
    let mut out = Vec::with_capacity(out_len);
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let n = ctrl + 1;
            let lit = input.get(i..i + n)?;
            if out.len() + n > out_len {
                return None;
            }
            out.extend_from_slice(lit);
            i += n;
            continue;
        }
        let mut len = ctrl >> 5;
        if len == 7 {
            len += *input.get(i)? as usize;
            i += 1;
        }
        len += 2;
        let back = ((ctrl & 0x1f) << 8) + *input.get(i)? as usize + 1;
        i += 1;
        if back > out.len() || out.len() + len > out_len {
            return None;
        }
        let from = out.len() - back;
        for k in 0..len {
            let b = out[from + k];
            out.push(b);
        }
    }
    (out.len() == out_len).then_some(out)
}

thread_local! {
    /// For each hash of three bytes, the position (plus one) where it was last seen,
    /// tagged in the high half with the call that stored it: entries of earlier calls
    /// read as empty, so the 2^16 slots need no clearing per call.
    static TABLE: RefCell<(u32, Vec<u64>)> = RefCell::new((0, vec![0; 1 << HASH_LOG]));
}

#[inline]
fn slot(h: u32) -> usize {
    ((h >> (24 - HASH_LOG)).wrapping_sub(h.wrapping_mul(5)) & ((1 << HASH_LOG) - 1)) as usize
}

/// The slots of one compression.
struct Table<'a> {
    call: u64,
    slots: &'a mut [u64],
}

impl Table<'_> {
    /// The position plus one stored at `s` by this call, or 0.
    fn get(&self, s: usize) -> usize {
        let v = self.slots[s];
        if v >> 32 == self.call {
            (v & 0xffff_ffff) as usize
        } else {
            0
        }
    }

    fn set(&mut self, s: usize, pos: usize) {
        self.slots[s] = (self.call << 32) | (pos as u64 + 1);
    }
}

/// Compresses `input` into at most `max_out` bytes; `None` when it does not fit (then
/// the caller stores the bytes as they are).
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    if input.is_empty() || max_out == 0 || input.len() >= u32::MAX as usize {
        return None;
    }
    TABLE.with(|t| {
        let mut guard = t.borrow_mut();
        let (calls, slots) = &mut *guard;
        *calls = calls.wrapping_add(1);
        if *calls == 0 {
            slots.fill(0);
            *calls = 1;
        }
        let mut table = Table {
            call: *calls as u64,
            slots,
        };
        compress_with(&mut table, input, max_out)
    })
}

fn compress_with(table: &mut Table, input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let n = input.len();
    let mut out: Vec<u8> = Vec::with_capacity(max_out + 1);
    // The control byte of the literal run in progress is reserved at `run_at`.
    let mut lit = 0usize;
    out.push(0);
    let mut ip = 0usize;
    let mut h: u32 = if n >= 2 {
        ((input[0] as u32) << 8) | input[1] as u32
    } else {
        0
    };
    while ip + 2 < n {
        h = (h << 8) | input[ip + 2] as u32;
        let s = slot(h);
        let prev = table.get(s);
        table.set(s, ip);
        // `prev` is a position plus one; position 0 is never referenced, as in liblzf.
        let candidate = prev > 1 && prev - 1 < ip && ip - (prev - 1) - 1 < MAX_DISTANCE && {
            let r = prev - 1;
            input[r] == input[ip] && input[r + 1] == input[ip + 1] && input[r + 2] == input[ip + 2]
        };
        if !candidate {
            if out.len() >= max_out {
                return None;
            }
            lit += 1;
            out.push(input[ip]);
            ip += 1;
            if lit == MAX_LITERAL {
                close_run(&mut out, lit);
                lit = 0;
                out.push(0);
            }
            continue;
        }
        let r = prev - 1;
        let dist = ip - r - 1;
        let max_len = (n - ip - 2).min(MAX_MATCH);
        if out.len() + 4 >= max_out && out.len() - usize::from(lit == 0) + 4 >= max_out {
            return None;
        }
        close_run(&mut out, lit);
        if lit == 0 {
            out.pop();
        }
        let mut len = 2;
        loop {
            len += 1;
            if len >= max_len || input[r + len] != input[ip + len] {
                break;
            }
        }
        let len = len - 2;
        ip += 1;
        if len < 7 {
            out.push(((dist >> 8) + (len << 5)) as u8);
        } else {
            out.push(((dist >> 8) + (7 << 5)) as u8);
            out.push((len - 7) as u8);
        }
        out.push(dist as u8);
        lit = 0;
        out.push(0);
        ip += len + 1;
        if ip + 2 >= n {
            break;
        }
        // Index the two positions before the new one, as liblzf's fast mode does.
        ip -= 2;
        h = ((input[ip] as u32) << 8) | input[ip + 1] as u32;
        h = (h << 8) | input[ip + 2] as u32;
        table.set(slot(h), ip);
        ip += 1;
        h = (h << 8) | input[ip + 2] as u32;
        table.set(slot(h), ip);
        ip += 1;
    }
    if out.len() + 3 > max_out {
        return None;
    }
    while ip < n {
        lit += 1;
        out.push(input[ip]);
        ip += 1;
        if lit == MAX_LITERAL {
            close_run(&mut out, lit);
            lit = 0;
            out.push(0);
        }
    }
    close_run(&mut out, lit);
    if lit == 0 {
        out.pop();
    }
    Some(out)
}

/// Writes the control byte of a literal run of `lit` bytes that ends at the output's
/// end (with `lit` 0 the reserved byte is dropped by the caller).
fn close_run(out: &mut [u8], lit: usize) {
    let at = out.len() - lit - 1;
    out[at] = (lit as u8).wrapping_sub(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_redis_output() {
        // From redis-server 7.0.15: DUMP of 105 'a's and of a repetitive sentence.
        let a = vec![b'a'; 105];
        assert_eq!(
            compress(&a, a.len() - 4).unwrap(),
            [0x01, 0x61, 0x61, 0xe0, 0x5c, 0x00, 0x01, 0x61, 0x61]
        );
        let s = b"hello world hello world hello world hello world, abcabcabc";
        let expected = [
            0x0c, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x77, 0x6f, 0x72, 0x6c, 0x64, 0x20, 0x68,
            0xe0, 0x19, 0x0b, 0x04, 0x2c, 0x20, 0x61, 0x62, 0x63, 0x40, 0x02, 0x01, 0x62, 0x63,
        ];
        assert_eq!(compress(s, s.len() - 4).unwrap(), expected);
        assert_eq!(decompress(&expected, s.len()).unwrap(), s);
    }

    #[test]
    fn round_trips_and_refuses_what_does_not_fit() {
        let mut data = Vec::new();
        for i in 0..5000u32 {
            data.extend_from_slice(format!("item:{}:{} ", i % 97, i % 13).as_bytes());
        }
        let c = compress(&data, data.len() - 4).unwrap();
        assert!(c.len() < data.len() / 2);
        assert_eq!(decompress(&c, data.len()).unwrap(), data);
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let noise: Vec<u8> = (0..300)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        assert!(compress(&noise, noise.len() - 4).is_none());
    }

    #[test]
    fn rejects_malformed_streams() {
        assert!(decompress(&[0x05, b'a'], 6).is_none());
        assert!(decompress(&[0x20, 0x00], 3).is_none());
        assert!(decompress(&[0x00, b'a', 0x20, 0x00], 3).is_none());
        assert_eq!(decompress(&[0x00, b'a', 0x20, 0x00], 4).unwrap(), b"aaaa");
    }
}
