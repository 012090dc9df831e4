//! Hash commands (HSET, HGETALL, HINCRBY ...), with redis-server 7.0's replies and errors.

use bytes::Bytes;

use super::keys::parse_cursor;
use super::Ctx;
use crate::args::{eq_ic, parse_i64, parse_i64_opt};
use crate::error::{CmdError, CmdResult};
use crate::glob::glob_match;
use crate::keyspace::Entry;
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

/// Looks `key` up for a write: refreshes the access time (unless NO-TOUCH) without
/// counting a keyspace hit or miss, as Redis's write lookups do.
pub(crate) fn lookup_write<'a>(ctx: &'a mut Ctx<'_>, key: &[u8]) -> Option<&'a mut Entry> {
    let now = (ctx.ks.now() / 1000) as u32;
    let touch = ctx.touch;
    let e = ctx.ks.lookup(ctx.db, key)?;
    if touch {
        e.access = now;
    }
    Some(e)
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

fn hash_of(entry: Option<&mut Entry>) -> CmdResult<Option<&mut Hash>> {
    match entry.map(|e| &mut e.value) {
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
    match hash_of(lookup_write(ctx, key))? {
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
    let Some(h) = hash_of(lookup_write(ctx, key))? else {
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
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::clock::{Clock, Millis};
    use crate::cmd::Handler;
    use crate::keyspace::Keyspace;
    use crate::value::Str;

    const T0: Millis = 1_700_000_000_000;

    struct Env {
        ks: Keyspace,
    }

    impl Env {
        fn new() -> Env {
            let (clock, _now) = Clock::manual(T0);
            Env {
                ks: Keyspace::new(16, clock),
            }
        }

        fn call(&mut self, h: Handler, args: &[&str]) -> Reply {
            crate::cmd::call_for_test(&mut self.ks, h, args)
        }

        fn hash(&mut self, key: &str) -> Option<Hash> {
            match &self.ks.lookup(0, key.as_bytes())?.value {
                Value::Hash(h) => Some(h.clone()),
                other => panic!("not a hash: {other:?}"),
            }
        }

        fn encoding(&mut self, key: &str) -> &'static str {
            let config = self.ks.config.clone();
            self.ks
                .lookup(0, key.as_bytes())
                .unwrap()
                .value
                .encoding(&config)
        }

        fn set_string(&mut self, key: &str) {
            self.ks
                .set(0, key.as_bytes(), Value::Str(Str::from_bytes(b"x")), 0);
        }
    }

    fn bulk(s: &str) -> Reply {
        Reply::bulk(s)
    }

    fn bulks(items: &[&str]) -> Reply {
        Reply::Array(items.iter().map(|s| bulk(s)).collect())
    }

    fn other(msg: &str) -> Reply {
        Reply::Error(CmdError::other(msg))
    }

    fn strings(r: &Reply) -> Vec<String> {
        match r {
            Reply::Array(items) => items
                .iter()
                .map(|i| match i {
                    Reply::Bulk(b) => String::from_utf8(b.clone()).unwrap(),
                    other => panic!("not a bulk: {other:?}"),
                })
                .collect(),
            other => panic!("not an array: {other:?}"),
        }
    }

    fn pair_strings(r: &Reply) -> Vec<(String, String)> {
        let Reply::Pairs(items) = r else {
            panic!("not pairs: {r:?}")
        };
        items
            .iter()
            .map(|(f, v)| match (f, v) {
                (Reply::Bulk(f), Reply::Bulk(v)) => (
                    String::from_utf8(f.clone()).unwrap(),
                    String::from_utf8(v.clone()).unwrap(),
                ),
                _ => panic!("not bulk pairs: {r:?}"),
            })
            .collect()
    }

    fn fill(env: &mut Env, key: &str, n: usize) {
        for i in 0..n {
            let (f, v) = (format!("f{i}"), format!("v{i}"));
            env.call(hset, &["hset", key, &f, &v]);
        }
    }

    // ---- HSET / HMSET / HSETNX ----

    #[test]
    fn hset_replies_the_number_of_new_fields() {
        let mut env = Env::new();
        assert_eq!(
            env.call(hset, &["hset", "h", "a", "1", "b", "2"]),
            Reply::Int(2)
        );
        assert_eq!(
            env.call(hset, &["HSET", "h", "a", "3", "c", "4"]),
            Reply::Int(1)
        );
        assert_eq!(env.call(hget, &["hget", "h", "a"]), bulk("3"));
    }

    #[test]
    fn hmset_replies_ok() {
        let mut env = Env::new();
        assert_eq!(env.call(hset, &["HMset", "h", "a", "1"]), Reply::Ok);
        assert_eq!(
            env.call(hset, &["hmset", "h", "a", "2", "b", "3"]),
            Reply::Ok
        );
        assert_eq!(env.call(hlen, &["hlen", "h"]), Reply::Int(2));
    }

    #[test]
    fn hset_with_a_dangling_field_is_an_arity_error() {
        let mut env = Env::new();
        assert_eq!(
            env.call(hset, &["HSET", "h", "a", "1", "b"]),
            Reply::Error(CmdError::WrongArity("hset".into()))
        );
        assert_eq!(
            env.call(hset, &["HMSET", "h", "a"]),
            Reply::Error(CmdError::WrongArity("hmset".into()))
        );
        assert_eq!(
            env.call(hset, &["hset"]),
            Reply::Error(CmdError::WrongArity("hset".into()))
        );
        assert!(env.hash("h").is_none());
    }

    #[test]
    fn hsetnx_sets_only_new_fields() {
        let mut env = Env::new();
        assert_eq!(env.call(hsetnx, &["hsetnx", "h", "a", "1"]), Reply::Int(1));
        assert_eq!(env.call(hsetnx, &["hsetnx", "h", "a", "2"]), Reply::Int(0));
        assert_eq!(env.call(hget, &["hget", "h", "a"]), bulk("1"));
    }

    // ---- Reads ----

    #[test]
    fn reads_of_a_missing_key_reply_empty_values() {
        let mut env = Env::new();
        assert_eq!(env.call(hget, &["hget", "h", "a"]), Reply::Nil);
        assert_eq!(
            env.call(hmget, &["hmget", "h", "a", "b"]),
            Reply::Array(vec![Reply::Nil, Reply::Nil])
        );
        assert_eq!(env.call(hlen, &["hlen", "h"]), Reply::Int(0));
        assert_eq!(env.call(hstrlen, &["hstrlen", "h", "a"]), Reply::Int(0));
        assert_eq!(env.call(hexists, &["hexists", "h", "a"]), Reply::Int(0));
        assert_eq!(env.call(hkeys, &["hkeys", "h"]), Reply::Array(vec![]));
        assert_eq!(env.call(hvals, &["hvals", "h"]), Reply::Array(vec![]));
        assert_eq!(env.call(hgetall, &["hgetall", "h"]), Reply::Map(vec![]));
        assert_eq!(env.call(hdel, &["hdel", "h", "a"]), Reply::Int(0));
    }

    #[test]
    fn reads_of_present_fields() {
        let mut env = Env::new();
        env.call(hset, &["hset", "h", "b", "hello", "a", "1"]);
        assert_eq!(
            env.call(hmget, &["hmget", "h", "a", "zz", "b"]),
            Reply::Array(vec![bulk("1"), Reply::Nil, bulk("hello")])
        );
        assert_eq!(env.call(hstrlen, &["hstrlen", "h", "b"]), Reply::Int(5));
        assert_eq!(env.call(hstrlen, &["hstrlen", "h", "zz"]), Reply::Int(0));
        assert_eq!(env.call(hexists, &["hexists", "h", "a"]), Reply::Int(1));
        assert_eq!(env.call(hexists, &["hexists", "h", "zz"]), Reply::Int(0));
    }

    #[test]
    fn listpack_replies_follow_insertion_order() {
        let mut env = Env::new();
        env.call(hset, &["hset", "h", "b", "1", "a", "2", "c", "3"]);
        env.call(hset, &["hset", "h", "a", "20"]);
        assert_eq!(env.call(hkeys, &["hkeys", "h"]), bulks(&["b", "a", "c"]));
        assert_eq!(env.call(hvals, &["hvals", "h"]), bulks(&["1", "20", "3"]));
        assert_eq!(
            env.call(hgetall, &["hgetall", "h"]),
            Reply::Map(vec![
                (bulk("b"), bulk("1")),
                (bulk("a"), bulk("20")),
                (bulk("c"), bulk("3")),
            ])
        );
    }

    // ---- HDEL ----

    #[test]
    fn hdel_counts_removed_fields_and_deletes_the_emptied_key() {
        let mut env = Env::new();
        env.call(hset, &["hset", "h", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(
            env.call(hdel, &["hdel", "h", "a", "zz", "a"]),
            Reply::Int(1)
        );
        assert_eq!(env.call(hdel, &["hdel", "h", "b", "c", "d"]), Reply::Int(2));
        assert!(!env.ks.exists(0, b"h"));
    }

    // ---- Types and TTL ----

    #[test]
    fn every_command_rejects_a_non_hash_key() {
        let mut env = Env::new();
        env.set_string("s");
        let wrong = Reply::Error(CmdError::WrongType);
        let cases: &[(Handler, &[&str])] = &[
            (hset, &["hset", "s", "a", "1"]),
            (hset, &["hmset", "s", "a", "1"]),
            (hsetnx, &["hsetnx", "s", "a", "1"]),
            (hget, &["hget", "s", "a"]),
            (hmget, &["hmget", "s", "a"]),
            (hdel, &["hdel", "s", "a"]),
            (hlen, &["hlen", "s"]),
            (hstrlen, &["hstrlen", "s", "a"]),
            (hexists, &["hexists", "s", "a"]),
            (hkeys, &["hkeys", "s"]),
            (hvals, &["hvals", "s"]),
            (hgetall, &["hgetall", "s"]),
            (hincrby, &["hincrby", "s", "a", "1"]),
            (hincrbyfloat, &["hincrbyfloat", "s", "a", "1"]),
            (hrandfield, &["hrandfield", "s"]),
            (hrandfield, &["hrandfield", "s", "2", "withvalues"]),
            (hscan, &["hscan", "s", "0"]),
            (hscan, &["hscan", "s", "0", "count", "0"]),
        ];
        for (h, args) in cases {
            assert_eq!(env.call(*h, args), wrong, "{args:?}");
        }
    }

    #[test]
    fn writes_keep_the_ttl() {
        let mut env = Env::new();
        env.call(hset, &["hset", "h", "a", "1", "b", "2"]);
        assert!(env.ks.set_expire(0, b"h", T0 + 10_000));
        env.call(hset, &["hset", "h", "c", "3"]);
        env.call(hsetnx, &["hsetnx", "h", "d", "3"]);
        env.call(hdel, &["hdel", "h", "a"]);
        env.call(hincrby, &["hincrby", "h", "b", "1"]);
        env.call(hincrbyfloat, &["hincrbyfloat", "h", "b", "1.5"]);
        assert_eq!(env.ks.lookup(0, b"h").unwrap().expire_at, T0 + 10_000);
        assert_eq!(env.call(hget, &["hget", "h", "b"]), bulk("4.5"));
    }

    // ---- HINCRBY / HINCRBYFLOAT ----

    #[test]
    fn hincrby_adds_to_integers_and_creates_fields() {
        let mut env = Env::new();
        assert_eq!(
            env.call(hincrby, &["hincrby", "h", "n", "5"]),
            Reply::Int(5)
        );
        assert_eq!(
            env.call(hincrby, &["hincrby", "h", "n", "-7"]),
            Reply::Int(-2)
        );
        assert_eq!(env.call(hget, &["hget", "h", "n"]), bulk("-2"));
    }

    #[test]
    fn hincrby_errors_match_redis() {
        let mut env = Env::new();
        env.call(
            hset,
            &[
                "hset",
                "h",
                "f",
                "1.5",
                "sp",
                " 1",
                "big",
                "99999999999999999999",
            ],
        );
        assert_eq!(
            env.call(hincrby, &["hincrby", "h", "n", "x"]),
            Reply::Error(CmdError::NotInteger)
        );
        assert_eq!(
            env.call(hincrby, &["hincrby", "nokey", "n", "1.0"]),
            Reply::Error(CmdError::NotInteger)
        );
        for f in ["f", "sp", "big"] {
            assert_eq!(
                env.call(hincrby, &["hincrby", "h", f, "1"]),
                other("ERR hash value is not an integer")
            );
        }
        assert_eq!(
            env.call(hincrby, &["hincrby", "h", "m", "9223372036854775807"]),
            Reply::Int(i64::MAX)
        );
        assert_eq!(
            env.call(hincrby, &["hincrby", "h", "m", "1"]),
            Reply::Error(CmdError::Overflow)
        );
        assert_eq!(
            env.call(hincrby, &["hincrby", "h", "l", "-9223372036854775808"]),
            Reply::Int(i64::MIN)
        );
        assert_eq!(
            env.call(hincrby, &["hincrby", "h", "l", "-1"]),
            Reply::Error(CmdError::Overflow)
        );
        assert!(!env.ks.exists(0, b"nokey"));
    }

    #[test]
    fn hincrbyfloat_prints_like_redis_long_double() {
        let mut env = Env::new();
        assert_eq!(
            env.call(hincrbyfloat, &["hincrbyfloat", "h", "f", "10.5"]),
            bulk("10.5")
        );
        assert_eq!(
            env.call(hincrbyfloat, &["hincrbyfloat", "h", "f", "0.1"]),
            bulk("10.6")
        );
        assert_eq!(
            env.call(hincrbyfloat, &["hincrbyfloat", "h", "g", "5.0e3"]),
            bulk("5000")
        );
        assert_eq!(
            env.call(hincrbyfloat, &["hincrbyfloat", "h", "g", "2.0e2"]),
            bulk("5200")
        );
        env.call(hset, &["hset", "h", "i", "3"]);
        assert_eq!(
            env.call(hincrbyfloat, &["hincrbyfloat", "h", "i", "-3"]),
            bulk("0")
        );
        assert_eq!(env.call(hget, &["hget", "h", "g"]), bulk("5200"));
    }

    #[test]
    fn hincrbyfloat_errors_match_redis() {
        let mut env = Env::new();
        env.call(
            hset,
            &["hset", "h", "s", "abc", "e", "", "sp", " 1", "f", "1"],
        );
        assert_eq!(
            env.call(hincrbyfloat, &["hincrbyfloat", "h", "f", "x"]),
            Reply::Error(CmdError::NotFloat)
        );
        assert_eq!(
            env.call(hincrbyfloat, &["hincrbyfloat", "h", "f", "nan"]),
            Reply::Error(CmdError::NotFloat)
        );
        assert_eq!(
            env.call(hincrbyfloat, &["hincrbyfloat", "h", "f", "1e5000"]),
            Reply::Error(CmdError::NotFloat)
        );
        assert_eq!(
            env.call(hincrbyfloat, &["hincrbyfloat", "h", "f", "inf"]),
            other("ERR value is NaN or Infinity")
        );
        assert_eq!(
            env.call(hincrbyfloat, &["hincrbyfloat", "nokey", "f", "-inf"]),
            other("ERR value is NaN or Infinity")
        );
        for f in ["s", "e", "sp"] {
            assert_eq!(
                env.call(hincrbyfloat, &["hincrbyfloat", "h", f, "1"]),
                other("ERR hash value is not a float")
            );
        }
        env.call(hset, &["hset", "h", "huge", "1e4932"]);
        assert_eq!(
            env.call(hincrbyfloat, &["hincrbyfloat", "h", "huge", "1e4932"]),
            Reply::Error(CmdError::NanOrInfinity)
        );
        assert_eq!(env.call(hget, &["hget", "h", "f"]), bulk("1"));
        assert!(!env.ks.exists(0, b"nokey"));
    }

    // ---- HRANDFIELD ----

    #[test]
    fn hrandfield_without_count_replies_one_field_or_nil() {
        let mut env = Env::new();
        assert_eq!(env.call(hrandfield, &["hrandfield", "h"]), Reply::Nil);
        env.call(hset, &["hset", "h", "a", "1", "b", "2"]);
        for _ in 0..20 {
            let r = env.call(hrandfield, &["hrandfield", "h"]);
            assert!(r == bulk("a") || r == bulk("b"), "{r:?}");
        }
    }

    #[test]
    fn hrandfield_positive_count_gives_distinct_fields() {
        for n in [5, 200] {
            let mut env = Env::new();
            fill(&mut env, "h", n);
            for count in [1, 2, n / 2, n - 1] {
                let got = strings(&env.call(hrandfield, &["hrandfield", "h", &count.to_string()]));
                let uniq: BTreeSet<_> = got.iter().collect();
                assert_eq!((got.len(), uniq.len()), (count, count));
                assert!(got.iter().all(|f| f.starts_with('f')));
            }
            let all = strings(&env.call(hrandfield, &["hrandfield", "h", &(n + 5).to_string()]));
            assert_eq!(all.len(), n);
            assert_eq!(
                env.call(hrandfield, &["hrandfield", "h", "0"]),
                Reply::Array(vec![])
            );
        }
    }

    #[test]
    fn hrandfield_whole_listpack_comes_in_insertion_order() {
        let mut env = Env::new();
        env.call(hset, &["hset", "h", "b", "1", "a", "2"]);
        assert_eq!(
            env.call(hrandfield, &["hrandfield", "h", "2", "WITHVALUES"]),
            Reply::Pairs(vec![(bulk("b"), bulk("1")), (bulk("a"), bulk("2"))])
        );
    }

    #[test]
    fn hrandfield_negative_count_may_repeat() {
        for n in [3, 300] {
            let mut env = Env::new();
            fill(&mut env, "h", n);
            let got =
                pair_strings(&env.call(hrandfield, &["hrandfield", "h", "-1000", "withvalues"]));
            assert_eq!(got.len(), 1000);
            for (f, v) in &got {
                assert_eq!(&f[1..], &v[1..]);
            }
            let uniq: BTreeSet<_> = got.iter().collect();
            assert!(uniq.len() < 1000);
        }
    }

    #[test]
    fn hrandfield_missing_key_with_count_is_an_empty_array() {
        let mut env = Env::new();
        assert_eq!(
            env.call(hrandfield, &["hrandfield", "h", "3"]),
            Reply::Array(vec![])
        );
        assert_eq!(
            env.call(hrandfield, &["hrandfield", "h", "-3", "withvalues"]),
            Reply::Array(vec![])
        );
    }

    #[test]
    fn hrandfield_argument_errors_match_redis() {
        let mut env = Env::new();
        env.call(hset, &["hset", "h", "a", "1"]);
        env.set_string("s");
        let range = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
        assert_eq!(
            env.call(hrandfield, &["hrandfield", "h", "-9223372036854775808"]),
            other(range)
        );
        assert_eq!(
            env.call(
                hrandfield,
                &["hrandfield", "h", "-9223372036854775808", "withvalue"]
            ),
            other(range)
        );
        assert_eq!(
            env.call(hrandfield, &["hrandfield", "h", "x"]),
            Reply::Error(CmdError::NotInteger)
        );
        assert_eq!(
            env.call(hrandfield, &["hrandfield", "s", "x"]),
            Reply::Error(CmdError::NotInteger)
        );
        assert_eq!(
            env.call(hrandfield, &["hrandfield", "h", "1", "withvalue"]),
            Reply::Error(CmdError::Syntax)
        );
        assert_eq!(
            env.call(hrandfield, &["hrandfield", "s", "1", "withvalues", "x"]),
            Reply::Error(CmdError::Syntax)
        );
        assert_eq!(
            env.call(
                hrandfield,
                &["hrandfield", "h", "-4611686018427387904", "withvalue"]
            ),
            Reply::Error(CmdError::Syntax)
        );
        for key in ["h", "nokey", "s"] {
            assert_eq!(
                env.call(
                    hrandfield,
                    &["hrandfield", key, "-4611686018427387904", "withvalues"]
                ),
                other("ERR value is out of range")
            );
        }
        // Past what we build as one reply.
        assert_eq!(
            env.call(hrandfield, &["hrandfield", "h", "-9223372036854775807"]),
            other("ERR value is out of range")
        );
        assert_eq!(
            env.call(hrandfield, &["hrandfield", "h", "9223372036854775807"]),
            bulks(&["a"])
        );
    }

    // ---- HSCAN ----

    #[test]
    fn hscan_returns_a_listpack_whole_with_cursor_zero() {
        let mut env = Env::new();
        env.call(hset, &["hset", "h", "a", "1", "b", "2", "ab", "3"]);
        assert_eq!(
            env.call(hscan, &["hscan", "h", "0"]),
            Reply::Array(vec![bulk("0"), bulks(&["a", "1", "b", "2", "ab", "3"])])
        );
        assert_eq!(
            env.call(hscan, &["hscan", "h", "123", "MATCH", "a*", "COUNT", "1"]),
            Reply::Array(vec![bulk("0"), bulks(&["a", "1", "ab", "3"])])
        );
    }

    #[test]
    fn hscan_cursor_loop_covers_a_hashtable_once() {
        let mut env = Env::new();
        fill(&mut env, "h", 1000);
        assert_eq!(env.encoding("h"), "hashtable");
        let mut seen = BTreeMap::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        loop {
            let r = env.call(hscan, &["hscan", "h", &cursor, "count", "20"]);
            let Reply::Array(parts) = r else { panic!() };
            let Reply::Bulk(c) = &parts[0] else { panic!() };
            let items = strings(&parts[1]);
            for p in items.chunks(2) {
                assert!(
                    seen.insert(p[0].clone(), p[1].clone()).is_none(),
                    "twice: {}",
                    p[0]
                );
            }
            cursor = String::from_utf8(c.clone()).unwrap();
            calls += 1;
            if cursor == "0" {
                break;
            }
        }
        assert!(calls > 10);
        assert_eq!(seen.len(), 1000);
        assert!(seen.iter().all(|(f, v)| f[1..] == v[1..]));
    }

    #[test]
    fn hscan_match_filters_fields_of_a_hashtable() {
        let mut env = Env::new();
        fill(&mut env, "h", 300);
        let mut found = Vec::new();
        let mut cursor = "0".to_string();
        loop {
            let r = env.call(hscan, &["hscan", "h", &cursor, "match", "f1?"]);
            let Reply::Array(parts) = r else { panic!() };
            let Reply::Bulk(c) = &parts[0] else { panic!() };
            found.extend(strings(&parts[1]));
            cursor = String::from_utf8(c.clone()).unwrap();
            if cursor == "0" {
                break;
            }
        }
        let fields: BTreeSet<_> = found.chunks(2).map(|p| p[0].clone()).collect();
        let want: BTreeSet<_> = (10..20).map(|i| format!("f{i}")).collect();
        assert_eq!(fields, want);
    }

    #[test]
    fn hscan_argument_errors_match_redis() {
        let mut env = Env::new();
        env.call(hset, &["hset", "h", "a", "1"]);
        let empty = Reply::Array(vec![bulk("0"), Reply::Array(vec![])]);
        assert_eq!(
            env.call(hscan, &["hscan", "h", "x"]),
            other("ERR invalid cursor")
        );
        assert_eq!(
            env.call(hscan, &["hscan", "nokey", "x"]),
            other("ERR invalid cursor")
        );
        assert_eq!(
            env.call(hscan, &["hscan", "nokey", "0", "count", "0"]),
            empty
        );
        assert_eq!(
            env.call(hscan, &["hscan", "h", "0", "count", "0"]),
            Reply::Error(CmdError::Syntax)
        );
        assert_eq!(
            env.call(hscan, &["hscan", "h", "0", "count", "x"]),
            Reply::Error(CmdError::NotInteger)
        );
        assert_eq!(
            env.call(hscan, &["hscan", "h", "0", "match"]),
            Reply::Error(CmdError::Syntax)
        );
        assert_eq!(
            env.call(hscan, &["hscan", "h", "0", "type", "hash"]),
            Reply::Error(CmdError::Syntax)
        );
        assert_eq!(
            env.call(hscan, &["hscan", "h", "0", "novalues"]),
            Reply::Error(CmdError::Syntax)
        );
    }

    // ---- Encodings ----

    #[test]
    fn hash_converts_past_the_entry_limit() {
        let mut env = Env::new();
        fill(&mut env, "h", 128);
        assert_eq!(env.encoding("h"), "listpack");
        fill(&mut env, "h", 129);
        assert_eq!(env.encoding("h"), "hashtable");
        env.call(hdel, &["hdel", "h", "f0", "f1", "f2"]);
        assert_eq!(env.encoding("h"), "hashtable");
    }

    #[test]
    fn hash_converts_on_a_long_field_or_value() {
        let mut env = Env::new();
        let v64 = "v".repeat(64);
        env.call(hset, &["hset", "h", "a", &v64]);
        assert_eq!(env.encoding("h"), "listpack");
        env.call(hset, &["hset", "h", "a", &"v".repeat(65)]);
        assert_eq!(env.encoding("h"), "hashtable");
        env.call(hset, &["hset", "g", &"f".repeat(65), "1"]);
        assert_eq!(env.encoding("g"), "hashtable");
        env.call(hsetnx, &["hsetnx", "n", &"f".repeat(65), "1"]);
        assert_eq!(env.encoding("n"), "hashtable");
    }

    #[test]
    fn increments_that_grow_a_value_convert() {
        let mut env = Env::new();
        env.ks.config.hash_max_listpack_value = 3;
        env.call(hincrby, &["hincrby", "h", "n", "999"]);
        assert_eq!(env.encoding("h"), "listpack");
        env.call(hincrby, &["hincrby", "h", "n", "1"]);
        assert_eq!(env.encoding("h"), "hashtable");
        env.call(hincrbyfloat, &["hincrbyfloat", "g", "n", "1.5"]);
        assert_eq!(env.encoding("g"), "listpack");
        env.call(hincrbyfloat, &["hincrbyfloat", "g", "n", "0.25"]);
        assert_eq!(env.encoding("g"), "hashtable");
        assert_eq!(env.call(hget, &["hget", "g", "n"]), bulk("1.75"));
    }

    #[test]
    fn config_thresholds_apply_to_later_writes() {
        let mut env = Env::new();
        fill(&mut env, "h", 10);
        env.ks.config.hash_max_listpack_entries = 4;
        // Existing hashes keep their encoding until written.
        assert_eq!(env.encoding("h"), "listpack");
        env.call(hset, &["hset", "h", "f0", "changed"]);
        assert_eq!(env.encoding("h"), "hashtable");
        fill(&mut env, "g", 4);
        assert_eq!(env.encoding("g"), "listpack");
        fill(&mut env, "g", 5);
        assert_eq!(env.encoding("g"), "hashtable");
        env.ks.config.hash_max_listpack_entries = 0;
        env.call(hset, &["hset", "z", "a", "1"]);
        assert_eq!(env.encoding("z"), "hashtable");
        assert_eq!(env.call(hget, &["hget", "h", "f0"]), bulk("changed"));
    }

    // ---- Model ----

    /// A seeded sequence of hash commands on a few keys, each reply checked against a
    /// BTreeMap model, under the default thresholds and tiny ones.
    #[test]
    fn hash_commands_match_a_btreemap_model() {
        for (entries, value) in [(128, 64), (3, 4)] {
            let mut env = Env::new();
            env.ks.config.hash_max_listpack_entries = entries;
            env.ks.config.hash_max_listpack_value = value;
            let mut model: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
            let mut rng = Rng::new(42 + entries as u64);
            for step in 0..4000 {
                let key = format!("k{}", rng.below(3));
                let f = format!("f{}", rng.below(12));
                let v = if rng.below(2) == 0 {
                    rng.below(1000).to_string()
                } else {
                    "x".repeat(rng.below(7))
                };
                let m = model.entry(key.clone()).or_default();
                let (reply, want) = match rng.below(10) {
                    0 | 1 => {
                        let f2 = format!("f{}", rng.below(12));
                        let r = env.call(hset, &["hset", &key, &f, &v, &f2, &v]);
                        let mut added = m.insert(f.clone(), v.clone()).is_none() as i64;
                        added += m.insert(f2, v.clone()).is_none() as i64;
                        (r, Reply::Int(added))
                    }
                    2 => {
                        let r = env.call(hsetnx, &["hsetnx", &key, &f, &v]);
                        let new = !m.contains_key(&f);
                        if new {
                            m.insert(f.clone(), v.clone());
                        }
                        (r, Reply::Int(new as i64))
                    }
                    3 => {
                        let r = env.call(hdel, &["hdel", &key, &f]);
                        (r, Reply::Int(m.remove(&f).is_some() as i64))
                    }
                    4 => (
                        env.call(hget, &["hget", &key, &f]),
                        Reply::bulk_or_nil(m.get(&f)),
                    ),
                    5 => (env.call(hlen, &["hlen", &key]), Reply::Int(m.len() as i64)),
                    6 => (
                        env.call(hexists, &["hexists", &key, &f]),
                        Reply::Int(m.contains_key(&f) as i64),
                    ),
                    7 => {
                        let r = env.call(hincrby, &["hincrby", &key, &f, "3"]);
                        let want = match m.get(&f).map(|v| v.parse::<i64>()) {
                            None => Reply::Int(3),
                            Some(Ok(n)) if parse_i64_opt(m[&f].as_bytes()).is_some() => {
                                Reply::Int(n + 3)
                            }
                            Some(_) => other("ERR hash value is not an integer"),
                        };
                        if let Reply::Int(n) = want {
                            m.insert(f.clone(), n.to_string());
                        }
                        (r, want)
                    }
                    8 => (
                        env.call(hstrlen, &["hstrlen", &key, &f]),
                        Reply::Int(m.get(&f).map_or(0, |v| v.len() as i64)),
                    ),
                    _ => {
                        let r = env.call(hmget, &["hmget", &key, &f, "f0"]);
                        let want = Reply::Array(vec![
                            Reply::bulk_or_nil(m.get(&f)),
                            Reply::bulk_or_nil(m.get("f0")),
                        ]);
                        (r, want)
                    }
                };
                assert_eq!(reply, want, "step {step}");
                if m.is_empty() {
                    model.remove(&key);
                }
                assert_eq!(env.ks.exists(0, key.as_bytes()), model.contains_key(&key));
            }
            for (key, m) in &model {
                let Reply::Map(pairs) = env.call(hgetall, &["hgetall", key]) else {
                    panic!("HGETALL is a map");
                };
                let text = |r: Reply| match r {
                    Reply::Bulk(b) => String::from_utf8(b).unwrap(),
                    other => panic!("not a bulk: {other:?}"),
                };
                let got: BTreeMap<String, String> =
                    pairs.into_iter().map(|(f, v)| (text(f), text(v))).collect();
                assert_eq!(&got, m);
            }
        }
    }
}
