//! Coordination of commands whose keys live on different shards and that need more than
//! a split. RENAME, RENAMENX, COPY, MSETNX and LCS run as short sequences of entry-level
//! steps; every other multi-key command (SINTERSTORE, LMOVE, ZUNIONSTORE, PFMERGE ...)
//! is *gathered*: its keys' entries are copied into a scratch keyspace, the ordinary
//! handler runs there, and the keys it changed are written back to their owners. The
//! caller holds the involved shards (`atomic::isolated`, or an EXEC's holds) and passes
//! the transaction, so every step runs as that transaction's work and no other client
//! sees a half-done command.

use std::rc::Rc;

use bytes::Bytes;
use shards::cmd::{keys, strings, CommandSpec, Cross};
use shards::ops::{run_op, OpOutput, ShardOp};
use shards::value::Value;
use shards::{Clock, CmdError, Entry, Keyspace, Reply, ShardId};

use crate::base::ids::TxnId;
use crate::coord::atomic;
use crate::coord::spread::{owners, run_spread, single_owner};
use crate::runtime::shard::Shard;
use crate::runtime::work::{Work, WorkDone};

pub async fn run(
    shard: &Rc<Shard>,
    txn: Option<TxnId>,
    kind: Cross,
    spec: &'static CommandSpec,
    db: usize,
    touch: bool,
    args: Vec<Bytes>,
) -> Reply {
    let result = match kind {
        Cross::Rename => rename(shard, txn, db, &args, false).await,
        Cross::RenameNx => rename(shard, txn, db, &args, true).await,
        Cross::Copy => copy(shard, txn, db, &args).await,
        Cross::MsetNx => msetnx(shard, txn, spec, db, touch, args).await,
        Cross::Lcs => lcs(shard, txn, db, &args).await,
        Cross::Gather => Ok(gather(shard, txn, spec, db, touch, args).await),
    };
    result.unwrap_or_else(Reply::Error)
}

pub(crate) async fn op(
    shard: &Rc<Shard>,
    txn: Option<TxnId>,
    to: ShardId,
    op: ShardOp,
) -> OpOutput {
    shard.call(to, Work::ops(txn, op)).await.into_output()
}

pub(crate) fn owner(shard: &Shard, key: &Bytes) -> ShardId {
    shard.slots.owner_of_key(key)
}

pub(crate) async fn get_entry(
    shard: &Rc<Shard>,
    txn: Option<TxnId>,
    db: usize,
    key: &Bytes,
) -> Option<Entry> {
    let to = owner(shard, key);
    let key = key.clone();
    op(shard, txn, to, ShardOp::GetEntry { db, key })
        .await
        .into_entry()
}

async fn put_entry(
    shard: &Rc<Shard>,
    txn: Option<TxnId>,
    db: usize,
    key: &Bytes,
    entry: Entry,
    replace: bool,
) -> bool {
    let to = owner(shard, key);
    let key = key.clone();
    let out = op(
        shard,
        txn,
        to,
        ShardOp::PutEntry {
            db,
            key,
            entry,
            replace,
        },
    )
    .await;
    out.into_reply() == Reply::Int(1)
}

async fn rename(
    shard: &Rc<Shard>,
    txn: Option<TxnId>,
    db: usize,
    args: &[Bytes],
    nx: bool,
) -> Result<Reply, CmdError> {
    let (src, dst) = (&args[1], &args[2]);
    if nx {
        if get_entry(shard, txn, db, src).await.is_none() {
            return Err(CmdError::NoSuchKey);
        }
        if get_entry(shard, txn, db, dst).await.is_some() {
            return Ok(Reply::Int(0));
        }
    }
    let from = owner(shard, src);
    let taken = op(
        shard,
        txn,
        from,
        ShardOp::TakeEntry {
            db,
            key: src.clone(),
        },
    )
    .await;
    let entry = taken.into_entry().ok_or(CmdError::NoSuchKey)?;
    put_entry(shard, txn, db, dst, entry, true).await;
    shard.notify_generic(db, "rename_from", src);
    shard.notify_generic(db, "rename_to", dst);
    Ok(if nx { Reply::Int(1) } else { Reply::Ok })
}

async fn copy(
    shard: &Rc<Shard>,
    txn: Option<TxnId>,
    db: usize,
    args: &[Bytes],
) -> Result<Reply, CmdError> {
    let dbs = shard.ks.borrow().db_count();
    let (dest_db, replace) = keys::parse_copy_options(args, db, dbs)?;
    let Some(entry) = get_entry(shard, txn, db, &args[1]).await else {
        return Ok(Reply::Int(0));
    };
    let stored = put_entry(shard, txn, dest_db, &args[2], entry, replace).await;
    if stored {
        shard.notify_generic(dest_db, "copy_to", &args[2]);
    }
    Ok(Reply::Int(stored as i64))
}

async fn msetnx(
    shard: &Rc<Shard>,
    txn: Option<TxnId>,
    spec: &'static CommandSpec,
    db: usize,
    touch: bool,
    args: Vec<Bytes>,
) -> Result<Reply, CmdError> {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity(spec.name.into()));
    }
    let exists = shards::lookup(b"exists").expect("exists is in the table");
    let mut probe = vec![Bytes::from_static(b"EXISTS")];
    probe.extend(args[1..].iter().step_by(2).cloned());
    if run_spread(shard, txn, exists, db, touch, probe).await != Reply::Int(0) {
        return Ok(Reply::Int(0));
    }
    let mset = shards::lookup(b"mset").expect("mset is in the table");
    match run_spread(shard, txn, mset, db, touch, args).await {
        Reply::Error(e) => Err(e),
        _ => Ok(Reply::Int(1)),
    }
}

async fn lcs(
    shard: &Rc<Shard>,
    txn: Option<TxnId>,
    db: usize,
    args: &[Bytes],
) -> Result<Reply, CmdError> {
    let a = string_of(get_entry(shard, txn, db, &args[1]).await)?;
    let b = string_of(get_entry(shard, txn, db, &args[2]).await)?;
    Ok(strings::lcs_reply(&a, &b, args))
}

fn string_of(entry: Option<Entry>) -> Result<Vec<u8>, CmdError> {
    match entry.map(|e| e.value) {
        None => Ok(Vec::new()),
        Some(Value::Str(s)) => Ok(s.to_vec()),
        #[allow(unreachable_patterns)]
        Some(_) => Err(CmdError::other(
            "ERR The specified keys must contain string values",
        )),
    }
}

/// Runs a multi-key command whose keys span shards on copies of its keys' entries, then
/// writes back (or deletes) every key whose value or TTL changed. Inside a transaction
/// (`txn`) the steps travel as that transaction's work to the shards it holds.
pub async fn gather(
    shard: &Rc<Shard>,
    txn: Option<TxnId>,
    spec: &'static CommandSpec,
    db: usize,
    touch: bool,
    args: Vec<Bytes>,
) -> Reply {
    let keys = distinct_keys(spec, &args);
    let mut copies = Copies::fetch(shard, txn, db, keys).await;
    // Keyspace notifications of the write, from its keys before and after it ran on
    // the copies (published from here).
    let flags = shard.notify.get();
    let noticed = (spec.has(shards::cmd::flags::WRITE)
        && flags & shards::notify::WRITE_EVENTS != 0
        && flags & (shards::notify::KEYSPACE | shards::notify::KEYEVENT) != 0)
        .then(|| {
            let keys: Vec<Bytes> = spec.key_positions(&args).map(|i| args[i].clone()).collect();
            let before: Vec<bool> = keys.iter().map(|k| copies.scratch.exists(db, k)).collect();
            (keys, before, args.clone())
        });
    let op = ShardOp::Cmd {
        spec,
        db,
        touch,
        args,
        track: shards::ops::Track::NONE,
    };
    copies.scratch.raise_events = noticed.is_some();
    let reply = run_op(&mut copies.scratch, op).into_reply();
    let raised = std::mem::take(&mut copies.scratch.raised);
    if let (Some((keys, before, args)), false) = (noticed, reply.is_error()) {
        let after: Vec<bool> = keys.iter().map(|k| copies.scratch.exists(db, k)).collect();
        let derived = shards::notify::events(spec, &args, &reply, &keys, &before, &after);
        shard.publish_events(flags, db, derived, raised);
    }
    copies.write_back(shard, txn).await;
    reply
}

/// Whether a SORT / SORT_RO's BY or GET patterns may name keys (of any shard).
pub fn sort_reads_patterns(spec: &CommandSpec, args: &[Bytes]) -> bool {
    matches!(spec.name, "sort" | "sort_ro")
        && !shards::cmd::sort::key_patterns(args, spec.name == "sort_ro").is_empty()
}

/// The keys a SORT / SORT_RO's BY and GET patterns name for the elements of its sorted
/// key in `ks` (none for any other command).
pub fn sort_named_keys(ks: &Keyspace, db: usize, spec: &CommandSpec, args: &[Bytes]) -> Vec<Bytes> {
    if !sort_reads_patterns(spec, args) {
        return Vec::new();
    }
    let patterns = shards::cmd::sort::key_patterns(args, spec.name == "sort_ro");
    ks.peek_entry(db, &args[1])
        .map(|e| shards::cmd::sort::keys_read(e.value(), &patterns))
        .unwrap_or_default()
        .into_iter()
        .map(Bytes::from)
        .collect()
}

/// SORT / SORT_RO whose BY or GET patterns name keys: runs on copies of the sorted key,
/// the STORE key and every key the patterns name for the sorted key's elements, then
/// writes back the STORE key. The caller holds every shard (`txn`), so the elements
/// and the keys they name cannot change in between.
pub async fn sort_with_patterns(
    shard: &Rc<Shard>,
    txn: TxnId,
    spec: &'static CommandSpec,
    db: usize,
    touch: bool,
    args: Vec<Bytes>,
) -> Reply {
    let keys = distinct_keys(spec, &args);
    let mut copies = Copies::fetch(shard, Some(txn), db, keys).await;
    let named = sort_named_keys(&copies.scratch, db, spec, &args);
    copies.add(shard, txn, named, None).await;
    let op = ShardOp::Cmd {
        spec,
        db,
        touch,
        args,
        track: shards::ops::Track::NONE,
    };
    let reply = run_op(&mut copies.scratch, op).into_reply();
    copies.write_back(shard, Some(txn)).await;
    reply
}

/// A command's keys, each once, in argument order.
fn distinct_keys(spec: &CommandSpec, args: &[Bytes]) -> Vec<Bytes> {
    let mut keys: Vec<Bytes> = Vec::new();
    for pos in spec.key_positions(args) {
        if !keys.contains(&args[pos]) {
            keys.push(args[pos].clone());
        }
    }
    keys
}

/// Runs one command once wherever its keys are (one shard, or gathered from several)
/// and returns its reply. Blocking commands use it for their non-blocking attempts.
pub async fn attempt(
    shard: &Rc<Shard>,
    spec: &'static CommandSpec,
    db: usize,
    touch: bool,
    args: Vec<Bytes>,
) -> Reply {
    match single_owner(shard, spec, &args) {
        Some(owner) => {
            let op = ShardOp::Cmd {
                spec,
                db,
                touch,
                args,
                track: shards::ops::Track::NONE,
            };
            shard
                .send_or_run(owner, Work::Ops(vec![op]))
                .await
                .into_reply()
        }
        None => {
            let involved = owners(shard, spec, &args);
            atomic::isolated(shard, involved, |txn| {
                run(shard, Some(txn), Cross::Gather, spec, db, touch, args)
            })
            .await
        }
    }
}

/// Copies of some keys' entries in a scratch keyspace, and the entries as they were.
pub struct Copies {
    pub db: usize,
    pub keys: Vec<Bytes>,
    before: Vec<Option<Entry>>,
    pub scratch: Keyspace,
}

impl Copies {
    /// Fetches the entries of `keys` (distinct) from their owners, concurrently.
    pub async fn fetch(
        shard: &Rc<Shard>,
        txn: Option<TxnId>,
        db: usize,
        keys: Vec<Bytes>,
    ) -> Copies {
        let mut waiting = Vec::with_capacity(keys.len());
        for key in &keys {
            let op = ShardOp::GetEntry {
                db,
                key: key.clone(),
            };
            waiting.push(shard.send_or_run(owner(shard, key), Work::ops(txn, op)));
        }
        let mut before: Vec<Option<Entry>> = Vec::with_capacity(keys.len());
        for w in waiting {
            before.push(w.await.into_output().into_entry());
        }
        Copies::new(shard, db, keys, before)
    }

    /// Fetches the entries of `keys` (distinct) and locks them for `txn`: one
    /// `Work::LockRun` per owning shard, in ascending shard order (see `atomic`); the
    /// shards are added to `locked`.
    pub async fn fetch_locking(
        shard: &Rc<Shard>,
        txn: TxnId,
        db: usize,
        keys: Vec<Bytes>,
        locked: &mut Vec<ShardId>,
    ) -> Copies {
        let mut owners: Vec<ShardId> = keys.iter().map(|k| owner(shard, k)).collect();
        owners.sort_unstable();
        owners.dedup();
        let mut before: Vec<Option<Entry>> = vec![None; keys.len()];
        for s in owners {
            let mine: Vec<usize> = (0..keys.len())
                .filter(|&i| owner(shard, &keys[i]) == s)
                .collect();
            let ops = mine
                .iter()
                .map(|&i| ShardOp::GetEntry {
                    db,
                    key: keys[i].clone(),
                })
                .collect();
            if let WorkDone::Ops(outs) = shard.call(s, Work::LockRun(txn, ops)).await {
                for (i, out) in mine.into_iter().zip(outs) {
                    before[i] = out.into_entry();
                }
            }
            if !locked.contains(&s) {
                locked.push(s);
            }
        }
        Copies::new(shard, db, keys, before)
    }

    fn new(shard: &Shard, db: usize, keys: Vec<Bytes>, before: Vec<Option<Entry>>) -> Copies {
        let mut copies = Copies {
            db,
            keys,
            before,
            scratch: Keyspace::new(1, Clock::manual(0).0),
        };
        copies.reset(shard);
        copies
    }

    /// Rebuilds the scratch keyspace from the entries as they were fetched.
    fn reset(&mut self, shard: &Shard) {
        let (now, config, dbs) = {
            let ks = shard.ks.borrow();
            (ks.now(), ks.config.clone(), ks.db_count())
        };
        let (clock, _) = Clock::manual(now);
        self.scratch = Keyspace::new(dbs.max(self.db + 1), clock);
        self.scratch.config = config;
        for (key, entry) in self.keys.iter().zip(&self.before) {
            if let Some(e) = entry {
                self.scratch.put_entry(self.db, key, e.clone());
            }
        }
    }

    /// Adds copies of more keys (locking them for `txn` when `locked` is given) and
    /// resets the scratch keyspace to the entries as they were fetched (a script that
    /// asked for more keys runs again from the start).
    pub async fn add(
        &mut self,
        shard: &Rc<Shard>,
        txn: TxnId,
        more: Vec<Bytes>,
        locked: Option<&mut Vec<ShardId>>,
    ) {
        let more: Vec<Bytes> = more
            .into_iter()
            .filter(|k| !self.keys.contains(k))
            .collect();
        let extra = match locked {
            Some(locked) => Copies::fetch_locking(shard, txn, self.db, more, locked).await,
            None => Copies::fetch(shard, Some(txn), self.db, more).await,
        };
        self.keys.extend(extra.keys);
        self.before.extend(extra.before);
        self.reset(shard);
    }

    /// Writes every key whose value or TTL changed in the scratch keyspace back to its
    /// owner (or deletes it there).
    pub async fn write_back(self, shard: &Rc<Shard>, txn: Option<TxnId>) {
        let Copies {
            db,
            keys,
            before,
            mut scratch,
        } = self;
        let mut writes = Vec::new();
        for (key, old) in keys.iter().zip(before) {
            let new = scratch.lookup(db, key).map(|e| e.to_entry());
            let same = match (&old, &new) {
                (None, None) => true,
                (Some(a), Some(b)) => a.value == b.value && a.expire_at == b.expire_at,
                _ => false,
            };
            if same {
                continue;
            }
            let op = match new {
                Some(entry) => ShardOp::PutEntry {
                    db,
                    key: key.clone(),
                    entry,
                    replace: true,
                },
                None => ShardOp::TakeEntry {
                    db,
                    key: key.clone(),
                },
            };
            writes.push(shard.send_or_run(owner(shard, key), Work::ops(txn, op)));
        }
        for w in writes {
            w.await;
        }
    }
}
