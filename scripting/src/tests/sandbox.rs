use super::common::*;
use shards::Reply;

#[test]
fn reading_an_unknown_global_fails() {
    let mut b = Bench::new();
    let body = "return x";
    assert_eq!(
        err_text(&b.eval(body)),
        format!(
            "ERR user_script:1: Script attempted to access nonexistent global variable 'x'{}",
            at(body, 1)
        )
    );
}

#[test]
fn globals_and_libraries_are_read_only() {
    let mut b = Bench::new();
    for body in [
        "x = 1",
        "string.foo = 1",
        "redis.call = nil",
        "function f() end",
    ] {
        assert_eq!(
            err_text(&b.eval(body)),
            format!(
                "ERR user_script:1: Attempt to modify a readonly table{}",
                at(body, 1)
            ),
            "{body}"
        );
    }
    for body in ["rawset(_G, 'x', 1)", "setmetatable(_G, nil)"] {
        assert_eq!(
            err_text(&b.eval(body)),
            format!("ERR Attempt to modify a readonly table{}", at(body, 1)),
            "{body}"
        );
    }
    assert_eq!(b.eval("local function f() end return 1"), Reply::Int(1));
    assert_eq!(b.eval("KEYS[1] = 'x' return KEYS[1]"), bulk("x"));
}

#[test]
fn nothing_leaks_between_runs() {
    let mut b = Bench::new();
    b.eval("table.insert(string, 'junk') pcall(rawset, math, 'x', 1)");
    assert_eq!(b.eval("return #string"), Reply::Int(0));
    assert_eq!(b.eval("return tostring(rawget(math, 'x'))"), bulk("nil"));
    assert_eq!(b.eval("return string.upper('a')"), bulk("A"));
    assert_eq!(b.eval("return ('a'):rep(3)"), bulk("aaa"));
    assert_eq!(
        b.eval("return type(getmetatable('').__index)"),
        bulk("table")
    );
    let body = "getmetatable('').__index.upper = nil";
    assert!(err_text(&b.eval(body)).contains("Attempt to modify a readonly table"));
    let body = "getmetatable('').__index = nil";
    assert!(err_text(&b.eval(body)).contains("Attempt to modify a readonly table"));
    assert_eq!(b.eval("return ('a'):upper()"), bulk("A"));
}

#[test]
fn dangerous_globals_are_absent() {
    let mut b = Bench::new();
    for name in [
        "print", "loadfile", "dofile", "io", "debug", "require", "package", "module", "getfenv",
        "setfenv", "newproxy",
    ] {
        let body = format!("return type({name})");
        let r = err_text(&b.eval(&body));
        assert!(
            r.contains(&format!("nonexistent global variable '{name}'")),
            "{name}: {r}"
        );
    }
    assert_eq!(b.eval("return type(os.clock)"), bulk("function"));
    assert_eq!(b.eval("return type(os.time)"), bulk("nil"));
}

#[test]
fn the_globals_are_redis_s_list() {
    let mut b = Bench::new();
    let r = b.eval(
        "local t={} for k,v in pairs(_G) do t[#t+1]=k end table.sort(t) return table.concat(t, ' ')",
    );
    assert_eq!(
        r,
        bulk("ARGV KEYS _G _VERSION __redis__err__handler assert bit cjson cmsgpack collectgarbage coroutine error gcinfo getmetatable ipairs load loadstring math next os pairs pcall rawequal rawget rawset redis select setmetatable string struct table tonumber tostring type unpack xpcall")
    );
    let r = b.eval(
        "local t={} for k,v in pairs(redis) do t[#t+1]=k end table.sort(t) return table.concat(t, ' ')",
    );
    assert_eq!(
        r,
        bulk("LOG_DEBUG LOG_NOTICE LOG_VERBOSE LOG_WARNING REDIS_VERSION REDIS_VERSION_NUM REPL_ALL REPL_AOF REPL_NONE REPL_REPLICA REPL_SLAVE acl_check_cmd breakpoint call debug error_reply log pcall replicate_commands set_repl setresp sha1hex status_reply")
    );
}

#[test]
fn loadstring_runs_in_the_sandbox_and_refuses_bytecode() {
    let mut b = Bench::new();
    assert_eq!(b.eval("return loadstring('return 1 + 1')()"), Reply::Int(2));
    let body = "return loadstring('x = 1')()";
    assert!(err_text(&b.eval(body)).contains("Attempt to modify a readonly table"));
    assert_eq!(
        b.eval("local f, e = loadstring(string.char(27) .. 'Lua') return e"),
        bulk("binary chunks are not allowed")
    );
}

#[test]
fn math_random_is_redis_s_lrand48() {
    let mut b = Bench::new();
    assert_eq!(
        b.eval("math.randomseed(0) return {tostring(math.random()), tostring(math.random())}"),
        Reply::Array(vec![bulk("0.17082803611217"), bulk("0.74990198051087")])
    );
    assert_eq!(
        b.eval("math.randomseed(0) return {math.random(10), math.random(5, 10)}"),
        Reply::Array(vec![Reply::Int(2), Reply::Int(9)])
    );
    let body = "return math.random(0)";
    assert_eq!(
        err_text(&b.eval(body)),
        format!(
            "ERR user_script:1: bad argument #1 to 'random' (interval is empty){}",
            at(body, 1)
        )
    );
}

#[test]
fn version_constants() {
    let mut b = Bench::new();
    assert_eq!(b.eval("return redis.REDIS_VERSION"), bulk("7.0.15"));
    assert_eq!(b.eval("return redis.REDIS_VERSION_NUM"), Reply::Int(458767));
    assert_eq!(b.eval("return _VERSION"), bulk("Lua 5.1"));
}

#[test]
fn sha1hex_matches_known_digests() {
    let mut b = Bench::new();
    assert_eq!(
        b.eval("return redis.sha1hex('')"),
        bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    );
    assert_eq!(
        b.eval("return redis.sha1hex(12)"),
        bulk("7b52009b64fd0a2a49e6d8a939753077792b0554")
    );
    let body = "return redis.sha1hex()";
    assert_eq!(
        err_text(&b.eval(body)),
        format!("ERR wrong number of arguments{}", at(body, 1))
    );
}

#[test]
fn redis_helpers_behave_as_in_redis() {
    let mut b = Bench::new();
    assert_eq!(b.eval("return redis.set_repl(redis.REPL_ALL)"), Reply::Nil);
    assert_eq!(b.eval("return redis.replicate_commands()"), Reply::Int(1));
    assert_eq!(b.eval("return redis.breakpoint()"), Reply::Nil);
    assert_eq!(b.eval("return redis.debug('x')"), Reply::Nil);
    assert_eq!(
        b.eval("return redis.acl_check_cmd('get', 'x')"),
        Reply::Int(1)
    );
    let cases = [
        (
            "return redis.setresp(4)",
            "ERR RESP version must be 2 or 3.",
        ),
        (
            "return redis.setresp()",
            "ERR redis.setresp() requires one argument.",
        ),
        ("return redis.log(99, 'hi')", "ERR Invalid debug level."),
        (
            "return redis.log(redis.LOG_WARNING)",
            "ERR redis.log() requires two arguments or more.",
        ),
        (
            "return redis.log('x', 'y')",
            "ERR First argument must be a number (log level).",
        ),
        (
            "return redis.set_repl()",
            "ERR redis.set_repl() requires two arguments.",
        ),
        (
            "return redis.set_repl(99)",
            "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
        ),
        (
            "return redis.acl_check_cmd('nosuch')",
            "ERR Invalid command passed to redis.acl_check_cmd()",
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
fn redis_log_goes_to_the_sink() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let mut b = Bench::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    b.e.set_log_sink(move |level, msg| s.borrow_mut().push((level, msg.to_string())));
    b.eval("redis.log(redis.LOG_WARNING, 'hi', 'there', 3)");
    assert_eq!(
        seen.borrow().as_slice(),
        &[(crate::LogLevel::Warning, "hi there 3".to_string())]
    );
}
