//! Unit tests of the string commands (`cmd::strings`).

use super::*;
use crate::cmd::test_env::{Env, T0};
use crate::cmd::Handler;

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

fn err(e: CmdError) -> Reply {
    Reply::Error(e)
}

fn other(msg: &str) -> Reply {
    Reply::Error(CmdError::other(msg))
}

fn invalid_expire(cmd: &str) -> Reply {
    Reply::Error(CmdError::InvalidExpire(cmd.into()))
}

fn arr(items: Vec<Reply>) -> Reply {
    Reply::Array(items)
}

fn ints(v: &[i64]) -> Reply {
    arr(v.iter().map(|&n| Reply::Int(n)).collect())
}

fn lcs_args(opts: &[&str]) -> Vec<Bytes> {
    ["LCS", "a", "b"]
        .iter()
        .chain(opts)
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect()
}

// ---- GET ----

#[test]
fn get_missing_key_is_nil() {
    let mut env = Env::new();
    assert_eq!(env.call(get, &["GET", "k"]), Reply::Nil);
}

#[test]
fn get_returns_stored_bytes() {
    let mut env = Env::new();
    env.call_bytes(set, &[b"SET", b"k", b"a\0\xffb"]);
    assert_eq!(env.call(get, &["GET", "k"]), Reply::bulk(b"a\0\xffb"));
}

#[test]
fn get_of_integer_value_is_its_decimal_text() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "-42"]);
    assert_eq!(env.call(get, &["GET", "k"]), bulk("-42"));
}

#[test]
fn get_after_ttl_passes_is_nil() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "v", "PX", "100"]);
    env.advance(99);
    assert_eq!(env.call(get, &["GET", "k"]), bulk("v"));
    env.advance(1);
    assert_eq!(env.call(get, &["GET", "k"]), Reply::Nil);
}

#[test]
fn get_counts_keyspace_hits_and_misses() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "v"]);
    env.call(get, &["GET", "k"]);
    env.call(get, &["GET", "nope"]);
    assert_eq!((env.ks.stats.hits, env.ks.stats.misses), (1, 1));
}

#[test]
fn get_without_touch_keeps_access_time() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "v"]);
    let before = env.ks.lookup(0, b"k").unwrap().access();
    env.advance(10_000);
    env.touch = false;
    env.call(get, &["GET", "k"]);
    assert_eq!(env.ks.lookup(0, b"k").unwrap().access(), before);
    env.touch = true;
    env.call(get, &["GET", "k"]);
    // The LRU clock counts 10 ms ticks.
    assert_eq!(env.ks.lookup(0, b"k").unwrap().access(), before + 1000);
}

// ---- SET ----

#[test]
fn set_replies_ok_and_stores_value() {
    let mut env = Env::new();
    assert_eq!(env.call(set, &["SET", "k", "v"]), Reply::Ok);
    assert_eq!(env.call(get, &["GET", "k"]), bulk("v"));
    assert_eq!(env.expire_at("k"), Some(0));
}

#[test]
fn set_picks_redis_encodings() {
    let mut env = Env::new();
    env.call(set, &["SET", "i", "123"]);
    env.call(set, &["SET", "e", "0123"]);
    env.call(set, &["SET", "r", &"x".repeat(45)]);
    assert_eq!(env.encoding("i"), "int");
    assert_eq!(env.encoding("e"), "embstr");
    assert_eq!(env.encoding("r"), "raw");
}

#[test]
fn set_clears_previous_ttl() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "v", "EX", "10"]);
    env.call(set, &["SET", "k", "w"]);
    assert_eq!(env.expire_at("k"), Some(0));
}

#[test]
fn set_ex_sets_ttl_in_seconds() {
    let mut env = Env::new();
    assert_eq!(env.call(set, &["SET", "k", "v", "EX", "10"]), Reply::Ok);
    assert_eq!(env.expire_at("k"), Some(T0 + 10_000));
    env.advance(9_999);
    assert!(env.exists("k"));
    env.advance(1);
    assert!(!env.exists("k"));
}

#[test]
fn set_px_sets_ttl_in_milliseconds() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "v", "PX", "1500"]);
    assert_eq!(env.expire_at("k"), Some(T0 + 1_500));
}

#[test]
fn set_exat_and_pxat_set_absolute_deadlines() {
    let mut env = Env::new();
    let secs = (T0 / 1000 + 60).to_string();
    env.call(set, &["SET", "a", "v", "EXAT", &secs]);
    assert_eq!(env.expire_at("a"), Some(T0 + 60_000));
    let ms = (T0 + 1234).to_string();
    env.call(set, &["SET", "b", "v", "PXAT", &ms]);
    assert_eq!(env.expire_at("b"), Some(T0 + 1234));
}

#[test]
fn set_with_deadline_in_the_past_leaves_no_key() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "old"]);
    assert_eq!(env.call(set, &["SET", "k", "v", "PXAT", "1"]), Reply::Ok);
    assert!(!env.exists("k"));
    assert_eq!(env.ks.len(0), 0);
}

#[test]
fn set_options_are_case_insensitive_in_any_order() {
    let mut env = Env::new();
    assert_eq!(
        env.call(set, &["SET", "k", "v", "px", "500", "nX"]),
        Reply::Ok
    );
    assert_eq!(env.expire_at("k"), Some(T0 + 500));
    assert_eq!(
        env.call(set, &["SET", "k", "w", "Get", "xx", "ex", "1"]),
        bulk("v")
    );
    assert_eq!(env.expire_at("k"), Some(T0 + 1_000));
}

#[test]
fn set_repeated_option_is_accepted_and_last_number_wins() {
    let mut env = Env::new();
    let r = env.call(set, &["SET", "k", "v", "EX", "1", "EX", "5", "NX", "NX"]);
    assert_eq!(r, Reply::Ok);
    assert_eq!(env.expire_at("k"), Some(T0 + 5_000));
}

#[test]
fn set_nx_only_sets_missing_key() {
    let mut env = Env::new();
    assert_eq!(env.call(set, &["SET", "k", "v", "NX"]), Reply::Ok);
    assert_eq!(env.call(set, &["SET", "k", "w", "NX"]), Reply::Nil);
    assert_eq!(env.call(get, &["GET", "k"]), bulk("v"));
}

#[test]
fn set_xx_only_sets_existing_key() {
    let mut env = Env::new();
    assert_eq!(env.call(set, &["SET", "k", "v", "XX"]), Reply::Nil);
    assert!(!env.exists("k"));
    env.call(set, &["SET", "k", "v"]);
    assert_eq!(env.call(set, &["SET", "k", "w", "XX"]), Reply::Ok);
    assert_eq!(env.call(get, &["GET", "k"]), bulk("w"));
}

#[test]
fn set_nx_after_expiry_sets_again() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "v", "PX", "10"]);
    env.advance(10);
    assert_eq!(env.call(set, &["SET", "k", "w", "NX"]), Reply::Ok);
}

#[test]
fn set_keepttl_keeps_existing_ttl() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "v", "EX", "100"]);
    env.advance(1_000);
    assert_eq!(env.call(set, &["SET", "k", "w", "KEEPTTL"]), Reply::Ok);
    assert_eq!(env.expire_at("k"), Some(T0 + 100_000));
    assert_eq!(env.call(get, &["GET", "k"]), bulk("w"));
}

#[test]
fn set_keepttl_on_key_without_ttl_sets_none() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "v", "KEEPTTL"]);
    assert_eq!(env.expire_at("k"), Some(0));
}

#[test]
fn set_get_replies_old_value_and_sets() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "old"]);
    assert_eq!(env.call(set, &["SET", "k", "new", "GET"]), bulk("old"));
    assert_eq!(env.call(get, &["GET", "k"]), bulk("new"));
}

#[test]
fn set_get_on_missing_key_replies_nil_and_sets() {
    let mut env = Env::new();
    assert_eq!(env.call(set, &["SET", "k", "v", "GET"]), Reply::Nil);
    assert_eq!(env.call(get, &["GET", "k"]), bulk("v"));
}

#[test]
fn set_get_with_failed_condition_replies_old_value_without_setting() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "old"]);
    assert_eq!(
        env.call(set, &["SET", "k", "new", "NX", "GET"]),
        bulk("old")
    );
    assert_eq!(env.call(get, &["GET", "k"]), bulk("old"));
    assert_eq!(env.call(set, &["SET", "m", "new", "XX", "GET"]), Reply::Nil);
    assert!(!env.exists("m"));
}

#[test]
fn set_conflicting_or_unknown_options_are_syntax_errors() {
    let mut env = Env::new();
    let cases: &[&[&str]] = &[
        &["NX", "XX"],
        &["XX", "NX"],
        &["EX", "1", "PX", "1"],
        &["PX", "1", "EXAT", "1"],
        &["EXAT", "1", "PXAT", "1"],
        &["EX", "1", "KEEPTTL"],
        &["KEEPTTL", "PXAT", "1"],
        &["EX"],
        &["NX", "PX"],
        &["PERSIST"],
        &["FOO"],
        &["EX", "abc", "XX", "NX"],
    ];
    for opts in cases {
        let mut args = vec!["SET", "k", "v"];
        args.extend_from_slice(opts);
        assert_eq!(env.call(set, &args), err(CmdError::Syntax), "{opts:?}");
    }
    assert!(!env.exists("k"));
}

#[test]
fn set_non_integer_expire_is_not_integer() {
    let mut env = Env::new();
    for n in ["abc", "1.5", " 1", ""] {
        let r = env.call(set, &["SET", "k", "v", "EX", n]);
        assert_eq!(r, err(CmdError::NotInteger), "{n:?}");
    }
    assert!(!env.exists("k"));
}

#[test]
fn set_non_positive_expire_is_invalid() {
    let mut env = Env::new();
    for opt in ["EX", "PX", "EXAT", "PXAT"] {
        for n in ["0", "-1"] {
            let r = env.call(set, &["SET", "k", "v", opt, n]);
            assert_eq!(r, invalid_expire("set"), "{opt} {n}");
        }
    }
    assert!(!env.exists("k"));
}

#[test]
fn set_expire_overflowing_absolute_ms_is_invalid() {
    let mut env = Env::new();
    let too_many_secs = (i64::MAX / 1000 + 1).to_string();
    let max = i64::MAX.to_string();
    assert_eq!(
        env.call(set, &["SET", "k", "v", "EX", &too_many_secs]),
        invalid_expire("set")
    );
    assert_eq!(
        env.call(set, &["SET", "k", "v", "EXAT", &too_many_secs]),
        invalid_expire("set")
    );
    assert_eq!(
        env.call(set, &["SET", "k", "v", "PX", &max]),
        invalid_expire("set")
    );
    assert_eq!(env.call(set, &["SET", "k", "v", "PXAT", &max]), Reply::Ok);
    assert_eq!(env.expire_at("k"), Some(i64::MAX as Millis));
}

#[test]
fn set_expire_error_comes_before_get_and_condition() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "old"]);
    let r = env.call(set, &["SET", "k", "v", "NX", "GET", "EX", "0"]);
    assert_eq!(r, invalid_expire("set"));
    assert_eq!(env.call(get, &["GET", "k"]), bulk("old"));
}

// ---- SETNX / SETEX / PSETEX ----

#[test]
fn setnx_sets_only_missing_key_and_replies_integer() {
    let mut env = Env::new();
    assert_eq!(env.call(setnx, &["SETNX", "k", "v"]), Reply::Int(1));
    assert_eq!(env.call(setnx, &["SETNX", "k", "w"]), Reply::Int(0));
    assert_eq!(env.call(get, &["GET", "k"]), bulk("v"));
}

#[test]
fn setex_sets_value_and_ttl_in_seconds() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "old"]);
    assert_eq!(env.call(setex, &["SETEX", "k", "10", "v"]), Reply::Ok);
    assert_eq!(env.call(get, &["GET", "k"]), bulk("v"));
    assert_eq!(env.expire_at("k"), Some(T0 + 10_000));
}

#[test]
fn setex_bad_expire_names_setex() {
    let mut env = Env::new();
    assert_eq!(
        env.call(setex, &["SETEX", "k", "0", "v"]),
        invalid_expire("setex")
    );
    assert_eq!(
        env.call(setex, &["SETEX", "k", "-5", "v"]),
        invalid_expire("setex")
    );
    assert_eq!(
        env.call(setex, &["SETEX", "k", "x", "v"]),
        err(CmdError::NotInteger)
    );
    assert!(!env.exists("k"));
}

#[test]
fn psetex_sets_ttl_in_milliseconds() {
    let mut env = Env::new();
    assert_eq!(env.call(psetex, &["PSETEX", "k", "250", "v"]), Reply::Ok);
    assert_eq!(env.expire_at("k"), Some(T0 + 250));
    env.advance(250);
    assert_eq!(env.call(get, &["GET", "k"]), Reply::Nil);
}

#[test]
fn psetex_bad_expire_names_psetex() {
    let mut env = Env::new();
    assert_eq!(
        env.call(psetex, &["PSETEX", "k", "0", "v"]),
        invalid_expire("psetex")
    );
    let max = i64::MAX.to_string();
    assert_eq!(
        env.call(psetex, &["PSETEX", "k", &max, "v"]),
        invalid_expire("psetex")
    );
}

// ---- GETSET / GETDEL ----

#[test]
fn getset_replies_old_value_and_clears_ttl() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "old", "EX", "10"]);
    assert_eq!(env.call(getset, &["GETSET", "k", "new"]), bulk("old"));
    assert_eq!(env.call(get, &["GET", "k"]), bulk("new"));
    assert_eq!(env.expire_at("k"), Some(0));
}

#[test]
fn getset_on_missing_key_replies_nil_and_sets() {
    let mut env = Env::new();
    assert_eq!(env.call(getset, &["GETSET", "k", "v"]), Reply::Nil);
    assert_eq!(env.call(get, &["GET", "k"]), bulk("v"));
}

#[test]
fn getdel_replies_value_and_deletes() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "v"]);
    assert_eq!(env.call(getdel, &["GETDEL", "k"]), bulk("v"));
    assert!(!env.exists("k"));
    assert_eq!(env.call(getdel, &["GETDEL", "k"]), Reply::Nil);
}

// ---- GETEX ----

#[test]
fn getex_without_options_is_get_and_keeps_ttl() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "v", "EX", "10"]);
    assert_eq!(env.call(getex, &["GETEX", "k"]), bulk("v"));
    assert_eq!(env.expire_at("k"), Some(T0 + 10_000));
}

#[test]
fn getex_ex_and_px_set_relative_ttl() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "v"]);
    assert_eq!(env.call(getex, &["GETEX", "k", "EX", "5"]), bulk("v"));
    assert_eq!(env.expire_at("k"), Some(T0 + 5_000));
    assert_eq!(env.call(getex, &["GETEX", "k", "px", "7"]), bulk("v"));
    assert_eq!(env.expire_at("k"), Some(T0 + 7));
    env.advance(7);
    assert!(!env.exists("k"));
}

#[test]
fn getex_exat_and_pxat_set_absolute_ttl() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "v"]);
    let secs = (T0 / 1000 + 3).to_string();
    assert_eq!(env.call(getex, &["GETEX", "k", "EXAT", &secs]), bulk("v"));
    assert_eq!(env.expire_at("k"), Some(T0 + 3_000));
    let ms = (T0 + 42).to_string();
    assert_eq!(env.call(getex, &["GETEX", "k", "PXAT", &ms]), bulk("v"));
    assert_eq!(env.expire_at("k"), Some(T0 + 42));
}

#[test]
fn getex_deadline_in_the_past_replies_value_and_deletes() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "v"]);
    assert_eq!(env.call(getex, &["GETEX", "k", "PXAT", "1"]), bulk("v"));
    assert!(!env.exists("k"));
    assert_eq!(env.ks.len(0), 0);
}

#[test]
fn getex_persist_removes_ttl() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "v", "EX", "10"]);
    assert_eq!(env.call(getex, &["GETEX", "k", "PERSIST"]), bulk("v"));
    assert_eq!(env.expire_at("k"), Some(0));
}

#[test]
fn getex_missing_key_is_nil_even_with_bad_expire() {
    let mut env = Env::new();
    assert_eq!(env.call(getex, &["GETEX", "k", "EX", "-1"]), Reply::Nil);
    assert_eq!(env.call(getex, &["GETEX", "k", "EX", "abc"]), Reply::Nil);
}

#[test]
fn getex_bad_expire_names_getex_and_keeps_ttl() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "v", "EX", "10"]);
    assert_eq!(
        env.call(getex, &["GETEX", "k", "EX", "0"]),
        invalid_expire("getex")
    );
    let max = i64::MAX.to_string();
    assert_eq!(
        env.call(getex, &["GETEX", "k", "PX", &max]),
        invalid_expire("getex")
    );
    assert_eq!(
        env.call(getex, &["GETEX", "k", "PX", "x"]),
        err(CmdError::NotInteger)
    );
    assert_eq!(env.expire_at("k"), Some(T0 + 10_000));
}

#[test]
fn getex_rejects_set_options_and_conflicts() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "v"]);
    let cases: &[&[&str]] = &[
        &["NX"],
        &["XX"],
        &["GET"],
        &["KEEPTTL"],
        &["EX", "1", "PERSIST"],
        &["PERSIST", "PX", "1"],
        &["EX", "1", "PX", "1"],
        &["EX"],
    ];
    for opts in cases {
        let mut args = vec!["GETEX", "k"];
        args.extend_from_slice(opts);
        assert_eq!(env.call(getex, &args), err(CmdError::Syntax), "{opts:?}");
    }
}

// ---- MGET / MSET / MSETNX ----

#[test]
fn mget_replies_values_and_nils_in_argument_order() {
    let mut env = Env::new();
    env.call(mset, &["MSET", "a", "1", "c", "3"]);
    let r = env.call(mget, &["MGET", "a", "b", "c", "a"]);
    assert_eq!(r, arr(vec![bulk("1"), Reply::Nil, bulk("3"), bulk("1")]));
}

#[test]
fn mset_sets_all_pairs_and_clears_ttl() {
    let mut env = Env::new();
    env.call(set, &["SET", "a", "old", "EX", "10"]);
    assert_eq!(
        env.call(mset, &["MSET", "a", "1", "b", "2", "a", "3"]),
        Reply::Ok
    );
    assert_eq!(
        env.call(mget, &["MGET", "a", "b"]),
        arr(vec![bulk("3"), bulk("2")])
    );
    assert_eq!(env.expire_at("a"), Some(0));
}

#[test]
fn mset_odd_argument_count_is_wrong_arity() {
    let mut env = Env::new();
    let r = env.call(mset, &["MSET", "a", "1", "b"]);
    assert_eq!(r, err(CmdError::WrongArity("mset".into())));
    assert_eq!(
        CmdError::WrongArity("mset".into()).message(),
        "ERR wrong number of arguments for 'mset' command"
    );
    assert!(!env.exists("a"));
}

#[test]
fn msetnx_sets_all_when_none_exist() {
    let mut env = Env::new();
    assert_eq!(
        env.call(msetnx, &["MSETNX", "a", "1", "b", "2"]),
        Reply::Int(1)
    );
    assert_eq!(
        env.call(mget, &["MGET", "a", "b"]),
        arr(vec![bulk("1"), bulk("2")])
    );
}

#[test]
fn msetnx_sets_nothing_when_any_exists() {
    let mut env = Env::new();
    env.call(set, &["SET", "b", "old"]);
    assert_eq!(
        env.call(msetnx, &["MSETNX", "a", "1", "b", "2"]),
        Reply::Int(0)
    );
    assert!(!env.exists("a"));
    assert_eq!(env.call(get, &["GET", "b"]), bulk("old"));
}

#[test]
fn msetnx_odd_argument_count_is_wrong_arity() {
    let mut env = Env::new();
    let r = env.call(msetnx, &["msetnx", "a"]);
    assert_eq!(r, err(CmdError::WrongArity("msetnx".into())));
}

// ---- INCR family ----

#[test]
fn incr_creates_missing_key_from_zero() {
    let mut env = Env::new();
    assert_eq!(env.call(incr, &["INCR", "k"]), Reply::Int(1));
    assert_eq!(env.call(decr, &["DECR", "d"]), Reply::Int(-1));
    assert_eq!(env.call(incrby, &["INCRBY", "i", "7"]), Reply::Int(7));
    assert_eq!(env.call(decrby, &["DECRBY", "j", "7"]), Reply::Int(-7));
}

#[test]
fn incr_family_adjusts_existing_value() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "10"]);
    assert_eq!(env.call(incr, &["INCR", "k"]), Reply::Int(11));
    assert_eq!(env.call(decr, &["DECR", "k"]), Reply::Int(10));
    assert_eq!(env.call(incrby, &["INCRBY", "k", "-15"]), Reply::Int(-5));
    assert_eq!(env.call(decrby, &["DECRBY", "k", "-5"]), Reply::Int(0));
    assert_eq!(env.call(get, &["GET", "k"]), bulk("0"));
}

#[test]
fn incr_keeps_ttl() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "1", "EX", "10"]);
    env.call(incr, &["INCR", "k"]);
    assert_eq!(env.expire_at("k"), Some(T0 + 10_000));
}

#[test]
fn incr_stores_int_encoding() {
    let mut env = Env::new();
    env.call(append, &["APPEND", "k", "1"]);
    env.call(append, &["APPEND", "k", "0"]);
    assert_eq!(env.encoding("k"), "raw");
    assert_eq!(env.call(incr, &["INCR", "k"]), Reply::Int(11));
    assert_eq!(env.encoding("k"), "int");
}

#[test]
fn incr_on_non_integer_value_is_not_integer() {
    let mut env = Env::new();
    for v in ["abc", "1.5", " 1", "01", "", "9223372036854775808"] {
        env.call(set, &["SET", "k", v]);
        assert_eq!(
            env.call(incr, &["INCR", "k"]),
            err(CmdError::NotInteger),
            "{v:?}"
        );
    }
}

#[test]
fn incrby_non_integer_increment_is_not_integer() {
    let mut env = Env::new();
    assert_eq!(
        env.call(incrby, &["INCRBY", "k", "1.0"]),
        err(CmdError::NotInteger)
    );
    assert_eq!(
        env.call(decrby, &["DECRBY", "k", "x"]),
        err(CmdError::NotInteger)
    );
    assert!(!env.exists("k"));
}

#[test]
fn incr_overflow_is_error_and_keeps_value() {
    let mut env = Env::new();
    env.call(set, &["SET", "max", &i64::MAX.to_string()]);
    env.call(set, &["SET", "min", &i64::MIN.to_string()]);
    assert_eq!(env.call(incr, &["INCR", "max"]), err(CmdError::Overflow));
    assert_eq!(env.call(decr, &["DECR", "min"]), err(CmdError::Overflow));
    assert_eq!(
        env.call(incrby, &["INCRBY", "min", "-1"]),
        err(CmdError::Overflow)
    );
    assert_eq!(
        env.call(decrby, &["DECRBY", "max", "-1"]),
        err(CmdError::Overflow)
    );
    assert_eq!(env.call(get, &["GET", "max"]), bulk(&i64::MAX.to_string()));
    assert_eq!(
        CmdError::Overflow.message(),
        "ERR increment or decrement would overflow"
    );
}

#[test]
fn decrby_i64_min_is_decrement_overflow() {
    let mut env = Env::new();
    let min = i64::MIN.to_string();
    let r = env.call(decrby, &["DECRBY", "k", &min]);
    assert_eq!(r, other("ERR decrement would overflow"));
    assert!(!env.exists("k"));
}

// ---- INCRBYFLOAT ----

#[test]
fn incrbyfloat_adds_and_replies_formatted_bulk() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "10.50"]);
    assert_eq!(
        env.call(incrbyfloat, &["INCRBYFLOAT", "k", "0.1"]),
        bulk("10.6")
    );
    assert_eq!(
        env.call(incrbyfloat, &["INCRBYFLOAT", "k", "-5"]),
        bulk("5.6")
    );
    env.call(set, &["SET", "k", "5.0e3"]);
    assert_eq!(
        env.call(incrbyfloat, &["INCRBYFLOAT", "k", "2.0e2"]),
        bulk("5200")
    );
    assert_eq!(env.call(get, &["GET", "k"]), bulk("5200"));
}

#[test]
fn incrbyfloat_missing_key_starts_at_zero() {
    let mut env = Env::new();
    assert_eq!(
        env.call(incrbyfloat, &["INCRBYFLOAT", "k", "1.5"]),
        bulk("1.5")
    );
    assert_eq!(env.call(get, &["GET", "k"]), bulk("1.5"));
}

#[test]
fn incrbyfloat_keeps_ttl() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "1", "PX", "500"]);
    env.call(incrbyfloat, &["INCRBYFLOAT", "k", "1"]);
    assert_eq!(env.expire_at("k"), Some(T0 + 500));
}

#[test]
fn incrbyfloat_stores_text_not_int_encoding() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "1"]);
    assert_eq!(env.call(incrbyfloat, &["INCRBYFLOAT", "k", "2"]), bulk("3"));
    assert_eq!(env.encoding("k"), "embstr");
    assert_eq!(env.call(incr, &["INCR", "k"]), Reply::Int(4));
}

#[test]
fn incrbyfloat_bad_increment_or_value_is_not_float() {
    let mut env = Env::new();
    for bad in ["abc", "nan", " 1", ""] {
        let r = env.call(incrbyfloat, &["INCRBYFLOAT", "k", bad]);
        assert_eq!(r, err(CmdError::NotFloat), "{bad:?}");
    }
    assert!(!env.exists("k"));
    env.call(set, &["SET", "k", "1.5x"]);
    assert_eq!(
        env.call(incrbyfloat, &["INCRBYFLOAT", "k", "1"]),
        err(CmdError::NotFloat)
    );
    let huge = "1".repeat(5 * 1024);
    env.call(set, &["SET", "h", &huge]);
    assert_eq!(
        env.call(incrbyfloat, &["INCRBYFLOAT", "h", "1"]),
        err(CmdError::NotFloat)
    );
}

#[test]
fn incrbyfloat_to_infinity_is_error() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "1"]);
    assert_eq!(
        env.call(incrbyfloat, &["INCRBYFLOAT", "k", "inf"]),
        err(CmdError::NanOrInfinity)
    );
    env.call(set, &["SET", "k", "-inf"]);
    assert_eq!(
        env.call(incrbyfloat, &["INCRBYFLOAT", "k", "1"]),
        err(CmdError::NanOrInfinity)
    );
    assert_eq!(env.call(get, &["GET", "k"]), bulk("-inf"));
}

// ---- APPEND / STRLEN ----

#[test]
fn append_creates_missing_key_and_replies_length() {
    let mut env = Env::new();
    assert_eq!(env.call(append, &["APPEND", "k", "Hello"]), Reply::Int(5));
    assert_eq!(env.call(get, &["GET", "k"]), bulk("Hello"));
    assert_eq!(env.encoding("k"), "embstr");
}

#[test]
fn append_extends_value_as_raw_and_keeps_ttl() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "Hello", "EX", "10"]);
    assert_eq!(env.call(append, &["APPEND", "k", " World"]), Reply::Int(11));
    assert_eq!(env.call(get, &["GET", "k"]), bulk("Hello World"));
    assert_eq!(env.encoding("k"), "raw");
    assert_eq!(env.expire_at("k"), Some(T0 + 10_000));
}

#[test]
fn append_to_integer_value_appends_its_text() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "12"]);
    assert_eq!(env.call(append, &["APPEND", "k", "3"]), Reply::Int(3));
    assert_eq!(env.call(get, &["GET", "k"]), bulk("123"));
}

#[test]
fn append_beyond_max_string_size_is_error() {
    let mut env = Env::new();
    let last = (PROTO_MAX_BULK_LEN - 1).to_string();
    // Exactly at the limit is allowed; one byte more is not.
    assert_eq!(
        env.call(setrange, &["SETRANGE", "k", &last, "x"]),
        Reply::Int(PROTO_MAX_BULK_LEN as i64)
    );
    assert_eq!(
        env.call(append, &["APPEND", "k", "y"]),
        err(CmdError::StringTooLong)
    );
    assert_eq!(
        env.call(strlen, &["STRLEN", "k"]),
        Reply::Int(PROTO_MAX_BULK_LEN as i64)
    );
}

#[test]
fn strlen_counts_bytes_and_missing_is_zero() {
    let mut env = Env::new();
    assert_eq!(env.call(strlen, &["STRLEN", "k"]), Reply::Int(0));
    env.call(set, &["SET", "k", "hello"]);
    assert_eq!(env.call(strlen, &["STRLEN", "k"]), Reply::Int(5));
    env.call(set, &["SET", "n", "-1234"]);
    assert_eq!(env.call(strlen, &["STRLEN", "n"]), Reply::Int(5));
}

// ---- GETRANGE / SUBSTR ----

#[test]
fn getrange_handles_positive_and_negative_indexes() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "This is a string"]);
    let mut range = |s: &str, e: &str| env.call(getrange, &["GETRANGE", "k", s, e]);
    assert_eq!(range("0", "3"), bulk("This"));
    assert_eq!(range("-3", "-1"), bulk("ing"));
    assert_eq!(range("0", "-1"), bulk("This is a string"));
    assert_eq!(range("10", "100"), bulk("string"));
    assert_eq!(range("-100", "3"), bulk("This"));
}

#[test]
fn getrange_out_of_range_is_empty() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "Hello"]);
    let mut range = |s: &str, e: &str| env.call(getrange, &["GETRANGE", "k", s, e]);
    assert_eq!(range("3", "2"), bulk(""));
    assert_eq!(range("5", "10"), bulk(""));
    assert_eq!(range("-1", "-3"), bulk(""));
    assert_eq!(range("-100", "-101"), bulk(""));
    assert_eq!(range("1", "-100"), bulk(""));
}

#[test]
fn getrange_clamps_far_negative_end_to_first_byte_as_redis_7() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "0123456789"]);
    let mut range = |s: &str, e: &str| env.call(getrange, &["GETRANGE", "k", s, e]);
    assert_eq!(range("0", "-100"), bulk("0"));
    assert_eq!(range("-100", "-99"), bulk("0"));
    assert_eq!(range("-100", "-100"), bulk("0"));
}

#[test]
fn getrange_extreme_indexes_do_not_overflow() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "abc"]);
    let (min, max) = (i64::MIN.to_string(), i64::MAX.to_string());
    assert_eq!(
        env.call(getrange, &["GETRANGE", "k", &min, &max]),
        bulk("abc")
    );
    assert_eq!(env.call(getrange, &["GETRANGE", "k", &max, &min]), bulk(""));
}

#[test]
fn getrange_of_empty_or_missing_value_is_empty_bulk() {
    let mut env = Env::new();
    assert_eq!(env.call(getrange, &["GETRANGE", "k", "0", "-1"]), bulk(""));
    env.call(set, &["SET", "k", ""]);
    assert_eq!(env.call(getrange, &["GETRANGE", "k", "0", "-1"]), bulk(""));
}

#[test]
fn getrange_of_integer_value_uses_its_text() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "-12345"]);
    assert_eq!(env.call(getrange, &["GETRANGE", "k", "1", "2"]), bulk("12"));
}

#[test]
fn getrange_non_integer_index_is_not_integer() {
    let mut env = Env::new();
    assert_eq!(
        env.call(getrange, &["GETRANGE", "k", "a", "1"]),
        err(CmdError::NotInteger)
    );
    assert_eq!(
        env.call(getrange, &["GETRANGE", "k", "0", "-0"]),
        err(CmdError::NotInteger)
    );
}

#[test]
fn substr_is_getrange() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "Hello"]);
    assert_eq!(env.call(getrange, &["SUBSTR", "k", "1", "3"]), bulk("ell"));
}

// ---- SETRANGE ----

#[test]
fn setrange_overwrites_part_of_value() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "Hello World"]);
    assert_eq!(
        env.call(setrange, &["SETRANGE", "k", "6", "Redis"]),
        Reply::Int(11)
    );
    assert_eq!(env.call(get, &["GET", "k"]), bulk("Hello Redis"));
}

#[test]
fn setrange_pads_with_zero_bytes() {
    let mut env = Env::new();
    assert_eq!(
        env.call(setrange, &["SETRANGE", "k", "5", "Redis"]),
        Reply::Int(10)
    );
    assert_eq!(
        env.call(get, &["GET", "k"]),
        Reply::bulk(b"\0\0\0\0\0Redis")
    );
    env.call(set, &["SET", "s", "ab"]);
    assert_eq!(
        env.call(setrange, &["SETRANGE", "s", "4", "c"]),
        Reply::Int(5)
    );
    assert_eq!(env.call(get, &["GET", "s"]), Reply::bulk(b"ab\0\0c"));
}

#[test]
fn setrange_makes_raw_and_keeps_ttl() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "123", "EX", "10"]);
    assert_eq!(
        env.call(setrange, &["SETRANGE", "k", "1", "9"]),
        Reply::Int(3)
    );
    assert_eq!(env.encoding("k"), "raw");
    assert_eq!(env.call(get, &["GET", "k"]), bulk("193"));
    assert_eq!(env.expire_at("k"), Some(T0 + 10_000));
    env.call(setrange, &["SETRANGE", "n", "0", "1"]);
    assert_eq!(env.encoding("n"), "raw");
}

#[test]
fn setrange_negative_offset_is_out_of_range() {
    let mut env = Env::new();
    let r = env.call(setrange, &["SETRANGE", "k", "-1", "x"]);
    assert_eq!(r, err(CmdError::OffsetOutOfRange));
    assert_eq!(
        CmdError::OffsetOutOfRange.message(),
        "ERR offset is out of range"
    );
    assert_eq!(
        env.call(setrange, &["SETRANGE", "k", "x", "x"]),
        err(CmdError::NotInteger)
    );
}

#[test]
fn setrange_empty_value_on_missing_key_creates_nothing() {
    let mut env = Env::new();
    assert_eq!(
        env.call(setrange, &["SETRANGE", "k", "100", ""]),
        Reply::Int(0)
    );
    assert!(!env.exists("k"));
}

#[test]
fn setrange_empty_value_on_existing_key_replies_length() {
    let mut env = Env::new();
    env.call(set, &["SET", "k", "12"]);
    let far = (PROTO_MAX_BULK_LEN * 4).to_string();
    assert_eq!(
        env.call(setrange, &["SETRANGE", "k", &far, ""]),
        Reply::Int(2)
    );
    assert_eq!(env.encoding("k"), "int");
}

#[test]
fn setrange_beyond_max_string_size_is_error() {
    let mut env = Env::new();
    let at_limit = PROTO_MAX_BULK_LEN.to_string();
    let r = env.call(setrange, &["SETRANGE", "k", &at_limit, "x"]);
    assert_eq!(r, err(CmdError::StringTooLong));
    assert!(!env.exists("k"));
    env.call(set, &["SET", "k", "v"]);
    let max = i64::MAX.to_string();
    assert_eq!(
        env.call(setrange, &["SETRANGE", "k", &max, "x"]),
        err(CmdError::StringTooLong)
    );
    assert_eq!(env.call(get, &["GET", "k"]), bulk("v"));
}

// ---- LCS ----

fn lcs_env() -> Env {
    let mut env = Env::new();
    env.call(mset, &["MSET", "a", "ohmytext", "b", "mynewtext"]);
    env
}

fn lcs_call(env: &mut Env, opts: &[&str]) -> Reply {
    let mut args = vec!["LCS", "a", "b"];
    args.extend_from_slice(opts);
    env.call(lcs, &args)
}

fn idx_reply(matches: Vec<Reply>, len: i64) -> Reply {
    Reply::Map(vec![
        (bulk("matches"), arr(matches)),
        (bulk("len"), Reply::Int(len)),
    ])
}

#[test]
fn lcs_replies_longest_common_subsequence() {
    let mut env = lcs_env();
    assert_eq!(lcs_call(&mut env, &[]), bulk("mytext"));
}

#[test]
fn lcs_len_replies_length() {
    let mut env = lcs_env();
    assert_eq!(lcs_call(&mut env, &["len"]), Reply::Int(6));
}

#[test]
fn lcs_idx_lists_matches_from_the_end() {
    let mut env = lcs_env();
    let expected = idx_reply(
        vec![
            arr(vec![ints(&[4, 7]), ints(&[5, 8])]),
            arr(vec![ints(&[2, 3]), ints(&[0, 1])]),
        ],
        6,
    );
    assert_eq!(lcs_call(&mut env, &["IDX"]), expected);
}

#[test]
fn lcs_idx_minmatchlen_and_withmatchlen() {
    let mut env = lcs_env();
    let r = lcs_call(&mut env, &["IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]);
    let expected = idx_reply(
        vec![arr(vec![ints(&[4, 7]), ints(&[5, 8]), Reply::Int(4)])],
        6,
    );
    assert_eq!(r, expected);
}

#[test]
fn lcs_negative_minmatchlen_means_no_minimum() {
    let mut env = lcs_env();
    let r = lcs_call(&mut env, &["IDX", "MINMATCHLEN", "-3"]);
    assert_eq!(r, lcs_call(&mut env, &["IDX"]));
}

#[test]
fn lcs_match_touching_string_start_is_reported() {
    let r = lcs_reply(b"abcd", b"xabcd", &lcs_args(&["IDX", "WITHMATCHLEN"]));
    let expected = idx_reply(
        vec![arr(vec![ints(&[0, 3]), ints(&[1, 4]), Reply::Int(4)])],
        4,
    );
    assert_eq!(r, expected);
}

#[test]
fn lcs_breaks_ties_like_redis() {
    // Two equally long answers; on a tie Redis's walk steps back in the second string.
    assert_eq!(lcs_reply(b"ab", b"ba", &lcs_args(&[])), bulk("b"));
    assert_eq!(lcs_reply(b"ba", b"ab", &lcs_args(&[])), bulk("a"));
}

#[test]
fn lcs_missing_keys_are_empty_strings() {
    let mut env = Env::new();
    assert_eq!(lcs_call(&mut env, &[]), bulk(""));
    assert_eq!(lcs_call(&mut env, &["LEN"]), Reply::Int(0));
    assert_eq!(lcs_call(&mut env, &["IDX"]), idx_reply(vec![], 0));
    env.call(set, &["SET", "a", "abc"]);
    assert_eq!(lcs_call(&mut env, &[]), bulk(""));
}

#[test]
fn lcs_of_integer_values_uses_their_text() {
    let mut env = Env::new();
    env.call(mset, &["MSET", "a", "12345", "b", "-2a4"]);
    assert_eq!(lcs_call(&mut env, &[]), bulk("24"));
}

#[test]
fn lcs_len_with_idx_is_error() {
    let mut env = lcs_env();
    let msg = "ERR If you want both the length and indexes, please just use IDX.";
    assert_eq!(lcs_call(&mut env, &["LEN", "IDX"]), other(msg));
    assert_eq!(lcs_call(&mut env, &["idx", "len"]), other(msg));
}

#[test]
fn lcs_bad_options_are_errors() {
    let mut env = lcs_env();
    assert_eq!(lcs_call(&mut env, &["FOO"]), err(CmdError::Syntax));
    assert_eq!(
        lcs_call(&mut env, &["IDX", "MINMATCHLEN"]),
        err(CmdError::Syntax)
    );
    assert_eq!(
        lcs_call(&mut env, &["MINMATCHLEN", "x"]),
        err(CmdError::NotInteger)
    );
}

#[test]
fn lcs_table_beyond_proto_max_bulk_len_is_error() {
    let a = vec![b'x'; 12_000];
    let msg = "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";
    assert_eq!(lcs_reply(&a, &a, &lcs_args(&["LEN"])), other(msg));
    // The option errors come first.
    assert_eq!(
        lcs_reply(&a, &a, &lcs_args(&["BAD"])),
        err(CmdError::Syntax)
    );
}

#[test]
fn lcs_reply_serves_values_from_other_shards() {
    let args = lcs_args(&["IDX", "WITHMATCHLEN"]);
    let r = lcs_reply(b"ohmytext", b"mynewtext", &args);
    let expected = idx_reply(
        vec![
            arr(vec![ints(&[4, 7]), ints(&[5, 8]), Reply::Int(4)]),
            arr(vec![ints(&[2, 3]), ints(&[0, 1]), Reply::Int(2)]),
        ],
        6,
    );
    assert_eq!(r, expected);
}

// ---- Robustness ----

#[test]
fn handlers_never_panic_on_short_arguments() {
    let handlers: &[Handler] = &[
        get,
        set,
        setnx,
        setex,
        psetex,
        getset,
        getdel,
        getex,
        mget,
        mset,
        msetnx,
        incr,
        decr,
        incrby,
        decrby,
        incrbyfloat,
        append,
        strlen,
        getrange,
        setrange,
        lcs,
    ];
    let mut env = Env::new();
    for h in handlers {
        env.call_bytes(*h, &[]);
        let r = env.call(*h, &["CMD"]);
        assert!(r.is_error() || r == Reply::Array(vec![]), "{r:?}");
    }
    assert_eq!(
        env.call(get, &["GET"]),
        err(CmdError::WrongArity("get".into()))
    );
}
