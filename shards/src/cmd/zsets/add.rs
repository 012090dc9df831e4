//! ZADD and ZINCRBY, and `zadd_apply`, which GEOADD shares.

use bytes::Bytes;

use super::{arg, drop_if_empty, other, parse_score, Ctx};
use crate::args::eq_ic;
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::types::zset::ZSet;
use crate::value::Value;

const NAN_SCORE: &str = "ERR resulting score is not a number (NaN)";

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
        Some(e) => match e.value_mut() {
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
            ctx.ks
                .set(ctx.db, key, Value::ZSet(Box::new(ZSet::new())), 0);
            match ctx.ks.lookup(ctx.db, key).map(|e| e.value_mut()) {
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
    // Scores changed with nothing added and no CH: the reply (0) cannot tell, Redis
    // still notifies.
    if !flags.incr && !flags.ch && added == 0 && updated > 0 {
        ctx.ks.raise(ctx.db, crate::notify::ZSET, "zadd", key);
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
