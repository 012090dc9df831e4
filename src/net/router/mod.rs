//! Routing of one read batch: every command is validated against the command table,
//! its keys are mapped to owning shards, local work runs inline at once, and work for
//! each remote shard is gathered into one mailbox message per shard. Commands that
//! must see everything before them (broadcasts, cross-shard coordination, most server
//! commands) first flush what is queued. Replies are encoded in request order.
//! `waits.rs`: commands that wait or take a path of their own (blocking commands,
//! CLIENT PAUSE, locked keys, SORT with patterns); `settle.rs`: validating multi-shard
//! reads and running multi-shard writes before what follows them.

use std::rc::Rc;

use bytes::Bytes;
use shards::cmd::{flags, subcommands, CommandSpec, KeyScheme, Merge, Route};
use shards::ops::ShardOp;
use shards::{CmdError, Reply, ShardId};

use std::time::Instant;

use crate::base::resp;

mod settle;
mod waits;
use crate::commands::table::{server_cmd, server_row, ServerCmd};
use crate::commands::{self as admin, script, txn};
use crate::coord::spread::{
    broadcast, merge_positional, owners, run_spread, single_owner, split_by_shard,
};
use crate::coord::{atomic, cross};
use crate::net::measure::{Measure, Recorder, Timing};
use crate::runtime::clients::{ClientHandle, ReplyMode};
use crate::runtime::shard::Shard;
use crate::runtime::work::{Work, WorkDone};
use crate::runtime::{blocking, pause};

/// Replies of one batch beyond this many bytes pause the batch (`Flow::Pause`).
const PAUSE_AT: usize = 1 << 20;
/// Ops queued for other shards before the batch sends them and looks at the size of
/// their answers: at most this many, fewer while answers are large (so a pipeline of
/// big remote reads copies about `PAUSE_AT` bytes before the batch pauses).
const REMOTE_CHUNK: usize = 64;
/// The chunk while this client's answer sizes are not known yet.
const REMOTE_CHUNK_FIRST: usize = 4;

/// What the connection does after a batch.
pub enum Flow {
    Continue,
    Close,
    /// The replies so far are large: send them, then run the rest of the batch (so a
    /// client that pipelines many big reads while not reading its replies holds a
    /// bounded amount of the server's memory).
    Pause(Vec<Vec<Bytes>>),
    /// A blocking command found no data: the connection waits (see `conn`), then runs
    /// the rest of the batch.
    Block(Box<Blocked>),
}

/// A blocking command waiting for data, and the commands pipelined after it.
pub struct Blocked {
    pub spec: &'static CommandSpec,
    pub args: Vec<Bytes>,
    pub db: usize,
    pub timeout_ms: Option<u64>,
    /// The reply when the timeout expires.
    pub nil: Reply,
    pub proto: u8,
    pub silent: bool,
    pub rest: Vec<Vec<Bytes>>,
}

/// Where a command's reply will come from.
enum Slot {
    Done(Reply),
    /// A PUBLISH: receivers here, and the other shards' answers (`settle` adds them).
    Publish(usize, Vec<futures_channel::oneshot::Receiver<WorkDone>>),
    /// The `idx`-th op answer of shard `shard` in this batch.
    Remote(ShardId, usize),
    /// Parts of a split command: each part's answer and the argument-order position of
    /// each of its keys.
    Split {
        merge: Merge,
        nkeys: usize,
        parts: Vec<(Part, Vec<usize>)>,
    },
}

enum Part {
    Local(Reply),
    Remote(ShardId, usize),
}

struct Pending {
    slot: Slot,
    proto: u8,
    silent: bool,
    timing: Option<Timing>,
}

/// An optimistic read over several shards awaiting validation (see `Batch::settle`).
struct ReadCheck {
    /// Its reply slot in `pending`.
    pending: usize,
    spec: &'static CommandSpec,
    args: Vec<Bytes>,
    db: usize,
    touch: bool,
    /// Each involved shard's hold epoch, read with the part, and the part's keys.
    epochs: Vec<(ShardId, Part, Vec<Bytes>)>,
}

/// A write split over several shards, waiting to run with the ones after it.
struct SpreadWrite {
    pending: usize,
    spec: &'static CommandSpec,
    merge: Merge,
    args: Vec<Bytes>,
    db: usize,
    touch: bool,
    track: shards::ops::Track,
}

/// One read batch in flight.
pub struct Batch<'a> {
    shard: &'a Rc<Shard>,
    client: &'a Rc<ClientHandle>,
    pending: Vec<Pending>,
    /// Ops queued per shard since the last flush.
    queued: Vec<Vec<ShardOp>>,
    /// Answers received per shard in this batch, in queue order.
    answers: Vec<Vec<Option<Reply>>>,
    /// Optimistic reads not yet validated.
    checks: Vec<ReadCheck>,
    /// Multi-shard writes not yet run.
    writes: Vec<SpreadWrite>,
    /// A script was past its busy threshold when the batch started.
    script_busy: bool,
    /// PUBLISH replies not yet added up (`settle` does).
    publishes: usize,
    /// About how many bytes the replies so far take.
    out_bytes: usize,
    /// Ops queued for other shards since the last flush.
    remote_queued: usize,
    /// The owner of the current command's first key, when the batch knows it already.
    first_owner: Option<ShardId>,
    /// A server command ran in this batch.
    ran_server: bool,
    /// The current command's CLIENT TRACKING part (`runtime::tracking`).
    track: shards::ops::Track,
    /// INFO commandstats and the slow log (`net/measure.rs`).
    measure: Measure,
}

impl<'a> Batch<'a> {
    pub fn new(shard: &'a Rc<Shard>, client: &'a Rc<ClientHandle>) -> Self {
        let n = shard.nshards;
        Batch {
            shard,
            client,
            pending: Vec::new(),
            queued: (0..n).map(|_| Vec::new()).collect(),
            answers: (0..n).map(|_| Vec::new()).collect(),
            checks: Vec::new(),
            writes: Vec::new(),
            script_busy: script::busy_error(shard).is_some(),
            publishes: 0,
            out_bytes: 0,
            remote_queued: 0,
            first_owner: None,
            ran_server: false,
            track: shards::ops::Track::NONE,
            measure: Measure::new(shard, client),
        }
    }

    /// Routes and runs every command, then encodes all replies into `out`.
    pub async fn run(mut self, cmds: Vec<Vec<Bytes>>, out: &mut Vec<u8>) -> Flow {
        let now = {
            let mut ks = self.shard.ks.borrow_mut();
            ks.tick();
            ks.now()
        };
        self.client.info.borrow_mut().last_ms = now;
        let specs: Vec<Option<&'static CommandSpec>> =
            cmds.iter().map(|args| shards::lookup(&args[0])).collect();
        let mut owners = if cmds.len() > 1 {
            self.prefetch(&cmds, &specs)
        } else {
            Vec::new()
        }
        .into_iter();
        let mut flow = Flow::Continue;
        let mut cmds = cmds.into_iter().zip(specs);
        // The reply slots of the command running now start here.
        let mut from = 0;
        while let Some((args, spec)) = cmds.next() {
            // A server command may have moved slots (CLUSTER SETSLOT): from then on the
            // batch hashes keys again.
            self.first_owner = owners.next().flatten().filter(|_| !self.ran_server);
            if self.client.killed.get() {
                flow = Flow::Close;
                break;
            }
            let now = self.end_inline(from);
            from = self.pending.len();
            // The subcommand it names, looked up once for the stats, CLIENT LIST and
            // the argument count.
            let sub = spec.and_then(|spec| subcommands::called(spec, &args));
            self.measure.begin(spec, sub, &args, now);
            match self.dispatch(args, spec, sub).await {
                Flow::Continue | Flow::Pause(_) => {}
                Flow::Close => {
                    flow = Flow::Close;
                    break;
                }
                Flow::Block(mut blocked) => {
                    blocked.rest = cmds.map(|(args, _)| args).collect();
                    flow = Flow::Block(blocked);
                    break;
                }
            }
            if self.remote_queued >= self.remote_chunk() {
                self.flush().await;
            }
            if self.out_bytes > PAUSE_AT && cmds.len() > 0 {
                flow = Flow::Pause(cmds.map(|(args, _)| args).collect());
                break;
            }
        }
        self.end_inline(from);
        self.settle().await;
        self.encode(out);
        flow
    }

    /// The clock now; the command whose reply slots start at `from` ends now if it
    /// was answered inline.
    fn end_inline(&mut self, from: usize) -> Instant {
        let now = Instant::now();
        for p in &mut self.pending[from..] {
            if let (Slot::Done(_), Some(t)) = (&p.slot, &mut p.timing) {
                t.end_at(now);
            }
        }
        now
    }

    /// Starts loading the hash buckets, then the first nodes, of every local key in the
    /// batch, so the lookups that follow find them in cache. Returns the owner of each
    /// command's first key (not, say, EVAL's script body), so routing needs not hash it
    /// again.
    fn prefetch(
        &self,
        cmds: &[Vec<Bytes>],
        specs: &[Option<&'static CommandSpec>],
    ) -> Vec<Option<ShardId>> {
        let ks = self.shard.ks.borrow();
        let db = self.client.info.borrow().db;
        let mut local = Vec::with_capacity(cmds.len());
        let owners = cmds
            .iter()
            .zip(specs)
            .map(|(args, spec)| {
                let pos = spec.as_ref()?.key_positions(args).next()?;
                let key = &args[pos];
                let owner = self.shard.slots.owner_of_key(key);
                if owner == self.shard.id {
                    local.push(key);
                }
                Some(owner)
            })
            .collect();
        for stage in 0..2 {
            for key in &local {
                ks.prefetch(db, key, stage);
            }
        }
        owners
    }

    /// Replication's refusals, as Redis words them: a replica's link down with
    /// `replica-serve-stale-data no`, a client's write on a replica, a write on a
    /// primary short of `min-replicas-to-write` good replicas.
    fn replication_refusal(&self, spec: &CommandSpec) -> Option<&'static str> {
        use crate::runtime::{replicas, upstream};
        if upstream::refuses_stale() && !spec.has(flags::STALE) {
            return Some(
                "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            );
        }
        if !spec.has(flags::WRITE) {
            return None;
        }
        if upstream::is_replica() {
            (!self.client.master_link.get() && upstream::read_only())
                .then_some("READONLY You can't write against a read only replica.")
        } else if replicas::too_few_for_writes() {
            Some("NOREPLICAS Not enough good replicas to write.")
        } else {
            None
        }
    }

    /// The protocol of the next reply and whether CLIENT REPLY suppresses it.
    fn reply_mode(&self) -> (u8, bool) {
        let mut info = self.client.info.borrow_mut();
        let silent = match info.reply {
            ReplyMode::On => false,
            ReplyMode::Off => true,
            ReplyMode::Skip => {
                info.reply = ReplyMode::On;
                true
            }
            ReplyMode::SkipArmed => {
                info.reply = ReplyMode::Skip;
                true
            }
        };
        (info.resp, silent)
    }

    fn push(&mut self, slot: Slot) {
        let (proto, silent) = self.reply_mode();
        let timing = self.measure.take();
        self.pending.push(Pending {
            slot,
            proto,
            silent,
            timing,
        });
    }

    fn reply(&mut self, r: Reply) {
        self.out_bytes += resp::approx_len(&r);
        self.push(Slot::Done(r));
    }

    async fn dispatch(
        &mut self,
        args: Vec<Bytes>,
        spec: Option<&'static CommandSpec>,
        sub: Option<usize>,
    ) -> Flow {
        let spec = match spec {
            Some(spec) => spec,
            None => {
                self.refuse_in_multi();
                self.reply(unknown_command(&args).into());
                return Flow::Continue;
            }
        };
        {
            let mut st = self.shard.stats.borrow_mut();
            st.commands += 1;
        }
        {
            let mut info = self.client.info.borrow_mut();
            info.last_cmd.clear();
            info.last_cmd
                .push_str(sub.map_or(spec.name, subcommands::name));
        }
        if let Some(name) = subcommands::arity_error_of(spec, sub, args.len()) {
            self.refuse_in_multi();
            self.reply(CmdError::WrongArity(name.into()).into());
            return Flow::Continue;
        }
        if !spec.has(flags::NO_AUTH) && !self.authenticated() {
            self.refuse_in_multi();
            self.reply(CmdError::other("NOAUTH Authentication required.").into());
            return Flow::Continue;
        }
        if !spec.has(flags::NO_AUTH) {
            if let Some(e) = self.acl_refusal(spec, &args) {
                self.refuse_in_multi();
                self.reply(e.into());
                return Flow::Continue;
            }
        }
        self.track = self.client.track_command(spec);
        crate::commands::monitor::feed(self.shard, self.client, spec, &args);
        if let Err(e) = crate::commands::pubsub::allowed_when_subscribed(self.client, spec) {
            self.refuse_in_multi();
            self.reply(e.into());
            return Flow::Continue;
        }
        if self.script_busy && !script::allowed_while_busy(spec, &args) {
            if let Some(busy) = script::busy_error(self.shard) {
                self.refuse_in_multi();
                self.reply(busy);
                return Flow::Continue;
            }
        }
        if pause::maybe_paused() {
            self.wait_while_paused(spec).await;
        }
        // The primary's stream is applied whatever this replica's slots (Redis's
        // replicas obey their master alike).
        if crate::commands::cluster::enabled() && !self.client.master_link.get() {
            match crate::commands::cluster::check(self.shard, self.client, spec, &args) {
                crate::commands::cluster::Verdict::Pass => {}
                crate::commands::cluster::Verdict::Refuse(r) => {
                    self.refuse_in_multi();
                    if server_cmd(spec) == Some(ServerCmd::Exec) {
                        // A refused EXEC discards the transaction, WATCHes included.
                        txn::unwatch(self.shard, self.client).await;
                    }
                    self.reply(r);
                    return Flow::Continue;
                }
                crate::commands::cluster::Verdict::Here => {
                    if !self.checks.is_empty() || !self.writes.is_empty() {
                        self.settle().await;
                    }
                    self.wait_for_locks(spec, &args).await;
                    self.queue_whole(spec, self.shard.id, args);
                    return Flow::Continue;
                }
            }
        }
        if let Some(e) = self.replication_refusal(spec) {
            self.refuse_in_multi();
            self.reply(CmdError::other(e).into());
            return Flow::Continue;
        }
        let now_in_multi = server_row(spec).is_some_and(|r| r.now_in_multi);
        if !now_in_multi && self.client.multi.borrow().is_some() {
            // Queueing takes memory too: over maxmemory, Redis refuses every command
            // inside MULTI (and EXEC then aborts).
            if self.shard.out_of_memory() {
                self.refuse_in_multi();
                self.reply(CmdError::OutOfMemory.into());
                return Flow::Continue;
            }
            // SAVE, SHUTDOWN, PSYNC ...: refused there, and the transaction aborts.
            if spec.has(flags::NO_MULTI) {
                self.refuse_in_multi();
                self.reply(CmdError::other("ERR Command not allowed inside a transaction").into());
                return Flow::Continue;
            }
            if let Some(m) = self.client.multi.borrow_mut().as_mut() {
                m.queued.push((spec, args));
            }
            self.measure.skip();
            self.reply(Reply::Status("QUEUED".into()));
            return Flow::Continue;
        }
        // Multi-shard reads are validated, and multi-shard writes run, before anything
        // else runs after them.
        if !self.checks.is_empty() || !self.writes.is_empty() {
            let spread = self.spread_kind(spec, &args);
            if (!self.checks.is_empty() && spread != Some(false))
                || (!self.writes.is_empty() && spread != Some(true))
            {
                self.settle().await;
            }
        }
        self.wait_for_locks(spec, &args).await;
        if spec.has(flags::BLOCKING) && blocking::may_block(spec, &args) {
            return self.blocking(spec, args).await;
        }
        if spec.name.starts_with("sort") && crate::commands::cluster::enabled() {
            if let Some(e) = shards::cmd::sort::cluster_refusal(&args) {
                self.reply(CmdError::other(e).into());
                return Flow::Continue;
            }
        }
        if self.shard.nshards > 1
            && spec.name.starts_with("sort")
            && cross::sort_reads_patterns(spec, &args)
        {
            self.sort_with_patterns(spec, args).await;
            return Flow::Continue;
        }
        match spec.route {
            Route::Server => self.server(spec, args).await,
            Route::Local => {
                self.keyed(spec, args);
                Flow::Continue
            }
            Route::Split(merge) => {
                self.split(spec, merge, args).await;
                Flow::Continue
            }
            Route::Cross(kind) => {
                match self.single_owner(spec, &args) {
                    Some(owner) => self.queue_whole(spec, owner, args),
                    None => {
                        self.flush().await;
                        let (db, touch) = self.db_touch();
                        let shard = self.shard;
                        let involved = owners(shard, spec, &args);
                        let r = atomic::isolated(shard, involved, |txn| {
                            cross::run(shard, Some(txn), kind, spec, db, touch, args)
                        })
                        .await;
                        self.reply(r);
                    }
                }
                Flow::Continue
            }
            Route::Broadcast(merge) => {
                self.flush().await;
                let (db, touch) = self.db_touch();
                let shard = self.shard;
                let r = if spec.has(flags::WRITE) {
                    // FLUSHALL, SWAPDB ...: no reader sees some shards done, others not.
                    let all = (0..shard.nshards).collect();
                    atomic::isolated(shard, all, |txn| {
                        broadcast(shard, Some(txn), spec, merge, db, touch, args)
                    })
                    .await
                } else {
                    broadcast(shard, None, spec, merge, db, touch, args).await
                };
                self.reply(r);
                Flow::Continue
            }
        }
    }

    /// The command is refused: it counts as a rejected call, and a transaction it
    /// was meant for aborts at EXEC.
    fn refuse_in_multi(&mut self) {
        self.measure.reject();
        if let Some(m) = self.client.multi.borrow_mut().as_mut() {
            m.dirty = true;
        }
    }

    fn authenticated(&self) -> bool {
        let info = self.client.info.borrow();
        info.authenticated || crate::runtime::acl::default_open()
    }

    /// The client's user may run this command (Redis's NOPERM otherwise, logged in ACL
    /// LOG). A client whose user was deleted is closed.
    fn acl_refusal(&self, spec: &CommandSpec, args: &[Bytes]) -> Option<CmdError> {
        if self.client.trusted.get() {
            return None;
        }
        if !self.client.refresh_user() {
            self.client.kill();
            return Some(CmdError::other(
                "ERR the user of this connection was deleted",
            ));
        }
        let user = self.client.user.borrow();
        if user.open {
            return None;
        }
        let denied = crate::runtime::acl::check::check(&user, spec, args).err()?;
        drop(user);
        let context = crate::commands::acl::context(self.client);
        Some(crate::commands::acl::denied(self.client, &denied, context))
    }

    fn db_touch(&self) -> (usize, bool) {
        self.client.db_touch()
    }

    fn single_owner(&self, spec: &CommandSpec, args: &[Bytes]) -> Option<ShardId> {
        single_owner(self.shard, spec, args)
    }

    /// For a command split over several shards, whether it writes (see `settle`).
    fn spread_kind(&self, spec: &CommandSpec, args: &[Bytes]) -> Option<bool> {
        (matches!(spec.route, Route::Split(_)) && self.single_owner(spec, args).is_none())
            .then(|| spec.has(flags::WRITE))
    }

    fn keyed(&mut self, spec: &'static CommandSpec, args: Vec<Bytes>) {
        let one_key = spec.first_key > 0
            && spec.first_key == spec.last_key
            && matches!(spec.keys, KeyScheme::Range);
        if let (true, Some(owner)) = (one_key, self.first_owner) {
            return self.queue_whole(spec, owner, args);
        }
        let owner = self.single_owner(spec, &args).unwrap_or_else(|| {
            // A single-key row never spans shards; route by its first key regardless.
            let first = spec.key_positions(&args).next().unwrap_or(0);
            self.shard.slots.owner_of_key(&args[first])
        });
        self.queue_whole(spec, owner, args);
    }

    fn op(&self, spec: &'static CommandSpec, args: Vec<Bytes>) -> ShardOp {
        let (db, touch) = self.db_touch();
        ShardOp::Cmd {
            spec,
            db,
            touch,
            args,
            track: self.track,
        }
    }

    /// Runs the whole command on `owner`: inline when local, else queued.
    fn queue_whole(&mut self, spec: &'static CommandSpec, owner: ShardId, args: Vec<Bytes>) {
        let op = self.op(spec, args);
        let part = self.place(owner, op);
        let slot = match part {
            Part::Local(r) => Slot::Done(r),
            Part::Remote(s, i) => Slot::Remote(s, i),
        };
        self.push(slot);
    }

    fn place(&mut self, owner: ShardId, op: ShardOp) -> Part {
        if owner == self.shard.id {
            let reply = self.shard.apply(op).into_reply();
            self.out_bytes += resp::approx_len(&reply);
            Part::Local(reply)
        } else {
            let idx = self.answers[owner].len() + self.queued[owner].len();
            self.queued[owner].push(op);
            self.remote_queued += 1;
            Part::Remote(owner, idx)
        }
    }

    async fn split(&mut self, spec: &'static CommandSpec, merge: Merge, args: Vec<Bytes>) {
        // Key/value pairs must be complete before any shard runs its part.
        let step = spec.step.max(1) as usize;
        if !(args.len() - spec.first_key as usize).is_multiple_of(step) {
            self.reply(CmdError::WrongArity(spec.name.into()).into());
            return;
        }
        if let Some(owner) = self.single_owner(spec, &args) {
            return self.queue_whole(spec, owner, args);
        }
        let (db, touch) = self.db_touch();
        if spec.has(flags::WRITE) {
            // MSET, DEL ... over several shards: consecutive ones run together under
            // holds in `settle`, all or nothing visible to other clients.
            self.writes.push(SpreadWrite {
                pending: self.pending.len(),
                spec,
                merge,
                args,
                db,
                touch,
                track: self.track,
            });
            return self.reply(Reply::Nil);
        }
        // A read (MGET, EXISTS) runs optimistically: each part notes its shard's hold
        // epoch, and `settle` checks that none changed before the reply counts.
        let groups = split_by_shard(self.shard, spec, &args);
        let nkeys = groups.iter().map(|g| g.1.len()).sum();
        let mut parts = Vec::with_capacity(groups.len());
        let mut epochs = Vec::with_capacity(groups.len());
        for (owner, positions, part_args) in groups {
            let keys = spec
                .key_positions(&part_args)
                .map(|p| part_args[p].clone())
                .collect();
            let op = self.op(spec, part_args);
            parts.push((self.place(owner, op), positions));
            epochs.push((owner, self.place(owner, ShardOp::Epoch), keys));
        }
        self.checks.push(ReadCheck {
            pending: self.pending.len(),
            spec,
            args,
            db,
            touch,
            epochs,
        });
        self.push(Slot::Split {
            merge,
            nkeys,
            parts,
        });
    }

    /// Sends every queued op batch (one message per shard) and collects the answers.
    /// How many remote ops to queue before sending them (see `REMOTE_CHUNK`).
    fn remote_chunk(&self) -> usize {
        match self.client.remote_answer_bytes.get() {
            0 => REMOTE_CHUNK_FIRST,
            size => (PAUSE_AT / size).clamp(1, REMOTE_CHUNK),
        }
    }

    pub async fn flush(&mut self) {
        self.remote_queued = 0;
        let mut waiting = Vec::new();
        for s in 0..self.queued.len() {
            if self.queued[s].is_empty() {
                continue;
            }
            let ops = std::mem::take(&mut self.queued[s]);
            waiting.push((s, self.shard.send(s, Work::Ops(ops))));
        }
        let (mut bytes, mut count) = (0, 0);
        for (s, rx) in waiting {
            if let Ok(WorkDone::Ops(outs)) = rx.await {
                for o in outs {
                    let reply = o.into_reply();
                    bytes += resp::approx_len(&reply);
                    count += 1;
                    self.answers[s].push(Some(reply));
                }
            }
        }
        self.out_bytes += bytes;
        if let Some(each) = bytes.checked_div(count) {
            self.client.remote_answer_bytes.set(each.max(1));
        }
    }

    async fn server(&mut self, spec: &'static CommandSpec, args: Vec<Bytes>) -> Flow {
        if let Some(cmd @ (ServerCmd::Publish | ServerCmd::SPublish)) = server_cmd(spec) {
            // Not awaited here: a pipeline's PUBLISHes reach each peer in one message.
            let sharded = cmd == ServerCmd::SPublish;
            let (local, remote) = self.shard.publish(sharded, &args[1], &args[2]);
            self.push(Slot::Publish(local, remote));
            self.publishes += 1;
            return Flow::Continue;
        }
        self.ran_server = true;
        if !server_row(spec).is_some_and(|r| r.inline) {
            self.flush().await;
        }
        let (reply, after) = admin::run(self.shard, self.client, spec, args).await;
        self.reply(reply);
        match after {
            admin::After::Continue => Flow::Continue,
            admin::After::Close => Flow::Close,
        }
    }

    fn take_answer(&mut self, s: ShardId, idx: usize) -> Reply {
        self.answers[s]
            .get_mut(idx)
            .and_then(Option::take)
            .unwrap_or_else(|| Reply::Error(CmdError::other("ERR shard did not answer")))
    }

    fn encode(&mut self, out: &mut Vec<u8>) {
        let pending = std::mem::take(&mut self.pending);
        let mut errors = 0;
        let mut recorder = Recorder::new(self.shard, self.client, &mut self.measure);
        for p in pending {
            let reply = match p.slot {
                Slot::Done(r) => r,
                Slot::Publish(..) => Reply::Error(CmdError::other("ERR PUBLISH not settled")),
                Slot::Remote(s, i) => self.take_answer(s, i),
                Slot::Split {
                    merge,
                    nkeys,
                    parts,
                } => {
                    let parts = parts
                        .into_iter()
                        .map(|(part, pos)| {
                            let r = match part {
                                Part::Local(r) => r,
                                Part::Remote(s, i) => self.take_answer(s, i),
                            };
                            (r, pos)
                        })
                        .collect();
                    merge_positional(merge, nkeys, parts)
                }
            };
            if reply.is_error() {
                errors += 1;
            }
            recorder.record(p.timing, &reply);
            if !p.silent {
                resp::encode(out, &reply, p.proto);
            }
        }
        drop(recorder);
        self.shard.stats.borrow_mut().error_replies += errors;
    }
}

fn unknown_command(args: &[Bytes]) -> CmdError {
    let show = |b: &Bytes| {
        let s = String::from_utf8_lossy(b);
        s.chars().take(128).collect::<String>()
    };
    CmdError::UnknownCommand {
        name: show(&args[0]),
        args: args[1..].iter().map(show).collect(),
    }
}
