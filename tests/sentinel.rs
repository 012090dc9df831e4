//! Failover with Debian's redis-sentinel: a corecache primary with two corecache
//! replicas; the primary is killed; Sentinel promotes a replica (SLAVEOF NO ONE in
//! MULTI, CONFIG REWRITE refused without a file, CLIENT KILL TYPE normal) and points the
//! other at it; clients asking Sentinel find the new primary, which holds every write
//! acknowledged with WAIT, and the other replica follows it, resuming with a partial
//! resync. Bounded: it gives up after
//! 30 s. Skipped (with a note) where redis-sentinel is not installed.

mod common;

use common::dataset::{assert_same, content, fill};
use common::redis_server::RedisSentinel;
use common::{eventually, info_field, q, scratch_dir, Server};

fn replica_of(port: u16) -> Server {
    Server::start_with(2, &["--replicaof", "127.0.0.1", &port.to_string()])
}

fn primary_by_sentinel(s: &mut redis::Connection) -> u16 {
    let addr: Vec<String> = q(s, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "cc"]);
    addr[1].parse().unwrap()
}

#[test]
fn sentinel_promotes_a_corecache_replica_and_loses_no_acknowledged_write() {
    let primary = Server::start(2);
    let mut pc = primary.conn();
    fill(&mut pc);
    let replicas = [replica_of(primary.port), replica_of(primary.port)];
    let dir = scratch_dir("sentinel");
    let test = "sentinel_promotes_a_corecache_replica";
    let Some(sentinel) = RedisSentinel::start(test, &dir, "cc", primary.port, 1000) else {
        return;
    };
    let mut sc = sentinel.conn();
    // Sentinel finds both replicas through the primary's INFO.
    eventually("sentinel to see two replicas", 30, || {
        let r: Vec<redis::Value> = q(&mut sc, &["SENTINEL", "REPLICAS", "cc"]);
        r.len() == 2
    });
    for i in 0..200 {
        let _: () = q(&mut pc, &["SET", &format!("acked:{i}"), &i.to_string()]);
    }
    let n: i64 = q(&mut pc, &["WAIT", "2", "5000"]);
    assert_eq!(n, 2);
    let want = content(&mut pc, 16);
    let old = primary.port;
    drop(pc);
    drop(primary);

    eventually("sentinel to name a new primary", 30, || {
        primary_by_sentinel(&mut sc) != old
    });
    let new = primary_by_sentinel(&mut sc);
    let (promoted, other) = if replicas[0].port == new {
        (&replicas[0], &replicas[1])
    } else {
        (&replicas[1], &replicas[0])
    };
    assert_eq!(promoted.port, new);
    let mut nc = promoted.conn();
    let role: Vec<redis::Value> = q(&mut nc, &["ROLE"]);
    assert_eq!(role[0], redis::Value::BulkString(b"master".to_vec()));
    assert_same(&content(&mut nc, 16), &want, "the promoted replica");
    // The other replica follows the new primary and gets its writes. Sentinel's
    // reconfiguration ends with CLIENT KILL TYPE normal there (as with redis-server),
    // so each look takes a fresh connection and a closed one means "not yet".
    eventually("the other replica to follow the new primary", 30, || {
        let info: redis::RedisResult<String> = redis::cmd("INFO")
            .arg("replication")
            .query(&mut other.conn());
        info.is_ok_and(|text| {
            text.contains(&format!("master_port:{new}\r\n"))
                && text.contains("master_link_status:up\r\n")
        })
    });
    let mut oc = other.conn();
    // It resumed from the promoted replica where it was (no full sync).
    let partial: u64 = info_field(&mut nc, "stats", "sync_partial_ok");
    let full: u64 = info_field(&mut nc, "stats", "sync_full");
    assert_eq!((partial, full), (1, 0));
    let _: () = q(&mut nc, &["SET", "after-failover", "1"]);
    let n: i64 = q(&mut nc, &["WAIT", "1", "5000"]);
    assert_eq!(n, 1);
    assert_same(
        &content(&mut oc, 16),
        &content(&mut nc, 16),
        "the other replica",
    );
}
