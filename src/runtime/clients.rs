//! The clients connected to one shard: their CLIENT-visible state, CLIENT LIST lines and
//! CLIENT KILL. Client ids are unique across shards without coordination: shard `s` of
//! `n` hands out `s + 1, s + 1 + n, s + 1 + 2n, ...`.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::Arc;

use shards::ShardId;

use bytes::Bytes;
use shards::cmd::CommandSpec;

use crate::runtime::acl::{self, User};

/// A client between MULTI and EXEC.
#[derive(Default)]
pub struct MultiState {
    pub queued: Vec<(&'static CommandSpec, Vec<Bytes>)>,
    /// A command was refused while queueing: EXEC aborts.
    pub dirty: bool,
}

/// What a client watches: the shards it registered with.
#[derive(Default)]
pub struct WatchState {
    pub shards: Vec<ShardId>,
    /// The keys watched (db, key), for CLIENT LIST's `watch`.
    pub keys: std::collections::HashSet<(usize, Bytes)>,
}

/// A connection's cluster-mode state.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClusterFlags {
    /// Accepted on the shard's own node port (not the public port): the connection
    /// talks to that node only.
    pub node_port: bool,
    /// ASKING was sent: the next command may use a slot this node is importing.
    pub asking: bool,
    /// READONLY was sent (accepted; there are no replicas to read from).
    pub readonly: bool,
}

/// CLIENT REPLY mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    Skip,
    /// Set by CLIENT REPLY SKIP: that command gets no reply, nor does the next one.
    SkipArmed,
}

#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: RawFd,
    pub name: String,
    pub db: usize,
    pub created_ms: u64,
    pub last_ms: u64,
    pub last_cmd: String,
    pub resp: u8,
    pub lib_name: String,
    pub lib_ver: String,
    pub no_evict: bool,
    pub no_touch: bool,
    pub authenticated: bool,
    pub reply: ReplyMode,
    pub qbuf: usize,
    /// The query buffer's capacity (`qbuf-free` is what is left of it).
    pub qbuf_cap: usize,
}

impl ClientInfo {
    /// One CLIENT LIST / CLIENT INFO line, in Redis 7's field order; `subs` are the
    /// client's channel, pattern and sharded-channel subscriptions, `monitor` whether it
    /// runs MONITOR.
    pub fn line(&self, now_ms: u64, st: &LineState) -> String {
        let subs = st.subs;
        let mut flags = String::new();
        if st.monitor {
            flags.push('O');
        }
        if st.replica {
            flags.push('S');
        }
        if subs.0 + subs.1 + subs.2 > 0 {
            flags.push('P');
        }
        if st.multi >= 0 {
            flags.push('x');
        }
        if st.blocked {
            flags.push('b');
        }
        if st.tracking.0 {
            flags.push('t');
        }
        if st.tracking.1 {
            flags.push('R');
        }
        if st.tracking.2 {
            flags.push('B');
        }
        if self.no_evict {
            flags.push('e');
        }
        if self.no_touch {
            flags.push('T');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} \
             ssub={} multi={} watch={} qbuf={} qbuf-free={} argv-mem=0 multi-mem={} rbs=16384 \
             rbp=0 obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user={} redir={} resp={} \
             lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            self.name,
            now_ms.saturating_sub(self.created_ms) / 1000,
            now_ms.saturating_sub(self.last_ms) / 1000,
            flags,
            self.db,
            subs.0,
            subs.1,
            subs.2,
            st.multi,
            st.watching,
            self.qbuf,
            // The read buffer: 16 KiB, grown to what a command needs.
            self.qbuf_cap.saturating_sub(self.qbuf),
            st.multi_mem,
            st.omem,
            // The client's own state too (its handle), as Redis counts its struct.
            std::mem::size_of::<ClientHandle>()
                + self.name.capacity()
                + self.qbuf_cap.max(self.qbuf)
                + st.omem
                + st.multi_mem,
            if self.last_cmd.is_empty() {
                "NULL"
            } else {
                &self.last_cmd
            },
            st.user,
            st.redir,
            self.resp,
            self.lib_name,
            self.lib_ver,
        )
    }
}

/// What CLIENT LIST shows of a client's state beyond `ClientInfo`.
pub struct LineState {
    /// Channel, pattern and sharded-channel subscriptions.
    pub subs: (usize, usize, usize),
    pub monitor: bool,
    pub replica: bool,
    /// Commands queued in MULTI, -1 outside one.
    pub multi: i64,
    /// Bytes of the queued commands' arguments.
    pub multi_mem: usize,
    pub watching: usize,
    pub blocked: bool,
    /// Tracking on, its redirect broken, BCAST.
    pub tracking: (bool, bool, bool),
    /// The tracking redirect (-1: none).
    pub redir: i64,
    /// Pushed bytes (Pub/Sub messages, invalidations) not yet sent.
    pub omem: usize,
    /// The ACL user it is logged in as.
    pub user: String,
}

/// A connected client as its shard sees it.
pub struct ClientHandle {
    pub info: RefCell<ClientInfo>,
    pub killed: Cell<bool>,
    /// Between MULTI and EXEC/DISCARD.
    pub multi: RefCell<Option<MultiState>>,
    pub watch: RefCell<WatchState>,
    pub cluster: Cell<ClusterFlags>,
    /// About how many bytes another shard's answer to this client took lately (0: not
    /// seen yet); the router sizes its chunks of remote ops by it.
    pub remote_answer_bytes: Cell<usize>,
    /// Pub/Sub: what it subscribed to, where its messages queue (made at the first
    /// subscription; the connection takes the receiving end), and how many bytes of
    /// them wait (`runtime::pubsub`).
    pub subs: RefCell<Subscriptions>,
    pub pushes: RefCell<Option<PushSender>>,
    pub push_rx: RefCell<Option<PushReceiver>>,
    pub push_bytes: Cell<usize>,
    /// Since when its waiting pushes are over the soft limit.
    pub over_soft_since: Cell<Option<std::time::Instant>>,
    /// Runs MONITOR.
    pub monitor: Cell<bool>,
    /// The link to this server's primary (the stream's commands): writes allowed on a
    /// read-only replica.
    pub master_link: Cell<bool>,
    /// A client the server obeys without ACL checks: the primary's link, the append-only
    /// file's replay.
    pub trusted: Cell<bool>,
    /// A replica of this server: it asked for the replication stream.
    pub replica: Cell<bool>,
    /// REPLCONF listening-port: the port a replica says it listens on.
    pub repl_port: Cell<u16>,
    /// REPLCONF rdb-only 1: it wants the snapshot and no stream (redis-cli --rdb).
    pub repl_rdb_only: Cell<bool>,
    /// CLIENT TRACKING (`runtime::tracking`).
    pub tracking: RefCell<crate::runtime::tracking::ClientTracking>,
    /// Set while the client waits in a blocking command: CLIENT UNBLOCK ends the
    /// wait through it (`true`: with an error).
    pub unblocker: RefCell<Option<futures_channel::oneshot::Sender<bool>>>,
    /// The arguments a batch keeps for the slow log, reused from batch to batch
    /// (`net/measure.rs`).
    pub slow_args: RefCell<Vec<bytes::Bytes>>,
    /// The ACL user it is logged in as, as the users' table was at `user_gen`.
    pub user: RefCell<Arc<User>>,
    pub user_gen: Cell<u64>,
}

/// A pushed message, encoded once for all its receivers in both protocols.
#[derive(Clone)]
pub struct Pushed {
    pub resp2: Bytes,
    pub resp3: Bytes,
}

impl Pushed {
    pub fn of(reply: &shards::Reply) -> Pushed {
        let mut two = Vec::new();
        crate::base::resp::encode(&mut two, reply, 2);
        let mut three = Vec::new();
        crate::base::resp::encode(&mut three, reply, 3);
        let resp2 = Bytes::from(two);
        let resp3 = if three == resp2[..] {
            resp2.clone()
        } else {
            Bytes::from(three)
        };
        Pushed { resp2, resp3 }
    }

    /// The bytes it counts against the client's limit.
    pub fn size(&self) -> usize {
        self.resp2.len()
    }

    pub fn bytes(&self, proto: u8) -> &[u8] {
        if proto >= 3 {
            &self.resp3
        } else {
            &self.resp2
        }
    }
}

pub type PushSender = futures_channel::mpsc::UnboundedSender<Pushed>;
pub type PushReceiver = futures_channel::mpsc::UnboundedReceiver<Pushed>;

/// A client's channels, patterns and sharded channels.
#[derive(Debug, Default)]
pub struct Subscriptions {
    pub channels: std::collections::BTreeSet<Bytes>,
    pub patterns: std::collections::BTreeSet<Bytes>,
    pub shard: std::collections::BTreeSet<Bytes>,
}

impl Subscriptions {
    /// Whether the client is in subscribed mode.
    pub fn any(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shard.is_empty())
    }
}

impl ClientHandle {
    /// The selected database, and whether reads refresh access times (not under
    /// CLIENT NO-TOUCH).
    /// Makes its queue of pushed messages (once; Pub/Sub, MONITOR, invalidations); its
    /// connection takes the receiving end.
    pub fn ensure_push_queue(&self) {
        if self.pushes.borrow().is_none() {
            let (tx, rx) = futures_channel::mpsc::unbounded();
            *self.pushes.borrow_mut() = Some(tx);
            *self.push_rx.borrow_mut() = Some(rx);
        }
    }

    /// What the shards do for its CLIENT TRACKING when they run `spec` for it.
    pub fn track(&self, spec: &CommandSpec) -> shards::ops::Track {
        let t = self.tracking.borrow();
        if !t.on {
            return shards::ops::Track::NONE;
        }
        t.track_for(self.info.borrow().id, spec)
    }

    /// `track` for a command the client sent, which uses up a CLIENT CACHING: it
    /// applies to the next command that is not a CLIENT command (or to a whole MULTI),
    /// as in Redis.
    pub fn track_command(&self, spec: &CommandSpec) -> shards::ops::Track {
        let track = self.track(spec);
        if track.client != 0 && spec.name != "client" && self.multi.borrow().is_none() {
            self.tracking.borrow_mut().caching = false;
        }
        track
    }

    pub fn db_touch(&self) -> (usize, bool) {
        let info = self.info.borrow();
        (info.db, !info.no_touch)
    }

    /// Its CLIENT LIST line.
    /// Its type: a replica once it asked for the stream, Pub/Sub while subscribed.
    pub fn kind(&self) -> ClientKind {
        if self.master_link.get() {
            ClientKind::Master
        } else if self.replica.get() {
            ClientKind::Replica
        } else if self.subs.borrow().any() {
            ClientKind::PubSub
        } else {
            ClientKind::Normal
        }
    }

    pub fn line(&self, now_ms: u64) -> String {
        let subs = {
            let s = self.subs.borrow();
            (s.channels.len(), s.patterns.len(), s.shard.len())
        };
        let (multi, multi_mem) = match &*self.multi.borrow() {
            Some(m) => {
                let mem = m.queued.iter().flat_map(|(_, a)| a).map(|a| a.len()).sum();
                (m.queued.len() as i64, mem)
            }
            None => (-1, 0),
        };
        let tracking = {
            let t = self.tracking.borrow();
            let redir = if t.on && t.redirect != 0 {
                t.redirect as i64
            } else if t.on {
                0
            } else {
                -1
            };
            ((t.on, t.on && t.broken_redirect, t.on && t.bcast), redir)
        };
        let st = LineState {
            subs,
            monitor: self.monitor.get(),
            replica: self.replica.get(),
            multi,
            multi_mem,
            watching: self.watch.borrow().keys.len(),
            blocked: self.unblocker.borrow().is_some(),
            tracking: tracking.0,
            redir: tracking.1,
            omem: self.push_bytes.get(),
            user: self.user.borrow().name.clone(),
        };
        self.info.borrow().line(now_ms, &st)
    }

    /// Logs the client in as `user`.
    pub fn login(&self, user: Arc<User>) {
        *self.user.borrow_mut() = user;
        self.user_gen.set(acl::generation());
        self.info.borrow_mut().authenticated = true;
    }

    /// Re-reads its user after an ACL change; `false` when the user was deleted.
    #[inline]
    pub fn refresh_user(&self) -> bool {
        let g = acl::generation();
        if self.user_gen.get() == g {
            return true;
        }
        let found = acl::get(&self.user.borrow().name);
        match found {
            Some(u) => {
                *self.user.borrow_mut() = u;
                self.user_gen.set(g);
                true
            }
            None => false,
        }
    }

    /// CLIENT UNBLOCK: ends the client's blocking wait; whether it was waiting.
    pub fn unblock(&self, error: bool) -> bool {
        match self.unblocker.borrow_mut().take() {
            Some(tx) => tx.send(error).is_ok(),
            None => false,
        }
    }

    /// Marks the client for closing and wakes its pending read.
    pub fn kill(&self) {
        self.killed.set(true);
        // SAFETY: the fd belongs to the live connection registered here; shutdown only
        // makes its pending and future reads return end-of-file.
        unsafe {
            libc::shutdown(self.info.borrow().fd, libc::SHUT_RDWR);
        }
    }
}

/// Which clients CLIENT KILL targets; every given field must match.
#[derive(Debug, Clone, Default)]
pub struct KillFilter {
    pub id: Option<u64>,
    pub addr: Option<String>,
    pub laddr: Option<String>,
    pub skip_id: Option<u64>,
    pub user: Option<String>,
    pub max_age_secs: Option<u64>,
    pub kind: Option<ClientKind>,
}

/// A client's type, as CLIENT LIST TYPE and CLIENT KILL TYPE name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    Normal,
    /// A replica of this server (it asked for the stream).
    Replica,
    /// This server's primary (none: corecache is not a replica yet).
    Master,
    /// Subscribed to channels or patterns.
    PubSub,
}

impl ClientKind {
    /// Redis's names (`slave` is `replica`).
    pub fn parse(name: &str) -> Option<ClientKind> {
        Some(match name.to_ascii_lowercase().as_str() {
            "normal" => ClientKind::Normal,
            "replica" | "slave" => ClientKind::Replica,
            "master" => ClientKind::Master,
            "pubsub" => ClientKind::PubSub,
            _ => return None,
        })
    }
}

pub struct ClientRegistry {
    clients: BTreeMap<u64, Rc<ClientHandle>>,
    next_id: u64,
    step: u64,
}

impl ClientRegistry {
    pub fn new(shard: ShardId, nshards: usize) -> Self {
        ClientRegistry {
            clients: BTreeMap::new(),
            next_id: shard as u64 + 1,
            step: nshards.max(1) as u64,
        }
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Bytes of unparsed input the clients hold (as of their last read).
    pub fn input_bytes(&self) -> usize {
        self.clients.values().map(|c| c.info.borrow().qbuf).sum()
    }

    /// The largest query buffer among the clients (INFO's recent max input buffer).
    pub fn max_qbuf(&self) -> usize {
        self.clients
            .values()
            .map(|c| c.info.borrow().qbuf)
            .max()
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    pub fn register(
        &mut self,
        fd: RawFd,
        peer: Option<SocketAddr>,
        local: Option<SocketAddr>,
        now_ms: u64,
    ) -> Rc<ClientHandle> {
        let id = self.next_id;
        self.next_id += self.step;
        let show = |a: Option<SocketAddr>| a.map(|a| a.to_string()).unwrap_or_default();
        let handle = Rc::new(ClientHandle {
            info: RefCell::new(ClientInfo {
                id,
                addr: show(peer),
                laddr: show(local),
                fd,
                name: String::new(),
                db: 0,
                created_ms: now_ms,
                last_ms: now_ms,
                last_cmd: String::new(),
                resp: 2,
                lib_name: String::new(),
                lib_ver: String::new(),
                no_evict: false,
                no_touch: false,
                // Logged in as `default` when that user needs no password (as Redis).
                authenticated: acl::default_open(),
                reply: ReplyMode::On,
                qbuf: 0,
                qbuf_cap: 0,
            }),
            killed: Cell::new(false),
            remote_answer_bytes: Cell::new(0),
            subs: RefCell::new(Subscriptions::default()),
            pushes: RefCell::new(None),
            push_rx: RefCell::new(None),
            push_bytes: Cell::new(0),
            over_soft_since: Cell::new(None),
            monitor: Cell::new(false),
            master_link: Cell::new(false),
            trusted: Cell::new(false),
            replica: Cell::new(false),
            repl_port: Cell::new(0),
            repl_rdb_only: Cell::new(false),
            tracking: RefCell::new(Default::default()),
            unblocker: RefCell::new(None),
            slow_args: RefCell::new(Vec::new()),
            user: RefCell::new(
                acl::get("default").unwrap_or_else(|| Arc::new(User::default_user())),
            ),
            user_gen: Cell::new(acl::generation()),
            multi: RefCell::new(None),
            watch: RefCell::new(WatchState::default()),
            cluster: Cell::new(Default::default()),
        });
        self.clients.insert(id, handle.clone());
        handle
    }

    /// The connected client `id`, if it is on this shard.
    pub fn get(&self, id: u64) -> Option<Rc<ClientHandle>> {
        self.clients.get(&id).cloned()
    }

    /// The clients with CLIENT TRACKING on.
    pub fn tracking_ids(&self) -> Vec<u64> {
        self.clients
            .iter()
            .filter(|(_, c)| c.tracking.borrow().on)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Every client of this shard.
    pub fn all(&self) -> Vec<Rc<ClientHandle>> {
        self.clients.values().cloned().collect()
    }

    pub fn unregister(&mut self, id: u64) {
        self.clients.remove(&id);
    }

    pub fn list_lines(
        &self,
        ids: Option<&[u64]>,
        kind: Option<ClientKind>,
        now_ms: u64,
    ) -> Vec<String> {
        self.clients
            .values()
            .filter(|c| ids.is_none_or(|ids| ids.contains(&c.info.borrow().id)))
            .filter(|c| kind.is_none_or(|k| c.kind() == k))
            .map(|c| c.line(now_ms))
            .collect()
    }

    /// Kills matching clients and drops them from the list; returns how many.
    pub fn kill(&mut self, f: &KillFilter) -> usize {
        let now = shards::clock::system_ms();
        let mut n = 0;
        for c in self.clients.values() {
            let hit = {
                let i = c.info.borrow();
                f.id.is_none_or(|id| id == i.id)
                    && f.addr.as_ref().is_none_or(|a| *a == i.addr)
                    && f.laddr.as_ref().is_none_or(|a| *a == i.laddr)
                    && f.skip_id != Some(i.id)
                    && f.user.as_ref().is_none_or(|u| *u == c.user.borrow().name)
                    && f.kind.is_none_or(|k| c.kind() == k)
                    && f.max_age_secs
                        .is_none_or(|m| now.saturating_sub(i.created_ms) / 1000 > m)
            };
            if hit && !c.killed.get() {
                c.kill();
                n += 1;
            }
        }
        self.clients.retain(|_, c| !c.killed.get());
        n
    }
}
