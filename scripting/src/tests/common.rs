use std::sync::Arc;

use bytes::Bytes;
use shards::ops::{run_op, ShardOp};
use shards::{Clock, CommandSpec, Keyspace, Reply};

use crate::{Engine, Host, Outcome, RunOpts, ScriptControl, ScriptRef};

/// Runs commands against a real keyspace; keys listed in `unreachable` are out of reach.
pub struct TestHost {
    pub ks: Keyspace,
    pub unreachable: Vec<Vec<u8>>,
    pub calls: Vec<Vec<Bytes>>,
}

impl TestHost {
    pub fn new() -> Self {
        let (clock, _) = Clock::manual(1_700_000_000_000);
        TestHost {
            ks: Keyspace::new(16, clock),
            unreachable: Vec::new(),
            calls: Vec::new(),
        }
    }

    /// Runs a command directly (test setup).
    pub fn cmd(&mut self, args: &[&str]) -> Reply {
        let spec = shards::lookup(args[0].as_bytes()).expect("known command");
        self.call(spec, bytes(args))
    }
}

impl Host for TestHost {
    fn call(&mut self, spec: &'static CommandSpec, args: Vec<Bytes>) -> Reply {
        self.calls.push(args.clone());
        // Server-level commands are the server's; the test host answers PING.
        if spec.name == "ping" {
            return Reply::Status("PONG".into());
        }
        run_op(
            &mut self.ks,
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

    fn reachable(&self, key: &[u8]) -> bool {
        !self.unreachable.iter().any(|k| k == key)
    }
}

pub fn bytes(items: &[&str]) -> Vec<Bytes> {
    items
        .iter()
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect()
}

pub fn engine() -> Engine {
    Engine::new(Arc::new(ScriptControl::default()))
}

/// A test bench: an engine and a host.
pub struct Bench {
    pub e: Engine,
    pub h: TestHost,
}

impl Bench {
    pub fn new() -> Self {
        Bench {
            e: engine(),
            h: TestHost::new(),
        }
    }

    pub fn outcome(&mut self, body: &str, keys: &[&str], args: &[&str], opts: RunOpts) -> Outcome {
        self.e.eval(
            ScriptRef::Body(body.as_bytes()),
            &bytes(keys),
            &bytes(args),
            opts,
            &mut self.h,
        )
    }

    pub fn eval_with(&mut self, body: &str, keys: &[&str], args: &[&str]) -> Reply {
        match self.outcome(body, keys, args, RunOpts::default()) {
            Outcome::Reply(r) => r,
            other => panic!("unexpected {other:?}"),
        }
    }

    pub fn eval(&mut self, body: &str) -> Reply {
        self.eval_with(body, &[], &[])
    }

    pub fn eval_ro(&mut self, body: &str, keys: &[&str]) -> Reply {
        let opts = RunOpts {
            read_only: true,
            ..RunOpts::default()
        };
        match self.outcome(body, keys, &[], opts) {
            Outcome::Reply(r) => r,
            other => panic!("unexpected {other:?}"),
        }
    }

    pub fn fcall(&mut self, name: &str, keys: &[&str], args: &[&str]) -> Reply {
        match self.e.fcall(
            name.as_bytes(),
            &bytes(keys),
            &bytes(args),
            RunOpts::default(),
            &mut self.h,
        ) {
            Outcome::Reply(r) => r,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The error line of an error reply.
pub fn err_text(r: &Reply) -> String {
    match r {
        Reply::Error(e) => e.to_string(),
        other => panic!("not an error: {other:?}"),
    }
}

pub fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

/// `script: <sha>, on @user_script:<line>.` for `body`.
pub fn at(body: &str, line: u32) -> String {
    format!(
        " script: {}, on @user_script:{line}.",
        crate::sha1_hex(body.as_bytes())
    )
}
