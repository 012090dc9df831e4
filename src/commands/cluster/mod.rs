//! Redis Cluster mode. Every shard is also a cluster node: a master on its own port
//! that owns the shard's slots. Cluster clients read the slot map (CLUSTER SLOTS) and
//! then send each command to the port of the core that owns its keys, so no command
//! crosses cores; a key sent to the wrong node gets `-MOVED`. The public port keeps
//! serving every key this process owns, forwarding between cores as in standalone mode.
//!
//! Each shard keeps its own copy of the cluster state in a thread-local (one executor
//! per thread): the nodes, the owner node of every slot, and the slots this process's
//! nodes are migrating or importing. A change (CLUSTER ADDSLOTS, SETSLOT ...) is
//! applied by every shard of the process through the mesh before the command answers.
//! Several processes form one cluster from a topology file (`topology`); there is no
//! gossip between processes: an orchestrator (or `redis-cli --cluster`) tells every
//! node what changes, as it does with Redis.
//!
//! Replicas are whole processes (`roles`): a process that replicates another has the
//! same number of shards, and its node `i` is a replica of the other's node `i`.

mod command;
mod redirect;
mod roles;
mod slot_index;
pub mod topology;
mod views;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use shards::{ShardId, Slot};

use crate::runtime::shard::Shard;

pub use command::{cluster, connection_flag};
pub use redirect::{check, Verdict};
pub use roles::sync_upstream;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether the process runs in cluster mode (set once at start-up).
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// A process of the cluster: where its public port is.
#[derive(Debug, Clone, PartialEq)]
pub struct Process {
    pub ip: String,
    pub port: u16,
}

/// A cluster node: one shard of this or another process.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    /// The node's own shard id (a replica shows its master's, as Redis 7.2 does).
    pub shard_id: String,
    /// Announced IP; empty: the address the client reached us at.
    pub ip: String,
    pub port: u16,
    /// The shard of this process that is this node.
    pub local: Option<ShardId>,
    pub epoch: u64,
    /// The process (index into `State::processes`) this node is a shard of.
    pub process: usize,
    /// The master node this node replicates; `None` for a master.
    pub master: Option<usize>,
}

impl Node {
    /// The cluster bus port Redis would show (`port + 10000`); there is no bus.
    pub fn cport(&self) -> u32 {
        let c = self.port as u32 + 10000;
        if c > 65535 {
            0
        } else {
            c
        }
    }
}

/// Owner value of an unassigned slot.
pub const UNASSIGNED: u16 = u16::MAX;

/// One shard's view of the cluster.
#[derive(Debug, Clone)]
pub struct State {
    pub nodes: Vec<Node>,
    /// Every process of the cluster (this one alone without a topology file).
    pub processes: Vec<Process>,
    /// Owner node (index into `nodes`) of every slot, or `UNASSIGNED`.
    pub owner: Vec<u16>,
    /// (node, slot) -> the node the slot is migrating to (nodes of this process).
    pub migrating: BTreeMap<(usize, Slot), usize>,
    /// (node, slot) -> the node the slot is imported from (nodes of this process).
    pub importing: BTreeMap<(usize, Slot), usize>,
    /// The node of this shard.
    pub me: usize,
    pub current_epoch: u64,
    /// Where the node ids and the slot map are kept (rewritten when slots move).
    pub nodes_file: String,
    /// Which topology the slot map started from.
    pub topology_tag: String,
}

impl State {
    pub fn owner_of(&self, slot: Slot) -> Option<usize> {
        match self.owner[slot as usize] {
            UNASSIGNED => None,
            o => Some(o as usize),
        }
    }

    pub fn node_by_id(&self, id: &[u8]) -> Option<usize> {
        self.nodes.iter().position(|n| n.id.as_bytes() == id)
    }

    /// The nodes of process `p`, in shard order.
    pub fn nodes_of(&self, p: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| self.nodes[n].process == p)
            .collect()
    }

    /// The replicas of node `m`.
    pub fn replicas_of(&self, m: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| self.nodes[n].master == Some(m))
            .collect()
    }

    /// The process this process replicates, if it is a replica.
    pub fn my_primary(&self) -> Option<usize> {
        let m = self.nodes[self.me].master?;
        Some(self.nodes[m].process)
    }

    /// The shard id a node shows: its master's for a replica.
    pub fn shard_id_of(&self, n: usize) -> &str {
        let shown = self.nodes[n].master.unwrap_or(n);
        &self.nodes[shown].shard_id
    }

    /// The slot ranges a node owns, as inclusive pairs.
    pub fn ranges_of(&self, node: usize) -> Vec<(Slot, Slot)> {
        let mut out: Vec<(Slot, Slot)> = Vec::new();
        for (s, &o) in self.owner.iter().enumerate() {
            if o as usize != node {
                continue;
            }
            match out.last_mut() {
                Some(last) if last.1 as usize + 1 == s => last.1 = s as Slot,
                _ => out.push((s as Slot, s as Slot)),
            }
        }
        out
    }

    /// Whether any node of this process is moving `slot` in or out.
    pub fn in_migration(&self, slot: Slot) -> bool {
        let moving = |m: &BTreeMap<(usize, Slot), usize>| m.keys().any(|&(_, s)| s == slot);
        !(self.migrating.is_empty() && self.importing.is_empty())
            && (moving(&self.migrating) || moving(&self.importing))
    }

    /// Process `process`'s node `i` replicates process `primary`'s node `i`. Returns the
    /// slots whose keys now live on this process's replica nodes.
    fn follow(&mut self, process: usize, primary: usize) -> Vec<Slot> {
        let theirs = self.nodes_of(primary);
        for (a, &b) in self.nodes_of(process).into_iter().zip(&theirs) {
            self.nodes[a].master = Some(b);
        }
        (0..self.owner.len())
            .filter(|&s| self.owner[s] != UNASSIGNED && theirs.contains(&(self.owner[s] as usize)))
            .map(|s| s as Slot)
            .collect()
    }

    /// Process `process`'s replica nodes take over their masters' slots; the old masters
    /// and their other replicas follow them. Returns the slots that changed owner.
    fn promote(&mut self, process: usize, epoch: u64) -> Vec<Slot> {
        let mut touched = Vec::new();
        for a in self.nodes_of(process) {
            let Some(old) = self.nodes[a].master else {
                continue;
            };
            for (s, o) in self.owner.iter_mut().enumerate() {
                if *o as usize == old {
                    *o = a as u16;
                    touched.push(s as Slot);
                }
            }
            for r in self.replicas_of(old) {
                self.nodes[r].master = Some(a);
            }
            self.nodes[a].master = None;
            self.nodes[a].epoch = epoch;
            self.nodes[old].master = Some(a);
        }
        self.current_epoch = self.current_epoch.max(epoch);
        touched
    }

    /// The shard of this process that serves `slot` for the shard whose node is `me`:
    /// a slot its node imports is served by itself; else the local owner, else a local
    /// node importing it. `None`: the slot lives in another process.
    fn route_for(&self, slot: Slot) -> Option<ShardId> {
        if self.importing.contains_key(&(self.me, slot)) {
            return self.nodes[self.me].local;
        }
        if let Some(o) = self.owner_of(slot) {
            if let Some(shard) = self.nodes[o].local {
                return Some(shard);
            }
            // A replica process keeps the slot's keys on the node replicating its owner.
            if let Some(r) = self
                .replicas_of(o)
                .into_iter()
                .find_map(|r| self.nodes[r].local)
            {
                return Some(r);
            }
        }
        self.importing
            .keys()
            .find(|&&(_, s)| s == slot)
            .and_then(|&(n, _)| self.nodes[n].local)
    }
}

/// A change of the cluster state, applied by every shard of the process.
#[derive(Debug, Clone)]
pub enum Update {
    /// Slots get a new owner (ADDSLOTS, DELSLOTS, SETSLOT NODE); their migration states
    /// end.
    Assign {
        slots: Vec<Slot>,
        node: Option<usize>,
    },
    Migrating {
        node: usize,
        slot: Slot,
        to: usize,
    },
    Importing {
        node: usize,
        slot: Slot,
        from: usize,
    },
    Stable {
        node: usize,
        slot: Slot,
    },
    Epoch {
        node: usize,
        epoch: u64,
    },
    /// Process `process`'s node `i` becomes a replica of process `primary`'s node `i`.
    Follow {
        process: usize,
        primary: usize,
    },
    /// Process `process`'s nodes take over the slots of the masters they replicate,
    /// with config epoch `epoch`; those masters and their other replicas follow them.
    Promote {
        process: usize,
        epoch: u64,
    },
}

/// Cluster work one shard asks of another.
#[derive(Debug)]
pub enum Request {
    Update(Update),
    CountKeysInSlot(Slot),
    KeysInSlot(Slot, usize),
}

#[derive(Debug)]
pub enum Response {
    Done,
    Count(usize),
    Keys(Vec<Bytes>),
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
    /// Keys a MIGRATE of this shard is moving right now (with how many MIGRATEs).
    static IN_FLIGHT: RefCell<HashMap<Bytes, usize>> = RefCell::new(HashMap::new());
}

/// Keys a MIGRATE is copying to another node: until it has deleted them here, a write
/// to one of them would be lost, so such writes get `-TRYAGAIN` (clients retry, then
/// meet `-ASK` once the key has left). Registered for the life of the value.
pub struct InFlight(Vec<Bytes>);

impl InFlight {
    pub fn new(keys: &[Bytes]) -> InFlight {
        if !enabled() {
            return InFlight(Vec::new());
        }
        IN_FLIGHT.with(|m| {
            let mut m = m.borrow_mut();
            for k in keys {
                *m.entry(k.clone()).or_insert(0) += 1;
            }
        });
        InFlight(keys.to_vec())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.with(|m| {
            let mut m = m.borrow_mut();
            for k in &self.0 {
                if let Some(n) = m.get_mut(k) {
                    *n -= 1;
                    if *n == 0 {
                        m.remove(k);
                    }
                }
            }
        });
    }
}

/// Whether a MIGRATE of this shard is moving `key`.
pub fn in_flight(key: &[u8]) -> bool {
    IN_FLIGHT.with(|m| {
        let m = m.borrow();
        !m.is_empty() && m.contains_key(key)
    })
}

/// Installs this shard's view (start-up, on the shard's own thread).
pub fn install(mut state: State, shard: ShardId) {
    state.me = state
        .nodes
        .iter()
        .position(|n| n.local == Some(shard))
        .expect("every shard is a node");
    STATE.with(|s| *s.borrow_mut() = Some(state));
}

/// Reads this shard's view. Only called in cluster mode.
pub fn with<R>(f: impl FnOnce(&State) -> R) -> R {
    STATE.with(|s| f(s.borrow().as_ref().expect("cluster state installed")))
}

fn with_mut<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| f(s.borrow_mut().as_mut().expect("cluster state installed")))
}

/// Serves a cluster request from a sibling shard (or this one).
pub fn on_request(shard: &Rc<Shard>, req: Request) -> Response {
    match req {
        Request::Update(u) => {
            apply(shard, u);
            Response::Done
        }
        Request::CountKeysInSlot(slot) => Response::Count(slot_index::count(shard, slot)),
        Request::KeysInSlot(slot, n) => Response::Keys(slot_index::keys(shard, slot, n)),
    }
}

/// Applies a change on every shard of this process; answers once all have it.
pub(super) async fn update(shard: &Rc<Shard>, u: Update) {
    shard
        .run_everywhere(|| {
            let u = u.clone();
            move |s: &Rc<Shard>| on_request(s, Request::Update(u))
        })
        .await;
}

enum Kind {
    Assign,
    Role,
    Other,
}

/// Applies a change to this shard's view and its slot -> shard table.
fn apply(shard: &Shard, u: Update) {
    let kind = match u {
        Update::Assign { .. } => Kind::Assign,
        Update::Follow { .. } | Update::Promote { .. } => Kind::Role,
        _ => Kind::Other,
    };
    let assigned = !matches!(kind, Kind::Other);
    let touched: Vec<Slot> = with_mut(|st| match u {
        Update::Assign { slots, node } => {
            for &s in &slots {
                st.owner[s as usize] = node.map_or(UNASSIGNED, |n| n as u16);
                st.migrating.retain(|&(_, ms), _| ms != s);
                st.importing.retain(|&(_, is), _| is != s);
            }
            slots
        }
        Update::Migrating { node, slot, to } => {
            st.migrating.insert((node, slot), to);
            vec![slot]
        }
        Update::Importing { node, slot, from } => {
            st.importing.insert((node, slot), from);
            vec![slot]
        }
        Update::Stable { node, slot } => {
            st.migrating.remove(&(node, slot));
            st.importing.remove(&(node, slot));
            vec![slot]
        }
        Update::Epoch { node, epoch } => {
            st.nodes[node].epoch = epoch;
            st.current_epoch = st.current_epoch.max(epoch);
            Vec::new()
        }
        Update::Follow { process, primary } => st.follow(process, primary),
        Update::Promote { process, epoch } => st.promote(process, epoch),
    });
    with(|st| {
        // A replica process keeps its keys where its stream put them: a slot its
        // primary moves between cores stays on the core that has its keys (reads are
        // forwarded there).
        let keep = matches!(kind, Kind::Assign) && st.nodes[st.me].master.is_some();
        for s in touched.into_iter().filter(|_| !keep) {
            if let Some(to) = st.route_for(s) {
                shard.slots.set_owner(s, to);
            }
        }
        // One shard of the process keeps the nodes file.
        if assigned && shard.id == 0 {
            if let Err(e) = topology::save(st) {
                crate::base::log::warning(&format!("cannot save {}: {e}", st.nodes_file));
            }
        }
    });
}
