//! Unit tests of the hash commands (`cmd::hashes`).

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::cmd::test_env::{Env, T0};
use crate::cmd::Handler;

/// What the hash tests check beside the commands.
impl Env {
    fn hash(&mut self, key: &str) -> Option<Hash> {
        match &self.ks.lookup(0, key.as_bytes())?.value() {
            Value::Hash(h) => Some(h.clone()),
            other => panic!("not a hash: {other:?}"),
        }
    }
}

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

fn bulks(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| bulk(s)).collect())
}

fn other(msg: &str) -> Reply {
    Reply::Error(CmdError::other(msg))
}

fn strings(r: &Reply) -> Vec<String> {
    match r {
        Reply::Array(items) => items
            .iter()
            .map(|i| match i {
                Reply::Bulk(b) => String::from_utf8(b.clone()).unwrap(),
                other => panic!("not a bulk: {other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

fn pair_strings(r: &Reply) -> Vec<(String, String)> {
    let Reply::Pairs(items) = r else {
        panic!("not pairs: {r:?}")
    };
    items
        .iter()
        .map(|(f, v)| match (f, v) {
            (Reply::Bulk(f), Reply::Bulk(v)) => (
                String::from_utf8(f.clone()).unwrap(),
                String::from_utf8(v.clone()).unwrap(),
            ),
            _ => panic!("not bulk pairs: {r:?}"),
        })
        .collect()
}

fn fill(env: &mut Env, key: &str, n: usize) {
    for i in 0..n {
        let (f, v) = (format!("f{i}"), format!("v{i}"));
        env.call(hset, &["hset", key, &f, &v]);
    }
}

// ---- HSET / HMSET / HSETNX ----

#[test]
fn hset_replies_the_number_of_new_fields() {
    let mut env = Env::new();
    assert_eq!(
        env.call(hset, &["hset", "h", "a", "1", "b", "2"]),
        Reply::Int(2)
    );
    assert_eq!(
        env.call(hset, &["HSET", "h", "a", "3", "c", "4"]),
        Reply::Int(1)
    );
    assert_eq!(env.call(hget, &["hget", "h", "a"]), bulk("3"));
}

#[test]
fn hmset_replies_ok() {
    let mut env = Env::new();
    assert_eq!(env.call(hset, &["HMset", "h", "a", "1"]), Reply::Ok);
    assert_eq!(
        env.call(hset, &["hmset", "h", "a", "2", "b", "3"]),
        Reply::Ok
    );
    assert_eq!(env.call(hlen, &["hlen", "h"]), Reply::Int(2));
}

#[test]
fn hset_with_a_dangling_field_is_an_arity_error() {
    let mut env = Env::new();
    assert_eq!(
        env.call(hset, &["HSET", "h", "a", "1", "b"]),
        Reply::Error(CmdError::WrongArity("hset".into()))
    );
    assert_eq!(
        env.call(hset, &["HMSET", "h", "a"]),
        Reply::Error(CmdError::WrongArity("hmset".into()))
    );
    assert_eq!(
        env.call(hset, &["hset"]),
        Reply::Error(CmdError::WrongArity("hset".into()))
    );
    assert!(env.hash("h").is_none());
}

#[test]
fn hsetnx_sets_only_new_fields() {
    let mut env = Env::new();
    assert_eq!(env.call(hsetnx, &["hsetnx", "h", "a", "1"]), Reply::Int(1));
    assert_eq!(env.call(hsetnx, &["hsetnx", "h", "a", "2"]), Reply::Int(0));
    assert_eq!(env.call(hget, &["hget", "h", "a"]), bulk("1"));
}

// ---- Reads ----

#[test]
fn reads_of_a_missing_key_reply_empty_values() {
    let mut env = Env::new();
    assert_eq!(env.call(hget, &["hget", "h", "a"]), Reply::Nil);
    assert_eq!(
        env.call(hmget, &["hmget", "h", "a", "b"]),
        Reply::Array(vec![Reply::Nil, Reply::Nil])
    );
    assert_eq!(env.call(hlen, &["hlen", "h"]), Reply::Int(0));
    assert_eq!(env.call(hstrlen, &["hstrlen", "h", "a"]), Reply::Int(0));
    assert_eq!(env.call(hexists, &["hexists", "h", "a"]), Reply::Int(0));
    assert_eq!(env.call(hkeys, &["hkeys", "h"]), Reply::Array(vec![]));
    assert_eq!(env.call(hvals, &["hvals", "h"]), Reply::Array(vec![]));
    assert_eq!(env.call(hgetall, &["hgetall", "h"]), Reply::Map(vec![]));
    assert_eq!(env.call(hdel, &["hdel", "h", "a"]), Reply::Int(0));
}

#[test]
fn reads_of_present_fields() {
    let mut env = Env::new();
    env.call(hset, &["hset", "h", "b", "hello", "a", "1"]);
    assert_eq!(
        env.call(hmget, &["hmget", "h", "a", "zz", "b"]),
        Reply::Array(vec![bulk("1"), Reply::Nil, bulk("hello")])
    );
    assert_eq!(env.call(hstrlen, &["hstrlen", "h", "b"]), Reply::Int(5));
    assert_eq!(env.call(hstrlen, &["hstrlen", "h", "zz"]), Reply::Int(0));
    assert_eq!(env.call(hexists, &["hexists", "h", "a"]), Reply::Int(1));
    assert_eq!(env.call(hexists, &["hexists", "h", "zz"]), Reply::Int(0));
}

#[test]
fn listpack_replies_follow_insertion_order() {
    let mut env = Env::new();
    env.call(hset, &["hset", "h", "b", "1", "a", "2", "c", "3"]);
    env.call(hset, &["hset", "h", "a", "20"]);
    assert_eq!(env.call(hkeys, &["hkeys", "h"]), bulks(&["b", "a", "c"]));
    assert_eq!(env.call(hvals, &["hvals", "h"]), bulks(&["1", "20", "3"]));
    assert_eq!(
        env.call(hgetall, &["hgetall", "h"]),
        Reply::Map(vec![
            (bulk("b"), bulk("1")),
            (bulk("a"), bulk("20")),
            (bulk("c"), bulk("3")),
        ])
    );
}

// ---- HDEL ----

#[test]
fn hdel_counts_removed_fields_and_deletes_the_emptied_key() {
    let mut env = Env::new();
    env.call(hset, &["hset", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(
        env.call(hdel, &["hdel", "h", "a", "zz", "a"]),
        Reply::Int(1)
    );
    assert_eq!(env.call(hdel, &["hdel", "h", "b", "c", "d"]), Reply::Int(2));
    assert!(!env.ks.exists(0, b"h"));
}

// ---- Types and TTL ----

#[test]
fn every_command_rejects_a_non_hash_key() {
    let mut env = Env::new();
    env.set("s", "x");
    let wrong = Reply::Error(CmdError::WrongType);
    let cases: &[(Handler, &[&str])] = &[
        (hset, &["hset", "s", "a", "1"]),
        (hset, &["hmset", "s", "a", "1"]),
        (hsetnx, &["hsetnx", "s", "a", "1"]),
        (hget, &["hget", "s", "a"]),
        (hmget, &["hmget", "s", "a"]),
        (hdel, &["hdel", "s", "a"]),
        (hlen, &["hlen", "s"]),
        (hstrlen, &["hstrlen", "s", "a"]),
        (hexists, &["hexists", "s", "a"]),
        (hkeys, &["hkeys", "s"]),
        (hvals, &["hvals", "s"]),
        (hgetall, &["hgetall", "s"]),
        (hincrby, &["hincrby", "s", "a", "1"]),
        (hincrbyfloat, &["hincrbyfloat", "s", "a", "1"]),
        (hrandfield, &["hrandfield", "s"]),
        (hrandfield, &["hrandfield", "s", "2", "withvalues"]),
        (hscan, &["hscan", "s", "0"]),
        (hscan, &["hscan", "s", "0", "count", "0"]),
    ];
    for (h, args) in cases {
        assert_eq!(env.call(*h, args), wrong, "{args:?}");
    }
}

#[test]
fn writes_keep_the_ttl() {
    let mut env = Env::new();
    env.call(hset, &["hset", "h", "a", "1", "b", "2"]);
    assert!(env.ks.set_expire(0, b"h", T0 + 10_000));
    env.call(hset, &["hset", "h", "c", "3"]);
    env.call(hsetnx, &["hsetnx", "h", "d", "3"]);
    env.call(hdel, &["hdel", "h", "a"]);
    env.call(hincrby, &["hincrby", "h", "b", "1"]);
    env.call(hincrbyfloat, &["hincrbyfloat", "h", "b", "1.5"]);
    assert_eq!(env.ks.lookup(0, b"h").unwrap().expire_at(), T0 + 10_000);
    assert_eq!(env.call(hget, &["hget", "h", "b"]), bulk("4.5"));
}

// ---- HINCRBY / HINCRBYFLOAT ----

#[test]
fn hincrby_adds_to_integers_and_creates_fields() {
    let mut env = Env::new();
    assert_eq!(
        env.call(hincrby, &["hincrby", "h", "n", "5"]),
        Reply::Int(5)
    );
    assert_eq!(
        env.call(hincrby, &["hincrby", "h", "n", "-7"]),
        Reply::Int(-2)
    );
    assert_eq!(env.call(hget, &["hget", "h", "n"]), bulk("-2"));
}

#[test]
fn hincrby_errors_match_redis() {
    let mut env = Env::new();
    env.call(
        hset,
        &[
            "hset",
            "h",
            "f",
            "1.5",
            "sp",
            " 1",
            "big",
            "99999999999999999999",
        ],
    );
    assert_eq!(
        env.call(hincrby, &["hincrby", "h", "n", "x"]),
        Reply::Error(CmdError::NotInteger)
    );
    assert_eq!(
        env.call(hincrby, &["hincrby", "nokey", "n", "1.0"]),
        Reply::Error(CmdError::NotInteger)
    );
    for f in ["f", "sp", "big"] {
        assert_eq!(
            env.call(hincrby, &["hincrby", "h", f, "1"]),
            other("ERR hash value is not an integer")
        );
    }
    assert_eq!(
        env.call(hincrby, &["hincrby", "h", "m", "9223372036854775807"]),
        Reply::Int(i64::MAX)
    );
    assert_eq!(
        env.call(hincrby, &["hincrby", "h", "m", "1"]),
        Reply::Error(CmdError::Overflow)
    );
    assert_eq!(
        env.call(hincrby, &["hincrby", "h", "l", "-9223372036854775808"]),
        Reply::Int(i64::MIN)
    );
    assert_eq!(
        env.call(hincrby, &["hincrby", "h", "l", "-1"]),
        Reply::Error(CmdError::Overflow)
    );
    assert!(!env.ks.exists(0, b"nokey"));
}

#[test]
fn hincrbyfloat_prints_like_redis_long_double() {
    let mut env = Env::new();
    assert_eq!(
        env.call(hincrbyfloat, &["hincrbyfloat", "h", "f", "10.5"]),
        bulk("10.5")
    );
    assert_eq!(
        env.call(hincrbyfloat, &["hincrbyfloat", "h", "f", "0.1"]),
        bulk("10.6")
    );
    assert_eq!(
        env.call(hincrbyfloat, &["hincrbyfloat", "h", "g", "5.0e3"]),
        bulk("5000")
    );
    assert_eq!(
        env.call(hincrbyfloat, &["hincrbyfloat", "h", "g", "2.0e2"]),
        bulk("5200")
    );
    env.call(hset, &["hset", "h", "i", "3"]);
    assert_eq!(
        env.call(hincrbyfloat, &["hincrbyfloat", "h", "i", "-3"]),
        bulk("0")
    );
    assert_eq!(env.call(hget, &["hget", "h", "g"]), bulk("5200"));
}

#[test]
fn hincrbyfloat_errors_match_redis() {
    let mut env = Env::new();
    env.call(
        hset,
        &["hset", "h", "s", "abc", "e", "", "sp", " 1", "f", "1"],
    );
    assert_eq!(
        env.call(hincrbyfloat, &["hincrbyfloat", "h", "f", "x"]),
        Reply::Error(CmdError::NotFloat)
    );
    assert_eq!(
        env.call(hincrbyfloat, &["hincrbyfloat", "h", "f", "nan"]),
        Reply::Error(CmdError::NotFloat)
    );
    assert_eq!(
        env.call(hincrbyfloat, &["hincrbyfloat", "h", "f", "1e5000"]),
        Reply::Error(CmdError::NotFloat)
    );
    assert_eq!(
        env.call(hincrbyfloat, &["hincrbyfloat", "h", "f", "inf"]),
        other("ERR value is NaN or Infinity")
    );
    assert_eq!(
        env.call(hincrbyfloat, &["hincrbyfloat", "nokey", "f", "-inf"]),
        other("ERR value is NaN or Infinity")
    );
    for f in ["s", "e", "sp"] {
        assert_eq!(
            env.call(hincrbyfloat, &["hincrbyfloat", "h", f, "1"]),
            other("ERR hash value is not a float")
        );
    }
    env.call(hset, &["hset", "h", "huge", "1e4932"]);
    assert_eq!(
        env.call(hincrbyfloat, &["hincrbyfloat", "h", "huge", "1e4932"]),
        Reply::Error(CmdError::NanOrInfinity)
    );
    assert_eq!(env.call(hget, &["hget", "h", "f"]), bulk("1"));
    assert!(!env.ks.exists(0, b"nokey"));
}

// ---- HRANDFIELD ----

#[test]
fn hrandfield_without_count_replies_one_field_or_nil() {
    let mut env = Env::new();
    assert_eq!(env.call(hrandfield, &["hrandfield", "h"]), Reply::Nil);
    env.call(hset, &["hset", "h", "a", "1", "b", "2"]);
    for _ in 0..20 {
        let r = env.call(hrandfield, &["hrandfield", "h"]);
        assert!(r == bulk("a") || r == bulk("b"), "{r:?}");
    }
}

#[test]
fn hrandfield_positive_count_gives_distinct_fields() {
    for n in [5, 200] {
        let mut env = Env::new();
        fill(&mut env, "h", n);
        for count in [1, 2, n / 2, n - 1] {
            let got = strings(&env.call(hrandfield, &["hrandfield", "h", &count.to_string()]));
            let uniq: BTreeSet<_> = got.iter().collect();
            assert_eq!((got.len(), uniq.len()), (count, count));
            assert!(got.iter().all(|f| f.starts_with('f')));
        }
        let all = strings(&env.call(hrandfield, &["hrandfield", "h", &(n + 5).to_string()]));
        assert_eq!(all.len(), n);
        assert_eq!(
            env.call(hrandfield, &["hrandfield", "h", "0"]),
            Reply::Array(vec![])
        );
    }
}

#[test]
fn hrandfield_whole_listpack_comes_in_insertion_order() {
    let mut env = Env::new();
    env.call(hset, &["hset", "h", "b", "1", "a", "2"]);
    assert_eq!(
        env.call(hrandfield, &["hrandfield", "h", "2", "WITHVALUES"]),
        Reply::Pairs(vec![(bulk("b"), bulk("1")), (bulk("a"), bulk("2"))])
    );
}

#[test]
fn hrandfield_negative_count_may_repeat() {
    for n in [3, 300] {
        let mut env = Env::new();
        fill(&mut env, "h", n);
        let got = pair_strings(&env.call(hrandfield, &["hrandfield", "h", "-1000", "withvalues"]));
        assert_eq!(got.len(), 1000);
        for (f, v) in &got {
            assert_eq!(&f[1..], &v[1..]);
        }
        let uniq: BTreeSet<_> = got.iter().collect();
        assert!(uniq.len() < 1000);
    }
}

#[test]
fn hrandfield_missing_key_with_count_is_an_empty_array() {
    let mut env = Env::new();
    assert_eq!(
        env.call(hrandfield, &["hrandfield", "h", "3"]),
        Reply::Array(vec![])
    );
    assert_eq!(
        env.call(hrandfield, &["hrandfield", "h", "-3", "withvalues"]),
        Reply::Array(vec![])
    );
}

#[test]
fn hrandfield_argument_errors_match_redis() {
    let mut env = Env::new();
    env.call(hset, &["hset", "h", "a", "1"]);
    env.set("s", "x");
    let range = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
    assert_eq!(
        env.call(hrandfield, &["hrandfield", "h", "-9223372036854775808"]),
        other(range)
    );
    assert_eq!(
        env.call(
            hrandfield,
            &["hrandfield", "h", "-9223372036854775808", "withvalue"]
        ),
        other(range)
    );
    assert_eq!(
        env.call(hrandfield, &["hrandfield", "h", "x"]),
        Reply::Error(CmdError::NotInteger)
    );
    assert_eq!(
        env.call(hrandfield, &["hrandfield", "s", "x"]),
        Reply::Error(CmdError::NotInteger)
    );
    assert_eq!(
        env.call(hrandfield, &["hrandfield", "h", "1", "withvalue"]),
        Reply::Error(CmdError::Syntax)
    );
    assert_eq!(
        env.call(hrandfield, &["hrandfield", "s", "1", "withvalues", "x"]),
        Reply::Error(CmdError::Syntax)
    );
    assert_eq!(
        env.call(
            hrandfield,
            &["hrandfield", "h", "-4611686018427387904", "withvalue"]
        ),
        Reply::Error(CmdError::Syntax)
    );
    for key in ["h", "nokey", "s"] {
        assert_eq!(
            env.call(
                hrandfield,
                &["hrandfield", key, "-4611686018427387904", "withvalues"]
            ),
            other("ERR value is out of range")
        );
    }
    // Past what we build as one reply.
    assert_eq!(
        env.call(hrandfield, &["hrandfield", "h", "-9223372036854775807"]),
        other("ERR value is out of range")
    );
    assert_eq!(
        env.call(hrandfield, &["hrandfield", "h", "9223372036854775807"]),
        bulks(&["a"])
    );
}

// ---- HSCAN ----

#[test]
fn hscan_returns_a_listpack_whole_with_cursor_zero() {
    let mut env = Env::new();
    env.call(hset, &["hset", "h", "a", "1", "b", "2", "ab", "3"]);
    assert_eq!(
        env.call(hscan, &["hscan", "h", "0"]),
        Reply::Array(vec![bulk("0"), bulks(&["a", "1", "b", "2", "ab", "3"])])
    );
    assert_eq!(
        env.call(hscan, &["hscan", "h", "123", "MATCH", "a*", "COUNT", "1"]),
        Reply::Array(vec![bulk("0"), bulks(&["a", "1", "ab", "3"])])
    );
}

#[test]
fn hscan_cursor_loop_covers_a_hashtable_once() {
    let mut env = Env::new();
    fill(&mut env, "h", 1000);
    assert_eq!(env.encoding("h"), "hashtable");
    let mut seen = BTreeMap::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let r = env.call(hscan, &["hscan", "h", &cursor, "count", "20"]);
        let Reply::Array(parts) = r else { panic!() };
        let Reply::Bulk(c) = &parts[0] else { panic!() };
        let items = strings(&parts[1]);
        for p in items.chunks(2) {
            assert!(
                seen.insert(p[0].clone(), p[1].clone()).is_none(),
                "twice: {}",
                p[0]
            );
        }
        cursor = String::from_utf8(c.clone()).unwrap();
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    assert!(calls > 10);
    assert_eq!(seen.len(), 1000);
    assert!(seen.iter().all(|(f, v)| f[1..] == v[1..]));
}

#[test]
fn hscan_match_filters_fields_of_a_hashtable() {
    let mut env = Env::new();
    fill(&mut env, "h", 300);
    let mut found = Vec::new();
    let mut cursor = "0".to_string();
    loop {
        let r = env.call(hscan, &["hscan", "h", &cursor, "match", "f1?"]);
        let Reply::Array(parts) = r else { panic!() };
        let Reply::Bulk(c) = &parts[0] else { panic!() };
        found.extend(strings(&parts[1]));
        cursor = String::from_utf8(c.clone()).unwrap();
        if cursor == "0" {
            break;
        }
    }
    let fields: BTreeSet<_> = found.chunks(2).map(|p| p[0].clone()).collect();
    let want: BTreeSet<_> = (10..20).map(|i| format!("f{i}")).collect();
    assert_eq!(fields, want);
}

#[test]
fn hscan_argument_errors_match_redis() {
    let mut env = Env::new();
    env.call(hset, &["hset", "h", "a", "1"]);
    let empty = Reply::Array(vec![bulk("0"), Reply::Array(vec![])]);
    assert_eq!(
        env.call(hscan, &["hscan", "h", "x"]),
        other("ERR invalid cursor")
    );
    assert_eq!(
        env.call(hscan, &["hscan", "nokey", "x"]),
        other("ERR invalid cursor")
    );
    assert_eq!(
        env.call(hscan, &["hscan", "nokey", "0", "count", "0"]),
        empty
    );
    assert_eq!(
        env.call(hscan, &["hscan", "h", "0", "count", "0"]),
        Reply::Error(CmdError::Syntax)
    );
    assert_eq!(
        env.call(hscan, &["hscan", "h", "0", "count", "x"]),
        Reply::Error(CmdError::NotInteger)
    );
    assert_eq!(
        env.call(hscan, &["hscan", "h", "0", "match"]),
        Reply::Error(CmdError::Syntax)
    );
    assert_eq!(
        env.call(hscan, &["hscan", "h", "0", "type", "hash"]),
        Reply::Error(CmdError::Syntax)
    );
    assert_eq!(
        env.call(hscan, &["hscan", "h", "0", "novalues"]),
        Reply::Error(CmdError::Syntax)
    );
}

// ---- Encodings ----

#[test]
fn hash_converts_past_the_entry_limit() {
    let mut env = Env::new();
    fill(&mut env, "h", 128);
    assert_eq!(env.encoding("h"), "listpack");
    fill(&mut env, "h", 129);
    assert_eq!(env.encoding("h"), "hashtable");
    env.call(hdel, &["hdel", "h", "f0", "f1", "f2"]);
    assert_eq!(env.encoding("h"), "hashtable");
}

#[test]
fn hash_converts_on_a_long_field_or_value() {
    let mut env = Env::new();
    let v64 = "v".repeat(64);
    env.call(hset, &["hset", "h", "a", &v64]);
    assert_eq!(env.encoding("h"), "listpack");
    env.call(hset, &["hset", "h", "a", &"v".repeat(65)]);
    assert_eq!(env.encoding("h"), "hashtable");
    env.call(hset, &["hset", "g", &"f".repeat(65), "1"]);
    assert_eq!(env.encoding("g"), "hashtable");
    env.call(hsetnx, &["hsetnx", "n", &"f".repeat(65), "1"]);
    assert_eq!(env.encoding("n"), "hashtable");
}

#[test]
fn increments_that_grow_a_value_convert() {
    let mut env = Env::new();
    env.ks.config.hash_max_listpack_value = 3;
    env.call(hincrby, &["hincrby", "h", "n", "999"]);
    assert_eq!(env.encoding("h"), "listpack");
    env.call(hincrby, &["hincrby", "h", "n", "1"]);
    assert_eq!(env.encoding("h"), "hashtable");
    env.call(hincrbyfloat, &["hincrbyfloat", "g", "n", "1.5"]);
    assert_eq!(env.encoding("g"), "listpack");
    env.call(hincrbyfloat, &["hincrbyfloat", "g", "n", "0.25"]);
    assert_eq!(env.encoding("g"), "hashtable");
    assert_eq!(env.call(hget, &["hget", "g", "n"]), bulk("1.75"));
}

#[test]
fn config_thresholds_apply_to_later_writes() {
    let mut env = Env::new();
    fill(&mut env, "h", 10);
    env.ks.config.hash_max_listpack_entries = 4;
    // Existing hashes keep their encoding until written.
    assert_eq!(env.encoding("h"), "listpack");
    env.call(hset, &["hset", "h", "f0", "changed"]);
    assert_eq!(env.encoding("h"), "hashtable");
    fill(&mut env, "g", 4);
    assert_eq!(env.encoding("g"), "listpack");
    fill(&mut env, "g", 5);
    assert_eq!(env.encoding("g"), "hashtable");
    env.ks.config.hash_max_listpack_entries = 0;
    env.call(hset, &["hset", "z", "a", "1"]);
    assert_eq!(env.encoding("z"), "hashtable");
    assert_eq!(env.call(hget, &["hget", "h", "f0"]), bulk("changed"));
}

// ---- Model ----

/// A seeded sequence of hash commands on a few keys, each reply checked against a
/// BTreeMap model, under the default thresholds and tiny ones.
#[test]
fn hash_commands_match_a_btreemap_model() {
    for (entries, value) in [(128, 64), (3, 4)] {
        let mut env = Env::new();
        env.ks.config.hash_max_listpack_entries = entries;
        env.ks.config.hash_max_listpack_value = value;
        let mut model: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut rng = Rng::new(42 + entries as u64);
        for step in 0..4000 {
            let key = format!("k{}", rng.below(3));
            let f = format!("f{}", rng.below(12));
            let v = if rng.below(2) == 0 {
                rng.below(1000).to_string()
            } else {
                "x".repeat(rng.below(7))
            };
            let m = model.entry(key.clone()).or_default();
            let (reply, want) = match rng.below(10) {
                0 | 1 => {
                    let f2 = format!("f{}", rng.below(12));
                    let r = env.call(hset, &["hset", &key, &f, &v, &f2, &v]);
                    let mut added = m.insert(f.clone(), v.clone()).is_none() as i64;
                    added += m.insert(f2, v.clone()).is_none() as i64;
                    (r, Reply::Int(added))
                }
                2 => {
                    let r = env.call(hsetnx, &["hsetnx", &key, &f, &v]);
                    let new = !m.contains_key(&f);
                    if new {
                        m.insert(f.clone(), v.clone());
                    }
                    (r, Reply::Int(new as i64))
                }
                3 => {
                    let r = env.call(hdel, &["hdel", &key, &f]);
                    (r, Reply::Int(m.remove(&f).is_some() as i64))
                }
                4 => (
                    env.call(hget, &["hget", &key, &f]),
                    Reply::bulk_or_nil(m.get(&f)),
                ),
                5 => (env.call(hlen, &["hlen", &key]), Reply::Int(m.len() as i64)),
                6 => (
                    env.call(hexists, &["hexists", &key, &f]),
                    Reply::Int(m.contains_key(&f) as i64),
                ),
                7 => {
                    let r = env.call(hincrby, &["hincrby", &key, &f, "3"]);
                    let want = match m.get(&f).map(|v| v.parse::<i64>()) {
                        None => Reply::Int(3),
                        Some(Ok(n)) if parse_i64_opt(m[&f].as_bytes()).is_some() => {
                            Reply::Int(n + 3)
                        }
                        Some(_) => other("ERR hash value is not an integer"),
                    };
                    if let Reply::Int(n) = want {
                        m.insert(f.clone(), n.to_string());
                    }
                    (r, want)
                }
                8 => (
                    env.call(hstrlen, &["hstrlen", &key, &f]),
                    Reply::Int(m.get(&f).map_or(0, |v| v.len() as i64)),
                ),
                _ => {
                    let r = env.call(hmget, &["hmget", &key, &f, "f0"]);
                    let want = Reply::Array(vec![
                        Reply::bulk_or_nil(m.get(&f)),
                        Reply::bulk_or_nil(m.get("f0")),
                    ]);
                    (r, want)
                }
            };
            assert_eq!(reply, want, "step {step}");
            if m.is_empty() {
                model.remove(&key);
            }
            assert_eq!(env.ks.exists(0, key.as_bytes()), model.contains_key(&key));
        }
        for (key, m) in &model {
            let Reply::Map(pairs) = env.call(hgetall, &["hgetall", key]) else {
                panic!("HGETALL is a map");
            };
            let text = |r: Reply| match r {
                Reply::Bulk(b) => String::from_utf8(b).unwrap(),
                other => panic!("not a bulk: {other:?}"),
            };
            let got: BTreeMap<String, String> =
                pairs.into_iter().map(|(f, v)| (text(f), text(v))).collect();
            assert_eq!(&got, m);
        }
    }
}
