//! String commands (GET, SET and friends), with redis-server 7's replies and errors.

use bytes::Bytes;

use super::{arg, Ctx};
use crate::args::{eq_ic, parse_i64, ArgCursor};
use crate::clock::Millis;
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Stored;
use crate::longdouble;
use crate::reply::Reply;
use crate::value::{Str, Value, EMBSTR_MAX};

/// Redis's default `proto-max-bulk-len`: the largest string a command may build.
const PROTO_MAX_BULK_LEN: u64 = 512 * 1024 * 1024;

pub fn get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(read_bytes(ctx, arg(args, 1)?)?.map_or(Reply::Nil, Reply::Bulk))
}

/// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]
pub fn set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, value) = (arg(args, 1)?, arg(args, 2)?);
    let opts = parse_ext(args, 3, ExtCmd::Set)?;
    let ttl = match opts.ttl {
        Some(TtlOpt::Expire(e)) => NewTtl::At(deadline(e, ctx.ks.now(), "set")?),
        Some(TtlOpt::Keep) => NewTtl::Keep,
        // PERSIST is never parsed for SET.
        Some(TtlOpt::Persist) | None => NewTtl::Clear,
    };
    let outcome = set_generic(ctx, key, value, opts.cond, opts.get, ttl)?;
    Ok(if opts.get {
        Reply::bulk_or_nil(outcome.old)
    } else if outcome.stored {
        Reply::Ok
    } else {
        Reply::Nil
    })
}

pub fn setnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, value) = (arg(args, 1)?, arg(args, 2)?);
    let outcome = set_generic(ctx, key, value, Cond::Nx, false, NewTtl::Clear)?;
    Ok(Reply::Int(outcome.stored as i64))
}

pub fn setex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    set_with_ttl(ctx, args, ExpireKind::Ex, "setex")
}

pub fn psetex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    set_with_ttl(ctx, args, ExpireKind::Px, "psetex")
}

pub fn getset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, value) = (arg(args, 1)?, arg(args, 2)?);
    let old = read_bytes(ctx, key)?;
    ctx.ks
        .set(ctx.db, key, Value::Str(Str::from_bytes(value)), 0);
    Ok(Reply::bulk_or_nil(old))
}

pub fn getdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let old = read_bytes(ctx, key)?;
    if old.is_some() {
        ctx.ks.remove(ctx.db, key);
    }
    Ok(Reply::bulk_or_nil(old))
}

/// GETEX key [EX s | PX ms | EXAT s | PXAT ms | PERSIST]
pub fn getex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let opts = parse_ext(args, 2, ExtCmd::Getex)?;
    // A missing key answers nil before the expire value is even validated.
    let Some(value) = read_bytes(ctx, key)? else {
        return Ok(Reply::Nil);
    };
    match opts.ttl {
        Some(TtlOpt::Persist) => {
            ctx.ks.persist(ctx.db, key);
        }
        Some(TtlOpt::Expire(e)) => {
            let at = deadline(e, ctx.ks.now(), "getex")?;
            // A deadline already passed (EXAT/PXAT) deletes the key.
            ctx.ks.set_expire(ctx.db, key, at);
        }
        // KEEPTTL is never parsed for GETEX.
        Some(TtlOpt::Keep) | None => {}
    }
    Ok(Reply::Bulk(value))
}

pub fn mget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let values = args.iter().skip(1).map(|key| match read_bytes(ctx, key) {
        Ok(Some(v)) => Reply::Bulk(v),
        // Non-string values read as nil rather than failing the whole MGET.
        Ok(None) | Err(_) => Reply::Nil,
    });
    Ok(Reply::Array(values.collect()))
}

pub fn mset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    for (key, value) in pairs(args, "mset")? {
        ctx.ks
            .set(ctx.db, key, Value::Str(Str::from_bytes(value)), 0);
    }
    Ok(Reply::Ok)
}

pub fn msetnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let pairs = pairs(args, "msetnx")?;
    if pairs.iter().any(|(key, _)| ctx.ks.exists(ctx.db, key)) {
        return Ok(Reply::Int(0));
    }
    for (key, value) in pairs {
        ctx.ks
            .set(ctx.db, key, Value::Str(Str::from_bytes(value)), 0);
    }
    Ok(Reply::Int(1))
}

pub fn incr(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    incr_by(ctx, arg(args, 1)?, 1)
}

pub fn decr(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    incr_by(ctx, arg(args, 1)?, -1)
}

pub fn incrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let delta = parse_i64(arg(args, 2)?)?;
    incr_by(ctx, key, delta)
}

pub fn decrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let delta = parse_i64(arg(args, 2)?)?;
    // Negating i64::MIN is impossible; Redis 7 has a dedicated message for it.
    let negated = delta
        .checked_neg()
        .ok_or_else(|| CmdError::other("ERR decrement would overflow"))?;
    incr_by(ctx, key, negated)
}

pub fn incrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, incr) = (arg(args, 1)?, arg(args, 2)?);
    let db = ctx.db;
    let slot = write_str(ctx, key)?;
    let current = slot.as_ref().map_or_else(|| b"0".to_vec(), |s| s.to_vec());
    let text = longdouble::add(&current, incr)?;
    // Redis stores the formatted text as a plain string, never int-encoded.
    let stored = plain_str(&text);
    match slot {
        Some(s) => *s = stored,
        None => ctx.ks.set(db, key, Value::Str(stored), 0),
    }
    Ok(Reply::Bulk(text))
}

pub fn append(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, tail) = (arg(args, 1)?, arg(args, 2)?);
    let db = ctx.db;
    if let Some(s) = write_str(ctx, key)? {
        check_len(s.len() as u64, tail.len())?;
        let buf = s.make_raw();
        buf.extend_from_slice(tail);
        return Ok(Reply::Int(buf.len() as i64));
    }
    ctx.ks.set(db, key, Value::Str(Str::from_bytes(tail)), 0);
    Ok(Reply::Int(tail.len() as i64))
}

pub fn strlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let len = read_str(ctx, arg(args, 1)?)?.map_or(0, |s| s.len());
    Ok(Reply::Int(len as i64))
}

/// GETRANGE and SUBSTR.
pub fn getrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let start = parse_i64(arg(args, 2)?)?;
    let end = parse_i64(arg(args, 3)?)?;
    let Some(s) = read_str(ctx, key)? else {
        return Ok(Reply::bulk(""));
    };
    Ok(s.with_bytes(|b| Reply::bulk(substring(b, start, end))))
}

pub fn setrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, value) = (arg(args, 1)?, arg(args, 3)?);
    let offset = parse_i64(arg(args, 2)?)?;
    let offset = usize::try_from(offset).map_err(|_| CmdError::OffsetOutOfRange)?;
    let db = ctx.db;
    match write_str(ctx, key)? {
        Some(s) if value.is_empty() => Ok(Reply::Int(s.len() as i64)),
        Some(s) => {
            check_len(offset as u64, value.len())?;
            Ok(Reply::Int(overwrite(s.make_raw(), offset, value) as i64))
        }
        // Writing nothing to a missing key must not create it.
        None if value.is_empty() => Ok(Reply::Int(0)),
        None => {
            check_len(offset as u64, value.len())?;
            // Sized exactly up front so the zero padding is never copied.
            let mut buf = vec![0; offset + value.len()];
            let len = overwrite(&mut buf, offset, value);
            ctx.ks.set(db, key, Value::Str(Str::raw(buf)), 0);
            Ok(Reply::Int(len as i64))
        }
    }
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]
pub fn lcs(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    // Both keys are read before the type check, as Redis does.
    let a = read_bytes(ctx, arg(args, 1)?);
    let b = read_bytes(ctx, arg(args, 2)?);
    match (a, b) {
        (Ok(a), Ok(b)) => lcs_of(&a.unwrap_or_default(), &b.unwrap_or_default(), args),
        _ => Err(CmdError::other(
            "ERR The specified keys must contain string values",
        )),
    }
}

/// The LCS reply for two string values (missing keys as empty strings), given the full
/// LCS arguments, errors as error replies. Used directly by the server when the keys live
/// on different shards.
pub fn lcs_reply(a: &[u8], b: &[u8], args: &[Bytes]) -> Reply {
    lcs_of(a, b, args).into()
}

/// The LCS of two string values (missing keys as empty strings), given the full LCS
/// arguments.
fn lcs_of(a: &[u8], b: &[u8], args: &[Bytes]) -> CmdResult<Reply> {
    let opts = LcsOpts::parse(args)?;
    check_lcs_size(a.len(), b.len())?;
    let table = LcsTable::build(a, b);
    if opts.len {
        return Ok(Reply::Int(table.total() as i64));
    }
    let walk = table.walk(a, b);
    if !opts.idx {
        return Ok(Reply::Bulk(walk.common));
    }
    let matches = walk
        .runs
        .iter()
        .filter(|r| r.len() >= opts.min_len)
        .map(|r| r.reply(opts.with_len))
        .collect();
    Ok(Reply::Map(vec![
        (Reply::bulk("matches"), Reply::Array(matches)),
        (Reply::bulk("len"), Reply::Int(table.total() as i64)),
    ]))
}

// ---- Shared helpers ----

/// The key/value pairs of MSET and MSETNX.
fn pairs<'a>(args: &'a [Bytes], name: &str) -> CmdResult<Vec<(&'a [u8], &'a [u8])>> {
    let rest = args.get(1..).unwrap_or_default();
    if rest.is_empty() || rest.len() % 2 != 0 {
        return Err(CmdError::WrongArity(name.into()));
    }
    Ok(rest
        .chunks_exact(2)
        .map(|p| (&p[0][..], &p[1][..]))
        .collect())
}

/// The string in an entry; WRONGTYPE for any other kind of value.
fn string_of(entry: Option<&mut Stored>) -> CmdResult<Option<&mut Str>> {
    #[allow(unreachable_patterns)]
    match entry.map(|e| e.value_mut()) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// A string looked up as a read: counts keyspace hits/misses and refreshes access time.
fn read_str<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<Option<&'c mut Str>> {
    string_of(ctx.ks.read(ctx.db, key, ctx.touch))
}

/// A string looked up for modification.
fn write_str<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<Option<&'c mut Str>> {
    string_of(ctx.ks.lookup(ctx.db, key))
}

fn read_bytes(ctx: &mut Ctx, key: &[u8]) -> CmdResult<Option<Vec<u8>>> {
    Ok(read_str(ctx, key)?.map(|s| s.to_vec()))
}

/// A string stored as written, without trying the integer encoding.
fn plain_str(b: &[u8]) -> Str {
    if b.len() <= EMBSTR_MAX {
        Str::Emb(b.into())
    } else {
        Str::raw(b.to_vec())
    }
}

fn check_len(base: u64, extra: usize) -> CmdResult<()> {
    match base.checked_add(extra as u64) {
        Some(total) if total <= PROTO_MAX_BULK_LEN => Ok(()),
        _ => Err(CmdError::StringTooLong),
    }
}

/// Writes `value` at `offset`, zero-padding as needed; returns the new length.
fn overwrite(buf: &mut Vec<u8>, offset: usize, value: &[u8]) -> usize {
    let end = offset + value.len();
    if buf.len() < end {
        buf.resize(end, 0);
    }
    buf[offset..end].copy_from_slice(value);
    buf.len()
}

fn incr_by(ctx: &mut Ctx, key: &[u8], delta: i64) -> CmdResult<Reply> {
    let db = ctx.db;
    if let Some(s) = write_str(ctx, key)? {
        let current = s.as_i64().ok_or(CmdError::NotInteger)?;
        let next = current.checked_add(delta).ok_or(CmdError::Overflow)?;
        // Replacing the value in place keeps the key's TTL.
        *s = Str::Int(next);
        return Ok(Reply::Int(next));
    }
    ctx.ks.set(db, key, Value::Str(Str::Int(delta)), 0);
    Ok(Reply::Int(delta))
}

/// Redis 7 GETRANGE: negative indexes count from the end and are then clamped to 0,
/// so an end far before the start still yields the first byte (changed in Redis 8).
fn substring(b: &[u8], start: i64, end: i64) -> &[u8] {
    let len = b.len() as i64;
    if (start < 0 && end < 0 && start > end) || len == 0 {
        return &[];
    }
    let from_end = |i: i64| if i < 0 { (len + i).max(0) } else { i };
    let start = from_end(start);
    let end = from_end(end).min(len - 1);
    if start > end {
        return &[];
    }
    &b[start as usize..=end as usize]
}

// ---- SET family ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum ExtCmd {
    Set,
    Getex,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cond {
    Always,
    Nx,
    Xx,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ExpireKind {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// An expire option with its number unparsed: Redis reports a syntax error anywhere in
/// the options before complaining about a bad number.
#[derive(Clone, Copy)]
struct Expire<'a> {
    kind: ExpireKind,
    raw: &'a [u8],
}

#[derive(Clone, Copy)]
enum TtlOpt<'a> {
    Keep,
    Persist,
    Expire(Expire<'a>),
}

impl TtlOpt<'_> {
    /// Repeating an option is allowed (the last number wins); mixing kinds is not.
    fn same_kind(&self, other: &TtlOpt) -> bool {
        match (self, other) {
            (TtlOpt::Keep, TtlOpt::Keep) | (TtlOpt::Persist, TtlOpt::Persist) => true,
            (TtlOpt::Expire(a), TtlOpt::Expire(b)) => a.kind == b.kind,
            _ => false,
        }
    }
}

struct ExtOpts<'a> {
    cond: Cond,
    get: bool,
    ttl: Option<TtlOpt<'a>>,
}

/// What a write does to the key's TTL.
enum NewTtl {
    Clear,
    Keep,
    At(Millis),
}

struct SetOutcome {
    stored: bool,
    /// The previous string, when GET was asked for.
    old: Option<Vec<u8>>,
}

/// Parses SET / GETEX options from `args[from..]`.
fn parse_ext(args: &[Bytes], from: usize, cmd: ExtCmd) -> CmdResult<ExtOpts<'_>> {
    let mut opts = ExtOpts {
        cond: Cond::Always,
        get: false,
        ttl: None,
    };
    let mut cur = ArgCursor::new(args.get(from..).unwrap_or_default());
    while let Some(opt) = cur.next_arg() {
        let is_set = cmd == ExtCmd::Set;
        if is_set && eq_ic(opt, "NX") && opts.cond != Cond::Xx {
            opts.cond = Cond::Nx;
        } else if is_set && eq_ic(opt, "XX") && opts.cond != Cond::Nx {
            opts.cond = Cond::Xx;
        } else if is_set && eq_ic(opt, "GET") {
            opts.get = true;
        } else if let Some(ttl) = ttl_option(opt, &mut cur, cmd) {
            if opts.ttl.is_some_and(|prev| !prev.same_kind(&ttl)) {
                return Err(CmdError::Syntax);
            }
            opts.ttl = Some(ttl);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(opts)
}

/// Recognises one TTL option, taking its number from the cursor. None when `opt` is not
/// a TTL option valid for `cmd`, or its number is missing.
fn ttl_option<'a>(opt: &[u8], cur: &mut ArgCursor<'a, Bytes>, cmd: ExtCmd) -> Option<TtlOpt<'a>> {
    if eq_ic(opt, "KEEPTTL") {
        return (cmd == ExtCmd::Set).then_some(TtlOpt::Keep);
    }
    if eq_ic(opt, "PERSIST") {
        return (cmd == ExtCmd::Getex).then_some(TtlOpt::Persist);
    }
    let kind = match opt.to_ascii_uppercase().as_slice() {
        b"EX" => ExpireKind::Ex,
        b"PX" => ExpireKind::Px,
        b"EXAT" => ExpireKind::ExAt,
        b"PXAT" => ExpireKind::PxAt,
        _ => return None,
    };
    let raw = cur.next_arg()?;
    Some(TtlOpt::Expire(Expire { kind, raw }))
}

/// The absolute deadline in ms of an EX/PX/EXAT/PXAT option; `cmd` names the command in
/// the invalid-expire error.
fn deadline(expire: Expire, now: Millis, cmd: &str) -> CmdResult<Millis> {
    let (unit, relative) = match expire.kind {
        ExpireKind::Ex => (1000, true),
        ExpireKind::Px => (1, true),
        ExpireKind::ExAt => (1000, false),
        ExpireKind::PxAt => (1, false),
    };
    let invalid = || CmdError::InvalidExpire(cmd.into());
    let n = parse_i64(expire.raw)?;
    if n <= 0 {
        return Err(invalid());
    }
    let mut ms = n.checked_mul(unit).ok_or_else(invalid)?;
    if relative {
        ms = ms.checked_add(now as i64).ok_or_else(invalid)?;
    }
    Ok(ms as Millis)
}

/// SETEX / PSETEX: key, TTL number, value.
fn set_with_ttl(ctx: &mut Ctx, args: &[Bytes], kind: ExpireKind, cmd: &str) -> CmdResult<Reply> {
    let (key, raw, value) = (arg(args, 1)?, arg(args, 2)?, arg(args, 3)?);
    let at = deadline(Expire { kind, raw }, ctx.ks.now(), cmd)?;
    set_generic(ctx, key, value, Cond::Always, false, NewTtl::At(at))?;
    Ok(Reply::Ok)
}

/// The common core of SET, SETNX, SETEX and PSETEX. With `get`, a non-string old value
/// fails the command before anything is written.
fn set_generic(
    ctx: &mut Ctx,
    key: &[u8],
    value: &[u8],
    cond: Cond,
    get: bool,
    ttl: NewTtl,
) -> CmdResult<SetOutcome> {
    let old = if get { read_bytes(ctx, key)? } else { None };
    if cond != Cond::Always {
        let exists = ctx.ks.exists(ctx.db, key);
        if (cond == Cond::Nx && exists) || (cond == Cond::Xx && !exists) {
            return Ok(SetOutcome { stored: false, old });
        }
    }
    let value = Value::Str(Str::from_bytes(value));
    match ttl {
        NewTtl::Clear => ctx.ks.set(ctx.db, key, value, 0),
        NewTtl::Keep => ctx.ks.set_keep_ttl(ctx.db, key, value),
        // Storing an already expired value amounts to deleting the key.
        NewTtl::At(at) if at <= ctx.ks.expiry_now() => {
            ctx.ks.remove(ctx.db, key);
        }
        NewTtl::At(at) => ctx.ks.set(ctx.db, key, value, at),
    }
    Ok(SetOutcome { stored: true, old })
}

// ---- LCS ----

#[derive(Default)]
struct LcsOpts {
    idx: bool,
    len: bool,
    with_len: bool,
    min_len: usize,
}

impl LcsOpts {
    fn parse(args: &[Bytes]) -> CmdResult<LcsOpts> {
        let mut opts = LcsOpts::default();
        let mut cur = ArgCursor::new(args.get(3..).unwrap_or_default());
        while let Some(opt) = cur.next_arg() {
            if eq_ic(opt, "IDX") {
                opts.idx = true;
            } else if eq_ic(opt, "LEN") {
                opts.len = true;
            } else if eq_ic(opt, "WITHMATCHLEN") {
                opts.with_len = true;
            } else if eq_ic(opt, "MINMATCHLEN") && cur.remaining() > 0 {
                // Negative minimums mean no minimum.
                opts.min_len = usize::try_from(cur.next_i64()?).unwrap_or(0);
            } else {
                return Err(CmdError::Syntax);
            }
        }
        if opts.idx && opts.len {
            return Err(CmdError::other(
                "ERR If you want both the length and indexes, please just use IDX.",
            ));
        }
        Ok(opts)
    }
}

/// Refuses inputs whose DP table would exceed proto-max-bulk-len, as Redis does, before
/// allocating anything.
fn check_lcs_size(a: usize, b: usize) -> CmdResult<()> {
    let limit = u32::MAX as usize - 1;
    if a >= limit || b >= limit {
        return Err(CmdError::other("ERR String too long for LCS"));
    }
    let bytes = (a as u128 + 1) * (b as u128 + 1) * std::mem::size_of::<u32>() as u128;
    if bytes > PROTO_MAX_BULK_LEN as u128 {
        return Err(CmdError::other(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    Ok(())
}

/// Prefix LCS lengths: cell (i, j) holds the LCS length of `a[..i]` and `b[..j]`.
struct LcsTable {
    cols: usize,
    cells: Vec<u32>,
}

/// A contiguous match, as inclusive index ranges in each string.
struct Run {
    a: (usize, usize),
    b: (usize, usize),
}

struct LcsWalk {
    common: Vec<u8>,
    /// Matches in the order found walking back from the ends of the strings.
    runs: Vec<Run>,
}

impl LcsTable {
    fn build(a: &[u8], b: &[u8]) -> LcsTable {
        let cols = b.len() + 1;
        let mut cells = vec![0u32; (a.len() + 1) * cols];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                cells[i * cols + j] = if a[i - 1] == b[j - 1] {
                    cells[(i - 1) * cols + j - 1] + 1
                } else {
                    cells[(i - 1) * cols + j].max(cells[i * cols + j - 1])
                };
            }
        }
        LcsTable { cols, cells }
    }

    fn at(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.cols + j]
    }

    fn total(&self) -> u32 {
        self.cells.last().copied().unwrap_or(0)
    }

    /// Backtracks from the ends. On a mismatch it moves in `a` only when that keeps a
    /// strictly longer LCS, else in `b`: this tie rule fixes which of several equally
    /// long answers Redis returns.
    fn walk(&self, a: &[u8], b: &[u8]) -> LcsWalk {
        let mut common = Vec::with_capacity(self.total() as usize);
        let mut runs = Vec::new();
        let mut open: Option<Run> = None;
        let (mut i, mut j) = (a.len(), b.len());
        while i > 0 && j > 0 {
            if a[i - 1] == b[j - 1] {
                common.push(a[i - 1]);
                // A match always directly follows the previous one in an open run.
                open = Some(match open {
                    Some(r) => Run {
                        a: (i - 1, r.a.1),
                        b: (j - 1, r.b.1),
                    },
                    None => Run {
                        a: (i - 1, i - 1),
                        b: (j - 1, j - 1),
                    },
                });
                i -= 1;
                j -= 1;
                if i == 0 || j == 0 {
                    runs.extend(open.take());
                }
            } else {
                if self.at(i - 1, j) > self.at(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                runs.extend(open.take());
            }
        }
        common.reverse();
        LcsWalk { common, runs }
    }
}

impl Run {
    fn len(&self) -> usize {
        self.a.1 - self.a.0 + 1
    }

    fn reply(&self, with_len: bool) -> Reply {
        let range = |(s, e): (usize, usize)| Reply::Array(vec![int(s), int(e)]);
        let mut parts = vec![range(self.a), range(self.b)];
        if with_len {
            parts.push(int(self.len()));
        }
        Reply::Array(parts)
    }
}

fn int(n: usize) -> Reply {
    Reply::Int(n as i64)
}

#[cfg(test)]
#[path = "tests/strings.rs"]
mod tests;
