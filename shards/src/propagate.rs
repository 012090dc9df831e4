//! What a write leaves behind for the append-only file (and, later, replicas): the
//! commands that, replayed in order on the state before, give the state after.
//!
//! Most writes are deterministic and replay as they were sent. The rest are rewritten
//! from what they did, as Redis does: relative TTLs become absolute (`SET .. EX` →
//! `SET .. PXAT`, `EXPIRE` → `PEXPIREAT`, `SETEX` → `SET .. PXAT`), random or
//! float results become plain writes (`SPOP` → `SREM`, `INCRBYFLOAT` → `SET .. KEEPTTL`),
//! and blocking pops become the pop they performed. Writes that changed nothing (a
//! `DEL` of a missing key, `SETNX` on an existing one) leave nothing.
//!
//! Expired keys leave nothing either: their absolute expiry is in the log, so a replay
//! expires them as well.

use bytes::Bytes;

use crate::clock::Millis;
use crate::cmd::CommandSpec;
use crate::keyspace::Entry;
use crate::reply::Reply;

/// A command to log, as its arguments.
pub type Argv = Vec<Bytes>;

/// The commands `spec` with `args` leaves after it answered `reply` at time `now`
/// (the keyspace's clock that the handler used). Empty when it changed nothing. Only
/// for write commands that did not answer an error.
pub fn effects(spec: &CommandSpec, args: &[Bytes], reply: &Reply, now: Millis) -> Vec<Argv> {
    if reply.is_error() {
        return Vec::new();
    }
    match spec.name {
        "set" => set(args, reply, now),
        "setex" | "psetex" => setex(spec.name, args, now),
        "getex" => getex(args, reply, now),
        "expire" | "pexpire" | "expireat" | "pexpireat" => expire(spec.name, args, reply, now),
        "restore" => restore(args, now),
        "spop" => spop(args, reply),
        "incrbyfloat" => match reply {
            Reply::Bulk(v) => vec![argv(&[b"SET", &args[1], v, b"KEEPTTL"])],
            _ => Vec::new(),
        },
        "hincrbyfloat" => match reply {
            Reply::Bulk(v) => vec![argv(&[b"HSET", &args[1], &args[2], v])],
            _ => Vec::new(),
        },
        "blpop" | "brpop" => match popped_key(reply) {
            Some(key) => {
                let pop: &[u8] = if spec.name == "blpop" {
                    b"LPOP"
                } else {
                    b"RPOP"
                };
                vec![argv(&[pop, &key])]
            }
            None => Vec::new(),
        },
        "bzpopmin" | "bzpopmax" => match reply {
            Reply::Array(items) if items.len() == 3 => match (&items[0], &items[1]) {
                (Reply::Bulk(k), Reply::Bulk(m)) => vec![argv(&[b"ZREM", k, m])],
                _ => Vec::new(),
            },
            _ => Vec::new(),
        },
        "blmove" if !is_nil(reply) => {
            vec![std::iter::once(Bytes::from_static(b"LMOVE"))
                .chain(args[1..5].iter().cloned())
                .collect()]
        }
        "brpoplpush" if !is_nil(reply) => {
            vec![argv(&[b"RPOPLPUSH", &args[1], &args[2]])]
        }
        "blmpop" => blmpop(args, reply),
        "bzmpop" => bzmpop(reply),
        _ if changed_nothing(spec.name, reply) => Vec::new(),
        _ => vec![args.to_vec()],
    }
}

/// The commands that put `entry` under `key` as it is (an entry moved in from another
/// shard, a key a script on copies wrote back): a `RESTORE .. REPLACE ABSTTL` of its
/// DUMP payload.
pub fn restore_entry(key: &[u8], entry: &Entry) -> Argv {
    let payload = crate::rdb::dump_payload(&entry.value);
    let ttl = entry.expire_at.to_string();
    argv(&[
        b"RESTORE",
        key,
        ttl.as_bytes(),
        &payload,
        b"REPLACE",
        b"ABSTTL",
    ])
}

/// `DEL key`.
pub fn del(key: &[u8]) -> Argv {
    argv(&[b"DEL", key])
}

fn argv(parts: &[&[u8]]) -> Argv {
    parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
}

fn is_nil(reply: &Reply) -> bool {
    matches!(reply, Reply::Nil | Reply::NilArray)
}

/// Writes whose answer says nothing changed.
fn changed_nothing(name: &str, reply: &Reply) -> bool {
    match reply {
        Reply::Int(0) => matches!(
            name,
            "del"
                | "unlink"
                | "hdel"
                | "srem"
                | "zrem"
                | "persist"
                | "lrem"
                | "sadd"
                | "move"
                | "renamenx"
                | "msetnx"
                | "setnx"
                | "hsetnx"
                | "pfadd"
                | "smove"
                | "copy"
                | "lpushx"
                | "rpushx"
                | "zremrangebyscore"
                | "zremrangebyrank"
                | "zremrangebylex"
        ),
        Reply::Nil | Reply::NilArray => matches!(
            name,
            "lpop" | "rpop" | "getdel" | "rpoplpush" | "lmove" | "lmpop" | "zmpop"
        ),
        Reply::Array(a) => a.is_empty() && matches!(name, "zpopmin" | "zpopmax" | "lpop" | "rpop"),
        _ => false,
    }
}

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

fn num(b: &[u8]) -> Option<i64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]`: the TTL as PXAT.
fn set(args: &[Bytes], reply: &Reply, now: Millis) -> Vec<Argv> {
    let has_get = args[3..].iter().any(|a| eq(a, "get"));
    if is_nil(reply) && !has_get {
        return Vec::new();
    }
    let mut out: Argv = Vec::with_capacity(args.len());
    out.extend_from_slice(&args[..3]);
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        let abs = if eq(a, "ex") || eq(a, "exat") {
            args.get(i + 1).and_then(|v| num(v)).map(|v| {
                let ms = v.saturating_mul(1000);
                if eq(a, "ex") {
                    (now as i64).saturating_add(ms)
                } else {
                    ms
                }
            })
        } else if eq(a, "px") {
            args.get(i + 1)
                .and_then(|v| num(v))
                .map(|v| (now as i64).saturating_add(v))
        } else {
            None
        };
        match abs {
            Some(at) => {
                out.push(Bytes::from_static(b"PXAT"));
                out.push(Bytes::from(at.to_string()));
                i += 2;
            }
            None => {
                out.push(a.clone());
                i += 1;
            }
        }
    }
    vec![out]
}

/// `SETEX key seconds value` / `PSETEX key ms value` → `SET key value PXAT at`.
fn setex(name: &str, args: &[Bytes], now: Millis) -> Vec<Argv> {
    let Some(n) = num(&args[2]) else {
        return Vec::new();
    };
    let ms = if name == "setex" {
        n.saturating_mul(1000)
    } else {
        n
    };
    let at = (now as i64).saturating_add(ms).to_string();
    vec![argv(&[b"SET", &args[1], &args[3], b"PXAT", at.as_bytes()])]
}

/// `GETEX key [EX|PX|EXAT|PXAT t|PERSIST]` → `PEXPIREAT` or `PERSIST` (a plain GETEX
/// changes nothing).
fn getex(args: &[Bytes], reply: &Reply, now: Millis) -> Vec<Argv> {
    if is_nil(reply) || args.len() < 3 {
        return Vec::new();
    }
    let key = &args[1];
    if eq(&args[2], "persist") {
        return vec![argv(&[b"PERSIST", key])];
    }
    let Some(v) = args.get(3).and_then(|v| num(v)) else {
        return Vec::new();
    };
    let at = match args[2].to_ascii_lowercase().as_slice() {
        b"ex" => (now as i64).saturating_add(v.saturating_mul(1000)),
        b"px" => (now as i64).saturating_add(v),
        b"exat" => v.saturating_mul(1000),
        _ => v,
    };
    vec![expire_at(key, at, now)]
}

/// The EXPIRE family → `PEXPIREAT key at` (or `DEL` when `at` has passed).
fn expire(name: &str, args: &[Bytes], reply: &Reply, now: Millis) -> Vec<Argv> {
    if !matches!(reply, Reply::Int(1)) {
        return Vec::new();
    }
    let Some(v) = num(&args[2]) else {
        return Vec::new();
    };
    let at = match name {
        "expire" => (now as i64).saturating_add(v.saturating_mul(1000)),
        "pexpire" => (now as i64).saturating_add(v),
        "expireat" => v.saturating_mul(1000),
        _ => v,
    };
    vec![expire_at(&args[1], at, now)]
}

fn expire_at(key: &[u8], at: i64, now: Millis) -> Argv {
    if at <= now as i64 {
        del(key)
    } else {
        argv(&[b"PEXPIREAT", key, at.to_string().as_bytes()])
    }
}

/// `RESTORE key ttl payload ..` with a relative TTL → the absolute one and ABSTTL.
fn restore(args: &[Bytes], now: Millis) -> Vec<Argv> {
    let abs = args[4..].iter().any(|a| eq(a, "absttl"));
    let ttl = num(&args[2]).unwrap_or(0);
    if abs || ttl == 0 {
        return vec![args.to_vec()];
    }
    let mut out = args.to_vec();
    out[2] = Bytes::from((now as i64).saturating_add(ttl).to_string());
    out.push(Bytes::from_static(b"ABSTTL"));
    vec![out]
}

/// `SPOP key [count]` → `SREM key` of what it popped.
fn spop(args: &[Bytes], reply: &Reply) -> Vec<Argv> {
    let members: Vec<Bytes> = match reply {
        Reply::Bulk(m) => vec![Bytes::copy_from_slice(m)],
        Reply::Array(items) | Reply::Set(items) => items
            .iter()
            .filter_map(|r| match r {
                Reply::Bulk(m) => Some(Bytes::copy_from_slice(m)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    if members.is_empty() {
        return Vec::new();
    }
    let mut out = argv(&[b"SREM", &args[1]]);
    out.extend(members);
    vec![out]
}

/// The key of a `[key, element]` answer (BLPOP, BRPOP).
fn popped_key(reply: &Reply) -> Option<Vec<u8>> {
    match reply {
        Reply::Array(items) if items.len() == 2 => match &items[0] {
            Reply::Bulk(k) => Some(k.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// `BLMPOP timeout numkeys key.. LEFT|RIGHT [COUNT n]` → `LPOP|RPOP key n` of what
/// it popped.
fn blmpop(args: &[Bytes], reply: &Reply) -> Vec<Argv> {
    let Reply::Array(items) = reply else {
        return Vec::new();
    };
    let (Some(Reply::Bulk(key)), Some(Reply::Array(elems))) = (items.first(), items.get(1)) else {
        return Vec::new();
    };
    let left = args.iter().any(|a| eq(a, "left"));
    let pop: &[u8] = if left { b"LPOP" } else { b"RPOP" };
    vec![argv(&[pop, key, elems.len().to_string().as_bytes()])]
}

/// `BZMPOP ..` → `ZREM key` of the members it popped.
fn bzmpop(reply: &Reply) -> Vec<Argv> {
    let Reply::Array(items) = reply else {
        return Vec::new();
    };
    let Some(Reply::Bulk(key)) = items.first() else {
        return Vec::new();
    };
    let members: Vec<Bytes> = match items.get(1) {
        Some(Reply::Pairs(pairs)) => pairs
            .iter()
            .filter_map(|(m, _)| match m {
                Reply::Bulk(m) => Some(Bytes::copy_from_slice(m)),
                _ => None,
            })
            .collect(),
        Some(Reply::Array(rows)) => rows
            .iter()
            .filter_map(|r| match r {
                Reply::Array(pair) => match pair.first() {
                    Some(Reply::Bulk(m)) => Some(Bytes::copy_from_slice(m)),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    if members.is_empty() {
        return Vec::new();
    }
    let mut out = argv(&[b"ZREM", key]);
    out.extend(members);
    vec![out]
}

#[cfg(test)]
#[path = "propagate_tests.rs"]
mod tests;
