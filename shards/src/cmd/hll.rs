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
            check_hll(e.value())?;
            false
        }
    };
    if created {
        ctx.ks.set(db, key, Value::Str(Str::raw(empty_sparse())), 0);
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
            let s = hll_str(e.value_mut())?;
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
    let buf = hll_str(e.value_mut())?.make_raw();
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
        let s = hll_str(e.value_mut())?;
        s.with_bytes(|b| {
            use_dense |= b[ENCODING_AT] == DENSE;
            merge_into(&mut max, b)
        })
        .map_err(|_| corrupt_err())?;
    }
    if ctx.ks.lookup(db, dest).is_none() {
        ctx.ks
            .set(db, dest, Value::Str(Str::raw(empty_sparse())), 0);
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
        Some(e) => Ok(hll_str(e.value_mut())?.make_raw()),
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
#[path = "tests/hll.rs"]
mod tests;
