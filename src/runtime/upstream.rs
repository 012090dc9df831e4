//! This server's primary, when it is a replica (REPLICAOF host port): where the
//! primary is, the link's state and how far into its stream this server is (the
//! replication id and the stream itself are the backlog's). Process-wide:
//! the link runs on one shard (`net/replica_link.rs`), INFO, ROLE and the read-only
//! check read it from every shard.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The link's state, in ROLE's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Waiting to (re)connect.
    Connect,
    /// Connected, in the handshake.
    Connecting,
    /// Receiving the snapshot.
    Sync,
    /// The stream flows.
    Connected,
}

impl Link {
    pub fn name(self) -> &'static str {
        match self {
            Link::Connect => "connect",
            Link::Connecting => "connecting",
            Link::Sync => "sync",
            Link::Connected => "connected",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Upstream {
    pub host: String,
    pub port: u16,
    pub link: Link,
    /// Stream bytes applied (`slave_repl_offset`); -1 before the first sync.
    pub offset: i64,
    /// When the link last received something (ms).
    pub last_io_ms: u64,
    /// Which REPLICAOF this is: a link whose generation is past stops.
    pub generation: u64,
}

static UPSTREAM: Mutex<Option<Upstream>> = Mutex::new(None);
/// Whether this server is a replica: the write path's one check.
static REPLICA: AtomicBool = AtomicBool::new(false);
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// Whether the link is up (the stream flows).
static LINK_UP: AtomicBool = AtomicBool::new(false);
/// `replica-serve-stale-data`: a replica whose link is down still answers.
static SERVE_STALE: AtomicBool = AtomicBool::new(true);

/// `repl-timeout` in seconds.
static REPL_TIMEOUT: AtomicU64 = AtomicU64::new(60);

pub fn set_repl_timeout(secs: u64) {
    REPL_TIMEOUT.store(secs.max(1), Ordering::Relaxed);
}

pub fn repl_timeout() -> std::time::Duration {
    std::time::Duration::from_secs(REPL_TIMEOUT.load(Ordering::Relaxed))
}

/// `replica-read-only`: clients' writes on a replica are refused.
static READ_ONLY: AtomicBool = AtomicBool::new(true);

pub fn set_read_only(on: bool) {
    READ_ONLY.store(on, Ordering::Relaxed);
}

pub fn read_only() -> bool {
    READ_ONLY.load(Ordering::Relaxed)
}

pub fn set_serve_stale(on: bool) {
    SERVE_STALE.store(on, Ordering::Relaxed);
}

pub fn serve_stale() -> bool {
    SERVE_STALE.load(Ordering::Relaxed)
}

/// Whether a replica refuses commands now: its link is down and
/// `replica-serve-stale-data` is off (Redis's -MASTERDOWN).
#[inline]
pub fn refuses_stale() -> bool {
    is_replica() && !LINK_UP.load(Ordering::Relaxed) && !SERVE_STALE.load(Ordering::Relaxed)
}

fn upstream() -> MutexGuard<'static, Option<Upstream>> {
    UPSTREAM.lock().unwrap_or_else(|e| e.into_inner())
}

#[inline]
pub fn is_replica() -> bool {
    REPLICA.load(Ordering::Relaxed)
}

/// The primary, if any.
pub fn get() -> Option<Upstream> {
    upstream().clone()
}

/// REPLICAOF host port: a new primary; returns the link's generation.
pub fn follow(host: &str, port: u16) -> u64 {
    let generation = GENERATION.fetch_add(1, Ordering::SeqCst) + 1;
    let mut up = upstream();
    // The offset applied is shown until the new link says otherwise (PSYNC itself
    // offers the backlog's id and offset, see `backlog`).
    let offset = match up.as_ref() {
        Some(u) if u.host == host && u.port == port => u.offset,
        _ => -1,
    };
    *up = Some(Upstream {
        host: host.to_string(),
        port,
        link: Link::Connect,
        offset,
        last_io_ms: shards::clock::system_ms(),
        generation,
    });
    REPLICA.store(true, Ordering::SeqCst);
    LINK_UP.store(false, Ordering::Relaxed);
    generation
}

/// REPLICAOF NO ONE: this server is a primary again (the link stops).
pub fn stop() -> Option<Upstream> {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    REPLICA.store(false, Ordering::SeqCst);
    LINK_UP.store(false, Ordering::Relaxed);
    upstream().take()
}

/// Whether the link of `generation` should go on.
pub fn current(generation: u64) -> bool {
    GENERATION.load(Ordering::SeqCst) == generation && is_replica()
}

/// Updates the primary's record if `generation` is still current.
pub fn update(generation: u64, f: impl FnOnce(&mut Upstream)) {
    let mut up = upstream();
    if let Some(u) = up.as_mut().filter(|u| u.generation == generation) {
        f(u);
        LINK_UP.store(u.link == Link::Connected, Ordering::Relaxed);
    }
}

/// Keeps a replica's applying of its primary's stream and the snapshots it serves its
/// own replicas apart: the link holds it while it applies a read's commands and feeds
/// them to the backlog, a snapshot while it cuts, so a cut falls between batches and
/// its offset matches its data. Uncontended on a primary (one flag set per snapshot).
static STREAM_GATE: AtomicBool = AtomicBool::new(false);

/// Held while alive.
pub struct StreamGate(());

impl Drop for StreamGate {
    fn drop(&mut self) {
        STREAM_GATE.store(false, Ordering::Release);
    }
}

/// Waits for the gate (the other side holds it for a batch or a cut: briefly).
pub async fn stream_gate() -> StreamGate {
    let mut pause = std::time::Duration::from_micros(20);
    while STREAM_GATE
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        crate::runtime::sleep::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(1));
    }
    StreamGate(())
}
