use super::common::*;
use crate::{Outcome, RunOpts, ScriptRef};
use shards::Reply;

#[test]
fn eval_runs_commands_on_the_host() {
    let mut b = Bench::new();
    let r = b.eval_with(
        "redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])",
        &["k"],
        &["v"],
    );
    assert_eq!(r, bulk("v"));
    assert_eq!(b.h.cmd(&["get", "k"]), bulk("v"));
}

#[test]
fn eval_caches_its_body_for_evalsha() {
    let mut b = Bench::new();
    let body = "return 42";
    assert_eq!(b.eval(body), Reply::Int(42));
    let sha = crate::sha1_hex(body.as_bytes());
    assert!(b.e.script_exists(sha.as_bytes()));
    assert!(b.e.script_exists(sha.to_uppercase().as_bytes()));
    let r = b.e.eval(
        ScriptRef::Sha(sha.as_bytes()),
        &[],
        &[],
        RunOpts::default(),
        &mut b.h,
    );
    assert_eq!(r, Outcome::Reply(Reply::Int(42)));
    assert_eq!(b.e.script_body(sha.as_bytes()).unwrap(), body.as_bytes());
}

#[test]
fn evalsha_of_unknown_script_is_noscript() {
    let mut b = Bench::new();
    let r = b.e.eval(
        ScriptRef::Sha(b"ffffffffffffffffffffffffffffffffffffffff"),
        &[],
        &[],
        RunOpts::default(),
        &mut b.h,
    );
    let Outcome::Reply(r) = r else { panic!() };
    assert_eq!(
        err_text(&r),
        "NOSCRIPT No matching script. Please use EVAL."
    );
}

#[test]
fn script_load_flush_and_flags() {
    let mut b = Bench::new();
    let sha = b.e.script_load(b"return 1").unwrap();
    assert_eq!(sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
    assert!(b.e.script_flags(sha.as_bytes()).unwrap().legacy);
    let sha2 =
        b.e.script_load(b"#!lua flags=no-writes,allow-stale\nreturn 1")
            .unwrap();
    let f = b.e.script_flags(sha2.as_bytes()).unwrap();
    assert!(f.no_writes && f.allow_stale && !f.legacy);
    b.e.script_flush();
    assert!(!b.e.script_exists(sha.as_bytes()));
    assert_eq!(b.e.script_count(), 0);
}

#[test]
fn compile_errors_are_reported_as_redis_does() {
    let mut b = Bench::new();
    let r = b.e.script_load(b"return 1 +").unwrap_err();
    assert_eq!(
        err_text(&r),
        "ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'"
    );
}

#[test]
fn shebang_lines_keep_line_numbers() {
    let mut b = Bench::new();
    let body = "#!lua\nerror('x')";
    assert_eq!(
        err_text(&b.eval(body)),
        format!("ERR user_script:2: x{}", at(body, 2))
    );
}

#[test]
fn numkeys_are_split_with_redis_errors() {
    let args = bytes(&["2", "a", "b", "c"]);
    let (k, a) = crate::split_numkeys(&args).unwrap();
    assert_eq!(k, bytes(&["a", "b"]));
    assert_eq!(a, bytes(&["c"]));
    assert_eq!(
        err_text(&crate::split_numkeys(&bytes(&["-1"])).unwrap_err()),
        "ERR Number of keys can't be negative"
    );
    assert_eq!(
        err_text(&crate::split_numkeys(&bytes(&["3", "a"])).unwrap_err()),
        "ERR Number of keys can't be greater than number of args"
    );
    assert_eq!(
        err_text(&crate::split_numkeys(&bytes(&["x"])).unwrap_err()),
        "ERR value is not an integer or out of range"
    );
}
