//! Keyspace commands (DEL, EXPIRE, RENAME, SCAN ...), with redis-server 7's replies,
//! error texts and edge cases.
//!
//! Split and broadcast commands (DEL, EXISTS, KEYS, FLUSHALL ...) only see this shard's
//! keys; the server merges the replies, so argument errors must not depend on the data.

use std::thread::JoinHandle;

use bytes::Bytes;

use super::{arg, Ctx};
use crate::args::{eq_ic, parse_i64, ArgCursor};
use crate::clock::Millis;
use crate::dict::Dict;
use crate::error::{CmdError, CmdResult};
use crate::evict::{access, Meter};
use crate::glob::glob_match;
use crate::keyspace::{Entry, Stored};
use crate::reply::Reply;
use crate::value::{Str, Value};

// ---------------------------------------------------------------------------------------
// Shared helpers.

/// The arguments from position `from` on (empty when there are fewer).
fn rest(args: &[Bytes], from: usize) -> &[Bytes] {
    args.get(from..).unwrap_or(&[])
}

/// Client bytes as C's `%s` sees them: up to the first NUL byte.
fn c_str(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}

/// Client bytes as they appear in a Redis error line: CR/LF would break the protocol, so
/// Redis turns them into spaces.
fn error_text(b: &[u8]) -> String {
    String::from_utf8_lossy(c_str(b)).replace(['\r', '\n'], " ")
}

/// Deadlines are compared with client-given signed values, as Redis does.
fn signed(ms: Millis) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// A DB index argument of COPY/MOVE: it must fit a C int (else "not an integer"), then be
/// in range.
fn parse_db_index(b: &[u8], db_count: usize) -> CmdResult<usize> {
    let v = parse_i64(b)?;
    i32::try_from(v).map_err(|_| CmdError::NotInteger)?;
    usize::try_from(v)
        .ok()
        .filter(|&db| db < db_count)
        .ok_or(CmdError::DbIndexOutOfRange)
}

// ---------------------------------------------------------------------------------------
// DEL / UNLINK / EXISTS / TOUCH / TYPE.

/// DEL and UNLINK: string values are cheap to free, so UNLINK needs no background work.
pub fn del(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db;
    let removed = rest(args, 1)
        .iter()
        .filter(|k| ctx.ks.remove(db, k).is_some())
        .count();
    Ok(Reply::Int(removed as i64))
}

/// Counts every occurrence, so `EXISTS a a` is 2. A read without touching the key.
pub fn exists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db;
    let found = rest(args, 1)
        .iter()
        .filter(|k| ctx.ks.read(db, k, false).is_some())
        .count();
    Ok(Reply::Int(found as i64))
}

/// TOUCH refreshes access times even under CLIENT NO-TOUCH: that is its whole purpose.
pub fn touch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db;
    let found = rest(args, 1)
        .iter()
        .filter(|k| ctx.ks.read(db, k, true).is_some())
        .count();
    Ok(Reply::Int(found as i64))
}

pub fn type_(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let name = ctx
        .ks
        .read(ctx.db, key, false)
        .map_or("none", |e| e.value().type_name());
    Ok(Reply::status(name))
}

// ---------------------------------------------------------------------------------------
// EXPIRE family.

/// How an EXPIRE-family command reads its time argument.
#[derive(Clone, Copy)]
struct ExpireKind {
    /// For "invalid expire time in '<name>' command".
    name: &'static str,
    millis: bool,
    /// Relative to now (EXPIRE, PEXPIRE) rather than a Unix time (the *AT forms).
    relative: bool,
}

pub fn expire(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let kind = ExpireKind {
        name: "expire",
        millis: false,
        relative: true,
    };
    set_timeout(ctx, args, kind)
}

pub fn pexpire(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let kind = ExpireKind {
        name: "pexpire",
        millis: true,
        relative: true,
    };
    set_timeout(ctx, args, kind)
}

pub fn expireat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let kind = ExpireKind {
        name: "expireat",
        millis: false,
        relative: false,
    };
    set_timeout(ctx, args, kind)
}

pub fn pexpireat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let kind = ExpireKind {
        name: "pexpireat",
        millis: true,
        relative: false,
    };
    set_timeout(ctx, args, kind)
}

/// The NX / XX / GT / LT conditions of the EXPIRE family.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct ExpireCond {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl ExpireCond {
    fn parse(opts: &[Bytes]) -> CmdResult<Self> {
        let mut c = ExpireCond::default();
        for opt in opts {
            if eq_ic(opt, "nx") {
                c.nx = true;
            } else if eq_ic(opt, "xx") {
                c.xx = true;
            } else if eq_ic(opt, "gt") {
                c.gt = true;
            } else if eq_ic(opt, "lt") {
                c.lt = true;
            } else {
                return Err(unsupported_option(opt));
            }
        }
        if c.nx && (c.xx || c.gt || c.lt) {
            return Err(CmdError::other(
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if c.gt && c.lt {
            return Err(CmdError::other(
                "ERR GT and LT options at the same time are not compatible",
            ));
        }
        Ok(c)
    }

    /// Whether the deadline `when` may replace `current` (None: no TTL, which GT and LT
    /// treat as an infinite one).
    fn allows(self, current: Option<i64>, when: i64) -> bool {
        match current {
            None => !(self.xx || self.gt),
            Some(cur) => !(self.nx || (self.gt && when <= cur) || (self.lt && when >= cur)),
        }
    }
}

fn unsupported_option(opt: &[u8]) -> CmdError {
    // Redis trims line breaks off the end of a formatted error before blanking the rest.
    let shown = c_str(opt);
    let end = shown
        .iter()
        .rposition(|c| !matches!(c, b'\r' | b'\n'))
        .map_or(0, |i| i + 1);
    CmdError::Other(format!(
        "ERR Unsupported option {}",
        error_text(&shown[..end])
    ))
}

/// The absolute deadline in ms. Negative results are fine (already expired); only an
/// overflow of the unit conversion or of adding the base time is refused, as in Redis.
fn deadline(raw: i64, kind: ExpireKind, now: Millis) -> CmdResult<i64> {
    let ms = if kind.millis {
        Some(raw)
    } else {
        raw.checked_mul(1000)
    };
    let base = if kind.relative { signed(now) } else { 0 };
    ms.and_then(|ms| ms.checked_add(base))
        .ok_or_else(|| CmdError::InvalidExpire(kind.name.into()))
}

fn set_timeout(ctx: &mut Ctx, args: &[Bytes], kind: ExpireKind) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let time = arg(args, 2)?;
    // Redis reports option errors before a bad time argument.
    let cond = ExpireCond::parse(rest(args, 3))?;
    let when = deadline(parse_i64(time)?, kind, ctx.ks.now())?;
    let Some(entry) = ctx.lookup_write(key) else {
        return Ok(Reply::Int(0));
    };
    let current = (entry.expire_at() != 0).then(|| signed(entry.expire_at()));
    if !cond.allows(current, when) {
        return Ok(Reply::Int(0));
    }
    // A deadline not in the future deletes the key; that still counts as "set".
    ctx.ks
        .set_expire(ctx.db, key, u64::try_from(when).unwrap_or(0));
    Ok(Reply::Int(1))
}

pub fn ttl(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    time_to_live(ctx, args, false, false)
}

pub fn pttl(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    time_to_live(ctx, args, true, false)
}

pub fn expiretime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    time_to_live(ctx, args, false, true)
}

pub fn pexpiretime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    time_to_live(ctx, args, true, true)
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 missing, -1 no TTL. Second resolutions round to
/// the nearest second, the absolute ones included, as Redis does.
fn time_to_live(ctx: &mut Ctx, args: &[Bytes], millis: bool, absolute: bool) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let now = ctx.ks.now();
    let Some(entry) = ctx.ks.read(ctx.db, key, false) else {
        return Ok(Reply::Int(-2));
    };
    if entry.expire_at() == 0 {
        return Ok(Reply::Int(-1));
    }
    let ms = if absolute {
        entry.expire_at()
    } else {
        entry.expire_at().saturating_sub(now)
    };
    let ms = signed(ms);
    Ok(Reply::Int(if millis {
        ms
    } else {
        ms.saturating_add(500) / 1000
    }))
}

pub fn persist(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    if ctx.lookup_write(key).is_none() {
        return Ok(Reply::Int(0));
    }
    Ok(Reply::Int(ctx.ks.persist(ctx.db, key) as i64))
}

// ---------------------------------------------------------------------------------------
// RENAME / RENAMENX / COPY / MOVE.

pub fn rename(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    rename_key(ctx, args, false)
}

pub fn renamenx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    rename_key(ctx, args, true)
}

/// Moves the entry itself, so the TTL and access time travel with it.
fn rename_key(ctx: &mut Ctx, args: &[Bytes], nx: bool) -> CmdResult<Reply> {
    let (src, dst) = (arg(args, 1)?, arg(args, 2)?);
    let done = if nx { Reply::Int(1) } else { Reply::Ok };
    if ctx.lookup_write(src).is_none() {
        return Err(CmdError::NoSuchKey);
    }
    if src == dst {
        return Ok(if nx { Reply::Int(0) } else { done });
    }
    // Looked up even when overwriting, so an expired destination is reclaimed (and
    // counted) as in Redis.
    let dst_exists = ctx.ks.lookup(ctx.db, dst).is_some();
    if nx && dst_exists {
        return Ok(Reply::Int(0));
    }
    let entry = ctx.ks.remove(ctx.db, src).ok_or(CmdError::NoSuchKey)?;
    ctx.ks.put_entry(ctx.db, dst, entry);
    Ok(done)
}

/// COPY's options: the target db and whether to overwrite.
struct CopyTarget {
    db: usize,
    replace: bool,
}

impl CopyTarget {
    fn parse(opts: &[Bytes], db: usize, db_count: usize) -> CmdResult<Self> {
        let mut target = CopyTarget { db, replace: false };
        let mut cur = ArgCursor::new(opts);
        while let Some(opt) = cur.next_arg() {
            if eq_ic(opt, "replace") {
                target.replace = true;
            } else if eq_ic(opt, "db") && cur.remaining() > 0 {
                target.db = parse_db_index(cur.required()?, db_count)?;
            } else {
                return Err(CmdError::Syntax);
            }
        }
        Ok(target)
    }
}

pub fn copy(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (src, dst) = (arg(args, 1)?, arg(args, 2)?);
    let target = CopyTarget::parse(rest(args, 3), ctx.db, ctx.ks.db_count())?;
    if target.db == ctx.db && src == dst {
        return Err(CmdError::SameObject);
    }
    let Some(original) = ctx.ks.read(ctx.db, src, ctx.touch) else {
        return Ok(Reply::Int(0));
    };
    // The copy is a new object: same value and deadline, but just created (an access
    // word of 0 is made fresh when stored).
    let duplicate = Entry {
        value: original.value().clone(),
        expire_at: original.expire_at(),
        access: 0,
    };
    if ctx.ks.lookup(target.db, dst).is_some() && !target.replace {
        return Ok(Reply::Int(0));
    }
    ctx.ks.put_entry(target.db, dst, duplicate);
    Ok(Reply::Int(1))
}

/// COPY's target db and REPLACE flag, for the server's COPY across shards.
pub fn parse_copy_options(args: &[Bytes], db: usize, db_count: usize) -> CmdResult<(usize, bool)> {
    let target = CopyTarget::parse(rest(args, 3), db, db_count)?;
    Ok((target.db, target.replace))
}

/// Moves the entry itself, so the TTL and access time travel with it.
pub fn move_(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let target = parse_db_index(arg(args, 2)?, ctx.ks.db_count())?;
    if target == ctx.db {
        return Err(CmdError::SameObject);
    }
    if ctx.lookup_write(key).is_none() || ctx.ks.lookup(target, key).is_some() {
        return Ok(Reply::Int(0));
    }
    let entry = ctx.ks.remove(ctx.db, key).ok_or(CmdError::NoSuchKey)?;
    ctx.ks.put_entry(target, key, entry);
    // `move_from` comes from the reply (`notify::events`); `move_to` is another db's.
    ctx.ks.raise(target, crate::notify::GENERIC, "move_to", key);
    Ok(Reply::Int(1))
}

// ---------------------------------------------------------------------------------------
// KEYS / SCAN / RANDOMKEY / DBSIZE.

pub fn keys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let pattern = arg(args, 1)?;
    let all = pattern == b"*";
    let mut found = Vec::new();
    ctx.ks.for_each_key(ctx.db, |k, _| {
        if all || glob_match(pattern, k) {
            found.push(Reply::bulk(k));
        }
    });
    Ok(Reply::Array(found))
}

/// SCAN's MATCH / TYPE / COUNT options.
struct ScanFilter<'a> {
    count: usize,
    /// None when absent or `*`, which matches everything.
    pattern: Option<&'a [u8]>,
    type_name: Option<&'a [u8]>,
}

impl<'a> ScanFilter<'a> {
    fn parse(opts: &'a [Bytes]) -> CmdResult<Self> {
        let mut f = ScanFilter {
            count: 10,
            pattern: None,
            type_name: None,
        };
        let mut cur = ArgCursor::new(opts);
        while let Some(opt) = cur.next_arg() {
            // An option without its value is a syntax error, like an unknown option.
            let valued = cur.remaining() > 0;
            if eq_ic(opt, "count") && valued {
                let n = parse_i64(cur.required()?)?;
                if n < 1 {
                    return Err(CmdError::Syntax);
                }
                f.count = usize::try_from(n).unwrap_or(usize::MAX);
            } else if eq_ic(opt, "match") && valued {
                let p = cur.required()?;
                f.pattern = (p != b"*").then_some(p);
            } else if eq_ic(opt, "type") && valued {
                f.type_name = Some(cur.required()?);
            } else {
                return Err(CmdError::Syntax);
            }
        }
        Ok(f)
    }

    /// Redis compares type names case-insensitively; an unknown name matches nothing.
    fn accepts(&self, key: &[u8], entry: &Stored) -> bool {
        self.pattern.is_none_or(|p| glob_match(p, key))
            && self
                .type_name
                .is_none_or(|t| eq_ic(t, entry.value().type_name()))
    }
}

/// Parses a cursor the way Redis does, with C's `strtoul`: an optional sign (a minus
/// wraps around), leading zeros allowed, an empty string is 0; leading whitespace,
/// trailing bytes and overflow are invalid.
pub fn parse_cursor(b: &[u8]) -> Option<u64> {
    let (negative, digits) = match b.first() {
        None => return Some(0),
        Some(c) if c.is_ascii_whitespace() || *c == 0x0b => return None,
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        Some(_) => (false, b),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

/// One shard's SCAN step: `["scan", cursor, options...]`, answered with the next
/// shard-local cursor and the keys of this step. The server runs the cursor over shards.
pub fn scan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let cursor =
        parse_cursor(arg(args, 1)?).ok_or_else(|| CmdError::other("ERR invalid cursor"))?;
    let filter = ScanFilter::parse(rest(args, 2))?;
    let mut found = Vec::new();
    let next = ctx.ks.scan(ctx.db, cursor, filter.count, |k, e| {
        if filter.accepts(k, e) {
            found.push(Reply::bulk(k));
        }
    });
    Ok(Reply::Array(vec![
        Reply::bulk(next.to_string()),
        Reply::Array(found),
    ]))
}

/// This shard's candidate; the server picks among shards.
pub fn randomkey(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::bulk_or_nil(ctx.ks.random_key(ctx.db)))
}

/// Like Redis, counts expired keys not reclaimed yet.
pub fn dbsize(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.ks.len(ctx.db) as i64))
}

// ---------------------------------------------------------------------------------------
// FLUSHDB / FLUSHALL / SWAPDB.

/// What `Keyspace::flush_db` hands back for one db.
type DbContent = Dict<Value, u32>;

/// Below this many keys, freeing inline costs less than starting a thread.
const LAZY_FREE_MIN_KEYS: usize = 64;

/// `[ASYNC|SYNC]`: true for ASYNC. Without an option Redis follows lazyfree-lazy-user-flush,
/// which defaults to no.
fn flush_is_async(args: &[Bytes]) -> CmdResult<bool> {
    match rest(args, 1) {
        [] => Ok(false),
        [mode] if eq_ic(mode, "async") => Ok(true),
        [mode] if eq_ic(mode, "sync") => Ok(false),
        _ => Err(CmdError::Syntax),
    }
}

/// Frees flushed content: inline for SYNC, else on a short-lived thread so the shard
/// keeps serving while a large keyspace is torn down (the shard's meter is credited
/// with what that thread frees). Returns that thread, for tests.
fn dispose(content: Vec<DbContent>, lazy: bool, meter: &Meter) -> Option<JoinHandle<()>> {
    let keys: usize = content.iter().map(Dict::len).sum();
    if !lazy || keys < LAZY_FREE_MIN_KEYS {
        drop(content);
        return None;
    }
    // If the thread cannot start, the closure (and the content) is dropped right here:
    // slower, but still correct.
    std::thread::Builder::new()
        .name("lazyfree".into())
        .spawn({
            let meter = meter.clone();
            move || meter.free_elsewhere(|| drop(content))
        })
        .ok()
}

pub fn flushdb(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let lazy = flush_is_async(args)?;
    let meter = ctx.ks.budget.meter.clone();
    dispose(vec![ctx.ks.flush_db(ctx.db)], lazy, &meter);
    Ok(Reply::Ok)
}

pub fn flushall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let lazy = flush_is_async(args)?;
    let content = (0..ctx.ks.db_count())
        .map(|db| ctx.ks.flush_db(db))
        .collect();
    let meter = ctx.ks.budget.meter.clone();
    dispose(content, lazy, &meter);
    Ok(Reply::Ok)
}

/// A SWAPDB index: anything that is not a C int gets the command's own message.
fn parse_swap_index(b: &[u8], msg: &str) -> CmdResult<i64> {
    parse_i64(b)
        .ok()
        .filter(|v| i32::try_from(*v).is_ok())
        .ok_or_else(|| CmdError::other(msg))
}

pub fn swapdb(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let a = parse_swap_index(arg(args, 1)?, "ERR invalid first DB index")?;
    let b = parse_swap_index(arg(args, 2)?, "ERR invalid second DB index")?;
    let count = ctx.ks.db_count();
    let in_range = |v: i64| usize::try_from(v).ok().filter(|&d| d < count);
    let (Some(a), Some(b)) = (in_range(a), in_range(b)) else {
        return Err(CmdError::DbIndexOutOfRange);
    };
    ctx.ks.swap_db(a, b);
    Ok(Reply::Ok)
}

// ---------------------------------------------------------------------------------------
// OBJECT.

#[derive(Debug, Clone, Copy, PartialEq)]
enum ObjectSub {
    Encoding,
    Freq,
    IdleTime,
    RefCount,
    Help,
}

impl ObjectSub {
    const ALL: [(ObjectSub, &'static str); 5] = [
        (ObjectSub::Encoding, "encoding"),
        (ObjectSub::Freq, "freq"),
        (ObjectSub::IdleTime, "idletime"),
        (ObjectSub::RefCount, "refcount"),
        (ObjectSub::Help, "help"),
    ];

    fn find(name: &[u8]) -> Option<(ObjectSub, &'static str)> {
        Self::ALL.into_iter().find(|(_, n)| eq_ic(name, n))
    }

    /// Argument count including `OBJECT` itself.
    fn arity(self) -> usize {
        if self == ObjectSub::Help {
            2
        } else {
            3
        }
    }
}

/// Redis shares one object for the integers 0..10000 and reports it with this count.
const SHARED_INTEGERS: std::ops::Range<i64> = 0..10_000;
const SHARED_REFCOUNT: i64 = i32::MAX as i64;

const LFU_NOT_SELECTED: &str = "ERR An LFU maxmemory policy is not selected, access frequency \
     not tracked. Please note that when switching between policies at runtime LRU and LFU \
     data will take some time to adjust.";

const LFU_SELECTED: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. \
     Please note that when switching between policies at runtime LRU and LFU data will take \
     some time to adjust.";

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    The internal representation of the value at <key>, such as int, embstr or raw.",
    "FREQ <key>",
    "    The logarithmic access-frequency counter of <key>; needs an LFU maxmemory policy.",
    "IDLETIME <key>",
    "    Seconds since <key> was last read or written.",
    "REFCOUNT <key>",
    "    How many references the value at <key> has.",
    "HELP",
    "    Show this list of subcommands.",
];

pub fn object(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let given = arg(args, 1)?;
    let (sub, name) = ObjectSub::find(given).ok_or_else(|| unknown_object_sub(given))?;
    if args.len() != sub.arity() {
        return Err(CmdError::WrongArity(format!("object|{name}")));
    }
    if sub == ObjectSub::Help {
        let lines = OBJECT_HELP.iter().map(|l| Reply::status(*l)).collect();
        return Ok(Reply::Array(lines));
    }
    let now = ctx.ks.now();
    let config = ctx.ks.config.clone();
    let lfu = ctx.ks.lfu_if_selected();
    // Introspection must not make the key look recently used.
    let Some(entry) = ctx.ks.read(ctx.db, arg(args, 2)?, false) else {
        return Ok(Reply::Nil);
    };
    Ok(match (sub, lfu) {
        (ObjectSub::Encoding, _) => Reply::bulk(entry.value().encoding(&config)),
        (ObjectSub::RefCount, _) => Reply::Int(refcount(entry.value())),
        (ObjectSub::IdleTime, None) => Reply::Int(access::idle_secs(entry.access(), now) as i64),
        (ObjectSub::IdleTime, Some(_)) => return Err(CmdError::other(LFU_SELECTED)),
        (ObjectSub::Freq, Some(p)) => {
            Reply::Int(i64::from(access::lfu_counter(entry.access(), now, p)))
        }
        (ObjectSub::Freq, None) => return Err(CmdError::other(LFU_NOT_SELECTED)),
        (ObjectSub::Help, _) => unreachable!("answered above"),
    })
}

fn unknown_object_sub(given: &[u8]) -> CmdError {
    // Redis prints at most 128 bytes of the unknown name.
    let shown = &given[..given.len().min(128)];
    CmdError::UnknownSubcommand {
        sub: error_text(shown),
        cmd: "object".into(),
    }
}

fn refcount(value: &Value) -> i64 {
    if matches!(value, Value::Str(Str::Int(i)) if SHARED_INTEGERS.contains(i)) {
        SHARED_REFCOUNT
    } else {
        1
    }
}

#[cfg(test)]
#[path = "tests/keys.rs"]
mod tests;
