//! Unit tests of the set commands (`cmd::sets`).

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::cmd::test_env::{Env, T0};
use crate::cmd::Handler;

/// What the set tests check beside the commands.
impl Env {
    /// The members of `key`, sorted (empty when the key is missing).
    fn members(&mut self, key: &str) -> Vec<String> {
        match self.ks.lookup(0, key.as_bytes()).map(|e| e.value()) {
            None => Vec::new(),
            Some(Value::Set(s)) => {
                let mut v: Vec<String> = s
                    .to_vecs()
                    .into_iter()
                    .map(|m| String::from_utf8(m).unwrap())
                    .collect();
                v.sort();
                v
            }
            Some(other) => panic!("not a set: {other:?}"),
        }
    }

    fn repr(&mut self, key: &str) -> &'static str {
        match &self.ks.lookup(0, key.as_bytes()).unwrap().value() {
            Value::Set(s) => s.repr_name(),
            other => panic!("not a set: {other:?}"),
        }
    }
}

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

fn other(msg: &str) -> Reply {
    Reply::Error(CmdError::other(msg))
}

fn ints(v: &[i64]) -> Reply {
    Reply::Array(v.iter().map(|&n| Reply::Int(n)).collect())
}

/// The bulk strings of an array or set reply, sorted.
fn sorted(r: &Reply) -> Vec<String> {
    let items = match r {
        Reply::Array(items) | Reply::Set(items) => items,
        other => panic!("not a collection: {other:?}"),
    };
    let mut v: Vec<String> = items
        .iter()
        .map(|i| match i {
            Reply::Bulk(b) => String::from_utf8(b.clone()).unwrap(),
            other => panic!("not a bulk: {other:?}"),
        })
        .collect();
    v.sort();
    v
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn fill(env: &mut Env, key: &str, members: impl IntoIterator<Item = String>) {
    for m in members {
        env.call(sadd, &["sadd", key, &m]);
    }
}

// ---- SADD / SREM / reads ----

#[test]
fn sadd_counts_new_members() {
    let mut env = Env::new();
    assert_eq!(env.call(sadd, &["sadd", "s", "a", "b", "a"]), Reply::Int(2));
    assert_eq!(env.call(sadd, &["sadd", "s", "b", "c"]), Reply::Int(1));
    assert_eq!(env.members("s"), strs(&["a", "b", "c"]));
}

#[test]
fn srem_counts_removed_members_and_deletes_the_emptied_key() {
    let mut env = Env::new();
    env.call(sadd, &["sadd", "s", "a", "b", "1"]);
    assert_eq!(
        env.call(srem, &["srem", "s", "a", "zz", "a"]),
        Reply::Int(1)
    );
    assert_eq!(env.call(srem, &["srem", "s", "b", "1", "x"]), Reply::Int(2));
    assert!(!env.exists("s"));
    assert_eq!(env.call(srem, &["srem", "s", "a"]), Reply::Int(0));
}

#[test]
fn membership_reads() {
    let mut env = Env::new();
    env.call(sadd, &["sadd", "s", "a", "5"]);
    assert_eq!(env.call(scard, &["scard", "s"]), Reply::Int(2));
    assert_eq!(env.call(scard, &["scard", "nokey"]), Reply::Int(0));
    assert_eq!(env.call(sismember, &["sismember", "s", "5"]), Reply::Int(1));
    assert_eq!(
        env.call(sismember, &["sismember", "s", "05"]),
        Reply::Int(0)
    );
    assert_eq!(
        env.call(sismember, &["sismember", "nokey", "a"]),
        Reply::Int(0)
    );
    assert_eq!(
        env.call(smismember, &["smismember", "s", "a", "b", "5"]),
        ints(&[1, 0, 1])
    );
    assert_eq!(
        env.call(smismember, &["smismember", "nokey", "a", "b"]),
        ints(&[0, 0])
    );
}

#[test]
fn smembers_is_a_set_reply_sorted_for_an_intset() {
    let mut env = Env::new();
    env.call(sadd, &["sadd", "i", "3", "-1", "2"]);
    assert_eq!(
        env.call(smembers, &["smembers", "i"]),
        Reply::Set(vec![bulk("-1"), bulk("2"), bulk("3")])
    );
    assert_eq!(
        env.call(smembers, &["smembers", "nokey"]),
        Reply::Set(vec![])
    );
}

#[test]
fn every_command_rejects_a_non_set_key() {
    let mut env = Env::new();
    env.set("str", "x");
    env.call(sadd, &["sadd", "s", "a"]);
    let wrong = Reply::Error(CmdError::WrongType);
    let cases: &[(Handler, &[&str])] = &[
        (sadd, &["sadd", "str", "a"]),
        (srem, &["srem", "str", "a"]),
        (scard, &["scard", "str"]),
        (sismember, &["sismember", "str", "a"]),
        (smismember, &["smismember", "str", "a"]),
        (smembers, &["smembers", "str"]),
        (spop, &["spop", "str"]),
        (spop, &["spop", "str", "1"]),
        (srandmember, &["srandmember", "str"]),
        (srandmember, &["srandmember", "str", "1"]),
        (smove, &["smove", "str", "s", "a"]),
        (smove, &["smove", "s", "str", "a"]),
        (smove, &["smove", "s", "str", "zz"]),
        (smove, &["smove", "str", "str", "a"]),
        (sinter, &["sinter", "nokey", "str"]),
        (sinter, &["sinter", "s", "str"]),
        (sintercard, &["sintercard", "2", "nokey", "str"]),
        (sinterstore, &["sinterstore", "d", "nokey", "str"]),
        (sunion, &["sunion", "s", "str"]),
        (sunionstore, &["sunionstore", "d", "str"]),
        (sdiff, &["sdiff", "nokey", "str"]),
        (sdiffstore, &["sdiffstore", "d", "s", "str"]),
        (sscan, &["sscan", "str", "0"]),
        (sscan, &["sscan", "str", "0", "count", "0"]),
    ];
    for (h, args) in cases {
        assert_eq!(env.call(*h, args), wrong, "{args:?}");
    }
    // Nothing moved out of a source stays missing after an error.
    assert_eq!(env.members("s"), strs(&["a"]));
    assert!(!env.exists("d"));
}

#[test]
fn writes_keep_the_ttl() {
    let mut env = Env::new();
    env.call(sadd, &["sadd", "s", "a", "b", "c", "d"]);
    env.call(sadd, &["sadd", "t", "x"]);
    assert!(env.ks.set_expire(0, b"s", T0 + 5_000));
    assert!(env.ks.set_expire(0, b"t", T0 + 6_000));
    env.call(sadd, &["sadd", "s", "e"]);
    env.call(srem, &["srem", "s", "e"]);
    env.call(spop, &["spop", "s"]);
    env.call(spop, &["spop", "s", "1"]);
    let left = env.members("s");
    env.call(smove, &["smove", "s", &left[0], "t"]);
    assert_eq!(env.ks.lookup(0, b"s").unwrap().expire_at(), T0 + 5_000);
    assert_eq!(env.ks.lookup(0, b"t").unwrap().expire_at(), T0 + 6_000);
}

// ---- SPOP ----

#[test]
fn spop_without_count_pops_one_member_and_deletes_the_emptied_key() {
    let mut env = Env::new();
    assert_eq!(env.call(spop, &["spop", "s"]), Reply::Nil);
    env.call(sadd, &["sadd", "s", "a", "b"]);
    let mut got = vec![
        env.call(spop, &["spop", "s"]),
        env.call(spop, &["spop", "s"]),
    ];
    got.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(got, vec![bulk("a"), bulk("b")]);
    assert!(!env.exists("s"));
}

#[test]
fn spop_with_count_pops_distinct_members() {
    for members in [
        (0..50).map(|i| i.to_string()).collect::<Vec<_>>(),
        (0..50).map(|i| format!("m{i}")).collect(),
        (0..400).map(|i| format!("m{i}")).collect(),
    ] {
        let n = members.len();
        let mut env = Env::new();
        fill(&mut env, "s", members.clone());
        let mut popped = Vec::new();
        for count in [1, 5, n / 3, n / 2] {
            let r = env.call(spop, &["spop", "s", &count.to_string()]);
            assert!(matches!(r, Reply::Set(_)));
            let got = sorted(&r);
            assert_eq!(got.len(), count);
            popped.extend(got);
        }
        let left = env.members("s");
        let all: BTreeSet<String> = popped.iter().chain(&left).cloned().collect();
        assert_eq!(all.len(), n);
        assert_eq!(popped.len() + left.len(), n);
        // Asking for more than is left takes everything and deletes the key.
        let rest = sorted(&env.call(spop, &["spop", "s", &n.to_string()]));
        assert_eq!(rest, left);
        assert!(!env.exists("s"));
    }
}

#[test]
fn spop_count_edge_cases_match_redis() {
    let mut env = Env::new();
    env.call(sadd, &["sadd", "s", "a"]);
    assert_eq!(env.call(spop, &["spop", "nokey", "3"]), Reply::Set(vec![]));
    assert_eq!(env.call(spop, &["spop", "s", "0"]), Reply::Set(vec![]));
    let positive = other("ERR value is out of range, must be positive");
    assert_eq!(env.call(spop, &["spop", "s", "-1"]), positive);
    assert_eq!(env.call(spop, &["spop", "nokey", "x"]), positive);
    assert_eq!(
        env.call(spop, &["spop", "s", "1", "2"]),
        Reply::Error(CmdError::Syntax)
    );
    assert_eq!(env.members("s"), strs(&["a"]));
}

// ---- SRANDMEMBER ----

#[test]
fn srandmember_positive_count_gives_distinct_members() {
    for members in [
        (0..30).map(|i| i.to_string()).collect::<Vec<_>>(),
        (0..30).map(|i| format!("m{i}")).collect(),
        (0..400).map(|i| format!("m{i}")).collect(),
    ] {
        let n = members.len();
        let mut env = Env::new();
        fill(&mut env, "s", members.clone());
        for count in [1, 3, n / 2, n - 1] {
            let r = env.call(srandmember, &["srandmember", "s", &count.to_string()]);
            assert!(matches!(r, Reply::Array(_)));
            let got = sorted(&r);
            let uniq: BTreeSet<_> = got.iter().collect();
            assert_eq!((got.len(), uniq.len()), (count, count));
        }
        let all = sorted(&env.call(srandmember, &["srandmember", "s", "100000"]));
        let mut want = members.clone();
        want.sort();
        assert_eq!(all, want);
        assert_eq!(env.members("s").len(), n);
    }
}

#[test]
fn srandmember_negative_count_may_repeat() {
    let mut env = Env::new();
    env.call(sadd, &["sadd", "s", "a", "b", "c"]);
    let got = sorted(&env.call(srandmember, &["srandmember", "s", "-100"]));
    assert_eq!(got.len(), 100);
    let uniq: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(uniq, strs(&["a", "b", "c"]).into_iter().collect());
}

#[test]
fn srandmember_edge_cases_match_redis() {
    let mut env = Env::new();
    env.set("str", "x");
    env.call(sadd, &["sadd", "s", "a"]);
    assert_eq!(env.call(srandmember, &["srandmember", "nokey"]), Reply::Nil);
    assert_eq!(env.call(srandmember, &["srandmember", "s"]), bulk("a"));
    assert_eq!(
        env.call(srandmember, &["srandmember", "nokey", "3"]),
        Reply::Array(vec![])
    );
    assert_eq!(
        env.call(srandmember, &["srandmember", "s", "0"]),
        Reply::Array(vec![])
    );
    let range = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
    assert_eq!(
        env.call(
            srandmember,
            &["srandmember", "nokey", "-9223372036854775808"]
        ),
        other(range)
    );
    assert_eq!(
        env.call(srandmember, &["srandmember", "s", "x"]),
        Reply::Error(CmdError::NotInteger)
    );
    assert_eq!(
        env.call(srandmember, &["srandmember", "str", "x"]),
        Reply::Error(CmdError::NotInteger)
    );
    assert_eq!(
        env.call(srandmember, &["srandmember", "s", "1", "2"]),
        Reply::Error(CmdError::Syntax)
    );
    assert_eq!(
        env.call(srandmember, &["srandmember", "s", "-9223372036854775807"]),
        other("ERR value is out of range")
    );
}

// ---- SMOVE ----

#[test]
fn smove_moves_a_member_and_creates_the_destination() {
    let mut env = Env::new();
    env.call(sadd, &["sadd", "s", "a", "b"]);
    assert_eq!(env.call(smove, &["smove", "s", "d", "a"]), Reply::Int(1));
    assert_eq!(env.members("s"), strs(&["b"]));
    assert_eq!(env.members("d"), strs(&["a"]));
    assert_eq!(env.call(smove, &["smove", "s", "d", "zz"]), Reply::Int(0));
    env.call(sadd, &["sadd", "d", "b"]);
    // Already in the destination: still removed from the source.
    assert_eq!(env.call(smove, &["smove", "s", "d", "b"]), Reply::Int(1));
    assert!(!env.exists("s"));
    assert_eq!(env.members("d"), strs(&["a", "b"]));
}

#[test]
fn smove_to_a_new_key_picks_the_member_encoding() {
    let mut env = Env::new();
    env.call(sadd, &["sadd", "s", "a", "7"]);
    env.call(smove, &["smove", "s", "i", "7"]);
    assert_eq!(env.encoding("i"), "intset");
    env.call(smove, &["smove", "s", "t", "a"]);
    assert_eq!(env.encoding("t"), "listpack");
}

#[test]
fn smove_same_source_and_destination_only_checks_membership() {
    let mut env = Env::new();
    env.call(sadd, &["sadd", "s", "a"]);
    assert_eq!(env.call(smove, &["smove", "s", "s", "a"]), Reply::Int(1));
    assert_eq!(env.call(smove, &["smove", "s", "s", "zz"]), Reply::Int(0));
    assert_eq!(env.members("s"), strs(&["a"]));
}

#[test]
fn smove_from_a_missing_key_is_zero_before_type_checks() {
    let mut env = Env::new();
    env.set("str", "x");
    assert_eq!(
        env.call(smove, &["smove", "nokey", "str", "a"]),
        Reply::Int(0)
    );
    env.call(sadd, &["sadd", "s", "a"]);
    assert_eq!(
        env.call(smove, &["smove", "s", "nokey2", "zz"]),
        Reply::Int(0)
    );
    assert!(!env.exists("nokey2"));
}

// ---- SINTER / SUNION / SDIFF ----

fn three_sets(env: &mut Env) {
    env.call(sadd, &["sadd", "a", "1", "2", "3", "x", "y"]);
    env.call(sadd, &["sadd", "b", "2", "3", "4", "y"]);
    env.call(sadd, &["sadd", "c", "3", "y", "z"]);
}

#[test]
fn sinter_intersects_and_a_missing_key_empties_it() {
    let mut env = Env::new();
    three_sets(&mut env);
    assert_eq!(
        sorted(&env.call(sinter, &["sinter", "a", "b", "c"])),
        strs(&["3", "y"])
    );
    assert_eq!(
        sorted(&env.call(sinter, &["sinter", "a", "b"])),
        strs(&["2", "3", "y"])
    );
    assert_eq!(
        sorted(&env.call(sinter, &["sinter", "a", "a"])),
        strs(&["1", "2", "3", "x", "y"])
    );
    assert_eq!(
        env.call(sinter, &["sinter", "a", "nokey"]),
        Reply::Set(vec![])
    );
    assert!(matches!(env.call(sinter, &["sinter", "a"]), Reply::Set(_)));
    assert_eq!(env.members("a"), strs(&["1", "2", "3", "x", "y"]));
}

#[test]
fn sunion_and_sdiff_combine_sets() {
    let mut env = Env::new();
    three_sets(&mut env);
    assert_eq!(
        sorted(&env.call(sunion, &["sunion", "a", "nokey", "c"])),
        strs(&["1", "2", "3", "x", "y", "z"])
    );
    assert_eq!(
        sorted(&env.call(sdiff, &["sdiff", "a", "b"])),
        strs(&["1", "x"])
    );
    assert_eq!(
        sorted(&env.call(sdiff, &["sdiff", "a", "b", "c", "nokey"])),
        strs(&["1", "x"])
    );
    assert_eq!(
        env.call(sdiff, &["sdiff", "nokey", "a"]),
        Reply::Set(vec![])
    );
    assert_eq!(env.call(sdiff, &["sdiff", "a", "a"]), Reply::Set(vec![]));
    assert!(matches!(env.call(sunion, &["sunion", "nokey"]), Reply::Set(v) if v.is_empty()));
}

#[test]
fn sdiff_takes_both_strategies_to_the_same_result() {
    let mut env = Env::new();
    // A small first set against big others (probing), then the reverse (copying).
    fill(&mut env, "small", (0..10).map(|i| format!("m{i}")));
    fill(&mut env, "big", (5..2000).map(|i| format!("m{i}")));
    assert_eq!(
        sorted(&env.call(sdiff, &["sdiff", "small", "big", "big"])),
        (0..5).map(|i| format!("m{i}")).collect::<Vec<_>>()
    );
    let got = sorted(&env.call(sdiff, &["sdiff", "big", "small"]));
    let mut want: Vec<String> = (10..2000).map(|i| format!("m{i}")).collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn store_variants_overwrite_the_destination_and_reply_its_size() {
    let mut env = Env::new();
    three_sets(&mut env);
    env.set("d", "x");
    env.ks.set_expire(0, b"d", T0 + 1000);
    assert_eq!(
        env.call(sinterstore, &["sinterstore", "d", "a", "b"]),
        Reply::Int(3)
    );
    assert_eq!(env.members("d"), strs(&["2", "3", "y"]));
    assert_eq!(env.ks.lookup(0, b"d").unwrap().expire_at(), 0);
    assert_eq!(
        env.call(sunionstore, &["sunionstore", "d", "b", "c"]),
        Reply::Int(5)
    );
    assert_eq!(env.members("d"), strs(&["2", "3", "4", "y", "z"]));
    assert_eq!(
        env.call(sdiffstore, &["sdiffstore", "d", "a", "b"]),
        Reply::Int(2)
    );
    assert_eq!(env.members("d"), strs(&["1", "x"]));
}

#[test]
fn store_variants_delete_the_destination_on_an_empty_result() {
    let mut env = Env::new();
    three_sets(&mut env);
    for (h, name) in [
        (sinterstore as Handler, "sinterstore"),
        (sunionstore, "sunionstore"),
        (sdiffstore, "sdiffstore"),
    ] {
        env.call(sadd, &["sadd", "d", "old"]);
        assert_eq!(env.call(h, &[name, "d", "nokey"]), Reply::Int(0));
        assert!(!env.exists("d"), "{name}");
    }
    env.call(sadd, &["sadd", "d", "old"]);
    assert_eq!(
        env.call(sinterstore, &["sinterstore", "d", "a", "nokey"]),
        Reply::Int(0)
    );
    assert!(!env.exists("d"));
}

#[test]
fn store_variants_may_read_their_destination() {
    let mut env = Env::new();
    three_sets(&mut env);
    assert_eq!(
        env.call(sinterstore, &["sinterstore", "a", "a", "b"]),
        Reply::Int(3)
    );
    assert_eq!(env.members("a"), strs(&["2", "3", "y"]));
    assert_eq!(
        env.call(sunionstore, &["sunionstore", "a", "a", "c"]),
        Reply::Int(4)
    );
    assert_eq!(env.members("a"), strs(&["2", "3", "y", "z"]));
    assert_eq!(
        env.call(sdiffstore, &["sdiffstore", "a", "a", "a"]),
        Reply::Int(0)
    );
    assert!(!env.exists("a"));
}

#[test]
fn store_results_are_encoded_as_redis_would() {
    let mut env = Env::new();
    env.call(sadd, &["sadd", "a", "1", "2", "3", "x"]);
    env.call(sadd, &["sadd", "b", "1", "2", "3", "y"]);
    env.call(sinterstore, &["sinterstore", "d", "a", "b"]);
    assert_eq!(env.encoding("d"), "intset");
    env.call(sunionstore, &["sunionstore", "d", "a"]);
    assert_eq!(env.encoding("d"), "listpack");
    assert_eq!(env.repr("d"), "listpack");
}

// ---- SINTERCARD ----

#[test]
fn sintercard_counts_up_to_the_limit() {
    let mut env = Env::new();
    three_sets(&mut env);
    assert_eq!(
        env.call(sintercard, &["sintercard", "2", "a", "b"]),
        Reply::Int(3)
    );
    assert_eq!(
        env.call(sintercard, &["sintercard", "2", "a", "b", "LIMIT", "2"]),
        Reply::Int(2)
    );
    assert_eq!(
        env.call(sintercard, &["sintercard", "2", "a", "b", "limit", "0"]),
        Reply::Int(3)
    );
    assert_eq!(
        env.call(
            sintercard,
            &["sintercard", "1", "a", "limit", "1", "limit", "9"]
        ),
        Reply::Int(5)
    );
    assert_eq!(
        env.call(sintercard, &["sintercard", "3", "a", "b", "nokey"]),
        Reply::Int(0)
    );
}

#[test]
fn sintercard_argument_errors_match_redis() {
    let mut env = Env::new();
    env.set("str", "x");
    let numkeys = other("ERR numkeys should be greater than 0");
    assert_eq!(env.call(sintercard, &["sintercard", "0", "a"]), numkeys);
    assert_eq!(env.call(sintercard, &["sintercard", "-1", "a"]), numkeys);
    assert_eq!(env.call(sintercard, &["sintercard", "x", "a"]), numkeys);
    let too_many = other("ERR Number of keys can't be greater than number of args");
    assert_eq!(
        env.call(sintercard, &["sintercard", "3", "a", "b"]),
        too_many
    );
    assert_eq!(
        env.call(sintercard, &["sintercard", "9223372036854775807", "a"]),
        too_many
    );
    assert_eq!(
        env.call(sintercard, &["sintercard", "2", "a", "b", "limit"]),
        Reply::Error(CmdError::Syntax)
    );
    assert_eq!(
        env.call(sintercard, &["sintercard", "2", "a", "b", "foo", "1"]),
        Reply::Error(CmdError::Syntax)
    );
    let negative = other("ERR LIMIT can't be negative");
    assert_eq!(
        env.call(sintercard, &["sintercard", "1", "str", "limit", "-1"]),
        negative
    );
    assert_eq!(
        env.call(sintercard, &["sintercard", "1", "str", "limit", "x"]),
        negative
    );
}

// ---- SSCAN ----

#[test]
fn sscan_returns_compact_sets_whole_with_cursor_zero() {
    let mut env = Env::new();
    env.call(sadd, &["sadd", "i", "3", "1", "12"]);
    assert_eq!(
        env.call(sscan, &["sscan", "i", "7", "match", "1*"]),
        Reply::Array(vec![bulk("0"), Reply::Array(vec![bulk("1"), bulk("12")])])
    );
    env.call(sadd, &["sadd", "l", "b", "a"]);
    assert_eq!(
        env.call(sscan, &["sscan", "l", "0", "count", "1"]),
        Reply::Array(vec![bulk("0"), Reply::Array(vec![bulk("b"), bulk("a")])])
    );
}

#[test]
fn sscan_cursor_loop_covers_a_hashtable() {
    let mut env = Env::new();
    fill(&mut env, "s", (0..1000).map(|i| format!("m{i}")));
    assert_eq!(env.repr("s"), "hashtable");
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    loop {
        let r = env.call(sscan, &["sscan", "s", &cursor, "count", "25"]);
        let Reply::Array(parts) = r else { panic!() };
        let Reply::Bulk(c) = &parts[0] else { panic!() };
        for m in sorted(&parts[1]) {
            assert!(seen.insert(m));
        }
        cursor = String::from_utf8(c.clone()).unwrap();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
}

#[test]
fn sscan_argument_errors_match_redis() {
    let mut env = Env::new();
    env.call(sadd, &["sadd", "s", "a"]);
    let empty = Reply::Array(vec![bulk("0"), Reply::Array(vec![])]);
    assert_eq!(
        env.call(sscan, &["sscan", "s", "x"]),
        other("ERR invalid cursor")
    );
    assert_eq!(
        env.call(sscan, &["sscan", "nokey", "0", "count", "0"]),
        empty
    );
    assert_eq!(
        env.call(sscan, &["sscan", "s", "0", "count", "0"]),
        Reply::Error(CmdError::Syntax)
    );
    assert_eq!(
        env.call(sscan, &["sscan", "s", "0", "count", "x"]),
        Reply::Error(CmdError::NotInteger)
    );
    assert_eq!(
        env.call(sscan, &["sscan", "s", "0", "match"]),
        Reply::Error(CmdError::Syntax)
    );
    assert_eq!(
        env.call(sscan, &["sscan", "s", "0", "type", "set"]),
        Reply::Error(CmdError::Syntax)
    );
}

// ---- Encodings ----

#[test]
fn integer_sets_are_intsets_until_a_string_arrives() {
    let mut env = Env::new();
    env.call(sadd, &["sadd", "s", "1", "2", "-9223372036854775808"]);
    assert_eq!(env.encoding("s"), "intset");
    env.call(sadd, &["sadd", "s", "01"]);
    assert_eq!(env.encoding("s"), "listpack");
    assert_eq!(env.repr("s"), "listpack");
    env.call(srem, &["srem", "s", "01"]);
    assert_eq!(env.repr("s"), "listpack");
    env.call(sadd, &["sadd", "n", "-0"]);
    assert_eq!(env.encoding("n"), "listpack");
}

#[test]
fn intset_converts_past_its_entry_limit() {
    let mut env = Env::new();
    fill(&mut env, "s", (0..512).map(|i| i.to_string()));
    assert_eq!(env.encoding("s"), "intset");
    env.call(sadd, &["sadd", "s", "512"]);
    assert_eq!(env.encoding("s"), "hashtable");
    assert_eq!(env.repr("s"), "hashtable");
}

#[test]
fn listpack_converts_past_its_limits() {
    let mut env = Env::new();
    fill(&mut env, "s", (0..128).map(|i| format!("m{i}")));
    assert_eq!(env.repr("s"), "listpack");
    env.call(sadd, &["sadd", "s", "m128"]);
    assert_eq!(env.repr("s"), "hashtable");
    env.call(sadd, &["sadd", "t", &"v".repeat(64)]);
    assert_eq!(env.repr("t"), "listpack");
    env.call(sadd, &["sadd", "t", &"v".repeat(65)]);
    assert_eq!(env.repr("t"), "hashtable");
}

#[test]
fn config_thresholds_apply_to_later_writes() {
    let mut env = Env::new();
    env.ks.config.set_max_intset_entries = 3;
    env.call(sadd, &["sadd", "i", "1", "2", "3"]);
    assert_eq!(env.encoding("i"), "intset");
    env.call(sadd, &["sadd", "i", "4"]);
    assert_eq!(env.encoding("i"), "hashtable");
    env.ks.config.set_max_listpack_entries = 2;
    env.ks.config.set_max_listpack_value = 3;
    env.call(sadd, &["sadd", "l", "a", "b"]);
    assert_eq!(env.repr("l"), "listpack");
    env.call(sadd, &["sadd", "l", "c"]);
    assert_eq!(env.repr("l"), "hashtable");
    env.call(sadd, &["sadd", "big", "a", "b", "c"]);
    assert_eq!(env.repr("big"), "hashtable");
    env.call(sadd, &["sadd", "long", "abcd"]);
    assert_eq!(env.repr("long"), "hashtable");
}

// ---- Model ----

fn model_members(m: &BTreeMap<String, BTreeSet<String>>, key: &str) -> BTreeSet<String> {
    m.get(key).cloned().unwrap_or_default()
}

fn put(m: &mut BTreeMap<String, BTreeSet<String>>, key: &str, s: BTreeSet<String>) {
    if s.is_empty() {
        m.remove(key);
    } else {
        m.insert(key.to_string(), s);
    }
}

/// A seeded sequence of set commands over a few keys, each reply checked against a
/// BTreeSet model, under the default thresholds and tiny ones.
#[test]
fn set_commands_match_a_btreeset_model() {
    for (intset, entries, value) in [(512, 128, 64), (4, 3, 2)] {
        let mut env = Env::new();
        env.ks.config.set_max_intset_entries = intset;
        env.ks.config.set_max_listpack_entries = entries;
        env.ks.config.set_max_listpack_value = value;
        let mut model: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut rng = Rng::new(7 + intset as u64);
        let keys = ["a", "b", "c"];
        for step in 0..4000 {
            let key = keys[rng.below(3)];
            let k2 = keys[rng.below(3)];
            let member = |rng: &mut Rng| {
                if rng.below(2) == 0 {
                    rng.below(12).to_string()
                } else {
                    format!("m{}", rng.below(6))
                }
            };
            let (m1, m2) = (member(&mut rng), member(&mut rng));
            let set = model_members(&model, key);
            let (reply, want): (Reply, Reply) = match rng.below(12) {
                0..=2 => {
                    let r = env.call(sadd, &["sadd", key, &m1, &m2]);
                    let mut s = set.clone();
                    let n = s.insert(m1.clone()) as i64 + s.insert(m2.clone()) as i64;
                    put(&mut model, key, s);
                    (r, Reply::Int(n))
                }
                3 => {
                    let r = env.call(srem, &["srem", key, &m1, &m2]);
                    let mut s = set.clone();
                    let n = s.remove(&m1) as i64 + s.remove(&m2) as i64;
                    put(&mut model, key, s);
                    (r, Reply::Int(n))
                }
                4 => (
                    env.call(smismember, &["smismember", key, &m1, &m2]),
                    ints(&[set.contains(&m1) as i64, set.contains(&m2) as i64]),
                ),
                5 => {
                    let r = env.call(smove, &["smove", key, k2, &m1]);
                    let moved = set.contains(&m1);
                    if moved && key != k2 {
                        let mut s = set.clone();
                        s.remove(&m1);
                        put(&mut model, key, s);
                        let mut d = model_members(&model, k2);
                        d.insert(m1.clone());
                        put(&mut model, k2, d);
                    }
                    (r, Reply::Int(moved as i64))
                }
                6 => {
                    let r = env.call(spop, &["spop", key, "2"]);
                    let got = sorted(&r);
                    assert_eq!(got.len(), set.len().min(2), "step {step}");
                    let mut s = set.clone();
                    for m in &got {
                        assert!(s.remove(m), "step {step}: popped {m} not in {set:?}");
                    }
                    put(&mut model, key, s);
                    (Reply::Int(0), Reply::Int(0))
                }
                7 => {
                    let r = env.call(sinter, &["sinter", key, k2]);
                    let want: BTreeSet<String> = set
                        .intersection(&model_members(&model, k2))
                        .cloned()
                        .collect();
                    assert_eq!(
                        sorted(&r),
                        want.into_iter().collect::<Vec<_>>(),
                        "step {step}"
                    );
                    (Reply::Int(0), Reply::Int(0))
                }
                8 => {
                    let r = env.call(sunionstore, &["sunionstore", "u", key, k2]);
                    let u: BTreeSet<String> =
                        set.union(&model_members(&model, k2)).cloned().collect();
                    let n = u.len() as i64;
                    put(&mut model, "u", u);
                    (r, Reply::Int(n))
                }
                9 => {
                    let r = env.call(sdiffstore, &["sdiffstore", k2, key, "u"]);
                    let d: BTreeSet<String> = set
                        .difference(&model_members(&model, "u"))
                        .cloned()
                        .collect();
                    let n = d.len() as i64;
                    put(&mut model, k2, d);
                    (r, Reply::Int(n))
                }
                10 => {
                    let r = env.call(sintercard, &["sintercard", "2", key, k2, "limit", "3"]);
                    let n = set.intersection(&model_members(&model, k2)).count().min(3);
                    (r, Reply::Int(n as i64))
                }
                _ => (
                    env.call(scard, &["scard", key]),
                    Reply::Int(set.len() as i64),
                ),
            };
            assert_eq!(reply, want, "step {step}");
            for k in keys.iter().chain(&["u"]) {
                assert_eq!(
                    env.members(k),
                    model_members(&model, k).into_iter().collect::<Vec<_>>(),
                    "step {step} key {k}"
                );
            }
        }
    }
}
