//! One shard's keyspace: its logical databases, each a dict of entries. An entry's node
//! holds the key, the value, the access word (in the node's meta word) and, only for
//! keys with a TTL, the expiry time (the node's extension): there is no second index of
//! TTL keys. Expiry is lazy on access and active in bounded cycles driven by the
//! server, which walk the table. Synchronous and socket-free; time comes from `Clock`.

use crate::clock::{Clock, Millis};
use crate::config::EngineConfig;
use crate::dict::{Dict, Node};
use crate::evict::sketch::Sketch;
use crate::evict::{access, Budget, Policy};
use crate::smallbytes::SmallBytes;
use crate::value::Value;

/// A key's value and metadata taken out of the table (or about to go in): moved
/// between shards, returned by `remove`, built by COPY and RESTORE.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    /// Absolute expiry in ms since the epoch; 0 means no TTL.
    pub expire_at: Millis,
    /// Last access, in seconds (OBJECT IDLETIME, LRU eviction).
    pub access: u32,
}

impl Entry {
    pub fn new(value: Value) -> Self {
        Entry {
            value,
            expire_at: 0,
            access: 0,
        }
    }

    #[inline]
    pub fn is_expired(&self, now: Millis) -> bool {
        self.expire_at != 0 && self.expire_at <= now
    }
}

/// A key's entry where it lives: its node in the table. The value is `value()` /
/// `value_mut()`; TTL changes go through `Keyspace` (`set_expire`, `persist`), which
/// keeps the count of TTL keys.
pub type Stored = Node<Value, u32>;

impl Node<Value, u32> {
    /// Absolute expiry in ms since the epoch; 0 means no TTL.
    #[inline]
    pub fn expire_at(&self) -> Millis {
        self.ext().unwrap_or(0)
    }

    /// Last access (LRU clock or LFU counter with its time; see `evict::access`).
    #[inline]
    pub fn access(&self) -> u32 {
        self.meta()
    }

    #[inline]
    pub fn is_expired(&self, now: Millis) -> bool {
        self.ext().is_some_and(|at| at <= now)
    }

    /// A copy of the entry (value, TTL, access word).
    pub fn to_entry(&self) -> Entry {
        Entry {
            value: self.value().clone(),
            expire_at: self.expire_at(),
            access: self.access(),
        }
    }
}

#[derive(Default)]
pub struct Db {
    pub(crate) main: Dict<Value, u32>,
    /// How many keys of `main` carry a TTL (INFO keyspace's `expires`).
    volatile: usize,
    /// Where active expiry and volatile sampling go on walking `main`.
    expire_cursor: u64,
}

impl Db {
    pub fn len(&self) -> usize {
        self.main.len()
    }

    pub fn is_empty(&self) -> bool {
        self.main.is_empty()
    }

    pub fn expires_len(&self) -> usize {
        self.volatile
    }

    /// Bytes the table spends on structure rather than keys and values (MEMORY STATS'
    /// `overhead.hashtable.*`): the bucket arrays and each node's link, meta word and
    /// key length; and what TTLs add (their 8 bytes in the node: there is no index).
    pub fn overhead(&self) -> (usize, usize) {
        let word = std::mem::size_of::<usize>();
        let per_node = word + std::mem::size_of::<u32>() + std::mem::size_of::<u16>();
        (
            self.main.bucket_count() * word + self.main.len() * per_node,
            self.volatile * std::mem::size_of::<u64>(),
        )
    }
}

/// Counters a shard reports in INFO stats.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyspaceStats {
    pub hits: u64,
    pub misses: u64,
    pub expired_keys: u64,
    pub expire_cycles: u64,
    pub evicted_keys: u64,
}

/// Result of one active-expiry cycle.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct ExpireCycle {
    /// Keys looked at (with or without a TTL).
    pub looked: usize,
    /// Keys with a TTL among them.
    pub sampled: usize,
    pub expired: usize,
    /// Every table holding TTL keys was walked to the end of a pass (a cycle right
    /// after would only go over the same keys again).
    pub covered: bool,
}

/// Keys that expired: (database, key).
pub type ExpiredLog = Vec<(usize, Box<[u8]>)>;

pub struct Keyspace {
    pub(crate) dbs: Vec<Db>,
    /// Collection encoding thresholds (CONFIG SET list-max-listpack-size ...).
    pub config: EngineConfig,
    clock: Clock,
    /// The system time as of the last `tick`, so a batch of commands reads the clock
    /// once rather than once per lookup (Redis caches its command time the same way).
    cached_now: Millis,
    /// While the append-only file is replayed no key expires (as in Redis): a later
    /// command of the log may still change a key whose TTL has passed since (a PERSIST,
    /// an INCR that keeps the TTL), and expiring it first would resurrect it without
    /// its TTL.
    pub loading: bool,
    /// With keyspace notifications for expired keys on: the keys that expired since
    /// the server last took them (database, key).
    pub expired_log: Option<ExpiredLog>,
    /// With key-miss notifications on (`m`): the keys reads missed since the server
    /// last took them (database, key).
    pub miss_log: Option<ExpiredLog>,
    /// Keyspace notifications of writes are on: handlers may `raise` events their reply
    /// cannot tell (`notify::events` derives the rest).
    pub raise_events: bool,
    /// Events raised by the current command: (db, class, event, key).
    pub raised: Vec<(usize, u32, &'static str, bytes::Bytes)>,
    /// True while the commands' effects are logged (the append-only file is on).
    pub logging: bool,
    /// What the current command logs instead of itself, when its arguments alone do not
    /// give its effect (streams: the ID XADD chose, the entries XREADGROUP delivered);
    /// set by such handlers only while `logging` (Redis's alsoPropagate).
    pub propagated: Option<Vec<Vec<bytes::Bytes>>>,
    pub stats: KeyspaceStats,
    rng: u64,
    /// Keys created in db 0 while tracking is on (cluster mode keeps its per-slot key
    /// index for CLUSTER GETKEYSINSLOT up to date with them).
    new_keys: Option<Vec<Box<[u8]>>>,
    /// The shard's memory budget and its eviction state (`evict`).
    pub budget: Budget,
    /// Access frequencies for `allkeys-tinylfu` (empty under other policies).
    pub sketch: Sketch,
    /// A snapshot in progress or its result (`snapshot.rs`).
    pub(crate) snapshot: Option<Box<crate::snapshot::Snapshot>>,
    /// Every node's mark while no snapshot runs (see `snapshot.rs`).
    pub(crate) mark_parity: bool,
}

impl Keyspace {
    pub fn new(databases: usize, clock: Clock) -> Self {
        let cached_now = clock.now_ms();
        Keyspace {
            dbs: (0..databases.max(1)).map(|_| Db::default()).collect(),
            config: EngineConfig::default(),
            clock,
            cached_now,
            loading: false,
            expired_log: None,
            miss_log: None,
            raise_events: false,
            raised: Vec::new(),
            logging: false,
            propagated: None,
            stats: KeyspaceStats::default(),
            rng: 0x9e37_79b9_7f4a_7c15,
            new_keys: None,
            budget: Budget::default(),
            sketch: Sketch::default(),
            snapshot: None,
            mark_parity: false,
        }
    }

    /// The current time in ms: the cached system time of the last `tick`, or the
    /// manual clock's time in tests.
    #[inline]
    pub fn now(&self) -> Millis {
        match &self.clock {
            Clock::System => self.cached_now,
            Clock::Manual(c) => c.get(),
        }
    }

    /// The time expiry decisions compare deadlines with: `now`, or 0 while loading.
    #[inline]
    pub fn expiry_now(&self) -> Millis {
        if self.loading {
            0
        } else {
            self.now()
        }
    }

    /// Refreshes the cached time; the server calls it before each batch of commands.
    #[inline]
    pub fn tick(&mut self) {
        if matches!(self.clock, Clock::System) {
            self.cached_now = self.clock.now_ms();
        }
    }

    pub fn db_count(&self) -> usize {
        self.dbs.len()
    }

    pub fn db(&self, db: usize) -> &Db {
        &self.dbs[db]
    }

    /// A fast pseudo-random number (xorshift); good enough for sampling.
    pub fn rand(&mut self) -> u64 {
        next_rand(&mut self.rng)
    }

    /// The live entry for `key`, expiring it first if its TTL has passed.
    pub fn lookup(&mut self, db: usize, key: &[u8]) -> Option<&mut Stored> {
        self.cow(db, key);
        let now = self.expiry_now();
        let log = self.expired_log.as_mut().map(|l| (l, db));
        lookup_in(&mut self.dbs[db], &mut self.stats, now, key, log)
    }

    /// Raises a keyspace event of the current command that its reply cannot tell (a
    /// consumer created by XREADGROUP, a ZADD that only changed scores).
    pub fn raise(&mut self, db: usize, class: u32, event: &'static str, key: &[u8]) {
        if self.raise_events {
            self.raised
                .push((db, class, event, bytes::Bytes::copy_from_slice(key)));
        }
    }

    /// `lookup` for a read command: counts keyspace hits/misses and refreshes the access
    /// time unless `touch` is false (CLIENT NO-TOUCH).
    pub fn read(&mut self, db: usize, key: &[u8], touch: bool) -> Option<&mut Stored> {
        // The lookup may expire the key (and PFCOUNT rewrites its cache).
        self.cow(db, key);
        let now = self.now();
        let expiry_now = self.expiry_now();
        let access = touch.then(|| self.access_update(key));
        let stats = &mut self.stats;
        let log = self.expired_log.as_mut().map(|l| (l, db));
        match lookup_in(&mut self.dbs[db], stats, expiry_now, key, log) {
            Some(e) => {
                stats.hits += 1;
                if let Some((lfu, r)) = access {
                    let a = e.meta_mut();
                    *a = access::touched(*a, now, lfu, r);
                }
                Some(e)
            }
            None => {
                stats.misses += 1;
                if let Some(log) = self.miss_log.as_mut() {
                    log.push((db, key.into()));
                }
                None
            }
        }
    }

    /// See `Dict::prefetch`.
    #[inline]
    pub fn prefetch(&self, db: usize, key: &[u8], stage: u8) {
        if let Some(d) = self.dbs.get(db) {
            d.main.prefetch(key, stage);
        }
    }

    /// `lookup` for a write command: refreshes the access time unless `touch` is false
    /// (CLIENT NO-TOUCH), without counting a keyspace hit or miss, as Redis's write
    /// lookups do.
    pub fn write_lookup(&mut self, db: usize, key: &[u8], touch: bool) -> Option<&mut Stored> {
        self.cow(db, key);
        let now = self.now();
        let access = touch.then(|| self.access_update(key));
        let expiry_now = self.expiry_now();
        let log = self.expired_log.as_mut().map(|l| (l, db));
        let e = lookup_in(&mut self.dbs[db], &mut self.stats, expiry_now, key, log)?;
        if let Some((lfu, r)) = access {
            let a = e.meta_mut();
            *a = access::touched(*a, now, lfu, r);
        }
        Some(e)
    }

    /// What an access of `key` needs before the lookup borrows the table: the sketch
    /// counts it (allkeys-tinylfu), and an LFU policy's parameters with the random draw
    /// of its counter's increment.
    fn access_update(&mut self, key: &[u8]) -> (Option<access::LfuParams>, f64) {
        if self.config.maxmemory_policy == Policy::AllkeysTinyLfu {
            self.sketch.add(key);
        }
        let lfu = self.lfu_if_selected();
        let r = if lfu.is_some() {
            self.unit_random()
        } else {
            0.0
        };
        (lfu, r)
    }

    /// The bytes `key` and its value take (MEMORY USAGE): its node in the table (key
    /// inline, and the TTL when it has one) and what the value owns on the heap.
    /// `None` when the key does not exist (or just expired).
    pub fn usage_of(&mut self, db: usize, key: &[u8]) -> Option<usize> {
        let e = self.lookup(db, key)?;
        Some(e.bytes() + e.value().heap_size())
    }

    /// Moves up to `buckets` buckets of each resizing table (every database), so
    /// resizes finish on an idle shard too (Redis's active rehashing); true while some
    /// resize is still in progress.
    pub fn rehash(&mut self, buckets: usize) -> bool {
        let mut busy = false;
        for d in &mut self.dbs {
            busy |= d.main.step(buckets);
        }
        busy
    }

    /// The entry as it is, without expiring it or touching it (eviction's sampling).
    pub fn peek_entry(&self, db: usize, key: &[u8]) -> Option<&Stored> {
        self.dbs.get(db)?.main.node(key)
    }

    /// A random key of `db`, among those with a TTL when `volatile`. Without an index
    /// of TTL keys, volatile picks sample the table a few times and then walk it from
    /// where the last walk stopped, so a few TTL keys among many are still found.
    pub fn random_key_of(&mut self, db: usize, volatile: bool) -> Option<Box<[u8]>> {
        const TRIES: usize = 16;
        const WALK: usize = 256;
        let d = self.dbs.get_mut(db)?;
        let rng = &mut self.rng;
        if !volatile {
            return d.main.random(|| next_rand(rng)).map(|(k, _)| k.into());
        }
        if d.volatile == 0 {
            return None;
        }
        for _ in 0..TRIES {
            match d.main.random_node(|| next_rand(rng)) {
                Some(n) if n.has_ext() => return Some(n.key().into()),
                Some(_) => {}
                None => return None,
            }
        }
        let mut found: Option<Box<[u8]>> = None;
        let mut cursor = d.expire_cursor;
        // Bounded: `volatile > 0` means a whole pass finds one.
        for _ in 0..d.main.len().div_ceil(WALK) + 1 {
            cursor = d.main.scan_nodes(cursor, WALK, |n| {
                if found.is_none() && n.has_ext() {
                    found = Some(n.key().into());
                }
            });
            if found.is_some() {
                break;
            }
        }
        d.expire_cursor = cursor;
        found
    }

    /// The LFU settings when an LFU policy is selected.
    pub fn lfu_if_selected(&self) -> Option<access::LfuParams> {
        self.config
            .maxmemory_policy
            .is_lfu()
            .then(|| self.lfu_params())
    }

    pub fn lfu_params(&self) -> access::LfuParams {
        access::LfuParams {
            log_factor: self.config.lfu_log_factor,
            decay_minutes: self.config.lfu_decay_time,
        }
    }

    /// The access word of an entry created now.
    pub fn fresh_access(&self) -> u32 {
        access::fresh(self.now(), self.config.maxmemory_policy.is_lfu())
    }

    /// The access word of `key` created now: under allkeys-tinylfu its LFU counter
    /// starts from what the sketch remembers of the key (on the counter's logarithmic
    /// scale: a key the sketch saw 15 times starts one above a stranger).
    fn fresh_access_of(&self, key: &[u8]) -> u32 {
        if self.config.maxmemory_policy != Policy::AllkeysTinyLfu {
            return self.fresh_access();
        }
        let counter =
            access::lfu_counter_for_hits(self.sketch.estimate(key), self.config.lfu_log_factor);
        access::lfu_word(counter, self.now())
    }

    /// Uniform in [0, 1).
    fn unit_random(&mut self) -> f64 {
        (self.rand() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn exists(&mut self, db: usize, key: &[u8]) -> bool {
        self.lookup(db, key).is_some()
    }

    /// Stores `value` under `key`, replacing any previous value and TTL.
    /// `expire_at` 0 means no TTL.
    pub fn set(&mut self, db: usize, key: &[u8], value: Value, expire_at: Millis) {
        let access = self.fresh_access_of(key);
        self.put_entry(
            db,
            key,
            Entry {
                value,
                expire_at,
                access,
            },
        );
    }

    /// Stores a whole entry (value and TTL as given; an access word of 0, an entry made
    /// with `Entry::new`, becomes a fresh one).
    pub fn put_entry(&mut self, db: usize, key: &[u8], mut entry: Entry) {
        if entry.access == 0 {
            entry.access = self.fresh_access_of(key);
        }
        self.cow(db, key);
        let now = self.expiry_now();
        let d = &mut self.dbs[db];
        let has_ttl = entry.expire_at != 0;
        let ext = has_ttl.then_some(entry.expire_at);
        let old = d.main.insert_full(key, entry.value, entry.access, ext);
        let created = old
            .as_ref()
            .is_none_or(|o| o.ext.is_some_and(|at| at <= now));
        let had_ttl = old.is_some_and(|o| o.ext.is_some());
        d.volatile = d.volatile + usize::from(has_ttl) - usize::from(had_ttl);
        if created && db == 0 {
            if let Some(log) = self.new_keys.as_mut() {
                log.push(key.into());
            }
        }
    }

    /// Starts (or stops) noting the keys created in db 0; see `take_new_keys`.
    pub fn track_new_keys(&mut self, on: bool) {
        self.new_keys = on.then(Vec::new);
    }

    /// The keys created in db 0 since the last call (empty when not tracking).
    pub fn take_new_keys(&mut self) -> Vec<Box<[u8]>> {
        self.new_keys
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Replaces the value of `key` keeping its TTL if it has a live one.
    pub fn set_keep_ttl(&mut self, db: usize, key: &[u8], value: Value) {
        let ttl = self.lookup(db, key).map_or(0, |e| e.expire_at());
        self.set(db, key, value, ttl);
    }

    pub fn remove(&mut self, db: usize, key: &[u8]) -> Option<Entry> {
        self.cow(db, key);
        let now = self.expiry_now();
        let d = &mut self.dbs[db];
        let e = entry_of(d.main.remove(key)?);
        if e.expire_at != 0 {
            d.volatile -= 1;
        }
        if e.is_expired(now) {
            self.stats.expired_keys += 1;
            if let Some(log) = self.expired_log.as_mut() {
                log.push((db, key.into()));
            }
            return None;
        }
        Some(e)
    }

    /// Sets an absolute TTL on a live key. A deadline not in the future deletes the key
    /// (as Redis does). Returns false when the key does not exist.
    pub fn set_expire(&mut self, db: usize, key: &[u8], at: Millis) -> bool {
        let now = self.expiry_now();
        let Some(e) = self.lookup(db, key) else {
            return false;
        };
        if at <= now {
            self.remove(db, key);
            return true;
        }
        let had = e.has_ext();
        e.set_ext(Some(at));
        if !had {
            self.dbs[db].volatile += 1;
        }
        true
    }

    /// Removes the TTL of a live key; true if it had one.
    pub fn persist(&mut self, db: usize, key: &[u8]) -> bool {
        let Some(e) = self.lookup(db, key) else {
            return false;
        };
        if !e.has_ext() {
            return false;
        }
        e.set_ext(None);
        self.dbs[db].volatile -= 1;
        true
    }

    /// Number of keys in `db` (including expired keys not yet reclaimed, as Redis).
    pub fn len(&self, db: usize) -> usize {
        self.dbs[db].main.len()
    }

    pub fn is_empty(&self, db: usize) -> bool {
        self.dbs[db].main.is_empty()
    }

    /// Empties `db`, returning its content so the caller may drop it elsewhere.
    pub fn flush_db(&mut self, db: usize) -> Dict<Value, u32> {
        self.snapshot_finish_now();
        let parity = self.mark_parity;
        let d = &mut self.dbs[db];
        d.expire_cursor = 0;
        d.volatile = 0;
        let old = d.main.take();
        d.main.set_fresh_mark(parity);
        old
    }

    pub fn swap_db(&mut self, a: usize, b: usize) {
        self.snapshot_finish_now();
        self.dbs.swap(a, b);
    }

    /// One SCAN step over live keys of `db`; see `Dict::scan`.
    pub fn scan(
        &mut self,
        db: usize,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&[u8], &Stored),
    ) -> u64 {
        let now = self.expiry_now();
        self.dbs[db].main.scan_nodes(cursor, count, |e| {
            if !e.is_expired(now) {
                visit(e.key(), e)
            }
        })
    }

    /// All live keys of `db`, in table order, passed to `visit`.
    pub fn for_each_key(&self, db: usize, mut visit: impl FnMut(&[u8], &Stored)) {
        let now = self.expiry_now();
        for e in self.dbs[db].main.nodes() {
            if !e.is_expired(now) {
                visit(e.key(), e);
            }
        }
    }

    /// A random live key, reclaiming expired keys it meets on the way.
    pub fn random_key(&mut self, db: usize) -> Option<Vec<u8>> {
        let now = self.expiry_now();
        for _ in 0..100 {
            let mut rng = self.rng;
            let (k, expired) = {
                let e = self.dbs[db].main.random_node(|| next_rand(&mut rng))?;
                (e.key().to_vec(), e.is_expired(now))
            };
            self.rng = rng;
            if !expired {
                return Some(k);
            }
            self.remove(db, &k);
        }
        None
    }

    /// One active-expiry cycle: walks each db's table with a persistent cursor, looking
    /// at at most `budget` keys in all, deleting expired keys. `sampled` counts the TTL
    /// keys met. Like Redis, it keeps going on a db while more than 10% of the TTL
    /// keys met were expired (and, the table holding other keys too, while it has met
    /// fewer than 20 TTL keys this cycle).
    pub fn active_expire_cycle(&mut self, budget: usize) -> ExpireCycle {
        const SAMPLE: usize = 20;
        let now = self.expiry_now();
        let mut total = ExpireCycle {
            covered: true,
            ..ExpireCycle::default()
        };
        self.stats.expire_cycles += 1;
        for db in 0..self.dbs.len() {
            let mut met = 0;
            loop {
                if self.dbs[db].volatile == 0 {
                    break;
                }
                if total.looked >= budget {
                    total.covered = false;
                    break;
                }
                let d = &mut self.dbs[db];
                let mut dead: Vec<SmallBytes> = Vec::new();
                let (mut looked, mut sampled) = (0, 0);
                d.expire_cursor = d.main.scan_nodes(d.expire_cursor, SAMPLE, |n| {
                    looked += 1;
                    if let Some(at) = n.ext() {
                        sampled += 1;
                        if at <= now {
                            dead.push(n.key().into());
                        }
                    }
                });
                let wrapped = d.expire_cursor == 0;
                for k in &dead {
                    self.cow(db, k);
                    self.dbs[db].main.remove(k);
                }
                if let Some(log) = self.expired_log.as_mut() {
                    log.extend(dead.iter().map(|k| (db, Box::<[u8]>::from(&k[..]))));
                }
                let d = &mut self.dbs[db];
                d.volatile -= dead.len();
                self.stats.expired_keys += dead.len() as u64;
                met += sampled;
                total.looked += looked;
                total.sampled += sampled;
                total.expired += dead.len();
                if wrapped {
                    break;
                }
                if met >= SAMPLE && dead.len() * 10 <= sampled {
                    total.covered = false;
                    break;
                }
            }
        }
        total
    }
}

fn lookup_in<'a>(
    d: &'a mut Db,
    stats: &mut KeyspaceStats,
    now: Millis,
    key: &[u8],
    log: Option<(&mut ExpiredLog, usize)>,
) -> Option<&'a mut Stored> {
    match d.main.get_mut_unless(key, |e| e.is_expired(now)) {
        Ok(e) => Some(e),
        Err(None) => None,
        Err(Some(_)) => {
            d.volatile -= 1;
            stats.expired_keys += 1;
            if let Some((log, db)) = log {
                log.push((db, key.into()));
            }
            None
        }
    }
}

fn entry_of(r: crate::dict::Removed<Value, u32>) -> Entry {
    Entry {
        value: r.value,
        expire_at: r.ext.unwrap_or(0),
        access: r.meta,
    }
}

fn next_rand(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Str;

    fn s(v: &str) -> Value {
        Value::Str(Str::from_bytes(v.as_bytes()))
    }

    #[test]
    fn created_keys_are_reported_while_tracking() {
        let (clock, now) = Clock::manual(1_000);
        let mut ks = Keyspace::new(2, clock);
        ks.set(0, b"before", s("1"), 0);
        ks.track_new_keys(true);
        ks.set(0, b"new", s("1"), 0);
        ks.set(0, b"before", s("2"), 0); // an overwrite creates nothing
        ks.set(1, b"other-db", s("1"), 0); // only db 0 is tracked
        ks.set(0, b"short", s("1"), 1_500);
        now.set(2_000);
        ks.set(0, b"short", s("2"), 0); // replaces an expired key: created again
        let got: Vec<&[u8]> = vec![b"new", b"short", b"short"];
        let taken = ks.take_new_keys();
        assert_eq!(taken.iter().map(|k| &k[..]).collect::<Vec<_>>(), got);
        assert!(ks.take_new_keys().is_empty());
        ks.track_new_keys(false);
        ks.set(0, b"untracked", s("1"), 0);
        assert!(ks.take_new_keys().is_empty());
    }

    #[test]
    fn lazy_expiry_hides_and_reclaims_keys() {
        let (clock, now) = Clock::manual(1_000_000);
        let mut ks = Keyspace::new(16, clock);
        ks.set(0, b"a", s("1"), 1_000_500);
        assert!(ks.exists(0, b"a"));
        now.set(1_000_500);
        assert!(!ks.exists(0, b"a"));
        assert_eq!(ks.len(0), 0);
        assert_eq!(ks.db(0).expires_len(), 0);
        assert_eq!(ks.stats.expired_keys, 1);
    }

    #[test]
    fn active_expiry_reclaims_without_access() {
        let (clock, now) = Clock::manual(1_000);
        let mut ks = Keyspace::new(2, clock);
        for i in 0..1000 {
            let k = format!("k{i}");
            let ttl = if i % 2 == 0 { 2_000 } else { 0 };
            ks.set(1, k.as_bytes(), s("v"), ttl);
        }
        now.set(5_000);
        let mut cycles = 0;
        while ks.db(1).expires_len() > 0 {
            ks.active_expire_cycle(200);
            cycles += 1;
            assert!(cycles < 1000);
        }
        assert_eq!(ks.len(1), 500);
        assert_eq!(ks.stats.expired_keys, 500);
    }

    #[test]
    fn an_expiry_cycle_says_when_it_walked_the_whole_table() {
        let (clock, _now) = Clock::manual(1_000);
        let mut ks = Keyspace::new(1, clock);
        // A few keys, one with a distant TTL: one cycle covers them all.
        for i in 0..10 {
            let ttl = if i == 0 { 1_000_000 } else { 0 };
            ks.set(0, format!("k{i}").as_bytes(), s("v"), ttl);
        }
        let c = ks.active_expire_cycle(200);
        assert!(c.covered && c.sampled == 1 && c.expired == 0, "{c:?}");
        // Many keys with TTLs: a cycle stops on its sample, not covering the table.
        for i in 0..1000 {
            ks.set(0, format!("t{i}").as_bytes(), s("v"), 1_000_000);
        }
        let c = ks.active_expire_cycle(200);
        assert!(!c.covered && c.sampled >= 20, "{c:?}");
    }

    #[test]
    fn set_replaces_ttl_and_persist_clears_it() {
        let (clock, _now) = Clock::manual(10);
        let mut ks = Keyspace::new(1, clock);
        ks.set(0, b"k", s("v"), 100);
        assert_eq!(ks.db(0).expires_len(), 1);
        ks.set(0, b"k", s("w"), 0);
        assert_eq!(ks.db(0).expires_len(), 0);
        assert!(ks.set_expire(0, b"k", 50));
        assert!(ks.persist(0, b"k"));
        assert!(!ks.persist(0, b"k"));
        assert!(ks.set_expire(0, b"k", 5));
        assert!(!ks.exists(0, b"k"));
    }

    #[test]
    fn ttl_count_follows_every_change() {
        let (clock, now) = Clock::manual(1_000);
        let mut ks = Keyspace::new(2, clock);
        ks.set(0, b"a", s("1"), 5_000);
        ks.set(0, b"b", s("1"), 0);
        ks.set(0, b"a", s("2"), 6_000); // TTL replaced, still one
        assert_eq!(ks.db(0).expires_len(), 1);
        assert!(ks.set_expire(0, b"b", 7_000));
        assert_eq!(ks.lookup(0, b"b").unwrap().expire_at(), 7_000);
        assert_eq!(ks.db(0).expires_len(), 2);
        ks.set_keep_ttl(0, b"b", s("kept"));
        assert_eq!(ks.lookup(0, b"b").unwrap().expire_at(), 7_000);
        assert!(ks.persist(0, b"a"));
        assert_eq!(ks.db(0).expires_len(), 1);
        assert_eq!(ks.remove(0, b"b").map(|e| e.expire_at), Some(7_000));
        assert_eq!(ks.db(0).expires_len(), 0);
        ks.set(0, b"c", s("1"), 2_000);
        now.set(2_000);
        assert!(!ks.exists(0, b"c")); // lazy expiry
        assert_eq!(ks.db(0).expires_len(), 0);
        ks.set(0, b"d", s("1"), 9_000);
        drop(ks.flush_db(0));
        assert_eq!((ks.len(0), ks.db(0).expires_len()), (0, 0));
    }

    #[test]
    fn sparse_ttl_keys_are_found_and_expired_without_an_index() {
        let (clock, now) = Clock::manual(1_000);
        let mut ks = Keyspace::new(1, clock);
        for i in 0..20_000 {
            ks.set(0, format!("plain:{i}").as_bytes(), s("v"), 0);
        }
        let volatile: Vec<Vec<u8>> = (0..5).map(|i| format!("ttl:{i}").into_bytes()).collect();
        for k in &volatile {
            ks.set(0, k, s("v"), 50_000);
        }
        for _ in 0..50 {
            let k = ks.random_key_of(0, true).expect("a TTL key exists");
            assert!(volatile.contains(&k.to_vec()), "{:?}", k);
        }
        now.set(60_000);
        // Each cycle looks at about 200 keys: a pass over the table reclaims all five.
        let mut cycles = 0;
        while ks.db(0).expires_len() > 0 {
            ks.active_expire_cycle(200);
            cycles += 1;
            assert!(cycles <= 20_005 / 200 + 5, "{cycles} cycles");
        }
        assert_eq!(ks.len(0), 20_000);
        assert_eq!(ks.random_key_of(0, true), None);
    }

    #[test]
    fn random_key_skips_expired() {
        let (clock, now) = Clock::manual(10);
        let mut ks = Keyspace::new(1, clock);
        ks.set(0, b"live", s("v"), 0);
        for i in 0..20 {
            ks.set(0, format!("dead{i}").as_bytes(), s("v"), 20);
        }
        now.set(30);
        for _ in 0..10 {
            assert_eq!(ks.random_key(0).as_deref(), Some(&b"live"[..]));
        }
    }
}
