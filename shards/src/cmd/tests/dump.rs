//! Unit tests of DUMP and RESTORE (`cmd::dump`).

use super::*;
use crate::cmd::test_env::Env;
use crate::cmd::{lists, strings};

/// The shared fixture with its clock at 1_000_000 ms.
fn env() -> Env {
    let env = Env::new();
    env.now.set(1_000_000);
    env
}

fn payload_of(env: &mut Env, key: &str) -> String {
    match env.call(dump, &["dump", key]) {
        Reply::Bulk(b) => b.iter().map(|&c| c as char).collect(),
        other => panic!("DUMP gave {other:?}"),
    }
}

/// RESTORE with a binary payload (the test helper takes `&str` arguments, so the
/// payload bytes go through a Latin-1 string and back).
fn restore_with(env: &mut Env, args: &[&str], payload: &str) -> Reply {
    let payload: Vec<u8> = payload.chars().map(|c| c as u8).collect();
    let mut all: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    all.insert(3, &payload);
    env.call_bytes(restore, &all)
}

fn err(r: Reply) -> String {
    match r {
        Reply::Error(e) => e.message(),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn dump_of_a_missing_key_is_nil() {
    let mut env = env();
    assert_eq!(env.call(dump, &["dump", "nope"]), Reply::Nil);
}

#[test]
fn restore_recreates_value_and_ttl() {
    let mut env = env();
    env.call(lists::rpush, &["rpush", "l", "a", "b", "c"]);
    let p = payload_of(&mut env, "l");
    assert_eq!(
        restore_with(&mut env, &["restore", "m", "5000"], &p),
        Reply::Ok
    );
    assert_eq!(env.ks.lookup(0, b"m").unwrap().expire_at(), 1_005_000);
    let original = env.ks.lookup(0, b"l").unwrap().value().clone();
    assert_eq!(env.ks.lookup(0, b"m").unwrap().value(), &original);
    env.now.set(1_005_000);
    assert!(env.ks.lookup(0, b"m").is_none());
}

#[test]
fn restore_checks_in_redis_order() {
    let mut env = env();
    env.call(strings::set, &["set", "k", "v"]);
    let p = payload_of(&mut env, "k");
    let busy = "BUSYKEY Target key name already exists.";
    assert_eq!(
        err(restore_with(&mut env, &["restore", "k", "0"], &p)),
        busy
    );
    assert_eq!(
        err(restore_with(&mut env, &["restore", "k", "0", "bogus"], &p)),
        "ERR syntax error"
    );
    assert_eq!(
        err(restore_with(&mut env, &["restore", "n", "-1"], &p)),
        "ERR Invalid TTL value, must be >= 0"
    );
    assert_eq!(
        err(restore_with(&mut env, &["restore", "n", "x"], &p)),
        "ERR value is not an integer or out of range"
    );
    let mut bad = p.clone();
    bad.insert(1, 'z');
    assert_eq!(
        err(restore_with(&mut env, &["restore", "n", "0"], &bad)),
        "ERR DUMP payload version or checksum are wrong"
    );
    // A correct footer around a value of an unknown type.
    let body = [0x0fu8, 0x0a, 0x00];
    let crc = rdb::crc64::crc64(0, &body);
    let mut odd: Vec<u8> = body.to_vec();
    odd.extend_from_slice(&crc.to_le_bytes());
    let odd: String = odd.iter().map(|&c| c as char).collect();
    assert_eq!(
        err(restore_with(&mut env, &["restore", "n", "0"], &odd)),
        "ERR Bad data format"
    );
    assert_eq!(
        err(restore_with(
            &mut env,
            &["restore", "n", "0", "idletime", "-1"],
            &p
        )),
        "ERR Invalid IDLETIME value, must be >= 0"
    );
    assert_eq!(
        err(restore_with(
            &mut env,
            &["restore", "n", "0", "freq", "256"],
            &p
        )),
        "ERR Invalid FREQ value, must be >= 0 and <= 255"
    );
    assert_eq!(
        err(restore_with(
            &mut env,
            &["restore", "n", "0", "idletime", "1", "freq", "1"],
            &p
        )),
        "ERR syntax error"
    );
    assert_eq!(
        restore_with(&mut env, &["restore", "k", "0", "REPLACE", "FREQ", "5"], &p),
        Reply::Ok
    );
}

#[test]
fn absttl_in_the_past_deletes_with_replace() {
    let mut env = env();
    env.call(strings::set, &["set", "k", "v"]);
    let p = payload_of(&mut env, "k");
    let args = ["restore", "k", "999999", "replace", "absttl"];
    assert_eq!(restore_with(&mut env, &args, &p), Reply::Ok);
    assert!(env.ks.lookup(0, b"k").is_none());
    let args = ["restore", "k", "2000000", "absttl", "idletime", "100"];
    assert_eq!(restore_with(&mut env, &args, &p), Reply::Ok);
    let now = env.ks.now();
    let e = env.ks.lookup(0, b"k").unwrap();
    assert_eq!(e.expire_at(), 2_000_000);
    assert_eq!(crate::evict::access::idle_secs(e.access(), now), 100);
}
