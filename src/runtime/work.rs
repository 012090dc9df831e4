//! What shards ask of each other. The runtime knows ops on the keyspace, the steps of
//! the gate (holds, key locks), WATCH and blocked clients; everything else (a report
//! for INFO, a CONFIG SET, a cluster slot change, a Lua library load, a script run) is a
//! closure over the target shard, so the runtime never names a command family.

use std::any::Any;
use std::rc::Rc;

use bytes::Bytes;
use shards::ops::{OpOutput, ShardOp};
use shards::Reply;

use crate::base::ids::{TxnId, WaiterId, WatcherId};
use crate::runtime::blocking::{BlockEvent, Waiter};
use crate::runtime::shard::Shard;

/// The result of a closure, boxed to cross threads.
pub type Answer = Box<dyn Any + Send>;

/// A closure to run on a shard.
pub type Job = Box<dyn FnOnce(&Rc<Shard>) -> Answer + Send>;

pub enum Work {
    Ops(Vec<ShardOp>),
    /// Ops of a transaction: a shard held by that transaction runs them (and only them).
    Txn(TxnId, Vec<ShardOp>),
    /// Lock the keys of the ops for the transaction (other work touching them waits
    /// until `Release`), then run the ops.
    LockRun(TxnId, Vec<ShardOp>),
    /// A whole transaction whose keys all live on this shard: runs in one go unless the
    /// watcher saw a write (then `WorkDone::Aborted`).
    Exec(Option<WatcherId>, Vec<ShardOp>),
    /// Hold this shard for a transaction: until `Release`, it runs only that
    /// transaction's work and defers everything else. Answers `Count(1)` if a key the
    /// watcher watches here was written since WATCH, else `Count(0)`.
    Hold(TxnId, Option<WatcherId>),
    /// End a transaction's hold and key locks here.
    Release(TxnId),
    /// WATCH: note writes to these keys for this watcher.
    Watch(WatcherId, usize, Vec<Bytes>),
    /// UNWATCH (also after EXEC and DISCARD).
    Unwatch(WatcherId),
    /// Register a blocked client's waiter on this shard's keys.
    Block(Waiter),
    /// Forget a waiter; answers `Count(1)` if it was still registered, `Count(0)` if
    /// this shard already served it.
    Unblock(WaiterId),
    /// Deliver an event to a waiter whose home is this shard.
    WaiterEvent(u64, BlockEvent),
    /// A closure that reads or changes no key (reports, settings, libraries).
    Admin(Job),
    /// A closure that may touch any key (a script): it waits for every key lock of
    /// another transaction and runs as one unit; inside a transaction, as its work.
    Keyed(Option<TxnId>, Job),
}

impl Work {
    /// One op as ordinary work, or as a transaction's work.
    pub fn ops(txn: Option<TxnId>, op: ShardOp) -> Work {
        match txn {
            Some(t) => Work::Txn(t, vec![op]),
            None => Work::Ops(vec![op]),
        }
    }

    /// The transaction this work belongs to.
    pub fn txn(&self) -> Option<TxnId> {
        match self {
            Work::Txn(t, _) | Work::LockRun(t, _) | Work::Hold(t, _) | Work::Release(t) => Some(*t),
            Work::Keyed(t, _) => *t,
            _ => None,
        }
    }
}

/// A shard's answer.
pub enum WorkDone {
    Ops(Vec<OpOutput>),
    /// `Work::Exec` found a watched key written.
    Aborted,
    Count(usize),
    Done,
    /// What a closure returned.
    Answer(Answer),
}

impl WorkDone {
    /// The output of a one-op `Work::Ops` (an empty entry when there is none).
    pub fn into_output(self) -> OpOutput {
        match self {
            WorkDone::Ops(mut outs) => outs.pop().unwrap_or(OpOutput::Entry(None)),
            _ => OpOutput::Entry(None),
        }
    }

    /// The reply of a one-op `Work::Ops`.
    pub fn into_reply(self) -> Reply {
        self.into_output().into_reply()
    }

    /// What a closure returned, as the type it returned.
    pub fn into_answer<T: 'static>(self) -> Option<T> {
        match self {
            WorkDone::Answer(a) => a.downcast::<T>().ok().map(|b| *b),
            _ => None,
        }
    }
}
