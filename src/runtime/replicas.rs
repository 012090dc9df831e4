//! The replicas of this primary: client connections (on any shard) that asked for the
//! replication stream with PSYNC or SYNC. The list is process-wide (INFO, ROLE and WAIT
//! read it from any shard); each replica is fed by its own shard, its *home*: a shard
//! that fed the stream (`backlog::take_fed`) tells the homes once per loop, and a home
//! moves the new stream bytes into its replicas' output queues (`pump`).
//!
//! While a full sync prepares its snapshot the replica is `Buffering`: the stream after
//! the snapshot's instant is kept for it here (counted against the replica class of
//! `client-output-buffer-limit`) and follows the snapshot once it was sent.

use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use shards::ShardId;

use crate::base::output_limits::OutputLimit;
use crate::runtime::clients::{ClientHandle, Pushed};
use crate::runtime::shard::Shard;
use crate::runtime::work::{Answer, Work};
use crate::runtime::{backlog, pubsub};

/// Stream bytes moved per pump step.
const STEP: usize = 1 << 20;

/// No limit (the snapshot and the sync's first line are not held against one).
pub const UNLIMITED: OutputLimit = OutputLimit {
    hard: 0,
    soft: 0,
    soft_secs: 0,
};

/// `min-replicas-to-write` and `min-replicas-max-lag` (seconds), and how many replicas
/// were good (online, acknowledged within the lag) at the last refresh.
static MIN_TO_WRITE: AtomicU64 = AtomicU64::new(0);
static MAX_LAG: AtomicU64 = AtomicU64::new(10);
static GOOD: AtomicU64 = AtomicU64::new(0);

pub fn set_min_replicas(to_write: u64, max_lag: u64) {
    MIN_TO_WRITE.store(to_write, Ordering::Relaxed);
    MAX_LAG.store(max_lag, Ordering::Relaxed);
    refresh_good();
}

pub fn min_replicas() -> (u64, u64) {
    (
        MIN_TO_WRITE.load(Ordering::Relaxed),
        MAX_LAG.load(Ordering::Relaxed),
    )
}

/// Counts the good replicas (once a second, as Redis does).
pub fn refresh_good() {
    let lag_ms = MAX_LAG.load(Ordering::Relaxed) * 1000;
    let now = shards::clock::system_ms();
    let good = replicas()
        .iter()
        .filter(|r| r.state == State::Online && now.saturating_sub(r.acked_ms) <= lag_ms)
        .count();
    GOOD.store(good as u64, Ordering::Relaxed);
}

/// Whether writes are refused for want of good replicas (Redis's -NOREPLICAS): the
/// write path's one check.
#[inline]
pub fn too_few_for_writes() -> bool {
    let min = MIN_TO_WRITE.load(Ordering::Relaxed);
    min > 0 && MAX_LAG.load(Ordering::Relaxed) > 0 && GOOD.load(Ordering::Relaxed) < min
}

/// Full syncs, accepted partial syncs, refused partial syncs (INFO `sync_full`,
/// `sync_partial_ok`, `sync_partial_err`).
static SYNCS: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

#[derive(Debug, Clone, Copy)]
pub enum Sync {
    Full = 0,
    PartialOk = 1,
    PartialErr = 2,
}

pub fn count_sync(kind: Sync) {
    SYNCS[kind as usize].fetch_add(1, Ordering::Relaxed);
}

pub fn syncs() -> [u64; 3] {
    [0, 1, 2].map(|i| SYNCS[i].load(Ordering::Relaxed))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Its snapshot is being prepared; the stream is kept for it.
    Buffering,
    /// The stream flows.
    Online,
}

impl State {
    /// INFO's words (Redis's `wait_bgsave` / `online`).
    pub fn name(self) -> &'static str {
        match self {
            State::Buffering => "wait_bgsave",
            State::Online => "online",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Replica {
    pub home: ShardId,
    pub client: u64,
    pub ip: String,
    /// Its own port (REPLCONF listening-port), 0 when it did not say.
    pub port: u16,
    pub state: State,
    /// The stream offset its next bytes start at.
    pub sent: u64,
    /// The offset it acknowledged last (REPLCONF ACK), and when (ms).
    pub acked: u64,
    pub acked_ms: u64,
    /// The stream kept while `Buffering`.
    held: Vec<u8>,
}

impl Replica {
    pub fn new(home: ShardId, client: u64, ip: String, port: u16, from: u64) -> Replica {
        Replica {
            home,
            client,
            ip,
            port,
            state: State::Buffering,
            sent: from,
            acked: 0,
            acked_ms: shards::clock::system_ms(),
            held: Vec::new(),
        }
    }
}

static REPLICAS: Mutex<Vec<Replica>> = Mutex::new(Vec::new());

fn replicas() -> MutexGuard<'static, Vec<Replica>> {
    REPLICAS.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn add(r: Replica) {
    let mut list = replicas();
    list.retain(|x| !(x.home == r.home && x.client == r.client));
    list.push(r);
}

/// The client left (or stopped being a replica).
pub fn forget(home: ShardId, client: u64) {
    replicas().retain(|x| !(x.home == home && x.client == client));
}

pub fn is_replica(home: ShardId, client: u64) -> bool {
    replicas()
        .iter()
        .any(|x| x.home == home && x.client == client)
}

/// Every replica as it stands.
pub fn list() -> Vec<Replica> {
    replicas().clone()
}

pub fn count() -> usize {
    replicas().len()
}

/// REPLCONF ACK.
pub fn ack(home: ShardId, client: u64, offset: u64) {
    if let Some(r) = replicas()
        .iter_mut()
        .find(|x| x.home == home && x.client == client)
    {
        r.acked = r.acked.max(offset);
        r.acked_ms = shards::clock::system_ms();
    }
}

/// Replicas that acknowledged at least `offset`.
pub fn acked_at_least(offset: u64) -> usize {
    replicas()
        .iter()
        .filter(|r| r.state == State::Online && r.acked >= offset)
        .count()
}

/// Tells the homes of the replicas that the stream grew (from `Shard::flush_mail`, when
/// this shard fed it).
pub fn wake(shard: &Rc<Shard>) {
    let mut homes: Vec<ShardId> = replicas().iter().map(|r| r.home).collect();
    homes.sort_unstable();
    homes.dedup();
    for home in homes {
        if home == shard.id {
            pump(shard);
        } else {
            let job = Box::new(|sh: &Rc<Shard>| {
                pump(sh);
                Box::new(()) as Answer
            });
            drop(shard.send(home, Work::Admin(job)));
        }
    }
}

/// Moves new stream bytes to this shard's replicas: into their output queue when
/// online, into their held buffer while their snapshot is prepared. A replica whose
/// offset fell out of the backlog, or over its output limit, is disconnected.
pub fn pump(shard: &Shard) {
    let limit = shard.settings.borrow().output_limits.replica;
    let mut list = replicas();
    let mut gone = Vec::new();
    for r in list.iter_mut().filter(|r| r.home == shard.id) {
        let Some(client) = shard.clients.borrow().get(r.client) else {
            gone.push(r.client);
            continue;
        };
        loop {
            let Some(bytes) = backlog::read_from(r.sent, STEP) else {
                crate::base::log::warning(&format!(
                    "Disconnecting replica {}:{}: its offset left the replication backlog",
                    r.ip, r.port
                ));
                client.kill();
                gone.push(r.client);
                break;
            };
            if bytes.is_empty() {
                break;
            }
            r.sent += bytes.len() as u64;
            let ok = match r.state {
                State::Buffering => {
                    r.held.extend_from_slice(&bytes);
                    within(&client, r.held.len() as u64, &limit)
                }
                State::Online => send(&client, Bytes::from(bytes), &limit),
            };
            if !ok {
                gone.push(r.client);
                break;
            }
        }
    }
    list.retain(|r| !(r.home == shard.id && gone.contains(&r.client)));
}

/// The snapshot went out: what was kept follows it, and the stream flows from now on.
pub fn online(shard: &Shard, client: &ClientHandle) {
    let id = client.info.borrow().id;
    let held = {
        let mut list = replicas();
        let Some(r) = list
            .iter_mut()
            .find(|x| x.home == shard.id && x.client == id)
        else {
            return;
        };
        r.state = State::Online;
        r.acked_ms = shards::clock::system_ms();
        std::mem::take(&mut r.held)
    };
    let limit = shard.settings.borrow().output_limits.replica;
    if !held.is_empty() {
        send(client, Bytes::from(held), &limit);
    }
    pump(shard);
}

/// Raw bytes for the replica's connection (not a reply: the stream as it is).
pub fn send(client: &ClientHandle, bytes: Bytes, limit: &OutputLimit) -> bool {
    let push = Pushed {
        resp2: bytes.clone(),
        resp3: bytes,
    };
    pubsub::send_as(client, push, limit, "replica")
}

/// Whether `waiting` bytes are within the replica limit; disconnects the client if not.
fn within(client: &ClientHandle, waiting: u64, limit: &OutputLimit) -> bool {
    pubsub::within_limit(client, waiting as usize, limit, "replica")
}
