//! Set commands (SADD, SINTER, SMOVE ...), with redis-server 7.0's replies and errors.

use std::collections::HashMap;

use bytes::Bytes;

use super::hashes::{arg, random_count, rest, scan_reply, ScanOpts, MAX_RANDOM_REPLY};
use super::keys::parse_cursor;
use super::Ctx;
use crate::args::parse_i64;
use crate::error::{CmdError, CmdResult};
use crate::keyspace::{Keyspace, Stored};
use crate::reply::Reply;
use crate::types::hash::Rng;
use crate::types::set::{Member, Set, SetLimits};
use crate::value::Value;

// ---------------------------------------------------------------------------------------
// Lookups.

fn set_of(entry: Option<&mut Stored>) -> CmdResult<Option<&mut Set>> {
    match entry.map(|e| e.value_mut()) {
        None => Ok(None),
        Some(Value::Set(s)) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// A set looked up for a read (counts hits/misses, refreshes the access time).
fn read_set<'a>(ctx: &'a mut Ctx<'_>, key: &[u8]) -> CmdResult<Option<&'a mut Set>> {
    set_of(ctx.ks.read(ctx.db, key, ctx.touch))
}

fn member_reply(m: Member) -> Reply {
    Reply::Bulk(m.to_vec())
}

fn bulks(members: Vec<Vec<u8>>) -> Vec<Reply> {
    members.into_iter().map(Reply::Bulk).collect()
}

/// The source sets of a multi-key command, moved out of their entries for the time of
/// the computation (so several can be read at once without copying them) and put back
/// when this is dropped, on every path. The entries stay in the keyspace meanwhile.
struct Sources<'k> {
    ks: &'k mut Keyspace,
    db: usize,
    /// Each distinct existing key and its set.
    taken: Vec<(Bytes, Set)>,
    /// Per key argument: its index in `taken`, None for a missing key.
    slots: Vec<Option<usize>>,
}

impl<'k> Sources<'k> {
    /// Looks every key up as a read, as Redis does, failing with WRONGTYPE on any key
    /// that holds something else than a set.
    fn gather(ks: &'k mut Keyspace, db: usize, touch: bool, keys: &[Bytes]) -> CmdResult<Self> {
        let mut src = Sources {
            ks,
            db,
            taken: Vec::new(),
            slots: Vec::with_capacity(keys.len()),
        };
        let mut index: HashMap<&[u8], usize> = HashMap::new();
        for k in keys {
            let entry = src.ks.read(db, k, touch);
            if let Some(&i) = index.get(&k[..]) {
                src.slots.push(Some(i));
                continue;
            }
            match entry.map(|e| e.value_mut()) {
                None => src.slots.push(None),
                Some(Value::Set(s)) => {
                    let set = std::mem::take(s);
                    index.insert(k, src.taken.len());
                    src.slots.push(Some(src.taken.len()));
                    src.taken.push((k.clone(), *set));
                }
                Some(_) => return Err(CmdError::WrongType),
            }
        }
        Ok(src)
    }

    /// The set of each key argument, in order (None for a missing key).
    fn sets(&self) -> Vec<Option<&Set>> {
        self.slots
            .iter()
            .map(|s| s.map(|i| &self.taken[i].1))
            .collect()
    }
}

impl Drop for Sources<'_> {
    fn drop(&mut self) {
        for (k, set) in self.taken.drain(..) {
            if let Some(Value::Set(slot)) = self.ks.lookup(self.db, &k).map(|e| e.value_mut()) {
                **slot = set;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Set algebra over gathered sources.

/// Calls `emit` with each member of the intersection until it returns false. Walks the
/// smallest set and probes the others, smallest first.
fn intersect<'a>(sets: &[Option<&'a Set>], mut emit: impl FnMut(Member<'a>) -> bool) {
    let Some(mut present) = sets.iter().copied().collect::<Option<Vec<&Set>>>() else {
        return; // A missing key is an empty set.
    };
    present.sort_by_key(|s| s.len());
    let Some((first, others)) = present.split_first() else {
        return;
    };
    for m in first.iter() {
        if others.iter().all(|s| s.contains_member(m)) && !emit(m) {
            return;
        }
    }
}

fn union(sets: &[Option<&Set>], lim: SetLimits) -> Set {
    let mut out = Set::default();
    for s in sets.iter().flatten() {
        for m in s.iter() {
            out.add_member(m, lim);
        }
    }
    out
}

/// The members of the first set in none of the others, picking Redis's cheaper way:
/// probing the others for each member of the first, or copying the first and removing
/// the others' members.
fn difference(sets: &[Option<&Set>], lim: SetLimits) -> Set {
    let mut out = Set::default();
    let Some(Some(first)) = sets.first() else {
        return out;
    };
    let mut others: Vec<&Set> = sets[1..].iter().flatten().copied().collect();
    let probe_work = first.len().saturating_mul(sets.len()) / 2;
    let copy_work: usize = first.len() + others.iter().map(|s| s.len()).sum::<usize>();
    if probe_work <= copy_work {
        // Biggest first: a member is more likely to be found there.
        others.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for m in first.iter() {
            if !others.iter().any(|s| s.contains_member(m)) {
                out.add_member(m, lim);
            }
        }
    } else {
        for m in first.iter() {
            out.add_member(m, lim);
        }
        for s in others {
            for m in s.iter() {
                m.with_bytes(|b| out.remove(b));
            }
            if out.is_empty() {
                break;
            }
        }
    }
    out
}

/// Stores `result` at `dest` replacing any value and TTL (deleting `dest` when the
/// result is empty) and replies its cardinality.
fn store(ctx: &mut Ctx, dest: &[u8], result: Set) -> Reply {
    let n = result.len() as i64;
    if result.is_empty() {
        ctx.ks.remove(ctx.db, dest);
    } else {
        ctx.ks.set(ctx.db, dest, Value::Set(Box::new(result)), 0);
    }
    Reply::Int(n)
}

// ---------------------------------------------------------------------------------------
// Commands.

pub fn sadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let members = rest(args, 2);
    let first = arg(args, 2)?;
    let lim = SetLimits::from_config(&ctx.ks.config);
    let added = match set_of(ctx.lookup_write(key))? {
        Some(s) => members.iter().filter(|m| s.add(m, lim)).count(),
        None => {
            let mut s = Set::for_members(first, members.len(), lim);
            let n = members.iter().filter(|m| s.add(m, lim)).count();
            ctx.ks.set(ctx.db, key, Value::Set(Box::new(s)), 0);
            n
        }
    };
    Ok(Reply::Int(added as i64))
}

pub fn srem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let Some(s) = set_of(ctx.lookup_write(key))? else {
        return Ok(Reply::Int(0));
    };
    let mut removed = 0;
    for m in rest(args, 2) {
        if s.remove(m) {
            removed += 1;
            if s.is_empty() {
                break;
            }
        }
    }
    if s.is_empty() {
        ctx.ks.remove(ctx.db, key);
    }
    Ok(Reply::Int(removed))
}

pub fn scard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let s = read_set(ctx, arg(args, 1)?)?;
    Ok(Reply::Int(s.map_or(0, |s| s.len() as i64)))
}

pub fn sismember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, member) = (arg(args, 1)?, arg(args, 2)?);
    let s = read_set(ctx, key)?;
    Ok(Reply::Int(s.is_some_and(|s| s.contains(member)) as i64))
}

pub fn smismember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let s = read_set(ctx, arg(args, 1)?)?;
    Ok(Reply::Array(
        rest(args, 2)
            .iter()
            .map(|m| Reply::Int(s.as_ref().is_some_and(|s| s.contains(m)) as i64))
            .collect(),
    ))
}

pub fn smembers(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let s = read_set(ctx, arg(args, 1)?)?;
    Ok(Reply::Set(s.map_or_else(Vec::new, |s| {
        s.iter().map(member_reply).collect()
    })))
}

/// SPOP key [count]
pub fn spop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let mut rng = Rng::new(ctx.ks.rand());
    let count = match args.len() {
        0..=2 => None,
        3 => match parse_i64(&args[2]) {
            Ok(n) if n >= 0 => Some(n as u64),
            _ => {
                return Err(CmdError::other(
                    "ERR value is out of range, must be positive",
                ))
            }
        },
        _ => return Err(CmdError::Syntax),
    };
    let Some(s) = set_of(ctx.lookup_write(key))? else {
        return Ok(match count {
            None => Reply::Nil,
            Some(_) => Reply::Set(Vec::new()),
        });
    };
    let reply = match count {
        None => Reply::bulk_or_nil(s.pop_random(&mut rng)),
        Some(0) => Reply::Set(Vec::new()),
        Some(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            Reply::Set(bulks(s.pop_many(n, &mut rng)))
        }
    };
    if s.is_empty() {
        ctx.ks.remove(ctx.db, key);
    }
    Ok(reply)
}

/// SRANDMEMBER key [count]: a negative count may repeat members; a positive one gives
/// distinct members, the whole set when it is not smaller.
pub fn srandmember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let mut rng = Rng::new(ctx.ks.rand());
    let count = match args.len() {
        0..=2 => None,
        3 => Some(random_count(&args[2])?),
        _ => return Err(CmdError::Syntax),
    };
    let s = read_set(ctx, key)?;
    let Some(count) = count else {
        return Ok(Reply::bulk_or_nil(
            s.and_then(|s| s.random(&mut rng)).map(|m| m.to_vec()),
        ));
    };
    let Some(s) = s else {
        return Ok(Reply::Array(Vec::new()));
    };
    let picked = if count < 0 {
        let n = count.unsigned_abs();
        if n > MAX_RANDOM_REPLY {
            return Err(CmdError::other("ERR value is out of range"));
        }
        s.random_with_repeats(n as usize, &mut rng)
    } else {
        let n = usize::try_from(count).unwrap_or(usize::MAX);
        s.random_distinct(n, &mut rng)
    };
    Ok(Reply::Array(bulks(picked)))
}

/// SMOVE source destination member
pub fn smove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (src, dst, member) = (arg(args, 1)?, arg(args, 2)?, arg(args, 3)?);
    let is_set = |e: &mut Stored| matches!(e.value(), Value::Set(_));
    let src_is_set = ctx.lookup_write(src).map(is_set);
    let dst_is_set = ctx.lookup_write(dst).map(is_set);
    match src_is_set {
        None => return Ok(Reply::Int(0)),
        Some(false) => return Err(CmdError::WrongType),
        Some(true) => {}
    }
    if dst_is_set == Some(false) {
        return Err(CmdError::WrongType);
    }
    let lim = SetLimits::from_config(&ctx.ks.config);
    let Some(s) = set_of(ctx.ks.lookup(ctx.db, src))? else {
        return Ok(Reply::Int(0));
    };
    if src == dst {
        return Ok(Reply::Int(s.contains(member) as i64));
    }
    if !s.remove(member) {
        return Ok(Reply::Int(0));
    }
    if s.is_empty() {
        ctx.ks.remove(ctx.db, src);
    }
    match set_of(ctx.ks.lookup(ctx.db, dst))? {
        Some(d) => {
            d.add(member, lim);
        }
        None => {
            let mut d = Set::for_members(member, 1, lim);
            d.add(member, lim);
            ctx.ks.set(ctx.db, dst, Value::Set(Box::new(d)), 0);
        }
    }
    Ok(Reply::Int(1))
}

pub fn sinter(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let src = Sources::gather(ctx.ks, ctx.db, ctx.touch, rest(args, 1))?;
    let mut out = Vec::new();
    intersect(&src.sets(), |m| {
        out.push(member_reply(m));
        true
    });
    Ok(Reply::Set(out))
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
pub fn sintercard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let numkeys = match parse_i64(arg(args, 1)?) {
        Ok(n) if n >= 1 => n as u64,
        _ => return Err(CmdError::other("ERR numkeys should be greater than 0")),
    };
    let available = args.len().saturating_sub(2) as u64;
    if numkeys > available {
        return Err(CmdError::other(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let end = 2 + numkeys as usize;
    let mut limit = 0u64;
    let mut i = end;
    while i < args.len() {
        if crate::args::eq_ic(&args[i], "limit") && i + 1 < args.len() {
            limit = match parse_i64(&args[i + 1]) {
                Ok(n) if n >= 0 => n as u64,
                _ => return Err(CmdError::other("ERR LIMIT can't be negative")),
            };
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let src = Sources::gather(ctx.ks, ctx.db, ctx.touch, &args[2..end])?;
    let mut n = 0u64;
    intersect(&src.sets(), |_| {
        n += 1;
        limit == 0 || n < limit
    });
    Ok(Reply::Int(n as i64))
}

pub fn sinterstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let dest = arg(args, 1)?;
    let lim = SetLimits::from_config(&ctx.ks.config);
    let src = Sources::gather(ctx.ks, ctx.db, ctx.touch, rest(args, 2))?;
    let mut out = Set::default();
    intersect(&src.sets(), |m| {
        out.add_member(m, lim);
        true
    });
    drop(src);
    Ok(store(ctx, dest, out))
}

pub fn sunion(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let lim = SetLimits::from_config(&ctx.ks.config);
    let src = Sources::gather(ctx.ks, ctx.db, ctx.touch, rest(args, 1))?;
    let out = union(&src.sets(), lim);
    Ok(Reply::Set(out.iter().map(member_reply).collect()))
}

pub fn sunionstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let dest = arg(args, 1)?;
    let lim = SetLimits::from_config(&ctx.ks.config);
    let src = Sources::gather(ctx.ks, ctx.db, ctx.touch, rest(args, 2))?;
    let out = union(&src.sets(), lim);
    drop(src);
    Ok(store(ctx, dest, out))
}

pub fn sdiff(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let lim = SetLimits::from_config(&ctx.ks.config);
    let src = Sources::gather(ctx.ks, ctx.db, ctx.touch, rest(args, 1))?;
    let out = difference(&src.sets(), lim);
    Ok(Reply::Set(out.iter().map(member_reply).collect()))
}

pub fn sdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let dest = arg(args, 1)?;
    let lim = SetLimits::from_config(&ctx.ks.config);
    let src = Sources::gather(ctx.ks, ctx.db, ctx.touch, rest(args, 2))?;
    let out = difference(&src.sets(), lim);
    drop(src);
    Ok(store(ctx, dest, out))
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
pub fn sscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let cursor =
        parse_cursor(arg(args, 2)?).ok_or_else(|| CmdError::other("ERR invalid cursor"))?;
    let Some(s) = read_set(ctx, key)? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let opts = ScanOpts::parse(rest(args, 3))?;
    let mut items = Vec::new();
    let next = s.scan(cursor, opts.count, |m| {
        m.with_bytes(|b| {
            if opts.matches(b) {
                items.push(Reply::bulk(b));
            }
        })
    });
    Ok(scan_reply(next, items))
}

#[cfg(test)]
#[path = "tests/sets.rs"]
mod tests;
