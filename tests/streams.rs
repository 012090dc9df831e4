//! Streams through real connections: blocking XREAD / XREADGROUP woken from another
//! connection (so, with several shards, from another shard), their timeouts and
//! errors, consumer groups over keys on different shards, and RESP3 reply shapes. The
//! exact replies of every stream command are compared with redis-server by
//! tests/compat/streams.txt.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::*;
use redis::Value;

/// Runs `args` on a new connection in a thread (it may block).
fn spawn_query(s: &Server, args: &[&str]) -> thread::JoinHandle<Value> {
    let url = s.url();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    thread::spawn(move || {
        let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        cmd(&refs)
            .query::<Value>(&mut c)
            .unwrap_or_else(|e| Value::SimpleString(format!("ERROR {e}")))
    })
}

/// XREAD's reply as strings: `[[key, [[id, [f, v, ...]], ...]], ...]`.
type Streams = Vec<(String, Vec<(String, Vec<String>)>)>;

/// `[[key, [[id, [f, v]]]]]`.
fn one_entry(key: &str, id: &str, field: &str, value: &str) -> Streams {
    vec![(
        key.to_string(),
        vec![(id.to_string(), vec![field.to_string(), value.to_string()])],
    )]
}

fn as_streams(v: Value) -> Streams {
    let shown = format!("{v:?}");
    redis::from_redis_value(v).unwrap_or_else(|e| panic!("{shown}: {e}"))
}

#[test]
fn xread_block_on_dollar_wakes_on_an_entry_added_on_any_shard() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        for key in keys_on_every_shard(n) {
            // An entry that exists before the read does not satisfy `$`.
            let _: String = q(&mut c, &["XADD", &key, "1-1", "old", "x"]);
            let waiter = spawn_query(&s, &["XREAD", "BLOCK", "5000", "STREAMS", &key, "$"]);
            wait_blocked(&mut c, 1);
            let id: String = q(&mut c, &["XADD", &key, "*", "f", "v"]);
            assert_eq!(
                as_streams(waiter.join().unwrap()),
                one_entry(&key, &id, "f", "v"),
                "{n} shards, key {key}"
            );
            wait_blocked(&mut c, 0);
        }
    }
}

#[test]
fn a_blocked_xread_over_streams_on_several_shards_wakes_for_the_one_written() {
    for n in [2, 4] {
        let s = Server::start(n);
        let keys = keys_on_every_shard(n);
        let mut c = s.conn();
        let mut args = vec!["XREAD", "COUNT", "5", "BLOCK", "5000", "STREAMS"];
        args.extend(keys.iter().map(String::as_str));
        args.extend(keys.iter().map(|_| "$"));
        let waiter = spawn_query(&s, &args);
        wait_blocked(&mut c, 1);
        let last = keys.last().unwrap();
        let _: String = q(&mut c, &["XADD", last, "7-1", "a", "b"]);
        assert_eq!(
            as_streams(waiter.join().unwrap()),
            one_entry(last, "7-1", "a", "b"),
            "{n} shards"
        );
    }
}

#[test]
fn every_blocked_reader_gets_the_same_entry() {
    for n in [1, 2] {
        let s = Server::start(n);
        let mut c = s.conn();
        let waiters: Vec<_> = (0..3)
            .map(|_| spawn_query(&s, &["XREAD", "BLOCK", "5000", "STREAMS", "st", "0-0"]))
            .collect();
        wait_blocked(&mut c, 3);
        let _: String = q(&mut c, &["XADD", "st", "5-5", "k", "v"]);
        for w in waiters {
            assert_eq!(
                as_streams(w.join().unwrap()),
                one_entry("st", "5-5", "k", "v")
            );
        }
    }
}

#[test]
fn xread_block_times_out_with_a_null_and_checks_its_timeout() {
    let s = Server::start(2);
    let mut r = s.raw();
    let t = Instant::now();
    r.roundtrip(
        &resp(&[b"XREAD", b"BLOCK", b"200", b"STREAMS", b"none", b"$"]),
        b"*-1\r\n",
    );
    assert!(
        t.elapsed() >= Duration::from_millis(190),
        "{:?}",
        t.elapsed()
    );
    r.roundtrip(
        &resp(&[b"XREAD", b"BLOCK", b"-1", b"STREAMS", b"none", b"$"]),
        b"-ERR timeout is negative\r\n",
    );
    // Inside MULTI a blocking read does not block.
    r.roundtrip(&resp(&[b"MULTI"]), b"+OK\r\n");
    r.roundtrip(
        &resp(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"none", b"$"]),
        b"+QUEUED\r\n",
    );
    r.roundtrip(&resp(&[b"EXEC"]), b"*1\r\n*-1\r\n");
}

#[test]
fn xreadgroup_block_delivers_new_entries_and_records_them_pending() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        for key in keys_on_every_shard(n) {
            let _: String = q(&mut c, &["XGROUP", "CREATE", &key, "g", "$", "MKSTREAM"]);
            let waiter = spawn_query(
                &s,
                &[
                    "XREADGROUP",
                    "GROUP",
                    "g",
                    "alice",
                    "BLOCK",
                    "5000",
                    "STREAMS",
                    &key,
                    ">",
                ],
            );
            wait_blocked(&mut c, 1);
            let _: String = q(&mut c, &["XADD", &key, "3-0", "job", "1"]);
            assert_eq!(
                as_streams(waiter.join().unwrap()),
                one_entry(&key, "3-0", "job", "1")
            );
            let pending: (i64, String, String, Vec<(String, String)>) =
                q(&mut c, &["XPENDING", &key, "g"]);
            assert_eq!(
                pending,
                (
                    1,
                    "3-0".into(),
                    "3-0".into(),
                    vec![("alice".into(), "1".into())]
                ),
                "{n} shards, key {key}"
            );
            let acked: i64 = q(&mut c, &["XACK", &key, "g", "3-0"]);
            assert_eq!(acked, 1);
        }
    }
}

#[test]
fn a_blocked_xreadgroup_fails_when_its_group_or_key_goes_away() {
    for n in [1, 2] {
        let s = Server::start(n);
        let mut c = s.conn();
        let _: String = q(&mut c, &["XGROUP", "CREATE", "q", "g", "$", "MKSTREAM"]);
        let read = [
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "BLOCK",
            "5000",
            "STREAMS",
            "q",
            ">",
        ];
        let waiter = spawn_query(&s, &read);
        wait_blocked(&mut c, 1);
        let _: i64 = q(&mut c, &["XGROUP", "DESTROY", "q", "g"]);
        let got = format!("{:?}", waiter.join().unwrap());
        assert!(
            got.contains("the consumer group this client was blocked on no longer exists"),
            "{n} shards: {got}"
        );
        let _: String = q(&mut c, &["XGROUP", "CREATE", "q", "g", "$"]);
        let waiter = spawn_query(&s, &read);
        wait_blocked(&mut c, 1);
        let _: i64 = q(&mut c, &["DEL", "q"]);
        let got = format!("{:?}", waiter.join().unwrap());
        assert!(
            got.contains("the stream key no longer exists"),
            "{n} shards: {got}"
        );
    }
}

#[test]
fn consumer_groups_over_streams_on_different_shards() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let keys = keys_on_every_shard(n);
        for (i, key) in keys.iter().enumerate() {
            for j in 1..=3 {
                let id = format!("{j}-{i}");
                let _: String = q(&mut c, &["XADD", key, &id, "n", &j.to_string()]);
            }
            let _: String = q(&mut c, &["XGROUP", "CREATE", key, "workers", "0"]);
        }
        // One read over every stream, two entries each, then the rest to another
        // consumer.
        let mut args = vec![
            "XREADGROUP",
            "GROUP",
            "workers",
            "w1",
            "COUNT",
            "2",
            "STREAMS",
        ];
        args.extend(keys.iter().map(String::as_str));
        args.extend(keys.iter().map(|_| ">"));
        let first = as_streams(cmd(&args).query(&mut c).unwrap());
        assert_eq!(first.len(), keys.len());
        assert!(first.iter().all(|(_, entries)| entries.len() == 2));
        args[3] = "w2";
        let second = as_streams(cmd(&args).query(&mut c).unwrap());
        assert!(second.iter().all(|(_, entries)| entries.len() == 1));
        for (i, key) in keys.iter().enumerate() {
            let groups: Vec<std::collections::HashMap<String, Value>> =
                q(&mut c, &["XINFO", "GROUPS", key]);
            assert_eq!(groups[0]["pending"], Value::Int(3), "{n} shards, {key}");
            assert_eq!(groups[0]["lag"], Value::Int(0));
            assert_eq!(groups[0]["entries-read"], Value::Int(3));
            let acked: i64 = q(
                &mut c,
                &["XACK", key, "workers", &format!("1-{i}"), &format!("3-{i}")],
            );
            assert_eq!(acked, 2);
            // w1 still owns 2-i: claiming it moves it to w2.
            let claimed: Vec<String> = q(
                &mut c,
                &[
                    "XCLAIM",
                    key,
                    "workers",
                    "w2",
                    "0",
                    &format!("2-{i}"),
                    "JUSTID",
                ],
            );
            assert_eq!(claimed, vec![format!("2-{i}")]);
            let mine: Vec<(String, String, i64, i64)> =
                q(&mut c, &["XPENDING", key, "workers", "-", "+", "10", "w2"]);
            assert_eq!(mine.len(), 1);
            assert_eq!(mine[0].1, "w2");
        }
    }
}

#[test]
fn xread_replies_are_a_map_in_resp3() {
    let s = Server::start(2);
    let mut c = s.conn();
    let _: String = q(&mut c, &["XADD", "m", "1-0", "a", "b"]);
    let mut r = s.raw();
    r.send(&resp(&[b"HELLO", b"3"]));
    // The HELLO reply is over once the PING after it answers.
    r.send(&resp(&[b"PING"]));
    while r.read_line() != "+PONG\r\n" {}
    r.roundtrip(
        &resp(&[b"XREAD", b"STREAMS", b"m", b"0"]),
        b"%1\r\n$1\r\nm\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n",
    );
    let mut r2 = s.raw();
    r2.roundtrip(
        &resp(&[b"XREAD", b"STREAMS", b"m", b"0"]),
        b"*1\r\n*2\r\n$1\r\nm\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n",
    );
}
