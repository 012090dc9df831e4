//! Key expiry: TTL commands, lazy expiry on access, active expiry of keys nobody
//! touches, and DEBUG SET-ACTIVE-EXPIRE, on keys spread over every shard.

mod common;

use std::time::{Duration, Instant};

use common::*;
use redis::Connection;

fn shard_of(n: usize, key: &str) -> usize {
    slot_of(key.as_bytes()) as usize * n / 16384
}

/// `per_shard` keys `prefix:i` on each shard of an `n`-shard server.
fn keys_per_shard(n: usize, per_shard: usize, prefix: &str) -> Vec<String> {
    let mut counts = vec![0; n];
    let mut keys = Vec::new();
    for i in 0..1_000_000 {
        let k = format!("{prefix}:{i}");
        let s = shard_of(n, &k);
        if counts[s] < per_shard {
            counts[s] += 1;
            keys.push(k);
        }
        if counts.iter().all(|&c| c == per_shard) {
            return keys;
        }
    }
    panic!("not enough keys");
}

fn dbsize(c: &mut Connection) -> i64 {
    q(c, &["DBSIZE"])
}

#[test]
fn set_with_px_gives_pttl_within_bounds() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        for k in keys_on_every_shard(n) {
            let _: () = q(&mut c, &["SET", &k, "v", "PX", "100"]);
            let pttl: i64 = q(&mut c, &["PTTL", &k]);
            assert!(pttl > 0 && pttl <= 100, "{n} shards {k}: PTTL {pttl}");
            let _: () = q(&mut c, &["SET", &k, "v", "EX", "100"]);
            let ttl: i64 = q(&mut c, &["TTL", &k]);
            assert!(ttl > 98 && ttl <= 100, "{n} shards {k}: TTL {ttl}");
            let _: () = q(&mut c, &["PSETEX", &k, "5000", "v"]);
            let pttl: i64 = q(&mut c, &["PTTL", &k]);
            assert!(pttl > 4000 && pttl <= 5000, "{n} shards {k}: PTTL {pttl}");
        }
        assert_eq!(
            err(&mut c, &["SET", "k", "v", "PX", "0"]),
            "ERR invalid expire time in 'set' command"
        );
        assert_eq!(
            err(&mut c, &["SET", "k", "v", "EX", "-1"]),
            "ERR invalid expire time in 'set' command"
        );
    }
}

#[test]
fn expired_keys_are_gone_when_accessed() {
    // One sleep for all shard counts.
    let servers: Vec<(usize, Server)> = SHARD_COUNTS
        .iter()
        .map(|&n| (n, Server::start(n)))
        .collect();
    let mut conns: Vec<Connection> = servers.iter().map(|(_, s)| s.conn()).collect();
    for ((n, _), c) in servers.iter().zip(conns.iter_mut()) {
        for k in keys_on_every_shard(*n) {
            let _: () = q(c, &["SET", &k, "v", "PX", "100"]);
            let _: () = q(c, &["SET", &format!("{k}:keep"), "v"]);
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    for ((n, _), c) in servers.iter().zip(conns.iter_mut()) {
        let keys = keys_on_every_shard(*n);
        for k in &keys {
            assert_eq!(q::<Option<String>>(c, &["GET", k]), None, "{n} shards {k}");
            assert_eq!(q::<i64>(c, &["EXISTS", k]), 0);
            assert_eq!(q::<i64>(c, &["TTL", k]), -2);
            assert_eq!(
                q::<Option<String>>(c, &["GET", &format!("{k}:keep")]).as_deref(),
                Some("v")
            );
        }
        let mut mget = redis::cmd("MGET");
        mget.arg(&keys);
        let got: Vec<Option<String>> = mget.query(c).unwrap();
        assert_eq!(got, vec![None; *n]);
        assert_eq!(
            dbsize(c),
            *n as i64,
            "{n} shards: only the persistent keys remain"
        );
    }
}

#[test]
fn active_expiry_reclaims_keys_nobody_touches() {
    let servers: Vec<(usize, Server)> = SHARD_COUNTS
        .iter()
        .map(|&n| (n, Server::start(n)))
        .collect();
    let mut conns: Vec<Connection> = servers.iter().map(|(_, s)| s.conn()).collect();
    for ((n, _), c) in servers.iter().zip(conns.iter_mut()) {
        let volatile = keys_per_shard(*n, 200, "vol");
        let mut p = redis::pipe();
        for k in &volatile {
            p.cmd("SET").arg(k).arg("v").arg("PX").arg(50).ignore();
        }
        for k in keys_on_every_shard(*n) {
            p.cmd("SET").arg(k).arg("persistent").ignore();
        }
        let _: () = p.query(c).unwrap();
        assert_eq!(dbsize(c), (200 * n + n) as i64);
    }
    // Only DBSIZE from now on: it never touches a key.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut done = vec![false; servers.len()];
    while !done.iter().all(|&d| d) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        for (i, ((n, _), c)) in servers.iter().zip(conns.iter_mut()).enumerate() {
            done[i] = dbsize(c) == *n as i64;
        }
    }
    for (i, ((n, _), c)) in servers.iter().zip(conns.iter_mut()).enumerate() {
        assert!(done[i], "{n} shards: DBSIZE still {} after 5 s", dbsize(c));
        let info: String = q(c, &["INFO", "stats"]);
        let expired: i64 = info
            .lines()
            .find_map(|l| l.strip_prefix("expired_keys:"))
            .expect("expired_keys in INFO stats")
            .trim()
            .parse()
            .unwrap();
        assert_eq!(expired, 200 * *n as i64, "{n} shards");
    }
}

#[test]
fn expire_ttl_persist_round_trip() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        for k in keys_on_every_shard(n) {
            let k = k.as_str();
            assert_eq!(q::<i64>(&mut c, &["TTL", k]), -2);
            assert_eq!(q::<i64>(&mut c, &["EXPIRE", k, "100"]), 0, "missing key");
            let _: () = q(&mut c, &["SET", k, "v"]);
            assert_eq!(q::<i64>(&mut c, &["TTL", k]), -1);
            assert_eq!(q::<i64>(&mut c, &["PERSIST", k]), 0);
            assert_eq!(q::<i64>(&mut c, &["EXPIRE", k, "100"]), 1);
            let ttl: i64 = q(&mut c, &["TTL", k]);
            assert!(ttl > 98 && ttl <= 100, "{n} shards: TTL {ttl}");
            assert_eq!(q::<i64>(&mut c, &["PERSIST", k]), 1);
            assert_eq!(q::<i64>(&mut c, &["TTL", k]), -1);
            assert_eq!(q::<i64>(&mut c, &["PTTL", k]), -1);
            assert_eq!(q::<String>(&mut c, &["GET", k]), "v");

            // NX / XX / GT / LT.
            assert_eq!(q::<i64>(&mut c, &["EXPIRE", k, "100", "XX"]), 0);
            assert_eq!(q::<i64>(&mut c, &["EXPIRE", k, "100", "NX"]), 1);
            assert_eq!(q::<i64>(&mut c, &["EXPIRE", k, "100", "NX"]), 0);
            assert_eq!(q::<i64>(&mut c, &["EXPIRE", k, "200", "XX"]), 1);
            assert_eq!(q::<i64>(&mut c, &["EXPIRE", k, "50", "GT"]), 0);
            assert_eq!(q::<i64>(&mut c, &["EXPIRE", k, "300", "GT"]), 1);
            assert_eq!(q::<i64>(&mut c, &["EXPIRE", k, "10", "LT"]), 1);
            let ttl: i64 = q(&mut c, &["TTL", k]);
            assert!(ttl > 8 && ttl <= 10, "{n} shards: TTL {ttl}");
            assert_eq!(
                err(&mut c, &["EXPIRE", k, "10", "NX", "XX"]),
                "ERR NX and XX, GT or LT options at the same time are not compatible"
            );

            // PEXPIRE / EXPIRETIME.
            assert_eq!(q::<i64>(&mut c, &["PEXPIRE", k, "5000"]), 1);
            let pttl: i64 = q(&mut c, &["PTTL", k]);
            assert!(pttl > 4000 && pttl <= 5000, "{n} shards: PTTL {pttl}");
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64;
            let at: i64 = q(&mut c, &["PEXPIRETIME", k]);
            assert!(
                (at - (now_ms + 5000)).abs() < 2000,
                "{n} shards: PEXPIRETIME {at}"
            );

            // A TTL in the past deletes the key.
            assert_eq!(q::<i64>(&mut c, &["EXPIRE", k, "0"]), 1);
            assert_eq!(q::<i64>(&mut c, &["EXISTS", k]), 0);
            let _: () = q(&mut c, &["SET", k, "v"]);
            assert_eq!(q::<i64>(&mut c, &["PEXPIREAT", k, "1"]), 1);
            assert_eq!(q::<i64>(&mut c, &["EXISTS", k]), 0);
            assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", k]), -2);
        }
        assert_eq!(dbsize(&mut c), 0);
    }
}

#[test]
fn getex_and_set_keepttl_keep_or_drop_ttls() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        for k in keys_on_every_shard(n) {
            let k = k.as_str();
            let ttl = |c: &mut Connection| -> i64 { q(c, &["TTL", k]) };
            let _: () = q(&mut c, &["SET", k, "v", "EX", "100"]);
            // GETEX without options leaves the TTL.
            assert_eq!(q::<String>(&mut c, &["GETEX", k]), "v");
            assert!(ttl(&mut c) > 98);
            // SET KEEPTTL keeps it, plain SET drops it.
            let _: () = q(&mut c, &["SET", k, "v2", "KEEPTTL"]);
            assert!(ttl(&mut c) > 98, "{n} shards: KEEPTTL");
            assert_eq!(q::<String>(&mut c, &["GET", k]), "v2");
            let _: () = q(&mut c, &["SET", k, "v3"]);
            assert_eq!(ttl(&mut c), -1, "{n} shards: SET drops the TTL");
            // GETEX sets and removes TTLs.
            assert_eq!(q::<String>(&mut c, &["GETEX", k, "PX", "5000"]), "v3");
            let pttl: i64 = q(&mut c, &["PTTL", k]);
            assert!(pttl > 4000 && pttl <= 5000, "{n} shards: PTTL {pttl}");
            assert_eq!(q::<String>(&mut c, &["GETEX", k, "PERSIST"]), "v3");
            assert_eq!(ttl(&mut c), -1);
            assert_eq!(q::<String>(&mut c, &["GETEX", k, "EX", "100"]), "v3");
            assert!(ttl(&mut c) > 98);
            // Other writes: APPEND and INCR keep the TTL, GETSET drops it.
            assert_eq!(q::<i64>(&mut c, &["APPEND", k, "x"]), 3);
            assert!(ttl(&mut c) > 98, "{n} shards: APPEND keeps the TTL");
            assert_eq!(q::<String>(&mut c, &["GETSET", k, "1"]), "v3x");
            assert_eq!(ttl(&mut c), -1, "{n} shards: GETSET drops the TTL");
            assert_eq!(q::<i64>(&mut c, &["EXPIRE", k, "100"]), 1);
            assert_eq!(q::<i64>(&mut c, &["INCR", k]), 2);
            assert!(ttl(&mut c) > 98, "{n} shards: INCR keeps the TTL");
        }
        assert_eq!(
            q::<Option<String>>(&mut c, &["GETEX", "nokey", "EX", "10"]),
            None
        );
        let _: () = q(&mut c, &["SET", "k", "v"]);
        assert_eq!(
            err(&mut c, &["GETEX", "k", "EX", "0"]),
            "ERR invalid expire time in 'getex' command"
        );
        assert_eq!(
            err(&mut c, &["GETEX", "k", "PERSIST", "EX", "1"]),
            "ERR syntax error"
        );
    }
}

/// Sets 20 keys with PX 10 on every shard plus one persistent key, waits until they
/// expired, and checks they are still counted (active expiry must be off).
fn expired_keys_stay_counted(c: &mut Connection, n: usize) -> (Vec<String>, i64) {
    let keys = keys_per_shard(n, 20, "lazy");
    for k in &keys {
        let _: () = q(c, &["SET", k, "v", "PX", "10"]);
    }
    let _: () = q(c, &["SET", "persistent", "v"]);
    let total = keys.len() as i64 + 1;
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        dbsize(c),
        total,
        "{n} shards: expired keys must still be counted"
    );
    (keys, total)
}

#[test]
fn debug_set_active_expire_0_keeps_expired_keys_counted_until_accessed() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        assert_eq!(
            q::<String>(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]),
            "OK"
        );
        // Let an active-expiry cycle that was already under way finish (see
        // debug_set_active_expire_0_takes_effect_at_once).
        std::thread::sleep(Duration::from_millis(250));
        let (keys, total) = expired_keys_stay_counted(&mut c, n);
        // KEYS does not list expired keys.
        let listed: Vec<String> = q(&mut c, &["KEYS", "*"]);
        assert_eq!(listed, vec!["persistent".to_string()], "{n} shards");
        assert_eq!(dbsize(&mut c), total, "{n} shards");
        // Accessing a key reclaims it.
        assert_eq!(q::<Option<String>>(&mut c, &["GET", &keys[0]]), None);
        assert_eq!(dbsize(&mut c), total - 1, "{n} shards");
        assert_eq!(q::<i64>(&mut c, &["EXISTS", &keys[1], &keys[2]]), 0);
        assert_eq!(dbsize(&mut c), total - 3, "{n} shards");

        // Back on: active expiry reclaims the rest without any access.
        assert_eq!(
            q::<String>(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]),
            "OK"
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while dbsize(&mut c) != 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(dbsize(&mut c), 1, "{n} shards");
    }
}

#[test]
fn debug_set_active_expire_0_takes_effect_at_once() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        assert_eq!(
            q::<String>(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]),
            "OK"
        );
        expired_keys_stay_counted(&mut c, n);
    }
}
