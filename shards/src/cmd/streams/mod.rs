//! Stream commands with redis-server 7.0's replies and errors: entries (XADD, XRANGE,
//! XREVRANGE, XLEN, XDEL, XTRIM, XSETID, XREAD) here, consumer groups in `groups.rs`,
//! XINFO in `info.rs`. Blocking reads (XREAD/XREADGROUP BLOCK) are the server's
//! blocking machinery re-running these handlers; `block_args` prepares their
//! arguments for that.

use bytes::Bytes;

use super::{arg, Ctx};
use crate::args::{eq_ic, parse_i64};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Stored;
use crate::reply::Reply;
use crate::types::stream::{Fields, NodeLimits, Stream, StreamId, Trim};
use crate::value::Value;

mod groups;
mod info;

pub use groups::{xack, xautoclaim, xclaim, xgroup, xpending, xreadgroup};
pub use info::xinfo;

pub(crate) const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

// ---------------------------------------------------------------------------------------
// IDs.

/// An ID argument; `-` and `+` are the smallest and largest IDs unless `strict`. A
/// missing sequence is `missing_seq`.
fn parse_id_with(b: &[u8], missing_seq: u64, strict: bool) -> CmdResult<StreamId> {
    match b {
        b"-" if !strict => Ok(StreamId::MIN),
        b"+" if !strict => Ok(StreamId::MAX),
        _ => StreamId::parse(b, missing_seq).ok_or_else(|| CmdError::other(INVALID_ID)),
    }
}

pub(crate) fn parse_id(b: &[u8], missing_seq: u64) -> CmdResult<StreamId> {
    parse_id_with(b, missing_seq, false)
}

pub(crate) fn parse_strict_id(b: &[u8]) -> CmdResult<StreamId> {
    parse_id_with(b, 0, true)
}

/// A range bound: `(` makes it exclusive (then `-`/`+` are refused), moved one step
/// inward; `start` bounds move up, end bounds down.
pub(crate) fn parse_bound(b: &[u8], start: bool) -> CmdResult<StreamId> {
    let missing = if start { 0 } else { u64::MAX };
    if b.len() > 1 && b[0] == b'(' {
        let id = parse_id_with(&b[1..], missing, true)?;
        let moved = if start { id.next() } else { id.prev() };
        let which = if start { "start" } else { "end" };
        return moved
            .ok_or_else(|| CmdError::other(format!("ERR invalid {which} ID for the interval")));
    }
    parse_id(b, missing)
}

pub(crate) fn id_reply(id: StreamId) -> Reply {
    Reply::Bulk(id.to_string().into_bytes())
}

/// `[id, [field, value, ...]]`.
pub(crate) fn entry_reply(id: StreamId, fields: Fields<'_>) -> Reply {
    let mut flat = Vec::with_capacity(fields.remaining() * 2);
    for (f, v) in fields {
        flat.push(Reply::bulk(f));
        flat.push(Reply::bulk(v));
    }
    Reply::Array(vec![id_reply(id), Reply::Array(flat)])
}

/// Entries from `start` to `end`, at most `count` (0: all).
pub(crate) fn range_reply(
    s: &Stream,
    start: StreamId,
    end: StreamId,
    rev: bool,
    count: usize,
) -> Vec<Reply> {
    let mut out = Vec::new();
    s.range(start, end, rev, |id, fields| {
        out.push(entry_reply(id, fields));
        count == 0 || out.len() < count
    });
    out
}

// ---------------------------------------------------------------------------------------
// What the append-only file logs.

/// Logs `cmds()` instead of the command, when effects are logged (see
/// `Keyspace::propagated`); an empty list logs nothing.
pub(crate) fn propagate(ctx: &mut Ctx, cmds: impl FnOnce() -> Vec<Vec<Bytes>>) {
    if ctx.ks.logging {
        ctx.ks.propagated = Some(cmds());
    }
}

pub(crate) fn words(parts: &[&[u8]]) -> Vec<Bytes> {
    parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
}

/// An exact trim to where the stream is now (what an approximate or limited trim did).
fn trim_effect(key: &[u8], how: Trim, s: &Stream) -> Vec<Bytes> {
    match how {
        Trim::MaxLen(_) => words(&[
            b"XTRIM",
            key,
            b"MAXLEN",
            b"=",
            s.len().to_string().as_bytes(),
        ]),
        Trim::MinId(_) => {
            let first = if s.is_empty() {
                s.last_id.next().unwrap_or(StreamId::MAX)
            } else {
                s.first_id
            };
            words(&[b"XTRIM", key, b"MINID", b"=", first.to_string().as_bytes()])
        }
    }
}

// ---------------------------------------------------------------------------------------
// Lookups.

fn stream_of(entry: Option<&mut Stored>) -> CmdResult<Option<&mut Stream>> {
    match entry.map(|e| e.value_mut()) {
        None => Ok(None),
        Some(Value::Stream(s)) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The stream at `key` for a read.
pub(crate) fn read_stream<'a>(
    ctx: &'a mut Ctx<'_>,
    key: &[u8],
) -> CmdResult<Option<&'a mut Stream>> {
    stream_of(ctx.ks.read(ctx.db, key, ctx.touch))
}

/// The stream at `key` for a write.
pub(crate) fn write_stream<'a>(
    ctx: &'a mut Ctx<'_>,
    key: &[u8],
) -> CmdResult<Option<&'a mut Stream>> {
    stream_of(ctx.lookup_write(key))
}

pub(crate) fn node_limits(ctx: &Ctx) -> NodeLimits {
    NodeLimits {
        max_bytes: ctx.ks.config.stream_node_max_bytes,
        max_entries: ctx.ks.config.stream_node_max_entries,
    }
}

// ---------------------------------------------------------------------------------------
// XADD / XTRIM options.

#[derive(Default)]
struct TrimArgs {
    how: Option<Trim>,
    approx: bool,
    limit: u64,
    nomkstream: bool,
    /// XADD: the requested ID (None: `*`) and whether it had a sequence.
    id: Option<(StreamId, bool)>,
    /// XADD: where the ID argument is.
    id_pos: usize,
}

/// Parses XADD's options up to its ID, or XTRIM's options, as Redis does.
fn parse_trim_args(ctx: &Ctx, args: &[Bytes], xadd: bool) -> CmdResult<TrimArgs> {
    let mut t = TrimArgs::default();
    let mut limit_given = false;
    let mut i = 2;
    let strategy_twice = || {
        CmdError::other(
            "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
        )
    };
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = &args[i][..];
        if xadd && opt == b"*" {
            break;
        } else if (eq_ic(opt, "maxlen") || eq_ic(opt, "minid")) && more > 0 {
            if t.how.is_some() {
                return Err(strategy_twice());
            }
            t.approx = false;
            let next = &args[i + 1][..];
            if more >= 2 && next == b"~" {
                t.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let value = &args[i + 1][..];
            t.how = Some(if eq_ic(opt, "maxlen") {
                let n = parse_i64(value)?;
                if n < 0 {
                    return Err(CmdError::other("ERR The MAXLEN argument must be >= 0."));
                }
                Trim::MaxLen(n as u64)
            } else {
                Trim::MinId(parse_strict_id(value)?)
            });
            i += 1;
        } else if eq_ic(opt, "limit") && more > 0 {
            let n = parse_i64(&args[i + 1])?;
            if n < 0 {
                return Err(CmdError::other("ERR The LIMIT argument must be >= 0."));
            }
            t.limit = n as u64;
            limit_given = true;
            i += 1;
        } else if xadd && eq_ic(opt, "nomkstream") {
            t.nomkstream = true;
        } else if xadd {
            let (id, seq_given) = parse_add_id(opt)?;
            t.id = Some((id, seq_given));
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    t.id_pos = i;
    if t.limit > 0 && t.how.is_none() {
        return Err(CmdError::other(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && t.how.is_none() {
        return Err(CmdError::other(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if limit_given {
        if !t.approx {
            return Err(CmdError::other(
                "ERR syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
    } else if t.approx {
        let per_node = ctx.ks.config.stream_node_max_entries as u64;
        t.limit = per_node.saturating_mul(100);
        if t.limit == 0 || t.limit > u64::from(u32::MAX) {
            t.limit = 10_000;
        }
    }
    Ok(t)
}

/// XADD's ID: `ms-seq`, `ms` (sequence 0) or `ms-*` (sequence chosen).
fn parse_add_id(b: &[u8]) -> CmdResult<(StreamId, bool)> {
    if let Some(ms) = b.strip_suffix(b"-*") {
        let id = StreamId::parse(ms, 0)
            .filter(|_| !ms.contains(&b'-'))
            .ok_or_else(|| CmdError::other(INVALID_ID))?;
        return Ok((id, false));
    }
    Ok((parse_strict_id(b)?, true))
}

// ---------------------------------------------------------------------------------------
// Commands.

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value ...
pub fn xadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let t = parse_trim_args(ctx, args, true)?;
    let fields_at = t.id_pos + 1;
    let n = args.len().saturating_sub(fields_at);
    if n < 2 || n % 2 == 1 {
        return Err(CmdError::WrongArity("xadd".into()));
    }
    if let Some((id, true)) = t.id {
        if id.is_zero() {
            return Err(CmdError::other(
                "ERR The ID specified in XADD must be greater than 0-0",
            ));
        }
    }
    let limits = node_limits(ctx);
    let now = ctx.ks.now();
    let exists = write_stream(ctx, key)?.is_some();
    if !exists {
        if t.nomkstream {
            propagate(ctx, Vec::new);
            return Ok(Reply::Nil);
        }
        ctx.ks.set(ctx.db, key, Value::Stream(Box::default()), 0);
    }
    let s = write_stream(ctx, key)?.expect("just created");
    if s.last_id == StreamId::MAX {
        return Err(CmdError::other(
            "ERR The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    let requested = t.id.map(|(id, _)| id);
    let seq_given = t.id.is_none_or(|(_, g)| g);
    let Some(id) = s.next_id(requested, seq_given, now) else {
        if !exists && s.is_empty() {
            ctx.ks.remove(ctx.db, key);
        }
        return Err(CmdError::other(
            "ERR The ID specified in XADD is equal or smaller than the target stream top item",
        ));
    };
    let pairs: Vec<(&[u8], &[u8])> = args[fields_at..]
        .chunks_exact(2)
        .map(|p| (&p[0][..], &p[1][..]))
        .collect();
    s.append(id, &pairs, limits);
    let trimmed = match t.how {
        Some(how) if s.trim(how, t.approx, t.limit) > 0 => Some(trim_effect(key, how, s)),
        _ => None,
    };
    propagate(ctx, || {
        let mut add = words(&[b"XADD", key, id.to_string().as_bytes()]);
        add.extend(args[fields_at..].iter().cloned());
        std::iter::once(add).chain(trimmed).collect()
    });
    Ok(id_reply(id))
}

/// XRANGE key start end [COUNT n]; XREVRANGE key end start [COUNT n].
fn range_command(ctx: &mut Ctx, args: &[Bytes], rev: bool) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let (first, second) = (arg(args, 2)?, arg(args, 3)?);
    let (start_arg, end_arg) = if rev {
        (second, first)
    } else {
        (first, second)
    };
    let start = parse_bound(start_arg, true)?;
    let end = parse_bound(end_arg, false)?;
    let mut count: Option<usize> = None;
    let mut i = 4;
    while i < args.len() {
        if eq_ic(&args[i], "count") && i + 1 < args.len() {
            count = Some(parse_i64(&args[i + 1])?.max(0) as usize);
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let Some(s) = read_stream(ctx, key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    if count == Some(0) {
        return Ok(Reply::NilArray);
    }
    Ok(Reply::Array(range_reply(
        s,
        start,
        end,
        rev,
        count.unwrap_or(0),
    )))
}

pub fn xrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    range_command(ctx, args, false)
}

pub fn xrevrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    range_command(ctx, args, true)
}

pub fn xlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    Ok(Reply::Int(
        read_stream(ctx, key)?.map_or(0, |s| s.len() as i64),
    ))
}

/// XDEL key id [id ...]
pub fn xdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let Some(s) = write_stream(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let ids = args[2..]
        .iter()
        .map(|a| parse_strict_id(a))
        .collect::<CmdResult<Vec<_>>>()?;
    Ok(Reply::Int(
        ids.into_iter().filter(|id| s.delete(*id)).count() as i64,
    ))
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
pub fn xtrim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let t = parse_trim_args(ctx, args, false)?;
    let Some(s) = write_stream(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let how = t.how.expect("XTRIM has a strategy");
    let removed = s.trim(how, t.approx, t.limit);
    let effect = trim_effect(key, how, s);
    propagate(ctx, || {
        if removed > 0 {
            vec![effect]
        } else {
            Vec::new()
        }
    });
    Ok(Reply::Int(removed as i64))
}

/// XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]
pub fn xsetid(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let key = arg(args, 1)?;
    let id = parse_strict_id(arg(args, 2)?)?;
    let mut entries_added: Option<u64> = None;
    let mut max_deleted = StreamId::MIN;
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        if eq_ic(&args[i], "entriesadded") && more {
            let n = parse_i64(&args[i + 1])?;
            if n < 0 {
                return Err(CmdError::other("ERR entries_added must be positive"));
            }
            entries_added = Some(n as u64);
        } else if eq_ic(&args[i], "maxdeletedid") && more {
            max_deleted = parse_strict_id(&args[i + 1])?;
            if id < max_deleted {
                return Err(CmdError::other(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let s = write_stream(ctx, key)?.ok_or(CmdError::NoSuchKey)?;
    if !s.is_empty() {
        if id < s.last_live_id() {
            return Err(CmdError::other(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if entries_added.is_some_and(|n| s.len() > n) {
            return Err(CmdError::other(
                "ERR The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    s.last_id = id;
    if let Some(n) = entries_added {
        s.entries_added = n;
    }
    if !max_deleted.is_zero() {
        s.max_deleted_id = max_deleted;
    }
    Ok(Reply::Ok)
}

// ---------------------------------------------------------------------------------------
// XREAD / XREADGROUP arguments.

/// The options of XREAD / XREADGROUP and where their keys and IDs are.
pub struct ReadArgs<'a> {
    pub count: usize,
    /// BLOCK's milliseconds (None: not given).
    pub block_ms: Option<u64>,
    pub group: Option<(&'a [u8], &'a [u8])>,
    pub noack: bool,
    /// Index of the first key; as many IDs follow the keys.
    pub keys_at: usize,
    pub streams: usize,
}

impl<'a> ReadArgs<'a> {
    pub fn key(&self, args: &'a [Bytes], i: usize) -> &'a [u8] {
        &args[self.keys_at + i]
    }

    pub fn id_arg(&self, args: &'a [Bytes], i: usize) -> &'a [u8] {
        &args[self.keys_at + self.streams + i]
    }
}

/// Parses XREAD / XREADGROUP options up to STREAMS, as Redis does.
pub fn parse_read_args(args: &[Bytes]) -> CmdResult<ReadArgs<'_>> {
    let readgroup = args.first().is_some_and(|a| eq_ic(a, "xreadgroup"));
    let mut r = ReadArgs {
        count: 0,
        block_ms: None,
        group: None,
        noack: false,
        keys_at: 0,
        streams: 0,
    };
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - i - 1;
        let opt = &args[i][..];
        if eq_ic(opt, "block") && more > 0 {
            i += 1;
            r.block_ms = Some(block_timeout(&args[i])?);
        } else if eq_ic(opt, "count") && more > 0 {
            i += 1;
            r.count = parse_i64(&args[i])?.max(0) as usize;
        } else if eq_ic(opt, "streams") && more > 0 {
            r.keys_at = i + 1;
            let n = args.len() - r.keys_at;
            if !n.is_multiple_of(2) {
                return Err(CmdError::other(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            r.streams = n / 2;
            break;
        } else if eq_ic(opt, "group") && more >= 2 {
            if !readgroup {
                return Err(CmdError::other(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.group = Some((&args[i + 1], &args[i + 2]));
            i += 2;
        } else if eq_ic(opt, "noack") {
            if !readgroup {
                return Err(CmdError::other(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if r.keys_at == 0 {
        return Err(CmdError::Syntax);
    }
    if readgroup && r.group.is_none() {
        return Err(CmdError::other("ERR Missing GROUP option for XREADGROUP"));
    }
    Ok(r)
}

/// BLOCK's argument: milliseconds, not negative.
fn block_timeout(b: &[u8]) -> CmdResult<u64> {
    let n = parse_i64(b)
        .map_err(|_| CmdError::other("ERR timeout is not an integer or out of range"))?;
    if n < 0 {
        return Err(CmdError::other("ERR timeout is negative"));
    }
    Ok(n as u64)
}

/// The reply listing, per stream with data, its name and entries: a map in RESP3, an
/// array of [key, entries] pairs in RESP2.
pub(crate) fn streams_reply(found: Vec<(Reply, Reply)>) -> Reply {
    if found.is_empty() {
        Reply::NilArray
    } else {
        Reply::KeyedArrays(found)
    }
}

/// XREAD [COUNT n] [BLOCK ms] STREAMS key ... id ...
pub fn xread(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let r = parse_read_args(args)?;
    let mut ids = Vec::with_capacity(r.streams);
    for i in 0..r.streams {
        let key = r.key(args, i);
        let s = read_stream(ctx, key)?;
        let id = match r.id_arg(args, i) {
            b"$" => s.map_or(StreamId::MIN, |s| s.last_id),
            b">" => {
                return Err(CmdError::other(
                    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                ))
            }
            other => parse_strict_id(other)?,
        };
        ids.push(id);
    }
    let mut found = Vec::new();
    for (i, after) in ids.into_iter().enumerate() {
        let key = r.key(args, i);
        let Some(s) = read_stream(ctx, key)? else {
            continue;
        };
        if s.is_empty() || s.last_live_id() <= after {
            continue;
        }
        let Some(start) = after.next() else {
            continue;
        };
        let entries = range_reply(s, start, StreamId::MAX, false, r.count);
        found.push((Reply::bulk(key), Reply::Array(entries)));
    }
    Ok(streams_reply(found))
}

/// The error a blocked XREADGROUP gets when its re-run fails: Redis 7.0's words for a
/// deleted key (`key_gone`) and for a destroyed group; other errors (WRONGTYPE after
/// the key changed type) as they are.
pub fn unblocked_error(reply: Reply, key_gone: bool) -> Reply {
    let nogroup = matches!(&reply, Reply::Error(CmdError::Other(m)) if m.starts_with("NOGROUP"));
    if !nogroup {
        return reply;
    }
    Reply::Error(CmdError::other(if key_gone {
        "UNBLOCKED the stream key no longer exists"
    } else {
        "NOGROUP the consumer group this client was blocked on no longer exists"
    }))
}

/// The arguments a blocked XREAD / XREADGROUP re-runs with: `$` replaced by the last
/// ID of each stream at the time it blocks (`last_ids`, one per stream), and, without
/// COUNT, Redis's count of 1000 for a blocked read.
pub fn block_args(args: &[Bytes], last_ids: &[StreamId]) -> Vec<Bytes> {
    let Ok(r) = parse_read_args(args) else {
        return args.to_vec();
    };
    let mut out: Vec<Bytes> = args.to_vec();
    for i in 0..r.streams {
        let at = r.keys_at + r.streams + i;
        if &out[at][..] == b"$" {
            let id = last_ids.get(i).copied().unwrap_or(StreamId::MIN);
            out[at] = Bytes::from(id.to_string());
        }
    }
    if r.count == 0 {
        let streams_at = r.keys_at - 1;
        out.insert(streams_at, Bytes::from_static(b"1000"));
        out.insert(streams_at, Bytes::from_static(b"COUNT"));
    }
    out
}
