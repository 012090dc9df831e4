//! Isolation across shards: *holds*.
//!
//! A coordinator that must act on several shards as one (EXEC, a multi-key write whose
//! keys span shards, a script, a read that lost its optimistic validation) holds every
//! shard it involves, one after the other in ascending shard order, so two coordinators
//! can never wait for each other in a cycle. A held shard runs only its holder's work
//! (`Work::Txn` of that transaction); everything else sent to it, and its own
//! connections' commands, wait in arrival order until the release. Ordinary commands
//! pay nothing but a look at their own shard's `held_by` cell and lock table.
//!
//! Work done in one message per shard (`run_parts`) locks only its keys instead
//! (`Work::LockRun`): the shard's other clients go on. Lock requests and holds wait for
//! each other when they conflict and are both taken in ascending shard order.
//!
//! Every hold, and every transaction step on a shard, also bumps the shard's *hold
//! epoch*, and the gate remembers which keys each of the latest ones wrote. A multi-key
//! read spread over shards (MGET, EXISTS) does not hold anything: it reads each shard's
//! epoch together with its part, and asks afterwards whether a hold or step since then
//! wrote one of its keys there. A transaction can only have been half visible to that
//! read if it wrote one of the read's keys on a shard after the read passed there (see
//! `net::router::Batch::settle`), so a "no" everywhere proves the read saw every
//! transaction entirely or not at all; otherwise it runs again under holds.

use std::future::Future;
use std::rc::Rc;

use shards::ops::ShardOp;
use shards::{CmdError, Reply, ShardId};

use shards::ops::OpOutput;

use crate::base::ids::{TxnId, WatcherId};
use crate::runtime::shard::Shard;
use crate::runtime::work::{Work, WorkDone};

/// Holds `involved` (sorted, deduplicated) for `txn`, in ascending order. Returns
/// whether a key watched by `watcher` was written since WATCH on any of them.
pub async fn hold(
    shard: &Rc<Shard>,
    txn: TxnId,
    involved: &[ShardId],
    watcher: Option<WatcherId>,
) -> bool {
    debug_assert!(involved.windows(2).all(|w| w[0] < w[1]));
    let mut dirty = false;
    for &s in involved {
        if let WorkDone::Count(1) = shard.call(s, Work::Hold(txn, watcher)).await {
            dirty = true;
        }
    }
    dirty
}

/// Releases the holds of `txn`. Nobody waits for the answers: the local release runs
/// at once, and anything this shard sends a peer afterwards travels behind the release
/// on the same channel.
pub fn release(shard: &Rc<Shard>, txn: TxnId, involved: &[ShardId]) {
    // Its writes on every shard are logged as one block before anything else may
    // touch its keys.
    if crate::runtime::aof::commit_txn(txn) {
        shard.aof.borrow_mut().mark_wrote();
    }
    for &s in involved {
        drop(shard.send_or_run(s, Work::Release(txn)));
    }
}

/// Runs `f` with `involved` held: nothing else runs on those shards meanwhile.
pub async fn isolated<T, F, Fut>(shard: &Rc<Shard>, mut involved: Vec<ShardId>, f: F) -> T
where
    F: FnOnce(TxnId) -> Fut,
    Fut: Future<Output = T>,
{
    involved.sort_unstable();
    involved.dedup();
    let txn = shard.new_txn();
    hold(shard, txn, &involved, None).await;
    let out = f(txn).await;
    release(shard, txn, &involved);
    out
}

/// Runs one message of ops on each of several shards as one isolated step, in one
/// round trip per shard: in ascending order, each shard but the last locks the keys of
/// its ops and runs them in the same message (`Work::LockRun`: work touching those
/// keys waits, the rest of the shard's clients go on); the last one runs its ops in one
/// go without locking (nothing else can interleave with a single message); then the
/// locks are released. Lock requests wait for conflicting locks and are taken in
/// ascending shard order like holds, so they cannot wait in a cycle. `work` is sorted
/// by shard. Returns each shard's outputs.
pub async fn run_parts(
    shard: &Rc<Shard>,
    work: Vec<(ShardId, Vec<ShardOp>)>,
) -> Vec<(ShardId, Vec<OpOutput>)> {
    let txn = shard.new_txn();
    let last = work.len().saturating_sub(1);
    let mut held = Vec::with_capacity(last);
    let mut outs = Vec::with_capacity(work.len());
    for (i, (s, ops)) in work.into_iter().enumerate() {
        let msg = if i < last {
            held.push(s);
            Work::LockRun(txn, ops)
        } else {
            Work::Txn(txn, ops)
        };
        if let WorkDone::Ops(o) = shard.call(s, msg).await {
            outs.push((s, o));
        }
    }
    release(shard, txn, &held);
    outs
}

/// Ops grouped by shard for one isolated step, and where each one's answer will be.
pub struct Parts {
    ops: Vec<Vec<ShardOp>>,
    answers: Vec<Vec<Option<Reply>>>,
}

/// Where an op's answer is: its shard and its index in that shard's message.
pub type PartId = (ShardId, usize);

impl Parts {
    pub fn new(nshards: usize) -> Self {
        Parts {
            ops: (0..nshards).map(|_| Vec::new()).collect(),
            answers: (0..nshards).map(|_| Vec::new()).collect(),
        }
    }

    /// Adds an op for shard `owner`.
    pub fn push(&mut self, owner: ShardId, op: ShardOp) -> PartId {
        self.ops[owner].push(op);
        (owner, self.ops[owner].len() - 1)
    }

    /// The messages to send: each shard with ops, in ascending order.
    pub fn work(&mut self) -> Vec<(ShardId, Vec<ShardOp>)> {
        self.ops
            .iter_mut()
            .enumerate()
            .filter(|(_, ops)| !ops.is_empty())
            .map(|(s, ops)| (s, std::mem::take(ops)))
            .collect()
    }

    /// Records the shards' answers.
    pub fn answered(&mut self, outs: Vec<(ShardId, Vec<OpOutput>)>) {
        for (s, o) in outs {
            self.answers[s] = o.into_iter().map(|o| Some(o.into_reply())).collect();
        }
    }

    /// The answer of one op.
    pub fn take(&mut self, (s, i): PartId) -> Reply {
        self.answers[s]
            .get_mut(i)
            .and_then(Option::take)
            .unwrap_or_else(|| CmdError::other("ERR shard did not answer").into())
    }
}
