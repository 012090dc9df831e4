//! A busy script or function is always stoppable: SCRIPT KILL / FUNCTION KILL reach it
//! at once from a client of any shard, the script's own shard included (its thread is
//! inside the script; the script's hook answers that shard's idle clients), with 1, 2
//! and 4 shards. Meanwhile every other command gets Redis's `-BUSY`, a connection made
//! while the script runs (as redis-cli's) is answered too, and SHUTDOWN NOSAVE stops
//! the server. Every read has a 10 s timeout: a kill that does not get through fails
//! the test instead of hanging it (the scripts never end on their own).

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::*;

const SPIN: &[u8] = b"local i = 0 while true do i = i + 1 end";

/// A raw connection served by shard `want` of `shards` (client ids are
/// `shard + 1 + k * shards`).
fn conn_on(port: u16, shards: usize, want: usize) -> Raw {
    loop {
        let mut r = Raw::connect(port);
        r.send(&resp(&[b"CLIENT", b"ID"]));
        let id: u64 = r.read_line()[1..].trim().parse().unwrap();
        if ((id - 1) % shards as u64) as usize == want {
            return r;
        }
    }
}

fn ask(r: &mut Raw, args: &[&[u8]]) -> String {
    r.send(&resp(args));
    r.read_line()
}

/// Starts an endless script (`function`: an endless function) on shard 0's client and
/// waits until `probe` gets -BUSY; returns the looping connection.
fn start_spinning(port: u16, shards: usize, function: bool, probe: &mut Raw) -> Raw {
    let mut looping = conn_on(port, shards, 0);
    if function {
        looping.send(&resp(&[b"FCALL", b"spin", b"0"]));
    } else {
        looping.send(&resp(&[b"EVAL", SPIN, b"0"]));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let line = ask(probe, &[b"PING"]);
        if line.starts_with("-BUSY") {
            return looping;
        }
        assert_eq!(line, "+PONG\r\n");
        assert!(Instant::now() < deadline, "the script never became busy");
        thread::sleep(Duration::from_millis(20));
    }
}

fn server(shards: usize, engine: &str, function: bool) -> Server {
    let s = Server::start_with(shards, &["--io-engine", engine]);
    let mut admin = Raw::connect(s.port);
    assert_eq!(
        ask(
            &mut admin,
            &[b"CONFIG", b"SET", b"busy-reply-threshold", b"100"]
        ),
        "+OK\r\n"
    );
    if function {
        let lib = b"#!lua name=spin\nredis.register_function('spin', function() local i = 0 while true do i = i + 1 end end)";
        assert_eq!(ask(&mut admin, &[b"FUNCTION", b"LOAD", lib]), "$4\r\n");
        assert_eq!(admin.read_line(), "spin\r\n");
    }
    s
}

/// The killer is served by shard `killer_shard`; the script runs on shard 0.
fn killed_from(shards: usize, killer_shard: usize, function: bool, engine: &str) {
    let s = server(shards, engine, function);
    let mut killer = conn_on(s.port, shards, killer_shard);
    let mut looping = start_spinning(s.port, shards, function, &mut killer);
    let (kind, wrong): (&[u8], &[u8]) = if function {
        (b"FUNCTION", b"SCRIPT")
    } else {
        (b"SCRIPT", b"FUNCTION")
    };
    let busy = ask(&mut killer, &[b"GET", b"k"]);
    let expected = format!(
        "-BUSY Redis is busy running a script. You can only call {} KILL or SHUTDOWN NOSAVE.\r\n",
        String::from_utf8_lossy(kind)
    );
    assert_eq!(busy, expected);
    // The other kind of KILL does not stop it.
    assert_eq!(ask(&mut killer, &[wrong, b"KILL"]), expected);
    // A pipeline: every command answered in order.
    let mut pipe = resp(&[b"SET", b"k", b"v"]);
    pipe.extend(resp(&[kind, b"KILL"]));
    killer.send(&pipe);
    assert_eq!(killer.read_line(), expected);
    assert_eq!(killer.read_line(), "+OK\r\n");
    let ended = looping.read_line();
    assert!(
        ended.starts_with("-ERR Script killed by user with SCRIPT KILL..."),
        "{ended}"
    );
    assert_eq!(ask(&mut killer, &[b"PING"]), "+PONG\r\n");
    assert_eq!(ask(&mut looping, &[b"PING"]), "+PONG\r\n");
    assert_eq!(ask(&mut killer, &[b"GET", b"k"]), "$-1\r\n");
    assert!(ask(&mut killer, &[kind, b"KILL"]).starts_with("-NOTBUSY"));
}

#[test]
fn a_busy_script_is_killed_from_its_own_shard() {
    for shards in [1, 2, 4] {
        killed_from(shards, 0, false, "uring");
    }
}

#[test]
fn a_busy_function_is_killed_from_its_own_shard() {
    for shards in [1, 2, 4] {
        killed_from(shards, 0, true, "uring");
    }
}

#[test]
fn a_busy_script_is_killed_from_another_shard() {
    for (shards, killer) in [(2, 1), (4, 3)] {
        killed_from(shards, killer, false, "uring");
    }
    killed_from(2, 1, false, "glommio");
}

#[test]
fn a_busy_function_is_killed_from_another_shard() {
    for (shards, killer) in [(2, 1), (4, 2)] {
        killed_from(shards, killer, true, "uring");
    }
    killed_from(2, 1, true, "glommio");
}

/// As `redis-cli SCRIPT KILL` does: a connection made while the script runs, on the
/// only shard, which is the busy one.
#[test]
fn a_connection_made_while_busy_is_answered() {
    let s = server(1, "uring", false);
    let mut probe = Raw::connect(s.port);
    let mut looping = start_spinning(s.port, 1, false, &mut probe);
    let mut fresh = Raw::connect(s.port);
    assert!(ask(&mut fresh, &[b"PING"]).starts_with("-BUSY"));
    // Inline, as typed into telnet.
    fresh.send(b"SCRIPT KILL\r\n");
    assert_eq!(fresh.read_line(), "+OK\r\n");
    assert!(looping.read_line().starts_with("-ERR Script killed"));
}

/// SHUTDOWN without NOSAVE is refused while busy (no snapshot can be taken); SHUTDOWN
/// NOSAVE from the busy shard's client ends the server.
#[test]
fn shutdown_nosave_stops_a_server_busy_in_a_script() {
    let mut s = server(1, "uring", false);
    let mut probe = Raw::connect(s.port);
    let _looping = start_spinning(s.port, 1, false, &mut probe);
    assert!(ask(&mut probe, &[b"SHUTDOWN"]).starts_with("-BUSY"));
    probe.send(&resp(&[b"SHUTDOWN", b"NOSAVE"]));
    assert!(probe.read_until_closed().is_empty());
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.alive() {
        assert!(
            Instant::now() < deadline,
            "still running after SHUTDOWN NOSAVE"
        );
        thread::sleep(Duration::from_millis(20));
    }
}
