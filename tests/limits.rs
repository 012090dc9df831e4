//! Limits on what one client may cost: `client-output-buffer-limit normal` (hard and
//! soft with seconds) closes a client that does not read the replies it asked for,
//! while other clients go on and the server's memory stays bounded. (Without a limit, a
//! client whose unsent replies pass 1 MiB is not read from until they drain; with one,
//! its replies may pile up to the limit, as in Redis.)

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{cmd, info_field, q, Server};

/// A list whose LRANGE 0 -1 reply is about 600 KB.
fn big_list(c: &mut redis::Connection) {
    for chunk in 0..10 {
        let mut r = cmd(&["RPUSH", "big"]);
        for i in 0..1000 {
            r.arg(format!("{chunk}-{i:06}-{}", "z".repeat(48)));
        }
        let _: i64 = r.query(c).unwrap();
    }
}

/// `CONFIG SET client-output-buffer-limit "normal <limits>"`.
fn set_normal_limit(c: &mut redis::Connection, limits: &str) {
    let _: () = q(
        c,
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            &format!("normal {limits}"),
        ],
    );
}

/// Sends `n` LRANGEs of the big list without reading; returns whether the server
/// closed the connection within `within`.
fn closed_while_not_reading(port: u16, n: usize, within: Duration) -> bool {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let ask = b"*4\r\n$6\r\nLRANGE\r\n$3\r\nbig\r\n$1\r\n0\r\n$2\r\n-1\r\n";
    for _ in 0..n {
        if s.write_all(ask).is_err() {
            return true;
        }
    }
    // Not reading for a while, then reading everything: a closed connection ends.
    std::thread::sleep(within);
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return total < n * 600_000,
            Ok(k) => total += k,
            // Closed with commands it never read: a reset.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn the_hard_limit_closes_a_client_that_does_not_read() {
    let s = Server::start(2);
    let mut c = s.conn();
    big_list(&mut c);
    // Without a limit (Redis's default for normal clients) nothing is closed.
    assert!(!closed_while_not_reading(
        s.port,
        20,
        Duration::from_millis(300)
    ));
    set_normal_limit(&mut c, "512kb 0 0");
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "client-output-buffer-limit"]);
    assert!(got[1].starts_with("normal 524288 0 0"), "{got:?}");
    let before: u64 = info_field(&mut c, "memory", "used_memory");
    assert!(closed_while_not_reading(
        s.port,
        200,
        Duration::from_millis(500)
    ));
    // Others are served meanwhile and after; memory did not pile up.
    let n: i64 = q(&mut c, &["LLEN", "big"]);
    assert_eq!(n, 10_000);
    let after: u64 = info_field(&mut c, "memory", "used_memory");
    assert!(after < before + (8 << 20), "{before} -> {after}");
}

#[test]
fn a_hard_limit_above_a_mebibyte_is_reached() {
    // On the network driver, where a client's replies wait in the server (with
    // `--io-engine glommio` they wait in the kernel's socket buffer: see the README).
    let s = Server::start_with(2, &["--io-engine", "uring"]);
    let mut c = s.conn();
    big_list(&mut c);
    set_normal_limit(&mut c, "8mb 0 0");
    let before: u64 = info_field(&mut c, "memory", "used_memory");
    assert!(closed_while_not_reading(
        s.port,
        200,
        Duration::from_millis(1500)
    ));
    let after: u64 = info_field(&mut c, "memory", "used_memory");
    assert!(after < before + (16 << 20), "{before} -> {after}");
    // A client that reads what it asked for is not closed by it.
    for _ in 0..20 {
        let n: Vec<String> = q(&mut c, &["LRANGE", "big", "0", "-1"]);
        assert_eq!(n.len(), 10_000);
    }
}

#[test]
fn the_soft_limit_closes_a_client_over_it_for_its_seconds() {
    let s = Server::start(2);
    let mut c = s.conn();
    big_list(&mut c);
    set_normal_limit(&mut c, "0 1mb 1");
    let start = Instant::now();
    assert!(closed_while_not_reading(
        s.port,
        100,
        Duration::from_millis(1500)
    ));
    assert!(start.elapsed() >= Duration::from_secs(1));
    // Pub/Sub and replica classes are left as they were.
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "client-output-buffer-limit"]);
    assert_eq!(
        got[1],
        "normal 0 1048576 1 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
}

#[test]
fn maxclients_shrinks_to_the_open_files_limit_it_cannot_raise() {
    let dir = common::scratch_dir("nofile");
    let mut cmd = std::process::Command::new("sh");
    cmd.args([
        "-c",
        "ulimit -n 200 && exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_corecache"),
        "--bind",
        "127.0.0.1",
        "--port",
        "0",
        "--threads",
        "1",
        "--no-pin",
        "--save",
        "",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    let s = Server::start_command(cmd);
    let mut c = s.conn();
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxclients"]);
    // 200 files, 32 kept for the server's own.
    assert_eq!(got, ["maxclients", "168"]);
}

#[test]
fn tcp_keepalive_and_repl_timeout_are_settings() {
    let s = Server::start(1);
    let mut c = s.conn();
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "tcp-keepalive"]);
    assert_eq!(got, ["tcp-keepalive", "300"]);
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "repl-timeout"]);
    assert_eq!(got, ["repl-timeout", "60"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "repl-timeout", "5"]);
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "repl-timeout"]);
    assert_eq!(got, ["repl-timeout", "5"]);
    // The server's side of an idle client connection probes it (ss shows the timer).
    let _: () = q(&mut c, &["PING"]);
    std::thread::sleep(Duration::from_millis(300));
    let ss = std::process::Command::new("ss")
        .args([
            "-tno",
            "state",
            "established",
            &format!("( sport = :{} )", s.port),
        ])
        .output();
    if let Ok(out) = ss {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("keepalive"), "{text}");
    }
    let _: () = q(&mut c, &["CONFIG", "SET", "tcp-keepalive", "0"]);
    let mut fresh = s.conn();
    let _: () = q(&mut fresh, &["PING"]);
}
