//! Eviction on a real keyspace measured by the counting allocator (this thread's bytes),
//! and the LRU/LFU words on their own.

use super::access::{self, LfuParams, LFU_INIT_VAL};
use super::*;
use crate::cmd::test_env::{Env, T0};

const VALUE: usize = 1000;

/// A keyspace with `policy` and a budget `room` bytes above what this thread uses now.
fn env_with(policy: &str, room: u64) -> Env {
    let mut env = Env::new();
    env.ks.config.set("maxmemory-policy", policy).unwrap();
    env.ks
        .config
        .set("maxmemory-eviction-tenacity", "100")
        .unwrap();
    env.ks.budget.limit = env.ks.budget.meter.used() + room;
    env
}

/// Writes `n` keys of 1000 bytes, evicting before each write as the server does; a
/// write the budget refuses is counted, not stored.
fn fill(env: &mut Env, prefix: &str, n: usize, ttl: bool) -> usize {
    let mut refused = 0;
    for i in 0..n {
        let mut gone = Vec::new();
        if env.ks.make_room(&mut gone) == Room::Full {
            refused += 1;
            continue;
        }
        let key = format!("{prefix}{i}");
        env.set(&key, &"v".repeat(VALUE));
        if ttl {
            let at = T0 + 1_000_000 + i as u64;
            assert!(env.ks.set_expire(0, key.as_bytes(), at));
            let e = env.ks.remove(0, key.as_bytes()).unwrap();
            env.ks.put_entry(0, key.as_bytes(), e);
        }
    }
    refused
}

/// Reads `hot0`..`hot99` `times` times each (touching them).
fn read_hot(env: &mut Env, times: usize) {
    for _ in 0..times {
        for h in 0..100 {
            env.ks.read(0, format!("hot{h}").as_bytes(), true);
        }
    }
}

/// How many of `hot0`..`hot99` are still there.
fn hot_kept(env: &mut Env) -> usize {
    (0..100).filter(|h| env.exists(&format!("hot{h}"))).count()
}

fn over_by(env: &Env) -> i64 {
    env.ks.budget.meter.used() as i64 - env.ks.budget.limit as i64
}

#[test]
fn every_evicting_policy_keeps_the_shard_near_its_budget() {
    for policy in Policy::evicting() {
        let mut env = env_with(policy, 200 * 1024);
        let refused = fill(&mut env, "k", 2000, true);
        assert_eq!(refused, 0, "{policy}: nothing refused while keys can go");
        assert!(env.ks.stats.evicted_keys > 0, "{policy}: evicted nothing");
        assert!(env.ks.len(0) < 2000, "{policy}");
        // One key's worth of overshoot: the last write lands after the check.
        assert!(
            over_by(&env) < 4 * VALUE as i64,
            "{policy}: over by {}",
            over_by(&env)
        );
    }
}

#[test]
fn noeviction_refuses_and_keeps_every_key() {
    let mut env = env_with("noeviction", 100 * 1024);
    let refused = fill(&mut env, "k", 1000, false);
    assert!(refused > 0);
    assert_eq!(env.ks.stats.evicted_keys, 0);
    assert_eq!(env.ks.len(0) + refused, 1000);
}

#[test]
fn volatile_policies_never_evict_keys_without_ttl() {
    for policy in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        let mut env = env_with(policy, 300 * 1024);
        fill(&mut env, "keep", 100, false);
        let refused = fill(&mut env, "ttl", 1000, true);
        for i in 0..100 {
            assert!(env.exists(&format!("keep{i}")), "{policy}: keep{i} evicted");
        }
        assert_eq!(refused, 0, "{policy}");
        // Only persistent keys left and over the budget: the shard is full.
        let mut env = env_with(policy, 50 * 1024);
        let refused = fill(&mut env, "keep", 200, false);
        assert!(refused > 0, "{policy}: no refusal without volatile keys");
        assert_eq!(env.ks.stats.evicted_keys, 0, "{policy}");
    }
}

#[test]
fn volatile_ttl_evicts_the_nearest_deadlines_first() {
    let mut env = env_with("volatile-ttl", 300 * 1024);
    fill(&mut env, "k", 1000, true);
    // Deadlines grow with the index: the survivors are mostly the late ones.
    let survivors: Vec<usize> = (0..1000).filter(|i| env.exists(&format!("k{i}"))).collect();
    let late = survivors.iter().filter(|&&i| i >= 500).count();
    assert!(
        late * 10 >= survivors.len() * 8,
        "{late} of {}",
        survivors.len()
    );
}

#[test]
fn lru_keeps_a_hot_set_while_a_scan_passes() {
    let mut env = env_with("allkeys-lru", 400 * 1024);
    fill(&mut env, "hot", 100, false);
    for i in 0..3000 {
        // A second passes now and then, so idle times differ.
        if i % 100 == 0 {
            env.advance(1000);
            read_hot(&mut env, 1);
        }
        fill(&mut env, &format!("scan{i}:"), 1, false);
    }
    let hot = hot_kept(&mut env);
    assert!(hot >= 90, "only {hot} of 100 hot keys kept");
}

#[test]
fn lfu_keeps_the_frequently_read_keys() {
    let mut env = env_with("allkeys-lfu", 400 * 1024);
    fill(&mut env, "hot", 100, false);
    read_hot(&mut env, 50);
    fill(&mut env, "cold", 2000, false);
    let hot = hot_kept(&mut env);
    assert!(hot >= 90, "only {hot} of 100 frequent keys kept");
}

#[test]
fn the_pool_keeps_the_best_sixteen_best_last() {
    let mut env = Env::new();
    for (i, score) in [5u64, 1, 9, 3, 7].iter().cycle().take(40).enumerate() {
        env.ks.offer(Candidate {
            score: score * 100 + i as u64,
            db: 0,
            key: format!("k{i}").into_bytes().into(),
        });
    }
    let pool = &env.ks.budget.pool;
    assert_eq!(pool.len(), POOL_SIZE);
    assert!(pool.windows(2).all(|w| w[0].score <= w[1].score));
    assert!(
        pool[0].score >= 700,
        "the worst kept is among the best: {}",
        pool[0].score
    );
}

#[test]
fn lfu_counter_grows_logarithmically_and_decays_per_idle_minute() {
    let p = LfuParams {
        log_factor: 10,
        decay_minutes: 1,
    };
    let mut word = access::lfu_new(T0);
    assert_eq!(access::lfu_counter(word, T0, p), LFU_INIT_VAL);
    let mut r = 0.5f64;
    for _ in 0..1000 {
        r = (r * 9301.0 + 0.49297) % 1.0;
        word = access::touched(word, T0, Some(p), r);
    }
    let c = access::lfu_counter(word, T0, p);
    assert!((8..=30).contains(&c), "1000 hits with factor 10 gave {c}");
    assert_eq!(access::lfu_counter(word, T0 + 3 * 60_000, p), c - 3);
    assert_eq!(access::lfu_counter(word, T0 + 1000 * 60_000, p), 0);
    assert_eq!(access::lfu_increment(255, 10, 0.0), 255);
    // A word written under LRU, read after a switch to LFU: any counter, no panic.
    let _ = access::lfu_counter(u32::MAX, T0, p);
    let _ = access::lfu_counter(access::lru_clock(T0), T0, p);
    assert_eq!(
        access::lfu_increment(LFU_INIT_VAL - 1, 10, 0.99),
        LFU_INIT_VAL
    );
}

#[test]
fn tenacity_sets_the_time_slice() {
    assert_eq!(time_limit(10), Some(Duration::from_micros(500)));
    assert_eq!(time_limit(0), Some(Duration::from_micros(1)));
    assert!(time_limit(20).unwrap() > Duration::from_millis(2));
    assert_eq!(time_limit(100), None);
}

#[test]
fn a_lazy_free_is_credited_to_the_shard() {
    let meter = Meter::default();
    let big = vec![0u8; 1 << 20];
    let before = meter.used();
    let m = meter.clone();
    std::thread::spawn(move || m.free_elsewhere(|| drop(big)))
        .join()
        .unwrap();
    // Less what starting the thread took on this one.
    assert!(before - meter.used() >= (1 << 20) - (64 << 10));
}

#[test]
fn the_sketch_counts_recent_accesses_and_forgets_old_ones() {
    let mut s = super::sketch::Sketch::default();
    assert_eq!(s.estimate(b"k"), 0);
    for _ in 0..5 {
        s.add(b"k");
    }
    assert_eq!(s.estimate(b"k"), 5);
    for _ in 0..100 {
        s.add(b"hot");
    }
    assert_eq!(s.estimate(b"hot"), super::sketch::MAX_ESTIMATE);
    assert!(s.estimate(b"never") <= 1, "collisions stay rare");
    // Ten additions per counter later, every count has been halved at least once.
    for i in 0..(10u32 << 12) {
        s.add(&i.to_le_bytes());
    }
    assert!(s.estimate(b"hot") <= super::sketch::MAX_ESTIMATE / 2 + 1);
}

#[test]
fn tinylfu_keeps_frequent_keys_through_a_scan() {
    let mut env = env_with("allkeys-tinylfu", 400 * 1024);
    fill(&mut env, "hot", 100, false);
    read_hot(&mut env, 5);
    // A scan of one-off keys, each looked up (a miss) and then written.
    for i in 0..2000 {
        env.ks.read(0, format!("scan{i}").as_bytes(), true);
        fill(&mut env, &format!("scan{i}:"), 1, false);
    }
    let hot = hot_kept(&mut env);
    assert!(hot >= 95, "only {hot} of 100 frequent keys kept");
}
