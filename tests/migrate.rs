//! MIGRATE between two corecache servers and from corecache to redis-server: KEYS,
//! COPY, REPLACE, AUTH/AUTH2, destination db, TTLs, NOKEY, the target's errors passed
//! through, and the IOERR replies for a refused connection and a silent target.

mod common;

use std::net::TcpListener;

use common::redis_server::RedisServer;
use common::*;
use redis::{Connection, Value};

fn status(c: &mut Connection, args: &[&str]) -> String {
    match cmd(args).query::<Value>(c) {
        Ok(Value::Okay) => "OK".into(),
        Ok(Value::SimpleString(s)) => s,
        Ok(other) => panic!("{args:?} gave {other:?}"),
        Err(e) => format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or("")),
    }
}

fn migrate(c: &mut Connection, port: u16, key: &str, db: &str, extra: &[&str]) -> String {
    let port = port.to_string();
    let mut args = vec!["MIGRATE", "127.0.0.1", &port, key, db, "5000"];
    args.extend_from_slice(extra);
    status(c, &args)
}

fn exists(c: &mut Connection, key: &str) -> bool {
    q::<i64>(c, &["EXISTS", key]) == 1
}

#[test]
fn migrate_moves_keys_from_every_shard() {
    let (src, dst) = (Server::start(2), Server::start(2));
    let (mut s, mut d) = (src.conn(), dst.conn());
    let keys = keys_on_every_shard(2);
    for (i, k) in keys.iter().enumerate() {
        let _: () = q(&mut s, &["RPUSH", k, "x", &i.to_string()]);
    }
    let _: () = q(&mut s, &["PEXPIRE", &keys[0], "60000"]);
    let mut extra = vec!["KEYS"];
    extra.extend(keys.iter().map(String::as_str));
    extra.push("missing");
    assert_eq!(migrate(&mut s, dst.port, "", "0", &extra), "OK");
    for (i, k) in keys.iter().enumerate() {
        assert!(!exists(&mut s, k), "{k} left behind");
        let items: Vec<String> = q(&mut d, &["LRANGE", k, "0", "-1"]);
        assert_eq!(items, ["x".to_string(), i.to_string()]);
    }
    let pttl: i64 = q(&mut d, &["PTTL", &keys[0]]);
    assert!((55_000..=60_000).contains(&pttl), "{pttl}");
    assert_eq!(q::<i64>(&mut d, &["PTTL", &keys[1]]), -1);
}

#[test]
fn migrate_copy_replace_and_target_errors() {
    let (src, dst) = (Server::start(2), Server::start(1));
    let (mut s, mut d) = (src.conn(), dst.conn());
    let _: () = q(&mut s, &["SET", "k", "new"]);
    let _: () = q(&mut d, &["SET", "k", "old"]);
    assert_eq!(
        migrate(&mut s, dst.port, "k", "0", &[]),
        "ERR Target instance replied with error: BUSYKEY Target key name already exists."
    );
    assert!(exists(&mut s, "k"));
    assert_eq!(
        migrate(&mut s, dst.port, "k", "0", &["COPY", "REPLACE"]),
        "OK"
    );
    assert_eq!(q::<String>(&mut d, &["GET", "k"]), "new");
    assert!(exists(&mut s, "k"));
    assert_eq!(migrate(&mut s, dst.port, "k", "0", &["REPLACE"]), "OK");
    assert!(!exists(&mut s, "k"));
    assert_eq!(migrate(&mut s, dst.port, "k", "0", &[]), "NOKEY");
    assert_eq!(
        migrate(&mut s, dst.port, "k", "0", &["KEYS", "a"]),
        "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
    );
    // Destination db, and a db the target does not have.
    let _: () = q(&mut s, &["SET", "db", "3"]);
    assert_eq!(
        migrate(&mut s, dst.port, "db", "99", &[]),
        "ERR Target instance replied with error: ERR DB index is out of range"
    );
    assert!(exists(&mut s, "db"));
    assert_eq!(migrate(&mut s, dst.port, "db", "3", &[]), "OK");
    let _: () = q(&mut d, &["SELECT", "3"]);
    assert_eq!(q::<String>(&mut d, &["GET", "db"]), "3");
}

#[test]
fn migrate_authenticates() {
    let src = Server::start(1);
    let dst = Server::start_with(1, &["--requirepass", "secret"]);
    let mut s = src.conn();
    for k in ["a", "b", "c"] {
        let _: () = q(&mut s, &["SET", k, k]);
    }
    assert_eq!(
        migrate(&mut s, dst.port, "a", "0", &[]),
        "ERR Target instance replied with error: NOAUTH Authentication required."
    );
    assert_eq!(
        migrate(&mut s, dst.port, "a", "0", &["AUTH", "wrong"]),
        "ERR Target instance replied with error: WRONGPASS invalid username-password pair or \
         user is disabled."
    );
    assert!(exists(&mut s, "a"));
    assert_eq!(
        migrate(&mut s, dst.port, "a", "0", &["AUTH", "secret"]),
        "OK"
    );
    assert_eq!(
        migrate(
            &mut s,
            dst.port,
            "",
            "0",
            &["AUTH2", "default", "secret", "KEYS", "b", "c"]
        ),
        "OK"
    );
    let mut d = redis::Client::open(format!("redis://:secret@127.0.0.1:{}/", dst.port))
        .unwrap()
        .get_connection()
        .unwrap();
    let got: Vec<String> = q(&mut d, &["MGET", "a", "b", "c"]);
    assert_eq!(got, ["a", "b", "c"]);
    assert!(!exists(&mut s, "a") && !exists(&mut s, "b"));
}

#[test]
fn migrate_reports_io_errors() {
    let src = Server::start(1);
    let mut s = src.conn();
    let _: () = q(&mut s, &["SET", "k", "v"]);
    // Nothing listens on a port we bound and released: the connection is refused,
    // which redis-server reports as a failed write.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert_eq!(
        migrate(&mut s, closed, "k", "0", &[]),
        "IOERR error or timeout writing to target instance"
    );
    assert_eq!(
        status(
            &mut s,
            &["MIGRATE", "no.such.host.invalid", "6379", "k", "0", "100"]
        ),
        "IOERR error or timeout connecting to the client"
    );
    // A target that accepts the connection and never answers: the read times out.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    assert_eq!(
        status(&mut s, &["MIGRATE", "127.0.0.1", &port, "k", "0", "200"]),
        "IOERR error or timeout reading to target instance"
    );
    assert!(exists(&mut s, "k"));
}

#[test]
fn migrate_into_redis_server() {
    let Some(redis) = RedisServer::start("migrate_into_redis_server", &[]) else {
        return;
    };
    let src = Server::start(2);
    let (mut s, mut r) = (src.conn(), redis.conn());
    let _: () = q(&mut s, &["SET", "str", "value"]);
    let _: () = q(&mut s, &["RPUSH", "list", "a", "b", "c"]);
    let _: () = q(&mut s, &["HSET", "hash", "f", "v"]);
    let _: () = q(&mut s, &["SADD", "set", "1", "2"]);
    let _: () = q(&mut s, &["ZADD", "zset", "1.5", "m"]);
    let _: () = q(&mut s, &["SET", "ttl", "t", "PX", "60000"]);
    let _: () = q(&mut r, &["SET", "hash", "busy"]);
    let keys = ["", "0", "KEYS", "str", "list", "hash", "set", "zset", "ttl"];
    assert_eq!(
        migrate(&mut s, redis.port, keys[0], keys[1], &keys[2..]),
        "ERR Target instance replied with error: BUSYKEY Target key name already exists."
    );
    // Every key but the busy one went over.
    assert!(exists(&mut s, "hash") && !exists(&mut s, "str"));
    assert_eq!(q::<String>(&mut r, &["GET", "str"]), "value");
    assert_eq!(
        q::<Vec<String>>(&mut r, &["LRANGE", "list", "0", "-1"]),
        ["a", "b", "c"]
    );
    assert_eq!(q::<Vec<String>>(&mut r, &["SMEMBERS", "set"]).len(), 2);
    assert_eq!(q::<String>(&mut r, &["ZSCORE", "zset", "m"]), "1.5");
    assert!(q::<i64>(&mut r, &["PTTL", "ttl"]) > 55_000);
    assert_eq!(migrate(&mut s, redis.port, "hash", "0", &["REPLACE"]), "OK");
    assert_eq!(q::<String>(&mut r, &["HGET", "hash", "f"]), "v");
}
