use super::common::*;
use crate::{Outcome, RestorePolicy, RunOpts};
use shards::Reply;

const LIB: &str = "#!lua name=lib
redis.register_function('echo', function(keys, args) return {keys, args} end)
redis.register_function{function_name='ro', callback=function(keys) return redis.call('set', keys[1], 'x') end, flags={'no-writes'}, description='desc'}
redis.register_function('err', function() return redis.call('incr', 'nokey', 'x') end)
redis.register_function('err2', function() error('oops') end)
redis.register_function('set', function(keys, args) return redis.call('set', keys[1], args[1]) end)";

fn load(b: &mut Bench, code: &str) -> Result<String, String> {
    b.e.function_load(code.as_bytes(), false)
        .map_err(|e| err_text(&e))
}

#[test]
fn fcall_runs_registered_functions() {
    let mut b = Bench::new();
    assert_eq!(load(&mut b, LIB).unwrap(), "lib");
    assert_eq!(
        b.fcall("echo", &["a", "b"], &["c", "d"]),
        Reply::Array(vec![
            Reply::Array(vec![bulk("a"), bulk("b")]),
            Reply::Array(vec![bulk("c"), bulk("d")]),
        ])
    );
    assert_eq!(b.fcall("set", &["k"], &["v"]), Reply::Ok);
    assert_eq!(b.h.cmd(&["get", "k"]), bulk("v"));
}

#[test]
fn fcall_errors_name_the_function() {
    let mut b = Bench::new();
    load(&mut b, LIB).unwrap();
    assert_eq!(
        err_text(&b.fcall("ro", &["a"], &[])),
        "ERR Write commands are not allowed from read-only scripts. script: ro, on @user_function:3."
    );
    assert_eq!(
        err_text(&b.fcall("err", &[], &[])),
        "ERR Wrong number of args calling Redis command from script script: err, on @user_function:4."
    );
    assert_eq!(
        err_text(&b.fcall("err2", &[], &[])),
        "ERR user_function:5: oops script: err2, on @user_function:5."
    );
    assert_eq!(
        err_text(&b.fcall("nosuch", &[], &[])),
        "ERR Function not found"
    );
    let ro = RunOpts {
        read_only: true,
        ..RunOpts::default()
    };
    let r = b.e.fcall(b"echo", &[], &[], ro, &mut b.h);
    assert_eq!(
        r,
        Outcome::Reply(Reply::Error(shards::CmdError::other(
            "ERR Can not execute a script with write flag using *_ro command."
        )))
    );
    assert!(b.e.function_flags(b"ro").unwrap().no_writes);
}

#[test]
fn function_load_errors_match_redis() {
    let mut b = Bench::new();
    load(&mut b, LIB).unwrap();
    let cases = [
        (LIB, "ERR Library 'lib' already exists"),
        ("#!lua name=l2\nredis.register_function('echo', function() return 1 end)", "ERR Function echo already exists"),
        ("#!lua name=l2\nreturn 1 +", "ERR Error compiling function: user_function:2: unexpected symbol near '<eof>'"),
        ("#!lua name=l2\nerror('x')", "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'error'"),
        ("#!lua name=l2\nredis.call('ping')", "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'"),
        ("#!lua name=l2\nx = 1", "ERR Error registering functions: ERR user_function:2: Attempt to modify a readonly table"),
        ("#!lua name=l2", "ERR No functions registered"),
        ("#!lua name=l2\nredis.register_function('b-ad', function() return 1 end)", "ERR Error registering functions: ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"),
        ("#!lua name=l2\nredis.register_function('ok', 'notafunction')", "ERR Error registering functions: ERR second argument to redis.register_function must be a function"),
        ("#!lua name=l2\nredis.register_function('ok', function() end, 'extra')", "ERR Error registering functions: ERR wrong number of arguments to redis.register_function"),
        ("#!lua name=l2\nredis.register_function('ok')", "ERR Error registering functions: ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."),
        ("#!lua name=l2\nredis.register_function{function_name='ok', callback=function() end, flags={'bad'}}", "ERR Error registering functions: ERR unknown flag given"),
        ("#!lua name=l2\nredis.register_function{function_name='ok', callback=function() end, nope=1}", "ERR Error registering functions: ERR unknown argument given to redis.register_function"),
        ("#!lua name=l2\nredis.register_function{function_name='ok', callback=function() end, flags='no-writes'}", "ERR Error registering functions: ERR flags argument to redis.register_function must be a table representing function flags"),
        ("#!lua name=l2\nredis.register_function{callback=function() end}", "ERR Error registering functions: ERR redis.register_function must get a function name argument"),
        ("#!lua name=l2\nredis.register_function{function_name='ok'}", "ERR Error registering functions: ERR redis.register_function must get a callback argument"),
        ("#!lua name=l2\nredis.register_function('a', function() end) redis.register_function('a', function() end)", "ERR Error registering functions: ERR Function already exists in the library"),
        ("#!lua name=bad-name\nredis.register_function('f', function() return 1 end)", "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"),
        ("return 1", "ERR Missing library metadata"),
        ("#!lua name=l2 foo=bar", "ERR Invalid metadata value given: foo=bar"),
    ];
    for (code, msg) in cases {
        assert_eq!(load(&mut b, code).unwrap_err(), msg, "{code}");
    }
    // Nothing of the failed loads stayed.
    assert_eq!(b.e.function_counts(), (1, 5));
}

#[test]
fn functions_see_no_keys_global_but_see_the_libraries() {
    let mut b = Bench::new();
    load(
        &mut b,
        "#!lua name=g\nredis.register_function('g', function() return KEYS end)\nredis.register_function('v', function() return {redis.REDIS_VERSION, cjson.encode({1})} end)",
    )
    .unwrap();
    assert_eq!(
        err_text(&b.fcall("g", &[], &[])),
        "ERR user_function:2: Script attempted to access nonexistent global variable 'KEYS' script: g, on @user_function:2."
    );
    assert_eq!(
        b.fcall("v", &[], &[]),
        Reply::Array(vec![bulk("7.0.15"), bulk("[1]")])
    );
}

#[test]
fn function_load_replace_swaps_the_library() {
    let mut b = Bench::new();
    load(
        &mut b,
        "#!lua name=l\nredis.register_function('f1', function() return 1 end)",
    )
    .unwrap();
    b.e.function_load(
        b"#!lua name=l\nredis.register_function('f2', function() return 2 end)",
        true,
    )
    .unwrap();
    assert_eq!(err_text(&b.fcall("f1", &[], &[])), "ERR Function not found");
    assert_eq!(b.fcall("f2", &[], &[]), Reply::Int(2));
}

#[test]
fn function_list_delete_flush_and_stats() {
    let mut b = Bench::new();
    load(&mut b, LIB).unwrap();
    load(
        &mut b,
        "#!lua name=other\nredis.register_function('o', function() return 1 end)",
    )
    .unwrap();
    let Reply::Array(libs) = b.e.function_list(Some(b"li*"), true) else {
        panic!()
    };
    assert_eq!(libs.len(), 1);
    let Reply::Map(entry) = &libs[0] else {
        panic!()
    };
    assert_eq!(entry[0], (bulk("library_name"), bulk("lib")));
    assert_eq!(entry[1], (bulk("engine"), bulk("LUA")));
    assert_eq!(entry[3], (bulk("library_code"), bulk(LIB)));
    let Reply::Array(funcs) = &entry[2].1 else {
        panic!()
    };
    assert_eq!(funcs.len(), 5);
    assert_eq!(
        funcs[3],
        Reply::Map(vec![
            (bulk("name"), bulk("ro")),
            (bulk("description"), bulk("desc")),
            (bulk("flags"), Reply::Set(vec![Reply::status("no-writes")])),
        ])
    );
    assert_eq!(
        funcs[0],
        Reply::Map(vec![
            (bulk("name"), bulk("echo")),
            (bulk("description"), Reply::Nil),
            (bulk("flags"), Reply::Set(vec![])),
        ])
    );
    let Reply::Array(all) = b.e.function_list(None, false) else {
        panic!()
    };
    assert_eq!(all.len(), 2);
    assert_eq!(
        b.e.function_stats(),
        Reply::Map(vec![
            (bulk("running_script"), Reply::Nil),
            (
                bulk("engines"),
                Reply::Map(vec![(
                    bulk("LUA"),
                    Reply::Map(vec![
                        (bulk("libraries_count"), Reply::Int(2)),
                        (bulk("functions_count"), Reply::Int(6)),
                    ])
                )])
            ),
        ])
    );
    assert_eq!(b.e.function_delete(b"other"), Reply::Ok);
    assert_eq!(
        err_text(&b.e.function_delete(b"other")),
        "ERR Library not found"
    );
    b.e.function_flush();
    assert_eq!(b.e.function_counts(), (0, 0));
    assert_eq!(
        err_text(&b.fcall("echo", &[], &[])),
        "ERR Function not found"
    );
}

#[test]
fn function_dump_and_restore_with_policies() {
    let mut b = Bench::new();
    load(
        &mut b,
        "#!lua name=a\nredis.register_function('fa', function() return 'a' end)",
    )
    .unwrap();
    load(
        &mut b,
        "#!lua name=b\nredis.register_function('fb', function() return 'b' end)",
    )
    .unwrap();
    let dump = b.e.function_dump();

    let mut other = Bench::new();
    assert_eq!(
        other.e.function_restore(&dump, RestorePolicy::Append),
        Reply::Ok
    );
    assert_eq!(other.fcall("fa", &[], &[]), bulk("a"));
    assert_eq!(other.fcall("fb", &[], &[]), bulk("b"));
    // APPEND refuses existing names, all or nothing.
    assert_eq!(
        err_text(&other.e.function_restore(&dump, RestorePolicy::Append)),
        "ERR Library a already exists"
    );
    assert_eq!(other.e.function_counts(), (2, 2));
    // REPLACE swaps libraries of the same name; FLUSH drops the others first.
    other.e.function_flush();
    load(
        &mut other,
        "#!lua name=a\nredis.register_function('old', function() return 'old' end)",
    )
    .unwrap();
    load(
        &mut other,
        "#!lua name=c\nredis.register_function('fc', function() return 'c' end)",
    )
    .unwrap();
    assert_eq!(
        other.e.function_restore(&dump, RestorePolicy::Replace),
        Reply::Ok
    );
    assert_eq!(other.e.function_counts(), (3, 3));
    assert_eq!(
        err_text(&other.fcall("old", &[], &[])),
        "ERR Function not found"
    );
    assert_eq!(
        other.e.function_restore(&dump, RestorePolicy::Flush),
        Reply::Ok
    );
    assert_eq!(other.e.function_counts(), (2, 2));
    // The payload is Redis 7's: FUNCTION2 records, RDB version 10, CRC-64.
    assert_eq!(dump[0], 0xf5);
    assert_eq!(&dump[dump.len() - 10..dump.len() - 8], &[10, 0]);
    assert_eq!(
        err_text(&other.e.function_restore(
            b"\x00\x01v\n\x00\x91\x08\xce\xb2\x198\x8a\xce",
            RestorePolicy::Append
        )),
        "ERR given type is not a function"
    );
    // A function name taken by another library fails the restore.
    let mut third = Bench::new();
    load(
        &mut third,
        "#!lua name=z\nredis.register_function('fa', function() return 1 end)",
    )
    .unwrap();
    assert_eq!(
        err_text(&third.e.function_restore(&dump, RestorePolicy::Replace)),
        "ERR Function fa already exists"
    );
    // A damaged payload.
    let mut bad = dump.clone();
    let n = bad.len();
    bad[n - 10] ^= 1;
    assert_eq!(
        err_text(&third.e.function_restore(&bad, RestorePolicy::Append)),
        "ERR DUMP payload version or checksum are wrong"
    );
}

#[test]
fn a_library_that_never_finishes_loading_times_out() {
    let mut b = Bench::new();
    assert_eq!(
        load(
            &mut b,
            "#!lua name=inf\nlocal i = 0 while true do i = i + 1 end"
        )
        .unwrap_err(),
        "ERR Error registering functions: ERR FUNCTION LOAD timeout"
    );
    // The engine is usable afterwards.
    load(
        &mut b,
        "#!lua name=ok\nredis.register_function('f', function() return 1 end)",
    )
    .unwrap();
    assert_eq!(b.fcall("f", &[], &[]), Reply::Int(1));
}
