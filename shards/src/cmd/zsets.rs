//! Sorted set commands (ZADD, ZRANGE, ZUNIONSTORE ...), with Redis 7.0's argument
//! checks, error texts and reply shapes. Geo commands build on the `pub` helpers here.

use std::collections::HashMap;

use bytes::Bytes;

use super::keys::parse_cursor;
use super::Ctx;
use crate::args::{eq_ic, format_double, parse_f64, parse_i64};
use crate::error::{CmdError, CmdResult};
use crate::glob::glob_match;
use crate::reply::Reply;
use crate::types::set::Set;
use crate::types::zset::{Elem, ZSet};
use crate::value::Value;

const NAN_SCORE: &str = "ERR resulting score is not a number (NaN)";
const NOT_FLOAT_RANGE: &str = "ERR min or max is not a float";
const NOT_LEX_RANGE: &str = "ERR min or max not valid string range item";
const POSITIVE: &str = "ERR value is out of range, must be positive";

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
        Some(e) => match &e.value {
            Value::ZSet(z) => Ok(Some(z)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// The sorted set at `key` for a write command.
pub fn write_zset<'a>(ctx: &'a mut Ctx, key: &[u8]) -> CmdResult<Option<&'a mut ZSet>> {
    match ctx.ks.lookup(ctx.db, key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::ZSet(z) => Ok(Some(z)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// Deletes `key` if it holds an empty sorted set (Redis never keeps empty collections).
fn drop_if_empty(ctx: &mut Ctx, key: &[u8]) {
    let empty = matches!(
        ctx.ks.lookup(ctx.db, key).map(|e| &e.value),
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
    ctx.ks.set(ctx.db, dst, Value::ZSet(z), 0);
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

// ZADD -----------------------------------------------------------------------------------

/// ZADD's options.
#[derive(Debug, Clone, Copy, Default)]
pub struct ZaddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    pub ch: bool,
    pub incr: bool,
}

pub fn zadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zadd_parse(ctx, args, false)
}

pub fn zincrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zadd_parse(ctx, args, true)
}

fn zadd_parse(ctx: &mut Ctx, args: &[Bytes], zincrby: bool) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let mut flags = ZaddFlags {
        incr: zincrby,
        ..ZaddFlags::default()
    };
    let mut idx = 2;
    if !zincrby {
        while let Some(a) = args.get(idx) {
            match () {
                _ if eq_ic(a, "nx") => flags.nx = true,
                _ if eq_ic(a, "xx") => flags.xx = true,
                _ if eq_ic(a, "gt") => flags.gt = true,
                _ if eq_ic(a, "lt") => flags.lt = true,
                _ if eq_ic(a, "ch") => flags.ch = true,
                _ if eq_ic(a, "incr") => flags.incr = true,
                _ => break,
            }
            idx += 1;
        }
    }
    let rest = &args[idx.min(args.len())..];
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if flags.nx && flags.xx {
        return Err(other(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err(other(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if flags.incr && rest.len() > 2 {
        return Err(other(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let pairs = rest
        .chunks(2)
        .map(|p| Ok((parse_score(&p[0])?, &p[1][..])))
        .collect::<CmdResult<Vec<(f64, &[u8])>>>()?;
    zadd_apply(ctx, key, flags, &pairs)
}

/// Applies parsed ZADD pairs (score, member) to `key` (GEOADD calls this too) and
/// builds ZADD's reply. Pairs before a NaN error stay applied, as in Redis.
pub fn zadd_apply(
    ctx: &mut Ctx,
    key: &[u8],
    flags: ZaddFlags,
    pairs: &[(f64, &[u8])],
) -> CmdResult<Reply> {
    let config = ctx.ks.config.clone();
    let zs = match ctx.ks.lookup(ctx.db, key) {
        Some(e) => match &mut e.value {
            Value::ZSet(z) => z,
            _ => return Err(CmdError::WrongType),
        },
        None => {
            if flags.xx {
                return Ok(if flags.incr {
                    Reply::Nil
                } else {
                    Reply::Int(0)
                });
            }
            ctx.ks.set(ctx.db, key, Value::ZSet(ZSet::new()), 0);
            match ctx.ks.lookup(ctx.db, key).map(|e| &mut e.value) {
                Some(Value::ZSet(z)) => z,
                _ => return Err(other("ERR internal error")),
            }
        }
    };
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0usize);
    let mut last = 0.0;
    let mut error = None;
    for &(score, member) in pairs {
        match zadd_one(zs, member, score, flags, &config) {
            Err(e) => {
                error = Some(e);
                break;
            }
            Ok(Outcome::Nop) => {}
            Ok(outcome) => {
                processed += 1;
                match outcome {
                    Outcome::Added(s) => {
                        added += 1;
                        last = s;
                    }
                    Outcome::Updated(s) => {
                        updated += 1;
                        last = s;
                    }
                    Outcome::Same(s) => last = s,
                    Outcome::Nop => {}
                }
            }
        }
    }
    drop_if_empty(ctx, key);
    if let Some(e) = error {
        return Err(e);
    }
    Ok(if flags.incr {
        if processed > 0 {
            Reply::Double(last)
        } else {
            Reply::Nil
        }
    } else {
        Reply::Int(if flags.ch { added + updated } else { added })
    })
}

enum Outcome {
    Added(f64),
    Updated(f64),
    /// Processed, score unchanged.
    Same(f64),
    Nop,
}

fn zadd_one(
    zs: &mut ZSet,
    member: &[u8],
    score: f64,
    f: ZaddFlags,
    config: &crate::config::EngineConfig,
) -> CmdResult<Outcome> {
    match zs.score(member) {
        Some(cur) => {
            if f.nx {
                return Ok(Outcome::Nop);
            }
            let score = if f.incr { score + cur } else { score };
            if score.is_nan() {
                return Err(other(NAN_SCORE));
            }
            if (f.lt && score >= cur) || (f.gt && score <= cur) {
                return Ok(Outcome::Nop);
            }
            if score != cur {
                zs.insert(member, score, config);
                Ok(Outcome::Updated(score))
            } else {
                Ok(Outcome::Same(score))
            }
        }
        None if f.xx => Ok(Outcome::Nop),
        None => {
            zs.insert(member, score, config);
            Ok(Outcome::Added(score))
        }
    }
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

// Ranges -----------------------------------------------------------------------------

/// A score interval with optional exclusive ends (`(1.5`, `-inf`, `+inf`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub minex: bool,
    pub max: f64,
    pub maxex: bool,
}

impl ScoreRange {
    pub fn parse(min: &[u8], max: &[u8]) -> CmdResult<ScoreRange> {
        let (min, minex) = parse_score_bound(min).ok_or_else(|| other(NOT_FLOAT_RANGE))?;
        let (max, maxex) = parse_score_bound(max).ok_or_else(|| other(NOT_FLOAT_RANGE))?;
        Ok(ScoreRange {
            min,
            minex,
            max,
            maxex,
        })
    }

    pub fn after_min(&self, s: f64) -> bool {
        if self.minex {
            s > self.min
        } else {
            s >= self.min
        }
    }

    pub fn before_max(&self, s: f64) -> bool {
        if self.maxex {
            s < self.max
        } else {
            s <= self.max
        }
    }

    /// Ascending ranks `start..end` of the members inside the range.
    pub fn ranks(&self, zs: &ZSet) -> (usize, usize) {
        zs.range_ranks(|s, _| self.after_min(s), |s, _| self.before_max(s))
    }
}

fn parse_score_bound(b: &[u8]) -> Option<(f64, bool)> {
    match b.split_first() {
        Some((b'(', rest)) => Some((strtod_whole(rest)?, true)),
        _ => Some((strtod_whole(b)?, false)),
    }
}

/// A score or weight argument, parsed as Redis's `getDoubleFromObject`: `strtod` over
/// the whole argument (hex floats and `inf` accepted), but no leading whitespace, no
/// empty string, no NaN, and no overflow to infinity or underflow to zero.
pub fn parse_score(b: &[u8]) -> CmdResult<f64> {
    if b.is_empty() || matches!(b[0], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        return Err(CmdError::NotFloat);
    }
    let v = strtod_whole(b).ok_or(CmdError::NotFloat)?;
    let body = b
        .strip_prefix(b"+")
        .or_else(|| b.strip_prefix(b"-"))
        .unwrap_or(b);
    let literal_inf = body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity");
    if v.is_infinite() && !literal_inf {
        return Err(CmdError::NotFloat);
    }
    if v == 0.0 {
        // Nonzero digits in the mantissa that still gave 0: an underflow.
        let lower = body.to_ascii_lowercase();
        let mantissa: &[u8] = match lower.strip_prefix(b"0x") {
            Some(hex) => hex.split(|&c| c == b'p').next().unwrap_or(b""),
            None => lower.split(|&c| c == b'e').next().unwrap_or(b""),
        };
        if mantissa
            .iter()
            .any(|c| c.is_ascii_alphanumeric() && *c != b'0')
        {
            return Err(CmdError::NotFloat);
        }
    }
    Ok(v)
}

/// C's `strtod` over the whole argument, as Redis's range parser uses it: leading
/// whitespace skipped, hex floats and `inf`/`infinity` accepted, NaN and trailing bytes
/// rejected; an empty string parses as 0 (nothing converted, nothing left over).
fn strtod_whole(b: &[u8]) -> Option<f64> {
    if b.is_empty() {
        return Some(0.0);
    }
    let start = b
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    let s = std::str::from_utf8(&b[start..]).ok()?;
    let (neg, body) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.starts_with(['+', '-']) {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let v = if lower == "inf" || lower == "infinity" {
        f64::INFINITY
    } else if lower.starts_with("nan") {
        return None;
    } else if let Some(hex) = lower.strip_prefix("0x") {
        parse_hex_float(hex)?
    } else {
        if !body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// The part of a C hex float after `0x`: hex digits, an optional point, an optional
/// binary exponent `p[+-]digits`.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = match s.split_once('p') {
        Some((m, e)) => {
            let e: i32 = match e.strip_prefix('+') {
                Some(rest) if !rest.starts_with(['+', '-']) => rest.parse().ok()?,
                _ => e.parse().ok()?,
            };
            (m, e)
        }
        None => (s, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0.0f64;
    for c in int.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp))
}

/// One end of a lexicographic range: `-`, `+`, `[incl` or `(excl`.
#[derive(Debug, Clone, PartialEq)]
pub enum LexBound {
    NegInf,
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

impl LexBound {
    fn parse(b: &[u8]) -> Option<LexBound> {
        // Redis reads the item as a C string: `+` / `-` must end there.
        let alone = b.get(1).is_none_or(|&c| c == 0);
        match b.first()? {
            b'+' if alone => Some(LexBound::PosInf),
            b'-' if alone => Some(LexBound::NegInf),
            b'(' => Some(LexBound::Excl(b[1..].to_vec())),
            b'[' => Some(LexBound::Incl(b[1..].to_vec())),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    pub fn parse(min: &[u8], max: &[u8]) -> CmdResult<LexRange> {
        match (LexBound::parse(min), LexBound::parse(max)) {
            (Some(min), Some(max)) => Ok(LexRange { min, max }),
            _ => Err(other(NOT_LEX_RANGE)),
        }
    }

    fn after_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Incl(b) => m >= &b[..],
            LexBound::Excl(b) => m > &b[..],
        }
    }

    fn before_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::PosInf => true,
            LexBound::NegInf => false,
            LexBound::Incl(b) => m <= &b[..],
            LexBound::Excl(b) => m < &b[..],
        }
    }

    pub fn ranks(&self, zs: &ZSet) -> (usize, usize) {
        zs.range_ranks(|_, m| self.after_min(m), |_, m| self.before_max(m))
    }
}

/// Redis's index sanitising for rank ranges: negative counts from the end; None when
/// the range is empty, else ascending inclusive ranks clamped to the set.
fn rank_bounds(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
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
    Some((start as usize, end as usize))
}

pub fn zcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let range = ScoreRange::parse(arg(args, 2)?, arg(args, 3)?)?;
    let n = read_zset(ctx, arg(args, 1)?)?.map_or(0, |z| {
        let (s, e) = range.ranks(z);
        e - s
    });
    Ok(Reply::Int(n as i64))
}

pub fn zlexcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let range = LexRange::parse(arg(args, 2)?, arg(args, 3)?)?;
    let n = read_zset(ctx, arg(args, 1)?)?.map_or(0, |z| {
        let (s, e) = range.ranks(z);
        e - s
    });
    Ok(Reply::Int(n as i64))
}

#[derive(Clone, Copy, PartialEq)]
enum RangeBy {
    Rank,
    Score,
    Lex,
}

/// ZRANGE and its variants. `first` is the index of the source key; `by` and `rev` are
/// fixed by the legacy commands and chosen by options for ZRANGE / ZRANGESTORE.
fn zrange_generic(
    ctx: &mut Ctx,
    args: &[Bytes],
    first: usize,
    store: Option<&[u8]>,
    by: Option<RangeBy>,
    rev: Option<bool>,
) -> CmdResult<Reply> {
    let key = arg(args, first)?;
    let (mut by_opt, mut rev_opt) = (by, rev);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = first + 3;
    while j < args.len() {
        let a = &args[j];
        let left = args.len() - j - 1;
        if store.is_none() && eq_ic(a, "withscores") {
            withscores = true;
        } else if eq_ic(a, "limit") && left >= 2 {
            offset = parse_i64(&args[j + 1])?;
            limit = parse_i64(&args[j + 2])?;
            j += 2;
        } else if rev.is_none() && rev_opt.is_none() && eq_ic(a, "rev") {
            rev_opt = Some(true);
        } else if by.is_none() && by_opt.is_none() && eq_ic(a, "bylex") {
            by_opt = Some(RangeBy::Lex);
        } else if by.is_none() && by_opt.is_none() && eq_ic(a, "byscore") {
            by_opt = Some(RangeBy::Score);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let by = by_opt.unwrap_or(RangeBy::Rank);
    let rev = rev_opt.unwrap_or(false);
    if limit != -1 && by == RangeBy::Rank {
        return Err(other(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && by == RangeBy::Lex {
        return Err(other(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut lo, mut hi) = (arg(args, first + 1)?, arg(args, first + 2)?);
    if rev && by != RangeBy::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    enum Spec {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let spec = match by {
        RangeBy::Rank => Spec::Rank(parse_i64(lo)?, parse_i64(hi)?),
        RangeBy::Score => Spec::Score(ScoreRange::parse(lo, hi)?),
        RangeBy::Lex => Spec::Lex(LexRange::parse(lo, hi)?),
    };
    let Some(zs) = read_zset(ctx, key)? else {
        if let Some(dst) = store {
            store_result(ctx, dst, Vec::new());
            return Ok(Reply::Int(0));
        }
        return Ok(Reply::Array(Vec::new()));
    };
    // Ascending ranks of the selected elements, before direction, offset and limit.
    let (start, end) = match spec {
        Spec::Rank(a, b) => {
            let len = zs.len();
            match rank_bounds(a, b, len) {
                None => (0, 0),
                Some((a, b)) if rev => (len - 1 - b, len - a),
                Some((a, b)) => (a, b + 1),
            }
        }
        Spec::Score(r) => r.ranks(zs),
        Spec::Lex(r) => r.ranks(zs),
    };
    let (start, end) = if by == RangeBy::Rank {
        (start, end)
    } else {
        apply_limit(start, end, offset, limit, rev)
    };
    let items = zs.iter_range(start, end, rev);
    match store {
        Some(dst) => {
            let elems: Vec<Elem> = items.map(|(m, s)| Elem::new(m, s)).collect();
            Ok(Reply::Int(store_result(ctx, dst, elems) as i64))
        }
        None => Ok(members_reply(items, withscores)),
    }
}

/// Narrows ascending ranks `start..end` to LIMIT offset count, counted from the end
/// when reversed. A negative offset selects nothing; a negative count means all.
fn apply_limit(start: usize, end: usize, offset: i64, limit: i64, rev: bool) -> (usize, usize) {
    if offset < 0 || limit == 0 {
        return (start, start);
    }
    let n = end - start;
    let offset = (offset as u64).min(n as u64) as usize;
    let take = if limit < 0 {
        n - offset
    } else {
        (limit as u64).min((n - offset) as u64) as usize
    };
    if rev {
        (end - offset - take, end - offset)
    } else {
        (start + offset, start + offset + take)
    }
}

pub fn zrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, args, 1, None, None, None)
}

pub fn zrangestore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(dst) = args.get(1) else {
        return Err(CmdError::Syntax);
    };
    zrange_generic(ctx, args, 2, Some(dst), None, None)
}

pub fn zrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, args, 1, None, Some(RangeBy::Score), Some(false))
}

pub fn zrevrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, args, 1, None, Some(RangeBy::Score), Some(true))
}

pub fn zrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, args, 1, None, Some(RangeBy::Lex), Some(false))
}

pub fn zrevrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, args, 1, None, Some(RangeBy::Lex), Some(true))
}

pub fn zrevrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, args, 1, None, Some(RangeBy::Rank), Some(true))
}

fn zremrange(ctx: &mut Ctx, args: &[Bytes], by: RangeBy) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let (lo, hi) = (arg(args, 2)?, arg(args, 3)?);
    enum Spec {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let spec = match by {
        RangeBy::Rank => Spec::Rank(parse_i64(lo)?, parse_i64(hi)?),
        RangeBy::Score => Spec::Score(ScoreRange::parse(lo, hi)?),
        RangeBy::Lex => Spec::Lex(LexRange::parse(lo, hi)?),
    };
    let Some(zs) = write_zset(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let (start, end) = match spec {
        Spec::Rank(a, b) => rank_bounds(a, b, zs.len()).map_or((0, 0), |(a, b)| (a, b + 1)),
        Spec::Score(r) => r.ranks(zs),
        Spec::Lex(r) => r.ranks(zs),
    };
    let removed = zs.remove_rank_range(start, end);
    drop_if_empty(ctx, key);
    Ok(Reply::Int(removed as i64))
}

pub fn zremrangebyrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zremrange(ctx, args, RangeBy::Rank)
}

pub fn zremrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zremrange(ctx, args, RangeBy::Score)
}

pub fn zremrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zremrange(ctx, args, RangeBy::Lex)
}

/// The key popped from and its (member, score) pairs.
type Popped = (Bytes, Vec<(Vec<u8>, f64)>);

// Pops -------------------------------------------------------------------------------

/// Pops up to `count` elements from the first non-empty sorted set among `keys`.
/// WRONGTYPE stops the search at the first existing key of another type.
fn pop_first(ctx: &mut Ctx, keys: &[Bytes], max: bool, count: usize) -> CmdResult<Option<Popped>> {
    for key in keys {
        let Some(zs) = write_zset(ctx, key)? else {
            continue;
        };
        let mut popped = Vec::new();
        while popped.len() < count {
            match zs.pop(max) {
                Some((m, s)) => popped.push((m.to_vec(), s)),
                None => break,
            }
        }
        drop_if_empty(ctx, key);
        return Ok(Some((key.clone(), popped)));
    }
    Ok(None)
}

fn nested_pairs(popped: &[(Vec<u8>, f64)]) -> Reply {
    Reply::Array(
        popped
            .iter()
            .map(|(m, s)| Reply::Array(vec![Reply::bulk(m), Reply::Double(*s)]))
            .collect(),
    )
}

fn zpop(ctx: &mut Ctx, args: &[Bytes], max: bool) -> CmdResult<Reply> {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match args.get(2) {
        Some(c) => match parse_i64(c) {
            Ok(n) if n >= 0 => Some(n as usize),
            _ => return Err(other(POSITIVE)),
        },
        None => None,
    };
    let key = arg(args, 1)?;
    if write_zset(ctx, key)?.is_none() || count == Some(0) {
        return Ok(Reply::Array(Vec::new()));
    }
    let Some((_, popped)) = pop_first(ctx, &args[1..2], max, count.unwrap_or(1))? else {
        return Ok(Reply::Array(Vec::new()));
    };
    Ok(match count {
        // Without a count the reply is flat in RESP3 too.
        None => Reply::Array(
            popped
                .iter()
                .flat_map(|(m, s)| [Reply::bulk(m), Reply::Double(*s)])
                .collect(),
        ),
        Some(_) => Reply::Pairs(
            popped
                .iter()
                .map(|(m, s)| (Reply::bulk(m), Reply::Double(*s)))
                .collect(),
        ),
    })
}

pub fn zpopmin(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zpop(ctx, args, false)
}

pub fn zpopmax(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    zpop(ctx, args, true)
}

/// ZMPOP / BZMPOP arguments from the numkeys index: (keys, max, count).
fn parse_mpop(args: &[Bytes], numkeys_idx: usize) -> CmdResult<(&[Bytes], bool, usize)> {
    let numkeys = match parse_i64(arg(args, numkeys_idx)?) {
        Ok(n) if n >= 1 => n as u64,
        _ => return Err(other("ERR numkeys should be greater than 0")),
    };
    let where_idx = (numkeys_idx as u64)
        .saturating_add(numkeys)
        .saturating_add(1);
    if where_idx >= args.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_idx = where_idx as usize;
    let max = match &args[where_idx] {
        w if eq_ic(w, "min") => false,
        w if eq_ic(w, "max") => true,
        _ => return Err(CmdError::Syntax),
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count.is_none() && eq_ic(&args[j], "count") && j + 1 < args.len() {
            match parse_i64(&args[j + 1]) {
                Ok(n) if n >= 1 => count = Some(n as usize),
                _ => return Err(other("ERR count should be greater than 0")),
            }
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((&args[numkeys_idx + 1..where_idx], max, count.unwrap_or(1)))
}

fn mpop_reply(found: Option<Popped>) -> Reply {
    match found {
        Some((key, popped)) => Reply::Array(vec![Reply::bulk(&key), nested_pairs(&popped)]),
        None => Reply::NilArray,
    }
}

pub fn zmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (keys, max, count) = parse_mpop(args, 1)?;
    Ok(mpop_reply(pop_first(ctx, keys, max, count)?))
}

/// A blocking command's timeout in ms, with Redis 7.0's checks: a float of seconds;
/// values whose milliseconds overflow a long long turn negative there, and are
/// reported as negative here too.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

fn parse_timeout(b: &[u8]) -> CmdResult<u64> {
    let secs = parse_f64(b).map_err(|_| other("ERR timeout is not a float or out of range"))?;
    let ms = (secs * 1000.0).ceil();
    // 2^63 ms and beyond overflow a long long.
    if !(0.0..TWO_POW_63).contains(&ms) {
        return Err(other("ERR timeout is negative"));
    }
    Ok(ms as u64)
}

fn bzpop(ctx: &mut Ctx, args: &[Bytes], max: bool) -> CmdResult<Reply> {
    let Some((timeout, keys)) = args.split_last() else {
        return Err(CmdError::Syntax);
    };
    parse_timeout(timeout)?;
    let keys = keys.get(1..).unwrap_or_default();
    Ok(match pop_first(ctx, keys, max, 1)? {
        Some((key, popped)) => match popped.first() {
            Some((m, s)) => {
                Reply::Array(vec![Reply::bulk(&key), Reply::bulk(m), Reply::Double(*s)])
            }
            None => Reply::NilArray,
        },
        None => Reply::NilArray,
    })
}

/// Non-blocking attempt of BZPOPMIN: pops from the first non-empty key, else NilArray
/// (the server then blocks).
pub fn bzpopmin(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    bzpop(ctx, args, false)
}

pub fn bzpopmax(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    bzpop(ctx, args, true)
}

/// Non-blocking attempt of BZMPOP. The timeout is checked after the other arguments,
/// as Redis does.
pub fn bzmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (keys, max, count) = parse_mpop(args, 2)?;
    parse_timeout(arg(args, 1)?)?;
    Ok(mpop_reply(pop_first(ctx, keys, max, count)?))
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

// ZUNION / ZINTER / ZDIFF --------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn apply(self, target: &mut f64, v: f64) {
        match self {
            Aggregate::Sum => {
                *target += v;
                // inf + -inf: Redis keeps 0 rather than NaN.
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => {
                if v < *target {
                    *target = v;
                }
            }
            Aggregate::Max => {
                if v > *target {
                    *target = v;
                }
            }
        }
    }
}

/// An input of a set operation: a sorted set, or a plain set whose members score 1.
enum Source<'a> {
    Missing,
    Z(&'a ZSet),
    S(&'a Set),
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::Z(z) => z.len(),
            Source::S(s) => s.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::Z(z) => z.score(member),
            Source::S(s) => set_contains(s, member).then_some(1.0),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Source::Missing => {}
            Source::Z(z) => z.iter().for_each(|(m, s)| f(m, s)),
            Source::S(s) => set_for_each(s, |m| f(m, 1.0)),
        }
    }
}

// The plain-set adapter: the `Set` type is owned by the sets work; these two functions
// are the only place sorted-set operations touch its internals.
fn set_contains(s: &Set, member: &[u8]) -> bool {
    s.contains(member)
}

fn set_for_each(s: &Set, mut f: impl FnMut(&[u8])) {
    s.iter().for_each(|m| m.with_bytes(|b| f(b)));
}

/// Looks an input up again (after the first, counted read).
fn source<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Source<'a> {
    match ctx.ks.lookup(ctx.db, key).map(|e| &e.value) {
        Some(Value::ZSet(z)) => Source::Z(z),
        Some(Value::Set(s)) => Source::S(s),
        _ => Source::Missing,
    }
}

struct SetOpArgs<'a> {
    keys: &'a [Bytes],
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    limit: usize,
}

fn setop_parse<'a>(
    ctx: &mut Ctx,
    args: &'a [Bytes],
    numkeys_idx: usize,
    op: SetOp,
    store: bool,
    card_only: bool,
) -> CmdResult<SetOpArgs<'a>> {
    let setnum = parse_i64(arg(args, numkeys_idx)?)?;
    if setnum < 1 {
        return Err(other(&format!(
            "ERR at least 1 input key is needed for '{}' command",
            cmd_name(args)
        )));
    }
    let first = numkeys_idx + 1;
    if setnum as u64 > (args.len() - first) as u64 {
        return Err(CmdError::Syntax);
    }
    let setnum = setnum as usize;
    let keys = &args[first..first + setnum];
    for key in keys {
        match ctx.ks.read(ctx.db, key, ctx.touch).map(|e| &e.value) {
            None | Some(Value::ZSet(_)) | Some(Value::Set(_)) => {}
            Some(_) => return Err(CmdError::WrongType),
        }
    }
    let mut out = SetOpArgs {
        keys,
        weights: vec![1.0; setnum],
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    let mut j = first + setnum;
    while j < args.len() {
        let a = &args[j];
        let remaining = args.len() - j;
        if op != SetOp::Diff && !card_only && remaining > setnum && eq_ic(a, "weights") {
            for (i, w) in args[j + 1..j + 1 + setnum].iter().enumerate() {
                out.weights[i] =
                    parse_score(w).map_err(|_| other("ERR weight value is not a float"))?;
            }
            j += 1 + setnum;
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && eq_ic(a, "aggregate") {
            let v = &args[j + 1];
            out.aggregate = match () {
                _ if eq_ic(v, "sum") => Aggregate::Sum,
                _ if eq_ic(v, "min") => Aggregate::Min,
                _ if eq_ic(v, "max") => Aggregate::Max,
                _ => return Err(CmdError::Syntax),
            };
            j += 2;
        } else if !store && !card_only && eq_ic(a, "withscores") {
            out.withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && eq_ic(a, "limit") {
            match parse_i64(&args[j + 1]) {
                Ok(n) if n >= 0 => out.limit = n as usize,
                _ => return Err(other("ERR LIMIT can't be negative")),
            }
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(out)
}

/// Computes a set operation; with `card_only` returns just the cardinality (ZINTERCARD).
fn setop_compute(ctx: &mut Ctx, p: &SetOpArgs, op: SetOp, card_only: bool) -> (Vec<Elem>, usize) {
    // Inputs with their weights, smallest first for union and intersection, as Redis
    // orders them (which also fixes the order in which SUM adds up).
    let mut order: Vec<(usize, usize)> = p
        .keys
        .iter()
        .enumerate()
        .map(|(i, k)| (source(ctx, k).len(), i))
        .collect();
    if op != SetOp::Diff {
        order.sort_by_key(|&(len, _)| len);
    }
    match op {
        SetOp::Inter => {
            let (len0, i0) = order[0];
            if len0 == 0 {
                return (Vec::new(), 0);
            }
            let w0 = p.weights[i0];
            let mut acc: Vec<(Vec<u8>, f64)> = Vec::with_capacity(len0);
            source(ctx, &p.keys[i0]).for_each(|m, s| {
                let v = w0 * s;
                acc.push((m.to_vec(), if v.is_nan() { 0.0 } else { v }));
            });
            for &(_, i) in &order[1..] {
                let w = p.weights[i];
                let src = source(ctx, &p.keys[i]);
                acc.retain_mut(|(m, score)| match src.score(m) {
                    Some(s) => {
                        p.aggregate.apply(score, s * w);
                        true
                    }
                    None => false,
                });
            }
            if card_only {
                let n = acc.len();
                return (Vec::new(), if p.limit > 0 { n.min(p.limit) } else { n });
            }
            let elems: Vec<Elem> = acc.into_iter().map(|(m, s)| Elem::new(&m, s)).collect();
            let n = elems.len();
            (elems, n)
        }
        SetOp::Union => {
            let mut acc: HashMap<Vec<u8>, f64, ahash::RandomState> = HashMap::default();
            for &(_, i) in &order {
                let w = p.weights[i];
                source(ctx, &p.keys[i]).for_each(|m, s| {
                    let mut v = w * s;
                    if v.is_nan() {
                        v = 0.0;
                    }
                    match acc.get_mut(m) {
                        Some(t) => p.aggregate.apply(t, v),
                        None => {
                            acc.insert(m.to_vec(), v);
                        }
                    }
                });
            }
            let elems: Vec<Elem> = acc.into_iter().map(|(m, s)| Elem::new(&m, s)).collect();
            let n = elems.len();
            (elems, n)
        }
        SetOp::Diff => {
            let mut acc: Vec<(Vec<u8>, f64)> = Vec::new();
            source(ctx, &p.keys[0]).for_each(|m, s| acc.push((m.to_vec(), s)));
            for key in &p.keys[1..] {
                if acc.is_empty() {
                    break;
                }
                let src = source(ctx, key);
                acc.retain(|(m, _)| src.score(m).is_none());
            }
            let elems: Vec<Elem> = acc.into_iter().map(|(m, s)| Elem::new(&m, s)).collect();
            let n = elems.len();
            (elems, n)
        }
    }
}

fn setop_command(ctx: &mut Ctx, args: &[Bytes], op: SetOp, store: bool) -> CmdResult<Reply> {
    let numkeys_idx = if store { 2 } else { 1 };
    let p = setop_parse(ctx, args, numkeys_idx, op, store, false)?;
    let (mut elems, _) = setop_compute(ctx, &p, op, false);
    if store {
        let dst = arg(args, 1)?;
        return Ok(Reply::Int(store_result(ctx, dst, elems) as i64));
    }
    elems.sort_by(|a, b| a.cmp_to(b.score, &b.member));
    Ok(elems_reply(&elems, p.withscores))
}

pub fn zunion(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    setop_command(ctx, args, SetOp::Union, false)
}

pub fn zinter(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    setop_command(ctx, args, SetOp::Inter, false)
}

pub fn zdiff(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    setop_command(ctx, args, SetOp::Diff, false)
}

pub fn zunionstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    setop_command(ctx, args, SetOp::Union, true)
}

pub fn zinterstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    setop_command(ctx, args, SetOp::Inter, true)
}

pub fn zdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    setop_command(ctx, args, SetOp::Diff, true)
}

pub fn zintercard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let p = setop_parse(ctx, args, 1, SetOp::Inter, false, true)?;
    let (_, n) = setop_compute(ctx, &p, SetOp::Inter, true);
    Ok(Reply::Int(n as i64))
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
#[path = "tests/zsets.rs"]
mod tests;
