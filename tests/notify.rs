//! Keyspace notifications: CONFIG's classes, and the events of writes, expiry and
//! eviction reaching a subscriber on any shard with Redis's channel names.

mod common;

use std::time::Duration;

use common::{err, q, Server};

/// The (channel, message) pairs `n` notifications bring.
fn next_events(p: &mut redis::PubSub, n: usize) -> Vec<(String, String)> {
    p.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    (0..n)
        .map(|_| {
            let m = p.get_message().unwrap();
            (
                m.get_channel_name().to_string(),
                m.get_payload::<String>().unwrap(),
            )
        })
        .collect()
}

fn pair(ch: &str, msg: &str) -> (String, String) {
    (ch.to_string(), msg.to_string())
}

#[test]
fn writes_expiry_and_eviction_publish_their_events() {
    let s = Server::start(3);
    let mut c = s.conn();
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "notify-keyspace-events"]);
    assert_eq!(got[1], "");
    let e = err(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KQ"]);
    assert!(e.contains("Invalid event class character"), "{e}");
    let _: () = q(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "notify-keyspace-events"]);
    assert_eq!(got[1], "AKE");

    let mut sub = s.client().get_connection().unwrap();
    let mut p = sub.as_pubsub();
    p.psubscribe("__key*__:*").unwrap();
    // Keys on every shard (3 shards): each one's events arrive in order.
    for key in common::keys_on_every_shard(3) {
        let _: () = q(&mut c, &["SET", &key, "1"]);
        let _: i64 = q(&mut c, &["INCR", &key]);
        let _: i64 = q(&mut c, &["DEL", &key]);
        assert_eq!(
            next_events(&mut p, 6),
            vec![
                pair(&format!("__keyspace@0__:{key}"), "set"),
                pair("__keyevent@0__:set", &key),
                pair(&format!("__keyspace@0__:{key}"), "incrby"),
                pair("__keyevent@0__:incrby", &key),
                pair(&format!("__keyspace@0__:{key}"), "del"),
                pair("__keyevent@0__:del", &key),
            ]
        );
    }
    // A list emptied by a pop is deleted; a key whose TTL passes expires.
    let _: i64 = q(&mut c, &["RPUSH", "list", "a"]);
    let _: String = q(&mut c, &["LPOP", "list"]);
    let _: () = q(&mut c, &["SET", "short", "v", "PX", "30"]);
    let ev: Vec<String> = next_events(&mut p, 12)
        .into_iter()
        .map(|(ch, _)| ch)
        .collect();
    assert_eq!(
        ev,
        [
            "__keyspace@0__:list",
            "__keyevent@0__:rpush",
            "__keyspace@0__:list",
            "__keyevent@0__:lpop",
            "__keyspace@0__:list",
            "__keyevent@0__:del",
            "__keyspace@0__:short",
            "__keyevent@0__:set",
            "__keyspace@0__:short",
            "__keyevent@0__:expire",
            "__keyspace@0__:short",
            "__keyevent@0__:expired",
        ]
    );
    // Eviction under maxmemory.
    let _: () = q(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Ee"]);
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-random"],
    );
    for i in 0..2000 {
        let _: () = q(&mut c, &["SET", &format!("fill:{i}"), &"x".repeat(1000)]);
    }
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "1mb"]);
    let (ch, _) = next_events(&mut p, 1).remove(0);
    assert_eq!(ch, "__keyevent@0__:evicted");
}
