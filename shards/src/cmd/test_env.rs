//! The test fixture the command families' unit tests share: a 16-db keyspace on a
//! manual clock and the client state a handler sees, ways to run a handler (or a whole
//! command by name) and get its reply, a few looks at what it left in the keyspace, and
//! a deterministic random generator for the model-based tests. Family-specific helpers
//! extend `Env` in the family's test file (cmd/tests/<family>.rs).

use std::cell::Cell;
use std::rc::Rc;

use bytes::Bytes;

use super::{lookup, Ctx, Handler};
use crate::clock::{Clock, Millis};
use crate::keyspace::Keyspace;
use crate::reply::Reply;
use crate::value::{Str, Value};

/// Where the manual clock starts.
pub(crate) const T0: Millis = 1_700_000_000_000;

pub(crate) struct Env {
    pub ks: Keyspace,
    /// The manual clock's time; `advance` moves it.
    pub now: Rc<Cell<Millis>>,
    /// The client's selected db: handlers run there, and the helpers below look there.
    pub db: usize,
    /// False for a client in CLIENT NO-TOUCH mode.
    pub touch: bool,
}

impl Env {
    pub fn new() -> Env {
        let (clock, now) = Clock::manual(T0);
        Env {
            ks: Keyspace::new(16, clock),
            now,
            db: 0,
            touch: true,
        }
    }

    /// Runs handler `h` with these arguments (`args[0]` is the command name).
    pub fn call(&mut self, h: Handler, args: &[&str]) -> Reply {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.call_bytes(h, &args)
    }

    pub fn call_bytes(&mut self, h: Handler, args: &[&[u8]]) -> Reply {
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let mut ctx = Ctx {
            ks: &mut self.ks,
            db: self.db,
            touch: self.touch,
        };
        h(&mut ctx, &args).into()
    }

    /// Runs handler `h` with the words of `line` (split at each space) as arguments.
    pub fn run(&mut self, h: Handler, line: &str) -> Reply {
        let words: Vec<&str> = line.split(' ').collect();
        self.call(h, &words)
    }

    /// Runs the command `args[0]` names, through its row in the command table.
    pub fn command(&mut self, args: &[impl AsRef<[u8]>]) -> Reply {
        let h = lookup(args[0].as_ref())
            .and_then(|c| c.handler)
            .expect("a command with a handler");
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_ref()).collect();
        self.call_bytes(h, &args)
    }

    pub fn advance(&self, ms: Millis) {
        self.now.set(self.now.get() + ms);
    }

    pub fn exists(&mut self, key: &str) -> bool {
        self.ks.exists(self.db, key.as_bytes())
    }

    /// The encoding OBJECT ENCODING reports, "none" for a missing key.
    pub fn encoding(&mut self, key: &str) -> &'static str {
        let config = self.ks.config.clone();
        self.ks
            .lookup(self.db, key.as_bytes())
            .map_or("none", |e| e.value().encoding(&config))
    }

    /// Stores a string without a TTL.
    pub fn set(&mut self, key: &str, value: &(impl AsRef<[u8]> + ?Sized)) {
        let v = Value::Str(Str::from_bytes(value.as_ref()));
        self.ks.set(self.db, key.as_bytes(), v, 0);
    }

    /// The string at `key` (None when missing; panics on another type).
    pub fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        match &self.ks.lookup(self.db, key.as_bytes())?.value() {
            Value::Str(s) => Some(s.to_vec()),
            other => panic!("not a string: {other:?}"),
        }
    }

    /// The deadline of `key` (0: no TTL), None when missing.
    pub fn expire_at(&mut self, key: &str) -> Option<Millis> {
        self.ks
            .lookup(self.db, key.as_bytes())
            .map(|e| e.expire_at())
    }
}

/// A deterministic xorshift generator for the model-based tests.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
}
