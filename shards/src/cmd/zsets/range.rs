//! Score, lex and rank ranges, and the commands that take them: ZCOUNT, ZLEXCOUNT, the
//! ZRANGE family (ZRANGESTORE included) and ZREMRANGEBY*.

use bytes::Bytes;

use super::score::strtod_whole;
use super::{arg, drop_if_empty, members_reply, other, read_zset, store_result, write_zset, Ctx};
use crate::args::{eq_ic, parse_i64};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::types::zset::{Elem, ZSet};

const NOT_FLOAT_RANGE: &str = "ERR min or max is not a float";
const NOT_LEX_RANGE: &str = "ERR min or max not valid string range item";

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
pub(super) fn rank_bounds(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
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
    let spec = Spec::parse(by, lo, hi)?;
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
            let mut elems: Vec<Elem> = items.map(|(m, s)| Elem::new(m, s)).collect();
            listpack_prefix_zeros(&mut elems, &ctx.ks.config);
            Ok(Reply::Int(store_result(ctx, dst, elems) as i64))
        }
        None => Ok(members_reply(items, withscores)),
    }
}

/// ZRANGESTORE's destination: redis-server 7.0 creates it for the result's size (a
/// skiplist when that is past `zset-max-listpack-entries`, else a listpack) and adds the
/// elements one by one in range order; a listpack turns into a skiplist before the first
/// member longer than `zset-max-listpack-value`. A negative zero added while it is still
/// a listpack comes back as 0 (see the `zset` module), so the elements before that point
/// lose the sign; later ones keep it.
fn listpack_prefix_zeros(elems: &mut [Elem], config: &crate::config::EngineConfig) {
    let converted_at = if elems.len() > config.zset_max_listpack_entries {
        0
    } else {
        elems
            .iter()
            .position(|e| e.member.len() > config.zset_max_listpack_value)
            .unwrap_or(elems.len())
    };
    for e in &mut elems[..converted_at] {
        if e.score == 0.0 {
            e.score = 0.0;
        }
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

/// A parsed range of a sorted set: by rank, by score or by lexicographic order.
enum Spec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

impl Spec {
    fn parse(by: RangeBy, lo: &[u8], hi: &[u8]) -> CmdResult<Spec> {
        Ok(match by {
            RangeBy::Rank => Spec::Rank(parse_i64(lo)?, parse_i64(hi)?),
            RangeBy::Score => Spec::Score(ScoreRange::parse(lo, hi)?),
            RangeBy::Lex => Spec::Lex(LexRange::parse(lo, hi)?),
        })
    }
}

fn zremrange(ctx: &mut Ctx, args: &[Bytes], by: RangeBy) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let (lo, hi) = (arg(args, 2)?, arg(args, 3)?);
    let spec = Spec::parse(by, lo, hi)?;
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
