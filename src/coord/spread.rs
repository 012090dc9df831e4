//! Spreading one command over the shards of its keys: which shards own its keys,
//! splitting a multi-key command into per-shard parts and merging their replies in
//! argument order, and running a command on every shard.

use std::rc::Rc;

use bytes::Bytes;
use shards::cmd::{CommandSpec, Merge, Route};
use shards::ops::ShardOp;
use shards::{Reply, ShardId};

use crate::base::ids::TxnId;
use crate::runtime::shard::Shard;
use crate::runtime::work::Work;

/// The shard owning every key of the command, if one shard does (keyless: local).
pub fn single_owner(shard: &Shard, spec: &CommandSpec, args: &[Bytes]) -> Option<ShardId> {
    let mut owner = None;
    for pos in spec.key_positions(args) {
        let s = shard.slots.owner_of_key(&args[pos]);
        match owner {
            None => owner = Some(s),
            Some(o) if o != s => return None,
            _ => {}
        }
    }
    Some(owner.unwrap_or(shard.id))
}

/// The shards owning the keys of a command (unsorted, may repeat).
pub fn owners(shard: &Shard, spec: &CommandSpec, args: &[Bytes]) -> Vec<ShardId> {
    spec.key_positions(args)
        .map(|pos| shard.slots.owner_of_key(&args[pos]))
        .collect()
}

/// Groups a split command's keys by owning shard: for each shard, the argument-order
/// index of each of its keys and the arguments of its part (name, then each key with
/// the `step - 1` arguments that follow it).
pub fn split_by_shard(
    shard: &Shard,
    spec: &CommandSpec,
    args: &[Bytes],
) -> Vec<(ShardId, Vec<usize>, Vec<Bytes>)> {
    let step = spec.step.max(1) as usize;
    let mut groups: Vec<(ShardId, Vec<usize>, Vec<Bytes>)> = Vec::new();
    for (n, pos) in spec.key_positions(args).enumerate() {
        let owner = shard.slots.owner_of_key(&args[pos]);
        let g = match groups.iter().position(|g| g.0 == owner) {
            Some(i) => &mut groups[i],
            None => {
                groups.push((owner, Vec::new(), vec![args[0].clone()]));
                groups.last_mut().expect("just pushed")
            }
        };
        g.1.push(n);
        let end = (pos + step).min(args.len());
        g.2.extend_from_slice(&args[pos..end]);
    }
    groups
}

/// Merges per-shard replies of a split or broadcast command. The first error wins.
pub fn merge_positional(merge: Merge, nkeys: usize, parts: Vec<(Reply, Vec<usize>)>) -> Reply {
    if let Some((err, _)) = parts.iter().find(|(r, _)| r.is_error()) {
        return err.clone();
    }
    match merge {
        Merge::Sum => Reply::Int(
            parts
                .iter()
                .map(|(r, _)| if let Reply::Int(i) = r { *i } else { 0 })
                .sum(),
        ),
        Merge::AllOk => Reply::Ok,
        Merge::Concat => Reply::Array(
            parts
                .into_iter()
                .flat_map(|(r, _)| match r {
                    Reply::Array(items) => items,
                    _ => Vec::new(),
                })
                .collect(),
        ),
        Merge::Positional => {
            let mut out = vec![Reply::Nil; nkeys];
            for (r, positions) in parts {
                if let Reply::Array(items) = r {
                    for (item, pos) in items.into_iter().zip(positions) {
                        if let Some(slot) = out.get_mut(pos) {
                            *slot = item;
                        }
                    }
                }
            }
            Reply::Array(out)
        }
    }
}

/// Runs a command on every shard concurrently and merges the answers.
pub async fn broadcast(
    shard: &Rc<Shard>,
    txn: Option<TxnId>,
    spec: &'static CommandSpec,
    merge: Merge,
    db: usize,
    touch: bool,
    args: Vec<Bytes>,
) -> Reply {
    let op = |args: Vec<Bytes>| ShardOp::Cmd {
        spec,
        db,
        touch,
        args,
        track: shards::ops::Track::NONE,
    };
    // Every shard, this one included, through `send_or_run`, which respects holds.
    let mut waiting = Vec::new();
    for s in 0..shard.nshards {
        waiting.push(shard.send_or_run(s, Work::ops(txn, op(args.clone()))));
    }
    let mut parts = Vec::with_capacity(waiting.len());
    for w in waiting {
        parts.push((w.await.into_reply(), Vec::new()));
    }
    merge_positional(merge, 0, parts)
}

/// Runs one command wherever its keys live (split when they span shards) and returns
/// its merged reply. Used by coordinators, which run step by step (as transaction
/// `txn`'s work when they hold the shards).
pub async fn run_spread(
    shard: &Rc<Shard>,
    txn: Option<TxnId>,
    spec: &'static CommandSpec,
    db: usize,
    touch: bool,
    args: Vec<Bytes>,
) -> Reply {
    let groups = split_by_shard(shard, spec, &args);
    let merge = match spec.route {
        Route::Split(m) => m,
        _ => Merge::Sum,
    };
    let nkeys = groups.iter().map(|g| g.1.len()).sum();
    let mut waiting = Vec::new();
    for (owner, positions, part_args) in groups {
        let op = ShardOp::Cmd {
            spec,
            db,
            touch,
            args: part_args,
            track: shards::ops::Track::NONE,
        };
        waiting.push((shard.send_or_run(owner, Work::ops(txn, op)), positions));
    }
    let mut parts = Vec::with_capacity(waiting.len());
    for (w, positions) in waiting {
        parts.push((w.await.into_reply(), positions));
    }
    merge_positional(merge, nkeys, parts)
}
