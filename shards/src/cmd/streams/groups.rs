//! Consumer group commands: XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM.

use bytes::Bytes;

use super::{
    entry_reply, id_reply, parse_bound, parse_read_args, parse_strict_id, propagate, read_stream,
    streams_reply, words, write_stream,
};
use crate::args::{eq_ic, parse_i64};
use crate::cmd::{arg, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::types::stream::{Group, Pending, Stream, StreamId};
use crate::value::Value;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn no_group(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::other(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        text(key),
        text(group)
    ))
}

/// Redis's error for a known subcommand with arguments it refuses.
pub(crate) fn subcommand_syntax(args: &[Bytes], cmd: &str) -> CmdError {
    CmdError::SubcommandSyntax {
        sub: text(args.get(1).map_or(&b""[..], |a| a)),
        cmd: cmd.into(),
    }
}

const XGROUP_HELP: &[&str] = &[
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
];

/// XGROUP's subcommands and their arities (Redis checks them before the command runs).
const XGROUP_ARITY: &[(&str, i32)] = &[
    ("create", -5),
    ("setid", -5),
    ("destroy", 4),
    ("createconsumer", 5),
    ("delconsumer", 5),
    ("help", 2),
];

/// Redis's errors for an unknown subcommand of a container command, or a known one
/// with the wrong number of arguments.
pub(crate) fn subcommand_arity(args: &[Bytes], cmd: &str, table: &[(&str, i32)]) -> CmdResult<()> {
    let sub = arg(args, 1)?;
    let Some((name, arity)) = table.iter().find(|(n, _)| eq_ic(sub, n)) else {
        return Err(CmdError::UnknownSubcommand {
            sub: text(&sub[..sub.len().min(128)]),
            cmd: cmd.into(),
        });
    };
    let n = args.len() as i32;
    if (*arity >= 0 && n != *arity) || (*arity < 0 && n < -arity) {
        return Err(CmdError::WrongArity(format!("{cmd}|{name}")));
    }
    Ok(())
}

pub(crate) fn help_reply(lines: &[&str]) -> Reply {
    Reply::Array(lines.iter().map(|l| Reply::status(*l)).collect())
}

/// XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER|HELP ...
pub fn xgroup(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let sub = arg(args, 1)?;
    let argc = args.len();
    subcommand_arity(args, "xgroup", XGROUP_ARITY)?;
    if argc == 2 && eq_ic(sub, "help") {
        return Ok(help_reply(XGROUP_HELP));
    }
    if argc < 4 {
        return Err(subcommand_syntax(args, "xgroup"));
    }
    let (create, setid) = (eq_ic(sub, "create"), eq_ic(sub, "setid"));
    let mut mkstream = false;
    let mut entries_read: Option<u64> = None;
    let mut i = 5;
    while i < argc {
        if create && eq_ic(&args[i], "mkstream") {
            mkstream = true;
            i += 1;
        } else if (create || setid) && eq_ic(&args[i], "entriesread") && i + 1 < argc {
            let n = parse_i64(&args[i + 1])?;
            if n < -1 {
                return Err(CmdError::other(
                    "ERR value for ENTRIESREAD must be positive or -1",
                ));
            }
            entries_read = u64::try_from(n).ok();
            i += 2;
        } else {
            return Err(subcommand_syntax(args, "xgroup"));
        }
    }
    let (key, name) = (&args[2][..], &args[3][..]);
    let exists = write_stream(ctx, key)?.is_some();
    if !exists && !mkstream {
        return Err(CmdError::other(
            "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
        ));
    }
    let needs_group = setid || eq_ic(sub, "createconsumer") || eq_ic(sub, "delconsumer");
    if exists && needs_group {
        let s = write_stream(ctx, key)?.expect("exists");
        if !s.groups.contains_key(name) {
            return Err(CmdError::other(format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                text(name),
                text(key)
            )));
        }
    }
    let now = ctx.ks.now();
    if create && (5..=8).contains(&argc) {
        let id_arg = &args[4][..];
        let last = write_stream(ctx, key)?.map_or(StreamId::MIN, |s| s.last_id);
        let id = if id_arg == b"$" {
            last
        } else {
            parse_strict_id(id_arg)?
        };
        if !exists {
            ctx.ks.set(ctx.db, key, Value::Stream(Box::default()), 0);
        }
        let s = write_stream(ctx, key)?.expect("exists");
        if s.groups.contains_key(name) {
            return Err(CmdError::other(
                "BUSYGROUP Consumer Group name already exists",
            ));
        }
        s.groups.insert(name.to_vec(), Group::new(id, entries_read));
        return Ok(Reply::Ok);
    }
    let s = write_stream(ctx, key)?.expect("exists");
    if setid && (argc == 5 || argc == 7) {
        let id_arg = &args[4][..];
        let id = if id_arg == b"$" {
            s.last_id
        } else {
            super::parse_id(id_arg, 0)?
        };
        let g = s.groups.get_mut(name).expect("checked");
        g.last_id = id;
        g.entries_read = entries_read;
        Ok(Reply::Ok)
    } else if eq_ic(sub, "destroy") && argc == 4 {
        Ok(Reply::Int(i64::from(s.groups.remove(name).is_some())))
    } else if eq_ic(sub, "createconsumer") && argc == 5 {
        let g = s.groups.get_mut(name).expect("checked");
        let (_, created) = g.consumer(&args[4], now);
        Ok(Reply::Int(i64::from(created)))
    } else if eq_ic(sub, "delconsumer") && argc == 5 {
        let g = s.groups.get_mut(name).expect("checked");
        let removed = g.remove_consumer(&args[4]);
        if removed == Some(0) {
            // A consumer with nothing pending: the reply (0) cannot tell it existed.
            ctx.ks
                .raise(ctx.db, crate::notify::STREAM, "xgroup-delconsumer", key);
        }
        Ok(Reply::Int(removed.unwrap_or(0) as i64))
    } else {
        Err(subcommand_syntax(args, "xgroup"))
    }
}

/// `XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID LASTID last`: an
/// idempotent record of who holds pending entry `id` (Redis logs deliveries and claims
/// this way).
fn claim_effect(key: &[u8], group: &[u8], g: &Group, id: StreamId) -> Option<Vec<Bytes>> {
    let p = g.pel.get(&id)?;
    Some(words(&[
        b"XCLAIM",
        key,
        group,
        &p.consumer,
        b"0",
        id.to_string().as_bytes(),
        b"TIME",
        p.delivery_time.to_string().as_bytes(),
        b"RETRYCOUNT",
        p.delivery_count.to_string().as_bytes(),
        b"FORCE",
        b"JUSTID",
        b"LASTID",
        g.last_id.to_string().as_bytes(),
    ]))
}

/// `XGROUP SETID key group last [ENTRIESREAD n]`: the group's position.
fn position_effect(key: &[u8], group: &[u8], g: &Group) -> Vec<Bytes> {
    let mut cmd = words(&[
        b"XGROUP",
        b"SETID",
        key,
        group,
        g.last_id.to_string().as_bytes(),
    ]);
    if let Some(n) = g.entries_read {
        cmd.extend(words(&[b"ENTRIESREAD", n.to_string().as_bytes()]));
    }
    cmd
}

fn create_consumer_effect(key: &[u8], group: &[u8], consumer: &[u8]) -> Vec<Bytes> {
    words(&[b"XGROUP", b"CREATECONSUMER", key, group, consumer])
}

/// Delivers new entries after the group's last ID to `consumer` (XREADGROUP `>`),
/// moving the group's last ID and read counter as Redis does.
fn deliver_new(
    s: &mut Stream,
    group: &[u8],
    consumer: &[u8],
    count: usize,
    noack: bool,
    now: u64,
) -> (Vec<Reply>, Vec<StreamId>) {
    let Some(start) = s.groups[group].last_id.next() else {
        return (Vec::new(), Vec::new());
    };
    let mut ids = Vec::new();
    let mut out = Vec::new();
    s.range(start, StreamId::MAX, false, |id, fields| {
        ids.push(id);
        out.push(entry_reply(id, fields));
        count == 0 || out.len() < count
    });
    for &id in &ids {
        let tombstones = s.range_has_tombstones(id, StreamId::MAX);
        let estimate = s.entries_read_at(id);
        let has_entries = s.entries_added > 0;
        let g = s.groups.get_mut(group).expect("group exists");
        if id > g.last_id {
            match g.entries_read {
                Some(n) if !tombstones => g.entries_read = Some(n + 1),
                _ if has_entries => g.entries_read = estimate,
                _ => {}
            }
            g.last_id = id;
        }
        if !noack {
            g.deliver(id, consumer, now);
        }
    }
    (out, ids)
}

/// Re-delivers entries of `consumer`'s own PEL from `start` (XREADGROUP with an ID).
fn deliver_history(
    s: &mut Stream,
    group: &[u8],
    consumer: &[u8],
    start: StreamId,
    count: usize,
    now: u64,
) -> Vec<Reply> {
    let pending: Vec<StreamId> = s.groups[group].consumers[consumer]
        .pel
        .range(start..)
        .take(if count == 0 { usize::MAX } else { count })
        .copied()
        .collect();
    let mut out = Vec::with_capacity(pending.len());
    for id in pending {
        let mut reply = None;
        s.range(id, id, false, |id, fields| {
            reply = Some(entry_reply(id, fields));
            false
        });
        match reply {
            Some(r) => {
                if let Some(p) = s.groups.get_mut(group).and_then(|g| g.pel.get_mut(&id)) {
                    p.delivery_time = now;
                    p.delivery_count += 1;
                }
                out.push(r);
            }
            None => out.push(Reply::Array(vec![id_reply(id), Reply::NilArray])),
        }
    }
    out
}

/// XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key ... id ...
pub fn xreadgroup(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let r = parse_read_args(args)?;
    let (group, consumer) = r.group.expect("XREADGROUP has GROUP");
    // Validate every stream, group and ID before serving any.
    let mut ids = Vec::with_capacity(r.streams);
    for i in 0..r.streams {
        let key = r.key(args, i);
        let has_group = read_stream(ctx, key)?.is_some_and(|s| s.groups.contains_key(group));
        if !has_group {
            return Err(CmdError::other(format!(
                "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                text(key),
                text(group)
            )));
        }
        ids.push(match r.id_arg(args, i) {
            b"$" => {
                return Err(CmdError::other(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
                ))
            }
            b">" => None,
            other => Some(parse_strict_id(other)?),
        });
    }
    let now = ctx.ks.now();
    let logging = ctx.ks.logging;
    let mut found = Vec::new();
    let mut effects = Vec::new();
    let mut created_in = Vec::new();
    for (i, id) in ids.into_iter().enumerate() {
        let key = r.key(args, i);
        let s = write_stream(ctx, key)?.expect("checked");
        if id.is_none() && (s.is_empty() || s.last_live_id() <= s.groups[group].last_id) {
            continue;
        }
        let (_, created) = s
            .groups
            .get_mut(group)
            .expect("checked")
            .consumer(consumer, now);
        if created && logging {
            effects.push(create_consumer_effect(key, group, consumer));
        }
        if created {
            created_in.push(key);
        }
        let entries = match id {
            Some(after) => {
                let start = after.next().unwrap_or(StreamId::MAX);
                deliver_history(s, group, consumer, start, r.count, now)
            }
            None => {
                let (entries, ids) = deliver_new(s, group, consumer, r.count, r.noack, now);
                if logging && !ids.is_empty() {
                    let g = &s.groups[group];
                    if !r.noack {
                        effects
                            .extend(ids.iter().filter_map(|id| claim_effect(key, group, g, *id)));
                    }
                    effects.push(position_effect(key, group, g));
                }
                entries
            }
        };
        found.push((Reply::bulk(key), Reply::Array(entries)));
    }
    propagate(ctx, || effects);
    for key in created_in {
        ctx.ks
            .raise(ctx.db, crate::notify::STREAM, "xgroup-createconsumer", key);
    }
    Ok(streams_reply(found))
}

/// XACK key group id [id ...]
pub fn xack(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, group) = (arg(args, 1)?, arg(args, 2)?);
    let Some(s) = write_stream(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let Some(g) = s.groups.get_mut(group) else {
        return Ok(Reply::Int(0));
    };
    let ids = args[3..]
        .iter()
        .map(|a| parse_strict_id(a))
        .collect::<CmdResult<Vec<_>>>()?;
    Ok(Reply::Int(
        ids.into_iter().filter(|id| g.ack(*id)).count() as i64
    ))
}

/// XPENDING key group [[IDLE min-idle] start end count [consumer]]
pub fn xpending(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let argc = args.len();
    let (key, group) = (arg(args, 1)?, arg(args, 2)?);
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(CmdError::Syntax);
    }
    let mut range = None;
    if argc >= 6 {
        let mut at = 3;
        let mut min_idle = 0i64;
        if eq_ic(&args[3], "idle") {
            min_idle = parse_i64(&args[4])?;
            if argc < 8 {
                return Err(CmdError::Syntax);
            }
            at += 2;
        }
        let count = parse_i64(arg(args, at + 2)?)?.max(0) as usize;
        let start = parse_bound(&args[at], true)?;
        let end = parse_bound(&args[at + 1], false)?;
        let consumer = args.get(at + 3).map(|c| &c[..]);
        range = Some((min_idle, start, end, count, consumer));
    }
    let now = ctx.ks.now();
    let s = read_stream(ctx, key)?;
    let Some(g) = s.and_then(|s| s.groups.get(group)) else {
        return Err(no_group(key, group));
    };
    let Some((min_idle, start, end, count, consumer)) = range else {
        if g.pel.is_empty() {
            return Ok(Reply::Array(vec![
                Reply::Int(0),
                Reply::Nil,
                Reply::Nil,
                Reply::NilArray,
            ]));
        }
        let first = *g.pel.keys().next().expect("non-empty");
        let last = *g.pel.keys().next_back().expect("non-empty");
        let owners = g
            .consumers
            .iter()
            .filter(|(_, c)| !c.pel.is_empty())
            .map(|(n, c)| Reply::Array(vec![Reply::bulk(n), Reply::bulk(c.pel.len().to_string())]))
            .collect();
        return Ok(Reply::Array(vec![
            Reply::Int(g.pel.len() as i64),
            id_reply(first),
            id_reply(last),
            Reply::Array(owners),
        ]));
    };
    let ids: Vec<StreamId> = match consumer {
        Some(name) => match g.consumers.get(name) {
            Some(c) => c.pel.range(start..).copied().collect(),
            None => return Ok(Reply::Array(Vec::new())),
        },
        None => g.pel.range(start..).map(|(id, _)| *id).collect(),
    };
    let mut out = Vec::new();
    for id in ids {
        if out.len() >= count || id > end {
            break;
        }
        let p = &g.pel[&id];
        let idle = now.saturating_sub(p.delivery_time) as i64;
        if min_idle > 0 && idle < min_idle {
            continue;
        }
        out.push(Reply::Array(vec![
            id_reply(id),
            Reply::bulk(&p.consumer),
            Reply::Int(idle),
            Reply::Int(p.delivery_count as i64),
        ]));
    }
    Ok(Reply::Array(out))
}

/// An integer option of XCLAIM / XAUTOCLAIM with its own error text.
fn int_or(b: &[u8], msg: &str) -> CmdResult<i64> {
    parse_i64(b).map_err(|_| CmdError::other(format!("ERR {msg}")))
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms]
///        [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id]
pub fn xclaim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let logging = ctx.ks.logging;
    let (key, group, consumer) = (arg(args, 1)?, arg(args, 2)?, arg(args, 3)?);
    let has_group = read_stream(ctx, key)?.is_some_and(|s| s.groups.contains_key(group));
    if !has_group {
        return Err(no_group(key, group));
    }
    let min_idle =
        int_or(arg(args, 4)?, "Invalid min-idle-time argument for XCLAIM")?.max(0) as u64;
    let mut j = 5;
    let mut ids = Vec::new();
    while j < args.len() {
        match parse_strict_id(&args[j]) {
            Ok(id) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let now = ctx.ks.now();
    let (mut force, mut justid) = (false, false);
    let mut retry: Option<u64> = None;
    let mut time: Option<i64> = None;
    let mut last_id = StreamId::MIN;
    while j < args.len() {
        let more = j + 1 < args.len();
        let opt = &args[j][..];
        if eq_ic(opt, "force") {
            force = true;
        } else if eq_ic(opt, "justid") {
            justid = true;
        } else if eq_ic(opt, "idle") && more {
            j += 1;
            let idle = int_or(&args[j], "Invalid IDLE option argument for XCLAIM")?;
            time = Some(now as i64 - idle);
        } else if eq_ic(opt, "time") && more {
            j += 1;
            time = Some(int_or(&args[j], "Invalid TIME option argument for XCLAIM")?);
        } else if eq_ic(opt, "retrycount") && more {
            j += 1;
            let n = int_or(&args[j], "Invalid RETRYCOUNT option argument for XCLAIM")?;
            retry = u64::try_from(n).ok();
        } else if eq_ic(opt, "lastid") && more {
            j += 1;
            last_id = parse_strict_id(&args[j])?;
        } else {
            return Err(CmdError::other(format!(
                "ERR Unrecognized XCLAIM option '{}'",
                text(opt)
            )));
        }
        j += 1;
    }
    let delivery = match time {
        Some(t) if t >= 0 && (t as u64) <= now => t as u64,
        _ => now,
    };
    let s = write_stream(ctx, key)?.expect("checked");
    let exists: Vec<bool> = ids.iter().map(|id| s.contains(*id)).collect();
    let g = s.groups.get_mut(group).expect("checked");
    let moved = last_id > g.last_id;
    if moved {
        g.last_id = last_id;
    }
    let mut claimed = Vec::new();
    let mut dropped = Vec::new();
    let mut created_consumer = false;
    for (id, exists) in ids.into_iter().zip(exists) {
        if !exists {
            if g.ack(id) {
                dropped.push(id);
            }
            continue;
        }
        let owned = match g.pel.get(&id) {
            Some(p) => Some(p.delivery_time),
            None if force => {
                g.pel.insert(
                    id,
                    Pending {
                        consumer: Vec::new(),
                        delivery_time: now,
                        delivery_count: 1,
                    },
                );
                None
            }
            None => continue,
        };
        if let Some(t) = owned {
            if min_idle > 0 && now.saturating_sub(t) < min_idle {
                continue;
            }
        }
        created_consumer |= g.consumer(consumer, now).1;
        g.claim(id, consumer, delivery, false);
        let p = g.pel.get_mut(&id).expect("claimed");
        if let Some(n) = retry {
            p.delivery_count = n;
        } else if !justid {
            p.delivery_count += 1;
        }
        claimed.push(id);
    }
    let effects = if logging {
        claim_effects(key, group, g, &claimed, &dropped, moved)
    } else {
        Vec::new()
    };
    propagate(ctx, || effects);
    if created_consumer {
        ctx.ks
            .raise(ctx.db, crate::notify::STREAM, "xgroup-createconsumer", key);
    }
    let s = write_stream(ctx, key)?.expect("checked");
    Ok(Reply::Array(claimed_reply(s, claimed, justid)))
}

/// What a claim logs: each claimed entry's new owner, each dropped (deleted) entry's
/// acknowledgement, and the group's position when only LASTID moved it.
fn claim_effects(
    key: &[u8],
    group: &[u8],
    g: &Group,
    claimed: &[StreamId],
    dropped: &[StreamId],
    moved: bool,
) -> Vec<Vec<Bytes>> {
    let mut out: Vec<Vec<Bytes>> = claimed
        .iter()
        .filter_map(|id| claim_effect(key, group, g, *id))
        .collect();
    out.extend(
        dropped
            .iter()
            .map(|id| words(&[b"XACK", key, group, id.to_string().as_bytes()])),
    );
    if moved && claimed.is_empty() {
        out.push(position_effect(key, group, g));
    }
    out
}

fn claimed_reply(s: &Stream, ids: Vec<StreamId>, justid: bool) -> Vec<Reply> {
    ids.into_iter()
        .map(|id| {
            if justid {
                return id_reply(id);
            }
            let mut reply = Reply::NilArray;
            s.range(id, id, false, |id, fields| {
                reply = entry_reply(id, fields);
                false
            });
            reply
        })
        .collect()
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID]
pub fn xautoclaim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let logging = ctx.ks.logging;
    let (key, group, consumer) = (arg(args, 1)?, arg(args, 2)?, arg(args, 3)?);
    let min_idle = int_or(
        arg(args, 4)?,
        "Invalid min-idle-time argument for XAUTOCLAIM",
    )?
    .max(0) as u64;
    let start = parse_bound(arg(args, 5)?, true)?;
    let (mut count, mut justid) = (100u64, false);
    let mut j = 6;
    while j < args.len() {
        let more = j + 1 < args.len();
        if eq_ic(&args[j], "count") && more {
            let max = i64::MAX / 16;
            count = match parse_i64(&args[j + 1]) {
                Ok(n) if (1..=max).contains(&n) => n as u64,
                _ => return Err(CmdError::other("ERR COUNT must be > 0")),
            };
            j += 1;
        } else if eq_ic(&args[j], "justid") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let has_group = read_stream(ctx, key)?.is_some_and(|s| s.groups.contains_key(group));
    if !has_group {
        return Err(no_group(key, group));
    }
    let now = ctx.ks.now();
    let s = write_stream(ctx, key)?.expect("checked");
    let mut attempts = count.saturating_mul(10);
    let mut claimed = Vec::new();
    let mut deleted = Vec::new();
    let mut created_consumer = false;
    let candidates: Vec<StreamId> = s.groups[group]
        .pel
        .range(start..)
        .map(|(id, _)| *id)
        .collect();
    let mut next = StreamId::MIN;
    let mut iter = candidates.into_iter();
    for id in iter.by_ref() {
        if attempts == 0 || count == 0 {
            next = id;
            break;
        }
        attempts -= 1;
        if !s.contains(id) {
            s.groups.get_mut(group).expect("checked").ack(id);
            deleted.push(id);
            count -= 1;
            continue;
        }
        let g = s.groups.get_mut(group).expect("checked");
        let t = g.pel[&id].delivery_time;
        if min_idle > 0 && now.saturating_sub(t) < min_idle {
            continue;
        }
        created_consumer |= g.consumer(consumer, now).1;
        g.claim(id, consumer, now, !justid);
        claimed.push(id);
        count -= 1;
    }
    let effects = if logging {
        claim_effects(key, group, &s.groups[group], &claimed, &deleted, false)
    } else {
        Vec::new()
    };
    let entries = claimed_reply(s, claimed, justid);
    propagate(ctx, || effects);
    if created_consumer {
        ctx.ks
            .raise(ctx.db, crate::notify::STREAM, "xgroup-createconsumer", key);
    }
    Ok(Reply::Array(vec![
        id_reply(next),
        Reply::Array(entries),
        Reply::Array(deleted.into_iter().map(id_reply).collect()),
    ]))
}
