//! Work a shard does on behalf of a connection: a command (or a command's part for this
//! shard's keys), or an entry-level step of a cross-shard command. Ops and their outputs
//! are `Send`: they travel between shard mailboxes.

use bytes::Bytes;

use crate::cmd::{CommandSpec, Ctx};
use crate::error::CmdError;
use crate::keyspace::{Entry, Keyspace};
use crate::reply::Reply;

pub enum ShardOp {
    /// Run a command's handler with these arguments.
    Cmd {
        spec: &'static CommandSpec,
        db: usize,
        touch: bool,
        args: Vec<Bytes>,
        /// The client-side caching of the client it runs for (CLIENT TRACKING).
        track: Track,
    },
    /// Remove a live entry and hand it over (RENAME across shards).
    TakeEntry { db: usize, key: Bytes },
    /// A copy of a live entry (COPY, LCS across shards).
    GetEntry { db: usize, key: Bytes },
    /// Store an entry; unless `replace`, only when the key is absent. Replies 1 if
    /// stored, 0 if not.
    PutEntry {
        db: usize,
        key: Bytes,
        entry: Entry,
        replace: bool,
    },
    /// The server answers this one itself: how many cross-shard holds and
    /// transaction steps the shard has seen (an optimistic multi-shard read notes it
    /// with its part).
    Epoch,
    /// The server answers this one too: 1 if a transaction may have written one of
    /// `keys` of `db` on this shard since epoch `since`, else 0.
    WrittenSince {
        since: u64,
        db: usize,
        keys: Vec<Bytes>,
    },
}

pub enum OpOutput {
    Reply(Reply),
    Entry(Option<Entry>),
}

impl OpOutput {
    /// The reply, for ops that produce one.
    pub fn into_reply(self) -> Reply {
        match self {
            OpOutput::Reply(r) => r,
            OpOutput::Entry(_) => Reply::Nil,
        }
    }

    pub fn into_entry(self) -> Option<Entry> {
        match self {
            OpOutput::Entry(e) => e,
            OpOutput::Reply(_) => None,
        }
    }
}

/// What the shard that runs a command does for the client's CLIENT TRACKING: remember
/// the keys the command reads for it, and skip it when invalidating what it writes
/// (NOLOOP). `client` 0: no tracking.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Track {
    pub client: u64,
    /// This read's keys are remembered for the client.
    pub remember: bool,
    /// Keys it writes are not invalidated for itself.
    pub noloop: bool,
}

impl Track {
    pub const NONE: Track = Track {
        client: 0,
        remember: false,
        noloop: false,
    };
}

/// Runs one op against this shard's keyspace.
pub fn run_op(ks: &mut Keyspace, op: ShardOp) -> OpOutput {
    match op {
        ShardOp::Cmd {
            spec,
            db,
            touch,
            args,
            ..
        } => {
            let Some(handler) = spec.handler else {
                return OpOutput::Reply(Reply::Error(CmdError::other("ERR command not routable")));
            };
            let mut ctx = Ctx { ks, db, touch };
            // A handler bug must cost one error reply, never the shard: the executor
            // thread serves every other client of this core.
            let run = std::panic::AssertUnwindSafe(|| handler(&mut ctx, &args));
            OpOutput::Reply(match contained(run) {
                Ok(Ok(reply)) => reply,
                Ok(Err(e)) => Reply::Error(e),
                Err(_) => Reply::Error(CmdError::other(format!(
                    "ERR internal error while running '{}'",
                    spec.name
                ))),
            })
        }
        ShardOp::TakeEntry { db, key } => OpOutput::Entry(ks.remove(db, &key)),
        ShardOp::Epoch | ShardOp::WrittenSince { .. } => OpOutput::Reply(Reply::Nil),
        ShardOp::GetEntry { db, key } => OpOutput::Entry(ks.lookup(db, &key).map(|e| e.to_entry())),
        ShardOp::PutEntry {
            db,
            key,
            entry,
            replace,
        } => {
            if !replace && ks.exists(db, &key) {
                return OpOutput::Reply(Reply::Int(0));
            }
            ks.put_entry(db, &key, entry);
            OpOutput::Reply(Reply::Int(1))
        }
    }
}

thread_local! {
    /// How many `contained` calls are running on this thread.
    static CONTAINED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Runs `f`, turning a panic into `Err`: the caller answers one error reply and the
/// shard goes on. The server's panic hook treats any other panic on a shard thread as
/// fatal (see `panic_is_contained`).
pub fn contained<T>(f: impl FnOnce() -> T + std::panic::UnwindSafe) -> std::thread::Result<T> {
    CONTAINED.with(|c| c.set(c.get() + 1));
    let out = std::panic::catch_unwind(f);
    CONTAINED.with(|c| c.set(c.get() - 1));
    out
}

/// Whether a panic on this thread happens inside `contained`.
pub fn panic_is_contained() -> bool {
    CONTAINED.with(|c| c.get() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contained_turns_a_panic_into_err_and_knows_it_is_inside() {
        assert!(!panic_is_contained());
        let inside = contained(panic_is_contained);
        assert_eq!(inside.ok(), Some(true));
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r = contained(|| -> u8 { panic!("boom") });
        std::panic::set_hook(hook);
        assert!(r.is_err());
        assert!(!panic_is_contained());
    }

    #[test]
    fn run_op_answers_a_handler_error_as_an_error_reply() {
        let (clock, _now) = crate::Clock::manual(1_000);
        let mut ks = Keyspace::new(1, clock);
        let op = |args: &[&str]| ShardOp::Cmd {
            spec: crate::cmd::lookup(args[0].as_bytes()).unwrap(),
            db: 0,
            touch: true,
            args: args.iter().map(|a| Bytes::from(a.to_string())).collect(),
            track: crate::ops::Track::NONE,
        };
        let reply = run_op(&mut ks, op(&["incr", "k"])).into_reply();
        assert_eq!(reply, Reply::Int(1));
        run_op(&mut ks, op(&["lpush", "l", "x"]));
        let reply = run_op(&mut ks, op(&["incr", "l"])).into_reply();
        assert_eq!(reply, Reply::Error(CmdError::WrongType));
    }
}
