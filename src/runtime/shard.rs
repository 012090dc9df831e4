//! One shard's runtime state: its keyspace and settings, its clients and stats, its
//! mailbox, its gate (holds and key locks), its WATCHes and blocked clients; and how it
//! runs the work peers send it.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::rc::Rc;

use bytes::Bytes;
use futures_channel::{mpsc, oneshot};
use shards::ops::{run_op, OpOutput, ShardOp};
use shards::{Keyspace, Reply, ShardId, SlotMap};

use crate::base::config::Settings;
use crate::base::ids::{TxnId, WaiterId};
use crate::runtime::aof::{self, ShardLog};
use crate::runtime::blocking::{found_nothing, BlockEvent, BlockRegistry};
use crate::runtime::clients::ClientRegistry;
use crate::runtime::exec;
use crate::runtime::gate::{Gate, Turn, TurnState};
use crate::runtime::mailbox::{Doorbell, Mailbox, Msg, Postbox};
use crate::runtime::watch::WatchRegistry;
use crate::runtime::work::{Answer, Work, WorkDone};
use shards::notify as notify_class;

/// Counters for INFO stats.
#[derive(Debug, Default, Clone, Copy)]
pub struct ServerStats {
    pub commands: u64,
    /// Write commands run on this shard's keys (Redis's `dirty`: what save points and
    /// `rdb_changes_since_last_save` count).
    pub dirty: u64,
    pub connections: u64,
    pub rejected_connections: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    /// Commands (or parts of commands) this shard sent to another shard.
    pub forwarded_ops: u64,
    /// Mailbox messages this shard sent.
    pub hop_messages: u64,
    pub error_replies: u64,
    /// Cluster mode: commands received on a node port that had to go to another core
    /// (0 when every node port serves only its own slots, as it should).
    pub node_port_forwards: u64,
    /// Optimistic multi-shard reads that ran again under holds.
    pub read_retries: u64,
    /// Commands of this shard's clients, and this shard's own work, that found the
    /// shard held or their keys locked by a transaction and waited at the gate.
    pub lock_waits: u64,
    /// Work from peers that found this shard held or its keys locked and was deferred.
    pub deferred_work: u64,
}

/// What waits at the gate, first come first served.
enum Deferred {
    /// A peer's work: who sent it, its ticket, the work.
    Remote(ShardId, u64, Work),
    /// This shard's own work (`call`, `send_or_run`), answered through the channel.
    Local(oneshot::Sender<WorkDone>, Work),
    /// A client's command (`wait_turn`).
    Turn(Rc<Turn>),
}

/// The mailboxes between shards carry work and answers.
pub type ShardPostbox = Postbox<Work, WorkDone>;
pub type ShardMailbox = Mailbox<Work, WorkDone>;
pub type ShardMsg = Msg<Work, WorkDone>;

pub struct Shard {
    pub id: ShardId,
    pub cpu: usize,
    pub nshards: usize,
    pub slots: SlotMap,
    pub ks: RefCell<Keyspace>,
    pub settings: RefCell<Settings>,
    pub clients: RefCell<ClientRegistry>,
    /// Keys read by tracking clients, BCAST prefixes (`runtime::tracking`).
    pub tracking: RefCell<crate::runtime::tracking::Table>,
    pub stats: RefCell<ServerStats>,
    /// INFO commandstats / errorstats / latencystats of this shard's clients.
    pub cmdstats: RefCell<crate::runtime::cmdstats::CommandStats>,
    /// The slow log of this shard's clients' commands.
    pub slowlog: RefCell<crate::runtime::slowlog::Slowlog>,
    /// INFO's instantaneous rates, sampled by the periodic task.
    pub instant: RefCell<crate::runtime::instant::Instantaneous>,
    pub started_ms: u64,
    mail: ShardMailbox,
    /// Rings peers' network rings when this shard has one (see `mailbox`).
    bell: RefCell<Option<Rc<dyn Doorbell>>>,
    /// Holds, key locks and the work waiting for them.
    gate: RefCell<Gate<Deferred>>,
    next_txn: Cell<u64>,
    /// Waiters registered on this shard's keys.
    blocks: RefCell<BlockRegistry>,
    /// Blocked clients of this shard, by waiter id.
    home_waiters: RefCell<HashMap<u64, mpsc::UnboundedSender<BlockEvent>>>,
    next_waiter: Cell<u64>,
    /// WATCHed keys on this shard.
    pub(crate) watches: RefCell<WatchRegistry>,
    /// Inside a transaction's or a script's run (see `as_one_unit`), and the keys
    /// written meanwhile whose blocked clients wait to be served.
    in_unit: Cell<bool>,
    wake_later: RefCell<Vec<(usize, Bytes)>>,
    /// What this shard's writes leave for the append-only file (`runtime/aof.rs`).
    pub(crate) aof: RefCell<ShardLog>,
    /// This shard's clients' Pub/Sub subscriptions (`runtime/pubsub.rs`).
    pub pubsub: RefCell<crate::runtime::pubsub::Registry>,
    /// `notify-keyspace-events` (`shards::notify` classes; 0: off).
    pub notify: Cell<u32>,
}

/// What runs after a shard fed the replication stream: `replicas::wake`, given by the
/// server at start-up (the replicas' feeding sits above the shard).
static STREAM_FED: std::sync::OnceLock<fn(&Rc<Shard>)> = std::sync::OnceLock::new();

pub fn on_stream_fed(f: fn(&Rc<Shard>)) {
    let _ = STREAM_FED.set(f);
}

impl Shard {
    pub fn new(
        id: ShardId,
        cpu: usize,
        slots: SlotMap,
        ks: Keyspace,
        settings: Settings,
        mail: ShardMailbox,
        started_ms: u64,
    ) -> Self {
        let nshards = slots.shards();
        let latency_tracking = settings.latency_tracking;
        Shard {
            id,
            cpu,
            nshards,
            clients: RefCell::new(ClientRegistry::new(id, nshards)),
            tracking: RefCell::new(crate::runtime::tracking::Table::with_limit(
                1_000_000usize.div_ceil(nshards.max(1)),
            )),
            slots,
            ks: RefCell::new(ks),
            settings: RefCell::new(settings),
            stats: RefCell::new(ServerStats::default()),
            cmdstats: RefCell::new(crate::runtime::cmdstats::CommandStats::new(
                latency_tracking,
            )),
            slowlog: RefCell::new(Default::default()),
            instant: RefCell::new(Default::default()),
            started_ms,
            mail,
            bell: RefCell::new(None),
            gate: RefCell::new(Gate::default()),
            next_txn: Cell::new(1),
            blocks: RefCell::new(BlockRegistry::default()),
            home_waiters: RefCell::new(HashMap::new()),
            next_waiter: Cell::new(1),
            watches: RefCell::new(WatchRegistry::default()),
            in_unit: Cell::new(false),
            wake_later: RefCell::new(Vec::new()),
            aof: RefCell::new(ShardLog::default()),
            pubsub: RefCell::new(crate::runtime::pubsub::Registry::new(id)),
            notify: Cell::new(0),
        }
    }

    /// From now on this shard rings its peers with `bell`.
    pub fn set_doorbell(&self, bell: Rc<dyn Doorbell>) {
        *self.bell.borrow_mut() = Some(bell);
    }

    pub fn mailbox(&self) -> &ShardMailbox {
        &self.mail
    }

    /// Sends `work` to shard `to` (running it inline when `to` is this shard) and
    /// waits for the answer.
    pub async fn call(self: &Rc<Self>, to: ShardId, work: Work) -> WorkDone {
        self.send_or_run(to, work).await
    }

    /// Like `call`, but the work is queued (or, locally, done) before this returns, so
    /// several of them issued before awaiting any run concurrently.
    pub fn send_or_run(
        self: &Rc<Self>,
        to: ShardId,
        work: Work,
    ) -> impl Future<Output = WorkDone> + use<> {
        let pending = if to != self.id {
            Err(self.send(to, work))
        } else if self.admits(&work, false) {
            Ok(self.run_work(work))
        } else {
            self.stats.borrow_mut().lock_waits += 1;
            let (tx, rx) = oneshot::channel();
            self.gate.borrow_mut().defer(Deferred::Local(tx, work));
            Err(rx)
        };
        async move {
            match pending {
                Ok(done) => done,
                Err(rx) => rx.await.expect("shard answered"),
            }
        }
    }

    /// Whether `work` may run now rather than queue at the gate: releases always do, a
    /// transaction already involved here passes when the gate lets it, new transactional
    /// work (and a peer's ordinary work, which keeps its sender's order) only when
    /// nothing waits before it.
    fn admits(&self, work: &Work, remote: bool) -> bool {
        if let Work::Release(_) = work {
            return true;
        }
        let txn = work.txn();
        let involved = txn.is_some_and(|t| self.gate.borrow().involves(t));
        if !involved && (remote || txn.is_some()) && self.gate.borrow().queue_first() {
            return false;
        }
        self.can_run(work)
    }

    /// Runs `f` on shard `to` (inline here when it may run now) and returns its result.
    pub async fn run_on<T: Send + 'static>(
        self: &Rc<Self>,
        to: ShardId,
        f: impl FnOnce(&Rc<Shard>) -> T + Send + 'static,
    ) -> T {
        let job = Box::new(move |s: &Rc<Shard>| Box::new(f(s)) as Answer);
        self.call(to, Work::Admin(job))
            .await
            .into_answer()
            .expect("a closure's answer has its type")
    }

    /// Runs a closure made by `make` on every shard concurrently; the results in shard
    /// order.
    pub async fn run_everywhere<T, F>(self: &Rc<Self>, make: impl Fn() -> F) -> Vec<T>
    where
        T: Send + 'static,
        F: FnOnce(&Rc<Shard>) -> T + Send + 'static,
    {
        let waiting: Vec<_> = (0..self.nshards)
            .map(|s| {
                let f = make();
                let job = Box::new(move |sh: &Rc<Shard>| Box::new(f(sh)) as Answer);
                self.send_or_run(s, Work::Admin(job))
            })
            .collect();
        let mut out = Vec::with_capacity(waiting.len());
        for w in waiting {
            out.push(
                w.await
                    .into_answer()
                    .expect("a closure's answer has its type"),
            );
        }
        out
    }

    /// Whether work of `txn` (None: ordinary work) passes a whole-shard hold.
    pub fn passes_gate(&self, txn: Option<TxnId>) -> bool {
        self.gate.borrow().passes(txn)
    }

    /// Whether `work` may run here now: no other transaction holds the shard or a key
    /// it touches. Releases always run.
    pub fn can_run(&self, work: &Work) -> bool {
        if let Work::Release(_) = work {
            return true;
        }
        let txn = work.txn();
        let gate = self.gate.borrow();
        gate.passes(txn) && !conflicts(&gate, work, txn)
    }

    /// Whether a command of a local client must wait (see `can_run`).
    pub fn must_wait(&self, spec: &shards::CommandSpec, db: usize, args: &[Bytes]) -> bool {
        let gate = self.gate.borrow();
        !gate.passes(None) || gate.cmd_conflicts(spec, db, args, None)
    }

    /// A client's command that must wait (`must_wait`) queues for its turn; when this
    /// returns, the command may run at once (before the task next waits: nothing new
    /// enters the gate until then).
    pub async fn wait_turn(
        self: &Rc<Self>,
        spec: &'static shards::CommandSpec,
        db: usize,
        args: &[Bytes],
    ) {
        // Checked again: the gate may have opened while the caller sent its queue.
        if !self.must_wait(spec, db, args) {
            return;
        }
        let turn = Rc::new(Turn::new(spec, db, args.to_vec()));
        self.gate.borrow_mut().defer(Deferred::Turn(turn.clone()));
        let place = Place {
            shard: self.clone(),
            turn,
        };
        std::future::poll_fn(|cx| {
            if place.turn.state() == TurnState::Granted {
                std::task::Poll::Ready(())
            } else {
                place.turn.wait_with(cx.waker());
                std::task::Poll::Pending
            }
        })
        .await;
    }

    /// A turn is over (used, or its client went away): once no granted turn is left,
    /// the queue moves on, from a task of its own so that the client whose turn it was
    /// runs its command first.
    fn turn_over(self: &Rc<Self>, turn: &Turn) {
        let was = turn.state();
        if self.gate.borrow_mut().used(turn) && was != TurnState::Over {
            let me = self.clone();
            // glommio runs a new task at once until it first waits: wait once, so the
            // client runs its command before the queue moves.
            exec::spawn(async move {
                exec::yield_once().await;
                me.release_deferred()
            });
        }
    }

    /// A new transaction id for a client of this shard.
    pub fn new_txn(&self) -> TxnId {
        let id = self.next_txn.get();
        self.next_txn.set(id + 1);
        TxnId { home: self.id, id }
    }

    /// Whether a transaction's or a script's commands are running (`as_one_unit`).
    pub fn in_unit(&self) -> bool {
        self.in_unit.get()
    }

    /// Whether this shard is held, or has keys locked, by a transaction (active expiry
    /// pauses meanwhile).
    pub fn is_held(&self) -> bool {
        self.gate.borrow().is_busy()
    }

    /// Queues `work` for shard `to` and returns the receiver of its answer. Several
    /// sends issued before awaiting any answer run on their shards concurrently.
    pub fn send(self: &Rc<Self>, to: ShardId, work: Work) -> oneshot::Receiver<WorkDone> {
        if let Work::Ops(ops) = &work {
            self.stats.borrow_mut().forwarded_ops += ops.len() as u64;
        }
        let (rx, first) = self.mail.request(to, work);
        if first {
            self.schedule_flush();
        }
        rx
    }

    /// Makes sure the outboxes are posted soon: by the network driver before it next
    /// waits, or by a task scheduled behind the tasks runnable now.
    fn schedule_flush(self: &Rc<Self>) {
        if self.bell.borrow().is_some() {
            return;
        }
        let me = self.clone();
        exec::spawn(async move { me.flush_mail() });
    }

    /// Posts what waits in the outboxes (after telling the replicas, when this shard
    /// fed the replication stream).
    pub fn flush_mail(self: &Rc<Self>) {
        // Writes are in the log before the replies and answers that follow them leave.
        self.aof.borrow_mut().flush();
        if crate::runtime::backlog::take_fed() {
            if let Some(wake) = STREAM_FED.get() {
                wake(self);
            }
        }
        let bell = self.bell.borrow().clone();
        let sent = self.mail.flush(bell.as_deref());
        if sent > 0 {
            self.stats.borrow_mut().hop_messages += sent;
        }
    }

    /// Runs work on this shard's own keyspace.
    pub fn run_work(self: &Rc<Self>, work: Work) -> WorkDone {
        match work {
            Work::Ops(ops) => {
                self.ks.borrow_mut().tick();
                WorkDone::Ops(ops.into_iter().map(|op| self.apply(op)).collect())
            }
            Work::Txn(txn, ops) => self.txn_step(txn, ops, false),
            Work::LockRun(txn, ops) => self.txn_step(txn, ops, true),
            Work::Exec(watcher, ops) => {
                let now = self.now_ms();
                if watcher.is_some_and(|w| self.watches.borrow().is_dirty(w, now)) {
                    return WorkDone::Aborted;
                }
                self.ks.borrow_mut().tick();
                let outs = self.as_one_unit(|| ops.into_iter().map(|op| self.apply(op)).collect());
                WorkDone::Ops(outs)
            }
            Work::Hold(txn, watcher) => {
                self.aof.borrow_mut().append_pending();
                self.gate.borrow_mut().hold(txn);
                let now = self.now_ms();
                let dirty = watcher.is_some_and(|w| self.watches.borrow().is_dirty(w, now));
                WorkDone::Count(dirty as usize)
            }
            Work::Release(txn) => {
                if self.gate.borrow_mut().release(txn) {
                    self.wake_deferred_blocked();
                    self.release_deferred();
                }
                WorkDone::Done
            }
            Work::Watch(w, db, keys) => {
                let deadlines = {
                    let mut ks = self.ks.borrow_mut();
                    ks.tick();
                    keys.iter()
                        .map(|k| ks.lookup(db, k).map_or(0, |e| e.expire_at()))
                        .collect()
                };
                self.watches.borrow_mut().watch(w, db, keys, deadlines);
                WorkDone::Done
            }
            Work::Unwatch(w) => {
                self.watches.borrow_mut().unwatch(w);
                WorkDone::Done
            }
            Work::Block(w) => {
                let (db, keys) = (w.db, w.keys.clone());
                self.blocks.borrow_mut().add(w);
                // Data may have arrived since the client's attempt: serve it now.
                self.wake_blocked(db, keys);
                WorkDone::Done
            }
            Work::Unblock(who) => WorkDone::Count(self.blocks.borrow_mut().remove(who) as usize),
            Work::WaiterEvent(id, event) => {
                if let Some(tx) = self.home_waiters.borrow().get(&id) {
                    let _ = tx.unbounded_send(event);
                }
                WorkDone::Done
            }
            Work::Admin(job) => WorkDone::Answer(job(self)),
            Work::Keyed(None, job) => WorkDone::Answer(self.as_one_unit(|| job(self))),
            Work::Keyed(Some(txn), job) => {
                // A script may write any key.
                self.gate.borrow_mut().writes(txn, None);
                let before = {
                    let mut log = self.aof.borrow_mut();
                    log.append_pending();
                    log.begin_step(txn)
                };
                let out = self.as_one_unit(|| job(self));
                self.aof.borrow_mut().end_step(before);
                WorkDone::Answer(out)
            }
        }
    }

    /// A transaction's ops on this shard, after locking their keys when `lock`.
    fn txn_step(self: &Rc<Self>, txn: TxnId, ops: Vec<ShardOp>, lock: bool) -> WorkDone {
        {
            let mut gate = self.gate.borrow_mut();
            // Optimistic readers must see that a transaction came by, and what it
            // wrote (see `atomic`).
            gate.step(txn);
            for op in &ops {
                match txn_writes(op) {
                    Writes::Nothing => {}
                    Writes::Keys(db, keys) => gate.writes(txn, Some((db, keys))),
                    Writes::Anything => gate.writes(txn, None),
                }
            }
            if lock {
                for (db, keys) in ops.iter().filter_map(op_keys) {
                    gate.lock(txn, db, keys);
                }
            }
        }
        self.ks.borrow_mut().tick();
        let before = {
            let mut log = self.aof.borrow_mut();
            log.append_pending();
            log.begin_step(txn)
        };
        let outs = self.as_one_unit(|| ops.into_iter().map(|op| self.apply(op)).collect());
        let mut log = self.aof.borrow_mut();
        log.end_step(before);
        // A step that neither holds this shard nor locks keys here is the last of its
        // transaction (`atomic::run_parts`): what comes next may touch its keys, so the
        // transaction's writes are logged now, ahead of it.
        if !lock && !self.gate.borrow().involves(txn) && aof::commit_txn(txn) {
            log.mark_wrote();
        }
        WorkDone::Ops(outs)
    }

    /// Runs one op on the keyspace; logs what it changed (with the append-only file on)
    /// and publishes its keyspace notifications (when configured).
    fn run_logged(self: &Rc<Self>, op: ShardOp) -> OpOutput {
        let notify = self.notify.get();
        let logging = aof::on();
        if !logging && notify == 0 {
            let mut ks = self.ks.borrow_mut();
            ks.logging = false;
            return run_op(&mut ks, op);
        }
        let logged = if logging {
            aof::Logged::of(&op, self.id)
        } else {
            None
        };
        // Keys and their existence are looked at only when a write's events go out.
        let wanted = notify & (notify_class::KEYSPACE | notify_class::KEYEVENT) != 0
            && notify & notify_class::WRITE_EVENTS != 0;
        let noticed = if wanted {
            self.notice_before(&op)
        } else {
            None
        };
        let now = self.ks.borrow().now();
        let (out, propagated) = {
            let mut ks = self.ks.borrow_mut();
            ks.logging = logging;
            ks.propagated = None;
            let out = run_op(&mut ks, op);
            (out, ks.propagated.take())
        };
        if let Some(what) = logged {
            let (db, cmds) = what.effects(&out, now, propagated);
            self.aof.borrow_mut().record(db, cmds);
        }
        if let Some(n) = noticed {
            self.notice_after(n, &out, notify);
        }
        if notify & notify_class::EXPIRED != 0 || !self.tracking.borrow().is_idle() {
            self.publish_expired();
        }
        if notify & notify_class::KEY_MISS != 0 {
            self.publish_misses();
        }
        out
    }

    /// Runs one op on this shard's keyspace, then serves clients blocked on any key the
    /// op wrote.
    pub fn apply(self: &Rc<Self>, op: ShardOp) -> OpOutput {
        match &op {
            ShardOp::Epoch => {
                return OpOutput::Reply(Reply::Int(self.gate.borrow().epoch() as i64));
            }
            ShardOp::WrittenSince { since, db, keys } => {
                let written = self.gate.borrow().written_since(*since, *db, keys);
                return OpOutput::Reply(Reply::Int(written as i64));
            }
            ShardOp::Cmd { spec, .. } => {
                if let Err(e) = self.make_room(Some(spec)) {
                    return OpOutput::Reply(Reply::Error(e));
                }
            }
            _ => {}
        }
        if let ShardOp::Cmd { spec, .. } = &op {
            if spec.flags & shards::cmd::flags::WRITE != 0 {
                self.stats.borrow_mut().dirty += 1;
            }
        }
        let tracked = match &op {
            ShardOp::Cmd {
                spec, args, track, ..
            } if track.remember => Some((*spec, args.clone(), *track)),
            _ => None,
        };
        let tracking = !self.tracking.borrow().is_idle() || tracked.is_some();
        let flush = matches!(&op, ShardOp::Cmd { spec, .. } if spec.name == "flushall" || spec.name == "flushdb");
        if !tracking
            && !flush
            && self.blocks.borrow().is_empty()
            && self.watches.borrow().is_empty()
        {
            return self.run_logged(op);
        }
        let writer = match &op {
            ShardOp::Cmd { track, .. } => *track,
            _ => shards::ops::Track::NONE,
        };
        let mut touched = written_keys(&op);
        if touched.as_ref().is_some_and(|(_, keys)| keys.is_empty()) {
            // FLUSHALL, FLUSHDB, SWAPDB: only the watched keys that exist now change,
            // as in Redis 7.
            if let Some(pick) = crate::runtime::watch::keyless_write_scope(&op) {
                let ks = self.ks.borrow();
                self.watches
                    .borrow_mut()
                    .touch_where(|db, key| pick.covers(db) && pick.exists(&ks, db, key));
                touched = None;
            }
        }
        let out = self.run_logged(op);
        if let Some((spec, args, track)) = tracked {
            self.track_read(spec, &args, track);
        }
        if flush {
            self.invalidate_all();
        } else if let (true, Some((_, keys))) = (tracking, &touched) {
            self.invalidate_keys(keys, writer);
        }
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
        let unit = aof::on() && self.aof.borrow_mut().begin_unit();
        let out = f();
        if unit {
            self.aof.borrow_mut().end_unit();
        }
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
            drop(self.send(who.home, Work::WaiterEvent(who.id, event)));
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
                    track: shards::ops::Track::NONE,
                };
                let reply = self.run_logged(op).into_reply();
                let stream = crate::runtime::blocking::is_stream_read(w.spec);
                if found_nothing(&reply) || (reply.is_error() && !stream) {
                    // A pop that finds nothing leaves nothing for those behind it; a
                    // stream read does not consume, the next reader may want more.
                    if stream {
                        continue;
                    }
                    break;
                }
                self.blocks.borrow_mut().remove(w.who);
                let reply = if stream && reply.is_error() {
                    let gone = !self.ks.borrow_mut().exists(w.db, &key);
                    shards::cmd::streams::unblocked_error(reply, gone)
                } else {
                    // The pop may have fed another key (BLMOVE's destination).
                    for pos in w.spec.key_positions(&w.args) {
                        work.push_back((w.db, w.args[pos].clone()));
                    }
                    reply
                };
                self.deliver(w.who, BlockEvent::Served(reply));
            }
        }
    }

    /// Handles one message from a peer. Never waits: work that may not run yet waits
    /// at the gate, answers go into the outbox.
    pub fn on_message(self: &Rc<Self>, msg: ShardMsg) {
        match msg {
            Msg::Req { from, items } => {
                let mut done = Vec::with_capacity(items.len());
                for (ticket, work) in items {
                    // While held, only the holder's work runs; the rest waits, in order.
                    if self.admits(&work, true) {
                        done.push((ticket, self.run_work(work)));
                    } else {
                        self.stats.borrow_mut().deferred_work += 1;
                        self.gate
                            .borrow_mut()
                            .defer(Deferred::Remote(from, ticket, work));
                    }
                }
                if !done.is_empty() {
                    self.answer(from, done);
                }
            }
            Msg::Resp { items } => self.mail.deliver(items),
        }
    }

    /// Lets what waits at the gate go, in arrival order, as long as the first may pass
    /// now (a Hold or LockRun among it may take the shard or keys again: the rest keeps
    /// waiting). Work runs here; a client's turn is granted, and the queue stops until
    /// the granted turns are used (`turn_over`), unless more turns follow.
    fn release_deferred(self: &Rc<Self>) {
        loop {
            let go = {
                let gate = self.gate.borrow();
                match gate.first_deferred() {
                    None => return,
                    Some(Deferred::Turn(t)) => {
                        t.state() != TurnState::Waiting || !self.must_wait(t.spec, t.db, &t.args)
                    }
                    Some(Deferred::Remote(_, _, work) | Deferred::Local(_, work)) => {
                        !gate.granted() && self.can_run(work)
                    }
                }
            };
            if !go {
                return;
            }
            let Some(first) = self.gate.borrow_mut().take_first_deferred() else {
                return;
            };
            match first {
                Deferred::Turn(t) => self.gate.borrow_mut().grant(&t),
                Deferred::Remote(from, ticket, work) => {
                    let done = self.run_work(work);
                    self.answer(from, vec![(ticket, done)]);
                }
                // Work whose task went away is not done (a hold nobody would release).
                Deferred::Local(tx, work) => {
                    if !tx.is_canceled() {
                        let _ = tx.send(self.run_work(work));
                    }
                }
            }
        }
    }

    /// Queues answers for a peer (see `on_message`).
    fn answer(self: &Rc<Self>, from: ShardId, done: Vec<(u64, WorkDone)>) {
        if self.mail.answer(from, done) {
            self.schedule_flush();
        }
    }
}

/// A client's place in the gate's queue; leaving it (the turn used, or the client
/// gone) lets the queue go on.
struct Place {
    shard: Rc<Shard>,
    turn: Rc<Turn>,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.shard.turn_over(&self.turn);
    }
}

/// Whether `work` of `txn` touches keys locked by another transaction.
fn conflicts(gate: &Gate<Deferred>, work: &Work, txn: Option<TxnId>) -> bool {
    match work {
        Work::Ops(ops) | Work::Txn(_, ops) | Work::LockRun(_, ops) | Work::Exec(_, ops) => {
            ops.iter().any(|op| op_conflicts(gate, op, txn))
        }
        // A script may touch undeclared keys, and a whole-shard hold covers every key:
        // both wait for every lock of others.
        Work::Keyed(..) | Work::Hold(..) => gate.others_have_locks(txn),
        _ => false,
    }
}

/// Whether an op touches a key locked by a transaction other than `txn` (a keyless
/// write, FLUSHALL say, conflicts with any lock of another).
fn op_conflicts(gate: &Gate<Deferred>, op: &ShardOp, txn: Option<TxnId>) -> bool {
    match op {
        ShardOp::Cmd { spec, db, args, .. } => gate.cmd_conflicts(spec, *db, args, txn),
        ShardOp::PutEntry { db, key, .. }
        | ShardOp::TakeEntry { db, key }
        | ShardOp::GetEntry { db, key } => gate.locked_by_other(*db, key, txn),
        ShardOp::Epoch | ShardOp::WrittenSince { .. } => false,
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
        ShardOp::Epoch | ShardOp::WrittenSince { .. } => None,
    }
}

/// What a transaction's op may write, as optimistic readers see it.
enum Writes {
    Nothing,
    Keys(usize, Vec<Bytes>),
    /// Keyless writes (FLUSHALL, SWAPDB), and writes that may reach another database.
    Anything,
}

fn txn_writes(op: &ShardOp) -> Writes {
    if let ShardOp::Cmd { spec, .. } = op {
        if matches!(spec.name, "move" | "copy") {
            return Writes::Anything;
        }
    }
    match written_keys(op) {
        None => Writes::Nothing,
        Some((_, keys)) if keys.is_empty() => Writes::Anything,
        Some((db, keys)) => Writes::Keys(db, keys),
    }
}

/// The db and keys an op may have written (commands flagged write, stored entries).
fn written_keys(op: &ShardOp) -> Option<(usize, Vec<Bytes>)> {
    match op {
        ShardOp::Cmd { spec, db, args, .. } if spec.has(shards::cmd::flags::WRITE) => Some((
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
    rusage_us(libc::RUSAGE_THREAD)
}

/// CPU time (user, system) in microseconds of `who` (RUSAGE_THREAD, _SELF, _CHILDREN).
pub fn rusage_us(who: libc::c_int) -> (u64, u64) {
    // SAFETY: `rusage` is plain integers, so all-zero is a valid value; getrusage
    // only writes into the struct it is given.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::getrusage(who, &mut ru) != 0 {
            return (0, 0);
        }
        let us = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000 + tv.tv_usec as u64;
        (us(ru.ru_utime), us(ru.ru_stime))
    }
}
