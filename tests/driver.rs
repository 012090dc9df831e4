//! The network path under stress: many connections coming and going, input split into
//! single bytes, huge replies, clients that do not read or that leave mid-pipeline, and
//! long pipelines whose commands alternate between shards. Runs on whichever io engine
//! the server picks (`CORECACHE_IO_ENGINE`; CI runs the suite on both).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{keys_on_every_shard, q, resp, slot_of, Raw, Server, SHARD_COUNTS};

/// Reads `n` RESP replies of a simple kind (status, integer, error, bulk) and returns
/// them as strings (bulk: the payload; nil: "(nil)").
fn read_replies(stream: &mut TcpStream, n: usize) -> Vec<String> {
    let mut buf = Vec::new();
    let mut pos = 0;
    let mut out = Vec::with_capacity(n);
    let mut chunk = vec![0u8; 64 * 1024];
    while out.len() < n {
        match parse_one(&buf[pos..]) {
            Some((reply, used)) => {
                out.push(reply);
                pos += used;
            }
            None => {
                let got = stream.read(&mut chunk).expect("read replies");
                assert!(got > 0, "server closed after {} of {n} replies", out.len());
                buf.extend_from_slice(&chunk[..got]);
            }
        }
    }
    out
}

fn parse_one(b: &[u8]) -> Option<(String, usize)> {
    let end = b.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&b[1..end]).expect("ascii header");
    match b.first()? {
        b'+' | b':' | b'-' => Some((line.to_string(), end + 2)),
        b'$' => {
            let len: i64 = line.parse().expect("bulk length");
            if len < 0 {
                return Some(("(nil)".into(), end + 2));
            }
            let start = end + 2;
            let stop = start + len as usize;
            if b.len() < stop + 2 {
                return None;
            }
            let s = String::from_utf8_lossy(&b[start..stop]).into_owned();
            Some((s, stop + 2))
        }
        other => panic!("unexpected reply type {}", *other as char),
    }
}

fn connected_clients(s: &Server) -> usize {
    let info: String = q(&mut s.conn(), &["INFO", "clients"]);
    info.lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("connected_clients")
}

/// Waits until INFO shows `n` connected clients (its own included).
fn wait_for_clients(s: &Server, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = connected_clients(s);
        if now == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{now} clients connected, expected {n}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_thousand_connections_come_and_go_while_pipelining() {
    let s = Server::start(2);
    let port = s.port;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                for c in 0..125 {
                    let mut raw = Raw::connect(port);
                    let key = format!("conn:{t}:{c}");
                    let mut req = Vec::new();
                    for i in 0..20 {
                        req.extend(resp(&[b"SET", key.as_bytes(), i.to_string().as_bytes()]));
                        req.extend(resp(&[b"GET", key.as_bytes()]));
                    }
                    raw.send(&req);
                    let replies = read_replies(&mut raw.stream, 40);
                    for i in 0..20 {
                        assert_eq!(replies[2 * i], "OK");
                        assert_eq!(replies[2 * i + 1], i.to_string());
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
    let dbsize: i64 = q(&mut s.conn(), &["DBSIZE"]);
    assert_eq!(dbsize, 1000);
    wait_for_clients(&s, 1);
}

#[test]
fn commands_sent_one_byte_at_a_time_are_served() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut raw = s.raw();
        let mut req = resp(&[b"SET", b"slow", b"drip"]);
        req.extend(resp(&[b"GET", b"slow"]));
        req.extend(b"PING\r\n");
        for b in req {
            raw.send(&[b]);
            std::thread::sleep(Duration::from_micros(200));
        }
        assert_eq!(
            read_replies(&mut raw.stream, 3),
            vec!["OK", "drip", "PONG"],
            "{n} shards"
        );
    }
}

#[test]
fn a_64_mib_value_goes_in_and_comes_back_whole() {
    for n in [1, 2] {
        let s = Server::start(n);
        let value: Vec<u8> = (0..64 << 20).map(|i: usize| (i % 251) as u8).collect();
        let mut raw = s.raw();
        raw.stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        raw.send(&resp(&[b"SET", b"big", &value]));
        assert_eq!(raw.read_line(), "+OK\r\n");
        raw.send(&resp(&[b"GET", b"big"]));
        assert_eq!(raw.read_line(), format!("${}\r\n", value.len()));
        let got = raw.read_exact_len(value.len() + 2);
        assert!(
            got[..value.len()] == value[..],
            "{n} shards: payload differs"
        );
        assert_eq!(&got[value.len()..], b"\r\n");
        // The server still serves others.
        assert_eq!(q::<String>(&mut s.conn(), &["PING"]), "PONG");
    }
}

#[test]
fn clients_that_do_not_read_stall_alone_and_memory_stays_bounded() {
    // Eight clients pipeline 128 reads of a 1 MiB value each (1 GiB of replies in
    // all) and read nothing. Half read a key of one shard, half of the other, so whatever
    // shard serves each connection, some read their own shard's key and some another
    // shard's (whose answers come back in chunks).
    const CLIENTS: usize = 8;
    const READS: usize = 128;
    let s = Server::start(2);
    let value = vec![b'x'; 1 << 20];
    let keys = keys_on_every_shard(2);
    for k in &keys {
        q::<()>(
            &mut s.conn(),
            &["SET", k, std::str::from_utf8(&value).unwrap()],
        );
    }
    let before = s.rss_kib();
    let mut slow = Vec::new();
    let mut writers = Vec::new();
    for c in 0..CLIENTS {
        let conn = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        let mut w = conn.try_clone().unwrap();
        let key = keys[c % 2].clone();
        // In one write, so the server finds long batches in its input.
        writers.push(std::thread::spawn(move || {
            let gets: Vec<u8> = (0..READS)
                .flat_map(|_| resp(&[b"GET", key.as_bytes()]))
                .collect();
            let _ = w.write_all(&gets);
        }));
        slow.push(conn);
    }
    std::thread::sleep(Duration::from_millis(1500));
    let grown = s.rss_kib().saturating_sub(before);
    assert!(
        grown < 128 * 1024,
        "RSS grew by {grown} KiB for {CLIENTS} clients that do not read"
    );
    // Everybody else is served meanwhile.
    let mut other = s.conn();
    for i in 0..100 {
        q::<()>(&mut other, &["SET", &format!("other:{i}"), "v"]);
    }
    // Once the clients read, every reply arrives, whole and in order.
    let mut buf = vec![0u8; value.len() + 2];
    for (c, conn) in slow.iter_mut().enumerate() {
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        for i in 0..READS {
            let mut header = String::new();
            while !header.ends_with("\r\n") {
                let mut b = [0u8; 1];
                conn.read_exact(&mut b).expect("reply header");
                header.push(b[0] as char);
            }
            assert_eq!(
                header,
                format!("${}\r\n", value.len()),
                "client {c} reply {i}"
            );
            conn.read_exact(&mut buf).expect("reply payload");
            assert!(buf[..value.len()].iter().all(|&b| b == b'x'));
        }
    }
    for w in writers {
        w.join().unwrap();
    }
}

#[test]
fn a_client_leaving_mid_pipeline_disturbs_nobody() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let keys = keys_on_every_shard(n);
        let mut other = s.conn();
        for round in 0..20 {
            let mut leaver = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
            let mut req = Vec::new();
            for i in 0..10_000 {
                let k = &keys[i % keys.len()];
                req.extend(resp(&[b"INCR", k.as_bytes()]));
            }
            // Half the pipeline, then gone without reading a reply.
            leaver.write_all(&req[..req.len() / 2]).unwrap();
            drop(leaver);
            let pong: String = q(&mut other, &["PING"]);
            assert_eq!(pong, "PONG", "{n} shards, round {round}");
        }
        wait_for_clients(&s, 2);
        // Every INCR the server ran counted once; it is still consistent.
        let total: i64 = keys
            .iter()
            .map(|k| q::<Option<i64>>(&mut other, &["GET", k]).unwrap_or(0))
            .sum();
        assert!(total <= 20 * 5_000, "{total} increments");
    }
}

#[test]
fn ten_thousand_pipelined_commands_alternating_shards_come_back_in_order() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        // One key per shard, used round-robin, so consecutive commands alternate
        // between the local shard and remote ones.
        let keys = keys_on_every_shard(n);
        assert_eq!(keys.len(), n);
        let mut raw = s.raw();
        raw.stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut req = Vec::new();
        let mut expected = Vec::new();
        let mut counts = vec![0u64; n];
        for i in 0..10_000 {
            let k = i % n;
            if i % 3 == 2 {
                req.extend(resp(&[b"GET", keys[k].as_bytes()]));
                expected.push(if counts[k] == 0 {
                    "(nil)".to_string()
                } else {
                    counts[k].to_string()
                });
            } else {
                counts[k] += 1;
                req.extend(resp(&[b"INCR", keys[k].as_bytes()]));
                expected.push(counts[k].to_string());
            }
        }
        let owners: std::collections::HashSet<usize> = keys
            .iter()
            .map(|k| slot_of(k.as_bytes()) as usize * n / 16384)
            .collect();
        assert_eq!(owners.len(), n, "one key on each shard");
        raw.send(&req);
        let got = read_replies(&mut raw.stream, expected.len());
        assert_eq!(got, expected, "{n} shards");
    }
}

/// Batches of pipelined commands well past the input a connection buffers before its
/// receive pauses (1 MiB): every batch's replies come back. (A receive paused while
/// its reader drained the input before the cancel completed once stayed paused for
/// good, and the client waited forever.)
#[test]
fn batches_past_the_pause_threshold_are_all_answered() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut raw = s.raw();
        raw.stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let pairs: Vec<Vec<u8>> = (0..100)
            .flat_map(|i| [format!("field:{i:06}"), format!("value:{i:06}")])
            .map(String::into_bytes)
            .collect();
        for round in 0..6 {
            let mut req = Vec::new();
            let batch = 500;
            for c in 0..batch {
                let key = format!("h:{round}:{}", c % 20);
                let mut args: Vec<&[u8]> = vec![b"HSET", key.as_bytes()];
                args.extend(pairs.iter().map(Vec::as_slice));
                req.extend(resp(&args));
            }
            assert!(req.len() > 1 << 20);
            raw.send(&req);
            let got = read_replies(&mut raw.stream, batch);
            let added = got.iter().filter(|r| *r == "100").count();
            assert_eq!(added, 20, "{n} shards, round {round}: {got:?}");
            assert!(got.iter().all(|r| r == "100" || r == "0"));
        }
    }
}

/// MEMORY PURGE (and an idle shard) gives the receive buffers' pages back to the
/// kernel. Purges sent over and over while another client streams large pipelines
/// must never lose or zero a byte that was received but not yet read.
#[test]
fn purges_racing_a_pipelined_load_lose_no_input() {
    for n in [1, 2] {
        let s = Server::start(n);
        let port = s.port;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let purger = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut raw = Raw::connect(port);
                let mut purges = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    raw.send(&resp(&[b"MEMORY", b"PURGE"]));
                    assert_eq!(raw.read_line(), "+OK\r\n");
                    purges += 1;
                }
                purges
            })
        };
        let mut raw = s.raw();
        raw.stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let value = |i: usize| format!("{i:08}-{}", "v".repeat(i % 300)).into_bytes();
        let total = 20_000;
        for chunk in (0..total).collect::<Vec<_>>().chunks(2_000) {
            let mut req = Vec::new();
            for &i in chunk {
                req.extend(resp(&[b"SET", format!("k{i}").as_bytes(), &value(i)]));
            }
            raw.send(&req);
            let got = read_replies(&mut raw.stream, chunk.len());
            assert!(got.iter().all(|r| r == "OK"), "{n} shards: {got:?}");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(purger.join().unwrap() > 0);
        let mut c = s.conn();
        for i in (0..total).step_by(7) {
            let got: Vec<u8> = q(&mut c, &["GET", &format!("k{i}")]);
            assert_eq!(got, value(i), "{n} shards: key k{i}");
        }
    }
}
