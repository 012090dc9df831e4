//! Unit tests of the sorted set commands (`cmd::zsets`).

use std::collections::BTreeMap;

use super::range::rank_bounds;
use super::*;
use crate::cmd::test_env::{Env, T0};
use crate::cmd::Handler;

/// What the sorted set tests set up and check beside the commands.
impl Env {
    /// Small thresholds so both encodings get exercised.
    fn small(entries: usize, value: usize) -> Env {
        let mut e = Env::new();
        e.ks.config.zset_max_listpack_entries = entries;
        e.ks.config.zset_max_listpack_value = value;
        e
    }

    fn zset(&mut self, key: &str) -> ZSet {
        match self.ks.lookup(0, key.as_bytes()).map(|e| e.value()) {
            Some(Value::ZSet(z)) => *z.clone(),
            _ => ZSet::new(),
        }
    }
}

fn b(s: &str) -> Reply {
    Reply::bulk(s)
}

fn arr(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| b(s)).collect())
}

fn pairs(items: &[(&str, f64)]) -> Reply {
    Reply::Pairs(
        items
            .iter()
            .map(|(m, s)| (b(m), Reply::Double(*s)))
            .collect(),
    )
}

fn err(msg: &str) -> Reply {
    Reply::Error(CmdError::other(msg))
}

fn abc(e: &mut Env) {
    assert_eq!(
        e.call(zadd, &["zadd", "z", "1", "a", "2", "b", "3", "c"]),
        Reply::Int(3)
    );
}

// ZADD ---------------------------------------------------------------------------

#[test]
fn zadd_counts_added_members_and_ch_counts_updates_too() {
    let mut e = Env::new();
    abc(&mut e);
    assert_eq!(
        e.call(zadd, &["zadd", "z", "5", "a", "4", "d"]),
        Reply::Int(1)
    );
    assert_eq!(
        e.call(zadd, &["zadd", "z", "CH", "6", "a", "4", "d", "1", "e"]),
        Reply::Int(2)
    );
    assert_eq!(e.call(zscore, &["zscore", "z", "a"]), Reply::Double(6.0));
}

#[test]
fn zadd_nx_xx_gt_lt_follow_redis() {
    let mut e = Env::new();
    abc(&mut e);
    assert_eq!(
        e.call(zadd, &["zadd", "z", "nx", "9", "a", "9", "n"]),
        Reply::Int(1)
    );
    assert_eq!(e.call(zscore, &["zscore", "z", "a"]), Reply::Double(1.0));
    assert_eq!(
        e.call(zadd, &["zadd", "z", "xx", "ch", "9", "a", "9", "x"]),
        Reply::Int(1)
    );
    assert_eq!(e.call(zscore, &["zscore", "z", "x"]), Reply::Nil);
    // GT only raises, LT only lowers; new members are still added.
    assert_eq!(
        e.call(
            zadd,
            &["zadd", "z", "gt", "ch", "1", "a", "5", "b", "0", "g"]
        ),
        Reply::Int(2)
    );
    assert_eq!(e.call(zscore, &["zscore", "z", "a"]), Reply::Double(9.0));
    assert_eq!(
        e.call(zadd, &["zadd", "z", "lt", "ch", "10", "a", "1", "b"]),
        Reply::Int(1)
    );
    assert_eq!(e.call(zscore, &["zscore", "z", "b"]), Reply::Double(1.0));
    assert_eq!(
        e.call(zadd, &["zadd", "nokey", "xx", "1", "a"]),
        Reply::Int(0)
    );
    assert!(!e.exists("nokey"));
}

#[test]
fn zadd_incr_replies_the_new_score_or_nil() {
    let mut e = Env::new();
    abc(&mut e);
    assert_eq!(
        e.call(zadd, &["zadd", "z", "incr", "1.5", "a"]),
        Reply::Double(2.5)
    );
    assert_eq!(
        e.call(zadd, &["zadd", "z", "nx", "incr", "1", "a"]),
        Reply::Nil
    );
    assert_eq!(
        e.call(zadd, &["zadd", "z", "xx", "incr", "1", "zz"]),
        Reply::Nil
    );
    assert_eq!(
        e.call(zadd, &["zadd", "z", "gt", "incr", "-1", "a"]),
        Reply::Nil
    );
    assert_eq!(
        e.call(zadd, &["zadd", "z", "incr", "0", "a"]),
        Reply::Double(2.5)
    );
    assert_eq!(
        e.call(zincrby, &["zincrby", "z", "-0.5", "new"]),
        Reply::Double(-0.5)
    );
}

#[test]
fn zadd_option_errors_use_redis_texts() {
    let mut e = Env::new();
    assert_eq!(
        e.call(zadd, &["zadd", "z", "nx", "xx", "1", "a"]),
        err("ERR XX and NX options at the same time are not compatible")
    );
    for opts in [["gt", "lt"], ["gt", "nx"], ["nx", "lt"]] {
        assert_eq!(
            e.call(zadd, &["zadd", "z", opts[0], opts[1], "1", "a"]),
            err("ERR GT, LT, and/or NX options at the same time are not compatible")
        );
    }
    assert_eq!(
        e.call(zadd, &["zadd", "z", "incr", "1", "a", "2", "b"]),
        err("ERR INCR option supports a single increment-element pair")
    );
    assert_eq!(
        e.call(zadd, &["zadd", "z", "1", "a", "2"]),
        CmdError::Syntax.into()
    );
    assert_eq!(
        e.call(zadd, &["zadd", "z", "nx", "1"]),
        CmdError::Syntax.into()
    );
    for bad in ["nan", "x", " 1", "", "1e500", "1e-400"] {
        assert_eq!(
            e.call(zadd, &["zadd", "z", bad, "a"]),
            CmdError::NotFloat.into(),
            "{bad:?}"
        );
    }
    assert!(!e.exists("z"));
}

#[test]
fn zadd_accepts_what_strtod_accepts() {
    let mut e = Env::new();
    assert_eq!(
        e.call(
            zadd,
            &[
                "zadd",
                "z",
                "0x10",
                "a",
                "inf",
                "b",
                "-Infinity",
                "c",
                "1e3",
                "d"
            ]
        ),
        Reply::Int(4)
    );
    assert_eq!(e.call(zscore, &["zscore", "z", "a"]), Reply::Double(16.0));
    assert_eq!(
        e.call(zscore, &["zscore", "z", "c"]),
        Reply::Double(f64::NEG_INFINITY)
    );
}

#[test]
fn incr_to_nan_is_an_error_and_keeps_earlier_pairs() {
    let mut e = Env::new();
    e.call(zadd, &["zadd", "z", "inf", "a"]);
    assert_eq!(
        e.call(zincrby, &["zincrby", "z", "-inf", "a"]),
        err("ERR resulting score is not a number (NaN)")
    );
    assert_eq!(
        e.call(zscore, &["zscore", "z", "a"]),
        Reply::Double(f64::INFINITY)
    );
}

#[test]
fn commands_on_a_string_key_are_wrongtype() {
    let mut e = Env::new();
    e.ks.set(0, b"s", Value::Str(crate::value::Str::from_bytes(b"x")), 0);
    let wt: Reply = CmdError::WrongType.into();
    assert_eq!(e.call(zadd, &["zadd", "s", "1", "a"]), wt);
    assert_eq!(e.call(zscore, &["zscore", "s", "a"]), wt);
    assert_eq!(e.call(zrange, &["zrange", "s", "0", "-1"]), wt);
    assert_eq!(e.call(zpopmin, &["zpopmin", "s", "0"]), wt);
    assert_eq!(e.call(zunion, &["zunion", "1", "s", "foo"]), wt);
    assert_eq!(e.call(zscan, &["zscan", "s", "0"]), wt);
    assert_eq!(e.call(zmpop, &["zmpop", "1", "s", "min"]), wt);
    // Argument errors come first.
    assert_eq!(
        e.call(zcount, &["zcount", "s", "x", "1"]),
        err("ERR min or max is not a float")
    );
    assert_eq!(
        e.call(zadd, &["zadd", "s", "nan", "a"]),
        CmdError::NotFloat.into()
    );
}

#[test]
fn removing_the_last_member_deletes_the_key() {
    let mut e = Env::new();
    abc(&mut e);
    assert_eq!(e.call(zrem, &["zrem", "z", "a", "b", "x"]), Reply::Int(2));
    assert!(e.exists("z"));
    assert_eq!(e.call(zrem, &["zrem", "z", "c"]), Reply::Int(1));
    assert!(!e.exists("z"));
    abc(&mut e);
    assert_eq!(
        e.call(zremrangebyscore, &["zremrangebyscore", "z", "-inf", "+inf"]),
        Reply::Int(3)
    );
    assert!(!e.exists("z"));
    abc(&mut e);
    e.call(zpopmin, &["zpopmin", "z", "10"]);
    assert!(!e.exists("z"));
}

#[test]
fn writes_keep_the_ttl() {
    let mut e = Env::new();
    abc(&mut e);
    e.ks.set_expire(0, b"z", T0 + 10_000);
    e.call(zadd, &["zadd", "z", "4", "d"]);
    e.call(zrem, &["zrem", "z", "a"]);
    e.call(zincrby, &["zincrby", "z", "1", "b"]);
    assert_eq!(
        e.ks.lookup(0, b"z").map(|x| x.expire_at()),
        Some(T0 + 10_000)
    );
}

#[test]
fn encoding_converts_on_entries_or_member_length_and_never_back() {
    let mut e = Env::small(3, 5);
    abc(&mut e);
    assert_eq!(e.encoding("z"), "listpack");
    e.call(zadd, &["zadd", "z", "4", "d"]);
    assert_eq!(e.encoding("z"), "skiplist");
    e.call(zrem, &["zrem", "z", "a", "b", "c"]);
    assert_eq!(e.encoding("z"), "skiplist");
    e.call(zadd, &["zadd", "y", "1", "abcde"]);
    assert_eq!(e.encoding("y"), "listpack");
    e.call(zadd, &["zadd", "y", "1", "abcdef"]);
    assert_eq!(e.encoding("y"), "skiplist");
    // Stored results pick the encoding by their final size.
    e.call(zunionstore, &["zunionstore", "u", "1", "z"]);
    assert_eq!(e.encoding("u"), "listpack");
    let mut zero = Env::small(0, 64);
    zero.call(zadd, &["zadd", "z", "1", "a"]);
    assert_eq!(zero.encoding("z"), "skiplist");
}

#[test]
fn negative_zero_survives_only_in_skiplist_sets() {
    let mut e = Env::new();
    assert_eq!(
        e.call(zadd, &["zadd", "z", "incr", "-0", "a"]),
        Reply::Double(-0.0)
    );
    match e.call(zscore, &["zscore", "z", "a"]) {
        Reply::Double(d) => assert!(d == 0.0 && d.is_sign_positive()),
        r => panic!("{r:?}"),
    }
    let mut s = Env::small(0, 64);
    s.call(zadd, &["zadd", "z", "-0", "a"]);
    match s.call(zscore, &["zscore", "z", "a"]) {
        Reply::Double(d) => assert!(d == 0.0 && d.is_sign_negative()),
        r => panic!("{r:?}"),
    }
    // 0 equals -0: no update.
    assert_eq!(s.call(zadd, &["zadd", "z", "ch", "0", "a"]), Reply::Int(0));
}

/// ZRANGESTORE's destination is a skiplist from the start when the result is past
/// zset-max-listpack-entries, else a listpack until a long member comes: a -0 copied
/// while it is a listpack becomes 0, others keep the sign, as in redis-server 7.0 (found
/// by the random compat replay).
#[test]
fn zrangestore_keeps_negative_zero_only_in_a_skiplist_destination() {
    let sign = |e: &mut Env, key: &str, member: &str| match e.call(zscore, &["zscore", key, member])
    {
        Reply::Double(d) if d == 0.0 => d.is_sign_negative(),
        r => panic!("{r:?}"),
    };
    let mut e = Env::small(2, 64);
    e.call(zadd, &["zadd", "z", "1", "a", "2", "b", "3", "c"]);
    e.call(zincrby, &["zincrby", "z", "-0", "y"]);
    e.call(zincrby, &["zincrby", "z", "-0", "z"]);
    assert!(sign(&mut e, "z", "y") && sign(&mut e, "z", "z"));
    assert_eq!(
        e.call(zrangestore, &["zrangestore", "d", "z", "0", "-1"]),
        Reply::Int(5)
    );
    assert!(sign(&mut e, "d", "y") && sign(&mut e, "d", "z"));
    e.call(zrangestore, &["zrangestore", "d", "z", "0", "1"]);
    assert!(!sign(&mut e, "d", "y") && !sign(&mut e, "d", "z"));
    // A long member converts the listpack when it comes.
    let mut e = Env::small(128, 3);
    e.call(zadd, &["zadd", "z", "1", "long-member"]);
    e.call(zincrby, &["zincrby", "z", "-0", "y"]);
    e.call(zrangestore, &["zrangestore", "d", "z", "0", "-1", "rev"]);
    assert!(sign(&mut e, "d", "y"));
    e.call(zrangestore, &["zrangestore", "d", "z", "0", "-1"]);
    assert!(!sign(&mut e, "d", "y"));
}

// Reads and ranges ---------------------------------------------------------------

#[test]
fn zrank_is_redis_7_0_without_withscore() {
    let mut e = Env::new();
    abc(&mut e);
    assert_eq!(e.call(zrank, &["zrank", "z", "b"]), Reply::Int(1));
    assert_eq!(e.call(zrevrank, &["zrevrank", "z", "c"]), Reply::Int(0));
    assert_eq!(e.call(zrank, &["zrank", "z", "x"]), Reply::Nil);
    assert_eq!(e.call(zrank, &["zrank", "nokey", "x"]), Reply::Nil);
    assert_eq!(
        e.call(zrank, &["ZRANK", "z", "b", "withscore"]),
        CmdError::WrongArity("zrank".into()).into()
    );
}

#[test]
fn zcard_zscore_zmscore_read_members() {
    let mut e = Env::new();
    abc(&mut e);
    assert_eq!(e.call(zcard, &["zcard", "z"]), Reply::Int(3));
    assert_eq!(e.call(zcard, &["zcard", "nokey"]), Reply::Int(0));
    assert_eq!(
        e.call(zmscore, &["zmscore", "z", "a", "x", "c"]),
        Reply::Array(vec![Reply::Double(1.0), Reply::Nil, Reply::Double(3.0)])
    );
    assert_eq!(
        e.call(zmscore, &["zmscore", "nokey", "a"]),
        Reply::Array(vec![Reply::Nil])
    );
}

#[test]
fn zrange_by_rank_handles_negative_indexes_rev_and_scores() {
    let mut e = Env::new();
    abc(&mut e);
    assert_eq!(
        e.call(zrange, &["zrange", "z", "0", "-1"]),
        arr(&["a", "b", "c"])
    );
    assert_eq!(
        e.call(zrange, &["zrange", "z", "-2", "10"]),
        arr(&["b", "c"])
    );
    assert_eq!(e.call(zrange, &["zrange", "z", "2", "1"]), arr(&[]));
    assert_eq!(
        e.call(zrange, &["zrange", "z", "0", "0", "rev", "withscores"]),
        pairs(&[("c", 3.0)])
    );
    assert_eq!(
        e.call(zrevrange, &["zrevrange", "z", "1", "-1"]),
        arr(&["b", "a"])
    );
    assert_eq!(e.call(zrange, &["zrange", "nokey", "0", "-1"]), arr(&[]));
    assert_eq!(
        e.call(zrange, &["zrange", "z", "a", "1"]),
        CmdError::NotInteger.into()
    );
}

#[test]
fn zrange_by_score_takes_exclusive_bounds_infinities_and_limit() {
    let mut e = Env::new();
    abc(&mut e);
    e.call(zadd, &["zadd", "z", "4", "d", "5", "e"]);
    let r = |e: &mut Env, args: &[&str]| e.call(zrange, args);
    assert_eq!(
        r(&mut e, &["zrange", "z", "(1", "3", "byscore"]),
        arr(&["b", "c"])
    );
    assert_eq!(
        r(
            &mut e,
            &["zrange", "z", "-inf", "+inf", "byscore", "limit", "1", "2"]
        ),
        arr(&["b", "c"])
    );
    assert_eq!(
        r(
            &mut e,
            &["zrange", "z", "+inf", "(2", "byscore", "rev", "limit", "1", "-1"]
        ),
        arr(&["d", "c"])
    );
    assert_eq!(
        r(
            &mut e,
            &["zrange", "z", "0", "10", "byscore", "limit", "-1", "2"]
        ),
        arr(&[])
    );
    assert_eq!(
        e.call(
            zrangebyscore,
            &["zrangebyscore", "z", "4", "inf", "withscores"]
        ),
        pairs(&[("d", 4.0), ("e", 5.0)])
    );
    assert_eq!(
        e.call(zrevrangebyscore, &["zrevrangebyscore", "z", "(5", "(3"]),
        arr(&["d"])
    );
    assert_eq!(e.call(zcount, &["zcount", "z", "(1", "(5"]), Reply::Int(3));
    assert_eq!(e.call(zcount, &["zcount", "z", "3", "(3"]), Reply::Int(0));
    assert_eq!(
        e.call(zcount, &["zcount", "z", "1", "5 "]),
        err("ERR min or max is not a float")
    );
    // strtod's leniency: empty is 0, leading spaces and hex are fine.
    assert_eq!(e.call(zcount, &["zcount", "z", "", " 0x2"]), Reply::Int(2));
}

#[test]
fn zrange_by_lex_takes_brackets_and_infinities() {
    let mut e = Env::new();
    e.call(zadd, &["zadd", "l", "0", "a", "0", "b", "0", "c", "0", "d"]);
    assert_eq!(
        e.call(zrange, &["zrange", "l", "[b", "(d", "bylex"]),
        arr(&["b", "c"])
    );
    assert_eq!(
        e.call(
            zrange,
            &["zrange", "l", "+", "(b", "bylex", "rev", "limit", "0", "2"]
        ),
        arr(&["d", "c"])
    );
    assert_eq!(
        e.call(zrangebylex, &["zrangebylex", "l", "-", "+"]).clone(),
        arr(&["a", "b", "c", "d"])
    );
    assert_eq!(
        e.call(zrevrangebylex, &["zrevrangebylex", "l", "[c", "-"]),
        arr(&["c", "b", "a"])
    );
    assert_eq!(
        e.call(zlexcount, &["zlexcount", "l", "(a", "[c"]),
        Reply::Int(2)
    );
    assert_eq!(
        e.call(zlexcount, &["zlexcount", "l", "[c", "[a"]),
        Reply::Int(0)
    );
    for bad in [["a", "+"], ["-", "+x"], ["", "+"]] {
        assert_eq!(
            e.call(zlexcount, &["zlexcount", "l", bad[0], bad[1]]),
            err("ERR min or max not valid string range item")
        );
    }
    assert_eq!(
        e.call(zremrangebylex, &["zremrangebylex", "l", "-", "(c"]),
        Reply::Int(2)
    );
    assert_eq!(
        e.call(zrange, &["zrange", "l", "0", "-1"]),
        arr(&["c", "d"])
    );
}

#[test]
fn zrange_option_conflicts_use_redis_texts() {
    let mut e = Env::new();
    abc(&mut e);
    assert_eq!(
        e.call(zrange, &["zrange", "z", "0", "-1", "limit", "0", "1"]),
        err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
        )
    );
    assert_eq!(
        e.call(zrange, &["zrange", "z", "-", "+", "bylex", "withscores"]),
        err("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    );
    assert_eq!(
        e.call(zrangebylex, &["zrangebylex", "z", "-", "+", "withscores"]),
        err("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    );
    let syntax: Reply = CmdError::Syntax.into();
    assert_eq!(
        e.call(zrange, &["zrange", "z", "0", "1", "byscore", "bylex"]),
        syntax
    );
    assert_eq!(
        e.call(zrange, &["zrange", "z", "0", "1", "rev", "rev"]),
        syntax
    );
    assert_eq!(
        e.call(zrangebyscore, &["zrangebyscore", "z", "0", "1", "rev"]),
        syntax
    );
    assert_eq!(
        e.call(zrange, &["zrange", "z", "0", "1", "limit", "0"]),
        syntax
    );
    assert_eq!(
        e.call(
            zrangestore,
            &["zrangestore", "d", "z", "0", "-1", "withscores"]
        ),
        syntax
    );
}

#[test]
fn zrangestore_stores_replaces_and_deletes_on_empty() {
    let mut e = Env::new();
    abc(&mut e);
    e.call(zadd, &["zadd", "d", "9", "old"]);
    e.ks.set_expire(0, b"d", T0 + 5000);
    assert_eq!(
        e.call(
            zrangestore,
            &["zrangestore", "d", "z", "(1", "+inf", "byscore"]
        ),
        Reply::Int(2)
    );
    assert_eq!(
        e.call(zrange, &["zrange", "d", "0", "-1", "withscores"]),
        pairs(&[("b", 2.0), ("c", 3.0)])
    );
    assert_eq!(e.ks.lookup(0, b"d").map(|x| x.expire_at()), Some(0));
    assert_eq!(
        e.call(zrangestore, &["zrangestore", "d", "z", "5", "9"]),
        Reply::Int(0)
    );
    assert!(!e.exists("d"));
    e.call(zadd, &["zadd", "d", "9", "old"]);
    assert_eq!(
        e.call(zrangestore, &["zrangestore", "d", "nokey", "0", "-1"]),
        Reply::Int(0)
    );
    assert!(!e.exists("d"));
}

#[test]
fn zremrangebyrank_and_score_remove_ranges() {
    let mut e = Env::new();
    abc(&mut e);
    e.call(zadd, &["zadd", "z", "4", "d"]);
    assert_eq!(
        e.call(zremrangebyrank, &["zremrangebyrank", "z", "-2", "-1"]),
        Reply::Int(2)
    );
    assert_eq!(
        e.call(zremrangebyrank, &["zremrangebyrank", "z", "5", "9"]),
        Reply::Int(0)
    );
    assert_eq!(
        e.call(zremrangebyscore, &["zremrangebyscore", "z", "(1", "2"]),
        Reply::Int(1)
    );
    assert_eq!(e.call(zrange, &["zrange", "z", "0", "-1"]), arr(&["a"]));
    assert_eq!(
        e.call(zremrangebyrank, &["zremrangebyrank", "z", "x", "1"]),
        CmdError::NotInteger.into()
    );
}

// Pops ---------------------------------------------------------------------------

#[test]
fn zpop_replies_flat_without_count_and_pairs_with_count() {
    let mut e = Env::new();
    abc(&mut e);
    assert_eq!(
        e.call(zpopmin, &["zpopmin", "z"]),
        Reply::Array(vec![b("a"), Reply::Double(1.0)])
    );
    assert_eq!(
        e.call(zpopmax, &["zpopmax", "z", "1"]),
        pairs(&[("c", 3.0)])
    );
    assert_eq!(
        e.call(zpopmax, &["zpopmax", "z", "0"]),
        Reply::Array(vec![])
    );
    assert_eq!(e.call(zpopmin, &["zpopmin", "nokey"]), Reply::Array(vec![]));
    assert_eq!(
        e.call(zpopmin, &["zpopmin", "z", "-1"]),
        err("ERR value is out of range, must be positive")
    );
    assert_eq!(
        e.call(zpopmin, &["zpopmin", "z", "1", "2"]),
        CmdError::Syntax.into()
    );
}

#[test]
fn zmpop_pops_from_the_first_non_empty_key() {
    let mut e = Env::new();
    abc(&mut e);
    let nested = |key: &str, items: &[(&str, f64)]| {
        Reply::Array(vec![
            b(key),
            Reply::Array(
                items
                    .iter()
                    .map(|(m, s)| Reply::Array(vec![b(m), Reply::Double(*s)]))
                    .collect(),
            ),
        ])
    };
    assert_eq!(
        e.call(zmpop, &["zmpop", "2", "nokey", "z", "max", "count", "2"]),
        nested("z", &[("c", 3.0), ("b", 2.0)])
    );
    assert_eq!(
        e.call(zmpop, &["zmpop", "1", "nokey", "min"]),
        Reply::NilArray
    );
    assert_eq!(
        e.call(zmpop, &["zmpop", "0", "z", "min"]),
        err("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        e.call(zmpop, &["zmpop", "1", "z", "min", "count", "0"]),
        err("ERR count should be greater than 0")
    );
    assert_eq!(
        e.call(zmpop, &["zmpop", "2", "z", "min"]),
        CmdError::Syntax.into()
    );
    assert_eq!(
        e.call(bzmpop, &["bzmpop", "0", "1", "z", "min"]),
        nested("z", &[("a", 1.0)])
    );
    assert_eq!(
        e.call(bzmpop, &["bzmpop", "0", "1", "z", "min"]),
        Reply::NilArray
    );
}

#[test]
fn bzpop_checks_the_timeout_and_replies_key_member_score() {
    let mut e = Env::new();
    abc(&mut e);
    assert_eq!(
        e.call(bzpopmin, &["bzpopmin", "nokey", "z", "0"]),
        Reply::Array(vec![b("z"), b("a"), Reply::Double(1.0)])
    );
    assert_eq!(
        e.call(bzpopmax, &["bzpopmax", "nokey", "0.5"]),
        Reply::NilArray
    );
    assert_eq!(
        e.call(bzpopmax, &["bzpopmax", "z", "x"]),
        err("ERR timeout is not a float or out of range")
    );
    for neg in ["-1", "inf", "1e30"] {
        assert_eq!(
            e.call(bzpopmax, &["bzpopmax", "z", neg]),
            err("ERR timeout is negative")
        );
    }
    // BZMPOP checks its other arguments before the timeout.
    assert_eq!(
        e.call(bzmpop, &["bzmpop", "x", "1", "z", "foo"]),
        CmdError::Syntax.into()
    );
    assert_eq!(
        e.call(bzmpop, &["bzmpop", "-1", "1", "z", "min"]),
        err("ERR timeout is negative")
    );
}

// Set operations ------------------------------------------------------------------

#[test]
fn zunion_zinter_zdiff_weigh_and_aggregate() {
    let mut e = Env::new();
    abc(&mut e);
    e.call(zadd, &["zadd", "y", "10", "b", "20", "c", "30", "d"]);
    assert_eq!(
        e.call(zunion, &["zunion", "2", "z", "y", "withscores"]),
        pairs(&[("a", 1.0), ("b", 12.0), ("c", 23.0), ("d", 30.0)])
    );
    assert_eq!(
        e.call(
            zinter,
            &[
                "zinter",
                "2",
                "z",
                "y",
                "weights",
                "2",
                "0.5",
                "aggregate",
                "max",
                "withscores"
            ]
        ),
        pairs(&[("b", 5.0), ("c", 10.0)])
    );
    assert_eq!(
        e.call(zinter, &["zinter", "2", "z", "y", "aggregate", "min"]),
        arr(&["b", "c"])
    );
    assert_eq!(
        e.call(zdiff, &["zdiff", "2", "z", "y", "withscores"]),
        pairs(&[("a", 1.0)])
    );
    assert_eq!(e.call(zinter, &["zinter", "2", "z", "nokey"]), arr(&[]));
    assert_eq!(
        e.call(zintercard, &["zintercard", "2", "z", "y"]),
        Reply::Int(2)
    );
    assert_eq!(
        e.call(zintercard, &["zintercard", "2", "z", "y", "limit", "1"]),
        Reply::Int(1)
    );
}

#[test]
fn set_operation_sums_follow_redis_for_infinities_and_order() {
    let mut e = Env::new();
    e.call(zadd, &["zadd", "i", "inf", "x", "-inf", "y"]);
    assert_eq!(
        e.call(zunion, &["zunion", "1", "i", "weights", "0", "withscores"]),
        pairs(&[("x", 0.0), ("y", 0.0)])
    );
    assert_eq!(
        e.call(
            zinter,
            &["zinter", "2", "i", "i", "weights", "1", "-1", "withscores"]
        ),
        pairs(&[("x", 0.0), ("y", 0.0)])
    );
    // Inputs are summed smallest first: (0.1 + 0.2) + 0.3 whatever the order given.
    e.call(zadd, &["zadd", "a", "0.1", "x"]);
    e.call(zadd, &["zadd", "b", "0.2", "x", "1", "y"]);
    e.call(zadd, &["zadd", "c", "0.3", "x", "1", "y", "1", "z"]);
    let want = pairs(&[("x", 0.1 + 0.2 + 0.3), ("z", 1.0), ("y", 2.0)]);
    assert_eq!(
        e.call(zunion, &["zunion", "3", "c", "b", "a", "withscores"]),
        want
    );
}

#[test]
fn set_operation_argument_errors_use_redis_texts() {
    let mut e = Env::new();
    abc(&mut e);
    assert_eq!(
        e.call(zunion, &["zunion", "0", "z"]),
        err("ERR at least 1 input key is needed for 'zunion' command")
    );
    assert_eq!(
        e.call(zunionstore, &["ZUNIONSTORE", "d", "0", "z"]),
        err("ERR at least 1 input key is needed for 'zunionstore' command")
    );
    assert_eq!(
        e.call(zunion, &["zunion", "2", "z"]),
        CmdError::Syntax.into()
    );
    assert_eq!(
        e.call(zunion, &["zunion", "1", "z", "weights", "x"]),
        err("ERR weight value is not a float")
    );
    assert_eq!(
        e.call(zunion, &["zunion", "1", "z", "weights", "1", "2"]),
        CmdError::Syntax.into()
    );
    assert_eq!(
        e.call(zunion, &["zunion", "1", "z", "aggregate", "avg"]),
        CmdError::Syntax.into()
    );
    assert_eq!(
        e.call(zdiff, &["zdiff", "1", "z", "weights", "1"]),
        CmdError::Syntax.into()
    );
    assert_eq!(
        e.call(zunionstore, &["zunionstore", "d", "1", "z", "withscores"]),
        CmdError::Syntax.into()
    );
    assert_eq!(
        e.call(zintercard, &["zintercard", "1", "z", "limit", "-1"]),
        err("ERR LIMIT can't be negative")
    );
}

#[test]
fn store_variants_write_the_result_or_delete_the_destination() {
    let mut e = Env::new();
    abc(&mut e);
    e.call(zadd, &["zadd", "y", "10", "b"]);
    assert_eq!(
        e.call(zinterstore, &["zinterstore", "d", "2", "z", "y"]),
        Reply::Int(1)
    );
    assert_eq!(
        e.call(zrange, &["zrange", "d", "0", "-1", "withscores"]),
        pairs(&[("b", 12.0)])
    );
    assert_eq!(
        e.call(zdiffstore, &["zdiffstore", "d", "2", "z", "y"]),
        Reply::Int(2)
    );
    assert_eq!(
        e.call(zrange, &["zrange", "d", "0", "-1"]),
        arr(&["a", "c"])
    );
    assert_eq!(
        e.call(zinterstore, &["zinterstore", "d", "2", "z", "nokey"]),
        Reply::Int(0)
    );
    assert!(!e.exists("d"));
    // The destination may be one of the inputs.
    assert_eq!(
        e.call(zunionstore, &["zunionstore", "z", "2", "z", "y"]),
        Reply::Int(3)
    );
    assert_eq!(e.call(zscore, &["zscore", "z", "b"]), Reply::Double(12.0));
}

// ZRANDMEMBER and ZSCAN -----------------------------------------------------------

#[test]
fn zrandmember_returns_members_with_redis_count_rules() {
    let mut e = Env::new();
    abc(&mut e);
    match e.call(zrandmember, &["zrandmember", "z"]) {
        Reply::Bulk(m) => assert!([&b"a"[..], b"b", b"c"].contains(&&m[..])),
        r => panic!("{r:?}"),
    }
    assert_eq!(e.call(zrandmember, &["zrandmember", "nokey"]), Reply::Nil);
    assert_eq!(
        e.call(zrandmember, &["zrandmember", "z", "5"]),
        arr(&["a", "b", "c"])
    );
    assert_eq!(e.call(zrandmember, &["zrandmember", "z", "0"]), arr(&[]));
    match e.call(zrandmember, &["zrandmember", "z", "2"]) {
        Reply::Array(v) => {
            assert_eq!(v.len(), 2);
            assert_ne!(v[0], v[1]);
        }
        r => panic!("{r:?}"),
    }
    match e.call(zrandmember, &["zrandmember", "z", "-7", "withscores"]) {
        Reply::Pairs(v) => assert_eq!(v.len(), 7),
        r => panic!("{r:?}"),
    }
    assert_eq!(
        e.call(zrandmember, &["zrandmember", "z", "-9223372036854775808"]),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        e.call(
            zrandmember,
            &["zrandmember", "z", "-9223372036854775807", "withscores"]
        ),
        err("ERR value is out of range")
    );
    assert_eq!(
        e.call(zrandmember, &["zrandmember", "z", "1", "withscore"]),
        CmdError::Syntax.into()
    );
}

#[test]
fn zscan_returns_pairs_with_string_scores_and_covers_big_sets() {
    let mut e = Env::new();
    abc(&mut e);
    assert_eq!(
        e.call(zscan, &["zscan", "z", "0", "match", "[ab]"]),
        Reply::Array(vec![b("0"), arr(&["a", "1", "b", "2"])])
    );
    assert_eq!(
        e.call(zscan, &["zscan", "nokey", "0", "bad"]),
        Reply::Array(vec![b("0"), arr(&[])])
    );
    assert_eq!(
        e.call(zscan, &["zscan", "z", "x"]),
        err("ERR invalid cursor")
    );
    assert_eq!(
        e.call(zscan, &["zscan", "z", "0", "count", "0"]),
        CmdError::Syntax.into()
    );
    for i in 0..300 {
        e.call(zadd, &["zadd", "big", &format!("{i}.5"), &format!("m{i}")]);
    }
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let Reply::Array(parts) = e.call(zscan, &["zscan", "big", &cursor, "count", "20"]) else {
            panic!()
        };
        let (Reply::Bulk(c), Reply::Array(items)) = (&parts[0], &parts[1]) else {
            panic!()
        };
        for kv in items.chunks(2) {
            if let (Reply::Bulk(m), Reply::Bulk(s)) = (&kv[0], &kv[1]) {
                let m = String::from_utf8(m.clone()).unwrap();
                assert_eq!(s, format!("{}.5", &m[1..]).as_bytes());
                seen.insert(m);
            }
        }
        cursor = String::from_utf8(c.clone()).unwrap();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 300);
}

// Property test -------------------------------------------------------------------

/// The model: member -> score; ordered views sort by (score, member).
type Model = BTreeMap<Vec<u8>, f64>;

fn ordered(m: &Model) -> Vec<(Vec<u8>, f64)> {
    let mut v: Vec<_> = m.iter().map(|(k, s)| (k.clone(), *s)).collect();
    v.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then_with(|| a.0.cmp(&b.0)));
    v
}

fn model_range(v: &[(Vec<u8>, f64)], start: i64, stop: i64) -> Vec<(Vec<u8>, f64)> {
    match rank_bounds(start, stop, v.len()) {
        Some((a, b)) => v[a..=b].to_vec(),
        None => Vec::new(),
    }
}

fn pairs_of(v: &[(Vec<u8>, f64)]) -> Reply {
    Reply::Pairs(
        v.iter()
            .map(|(m, s)| (Reply::bulk(m), Reply::Double(*s)))
            .collect(),
    )
}

#[test]
fn zset_commands_match_a_btreemap_model_in_both_encodings() {
    let mut e = Env::small(8, 6);
    let mut model = Model::new();
    let mut lex = Model::new();
    let mut encodings = std::collections::HashSet::new();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let members: Vec<String> = (0..24)
        .map(|i| {
            if i % 7 == 6 {
                format!("long-member-{i}")
            } else {
                format!("m{i:02}")
            }
        })
        .collect();
    for step in 0..4000 {
        let m = members[rnd(members.len() as u64) as usize].clone();
        let score = rnd(21) as f64 / 2.0 - 5.0;
        let s = format!("{score}");
        match rnd(10) {
            0 | 1 => {
                // ZADD with a random valid flag set.
                let (nx, xx, gt, lt, ch) = match rnd(6) {
                    0 => (true, false, false, false, false),
                    1 => (false, true, false, false, true),
                    2 => (false, false, true, false, true),
                    3 => (false, false, false, true, false),
                    4 => (false, true, true, false, false),
                    _ => (false, false, false, false, false),
                };
                let mut args = vec!["zadd", "z"];
                for (on, name) in [(nx, "nx"), (xx, "xx"), (gt, "gt"), (lt, "lt"), (ch, "ch")] {
                    if on {
                        args.push(name);
                    }
                }
                args.extend([s.as_str(), m.as_str()]);
                let (mut added, mut changed) = (0, 0);
                match model.get(m.as_bytes()).copied() {
                    Some(cur) => {
                        let skip = nx || (gt && score <= cur) || (lt && score >= cur);
                        if !skip && score != cur {
                            model.insert(m.clone().into_bytes(), score);
                            changed = 1;
                        }
                    }
                    None if !xx => {
                        model.insert(m.clone().into_bytes(), score);
                        added = 1;
                    }
                    None => {}
                }
                let want = if ch { added + changed } else { added };
                assert_eq!(
                    e.call(zadd, &args),
                    Reply::Int(want),
                    "step {step} {args:?}"
                );
            }
            2 => {
                let cur = model.get(m.as_bytes()).copied().unwrap_or(0.0);
                model.insert(m.clone().into_bytes(), cur + score);
                assert_eq!(
                    e.call(zincrby, &["zincrby", "z", &s, &m]),
                    Reply::Double(cur + score)
                );
            }
            3 => {
                let had = model.remove(m.as_bytes()).is_some();
                assert_eq!(e.call(zrem, &["zrem", "z", &m]), Reply::Int(had as i64));
            }
            4 => {
                let (a, b) = (rnd(20) as i64 - 10, rnd(20) as i64 - 10);
                let v = ordered(&model);
                let want = model_range(&v, a, b);
                let (a, b) = (a.to_string(), b.to_string());
                assert_eq!(
                    e.call(zrange, &["zrange", "z", &a, &b, "withscores"]),
                    if model.is_empty() {
                        Reply::Array(vec![])
                    } else {
                        pairs_of(&want)
                    }
                );
                let mut rev: Vec<_> = v.clone();
                rev.reverse();
                let want_rev = model_range(&rev, a.parse().unwrap(), b.parse().unwrap());
                let names: Vec<Reply> = want_rev.iter().map(|(m, _)| Reply::bulk(m)).collect();
                assert_eq!(
                    e.call(zrevrange, &["zrevrange", "z", &a, &b]),
                    Reply::Array(names)
                );
            }
            5 => {
                let (lo, hi) = (score, rnd(21) as f64 / 2.0 - 5.0);
                let ex = rnd(2) == 0;
                let v = ordered(&model);
                let want: Vec<_> = v
                    .iter()
                    .filter(|(_, s)| (if ex { *s > lo } else { *s >= lo }) && *s <= hi)
                    .cloned()
                    .collect();
                let lo_arg = if ex {
                    format!("({lo}")
                } else {
                    format!("{lo}")
                };
                let got = e.call(
                    zrangebyscore,
                    &["zrangebyscore", "z", &lo_arg, &hi.to_string(), "withscores"],
                );
                assert_eq!(
                    got,
                    if model.is_empty() {
                        Reply::Array(vec![])
                    } else {
                        pairs_of(&want)
                    },
                    "step {step}"
                );
                assert_eq!(
                    e.call(zcount, &["zcount", "z", &lo_arg, &hi.to_string()]),
                    Reply::Int(want.len() as i64)
                );
            }
            6 => {
                let v = ordered(&model);
                let want = v.iter().position(|(k, _)| k == m.as_bytes());
                assert_eq!(
                    e.call(zrank, &["zrank", "z", &m]),
                    want.map_or(Reply::Nil, |r| Reply::Int(r as i64))
                );
                assert_eq!(
                    e.call(zscore, &["zscore", "z", &m]),
                    model
                        .get(m.as_bytes())
                        .map_or(Reply::Nil, |s| Reply::Double(*s))
                );
            }
            7 => {
                let n = rnd(4) as usize;
                let max = rnd(2) == 0;
                let mut v = ordered(&model);
                if max {
                    v.reverse();
                }
                let want: Vec<_> = v.into_iter().take(n).collect();
                for (k, _) in &want {
                    model.remove(k);
                }
                let cmd: Handler = if max { zpopmax } else { zpopmin };
                let got = e.call(cmd, &["zpop", "z", &n.to_string()]);
                if n == 0 || want.is_empty() {
                    assert_eq!(got, Reply::Array(vec![]));
                } else {
                    assert_eq!(got, pairs_of(&want));
                }
            }
            _ => {
                // Lex ranges on a set whose scores are all 0.
                if rnd(2) == 0 {
                    lex.insert(m.clone().into_bytes(), 0.0);
                    e.call(zadd, &["zadd", "l", "0", &m]);
                } else {
                    let other = &members[rnd(members.len() as u64) as usize];
                    let (lo, hi) = if m <= *other {
                        (&m, other)
                    } else {
                        (other, &m)
                    };
                    let want: Vec<Reply> = lex
                        .keys()
                        .filter(|k| k.as_slice() > lo.as_bytes() && k.as_slice() <= hi.as_bytes())
                        .map(Reply::bulk)
                        .collect();
                    let got = e.call(
                        zrangebylex,
                        &["zrangebylex", "l", &format!("({lo}"), &format!("[{hi}")],
                    );
                    assert_eq!(got, Reply::Array(want), "step {step}");
                }
            }
        }
        e.zset("z").check();
        e.zset("l").check();
        encodings.insert(e.encoding("z"));
    }
    let want = ordered(&model);
    let got: Vec<(Vec<u8>, f64)> = e.zset("z").iter().map(|(m, s)| (m.to_vec(), s)).collect();
    assert_eq!(got, want);
    assert!(encodings.contains("listpack") && encodings.contains("skiplist"));
    assert_eq!(e.encoding("l"), "skiplist");
}

#[test]
fn big_sets_answer_rank_and_range_queries_in_order() {
    let mut e = Env::new();
    let mut model = Model::new();
    for i in 0..5000u64 {
        let score = ((i * 7919) % 1000) as f64;
        let m = format!("m{i}");
        e.call(zadd, &["zadd", "z", &score.to_string(), &m]);
        model.insert(m.into_bytes(), score);
    }
    assert_eq!(e.encoding("z"), "skiplist");
    let v = ordered(&model);
    for r in [0usize, 1, 63, 64, 2500, 4998, 4999] {
        let m = String::from_utf8(v[r].0.clone()).unwrap();
        assert_eq!(e.call(zrank, &["zrank", "z", &m]), Reply::Int(r as i64));
        assert_eq!(
            e.call(zrevrank, &["zrevrank", "z", &m]),
            Reply::Int((4999 - r) as i64)
        );
    }
    let want = pairs_of(&v[1000..1010]);
    assert_eq!(
        e.call(zrange, &["zrange", "z", "1000", "1009", "withscores"]),
        want
    );
    assert_eq!(
        e.call(zcount, &["zcount", "z", "(100", "200"]),
        Reply::Int(v.iter().filter(|(_, s)| *s > 100.0 && *s <= 200.0).count() as i64)
    );
    assert_eq!(
        e.call(zremrangebyrank, &["zremrangebyrank", "z", "0", "999"]),
        Reply::Int(1000)
    );
    e.zset("z").check();
    assert_eq!(e.call(zcard, &["zcard", "z"]), Reply::Int(4000));
}
