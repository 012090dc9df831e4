//! One shard's runtime: its keyspace, its settings, its clients and stats, and its ends
//! of the channel mesh. Work for another shard goes into a per-destination outbox; a
//! flusher task, scheduled behind the tasks that are runnable now, sends each outbox as
//! one mailbox message, so all connections of a shard that need the same peer in one
//! executor round share one message (and one wake-up of that peer). The answers come
//! back as one message and wake each waiting task through a local oneshot.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures_channel::oneshot;
use glommio::channels::channel_mesh::Senders;
use shards::ops::{run_op, OpOutput, ShardOp};
use shards::{Keyspace, ShardId, SlotMap};

use crate::clients::{ClientRegistry, KillFilter};
use crate::config::Settings;

/// Work sent to a shard.
pub enum Work {
    Ops(Vec<ShardOp>),
    Admin(AdminReq),
}

/// A shard's answer.
pub enum WorkDone {
    Ops(Vec<OpOutput>),
    Admin(AdminResp),
}

pub enum AdminReq {
    Report,
    ClientList { ids: Option<Vec<u64>> },
    ClientKill(KillFilter),
    ConfigSet(Vec<(String, String)>),
    ResetStats,
    SetActiveExpire(bool),
}

pub enum AdminResp {
    Report(Box<ShardReport>),
    Lines(Vec<String>),
    Count(usize),
    Done,
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
}

/// What a shard tells INFO about itself.
#[derive(Debug, Clone, Default)]
pub struct ShardReport {
    pub id: ShardId,
    pub cpu: usize,
    pub db_keys: Vec<(usize, usize)>,
    pub used_memory: isize,
    pub clients: usize,
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
        }
    }

    /// Sends `work` to shard `to` (running it inline when `to` is this shard) and
    /// waits for the answer.
    pub async fn call(self: &Rc<Self>, to: ShardId, work: Work) -> WorkDone {
        if to == self.id {
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
        let pending = if to == self.id {
            Ok(self.run_work(work))
        } else {
            Err(self.send(to, work))
        };
        async move {
            match pending {
                Ok(done) => done,
                Err(rx) => rx.await.expect("shard answered"),
            }
        }
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
    pub fn run_work(&self, work: Work) -> WorkDone {
        match work {
            Work::Ops(ops) => {
                let mut ks = self.ks.borrow_mut();
                ks.tick();
                WorkDone::Ops(ops.into_iter().map(|op| run_op(&mut ks, op)).collect())
            }
            Work::Admin(req) => WorkDone::Admin(self.run_admin(req)),
        }
    }

    fn run_admin(&self, req: AdminReq) -> AdminResp {
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
                        crate::admin::apply_setting(&mut s, &k, &v);
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
            AdminReq::SetActiveExpire(on) => {
                self.settings.borrow_mut().active_expire = on;
                AdminResp::Done
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
            used_memory: crate::alloc::thread_used(),
            clients: self.clients.borrow().len(),
            stats: *self.stats.borrow(),
            hits: ks.stats.hits,
            misses: ks.stats.misses,
            expired_keys: ks.stats.expired_keys,
            cpu_user_us: user,
            cpu_sys_us: sys,
            slots: self.slots.ranges_of(self.id),
        }
    }

    /// Handles one message from a peer. Never waits: an answer that does not fit in the
    /// peer's channel is sent from a spawned task, so two shards answering each other
    /// cannot deadlock on full channels.
    pub fn on_message(self: &Rc<Self>, msg: ShardMsg) {
        match msg {
            ShardMsg::Req { from, items } => {
                let done = items
                    .into_iter()
                    .map(|(ticket, work)| (ticket, self.run_work(work)))
                    .collect();
                let reply = ShardMsg::Resp { items: done };
                let senders = self.senders.as_ref().expect("mesh exists");
                if let Err(glommio::GlommioError::WouldBlock(glommio::ResourceType::Channel(
                    reply,
                ))) = senders.try_send_to(from, reply)
                {
                    let me = self.clone();
                    glommio::spawn_local(async move {
                        let senders = me.senders.as_ref().expect("mesh exists");
                        let _ = senders.send_to(from, reply).await;
                    })
                    .detach();
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
