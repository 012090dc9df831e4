//! Client-side caching (CLIENT TRACKING) through raw RESP connections, with 1, 2 and 4
//! shards: invalidations of keys read on any shard, written by another client on any
//! shard; REDIRECT to a RESP2 subscriber on another shard; BCAST prefixes; NOLOOP;
//! OPTIN with CLIENT CACHING; FLUSHALL; expired keys; Redis's errors.

mod common;

use std::time::Duration;

use common::*;

fn hello3(s: &Server) -> Raw {
    let mut r = s.raw();
    r.send(&resp(&[b"HELLO", b"3"]));
    // The HELLO map is over once the PING after it answers.
    r.send(&resp(&[b"PING"]));
    while r.read_line() != "+PONG\r\n" {}
    r
}

fn cmd_ok(r: &mut Raw, args: &[&[u8]]) {
    r.roundtrip(&resp(args), b"+OK\r\n");
}

fn invalidate(key: &str) -> Vec<u8> {
    format!(
        ">2\r\n$10\r\ninvalidate\r\n*1\r\n${}\r\n{key}\r\n",
        key.len()
    )
    .into_bytes()
}

/// Asserts nothing more arrives on `r` within a short while.
fn nothing_more(r: &mut Raw) {
    r.stream
        .set_read_timeout(Some(Duration::from_millis(150)))
        .unwrap();
    let mut buf = [0u8; 256];
    use std::io::Read;
    match r.stream.read(&mut buf) {
        Ok(n) => panic!("unexpected: {:?}", String::from_utf8_lossy(&buf[..n])),
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{e}"
        ),
    }
    r.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
}

fn client_id(r: &mut Raw) -> String {
    r.send(&resp(&[b"CLIENT", b"ID"]));
    r.read_line().trim_start_matches(':').trim_end().to_string()
}

#[test]
fn a_read_key_is_invalidated_once_when_another_client_writes_it_on_any_shard() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut reader = hello3(&s);
        cmd_ok(&mut reader, &[b"CLIENT", b"TRACKING", b"ON"]);
        let mut writer = s.raw();
        for key in keys_on_every_shard(n) {
            reader.roundtrip(&resp(&[b"GET", key.as_bytes()]), b"_\r\n");
            writer.roundtrip(&resp(&[b"SET", key.as_bytes(), b"v"]), b"+OK\r\n");
            let want = invalidate(&key);
            assert_eq!(
                String::from_utf8_lossy(&reader.read_exact_len(want.len())),
                String::from_utf8_lossy(&want),
                "{n} shards, key {key}"
            );
            // Once: the key is forgotten until read again.
            writer.roundtrip(&resp(&[b"SET", key.as_bytes(), b"w"]), b"+OK\r\n");
            nothing_more(&mut reader);
        }
        // MGET over several shards remembers every key.
        let keys = keys_on_every_shard(n);
        let mut mget: Vec<&[u8]> = vec![b"MGET"];
        mget.extend(keys.iter().map(|k| k.as_bytes()));
        reader.send(&resp(&mget));
        let _ = reader.read_line();
        for _ in &keys {
            let _ = reader.read_line();
            let _ = reader.read_line();
        }
        writer.roundtrip(&resp(&[b"DEL", keys[0].as_bytes()]), b":1\r\n");
        let want = invalidate(&keys[0]);
        assert_eq!(reader.read_exact_len(want.len()), want, "{n} shards");
    }
}

#[test]
fn redirected_invalidations_reach_a_resp2_subscriber_on_another_shard() {
    let s = Server::start(2);
    // The subscriber, the tracker and the writer may each be served by either shard;
    // the keys live on both.
    let mut sub = s.raw();
    let sub_id = client_id(&mut sub);
    sub.send(&resp(&[b"SUBSCRIBE", b"__redis__:invalidate"]));
    for _ in 0..6 {
        let _ = sub.read_line();
    }
    let mut tracker = s.raw();
    cmd_ok(
        &mut tracker,
        &[
            b"CLIENT",
            b"TRACKING",
            b"ON",
            b"REDIRECT",
            sub_id.as_bytes(),
        ],
    );
    tracker.roundtrip(
        &resp(&[b"CLIENT", b"GETREDIR"]),
        format!(":{sub_id}\r\n").as_bytes(),
    );
    let mut writer = s.raw();
    for key in keys_on_every_shard(2) {
        tracker.roundtrip(&resp(&[b"GET", key.as_bytes()]), b"$-1\r\n");
        writer.roundtrip(&resp(&[b"SET", key.as_bytes(), b"1"]), b"+OK\r\n");
        let want = format!(
            "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n${}\r\n{key}\r\n",
            key.len()
        );
        assert_eq!(
            String::from_utf8_lossy(&sub.read_exact_len(want.len())),
            want
        );
    }
    // The target leaves: the next invalidation marks the redirect broken.
    drop(sub);
    std::thread::sleep(Duration::from_millis(100));
    let key = &keys_on_every_shard(2)[1];
    tracker.roundtrip(&resp(&[b"GET", key.as_bytes()]), b"$1\r\n1\r\n");
    writer.roundtrip(&resp(&[b"SET", key.as_bytes(), b"2"]), b"+OK\r\n");
    std::thread::sleep(Duration::from_millis(100));
    tracker.send(&resp(&[b"CLIENT", b"TRACKINGINFO"]));
    let mut info = String::new();
    for _ in 0..8 {
        info.push_str(&tracker.read_line());
    }
    assert!(info.contains("broken_redirect"), "{info}");
}

#[test]
fn bcast_prefixes_noloop_optin_and_flushall() {
    for n in [1, 2] {
        let s = Server::start(n);
        let mut writer = s.raw();
        // BCAST: every key under a prefix, read or not.
        let mut b = hello3(&s);
        cmd_ok(
            &mut b,
            &[b"CLIENT", b"TRACKING", b"ON", b"BCAST", b"PREFIX", b"user:"],
        );
        writer.roundtrip(&resp(&[b"SET", b"user:1", b"x"]), b"+OK\r\n");
        writer.roundtrip(&resp(&[b"SET", b"other", b"x"]), b"+OK\r\n");
        let want = invalidate("user:1");
        assert_eq!(b.read_exact_len(want.len()), want, "{n} shards");
        nothing_more(&mut b);
        b.roundtrip(
            &resp(&[b"CLIENT", b"TRACKING", b"ON", b"BCAST", b"PREFIX", b"us"]),
            b"-ERR Prefix 'us' overlaps with an existing prefix 'user:'. Prefixes for a single client must not overlap.\r\n",
        );
        // NOLOOP: its own writes are not sent back.
        let mut nl = hello3(&s);
        cmd_ok(&mut nl, &[b"CLIENT", b"TRACKING", b"ON", b"NOLOOP"]);
        nl.roundtrip(&resp(&[b"GET", b"mine"]), b"_\r\n");
        cmd_ok(&mut nl, &[b"SET", b"mine", b"1"]);
        nothing_more(&mut nl);
        // OPTIN: only reads after CLIENT CACHING YES.
        let mut o = hello3(&s);
        cmd_ok(&mut o, &[b"CLIENT", b"TRACKING", b"ON", b"OPTIN"]);
        o.roundtrip(&resp(&[b"GET", b"o1"]), b"_\r\n");
        cmd_ok(&mut o, &[b"CLIENT", b"CACHING", b"YES"]);
        o.roundtrip(&resp(&[b"GET", b"o2"]), b"_\r\n");
        writer.roundtrip(&resp(&[b"SET", b"o1", b"1"]), b"+OK\r\n");
        writer.roundtrip(&resp(&[b"SET", b"o2", b"1"]), b"+OK\r\n");
        let want = invalidate("o2");
        assert_eq!(o.read_exact_len(want.len()), want);
        nothing_more(&mut o);
        // FLUSHALL: a null invalidation to every tracking client.
        writer.roundtrip(&resp(&[b"FLUSHALL"]), b"+OK\r\n");
        let null = b">2\r\n$10\r\ninvalidate\r\n_\r\n";
        for r in [&mut b, &mut nl, &mut o] {
            assert_eq!(r.read_exact_len(null.len()), null, "{n} shards");
        }
    }
}

#[test]
fn an_expired_key_is_invalidated() {
    let s = Server::start(2);
    let mut reader = hello3(&s);
    cmd_ok(&mut reader, &[b"CLIENT", b"TRACKING", b"ON"]);
    let mut writer = s.raw();
    writer.roundtrip(&resp(&[b"SET", b"short", b"v", b"PX", b"50"]), b"+OK\r\n");
    reader.roundtrip(&resp(&[b"GET", b"short"]), b"$1\r\nv\r\n");
    // Active expiry finds it (the reader does not touch it again).
    let want = invalidate("short");
    assert_eq!(reader.read_exact_len(want.len()), want);
}

#[test]
fn tracking_errors_and_info_are_redis_s() {
    let s = Server::start(2);
    let mut r = s.raw();
    let cases: &[(&[&[u8]], &[u8])] = &[
        (
            &[b"CLIENT", b"TRACKING", b"ON", b"PREFIX", b"x"],
            b"-ERR PREFIX option requires BCAST mode to be enabled\r\n",
        ),
        (
            &[b"CLIENT", b"TRACKING", b"ON", b"OPTIN", b"OPTOUT"],
            b"-ERR You can't specify both OPTIN mode and OPTOUT mode\r\n",
        ),
        (
            &[b"CLIENT", b"TRACKING", b"ON", b"REDIRECT", b"999999"],
            b"-ERR The client ID you want redirect to does not exist\r\n",
        ),
        (
            &[b"CLIENT", b"CACHING", b"YES"],
            b"-ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled\r\n",
        ),
        (&[b"CLIENT", b"GETREDIR"], b":-1\r\n"),
        (&[b"CLIENT", b"TRACKING", b"ON", b"OPTOUT"], b"+OK\r\n"),
        (
            &[b"CLIENT", b"CACHING", b"YES"],
            b"-ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.\r\n",
        ),
        (&[b"CLIENT", b"CACHING", b"NO"], b"+OK\r\n"),
        (&[b"CLIENT", b"GETREDIR"], b":0\r\n"),
        (
            &[b"CLIENT", b"TRACKINGINFO"],
            b"*6\r\n$5\r\nflags\r\n*3\r\n$2\r\non\r\n$6\r\noptout\r\n$10\r\ncaching-no\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n",
        ),
        (&[b"CLIENT", b"TRACKING", b"OFF"], b"+OK\r\n"),
    ];
    for (args, want) in cases {
        r.roundtrip(&resp(args), want);
    }
    let mut c = s.conn();
    let info: String = q(&mut c, &["INFO", "clients"]);
    assert!(info.contains("tracking_clients:0\r\n"), "{info}");
}

#[test]
fn keys_read_by_a_script_are_tracked_for_its_caller() {
    for n in [1, 2] {
        let s = Server::start(n);
        let mut reader = hello3(&s);
        cmd_ok(&mut reader, &[b"CLIENT", b"TRACKING", b"ON"]);
        let mut writer = s.raw();
        for key in keys_on_every_shard(n) {
            reader.roundtrip(
                &resp(&[
                    b"EVAL",
                    b"return redis.call('GET', KEYS[1])",
                    b"1",
                    key.as_bytes(),
                ]),
                b"_\r\n",
            );
            writer.roundtrip(&resp(&[b"SET", key.as_bytes(), b"v"]), b"+OK\r\n");
            let want = invalidate(&key);
            assert_eq!(reader.read_exact_len(want.len()), want, "{n} shards, {key}");
        }
        // A script may not block.
        reader.send(&resp(&[
            b"EVAL",
            b"return redis.call('XREAD', 'BLOCK', '0', 'STREAMS', KEYS[1], '$')",
            b"1",
            b"st",
        ]));
        let line = reader.read_line();
        assert!(
            line.contains("XREAD command is not allowed with BLOCK option from scripts"),
            "{line}"
        );
    }
}

#[test]
fn the_table_keeps_at_most_tracking_table_max_keys() {
    let s = Server::start(1);
    let mut c = s.conn();
    let _: () = q(&mut c, &["CONFIG", "SET", "tracking-table-max-keys", "2"]);
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "tracking-table-max-keys"]);
    assert_eq!(got, ["tracking-table-max-keys", "2"]);
    let mut reader = hello3(&s);
    cmd_ok(&mut reader, &[b"CLIENT", b"TRACKING", b"ON"]);
    for k in [&b"t1"[..], b"t2", b"t3"] {
        reader.roundtrip(&resp(&[b"GET", k]), b"_\r\n");
    }
    // The third key pushed one out: its reader is told at once.
    let line = reader.read_line();
    assert_eq!(line, ">2\r\n");
    let mut c2 = s.conn();
    let info: String = q(&mut c2, &["INFO", "stats"]);
    assert!(info.contains("tracking_total_keys:2\r\n"), "{info}");
}
