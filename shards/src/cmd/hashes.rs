//! Hash commands (HSET, HGETALL, HINCRBY ...), with redis-server 7.0's replies and errors.

use bytes::Bytes;

use super::keys::parse_cursor;
use super::Ctx;
use crate::args::{eq_ic, parse_i64, parse_i64_opt};
use crate::error::{CmdError, CmdResult};
use crate::glob::glob_match;
use crate::keyspace::Stored;
use crate::longdouble;
use crate::reply::Reply;
use crate::types::hash::{partial_shuffle, Hash, HashLimits, Rng};
use crate::value::Value;

/// The most elements a random-sampling reply (HRANDFIELD / SRANDMEMBER with a negative
/// count) may hold. Redis streams such replies and would exhaust its memory on a huge
/// count; we build replies whole, so a count past this is refused as out of range.
pub(crate) const MAX_RANDOM_REPLY: u64 = 1 << 24;

// ---------------------------------------------------------------------------------------
// Shared helpers (also used by the set commands).

/// Redis names commands in errors by their lower-case name.
pub(crate) fn command_name(args: &[Bytes]) -> String {
    args.first()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .unwrap_or_default()
}

/// Argument `i`; the server checks arity, but a short vector must not panic.
pub(crate) fn arg(args: &[Bytes], i: usize) -> CmdResult<&[u8]> {
    args.get(i)
        .map(|a| &a[..])
        .ok_or_else(|| CmdError::WrongArity(command_name(args)))
}

/// The arguments from position `from` on (empty when there are fewer).
pub(crate) fn rest(args: &[Bytes], from: usize) -> &[Bytes] {
    args.get(from..).unwrap_or(&[])
}

/// The COUNT and MATCH options of HSCAN / SSCAN (TYPE is SCAN's only).
pub(crate) struct ScanOpts<'a> {
    pub count: usize,
    /// None when absent or `*`.
    pub pattern: Option<&'a [u8]>,
}

impl ScanOpts<'_> {
    pub fn parse(opts: &[Bytes]) -> CmdResult<ScanOpts<'_>> {
        let mut o = ScanOpts {
            count: 10,
            pattern: None,
        };
        let mut i = 0;
        while i < opts.len() {
            let has_value = i + 1 < opts.len();
            if eq_ic(&opts[i], "count") && has_value {
                let n = parse_i64(&opts[i + 1])?;
                if n < 1 {
                    return Err(CmdError::Syntax);
                }
                o.count = usize::try_from(n).unwrap_or(usize::MAX);
            } else if eq_ic(&opts[i], "match") && has_value {
                let p = &opts[i + 1][..];
                o.pattern = (p != b"*").then_some(p);
            } else {
                return Err(CmdError::Syntax);
            }
            i += 2;
        }
        Ok(o)
    }

    pub fn matches(&self, s: &[u8]) -> bool {
        self.pattern.is_none_or(|p| glob_match(p, s))
    }
}

/// The reply of a *SCAN step.
pub(crate) fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![Reply::bulk(cursor.to_string()), Reply::Array(items)])
}

/// The count argument of HRANDFIELD / SRANDMEMBER: an integer in -LONG_MAX..=LONG_MAX.
pub(crate) fn random_count(b: &[u8]) -> CmdResult<i64> {
    let n = parse_i64(b)?;
    if n == i64::MIN {
        return Err(CmdError::other(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------
// Hash lookups.

fn hash_of(entry: Option<&mut Stored>) -> CmdResult<Option<&mut Hash>> {
    match entry.map(|e| e.value_mut()) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// A hash looked up for a read (counts hits/misses, refreshes the access time).
fn read_hash<'a>(ctx: &'a mut Ctx<'_>, key: &[u8]) -> CmdResult<Option<&'a mut Hash>> {
    hash_of(ctx.ks.read(ctx.db, key, ctx.touch))
}

/// Runs `f` on the hash at `key`, creating it when absent (stored only if `f` leaves
/// it non-empty) and deleting it when `f` empties it. An existing key keeps its TTL.
fn update_hash<R>(
    ctx: &mut Ctx,
    key: &[u8],
    f: impl FnOnce(&mut Hash, HashLimits) -> CmdResult<R>,
) -> CmdResult<R> {
    let lim = HashLimits::from_config(&ctx.ks.config);
    match hash_of(ctx.lookup_write(key))? {
        Some(h) => {
            let r = f(h, lim);
            if h.is_empty() {
                ctx.ks.remove(ctx.db, key);
            }
            r
        }
        None => {
            let mut h = Hash::default();
            let r = f(&mut h, lim)?;
            if !h.is_empty() {
                ctx.ks.set(ctx.db, key, Value::Hash(h), 0);
            }
            Ok(r)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Commands.

/// HSET key field value [field value ...]; also HMSET, which replies +OK.
pub fn hset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let pairs = rest(args, 2);
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity(command_name(args)));
    }
    let added = update_hash(ctx, key, |h, lim| {
        Ok(pairs
            .chunks_exact(2)
            .filter(|p| h.insert(&p[0], &p[1], lim))
            .count())
    })?;
    Ok(if eq_ic(&args[0], "hmset") {
        Reply::Ok
    } else {
        Reply::Int(added as i64)
    })
}

pub fn hsetnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, field, value) = (arg(args, 1)?, arg(args, 2)?, arg(args, 3)?);
    let set = update_hash(ctx, key, |h, lim| {
        Ok(!h.contains(field) && h.insert(field, value, lim))
    })?;
    Ok(Reply::Int(set as i64))
}

pub fn hget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, field) = (arg(args, 1)?, arg(args, 2)?);
    let h = read_hash(ctx, key)?;
    Ok(Reply::bulk_or_nil(h.and_then(|h| h.get(field))))
}

pub fn hmget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let h = read_hash(ctx, key)?;
    Ok(Reply::Array(
        rest(args, 2)
            .iter()
            .map(|f| Reply::bulk_or_nil(h.as_ref().and_then(|h| h.get(f))))
            .collect(),
    ))
}

pub fn hdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let Some(h) = hash_of(ctx.lookup_write(key))? else {
        return Ok(Reply::Int(0));
    };
    let mut removed = 0;
    for f in rest(args, 2) {
        if h.remove(f) {
            removed += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    if h.is_empty() {
        ctx.ks.remove(ctx.db, key);
    }
    Ok(Reply::Int(removed))
}

pub fn hlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let h = read_hash(ctx, arg(args, 1)?)?;
    Ok(Reply::Int(h.map_or(0, |h| h.len() as i64)))
}

pub fn hstrlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, field) = (arg(args, 1)?, arg(args, 2)?);
    let h = read_hash(ctx, key)?;
    let len = h.and_then(|h| h.get(field)).map_or(0, |v| v.len());
    Ok(Reply::Int(len as i64))
}

pub fn hexists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, field) = (arg(args, 1)?, arg(args, 2)?);
    let h = read_hash(ctx, key)?;
    Ok(Reply::Int(h.is_some_and(|h| h.contains(field)) as i64))
}

pub fn hkeys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let h = read_hash(ctx, arg(args, 1)?)?;
    Ok(Reply::Array(h.map_or_else(Vec::new, |h| {
        h.iter().map(|(f, _)| Reply::bulk(f)).collect()
    })))
}

pub fn hvals(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let h = read_hash(ctx, arg(args, 1)?)?;
    Ok(Reply::Array(h.map_or_else(Vec::new, |h| {
        h.iter().map(|(_, v)| Reply::bulk(v)).collect()
    })))
}

pub fn hgetall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let h = read_hash(ctx, arg(args, 1)?)?;
    Ok(Reply::Map(h.map_or_else(Vec::new, |h| {
        h.iter()
            .map(|(f, v)| (Reply::bulk(f), Reply::bulk(v)))
            .collect()
    })))
}

pub fn hincrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, field) = (arg(args, 1)?, arg(args, 2)?);
    let incr = parse_i64(arg(args, 3)?)?;
    let value = update_hash(ctx, key, |h, lim| {
        let cur = match h.get(field) {
            None => 0,
            Some(v) => parse_i64_opt(v)
                .ok_or_else(|| CmdError::other("ERR hash value is not an integer"))?,
        };
        let new = cur.checked_add(incr).ok_or(CmdError::Overflow)?;
        h.insert(field, new.to_string().as_bytes(), lim);
        Ok(new)
    })?;
    Ok(Reply::Int(value))
}

pub fn hincrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, field, incr) = (arg(args, 1)?, arg(args, 2)?, arg(args, 3)?);
    // The increment alone: not a float, or infinite (0 + inf is).
    match longdouble::add(b"0", incr) {
        Err(CmdError::NanOrInfinity) => {
            return Err(CmdError::other("ERR value is NaN or Infinity"))
        }
        Err(_) => return Err(CmdError::NotFloat),
        Ok(_) => {}
    }
    let value = update_hash(ctx, key, |h, lim| {
        let sum = match longdouble::add(h.get(field).unwrap_or(b"0"), incr) {
            Err(CmdError::NotFloat) => {
                return Err(CmdError::other("ERR hash value is not a float"))
            }
            r => r?,
        };
        h.insert(field, &sum, lim);
        Ok(sum)
    })?;
    Ok(Reply::Bulk(value))
}

/// HRANDFIELD key [count [WITHVALUES]]
pub fn hrandfield(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let mut rng = Rng::new(ctx.ks.rand());
    if args.len() < 3 {
        let h = read_hash(ctx, key)?;
        return Ok(Reply::bulk_or_nil(
            h.and_then(|h| h.random(&mut rng)).map(|(f, _)| f),
        ));
    }
    let count = random_count(&args[2])?;
    let with_values = match args.len() {
        3 => false,
        4 if eq_ic(&args[3], "withvalues") => true,
        _ => return Err(CmdError::Syntax),
    };
    // Redis 7.0 refuses what would overflow the doubled reply length.
    if with_values && count < -(i64::MAX / 2) {
        return Err(CmdError::other("ERR value is out of range"));
    }
    let Some(h) = read_hash(ctx, key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let picked = random_fields(h, count, &mut rng)?;
    Ok(if with_values {
        Reply::Pairs(
            picked
                .into_iter()
                .map(|(f, v)| (Reply::bulk(f), Reply::bulk(v)))
                .collect(),
        )
    } else {
        Reply::Array(picked.into_iter().map(|(f, _)| Reply::bulk(f)).collect())
    })
}

/// HRANDFIELD's selection: a negative count may repeat fields; a positive one gives
/// distinct fields, the whole hash (in its order) when it is not smaller.
fn random_fields<'h>(
    h: &'h Hash,
    count: i64,
    rng: &mut Rng,
) -> CmdResult<Vec<(&'h [u8], &'h [u8])>> {
    let size = h.len();
    if size == 0 {
        return Ok(Vec::new());
    }
    if count < 0 {
        let n = count.unsigned_abs();
        if n > MAX_RANDOM_REPLY {
            return Err(CmdError::other("ERR value is out of range"));
        }
        let n = n as usize;
        return Ok(if h.is_listpack() {
            let all: Vec<_> = h.iter().collect();
            (0..n).map(|_| all[rng.below(all.len())]).collect()
        } else {
            (0..n).filter_map(|_| h.random(rng)).collect()
        });
    }
    let n = count as u64;
    if n >= size as u64 {
        return Ok(h.iter().collect());
    }
    let n = n as usize;
    if h.is_listpack() || n * 3 > size {
        let mut all: Vec<_> = h.iter().collect();
        partial_shuffle(&mut all, n, rng);
        all.truncate(n);
        return Ok(all);
    }
    // Few fields from a big table: sample until enough distinct ones came up.
    let mut seen = std::collections::HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let Some((f, v)) = h.random(rng) else { break };
        if seen.insert(f) {
            out.push((f, v));
        }
    }
    Ok(out)
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]
pub fn hscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let cursor =
        parse_cursor(arg(args, 2)?).ok_or_else(|| CmdError::other("ERR invalid cursor"))?;
    let Some(h) = read_hash(ctx, key)? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let opts = ScanOpts::parse(rest(args, 3))?;
    let mut items = Vec::new();
    let next = h.scan(cursor, opts.count, |f, v| {
        if opts.matches(f) {
            items.push(Reply::bulk(f));
            items.push(Reply::bulk(v));
        }
    });
    Ok(scan_reply(next, items))
}

#[cfg(test)]
#[path = "tests/hashes.rs"]
mod tests;
