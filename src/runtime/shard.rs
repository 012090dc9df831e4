//! One shard's runtime: its keyspace, its settings, its clients and stats, and its ends
//! of the channel mesh. Work for another shard goes into a per-destination outbox; a
//! flusher task, scheduled behind the tasks that are runnable now, sends each outbox as
//! one mailbox message, so all connections of a shard that need the same peer in one
//! executor round share one message (and one wake-up of that peer). The answers come
//! back as one message and wake each waiting task through a local oneshot.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;

use bytes::Bytes;
use futures_channel::{mpsc, oneshot};
use glommio::channels::channel_mesh::Senders;
use shards::cmd::{flags, CommandSpec};
use shards::ops::{run_op, OpOutput, ShardOp};
use shards::{Keyspace, Reply, ShardId, SlotMap};

use crate::base::config::Settings;
use crate::base::ids::{TxnId, WatcherId};
use crate::runtime::blocking::{found_nothing, BlockEvent, BlockRegistry, Waiter, WaiterId};
use crate::runtime::clients::{ClientRegistry, KillFilter};
use crate::runtime::watch::WatchRegistry;

/// Work sent to a shard.
pub enum Work {
    Ops(Vec<ShardOp>),
    /// Ops of a transaction: a shard held by that transaction runs them (and only them).
    Txn(TxnId, Vec<ShardOp>),
    /// Lock the keys of the ops for the transaction (other work touching them waits
    /// until `AdminReq::Release`), then run the ops.
    LockRun(TxnId, Vec<ShardOp>),
    /// A whole transaction whose keys all live on this shard: runs in one go unless the
    /// watcher saw a write (then `WorkDone::Aborted`).
    Exec(Option<WatcherId>, Vec<ShardOp>),
    Admin(AdminReq),
    /// A script or function whose keys live here (see `script`); inside EXEC, as the
    /// transaction's work.
    Script(Option<TxnId>, Box<crate::commands::script::Job>),
}

impl Work {
    /// One op as ordinary work, or as a transaction's work.
    pub fn ops(txn: Option<TxnId>, op: ShardOp) -> Work {
        match txn {
            Some(t) => Work::Txn(t, vec![op]),
            None => Work::Ops(vec![op]),
        }
    }
}

/// A shard's answer.
pub enum WorkDone {
    Ops(Vec<OpOutput>),
    Admin(AdminResp),
    /// `Work::Exec` found a watched key written.
    Aborted,
    /// A script's outcome, and the job back (to run again elsewhere if it needs keys
    /// of other shards).
    Script(scripting::Outcome, Box<crate::commands::script::Job>),
}

impl WorkDone {
    /// The output of a one-op `Work::Ops` (an empty entry when there is none).
    pub fn into_output(self) -> OpOutput {
        match self {
            WorkDone::Ops(mut outs) => outs.pop().unwrap_or(OpOutput::Entry(None)),
            WorkDone::Admin(_) | WorkDone::Aborted | WorkDone::Script(..) => OpOutput::Entry(None),
        }
    }

    /// The reply of a one-op `Work::Ops`.
    pub fn into_reply(self) -> Reply {
        self.into_output().into_reply()
    }
}

pub enum AdminReq {
    Report,
    /// Register a blocked client's waiter on this shard's keys.
    Block(Waiter),
    /// Forget a waiter; answers Count(1) if it was still registered, Count(0) if this
    /// shard already served it.
    Unblock(WaiterId),
    /// Deliver an event to a waiter whose home is this shard.
    WaiterEvent(u64, BlockEvent),
    /// WATCH: note writes to these keys for this watcher.
    Watch(WatcherId, usize, Vec<Bytes>),
    /// UNWATCH (also after EXEC and DISCARD).
    Unwatch(WatcherId),
    /// Hold this shard for a transaction: until `Release`, it runs only that
    /// transaction's work and defers everything else. Answers Count(1) if a key the
    /// watcher watches here was written since WATCH, else Count(0).
    Hold(TxnId, Option<WatcherId>),
    Release(TxnId),
    ClientList {
        ids: Option<Vec<u64>>,
    },
    ClientKill(KillFilter),
    ConfigSet(Vec<(String, String)>),
    ResetStats,
    SetActiveExpire(bool),
    /// Cluster mode: a slot-map change to apply, or a question about a slot's keys.
    Cluster(crate::commands::cluster::Request),
    /// A script or function library change, applied on every shard.
    Script(crate::commands::script::Change),
}

pub enum AdminResp {
    Report(Box<ShardReport>),
    Lines(Vec<String>),
    Count(usize),
    Done,
    Cluster(crate::commands::cluster::Response),
    Reply(Reply),
}

pub enum ShardMsg {
    Req {
        from: ShardId,
        items: Vec<(u64, Work)>,
    },
    Resp {
        items: Vec<(u64, WorkDone)>,
    },
}

/// Counters for INFO stats.
#[derive(Debug, Default, Clone, Copy)]
pub struct ServerStats {
    pub commands: u64,
    pub connections: u64,
    pub rejected_connections: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    /// Commands (or parts of commands) this shard sent to another shard.
    pub forwarded_ops: u64,
    /// Mailbox messages this shard sent with work for another shard.
    pub hop_messages: u64,
    pub error_replies: u64,
    /// Cluster mode: commands received on a node port that had to go to another core
    /// (0 when every node port serves only its own slots, as it should).
    pub node_port_forwards: u64,
    /// Optimistic multi-shard reads that ran again under holds.
    pub read_retries: u64,
}

/// What a shard tells INFO about itself.
#[derive(Debug, Clone, Default)]
pub struct ShardReport {
    pub id: ShardId,
    pub cpu: usize,
    pub db_keys: Vec<(usize, usize)>,
    pub used_memory: isize,
    pub clients: usize,
    pub blocked_clients: usize,
    pub stats: ServerStats,
    pub hits: u64,
    pub misses: u64,
    pub expired_keys: u64,
    pub cpu_user_us: u64,
    pub cpu_sys_us: u64,
    pub slots: Vec<(u16, u16)>,
}

pub struct Shard {
    pub id: ShardId,
    pub cpu: usize,
    pub nshards: usize,
    pub slots: SlotMap,
    pub ks: RefCell<Keyspace>,
    pub settings: RefCell<Settings>,
    pub clients: RefCell<ClientRegistry>,
    pub stats: RefCell<ServerStats>,
    pub started_ms: u64,
    senders: Option<Senders<ShardMsg>>,
    pending: RefCell<HashMap<u64, oneshot::Sender<WorkDone>>>,
    next_ticket: Cell<u64>,
    /// Work waiting to be sent, per destination shard.
    outbox: RefCell<Vec<Vec<(u64, Work)>>>,
    flush_scheduled: Cell<bool>,
    /// Waiters registered on this shard's keys.
    blocks: RefCell<BlockRegistry>,
    /// Blocked clients of this shard, by waiter id.
    home_waiters: RefCell<HashMap<u64, mpsc::UnboundedSender<BlockEvent>>>,
    next_waiter: Cell<u64>,
    /// WATCHed keys on this shard.
    watches: RefCell<WatchRegistry>,
    /// The transaction holding this shard, the work deferred meanwhile, and the local
    /// tasks waiting for the release.
    held_by: Cell<Option<TxnId>>,
    deferred: RefCell<VecDeque<(ShardId, u64, Work)>>,
    gate: RefCell<Vec<std::task::Waker>>,
    next_txn: Cell<u64>,
    /// Holds this shard has seen (see `atomic`).
    hold_epoch: Cell<u64>,
    /// Keys locked by transactions (`Work::LockRun`) until their release: work that
    /// touches them waits, everything else runs.
    key_locks: RefCell<HashMap<(usize, Bytes), TxnId>>,
    /// Inside a transaction's or a script's run (see `as_one_unit`), and the keys
    /// written meanwhile whose blocked clients wait to be served.
    in_unit: Cell<bool>,
    wake_later: RefCell<Vec<(usize, Bytes)>>,
    /// This shard's Lua engine, created on first use (see `script`).
    pub scripts: RefCell<Option<scripting::Engine>>,
}

impl Shard {
    pub fn new(
        id: ShardId,
        cpu: usize,
        slots: SlotMap,
        ks: Keyspace,
        settings: Settings,
        senders: Option<Senders<ShardMsg>>,
        started_ms: u64,
    ) -> Self {
        let nshards = slots.shards();
        Shard {
            id,
            cpu,
            nshards,
            clients: RefCell::new(ClientRegistry::new(id, slots.shards())),
            slots,
            ks: RefCell::new(ks),
            settings: RefCell::new(settings),
            stats: RefCell::new(ServerStats::default()),
            started_ms,
            senders,
            pending: RefCell::new(HashMap::new()),
            next_ticket: Cell::new(1),
            outbox: RefCell::new((0..nshards).map(|_| Vec::new()).collect()),
            flush_scheduled: Cell::new(false),
            blocks: RefCell::new(BlockRegistry::default()),
            home_waiters: RefCell::new(HashMap::new()),
            next_waiter: Cell::new(1),
            watches: RefCell::new(WatchRegistry::default()),
            held_by: Cell::new(None),
            deferred: RefCell::new(VecDeque::new()),
            gate: RefCell::new(Vec::new()),
            next_txn: Cell::new(1),
            hold_epoch: Cell::new(0),
            key_locks: RefCell::new(HashMap::new()),
            in_unit: Cell::new(false),
            wake_later: RefCell::new(Vec::new()),
            scripts: RefCell::new(None),
        }
    }

    /// Sends `work` to shard `to` (running it inline when `to` is this shard) and
    /// waits for the answer.
    pub async fn call(self: &Rc<Self>, to: ShardId, work: Work) -> WorkDone {
        if to == self.id {
            self.wait_until(|| self.can_run(&work)).await;
            return self.run_work(work);
        }
        self.send(to, work).await.expect("shard answered")
    }

    /// Like `call`, but the work is queued (or, locally, done) before this returns, so
    /// several of them issued before awaiting any run concurrently.
    pub fn send_or_run(
        self: &Rc<Self>,
        to: ShardId,
        work: Work,
    ) -> impl std::future::Future<Output = WorkDone> {
        let ready = to == self.id && self.can_run(&work);
        let pending = if ready {
            Ok(Ok(self.run_work(work)))
        } else if to == self.id {
            Ok(Err(work))
        } else {
            Err(self.send(to, work))
        };
        let me = self.clone();
        async move {
            match pending {
                Ok(Ok(done)) => done,
                Ok(Err(work)) => {
                    me.wait_until(|| me.can_run(&work)).await;
                    me.run_work(work)
                }
                Err(rx) => rx.await.expect("shard answered"),
            }
        }
    }

    /// Whether work of `txn` (None: ordinary work) may run here now as far as a
    /// whole-shard hold goes (see `AdminReq::Hold`).
    pub fn passes_gate(&self, txn: Option<TxnId>) -> bool {
        match self.held_by.get() {
            None => true,
            Some(holder) => Some(holder) == txn,
        }
    }

    /// Whether `work` may run here now: no other transaction holds the shard or a key
    /// it touches. Releases always run.
    pub fn can_run(&self, work: &Work) -> bool {
        if let Work::Admin(AdminReq::Release(_)) = work {
            return true;
        }
        let txn = work_txn(work);
        self.passes_gate(txn) && !self.conflicts(work, txn)
    }

    /// Whether a command of a local client must wait (see `can_run`).
    pub fn must_wait(&self, spec: &CommandSpec, db: usize, args: &[Bytes]) -> bool {
        if !self.passes_gate(None) {
            return true;
        }
        let locks = self.key_locks.borrow();
        !locks.is_empty() && cmd_conflicts(&locks, spec, db, args, None)
    }

    /// Whether `work` touches keys locked by a transaction other than `txn`.
    fn conflicts(&self, work: &Work, txn: Option<TxnId>) -> bool {
        let locks = self.key_locks.borrow();
        if locks.is_empty() {
            return false;
        }
        let other = |t: &TxnId| Some(*t) != txn;
        match work {
            Work::Ops(ops) | Work::Txn(_, ops) | Work::LockRun(_, ops) | Work::Exec(_, ops) => {
                ops.iter().any(|op| op_conflicts(&locks, op, txn))
            }
            // A script may touch undeclared keys: it waits for every lock.
            Work::Script(..) => locks.values().any(other),
            // A whole-shard hold waits for every key lock of others.
            Work::Admin(AdminReq::Hold(..)) => locks.values().any(other),
            Work::Admin(_) => false,
        }
    }

    /// Waits until `ready()` holds; re-checked whenever a hold or lock is released.
    pub async fn wait_until(&self, ready: impl Fn() -> bool) {
        std::future::poll_fn(|cx| {
            if ready() {
                std::task::Poll::Ready(())
            } else {
                self.gate.borrow_mut().push(cx.waker().clone());
                std::task::Poll::Pending
            }
        })
        .await
    }

    /// A new transaction id for a client of this shard.
    pub fn new_txn(&self) -> TxnId {
        let id = self.next_txn.get();
        self.next_txn.set(id + 1);
        TxnId { home: self.id, id }
    }

    /// Whether this shard is held, or has keys locked, by a transaction (active expiry
    /// pauses meanwhile).
    pub fn is_held(&self) -> bool {
        self.held_by.get().is_some() || !self.key_locks.borrow().is_empty()
    }

    /// Queues `work` for shard `to` and returns the receiver of its answer. Several
    /// sends issued before awaiting any answer run on their shards concurrently.
    pub fn send(self: &Rc<Self>, to: ShardId, work: Work) -> oneshot::Receiver<WorkDone> {
        let (tx, rx) = oneshot::channel();
        let ticket = self.next_ticket.get();
        self.next_ticket.set(ticket + 1);
        self.pending.borrow_mut().insert(ticket, tx);
        if let Work::Ops(ops) = &work {
            self.stats.borrow_mut().forwarded_ops += ops.len() as u64;
        }
        self.outbox.borrow_mut()[to].push((ticket, work));
        if !self.flush_scheduled.replace(true) {
            let me = self.clone();
            glommio::spawn_local(async move { me.flush_outbox().await }).detach();
        }
        rx
    }

    /// Sends every non-empty outbox as one message.
    async fn flush_outbox(self: Rc<Self>) {
        self.flush_scheduled.set(false);
        let batches: Vec<(ShardId, Vec<(u64, Work)>)> = self
            .outbox
            .borrow_mut()
            .iter_mut()
            .enumerate()
            .filter(|(_, items)| !items.is_empty())
            .map(|(to, items)| (to, std::mem::take(items)))
            .collect();
        let Some(senders) = self.senders.as_ref() else {
            return;
        };
        for (to, items) in batches {
            self.stats.borrow_mut().hop_messages += 1;
            let tickets: Vec<u64> = items.iter().map(|(t, _)| *t).collect();
            let msg = ShardMsg::Req {
                from: self.id,
                items,
            };
            if senders.send_to(to, msg).await.is_err() {
                // The peer is gone (shutdown): fail the waiters.
                let mut pending = self.pending.borrow_mut();
                for t in tickets {
                    pending.remove(&t);
                }
            }
        }
    }

    /// Runs work on this shard's own keyspace.
    pub fn run_work(self: &Rc<Self>, work: Work) -> WorkDone {
        let lock = matches!(work, Work::LockRun(..));
        match work {
            Work::Ops(ops) => {
                self.ks.borrow_mut().tick();
                WorkDone::Ops(ops.into_iter().map(|op| self.apply(op)).collect())
            }
            Work::Txn(txn, ops) | Work::LockRun(txn, ops) => {
                // A transaction's step on a shard it does not hold counts like a hold:
                // optimistic readers must see that something changed here (see
                // `atomic`).
                if self.held_by.get() != Some(txn) {
                    self.hold_epoch.set(self.hold_epoch.get() + 1);
                }
                if lock {
                    let mut locks = self.key_locks.borrow_mut();
                    for (db, keys) in ops.iter().filter_map(op_keys) {
                        locks.extend(keys.into_iter().map(|k| ((db, k), txn)));
                    }
                }
                self.ks.borrow_mut().tick();
                let outs = self.as_one_unit(|| ops.into_iter().map(|op| self.apply(op)).collect());
                WorkDone::Ops(outs)
            }
            Work::Exec(watcher, ops) => {
                let now = self.now_ms();
                if watcher.is_some_and(|w| self.watches.borrow().is_dirty(w, now)) {
                    return WorkDone::Aborted;
                }
                self.ks.borrow_mut().tick();
                let outs = self.as_one_unit(|| ops.into_iter().map(|op| self.apply(op)).collect());
                WorkDone::Ops(outs)
            }
            Work::Admin(req) => WorkDone::Admin(self.run_admin(req)),
            Work::Script(_, job) => {
                let (outcome, job) =
                    self.as_one_unit(|| crate::commands::script::run_here(self, job));
                WorkDone::Script(outcome, job)
            }
        }
    }

    /// Runs one op on this shard's keyspace, then serves clients blocked on any key the
    /// op wrote.
    pub fn apply(self: &Rc<Self>, op: ShardOp) -> OpOutput {
        if let ShardOp::Epoch = op {
            return OpOutput::Reply(Reply::Int(self.hold_epoch.get() as i64));
        }
        if self.blocks.borrow().is_empty() && self.watches.borrow().is_empty() {
            return run_op(&mut self.ks.borrow_mut(), op);
        }
        let touched = written_keys(&op);
        let out = run_op(&mut self.ks.borrow_mut(), op);
        if let Some((db, keys)) = touched {
            self.watches.borrow_mut().touch(db, &keys);
            if !self.blocks.borrow().is_empty() {
                // Blocked clients are served after a transaction or script, never in
                // the middle of one (they would see, and change, its keys halfway).
                if self.in_unit.get() || self.is_held() {
                    let mut later = self.wake_later.borrow_mut();
                    later.extend(keys.into_iter().map(|k| (db, k)));
                } else {
                    self.wake_blocked(db, keys);
                }
            }
        }
        out
    }

    /// Runs `f` (a transaction's or a script's commands) as one unit: clients blocked on
    /// keys it writes are served once it is over (and the shard no longer held).
    pub fn as_one_unit<T>(self: &Rc<Self>, f: impl FnOnce() -> T) -> T {
        let outer = self.in_unit.replace(true);
        let out = f();
        self.in_unit.set(outer);
        if !outer {
            self.wake_deferred_blocked();
        }
        out
    }

    /// Serves the clients blocked on keys written while the shard was held or inside a
    /// unit.
    fn wake_deferred_blocked(self: &Rc<Self>) {
        if self.in_unit.get() || self.is_held() {
            return;
        }
        let later = std::mem::take(&mut *self.wake_later.borrow_mut());
        for (db, key) in later {
            self.wake_blocked(db, vec![key]);
        }
    }

    /// The current time as the keyspace sees it (refreshed).
    fn now_ms(&self) -> u64 {
        let mut ks = self.ks.borrow_mut();
        ks.tick();
        ks.now()
    }

    /// A new waiter id for a client of this shard, and the channel its events arrive on.
    pub fn new_waiter(&self) -> (WaiterId, mpsc::UnboundedReceiver<BlockEvent>) {
        let id = self.next_waiter.get();
        self.next_waiter.set(id + 1);
        let (tx, rx) = mpsc::unbounded();
        self.home_waiters.borrow_mut().insert(id, tx);
        (WaiterId { home: self.id, id }, rx)
    }

    pub fn drop_waiter(&self, who: WaiterId) {
        self.home_waiters.borrow_mut().remove(&who.id);
    }

    /// Clients of this shard waiting in a blocking command.
    pub fn blocked_clients(&self) -> usize {
        self.home_waiters.borrow().len()
    }

    fn deliver(self: &Rc<Self>, who: WaiterId, event: BlockEvent) {
        if who.home == self.id {
            if let Some(tx) = self.home_waiters.borrow().get(&who.id) {
                let _ = tx.unbounded_send(event);
            }
        } else {
            // The answer is only an acknowledgement; nobody waits for it.
            drop(self.send(who.home, Work::Admin(AdminReq::WaiterEvent(who.id, event))));
        }
    }

    /// Serves the waiters of keys that were just written, oldest first, as long as
    /// their commands find data (see `blocking`).
    fn wake_blocked(self: &Rc<Self>, db: usize, keys: Vec<Bytes>) {
        let mut work: VecDeque<(usize, Bytes)> = keys.into_iter().map(|k| (db, k)).collect();
        let mut retried = HashSet::new();
        let mut rounds = 0;
        while let Some((db, key)) = work.pop_front() {
            rounds += 1;
            if rounds > 10_000 {
                break;
            }
            let queue = self.blocks.borrow().queue(db, &key);
            for w in queue {
                if !w.local {
                    if retried.insert(w.who) {
                        self.deliver(w.who, BlockEvent::Retry);
                    }
                    continue;
                }
                let op = ShardOp::Cmd {
                    spec: w.spec,
                    db: w.db,
                    touch: true,
                    args: w.args.clone(),
                };
                let reply = run_op(&mut self.ks.borrow_mut(), op).into_reply();
                if found_nothing(&reply) || reply.is_error() {
                    break;
                }
                self.blocks.borrow_mut().remove(w.who);
                // The pop may have fed another key (BLMOVE's destination).
                for pos in w.spec.key_positions(&w.args) {
                    work.push_back((w.db, w.args[pos].clone()));
                }
                self.deliver(w.who, BlockEvent::Served(reply));
            }
        }
    }

    fn run_admin(self: &Rc<Self>, req: AdminReq) -> AdminResp {
        match req {
            AdminReq::Report => AdminResp::Report(Box::new(self.report())),
            AdminReq::ClientList { ids } => {
                let now = shards::clock::system_ms();
                AdminResp::Lines(self.clients.borrow().list_lines(ids.as_deref(), now))
            }
            AdminReq::ClientKill(filter) => {
                AdminResp::Count(self.clients.borrow_mut().kill(&filter))
            }
            AdminReq::ConfigSet(pairs) => {
                let mut s = self.settings.borrow_mut();
                let mut ks = self.ks.borrow_mut();
                for (k, v) in pairs {
                    if !ks.config.set(&k, &v) {
                        crate::commands::apply_setting(&mut s, &k, &v);
                    }
                }
                AdminResp::Done
            }
            AdminReq::ResetStats => {
                *self.stats.borrow_mut() = ServerStats::default();
                let mut ks = self.ks.borrow_mut();
                ks.stats = Default::default();
                AdminResp::Done
            }
            AdminReq::Block(w) => {
                let (db, keys) = (w.db, w.keys.clone());
                self.blocks.borrow_mut().add(w);
                // Data may have arrived since the client's attempt: serve it now.
                self.wake_blocked(db, keys);
                AdminResp::Done
            }
            AdminReq::Unblock(who) => {
                AdminResp::Count(self.blocks.borrow_mut().remove(who) as usize)
            }
            AdminReq::WaiterEvent(id, event) => {
                if let Some(tx) = self.home_waiters.borrow().get(&id) {
                    let _ = tx.unbounded_send(event);
                }
                AdminResp::Done
            }
            AdminReq::Watch(w, db, keys) => {
                let deadlines = {
                    let mut ks = self.ks.borrow_mut();
                    ks.tick();
                    keys.iter()
                        .map(|k| ks.lookup(db, k).map_or(0, |e| e.expire_at))
                        .collect()
                };
                self.watches.borrow_mut().watch(w, db, keys, deadlines);
                AdminResp::Done
            }
            AdminReq::Unwatch(w) => {
                self.watches.borrow_mut().unwatch(w);
                AdminResp::Done
            }
            AdminReq::Hold(txn, watcher) => {
                self.held_by.set(Some(txn));
                self.hold_epoch.set(self.hold_epoch.get() + 1);
                let now = self.now_ms();
                let dirty = watcher.is_some_and(|w| self.watches.borrow().is_dirty(w, now));
                AdminResp::Count(dirty as usize)
            }
            AdminReq::Release(txn) => {
                let mut released = false;
                if self.held_by.get() == Some(txn) {
                    self.held_by.set(None);
                    released = true;
                }
                {
                    let mut locks = self.key_locks.borrow_mut();
                    let before = locks.len();
                    locks.retain(|_, t| *t != txn);
                    released |= locks.len() != before;
                }
                if released {
                    self.wake_deferred_blocked();
                    self.release_deferred();
                }
                AdminResp::Done
            }
            AdminReq::Script(change) => {
                AdminResp::Reply(crate::commands::script::apply_change(self, change))
            }
            AdminReq::SetActiveExpire(on) => {
                self.settings.borrow_mut().active_expire = on;
                AdminResp::Done
            }
            AdminReq::Cluster(req) => {
                AdminResp::Cluster(crate::commands::cluster::on_request(self, req))
            }
        }
    }

    fn report(&self) -> ShardReport {
        let ks = self.ks.borrow();
        let db_keys = (0..ks.db_count())
            .map(|db| (ks.len(db), ks.db(db).expires_len()))
            .collect();
        let (user, sys) = thread_cpu_us();
        ShardReport {
            id: self.id,
            cpu: self.cpu,
            db_keys,
            used_memory: crate::base::alloc::thread_used(),
            clients: self.clients.borrow().len(),
            blocked_clients: self.blocked_clients(),
            stats: *self.stats.borrow(),
            hits: ks.stats.hits,
            misses: ks.stats.misses,
            expired_keys: ks.stats.expired_keys,
            cpu_user_us: user,
            cpu_sys_us: sys,
            slots: if crate::commands::cluster::enabled() {
                crate::commands::cluster::with(|st| st.ranges_of(st.me))
            } else {
                self.slots.ranges_of(self.id)
            },
        }
    }

    /// Handles one message from a peer. Never waits: an answer that does not fit in the
    /// peer's channel is sent from a spawned task, so two shards answering each other
    /// cannot deadlock on full channels.
    pub fn on_message(self: &Rc<Self>, msg: ShardMsg) {
        match msg {
            ShardMsg::Req { from, items } => {
                let mut done = Vec::with_capacity(items.len());
                for (ticket, work) in items {
                    // While held, only the holder's work runs; the rest waits, in order.
                    let txn = work_txn(&work);
                    let wait = !self.can_run(&work)
                        || (txn.is_none() && !self.deferred.borrow().is_empty());
                    if wait {
                        self.deferred.borrow_mut().push_back((from, ticket, work));
                    } else {
                        done.push((ticket, self.run_work(work)));
                    }
                }
                if !done.is_empty() {
                    self.answer(from, done);
                }
            }
            ShardMsg::Resp { items } => {
                let mut pending = self.pending.borrow_mut();
                for (ticket, done) in items {
                    if let Some(tx) = pending.remove(&ticket) {
                        let _ = tx.send(done);
                    }
                }
            }
        }
    }

    /// Runs work deferred while this shard was held, in arrival order, until a `Hold`
    /// among it holds the shard again; wakes local tasks waiting at the gate.
    fn release_deferred(self: &Rc<Self>) {
        for w in self.gate.borrow_mut().drain(..) {
            w.wake();
        }
        // In arrival order, as long as the first waiting piece may run now (a deferred
        // Hold or LockRun may take the shard or keys again: the rest keeps waiting).
        loop {
            let runnable = match self.deferred.borrow().front() {
                Some((_, _, work)) => self.can_run(work),
                None => return,
            };
            if !runnable {
                return;
            }
            let Some((from, ticket, work)) = self.deferred.borrow_mut().pop_front() else {
                return;
            };
            let done = self.run_work(work);
            self.answer(from, vec![(ticket, done)]);
        }
    }

    /// Sends answers to a peer without waiting (see `on_message`).
    fn answer(self: &Rc<Self>, from: ShardId, done: Vec<(u64, WorkDone)>) {
        let reply = ShardMsg::Resp { items: done };
        let senders = self.senders.as_ref().expect("mesh exists");
        if let Err(glommio::GlommioError::WouldBlock(glommio::ResourceType::Channel(reply))) =
            senders.try_send_to(from, reply)
        {
            let me = self.clone();
            glommio::spawn_local(async move {
                let senders = me.senders.as_ref().expect("mesh exists");
                let _ = senders.send_to(from, reply).await;
            })
            .detach();
        }
    }
}

/// The transaction a piece of work belongs to.
fn work_txn(work: &Work) -> Option<TxnId> {
    match work {
        Work::Txn(t, _) | Work::LockRun(t, _) => Some(*t),
        Work::Script(t, _) => *t,
        Work::Admin(AdminReq::Hold(t, _)) | Work::Admin(AdminReq::Release(t)) => Some(*t),
        _ => None,
    }
}

/// The db and keys an op touches (none for keyless commands and `Epoch`).
fn op_keys(op: &ShardOp) -> Option<(usize, Vec<Bytes>)> {
    match op {
        ShardOp::Cmd { spec, db, args, .. } => {
            let keys: Vec<Bytes> = spec.key_positions(args).map(|p| args[p].clone()).collect();
            (!keys.is_empty()).then_some((*db, keys))
        }
        ShardOp::PutEntry { db, key, .. }
        | ShardOp::TakeEntry { db, key }
        | ShardOp::GetEntry { db, key } => Some((*db, vec![key.clone()])),
        ShardOp::Epoch => None,
    }
}

type KeyLocks = HashMap<(usize, Bytes), TxnId>;

/// Whether an op touches a key locked by a transaction other than `txn` (a keyless
/// write, FLUSHALL say, conflicts with any lock of another).
fn op_conflicts(locks: &KeyLocks, op: &ShardOp, txn: Option<TxnId>) -> bool {
    match op {
        ShardOp::Cmd { spec, db, args, .. } => cmd_conflicts(locks, spec, *db, args, txn),
        ShardOp::PutEntry { db, key, .. }
        | ShardOp::TakeEntry { db, key }
        | ShardOp::GetEntry { db, key } => locked_by_other(locks, *db, key, txn),
        ShardOp::Epoch => false,
    }
}

fn cmd_conflicts(
    locks: &KeyLocks,
    spec: &CommandSpec,
    db: usize,
    args: &[Bytes],
    txn: Option<TxnId>,
) -> bool {
    let mut keyless = true;
    for pos in spec.key_positions(args) {
        keyless = false;
        if locked_by_other(locks, db, &args[pos], txn) {
            return true;
        }
    }
    keyless && spec.has(flags::WRITE) && locks.values().any(|t| Some(*t) != txn)
}

fn locked_by_other(locks: &KeyLocks, db: usize, key: &Bytes, txn: Option<TxnId>) -> bool {
    locks
        .get(&(db, key.clone()))
        .is_some_and(|t| Some(*t) != txn)
}

/// The db and keys an op may have written (commands flagged write, stored entries).
fn written_keys(op: &ShardOp) -> Option<(usize, Vec<Bytes>)> {
    match op {
        ShardOp::Cmd { spec, db, args, .. } if spec.has(flags::WRITE) => Some((
            *db,
            spec.key_positions(args).map(|p| args[p].clone()).collect(),
        )),
        ShardOp::PutEntry { db, key, .. } | ShardOp::TakeEntry { db, key } => {
            Some((*db, vec![key.clone()]))
        }
        _ => None,
    }
}

/// This thread's CPU time (user, system) in microseconds.
pub fn thread_cpu_us() -> (u64, u64) {
    // SAFETY: getrusage fills the struct for the calling thread.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_THREAD, &mut ru) != 0 {
            return (0, 0);
        }
        let us = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000 + tv.tv_usec as u64;
        (us(ru.ru_utime), us(ru.ru_stime))
    }
}
