//! Blocking commands through real connections: wake-up from another connection (and so,
//! with several shards, from another shard), timeouts, first-blocked-first-served order,
//! disconnect while blocked, keys on different shards.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::*;
use redis::Value;

#[test]
fn blpop_wakes_when_another_client_pushes_on_any_shard() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        for key in keys_on_every_shard(n) {
            let url = s.url();
            let k = key.clone();
            let waiter = thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                q::<Vec<String>>(&mut c, &["BLPOP", &k, "5"])
            });
            let mut c = s.conn();
            wait_blocked(&mut c, 1);
            let _: i64 = q(&mut c, &["RPUSH", &key, "hello"]);
            assert_eq!(
                waiter.join().unwrap(),
                vec![key.clone(), "hello".to_string()]
            );
            let len: i64 = q(&mut c, &["LLEN", &key]);
            assert_eq!(len, 0, "{n} shards, key {key}");
            wait_blocked(&mut c, 0);
        }
    }
}

#[test]
fn blocking_pop_times_out_with_a_null_reply() {
    for n in [1, 2] {
        let s = Server::start(n);
        let mut r = s.raw();
        let t = Instant::now();
        r.roundtrip(&resp(&[b"BLPOP", b"nothing", b"0.2"]), b"*-1\r\n");
        assert!(
            t.elapsed() >= Duration::from_millis(190),
            "{:?}",
            t.elapsed()
        );
        r.roundtrip(
            &resp(&[b"BLMOVE", b"a", b"b", b"LEFT", b"RIGHT", b"0.1"]),
            b"*-1\r\n",
        );
        r.roundtrip(
            &resp(&[b"BLPOP", b"k", b"-1"]),
            b"-ERR timeout is negative\r\n",
        );
        r.roundtrip(
            &resp(&[b"BLPOP", b"k", b"abc"]),
            b"-ERR timeout is not a float or out of range\r\n",
        );
    }
}

#[test]
fn first_blocked_client_is_served_first() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let mut waiters = Vec::new();
        for i in 0..3 {
            let url = s.url();
            waiters.push(thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                q::<Vec<String>>(&mut c, &["BLPOP", "queue", "5"])
            }));
            wait_blocked(&mut c, i + 1);
        }
        let _: i64 = q(&mut c, &["RPUSH", "queue", "first", "second", "third"]);
        let got: Vec<String> = waiters
            .into_iter()
            .map(|w| w.join().unwrap()[1].clone())
            .collect();
        assert_eq!(got, vec!["first", "second", "third"], "{n} shards");
    }
}

#[test]
fn disconnect_while_blocked_leaves_nothing_behind() {
    for n in [1, 2, 4] {
        let s = Server::start(n);
        let mut c = s.conn();
        {
            let mut r = s.raw();
            r.send(&resp(&[b"BLPOP", b"gone", b"0"]));
            wait_blocked(&mut c, 1);
        } // the raw client's socket closes here
        wait_blocked(&mut c, 0);
        let _: i64 = q(&mut c, &["RPUSH", "gone", "kept"]);
        let len: i64 = q(&mut c, &["LLEN", "gone"]);
        assert_eq!(
            len, 1,
            "{n} shards: a departed waiter must not consume data"
        );
    }
}

#[test]
fn blpop_over_keys_on_different_shards_takes_the_first_key_with_data() {
    for n in [2, 4] {
        let s = Server::start(n);
        let keys = keys_on_every_shard(n);
        let mut c = s.conn();
        // Data already there: the first key in argument order that has data wins.
        let _: i64 = q(&mut c, &["RPUSH", &keys[1], "b"]);
        let _: i64 = q(&mut c, &["RPUSH", &keys[0], "a"]);
        let got: Vec<String> = q(&mut c, &["BLPOP", &keys[0], &keys[1], "1"]);
        assert_eq!(got, vec![keys[0].clone(), "a".to_string()]);
        // Nothing there: a push to the second key wakes the waiter.
        let _: Value = q(&mut c, &["DEL", &keys[1]]);
        let url = s.url();
        let (k0, k1) = (keys[0].clone(), keys[1].clone());
        let waiter = thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            q::<Vec<String>>(&mut c, &["BRPOP", &k0, &k1, "5"])
        });
        wait_blocked(&mut c, 1);
        let _: i64 = q(&mut c, &["LPUSH", &keys[1], "x"]);
        assert_eq!(
            waiter.join().unwrap(),
            vec![keys[1].clone(), "x".to_string()]
        );
    }
}

#[test]
fn blmove_waits_then_moves_between_shards() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let keys = keys_on_every_shard(n);
        let src = keys[0].clone();
        let dst = if n == 1 {
            "destination".to_string()
        } else {
            keys[n - 1].clone()
        };
        let url = s.url();
        let (a, b) = (src.clone(), dst.clone());
        let waiter = thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            q::<String>(&mut c, &["BLMOVE", &a, &b, "LEFT", "RIGHT", "5"])
        });
        let mut c = s.conn();
        wait_blocked(&mut c, 1);
        let _: i64 = q(&mut c, &["RPUSH", &src, "moved"]);
        assert_eq!(waiter.join().unwrap(), "moved");
        let dest: Vec<String> = q(&mut c, &["LRANGE", &dst, "0", "-1"]);
        assert_eq!(dest, vec!["moved"], "{n} shards");
        let left: i64 = q(&mut c, &["EXISTS", &src]);
        assert_eq!(left, 0, "{n} shards: the emptied source is deleted");
    }
}

#[test]
fn bzpopmin_wakes_on_zadd() {
    for n in [1, 2] {
        let s = Server::start(n);
        let url = s.url();
        let waiter = thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            q::<Vec<String>>(&mut c, &["BZPOPMIN", "z", "5"])
        });
        let mut c = s.conn();
        wait_blocked(&mut c, 1);
        let _: i64 = q(&mut c, &["ZADD", "z", "2", "b", "1", "a"]);
        assert_eq!(waiter.join().unwrap(), vec!["z", "a", "1"]);
    }
}

#[test]
fn commands_pipelined_after_a_blocking_one_run_after_it() {
    let s = Server::start(2);
    let mut r = s.raw();
    let mut req = resp(&[b"BLPOP", b"pq", b"5"]);
    req.extend(resp(&[b"PING"]));
    r.send(&req);
    let mut c = s.conn();
    wait_blocked(&mut c, 1);
    let _: i64 = q(&mut c, &["RPUSH", "pq", "v"]);
    let want = b"*2\r\n$2\r\npq\r\n$1\r\nv\r\n+PONG\r\n";
    assert_eq!(r.read_exact_len(want.len()), want);
}

#[test]
fn client_kill_unblocks_and_closes_a_blocked_client() {
    let s = Server::start(2);
    let mut victim = s.conn();
    let id: i64 = q(&mut victim, &["CLIENT", "ID"]);
    let url = s.url();
    let _ = url;
    let handle = thread::spawn(move || {
        let r: redis::RedisResult<Value> =
            redis::cmd("BLPOP").arg("never").arg("0").query(&mut victim);
        r.is_err()
    });
    let mut c = s.conn();
    wait_blocked(&mut c, 1);
    let killed: i64 = q(&mut c, &["CLIENT", "KILL", "ID", &id.to_string()]);
    assert_eq!(killed, 1);
    assert!(
        handle.join().unwrap(),
        "the killed client's BLPOP must fail"
    );
    wait_blocked(&mut c, 0);
}

#[test]
fn every_blocking_command_wakes_on_data_from_another_shard() {
    for n in [1, 4] {
        let s = Server::start(n);
        let keys = keys_on_every_shard(n);
        let (src, dst) = (keys[n - 1].clone(), format!("dst:{n}"));
        // (blocking command, the write that feeds it, the reply it must get)
        let cases: Vec<(Vec<String>, Vec<String>, String)> = vec![
            (
                vec![
                    "BLMPOP".into(),
                    "5".into(),
                    "1".into(),
                    src.clone(),
                    "LEFT".into(),
                ],
                vec!["RPUSH".into(), src.clone(), "m".into()],
                format!("[{src:?}, [\"m\"]]"),
            ),
            (
                vec!["BRPOPLPUSH".into(), src.clone(), dst.clone(), "5".into()],
                vec!["RPUSH".into(), src.clone(), "r".into()],
                "\"r\"".to_string(),
            ),
            (
                vec!["BZPOPMAX".into(), src.clone(), "5".into()],
                vec!["ZADD".into(), src.clone(), "7".into(), "z".into()],
                format!("[{src:?}, \"z\", \"7\"]"),
            ),
            (
                vec![
                    "BZMPOP".into(),
                    "5".into(),
                    "1".into(),
                    src.clone(),
                    "MIN".into(),
                ],
                vec!["ZADD".into(), src.clone(), "3".into(), "y".into()],
                format!("[{src:?}, [[\"y\", \"3\"]]]"),
            ),
        ];
        for (block, feed, want) in cases {
            let url = s.url();
            let waiter = thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                let mut cmd = redis::cmd(&block[0]);
                for a in &block[1..] {
                    cmd.arg(a);
                }
                let v: Value = cmd.query(&mut c).unwrap();
                render(&v)
            });
            let mut c = s.conn();
            wait_blocked(&mut c, 1);
            let mut cmd = redis::cmd(&feed[0]);
            for a in &feed[1..] {
                cmd.arg(a);
            }
            let _: Value = cmd.query(&mut c).unwrap();
            assert_eq!(waiter.join().unwrap(), want, "{n} shards, {}", feed[0]);
            let _: Value = redis::cmd("DEL").arg(&src).arg(&dst).query(&mut c).unwrap();
        }
    }
}

/// A compact rendering of a reply: bulk strings quoted, arrays bracketed.
fn render(v: &Value) -> String {
    match v {
        Value::BulkString(b) => format!("{:?}", String::from_utf8_lossy(b)),
        Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(render).collect::<Vec<_>>().join(", ")
            )
        }
        other => format!("{other:?}"),
    }
}

/// A transaction or script that pushes to a list a client waits on keeps its own view:
/// the waiter is served when it is over (Redis serves blocked clients after the command).
#[test]
fn blocked_clients_are_served_after_a_transaction_or_script_not_inside_it() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        for (i, via_script) in [false, true].into_iter().enumerate() {
            let key = format!("wait:{i}");
            let url = s.url();
            let k = key.clone();
            let waiter = thread::spawn(move || {
                let mut w = redis::Client::open(url).unwrap().get_connection().unwrap();
                let got: Vec<String> = q(&mut w, &["BLPOP", &k, "10"]);
                got
            });
            wait_blocked(&mut c, 1);
            let len: i64 = if via_script {
                q(
                    &mut c,
                    &[
                        "EVAL",
                        "redis.call('LPUSH', KEYS[1], 'a') return redis.call('LLEN', KEYS[1])",
                        "1",
                        &key,
                    ],
                )
            } else {
                let mut p = redis::pipe();
                p.atomic()
                    .cmd("LPUSH")
                    .arg(&key)
                    .arg("a")
                    .cmd("LLEN")
                    .arg(&key);
                let (_, len): (i64, i64) = p.query(&mut c).unwrap();
                len
            };
            assert_eq!(len, 1, "{n} shards, script: {via_script}");
            assert_eq!(waiter.join().unwrap(), vec![key.clone(), "a".to_string()]);
            let left: i64 = q(&mut c, &["LLEN", &key]);
            assert_eq!(left, 0);
        }
    }
}
