//! HyperLogLog commands (PFADD, PFCOUNT, PFMERGE) on Redis's exact string
//! representation, so values copied with GET/SET stay valid in both directions.
//!
//! Layout: a 16-byte header ("HYLL", encoding byte, 3 unused bytes, the cached
//! cardinality as 8 little-endian bytes whose top bit marks it stale) followed by the
//! registers. 16384 registers of 6 bits: `dense` packs them LSB first (12288 bytes);
//! `sparse` run-length encodes them with three opcodes:
//! - ZERO  `00xxxxxx`: 1..64 zero registers,
//! - XZERO `01xxxxxx yyyyyyyy`: 1..16384 zero registers (14-bit length),
//! - VAL   `1vvvvvxx`: 1..4 registers of value 1..32.
//!
//! A sparse value turns dense when a register needs a value above 32 or the string
//! would grow past `hll-sparse-max-bytes` (Redis default 3000).

use bytes::Bytes;

use super::{arg, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::value::{Str, Value};

/// Register index bits; 2^P registers.
const HLL_P: u32 = 14;
/// Hash bits left for the run of zeroes.
const HLL_Q: u32 = 64 - HLL_P;
const REGISTERS: usize = 1 << HLL_P;
const P_MASK: u64 = REGISTERS as u64 - 1;
const REGISTER_BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << REGISTER_BITS) - 1;
const HDR: usize = 16;
const DENSE_SIZE: usize = HDR + (REGISTERS * REGISTER_BITS).div_ceil(8);
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
const ENCODING_AT: usize = 4;
const CARD_AT: usize = 8;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;
/// Redis's default `hll-sparse-max-bytes` (header included).
const SPARSE_MAX_BYTES: usize = 3000;
/// The MurmurHash64A seed Redis hashes elements with.
const HASH_SEED: u64 = 0xadc8_3b19;
/// 0.5 / ln(2), the estimator's bias constant for m -> infinity.
#[allow(clippy::excessive_precision)]
const ALPHA_INF: f64 = 0.721347520444481703680;

/// PFADD key [element ...]
pub fn pfadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let db = ctx.db;
    let created = match ctx.ks.lookup(db, key) {
        None => true,
        Some(e) => {
            check_hll(&e.value)?;
            false
        }
    };
    if created {
        ctx.ks.set(db, key, Value::Str(Str::Raw(empty_sparse())), 0);
    }
    let buf = hll_buf(ctx, key)?;
    let mut updated = created;
    for ele in args.get(2..).unwrap_or_default() {
        match add(buf, ele) {
            Ok(changed) => updated |= changed,
            // Like Redis: earlier registers stay written, the cache is not touched.
            Err(Corrupt) => return Err(corrupt_err()),
        }
    }
    if updated {
        invalidate_cache(buf);
    }
    Ok(Reply::Int(updated as i64))
}

/// PFCOUNT key [key ...]: one key answers from (and refreshes) the cached
/// cardinality; several keys estimate their union without caching anything.
pub fn pfcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (db, touch) = (ctx.db, ctx.touch);
    if args.len() > 2 {
        let mut max = vec![0u8; REGISTERS];
        for key in &args[1..] {
            let Some(e) = ctx.ks.read(db, key, touch) else {
                continue;
            };
            let s = hll_str(&mut e.value)?;
            s.with_bytes(|b| merge_into(&mut max, b))
                .map_err(|_| corrupt_err())?;
        }
        let mut histo = [0u64; 64];
        for &r in &max {
            histo[r as usize] += 1;
        }
        return Ok(Reply::Int(estimate(&histo) as i64));
    }
    let key = arg(args, 1)?;
    let Some(e) = ctx.ks.read(db, key, touch) else {
        return Ok(Reply::Int(0));
    };
    let buf = hll_str(&mut e.value)?.make_raw();
    if buf[CARD_AT + 7] & 0x80 == 0 {
        let card = u64::from_le_bytes(buf[CARD_AT..HDR].try_into().unwrap_or_default());
        return Ok(Reply::Int(card as i64));
    }
    let histo = histogram(buf).map_err(|_| corrupt_err())?;
    let card = estimate(&histo);
    buf[CARD_AT..HDR].copy_from_slice(&card.to_le_bytes());
    Ok(Reply::Int(card as i64))
}

/// PFMERGE destkey [sourcekey ...]: the destination is also a source. The result is
/// dense if any input was dense, else sparse (Redis 7.0).
pub fn pfmerge(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let dest = arg(args, 1)?;
    let (db, touch) = (ctx.db, ctx.touch);
    let mut max = vec![0u8; REGISTERS];
    let mut use_dense = false;
    for key in &args[1..] {
        let Some(e) = ctx.ks.read(db, key, touch) else {
            continue;
        };
        let s = hll_str(&mut e.value)?;
        s.with_bytes(|b| {
            use_dense |= b[ENCODING_AT] == DENSE;
            merge_into(&mut max, b)
        })
        .map_err(|_| corrupt_err())?;
    }
    if ctx.ks.lookup(db, dest).is_none() {
        ctx.ks
            .set(db, dest, Value::Str(Str::Raw(empty_sparse())), 0);
    }
    let buf = hll_buf(ctx, dest)?;
    if use_dense {
        sparse_to_dense(buf).map_err(|_| corrupt_err())?;
    }
    for (i, &m) in max.iter().enumerate() {
        if m == 0 {
            continue;
        }
        if buf[ENCODING_AT] == DENSE {
            dense_set(&mut buf[HDR..], i, m);
        } else {
            // The destination was validated as a source: this cannot fail.
            let _ = sparse_set(buf, i, m);
        }
    }
    invalidate_cache(buf);
    Ok(Reply::Ok)
}

// ---- Command helpers ----

fn not_hll_err() -> CmdError {
    CmdError::other("WRONGTYPE Key is not a valid HyperLogLog string value.")
}

fn corrupt_err() -> CmdError {
    CmdError::other("INVALIDOBJ Corrupted HLL object detected")
}

/// Redis's `isHLLObjectOrReply`: a string (not integer-encoded) with the magic, a known
/// encoding, and the exact size when dense.
fn check_hll(v: &Value) -> CmdResult<()> {
    match v {
        Value::Str(Str::Int(_)) => Err(not_hll_err()),
        Value::Str(s) => {
            if s.with_bytes(is_valid_hll) {
                Ok(())
            } else {
                Err(not_hll_err())
            }
        }
        _ => Err(CmdError::WrongType),
    }
}

fn hll_str(v: &mut Value) -> CmdResult<&mut Str> {
    check_hll(v)?;
    match v {
        Value::Str(s) => Ok(s),
        _ => Err(CmdError::WrongType),
    }
}

/// The raw buffer of the (already validated or just created) HLL at `key`.
fn hll_buf<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<&'c mut Vec<u8>> {
    match ctx.ks.lookup(ctx.db, key) {
        Some(e) => Ok(hll_str(&mut e.value)?.make_raw()),
        None => Err(CmdError::NoSuchKey),
    }
}

// ---- The representation ----

/// A sparse representation whose run lengths do not add up to the register count.
#[derive(Debug, PartialEq)]
struct Corrupt;

fn is_valid_hll(b: &[u8]) -> bool {
    b.len() >= HDR
        && &b[..4] == b"HYLL"
        && b[ENCODING_AT] <= SPARSE
        && (b[ENCODING_AT] != DENSE || b.len() == DENSE_SIZE)
}

/// A new HLL: sparse, every register zero, cached cardinality 0 (valid).
fn empty_sparse() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR + 2);
    v.extend_from_slice(b"HYLL");
    v.push(SPARSE);
    v.extend_from_slice(&[0; 11]);
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(XZERO_MAX_LEN);
        v.extend_from_slice(&xzero_op(run));
        left -= run;
    }
    v
}

fn invalidate_cache(buf: &mut [u8]) {
    buf[CARD_AT + 7] |= 0x80;
}

/// Adds one element; Ok(true) when a register grew.
fn add(buf: &mut Vec<u8>, ele: &[u8]) -> Result<bool, Corrupt> {
    let (index, count) = pattern_len(ele);
    match buf[ENCODING_AT] {
        DENSE => Ok(dense_set(&mut buf[HDR..], index, count)),
        SPARSE => sparse_set(buf, index, count),
        _ => Err(Corrupt),
    }
}

/// The register an element maps to and the length of its run of zero bits plus one.
fn pattern_len(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, HASH_SEED);
    let index = (hash & P_MASK) as usize;
    // A sentinel bit bounds the count at Q + 1.
    let rest = (hash >> HLL_P) | (1u64 << HLL_Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// MurmurHash64A (Austin Appleby), reading blocks as little-endian words.
fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        let mut word = [0u8; 8];
        word.copy_from_slice(block);
        let mut k = u64::from_le_bytes(word);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

// Dense registers: register i occupies bits 6i..6i+5, least significant bit first.

fn dense_get(regs: &[u8], i: usize) -> u8 {
    let bit = i * REGISTER_BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let lo = regs.get(byte).copied().unwrap_or(0) as u16;
    let hi = regs.get(byte + 1).copied().unwrap_or(0) as u16;
    (((lo >> shift) | (hi << (8 - shift))) as u8) & REGISTER_MAX
}

fn dense_put(regs: &mut [u8], i: usize, val: u8) {
    let bit = i * REGISTER_BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let (mask, val) = (REGISTER_MAX as u16, (val & REGISTER_MAX) as u16);
    if let Some(b) = regs.get_mut(byte) {
        *b = (*b & !((mask << shift) as u8)) | (val << shift) as u8;
    }
    if let Some(b) = regs.get_mut(byte + 1) {
        *b = (*b & !((mask >> (8 - shift)) as u8)) | (val >> (8 - shift)) as u8;
    }
}

/// Raises register `i` to `count`; true if it grew.
fn dense_set(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_put(regs, i, count);
        true
    } else {
        false
    }
}

// Sparse opcodes.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

impl Op {
    fn span(self) -> usize {
        match self {
            Op::Zero(n) | Op::XZero(n) | Op::Val(_, n) => n,
        }
    }
}

fn is_val(b: u8) -> bool {
    b & 0x80 != 0
}

fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}

fn is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}

/// The opcode at `p` and its size in bytes. A truncated XZERO reads its second byte
/// as 0, as Redis reads the string's terminator.
fn op_at(buf: &[u8], p: usize) -> (Op, usize) {
    let b = buf[p];
    if is_zero(b) {
        (Op::Zero((b & 0x3f) as usize + 1), 1)
    } else if is_val(b) {
        (Op::Val(((b >> 2) & 0x1f) + 1, (b & 0x3) as usize + 1), 1)
    } else {
        let lo = buf.get(p + 1).copied().unwrap_or(0) as usize;
        (Op::XZero((((b & 0x3f) as usize) << 8 | lo) + 1), 2)
    }
}

fn zero_op(len: usize) -> u8 {
    (len - 1) as u8
}

fn xzero_op(len: usize) -> [u8; 2] {
    let l = len - 1;
    [(l >> 8) as u8 | 0x40, (l & 0xff) as u8]
}

fn val_op(val: u8, len: usize) -> u8 {
    0x80 | ((val - 1) << 2) | (len - 1) as u8
}

fn val_of(b: u8) -> (u8, usize) {
    (((b >> 2) & 0x1f) + 1, (b & 0x3) as usize + 1)
}

/// Appends the shortest zero run opcode for `len` registers.
fn push_zeros(seq: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        seq.extend_from_slice(&xzero_op(len));
    } else {
        seq.push(zero_op(len));
    }
}

/// Raises sparse register `index` to `count`, splitting the opcode that covers it and
/// merging equal neighbouring VAL opcodes afterwards, exactly as Redis edits the
/// string (so the bytes match). Promotes to dense when needed.
fn sparse_set(buf: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(buf, index, count);
    }
    // Locate the opcode covering `index`.
    let end = buf.len();
    let (mut p, mut first) = (HDR, 0usize);
    let mut prev = None;
    let mut found = None;
    while p < end {
        let (op, size) = op_at(buf, p);
        if index < first + op.span() {
            found = Some((op, size));
            break;
        }
        prev = Some(p);
        p += size;
        first += op.span();
    }
    let Some((op, size)) = found else {
        return Err(Corrupt);
    };
    let trivial = match op {
        Op::Val(old, _) if old >= count => return Ok(false),
        Op::Val(_, 1) | Op::Zero(1) => true,
        _ => false,
    };
    if trivial {
        buf[p] = val_op(count, 1);
    } else {
        // Split into up to three opcodes: before, the register itself, after.
        let last = first + op.span() - 1;
        let mut seq = Vec::with_capacity(5);
        match op {
            Op::Val(cur, _) => {
                if index != first {
                    seq.push(val_op(cur, index - first));
                }
                seq.push(val_op(count, 1));
                if index != last {
                    seq.push(val_op(cur, last - index));
                }
            }
            Op::Zero(_) | Op::XZero(_) => {
                if index != first {
                    push_zeros(&mut seq, index - first);
                }
                seq.push(val_op(count, 1));
                if index != last {
                    push_zeros(&mut seq, last - index);
                }
            }
        }
        if seq.len() > size && buf.len() + seq.len() - size > SPARSE_MAX_BYTES {
            return promote(buf, index, count);
        }
        let old_end = (p + size).min(buf.len());
        buf.splice(p..old_end, seq);
    }
    // Merge adjacent VAL opcodes of equal value, scanning up to 5 opcodes from the
    // one before the edit.
    let mut q = prev.unwrap_or(HDR);
    let mut scan = 5;
    while q < buf.len() && scan > 0 {
        scan -= 1;
        let b = buf[q];
        if is_xzero(b) {
            q += 2;
            continue;
        }
        if is_zero(b) {
            q += 1;
            continue;
        }
        if let Some(&next) = buf.get(q + 1) {
            if is_val(next) {
                let ((v1, l1), (v2, l2)) = (val_of(b), val_of(next));
                if v1 == v2 && l1 + l2 <= VAL_MAX_LEN {
                    buf[q + 1] = val_op(v1, l1 + l2);
                    buf.remove(q);
                    // Retry at the same place to merge with the next one too.
                    continue;
                }
            }
        }
        q += 1;
    }
    invalidate_cache(buf);
    Ok(true)
}

fn promote(buf: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    sparse_to_dense(buf)?;
    Ok(dense_set(&mut buf[HDR..], index, count))
}

/// Converts a sparse HLL to dense in place (a no-op when already dense). The header,
/// cached cardinality included, is kept. The runs must cover exactly the registers.
fn sparse_to_dense(buf: &mut Vec<u8>) -> Result<(), Corrupt> {
    if buf[ENCODING_AT] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR].copy_from_slice(&buf[..HDR]);
    dense[ENCODING_AT] = DENSE;
    let mut idx = 0usize;
    let mut p = HDR;
    while p < buf.len() {
        let (op, size) = op_at(buf, p);
        match op {
            Op::Zero(n) | Op::XZero(n) => idx += n,
            Op::Val(v, n) => {
                if idx + n > REGISTERS {
                    return Err(Corrupt);
                }
                for i in idx..idx + n {
                    dense_put(&mut dense[HDR..], i, v);
                }
                idx += n;
            }
        }
        p += size;
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    *buf = dense;
    Ok(())
}

/// Raises `max[i]` to each register of the (validated) HLL `b`; a sparse one must
/// cover exactly the registers (Redis 7.0.15 refuses runs past the end).
fn merge_into(max: &mut [u8], b: &[u8]) -> Result<(), Corrupt> {
    if b[ENCODING_AT] == DENSE {
        let regs = &b[HDR..];
        for (i, m) in max.iter_mut().enumerate() {
            *m = (*m).max(dense_get(regs, i));
        }
        return Ok(());
    }
    let mut i = 0usize;
    let mut p = HDR;
    while p < b.len() {
        let (op, size) = op_at(b, p);
        match op {
            Op::Zero(n) | Op::XZero(n) => i += n,
            Op::Val(v, n) => {
                if i + n > REGISTERS {
                    return Err(Corrupt);
                }
                for m in &mut max[i..i + n] {
                    *m = (*m).max(v);
                }
                i += n;
            }
        }
        p += size;
    }
    if i == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// How many registers hold each value.
fn histogram(b: &[u8]) -> Result<[u64; 64], Corrupt> {
    let mut histo = [0u64; 64];
    if b[ENCODING_AT] == DENSE {
        let regs = &b[HDR..];
        for i in 0..REGISTERS {
            histo[dense_get(regs, i) as usize] += 1;
        }
        return Ok(histo);
    }
    let mut idx = 0usize;
    let mut p = HDR;
    while p < b.len() {
        let (op, size) = op_at(b, p);
        match op {
            Op::Zero(n) | Op::XZero(n) => histo[0] += n as u64,
            Op::Val(v, n) => histo[v as usize] += n as u64,
        }
        idx += op.span();
        p += size;
    }
    if idx == REGISTERS {
        Ok(histo)
    } else {
        Err(Corrupt)
    }
}

/// Ertl's improved estimator ("New cardinality estimation algorithms for HyperLogLog
/// sketches", arXiv:1702.01284), computed in the same order as Redis 7 so the rounded
/// result is identical.
fn estimate(histo: &[u64; 64]) -> u64 {
    let m = REGISTERS as f64;
    let q = HLL_Q as usize;
    let mut z = m * tau((m - histo[q + 1] as f64) / m);
    for j in (1..=q).rev() {
        z += histo[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histo[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if z == before {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, Millis};
    use crate::cmd::Handler;
    use crate::keyspace::Keyspace;
    use crate::types::list::List;

    const T0: Millis = 1_700_000_000_000;

    struct Env {
        ks: Keyspace,
    }

    impl Env {
        fn new() -> Env {
            let (clock, _now) = Clock::manual(T0);
            Env {
                ks: Keyspace::new(16, clock),
            }
        }

        fn call(&mut self, h: Handler, args: &[&str]) -> Reply {
            crate::cmd::call_for_test(&mut self.ks, h, args)
        }

        /// PFADD of many elements given as owned strings.
        fn add_all(&mut self, key: &str, elems: impl IntoIterator<Item = String>) -> Reply {
            let mut args = vec!["PFADD".to_string(), key.to_string()];
            args.extend(elems);
            let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
            self.call(pfadd, &refs)
        }

        fn get(&mut self, key: &str) -> Vec<u8> {
            match &self.ks.lookup(0, key.as_bytes()).unwrap().value {
                Value::Str(s) => s.to_vec(),
                other => panic!("not a string: {other:?}"),
            }
        }

        fn set_bytes(&mut self, key: &str, b: &[u8]) {
            self.ks
                .set(0, key.as_bytes(), Value::Str(Str::from_bytes(b)), 0);
        }

        fn encoding(&mut self, key: &str) -> &'static str {
            match &self.ks.lookup(0, key.as_bytes()).unwrap().value {
                Value::Str(s) => s.encoding(),
                _ => "not a string",
            }
        }
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn fnv(b: &[u8]) -> u64 {
        b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| {
            (h ^ c as u64).wrapping_mul(0x0100_0000_01b3)
        })
    }

    fn other(msg: &str) -> Reply {
        Reply::Error(CmdError::other(msg))
    }

    fn not_hll() -> Reply {
        other("WRONGTYPE Key is not a valid HyperLogLog string value.")
    }

    fn corrupt() -> Reply {
        other("INVALIDOBJ Corrupted HLL object detected")
    }

    fn letters() -> impl Iterator<Item = String> {
        (b'a'..=b'z').map(|c| (c as char).to_string())
    }

    fn numbers(from: u32, to: u32) -> impl Iterator<Item = String> {
        (from..=to).map(|i| i.to_string())
    }

    /// A sparse HLL whose cached cardinality is stale, followed by `ops`.
    fn sparse_with(ops: &[u8]) -> Vec<u8> {
        let mut v = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80".to_vec();
        v.extend_from_slice(ops);
        v
    }

    // Byte strings and numbers below come from redis-server 7.0.15.
    const AZ_SPARSE: &str = "48594c4c01000000000000000000008044458c42268040898846e8944175\
        8440ec840e8040c484449094446680426280443c843880408f8041ac8047d18043b08042ed8441fc8c\
        43938443188840df80426d8041d080407e8408";

    #[test]
    fn pfadd_writes_redis_sparse_bytes() {
        let mut env = Env::new();
        assert_eq!(env.add_all("h", letters()), Reply::Int(1));
        assert_eq!(env.get("h"), hex(AZ_SPARSE));
        assert_eq!(env.encoding("h"), "raw");
    }

    #[test]
    fn pfcount_caches_cardinality_in_header() {
        let mut env = Env::new();
        env.add_all("h", letters());
        assert_eq!(env.call(pfcount, &["PFCOUNT", "h"]), Reply::Int(25));
        let mut expect = hex(AZ_SPARSE);
        expect[8..16].copy_from_slice(&[25, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(env.get("h"), expect);
    }

    #[test]
    fn pfcount_answers_from_a_valid_cache() {
        let mut env = Env::new();
        let mut v = hex(AZ_SPARSE);
        v[8..16].copy_from_slice(&[7, 1, 0, 0, 0, 0, 0, 0]);
        env.set_bytes("h", &v);
        assert_eq!(env.call(pfcount, &["PFCOUNT", "h"]), Reply::Int(263));
    }

    #[test]
    fn pfadd_without_elements_creates_empty_hll() {
        let mut env = Env::new();
        assert_eq!(env.call(pfadd, &["PFADD", "e"]), Reply::Int(1));
        assert_eq!(env.get("e"), hex("48594c4c0100000000000000000000807fff"));
        assert_eq!(env.call(pfadd, &["PFADD", "e"]), Reply::Int(0));
        assert_eq!(env.call(pfcount, &["PFCOUNT", "e"]), Reply::Int(0));
        assert_eq!(env.get("e"), hex("48594c4c0100000000000000000000007fff"));
    }

    #[test]
    fn pfadd_of_known_elements_replies_zero() {
        let mut env = Env::new();
        env.add_all("h", letters());
        assert_eq!(
            env.call(pfadd, &["PFADD", "h", "a", "b", "c"]),
            Reply::Int(0)
        );
        assert_eq!(env.call(pfadd, &["PFADD", "h", "zz"]), Reply::Int(1));
    }

    #[test]
    fn pfcount_of_missing_key_is_zero() {
        let mut env = Env::new();
        assert_eq!(env.call(pfcount, &["PFCOUNT", "nope"]), Reply::Int(0));
        assert!(!env.ks.exists(0, b"nope"));
    }

    /// Adds 1..=20000 one at a time, checking the bytes (before and after PFCOUNT
    /// refreshes the cache) and counts at checkpoints against redis-server, across the
    /// sparse -> dense promotion at element 1649.
    #[test]
    fn incremental_adds_match_redis_bytes_across_promotion() {
        #[rustfmt::skip]
        let expected: &[(u32, usize, u64, i64, u64)] = &[
            (1, 21, 0x323da3c3b4f28a1f, 1, 0x446de56fd33c5174),
            (2, 24, 0xa505ad88f7bf520f, 2, 0x83c1025a7fd768a0),
            (10, 47, 0xfdad2eabb024d199, 10, 0x5cde536f74ba0a91),
            (50, 161, 0x666a93066f981608, 50, 0x55ab34d807966a10),
            (100, 287, 0x3839f8c8b045b7c5, 100, 0x3770f1dc718158cb),
            (150, 401, 0x50958af8972a248b, 151, 0x0fe448471c89e60e),
            (200, 508, 0x2790ad2b0750c9e1, 201, 0x16cb0b9e2b59800f),
            (250, 601, 0x721691264a050434, 251, 0xa23b9f1cad8ccb26),
            (300, 698, 0xc01a5b739fed2a1b, 302, 0x76b7fa7b96f23f35),
            (350, 790, 0x11f29a237a0d96d5, 352, 0x2bb9290df7ef38c7),
            (400, 878, 0x9104f1539f0598ff, 402, 0x60a9265d80682e65),
            (450, 969, 0x742cb4b44cff35d7, 451, 0x5965e1be496ee3d8),
            (500, 1061, 0x880292cfc7f33083, 503, 0xce013b1517aabf57),
            (550, 1151, 0x95e47cef7cf9efdc, 552, 0x4315b78ba77f4086),
            (600, 1238, 0x1788def7d647cb9e, 603, 0xd48ef8dad5e58055),
            (650, 1320, 0xb4c788bbcb898741, 655, 0x3b42b24051b6cad5),
            (700, 1407, 0x3defc389dcbd5aa8, 706, 0xc668ae1bb0e682b7),
            (750, 1488, 0x899ab865fa9bd356, 753, 0xb172b65b1d4d9c55),
            (800, 1570, 0x63e05c932de97c03, 802, 0x5711aceae01c42f7),
            (850, 1659, 0x24aba1e36107a22b, 852, 0xa38dd43b32d4fd7d),
            (900, 1749, 0xa57371f50eab1907, 902, 0xd95568e659489785),
            (950, 1836, 0x3980542af03357c8, 952, 0x3221ac5b669e1372),
            (1000, 1922, 0xd481315ac88925a0, 1001, 0x0a0dd3e84971cee9),
            (1050, 2009, 0x14004aaf990728f9, 1053, 0xac616fb07cf2b0a6),
            (1100, 2096, 0xed70b4379b7a84c0, 1103, 0xf692aaa4254becca),
            (1150, 2174, 0x259e18f7aeca38a9, 1153, 0xc6a25796229f36cf),
            (1200, 2259, 0x68308245d3bf5f36, 1203, 0x8991407b5fd56518),
            (1250, 2348, 0x18c68cc95700eda1, 1256, 0xff31da68acce044e),
            (1300, 2434, 0x5ebdaf10932ca089, 1307, 0xa3d6ee662e3304e1),
            (1350, 2517, 0x6bb712c12fdbd8ab, 1359, 0x832cf01d4ccd8027),
            (1400, 2602, 0xefe914a0628bd013, 1411, 0xe30fdbd97e7c9577),
            (1450, 2682, 0x6196c9b9ab6192f2, 1460, 0x83b65ba7374d9689),
            (1500, 2766, 0xd3a0071999e25735, 1512, 0xace791cd419b7f39),
            (1550, 2852, 0x78f3fee539c82339, 1563, 0xc825411c0de68c67),
            (1600, 2926, 0x9f02024ce8fd59eb, 1611, 0xa31fe3c9d980705b),
            (2000, 12304, 0xcbb123da35978876, 2006, 0x08842a2e8b28d8d8),
            (5000, 12304, 0x2b5e4ebece557b80, 4985, 0x5cc5827aadaf9e3f),
            (10000, 12304, 0xf3fa328b8ba061ef, 9988, 0x9078d254492587b6),
            (20000, 12304, 0xbec9b16a62b54e90, 19891, 0x3ebe66c2a549fec1),
        ];
        let mut env = Env::new();
        let mut next = expected.iter().peekable();
        for i in 1..=20000u32 {
            env.call(pfadd, &["PFADD", "n", &i.to_string()]);
            let dense = env.get("n")[ENCODING_AT] == DENSE;
            assert_eq!(dense, i >= 1649, "encoding after {i} adds");
            if let Some(&&(n, len, before, count, after)) = next.peek() {
                if n == i {
                    next.next();
                    let b = env.get("n");
                    assert_eq!((b.len(), fnv(&b)), (len, before), "bytes after {i} adds");
                    assert_eq!(env.call(pfcount, &["PFCOUNT", "n"]), Reply::Int(count));
                    assert_eq!(fnv(&env.get("n")), after, "bytes after count at {i}");
                }
            }
        }
    }

    #[test]
    fn pfcount_of_large_sets_matches_redis() {
        let mut env = Env::new();
        for k in (0..100_000).step_by(1000) {
            env.add_all("big", numbers(k + 1, k + 1000));
        }
        assert_eq!(env.call(pfcount, &["PFCOUNT", "big"]), Reply::Int(99562));
        for k in (0..1_000_000).step_by(10_000) {
            env.add_all("big2", (k..k + 10_000).map(|i| format!("e{i}")));
        }
        assert_eq!(env.call(pfcount, &["PFCOUNT", "big2"]), Reply::Int(991657));
    }

    #[test]
    fn pfcount_of_several_keys_estimates_the_union() {
        let mut env = Env::new();
        env.add_all("az", letters());
        env.add_all("s1", numbers(1, 300));
        env.add_all("s2", numbers(200, 500));
        env.add_all("d1", numbers(1, 5000));
        let s1 = env.get("s1");
        assert_eq!(env.call(pfcount, &["PFCOUNT", "s1", "s2"]), Reply::Int(503));
        assert_eq!(
            env.call(pfcount, &["PFCOUNT", "az", "d1"]),
            Reply::Int(5012)
        );
        assert_eq!(
            env.call(pfcount, &["PFCOUNT", "s1", "missing"]),
            Reply::Int(302)
        );
        // The union is not cached in any key.
        assert_eq!(env.get("s1"), s1);
    }

    #[test]
    fn pfmerge_of_sparse_inputs_stays_sparse() {
        let mut env = Env::new();
        env.add_all("s1", numbers(1, 300));
        env.add_all("s2", numbers(200, 500));
        assert_eq!(env.call(pfmerge, &["PFMERGE", "m1", "s1", "s2"]), Reply::Ok);
        let b = env.get("m1");
        assert_eq!((b.len(), fnv(&b)), (1061, 0x55859586ccc816ab));
        assert_eq!(env.call(pfcount, &["PFCOUNT", "m1"]), Reply::Int(503));
    }

    #[test]
    fn pfmerge_with_a_dense_input_is_dense() {
        let mut env = Env::new();
        env.add_all("s1", numbers(1, 300));
        env.add_all("d1", numbers(1, 5000));
        assert_eq!(env.call(pfmerge, &["PFMERGE", "m2", "s1", "d1"]), Reply::Ok);
        let b = env.get("m2");
        assert_eq!((b.len(), fnv(&b)), (DENSE_SIZE, 0xeaf7ec3d6aad4de3));
        assert_eq!(env.call(pfcount, &["PFCOUNT", "m2"]), Reply::Int(4985));
    }

    #[test]
    fn pfmerge_without_sources_creates_empty_hll() {
        let mut env = Env::new();
        assert_eq!(env.call(pfmerge, &["PFMERGE", "m3"]), Reply::Ok);
        assert_eq!(env.get("m3"), hex("48594c4c0100000000000000000000807fff"));
    }

    #[test]
    fn pfmerge_into_existing_dest_includes_its_registers() {
        let mut env = Env::new();
        env.add_all("m4", ["x".to_string(), "y".to_string()]);
        assert_eq!(env.call(pfmerge, &["PFMERGE", "m4", "az"]), Reply::Ok);
        env.add_all("az", letters());
        assert_eq!(env.call(pfmerge, &["PFMERGE", "m4", "az"]), Reply::Ok);
        assert_eq!(env.get("m4"), hex(AZ_SPARSE));
    }

    #[test]
    fn pfmerge_keeps_dest_ttl() {
        let mut env = Env::new();
        env.add_all("d", letters());
        env.ks.set_expire(0, b"d", T0 + 10_000);
        env.add_all("s", numbers(1, 10));
        assert_eq!(env.call(pfmerge, &["PFMERGE", "d", "s"]), Reply::Ok);
        assert_eq!(env.ks.lookup(0, b"d").unwrap().expire_at, T0 + 10_000);
    }

    #[test]
    fn pfadd_keeps_ttl() {
        let mut env = Env::new();
        env.add_all("h", letters());
        env.ks.set_expire(0, b"h", T0 + 10_000);
        assert_eq!(env.call(pfadd, &["PFADD", "h", "new"]), Reply::Int(1));
        assert_eq!(env.ks.lookup(0, b"h").unwrap().expire_at, T0 + 10_000);
    }

    #[test]
    fn copied_value_stays_a_valid_hll() {
        let mut env = Env::new();
        env.add_all("h", numbers(1, 100));
        let small = env.get("h");
        env.set_bytes("copy", &small);
        assert_eq!(env.call(pfcount, &["PFCOUNT", "copy"]), Reply::Int(100));
        assert_eq!(env.call(pfadd, &["PFADD", "copy", "101"]), Reply::Int(1));
        env.add_all("d", numbers(1, 5000));
        let dense = env.get("d");
        env.set_bytes("dcopy", &dense);
        assert_eq!(env.call(pfcount, &["PFCOUNT", "dcopy"]), Reply::Int(4985));
        assert_eq!(env.call(pfadd, &["PFADD", "dcopy", "1"]), Reply::Int(0));
    }

    #[test]
    fn embstr_hll_becomes_raw_when_counted() {
        let mut env = Env::new();
        env.set_bytes("sp", &hex("48594c4c0100000000000000000000007fff"));
        assert_eq!(env.encoding("sp"), "embstr");
        assert_eq!(env.call(pfcount, &["PFCOUNT", "sp"]), Reply::Int(0));
        assert_eq!(env.encoding("sp"), "raw");
    }

    #[test]
    fn non_string_keys_are_wrongtype() {
        let mut env = Env::new();
        env.ks.set(0, b"l", Value::List(List::default()), 0);
        let wrong = Reply::Error(CmdError::WrongType);
        assert_eq!(env.call(pfadd, &["PFADD", "l", "a"]), wrong);
        assert_eq!(env.call(pfcount, &["PFCOUNT", "l"]), wrong);
        assert_eq!(env.call(pfcount, &["PFCOUNT", "x", "l"]), wrong);
        assert_eq!(env.call(pfmerge, &["PFMERGE", "d", "l"]), wrong);
        assert!(!env.ks.exists(0, b"d"));
    }

    #[test]
    fn strings_that_are_not_hlls_are_refused() {
        let mut env = Env::new();
        env.set_bytes("int", b"123");
        env.set_bytes("short", b"HYLL");
        env.set_bytes("magic", b"HYLX\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff");
        env.set_bytes("enc", b"HYLLxxxxxxxxxxxxxxxxxxx");
        let mut dense = b"HYLL".to_vec();
        dense.resize(DENSE_SIZE - 1, 0);
        env.set_bytes("dense", &dense);
        for key in ["int", "short", "magic", "enc", "dense"] {
            assert_eq!(env.call(pfadd, &["PFADD", key, "a"]), not_hll(), "{key}");
            assert_eq!(env.call(pfcount, &["PFCOUNT", key]), not_hll(), "{key}");
            assert_eq!(env.call(pfcount, &["PFCOUNT", "x", key]), not_hll());
            assert_eq!(env.call(pfmerge, &["PFMERGE", "m", key]), not_hll());
            assert_eq!(env.call(pfmerge, &["PFMERGE", key]), not_hll());
        }
        assert!(!env.ks.exists(0, b"m"));
    }

    #[test]
    fn corrupted_sparse_hll_is_invalidobj() {
        let mut env = Env::new();
        env.set_bytes("c", &sparse_with(&[]));
        assert_eq!(env.call(pfcount, &["PFCOUNT", "c"]), corrupt());
        assert_eq!(env.call(pfadd, &["PFADD", "c", "a"]), corrupt());
        assert_eq!(env.call(pfcount, &["PFCOUNT", "c", "c"]), corrupt());
        assert_eq!(env.call(pfmerge, &["PFMERGE", "d", "c"]), corrupt());
        assert!(!env.ks.exists(0, b"d"));
    }

    #[test]
    fn sparse_runs_past_the_last_register_are_corrupt() {
        let mut env = Env::new();
        // XZERO(16384) then VAL: Redis 7.0.15 refuses the extra run when merging.
        env.set_bytes("a", &sparse_with(&[0x7f, 0xff, 0x80]));
        assert_eq!(env.call(pfcount, &["PFCOUNT", "a"]), corrupt());
        assert_eq!(env.call(pfcount, &["PFCOUNT", "a", "zz"]), corrupt());
        assert_eq!(env.call(pfmerge, &["PFMERGE", "d", "a"]), corrupt());
        let mut buf = sparse_with(&[0x7f, 0xff, 0x80]);
        assert_eq!(sparse_to_dense(&mut buf), Err(Corrupt));
    }

    #[test]
    fn pfadd_edits_sparse_hll_covering_too_many_registers() {
        // XZERO(16384) + ZERO(1): PFADD only needs the opcode it edits, as in Redis.
        let mut env = Env::new();
        env.set_bytes("c2", &sparse_with(&[0x7f, 0xff, 0x00]));
        assert_eq!(env.call(pfcount, &["PFCOUNT", "c2"]), corrupt());
        assert_eq!(env.call(pfadd, &["PFADD", "c2", "a"]), Reply::Int(1));
        assert_eq!(
            env.get("c2"),
            sparse_with(&[0x71, 0xa6, 0x84, 0x4e, 0x57, 0x00])
        );
    }

    #[test]
    fn pfadd_to_dense_string_sets_registers() {
        let mut env = Env::new();
        let mut d = b"HYLL".to_vec();
        d.resize(DENSE_SIZE, 0);
        env.set_bytes("d", &d);
        assert_eq!(env.call(pfcount, &["PFCOUNT", "d"]), Reply::Int(0));
        assert_eq!(env.call(pfadd, &["PFADD", "d", "a"]), Reply::Int(1));
        assert_eq!(env.call(pfcount, &["PFCOUNT", "d"]), Reply::Int(1));
        assert_eq!(env.get("d").len(), DENSE_SIZE);
    }

    #[test]
    fn sparse_register_above_32_promotes_to_dense() {
        let mut buf = empty_sparse();
        assert_eq!(sparse_set(&mut buf, 5, 3), Ok(true));
        assert_eq!(sparse_set(&mut buf, 7, 40), Ok(true));
        assert_eq!(buf.len(), DENSE_SIZE);
        assert_eq!(buf[ENCODING_AT], DENSE);
        let regs = &buf[HDR..];
        assert_eq!(
            (dense_get(regs, 5), dense_get(regs, 7), dense_get(regs, 6)),
            (3, 40, 0)
        );
    }

    #[test]
    fn sparse_runs_split_and_merge() {
        let mut buf = empty_sparse();
        // Registers 0..4 set to 2 merge into one VAL run of length 4, then a 5th
        // starts a new run.
        for i in 0..5 {
            assert_eq!(sparse_set(&mut buf, i, 2), Ok(true));
        }
        assert_eq!(
            &buf[HDR..],
            &[val_op(2, 4), val_op(2, 1), 0x7f, 0xff - 5][..]
        );
        assert_eq!(sparse_set(&mut buf, 2, 1), Ok(false));
        // Raising the middle of a run splits it.
        assert_eq!(sparse_set(&mut buf, 1, 5), Ok(true));
        assert_eq!(
            &buf[HDR..],
            &[val_op(2, 1), val_op(5, 1), val_op(2, 3), 0x7f, 0xff - 5][..]
        );
    }

    #[test]
    fn dense_registers_do_not_disturb_neighbours() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR];
        let mut model = vec![0u8; REGISTERS];
        let mut x = 0x1234_5678u64;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = (x % REGISTERS as u64) as usize;
            let v = ((x >> 20) & 63) as u8;
            dense_put(&mut regs, i, v);
            model[i] = v;
        }
        for (i, &v) in model.iter().enumerate() {
            assert_eq!(dense_get(&regs, i), v, "register {i}");
        }
    }

    #[test]
    fn pfadd_sets_the_register_the_element_hashes_to() {
        let mut buf = empty_sparse();
        let (index, count) = pattern_len(b"a");
        assert_eq!(sparse_set(&mut buf, index, count), Ok(true));
        let mut env = Env::new();
        env.call(pfadd, &["PFADD", "a", "a"]);
        assert_eq!(env.get("a"), buf);
    }
}
