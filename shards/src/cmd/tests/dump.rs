//! Unit tests of DUMP and RESTORE (`cmd::dump`).

use super::*;
use crate::cmd::{call_for_test, lists, strings};
use crate::{Clock, Keyspace};

fn ks() -> (Keyspace, std::rc::Rc<std::cell::Cell<u64>>) {
    let (clock, now) = Clock::manual(1_000_000);
    (Keyspace::new(16, clock), now)
}

fn payload_of(ks: &mut Keyspace, key: &str) -> String {
    match call_for_test(ks, dump, &["dump", key]) {
        Reply::Bulk(b) => b.iter().map(|&c| c as char).collect(),
        other => panic!("DUMP gave {other:?}"),
    }
}

/// RESTORE with a binary payload (the test helper takes `&str` arguments, so the
/// payload bytes go through a Latin-1 string and back).
fn restore_with(ks: &mut Keyspace, args: &[&str], payload: &str) -> Reply {
    let mut all: Vec<Bytes> = args
        .iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect();
    all.insert(
        3,
        Bytes::from(payload.chars().map(|c| c as u8).collect::<Vec<u8>>()),
    );
    let mut ctx = Ctx {
        ks,
        db: 0,
        touch: true,
    };
    restore(&mut ctx, &all).into()
}

fn err(r: Reply) -> String {
    match r {
        Reply::Error(e) => e.message(),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn dump_of_a_missing_key_is_nil() {
    let (mut ks, _) = ks();
    assert_eq!(call_for_test(&mut ks, dump, &["dump", "nope"]), Reply::Nil);
}

#[test]
fn restore_recreates_value_and_ttl() {
    let (mut ks, now) = ks();
    call_for_test(&mut ks, lists::rpush, &["rpush", "l", "a", "b", "c"]);
    let p = payload_of(&mut ks, "l");
    assert_eq!(
        restore_with(&mut ks, &["restore", "m", "5000"], &p),
        Reply::Ok
    );
    assert_eq!(ks.lookup(0, b"m").unwrap().expire_at, 1_005_000);
    let original = ks.lookup(0, b"l").unwrap().value.clone();
    assert_eq!(ks.lookup(0, b"m").unwrap().value, original);
    now.set(1_005_000);
    assert!(ks.lookup(0, b"m").is_none());
}

#[test]
fn restore_checks_in_redis_order() {
    let (mut ks, _) = ks();
    call_for_test(&mut ks, strings::set, &["set", "k", "v"]);
    let p = payload_of(&mut ks, "k");
    let busy = "BUSYKEY Target key name already exists.";
    assert_eq!(err(restore_with(&mut ks, &["restore", "k", "0"], &p)), busy);
    assert_eq!(
        err(restore_with(&mut ks, &["restore", "k", "0", "bogus"], &p)),
        "ERR syntax error"
    );
    assert_eq!(
        err(restore_with(&mut ks, &["restore", "n", "-1"], &p)),
        "ERR Invalid TTL value, must be >= 0"
    );
    assert_eq!(
        err(restore_with(&mut ks, &["restore", "n", "x"], &p)),
        "ERR value is not an integer or out of range"
    );
    let mut bad = p.clone();
    bad.insert(1, 'z');
    assert_eq!(
        err(restore_with(&mut ks, &["restore", "n", "0"], &bad)),
        "ERR DUMP payload version or checksum are wrong"
    );
    // A correct footer around a value of an unknown type.
    let body = [0x0fu8, 0x0a, 0x00];
    let crc = rdb::crc64::crc64(0, &body);
    let mut odd: Vec<u8> = body.to_vec();
    odd.extend_from_slice(&crc.to_le_bytes());
    let odd: String = odd.iter().map(|&c| c as char).collect();
    assert_eq!(
        err(restore_with(&mut ks, &["restore", "n", "0"], &odd)),
        "ERR Bad data format"
    );
    assert_eq!(
        err(restore_with(
            &mut ks,
            &["restore", "n", "0", "idletime", "-1"],
            &p
        )),
        "ERR Invalid IDLETIME value, must be >= 0"
    );
    assert_eq!(
        err(restore_with(
            &mut ks,
            &["restore", "n", "0", "freq", "256"],
            &p
        )),
        "ERR Invalid FREQ value, must be >= 0 and <= 255"
    );
    assert_eq!(
        err(restore_with(
            &mut ks,
            &["restore", "n", "0", "idletime", "1", "freq", "1"],
            &p
        )),
        "ERR syntax error"
    );
    assert_eq!(
        restore_with(&mut ks, &["restore", "k", "0", "REPLACE", "FREQ", "5"], &p),
        Reply::Ok
    );
}

#[test]
fn absttl_in_the_past_deletes_with_replace() {
    let (mut ks, _) = ks();
    call_for_test(&mut ks, strings::set, &["set", "k", "v"]);
    let p = payload_of(&mut ks, "k");
    let args = ["restore", "k", "999999", "replace", "absttl"];
    assert_eq!(restore_with(&mut ks, &args, &p), Reply::Ok);
    assert!(ks.lookup(0, b"k").is_none());
    let args = ["restore", "k", "2000000", "absttl", "idletime", "100"];
    assert_eq!(restore_with(&mut ks, &args, &p), Reply::Ok);
    let e = ks.lookup(0, b"k").unwrap();
    assert_eq!((e.expire_at, e.access), (2_000_000, 900));
}
