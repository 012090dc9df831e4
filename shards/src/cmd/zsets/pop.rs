//! Pops: ZPOPMIN / ZPOPMAX, ZMPOP, and the non-blocking attempt of BZPOPMIN / BZPOPMAX
//! / BZMPOP.

use bytes::Bytes;

use super::{arg, drop_if_empty, other, write_zset, Ctx};
use crate::args::{eq_ic, parse_f64, parse_i64};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;

const POSITIVE: &str = "ERR value is out of range, must be positive";

/// The key popped from and its (member, score) pairs.
type Popped = (Bytes, Vec<(Vec<u8>, f64)>);

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
