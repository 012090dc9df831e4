//! Unit tests of the list commands (`cmd::lists`).

use std::collections::VecDeque;

use super::*;
use crate::cmd::test_env::{Env, T0};
use crate::cmd::Handler;

/// What the list tests set up and check beside the commands.
impl Env {
    fn with_fill(fill: i64) -> Env {
        let mut e = Env::new();
        e.ks.config.list_max_listpack_size = fill;
        e
    }

    fn list(&mut self, key: &str) -> Option<List> {
        match &self.ks.lookup(0, key.as_bytes())?.value() {
            Value::List(l) => Some(*l.clone()),
            _ => panic!("{key} is not a list"),
        }
    }

    fn nodes(&mut self, key: &str) -> usize {
        self.list(key).expect("list").nodes()
    }
}

fn b(s: &str) -> Reply {
    Reply::bulk(s)
}

fn arr(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| b(s)).collect())
}

fn ints(items: &[i64]) -> Reply {
    Reply::Array(items.iter().map(|&i| Reply::Int(i)).collect())
}

fn error(msg: &str) -> Reply {
    Reply::Error(CmdError::Other(msg.into()))
}

fn range(env: &mut Env, key: &str) -> Reply {
    env.call(lrange, &["lrange", key, "0", "-1"])
}

#[test]
fn pushes_add_at_either_end_and_reply_the_length() {
    let mut e = Env::new();
    assert_eq!(e.call(rpush, &["rpush", "l", "a", "b"]), Reply::Int(2));
    assert_eq!(e.call(lpush, &["lpush", "l", "x", "y"]), Reply::Int(4));
    assert_eq!(range(&mut e, "l"), arr(&["y", "x", "a", "b"]));
    assert_eq!(e.encoding("l"), "listpack");
}

#[test]
fn pushx_only_pushes_onto_existing_lists() {
    let mut e = Env::new();
    assert_eq!(e.call(lpushx, &["lpushx", "l", "a"]), Reply::Int(0));
    assert_eq!(e.call(rpushx, &["rpushx", "l", "a", "b"]), Reply::Int(0));
    assert!(!e.exists("l"));
    e.call(rpush, &["rpush", "l", "m"]);
    assert_eq!(e.call(lpushx, &["lpushx", "l", "a", "b"]), Reply::Int(3));
    assert_eq!(e.call(rpushx, &["rpushx", "l", "z"]), Reply::Int(4));
    assert_eq!(range(&mut e, "l"), arr(&["b", "a", "m", "z"]));
}

#[test]
fn every_command_refuses_a_non_list() {
    let mut e = Env::new();
    e.set("s", "x");
    e.call(rpush, &["rpush", "l", "a"]);
    let wrong = Reply::Error(CmdError::WrongType);
    let cases: Vec<(Handler, Vec<&str>)> = vec![
        (lpush, vec!["lpush", "s", "a"]),
        (rpush, vec!["rpush", "s", "a"]),
        (lpushx, vec!["lpushx", "s", "a"]),
        (rpushx, vec!["rpushx", "s", "a"]),
        (lpop, vec!["lpop", "s"]),
        (rpop, vec!["rpop", "s", "2"]),
        (llen, vec!["llen", "s"]),
        (lrange, vec!["lrange", "s", "0", "-1"]),
        (lindex, vec!["lindex", "s", "0"]),
        (lset, vec!["lset", "s", "0", "a"]),
        (linsert, vec!["linsert", "s", "before", "a", "b"]),
        (lrem, vec!["lrem", "s", "0", "a"]),
        (ltrim, vec!["ltrim", "s", "0", "1"]),
        (lpos, vec!["lpos", "s", "a"]),
        (lmove, vec!["lmove", "s", "l", "left", "left"]),
        (lmove, vec!["lmove", "l", "s", "left", "left"]),
        (rpoplpush, vec!["rpoplpush", "l", "s"]),
        (lmpop, vec!["lmpop", "2", "nx", "s", "left"]),
        (blpop, vec!["blpop", "nx", "s", "0"]),
        (brpop, vec!["brpop", "s", "l", "0"]),
        (blmove, vec!["blmove", "s", "l", "left", "left", "0"]),
        (brpoplpush, vec!["brpoplpush", "l", "s", "0"]),
        (blmpop, vec!["blmpop", "0", "1", "s", "left"]),
    ];
    for (h, args) in cases {
        assert_eq!(e.call(h, &args), wrong, "{args:?}");
    }
    // Nothing moved out of the source when the destination had the wrong type.
    assert_eq!(range(&mut e, "l"), arr(&["a"]));
}

#[test]
fn pop_without_count_replies_one_element_or_nil() {
    let mut e = Env::new();
    assert_eq!(e.call(lpop, &["lpop", "l"]), Reply::Nil);
    e.call(rpush, &["rpush", "l", "a", "b", "c"]);
    assert_eq!(e.call(lpop, &["lpop", "l"]), b("a"));
    assert_eq!(e.call(rpop, &["rpop", "l"]), b("c"));
    assert_eq!(e.call(rpop, &["rpop", "l"]), b("b"));
    assert!(!e.exists("l"));
}

#[test]
fn pop_with_count_replies_an_array() {
    let mut e = Env::new();
    assert_eq!(e.call(lpop, &["lpop", "l", "2"]), Reply::NilArray);
    assert_eq!(e.call(lpop, &["lpop", "l", "0"]), Reply::NilArray);
    e.call(rpush, &["rpush", "l", "a", "b", "c", "d"]);
    assert_eq!(e.call(lpop, &["lpop", "l", "0"]), arr(&[]));
    assert_eq!(e.call(lpop, &["lpop", "l", "2"]), arr(&["a", "b"]));
    assert_eq!(e.call(rpop, &["rpop", "l", "9"]), arr(&["d", "c"]));
    assert!(!e.exists("l"));
}

#[test]
fn pop_count_must_be_a_non_negative_integer() {
    let mut e = Env::new();
    e.set("s", "x");
    let msg = "ERR value is out of range, must be positive";
    assert_eq!(e.call(lpop, &["lpop", "l", "-1"]), error(msg));
    assert_eq!(e.call(rpop, &["rpop", "l", "abc"]), error(msg));
    // The count is checked before the key's type.
    assert_eq!(e.call(lpop, &["lpop", "s", "-1"]), error(msg));
    assert_eq!(
        e.call(lpop, &["lpop", "l", "1", "2"]),
        Reply::Error(CmdError::WrongArity("lpop".into()))
    );
}

#[test]
fn modifications_keep_the_ttl() {
    let mut e = Env::new();
    e.call(rpush, &["rpush", "l", "a", "b", "c", "d"]);
    e.ks.set_expire(0, b"l", T0 + 10_000);
    let ttl = |e: &mut Env| e.ks.lookup(0, b"l").map(|x| x.expire_at());
    e.call(lpush, &["lpush", "l", "z"]);
    e.call(lpop, &["lpop", "l"]);
    e.call(lset, &["lset", "l", "0", "q"]);
    e.call(linsert, &["linsert", "l", "after", "q", "r"]);
    e.call(lrem, &["lrem", "l", "1", "r"]);
    e.call(ltrim, &["ltrim", "l", "0", "2"]);
    e.call(rpoplpush, &["rpoplpush", "l", "l"]);
    assert_eq!(ttl(&mut e), Some(T0 + 10_000));
    assert_eq!(range(&mut e, "l"), arr(&["c", "q", "b"]));
}

#[test]
fn llen_counts_and_missing_is_zero() {
    let mut e = Env::new();
    assert_eq!(e.call(llen, &["llen", "l"]), Reply::Int(0));
    e.call(rpush, &["rpush", "l", "a", "b"]);
    assert_eq!(e.call(llen, &["llen", "l"]), Reply::Int(2));
}

#[test]
fn lrange_normalises_indexes_like_redis() {
    let mut e = Env::new();
    assert_eq!(e.call(lrange, &["lrange", "l", "0", "-1"]), arr(&[]));
    assert_eq!(
        e.call(lrange, &["lrange", "l", "a", "1"]),
        Reply::Error(CmdError::NotInteger)
    );
    e.call(rpush, &["rpush", "l", "a", "b", "c", "d", "e"]);
    let r = |e: &mut Env, s: &str, t: &str| e.call(lrange, &["lrange", "l", s, t]);
    assert_eq!(r(&mut e, "1", "2"), arr(&["b", "c"]));
    assert_eq!(r(&mut e, "-2", "-1"), arr(&["d", "e"]));
    assert_eq!(r(&mut e, "-100", "1"), arr(&["a", "b"]));
    assert_eq!(r(&mut e, "3", "100"), arr(&["d", "e"]));
    assert_eq!(r(&mut e, "3", "1"), arr(&[]));
    assert_eq!(r(&mut e, "5", "10"), arr(&[]));
    assert_eq!(r(&mut e, "0", "-6"), arr(&[]));
    assert_eq!(
        r(&mut e, "-9223372036854775808", "9223372036854775807"),
        arr(&["a", "b", "c", "d", "e"])
    );
}

#[test]
fn lindex_reads_by_index_and_checks_the_key_first() {
    let mut e = Env::new();
    assert_eq!(e.call(lindex, &["lindex", "l", "abc"]), Reply::Nil);
    e.call(rpush, &["rpush", "l", "a", "b", "c"]);
    assert_eq!(e.call(lindex, &["lindex", "l", "0"]), b("a"));
    assert_eq!(e.call(lindex, &["lindex", "l", "-1"]), b("c"));
    assert_eq!(e.call(lindex, &["lindex", "l", "3"]), Reply::Nil);
    assert_eq!(e.call(lindex, &["lindex", "l", "-4"]), Reply::Nil);
    assert_eq!(
        e.call(lindex, &["lindex", "l", "x"]),
        Reply::Error(CmdError::NotInteger)
    );
}

#[test]
fn lset_replaces_or_reports_missing_key_and_bad_index() {
    let mut e = Env::new();
    assert_eq!(
        e.call(lset, &["lset", "l", "abc", "x"]),
        Reply::Error(CmdError::NoSuchKey)
    );
    e.call(rpush, &["rpush", "l", "a", "b", "c"]);
    assert_eq!(e.call(lset, &["lset", "l", "1", "B"]), Reply::Ok);
    assert_eq!(e.call(lset, &["lset", "l", "-1", "C"]), Reply::Ok);
    assert_eq!(
        e.call(lset, &["lset", "l", "3", "x"]),
        error("ERR index out of range")
    );
    assert_eq!(
        e.call(lset, &["lset", "l", "x", "x"]),
        Reply::Error(CmdError::NotInteger)
    );
    assert_eq!(range(&mut e, "l"), arr(&["a", "B", "C"]));
}

#[test]
fn linsert_places_around_the_first_pivot() {
    let mut e = Env::new();
    assert_eq!(
        e.call(linsert, &["linsert", "l", "before", "a", "x"]),
        Reply::Int(0)
    );
    assert_eq!(
        e.call(linsert, &["linsert", "l", "middle", "a", "x"]),
        Reply::Error(CmdError::Syntax)
    );
    e.call(rpush, &["rpush", "l", "a", "b", "a"]);
    assert_eq!(
        e.call(linsert, &["linsert", "l", "BEFORE", "a", "x"]),
        Reply::Int(4)
    );
    assert_eq!(
        e.call(linsert, &["linsert", "l", "After", "a", "y"]),
        Reply::Int(5)
    );
    assert_eq!(
        e.call(linsert, &["linsert", "l", "after", "zz", "y"]),
        Reply::Int(-1)
    );
    assert_eq!(range(&mut e, "l"), arr(&["x", "a", "y", "b", "a"]));
}

#[test]
fn lrem_removes_from_head_tail_or_all() {
    let mut e = Env::new();
    assert_eq!(e.call(lrem, &["lrem", "l", "0", "a"]), Reply::Int(0));
    assert_eq!(
        e.call(lrem, &["lrem", "l", "x", "a"]),
        Reply::Error(CmdError::NotInteger)
    );
    e.call(rpush, &["rpush", "l", "a", "b", "a", "c", "a", "a"]);
    assert_eq!(e.call(lrem, &["lrem", "l", "-2", "a"]), Reply::Int(2));
    assert_eq!(range(&mut e, "l"), arr(&["a", "b", "a", "c"]));
    assert_eq!(e.call(lrem, &["lrem", "l", "1", "a"]), Reply::Int(1));
    assert_eq!(range(&mut e, "l"), arr(&["b", "a", "c"]));
    assert_eq!(e.call(lrem, &["lrem", "l", "0", "zz"]), Reply::Int(0));
    e.call(lrem, &["lrem", "l", "0", "a"]);
    e.call(lrem, &["lrem", "l", "0", "b"]);
    assert_eq!(e.call(lrem, &["lrem", "l", "0", "c"]), Reply::Int(1));
    assert!(!e.exists("l"));
}

#[test]
fn ltrim_keeps_the_range_and_deletes_when_empty() {
    let mut e = Env::new();
    assert_eq!(e.call(ltrim, &["ltrim", "l", "0", "1"]), Reply::Ok);
    e.call(rpush, &["rpush", "l", "a", "b", "c", "d", "e"]);
    assert_eq!(e.call(ltrim, &["ltrim", "l", "1", "-2"]), Reply::Ok);
    assert_eq!(range(&mut e, "l"), arr(&["b", "c", "d"]));
    assert_eq!(e.call(ltrim, &["ltrim", "l", "-100", "100"]), Reply::Ok);
    assert_eq!(range(&mut e, "l"), arr(&["b", "c", "d"]));
    assert_eq!(e.call(ltrim, &["ltrim", "l", "2", "1"]), Reply::Ok);
    assert!(!e.exists("l"));
}

#[test]
fn lpos_finds_matches_with_rank_count_and_maxlen() {
    let mut e = Env::new();
    assert_eq!(e.call(lpos, &["lpos", "l", "a"]), Reply::Nil);
    assert_eq!(e.call(lpos, &["lpos", "l", "a", "count", "0"]), arr(&[]));
    e.call(
        rpush,
        &["rpush", "l", "a", "b", "c", "1", "2", "3", "c", "c"],
    );
    let p = |e: &mut Env, extra: &[&str]| {
        let mut args = vec!["lpos", "l", "c"];
        args.extend_from_slice(extra);
        e.call(lpos, &args)
    };
    assert_eq!(p(&mut e, &[]), Reply::Int(2));
    assert_eq!(p(&mut e, &["rank", "2"]), Reply::Int(6));
    assert_eq!(p(&mut e, &["rank", "-1"]), Reply::Int(7));
    assert_eq!(p(&mut e, &["rank", "4"]), Reply::Nil);
    assert_eq!(p(&mut e, &["count", "0"]), ints(&[2, 6, 7]));
    assert_eq!(p(&mut e, &["count", "2"]), ints(&[2, 6]));
    assert_eq!(p(&mut e, &["count", "2", "rank", "-1"]), ints(&[7, 6]));
    assert_eq!(p(&mut e, &["count", "0", "rank", "2"]), ints(&[6, 7]));
    assert_eq!(p(&mut e, &["count", "0", "maxlen", "7"]), ints(&[2, 6]));
    assert_eq!(p(&mut e, &["maxlen", "2"]), Reply::Nil);
    assert_eq!(p(&mut e, &["rank", "-1", "maxlen", "1"]), Reply::Int(7));
    assert_eq!(p(&mut e, &["count", "5", "rank", "9"]), arr(&[]));
    // Redis 7.0 negates the most negative rank into itself: first match from the tail.
    assert_eq!(
        p(&mut e, &["rank", "-9223372036854775808", "count", "0"]),
        ints(&[7, 6, 2])
    );
}

#[test]
fn lpos_option_errors() {
    let mut e = Env::new();
    let p = |e: &mut Env, extra: &[&str]| {
        let mut args = vec!["lpos", "l", "c"];
        args.extend_from_slice(extra);
        e.call(lpos, &args)
    };
    assert_eq!(
        p(&mut e, &["rank", "0"]),
        error(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the \
             second ... or use negative to start from the end of the list"
        )
    );
    assert_eq!(
        p(&mut e, &["rank", "x"]),
        Reply::Error(CmdError::NotInteger)
    );
    assert_eq!(
        p(&mut e, &["count", "-1"]),
        error("ERR COUNT can't be negative")
    );
    assert_eq!(
        p(&mut e, &["count", "x"]),
        error("ERR COUNT can't be negative")
    );
    assert_eq!(
        p(&mut e, &["maxlen", "-1"]),
        error("ERR MAXLEN can't be negative")
    );
    assert_eq!(p(&mut e, &["rank"]), Reply::Error(CmdError::Syntax));
    assert_eq!(p(&mut e, &["foo", "1"]), Reply::Error(CmdError::Syntax));
}

#[test]
fn lmove_moves_between_ends_and_creates_the_destination() {
    let mut e = Env::new();
    assert_eq!(
        e.call(lmove, &["lmove", "src", "dst", "left", "right"]),
        Reply::Nil
    );
    assert!(!e.exists("dst"));
    e.call(rpush, &["rpush", "src", "a", "b", "c"]);
    assert_eq!(
        e.call(lmove, &["lmove", "src", "dst", "LEFT", "RIGHT"]),
        b("a")
    );
    assert_eq!(
        e.call(lmove, &["lmove", "src", "dst", "right", "left"]),
        b("c")
    );
    assert_eq!(e.call(rpoplpush, &["rpoplpush", "src", "dst"]), b("b"));
    assert!(!e.exists("src"));
    assert_eq!(range(&mut e, "dst"), arr(&["b", "c", "a"]));
    assert_eq!(
        e.call(lmove, &["lmove", "dst", "src", "up", "left"]),
        Reply::Error(CmdError::Syntax)
    );
}

#[test]
fn lmove_onto_itself_rotates() {
    let mut e = Env::new();
    e.call(rpush, &["rpush", "l", "a", "b", "c"]);
    assert_eq!(e.call(rpoplpush, &["rpoplpush", "l", "l"]), b("c"));
    assert_eq!(range(&mut e, "l"), arr(&["c", "a", "b"]));
    assert_eq!(e.call(lmove, &["lmove", "l", "l", "left", "right"]), b("c"));
    assert_eq!(range(&mut e, "l"), arr(&["a", "b", "c"]));
    assert_eq!(e.call(lmove, &["lmove", "l", "l", "left", "left"]), b("a"));
    assert_eq!(range(&mut e, "l"), arr(&["a", "b", "c"]));
    e.call(ltrim, &["ltrim", "l", "0", "0"]);
    assert_eq!(e.call(rpoplpush, &["rpoplpush", "l", "l"]), b("a"));
    assert_eq!(range(&mut e, "l"), arr(&["a"]));
}

#[test]
fn lmpop_pops_from_the_first_non_empty_list() {
    let mut e = Env::new();
    assert_eq!(
        e.call(lmpop, &["lmpop", "2", "x", "y", "left"]),
        Reply::NilArray
    );
    e.call(rpush, &["rpush", "y", "a", "b", "c"]);
    assert_eq!(
        e.call(lmpop, &["lmpop", "2", "x", "y", "left"]),
        Reply::Array(vec![b("y"), arr(&["a"])])
    );
    assert_eq!(
        e.call(lmpop, &["lmpop", "2", "x", "y", "RIGHT", "COUNT", "5"]),
        Reply::Array(vec![b("y"), arr(&["c", "b"])])
    );
    assert!(!e.exists("y"));
}

#[test]
fn lmpop_argument_errors() {
    let mut e = Env::new();
    let numkeys = error("ERR numkeys should be greater than 0");
    let count = error("ERR count should be greater than 0");
    let syntax = Reply::Error(CmdError::Syntax);
    let cases: Vec<(Vec<&str>, &Reply)> = vec![
        (vec!["lmpop", "0", "l", "left"], &numkeys),
        (vec!["lmpop", "-1", "l", "left"], &numkeys),
        (vec!["lmpop", "abc", "l", "left"], &numkeys),
        (vec!["lmpop", "2", "l", "left"], &syntax),
        (vec!["lmpop", "9223372036854775807", "l", "left"], &syntax),
        (vec!["lmpop", "1", "l", "middle"], &syntax),
        (vec!["lmpop", "1", "l", "left", "count", "0"], &count),
        (vec!["lmpop", "1", "l", "left", "count", "x"], &count),
        (vec!["lmpop", "1", "l", "left", "count"], &syntax),
        (
            vec!["lmpop", "1", "l", "left", "count", "1", "count", "1"],
            &syntax,
        ),
        (vec!["lmpop", "1", "l", "left", "foo"], &syntax),
    ];
    for (args, want) in cases {
        assert_eq!(&e.call(lmpop, &args), want, "{args:?}");
    }
}

#[test]
fn blocking_pops_take_from_the_first_list_with_data() {
    let mut e = Env::new();
    assert_eq!(e.call(blpop, &["blpop", "x", "y", "0"]), Reply::NilArray);
    e.call(rpush, &["rpush", "y", "a", "b"]);
    assert_eq!(
        e.call(blpop, &["blpop", "x", "y", "1.5"]),
        Reply::Array(vec![b("y"), b("a")])
    );
    assert_eq!(
        e.call(brpop, &["brpop", "y", "x", "0"]),
        Reply::Array(vec![b("y"), b("b")])
    );
    assert!(!e.exists("y"));
    assert_eq!(
        e.call(blpop, &["blpop", "y", "-1"]),
        error("ERR timeout is negative")
    );
    assert_eq!(
        e.call(brpop, &["brpop", "y", "abc"]),
        error("ERR timeout is not a float or out of range")
    );
}

#[test]
fn blocking_moves_reply_nil_without_data() {
    let mut e = Env::new();
    e.set("s", "x");
    assert_eq!(
        e.call(blmove, &["blmove", "x", "y", "left", "left", "0"]),
        Reply::Nil
    );
    // Only the source is checked when it has no data.
    assert_eq!(
        e.call(brpoplpush, &["brpoplpush", "x", "s", "0"]),
        Reply::Nil
    );
    assert_eq!(
        e.call(blmove, &["blmove", "x", "y", "middle", "left", "abc"]),
        Reply::Error(CmdError::Syntax)
    );
    assert_eq!(
        e.call(brpoplpush, &["brpoplpush", "x", "y", "abc"]),
        error("ERR timeout is not a float or out of range")
    );
    e.call(rpush, &["rpush", "x", "a", "b"]);
    assert_eq!(
        e.call(blmove, &["blmove", "x", "y", "right", "left", "0.1"]),
        b("b")
    );
    assert_eq!(e.call(brpoplpush, &["brpoplpush", "x", "y", "0"]), b("a"));
    assert!(!e.exists("x"));
    assert_eq!(range(&mut e, "y"), arr(&["a", "b"]));
}

#[test]
fn blmpop_parses_like_lmpop_then_the_timeout() {
    let mut e = Env::new();
    assert_eq!(
        e.call(blmpop, &["blmpop", "abc", "0", "l", "left"]),
        error("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        e.call(blmpop, &["blmpop", "abc", "1", "l", "middle"]),
        Reply::Error(CmdError::Syntax)
    );
    assert_eq!(
        e.call(blmpop, &["blmpop", "abc", "1", "l", "left"]),
        error("ERR timeout is not a float or out of range")
    );
    assert_eq!(
        e.call(blmpop, &["blmpop", "0", "1", "l", "left"]),
        Reply::NilArray
    );
    e.call(rpush, &["rpush", "l", "a", "b", "c"]);
    assert_eq!(
        e.call(blmpop, &["blmpop", "-1", "1", "l", "left"]),
        error("ERR timeout is negative")
    );
    assert_eq!(
        e.call(blmpop, &["blmpop", "0", "1", "l", "right", "count", "2"]),
        Reply::Array(vec![b("l"), arr(&["c", "b"])])
    );
}

#[test]
fn timeouts_parse_as_redis_does() {
    let t = |s: &str| timeout_arg(s.as_bytes());
    let neg = Err(err("ERR timeout is negative"));
    let bad = Err(err("ERR timeout is not a float or out of range"));
    assert_eq!(t("0"), Ok(None));
    assert_eq!(t("1"), Ok(Some(1000)));
    assert_eq!(t("0.1"), Ok(Some(100)));
    assert_eq!(t("1.5"), Ok(Some(1500)));
    assert_eq!(t("1e-5"), Ok(None));
    assert_eq!(t("-0.0001"), Ok(None));
    assert_eq!(t("0x10"), Ok(Some(16000)));
    assert_eq!(t("0x1.8p1"), Ok(Some(3000)));
    assert_eq!(t("9.2e15"), Ok(Some(9_200_000_000_000_000_000)));
    assert_eq!(t("-1"), neg);
    assert_eq!(t("-inf"), neg);
    assert_eq!(t("inf"), neg);
    assert_eq!(t("1e300"), neg);
    assert_eq!(t("9.3e15"), neg);
    assert_eq!(t("abc"), bad);
    assert_eq!(t(""), bad);
    assert_eq!(t(" 1"), bad);
    assert_eq!(t("nan"), bad);
    assert_eq!(t("0x"), bad);
    assert_eq!(t("0x1p"), bad);
    assert_eq!(t(&"1".repeat(6000)), bad);
}

// ---- encodings -------------------------------------------------------------

#[test]
fn list_converts_to_quicklist_past_the_node_size() {
    let mut e = Env::new();
    let v = "v".repeat(100);
    // Each 100-byte element takes 103 listpack bytes: 7 + 79 * 103 = 8144 fits 8 KiB.
    for _ in 0..79 {
        e.call(rpush, &["rpush", "l", &v]);
    }
    assert_eq!(e.encoding("l"), "listpack");
    e.call(rpush, &["rpush", "l", &v]);
    assert_eq!(e.encoding("l"), "quicklist");
    assert_eq!(e.nodes("l"), 2);
}

#[test]
fn quicklist_converts_back_at_half_the_node_size() {
    let mut e = Env::new();
    let v = "v".repeat(100);
    for _ in 0..80 {
        e.call(rpush, &["rpush", "l", &v]);
    }
    // One node again, but over half of 8 KiB: stays a quicklist.
    e.call(rpop, &["rpop", "l"]);
    assert_eq!(e.nodes("l"), 1);
    assert_eq!(e.encoding("l"), "quicklist");
    // 7 + 40 * 103 = 4127 > 4096; 7 + 39 * 103 = 4024.
    e.call(rpop, &["rpop", "l", "39"]);
    assert_eq!(e.call(llen, &["llen", "l"]), Reply::Int(40));
    assert_eq!(e.encoding("l"), "quicklist");
    e.call(lpop, &["lpop", "l"]);
    assert_eq!(e.encoding("l"), "listpack");
}

#[test]
fn positive_fill_limits_entries() {
    let mut e = Env::with_fill(4);
    e.call(rpush, &["rpush", "l", "a", "b", "c", "d"]);
    assert_eq!(e.encoding("l"), "listpack");
    e.call(rpush, &["rpush", "l", "e"]);
    assert_eq!(e.encoding("l"), "quicklist");
    assert_eq!(e.nodes("l"), 2);
    e.call(rpop, &["rpop", "l"]);
    assert_eq!(e.encoding("l"), "quicklist");
    e.call(rpop, &["rpop", "l"]);
    assert_eq!(e.encoding("l"), "quicklist");
    // Down to one node of count <= 4 / 2.
    e.call(rpop, &["rpop", "l"]);
    assert_eq!(e.encoding("l"), "listpack");
}

#[test]
fn multi_element_push_converts_before_adding() {
    let mut e = Env::with_fill(4);
    e.call(rpush, &["rpush", "l", "a", "b", "c", "d", "e"]);
    assert_eq!(e.encoding("l"), "quicklist");
    assert_eq!(e.nodes("l"), 2);
    assert_eq!(range(&mut e, "l"), arr(&["a", "b", "c", "d", "e"]));
}

#[test]
fn linsert_converts_even_when_the_pivot_is_missing() {
    let mut e = Env::with_fill(4);
    e.call(rpush, &["rpush", "l", "a", "b", "c", "d"]);
    assert_eq!(
        e.call(linsert, &["linsert", "l", "before", "zz", "x"]),
        Reply::Int(-1)
    );
    assert_eq!(e.encoding("l"), "quicklist");
}

#[test]
fn a_large_element_makes_a_quicklist_and_lset_can_undo_it() {
    let mut e = Env::new();
    e.call(rpush, &["rpush", "l", "a", "b"]);
    let big = "x".repeat(9000);
    assert_eq!(e.call(lset, &["lset", "l", "0", &big]), Reply::Ok);
    assert_eq!(e.encoding("l"), "quicklist");
    assert_eq!(e.call(lset, &["lset", "l", "0", "a"]), Reply::Ok);
    assert_eq!(e.encoding("l"), "listpack");
    e.call(rpush, &["rpush", "m", &big]);
    assert_eq!(e.encoding("m"), "quicklist");
}

#[test]
fn count_limited_nodes_still_respect_the_size_safety_limit() {
    let mut e = Env::with_fill(128);
    let v = "v".repeat(5000);
    e.call(rpush, &["rpush", "l", &v]);
    assert_eq!(e.encoding("l"), "listpack");
    e.call(rpush, &["rpush", "l", &v]);
    assert_eq!(e.encoding("l"), "quicklist");
    assert_eq!(e.nodes("l"), 2);
}

#[test]
fn lrem_and_ltrim_shrink_back_to_listpack() {
    let mut e = Env::with_fill(4);
    e.call(rpush, &["rpush", "l", "a", "x", "b", "x", "c"]);
    assert_eq!(e.encoding("l"), "quicklist");
    e.call(lrem, &["lrem", "l", "0", "x"]);
    assert_eq!(e.encoding("l"), "quicklist");
    e.call(lrem, &["lrem", "l", "1", "c"]);
    assert_eq!(e.encoding("l"), "listpack");
    e.call(rpush, &["rpush", "t", "1", "2", "3", "4", "5", "6"]);
    e.call(ltrim, &["ltrim", "t", "0", "1"]);
    assert_eq!(e.encoding("t"), "listpack");
    assert_eq!(range(&mut e, "t"), arr(&["1", "2"]));
}

#[test]
fn lmove_converts_the_destination_and_shrinks_the_source() {
    let mut e = Env::with_fill(2);
    e.call(rpush, &["rpush", "src", "a", "b", "c"]);
    e.call(rpush, &["rpush", "dst", "x", "y"]);
    assert_eq!(e.encoding("src"), "quicklist");
    assert_eq!(e.encoding("dst"), "listpack");
    e.call(lmove, &["lmove", "src", "dst", "left", "left"]);
    assert_eq!(e.encoding("dst"), "quicklist");
    e.call(lmove, &["lmove", "src", "dst", "left", "left"]);
    assert_eq!(e.encoding("src"), "listpack");
    assert_eq!(range(&mut e, "dst"), arr(&["b", "a", "x", "y"]));
}

#[test]
fn indexing_a_long_quicklist_skips_nodes() {
    let mut e = Env::new();
    let n = 20_000;
    let vals: Vec<String> = (0..n).map(|i| format!("element-{i}")).collect();
    for chunk in vals.chunks(500) {
        let mut args = vec!["rpush", "l"];
        args.extend(chunk.iter().map(|s| s.as_str()));
        e.call(rpush, &args);
    }
    assert_eq!(e.encoding("l"), "quicklist");
    assert!(e.nodes("l") > 10);
    for i in [0usize, 1, 777, 10_000, 19_998, 19_999] {
        let idx = i.to_string();
        assert_eq!(e.call(lindex, &["lindex", "l", &idx]), b(&vals[i]));
    }
    assert_eq!(e.call(lset, &["lset", "l", "12345", "X"]), Reply::Ok);
    assert_eq!(e.call(lindex, &["lindex", "l", "-7655"]), b("X"));
    assert_eq!(
        e.call(lrange, &["lrange", "l", "9998", "10001"]),
        arr(&[&vals[9998], &vals[9999], &vals[10000], &vals[10001]])
    );
    e.list("l").unwrap().check();
}

// ---- property test ---------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo + 1) as u64)) as i64
    }
}

fn value(rng: &mut Rng, long: usize) -> Vec<u8> {
    match rng.below(8) {
        0 | 1 => vec![b'L'; long + rng.below(long as u64 + 1) as usize],
        2 => rng.range(-5000, 70000).to_string().into_bytes(),
        _ => vec![b"abcde"[rng.below(5) as usize]],
    }
}

fn model_norm(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    norm_range(start, end, len)
}

fn model_lpos(
    m: &VecDeque<Vec<u8>>,
    v: &[u8],
    rank: i64,
    count: Option<i64>,
    maxlen: usize,
) -> Reply {
    let len = m.len();
    let scan: Vec<usize> = if rank < 0 {
        (0..len).rev().collect()
    } else {
        (0..len).collect()
    };
    let limit = if maxlen == 0 { len } else { maxlen.min(len) };
    let hits: Vec<i64> = scan[..limit]
        .iter()
        .filter(|&&i| m[i] == v)
        .map(|&i| i as i64)
        .skip(rank.unsigned_abs() as usize - 1)
        .collect();
    match count {
        None => hits.first().map_or(Reply::Nil, |&i| Reply::Int(i)),
        Some(0) => ints(&hits),
        Some(c) => ints(&hits[..hits.len().min(c as usize)]),
    }
}

fn model_run(fill: i64, long: usize, seed: u64, ops: usize) {
    let mut e = Env::with_fill(fill);
    let mut rng = Rng(seed);
    let mut m: VecDeque<Vec<u8>> = VecDeque::new();
    let mut m2: VecDeque<Vec<u8>> = VecDeque::new();
    let bulks = |it: &mut dyn Iterator<Item = &Vec<u8>>| {
        Reply::Array(it.map(|v| Reply::Bulk(v.clone())).collect())
    };
    for step in 0..ops {
        let len = m.len() as i64;
        // Pushes weigh more so lists grow across several nodes.
        let r = rng.below(18);
        let op = if r < 6 { r % 2 } else { r - 4 };
        let (args, want): (Vec<Vec<u8>>, Reply) = match op {
            0 | 1 => {
                let n = 1 + rng.below(3) as usize;
                let vals: Vec<Vec<u8>> = (0..n).map(|_| value(&mut rng, long)).collect();
                let head = op == 0;
                for v in &vals {
                    if head {
                        m.push_front(v.clone());
                    } else {
                        m.push_back(v.clone());
                    }
                }
                let mut a = vec![if head {
                    b"lpush".to_vec()
                } else {
                    b"rpush".to_vec()
                }];
                a.push(b"l".to_vec());
                a.extend(vals);
                (a, Reply::Int(m.len() as i64))
            }
            2 | 3 => {
                let head = op == 2;
                let name = if head { "lpop" } else { "rpop" };
                if rng.below(2) == 0 {
                    let v = if head { m.pop_front() } else { m.pop_back() };
                    (
                        vec![name.into(), b"l".to_vec()],
                        v.map_or(Reply::Nil, Reply::Bulk),
                    )
                } else {
                    let c = rng.below(5) as usize;
                    let want = if m.is_empty() {
                        Reply::NilArray
                    } else {
                        let k = c.min(m.len());
                        let popped: Vec<Vec<u8>> = (0..k)
                            .map(|_| if head { m.pop_front() } else { m.pop_back() })
                            .map(|v| v.expect("in range"))
                            .collect();
                        bulks(&mut popped.iter())
                    };
                    (vec![name.into(), b"l".to_vec(), c.to_string().into()], want)
                }
            }
            4 => {
                let i = rng.range(-len - 2, len + 2);
                let v = value(&mut rng, long);
                let pos = if i < 0 { len + i } else { i };
                let want = if m.is_empty() {
                    Reply::Error(CmdError::NoSuchKey)
                } else if (0..len).contains(&pos) {
                    m[pos as usize] = v.clone();
                    Reply::Ok
                } else {
                    error("ERR index out of range")
                };
                (
                    vec![b"lset".to_vec(), b"l".to_vec(), i.to_string().into(), v],
                    want,
                )
            }
            5 => {
                let after = rng.below(2) == 0;
                let pivot = value(&mut rng, long);
                let v = value(&mut rng, long);
                let want = if m.is_empty() {
                    Reply::Int(0)
                } else {
                    match m.iter().position(|x| *x == pivot) {
                        Some(p) => {
                            m.insert(if after { p + 1 } else { p }, v.clone());
                            Reply::Int(m.len() as i64)
                        }
                        None => Reply::Int(-1),
                    }
                };
                let place = if after { "after" } else { "before" };
                (
                    vec![b"linsert".to_vec(), b"l".to_vec(), place.into(), pivot, v],
                    want,
                )
            }
            6 => {
                let c = rng.range(-3, 3);
                let v = value(&mut rng, long);
                let limit = if c == 0 {
                    usize::MAX
                } else {
                    c.unsigned_abs() as usize
                };
                let mut removed = 0;
                let idxs: Vec<usize> = if c < 0 {
                    (0..m.len()).rev().collect()
                } else {
                    (0..m.len()).collect()
                };
                let mut drop = vec![false; m.len()];
                for i in idxs {
                    if removed < limit && m[i] == v {
                        drop[i] = true;
                        removed += 1;
                    }
                }
                let mut it = drop.iter();
                m.retain(|_| !*it.next().expect("same length"));
                (
                    vec![b"lrem".to_vec(), b"l".to_vec(), c.to_string().into(), v],
                    Reply::Int(removed as i64),
                )
            }
            7 => {
                // Mostly gentle trims so the list keeps growing.
                let (s, t) = if rng.below(4) == 0 {
                    (rng.range(-len - 3, len + 3), rng.range(-len - 3, len + 3))
                } else {
                    (rng.range(0, 2), rng.range(-3, -1))
                };
                match model_norm(s, t, m.len()) {
                    Some((first, n)) => {
                        m.drain(first + n..);
                        m.drain(..first);
                    }
                    None => m.clear(),
                }
                (
                    vec![
                        b"ltrim".to_vec(),
                        b"l".to_vec(),
                        s.to_string().into(),
                        t.to_string().into(),
                    ],
                    Reply::Ok,
                )
            }
            8 => {
                let s = rng.range(-len - 3, len + 3);
                let t = rng.range(-len - 3, len + 3);
                let want = match model_norm(s, t, m.len()) {
                    Some((first, n)) => bulks(&mut m.range(first..first + n)),
                    None => Reply::Array(vec![]),
                };
                (
                    vec![
                        b"lrange".to_vec(),
                        b"l".to_vec(),
                        s.to_string().into(),
                        t.to_string().into(),
                    ],
                    want,
                )
            }
            9 => {
                let i = rng.range(-len - 2, len + 2);
                let pos = if i < 0 { len + i } else { i };
                let want = if (0..len).contains(&pos) {
                    Reply::Bulk(m[pos as usize].clone())
                } else {
                    Reply::Nil
                };
                (
                    vec![b"lindex".to_vec(), b"l".to_vec(), i.to_string().into()],
                    want,
                )
            }
            10 => {
                let v = value(&mut rng, long);
                let mut rank = rng.range(-3, 3);
                if rank == 0 {
                    rank = 1;
                }
                let count = (rng.below(2) == 0).then(|| rng.range(0, 3));
                let maxlen = if rng.below(3) == 0 {
                    rng.range(0, len + 1) as usize
                } else {
                    0
                };
                let mut a = vec![b"lpos".to_vec(), b"l".to_vec(), v.clone()];
                a.extend([b"rank".to_vec(), rank.to_string().into()]);
                if let Some(c) = count {
                    a.extend([b"count".to_vec(), c.to_string().into()]);
                }
                a.extend([b"maxlen".to_vec(), maxlen.to_string().into()]);
                let want = if m.is_empty() {
                    if count.is_some() {
                        Reply::Array(vec![])
                    } else {
                        Reply::Nil
                    }
                } else {
                    model_lpos(&m, &v, rank, count, maxlen)
                };
                (a, want)
            }
            11 => {
                // Rotation onto itself.
                let from_head = rng.below(2) == 0;
                let to_head = rng.below(2) == 0;
                let want = match if from_head {
                    m.pop_front()
                } else {
                    m.pop_back()
                } {
                    Some(v) => {
                        if to_head {
                            m.push_front(v.clone());
                        } else {
                            m.push_back(v.clone());
                        }
                        Reply::Bulk(v)
                    }
                    None => Reply::Nil,
                };
                let w = |h: bool| {
                    if h {
                        b"left".to_vec()
                    } else {
                        b"right".to_vec()
                    }
                };
                (
                    vec![
                        b"lmove".to_vec(),
                        b"l".to_vec(),
                        b"l".to_vec(),
                        w(from_head),
                        w(to_head),
                    ],
                    want,
                )
            }
            12 => {
                // Back and forth with a second list.
                let there = rng.below(2) == 0;
                let (a, bq, src, dst) = if there {
                    (&mut m, &mut m2, "l", "m")
                } else {
                    (&mut m2, &mut m, "m", "l")
                };
                let want = match a.pop_back() {
                    Some(v) => {
                        bq.push_front(v.clone());
                        Reply::Bulk(v)
                    }
                    None => Reply::Nil,
                };
                (vec![b"rpoplpush".to_vec(), src.into(), dst.into()], want)
            }
            _ => (
                vec![b"llen".to_vec(), b"l".to_vec()],
                Reply::Int(m.len() as i64),
            ),
        };
        let got = e.command(&args);
        let shown: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(&a[..a.len().min(12)]).into_owned())
            .collect();
        assert_eq!(got, want, "fill {fill} seed {seed} step {step}: {shown:?}");
        for (key, model) in [("l", &m), ("m", &m2)] {
            match e.list(key) {
                Some(l) => {
                    l.check();
                    let content: Vec<Vec<u8>> = l.iter().map(|x| x.to_vec()).collect();
                    assert_eq!(content, model.iter().cloned().collect::<Vec<_>>());
                }
                None => assert!(model.is_empty(), "{key} missing at step {step}"),
            }
        }
    }
}

#[test]
fn random_operations_match_a_deque_model() {
    for (fill, long, seed) in [
        (1, 8, 0x1234_5678_9abc_def1u64),
        (2, 8, 0x0f0f_1234_5555_aaaa),
        (3, 8, 0xdead_beef_cafe_f00d),
        (5, 20, 0x0123_4567_89ab_cdef),
        (-1, 300, 0x9e37_79b9_7f4a_7c15),
        (-2, 2000, 0x5151_7272_9393_b4b4),
    ] {
        model_run(fill, long, seed, 3000);
    }
}
