//! Bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO) on
//! string values, with redis-server 7.0's argument order, errors and edge cases.
//! Bit 0 is the most significant bit of the first byte.

use bytes::Bytes;

use super::{arg, Ctx};
use crate::args::{eq_ic, parse_i64, parse_i64_opt};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::value::{Str, Value};

/// Redis's default `proto-max-bulk-len`: bit offsets must address a byte below it.
const PROTO_MAX_BULK_LEN: i64 = 512 * 1024 * 1024;

/// SETBIT key offset value
pub fn setbit(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let offset = bit_offset(arg(args, 2)?, None)?;
    let bit_err = || CmdError::other("ERR bit is not an integer or out of range");
    let on = parse_i64_opt(arg(args, 3)?).ok_or_else(bit_err)?;
    if on & !1 != 0 {
        return Err(bit_err());
    }
    let buf = grow_str(ctx, key, offset)?;
    let (byte, mask) = ((offset >> 3) as usize, 0x80u8 >> (offset & 7));
    let old = buf[byte] & mask != 0;
    if on == 1 {
        buf[byte] |= mask;
    } else {
        buf[byte] &= !mask;
    }
    Ok(Reply::Int(old as i64))
}

/// GETBIT key offset
pub fn getbit(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let offset = bit_offset(arg(args, 2)?, None)?;
    let bit = read_str(ctx, key)?.is_some_and(|s| {
        s.with_bytes(|b| {
            b.get((offset >> 3) as usize)
                .is_some_and(|&byte| byte & (0x80 >> (offset & 7)) != 0)
        })
    });
    Ok(Reply::Int(bit as i64))
}

/// BITCOUNT key [start end [BYTE | BIT]]. Redis 7.0 looks the key up before parsing
/// the range, so a missing key answers 0 whatever follows.
pub fn bitcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let Some(s) = read_str(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let (start, end, unit) = match args.len() {
        2 => (0, -1, Unit::Byte),
        4 | 5 => {
            let start = parse_i64(&args[2])?;
            let end = parse_i64(&args[3])?;
            // An empty negative range answers before the unit is looked at.
            if start < 0 && end < 0 && start > end {
                return Ok(Reply::Int(0));
            }
            let unit = match args.get(4) {
                Some(u) => parse_unit(u)?,
                None => Unit::Byte,
            };
            (start, end, unit)
        }
        _ => return Err(CmdError::Syntax),
    };
    let count = s.with_bytes(|b| {
        let Some((first, last)) = bit_range(b.len(), start, end, unit) else {
            return 0;
        };
        count_bits(b, first, last)
    });
    Ok(Reply::Int(count as i64))
}

/// BITPOS key bit [start [end [BYTE | BIT]]]
pub fn bitpos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let bit = parse_i64(arg(args, 2)?)?;
    if bit != 0 && bit != 1 {
        return Err(CmdError::other("ERR The bit argument must be 1 or 0."));
    }
    let want = bit == 1;
    let Some(s) = read_str(ctx, key)? else {
        // A missing key is an endless run of zeroes.
        return Ok(Reply::Int(if want { -1 } else { 0 }));
    };
    let (start, end, unit) = match args.len() {
        3 => (0, None, Unit::Byte),
        4..=6 => {
            let start = parse_i64(&args[3])?;
            let unit = match args.get(5) {
                Some(u) => parse_unit(u)?,
                None => Unit::Byte,
            };
            let end = match args.get(4) {
                Some(e) => Some(parse_i64(e)?),
                None => None,
            };
            (start, end, unit)
        }
        _ => return Err(CmdError::Syntax),
    };
    let pos = s.with_bytes(|b| {
        let Some((first, last)) = bit_range(b.len(), start, end.unwrap_or(-1), unit) else {
            return -1;
        };
        match find_bit(b, first, last, want) {
            Some(p) => p as i64,
            // Without an explicit end the string continues with zeroes.
            None if !want && end.is_none() => last as i64 + 1,
            None => -1,
        }
    });
    Ok(Reply::Int(pos))
}

/// BITOP AND | OR | XOR | NOT destkey key [key ...]
pub fn bitop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let op = arg(args, 1)?;
    let dest = arg(args, 2)?;
    let op = if eq_ic(op, "and") {
        BitOp::And
    } else if eq_ic(op, "or") {
        BitOp::Or
    } else if eq_ic(op, "xor") {
        BitOp::Xor
    } else if eq_ic(op, "not") {
        BitOp::Not
    } else {
        return Err(CmdError::Syntax);
    };
    let keys = args.get(3..).unwrap_or_default();
    if op == BitOp::Not && keys.len() != 1 {
        return Err(CmdError::other(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let mut sources = Vec::with_capacity(keys.len());
    for key in keys {
        sources.push(read_str(ctx, key)?.map(|s| s.to_vec()).unwrap_or_default());
    }
    let result = bit_operation(op, &sources);
    let len = result.len();
    if len > 0 {
        ctx.ks.set(ctx.db, dest, Value::Str(Str::raw(result)), 0);
    } else {
        ctx.ks.remove(ctx.db, dest);
    }
    Ok(Reply::Int(len as i64))
}

/// BITFIELD key [GET type offset | SET type offset value | INCRBY type offset incr |
/// OVERFLOW WRAP|SAT|FAIL] ...
pub fn bitfield(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    bitfield_generic(ctx, args, false)
}

/// BITFIELD_RO key [GET type offset] ...
pub fn bitfield_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    bitfield_generic(ctx, args, true)
}

// ---- Shared helpers ----

/// A string looked up for reading; WRONGTYPE for other kinds of values.
fn read_str<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<Option<&'c mut Str>> {
    match ctx.ks.read(ctx.db, key, ctx.touch).map(|e| e.value_mut()) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The raw buffer of the string at `key`, created or zero-padded so that bit
/// `max_bit` exists (Redis's lookupStringForBitCommand). Keeps any TTL.
fn grow_str<'c>(ctx: &'c mut Ctx, key: &[u8], max_bit: u64) -> CmdResult<&'c mut Vec<u8>> {
    let db = ctx.db;
    let need = (max_bit >> 3) as usize + 1;
    let exists = match ctx.ks.lookup(db, key) {
        None => false,
        Some(e) if matches!(e.value(), Value::Str(_)) => true,
        Some(_) => return Err(CmdError::WrongType),
    };
    if !exists {
        ctx.ks.set(db, key, Value::Str(Str::raw(vec![0; need])), 0);
    }
    match ctx.ks.lookup(db, key).map(|e| e.value_mut()) {
        Some(Value::Str(s)) => {
            let buf = s.make_raw();
            if buf.len() < need {
                buf.resize(need, 0);
            }
            Ok(buf)
        }
        _ => Err(CmdError::WrongType),
    }
}

/// Parses a bit offset as Redis does: a non-negative integer addressing a byte below
/// 512 MiB. With `hash_bits`, `#N` means N times the field width (the product wraps
/// like Redis's C arithmetic).
fn bit_offset(a: &[u8], hash_bits: Option<u32>) -> CmdResult<u64> {
    let (digits, mult) = match (a.first(), hash_bits) {
        (Some(b'#'), Some(bits)) => (&a[1..], bits as i64),
        _ => (a, 1),
    };
    let offset = parse_i64_opt(digits)
        .ok_or(CmdError::BitOffset)?
        .wrapping_mul(mult);
    if offset < 0 || (offset >> 3) >= PROTO_MAX_BULK_LEN {
        return Err(CmdError::BitOffset);
    }
    Ok(offset as u64)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    Byte,
    Bit,
}

fn parse_unit(a: &[u8]) -> CmdResult<Unit> {
    if eq_ic(a, "bit") {
        Ok(Unit::Bit)
    } else if eq_ic(a, "byte") {
        Ok(Unit::Byte)
    } else {
        Err(CmdError::Syntax)
    }
}

/// The inclusive bit range `start..=end` (in `unit`s, negative from the end, clamped
/// to the string) of a string of `len` bytes; None when empty.
fn bit_range(len: usize, start: i64, end: i64, unit: Unit) -> Option<(u64, u64)> {
    let total = match unit {
        Unit::Byte => len as i64,
        Unit::Bit => len as i64 * 8,
    };
    let fix = |i: i64| if i < 0 { (total + i).max(0) } else { i };
    let start = fix(start);
    let end = fix(end).min(total - 1);
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(match unit {
        Unit::Byte => (start * 8, end * 8 + 7),
        Unit::Bit => (start, end),
    })
}

fn bit_at(b: &[u8], i: u64) -> bool {
    b[(i >> 3) as usize] & (0x80 >> (i & 7)) != 0
}

/// Set bits in the inclusive bit range (within the string).
fn count_bits(b: &[u8], first: u64, last: u64) -> u64 {
    let (fb, lb) = ((first >> 3) as usize, (last >> 3) as usize);
    let whole: u64 = b[fb..=lb].iter().map(|x| x.count_ones() as u64).sum();
    // Take out the bits of the edge bytes outside the range.
    let before = b[fb] & !(0xffu8 >> (first & 7));
    let after = b[lb] & (0xffu16 >> ((last & 7) + 1)) as u8;
    whole - before.count_ones() as u64 - after.count_ones() as u64
}

/// The first bit equal to `want` in the inclusive range (within the string).
fn find_bit(b: &[u8], first: u64, last: u64, want: bool) -> Option<u64> {
    let skip = if want { 0x00 } else { 0xff };
    let mut i = first;
    while i <= last {
        if i & 7 == 0 && i + 7 <= last && b[(i >> 3) as usize] == skip {
            i += 8;
            continue;
        }
        if bit_at(b, i) == want {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// The byte-wise operation over all sources, shorter ones padded with zeroes.
fn bit_operation(op: BitOp, sources: &[Vec<u8>]) -> Vec<u8> {
    let len = sources.iter().map(Vec::len).max().unwrap_or(0);
    let byte = |s: &Vec<u8>, j: usize| s.get(j).copied().unwrap_or(0);
    (0..len)
        .map(|j| {
            let mut out = sources.first().map_or(0, |s| byte(s, j));
            if op == BitOp::Not {
                return !out;
            }
            for s in &sources[1..] {
                let x = byte(s, j);
                match op {
                    BitOp::And => out &= x,
                    BitOp::Or => out |= x,
                    BitOp::Xor | BitOp::Not => out ^= x,
                }
            }
            out
        })
        .collect()
}

// ---- BITFIELD ----

#[derive(Debug, Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

#[derive(Debug, Clone, Copy)]
struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    overflow: Overflow,
}

fn bitfield_generic(ctx: &mut Ctx, args: &[Bytes], readonly_cmd: bool) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let fields = parse_fields(args)?;
    let writes = fields.iter().any(|f| f.op != FieldOp::Get);
    if !writes {
        let read_all = |b: &[u8]| {
            fields
                .iter()
                .map(|f| Reply::Int(read_field(b, f)))
                .collect()
        };
        let replies = match read_str(ctx, key)? {
            Some(s) => s.with_bytes(read_all),
            None => read_all(&[]),
        };
        return Ok(Reply::Array(replies));
    }
    if readonly_cmd {
        return Err(CmdError::other(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let highest = fields
        .iter()
        .filter(|f| f.op != FieldOp::Get)
        .map(|f| f.offset + f.bits as u64 - 1)
        .max()
        .unwrap_or(0);
    let buf = grow_str(ctx, key, highest)?;
    let replies = fields.iter().map(|f| apply_field(buf, f)).collect();
    Ok(Reply::Array(replies))
}

fn parse_fields(args: &[Bytes]) -> CmdResult<Vec<Field>> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let sub = &args[j][..];
        let left = args.len() - j - 1;
        let is_get = eq_ic(sub, "get") && left >= 2;
        let is_set = eq_ic(sub, "set") && left >= 3;
        let is_incr = eq_ic(sub, "incrby") && left >= 3;
        if eq_ic(sub, "overflow") && left >= 1 {
            let kind = &args[j + 1][..];
            overflow = if eq_ic(kind, "wrap") {
                Overflow::Wrap
            } else if eq_ic(kind, "sat") {
                Overflow::Sat
            } else if eq_ic(kind, "fail") {
                Overflow::Fail
            } else {
                return Err(CmdError::other("ERR Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        }
        if !(is_get || is_set || is_incr) {
            return Err(CmdError::Syntax);
        }
        let (signed, bits) = field_type(&args[j + 1])?;
        let offset = bit_offset(&args[j + 2], Some(bits))?;
        let op = if is_get {
            FieldOp::Get
        } else {
            let v = parse_i64(&args[j + 3])?;
            if is_set {
                FieldOp::Set(v)
            } else {
                FieldOp::IncrBy(v)
            }
        };
        fields.push(Field {
            op,
            signed,
            bits,
            offset,
            overflow,
        });
        j += if is_get { 3 } else { 4 };
    }
    Ok(fields)
}

/// `i1`..`i64` or `u1`..`u63`.
fn field_type(a: &[u8]) -> CmdResult<(bool, u32)> {
    let err = || {
        CmdError::other(
            "ERR Invalid bitfield type. Use something like i16 u8. \
             Note that u64 is not supported but i64 is.",
        )
    };
    let signed = match a.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(err()),
    };
    let bits = parse_i64_opt(&a[1..]).ok_or_else(err)?;
    let max = if signed { 64 } else { 63 };
    if !(1..=max).contains(&bits) {
        return Err(err());
    }
    Ok((signed, bits as u32))
}

/// Reads `bits` bits at `offset`, most significant first; bytes past the end are 0.
fn get_bits(b: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for i in offset..offset + bits as u64 {
        let bit = b
            .get((i >> 3) as usize)
            .is_some_and(|&x| x & (0x80 >> (i & 7)) != 0);
        v = (v << 1) | bit as u64;
    }
    v
}

fn set_bits(b: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..bits as u64 {
        let i = offset + j;
        let mask = 0x80u8 >> (i & 7);
        if let Some(byte) = b.get_mut((i >> 3) as usize) {
            if value >> (bits as u64 - 1 - j) & 1 == 1 {
                *byte |= mask;
            } else {
                *byte &= !mask;
            }
        }
    }
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

fn read_field(b: &[u8], f: &Field) -> i64 {
    let raw = get_bits(b, f.offset, f.bits);
    if f.signed {
        sign_extend(raw, f.bits)
    } else {
        raw as i64
    }
}

/// The value a signed field gets from `value + incr` (SET checks `value` with `incr` 0)
/// under the overflow policy; None when OVERFLOW FAIL refuses it. The headroom left above
/// and below `value` is computed in wrapping i64 arithmetic, as redis-server 7.0 does: so
/// a SET of a value within `max` of i64::MIN counts as an overflow upwards (SAT writes the
/// field's maximum, not its minimum). Clients see that, so corecache does the same.
fn signed_fit(value: i64, incr: i64, bits: u32, overflow: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let room_up = max.wrapping_sub(value);
    let room_down = min.wrapping_sub(value);
    let up =
        value > max || (bits != 64 && incr > room_up) || (value >= 0 && incr > 0 && incr > room_up);
    let down = value < min
        || (bits != 64 && incr < room_down)
        || (value < 0 && incr < 0 && incr < room_down);
    if !up && !down {
        return Some(value.wrapping_add(incr));
    }
    match overflow {
        Overflow::Fail => None,
        Overflow::Sat => Some(if up { max } else { min }),
        Overflow::Wrap => {
            let mut v = (value as u64).wrapping_add(incr as u64);
            if bits < 64 {
                let high = u64::MAX << bits;
                if v & (1u64 << (bits - 1)) != 0 {
                    v |= high;
                } else {
                    v &= !high;
                }
            }
            Some(v as i64)
        }
    }
}

/// `signed_fit` for an unsigned field (`bits` at most 63).
fn unsigned_fit(value: u64, incr: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    let max = (1u64 << bits) - 1;
    let room_up = max.wrapping_sub(value) as i64;
    let room_down = (value as i64).wrapping_neg();
    let up = value > max || (incr > 0 && incr > room_up);
    let down = !up && incr < 0 && incr < room_down;
    if !up && !down {
        return Some(value.wrapping_add(incr as u64));
    }
    match overflow {
        Overflow::Fail => None,
        Overflow::Sat => Some(if up { max } else { 0 }),
        Overflow::Wrap => Some(value.wrapping_add(incr as u64) & max),
    }
}

/// Runs one field operation on the (already grown) buffer; the reply is the old value
/// for GET and SET, the new one for INCRBY, nil when OVERFLOW FAIL refused it.
fn apply_field(buf: &mut [u8], f: &Field) -> Reply {
    let old = read_field(buf, f);
    let (value, incr) = match f.op {
        FieldOp::Get => return Reply::Int(old),
        FieldOp::Set(v) => (v, 0),
        FieldOp::IncrBy(incr) => (old, incr),
    };
    // An unsigned SET takes the value as C's uint64 cast would (negative -> huge).
    let new = if f.signed {
        signed_fit(value, incr, f.bits, f.overflow)
    } else {
        unsigned_fit(value as u64, incr, f.bits, f.overflow).map(|v| v as i64)
    };
    match new {
        None => Reply::Nil,
        Some(new) => {
            set_bits(buf, f.offset, f.bits, new as u64);
            let incrby = matches!(f.op, FieldOp::IncrBy(_));
            Reply::Int(if incrby { new } else { old })
        }
    }
}

#[cfg(test)]
#[path = "tests/bitmaps.rs"]
mod tests;
