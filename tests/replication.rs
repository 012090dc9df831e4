//! Replication both ways with Debian's redis-server, and between corecaches. corecache
//! as a primary with redis-server as its replica: a full sync of every type (with any
//! number of shards), the stream of writes after it (cross-shard transactions, scripts,
//! TTLs, broadcast writes, streams) applied identically, WAIT, a dropped link resumed
//! with a partial resync, a restarted replica synced again in full, and writes racing
//! the full sync. corecache as a replica of redis-server (full sync, stream, partial
//! resync, READONLY, REPLICAOF NO ONE) and of another corecache with other shard
//! counts. Every check compares every key of both servers. The tests with redis-server
//! are skipped (with a note) where it is not installed.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::dataset::{assert_same, content, fill, mixed_writes};
use common::redis_server::RedisServer;
use common::{eventually, info_field, q, scratch_dir, Scratch, Server};

/// redis-server replicating `primary`, its data in `dir`; None without redis-server.
fn replica_of(primary: &Server, dir: &Scratch, test: &str) -> Option<RedisServer> {
    let port = primary.port.to_string();
    let r = RedisServer::start(
        test,
        &[
            "--replicaof",
            "127.0.0.1",
            &port,
            "--dir",
            dir.to_str().unwrap(),
        ],
    )?;
    wait_link_up(&mut r.conn());
    Some(r)
}

fn link_status(c: &mut redis::Connection) -> String {
    let info: String = q(c, &["INFO", "replication"]);
    info.lines()
        .find_map(|l| l.strip_prefix("master_link_status:"))
        .unwrap_or("")
        .trim()
        .to_string()
}

fn wait_link_up(c: &mut redis::Connection) {
    eventually("the replica's link to come up", 20, || {
        link_status(c) == "up"
    });
}

/// ROLE's first element: `master` or `slave`.
fn role_of(c: &mut redis::Connection) -> String {
    let role: Vec<redis::Value> = q(c, &["ROLE"]);
    match &role[0] {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("{other:?}"),
    }
}

/// WAIT for one replica: every write so far reached it.
fn wait_one(c: &mut redis::Connection) {
    let n: i64 = q(c, &["WAIT", "1", "10000"]);
    assert_eq!(n, 1, "WAIT 1");
}

#[test]
fn redis_server_replicates_a_corecache_primary() {
    for shards in [1, 2, 4] {
        let s = Server::start(shards);
        let mut c = s.conn();
        fill(&mut c);
        let dir = scratch_dir("repl-full");
        let Some(r) = replica_of(&s, &dir, "redis_server_replicates_a_corecache_primary") else {
            return;
        };
        let mut rc = r.conn();
        assert_same(
            &content(&mut rc, 16),
            &content(&mut c, 16),
            "after the full sync",
        );
        mixed_writes(&mut c);
        wait_one(&mut c);
        assert_same(
            &content(&mut rc, 16),
            &content(&mut c, 16),
            &format!("after the stream, {shards} shards"),
        );
        // The replica refuses writes, as a replica does.
        let e: redis::RedisResult<()> = redis::cmd("SET").arg("x").arg("1").query(&mut rc);
        let e = e.unwrap_err().to_string();
        assert!(e.contains("read only replica"), "{e}");

        // What the primary says about it.
        let info: String = q(&mut c, &["INFO", "replication"]);
        assert!(
            info.contains("role:master\r\nconnected_slaves:1\r\n"),
            "{info}"
        );
        assert!(info.contains(&format!("slave0:ip=127.0.0.1,port={},state=online", r.port)));
        let offset: u64 = info_field(&mut c, "replication", "master_repl_offset");
        let replica_offset: u64 = info_field(&mut rc, "replication", "slave_repl_offset");
        assert_eq!(offset, replica_offset);
        let role: redis::Value = q(&mut c, &["ROLE"]);
        let redis::Value::Array(parts) = role else {
            panic!("{role:?}")
        };
        assert_eq!(parts[0], redis::Value::BulkString(b"master".to_vec()));
        assert_eq!(parts[1], redis::Value::Int(offset as i64));
        let full: u64 = info_field(&mut c, "stats", "sync_full");
        assert_eq!(full, 1);
    }
}

#[test]
fn a_dropped_link_resumes_with_a_partial_resync_and_a_new_replica_syncs_in_full() {
    let s = Server::start(2);
    let mut c = s.conn();
    fill(&mut c);
    let dir = scratch_dir("repl-partial");
    let test = "a_dropped_link_resumes_with_a_partial_resync";
    let Some(r) = replica_of(&s, &dir, test) else {
        return;
    };
    let mut rc = r.conn();
    wait_one(&mut c);
    // Drop the replica's connection, write meanwhile.
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    let id = list
        .lines()
        .find(|l| l.contains("cmd=replconf") || l.contains("cmd=psync"))
        .and_then(|l| l.strip_prefix("id="))
        .and_then(|l| l.split(' ').next())
        .expect("the replica's connection")
        .to_string();
    let _: i64 = q(&mut c, &["CLIENT", "KILL", "ID", &id]);
    for i in 0..100 {
        let _: () = q(&mut c, &["SET", &format!("during:{i}"), &i.to_string()]);
    }
    wait_link_up(&mut rc);
    wait_one(&mut c);
    assert_same(
        &content(&mut rc, 16),
        &content(&mut c, 16),
        "after the partial resync",
    );
    let partial: u64 = info_field(&mut c, "stats", "sync_partial_ok");
    let full: u64 = info_field(&mut c, "stats", "sync_full");
    assert_eq!((partial, full), (1, 1));

    // A replica that restarts has no cached primary: a full sync again.
    drop(rc);
    drop(r);
    let _: () = q(&mut c, &["SET", "while-down", "1"]);
    let dir2 = scratch_dir("repl-restart");
    let Some(r2) = replica_of(&s, &dir2, test) else {
        return;
    };
    let mut rc2 = r2.conn();
    wait_one(&mut c);
    assert_same(
        &content(&mut rc2, 16),
        &content(&mut c, 16),
        "after the second full sync",
    );
    let full: u64 = info_field(&mut c, "stats", "sync_full");
    assert_eq!(full, 2);
}

/// Writes on every shard keep coming while the replica's snapshot is taken and sent:
/// the stream after the snapshot's instant follows it, nothing lost or doubled.
#[test]
fn writes_racing_the_full_sync_reach_the_replica_once() {
    let s = Server::start(2);
    let mut c = s.conn();
    fill(&mut c);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let mut w = s.conn();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) && n < 200_000 {
                let mut p = redis::pipe();
                for i in 0..50 {
                    p.cmd("INCR")
                        .arg(format!("counter:{}", (n + i) % 97))
                        .ignore();
                    p.cmd("RPUSH").arg("log").arg(n + i).ignore();
                }
                p.cmd("MSET").arg("m:a").arg(n).arg("m:b").arg(n).ignore();
                let _: () = p.query(&mut w).unwrap();
                n += 50;
            }
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let dir = scratch_dir("repl-race");
    let replica = replica_of(
        &s,
        &dir,
        "writes_racing_the_full_sync_reach_the_replica_once",
    );
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let Some(r) = replica else {
        return;
    };
    wait_one(&mut c);
    let mut rc = r.conn();
    assert_same(
        &content(&mut rc, 16),
        &content(&mut c, 16),
        "after racing writes",
    );
}

#[test]
fn wait_counts_the_replicas_that_acknowledged() {
    let s = Server::start(2);
    let mut c = s.conn();
    // No replica: at once, 0.
    let n: i64 = q(&mut c, &["WAIT", "0", "0"]);
    assert_eq!(n, 0);
    let n: i64 = q(&mut c, &["WAIT", "1", "50"]);
    assert_eq!(n, 0);
    let e: redis::RedisResult<i64> = redis::cmd("WAIT").arg(1).arg(-1).query(&mut c);
    assert!(e.unwrap_err().to_string().contains("timeout is negative"));
    let e: redis::RedisResult<i64> = redis::cmd("WAIT").arg(1).arg("x").query(&mut c);
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("timeout is not an integer or out of range"));
    let role: redis::Value = q(&mut c, &["ROLE"]);
    assert_eq!(
        role,
        redis::Value::Array(vec![
            redis::Value::BulkString(b"master".to_vec()),
            redis::Value::Int(0),
            redis::Value::Array(vec![]),
        ])
    );
    let dir = scratch_dir("repl-wait");
    let Some(_r) = replica_of(&s, &dir, "wait_counts_the_replicas_that_acknowledged") else {
        return;
    };
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let n: i64 = q(&mut c, &["WAIT", "1", "0"]);
    assert_eq!(n, 1);
    // Asking for two with one replica waits the timeout out and says 1.
    let started = Instant::now();
    let n: i64 = q(&mut c, &["WAIT", "2", "200"]);
    assert_eq!(n, 1);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

/// corecache (`--replicaof` or REPLICAOF) following `primary_port`; waits for its link.
fn corecache_replica(shards: usize, primary_port: u16) -> Server {
    let s = Server::start(shards);
    let mut c = s.conn();
    let _: () = q(
        &mut c,
        &["REPLICAOF", "127.0.0.1", &primary_port.to_string()],
    );
    wait_link_up(&mut c);
    s
}

#[test]
fn corecache_replicates_a_redis_server_primary() {
    let test = "corecache_replicates_a_redis_server_primary";
    let dir = scratch_dir("repl-upstream");
    let Some(p) = RedisServer::start(test, &["--dir", dir.to_str().unwrap()]) else {
        return;
    };
    let mut pc = p.conn();
    fill(&mut pc);
    let s = corecache_replica(2, p.port);
    let mut c = s.conn();
    assert_same(
        &content(&mut c, 16),
        &content(&mut pc, 16),
        "after the full sync",
    );
    mixed_writes(&mut pc);
    wait_one(&mut pc);
    assert_same(
        &content(&mut c, 16),
        &content(&mut pc, 16),
        "after the stream",
    );
    // Read-only, and what it says about itself.
    let e: redis::RedisResult<()> = redis::cmd("SET").arg("x").arg("1").query(&mut c);
    let e = e.unwrap_err().to_string();
    assert!(e.contains("read only replica"), "{e}");
    let role: redis::Value = q(&mut c, &["ROLE"]);
    let redis::Value::Array(parts) = role else {
        panic!("{role:?}")
    };
    assert_eq!(parts[0], redis::Value::BulkString(b"slave".to_vec()));
    assert_eq!(parts[2], redis::Value::Int(p.port as i64));
    assert_eq!(parts[3], redis::Value::BulkString(b"connected".to_vec()));
    let mine: i64 = info_field(&mut c, "replication", "slave_repl_offset");
    let theirs: i64 = info_field(&mut pc, "replication", "master_repl_offset");
    assert_eq!(mine, theirs);

    // The primary drops the link: it resumes with a partial resync.
    let _: i64 = q(&mut pc, &["CLIENT", "KILL", "TYPE", "replica"]);
    let _: () = q(&mut pc, &["SET", "during-drop", "1"]);
    std::thread::sleep(Duration::from_millis(100));
    wait_link_up(&mut c);
    wait_one(&mut pc);
    assert_same(
        &content(&mut c, 16),
        &content(&mut pc, 16),
        "after the partial resync",
    );
    let partial: u64 = info_field(&mut pc, "stats", "sync_partial_ok");
    assert_eq!(partial, 1);

    // Promoted: it keeps the data and takes writes.
    let _: () = q(&mut c, &["REPLICAOF", "NO", "ONE"]);
    let _: () = q(&mut c, &["SET", "mine-now", "1"]);
    assert_eq!(role_of(&mut c), "master");
    let v: String = q(&mut c, &["GET", "during-drop"]);
    assert_eq!(v, "1");
}

#[test]
fn corecache_replicates_corecache_with_any_shard_counts() {
    for (primary, replica) in [(2, 4), (4, 1)] {
        let p = Server::start(primary);
        let mut pc = p.conn();
        fill(&mut pc);
        let s = corecache_replica(replica, p.port);
        let mut c = s.conn();
        mixed_writes(&mut pc);
        wait_one(&mut pc);
        assert_same(
            &content(&mut c, 16),
            &content(&mut pc, 16),
            &format!("{primary} shards to {replica}"),
        );
        // Errors as Redis words them.
        let e: redis::RedisResult<()> = redis::cmd("REPLICAOF").arg("host").arg("x").query(&mut c);
        assert!(e.unwrap_err().to_string().contains("Invalid master port"));
        let r: String = q(&mut c, &["REPLICAOF", "127.0.0.1", &p.port.to_string()]);
        assert_eq!(r, "OK Already connected to specified master");
    }
}

#[test]
fn min_replicas_to_write_and_stale_data_refuse_as_redis() {
    let p = Server::start(2);
    let mut pc = p.conn();
    let _: () = q(&mut pc, &["CONFIG", "SET", "min-replicas-to-write", "1"]);
    let _: () = q(&mut pc, &["CONFIG", "SET", "min-replicas-max-lag", "2"]);
    let e: redis::RedisResult<()> = redis::cmd("SET").arg("k").arg("v").query(&mut pc);
    let e = e.unwrap_err().to_string();
    assert!(e.contains("Not enough good replicas to write"), "{e}");
    // Reads still work.
    let v: Option<String> = q(&mut pc, &["GET", "k"]);
    assert_eq!(v, None);
    let r = corecache_replica(2, p.port);
    // Counted within a second (as Redis counts its good replicas).
    let mut set = || {
        redis::cmd("SET")
            .arg("k")
            .arg("v")
            .query::<()>(&mut pc)
            .is_ok()
    };
    eventually("writes taken with a replica", 5, &mut set);
    drop(r);
    eventually("writes refused without a replica", 10, || !set());
    let _: () = q(&mut pc, &["CONFIG", "SET", "min-replicas-to-write", "0"]);
    let _: () = q(&mut pc, &["SET", "k", "v"]);

    // A replica whose primary is gone answers MASTERDOWN with stale data refused.
    let s = Server::start(2);
    let mut c = s.conn();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _: () = q(&mut c, &["REPLICAOF", "127.0.0.1", &dead.to_string()]);
    let v: Option<String> = q(&mut c, &["GET", "k"]);
    assert_eq!(v, None, "stale data served by default");
    let _: () = q(&mut c, &["CONFIG", "SET", "replica-serve-stale-data", "no"]);
    let e: redis::RedisResult<Option<String>> = redis::cmd("GET").arg("k").query(&mut c);
    let e = e.unwrap_err().to_string();
    assert!(
        e.contains("Link with MASTER is down and replica-serve-stale-data is set to 'no'."),
        "{e}"
    );
    let status = link_status(&mut c);
    assert_eq!(status, "down");
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "replica-serve-stale-data", "yes"],
    );
    // A replica without its stream passes none on, as Redis's.
    let mut raw = s.raw();
    raw.roundtrip(
        &common::resp(&[b"PSYNC", b"?", b"-1"]),
        b"-NOMASTERLINK Can't SYNC while not connected with my master\r\n",
    );

    // replica-read-only no: clients may write on the replica.
    let e: redis::RedisResult<()> = redis::cmd("SET").arg("k").arg("v").query(&mut c);
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("You can't write against a read only replica."));
    let _: () = q(&mut c, &["CONFIG", "SET", "replica-read-only", "no"]);
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "replica-read-only"]);
    assert_eq!(got, ["replica-read-only", "no"]);
    let _: () = q(&mut c, &["SET", "k", "local"]);
    let v: String = q(&mut c, &["GET", "k"]);
    assert_eq!(v, "local");
    // Full syncs are always diskless: `yes` is the only value.
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "repl-diskless-sync"]);
    assert_eq!(got, ["repl-diskless-sync", "yes"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "repl-diskless-sync", "yes"]);
    let e = common::err(&mut c, &["CONFIG", "SET", "repl-diskless-sync", "no"]);
    assert!(e.contains("always streams"), "{e}");
}

/// A replica keeps its primary's stream verbatim: a replica of the replica gets it
/// (chained replication), and when the replica is promoted its former peers resume
/// from it with a partial resync (its second replication id is the old primary's).
#[test]
fn promoted_replicas_resume_their_peers_partially_and_chains_carry_the_stream() {
    let p = Server::start(2);
    let mut pc = p.conn();
    fill(&mut pc);
    let a = corecache_replica(2, p.port);
    let b = corecache_replica(4, p.port);
    let mut ac = a.conn();
    let mut bc = b.conn();
    mixed_writes(&mut pc);
    let n: i64 = q(&mut pc, &["WAIT", "2", "10000"]);
    assert_eq!(n, 2);
    let want = content(&mut pc, 16);
    let old_id: String = info_field(&mut pc, "replication", "master_replid");
    let old_offset: i64 = info_field(&mut pc, "replication", "master_repl_offset");
    let a_offset: i64 = info_field(&mut ac, "replication", "master_repl_offset");
    assert_eq!(
        a_offset, old_offset,
        "a replica's offsets are its primary's"
    );
    drop(pc);
    drop(p);

    // A takes over; B follows it and resumes where it was.
    let _: () = q(&mut ac, &["REPLICAOF", "NO", "ONE"]);
    let id2: String = info_field(&mut ac, "replication", "master_replid2");
    assert_eq!(id2, old_id);
    let second: i64 = info_field(&mut ac, "replication", "second_repl_offset");
    assert_eq!(second, old_offset + 1);
    let _: () = q(&mut bc, &["REPLICAOF", "127.0.0.1", &a.port.to_string()]);
    wait_link_up(&mut bc);
    let partial: u64 = info_field(&mut ac, "stats", "sync_partial_ok");
    let full: u64 = info_field(&mut ac, "stats", "sync_full");
    assert_eq!((partial, full), (1, 0), "B resumed partially");
    let _: () = q(&mut ac, &["SET", "after-promotion", "1"]);
    wait_one(&mut ac);
    assert_same(
        &content(&mut bc, 16),
        &content(&mut ac, 16),
        "B after the promotion",
    );
    let mut want = want;
    want.extend(
        content(&mut ac, 1)
            .into_iter()
            .filter(|(k, _)| k.1 == "after-promotion"),
    );
    assert_same(&content(&mut ac, 16), &want, "A kept everything");

    // A chain: redis-server replicates B, a replica itself, and gets A's stream.
    let dir = scratch_dir("repl-chain");
    let test = "promoted_replicas_resume_their_peers_partially";
    let Some(r) = replica_of(&b, &dir, test) else {
        return;
    };
    let mut rc = r.conn();
    let _: () = q(&mut ac, &["SET", "down-the-chain", "1"]);
    wait_one(&mut ac);
    eventually("the chain's end to get the write", 10, || {
        q::<Option<String>>(&mut rc, &["GET", "down-the-chain"]).is_some()
    });
    assert_same(
        &content(&mut rc, 16),
        &content(&mut ac, 16),
        "the end of the chain",
    );
    let top: i64 = info_field(&mut ac, "replication", "master_repl_offset");
    let end: i64 = info_field(&mut rc, "replication", "master_repl_offset");
    assert_eq!(top, end, "one stream, one offset down the chain");
}

/// A replica serving a full sync to its own replica while its primary's stream flows:
/// the snapshot is cut between batches of that stream, so nothing is applied twice or
/// lost down the chain (INCRs would show either).
#[test]
fn a_replica_serves_a_full_sync_while_its_stream_flows() {
    let p = Server::start(2);
    let mut pc = p.conn();
    let a = corecache_replica(2, p.port);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let mut w = p.conn();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) && n < 300_000 {
                let mut pipe = redis::pipe();
                for i in 0..50 {
                    pipe.cmd("INCR").arg(format!("c:{}", (n + i) % 31)).ignore();
                }
                let _: () = pipe.query(&mut w).unwrap();
                n += 50;
            }
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let dir = scratch_dir("repl-chain-race");
    let replica = replica_of(
        &a,
        &dir,
        "a_replica_serves_a_full_sync_while_its_stream_flows",
    );
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let Some(r) = replica else {
        return;
    };
    wait_one(&mut pc);
    let top: i64 = info_field(&mut pc, "replication", "master_repl_offset");
    let mut rc = r.conn();
    eventually("the chain's end to catch up", 10, || {
        info_field::<i64>(&mut rc, "replication", "master_repl_offset") >= top
    });
    assert_same(
        &content(&mut rc, 16),
        &content(&mut pc, 16),
        "the end of the chain",
    );
}

/// FAILOVER: the primary pauses writes, waits for a replica to catch up, and hands
/// over; the old primary follows the new one (partially resynced); errors as Redis's.
#[test]
fn failover_hands_the_primary_role_to_a_caught_up_replica() {
    let p = Server::start(2);
    let mut pc = p.conn();
    let e: redis::RedisResult<()> = redis::cmd("FAILOVER").query(&mut pc);
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("FAILOVER requires connected replicas."));
    let e: redis::RedisResult<()> = redis::cmd("FAILOVER").arg("ABORT").query(&mut pc);
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("No failover in progress."));
    fill(&mut pc);
    let r = corecache_replica(2, p.port);
    let mut rc = r.conn();
    let e: redis::RedisResult<()> = redis::cmd("FAILOVER")
        .arg("TO")
        .arg("127.0.0.1")
        .arg(1)
        .query(&mut pc);
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("FAILOVER target HOST and PORT is not a replica."));
    let e: redis::RedisResult<()> = redis::cmd("FAILOVER").arg("FORCE").query(&mut pc);
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("requires both a timeout"));
    let e: redis::RedisResult<()> = redis::cmd("FAILOVER").query(&mut rc);
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("not valid when server is a replica"));
    mixed_writes(&mut pc);
    let want = content(&mut pc, 16);
    let _: () = q(
        &mut pc,
        &[
            "FAILOVER",
            "TO",
            "127.0.0.1",
            &r.port.to_string(),
            "TIMEOUT",
            "10000",
        ],
    );
    eventually("the replica to take over", 15, || {
        role_of(&mut rc) == "master"
    });
    wait_link_up(&mut pc);
    let state: String = info_field(&mut pc, "replication", "master_failover_state");
    assert_eq!(state, "no-failover");
    let port: u16 = info_field(&mut pc, "replication", "master_port");
    assert_eq!(port, r.port);
    assert_same(&content(&mut rc, 16), &want, "the new primary");
    let partial: u64 = info_field(&mut rc, "stats", "sync_partial_ok");
    assert_eq!(partial, 1, "the old primary resumed partially");
    // The new primary takes writes and the old one follows.
    let _: () = q(&mut rc, &["SET", "after-failover", "1"]);
    wait_one(&mut rc);
    assert_same(
        &content(&mut pc, 16),
        &content(&mut rc, 16),
        "the old primary",
    );
    let e: redis::RedisResult<()> = redis::cmd("SET").arg("x").arg("1").query(&mut pc);
    assert!(e.unwrap_err().to_string().contains("read only replica"));
}

/// FAILOVER both ways with redis-server: corecache hands over to a redis-server
/// replica, and redis-server hands back to corecache (PSYNC FAILOVER each way).
#[test]
fn failover_goes_both_ways_with_redis_server() {
    let p = Server::start(2);
    let mut pc = p.conn();
    fill(&mut pc);
    let dir = scratch_dir("repl-failover");
    let Some(r) = replica_of(&p, &dir, "failover_goes_both_ways_with_redis_server") else {
        return;
    };
    let mut rc = r.conn();
    let wait_for = |c: &mut redis::Connection, want: &str| {
        eventually(&format!("the role {want}"), 15, || role_of(c) == want);
    };
    let _: () = q(&mut pc, &["FAILOVER"]);
    wait_for(&mut rc, "master");
    wait_link_up(&mut pc);
    let _: () = q(&mut rc, &["SET", "on-redis", "1"]);
    let n: i64 = q(&mut rc, &["WAIT", "1", "10000"]);
    assert_eq!(n, 1);
    assert_same(
        &content(&mut pc, 16),
        &content(&mut rc, 16),
        "corecache following redis",
    );
    let _: () = q(&mut rc, &["FAILOVER"]);
    wait_for(&mut pc, "master");
    wait_link_up(&mut rc);
    let _: () = q(&mut pc, &["SET", "on-corecache", "1"]);
    wait_one(&mut pc);
    assert_same(
        &content(&mut rc, 16),
        &content(&mut pc, 16),
        "redis following corecache",
    );
}

/// A snapshot far larger than the 4 MiB the sender lets wait in the connection's queue
/// streams through (paced by the socket) and arrives whole.
#[test]
fn a_large_snapshot_streams_to_the_replica() {
    let p = Server::start(2);
    let mut pc = p.conn();
    let value = "v".repeat(20_000);
    for chunk in 0..30 {
        let mut pipe = redis::pipe();
        for i in 0..100 {
            pipe.cmd("SET")
                .arg(format!("big:{chunk}:{i}"))
                .arg(&value)
                .ignore();
        }
        let _: () = pipe.query(&mut pc).unwrap();
    }
    let dir = scratch_dir("repl-large");
    let Some(r) = replica_of(&p, &dir, "a_large_snapshot_streams_to_the_replica") else {
        return;
    };
    let mut rc = r.conn();
    let n: i64 = q(&mut rc, &["DBSIZE"]);
    assert_eq!(n, 3000);
    let v: String = q(&mut rc, &["GET", "big:29:99"]);
    assert_eq!(v, value);
}

/// A primary with a password: the replica gives `masterauth`; without it the link
/// stays down.
#[test]
fn masterauth_lets_a_replica_into_a_primary_with_a_password() {
    let dir = scratch_dir("repl-auth");
    let test = "masterauth_lets_a_replica_into_a_primary_with_a_password";
    let Some(p) = RedisServer::start(
        test,
        &["--dir", dir.to_str().unwrap(), "--requirepass", "sesame"],
    ) else {
        return;
    };
    let mut pc = redis::Client::open(format!("redis://:sesame@127.0.0.1:{}/", p.port))
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = q(&mut pc, &["SET", "guarded", "1"]);
    let s = Server::start(2);
    let mut c = s.conn();
    let _: () = q(&mut c, &["REPLICAOF", "127.0.0.1", &p.port.to_string()]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(link_status(&mut c), "down", "no password, no link");
    let _: () = q(&mut c, &["CONFIG", "SET", "masterauth", "sesame"]);
    wait_link_up(&mut c);
    let v: String = q(&mut c, &["GET", "guarded"]);
    assert_eq!(v, "1");
}

/// A replica that acknowledges nothing for `repl-timeout` is disconnected, as Redis
/// does; one that acknowledges stays.
#[test]
fn a_silent_replica_is_dropped_after_repl_timeout() {
    use std::io::{Read, Write};
    let p = Server::start(2);
    let mut pc = p.conn();
    let _: () = q(&mut pc, &["SET", "k", "v"]);
    let _: () = q(&mut pc, &["CONFIG", "SET", "repl-timeout", "2"]);
    let mut silent = std::net::TcpStream::connect(("127.0.0.1", p.port)).unwrap();
    silent
        .write_all(&common::resp(&[b"REPLCONF", b"listening-port", b"1"]))
        .unwrap();
    silent
        .write_all(&common::resp(&[b"PSYNC", b"?", b"-1"]))
        .unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let mut buf = vec![0u8; 1 << 16];
    let closed = loop {
        match silent.read(&mut buf) {
            Ok(0) => break true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    assert!(closed, "a replica silent for repl-timeout was kept");
    assert!(started.elapsed() >= Duration::from_secs(2));
    eventually("the replica is gone from INFO", 5, || {
        info_field::<u64>(&mut pc, "replication", "connected_slaves") == 0
    });
}
