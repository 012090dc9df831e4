//! A data set with every type in both encodings, TTLs and several databases, and a
//! canonical dump of a server's contents to compare two servers (or one server before
//! and after a restart).

use std::collections::BTreeMap;

use super::{keys_on_every_shard, q};

/// Every key of every database, with its type, its contents in a canonical form and
/// whether it has a TTL.
pub type Content = BTreeMap<(i64, String), (String, Vec<String>, bool)>;

pub fn content(c: &mut redis::Connection, dbs: i64) -> Content {
    let mut out = Content::new();
    for db in 0..dbs {
        let _: () = q(c, &["SELECT", &db.to_string()]);
        let keys: Vec<String> = q(c, &["KEYS", "*"]);
        for k in keys {
            let kind: String = q(c, &["TYPE", &k]);
            let mut items: Vec<String> = match kind.as_str() {
                "string" => vec![q(c, &["GET", &k])],
                "list" => q(c, &["LRANGE", &k, "0", "-1"]),
                "hash" => q(c, &["HGETALL", &k]),
                "set" => q(c, &["SMEMBERS", &k]),
                "zset" => q(c, &["ZRANGE", &k, "0", "-1", "WITHSCORES"]),
                "stream" => stream_tokens(q(c, &["XINFO", "STREAM", &k, "FULL", "COUNT", "0"])),
                other => panic!("unexpected type {other}"),
            };
            if matches!(kind.as_str(), "hash" | "set") {
                if kind == "hash" {
                    let mut pairs: Vec<String> = items
                        .chunks(2)
                        .map(|p| format!("{}={}", p[0], p[1]))
                        .collect();
                    pairs.sort();
                    items = pairs;
                } else {
                    items.sort();
                }
            }
            let ttl: i64 = q(c, &["PTTL", &k]);
            out.insert((db, k), (kind, items, ttl > 0));
        }
    }
    let _: () = q(c, &["SELECT", "0"]);
    out
}

/// XINFO STREAM FULL as a flat list of words, with what may differ between two
/// servers holding the same stream masked: the radix tree's shape (node boundaries)
/// and consumers' seen times (a replay sees them again).
fn stream_tokens(v: redis::Value) -> Vec<String> {
    fn walk(v: &redis::Value, out: &mut Vec<String>) {
        let masked = matches!(
            out.last().map(String::as_str),
            Some("radix-tree-keys" | "radix-tree-nodes" | "seen-time")
        );
        match v {
            redis::Value::Array(items) | redis::Value::Set(items) => {
                out.push(format!("[{}", items.len()));
                for i in items {
                    walk(i, out);
                }
            }
            redis::Value::Map(pairs) => {
                out.push(format!("{{{}", pairs.len()));
                for (k, v) in pairs {
                    walk(k, out);
                    walk(v, out);
                }
            }
            _ if masked => out.push("*".into()),
            redis::Value::BulkString(b) => out.push(String::from_utf8_lossy(b).into_owned()),
            redis::Value::Int(i) => out.push(i.to_string()),
            other => out.push(format!("{other:?}")),
        }
    }
    let mut out = Vec::new();
    walk(&v, &mut out);
    out
}

/// Keys of every type in both encodings, with and without TTLs, in three databases.
pub fn fill(c: &mut redis::Connection) {
    let long = "x".repeat(300);
    for db in ["0", "5", "15"] {
        let _: () = q(c, &["SELECT", db]);
        let _: () = q(
            c,
            &["MSET", "int", "12345", "small", "hello", "long", &long],
        );
        let _: () = q(c, &["SET", "big-int", "9223372036854775807"]);
        let _: () = q(c, &["SET", "with-ttl", "v", "EX", "100000"]);
        let _: i64 = q(c, &["RPUSH", "list-small", "a", "1", "b"]);
        for i in 0..300 {
            let _: i64 = q(c, &["RPUSH", "list-big", &format!("item-{i}")]);
            let _: i64 = q(c, &["HSET", "hash-big", &format!("f{i}"), &format!("v{i}")]);
            let _: i64 = q(c, &["SADD", "set-big", &format!("m{i}")]);
            let _: i64 = q(
                c,
                &[
                    "ZADD",
                    "zset-big",
                    &format!("{}", i as f64 * 0.5),
                    &format!("m{i}"),
                ],
            );
            let _: i64 = q(c, &["SADD", "ints-big", &(i * 7).to_string()]);
        }
        let _: i64 = q(c, &["HSET", "hash-small", "f", "v", "n", "1"]);
        let _: i64 = q(c, &["SADD", "ints", "1", "-5", "70000"]);
        let _: i64 = q(c, &["SADD", "strs", "a", "b"]);
        let _: i64 = q(
            c,
            &["ZADD", "zset-small", "1", "a", "-2.5", "b", "inf", "c"],
        );
        let _: bool = q(c, &["EXPIRE", "hash-small", "100000"]);
        fill_streams(c);
    }
    let _: () = q(c, &["SELECT", "0"]);
}

/// Streams of several nodes with a deleted entry, consumer groups, pending entries
/// and consumers, and a stream emptied by deletion that keeps its group.
fn fill_streams(c: &mut redis::Connection) {
    for i in 1..=250 {
        let id = format!("{i}-0");
        let _: String = q(
            c,
            &[
                "XADD",
                "stream-big",
                &id,
                "n",
                &i.to_string(),
                "pad",
                "yyyy",
            ],
        );
    }
    let _: i64 = q(c, &["XDEL", "stream-big", "5-0"]);
    let _: () = q(c, &["XGROUP", "CREATE", "stream-big", "g1", "0"]);
    let _: () = q(
        c,
        &[
            "XGROUP",
            "CREATE",
            "stream-big",
            "g2",
            "100-0",
            "ENTRIESREAD",
            "100",
        ],
    );
    let read = [
        "XREADGROUP",
        "GROUP",
        "g1",
        "alice",
        "COUNT",
        "3",
        "STREAMS",
        "stream-big",
        ">",
    ];
    let _: redis::Value = q(c, &read);
    let _: redis::Value = q(
        c,
        &[
            "XCLAIM",
            "stream-big",
            "g1",
            "bob",
            "0",
            "2-0",
            "TIME",
            "1000",
        ],
    );
    let _: i64 = q(c, &["XGROUP", "CREATECONSUMER", "stream-big", "g2", "idle"]);
    let _: String = q(c, &["XADD", "stream-small", "1-1", "f", "v"]);
    let _: () = q(c, &["XGROUP", "CREATE", "stream-small", "g", "$"]);
    let _: i64 = q(c, &["XDEL", "stream-small", "1-1"]);
}

/// Asserts two contents are equal, naming only the keys that differ.
pub fn assert_same(got: &Content, want: &Content, what: &str) {
    let mut diff = Vec::new();
    for (k, v) in want {
        match got.get(k) {
            None => diff.push(format!("missing {k:?} (want {v:?})")),
            Some(g) if g != v => diff.push(format!("{k:?}: got {g:?}, want {v:?}")),
            _ => {}
        }
    }
    for (k, v) in got {
        if !want.contains_key(k) {
            diff.push(format!("extra {k:?} = {v:?}"));
        }
    }
    assert!(
        diff.is_empty(),
        "{what}: {} keys differ:\n{}",
        diff.len(),
        diff.join("\n")
    );
}

/// Writes whose log entries are rewritten (relative TTLs, random pops, floats,
/// blocking pops), writes across shards (MSET, RENAME, MULTI), and the broadcast ones
/// (FLUSHDB, SWAPDB) among writes on every shard.
pub fn mixed_writes(c: &mut redis::Connection) {
    let keys = keys_on_every_shard(4);
    for (i, k) in keys.iter().enumerate() {
        let _: () = q(c, &["SET", k, &i.to_string()]);
    }
    let _: () = q(c, &["SET", "rel", "v", "EX", "1000"]);
    let _: () = q(c, &["SETEX", "setex", "1000", "v"]);
    let _: bool = q(c, &["EXPIRE", &keys[0], "2000"]);
    let _: i64 = q(c, &["SADD", "pops", "a", "b", "c", "d", "e"]);
    let _: Vec<String> = q(c, &["SPOP", "pops", "2"]);
    let _: String = q(c, &["INCRBYFLOAT", "float", "0.1"]);
    let _: String = q(c, &["INCRBYFLOAT", "float", "0.2"]);
    let _: i64 = q(c, &["RPUSH", "queue", "1", "2", "3"]);
    let _: Vec<String> = q(c, &["BLPOP", "queue", "1"]);
    let _: () = q(c, &["MSET", &keys[1], "m1", &keys[2], "m2", &keys[3], "m3"]);
    let _: () = q(c, &["RENAME", &keys[2], "renamed"]);
    let _: () = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg(&keys[0])
        .ignore()
        .cmd("SET")
        .arg(&keys[3])
        .arg("in-multi")
        .ignore()
        .query(c)
        .unwrap();
    let _: () = q(c, &["SELECT", "7"]);
    for k in &keys {
        let _: () = q(c, &["SET", k, "db7"]);
    }
    let _: () = q(c, &["FLUSHDB"]);
    let _: () = q(c, &["SET", &keys[0], "after-flush"]);
    let _: () = q(c, &["SELECT", "0"]);
    let _: () = q(c, &["SWAPDB", "5", "7"]);
    let _: () = q(c, &["SET", "after-swap", "1"]);
    let _: () = q(c, &["SET", &keys[3], "10"]);
    let script = "redis.call('SET', KEYS[1], 'lua'); return redis.call('INCR', KEYS[2])";
    let _: i64 = q(c, &["EVAL", script, "2", &keys[1], &keys[3]]);
    stream_writes(c);
}

/// Stream writes whose effect their arguments do not give: IDs chosen by the server,
/// approximate trims, deliveries and claims (each logged as what it did).
fn stream_writes(c: &mut redis::Connection) {
    let _: () = q(c, &["XGROUP", "CREATE", "events", "g", "$", "MKSTREAM"]);
    let mut ids = Vec::new();
    for i in 0..300 {
        let id: String = q(
            c,
            &[
                "XADD",
                "events",
                "MAXLEN",
                "~",
                "120",
                "*",
                "n",
                &i.to_string(),
            ],
        );
        ids.push(id);
    }
    let _: redis::Value = q(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "COUNT",
            "5",
            "STREAMS",
            "events",
            ">",
        ],
    );
    let _: redis::Value = q(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "dave",
            "COUNT",
            "2",
            "NOACK",
            "STREAMS",
            "events",
            ">",
        ],
    );
    let pending: Vec<(String, String, i64, i64)> =
        q(c, &["XPENDING", "events", "g", "-", "+", "5"]);
    let _: redis::Value = q(c, &["XCLAIM", "events", "g", "bob", "0", &pending[0].0]);
    let _: i64 = q(c, &["XACK", "events", "g", &pending[1].0]);
    let _: redis::Value = q(
        c,
        &["XAUTOCLAIM", "events", "g", "carol", "0", "0", "COUNT", "2"],
    );
    let _: i64 = q(c, &["XTRIM", "events", "MINID", "~", &ids[250]]);
    let _: Option<String> = q(c, &["XADD", "nostream", "NOMKSTREAM", "*", "a", "b"]);
}
