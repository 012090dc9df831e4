//! DUMP / RESTORE: payloads cross between redis-server 7.0 and corecache in both
//! directions for every type and encoding, our payloads are redis-server's bytes where
//! its encoding is deterministic, and RESTORE's errors read as redis-server's.

mod common;

use common::redis_server::RedisServer;
use common::*;
use redis::{Connection, Value};

/// A command with binary-safe arguments.
fn bin(args: &[&[u8]]) -> redis::Cmd {
    let mut c = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        c.arg(*a);
    }
    c
}

fn pseudo_random(n: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Commands that build one key per type and encoding, and whether redis-server's DUMP
/// of that key is deterministic (hashtable-encoded sets and hashes are saved in its
/// dict order).
fn fixture() -> Vec<(Vec<Vec<u8>>, bool)> {
    let s = |v: &str| v.as_bytes().to_vec();
    let mut f: Vec<(Vec<Vec<u8>>, bool)> = vec![
        (vec![s("SET"), s("str:int"), s("12345")], true),
        (
            vec![s("SET"), s("str:bigint"), s("9223372036854775807")],
            true,
        ),
        (vec![s("SET"), s("str:short"), s("hello")], true),
        (vec![s("SET"), s("str:emb"), vec![b'x'; 44]], true),
        (
            vec![s("SET"), s("str:lzf"), "ab".repeat(300).into_bytes()],
            true,
        ),
        (vec![s("SET"), s("str:bin"), b"a\0b\r\nc".to_vec()], true),
        (vec![s("SET"), s("str:raw"), pseudo_random(1000)], true),
        (
            vec![s("PFADD"), s("hll"), s("a"), s("b"), s("c"), s("d")],
            true,
        ),
        (
            vec![
                s("RPUSH"),
                s("list:small"),
                s("a"),
                s("b"),
                s("1"),
                s("300"),
                s("-5"),
            ],
            true,
        ),
        (
            vec![s("RPUSH"), s("list:huge-element"), vec![b'h'; 10_000]],
            true,
        ),
        (
            vec![
                s("SADD"),
                s("set:ints"),
                s("1"),
                s("2"),
                s("-7"),
                s("70000"),
            ],
            true,
        ),
        (
            vec![s("SADD"), s("set:small"), s("a"), s("b"), s("c")],
            false,
        ),
        (
            vec![s("HSET"), s("hash:small"), s("f"), s("v"), s("n"), s("7")],
            true,
        ),
        (
            vec![s("HSET"), s("hash:longval"), s("f"), vec![b'v'; 100]],
            false,
        ),
        (
            vec![
                s("ZADD"),
                s("zset:small"),
                s("1"),
                s("a"),
                s("2.5"),
                s("b"),
                s("-inf"),
                s("c"),
            ],
            true,
        ),
        (
            vec![s("ZADD"), s("zset:longmember"), s("1"), vec![b'm'; 100]],
            true,
        ),
    ];
    let mut list = vec![s("RPUSH"), s("list:big")];
    list.extend((0..1000).map(|i| format!("element-{i}-{}", "p".repeat(i % 50)).into_bytes()));
    f.push((list, true));
    let mut ints = vec![s("SADD"), s("set:bigints")];
    ints.extend((0..600).map(|i| (i * 3).to_string().into_bytes()));
    f.push((ints, false));
    let mut set = vec![s("SADD"), s("set:big")];
    set.extend((0..200).map(|i| format!("member-{i}").into_bytes()));
    f.push((set, false));
    let mut hash = vec![s("HSET"), s("hash:big")];
    for i in 0..200 {
        hash.push(format!("field-{i}").into_bytes());
        hash.push(format!("value-{i}").into_bytes());
    }
    f.push((hash, false));
    let mut zset = vec![s("ZADD"), s("zset:big")];
    for i in 0..200 {
        zset.push(format!("{}", i as f64 / 3.0).into_bytes());
        zset.push(format!("member-{i}").into_bytes());
    }
    f.push((zset, true));
    f
}

fn load_fixture(c: &mut Connection) -> Vec<(Vec<u8>, bool)> {
    fixture()
        .into_iter()
        .map(|(args, deterministic)| {
            let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
            bin(&refs).query::<Value>(c).expect("fixture command");
            (args[1].clone(), deterministic)
        })
        .collect()
}

/// A key's type and content, in a form independent of encoding and order.
fn snapshot(c: &mut Connection, key: &[u8]) -> (String, Vec<Vec<u8>>) {
    let kind: String = bin(&[b"TYPE", key]).query(c).unwrap();
    let mut content: Vec<Vec<u8>> = match kind.as_str() {
        "string" => vec![bin(&[b"GET", key]).query(c).unwrap()],
        "list" => bin(&[b"LRANGE", key, b"0", b"-1"]).query(c).unwrap(),
        "set" => bin(&[b"SMEMBERS", key]).query(c).unwrap(),
        "hash" => bin(&[b"HGETALL", key]).query(c).unwrap(),
        "zset" => bin(&[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"])
            .query(c)
            .unwrap(),
        other => panic!("unexpected type {other}"),
    };
    if kind == "set" {
        content.sort();
    }
    if kind == "hash" {
        let mut pairs: Vec<Vec<u8>> = content
            .chunks(2)
            .map(|p| [&p[0][..], b"=", &p[1]].concat())
            .collect();
        pairs.sort();
        content = pairs;
    }
    (kind, content)
}

fn dump(c: &mut Connection, key: &[u8]) -> Vec<u8> {
    bin(&[b"DUMP", key]).query(c).unwrap()
}

fn restore(c: &mut Connection, key: &[u8], payload: &[u8]) {
    let ok: String = bin(&[b"RESTORE", key, b"0", payload]).query(c).unwrap();
    assert_eq!(ok, "OK");
}

#[test]
fn redis_payloads_restore_into_corecache() {
    let Some(redis) = RedisServer::start("redis_payloads_restore_into_corecache", &[]) else {
        return;
    };
    let server = Server::start(2);
    let (mut r, mut c) = (redis.conn(), server.conn());
    for (key, _) in load_fixture(&mut r) {
        restore(&mut c, &key, &dump(&mut r, &key));
        assert_eq!(
            snapshot(&mut c, &key),
            snapshot(&mut r, &key),
            "{}",
            String::from_utf8_lossy(&key)
        );
    }
    let count: i64 = q(&mut c, &["PFCOUNT", "hll"]);
    assert_eq!(count, 4);
}

#[test]
fn corecache_payloads_restore_into_redis() {
    let Some(redis) = RedisServer::start("corecache_payloads_restore_into_redis", &[]) else {
        return;
    };
    let server = Server::start(2);
    let (mut r, mut c) = (redis.conn(), server.conn());
    for (key, _) in load_fixture(&mut c) {
        restore(&mut r, &key, &dump(&mut c, &key));
        assert_eq!(
            snapshot(&mut r, &key),
            snapshot(&mut c, &key),
            "{}",
            String::from_utf8_lossy(&key)
        );
    }
    let count: i64 = q(&mut r, &["PFCOUNT", "hll"]);
    assert_eq!(count, 4);
}

#[test]
fn dumps_match_redis_byte_for_byte() {
    let Some(redis) = RedisServer::start("dumps_match_redis_byte_for_byte", &[]) else {
        return;
    };
    let server = Server::start(1);
    let (mut r, mut c) = (redis.conn(), server.conn());
    load_fixture(&mut r);
    for (key, deterministic) in load_fixture(&mut c) {
        if deterministic {
            assert_eq!(
                dump(&mut c, &key),
                dump(&mut r, &key),
                "{}",
                String::from_utf8_lossy(&key)
            );
        }
    }
}

/// The reply of a command as text: "+status", "-error", ":n", or bulk contents.
fn reply_text(c: &mut Connection, args: &[&[u8]]) -> String {
    match bin(args).query::<Value>(c) {
        Ok(Value::Okay) => "+OK".into(),
        Ok(Value::SimpleString(s)) => format!("+{s}"),
        Ok(Value::Int(n)) => format!(":{n}"),
        Ok(Value::Nil) => "nil".into(),
        Ok(Value::BulkString(b)) => String::from_utf8_lossy(&b).into_owned(),
        Ok(other) => format!("{other:?}"),
        Err(e) => format!("-{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or("")),
    }
}

/// `body` (type byte and value) with a version 10 footer and a correct checksum.
fn payload(body: &[u8]) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&[10, 0]);
    let crc = crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

/// CRC-64/Jones as Redis computes it (bitwise; independent of the server's table).
fn crc64(data: &[u8]) -> u64 {
    let mut crc = 0u64;
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5
            } else {
                crc >> 1
            };
        }
    }
    crc
}

#[test]
fn restore_replies_match_redis() {
    let Some(redis) = RedisServer::start("restore_replies_match_redis", &[]) else {
        return;
    };
    let server = Server::start(2);
    let (mut r, mut c) = (redis.conn(), server.conn());
    let good = payload(b"\x00\x05hello");
    let mut flipped = good.clone();
    flipped[2] ^= 0x20;
    let mut newer = payload(b"\x00\x01v");
    newer[3] = 12;
    let cases: Vec<Vec<&[u8]>> = vec![
        vec![b"SET", b"busy", b"x"],
        vec![b"RESTORE", b"busy", b"0", &good],
        vec![b"RESTORE", b"k", b"-1", &good],
        vec![b"RESTORE", b"k", b"1.5", &good],
        vec![b"RESTORE", b"k", b"0", &flipped],
        vec![b"RESTORE", b"k", b"0", &newer],
        vec![b"RESTORE", b"k", b"0", b"short"],
        vec![b"RESTORE", b"k", b"0", &good, b"bogus"],
        vec![b"RESTORE", b"k", b"0", &good, b"IDLETIME", b"-1"],
        vec![b"RESTORE", b"k", b"0", &good, b"FREQ", b"300"],
        vec![
            b"RESTORE",
            b"k",
            b"0",
            &good,
            b"FREQ",
            b"3",
            b"IDLETIME",
            b"1",
        ],
        vec![b"RESTORE", b"k", b"0", &good, b"IDLETIME"],
        vec![b"RESTORE", b"k", b"0", &good, b"IDLETIME", b"100"],
        vec![b"OBJECT", b"IDLETIME", b"k"],
        vec![b"GET", b"k"],
        vec![b"RESTORE", b"k", b"0", &good, b"REPLACE", b"ABSTTL"],
        vec![b"RESTORE", b"gone", b"1000", &good, b"ABSTTL"],
        vec![b"EXISTS", b"gone"],
        vec![b"RESTORE", b"busy", b"1", &good, b"REPLACE", b"ABSTTL"],
        vec![b"EXISTS", b"busy"],
        vec![b"DUMP", b"nokey"],
        vec![b"DUMP", b"k"],
    ];
    let bad_bodies: [&[u8]; 5] = [
        b"\x12\x00",
        b"\x02\x02\x01a\x01a",
        b"\x04\x00",
        b"\x00\xc3\x02\x05\x00a",
        b"\x0b\x08\x02\x00\x00\x00\x01\x00\x00\x00",
    ];
    let bad: Vec<Vec<u8>> = bad_bodies.iter().map(|b| payload(b)).collect();
    let mut all = cases;
    for p in &bad {
        all.push(vec![b"RESTORE", b"bad", b"0", p]);
    }
    for args in all {
        let ours = reply_text(&mut c, &args);
        assert_eq!(
            ours,
            reply_text(&mut r, &args),
            "{:?}",
            String::from_utf8_lossy(&args.concat())
        );
    }
}

#[test]
fn restore_keeps_ttl_on_every_shard() {
    for n in SHARD_COUNTS {
        let server = Server::start(n);
        let mut c = server.conn();
        for key in keys_on_every_shard(n) {
            let _: () = q(&mut c, &["RPUSH", &key, "a", "b"]);
            let payload = dump(&mut c, key.as_bytes());
            let copy = format!("{key}:copy");
            let ok: String = bin(&[b"RESTORE", copy.as_bytes(), b"60000", &payload])
                .query(&mut c)
                .unwrap();
            assert_eq!(ok, "OK");
            let pttl: i64 = q(&mut c, &["PTTL", &copy]);
            assert!((59_000..=60_000).contains(&pttl), "{pttl}");
            let items: Vec<String> = q(&mut c, &["LRANGE", &copy, "0", "-1"]);
            assert_eq!(items, ["a", "b"]);
        }
    }
}

/// FUNCTION DUMP payloads move both ways between redis-server and corecache (Redis 7's
/// format: FUNCTION2 records, RDB version, CRC-64), with every restore policy.
#[test]
fn function_payloads_move_between_redis_and_corecache() {
    let Some(redis) = RedisServer::start("function_payloads_move", &[]) else {
        return;
    };
    let server = Server::start(2);
    let (mut r, mut c) = (redis.conn(), server.conn());
    let libs = [
        "#!lua name=one\nredis.register_function('f1', function() return 'one' end)",
        "#!lua name=two\nredis.register_function{function_name='f2', callback=function() return string.rep('two', 30) end, flags={'no-writes'}}",
    ];
    for (from, to) in [(0, 1), (1, 0)] {
        let conns = [&mut r, &mut c];
        let [a, b] = conns;
        let (src, dst) = if from == 0 { (a, b) } else { (b, a) };
        let _: () = q(src, &["FUNCTION", "FLUSH"]);
        let _: () = q(dst, &["FUNCTION", "FLUSH"]);
        for lib in libs {
            let _: String = q(src, &["FUNCTION", "LOAD", lib]);
        }
        let payload: Vec<u8> = cmd(&["FUNCTION", "DUMP"]).query(src).unwrap();
        let restore = |c: &mut redis::Connection, policy: Option<&str>| -> redis::RedisResult<()> {
            let mut command = redis::cmd("FUNCTION");
            command.arg("RESTORE").arg(&payload);
            if let Some(p) = policy {
                command.arg(p);
            }
            command.query(c)
        };
        restore(dst, None).unwrap();
        let one: String = q(dst, &["FCALL", "f1", "0"]);
        let two: String = q(dst, &["FCALL_RO", "f2", "0"]);
        assert_eq!((one.as_str(), two.len()), ("one", 90), "{from} -> {to}");
        let e = restore(dst, None).unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
        restore(dst, Some("REPLACE")).unwrap();
        restore(dst, Some("FLUSH")).unwrap();
        let list: Vec<Value> = q(dst, &["FUNCTION", "LIST"]);
        assert_eq!(list.len(), 2);
    }
}
