//! Sorted set commands (ZADD, ZRANGE, ZUNIONSTORE ...), with Redis 7.0's argument
//! checks, error texts and reply shapes. Geo commands build on the `pub` helpers here.
//!
//! This file holds what the families share (key access, replies) and the simple reads
//! and removals, ZRANDMEMBER and ZSCAN; `add` has ZADD / ZINCRBY, `score` the score
//! argument parser, `range` the score / lex / rank ranges and the commands that take
//! them, `pop` the (blocking) pops, `setops` ZUNION / ZINTER / ZDIFF and their STORE
//! and CARD forms.

mod add;
mod pop;
mod range;
mod score;
mod setops;

use std::collections::HashMap;

use bytes::Bytes;

use super::keys::parse_cursor;
use super::Ctx;
use crate::args::{eq_ic, format_double, parse_i64};
use crate::error::{CmdError, CmdResult};
use crate::glob::glob_match;
use crate::reply::Reply;
use crate::types::zset::{Elem, ZSet};
use crate::value::Value;

pub use add::{zadd, zadd_apply, zincrby, ZaddFlags};
pub use pop::{bzmpop, bzpopmax, bzpopmin, zmpop, zpopmax, zpopmin};
pub use range::{
    zcount, zlexcount, zrange, zrangebylex, zrangebyscore, zrangestore, zremrangebylex,
    zremrangebyrank, zremrangebyscore, zrevrange, zrevrangebylex, zrevrangebyscore, LexBound,
    LexRange, ScoreRange,
};
pub use score::parse_score;
pub use setops::{zdiff, zdiffstore, zinter, zintercard, zinterstore, zunion, zunionstore};

fn arg(args: &[Bytes], i: usize) -> CmdResult<&[u8]> {
    args.get(i).map(|a| &a[..]).ok_or(CmdError::Syntax)
}

fn cmd_name(args: &[Bytes]) -> String {
    args.first()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .unwrap_or_default()
}

fn other(msg: &str) -> CmdError {
    CmdError::other(msg)
}

// Key access -----------------------------------------------------------------------------

/// The sorted set at `key` for a read command (hit/miss counted, access time touched),
/// None when missing, WRONGTYPE for another type.
pub fn read_zset<'a>(ctx: &'a mut Ctx, key: &[u8]) -> CmdResult<Option<&'a ZSet>> {
    match ctx.ks.read(ctx.db, key, ctx.touch) {
        None => Ok(None),
        Some(e) => match e.value() {
            Value::ZSet(z) => Ok(Some(z)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// The sorted set at `key` for a write command.
pub fn write_zset<'a>(ctx: &'a mut Ctx, key: &[u8]) -> CmdResult<Option<&'a mut ZSet>> {
    match ctx.ks.lookup(ctx.db, key) {
        None => Ok(None),
        Some(e) => match e.value_mut() {
            Value::ZSet(z) => Ok(Some(z)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// Deletes `key` if it holds an empty sorted set (Redis never keeps empty collections).
fn drop_if_empty(ctx: &mut Ctx, key: &[u8]) {
    let empty = matches!(
        ctx.ks.lookup(ctx.db, key).map(|e| e.value()),
        Some(Value::ZSet(z)) if z.is_empty()
    );
    if empty {
        ctx.ks.remove(ctx.db, key);
    }
}

/// Stores a computed result at `dst` (replacing any value and TTL), or deletes `dst`
/// when the result is empty, as the *STORE commands do. Returns the stored size.
pub fn store_result(ctx: &mut Ctx, dst: &[u8], elems: Vec<Elem>) -> usize {
    if elems.is_empty() {
        ctx.ks.remove(ctx.db, dst);
        return 0;
    }
    let z = ZSet::from_elems(elems, &ctx.ks.config);
    let n = z.len();
    ctx.ks.set(ctx.db, dst, Value::ZSet(Box::new(z)), 0);
    n
}

// Replies --------------------------------------------------------------------------------

fn members_reply<'a>(it: impl Iterator<Item = (&'a [u8], f64)>, withscores: bool) -> Reply {
    if withscores {
        Reply::Pairs(
            it.map(|(m, s)| (Reply::bulk(m), Reply::Double(s)))
                .collect(),
        )
    } else {
        Reply::Array(it.map(|(m, _)| Reply::bulk(m)).collect())
    }
}

fn elems_reply(elems: &[Elem], withscores: bool) -> Reply {
    members_reply(elems.iter().map(|e| (&e.member[..], e.score)), withscores)
}

// Simple reads and removals ----------------------------------------------------------

pub fn zrem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let Some(zs) = write_zset(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let removed = args[2..].iter().filter(|m| zs.remove(m).is_some()).count();
    drop_if_empty(ctx, key);
    Ok(Reply::Int(removed as i64))
}

pub fn zcard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let n = read_zset(ctx, arg(args, 1)?)?.map_or(0, |z| z.len());
    Ok(Reply::Int(n as i64))
}

pub fn zscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let member = arg(args, 2)?;
    let score = read_zset(ctx, arg(args, 1)?)?.and_then(|z| z.score(member));
    Ok(score.map_or(Reply::Nil, Reply::Double))
}

pub fn zmscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let zs = read_zset(ctx, arg(args, 1)?)?;
    let out = args[2..]
        .iter()
        .map(|m| {
            zs.and_then(|z| z.score(m))
                .map_or(Reply::Nil, Reply::Double)
        })
        .collect();
    Ok(Reply::Array(out))
}

pub fn zrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    rank_generic(ctx, args, false)
}

pub fn zrevrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    rank_generic(ctx, args, true)
}

/// Redis 7.0's ZRANK takes exactly a key and a member (WITHSCORE came in 7.2).
fn rank_generic(ctx: &mut Ctx, args: &[Bytes], rev: bool) -> CmdResult<Reply> {
    if args.len() != 3 {
        return Err(CmdError::WrongArity(cmd_name(args)));
    }
    let Some(zs) = read_zset(ctx, &args[1])? else {
        return Ok(Reply::Nil);
    };
    Ok(match zs.rank(&args[2]) {
        Some(r) if rev => Reply::Int((zs.len() - 1 - r) as i64),
        Some(r) => Reply::Int(r as i64),
        None => Reply::Nil,
    })
}

// ZRANDMEMBER ------------------------------------------------------------------------

pub fn zrandmember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let Some(count_arg) = args.get(2) else {
        let r = ctx.ks.rand();
        let Some(zs) = read_zset(ctx, key)? else {
            return Ok(Reply::Nil);
        };
        let pick = (r % zs.len().max(1) as u64) as usize;
        return Ok(zs
            .get_by_rank(pick)
            .map_or(Reply::Nil, |(m, _)| Reply::bulk(m)));
    };
    let count = parse_i64(count_arg)?;
    if count == i64::MIN {
        return Err(other(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withscores = match args.len() {
        3 => false,
        4 if eq_ic(&args[3], "withscores") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(other("ERR value is out of range"));
    }
    let mut seed = ctx.ks.rand();
    let Some(zs) = read_zset(ctx, key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let len = zs.len();
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let picks: Vec<usize> = if count < 0 {
        // Repetitions allowed: |count| independent draws.
        let n = count.unsigned_abs() as usize;
        (0..n).map(|_| (next() % len as u64) as usize).collect()
    } else if count as u64 >= len as u64 {
        (0..len).collect()
    } else {
        // Distinct ranks: a partial Fisher-Yates over a sparse permutation.
        let n = count as usize;
        let mut swapped: HashMap<usize, usize> = HashMap::new();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let j = i + (next() % (len - i) as u64) as usize;
            let vj = *swapped.get(&j).unwrap_or(&j);
            let vi = *swapped.get(&i).unwrap_or(&i);
            swapped.insert(j, vi);
            out.push(vj);
        }
        out
    };
    Ok(members_reply(
        picks.into_iter().filter_map(|r| zs.get_by_rank(r)),
        withscores,
    ))
}

// ZSCAN ------------------------------------------------------------------------------

pub fn zscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let cursor = parse_cursor(arg(args, 2)?).ok_or_else(|| other("ERR invalid cursor"))?;
    let Some(zs) = read_zset(ctx, arg(args, 1)?)? else {
        return Ok(Reply::Array(vec![
            Reply::bulk("0"),
            Reply::Array(Vec::new()),
        ]));
    };
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    let mut j = 3;
    while j < args.len() {
        let valued = j + 1 < args.len();
        if eq_ic(&args[j], "count") && valued {
            let n = parse_i64(&args[j + 1])?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            count = n as usize;
        } else if eq_ic(&args[j], "match") && valued {
            let p = &args[j + 1][..];
            pattern = (p != b"*").then_some(p);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 2;
    }
    let mut out = Vec::new();
    let next = zs.scan(cursor, count, |m, s| {
        if pattern.is_none_or(|p| glob_match(p, m)) {
            out.push(Reply::bulk(m));
            out.push(Reply::Bulk(format_double(s).into_bytes()));
        }
    });
    Ok(Reply::Array(vec![
        Reply::bulk(next.to_string()),
        Reply::Array(out),
    ]))
}

#[cfg(test)]
#[path = "../tests/zsets.rs"]
mod tests;
