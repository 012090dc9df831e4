//! SCAN coordinated across shards: a full iteration returns every key exactly once when
//! nothing is written meanwhile, filters apply, and cursors behave as Redis's.

mod common;

use std::collections::HashMap;

use common::*;
use redis::Connection;

/// Most SCAN calls a full iteration may take before the test gives up.
const MAX_CALLS: usize = 100_000;

fn fill(c: &mut Connection, prefix: &str, count: usize) -> Vec<String> {
    let keys: Vec<String> = (0..count).map(|i| format!("{prefix}{i}")).collect();
    for chunk in keys.chunks(500) {
        let mut mset = redis::cmd("MSET");
        for k in chunk {
            mset.arg(k).arg("v");
        }
        let _: () = mset.query(c).unwrap();
    }
    keys
}

/// One SCAN call: (next cursor, keys).
fn scan_once(c: &mut Connection, cursor: &str, opts: &[&str]) -> (String, Vec<String>) {
    redis::cmd("SCAN")
        .arg(cursor)
        .arg(opts)
        .query(c)
        .unwrap_or_else(|e| panic!("SCAN {cursor} {opts:?}: {e}"))
}

/// A full iteration; `count_of(call)` gives the COUNT of each call. Returns how often
/// each key was returned and the number of calls.
fn scan_all(
    c: &mut Connection,
    opts: &[&str],
    count_of: &mut dyn FnMut(usize) -> usize,
) -> (HashMap<String, usize>, usize) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut cursor = "0".to_string();
    for call in 1..=MAX_CALLS {
        let count = count_of(call).to_string();
        let mut args: Vec<&str> = vec!["COUNT", &count];
        args.extend_from_slice(opts);
        let (next, keys) = scan_once(c, &cursor, &args);
        for k in keys {
            *seen.entry(k).or_default() += 1;
        }
        if next == "0" {
            return (seen, call);
        }
        assert_ne!(next, cursor, "SCAN cursor did not move");
        cursor = next;
    }
    panic!("SCAN did not finish within {MAX_CALLS} calls");
}

fn assert_each_once(seen: &HashMap<String, usize>, keys: &[String], what: &str) {
    let dups: Vec<(&String, &usize)> = seen.iter().filter(|(_, &n)| n != 1).collect();
    assert!(
        dups.is_empty(),
        "{what}: keys returned more than once: {dups:?}"
    );
    let missing: Vec<&String> = keys.iter().filter(|k| !seen.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "{what}: keys never returned: {:?}",
        &missing[..missing.len().min(10)]
    );
    assert_eq!(seen.len(), keys.len(), "{what}: unexpected keys returned");
}

#[test]
fn scan_returns_every_key_exactly_once() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let keys = fill(&mut c, "scan:", 5000);
        for count in [10, 37, 100] {
            let (seen, calls) = scan_all(&mut c, &[], &mut |_| count);
            assert_each_once(&seen, &keys, &format!("{n} shards, COUNT {count}"));
            // COUNT is a hint, but an iteration must not take absurdly many calls.
            assert!(calls <= 5000, "{n} shards COUNT {count}: {calls} calls");
        }
        // COUNT changing between calls, anywhere in 10..=100.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let (seen, _) = scan_all(&mut c, &[], &mut |_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            10 + (x % 91) as usize
        });
        assert_each_once(&seen, &keys, &format!("{n} shards, varying COUNT"));
    }
}

#[test]
fn scan_match_returns_only_matching_keys() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let users = fill(&mut c, "user:", 1000);
        let _ = fill(&mut c, "item:", 1000);
        let (seen, _) = scan_all(&mut c, &["MATCH", "user:*"], &mut |_| 50);
        assert_each_once(&seen, &users, &format!("{n} shards MATCH user:*"));

        let tens: Vec<String> = (10..20).map(|i| format!("item:{i}")).collect();
        let (seen, _) = scan_all(&mut c, &["MATCH", "item:1?"], &mut |_| 100);
        assert_each_once(&seen, &tens, &format!("{n} shards MATCH item:1?"));

        let (seen, _) = scan_all(&mut c, &["MATCH", "nothing*"], &mut |_| 100);
        assert!(seen.is_empty(), "{n} shards");
    }
}

#[test]
fn scan_type_filter_selects_by_value_type() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let keys = fill(&mut c, "t:", 500);
        let (seen, _) = scan_all(&mut c, &["TYPE", "string"], &mut |_| 100);
        assert_each_once(&seen, &keys, &format!("{n} shards TYPE string"));
        // Type names compare case-insensitively, as in Redis.
        let (seen, _) = scan_all(&mut c, &["TYPE", "STRING"], &mut |_| 100);
        assert_each_once(&seen, &keys, &format!("{n} shards TYPE STRING"));
        let (seen, _) = scan_all(&mut c, &["TYPE", "list"], &mut |_| 100);
        assert!(seen.is_empty(), "{n} shards TYPE list: {seen:?}");
        // MATCH and TYPE together.
        let (seen, _) = scan_all(&mut c, &["MATCH", "t:4??", "TYPE", "string"], &mut |_| 100);
        let want: Vec<String> = (400..500).map(|i| format!("t:{i}")).collect();
        assert_each_once(&seen, &want, &format!("{n} shards MATCH+TYPE"));
    }
}

#[test]
fn scan_only_sees_the_selected_db() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let _ = fill(&mut c, "db0:", 300);
        let _: () = redis::cmd("SELECT").arg(4).query(&mut c).unwrap();
        let keys = fill(&mut c, "db4:", 200);
        let (seen, _) = scan_all(&mut c, &[], &mut |_| 20);
        assert_each_once(&seen, &keys, &format!("{n} shards db 4"));
    }
}

#[test]
fn scan_on_empty_db_returns_cursor_zero() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let (next, keys) = scan_once(&mut c, "0", &[]);
        assert_eq!((next.as_str(), keys.len()), ("0", 0), "{n} shards");
    }
}

#[test]
fn scan_of_empty_db_finishes_without_keys() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let (seen, calls) = scan_all(&mut c, &[], &mut |_| 10);
        assert!(seen.is_empty(), "{n} shards");
        assert!(calls <= n, "{n} shards: {calls} calls for an empty db");
        // Keys in another db do not make db 0 non-empty.
        let _: () = redis::cmd("SELECT").arg(1).query(&mut c).unwrap();
        let _ = fill(&mut c, "x", 50);
        let _: () = redis::cmd("SELECT").arg(0).query(&mut c).unwrap();
        let (seen, _) = scan_all(&mut c, &[], &mut |_| 10);
        assert!(seen.is_empty(), "{n} shards");
    }
}

#[test]
fn scan_with_invalid_cursor_or_options_fails() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let _ = fill(&mut c, "k", 10);
        for bad in ["abc", "1x", " 0", "18446744073709551616"] {
            let e = redis::cmd("SCAN").arg(bad).query::<redis::Value>(&mut c);
            let e = e.expect_err("invalid cursor must fail");
            assert_eq!(
                (e.code(), e.detail()),
                (Some("ERR"), Some("invalid cursor")),
                "{n} shards cursor {bad:?}"
            );
        }
        for opts in [
            &["COUNT", "0"][..],
            &["COUNT"],
            &["MATCH"],
            &["FOO", "1"],
            &["TYPE"],
        ] {
            let e = redis::cmd("SCAN")
                .arg("0")
                .arg(opts)
                .query::<redis::Value>(&mut c)
                .expect_err("bad options must fail");
            assert_eq!(
                (e.code(), e.detail()),
                (Some("ERR"), Some("syntax error")),
                "{n} shards {opts:?}"
            );
        }
        // The largest cursor is valid and ends the iteration.
        let (next, _) = scan_once(&mut c, "18446744073709551615", &[]);
        assert_eq!(next, "0");
    }
}

#[test]
fn scan_with_empty_cursor_string_starts_an_iteration() {
    let s = Server::start(2);
    let mut c = s.conn();
    let keys = fill(&mut c, "k", 10);
    let mut seen = HashMap::new();
    let mut cursor = String::new();
    for _ in 0..100 {
        let (next, got) = scan_once(&mut c, &cursor, &["COUNT", "100"]);
        for k in got {
            *seen.entry(k).or_default() += 1;
        }
        if next == "0" {
            break;
        }
        cursor = next;
    }
    assert_each_once(&seen, &keys, "cursor \"\"");
}
