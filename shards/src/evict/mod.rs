//! Keeping a shard within its memory budget: the eight `maxmemory-policy` choices of
//! Redis with its approximations (sampled keys, a pool of the best candidates seen so
//! far, the LRU clock and LFU counter of `access`), and the meter that tells how much
//! the shard uses.

pub mod access;
pub mod sketch;

use std::sync::atomic::{AtomicI64, AtomicIsize, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::Millis;
use crate::keyspace::{Keyspace, Stored};

/// `maxmemory-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    NoEviction,
    /// Beyond Redis: allkeys-lfu whose new keys start from what a TinyLFU sketch
    /// (`sketch`) remembers of them. Redis's LFU starts every new key at the same
    /// counter, so a popular key that was evicted comes back as a stranger; the sketch
    /// counts accesses of keys in memory or not, so it comes back with its history.
    AllkeysTinyLfu,
}

impl Policy {
    /// Redis's names, in the order its error message lists them.
    pub const ALL: [(Policy, &'static str); 8] = [
        (Policy::VolatileLru, "volatile-lru"),
        (Policy::VolatileLfu, "volatile-lfu"),
        (Policy::VolatileRandom, "volatile-random"),
        (Policy::VolatileTtl, "volatile-ttl"),
        (Policy::AllkeysLru, "allkeys-lru"),
        (Policy::AllkeysLfu, "allkeys-lfu"),
        (Policy::AllkeysRandom, "allkeys-random"),
        (Policy::NoEviction, "noeviction"),
    ];

    /// The policies corecache adds to Redis's.
    pub const EXTRA: [(Policy, &'static str); 1] = [(Policy::AllkeysTinyLfu, "allkeys-tinylfu")];

    pub fn parse(name: &str) -> Option<Policy> {
        Self::ALL
            .iter()
            .chain(&Self::EXTRA)
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(p, _)| *p)
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .chain(&Self::EXTRA)
            .find(|(p, _)| *p == self)
            .map_or("noeviction", |(_, n)| n)
    }

    /// The names of the policies that evict (all but noeviction).
    pub fn evicting() -> impl Iterator<Item = &'static str> {
        Self::ALL
            .iter()
            .chain(&Self::EXTRA)
            .filter(|(p, _)| *p != Policy::NoEviction)
            .map(|(_, n)| *n)
    }

    pub fn is_lfu(self) -> bool {
        matches!(
            self,
            Policy::VolatileLfu | Policy::AllkeysLfu | Policy::AllkeysTinyLfu
        )
    }

    /// Only keys with a TTL may go.
    pub fn is_volatile(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    fn is_random(self) -> bool {
        matches!(self, Policy::VolatileRandom | Policy::AllkeysRandom)
    }
}

/// How much memory the shard uses: its thread's live heap bytes (`alloc`), less what
/// other threads freed on its behalf (a flush's lazy free).
#[derive(Clone)]
pub struct Meter {
    thread_used: fn() -> isize,
    freed_elsewhere: Arc<AtomicIsize>,
}

impl Default for Meter {
    /// The calling thread's live heap bytes, as the counting allocator tallies them
    /// (0 where `alloc::CountingAlloc` is not the global allocator).
    fn default() -> Self {
        Meter::new(crate::alloc::thread_used)
    }
}

impl Meter {
    pub fn new(thread_used: fn() -> isize) -> Self {
        Meter {
            thread_used,
            freed_elsewhere: Arc::new(AtomicIsize::new(0)),
        }
    }

    pub fn used(&self) -> u64 {
        self.tally().max(0) as u64
    }

    /// The tally itself, which goes below zero on a thread that frees more of other
    /// threads' allocations than it allocates (only the sum over threads is exact).
    pub fn tally(&self) -> i64 {
        ((self.thread_used)() - self.freed_elsewhere.load(Ordering::Relaxed)) as i64
    }

    /// Runs `free` on the calling thread (another than the shard's) and credits the
    /// shard with the bytes it released.
    pub fn free_elsewhere(&self, free: impl FnOnce()) {
        let before = (self.thread_used)();
        free();
        let freed = before - (self.thread_used)();
        self.freed_elsewhere.fetch_add(freed, Ordering::Relaxed);
    }
}

/// What every shard of the process last measured, so each can tell whether the process
/// is over `maxmemory`. Per-thread tallies are only right in sum: a value allocated on
/// one shard may be freed on another (a command's arguments, a reply), which moves
/// bytes between tallies. So the budget is checked on the sum, and each shard evicts
/// its own keys (no hop) while the sum is over and it holds at least its share of the
/// evictable keys (or the sum is far over): otherwise the shard that serves the
/// connections would evict all its keys while its peers kept theirs.
pub struct Usage {
    slots: Box<[UsageSlot]>,
    /// The largest sum of the shards' tallies seen when one published (MEMORY STATS).
    peak: AtomicI64,
}

#[repr(align(64))]
#[derive(Default)]
struct UsageSlot {
    used: AtomicI64,
    not_counted: AtomicU64,
    /// Keys the shard's policy may evict, when it last looked.
    keys: AtomicU64,
}

impl Usage {
    pub fn new(shards: usize) -> Usage {
        Usage {
            slots: (0..shards.max(1)).map(|_| UsageSlot::default()).collect(),
            peak: AtomicI64::new(0),
        }
    }

    /// The largest total of used memory seen so far.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed).max(0) as u64
    }

    /// The bytes of the whole process that count against `maxmemory`.
    pub fn counted(&self) -> u64 {
        let (mut used, mut free) = (0i64, 0u64);
        for s in self.slots.iter() {
            used += s.used.load(Ordering::Relaxed);
            free += s.not_counted.load(Ordering::Relaxed);
        }
        (used.max(0) as u64).saturating_sub(free)
    }

    fn others_evictable(&self, me: usize) -> bool {
        self.slots
            .iter()
            .enumerate()
            .any(|(i, s)| i != me && s.keys.load(Ordering::Relaxed) > 0)
    }

    /// Whether shard `me`, with `mine` evictable keys, should evict now: it holds at
    /// least an even share of the evictable keys, or the process is over `limit` by
    /// more than 1/32 and it holds at least 7/8 of an even share (then the shards near
    /// the average help; one far below it does not empty itself while the others,
    /// evicting in parallel, catch up).
    fn my_turn(&self, me: usize, mine: u64, limit: u64) -> bool {
        let total: u64 = self
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if i == me {
                    mine
                } else {
                    s.keys.load(Ordering::Relaxed)
                }
            })
            .sum();
        let n = self.slots.len() as u64;
        let even = mine * n >= total;
        let near_even = mine * n * 8 >= total * 7;
        even || (near_even && self.counted() > limit + limit / 32)
    }
}

/// What `Keyspace::make_room` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Room {
    /// Within the budget (or no budget).
    Fits,
    /// Still over, but eviction ran out of its time slice with keys left to evict: the
    /// command goes ahead, the next one evicts more (as Redis does).
    Evicting,
    /// Over the budget and nothing (more) may be evicted: commands that would grow
    /// memory get the OOM error.
    Full,
}

/// Candidates kept between calls, as Redis's eviction pool.
const POOL_SIZE: usize = 16;

/// A key seen while sampling, with how good a victim it is (higher: better).
#[derive(Debug, Clone)]
struct Candidate {
    score: u64,
    db: usize,
    key: Box<[u8]>,
}

/// The process's budget as one shard sees it, and the state of its eviction.
pub struct Budget {
    /// `maxmemory`: bytes the whole process may use; 0: no limit.
    pub limit: u64,
    pub meter: Meter,
    /// Bytes the shard holds that eviction cannot give back and does not count (Redis's
    /// `mem_not_counted_for_evict`): the network driver's receive buffers.
    pub not_counted: u64,
    /// Every shard's last measure, and this shard's place in it.
    pub usage: Arc<Usage>,
    pub me: usize,
    pool: Vec<Candidate>,
    /// Where the random policies and the sampling start (round robin over databases).
    next_db: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            limit: 0,
            meter: Meter::default(),
            not_counted: 0,
            usage: Arc::new(Usage::new(1)),
            me: 0,
            pool: Vec::new(),
            next_db: 0,
        }
    }
}

impl Budget {
    /// Publishes this shard's measure for the others (and the process's peak).
    pub fn publish(&self) {
        let slot = &self.usage.slots[self.me];
        slot.used.store(self.meter.tally(), Ordering::Relaxed);
        slot.not_counted.store(self.not_counted, Ordering::Relaxed);
        let total = self
            .usage
            .slots
            .iter()
            .map(|s| s.used.load(Ordering::Relaxed))
            .sum();
        self.usage.peak.fetch_max(total, Ordering::Relaxed);
    }

    /// Publishes this shard's measure and tells whether the process is over the limit.
    pub fn over(&self) -> bool {
        if self.limit == 0 {
            return false;
        }
        self.publish();
        self.usage.counted() > self.limit
    }

    fn set_evictable(&self, keys: u64) {
        self.usage.slots[self.me]
            .keys
            .store(keys, Ordering::Relaxed);
    }
}

/// How long one call may evict: Redis's `maxmemory-eviction-tenacity` (10: 500 µs,
/// each step beyond 10 adds 15 %, 100: no limit).
pub fn time_limit(tenacity: u32) -> Option<Duration> {
    if tenacity >= 100 {
        return None;
    }
    let us = if tenacity <= 10 {
        50.0 * f64::from(tenacity)
    } else {
        500.0 * 1.15f64.powi(tenacity as i32 - 10)
    };
    Some(Duration::from_micros(us.max(1.0) as u64))
}

impl Keyspace {
    /// Evicts keys as the policy says until the shard is within its budget; reports the
    /// evicted keys (db, key) to `gone` (WATCH and others must hear of them).
    /// The keys this shard's policy may evict, published for the other shards' sake
    /// (each evicts only while it holds about its share: see `Usage::my_turn`). A shard
    /// publishes before it evicts and whenever the limit is set, so none judges its
    /// share against a peer's count from before a load.
    pub fn publish_evictable(&self) -> u64 {
        let policy = self.config.maxmemory_policy;
        let mine: u64 = if policy == Policy::NoEviction {
            0
        } else {
            (0..self.db_count())
                .map(|db| {
                    let d = self.db(db);
                    if policy.is_volatile() {
                        d.expires_len()
                    } else {
                        d.len()
                    }
                })
                .sum::<usize>() as u64
        };
        self.budget.set_evictable(mine);
        mine
    }

    pub fn make_room(&mut self, gone: &mut Vec<(usize, Box<[u8]>)>) -> Room {
        let policy = self.config.maxmemory_policy;
        let mut mine = self.publish_evictable();
        if !self.budget.over() {
            return Room::Fits;
        }
        if policy == Policy::NoEviction {
            return Room::Full;
        }
        let started = Instant::now();
        let limit = time_limit(self.config.maxmemory_eviction_tenacity);
        let mut evicted = 0u64;
        while self.budget.over() {
            let budget = &self.budget;
            if !budget.usage.my_turn(budget.me, mine, budget.limit) {
                // A shard with more keys evicts on its next command or tick.
                return Room::Evicting;
            }
            let Some((db, key)) = self.pick_victim(policy) else {
                self.budget.set_evictable(0);
                // Other shards still have keys to give: they evict on their next
                // command or tick; this write goes ahead meanwhile.
                return if self.budget.usage.others_evictable(self.budget.me) {
                    Room::Evicting
                } else {
                    Room::Full
                };
            };
            self.remove(db, &key);
            self.stats.evicted_keys += 1;
            gone.push((db, key));
            evicted += 1;
            mine = mine.saturating_sub(1);
            self.budget.set_evictable(mine);
            // Reading the clock costs; look at it every 16 keys.
            if evicted.is_multiple_of(16) && limit.is_some_and(|l| started.elapsed() > l) {
                return if self.budget.over() {
                    Room::Evicting
                } else {
                    Room::Fits
                };
            }
        }
        Room::Fits
    }

    /// The next key to evict, or `None` when no key qualifies.
    fn pick_victim(&mut self, policy: Policy) -> Option<(usize, Box<[u8]>)> {
        let dbs = self.db_count();
        if policy.is_random() {
            for i in 0..dbs {
                let db = (self.budget.next_db + i) % dbs;
                if let Some(key) = self.random_key_of(db, policy.is_volatile()) {
                    self.budget.next_db = db + 1;
                    return Some((db, key));
                }
            }
            return None;
        }
        if policy == Policy::AllkeysTinyLfu {
            let keys = (0..dbs).map(|db| self.len(db)).sum();
            self.sketch.fit(keys);
        }
        let samples = self.config.maxmemory_samples.max(1);
        for db in 0..dbs {
            for _ in 0..samples {
                let Some(key) = self.random_key_of(db, policy.is_volatile()) else {
                    break;
                };
                if let Some(score) = self.score_of(db, &key, policy) {
                    self.offer(Candidate { score, db, key });
                }
            }
        }
        // The best candidates last. One that is gone (or lost its TTL) is skipped; one
        // used since it was sampled goes back with its new score unless it still beats
        // the next best (Redis evicts the stale score; this keeps a hot key a little
        // longer).
        while let Some(c) = self.budget.pool.pop() {
            let Some(score) = self.score_of(c.db, &c.key, policy) else {
                continue;
            };
            let volatile_ok = !policy.is_volatile()
                || self
                    .peek_entry(c.db, &c.key)
                    .is_some_and(|e| e.expire_at() != 0);
            if !volatile_ok {
                continue;
            }
            let next_best = self.budget.pool.last().map_or(0, |n| n.score);
            if score >= c.score || score >= next_best {
                return Some((c.db, c.key));
            }
            self.offer(Candidate { score, ..c });
        }
        None
    }

    /// Puts a candidate in the pool (sorted by score, best last), dropping the worst
    /// when full; a key already there gets its new score.
    fn offer(&mut self, c: Candidate) {
        let pool = &mut self.budget.pool;
        pool.retain(|p| !(p.db == c.db && p.key == c.key));
        let at = pool.partition_point(|p| p.score < c.score);
        if pool.len() == POOL_SIZE {
            if at == 0 {
                return;
            }
            pool.remove(0);
            pool.insert(at - 1, c);
        } else {
            pool.insert(at, c);
        }
    }

    /// How good a victim a key is under `policy` (higher: evict sooner).
    fn score_of(&self, db: usize, key: &[u8], policy: Policy) -> Option<u64> {
        let now = self.now();
        let e = self.peek_entry(db, key)?;
        Some(victim_score(e, now, policy, self.lfu_params()))
    }
}

fn victim_score(e: &Stored, now: Millis, policy: Policy, lfu: access::LfuParams) -> u64 {
    match policy {
        Policy::VolatileTtl => u64::MAX - e.expire_at(),
        p if p.is_lfu() => 255 - u64::from(access::lfu_counter(e.access(), now, lfu)),
        _ => access::idle_ms(e.access(), now),
    }
}

#[cfg(test)]
mod tests;
