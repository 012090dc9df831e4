//! Keyspace notifications as data: `notify-keyspace-events`' classes, and the events a
//! write command raises (Redis's event names), derived from the command, its
//! arguments, its reply and which of its keys existed before and after it ran. The
//! server publishes them (`__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>`).

use bytes::Bytes;

use crate::cmd::CommandSpec;
use crate::reply::Reply;

pub const GENERIC: u32 = 1 << 2;
pub const STRING: u32 = 1 << 3;
pub const LIST: u32 = 1 << 4;
pub const SET: u32 = 1 << 5;
pub const HASH: u32 = 1 << 6;
pub const ZSET: u32 = 1 << 7;
pub const EXPIRED: u32 = 1 << 8;
pub const EVICTED: u32 = 1 << 9;
pub const STREAM: u32 = 1 << 10;
pub const KEY_MISS: u32 = 1 << 11;
pub const MODULE: u32 = 1 << 12;
pub const NEW: u32 = 1 << 13;
pub const KEYSPACE: u32 = 1;
pub const KEYEVENT: u32 = 1 << 1;
/// The classes of events writes raise (the others come from expiry, eviction, misses).
pub const WRITE_EVENTS: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | STREAM | NEW;
/// `A`: every class but key misses and new keys.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// Parses a `notify-keyspace-events` value; None on a character Redis rejects.
pub fn parse_flags(v: &str) -> Option<u32> {
    let mut f = 0;
    for c in v.chars() {
        f |= match c {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            _ => return None,
        };
    }
    Some(f)
}

/// The value CONFIG GET shows, in Redis's order.
pub fn render_flags(f: u32) -> String {
    let mut out = String::new();
    if f & ALL == ALL {
        out.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if f & bit != 0 {
                out.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if f & bit != 0 {
            out.push(c);
        }
    }
    out
}

/// One event: its class, its name, and the key it is about.
pub type Event = (u32, &'static str, Bytes);

/// The events of a write that answered `reply` (not an error). `before` and `after`
/// say, per key of the command (in `spec.key_positions` order), whether it existed
/// before and after the command ran.
pub fn events(
    spec: &CommandSpec,
    args: &[Bytes],
    reply: &Reply,
    keys: &[Bytes],
    before: &[bool],
    after: &[bool],
) -> Vec<Event> {
    let mut out = Vec::new();
    let name = spec.name;
    let changed = |i: usize| before.get(i) != after.get(i);
    let nothing = matches!(reply, Reply::Nil | Reply::NilArray | Reply::Int(0));
    let key = |i: usize| keys.get(i).cloned();
    let mut main = |class: u32, event: &'static str, i: usize| {
        if let Some(k) = key(i) {
            out.push((class, event, k));
        }
    };
    match name {
        "set" | "setnx" | "setex" | "psetex" | "getset" | "mset" | "msetnx"
            if wrote_string(name, args, reply) =>
        {
            for i in 0..keys.len() {
                main(STRING, "set", i);
            }
            let ttl = name == "setex"
                || name == "psetex"
                || args.iter().skip(3).any(|a| {
                    [&b"ex"[..], b"px", b"exat", b"pxat"]
                        .iter()
                        .any(|o| a.eq_ignore_ascii_case(o))
                });
            if ttl {
                main(GENERIC, "expire", 0);
            }
        }
        "append" => main(STRING, "append", 0),
        "setrange" => main(STRING, "setrange", 0),
        "incr" | "decr" | "incrby" | "decrby" => main(STRING, "incrby", 0),
        "incrbyfloat" => main(STRING, "incrbyfloat", 0),
        "setbit" => main(STRING, "setbit", 0),
        "lpush" | "lpushx" | "rpush" | "rpushx" if !nothing => main(
            LIST,
            if name.starts_with('l') {
                "lpush"
            } else {
                "rpush"
            },
            0,
        ),
        "lpop" | "rpop" if !nothing => main(LIST, if name == "lpop" { "lpop" } else { "rpop" }, 0),
        "linsert" if matches!(reply, Reply::Int(n) if *n > 0) => main(LIST, "linsert", 0),
        "lset" => main(LIST, "lset", 0),
        "lrem" if !nothing => main(LIST, "lrem", 0),
        "ltrim" => main(LIST, "ltrim", 0),
        "rpoplpush" | "lmove" if !nothing => {
            let from_left =
                name == "lmove" && args.get(3).is_some_and(|a| a.eq_ignore_ascii_case(b"left"));
            let to_left =
                name == "lmove" && args.get(4).is_some_and(|a| a.eq_ignore_ascii_case(b"left"));
            // Redis pushes (and notifies) before it notifies the pop.
            main(LIST, if to_left { "lpush" } else { "rpush" }, 1);
            main(LIST, if from_left { "lpop" } else { "rpop" }, 0);
        }
        "hset" | "hmset" | "hsetnx" if !(name == "hsetnx" && nothing) => main(HASH, "hset", 0),
        "hdel" if !nothing => main(HASH, "hdel", 0),
        "hincrby" => main(HASH, "hincrby", 0),
        "hincrbyfloat" => main(HASH, "hincrbyfloat", 0),
        "sadd" if !nothing => main(SET, "sadd", 0),
        "srem" if !nothing => main(SET, "srem", 0),
        "spop" if !nothing && !matches!(reply, Reply::Array(a) | Reply::Set(a) if a.is_empty()) => {
            main(SET, "spop", 0)
        }
        "smove" if !nothing => {
            main(SET, "srem", 0);
            // An emptied source is deleted before the destination's event.
            if before.first() == Some(&true) && after.first() != Some(&true) {
                main(GENERIC, "del", 0);
            }
            main(SET, "sadd", 1);
        }
        "sinterstore" | "sunionstore" | "sdiffstore" if after.first() == Some(&true) => {
            main(SET, name, 0)
        }
        // With the count 0 (no CH) scores may still have changed, which Redis notifies;
        // the reply cannot tell, so such a ZADD raises no event here.
        "zadd" if !matches!(reply, Reply::Nil) && (!nothing || changed(0) || is_incr(args)) => {
            main(ZSET, if is_incr(args) { "zincr" } else { "zadd" }, 0)
        }
        "zincrby" => main(ZSET, "zincr", 0),
        "zrem" if !nothing => main(ZSET, "zrem", 0),
        "zremrangebyscore" | "zremrangebyrank" | "zremrangebylex" if !nothing => {
            main(ZSET, name, 0)
        }
        "zpopmin" | "zpopmax"
            if !matches!(reply, Reply::Array(a) if a.is_empty())
                && !matches!(reply, Reply::Pairs(p) if p.is_empty()) =>
        {
            main(ZSET, name, 0)
        }
        "zinterstore" | "zunionstore" | "zdiffstore" | "zrangestore"
            if after.first() == Some(&true) =>
        {
            main(ZSET, name, 0)
        }
        "del" | "unlink" | "getdel" => {
            for i in 0..keys.len() {
                if before.get(i) == Some(&true) {
                    main(GENERIC, "del", i);
                }
            }
        }
        "expire" | "pexpire" | "expireat" | "pexpireat" if matches!(reply, Reply::Int(1)) => {
            if after.first() == Some(&true) {
                main(GENERIC, "expire", 0);
            } else {
                main(GENERIC, "del", 0);
            }
        }
        "persist" if matches!(reply, Reply::Int(1)) => main(GENERIC, "persist", 0),
        "getex" if !nothing && args.len() > 2 => {
            if args[2].eq_ignore_ascii_case(b"persist") {
                main(GENERIC, "persist", 0);
            } else {
                main(GENERIC, "expire", 0);
            }
        }
        "rename" | "renamenx" if !nothing => {
            main(GENERIC, "rename_from", 0);
            main(GENERIC, "rename_to", 1);
        }
        "move" if !nothing => main(GENERIC, "move_from", 0),
        "copy" if !nothing => main(GENERIC, "copy_to", 1),
        "restore" => main(GENERIC, "restore", 0),
        "pfadd" if !nothing => main(STRING, "pfadd", 0),
        "xadd" if !nothing => main(STREAM, "xadd", 0),
        "xtrim" | "xdel" if !nothing => main(STREAM, name, 0),
        "xsetid" => main(STREAM, "xsetid", 0),
        "xgroup" if !nothing && args.len() > 1 => {
            let sub = args[1].to_ascii_lowercase();
            let event = match &sub[..] {
                b"create" => "xgroup-create",
                b"setid" => "xgroup-setid",
                b"destroy" => "xgroup-destroy",
                b"createconsumer" => "xgroup-createconsumer",
                b"delconsumer" => "xgroup-delconsumer",
                _ => "",
            };
            if !event.is_empty() {
                main(STREAM, event, 0);
            }
        }
        _ => {}
    }
    // A collection emptied by the command is deleted; a key it made is new.
    let deleting = matches!(
        name,
        "del"
            | "unlink"
            | "getdel"
            | "expire"
            | "pexpire"
            | "expireat"
            | "pexpireat"
            | "rename"
            | "renamenx"
            | "move"
            | "smove"
    );
    for (i, key) in keys.iter().enumerate() {
        let (b, a) = (before.get(i) == Some(&true), after.get(i) == Some(&true));
        if b && !a && !deleting {
            out.push((GENERIC, "del", key.clone()));
        }
        if !b && a {
            out.push((NEW, "new", key.clone()));
        }
    }
    // Redis raises "new" as the key is made, before the command's own event.
    out.sort_by_key(|e| u8::from(e.0 != NEW));
    out
}

/// Whether a SET-family command stored its value (its reply tells).
fn wrote_string(name: &str, args: &[Bytes], reply: &Reply) -> bool {
    match name {
        // Nil without GET: NX or XX stopped it; with GET the reply is the old value.
        "set" => {
            !matches!(reply, Reply::Nil) || args.iter().any(|a| a.eq_ignore_ascii_case(b"get"))
        }
        "setnx" | "msetnx" => !matches!(reply, Reply::Int(0)),
        _ => true,
    }
}

fn is_incr(args: &[Bytes]) -> bool {
    args.iter().any(|a| a.eq_ignore_ascii_case(b"incr"))
}
