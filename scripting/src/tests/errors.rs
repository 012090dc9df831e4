use super::common::*;
use shards::Reply;

#[test]
fn call_raises_command_errors_with_the_script_position() {
    let mut b = Bench::new();
    b.h.cmd(&["set", "s", "foo"]);
    let body = "return redis.call('incr', KEYS[1])";
    assert_eq!(
        err_text(&b.eval_with(body, &["s"], &[])),
        format!("ERR value is not an integer or out of range{}", at(body, 1))
    );
}

#[test]
fn pcall_returns_errors_as_tables() {
    let mut b = Bench::new();
    b.h.cmd(&["set", "s", "foo"]);
    assert_eq!(
        err_text(&b.eval_with("return redis.pcall('incr', KEYS[1])", &["s"], &[])),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        b.eval_with(
            "local r = redis.pcall('incr', KEYS[1]) return type(r.err) .. ':' .. r.err",
            &["s"],
            &[]
        ),
        bulk("string:ERR value is not an integer or out of range")
    );
    assert_eq!(
        err_text(&b.eval("return redis.pcall('nosuch')")),
        "ERR Unknown Redis command called from script"
    );
    assert_eq!(
        err_text(&b.eval("return redis.pcall('multi')")),
        "ERR This Redis command is not allowed from script"
    );
}

#[test]
fn lua_pcall_turns_error_tables_into_their_text() {
    let mut b = Bench::new();
    assert_eq!(
        b.eval("local ok, e = pcall(redis.call, 'nosuch') return {tostring(ok), e}"),
        Reply::Array(vec![
            bulk("false"),
            bulk("ERR Unknown Redis command called from script")
        ])
    );
    assert_eq!(
        b.eval("return {pcall(error, {err='y'})}"),
        Reply::Array(vec![Reply::Nil, bulk("y")])
    );
    assert_eq!(
        b.eval("return select(2, pcall(cjson.encode))"),
        bulk("bad argument #1 to '?' (expected 1 argument)")
    );
    assert_eq!(
        b.eval("return {pcall(function() return 1, 2 end)}"),
        Reply::Array(vec![Reply::Int(1), Reply::Int(1), Reply::Int(2)])
    );
}

#[test]
fn error_levels_above_the_script_carry_no_position() {
    let mut b = Bench::new();
    let body = "return error('x', 2)";
    assert_eq!(err_text(&b.eval(body)), format!("ERR x{}", at(body, 1)));
    assert_eq!(b.eval("return select('#', ...)"), Reply::Int(0));
}

#[test]
fn out_of_range_numbers_convert_as_c_does() {
    let mut b = Bench::new();
    for body in ["return math.huge", "return 0/0", "return 2^63"] {
        assert_eq!(b.eval(body), Reply::Int(i64::MIN), "{body}");
    }
}

#[test]
fn script_context_errors_match_redis() {
    let mut b = Bench::new();
    let cases = [
        (
            "return redis.call('nosuch')",
            "ERR Unknown Redis command called from script",
        ),
        (
            "return redis.call('get')",
            "ERR Wrong number of args calling Redis command from script",
        ),
        (
            "return redis.call('incr', 'a', 'b')",
            "ERR Wrong number of args calling Redis command from script",
        ),
        (
            "return redis.call('blpop', 'a', 0)",
            "ERR This Redis command is not allowed from script",
        ),
        (
            "return redis.call('multi')",
            "ERR This Redis command is not allowed from script",
        ),
        (
            "return redis.call()",
            "ERR Please specify at least one argument for this redis lib call",
        ),
        (
            "return redis.call({})",
            "ERR Lua redis lib command arguments must be strings or integers",
        ),
        (
            "return redis.call('get', {})",
            "ERR Lua redis lib command arguments must be strings or integers",
        ),
        (
            "return redis.call('ping', nil)",
            "ERR Lua redis lib command arguments must be strings or integers",
        ),
        (
            "return redis.call('ping', true)",
            "ERR Lua redis lib command arguments must be strings or integers",
        ),
    ];
    for (body, msg) in cases {
        assert_eq!(
            err_text(&b.eval(body)),
            format!("{msg}{}", at(body, 1)),
            "{body}"
        );
    }
}

#[test]
fn error_values_become_replies_as_in_redis() {
    let mut b = Bench::new();
    let body = "error('boom')";
    assert_eq!(
        err_text(&b.eval(body)),
        format!("ERR user_script:1: boom{}", at(body, 1))
    );
    let body = "error({err='MY boom'})";
    assert_eq!(err_text(&b.eval(body)), format!("MY boom{}", at(body, 1)));
    let body = "error(12)";
    assert_eq!(
        err_text(&b.eval(body)),
        format!("ERR user_script:1: 12{}", at(body, 1))
    );
    let body = "local t = nil\nreturn t.x";
    assert!(err_text(&b.eval(body))
        .starts_with("ERR user_script:2: attempt to index local 't' (a nil value)"));
}

#[test]
fn error_and_status_reply_helpers() {
    let mut b = Bench::new();
    assert_eq!(
        err_text(&b.eval("return redis.error_reply('MY e')")),
        "MY e"
    );
    assert_eq!(err_text(&b.eval("return redis.error_reply('e')")), "ERR e");
    assert_eq!(err_text(&b.eval("return redis.error_reply('-e')")), "ERR e");
    assert_eq!(
        err_text(&b.eval("return redis.error_reply(5)")),
        "ERR wrong number or type of arguments"
    );
    assert_eq!(
        b.eval("return redis.status_reply('fine')"),
        Reply::Status("fine".into())
    );
    assert_eq!(err_text(&b.eval("return {err='e'}")), "e");
    assert_eq!(err_text(&b.eval("return {err='-e x'}")), "-e x");
    assert_eq!(b.eval("return {ok='-x'}"), Reply::Status("-x".into()));
}

#[test]
fn read_only_runs_refuse_writes() {
    let mut b = Bench::new();
    let body = "return redis.call('set', 'a', 1)";
    assert_eq!(
        err_text(&b.eval_ro(body, &["a"])),
        format!(
            "ERR Write commands are not allowed from read-only scripts.{}",
            at(body, 1)
        )
    );
    let body = "#!lua flags=no-writes\nreturn redis.call('set', 'a', 1)";
    assert_eq!(
        err_text(&b.eval_with(body, &["a"], &[])),
        format!(
            "ERR Write commands are not allowed from read-only scripts.{}",
            at(body, 2)
        )
    );
    assert_eq!(
        b.eval_ro("#!lua flags=no-writes\nreturn 1", &[]),
        Reply::Int(1)
    );
    assert_eq!(
        err_text(&b.eval_ro("#!lua\nreturn 1", &[])),
        "ERR Can not execute a script with write flag using *_ro command."
    );
    assert_eq!(
        b.eval_ro("return redis.call('get', 'a')", &["a"]),
        Reply::Nil
    );
}

#[test]
fn flagged_scripts_stay_in_their_declared_slots() {
    let mut b = Bench::new();
    let body = "#!lua\nreturn redis.call('get', 'other')";
    assert_eq!(
        err_text(&b.eval_with(body, &["k"], &[])),
        format!(
            "ERR Script attempted to access keys that do not hash to the same slot{}",
            at(body, 2)
        )
    );
    // Same slot through a hash tag, or no keys declared: allowed.
    assert_eq!(
        b.eval_with("#!lua\nreturn redis.call('get', '{k}x')", &["{k}"], &[]),
        Reply::Nil
    );
    assert_eq!(
        b.eval("#!lua\nreturn redis.call('get', 'other')"),
        Reply::Nil
    );
    let body = "#!lua\nredis.call('get', 'foo') return redis.call('get', 'bar')";
    assert!(err_text(&b.eval(body)).contains("do not hash to the same slot"));
    let body = "#!lua flags=allow-cross-slot-keys\nreturn redis.call('get', 'other')";
    assert_eq!(b.eval_with(body, &["k"], &[]), Reply::Nil);
    // Legacy scripts may touch anything.
    assert_eq!(
        b.eval_with("return redis.call('get', 'other')", &["k"], &[]),
        Reply::Nil
    );
}

#[test]
fn over_maxmemory_refuses_as_redis() {
    use crate::{Outcome, RunOpts};
    let mut b = Bench::new();
    let oom = RunOpts {
        oom: true,
        ..RunOpts::default()
    };
    let reply = |o: Outcome| match o {
        Outcome::Reply(r) => r,
        other => panic!("{other:?}"),
    };
    let msg = "OOM command not allowed when used memory > 'maxmemory'.";
    assert_eq!(
        err_text(&reply(b.outcome("#!lua\nreturn 1", &[], &[], oom))),
        msg
    );
    assert_eq!(
        reply(b.outcome("#!lua flags=no-writes\nreturn 1", &[], &[], oom)),
        Reply::Int(1)
    );
    let body = "return redis.call('set', 'a', 'b')";
    assert_eq!(
        err_text(&reply(b.outcome(body, &[], &[], oom))),
        format!("{msg}{}", at(body, 1))
    );
    // Once a run has written, it may go on.
    let body = "redis.call('del', 'a') return redis.call('set', 'a', 'b')";
    assert_eq!(reply(b.outcome(body, &[], &[], oom)), Reply::Ok);
    let body = "#!lua flags=allow-oom\nreturn redis.call('set', 'a', 'b')";
    assert_eq!(reply(b.outcome(body, &[], &[], oom)), Reply::Ok);
}
