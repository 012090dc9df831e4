//! Unit tests of the keyspace commands (`cmd::keys`).

use std::collections::HashSet;

use super::*;
use crate::cmd::test_env::{Env as Shard, T0 as START};
use crate::cmd::Handler;

/// What the keyspace tests set up and check in a given db.
impl Shard {
    fn set_in(&mut self, db: usize, key: &str, value: &str, expire_at: Millis) {
        let v = Value::Str(Str::from_bytes(value.as_bytes()));
        self.ks.set(db, key.as_bytes(), v, expire_at);
    }

    fn expire_at_in(&mut self, db: usize, key: &str) -> Option<Millis> {
        self.ks.lookup(db, key.as_bytes()).map(|e| e.expire_at())
    }

    fn value(&mut self, db: usize, key: &str) -> Option<Vec<u8>> {
        self.ks.lookup(db, key.as_bytes()).map(|e| match e.value() {
            Value::Str(s) => s.to_vec(),
            other => panic!("not a string: {other:?}"),
        })
    }
}

fn int(n: i64) -> Reply {
    Reply::Int(n)
}

fn err(e: CmdError) -> Reply {
    Reply::Error(e)
}

fn other(msg: &str) -> Reply {
    Reply::Error(CmdError::other(msg))
}

fn bulks(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(Reply::bulk).collect())
}

/// Sorted key names of an array reply.
fn names(reply: &Reply) -> Vec<String> {
    let Reply::Array(items) = reply else {
        panic!("not an array: {reply:?}");
    };
    let mut out: Vec<String> = items
        .iter()
        .map(|r| match r {
            Reply::Bulk(b) => String::from_utf8(b.clone()).unwrap(),
            other => panic!("not a bulk: {other:?}"),
        })
        .collect();
    out.sort();
    out
}

/// Splits a SCAN step reply into (next cursor, keys).
fn scan_parts(reply: Reply) -> (String, Vec<String>) {
    let Reply::Array(parts) = reply else {
        panic!("not an array: {reply:?}");
    };
    let [Reply::Bulk(cursor), keys] = &parts[..] else {
        panic!("bad scan reply: {parts:?}");
    };
    (String::from_utf8(cursor.clone()).unwrap(), names(keys))
}

// DEL / EXISTS / TOUCH / TYPE ------------------------------------------------------

#[test]
fn del_counts_only_live_keys_it_removed() {
    let mut s = Shard::new();
    s.set("a", "1");
    s.set("b", "2");
    s.set_in(0, "gone", "3", START + 10);
    s.advance(10);
    assert_eq!(
        s.call(del, &["del", "a", "b", "gone", "missing", "a"]),
        int(2)
    );
    assert_eq!(s.ks.len(0), 0);
}

#[test]
fn exists_counts_repeated_keys() {
    let mut s = Shard::new();
    s.set("a", "1");
    assert_eq!(s.call(exists, &["exists", "a", "a", "b"]), int(2));
    assert_eq!(s.ks.stats.hits, 2);
    assert_eq!(s.ks.stats.misses, 1);
}

#[test]
fn exists_does_not_refresh_access_time() {
    let mut s = Shard::new();
    s.set("a", "1");
    s.advance(5_000);
    s.call(exists, &["exists", "a"]);
    assert_eq!(s.call(object, &["object", "idletime", "a"]), int(5));
}

#[test]
fn touch_counts_existing_keys_and_refreshes_them_even_under_no_touch() {
    let mut s = Shard::new();
    s.set("a", "1");
    s.advance(5_000);
    s.touch = false;
    assert_eq!(s.call(touch, &["touch", "a", "nope", "a"]), int(2));
    assert_eq!(s.ks.stats.hits, 2);
    assert_eq!(s.ks.stats.misses, 1);
    assert_eq!(s.call(object, &["object", "idletime", "a"]), int(0));
}

#[test]
fn type_reports_string_or_none_as_status() {
    let mut s = Shard::new();
    s.set("a", "1");
    assert_eq!(s.call(type_, &["type", "a"]), Reply::status("string"));
    assert_eq!(s.call(type_, &["type", "b"]), Reply::status("none"));
}

// EXPIRE family ----------------------------------------------------------------------

#[test]
fn expire_sets_a_relative_deadline_in_seconds() {
    let mut s = Shard::new();
    s.set("a", "1");
    assert_eq!(s.call(expire, &["expire", "a", "100"]), int(1));
    assert_eq!(s.expire_at_in(0, "a"), Some(START + 100_000));
    assert_eq!(s.call(pexpire, &["pexpire", "a", "1500"]), int(1));
    assert_eq!(s.expire_at_in(0, "a"), Some(START + 1_500));
}

#[test]
fn expireat_and_pexpireat_take_unix_times() {
    let mut s = Shard::new();
    s.set("a", "1");
    let secs = (START / 1000 + 60).to_string();
    assert_eq!(s.call(expireat, &["expireat", "a", &secs]), int(1));
    assert_eq!(s.expire_at_in(0, "a"), Some(START + 60_000));
    let ms = (START + 1234).to_string();
    assert_eq!(s.call(pexpireat, &["pexpireat", "a", &ms]), int(1));
    assert_eq!(s.expire_at_in(0, "a"), Some(START + 1234));
}

#[test]
fn expire_with_a_past_deadline_deletes_the_key_and_returns_one() {
    let mut s = Shard::new();
    for (h, args) in [
        (expire as Handler, ["expire", "k", "-1"]),
        (pexpire, ["pexpire", "k", "0"]),
        (expireat, ["expireat", "k", "100"]),
        (pexpireat, ["pexpireat", "k", "-9223372036854775808"]),
    ] {
        s.set("k", "v");
        assert_eq!(s.call(h, &args), int(1), "{args:?}");
        assert_eq!(s.call(exists, &["exists", "k"]), int(0), "{args:?}");
    }
}

#[test]
fn expire_on_a_missing_or_expired_key_returns_zero() {
    let mut s = Shard::new();
    assert_eq!(s.call(expire, &["expire", "nope", "10"]), int(0));
    s.set_in(0, "old", "v", START + 5);
    s.advance(5);
    assert_eq!(s.call(expire, &["expire", "old", "10"]), int(0));
}

#[test]
fn expire_options_follow_the_nx_xx_gt_lt_matrix() {
    // (options, current ttl in s or None, new ttl in s, expected reply)
    let cases: &[(&[&str], Option<u64>, &str, i64)] = &[
        (&["NX"], None, "100", 1),
        (&["nx"], Some(50), "100", 0),
        (&["XX"], None, "100", 0),
        (&["xx"], Some(50), "100", 1),
        (&["GT"], None, "100", 0),
        (&["GT"], Some(50), "100", 1),
        (&["GT"], Some(50), "50", 0),
        (&["GT"], Some(50), "10", 0),
        (&["LT"], None, "100", 1),
        (&["LT"], Some(50), "10", 1),
        (&["LT"], Some(50), "50", 0),
        (&["LT"], Some(50), "100", 0),
        (&["XX", "GT"], None, "100", 0),
        (&["XX", "GT"], Some(50), "100", 1),
        (&["XX", "LT"], Some(50), "10", 1),
        (&["gt", "GT", "Gt"], Some(50), "100", 1),
    ];
    for (opts, current, new, expected) in cases {
        let mut s = Shard::new();
        let at = current.map_or(0, |c| START + c * 1000);
        s.set_in(0, "k", "v", at);
        let mut args = vec!["expire", "k", new];
        args.extend_from_slice(opts);
        assert_eq!(
            s.call(expire, &args),
            int(*expected),
            "{args:?} on {current:?}"
        );
        let want = if *expected == 1 {
            START + new.parse::<u64>().unwrap() * 1000
        } else {
            at
        };
        assert_eq!(
            s.expire_at_in(0, "k"),
            Some(want),
            "{args:?} on {current:?}"
        );
    }
}

#[test]
fn expire_lt_with_a_past_deadline_deletes_a_persistent_key() {
    let mut s = Shard::new();
    s.set("k", "v");
    assert_eq!(s.call(expire, &["expire", "k", "-5", "LT"]), int(1));
    assert_eq!(s.call(exists, &["exists", "k"]), int(0));
}

#[test]
fn expire_rejects_incompatible_options() {
    let mut s = Shard::new();
    s.set("k", "v");
    let nx = other("ERR NX and XX, GT or LT options at the same time are not compatible");
    for opts in [["NX", "XX"], ["nx", "gt"], ["LT", "NX"]] {
        let args = ["expire", "k", "10", opts[0], opts[1]];
        assert_eq!(s.call(expire, &args), nx, "{args:?}");
    }
    let gtlt = other("ERR GT and LT options at the same time are not compatible");
    assert_eq!(s.call(pexpire, &["pexpire", "k", "10", "GT", "lt"]), gtlt);
    assert_eq!(s.expire_at_in(0, "k"), Some(0));
}

#[test]
fn expire_rejects_an_unknown_option_as_given() {
    let mut s = Shard::new();
    s.set("k", "v");
    let reply = s.call(expire, &["expire", "k", "10", "nx", "Whatever"]);
    assert_eq!(reply, other("ERR Unsupported option Whatever"));
    let reply = s.call(expire, &["expire", "k", "10", "a\r\nb \r\n"]);
    assert_eq!(reply, other("ERR Unsupported option a  b "));
    let reply = s.call(expire, &["expire", "k", "10", "cut\0here"]);
    assert_eq!(reply, other("ERR Unsupported option cut"));
}

#[test]
fn expire_reports_option_errors_before_a_bad_time() {
    let mut s = Shard::new();
    let reply = s.call(expire, &["expire", "k", "soon", "maybe"]);
    assert_eq!(reply, other("ERR Unsupported option maybe"));
}

#[test]
fn expire_rejects_a_non_integer_time() {
    let mut s = Shard::new();
    s.set("k", "v");
    for t in ["1.5", "", " 1", "10s", "9223372036854775808"] {
        let reply = s.call(expire, &["expire", "k", t]);
        assert_eq!(reply, err(CmdError::NotInteger), "{t:?}");
    }
}

#[test]
fn expire_overflow_is_an_invalid_expire_time_naming_the_command() {
    let mut s = Shard::new();
    s.set("k", "v");
    let cases: [(Handler, &str, &str); 5] = [
        (expire, "EXPIRE", "9223372036854775807"),
        (expire, "expire", "-9223372036854776"),
        (expireat, "expireat", "9223372036854776"),
        (pexpire, "PEXPIRE", "9223372036854775807"),
        (expireat, "expireat", "-9223372036854775808"),
    ];
    for (h, name, t) in cases {
        let reply = s.call(h, &[name, "k", t]);
        let lower = name.to_ascii_lowercase();
        assert_eq!(reply, err(CmdError::InvalidExpire(lower)), "{name} {t}");
    }
    // The largest absolute deadline fits and is kept.
    assert_eq!(
        s.call(pexpireat, &["pexpireat", "k", "9223372036854775807"]),
        int(1)
    );
    assert_eq!(s.expire_at_in(0, "k"), Some(i64::MAX as u64));
}

#[test]
fn expire_refreshes_access_time_unless_no_touch() {
    let mut s = Shard::new();
    s.set("k", "v");
    s.advance(7_000);
    s.touch = false;
    s.call(expire, &["expire", "k", "100"]);
    assert_eq!(s.call(object, &["object", "idletime", "k"]), int(7));
    s.touch = true;
    s.call(expire, &["expire", "k", "100"]);
    assert_eq!(s.call(object, &["object", "idletime", "k"]), int(0));
}

#[test]
fn ttl_and_pttl_report_missing_persistent_and_remaining_time() {
    let mut s = Shard::new();
    s.set("p", "v");
    s.set_in(0, "t", "v", START + 10_499);
    assert_eq!(s.call(ttl, &["ttl", "nope"]), int(-2));
    assert_eq!(s.call(pttl, &["pttl", "nope"]), int(-2));
    assert_eq!(s.call(ttl, &["ttl", "p"]), int(-1));
    assert_eq!(s.call(pttl, &["pttl", "p"]), int(-1));
    assert_eq!(s.call(pttl, &["pttl", "t"]), int(10_499));
    assert_eq!(s.call(ttl, &["ttl", "t"]), int(10));
    s.advance(9_999);
    // 500 ms left rounds up to one second.
    assert_eq!(s.call(ttl, &["ttl", "t"]), int(1));
    s.advance(1);
    assert_eq!(s.call(ttl, &["ttl", "t"]), int(0));
    s.advance(499);
    assert_eq!(s.call(ttl, &["ttl", "t"]), int(-2));
}

#[test]
fn expiretime_reports_the_absolute_deadline() {
    let mut s = Shard::new();
    s.set("p", "v");
    s.set_in(0, "t", "v", START + 60_600);
    assert_eq!(s.call(expiretime, &["expiretime", "nope"]), int(-2));
    assert_eq!(s.call(pexpiretime, &["pexpiretime", "p"]), int(-1));
    assert_eq!(
        s.call(pexpiretime, &["pexpiretime", "t"]),
        int((START + 60_600) as i64)
    );
    // Seconds round to nearest, as Redis does.
    let secs = ((START + 61_000) / 1000) as i64;
    assert_eq!(s.call(expiretime, &["expiretime", "t"]), int(secs));
}

#[test]
fn persist_removes_a_ttl_only_when_there_is_one() {
    let mut s = Shard::new();
    s.set("p", "v");
    s.set_in(0, "t", "v", START + 1_000);
    assert_eq!(s.call(persist, &["persist", "t"]), int(1));
    assert_eq!(s.call(ttl, &["ttl", "t"]), int(-1));
    assert_eq!(s.call(persist, &["persist", "t"]), int(0));
    assert_eq!(s.call(persist, &["persist", "p"]), int(0));
    assert_eq!(s.call(persist, &["persist", "nope"]), int(0));
}

// RENAME / COPY / MOVE ---------------------------------------------------------------

#[test]
fn rename_moves_the_value_and_keeps_the_ttl() {
    let mut s = Shard::new();
    s.set_in(0, "a", "v", START + 30_000);
    assert_eq!(s.call(rename, &["rename", "a", "b"]), Reply::Ok);
    assert_eq!(s.value(0, "a"), None);
    assert_eq!(s.value(0, "b"), Some(b"v".to_vec()));
    assert_eq!(s.call(pttl, &["pttl", "b"]), int(30_000));
    assert_eq!(s.ks.db(0).expires_len(), 1);
}

#[test]
fn rename_overwrites_the_destination_and_its_ttl() {
    let mut s = Shard::new();
    s.set("a", "new");
    s.set_in(0, "b", "old", START + 30_000);
    assert_eq!(s.call(rename, &["rename", "a", "b"]), Reply::Ok);
    assert_eq!(s.value(0, "b"), Some(b"new".to_vec()));
    assert_eq!(s.call(ttl, &["ttl", "b"]), int(-1));
    assert_eq!(s.ks.db(0).expires_len(), 0);
}

#[test]
fn rename_of_a_missing_source_is_no_such_key() {
    let mut s = Shard::new();
    s.set("b", "v");
    assert_eq!(
        s.call(rename, &["rename", "a", "b"]),
        err(CmdError::NoSuchKey)
    );
    assert_eq!(
        s.call(renamenx, &["renamenx", "a", "b"]),
        err(CmdError::NoSuchKey)
    );
    assert_eq!(
        s.call(rename, &["rename", "a", "a"]),
        err(CmdError::NoSuchKey)
    );
}

#[test]
fn rename_to_itself_is_ok_and_renamenx_to_itself_is_zero() {
    let mut s = Shard::new();
    s.set_in(0, "a", "v", START + 5_000);
    assert_eq!(s.call(rename, &["rename", "a", "a"]), Reply::Ok);
    assert_eq!(s.call(renamenx, &["renamenx", "a", "a"]), int(0));
    assert_eq!(s.call(pttl, &["pttl", "a"]), int(5_000));
}

#[test]
fn renamenx_renames_only_onto_a_missing_key() {
    let mut s = Shard::new();
    s.set("a", "1");
    s.set("b", "2");
    assert_eq!(s.call(renamenx, &["renamenx", "a", "b"]), int(0));
    assert_eq!(s.value(0, "a"), Some(b"1".to_vec()));
    // An expired destination counts as missing.
    s.set_in(0, "c", "3", START + 1);
    s.advance(1);
    assert_eq!(s.call(renamenx, &["renamenx", "a", "c"]), int(1));
    assert_eq!(s.value(0, "c"), Some(b"1".to_vec()));
    assert_eq!(s.value(0, "a"), None);
}

#[test]
fn copy_duplicates_value_and_ttl_in_the_same_db() {
    let mut s = Shard::new();
    s.set_in(0, "a", "hello", START + 9_000);
    assert_eq!(s.call(copy, &["copy", "a", "b"]), int(1));
    assert_eq!(s.value(0, "a"), Some(b"hello".to_vec()));
    assert_eq!(s.value(0, "b"), Some(b"hello".to_vec()));
    assert_eq!(s.call(pttl, &["pttl", "b"]), int(9_000));
    assert_eq!(s.ks.db(0).expires_len(), 2);
}

#[test]
fn copy_refuses_an_existing_destination_without_replace() {
    let mut s = Shard::new();
    s.set("a", "1");
    s.set_in(0, "b", "2", START + 9_000);
    assert_eq!(s.call(copy, &["copy", "a", "b"]), int(0));
    assert_eq!(s.value(0, "b"), Some(b"2".to_vec()));
    assert_eq!(s.call(copy, &["copy", "a", "b", "REPLACE"]), int(1));
    assert_eq!(s.value(0, "b"), Some(b"1".to_vec()));
    assert_eq!(s.call(ttl, &["ttl", "b"]), int(-1));
    assert_eq!(s.call(copy, &["copy", "nope", "b", "replace"]), int(0));
}

#[test]
fn copy_to_another_db_keeps_the_ttl() {
    let mut s = Shard::new();
    s.set_in(0, "a", "v", START + 4_000);
    s.set_in(3, "a", "old", 0);
    assert_eq!(s.call(copy, &["copy", "a", "a", "db", "3"]), int(0));
    assert_eq!(
        s.call(copy, &["copy", "a", "a", "replace", "DB", "3"]),
        int(1)
    );
    assert_eq!(s.value(3, "a"), Some(b"v".to_vec()));
    assert_eq!(s.expire_at_in(3, "a"), Some(START + 4_000));
    assert_eq!(s.value(0, "a"), Some(b"v".to_vec()));
}

#[test]
fn copy_rejects_bad_targets_and_options() {
    let mut s = Shard::new();
    s.set("a", "v");
    let cases: [(&[&str], CmdError); 8] = [
        (&["copy", "a", "a"], CmdError::SameObject),
        (&["copy", "nope", "nope"], CmdError::SameObject),
        (&["copy", "a", "a", "db", "0"], CmdError::SameObject),
        (&["copy", "a", "b", "db", "16"], CmdError::DbIndexOutOfRange),
        (&["copy", "a", "b", "db", "-1"], CmdError::DbIndexOutOfRange),
        (&["copy", "a", "b", "db", "x"], CmdError::NotInteger),
        (
            &["copy", "a", "b", "db", "2147483648"],
            CmdError::NotInteger,
        ),
        (&["copy", "a", "b", "db"], CmdError::Syntax),
    ];
    for (args, e) in cases {
        assert_eq!(s.call(copy, args), err(e), "{args:?}");
    }
    assert_eq!(
        s.call(copy, &["copy", "a", "b", "now"]),
        err(CmdError::Syntax)
    );
    assert_eq!(s.value(0, "b"), None);
}

#[test]
fn copy_is_a_fresh_object_for_idletime() {
    let mut s = Shard::new();
    s.set("a", "v");
    s.advance(3_000);
    s.touch = false;
    s.call(copy, &["copy", "a", "b"]);
    assert_eq!(s.call(object, &["object", "idletime", "a"]), int(3));
    assert_eq!(s.call(object, &["object", "idletime", "b"]), int(0));
}

#[test]
fn move_carries_the_key_and_its_ttl_to_another_db() {
    let mut s = Shard::new();
    s.set_in(0, "k", "v", START + 8_000);
    assert_eq!(s.call(move_, &["move", "k", "5"]), int(1));
    assert_eq!(s.value(0, "k"), None);
    assert_eq!(s.value(5, "k"), Some(b"v".to_vec()));
    assert_eq!(s.expire_at_in(5, "k"), Some(START + 8_000));
    assert_eq!(s.ks.db(0).expires_len(), 0);
    assert_eq!(s.ks.db(5).expires_len(), 1);
}

#[test]
fn move_returns_zero_when_missing_or_present_in_the_target() {
    let mut s = Shard::new();
    assert_eq!(s.call(move_, &["move", "k", "1"]), int(0));
    s.set_in(0, "k", "mine", 0);
    s.set_in(1, "k", "theirs", 0);
    assert_eq!(s.call(move_, &["move", "k", "1"]), int(0));
    assert_eq!(s.value(0, "k"), Some(b"mine".to_vec()));
    assert_eq!(s.value(1, "k"), Some(b"theirs".to_vec()));
}

#[test]
fn move_rejects_bad_db_indexes() {
    let mut s = Shard::new();
    s.set("k", "v");
    assert_eq!(
        s.call(move_, &["move", "k", "0"]),
        err(CmdError::SameObject)
    );
    assert_eq!(
        s.call(move_, &["move", "k", "16"]),
        err(CmdError::DbIndexOutOfRange)
    );
    assert_eq!(
        s.call(move_, &["move", "k", "-3"]),
        err(CmdError::DbIndexOutOfRange)
    );
    assert_eq!(
        s.call(move_, &["move", "k", "one"]),
        err(CmdError::NotInteger)
    );
    // Index errors come first, even for a missing key.
    assert_eq!(
        s.call(move_, &["move", "x", "99"]),
        err(CmdError::DbIndexOutOfRange)
    );
}

// KEYS / SCAN / RANDOMKEY / DBSIZE ---------------------------------------------------

#[test]
fn keys_returns_live_keys_matching_the_glob() {
    let mut s = Shard::new();
    for k in ["user:1", "user:2", "user:10", "item:1"] {
        s.set(k, "v");
    }
    s.set_in(0, "user:3", "v", START + 1);
    s.advance(1);
    let all = s.call(keys, &["keys", "*"]);
    assert_eq!(names(&all), ["item:1", "user:1", "user:10", "user:2"]);
    let some = s.call(keys, &["keys", "user:?"]);
    assert_eq!(names(&some), ["user:1", "user:2"]);
    assert_eq!(s.call(keys, &["keys", "nothing*"]), bulks(&[]));
}

#[test]
fn keys_sees_only_the_selected_db() {
    let mut s = Shard::new();
    s.set_in(2, "elsewhere", "v", 0);
    assert_eq!(s.call(keys, &["keys", "*"]), bulks(&[]));
    s.db = 2;
    assert_eq!(s.call(keys, &["keys", "*"]), bulks(&["elsewhere"]));
}

#[test]
fn scan_full_cursor_loop_returns_every_key_exactly_once() {
    let mut s = Shard::new();
    let total = 3_000;
    for i in 0..total {
        s.set(&format!("key:{i}"), "v");
    }
    let mut seen = HashSet::new();
    let mut returned = 0;
    let mut cursor = "0".to_string();
    let mut steps = 0;
    loop {
        let (next, keys) = scan_parts(s.call(scan, &["scan", &cursor]));
        returned += keys.len();
        seen.extend(keys);
        steps += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
        assert!(steps < 10 * total, "scan does not terminate");
    }
    assert_eq!(seen.len(), total);
    assert_eq!(returned, total);
    assert!(steps > 1, "COUNT 10 must take several steps");
}

#[test]
fn scan_match_filters_keys_after_the_step() {
    let mut s = Shard::new();
    for i in 0..200 {
        s.set(&format!("a:{i}"), "v");
        s.set(&format!("b:{i}"), "v");
    }
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let reply = s.call(scan, &["scan", &cursor, "MATCH", "a:1*", "count", "50"]);
        let (next, keys) = scan_parts(reply);
        assert!(keys.iter().all(|k| k.starts_with("a:1")), "{keys:?}");
        seen.extend(keys);
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    // a:1, a:10..a:19, a:100..a:199
    assert_eq!(seen.len(), 1 + 10 + 100);
}

#[test]
fn scan_type_filters_by_type_name_case_insensitively() {
    let mut s = Shard::new();
    for i in 0..20 {
        s.set(&format!("k{i}"), "v");
    }
    let (_, strings) = scan_parts(s.call(scan, &["scan", "0", "TYPE", "String", "COUNT", "1000"]));
    assert_eq!(strings.len(), 20);
    let (cursor, lists) = scan_parts(s.call(scan, &["scan", "0", "type", "list", "count", "1000"]));
    assert_eq!((cursor.as_str(), lists.len()), ("0", 0));
}

#[test]
fn scan_count_sets_how_much_one_step_covers() {
    let mut s = Shard::new();
    for i in 0..500 {
        s.set(&format!("k{i}"), "v");
    }
    let (cursor, all) = scan_parts(s.call(scan, &["scan", "0", "COUNT", "100000"]));
    assert_eq!((cursor.as_str(), all.len()), ("0", 500));
    let (cursor, few) = scan_parts(s.call(scan, &["scan", "0", "count", "1"]));
    assert_ne!(cursor, "0");
    assert!(!few.is_empty() && few.len() < 20, "{}", few.len());
}

#[test]
fn scan_skips_expired_keys_and_handles_an_empty_db() {
    let mut s = Shard::new();
    assert_eq!(
        s.call(scan, &["scan", "0"]),
        Reply::Array(vec![Reply::bulk("0"), bulks(&[])])
    );
    s.set_in(0, "dead", "v", START + 1);
    s.set("live", "v");
    s.advance(1);
    let (_, keys) = scan_parts(s.call(scan, &["scan", "0", "count", "100"]));
    assert_eq!(keys, ["live"]);
}

#[test]
fn scan_rejects_bad_cursors_and_options() {
    let mut s = Shard::new();
    let bad_cursor = other("ERR invalid cursor");
    for c in ["x", " 1", "1 ", "18446744073709551616", "+", "-", "1.0"] {
        assert_eq!(s.call(scan, &["scan", c]), bad_cursor, "{c:?}");
    }
    // The cursor is checked before the options.
    assert_eq!(s.call(scan, &["scan", "x", "bogus"]), bad_cursor);
    let cases: [(&[&str], CmdError); 7] = [
        (&["scan", "0", "COUNT", "0"], CmdError::Syntax),
        (&["scan", "0", "count", "-5"], CmdError::Syntax),
        (&["scan", "0", "count", "ten"], CmdError::NotInteger),
        (&["scan", "0", "count"], CmdError::Syntax),
        (&["scan", "0", "match"], CmdError::Syntax),
        (&["scan", "0", "type"], CmdError::Syntax),
        (&["scan", "0", "novalues"], CmdError::Syntax),
    ];
    for (args, e) in cases {
        assert_eq!(s.call(scan, args), err(e), "{args:?}");
    }
}

#[test]
fn scan_cursor_parses_like_strtoul() {
    assert_eq!(parse_cursor(b"0"), Some(0));
    assert_eq!(parse_cursor(b""), Some(0));
    assert_eq!(parse_cursor(b"007"), Some(7));
    assert_eq!(parse_cursor(b"+7"), Some(7));
    assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
    assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
    assert_eq!(parse_cursor(b"\t1"), None);
    assert_eq!(parse_cursor(b"\x0b1"), None);
    assert_eq!(parse_cursor(b"-+1"), None);
}

#[test]
fn randomkey_returns_a_live_key_or_nil() {
    let mut s = Shard::new();
    assert_eq!(s.call(randomkey, &["randomkey"]), Reply::Nil);
    s.set("only", "v");
    assert_eq!(s.call(randomkey, &["randomkey"]), Reply::bulk("only"));
}

#[test]
fn dbsize_counts_the_selected_db() {
    let mut s = Shard::new();
    s.set("a", "1");
    s.set("b", "1");
    s.set_in(1, "c", "1", 0);
    assert_eq!(s.call(dbsize, &["dbsize"]), int(2));
    s.db = 1;
    assert_eq!(s.call(dbsize, &["dbsize"]), int(1));
}

// FLUSHDB / FLUSHALL / SWAPDB --------------------------------------------------------

#[test]
fn flushdb_empties_only_the_selected_db() {
    let mut s = Shard::new();
    s.set_in(0, "a", "v", START + 1_000);
    s.set_in(1, "b", "v", 0);
    assert_eq!(s.call(flushdb, &["flushdb"]), Reply::Ok);
    assert_eq!(s.ks.len(0), 0);
    assert_eq!(s.ks.db(0).expires_len(), 0);
    assert_eq!(s.ks.len(1), 1);
    assert_eq!(s.call(flushdb, &["flushdb", "SYNC"]), Reply::Ok);
}

#[test]
fn flushall_async_empties_every_db_at_once() {
    let mut s = Shard::new();
    for db in [0, 7, 15] {
        for i in 0..500 {
            s.set_in(db, &format!("k{i}"), "v", START + 60_000);
        }
    }
    assert_eq!(s.call(flushall, &["flushall", "ASYNC"]), Reply::Ok);
    for db in 0..16 {
        assert_eq!(s.ks.len(db), 0);
        assert_eq!(s.ks.db(db).expires_len(), 0);
    }
    s.set("fresh", "v");
    assert_eq!(s.call(dbsize, &["dbsize"]), int(1));
}

#[test]
fn flush_async_frees_large_content_on_another_thread() {
    let mut s = Shard::new();
    for i in 0..1_000 {
        s.set(&format!("k{i}"), "v");
    }
    let content = vec![s.ks.flush_db(0)];
    let worker = dispose(content, true, &Meter::default()).expect("freed in the background");
    assert_ne!(worker.thread().id(), std::thread::current().id());
    worker.join().unwrap();
}

#[test]
fn flush_frees_sync_or_small_content_inline() {
    let mut s = Shard::new();
    for i in 0..1_000 {
        s.set(&format!("k{i}"), "v");
    }
    assert!(dispose(vec![s.ks.flush_db(0)], false, &Meter::default()).is_none());
    s.set("one", "v");
    assert!(dispose(vec![s.ks.flush_db(0)], true, &Meter::default()).is_none());
}

#[test]
fn flush_rejects_other_arguments() {
    let mut s = Shard::new();
    s.set("a", "v");
    for args in [
        &["flushdb", "now"][..],
        &["flushdb", "async", "sync"],
        &["flushdb", "ASYNC", "x"],
    ] {
        assert_eq!(s.call(flushdb, args), err(CmdError::Syntax), "{args:?}");
    }
    assert_eq!(
        s.call(flushall, &["flushall", "later"]),
        err(CmdError::Syntax)
    );
    assert_eq!(s.ks.len(0), 1);
    assert_eq!(s.call(flushall, &["flushall", "Sync"]), Reply::Ok);
    assert_eq!(s.ks.len(0), 0);
}

#[test]
fn swapdb_exchanges_two_dbs() {
    let mut s = Shard::new();
    s.set_in(0, "zero", "v", START + 5_000);
    s.set_in(3, "three", "v", 0);
    assert_eq!(s.call(swapdb, &["swapdb", "0", "3"]), Reply::Ok);
    assert_eq!(s.value(0, "three"), Some(b"v".to_vec()));
    assert_eq!(s.expire_at_in(3, "zero"), Some(START + 5_000));
    assert_eq!(s.value(0, "zero"), None);
    assert_eq!(s.call(swapdb, &["swapdb", "2", "2"]), Reply::Ok);
}

#[test]
fn swapdb_validates_both_indexes() {
    let mut s = Shard::new();
    let first = other("ERR invalid first DB index");
    let second = other("ERR invalid second DB index");
    assert_eq!(s.call(swapdb, &["swapdb", "a", "b"]), first);
    assert_eq!(s.call(swapdb, &["swapdb", "2147483648", "0"]), first);
    assert_eq!(s.call(swapdb, &["swapdb", "0", "1.0"]), second);
    assert_eq!(s.call(swapdb, &["swapdb", "99", "x"]), second);
    assert_eq!(
        s.call(swapdb, &["swapdb", "0", "16"]),
        err(CmdError::DbIndexOutOfRange)
    );
    assert_eq!(
        s.call(swapdb, &["swapdb", "-1", "0"]),
        err(CmdError::DbIndexOutOfRange)
    );
}

// OBJECT -----------------------------------------------------------------------------

#[test]
fn object_encoding_names_the_string_encoding() {
    let mut s = Shard::new();
    s.set("i", "12345");
    s.set("e", "hello");
    s.set("r", &"x".repeat(45));
    assert_eq!(
        s.call(object, &["object", "encoding", "i"]),
        Reply::bulk("int")
    );
    assert_eq!(
        s.call(object, &["OBJECT", "ENCODING", "e"]),
        Reply::bulk("embstr")
    );
    assert_eq!(
        s.call(object, &["object", "Encoding", "r"]),
        Reply::bulk("raw")
    );
    assert_eq!(s.call(object, &["object", "encoding", "nope"]), Reply::Nil);
}

#[test]
fn object_refcount_reports_shared_small_integers() {
    let mut s = Shard::new();
    s.set("small", "9999");
    s.set("zero", "0");
    s.set("big", "10000");
    s.set("neg", "-1");
    s.set("str", "abc");
    assert_eq!(
        s.call(object, &["object", "refcount", "small"]),
        int(2147483647)
    );
    assert_eq!(
        s.call(object, &["object", "refcount", "zero"]),
        int(2147483647)
    );
    for k in ["big", "neg", "str"] {
        assert_eq!(s.call(object, &["object", "refcount", k]), int(1), "{k}");
    }
    assert_eq!(s.call(object, &["object", "refcount", "nope"]), Reply::Nil);
}

#[test]
fn object_idletime_counts_seconds_since_access_without_touching() {
    let mut s = Shard::new();
    s.set("k", "v");
    s.advance(12_345);
    assert_eq!(s.call(object, &["object", "idletime", "k"]), int(12));
    assert_eq!(s.call(object, &["object", "idletime", "k"]), int(12));
    s.call(touch, &["touch", "k"]);
    assert_eq!(s.call(object, &["object", "idletime", "k"]), int(0));
    assert_eq!(s.call(object, &["object", "idletime", "nope"]), Reply::Nil);
}

#[test]
fn object_freq_needs_an_lfu_policy() {
    let mut s = Shard::new();
    s.set("k", "v");
    let reply = s.call(object, &["object", "freq", "k"]);
    assert_eq!(reply, other(LFU_NOT_SELECTED));
    assert!(LFU_NOT_SELECTED.starts_with("ERR An LFU maxmemory policy is not selected, "));
    assert!(LFU_NOT_SELECTED.ends_with("LRU and LFU data will take some time to adjust."));
    assert!(!LFU_NOT_SELECTED.contains("  "));
    // A missing key answers nil before the policy is checked.
    assert_eq!(s.call(object, &["object", "freq", "nope"]), Reply::Nil);
}

#[test]
fn object_help_lists_every_subcommand_as_status_lines() {
    let mut s = Shard::new();
    let Reply::Array(lines) = s.call(object, &["object", "help"]) else {
        panic!("help is an array");
    };
    assert!(lines.iter().all(|l| matches!(l, Reply::Status(_))));
    let text: Vec<String> = lines
        .iter()
        .map(|l| match l {
            Reply::Status(t) => t.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert!(text[0].starts_with("OBJECT <subcommand>"));
    for sub in [
        "ENCODING <key>",
        "FREQ <key>",
        "IDLETIME <key>",
        "REFCOUNT <key>",
        "HELP",
    ] {
        assert!(text.iter().any(|l| l == sub), "missing {sub}");
    }
}

#[test]
fn object_rejects_unknown_subcommands_and_wrong_arity() {
    let mut s = Shard::new();
    s.set("k", "v");
    let unknown = |sub: &str| {
        err(CmdError::UnknownSubcommand {
            sub: sub.into(),
            cmd: "object".into(),
        })
    };
    assert_eq!(s.call(object, &["object", "size", "k"]), unknown("size"));
    assert_eq!(s.call(object, &["object", "nope"]), unknown("nope"));
    let long = "z".repeat(300);
    assert_eq!(s.call(object, &["object", &long]), unknown(&long[..128]));
    let arity = |name: &str| err(CmdError::WrongArity(name.into()));
    assert_eq!(
        s.call(object, &["object", "ENCODING"]),
        arity("object|encoding")
    );
    assert_eq!(
        s.call(object, &["object", "refcount", "k", "x"]),
        arity("object|refcount")
    );
    assert_eq!(
        s.call(object, &["object", "help", "k"]),
        arity("object|help")
    );
    assert_eq!(s.call(object, &["OBJECT"]), arity("object"));
}

#[test]
fn unknown_subcommand_text_matches_redis() {
    let e = unknown_object_sub(b"bad\r\nname");
    assert_eq!(
        e.message(),
        "ERR unknown subcommand 'bad  name'. Try OBJECT HELP."
    );
}

// Robustness -------------------------------------------------------------------------

#[test]
fn handlers_never_panic_on_missing_arguments() {
    let handlers: [(Handler, &str); 27] = [
        (del, "del"),
        (exists, "exists"),
        (touch, "touch"),
        (type_, "type"),
        (expire, "expire"),
        (pexpire, "pexpire"),
        (expireat, "expireat"),
        (pexpireat, "pexpireat"),
        (ttl, "ttl"),
        (pttl, "pttl"),
        (expiretime, "expiretime"),
        (pexpiretime, "pexpiretime"),
        (persist, "persist"),
        (rename, "rename"),
        (renamenx, "renamenx"),
        (copy, "copy"),
        (move_, "move"),
        (keys, "keys"),
        (scan, "scan"),
        (randomkey, "randomkey"),
        (dbsize, "dbsize"),
        (flushdb, "flushdb"),
        (flushall, "flushall"),
        (swapdb, "swapdb"),
        (object, "object"),
        (del, "unlink"),
        (expire, "EXPIRE"),
    ];
    let mut s = Shard::new();
    for (h, name) in handlers {
        s.set("k", "v");
        s.call(h, &[]);
        s.call(h, &[name]);
        s.call(h, &[name, "k"]);
    }
    assert_eq!(
        s.call(rename, &["rename", "k"]),
        err(CmdError::WrongArity("rename".into()))
    );
    assert_eq!(
        s.call(expire, &["EXPIRE", "k"]),
        err(CmdError::WrongArity("expire".into()))
    );
}
