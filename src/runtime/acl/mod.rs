//! Access control lists: the users (process-wide), the log of denials, and what a
//! client's user may run (`check.rs`); the rule language is `rules.rs`, the ACL command
//! `commands/acl.rs`.
//!
//! The users live in one table behind a lock that only changes take; every change
//! bumps a generation. A client keeps its user (an `Arc`) with the generation it read
//! it at, so the command path costs one atomic load and, for a user that may do
//! everything (the `default` user of a server without ACLs), nothing more. A change is
//! in the table before ACL SETUSER answers, so every shard's next command sees it.

pub mod check;
pub mod rules;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

pub use rules::User;

type Table = BTreeMap<String, Arc<User>>;

static USERS: RwLock<Option<Arc<Table>>> = RwLock::new(None);
static GENERATION: AtomicU64 = AtomicU64::new(1);
/// Whether a new connection is logged in as `default` without AUTH.
static DEFAULT_OPEN: AtomicBool = AtomicBool::new(true);
/// `aclfile`: where ACL LOAD and SAVE read and write the users.
static FILE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

pub fn set_file(path: &str) {
    let _ = FILE.set(path.to_string());
}

pub fn file() -> Option<String> {
    FILE.get().cloned()
}

/// Whether the default user has `nopass` (protected mode looks at it).
static DEFAULT_NOPASS: AtomicBool = AtomicBool::new(true);
/// `protected-mode`.
static PROTECTED: AtomicBool = AtomicBool::new(true);

pub fn set_protected_mode(on: bool) {
    PROTECTED.store(on, Ordering::Relaxed);
}

pub fn protected_mode() -> bool {
    PROTECTED.load(Ordering::Relaxed)
}

/// Protected mode turns away a connection from `peer` (Redis's rule: protected mode
/// on, no password for the default user, and a peer not on the loopback interface).
pub fn refuses_peer(peer: Option<std::net::SocketAddr>) -> bool {
    if !PROTECTED.load(Ordering::Relaxed) || !DEFAULT_NOPASS.load(Ordering::Relaxed) {
        return false;
    }
    let loopback = |ip: std::net::IpAddr| match ip {
        std::net::IpAddr::V4(v4) => v4.is_loopback(),
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    };
    peer.is_some_and(|p| !loopback(p.ip()))
}

/// `acl-pubsub-default`: new users start with `allchannels` (else `resetchannels`).
static PUBSUB_ALL: AtomicBool = AtomicBool::new(false);

fn table() -> Arc<Table> {
    let guard = USERS.read().unwrap_or_else(|e| e.into_inner());
    match guard.as_ref() {
        Some(t) => t.clone(),
        None => {
            drop(guard);
            let mut w = USERS.write().unwrap_or_else(|e| e.into_inner());
            w.get_or_insert_with(|| {
                let mut t = Table::new();
                t.insert("default".into(), User::default_user().sealed());
                Arc::new(t)
            })
            .clone()
        }
    }
}

/// The generation of the users' table (changes with every ACL change).
#[inline]
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

pub fn get(name: &str) -> Option<Arc<User>> {
    table().get(name).cloned()
}

/// Every user, by name.
pub fn users() -> Vec<Arc<User>> {
    table().values().cloned().collect()
}

/// Whether a new connection needs no AUTH (`default` is on and has `nopass`).
#[inline]
pub fn default_open() -> bool {
    DEFAULT_OPEN.load(Ordering::Relaxed)
}

pub fn pubsub_all_default() -> bool {
    PUBSUB_ALL.load(Ordering::Relaxed)
}

pub fn set_pubsub_all_default(all: bool) {
    PUBSUB_ALL.store(all, Ordering::Relaxed);
}

/// Changes the table: `f` gets a copy to edit; on `Ok` it replaces the table.
pub fn change<R, E>(f: impl FnOnce(&mut Table) -> Result<R, E>) -> Result<R, E> {
    let current = table();
    let mut w = USERS.write().unwrap_or_else(|e| e.into_inner());
    let mut copy: Table = w.as_deref().unwrap_or(&current).clone();
    let out = f(&mut copy)?;
    let open = copy.get("default").is_some_and(|d| d.enabled && d.nopass);
    let nopass = copy.get("default").is_some_and(|d| d.nopass);
    DEFAULT_NOPASS.store(nopass, Ordering::Relaxed);
    *w = Some(Arc::new(copy));
    DEFAULT_OPEN.store(open, Ordering::Relaxed);
    GENERATION.fetch_add(1, Ordering::AcqRel);
    Ok(out)
}

/// `requirepass`: the default user's only password (empty: `nopass`).
pub fn set_requirepass(pass: &str) {
    let _ = change(|t| -> Result<(), ()> {
        let mut d = t
            .get("default")
            .map(|u| (**u).clone())
            .unwrap_or_else(User::default_user);
        let rule = if pass.is_empty() {
            b"nopass".to_vec()
        } else {
            let mut r = b">".to_vec();
            r.extend_from_slice(pass.as_bytes());
            r
        };
        d.apply(b"resetpass", false).map_err(|_| ())?;
        d.apply(&rule, false).map_err(|_| ())?;
        t.insert("default".into(), d.sealed());
        Ok(())
    });
}

/// One entry of ACL LOG.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub count: u64,
    /// `command`, `key`, `channel` or `auth`.
    pub reason: &'static str,
    /// `toplevel`, `multi`, `lua`.
    pub context: &'static str,
    pub object: String,
    pub username: String,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub client_info: String,
}

impl LogEntry {
    /// A denial happening now.
    pub fn now(
        reason: &'static str,
        context: &'static str,
        object: String,
        username: String,
        client_info: String,
    ) -> LogEntry {
        let now = shards::clock::system_ms();
        LogEntry {
            count: 1,
            reason,
            context,
            object,
            username,
            created_ms: now,
            updated_ms: now,
            client_info,
        }
    }
}

static LOG: Mutex<VecDeque<LogEntry>> = Mutex::new(VecDeque::new());
static LOG_MAX: AtomicU64 = AtomicU64::new(128);

pub fn set_log_max(n: u64) {
    LOG_MAX.store(n, Ordering::Relaxed);
    let mut log = LOG.lock().unwrap_or_else(|e| e.into_inner());
    log.truncate(n as usize);
}

pub fn log_max() -> u64 {
    LOG_MAX.load(Ordering::Relaxed)
}

/// Records a denial; one like it within the last minute only counts again.
pub fn log(mut e: LogEntry) {
    let max = LOG_MAX.load(Ordering::Relaxed) as usize;
    let mut log = LOG.lock().unwrap_or_else(|e| e.into_inner());
    let similar = log.iter().position(|o| {
        o.reason == e.reason
            && o.context == e.context
            && o.object == e.object
            && o.username == e.username
            && e.created_ms.saturating_sub(o.updated_ms) < 60_000
    });
    if let Some(i) = similar {
        let mut o = log.remove(i).expect("found");
        o.count += 1;
        o.updated_ms = e.created_ms;
        o.client_info = std::mem::take(&mut e.client_info);
        log.push_front(o);
    } else {
        log.push_front(e);
    }
    log.truncate(max);
}

/// The newest `n` entries.
pub fn log_entries(n: usize) -> Vec<LogEntry> {
    let log = LOG.lock().unwrap_or_else(|e| e.into_inner());
    log.iter().take(n).cloned().collect()
}

pub fn log_reset() {
    LOG.lock().unwrap_or_else(|e| e.into_inner()).clear();
}
