//! CLIENT PAUSE / UNPAUSE and CLIENT UNBLOCK through real connections with 2 shards:
//! a pause holds the commands it applies to on every shard until it ends (reads pass a
//! WRITE pause; EXEC of a transaction with a write waits), and UNBLOCK ends a blocking
//! command as a timeout or with Redis's UNBLOCKED error.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::*;

/// Runs `args` on a new connection in a thread; the flag turns true once it answered.
fn in_background(s: &Server, args: &[&str]) -> (Arc<AtomicBool>, thread::JoinHandle<String>) {
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let mut r = Raw::connect(s.port);
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    let request = resp(&bytes);
    let h = thread::spawn(move || {
        r.send(&request);
        let line = r.read_line();
        flag.store(true, Ordering::SeqCst);
        line
    });
    (done, h)
}

/// Each client of every shard: `held` commands are still waiting after a while, and
/// answer once the pause ends.
fn held_until_unpaused(s: &Server, held: &[&[&str]]) {
    let waiting: Vec<_> = held.iter().map(|a| in_background(s, a)).collect();
    thread::sleep(Duration::from_millis(300));
    for (done, _) in &waiting {
        assert!(
            !done.load(Ordering::SeqCst),
            "a held command ran during the pause"
        );
    }
    let mut c = s.conn();
    let _: () = q(&mut c, &["CLIENT", "UNPAUSE"]);
    for (_, h) in waiting {
        let line = h.join().unwrap();
        assert!(!line.starts_with('-'), "{line}");
    }
}

#[test]
fn a_write_pause_holds_writes_on_every_shard_and_lets_reads_pass() {
    let s = Server::start(2);
    let keys = keys_on_every_shard(2);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", &keys[0], "before"]);
    let _: () = q(&mut c, &["CLIENT", "PAUSE", "60000", "WRITE"]);
    // Reads are served at once, from clients of any shard.
    for _ in 0..4 {
        let mut r = s.conn();
        let v: String = q(&mut r, &["GET", &keys[0]]);
        assert_eq!(v, "before");
    }
    held_until_unpaused(
        &s,
        &[
            &["SET", &keys[0], "a"],
            &["SET", &keys[1], "b"],
            &["PUBLISH", "ch", "m"],
            &["EVAL", "return 1", "0"],
        ],
    );
    let v: String = q(&mut c, &["GET", &keys[1]]);
    assert_eq!(v, "b");
}

/// As in Redis, an ALL pause holds CLIENT UNPAUSE too: it ends at its timeout.
#[test]
fn an_all_pause_holds_every_command_until_its_timeout() {
    let s = Server::start(2);
    let mut c = s.conn();
    let _: () = q(&mut c, &["CLIENT", "PAUSE", "1500"]);
    let held: Vec<_> = [
        &["GET", "k"][..],
        &["PING"],
        &["DBSIZE"],
        &["CLIENT", "UNPAUSE"],
    ]
    .iter()
    .map(|a| in_background(&s, a))
    .collect();
    thread::sleep(Duration::from_millis(300));
    for (done, _) in &held {
        assert!(
            !done.load(Ordering::SeqCst),
            "a command ran during the pause"
        );
    }
    for (_, h) in held {
        let line = h.join().unwrap();
        assert!(!line.starts_with('-'), "{line}");
    }
    assert!(err(&mut c, &["CLIENT", "PAUSE", "10", "BAD"]).contains("WRITE or ALL"));
    assert!(err(&mut c, &["CLIENT", "PAUSE", "-1"]).contains("timeout is negative"));
}

#[test]
fn exec_of_a_transaction_that_writes_waits_for_a_write_pause() {
    let s = Server::start(2);
    let mut r = Raw::connect(s.port);
    r.send(&resp(&[b"MULTI"]));
    assert_eq!(r.read_line(), "+OK\r\n");
    r.send(&resp(&[b"INCR", b"counter"]));
    assert_eq!(r.read_line(), "+QUEUED\r\n");
    let mut c = s.conn();
    let _: () = q(&mut c, &["CLIENT", "PAUSE", "60000", "WRITE"]);
    r.send(&resp(&[b"EXEC"]));
    let waiting = thread::spawn(move || r.read_line());
    thread::sleep(Duration::from_millis(300));
    assert!(!waiting.is_finished(), "EXEC ran during the pause");
    let _: () = q(&mut c, &["CLIENT", "UNPAUSE"]);
    assert_eq!(waiting.join().unwrap(), "*1\r\n");
}

#[test]
fn client_unblock_ends_a_blocking_command() {
    let s = Server::start(2);
    let mut c = s.conn();
    for (reason, expected) in [
        ("TIMEOUT", "*-1\r\n"),
        (
            "ERROR",
            "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n",
        ),
    ] {
        let mut r = Raw::connect(s.port);
        r.send(&resp(&[b"CLIENT", b"ID"]));
        let id = r.read_line()[1..].trim().to_string();
        r.send(&resp(&[b"BLPOP", b"nolist", b"0"]));
        wait_blocked(&mut c, 1);
        let n: i64 = q(&mut c, &["CLIENT", "UNBLOCK", &id, reason]);
        assert_eq!(n, 1);
        assert_eq!(r.read_line(), expected);
        // Not blocked any more.
        let n: i64 = q(&mut c, &["CLIENT", "UNBLOCK", &id]);
        assert_eq!(n, 0);
    }
    assert!(err(&mut c, &["CLIENT", "UNBLOCK", "1", "FOO"]).contains("TIMEOUT or ERROR"));
}
