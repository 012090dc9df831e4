//! Micro-benchmark of the EVAL / FCALL hot path over a real keyspace:
//! `cargo bench -p scripting --bench eval`. Prints nanoseconds per run.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use scripting::{Engine, Host, Outcome, RunOpts, ScriptControl, ScriptRef};
use shards::ops::{run_op, ShardOp};
use shards::{Clock, CommandSpec, Keyspace, Reply};

struct KsHost(Keyspace);

impl Host for KsHost {
    fn call(&mut self, spec: &'static CommandSpec, args: Vec<Bytes>) -> Reply {
        run_op(
            &mut self.0,
            ShardOp::Cmd {
                spec,
                db: 0,
                touch: true,
                args,
                track: shards::ops::Track::NONE,
            },
        )
        .into_reply()
    }
}

/// Answers every command with 1: the engine's own cost only.
struct NullHost;

impl Host for NullHost {
    fn call(&mut self, _: &'static CommandSpec, _: Vec<Bytes>) -> Reply {
        Reply::Int(1)
    }
}

fn b(items: &[&str]) -> Vec<Bytes> {
    items
        .iter()
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect()
}

/// `EVAL_BENCH=<substring>` runs only the matching cases.
fn measure(name: &str, iters: u32, mut f: impl FnMut()) {
    if let Ok(only) = std::env::var("EVAL_BENCH") {
        if !name.contains(only.as_str()) {
            return;
        }
    }
    for _ in 0..iters / 10 {
        f();
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        best = best.min(t.elapsed().as_nanos() as f64 / iters as f64);
    }
    println!("{name:<28} {best:>8.0} ns/run");
}

fn main() {
    let (clock, _) = Clock::manual(1_700_000_000_000);
    let mut host = KsHost(Keyspace::new(16, clock));
    let mut e = Engine::new(Arc::new(ScriptControl::default()));
    let iters = 200_000;

    let incr2 = "return {redis.call('INCR', KEYS[1]), redis.call('INCR', KEYS[2])}";
    let sha = e.script_load(incr2.as_bytes()).unwrap();
    let keys = b(&["{t}a", "{t}b"]);
    measure("eval 2x INCR", iters, || {
        let out = e.eval(
            ScriptRef::Sha(sha.as_bytes()),
            &keys,
            &[],
            RunOpts::default(),
            &mut host,
        );
        black_box(matches!(out, Outcome::Reply(_)));
    });

    measure("eval 2x INCR, null host", iters, || {
        let out = e.eval(
            ScriptRef::Sha(sha.as_bytes()),
            &keys,
            &[],
            RunOpts::default(),
            &mut NullHost,
        );
        black_box(matches!(out, Outcome::Reply(_)));
    });

    let ret = "return 1";
    let sha = e.script_load(ret.as_bytes()).unwrap();
    measure("eval return 1", iters, || {
        let out = e.eval(
            ScriptRef::Sha(sha.as_bytes()),
            &[],
            &[],
            RunOpts::default(),
            &mut host,
        );
        black_box(matches!(out, Outcome::Reply(_)));
    });

    let body = "return {redis.call('INCR', KEYS[1]), redis.call('INCR', KEYS[2])}";
    measure("eval body (cached) 2x INCR", iters, || {
        let out = e.eval(
            ScriptRef::Body(body.as_bytes()),
            &keys,
            &[],
            RunOpts::default(),
            &mut host,
        );
        black_box(matches!(out, Outcome::Reply(_)));
    });

    let lib = "#!lua name=bench\nredis.register_function('incr2', function(k, a) \
               return {redis.call('INCR', k[1]), redis.call('INCR', k[2])} end)";
    e.function_load(lib.as_bytes(), false).unwrap();
    measure("fcall 2x INCR", iters, || {
        let out = e.fcall(b"incr2", &keys, &[], RunOpts::default(), &mut host);
        black_box(matches!(out, Outcome::Reply(_)));
    });
}
