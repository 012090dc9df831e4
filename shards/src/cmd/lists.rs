//! List commands (LPUSH, LRANGE, LMOVE, blocking pops ...), with Redis 7's replies and
//! errors and its listpack/quicklist encoding conversions (see `types::list`).
//!
//! The blocking commands implement the non-blocking attempt: they validate their
//! arguments and pop when a key has data, else reply a null (the server does the
//! waiting).

use std::borrow::Cow;

use bytes::Bytes;

use super::{arg, Ctx};
use crate::args::{eq_ic, parse_f64, parse_i64, parse_i64_opt};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::types::list::{End, List, Shape};
use crate::value::Value;

/// strtold input longer than this is refused by Redis's string2ld.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

fn name(args: &[Bytes]) -> String {
    args.first().map_or(String::new(), |n| {
        String::from_utf8_lossy(n).to_ascii_lowercase()
    })
}

fn err(msg: &str) -> CmdError {
    CmdError::Other(msg.to_string())
}

fn shape(ctx: &Ctx) -> Shape {
    Shape::of(&ctx.ks.config)
}

fn bulk(e: &[u8]) -> Reply {
    Reply::Bulk(e.to_vec())
}

fn element(e: Cow<[u8]>) -> Reply {
    Reply::Bulk(e.into_owned())
}

/// The list at `key` for a write: `None` when missing, WRONGTYPE when not a list.
fn list_mut<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<Option<&'c mut List>> {
    match ctx.ks.lookup(ctx.db, key) {
        None => Ok(None),
        Some(e) => match e.value_mut() {
            Value::List(l) => Ok(Some(l)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// The list at `key` for a read (counts hits and misses, refreshes the access time).
fn list_read<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<Option<&'c List>> {
    match ctx.ks.read(ctx.db, key, ctx.touch) {
        None => Ok(None),
        Some(e) => match e.value() {
            Value::List(l) => Ok(Some(l)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// After elements were removed: true when the list is now empty (the caller deletes
/// the key), else gives it the chance to go back to the compact encoding.
fn settle(l: &mut List, shape: Shape) -> bool {
    if l.is_empty() {
        true
    } else {
        l.try_shrink(shape);
        false
    }
}

fn where_arg(a: &[u8]) -> CmdResult<End> {
    if eq_ic(a, "left") {
        Ok(End::Head)
    } else if eq_ic(a, "right") {
        Ok(End::Tail)
    } else {
        Err(CmdError::Syntax)
    }
}

/// Parses a blocking timeout in seconds (a float, as Redis's strtold-based parsing)
/// into milliseconds. `None` means block forever (0, or less than a millisecond).
pub fn timeout_arg(arg: &[u8]) -> Result<Option<u64>, CmdError> {
    let not_float = || err("ERR timeout is not a float or out of range");
    let negative = || err("ERR timeout is negative");
    if arg.len() >= MAX_LONG_DOUBLE_CHARS {
        return Err(not_float());
    }
    let secs = match parse_f64(arg) {
        Ok(v) => v,
        Err(_) => parse_hex_float(arg).ok_or_else(not_float)?,
    };
    let ms = secs * 1000.0;
    // C's conversion of an out-of-range value to long long yields LLONG_MIN.
    if ms.is_nan() || ms.abs() >= i64::MAX as f64 {
        return Err(negative());
    }
    let ms = ms.trunc() as i64;
    match ms {
        0 => Ok(None),
        m if m < 0 => Err(negative()),
        m => Ok(Some(m as u64)),
    }
}

/// A C99 hexadecimal float (`0x1.8p3`), which strtold accepts too.
fn parse_hex_float(s: &[u8]) -> Option<f64> {
    let (neg, rest) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let rest = rest
        .strip_prefix(b"0x")
        .or_else(|| rest.strip_prefix(b"0X"))?;
    let mut m = 0f64;
    let mut scale = 1f64;
    let mut digits = 0;
    let mut frac = false;
    let mut i = 0;
    while i < rest.len() {
        let c = rest[i];
        if c == b'.' && !frac {
            frac = true;
        } else if let Some(d) = (c as char).to_digit(16) {
            digits += 1;
            if frac {
                scale /= 16.0;
                m += d as f64 * scale;
            } else {
                m = m * 16.0 + d as f64;
            }
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    let mut exp = 0i32;
    if i < rest.len() {
        if rest[i] != b'p' && rest[i] != b'P' {
            return None;
        }
        let e = &rest[i + 1..];
        let (eneg, ed) = match e.first()? {
            b'-' => (true, &e[1..]),
            b'+' => (false, &e[1..]),
            _ => (false, e),
        };
        if ed.is_empty() || !ed.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v: i32 = std::str::from_utf8(ed).ok()?.parse().unwrap_or(i32::MAX);
        exp = if eneg { -v } else { v };
    }
    let v = m * 2f64.powi(exp);
    Some(if neg { -v } else { v })
}

/// LPUSH/RPUSH/LPUSHX/RPUSHX.
fn push_generic(ctx: &mut Ctx, args: &[Bytes], end: End, only_existing: bool) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let vals = args.get(2..).unwrap_or(&[]);
    if vals.is_empty() {
        return Err(CmdError::WrongArity(name(args)));
    }
    let shape = shape(ctx);
    let add_bytes: usize = vals.iter().map(|v| v.len()).sum();
    let fill_list = |l: &mut List| {
        l.try_grow(shape, add_bytes, vals.len());
        for v in vals {
            l.push(end, v);
        }
        l.len() as i64
    };
    match list_mut(ctx, key)? {
        Some(l) => Ok(Reply::Int(fill_list(l))),
        None if only_existing => Ok(Reply::Int(0)),
        None => {
            let mut l = List::new();
            let n = fill_list(&mut l);
            ctx.ks.set(ctx.db, key, Value::List(Box::new(l)), 0);
            Ok(Reply::Int(n))
        }
    }
}

pub fn lpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    push_generic(ctx, args, End::Head, false)
}

pub fn rpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    push_generic(ctx, args, End::Tail, false)
}

pub fn lpushx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    push_generic(ctx, args, End::Head, true)
}

pub fn rpushx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    push_generic(ctx, args, End::Tail, true)
}

/// Removes up to `n` elements from `end`, returned in pop order.
fn pop_many(l: &mut List, end: End, n: usize) -> Vec<Reply> {
    let len = l.len();
    let n = n.min(len);
    match end {
        End::Head => {
            let out = l.range(0, n).map(element).collect();
            l.remove_range(0, n);
            out
        }
        End::Tail => {
            let out = l.range(len - n, n).rev().map(element).collect();
            l.remove_range(len - n, n);
            out
        }
    }
}

/// LPOP/RPOP key [count].
fn pop_generic(ctx: &mut Ctx, args: &[Bytes], end: End) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    if args.len() > 3 {
        return Err(CmdError::WrongArity(name(args)));
    }
    let count = match args.get(2) {
        Some(a) => match parse_i64_opt(a) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => return Err(err("ERR value is out of range, must be positive")),
        },
        None => None,
    };
    let shape = shape(ctx);
    let Some(l) = list_mut(ctx, key)? else {
        return Ok(if count.is_some() {
            Reply::NilArray
        } else {
            Reply::Nil
        });
    };
    let reply = match count {
        Some(0) => return Ok(Reply::Array(vec![])),
        None => Reply::bulk_or_nil(l.pop(end)),
        Some(n) => Reply::Array(pop_many(l, end, n.min(usize::MAX as u64) as usize)),
    };
    if settle(l, shape) {
        ctx.ks.remove(ctx.db, key);
    }
    Ok(reply)
}

pub fn lpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    pop_generic(ctx, args, End::Head)
}

pub fn rpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    pop_generic(ctx, args, End::Tail)
}

pub fn llen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    Ok(Reply::Int(
        list_read(ctx, key)?.map_or(0, |l| l.len() as i64),
    ))
}

/// Redis's start/stop normalisation: (first position, count), or None when empty.
fn norm_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, (end - start + 1) as usize))
}

pub fn lrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let start = parse_i64(arg(args, 2)?)?;
    let end = parse_i64(arg(args, 3)?)?;
    let Some(l) = list_read(ctx, key)? else {
        return Ok(Reply::Array(vec![]));
    };
    Ok(Reply::Array(match norm_range(start, end, l.len()) {
        Some((first, n)) => l.range(first, n).map(element).collect(),
        None => vec![],
    }))
}

pub fn lindex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let Some(l) = list_read(ctx, key)? else {
        return Ok(Reply::Nil);
    };
    let index = parse_i64(arg(args, 2)?)?;
    Ok(l.get(index).map_or(Reply::Nil, element))
}

pub fn lset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let shape = shape(ctx);
    let Some(l) = list_mut(ctx, key)? else {
        return Err(CmdError::NoSuchKey);
    };
    let index = parse_i64(arg(args, 2)?)?;
    let value = arg(args, 3)?;
    l.try_grow(shape, value.len(), 1);
    if l.set(index, value) {
        l.try_shrink(shape);
        Ok(Reply::Ok)
    } else {
        Err(err("ERR index out of range"))
    }
}

/// LINSERT key BEFORE|AFTER pivot element
pub fn linsert(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let place = arg(args, 2)?;
    let after = if eq_ic(place, "after") {
        true
    } else if eq_ic(place, "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let (pivot, value) = (arg(args, 3)?, arg(args, 4)?);
    let shape = shape(ctx);
    let Some(l) = list_mut(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    // As Redis: the conversion is decided before the pivot is searched for.
    l.try_grow(shape, value.len(), 1);
    Ok(Reply::Int(if l.insert(pivot, value, after) {
        l.len() as i64
    } else {
        -1
    }))
}

/// LREM key count element
pub fn lrem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let count = parse_i64(arg(args, 2)?)?;
    let value = arg(args, 3)?;
    let shape = shape(ctx);
    let Some(l) = list_mut(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let removed = l.remove(value, count);
    if l.is_empty() {
        ctx.ks.remove(ctx.db, key);
    } else if removed > 0 {
        l.try_shrink(shape);
    }
    Ok(Reply::Int(removed as i64))
}

/// LTRIM key start stop
pub fn ltrim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let start = parse_i64(arg(args, 2)?)?;
    let end = parse_i64(arg(args, 3)?)?;
    let shape = shape(ctx);
    let Some(l) = list_mut(ctx, key)? else {
        return Ok(Reply::Ok);
    };
    let len = l.len();
    let (ltrim, rtrim) = match norm_range(start, end, len) {
        Some((first, n)) => (first, len - first - n),
        None => (len, 0),
    };
    l.trim(ltrim, rtrim);
    if settle(l, shape) {
        ctx.ks.remove(ctx.db, key);
    }
    Ok(Reply::Ok)
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
pub fn lpos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let value = arg(args, 2)?;
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let opt = &args[j][..];
        let more = j + 1 < args.len();
        if eq_ic(opt, "rank") && more {
            j += 1;
            rank = parse_i64(&args[j])?;
            if rank == 0 {
                return Err(err(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from \
                     the second ... or use negative to start from the end of the list",
                ));
            }
        } else if eq_ic(opt, "count") && more {
            j += 1;
            count = Some(
                parse_i64_opt(&args[j])
                    .filter(|&n| n >= 0)
                    .ok_or_else(|| err("ERR COUNT can't be negative"))?,
            );
        } else if eq_ic(opt, "maxlen") && more {
            j += 1;
            maxlen = parse_i64_opt(&args[j])
                .filter(|&n| n >= 0)
                .ok_or_else(|| err("ERR MAXLEN can't be negative"))?;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    // A negative rank searches from the tail. Like Redis 7.0 (which negates a C
    // long), the most negative rank stays negative and so matches from the first hit.
    let from_tail = rank < 0;
    if from_tail {
        rank = rank.wrapping_neg();
    }
    let Some(l) = list_read(ctx, key)? else {
        return Ok(if count.is_some() {
            Reply::Array(vec![])
        } else {
            Reply::Nil
        });
    };
    let len = l.len() as i64;
    let mut found: Vec<Reply> = Vec::new();
    let mut matches: i64 = 0;
    let mut match_index: i64 = -1;
    let mut scan = |e: &[u8], index: i64| -> bool {
        // Returns true to stop.
        if e == value {
            matches += 1;
            match_index = if from_tail { len - index - 1 } else { index };
            if matches >= rank {
                match count {
                    Some(c) => {
                        found.push(Reply::Int(match_index));
                        if c != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= c {
                            return true;
                        }
                    }
                    None => return true,
                }
            }
        }
        match_index = -1;
        false
    };
    let limit = if maxlen == 0 {
        usize::MAX
    } else {
        maxlen as usize
    };
    if from_tail {
        for (i, e) in l.iter().rev().take(limit).enumerate() {
            if scan(&e, i as i64) {
                break;
            }
        }
    } else {
        for (i, e) in l.iter().take(limit).enumerate() {
            if scan(&e, i as i64) {
                break;
            }
        }
    }
    Ok(match count {
        Some(_) => Reply::Array(found),
        None if match_index != -1 => Reply::Int(match_index),
        None => Reply::Nil,
    })
}

/// The size an element popped for LMOVE adds to the destination's conversion check:
/// Redis hands an integer popped from a quicklist over as an integer object, whose
/// length it does not count.
fn moved_bytes(v: &[u8], from_quicklist: bool) -> usize {
    if from_quicklist && parse_i64_opt(v).is_some() {
        0
    } else {
        v.len()
    }
}

/// Pushes `v` onto the list at `key`, creating it when missing (its type was checked).
fn push_to(ctx: &mut Ctx, key: &[u8], v: &[u8], end: End, add_bytes: usize) -> CmdResult<()> {
    let shape = shape(ctx);
    match list_mut(ctx, key)? {
        Some(l) => {
            l.try_grow(shape, add_bytes, 1);
            l.push(end, v);
        }
        None => {
            let mut l = List::new();
            l.try_grow(shape, add_bytes, 1);
            l.push(end, v);
            ctx.ks.set(ctx.db, key, Value::List(Box::new(l)), 0);
        }
    }
    Ok(())
}

/// LMOVE's core: pops from `src` at `from`, pushes onto `dst` at `to`, replies the
/// element (nil when `src` is missing). WRONGTYPE on either key comes before any change.
fn lmove_generic(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End) -> CmdResult<Reply> {
    let shape = shape(ctx);
    if list_mut(ctx, src)?.is_none() {
        return Ok(Reply::Nil);
    }
    if src == dst {
        let Some(l) = list_mut(ctx, src)? else {
            return Ok(Reply::Nil);
        };
        let from_quicklist = l.is_quicklist();
        let Some(v) = l.pop(from) else {
            return Ok(Reply::Nil);
        };
        l.try_grow(shape, moved_bytes(&v, from_quicklist), 1);
        l.push(to, &v);
        l.try_shrink(shape);
        return Ok(Reply::Bulk(v));
    }
    // Type check of the destination before popping.
    list_mut(ctx, dst)?;
    let Some(l) = list_mut(ctx, src)? else {
        return Ok(Reply::Nil);
    };
    let from_quicklist = l.is_quicklist();
    let Some(v) = l.pop(from) else {
        return Ok(Reply::Nil);
    };
    if settle(l, shape) {
        ctx.ks.remove(ctx.db, src);
    }
    push_to(ctx, dst, &v, to, moved_bytes(&v, from_quicklist))?;
    Ok(Reply::Bulk(v))
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
pub fn lmove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (src, dst) = (arg(args, 1)?, arg(args, 2)?);
    let from = where_arg(arg(args, 3)?)?;
    let to = where_arg(arg(args, 4)?)?;
    lmove_generic(ctx, src, dst, from, to)
}

pub fn rpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (src, dst) = (arg(args, 1)?, arg(args, 2)?);
    lmove_generic(ctx, src, dst, End::Tail, End::Head)
}

/// Parses `numkeys key... LEFT|RIGHT [COUNT n]` from `args[at]`: (keys, end, count).
fn mpop_args(args: &[Bytes], at: usize) -> CmdResult<(&[Bytes], End, usize)> {
    let numkeys = parse_i64_opt(arg(args, at)?)
        .filter(|&n| n > 0)
        .ok_or_else(|| err("ERR numkeys should be greater than 0"))?;
    let where_at = (numkeys as u64)
        .checked_add(at as u64 + 1)
        .filter(|&w| w < args.len() as u64)
        .ok_or(CmdError::Syntax)? as usize;
    let end = where_arg(&args[where_at])?;
    let mut count: Option<usize> = None;
    let mut j = where_at + 1;
    while j < args.len() {
        if count.is_none() && eq_ic(&args[j], "count") && j + 1 < args.len() {
            j += 1;
            let n = parse_i64_opt(&args[j])
                .filter(|&n| n > 0)
                .ok_or_else(|| err("ERR count should be greater than 0"))?;
            count = Some(usize::try_from(n).unwrap_or(usize::MAX));
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok((&args[at + 1..where_at], end, count.unwrap_or(1)))
}

/// Pops up to `count` elements from the first non-empty list of `keys`:
/// `[key, [elements]]`, or a null array when none has data.
fn mpop_exec(ctx: &mut Ctx, keys: &[Bytes], end: End, count: usize) -> CmdResult<Reply> {
    let shape = shape(ctx);
    for key in keys {
        let Some(l) = list_mut(ctx, key)? else {
            continue;
        };
        if l.is_empty() {
            continue;
        }
        let items = pop_many(l, end, count);
        if settle(l, shape) {
            ctx.ks.remove(ctx.db, key);
        }
        return Ok(Reply::Array(vec![bulk(key), Reply::Array(items)]));
    }
    Ok(Reply::NilArray)
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
pub fn lmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (keys, end, count) = mpop_args(args, 1)?;
    mpop_exec(ctx, keys, end, count)
}

/// BLPOP/BRPOP key [key ...] timeout
fn bpop_generic(ctx: &mut Ctx, args: &[Bytes], end: End) -> CmdResult<Reply> {
    if args.len() < 3 {
        return Err(CmdError::WrongArity(name(args)));
    }
    timeout_arg(&args[args.len() - 1])?;
    let shape = shape(ctx);
    for key in &args[1..args.len() - 1] {
        let Some(l) = list_mut(ctx, key)? else {
            continue;
        };
        let Some(v) = l.pop(end) else {
            continue;
        };
        if settle(l, shape) {
            ctx.ks.remove(ctx.db, key);
        }
        return Ok(Reply::Array(vec![bulk(key), Reply::Bulk(v)]));
    }
    Ok(Reply::NilArray)
}

pub fn blpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    bpop_generic(ctx, args, End::Head)
}

pub fn brpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    bpop_generic(ctx, args, End::Tail)
}

/// The non-blocking part of BLMOVE/BRPOPLPUSH once arguments are parsed.
fn blmove_generic(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End) -> CmdResult<Reply> {
    if list_mut(ctx, src)?.is_none() {
        return Ok(Reply::Nil);
    }
    lmove_generic(ctx, src, dst, from, to)
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
pub fn blmove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (src, dst) = (arg(args, 1)?, arg(args, 2)?);
    let from = where_arg(arg(args, 3)?)?;
    let to = where_arg(arg(args, 4)?)?;
    timeout_arg(arg(args, 5)?)?;
    blmove_generic(ctx, src, dst, from, to)
}

/// BRPOPLPUSH source destination timeout
pub fn brpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (src, dst) = (arg(args, 1)?, arg(args, 2)?);
    timeout_arg(arg(args, 3)?)?;
    blmove_generic(ctx, src, dst, End::Tail, End::Head)
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
pub fn blmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (keys, end, count) = mpop_args(args, 2)?;
    timeout_arg(arg(args, 1)?)?;
    mpop_exec(ctx, keys, end, count)
}

#[cfg(test)]
#[path = "tests/lists.rs"]
mod tests;
