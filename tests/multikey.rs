//! Multi-key, broadcast and cross-shard commands: every reply must be what one Redis
//! would give, however the keys are spread over the shards.

mod common;

use std::collections::{BTreeSet, HashSet};

use common::*;
use redis::{Connection, Value};

fn shard_of(n: usize, key: &str) -> usize {
    slot_of(key.as_bytes()) as usize * n / 16384
}

/// The first key `prefix:i` owned by `shard` of an `n`-shard server.
fn key_on(n: usize, shard: usize, prefix: &str) -> String {
    (0..100_000)
        .map(|i| format!("{prefix}:{i}"))
        .find(|k| shard_of(n, k) == shard)
        .expect("a key for every shard")
}

/// (source shard, destination shard) pairs: every ordered pair of distinct shards, or
/// the only shard twice on a one-shard server.
fn shard_pairs(n: usize) -> Vec<(usize, usize)> {
    if n == 1 {
        return vec![(0, 0)];
    }
    let mut out = Vec::new();
    for a in 0..n {
        for b in 0..n {
            if a != b {
                out.push((a, b));
            }
        }
    }
    out
}

#[test]
fn mset_then_mget_of_1000_keys_returns_values_in_argument_order() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let keys: Vec<String> = (0..1000).map(|i| format!("mk:{i}")).collect();
        let shards: HashSet<usize> = keys.iter().map(|k| shard_of(n, k)).collect();
        assert_eq!(shards.len(), n, "the keys must span every shard");

        let mut mset = redis::cmd("MSET");
        for (i, k) in keys.iter().enumerate() {
            mset.arg(k).arg(format!("value-{i}"));
        }
        let ok: String = mset.query(&mut c).unwrap();
        assert_eq!(ok, "OK");

        // Argument order: shuffled keys, with missing keys and repeats mixed in.
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ n as u64);
        let mut args: Vec<String> = keys.clone();
        for i in (1..args.len()).rev() {
            let j = rng.below(i + 1);
            args.swap(i, j);
        }
        for i in 0..200 {
            let at = rng.below(args.len());
            if i % 2 == 0 {
                args.insert(at, format!("missing:{i}"));
            } else {
                let repeated = keys[rng.below(keys.len())].clone();
                args.insert(at, repeated);
            }
        }
        let expected: Vec<Option<String>> = args
            .iter()
            .map(|k| k.strip_prefix("mk:").map(|i| format!("value-{i}")))
            .collect();
        let mut mget = redis::cmd("MGET");
        for k in &args {
            mget.arg(k);
        }
        let got: Vec<Option<String>> = mget.query(&mut c).unwrap();
        assert_eq!(got.len(), args.len(), "{n} shards");
        assert_eq!(got, expected, "{n} shards");

        // Only missing keys, and a single key, still answer arrays.
        let none: Vec<Option<String>> = q(&mut c, &["MGET", "missing:a", "missing:b"]);
        assert_eq!(none, vec![None, None]);
        let one: Vec<Option<String>> = q(&mut c, &["MGET", "mk:7"]);
        assert_eq!(one, vec![Some("value-7".to_string())]);

        // MSET with a repeated key keeps the last value, as Redis.
        let keys = keys_on_every_shard(n);
        let ok: String = q(
            &mut c,
            &[
                "MSET",
                &keys[0],
                "first",
                &keys[n - 1],
                "x",
                &keys[0],
                "last",
            ],
        );
        assert_eq!(ok, "OK");
        let v: Option<String> = q(&mut c, &["GET", &keys[0]]);
        assert_eq!(v.as_deref(), Some("last"), "{n} shards");
    }
}

#[test]
fn del_unlink_exists_touch_count_keys_on_every_shard() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let keys = keys_on_every_shard(n);
        let set_all = |c: &mut Connection| {
            let mut mset = redis::cmd("MSET");
            for k in &keys {
                mset.arg(k).arg("v");
            }
            let _: () = mset.query(c).unwrap();
        };
        set_all(&mut c);

        // EXISTS counts a key once per mention.
        let mut args: Vec<&str> = vec!["EXISTS"];
        args.extend(keys.iter().map(String::as_str));
        args.extend(keys.iter().map(String::as_str));
        args.push("nosuchkey");
        assert_eq!(q::<i64>(&mut c, &args), 2 * n as i64, "{n} shards");
        assert_eq!(q::<i64>(&mut c, &["EXISTS", &keys[0], &keys[0]]), 2);
        assert_eq!(q::<i64>(&mut c, &["EXISTS", "nosuchkey"]), 0);

        // TOUCH counts like EXISTS.
        args[0] = "TOUCH";
        assert_eq!(q::<i64>(&mut c, &args), 2 * n as i64, "{n} shards");

        // DEL counts each deleted key once, even when repeated.
        args[0] = "DEL";
        assert_eq!(q::<i64>(&mut c, &args), n as i64, "{n} shards");
        args[0] = "EXISTS";
        assert_eq!(q::<i64>(&mut c, &args), 0, "{n} shards");
        args[0] = "DEL";
        assert_eq!(q::<i64>(&mut c, &args), 0, "{n} shards");

        // UNLINK the same way.
        set_all(&mut c);
        args[0] = "UNLINK";
        assert_eq!(q::<i64>(&mut c, &args), n as i64, "{n} shards");
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
        assert_eq!(q::<i64>(&mut c, &args), 0);
    }
}

#[test]
fn msetnx_across_shards_is_all_or_nothing() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let keys = keys_on_every_shard(n);
        let mut fresh: Vec<String> = keys.iter().map(|k| format!("{k}:nx")).collect();
        fresh.extend(keys.iter().cloned());

        // One key already exists (on the last shard): nothing is written.
        let last = keys[n - 1].clone();
        let _: () = q(&mut c, &["SET", &last, "old"]);
        let mut args: Vec<String> = vec!["MSETNX".into()];
        for k in &fresh {
            args.push(k.clone());
            args.push(format!("new-{k}"));
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(q::<i64>(&mut c, &argv), 0, "{n} shards");
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 1, "{n} shards: nothing new");
        assert_eq!(q::<String>(&mut c, &["GET", &last]), "old");

        // Once it is gone, every key is written.
        assert_eq!(q::<i64>(&mut c, &["DEL", &last]), 1);
        assert_eq!(q::<i64>(&mut c, &argv), 1, "{n} shards");
        for k in &fresh {
            let v: String = q(&mut c, &["GET", k]);
            assert_eq!(v, format!("new-{k}"));
        }
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), fresh.len() as i64);

        // And now any of them blocks the whole command.
        let other: Vec<&str> = vec!["MSETNX", "brand-new", "1", &keys[0], "2"];
        assert_eq!(q::<i64>(&mut c, &other), 0);
        assert_eq!(q::<i64>(&mut c, &["EXISTS", "brand-new"]), 0);

        // A repeated key: Redis sets it and the last value wins.
        let a = key_on(n, 0, "dup");
        let b = key_on(n, n - 1, "dup2");
        assert_eq!(q::<i64>(&mut c, &["MSETNX", &a, "1", &b, "x", &a, "2"]), 1);
        assert_eq!(q::<String>(&mut c, &["GET", &a]), "2");

        // Odd argument counts are refused.
        assert_eq!(
            err(&mut c, &["MSETNX", &a, "1", &b]),
            "ERR wrong number of arguments for 'msetnx' command"
        );
    }
}

#[test]
fn mset_with_odd_argument_count_writes_nothing() {
    for n in [2, 4] {
        let s = Server::start(n);
        let mut c = s.conn();
        let a = key_on(n, 1, "odd");
        let b = key_on(n, 0, "odd");
        assert_eq!(
            err(&mut c, &["MSET", &a, "1", &b]),
            "ERR wrong number of arguments for 'mset' command"
        );
        assert_eq!(q::<i64>(&mut c, &["EXISTS", &a, &b]), 0, "{n} shards");
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0, "{n} shards");
    }
}

#[test]
fn rename_between_shards_moves_value_and_ttl() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        for (i, (from, to)) in shard_pairs(n).into_iter().enumerate() {
            let src = key_on(n, from, &format!("src{i}"));
            let dst = key_on(n, to, &format!("dst{i}"));
            let _: () = q(&mut c, &["SET", &src, "payload"]);
            assert_eq!(q::<i64>(&mut c, &["PEXPIRE", &src, "100000"]), 1);
            let _: () = q(&mut c, &["SET", &dst, "old"]);
            assert_eq!(q::<String>(&mut c, &["RENAME", &src, &dst]), "OK");
            assert_eq!(
                q::<Option<String>>(&mut c, &["GET", &dst]).as_deref(),
                Some("payload")
            );
            assert_eq!(
                q::<i64>(&mut c, &["EXISTS", &src]),
                0,
                "{n} shards {from}->{to}"
            );
            let pttl: i64 = q(&mut c, &["PTTL", &dst]);
            assert!(
                pttl > 0 && pttl <= 100_000,
                "{n} shards {from}->{to}: PTTL {pttl}"
            );

            // A source without TTL makes the destination persistent.
            let _: () = q(&mut c, &["SET", &src, "plain"]);
            assert_eq!(q::<String>(&mut c, &["RENAME", &src, &dst]), "OK");
            assert_eq!(q::<i64>(&mut c, &["PTTL", &dst]), -1, "{n} shards");
            assert_eq!(q::<String>(&mut c, &["GET", &dst]), "plain");

            // Renaming back and forth keeps the value.
            assert_eq!(q::<String>(&mut c, &["RENAME", &dst, &src]), "OK");
            assert_eq!(q::<String>(&mut c, &["GET", &src]), "plain");
            assert_eq!(q::<i64>(&mut c, &["EXISTS", &dst]), 0);
            assert_eq!(q::<i64>(&mut c, &["DEL", &src]), 1);
        }
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0, "{n} shards");
    }
}

#[test]
fn rename_and_renamenx_of_missing_key_fail_with_no_such_key() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        for (from, to) in shard_pairs(n) {
            let src = key_on(n, from, "gone");
            let dst = key_on(n, to, "target");
            let _: () = q(&mut c, &["SET", &dst, "kept"]);
            assert_eq!(err(&mut c, &["RENAME", &src, &dst]), "ERR no such key");
            assert_eq!(err(&mut c, &["RENAMENX", &src, &dst]), "ERR no such key");
            assert_eq!(q::<String>(&mut c, &["GET", &dst]), "kept");
            assert_eq!(q::<i64>(&mut c, &["DEL", &dst]), 1);
        }
    }
}

#[test]
fn renamenx_between_shards_only_renames_onto_a_missing_key() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        for (i, (from, to)) in shard_pairs(n).into_iter().enumerate() {
            let src = key_on(n, from, &format!("nxsrc{i}"));
            let dst = key_on(n, to, &format!("nxdst{i}"));
            let _: () = q(&mut c, &["SET", &src, "s", "PX", "100000"]);
            let _: () = q(&mut c, &["SET", &dst, "d"]);
            assert_eq!(q::<i64>(&mut c, &["RENAMENX", &src, &dst]), 0);
            assert_eq!(q::<String>(&mut c, &["GET", &src]), "s");
            assert_eq!(q::<String>(&mut c, &["GET", &dst]), "d");

            assert_eq!(q::<i64>(&mut c, &["DEL", &dst]), 1);
            assert_eq!(q::<i64>(&mut c, &["RENAMENX", &src, &dst]), 1);
            assert_eq!(q::<i64>(&mut c, &["EXISTS", &src]), 0);
            assert_eq!(q::<String>(&mut c, &["GET", &dst]), "s");
            let pttl: i64 = q(&mut c, &["PTTL", &dst]);
            assert!(pttl > 0 && pttl <= 100_000, "{n} shards: PTTL {pttl}");
            assert_eq!(q::<i64>(&mut c, &["DEL", &dst]), 1);
        }
    }
}

#[test]
fn copy_between_shards_honours_db_and_replace() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        for (i, (from, to)) in shard_pairs(n).into_iter().enumerate() {
            let src = key_on(n, from, &format!("csrc{i}"));
            let dst = key_on(n, to, &format!("cdst{i}"));
            let tag = format!("{n} shards {from}->{to}");

            let _: () = q(&mut c, &["SET", &src, "one", "PX", "100000"]);
            assert_eq!(q::<i64>(&mut c, &["COPY", &src, &dst]), 1, "{tag}");
            assert_eq!(q::<String>(&mut c, &["GET", &src]), "one");
            assert_eq!(q::<String>(&mut c, &["GET", &dst]), "one", "{tag}");
            let pttl: i64 = q(&mut c, &["PTTL", &dst]);
            assert!(pttl > 0 && pttl <= 100_000, "{tag}: PTTL {pttl}");

            // The destination exists: no copy without REPLACE.
            let _: () = q(&mut c, &["SET", &src, "two"]);
            assert_eq!(q::<i64>(&mut c, &["COPY", &src, &dst]), 0, "{tag}");
            assert_eq!(q::<String>(&mut c, &["GET", &dst]), "one");
            assert_eq!(q::<i64>(&mut c, &["COPY", &src, &dst, "REPLACE"]), 1);
            assert_eq!(q::<String>(&mut c, &["GET", &dst]), "two", "{tag}");
            assert_eq!(
                q::<i64>(&mut c, &["PTTL", &dst]),
                -1,
                "{tag}: REPLACE takes the TTL too"
            );

            // A missing source copies nothing.
            assert_eq!(q::<i64>(&mut c, &["COPY", "nosuchkey", &dst]), 0);

            // Into another db.
            assert_eq!(
                q::<i64>(&mut c, &["COPY", &src, &dst, "DB", "3"]),
                1,
                "{tag}"
            );
            assert_eq!(
                q::<i64>(&mut c, &["COPY", &src, &dst, "DB", "3"]),
                0,
                "{tag}"
            );
            let _: () = q(&mut c, &["SET", &src, "three"]);
            assert_eq!(
                q::<i64>(&mut c, &["COPY", &src, &dst, "DB", "3", "REPLACE"]),
                1
            );
            assert_eq!(
                q::<String>(&mut c, &["GET", &dst]),
                "two",
                "{tag}: db 0 untouched"
            );
            let _: () = q(&mut c, &["SELECT", "3"]);
            assert_eq!(q::<String>(&mut c, &["GET", &dst]), "three", "{tag}");
            assert_eq!(q::<i64>(&mut c, &["EXISTS", &src]), 0, "{tag}");
            // COPY from db 3 back into db 0.
            assert_eq!(
                q::<i64>(&mut c, &["COPY", &dst, &src, "DB", "0", "REPLACE"]),
                1
            );
            let _: () = q(&mut c, &["FLUSHDB"]);
            let _: () = q(&mut c, &["SELECT", "0"]);
            assert_eq!(q::<String>(&mut c, &["GET", &src]), "three", "{tag}");

            assert_eq!(
                err(&mut c, &["COPY", &src, &dst, "DB", "99"]),
                "ERR DB index is out of range"
            );
            assert_eq!(
                err(&mut c, &["COPY", &src, &dst, "FOO"]),
                "ERR syntax error"
            );
            let _: () = q(&mut c, &["FLUSHALL"]);
        }
        let _: () = q(&mut c, &["SET", "same", "v"]);
        assert_eq!(
            err(&mut c, &["COPY", "same", "same"]),
            "ERR source and destination objects are the same"
        );
        assert_eq!(q::<i64>(&mut c, &["COPY", "same", "same", "DB", "1"]), 1);
    }
}

#[test]
fn lcs_of_keys_on_different_shards_equals_single_shard_result() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let _: () = q(&mut c, &["MSET", "{t}a", "ohmytext", "{t}b", "mynewtext"]);
        let forms: [&[&str]; 4] = [
            &[],
            &["LEN"],
            &["IDX"],
            &["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"],
        ];
        let lcs = |c: &mut Connection, a: &str, b: &str, opts: &[&str]| -> Value {
            let mut args = vec!["LCS", a, b];
            args.extend_from_slice(opts);
            q(c, &args)
        };
        // The reference values Redis gives.
        assert_eq!(
            lcs(&mut c, "{t}a", "{t}b", &[]),
            Value::BulkString(b"mytext".to_vec())
        );
        assert_eq!(lcs(&mut c, "{t}a", "{t}b", &["LEN"]), Value::Int(6));
        let range = |a: i64, b: i64| Value::Array(vec![Value::Int(a), Value::Int(b)]);
        let idx = Value::Array(vec![
            Value::BulkString(b"matches".to_vec()),
            Value::Array(vec![
                Value::Array(vec![range(4, 7), range(5, 8), Value::Int(4)]),
                Value::Array(vec![range(2, 3), range(0, 1), Value::Int(2)]),
            ]),
            Value::BulkString(b"len".to_vec()),
            Value::Int(6),
        ]);
        assert_eq!(lcs(&mut c, "{t}a", "{t}b", forms[3]), idx);

        for (from, to) in shard_pairs(n) {
            let a = key_on(n, from, "lcsa");
            let b = key_on(n, to, "lcsb");
            let _: () = q(&mut c, &["SET", &a, "ohmytext"]);
            let _: () = q(&mut c, &["SET", &b, "mynewtext"]);
            for opts in forms {
                assert_eq!(
                    lcs(&mut c, &a, &b, opts),
                    lcs(&mut c, "{t}a", "{t}b", opts),
                    "{n} shards {from}->{to} {opts:?}"
                );
            }
            // A missing key counts as an empty string.
            assert_eq!(
                lcs(&mut c, &a, "nosuchkey", &[]),
                Value::BulkString(Vec::new())
            );
            assert_eq!(lcs(&mut c, "nosuchkey", &b, &["LEN"]), Value::Int(0));
            assert_eq!(
                err(&mut c, &["LCS", &a, &b, "LEN", "IDX"]),
                "ERR If you want both the length and indexes, please just use IDX."
            );
        }
    }
}

#[test]
fn keys_with_patterns_covers_all_shards() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let mut all = BTreeSet::new();
        let mut mset = redis::cmd("MSET");
        for i in 0..300 {
            let k = format!("user:{i}");
            mset.arg(&k).arg(i);
            all.insert(k);
        }
        for i in 0..60 {
            let k = format!("item:{i}");
            mset.arg(&k).arg(i);
            all.insert(k);
        }
        let _: () = mset.query(&mut c).unwrap();
        let keys = |c: &mut Connection, pattern: &str| -> BTreeSet<String> {
            let v: Vec<String> = q(c, &["KEYS", pattern]);
            let set: BTreeSet<String> = v.iter().cloned().collect();
            assert_eq!(set.len(), v.len(), "KEYS {pattern} repeated a key");
            set
        };
        let filter = |f: &dyn Fn(&str) -> bool| -> BTreeSet<String> {
            all.iter().filter(|k| f(k)).cloned().collect()
        };
        assert_eq!(keys(&mut c, "*"), all, "{n} shards");
        assert_eq!(
            keys(&mut c, "user:*"),
            filter(&|k| k.starts_with("user:")),
            "{n} shards"
        );
        assert_eq!(
            keys(&mut c, "user:1?"),
            filter(&|k| k.starts_with("user:1") && k.len() == 7),
            "{n} shards"
        );
        assert_eq!(
            keys(&mut c, "item:[0-2]*"),
            filter(&|k| k.starts_with("item:") && (b'0'..=b'2').contains(&k.as_bytes()[5])),
            "{n} shards"
        );
        assert_eq!(
            keys(&mut c, "*:5"),
            filter(&|k| k.ends_with(":5")),
            "{n} shards"
        );
        assert!(keys(&mut c, "nomatch*").is_empty());
        // Other dbs are not listed.
        let _: () = q(&mut c, &["SELECT", "1"]);
        assert!(keys(&mut c, "*").is_empty());
    }
}

#[test]
fn dbsize_sums_all_shards() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
        let mut mset = redis::cmd("MSET");
        for i in 0..1000 {
            mset.arg(format!("k{i}")).arg(i);
        }
        let _: () = mset.query(&mut c).unwrap();
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 1000, "{n} shards");
        let mut del = redis::cmd("DEL");
        for i in 0..250 {
            del.arg(format!("k{i}"));
        }
        assert_eq!(del.query::<i64>(&mut c).unwrap(), 250);
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 750, "{n} shards");
        let _: () = q(&mut c, &["SELECT", "5"]);
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
        for k in keys_on_every_shard(n) {
            let _: () = q(&mut c, &["SET", &k, "x"]);
        }
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), n as i64, "{n} shards");
    }
}

/// Sets every key of `keys_on_every_shard(n)` (with `suffix`) in `db`.
fn fill_db(c: &mut Connection, n: usize, db: &str, suffix: &str) -> Vec<String> {
    let _: () = q(c, &["SELECT", db]);
    let keys: Vec<String> = keys_on_every_shard(n)
        .into_iter()
        .map(|k| format!("{k}{suffix}"))
        .collect();
    for k in &keys {
        let _: () = q(c, &["SET", k, db]);
    }
    keys
}

#[test]
fn flushdb_clears_only_the_selected_db() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let k0 = fill_db(&mut c, n, "0", "");
        let k1 = fill_db(&mut c, n, "1", "");
        let dbsize = |c: &mut Connection, db: &str| -> i64 {
            let _: () = q(c, &["SELECT", db]);
            q(c, &["DBSIZE"])
        };
        assert_eq!(dbsize(&mut c, "0"), k0.len() as i64);
        assert_eq!(dbsize(&mut c, "1"), k1.len() as i64);
        assert_eq!(q::<String>(&mut c, &["FLUSHDB"]), "OK");
        assert_eq!(dbsize(&mut c, "1"), 0, "{n} shards");
        assert_eq!(dbsize(&mut c, "0"), k0.len() as i64, "{n} shards");
        for k in &k0 {
            assert_eq!(q::<String>(&mut c, &["GET", k]), "0");
        }
        assert_eq!(q::<String>(&mut c, &["FLUSHDB", "ASYNC"]), "OK");
        assert_eq!(dbsize(&mut c, "0"), 0, "{n} shards");
        assert_eq!(err(&mut c, &["FLUSHDB", "foo"]), "ERR syntax error");
    }
}

#[test]
fn flushall_clears_every_db() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        for db in ["0", "1", "15"] {
            fill_db(&mut c, n, db, "");
        }
        let _: () = q(&mut c, &["SELECT", "1"]);
        assert_eq!(q::<String>(&mut c, &["FLUSHALL"]), "OK");
        for db in ["0", "1", "15"] {
            let _: () = q(&mut c, &["SELECT", db]);
            assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0, "{n} shards db {db}");
            let all: Vec<String> = q(&mut c, &["KEYS", "*"]);
            assert!(all.is_empty());
        }
    }
}

#[test]
fn swapdb_swaps_on_every_shard() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let a = fill_db(&mut c, n, "0", ":a");
        let b = fill_db(&mut c, n, "1", ":b");
        let b2 = fill_db(&mut c, n, "1", ":b2");
        let _: () = q(&mut c, &["SELECT", "0"]);
        assert_eq!(q::<String>(&mut c, &["SWAPDB", "0", "1"]), "OK");
        // The selected db is still 0, which now holds db 1's keys.
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 2 * n as i64, "{n} shards");
        for k in b.iter().chain(&b2) {
            assert_eq!(q::<String>(&mut c, &["GET", k]), "1", "{n} shards {k}");
        }
        for k in &a {
            assert_eq!(q::<i64>(&mut c, &["EXISTS", k]), 0, "{n} shards {k}");
        }
        // Another client sees the swap too.
        let mut other = s.conn();
        let _: () = q(&mut other, &["SELECT", "1"]);
        assert_eq!(q::<i64>(&mut other, &["DBSIZE"]), n as i64, "{n} shards");
        for k in &a {
            assert_eq!(q::<String>(&mut other, &["GET", k]), "0");
        }
        assert_eq!(
            err(&mut c, &["SWAPDB", "0", "99"]),
            "ERR DB index is out of range"
        );
    }
}

#[test]
fn randomkey_returns_an_existing_key_or_nil() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        assert_eq!(q::<Option<String>>(&mut c, &["RANDOMKEY"]), None);

        // Only the last shard has a key: it is always found.
        let lonely = key_on(n, n - 1, "lonely");
        let _: () = q(&mut c, &["SET", &lonely, "x"]);
        for _ in 0..20 {
            let k: Option<String> = q(&mut c, &["RANDOMKEY"]);
            assert_eq!(k.as_deref(), Some(lonely.as_str()), "{n} shards");
        }
        assert_eq!(q::<i64>(&mut c, &["DEL", &lonely]), 1);

        // One key per shard: every answer is one of them, and all show up eventually.
        let keys: HashSet<String> = keys_on_every_shard(n).into_iter().collect();
        for k in &keys {
            let _: () = q(&mut c, &["SET", k, "x"]);
        }
        let mut seen = HashSet::new();
        for _ in 0..400 {
            let k: String = q(&mut c, &["RANDOMKEY"]);
            assert!(keys.contains(&k), "{n} shards: RANDOMKEY gave {k}");
            seen.insert(k);
            if seen.len() == keys.len() {
                break;
            }
        }
        assert_eq!(
            seen, keys,
            "{n} shards: every shard's key is returned sometimes"
        );

        // Keys of another db are not candidates.
        let _: () = q(&mut c, &["SELECT", "2"]);
        assert_eq!(q::<Option<String>>(&mut c, &["RANDOMKEY"]), None);
        let _: () = q(&mut c, &["SELECT", "0"]);
        let _: () = q(&mut c, &["FLUSHALL"]);
        assert_eq!(q::<Option<String>>(&mut c, &["RANDOMKEY"]), None);
    }
}

#[test]
fn select_applies_to_forwarded_commands() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let keys = keys_on_every_shard(n);
        let _: () = q(&mut c, &["SELECT", "3"]);
        for k in &keys {
            let _: () = q(&mut c, &["SET", k, &format!("db3-{k}")]);
        }
        let mut mget = redis::cmd("MGET");
        mget.arg(&keys);
        let got: Vec<Option<String>> = mget.query(&mut c).unwrap();
        let want: Vec<Option<String>> = keys.iter().map(|k| Some(format!("db3-{k}"))).collect();
        assert_eq!(got, want, "{n} shards");
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), n as i64);

        let _: () = q(&mut c, &["SELECT", "0"]);
        let got: Vec<Option<String>> = mget.query(&mut c).unwrap();
        assert_eq!(got, vec![None; n], "{n} shards: db 0 must not see db 3");
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);

        // A fresh connection starts in db 0.
        let mut other = s.conn();
        assert_eq!(q::<i64>(&mut other, &["DBSIZE"]), 0);

        // SELECT between pipelined commands applies to exactly the commands after it.
        let mut p = redis::pipe();
        for k in &keys {
            p.cmd("SELECT").arg(5).ignore();
            p.cmd("SET").arg(k).arg("five").ignore();
            p.cmd("SELECT").arg(0).ignore();
            p.cmd("GET").arg(k);
            p.cmd("SELECT").arg(5).ignore();
            p.cmd("GET").arg(k);
            p.cmd("SELECT").arg(0).ignore();
        }
        let got: Vec<Option<String>> = p.query(&mut c).unwrap();
        let want: Vec<Option<String>> = keys
            .iter()
            .flat_map(|_| [None, Some("five".to_string())])
            .collect();
        assert_eq!(got, want, "{n} shards");
    }
}
