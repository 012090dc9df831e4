//! Pipelining: many commands in flight on one connection, over keys on every shard, get
//! their replies in request order, whatever the read boundaries are.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use redis::Value;

/// The first key `prefix:i` owned by `shard` of an `n`-shard server.
fn key_on(n: usize, shard: usize, prefix: &str) -> String {
    (0..100_000)
        .map(|i| format!("{prefix}:{i}"))
        .find(|k| slot_of(k.as_bytes()) as usize * n / 16384 == shard)
        .expect("a key for every shard")
}

fn bulk(v: &[u8]) -> Value {
    Value::BulkString(v.to_vec())
}

fn get_value(model: &HashMap<String, Vec<u8>>, k: &str) -> Value {
    model.get(k).map_or(Value::Nil, |v| bulk(v))
}

#[test]
fn pipeline_of_10000_mixed_commands_matches_a_model() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let keys: Vec<String> = (0..200).map(|i| format!("pk:{i}")).collect();
        let spread: std::collections::HashSet<usize> = keys
            .iter()
            .map(|k| slot_of(k.as_bytes()) as usize * n / 16384)
            .collect();
        assert_eq!(spread.len(), n);

        let mut rng = Rng(0xdead_beef_cafe_f00d ^ (n as u64) << 32);
        let mut model: HashMap<String, Vec<u8>> = HashMap::new();
        let mut pipe = redis::pipe();
        let mut expected = Vec::with_capacity(10_000);
        for i in 0..10_000 {
            let k = keys[rng.below(keys.len())].clone();
            let k2 = keys[rng.below(keys.len())].clone();
            match rng.below(7) {
                0 => {
                    let v = format!("v{i}");
                    pipe.cmd("SET").arg(&k).arg(&v);
                    model.insert(k, v.into_bytes());
                    expected.push(Value::Okay);
                }
                1 => {
                    pipe.cmd("GET").arg(&k);
                    expected.push(get_value(&model, &k));
                }
                2 => {
                    let current = model
                        .get(&k)
                        .map(|v| std::str::from_utf8(v).ok()?.parse::<i64>().ok());
                    match current {
                        None => {
                            pipe.cmd("INCR").arg(&k);
                            model.insert(k, b"1".to_vec());
                            expected.push(Value::Int(1));
                        }
                        Some(Some(x)) => {
                            pipe.cmd("INCR").arg(&k);
                            model.insert(k, (x + 1).to_string().into_bytes());
                            expected.push(Value::Int(x + 1));
                        }
                        Some(None) => {
                            pipe.cmd("STRLEN").arg(&k);
                            expected.push(Value::Int(model[&k].len() as i64));
                        }
                    }
                }
                3 => {
                    let missing = format!("missing:{i}");
                    pipe.cmd("DEL").arg(&k).arg(&k2).arg(&missing).arg(&k);
                    let mut deleted = 0;
                    for key in [&k, &k2] {
                        if model.remove(key).is_some() {
                            deleted += 1;
                        }
                    }
                    expected.push(Value::Int(deleted));
                }
                4 => {
                    let k3 = keys[rng.below(keys.len())].clone();
                    pipe.cmd("MGET").arg(&k).arg(&k2).arg("missing").arg(&k3);
                    expected.push(Value::Array(vec![
                        get_value(&model, &k),
                        get_value(&model, &k2),
                        Value::Nil,
                        get_value(&model, &k3),
                    ]));
                }
                5 => {
                    pipe.cmd("EXISTS").arg(&k).arg(&k2).arg(&k).arg("missing");
                    let count = [&k, &k2, &k]
                        .iter()
                        .filter(|key| model.contains_key(key.as_str()))
                        .count();
                    expected.push(Value::Int(count as i64));
                }
                _ => {
                    let suffix = if rng.below(3) == 0 {
                        "7".to_string()
                    } else {
                        format!("-{i}")
                    };
                    pipe.cmd("APPEND").arg(&k).arg(&suffix);
                    let v = model.entry(k).or_default();
                    v.extend_from_slice(suffix.as_bytes());
                    expected.push(Value::Int(v.len() as i64));
                }
            }
        }
        let got: Vec<Value> = pipe.query(&mut c).unwrap();
        assert_eq!(got.len(), expected.len(), "{n} shards");
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(g, e, "{n} shards: reply {i}");
        }

        // The final state matches the model too.
        let mut mget = redis::cmd("MGET");
        mget.arg(&keys);
        let state: Vec<Value> = mget.query(&mut c).unwrap();
        let want: Vec<Value> = keys.iter().map(|k| get_value(&model, k)).collect();
        assert_eq!(state, want, "{n} shards");
        let size: usize = redis::cmd("DBSIZE").query(&mut c).unwrap();
        assert_eq!(size, model.len(), "{n} shards");
    }
}

#[test]
fn raw_pipeline_of_1000_set_get_in_one_write_gets_exact_replies() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut r = s.raw();
        let mut request = Vec::new();
        let mut expected = Vec::new();
        for i in 0..1000 {
            let k = format!("raw:{i}");
            let v = format!("value-{i}-{}", "x".repeat(i % 50));
            request.extend(resp(&[b"SET", k.as_bytes(), v.as_bytes()]));
            request.extend(resp(&[b"GET", k.as_bytes()]));
            expected.extend_from_slice(b"+OK\r\n");
            expected.extend(format!("${}\r\n{v}\r\n", v.len()).into_bytes());
        }
        r.send(&request);
        let got = r.read_exact_len(expected.len());
        assert!(got == expected, "{n} shards: replies differ");
        // Nothing more was sent: the next reply is the PING's.
        r.roundtrip(b"PING\r\n", b"+PONG\r\n");
    }
}

#[test]
fn commands_that_need_all_shards_see_earlier_pipelined_writes() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let first_key = key_on(n, 0, "first");
        let last_key = key_on(n, n - 1, "last");
        let (first, last) = (first_key.as_bytes(), last_key.as_bytes());
        let mut r = s.raw();
        let mut req = Vec::new();
        req.extend(resp(&[b"SET", last, b"1"]));
        req.extend(resp(&[b"DBSIZE"]));
        req.extend(resp(&[b"RENAME", last, first]));
        req.extend(resp(&[b"GET", first]));
        req.extend(resp(&[b"EXISTS", last]));
        req.extend(resp(&[b"KEYS", b"*"]));
        req.extend(resp(&[b"SELECT", b"1"]));
        req.extend(resp(&[b"GET", first]));
        req.extend(resp(&[b"SET", last, b"db1"]));
        req.extend(resp(&[b"SELECT", b"0"]));
        req.extend(resp(&[b"GET", last]));
        req.extend(resp(&[b"MSETNX", last, b"a", first, b"b"]));
        req.extend(resp(&[b"INCR", first]));
        req.extend(resp(&[b"SCAN", b"0", b"COUNT", b"1000"]));
        req.extend(resp(&[b"FLUSHDB"]));
        req.extend(resp(&[b"DBSIZE"]));
        req.extend(resp(&[b"GET", first]));
        let mut want = Vec::new();
        want.extend_from_slice(b"+OK\r\n:1\r\n+OK\r\n$1\r\n1\r\n:0\r\n");
        want.extend(format!("*1\r\n${}\r\n{first_key}\r\n", first.len()).into_bytes());
        want.extend_from_slice(b"+OK\r\n$-1\r\n+OK\r\n+OK\r\n$-1\r\n:0\r\n:2\r\n");
        // SCAN goes on through the shards until it has COUNT keys or reaches the end.
        let next = "0";
        want.extend(
            format!(
                "*2\r\n$1\r\n{next}\r\n*1\r\n${}\r\n{first_key}\r\n",
                first.len()
            )
            .into_bytes(),
        );
        want.extend_from_slice(b"+OK\r\n:0\r\n$-1\r\n");
        r.send(&req);
        let got = r.read_exact_len(want.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{n} shards"
        );
        // db 1 kept its key.
        r.roundtrip(&resp(&[b"SELECT", b"1"]), b"+OK\r\n");
        r.roundtrip(&resp(&[b"GET", last]), b"$3\r\ndb1\r\n");
    }
}

#[test]
fn frames_split_at_every_byte_boundary_still_parse() {
    let s = Server::start(2);
    let keys = keys_on_every_shard(2);
    let (a, b) = (keys[0].as_bytes(), keys[1].as_bytes());
    let mut req = Vec::new();
    req.extend(resp(&[b"SET", a, b"x\r\ny"]));
    req.extend(resp(&[b"APPEND", b, b"z"]));
    req.extend_from_slice(b"PING\r\n");
    req.extend(resp(&[b"MGET", a, b]));
    req.extend(resp(&[b"DEL", b]));
    let want = "+OK\r\n:1\r\n+PONG\r\n*2\r\n$4\r\nx\r\ny\r\n$1\r\nz\r\n:1\r\n";

    // Every split point, on one connection.
    let mut r = s.raw();
    for cut in 1..req.len() {
        r.send(&req[..cut]);
        std::thread::sleep(Duration::from_micros(300));
        r.send(&req[cut..]);
        let got = r.read_exact_len(want.len());
        assert_eq!(String::from_utf8_lossy(&got), want, "split at byte {cut}");
    }

    // One byte at a time.
    let mut r = s.raw();
    for byte in &req {
        r.send(std::slice::from_ref(byte));
        std::thread::sleep(Duration::from_millis(1));
    }
    let got = r.read_exact_len(want.len());
    assert_eq!(String::from_utf8_lossy(&got), want, "byte by byte");
    r.roundtrip(b"PING\r\n", b"+PONG\r\n");
}
