//! MULTI/EXEC/DISCARD and WATCH/UNWATCH.
//!
//! Queued commands run when EXEC comes. A transaction whose keys all live on one shard
//! travels there as one message and runs in one go, without holds. A transaction over
//! several shards *holds* them (see `atomic`): in ascending shard order, so two
//! transactions can never wait for each other in a cycle; it runs the commands and
//! releases. No lock and no counter sits on the path of ordinary commands.
//!
//! WATCH registers the keys with their shards; a write to a watched key marks that
//! watcher dirty there, and the Hold step of EXEC reports it, so the check and the
//! execution happen under the same hold.

use std::collections::HashMap;
use std::rc::Rc;

use bytes::Bytes;
use shards::cmd::{flags, CommandSpec, Route};
use shards::ops::ShardOp;
use shards::{CmdError, Reply, ShardId};

use crate::base::ids::{TxnId, WatcherId};
use crate::commands::table::{server_cmd, ServerCmd};
use crate::commands::{self as admin, script};
use crate::coord::spread::{merge_positional, single_owner};
use crate::coord::{atomic, cross};
use crate::runtime::blocking;
use crate::runtime::clients::{ClientHandle, MultiState};
use crate::runtime::shard::Shard;
use crate::runtime::work::{Work, WorkDone};

pub fn multi(client: &ClientHandle) -> Reply {
    let mut m = client.multi.borrow_mut();
    if m.is_some() {
        return CmdError::other("ERR MULTI calls can not be nested").into();
    }
    *m = Some(MultiState::default());
    Reply::Ok
}

pub async fn discard(shard: &Rc<Shard>, client: &ClientHandle) -> Reply {
    if client.multi.borrow_mut().take().is_none() {
        return CmdError::other("ERR DISCARD without MULTI").into();
    }
    unwatch(shard, client).await;
    Reply::Ok
}

pub async fn watch(shard: &Rc<Shard>, client: &ClientHandle, args: &[Bytes]) -> Reply {
    if client.multi.borrow().is_some() {
        return CmdError::other("ERR WATCH inside MULTI is not allowed").into();
    }
    let db = client.info.borrow().db;
    let me = WatcherId(client.info.borrow().id);
    let mut by_shard: HashMap<ShardId, Vec<Bytes>> = HashMap::new();
    for key in &args[1..] {
        by_shard
            .entry(shard.slots.owner_of_key(key))
            .or_default()
            .push(key.clone());
    }
    for (owner, keys) in by_shard {
        shard.call(owner, Work::Watch(me, db, keys.clone())).await;
        let mut w = client.watch.borrow_mut();
        if !w.shards.contains(&owner) {
            w.shards.push(owner);
        }
        w.keys.extend(keys.into_iter().map(|k| (db, k)));
    }
    Reply::Ok
}

/// Forgets every watched key of the client (UNWATCH, and after EXEC or DISCARD).
pub async fn unwatch(shard: &Rc<Shard>, client: &ClientHandle) -> Reply {
    let me = WatcherId(client.info.borrow().id);
    let shards = {
        let mut w = client.watch.borrow_mut();
        w.keys.clear();
        std::mem::take(&mut w.shards)
    };
    for owner in shards {
        shard.call(owner, Work::Unwatch(me)).await;
    }
    Reply::Ok
}

/// EXEC: holds the involved shards in ascending order, checks WATCH, runs the queued
/// commands in order, releases.
/// EXEC; each queued command that ran counts as a call (and a failed one) in INFO
/// commandstats, as in Redis (its own time is not measured apart).
pub async fn exec(shard: &Rc<Shard>, client: &Rc<ClientHandle>) -> Reply {
    use crate::runtime::cmdstats::{sub_name, Outcome};
    let queued: Vec<(&'static CommandSpec, Option<&'static str>)> = match &*client.multi.borrow() {
        Some(m) => m.queued.iter().map(|(s, a)| (*s, sub_name(s, a))).collect(),
        None => Vec::new(),
    };
    let reply = exec_queued(shard, client).await;
    if let Reply::Array(replies) = &reply {
        let mut stats = shard.cmdstats.borrow_mut();
        for ((spec, sub), r) in queued.iter().zip(replies) {
            let failed = r.is_error();
            stats.record(spec, *sub, Outcome::InExec { failed });
        }
    }
    reply
}

async fn exec_queued(shard: &Rc<Shard>, client: &Rc<ClientHandle>) -> Reply {
    let Some(state) = client.multi.borrow_mut().take() else {
        return CmdError::other("ERR EXEC without MULTI").into();
    };
    if state.dirty {
        unwatch(shard, client).await;
        return CmdError::other("EXECABORT Transaction discarded because of previous errors.")
            .into();
    }
    // As Redis: over maxmemory, a transaction with a command that grows memory is
    // refused whole.
    if state
        .queued
        .iter()
        .any(|(spec, _)| spec.has(flags::DENYOOM))
        && shard.out_of_memory()
    {
        unwatch(shard, client).await;
        return CmdError::other(format!(
            "EXECABORT Transaction discarded because of: {}",
            CmdError::OutOfMemory.message()
        ))
        .into();
    }
    let watcher =
        (!client.watch.borrow().shards.is_empty()).then(|| WatcherId(client.info.borrow().id));
    let mut involved: Vec<ShardId> = client.watch.borrow().shards.clone();
    for (spec, args) in &state.queued {
        match spec.route {
            Route::Broadcast(_) => involved.extend(0..shard.nshards),
            // A script's declared keys decide where it runs.
            Route::Server if is_script(spec) => {
                for pos in spec.key_positions(args) {
                    involved.push(shard.slots.owner_of_key(&args[pos]));
                }
                involved.push(shard.id);
            }
            Route::Server => {}
            // Its patterns may name keys on any shard.
            _ if sorts_across_shards(shard, spec, args) => involved.extend(0..shard.nshards),
            _ => {
                let mut keyless = true;
                for pos in spec.key_positions(args) {
                    involved.push(shard.slots.owner_of_key(&args[pos]));
                    keyless = false;
                }
                if keyless {
                    involved.push(shard.id);
                }
            }
        }
    }
    involved.sort_unstable();
    involved.dedup();
    if let Some(reply) = exec_on_one_shard(shard, client, watcher, &involved, &state).await {
        unwatch(shard, client).await;
        return reply;
    }

    if let Some(reply) = exec_spread(shard, client, watcher, &involved, &state).await {
        unwatch(shard, client).await;
        return reply;
    }

    let txn = shard.new_txn();
    let dirty = atomic::hold(shard, txn, &involved, watcher).await;
    let reply = if dirty {
        Reply::NilArray
    } else {
        let mut replies = Vec::with_capacity(state.queued.len());
        for (spec, args) in state.queued {
            replies.push(run_one(shard, client, txn, spec, args).await);
        }
        Reply::Array(replies)
    };
    atomic::release(shard, txn, &involved);
    unwatch(shard, client).await;
    reply
}

/// The fast path: every queued command is a keyed command of one shard (the same shard
/// as the watched keys), so the whole transaction travels as one message and runs there
/// in one go, with no holds. `None` when the transaction does not qualify.
async fn exec_on_one_shard(
    shard: &Rc<Shard>,
    client: &ClientHandle,
    watcher: Option<WatcherId>,
    involved: &[ShardId],
    state: &MultiState,
) -> Option<Reply> {
    let &[owner] = involved else {
        return None;
    };
    let (db, touch) = client.db_touch();
    let mut ops = Vec::with_capacity(state.queued.len());
    for (spec, args) in &state.queued {
        if matches!(spec.route, Route::Server | Route::Broadcast(_))
            || single_owner(shard, spec, args) != Some(owner)
        {
            return None;
        }
        ops.push(ShardOp::Cmd {
            spec,
            db,
            touch,
            args: args.clone(),
            track: client.track(spec),
        });
    }
    Some(match shard.call(owner, Work::Exec(watcher, ops)).await {
        WorkDone::Ops(outs) => Reply::Array(
            outs.into_iter()
                .zip(&state.queued)
                .map(|(out, (spec, _))| exec_reply(spec, out.into_reply()))
                .collect(),
        ),
        _ => Reply::NilArray,
    })
}

/// Every queued command is a keyed command of one shard, but not all of the same one:
/// each shard gets its commands (in queue order) in one message. Without WATCH that is
/// `atomic::run_parts`, one round trip per shard; with WATCH the shards are held first,
/// so that no shard runs anything before every shard's watched keys were checked.
/// Running each shard's commands together gives the same result as the queue order:
/// commands on different shards touch different keys. `None` when the transaction
/// does not qualify.
async fn exec_spread(
    shard: &Rc<Shard>,
    client: &ClientHandle,
    watcher: Option<WatcherId>,
    involved: &[ShardId],
    state: &MultiState,
) -> Option<Reply> {
    let (db, touch) = client.db_touch();
    let mut parts = atomic::Parts::new(shard.nshards);
    let mut place = Vec::with_capacity(state.queued.len());
    for (spec, args) in &state.queued {
        if matches!(spec.route, Route::Server | Route::Broadcast(_))
            || sorts_across_shards(shard, spec, args)
        {
            return None;
        }
        let owner = single_owner(shard, spec, args)?;
        let op = ShardOp::Cmd {
            spec,
            db,
            touch,
            args: args.clone(),
            track: client.track(spec),
        };
        place.push(parts.push(owner, op));
    }
    let work = parts.work();
    let outs = match watcher {
        None => atomic::run_parts(shard, work).await,
        Some(w) => {
            let txn = shard.new_txn();
            if atomic::hold(shard, txn, involved, Some(w)).await {
                atomic::release(shard, txn, involved);
                return Some(Reply::NilArray);
            }
            let waiting: Vec<_> = work
                .into_iter()
                .map(|(s, ops)| (s, shard.send_or_run(s, Work::Txn(txn, ops))))
                .collect();
            let mut outs = Vec::with_capacity(waiting.len());
            for (s, w) in waiting {
                if let WorkDone::Ops(o) = w.await {
                    outs.push((s, o));
                }
            }
            atomic::release(shard, txn, involved);
            outs
        }
    };
    parts.answered(outs);
    let replies = place
        .into_iter()
        .zip(&state.queued)
        .map(|(id, (spec, _))| exec_reply(spec, parts.take(id)))
        .collect();
    Some(Reply::Array(replies))
}

/// SORT / SORT_RO with BY or GET patterns naming keys, on a server of several shards:
/// it runs under the transaction's hold of every shard (`cross::sort_with_patterns`).
fn sorts_across_shards(shard: &Shard, spec: &CommandSpec, args: &[Bytes]) -> bool {
    shard.nshards > 1 && cross::sort_reads_patterns(spec, args)
}

/// EVAL, EVALSHA, FCALL ... (their declared keys decide where they run).
fn is_script(spec: &CommandSpec) -> bool {
    matches!(
        server_cmd(spec),
        Some(ServerCmd::Eval { .. } | ServerCmd::Fcall)
    )
}

/// Inside a transaction blocking commands do not block (as in Redis).
fn exec_reply(spec: &CommandSpec, reply: Reply) -> Reply {
    if spec.has(flags::BLOCKING) && blocking::found_nothing(&reply) {
        Reply::NilArray
    } else {
        reply
    }
}

/// One queued command, run under the transaction's holds.
async fn run_one(
    shard: &Rc<Shard>,
    client: &Rc<ClientHandle>,
    txn: TxnId,
    spec: &'static CommandSpec,
    args: Vec<Bytes>,
) -> Reply {
    let (db, touch) = client.db_touch();
    let op = |args: Vec<Bytes>| ShardOp::Cmd {
        spec,
        db,
        touch,
        args,
        track: client.track(spec),
    };
    match spec.route {
        Route::Server => match server_cmd(spec) {
            Some(cmd @ (ServerCmd::Eval { .. } | ServerCmd::Fcall)) => {
                script::eval(shard, client, spec, cmd, args, Some(txn)).await
            }
            _ => admin::run(shard, client, spec, args).await.0,
        },
        Route::Broadcast(merge) => {
            let mut parts = Vec::new();
            for s in 0..shard.nshards {
                let done = shard.call(s, Work::Txn(txn, vec![op(args.clone())])).await;
                parts.push((done.into_reply(), Vec::new()));
            }
            merge_positional(merge, 0, parts)
        }
        _ if sorts_across_shards(shard, spec, &args) => {
            cross::sort_with_patterns(shard, txn, spec, db, touch, args).await
        }
        _ => match single_owner(shard, spec, &args) {
            Some(owner) => {
                let reply = shard
                    .call(owner, Work::Txn(txn, vec![op(args)]))
                    .await
                    .into_reply();
                exec_reply(spec, reply)
            }
            None => cross::gather(shard, Some(txn), spec, db, touch, args).await,
        },
    }
}
