//! LEB128 lengths for the packed encodings (hash and set listpacks, small sorted sets,
//! stream nodes): seven bits per byte, low bits first, the top bit set on every byte
//! but the last.

/// Appends `n`.
#[inline]
pub fn put(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The number at `at` and where the next byte is; the buffer must hold a whole one.
#[inline]
pub fn get(buf: &[u8], mut at: usize) -> (u64, usize) {
    let mut n = 0u64;
    let mut shift = 0;
    loop {
        let b = buf[at];
        at += 1;
        n |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return (n, at);
        }
        shift += 7;
    }
}
