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
    let upper = sha.to_uppercase();
    let r = b.e.eval(
        ScriptRef::Sha(upper.as_bytes()),
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
fn a_memory_limit_fails_the_script_not_the_process() {
    let mut b = Bench::new();
    let (eval_bytes, func_bytes) = b.e.memory_usage();
    assert!(eval_bytes > 0 && func_bytes > 0);
    b.e.set_memory_limit(eval_bytes + 8 * 1024 * 1024);
    let r = b.eval("return #string.rep('x', 64 * 1024 * 1024)");
    assert!(err_text(&r).contains("not enough memory"), "{r:?}");
    assert_eq!(b.eval("return #string.rep('x', 1024)"), Reply::Int(1024));
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

mod kill {
    use super::*;
    use crate::{Engine, ScriptControl};
    use std::sync::Arc;
    use std::thread;
    use std::time::{Duration, Instant};

    fn short_engine() -> (Engine, Arc<ScriptControl>) {
        let control = Arc::new(ScriptControl::new(50));
        (Engine::new(control.clone()), control)
    }

    /// Waits until the script is busy, then runs `f` on another thread.
    fn when_busy<T: Send + 'static>(
        control: &Arc<ScriptControl>,
        f: impl FnOnce(&ScriptControl) -> T + Send + 'static,
    ) -> thread::JoinHandle<T> {
        let c = control.clone();
        thread::spawn(move || {
            let start = Instant::now();
            while !c.is_busy() {
                assert!(start.elapsed() < Duration::from_secs(10), "never busy");
                thread::sleep(Duration::from_millis(5));
            }
            f(&c)
        })
    }

    fn run(e: &mut Engine, body: &str) -> Reply {
        let mut h = TestHost::new();
        match e.eval(
            ScriptRef::Body(body.as_bytes()),
            &[],
            &[],
            RunOpts::default(),
            &mut h,
        ) {
            Outcome::Reply(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn not_busy_means_notbusy() {
        let c = ScriptControl::default();
        assert_eq!(
            err_text(&c.kill(false)),
            "NOTBUSY No scripts in execution right now."
        );
        assert!(c.busy_error().is_none());
    }

    #[test]
    fn script_kill_stops_a_busy_script() {
        let (mut e, control) = short_engine();
        let killer = when_busy(&control, |c| {
            let busy = err_text(&c.busy_error().unwrap());
            let wrong = err_text(&c.kill(true));
            let (name, ms) = c.running_script().unwrap();
            assert!(ms >= 50, "ran {ms} ms");
            let ok = c.kill(false);
            (busy, wrong, ok, Some(name))
        });
        let body = "local i = 0 while true do i = i + 1 end";
        let r = run(&mut e, body);
        let (busy, wrong, ok, name) = killer.join().unwrap();
        assert_eq!(
            busy,
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
        );
        assert_eq!(wrong, busy);
        assert_eq!(ok, Reply::Ok);
        assert_eq!(name, Some(crate::sha1_hex(body.as_bytes())));
        assert_eq!(
            err_text(&r),
            format!(
                "ERR Script killed by user with SCRIPT KILL...{}",
                at(body, 1)
            )
        );
        assert!(!control.is_running());
        // The engine runs the next script normally.
        assert_eq!(run(&mut e, "return 1"), Reply::Int(1));
    }

    #[test]
    fn pcall_cannot_swallow_a_kill() {
        let (mut e, control) = short_engine();
        let killer = when_busy(&control, |c| c.kill(false));
        let r = run(&mut e, "pcall(function() while true do end end) return 5");
        assert_eq!(killer.join().unwrap(), Reply::Ok);
        assert!(err_text(&r).starts_with("ERR Script killed by user with SCRIPT KILL..."));
    }

    #[test]
    fn a_coroutine_loop_is_killable() {
        let (mut e, control) = short_engine();
        let killer = when_busy(&control, |c| c.kill(false));
        let r = run(
            &mut e,
            "local co = coroutine.wrap(function() while true do end end) co() return 1",
        );
        assert_eq!(killer.join().unwrap(), Reply::Ok);
        assert!(
            err_text(&r).starts_with("ERR Script killed by user"),
            "{r:?}"
        );
    }

    #[test]
    fn a_script_that_wrote_is_unkillable() {
        let (mut e, control) = short_engine();
        let killer = when_busy(&control, |c| c.kill(false));
        let r = run(
            &mut e,
            "redis.call('set', 'w', '1') local t = os.clock() while os.clock() - t < 0.3 do end return 1",
        );
        assert_eq!(
            err_text(&killer.join().unwrap()),
            "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."
        );
        assert_eq!(r, Reply::Int(1));
    }

    #[test]
    fn function_kill_stops_a_busy_function() {
        let (mut e, control) = short_engine();
        e.function_load(
            b"#!lua name=lib\nredis.register_function('spin', function() while true do end end)",
            false,
        )
        .unwrap();
        let killer = when_busy(&control, |c| {
            let wrong = err_text(&c.kill(false));
            (wrong, c.kill(true))
        });
        let mut h = TestHost::new();
        let r = e.fcall(b"spin", &[], &[], RunOpts::default(), &mut h);
        let (wrong, ok) = killer.join().unwrap();
        assert_eq!(
            wrong,
            "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
        );
        assert_eq!(ok, Reply::Ok);
        let Outcome::Reply(r) = r else { panic!() };
        assert_eq!(
            err_text(&r),
            "ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2."
        );
    }
}

mod need_keys {
    use super::*;

    fn far(b: &mut Bench) {
        b.h.unreachable.push(b"far".to_vec());
    }

    #[test]
    fn an_unreachable_key_ends_the_run_with_need_keys() {
        let mut b = Bench::new();
        far(&mut b);
        let r = b.outcome(
            "redis.call('set', 'near', 1) redis.call('mget', 'far', 'near', 'far') return 1",
            &[],
            &[],
            RunOpts::default(),
        );
        assert_eq!(r, Outcome::NeedKeys(bytes(&["far"])));
        // The command on the unreachable key never reached the host.
        assert!(b.h.calls.iter().all(|c| c[0] != "mget"));
    }

    #[test]
    fn pcall_cannot_swallow_need_keys() {
        let mut b = Bench::new();
        far(&mut b);
        for body in [
            "pcall(redis.call, 'get', 'far') return 1",
            "local r = redis.pcall('get', 'far') return 1",
            "pcall(redis.call, 'get', 'far') redis.call('get', 'near') return 1",
        ] {
            assert_eq!(
                b.outcome(body, &[], &[], RunOpts::default()),
                Outcome::NeedKeys(bytes(&["far"])),
                "{body}"
            );
        }
        assert_eq!(b.eval("return redis.call('get', 'near')"), Reply::Nil);
    }

    #[test]
    fn cross_slot_scripts_ask_for_keys_too() {
        let mut b = Bench::new();
        far(&mut b);
        let body = "#!lua flags=allow-cross-slot-keys\nreturn redis.call('get', 'far')";
        assert_eq!(
            b.outcome(body, &["k"], &[], RunOpts::default()),
            Outcome::NeedKeys(bytes(&["far"]))
        );
        b.e.function_load(
            b"#!lua name=l\nredis.register_function{function_name='f', callback=function() return redis.call('get', 'far') end, flags={'allow-cross-slot-keys'}}",
            false,
        )
        .unwrap();
        let r = b.e.fcall(b"f", &[], &[], RunOpts::default(), &mut b.h);
        assert_eq!(r, Outcome::NeedKeys(bytes(&["far"])));
    }
}

/// `redis.call` reaches the run through a pointer set for the run only.
mod run_context {
    use super::*;
    use crate::Host;
    use bytes::Bytes;
    use shards::CommandSpec;

    struct PanickingHost;

    impl Host for PanickingHost {
        fn call(&mut self, _: &'static CommandSpec, _: Vec<Bytes>) -> Reply {
            panic!("host failure");
        }
    }

    #[test]
    fn redis_call_outside_a_run_fails_cleanly() {
        let b = Bench::new();
        let vm = &b.e.eval_vm;
        assert!(vm.rt.current.get().is_none());
        let r = vm
            .lua
            .load("return redis.call('ping')")
            .call::<mlua::Value>(());
        let e = r.expect_err("no run in progress").to_string();
        assert!(e.contains("only available while a script runs"), "{e}");
    }

    #[test]
    fn a_panicking_host_leaves_no_run_behind() {
        let mut b = Bench::new();
        let body = "return redis.call('get', 'k')";
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            b.e.eval(
                ScriptRef::Body(body.as_bytes()),
                &[],
                &[],
                RunOpts::default(),
                &mut PanickingHost,
            )
        }));
        // mlua catches the panic; whether it resumes here or becomes an error reply,
        // the run's context is gone.
        if let Ok(out) = r {
            assert!(matches!(out, Outcome::Reply(Reply::Error(_))), "{out:?}");
        }
        assert!(b.e.eval_vm.rt.current.get().is_none());
        b.h.cmd(&["set", "k", "v"]);
        assert_eq!(b.eval(body), bulk("v"));
    }

    #[test]
    fn keys_and_argv_are_fresh_every_run() {
        let mut b = Bench::new();
        let body = "KEYS[2] = 'x' setmetatable(ARGV, {__index = function() return 'y' end}) \
                    return {#KEYS, #ARGV, tostring(ARGV[3])}";
        let want = Reply::Array(vec![Reply::Int(2), Reply::Int(1), bulk("y")]);
        assert_eq!(b.eval_with(body, &["a"], &["b"]), want);
        let body = "return {#KEYS, #ARGV, tostring(ARGV[3]), tostring(getmetatable(ARGV))}";
        let want = Reply::Array(vec![Reply::Int(1), Reply::Int(0), bulk("nil"), bulk("nil")]);
        assert_eq!(b.eval_with(body, &["a"], &[]), want);
    }
}

/// The raw-API paths (`redis.call` replies, the script's reply) agree with the mlua
/// ones, which a state with a memory cap takes.
#[test]
fn raw_and_mlua_conversions_agree() {
    let scripts = [
        "return 'x'",
        "return {1, 2.5, -3.7, 1e300, 0/0, true, false, 'a', {1, {2, {3}}}}",
        "return nil",
        "return {1, nil, 3}",
        "return {err = 'ERR boom\\r\\nx'}",
        "return {ok = 'OK'}",
        "return {ok = 'PONG'}",
        "return {double = 3.25}",
        "return {big_number = '123456789012345678901234567890'}",
        "return {err = 5, ok = 6, 7}",
        "return {[1.5] = 'x', 'a', 'b'}",
        "return {[true] = 1, 5}",
        "return {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}",
        "local t = {1, 2} t.err = 'E boom' return t",
        "local t = {1, 2, 3, 4, 5, 6, 7, 8, 9} t.ok = 'late' return t",
        "return redis.error_reply('MY err')",
        "return redis.status_reply('fine')",
        "local t = {} local c = t for i = 1, 300 do c[1] = {} c = c[1] end return t",
        "redis.setresp(3) return {map = {a = 1}, set = {b = true}, true, false}",
        "redis.setresp(3) return {verbatim_string = {format = 'txt', string = 'v'}}",
        "return {verbatim_string = {format = 'txt'}, 1}",
        "redis.setresp(3) return {double = 1.5, 2}",
        "redis.call('set', 'k', 'v') redis.call('hset', 'h', 'f', 'v', 'g', 'w') \
         redis.call('zadd', 'z', 1.5, 'm', 2, 'n') \
         return {redis.call('get', 'k'), redis.call('get', 'nope'), redis.call('hgetall', 'h'), \
         redis.call('zrange', 'z', 0, -1, 'withscores'), redis.call('zscore', 'z', 'm'), \
         redis.call('set', 'k', 'w'), redis.call('ping'), redis.pcall('incr', 'h'), \
         redis.pcall('nosuch'), redis.pcall(), redis.pcall('get', {}), redis.call('exists', 'k', 'h', 12)}",
        "redis.setresp(3) redis.call('hset', 'h', 'f', 'v') \
         return {redis.call('hgetall', 'h'), redis.call('get', 'nope'), redis.call('zscore', 'z', 'm')}",
        "return redis.call('get', 'h')",
        "local ok, e = pcall(redis.call, 'get', 'h') return {tostring(ok), e}",
        "return redis.pcall('incr', 'h')",
    ];
    let mut fast = Bench::new();
    let mut slow = Bench::new();
    slow.e.set_memory_limit(1 << 30);
    assert!(fast.e.eval_vm.rt.fast_calls.get());
    assert!(!slow.e.eval_vm.rt.fast_calls.get());
    for body in scripts {
        let a = fast.eval(body);
        let b = slow.eval(body);
        assert_eq!(a, b, "{body}");
    }
}

#[test]
fn eval_of_a_cached_body_survives_script_flush() {
    let mut b = Bench::new();
    let body = "return 'once'";
    assert_eq!(b.eval(body), bulk("once"));
    assert_eq!(b.eval(body), bulk("once"));
    b.e.script_flush();
    assert_eq!(b.e.script_count(), 0);
    assert_eq!(b.eval(body), bulk("once"));
    assert_eq!(b.e.script_count(), 1);
    assert!(b
        .e
        .script_exists(crate::sha1_hex(body.as_bytes()).as_bytes()));
    assert_eq!(b.eval("return 'twice'"), bulk("twice"));
    assert_eq!(b.e.script_count(), 2);
}
