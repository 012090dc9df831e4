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

/// Class `m`: a read that misses a key raises `keymiss` (writes and hits do not), on
/// any shard; stream writes raise their `t` events.
#[test]
fn key_misses_and_stream_events() {
    let s = Server::start(2);
    let mut c = s.conn();
    let _: () = q(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Emt"]);
    let mut sub = s.client().get_connection().unwrap();
    let mut p = sub.as_pubsub();
    p.psubscribe("__keyevent@0__:*").unwrap();
    let keys = common::keys_on_every_shard(2);
    let _: () = q(&mut c, &["SET", &keys[1], "x"]);
    let _: Vec<Option<String>> = q(&mut c, &["MGET", &keys[0], &keys[1]]);
    let _: String = q(&mut c, &["XADD", "st", "1-1", "f", "v"]);
    let _: i64 = q(&mut c, &["XDEL", "st", "1-1"]);
    let _: () = q(&mut c, &["XGROUP", "CREATE", "st", "g", "$"]);
    assert_eq!(
        next_events(&mut p, 4),
        vec![
            pair("__keyevent@0__:keymiss", &keys[0]),
            pair("__keyevent@0__:xadd", "st"),
            pair("__keyevent@0__:xdel", "st"),
            pair("__keyevent@0__:xgroup-create", "st"),
        ]
    );
}

/// Commands whose keys live on two shards (run on copies, or as entry moves) raise the
/// events Redis raises, in its order.
#[test]
fn commands_across_shards_raise_their_events() {
    let s = Server::start(2);
    let mut c = s.conn();
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "notify-keyspace-events", "Eglsx"],
    );
    let mut sub = s.client().get_connection().unwrap();
    let mut p = sub.as_pubsub();
    p.psubscribe("__keyevent@0__:*").unwrap();
    let k = common::keys_on_every_shard(2);
    let (a, b) = (&k[0], &k[1]);
    let _: i64 = q(&mut c, &["RPUSH", a, "x"]);
    let _: String = q(&mut c, &["LMOVE", a, b, "LEFT", "RIGHT"]);
    let _: () = q(&mut c, &["RENAME", b, a]);
    let _: i64 = q(&mut c, &["DEL", a]);
    let _: i64 = q(&mut c, &["SADD", a, "m"]);
    let _: bool = q(&mut c, &["SMOVE", a, b, "m"]);
    let ev = |e: &str, k: &str| pair(&format!("__keyevent@0__:{e}"), k);
    assert_eq!(
        next_events(&mut p, 10),
        vec![
            ev("rpush", a),
            ev("rpush", b),
            ev("lpop", a),
            ev("del", a),
            ev("rename_from", b),
            ev("rename_to", a),
            ev("del", a),
            ev("sadd", a),
            ev("srem", a),
            ev("del", a),
        ]
    );
    assert_eq!(next_events(&mut p, 1), vec![ev("sadd", b)]);
    // XREADGROUP over streams of both shards creates its consumer in each group.
    let _: () = q(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Et"]);
    let (sa, sb) = (format!("{{{a}}}:s"), format!("{{{b}}}:s"));
    for k in [&sa, &sb] {
        let _: () = q(&mut c, &["XGROUP", "CREATE", k, "g", "$", "MKSTREAM"]);
    }
    let _: redis::Value = q(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "STREAMS",
            &sa,
            &sb,
            "0",
            "0",
        ],
    );
    let mut got = next_events(&mut p, 4);
    got.retain(|(ch, _)| ch.ends_with("createconsumer"));
    assert_eq!(got.len(), 2, "{got:?}");
}

/// Events a reply cannot tell, raised by the handlers: a ZADD that only changed a
/// score, MOVE's `move_to` in the target database, consumers that XREADGROUP creates.
#[test]
fn events_the_reply_cannot_tell() {
    let s = Server::start(2);
    let mut c = s.conn();
    let _: () = q(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    let mut sub = s.client().get_connection().unwrap();
    let mut p = sub.as_pubsub();
    p.psubscribe("__keyevent@*__:*").unwrap();
    let _: i64 = q(&mut c, &["ZADD", "z", "1", "a"]);
    let _: i64 = q(&mut c, &["ZADD", "z", "2", "a"]);
    let _: () = q(&mut c, &["SET", "mv", "1"]);
    let _: i64 = q(&mut c, &["MOVE", "mv", "3"]);
    let _: () = q(&mut c, &["XGROUP", "CREATE", "st", "g", "$", "MKSTREAM"]);
    let _: redis::Value = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "st", "0"],
    );
    let ev = |db: u8, e: &str, k: &str| pair(&format!("__keyevent@{db}__:{e}"), k);
    assert_eq!(
        next_events(&mut p, 7),
        vec![
            ev(0, "zadd", "z"),
            ev(0, "zadd", "z"),
            ev(0, "set", "mv"),
            ev(0, "move_from", "mv"),
            ev(3, "move_to", "mv"),
            ev(0, "xgroup-create", "st"),
            ev(0, "xgroup-createconsumer", "st"),
        ]
    );
}
