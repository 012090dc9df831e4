use bytes::Bytes;

use super::*;
use crate::cmd::lookup;

fn run(cmd: &[&str], reply: Reply, now: Millis) -> Vec<Vec<String>> {
    let args: Vec<Bytes> = cmd
        .iter()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect();
    let spec = lookup(&args[0]).expect("a command");
    effects(spec, &args, &reply, now)
        .into_iter()
        .map(|c| {
            c.iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .collect()
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn relative_ttls_become_absolute() {
    let now = 1_000_000;
    assert_eq!(
        run(&["set", "k", "v", "EX", "10", "NX"], Reply::Ok, now),
        vec![strs(&["set", "k", "v", "PXAT", "1010000", "NX"])]
    );
    assert_eq!(
        run(&["set", "k", "v", "px", "5"], Reply::Ok, now),
        vec![strs(&["set", "k", "v", "PXAT", "1000005"])]
    );
    assert_eq!(
        run(&["setex", "k", "2", "v"], Reply::Ok, now),
        vec![strs(&["SET", "k", "v", "PXAT", "1002000"])]
    );
    assert_eq!(
        run(&["expire", "k", "3"], Reply::Int(1), now),
        vec![strs(&["PEXPIREAT", "k", "1003000"])]
    );
    assert_eq!(
        run(&["expire", "k", "3"], Reply::Int(0), now),
        Vec::<Vec<String>>::new()
    );
    assert_eq!(
        run(&["pexpire", "k", "-1"], Reply::Int(1), now),
        vec![strs(&["DEL", "k"])]
    );
    assert_eq!(
        run(&["getex", "k", "PERSIST"], Reply::Bulk(b"v".to_vec()), now),
        vec![strs(&["PERSIST", "k"])]
    );
    assert_eq!(
        run(&["getex", "k"], Reply::Bulk(b"v".to_vec()), now),
        Vec::<Vec<String>>::new()
    );
    assert_eq!(
        run(&["restore", "k", "100", "payload"], Reply::Ok, now),
        vec![strs(&["restore", "k", "1000100", "payload", "ABSTTL"])]
    );
}

#[test]
fn random_and_float_results_are_logged_as_what_they_did() {
    assert_eq!(
        run(
            &["spop", "s", "2"],
            Reply::Array(vec![Reply::Bulk(b"a".to_vec()), Reply::Bulk(b"b".to_vec())]),
            0
        ),
        vec![strs(&["SREM", "s", "a", "b"])]
    );
    assert_eq!(
        run(&["spop", "s"], Reply::Nil, 0),
        Vec::<Vec<String>>::new()
    );
    assert_eq!(
        run(
            &["incrbyfloat", "f", "0.1"],
            Reply::Bulk(b"1.1".to_vec()),
            0
        ),
        vec![strs(&["SET", "f", "1.1", "KEEPTTL"])]
    );
    assert_eq!(
        run(
            &["blpop", "a", "b", "0"],
            Reply::Array(vec![Reply::Bulk(b"b".to_vec()), Reply::Bulk(b"x".to_vec())]),
            0
        ),
        vec![strs(&["LPOP", "b"])]
    );
    assert_eq!(
        run(
            &["blmove", "a", "b", "LEFT", "RIGHT", "0"],
            Reply::Bulk(b"x".to_vec()),
            0
        ),
        vec![strs(&["LMOVE", "a", "b", "LEFT", "RIGHT"])]
    );
}

#[test]
fn writes_that_changed_nothing_leave_nothing() {
    assert!(run(&["del", "a"], Reply::Int(0), 0).is_empty());
    assert!(run(&["set", "a", "b", "NX"], Reply::Nil, 0).is_empty());
    assert!(run(&["lpop", "a"], Reply::Nil, 0).is_empty());
    assert!(run(
        &["set", "a", "b"],
        Reply::Error(crate::CmdError::other("ERR x")),
        0
    )
    .is_empty());
    assert_eq!(
        run(&["del", "a"], Reply::Int(1), 0),
        vec![strs(&["del", "a"])]
    );
}
