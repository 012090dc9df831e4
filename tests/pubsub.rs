//! Pub/Sub through raw RESP and the redis crate: subscribers on every shard, exact
//! reply bytes in RESP2 and RESP3, subscribed mode's rules, patterns, PUBSUB's
//! counts, order per publisher, and a subscriber that does not read.

mod common;

use std::time::{Duration, Instant};

use common::{q, resp, Raw, Server};

fn message(channel: &str, payload: &str) -> Vec<u8> {
    format!(
        "*3\r\n$7\r\nmessage\r\n${}\r\n{channel}\r\n${}\r\n{payload}\r\n",
        channel.len(),
        payload.len()
    )
    .into_bytes()
}

fn subscribed(raw: &mut Raw, verb: &str, name: &str, count: usize) {
    raw.roundtrip(
        &resp(&[verb.as_bytes(), name.as_bytes()]),
        format!(
            "*3\r\n${}\r\n{verb}\r\n${}\r\n{name}\r\n:{count}\r\n",
            verb.len(),
            name.len()
        )
        .as_bytes(),
    );
}

#[test]
fn publish_reaches_subscribers_on_every_shard_and_counts_them() {
    let s = Server::start(3);
    // Connections spread over the shards (SO_REUSEPORT): with 12 subscribers every
    // shard is all but certain to have some.
    let mut subs: Vec<Raw> = (0..12).map(|_| Raw::connect(s.port)).collect();
    for sub in &mut subs {
        subscribed(sub, "subscribe", "news", 1);
    }
    let mut c = s.conn();
    let n: i64 = q(&mut c, &["PUBLISH", "news", "hello"]);
    assert_eq!(n, 12);
    let none: i64 = q(&mut c, &["PUBLISH", "other", "x"]);
    assert_eq!(none, 0);
    for sub in &mut subs {
        assert_eq!(
            sub.read_exact_len(message("news", "hello").len()),
            message("news", "hello")
        );
    }
    let numsub: Vec<redis::Value> = q(&mut c, &["PUBSUB", "NUMSUB", "news", "other"]);
    assert_eq!(
        numsub,
        vec![
            redis::Value::BulkString(b"news".to_vec()),
            redis::Value::Int(12),
            redis::Value::BulkString(b"other".to_vec()),
            redis::Value::Int(0)
        ]
    );
    let channels: Vec<String> = q(&mut c, &["PUBSUB", "CHANNELS"]);
    assert_eq!(channels, ["news"]);
    // Subscribers that leave are forgotten.
    drop(subs);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n: i64 = q(&mut c, &["PUBLISH", "news", "again"]);
        if n == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{n} subscribers left behind");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn subscribed_mode_in_resp2_allows_only_what_redis_allows() {
    let s = Server::start(2);
    let mut raw = Raw::connect(s.port);
    subscribed(&mut raw, "subscribe", "a", 1);
    subscribed(&mut raw, "psubscribe", "a*", 2);
    raw.roundtrip(
        &resp(&[b"GET", b"x"]),
        b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    raw.roundtrip(&resp(&[b"PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    raw.roundtrip(
        &resp(&[b"PING", b"hi"]),
        b"*2\r\n$4\r\npong\r\n$2\r\nhi\r\n",
    );
    raw.roundtrip(
        &resp(&[b"UNSUBSCRIBE"]),
        b"*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n",
    );
    raw.roundtrip(
        &resp(&[b"PUNSUBSCRIBE"]),
        b"*3\r\n$12\r\npunsubscribe\r\n$2\r\na*\r\n:0\r\n",
    );
    raw.roundtrip(
        &resp(&[b"UNSUBSCRIBE"]),
        b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n",
    );
    raw.roundtrip(&resp(&[b"GET", b"x"]), b"$-1\r\n");
    raw.roundtrip(&resp(&[b"PING"]), b"+PONG\r\n");
    // SUBSCRIBE with several channels confirms each; RESET leaves subscribed mode.
    raw.roundtrip(
        &resp(&[b"SUBSCRIBE", b"x", b"y"]),
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\ny\r\n:2\r\n",
    );
    raw.roundtrip(&resp(&[b"RESET"]), b"+RESET\r\n");
    raw.roundtrip(&resp(&[b"GET", b"x"]), b"$-1\r\n");
    let mut c = s.conn();
    let n: i64 = q(&mut c, &["PUBLISH", "x", "m"]);
    assert_eq!(n, 0);
}

#[test]
fn resp3_clients_get_pushes_and_keep_every_command() {
    let s = Server::start(2);
    let mut raw = Raw::connect(s.port);
    raw.send(&resp(&[b"HELLO", b"3"]));
    // The HELLO map: read up to its last field.
    let mut seen = String::new();
    while !seen.contains("modules") {
        seen.push_str(&raw.read_line());
    }
    let _ = raw.read_line();
    raw.roundtrip(
        &resp(&[b"SUBSCRIBE", b"a"]),
        b">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n",
    );
    raw.roundtrip(&resp(&[b"GET", b"x"]), b"_\r\n");
    raw.roundtrip(&resp(&[b"PING"]), b"+PONG\r\n");
    let mut c = s.conn();
    let n: i64 = q(&mut c, &["PUBLISH", "a", "hi"]);
    assert_eq!(n, 1);
    let want = b">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n";
    assert_eq!(raw.read_exact_len(want.len()), want);
}

#[test]
fn patterns_and_sharded_channels() {
    let s = Server::start(3);
    let mut p = Raw::connect(s.port);
    subscribed(&mut p, "psubscribe", "news.*", 1);
    let mut sh = Raw::connect(s.port);
    subscribed(&mut sh, "ssubscribe", "{user}1", 1);
    let mut c = s.conn();
    let n: i64 = q(&mut c, &["PUBLISH", "news.eu", "x"]);
    assert_eq!(n, 1);
    let want = b"*4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n$7\r\nnews.eu\r\n$1\r\nx\r\n";
    assert_eq!(p.read_exact_len(want.len()), want);
    let numpat: i64 = q(&mut c, &["PUBSUB", "NUMPAT"]);
    assert_eq!(numpat, 1);
    // A sharded message reaches SSUBSCRIBE, not pattern or plain subscribers.
    let n: i64 = q(&mut c, &["SPUBLISH", "{user}1", "y"]);
    assert_eq!(n, 1);
    let want = b"*3\r\n$8\r\nsmessage\r\n$7\r\n{user}1\r\n$1\r\ny\r\n";
    assert_eq!(sh.read_exact_len(want.len()), want);
    let n: i64 = q(&mut c, &["PUBLISH", "{user}1", "z"]);
    assert_eq!(n, 0);
    let chans: Vec<String> = q(&mut c, &["PUBSUB", "SHARDCHANNELS"]);
    assert_eq!(chans, ["{user}1"]);
}

#[test]
fn one_publishers_messages_arrive_in_order() {
    let s = Server::start(2);
    let mut sub = s.client().get_connection().unwrap();
    let mut pubsub = sub.as_pubsub();
    pubsub.subscribe("seq").unwrap();
    let mut c = s.conn();
    let mut pipe = redis::pipe();
    for i in 0..2000 {
        pipe.cmd("PUBLISH").arg("seq").arg(i).ignore();
    }
    let _: () = pipe.query(&mut c).unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    for i in 0..2000 {
        let msg = pubsub.get_message().unwrap();
        let got: i64 = msg.get_payload().unwrap();
        assert_eq!(got, i);
    }
}

#[test]
fn a_subscriber_that_does_not_read_is_disconnected_and_others_go_on() {
    let s = Server::start(2);
    let mut slow = Raw::connect(s.port);
    subscribed(&mut slow, "subscribe", "flood", 1);
    let mut c = s.conn();
    let payload = "x".repeat(256 * 1024);
    let rss_before = s.rss_kib();
    // 64 MB for a reader that reads nothing: past the 32 MB limit it is dropped.
    let mut last = 1;
    for _ in 0..256 {
        last = q(&mut c, &["PUBLISH", "flood", &payload]);
        if last == 0 {
            break;
        }
    }
    assert_eq!(last, 0, "the slow subscriber is still counted");
    let rss_after = s.rss_kib();
    assert!(
        rss_after < rss_before + 96 * 1024,
        "RSS grew from {rss_before} to {rss_after} KiB"
    );
    let pong: String = q(&mut c, &["PING"]);
    assert_eq!(pong, "PONG");
}

#[test]
fn the_pubsub_output_limit_is_a_setting_with_a_soft_limit_over_time() {
    let s = Server::start(2);
    let mut c = s.conn();
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "client-output-buffer-limit"]);
    assert_eq!(
        got[1],
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    let err = common::err(
        &mut c,
        &["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb"],
    );
    assert!(err.contains("Invalid argument"), "{err}");
    // The normal class is taken too (tests/limits.rs enforces it), and left as it was.
    let _: () = q(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 1mb 1mb 1",
        ],
    );
    let _: () = q(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 0 0 0",
        ],
    );
    // No hard limit; over 64 KB for a second is too long.
    let _: () = q(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 0 64kb 1",
        ],
    );
    let mut slow = Raw::connect(s.port);
    subscribed(&mut slow, "subscribe", "soft", 1);
    let payload = "y".repeat(64 * 1024);
    // The socket's own buffers take some first; then messages wait in the server.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n: i64 = q(&mut c, &["PUBLISH", "soft", &payload]);
        if n == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slow subscriber was never dropped"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = slow.read_until_closed();
}

#[test]
fn client_list_shows_subscriptions_and_monitors() {
    let s = Server::start(2);
    let mut sub = Raw::connect(s.port);
    subscribed(&mut sub, "subscribe", "a", 1);
    subscribed(&mut sub, "subscribe", "b", 2);
    subscribed(&mut sub, "psubscribe", "c*", 3);
    let mut m = Raw::connect(s.port);
    m.roundtrip(&resp(&[b"MONITOR"]), b"+OK\r\n");
    let mut c = s.conn();
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert!(
        list.lines()
            .any(|l| l.contains(" flags=P ") && l.contains(" sub=2 psub=1 ssub=0 ")),
        "{list}"
    );
    assert!(list.lines().any(|l| l.contains(" flags=O ")), "{list}");
}
