//! WATCH on one shard: which clients watch which of its keys, and which of them saw a
//! write (or an expiry) since. EXEC asks every shard it holds whether its client is
//! dirty there, under the same hold that runs the transaction.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use shards::ops::ShardOp;

pub use crate::base::ids::WatcherId;

/// The watched keys of one shard, and which watchers saw a write since they watched.
#[derive(Default)]
pub struct WatchRegistry {
    by_key: HashMap<(usize, Bytes), HashSet<WatcherId>>,
    keys_of: HashMap<WatcherId, Vec<(usize, Bytes)>>,
    dirty: HashSet<WatcherId>,
    /// For each watcher, the deadlines its keys had when watched: a key that has
    /// expired since counts as modified (Redis 6.0.9+).
    deadlines: HashMap<WatcherId, Vec<u64>>,
}

impl WatchRegistry {
    pub fn is_empty(&self) -> bool {
        self.keys_of.is_empty()
    }

    /// Registers keys; `deadlines` are the keys' expiry times (0: none) right now.
    pub fn watch(&mut self, w: WatcherId, db: usize, keys: Vec<Bytes>, deadlines: Vec<u64>) {
        self.deadlines
            .entry(w)
            .or_default()
            .extend(deadlines.into_iter().filter(|&d| d != 0));
        for k in keys {
            self.by_key.entry((db, k.clone())).or_default().insert(w);
            self.keys_of.entry(w).or_default().push((db, k));
        }
    }

    pub fn unwatch(&mut self, w: WatcherId) {
        for slot in self.keys_of.remove(&w).unwrap_or_default() {
            if let Some(set) = self.by_key.get_mut(&slot) {
                set.remove(&w);
                if set.is_empty() {
                    self.by_key.remove(&slot);
                }
            }
        }
        self.dirty.remove(&w);
        self.deadlines.remove(&w);
    }

    /// Marks the watchers of written keys dirty. A write without keys marks every
    /// watcher (FLUSHDB, FLUSHALL and SWAPDB go through `touch_where` first).
    pub fn touch(&mut self, db: usize, keys: &[Bytes]) {
        if keys.is_empty() {
            self.dirty.extend(self.keys_of.keys().copied());
            return;
        }
        for k in keys {
            if let Some(set) = self.by_key.get(&(db, k.clone())) {
                self.dirty.extend(set.iter().copied());
            }
        }
    }

    /// Marks the watchers of the watched keys `pick` chooses (a keyless write: the keys
    /// FLUSHALL, FLUSHDB or SWAPDB change, those that exist).
    pub fn touch_where(&mut self, pick: impl Fn(usize, &Bytes) -> bool) {
        for ((db, key), set) in &self.by_key {
            if pick(*db, key) {
                self.dirty.extend(set.iter().copied());
            }
        }
    }

    /// Whether a key of `w` was written, or expired, since it was watched.
    pub fn is_dirty(&self, w: WatcherId, now: u64) -> bool {
        self.dirty.contains(&w)
            || self
                .deadlines
                .get(&w)
                .is_some_and(|ds| ds.iter().any(|&d| d <= now))
    }
}

/// The databases a keyless write changes (FLUSHALL: all; FLUSHDB: its own; SWAPDB:
/// the two), for WATCH.
pub enum KeylessScope {
    All,
    Dbs(usize, usize),
}

impl KeylessScope {
    pub fn covers(&self, db: usize) -> bool {
        match self {
            KeylessScope::All => true,
            KeylessScope::Dbs(a, b) => db == *a || db == *b,
        }
    }

    /// Whether the key exists where the write acts (for SWAPDB, in either database).
    pub fn exists(&self, ks: &shards::Keyspace, db: usize, key: &[u8]) -> bool {
        match self {
            KeylessScope::Dbs(a, b) if a != b => {
                ks.peek_entry(*a, key).is_some() || ks.peek_entry(*b, key).is_some()
            }
            _ => ks.peek_entry(db, key).is_some(),
        }
    }
}

pub fn keyless_write_scope(op: &ShardOp) -> Option<KeylessScope> {
    let ShardOp::Cmd { spec, db, args, .. } = op else {
        return None;
    };
    let index = |i: usize| shards::args::parse_i64_opt(args.get(i)?).map(|n| n as usize);
    match spec.name {
        "flushall" => Some(KeylessScope::All),
        "flushdb" => Some(KeylessScope::Dbs(*db, *db)),
        "swapdb" => Some(KeylessScope::Dbs(index(1)?, index(2)?)),
        _ => None,
    }
}
