//! Commands the server answers itself: CLIENT, INFO, CONFIG, COMMAND, AUTH, HELLO,
//! RESET, TIME, and the maxclients limit. Clients connect to whichever shard the kernel
//! picks, so every view of clients and settings must span all shards.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::time::{Duration, Instant};

use common::*;
use redis::{Connection, Value};

/// CLIENT LIST text as one field map per line.
fn parse_client_list(text: &str) -> Vec<HashMap<String, String>> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split(' ')
                .filter_map(|f| f.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn client_list(c: &mut Connection, extra: &[&str]) -> Vec<HashMap<String, String>> {
    let mut args = vec!["CLIENT", "LIST"];
    args.extend_from_slice(extra);
    let text: String = q(c, &args);
    parse_client_list(&text)
}

/// Reads the rest of a HELLO map reply (it ends with the empty `modules` array).
fn read_hello_rest(r: &mut Raw) -> String {
    let mut rest = Vec::new();
    while !rest.ends_with(b"$7\r\nmodules\r\n*0\r\n") {
        rest.extend(r.read_exact_len(1));
        assert!(rest.len() < 1000, "HELLO reply too long: {rest:?}");
    }
    String::from_utf8_lossy(&rest).into_owned()
}

#[test]
fn client_id_setname_getname() {
    let s = Server::start(2);
    let mut a = s.conn();
    let mut b = s.conn();
    let ida: i64 = q(&mut a, &["CLIENT", "ID"]);
    let idb: i64 = q(&mut b, &["CLIENT", "ID"]);
    assert!(ida > 0 && idb > 0 && ida != idb, "ids {ida} {idb}");
    assert_eq!(q::<i64>(&mut a, &["CLIENT", "ID"]), ida, "the id is stable");

    assert_eq!(q::<Option<String>>(&mut a, &["CLIENT", "GETNAME"]), None);
    assert_eq!(q::<String>(&mut a, &["CLIENT", "SETNAME", "alpha"]), "OK");
    assert_eq!(
        q::<Option<String>>(&mut a, &["CLIENT", "GETNAME"]).as_deref(),
        Some("alpha")
    );
    assert_eq!(
        q::<Option<String>>(&mut b, &["CLIENT", "GETNAME"]),
        None,
        "names are per connection"
    );
    assert_eq!(
        err(&mut a, &["CLIENT", "SETNAME", "a b"]),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    assert_eq!(
        q::<Option<String>>(&mut a, &["CLIENT", "GETNAME"]).as_deref(),
        Some("alpha")
    );
    // An empty name removes the name.
    assert_eq!(q::<String>(&mut a, &["CLIENT", "SETNAME", ""]), "OK");
    assert_eq!(q::<Option<String>>(&mut a, &["CLIENT", "GETNAME"]), None);
    assert_eq!(
        err(&mut a, &["CLIENT", "FOO"]),
        "ERR unknown subcommand 'FOO'. Try CLIENT HELP."
    );
}

#[test]
fn client_list_shows_clients_of_every_shard() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut conns: Vec<(i64, Connection)> = Vec::new();
        for i in 0..8 {
            let mut c = s.conn();
            let _: () = q(&mut c, &["CLIENT", "SETNAME", &format!("conn-{i}")]);
            let id: i64 = q(&mut c, &["CLIENT", "ID"]);
            conns.push((id, c));
        }
        let mut viewer = s.conn();
        let viewer_id: i64 = q(&mut viewer, &["CLIENT", "ID"]);
        let lines = client_list(&mut viewer, &[]);
        let by_id: HashMap<i64, &HashMap<String, String>> = lines
            .iter()
            .map(|l| (l["id"].parse().unwrap(), l))
            .collect();
        assert_eq!(lines.len(), 9, "{n} shards: {lines:?}");
        for (i, (id, _)) in conns.iter().enumerate() {
            let line = by_id
                .get(id)
                .unwrap_or_else(|| panic!("{n} shards: client {id} not listed"));
            assert_eq!(line["name"], format!("conn-{i}"));
            assert_eq!(line["db"], "0");
            assert!(line["addr"].starts_with("127.0.0.1:"));
        }
        assert_eq!(by_id[&viewer_id]["cmd"], "client|list", "{n} shards");

        // CLIENT LIST ID <id> [<id> ...] from a connection that may be on another shard.
        let (first, _) = conns[0];
        let (last, _) = conns[7];
        let one = client_list(&mut viewer, &["ID", &first.to_string()]);
        assert_eq!(one.len(), 1, "{n} shards");
        assert_eq!(one[0]["id"], first.to_string());
        assert_eq!(one[0]["name"], "conn-0");
        let two = client_list(
            &mut viewer,
            &["ID", &last.to_string(), &first.to_string(), "999999"],
        );
        let ids: HashSet<String> = two.iter().map(|l| l["id"].clone()).collect();
        assert_eq!(
            ids,
            HashSet::from([first.to_string(), last.to_string()]),
            "{n} shards"
        );
        assert_eq!(client_list(&mut viewer, &["ID", "999999"]).len(), 0);
        assert_eq!(
            err(&mut viewer, &["CLIENT", "LIST", "ID", "abc"]),
            "ERR Invalid client ID"
        );
        assert_eq!(client_list(&mut viewer, &["TYPE", "normal"]).len(), 9);

        // A closed connection disappears from the list.
        let (gone, c) = conns.pop().unwrap();
        drop(c);
        let deadline = Instant::now() + Duration::from_secs(5);
        while client_list(&mut viewer, &[]).len() != 8 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let lines = client_list(&mut viewer, &[]);
        assert!(
            lines.iter().all(|l| l["id"] != gone.to_string()),
            "{n} shards"
        );
        assert_eq!(lines.len(), 8, "{n} shards");
    }
}

#[test]
fn client_kill_id_closes_a_connection_on_any_shard() {
    for n in [2, 4] {
        let s = Server::start(n);
        let mut killer = s.conn();
        let killer_id: i64 = q(&mut killer, &["CLIENT", "ID"]);
        // Several victims: the kernel spreads them over the shards.
        let mut victims: Vec<(i64, Raw)> = Vec::new();
        for _ in 0..8 {
            let mut r = s.raw();
            r.send(b"CLIENT ID\r\n");
            let line = r.read_line();
            let id: i64 = line.trim_start_matches(':').trim().parse().unwrap();
            victims.push((id, r));
        }
        for (id, mut victim) in victims {
            assert_eq!(
                q::<i64>(&mut killer, &["CLIENT", "KILL", "ID", &id.to_string()]),
                1,
                "{n} shards: kill {id}"
            );
            // The victim's next command gets no reply: the connection is closed.
            let _ = std::io::Write::write_all(&mut victim.stream, b"PING\r\n");
            let got = victim.read_until_closed();
            assert!(
                got.is_empty(),
                "{n} shards: victim {id} got {:?}",
                String::from_utf8_lossy(&got)
            );
            // (Redis drops it from the list at once; see killed_client_is_not_listed_after_client_kill.)
            let deadline = Instant::now() + Duration::from_secs(5);
            while !client_list(&mut killer, &["ID", &id.to_string()]).is_empty() {
                assert!(Instant::now() < deadline, "{n} shards: {id} still listed");
                std::thread::sleep(Duration::from_millis(5));
            }
            assert_eq!(
                q::<i64>(&mut killer, &["CLIENT", "KILL", "ID", &id.to_string()]),
                0,
                "{n} shards: already gone"
            );
        }
        // SKIPME (default yes) protects the caller.
        assert_eq!(
            q::<i64>(
                &mut killer,
                &["CLIENT", "KILL", "ID", &killer_id.to_string()]
            ),
            0
        );
        assert_eq!(q::<String>(&mut killer, &["PING"]), "PONG");
        assert_eq!(
            err(&mut killer, &["CLIENT", "KILL", "ID", "0"]),
            "ERR client-id should be greater than 0"
        );
        assert_eq!(
            err(&mut killer, &["CLIENT", "KILL", "1.2.3.4:5"]),
            "ERR No such client"
        );
    }
}

#[test]
fn client_kill_by_addr_closes_that_connection() {
    let s = Server::start(4);
    let mut killer = s.conn();
    let mut victim = s.raw();
    victim.send(b"CLIENT INFO\r\n");
    let header = victim.read_line();
    let len: usize = header.trim_start_matches('$').trim().parse().unwrap();
    let body = String::from_utf8(victim.read_exact_len(len + 2)).unwrap();
    let addr = parse_client_list(&body)[0]["addr"].clone();
    assert_eq!(q::<String>(&mut killer, &["CLIENT", "KILL", &addr]), "OK");
    let _ = std::io::Write::write_all(&mut victim.stream, b"PING\r\n");
    assert!(victim.read_until_closed().is_empty());
    assert_eq!(
        err(&mut killer, &["CLIENT", "KILL", &addr]),
        "ERR No such client"
    );
}

#[test]
fn client_no_touch_keeps_idle_time_of_read_keys() {
    // One sleep for all shard counts.
    let servers: Vec<(usize, Server)> = SHARD_COUNTS
        .iter()
        .map(|&n| (n, Server::start(n)))
        .collect();
    let mut conns: Vec<Connection> = servers.iter().map(|(_, s)| s.conn()).collect();
    for ((n, _), c) in servers.iter().zip(conns.iter_mut()) {
        for k in keys_on_every_shard(*n) {
            let _: () = q(c, &["SET", &k, "v"]);
        }
        assert_eq!(q::<String>(c, &["CLIENT", "NO-TOUCH", "ON"]), "OK");
        let info: String = q(c, &["CLIENT", "INFO"]);
        let flags = parse_client_list(&info)[0]["flags"].clone();
        assert!(flags.contains('T'), "{n} shards: flags={flags}");
    }
    std::thread::sleep(Duration::from_millis(2100));
    for ((n, _), c) in servers.iter().zip(conns.iter_mut()) {
        for k in keys_on_every_shard(*n) {
            assert_eq!(q::<String>(c, &["GET", &k]), "v");
            let mut mget = redis::cmd("MGET");
            mget.arg(&k).arg("other");
            let _: Vec<Option<String>> = mget.query(c).unwrap();
            let idle: i64 = q(c, &["OBJECT", "IDLETIME", &k]);
            assert!(
                idle >= 2,
                "{n} shards {k}: NO-TOUCH read reset idle time to {idle}"
            );
        }
        // TOUCH touches even under NO-TOUCH; and so do reads once it is off.
        let keys = keys_on_every_shard(*n);
        assert_eq!(q::<i64>(c, &["TOUCH", &keys[0]]), 1);
        assert!(
            q::<i64>(c, &["OBJECT", "IDLETIME", &keys[0]]) <= 1,
            "{n} shards: TOUCH"
        );
        assert_eq!(q::<String>(c, &["CLIENT", "NO-TOUCH", "OFF"]), "OK");
        for k in &keys[1..] {
            assert_eq!(q::<String>(c, &["GET", k]), "v");
            assert!(
                q::<i64>(c, &["OBJECT", "IDLETIME", k]) <= 1,
                "{n} shards {k}: GET touches"
            );
        }
        let info: String = q(c, &["CLIENT", "INFO"]);
        assert!(!parse_client_list(&info)[0]["flags"].contains('T'));
        assert_eq!(err(c, &["CLIENT", "NO-TOUCH", "maybe"]), "ERR syntax error");
    }
}

#[test]
fn client_reply_off_on_skip() {
    let s = Server::start(2);
    let keys = keys_on_every_shard(2);
    let (a, b) = (keys[0].as_bytes(), keys[1].as_bytes());
    let mut r = s.raw();
    // OFF: nothing until ON, which answers +OK; the silenced commands still ran.
    let mut req = Vec::new();
    req.extend(resp(&[b"CLIENT", b"REPLY", b"OFF"]));
    req.extend(resp(&[b"SET", a, b"1"]));
    req.extend(resp(&[b"SET", b, b"2"]));
    req.extend(resp(&[b"GET", a]));
    req.extend(resp(&[b"NOSUCHCOMMAND"]));
    req.extend(resp(&[b"CLIENT", b"REPLY", b"ON"]));
    req.extend(resp(&[b"MGET", a, b]));
    r.roundtrip(&req, b"+OK\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n");

    // OFF in one write, ON in a later one.
    r.send(&resp(&[b"CLIENT", b"REPLY", b"OFF"]));
    r.send(&resp(&[b"INCR", a]));
    std::thread::sleep(Duration::from_millis(50));
    r.roundtrip(&resp(&[b"CLIENT", b"REPLY", b"ON"]), b"+OK\r\n");
    r.roundtrip(&resp(&[b"GET", a]), b"$1\r\n2\r\n");

    // SKIP: no reply to itself nor to the next command.
    let mut req = Vec::new();
    req.extend(resp(&[b"CLIENT", b"REPLY", b"SKIP"]));
    req.extend(resp(&[b"INCR", b]));
    req.extend(resp(&[b"GET", b]));
    req.extend(resp(&[b"GET", a]));
    r.roundtrip(&req, b"$1\r\n3\r\n$1\r\n2\r\n");
    // SKIP twice skips the second SKIP and the command after it.
    r.roundtrip(
        b"CLIENT REPLY SKIP\r\nCLIENT REPLY SKIP\r\nECHO a\r\nECHO b\r\n",
        b"$1\r\nb\r\n",
    );
    // SKIP, then ON: ON answers and clears the pending skip.
    r.roundtrip(
        b"CLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\nECHO c\r\n",
        b"+OK\r\n$1\r\nc\r\n",
    );
    r.roundtrip(b"CLIENT REPLY maybe\r\n", b"-ERR syntax error\r\n");
}

#[test]
fn client_reply_skip_while_off_stays_off() {
    let s = Server::start(2);
    let mut r = s.raw();
    r.send(b"CLIENT REPLY OFF\r\nCLIENT REPLY SKIP\r\nECHO a\r\nECHO b\r\n");
    std::thread::sleep(Duration::from_millis(100));
    r.roundtrip(b"CLIENT REPLY ON\r\nECHO c\r\n", b"+OK\r\n$1\r\nc\r\n");
}

#[test]
fn info_reports_sections_keyspace_and_shards() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let _other = s.conn();
        let mut mset = redis::cmd("MSET");
        for i in 0..500 {
            mset.arg(format!("info:{i}")).arg(i);
        }
        let _: () = mset.query(&mut c).unwrap();
        for k in keys_on_every_shard(n) {
            let _: () = q(&mut c, &["SET", &format!("{k}:ttl"), "v", "EX", "1000"]);
        }
        let _: () = q(&mut c, &["SELECT", "2"]);
        let _: () = q(&mut c, &["SET", "in-db2", "v"]);
        let _: () = q(&mut c, &["SELECT", "0"]);
        let dbsize: i64 = q(&mut c, &["DBSIZE"]);
        assert_eq!(dbsize, 500 + n as i64);

        // Redis's default sections, and corecache's own when named.
        let info: String = q(&mut c, &["INFO", "default", "shards"]);
        for section in [
            "# Server",
            "# Clients",
            "# Memory",
            "# Stats",
            "# Keyspace",
            "# Shards",
        ] {
            assert!(
                info.lines().any(|l| l == section),
                "{n} shards: no {section} in INFO"
            );
        }
        assert!(info.contains("\r\n"), "INFO lines end with CRLF");
        let field = |name: &str| -> String {
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .unwrap_or_else(|| panic!("{n} shards: no {name} in INFO"))
                .trim()
                .to_string()
        };
        assert_eq!(
            field("db0"),
            format!("keys={dbsize},expires={n},avg_ttl=0"),
            "{n} shards"
        );
        assert_eq!(field("db2"), "keys=1,expires=0,avg_ttl=0", "{n} shards");
        assert!(field("connected_clients").parse::<i64>().unwrap() >= 2);
        assert_eq!(field("tcp_port"), s.port.to_string());
        assert!(field("redis_version").starts_with('7'));

        // One line per shard, whose key counts add up.
        let shard_lines: Vec<&str> = info
            .lines()
            .skip_while(|l| *l != "# Shards")
            .skip(1)
            .take_while(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert_eq!(shard_lines.len(), n, "{n} shards: {shard_lines:?}");
        let mut total = 0;
        for (i, line) in shard_lines.iter().enumerate() {
            assert!(line.starts_with(&format!("shard{i}:")), "{line}");
            let keys: i64 = line
                .split(',')
                .find_map(|f| f.strip_prefix("keys="))
                .unwrap()
                .parse()
                .unwrap();
            total += keys;
        }
        assert_eq!(total, dbsize + 1, "{n} shards: shard keys (all dbs)");

        // A single section.
        let ks: String = q(&mut c, &["INFO", "keyspace"]);
        assert!(ks.starts_with("# Keyspace\r\n"), "{ks:?}");
        assert!(!ks.contains("# Server"));
        assert!(ks.contains(&format!("db0:keys={dbsize},")));
    }
}

#[test]
fn config_get_reports_redis_parameters() {
    let s = Server::start(2);
    let mut c = s.conn();
    let get = |c: &mut Connection, p: &str| -> Vec<String> { q(c, &["CONFIG", "GET", p]) };
    assert_eq!(get(&mut c, "maxclients"), ["maxclients", "10000"]);
    assert_eq!(get(&mut c, "save"), ["save", "3600 1 300 100 60 10000"]);
    assert_eq!(get(&mut c, "appendonly"), ["appendonly", "no"]);
    assert_eq!(get(&mut c, "nosuchparam"), Vec::<String>::new());
    // Several at once, and patterns.
    let both = get_many(&mut c, &["CONFIG", "GET", "save", "appendonly"]);
    assert_eq!(
        both.get("save").map(String::as_str),
        Some("3600 1 300 100 60 10000")
    );
    assert_eq!(both.get("appendonly").map(String::as_str), Some("no"));
    let pattern = get_many(&mut c, &["CONFIG", "GET", "max*"]);
    assert_eq!(pattern.get("maxclients").map(String::as_str), Some("10000"));
    assert!(pattern.keys().all(|k| k.starts_with("max")), "{pattern:?}");
}

fn get_many(c: &mut Connection, args: &[&str]) -> HashMap<String, String> {
    let flat: Vec<String> = q(c, args);
    flat.chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect()
}

#[test]
fn config_set_refuses_unknown_and_immutable_parameters() {
    let s = Server::start(2);
    let mut c = s.conn();
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "foo", "bar"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "databases", "4"]),
        "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "io-threads", "2"]),
        "ERR CONFIG SET failed (possibly related to argument 'io-threads') - can't set immutable config"
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "maxclients", "abc"]),
        "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer"
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "maxclients"]),
        "ERR wrong number of arguments for 'config|set' command"
    );
    // Nothing changed.
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "databases"]);
    assert_eq!(v, ["databases", "16"]);
}

/// Redis 7.0's ranges and the all-or-nothing rule of a CONFIG SET naming several
/// parameters (compared with redis-server).
#[test]
fn config_set_ranges_and_duplicates_match_redis() {
    let s = Server::start(2);
    let mut c = s.conn();
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "hz", "20", "hz", "30"]),
        "ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter"
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "hz", "20", "maxmemory-samples", "0"]),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 2147483647 inclusive"
    );
    // Nothing of a refused CONFIG SET is applied.
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "hz"]);
    assert_eq!(v, ["hz", "10"]);
    // Any int for the list fill (below -5 acts as -5), a large sample count, and an
    // alias with its parameter in one call (the last wins, as in Redis 7.0).
    let _: () = q(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "list-max-ziplist-size",
            "-6",
            "maxmemory-samples",
            "100",
        ],
    );
    let _: i64 = q(&mut c, &["RPUSH", "l", "a", "b"]);
    let _: () = q(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "list-max-ziplist-size",
            "5",
            "list-max-listpack-size",
            "6",
        ],
    );
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "list-max-listpack-size"]);
    assert_eq!(v, ["list-max-listpack-size", "6"]);
}

#[test]
fn config_set_bad_boolean_error_matches_redis() {
    let s = Server::start(1);
    let mut c = s.conn();
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "appendonly", "maybe"]),
        "ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'"
    );
}

#[test]
fn config_set_maxclients_is_seen_by_every_connection() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        assert_eq!(
            q::<String>(&mut c, &["CONFIG", "SET", "maxclients", "500"]),
            "OK"
        );
        // Other connections may be served by other shards.
        for _ in 0..6 {
            let mut other = s.conn();
            let v: Vec<String> = q(&mut other, &["CONFIG", "GET", "maxclients"]);
            assert_eq!(v, ["maxclients", "500"], "{n} shards");
        }
        let info: String = q(&mut c, &["INFO", "clients"]);
        assert!(info.contains("maxclients:500\r\n"), "{n} shards: {info}");
        // Several parameters in one CONFIG SET.
        assert_eq!(
            q::<String>(
                &mut c,
                &["CONFIG", "SET", "maxclients", "600", "appendonly", "yes"]
            ),
            "OK"
        );
        let mut other = s.conn();
        let both = get_many(&mut other, &["CONFIG", "GET", "maxclients", "appendonly"]);
        assert_eq!(both["maxclients"], "600");
        assert_eq!(both["appendonly"], "yes");
    }
}

#[test]
fn command_introspection() {
    let s = Server::start(2);
    let mut c = s.conn();
    let count: i64 = q(&mut c, &["COMMAND", "COUNT"]);
    assert!(count > 40, "COMMAND COUNT {count}");

    let info: Value = q(&mut c, &["COMMAND", "INFO", "get"]);
    let Value::Array(rows) = info else {
        panic!("{info:?}")
    };
    let Value::Array(get) = &rows[0] else {
        panic!("{rows:?}")
    };
    assert_eq!(get[0], Value::BulkString(b"get".to_vec()));
    assert_eq!(get[1], Value::Int(2), "arity");
    assert_eq!(get[3], Value::Int(1), "first key");
    assert_eq!(get[4], Value::Int(1), "last key");
    assert_eq!(get[5], Value::Int(1), "step");
    // Unknown commands give nil.
    let info: Value = q(&mut c, &["COMMAND", "INFO", "get", "nosuchcmd"]);
    let Value::Array(rows) = info else { panic!() };
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1], Value::Nil);

    let keys: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]);
    assert_eq!(keys, ["a", "b"]);
    let keys: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "COPY", "x", "y", "DB", "1"]);
    assert_eq!(keys, ["x", "y"]);

    // COMMAND DOCS: a map from name to a map of fields (pairs in RESP2).
    let docs: Value = q(&mut c, &["COMMAND", "DOCS", "get"]);
    let Value::Array(pairs) = docs else {
        panic!("{docs:?}")
    };
    assert_eq!(pairs.len(), 2);
    assert_eq!(pairs[0], Value::BulkString(b"get".to_vec()));
    let Value::Array(fields) = &pairs[1] else {
        panic!("{pairs:?}")
    };
    assert!(fields.len() % 2 == 0);
    assert!(fields.contains(&Value::BulkString(b"summary".to_vec())));
    assert!(fields.contains(&Value::BulkString(b"group".to_vec())));

    let mut r = s.raw();
    r.send(b"HELLO 3\r\n");
    assert_eq!(r.read_exact_len(4), b"%7\r\n");
    read_hello_rest(&mut r);
    r.send(&resp(&[b"COMMAND", b"DOCS", b"get"]));
    assert_eq!(r.read_exact_len(14), b"%1\r\n$3\r\nget\r\n%");
}

#[test]
fn auth_with_requirepass() {
    let s = Server::start_with(2, &["--requirepass", "secret"]);
    let mut r = s.raw();
    let noauth = b"-NOAUTH Authentication required.\r\n";
    r.roundtrip(&resp(&[b"GET", b"k"]), noauth);
    r.roundtrip(b"PING\r\n", noauth);
    r.roundtrip(b"SET k v\r\n", noauth);
    let wrongpass = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    r.roundtrip(b"AUTH wrong\r\n", wrongpass);
    r.roundtrip(b"AUTH default wrong\r\n", wrongpass);
    r.roundtrip(b"AUTH someone secret\r\n", wrongpass);
    r.roundtrip(&resp(&[b"GET", b"k"]), noauth);
    r.roundtrip(b"AUTH secret\r\n", b"+OK\r\n");
    // Now every command works, on keys of every shard.
    for k in keys_on_every_shard(2) {
        r.roundtrip(&resp(&[b"SET", k.as_bytes(), b"v"]), b"+OK\r\n");
        r.roundtrip(&resp(&[b"GET", k.as_bytes()]), b"$1\r\nv\r\n");
    }
    r.roundtrip(b"DBSIZE\r\n", b":2\r\n");
    // AUTH user pass form.
    let mut r2 = s.raw();
    r2.roundtrip(b"AUTH default secret\r\n", b"+OK\r\n");
    r2.roundtrip(b"DBSIZE\r\n", b":2\r\n");
    // Authentication is per connection.
    s.raw().roundtrip(b"DBSIZE\r\n", noauth);
    // RESET de-authenticates.
    r2.roundtrip(b"RESET\r\n", b"+RESET\r\n");
    r2.roundtrip(b"DBSIZE\r\n", noauth);
}

#[test]
fn hello_3_auth_authenticates_and_switches_protocol() {
    let s = Server::start_with(2, &["--requirepass", "secret"]);
    let mut r = s.raw();
    r.send(b"HELLO 3\r\n");
    let line = r.read_line();
    assert!(
        line.starts_with("-NOAUTH HELLO must be called with the client already authenticated"),
        "{line}"
    );
    r.roundtrip(
        b"HELLO 3 AUTH default wrong\r\n",
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    r.send(b"HELLO 3 AUTH default secret\r\n");
    assert_eq!(r.read_exact_len(4), b"%7\r\n");
    let rest = read_hello_rest(&mut r);
    assert!(rest.contains("$5\r\nproto\r\n:3\r\n"), "{rest}");
    r.roundtrip(&resp(&[b"GET", b"missing"]), b"_\r\n");
    r.roundtrip(&resp(&[b"SET", b"k", b"v"]), b"+OK\r\n");
    // HELLO with SETNAME.
    let mut r2 = s.raw();
    r2.send(b"HELLO 2 AUTH default secret SETNAME named\r\n");
    assert_eq!(r2.read_exact_len(5), b"*14\r\n");
    read_hello_rest(&mut r2);
    r2.roundtrip(b"CLIENT GETNAME\r\n", b"$5\r\nnamed\r\n");
    r2.roundtrip(b"GET missing\r\n", b"$-1\r\n");
}

#[test]
fn auth_without_configured_password_is_an_error() {
    let s = Server::start(2);
    s.raw().roundtrip(
        b"AUTH foo\r\n",
        b"-ERR AUTH <password> called without any password configured for the default user. \
          Are you sure your configuration is correct?\r\n",
    );
    // AUTH default <anything> succeeds when no password is set.
    s.raw().roundtrip(b"AUTH default whatever\r\n", b"+OK\r\n");
}

#[test]
fn reset_returns_reset_and_clears_connection_state() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let keys = keys_on_every_shard(n);
        let mut r = s.raw();
        for k in &keys {
            r.roundtrip(&resp(&[b"SET", k.as_bytes(), b"db0"]), b"+OK\r\n");
        }
        r.roundtrip(b"SELECT 3\r\n", b"+OK\r\n");
        for k in &keys {
            r.roundtrip(&resp(&[b"SET", k.as_bytes(), b"db3"]), b"+OK\r\n");
        }
        r.roundtrip(b"CLIENT SETNAME someone\r\n", b"+OK\r\n");
        r.roundtrip(b"CLIENT NO-TOUCH on\r\n", b"+OK\r\n");
        r.send(b"HELLO 3\r\n");
        assert_eq!(r.read_exact_len(4), b"%7\r\n");
        read_hello_rest(&mut r);
        r.roundtrip(b"RESET\r\n", b"+RESET\r\n");
        // Back to db 0, RESP2, no name.
        for k in &keys {
            r.roundtrip(&resp(&[b"GET", k.as_bytes()]), b"$3\r\ndb0\r\n");
        }
        r.roundtrip(b"GET missing\r\n", b"$-1\r\n");
        r.roundtrip(b"CLIENT GETNAME\r\n", b"$-1\r\n");
        r.send(b"CLIENT INFO\r\n");
        let header = r.read_line();
        let len: usize = header.trim_start_matches('$').trim().parse().unwrap();
        let body = String::from_utf8(r.read_exact_len(len + 2)).unwrap();
        let info = &parse_client_list(&body)[0];
        assert_eq!(info["db"], "0");
        assert_eq!(info["resp"], "2");
        assert_eq!(info["flags"], "N");
    }
}

#[test]
fn time_returns_seconds_and_microseconds() {
    let s = Server::start(2);
    let mut c = s.conn();
    let t: Vec<String> = q(&mut c, &["TIME"]);
    assert_eq!(t.len(), 2);
    let secs: u64 = t[0].parse().expect("seconds are an integer");
    let micros: u64 = t[1].parse().expect("microseconds are an integer");
    assert!(micros < 1_000_000);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(secs.abs_diff(now) <= 5, "TIME {secs} vs {now}");
    // Raw: an array of two bulk strings.
    let mut r = s.raw();
    r.send(b"TIME\r\n");
    assert_eq!(r.read_line(), "*2\r\n");
    assert!(r.read_line().starts_with('$'));
}

#[test]
fn maxclients_refuses_connections_over_the_limit() {
    let mut s = Server::start_with(1, &["--maxclients", "2"]);
    let mut a = s.raw();
    a.roundtrip(b"PING\r\n", b"+PONG\r\n");
    let mut b = s.raw();
    b.roundtrip(b"PING\r\n", b"+PONG\r\n");
    let mut third = s.raw();
    let got = third.read_until_closed();
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR max number of clients reached\r\n"
    );
    assert!(s.alive());
    a.roundtrip(b"PING\r\n", b"+PONG\r\n");
    // Once a client leaves, a new one is accepted.
    drop(b);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut c = s.raw();
        c.send(b"PING\r\n");
        let mut buf = [0u8; 64];
        let n = c.stream.read(&mut buf).unwrap_or(0);
        if &buf[..n] == b"+PONG\r\n" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no slot freed: {:?}",
            String::from_utf8_lossy(&buf[..n])
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn killed_client_is_not_listed_after_client_kill() {
    for n in [1, 2, 4] {
        let s = Server::start(n);
        let mut killer = s.raw();
        for _ in 0..10 {
            let mut victim = s.raw();
            victim.send(b"CLIENT ID\r\n");
            let id = victim
                .read_line()
                .trim_start_matches(':')
                .trim()
                .to_string();
            let mut req = resp(&[b"CLIENT", b"KILL", b"ID", id.as_bytes()]);
            req.extend(resp(&[b"CLIENT", b"LIST", b"ID", id.as_bytes()]));
            killer.send(&req);
            assert_eq!(killer.read_line(), ":1\r\n");
            // An empty list is `$0\r\n\r\n`.
            let header = killer.read_line();
            let len: usize = header.trim_start_matches('$').trim().parse().unwrap();
            let body = killer.read_exact_len(len + 2);
            assert_eq!(
                len,
                0,
                "{n} shards: killed client {id} still listed: {}",
                String::from_utf8_lossy(&body)
            );
        }
    }
}

/// `timeout`: an idle client is closed after that many seconds; a Pub/Sub client and
/// a client blocked in BLPOP are kept.
#[test]
fn idle_clients_are_closed_after_timeout() {
    let s = Server::start(2);
    let mut c = s.conn();
    let _: () = q(&mut c, &["CONFIG", "SET", "timeout", "1"]);
    let mut idle = Raw::connect(s.port);
    idle.roundtrip(&resp(&[b"PING"]), b"+PONG\r\n");
    let mut subscriber = Raw::connect(s.port);
    subscriber.send(&resp(&[b"SUBSCRIBE", b"ch"]));
    let _ = subscriber.read_exact_len(b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n".len());
    let mut blocked = Raw::connect(s.port);
    blocked.send(&resp(&[b"BLPOP", b"somelist", b"0"]));
    let start = Instant::now();
    assert!(idle.read_until_closed().is_empty());
    assert!(start.elapsed() >= Duration::from_millis(900));
    // The others are still served (`c` was idle too: closed, as by Redis).
    let mut c = s.conn();
    let _: () = q(&mut c, &["CONFIG", "SET", "timeout", "0"]);
    let n: i64 = q(&mut c, &["PUBLISH", "ch", "m"]);
    assert_eq!(n, 1);
    let _: i64 = q(&mut c, &["RPUSH", "somelist", "x"]);
    assert_eq!(blocked.read_line(), "*2\r\n");
}

/// COMMAND LIST FILTERBY (ACLCAT, PATTERN, MODULE) and COMMAND GETKEYSANDFLAGS.
#[test]
fn command_list_filters_and_getkeysandflags() {
    let s = Server::start(1);
    let mut c = s.conn();
    let mut hll: Vec<String> = q(
        &mut c,
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "hyperloglog"],
    );
    hll.sort();
    assert_eq!(hll, ["pfadd", "pfcount", "pfmerge"]);
    let mut z: Vec<String> = q(
        &mut c,
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "ZUNION*"],
    );
    z.sort();
    assert_eq!(z, ["zunion", "zunionstore"]);
    let none: Vec<String> = q(&mut c, &["COMMAND", "LIST", "FILTERBY", "MODULE", "x"]);
    assert!(none.is_empty());
    // COMMAND LIST names subcommands too (as Redis 7 does); COUNT counts commands.
    let all: Vec<String> = q(&mut c, &["COMMAND", "LIST"]);
    let count: usize = q(&mut c, &["COMMAND", "COUNT"]);
    let (subs, commands): (Vec<&String>, Vec<&String>) = all.iter().partition(|n| n.contains('|'));
    assert_eq!(commands.len(), count);
    assert!(subs.iter().any(|s| *s == "config|get") && subs.iter().any(|s| *s == "xinfo|stream"));
    let admin: Vec<String> = q(&mut c, &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "admin"]);
    assert!(
        admin.contains(&"config|set".to_string()) && !admin.contains(&"config|help".to_string())
    );
    let configs: Vec<String> = q(
        &mut c,
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "config*"],
    );
    assert_eq!(configs.len(), 6, "{configs:?}");
    let keys: Vec<(String, Vec<String>)> = q(
        &mut c,
        &[
            "COMMAND",
            "GETKEYSANDFLAGS",
            "LMOVE",
            "src",
            "dst",
            "LEFT",
            "RIGHT",
        ],
    );
    assert_eq!(
        keys,
        [
            (
                "src".into(),
                vec!["RW".into(), "access".into(), "delete".into()]
            ),
            ("dst".into(), vec!["RW".into(), "insert".into()])
        ],
        "Redis's key-spec flags, key by key"
    );
    let keys: Vec<(String, Vec<String>)> = q(&mut c, &["COMMAND", "GETKEYSANDFLAGS", "GET", "k"]);
    assert_eq!(keys, [("k".into(), vec!["RO".into(), "access".into()])]);
}

/// CLIENT LIST shows a client's transaction (flags x, multi, watch), a blocked client
/// (b) and a tracking one (t, B, redir), as Redis 7.
#[test]
fn client_list_shows_transactions_blocking_and_tracking() {
    let s = Server::start(2);
    let mut a = s.conn();
    let _: () = q(&mut a, &["CLIENT", "SETNAME", "in-multi"]);
    let _: () = q(&mut a, &["WATCH", "k1", "k2", "k1"]);
    let _: () = q(&mut a, &["MULTI"]);
    let _: String = q(&mut a, &["SET", "k1", "v"]);
    let _: String = q(&mut a, &["GET", "k2"]);
    let mut b = Raw::connect(s.port);
    b.roundtrip(&resp(&[b"CLIENT", b"SETNAME", b"blocked"]), b"+OK\r\n");
    b.send(&resp(&[b"BLPOP", b"l", b"0"]));
    let mut t = Raw::connect(s.port);
    t.roundtrip(&resp(&[b"CLIENT", b"SETNAME", b"tracker"]), b"+OK\r\n");
    t.send(&resp(&[b"HELLO", b"3"]));
    let _ = t.read_line();
    t.send(&resp(&[b"CLIENT", b"TRACKING", b"on", b"BCAST"]));
    let mut c = s.conn();
    wait_blocked(&mut c, 1);
    // HELLO 3's map is still arriving on `t`; TRACKING's +OK follows it.
    let deadline = Instant::now() + Duration::from_secs(5);
    let list = loop {
        let list = client_list(&mut c, &[]);
        let tracking_on = list
            .iter()
            .any(|f| f["name"] == "tracker" && f["flags"].contains('t'));
        if tracking_on || Instant::now() > deadline {
            break list;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let by_name = |n: &str| list.iter().find(|f| f["name"] == n).unwrap().clone();
    let m = by_name("in-multi");
    assert_eq!(
        (
            m["flags"].as_str(),
            m["multi"].as_str(),
            m["watch"].as_str()
        ),
        ("x", "2", "2")
    );
    let bl = by_name("blocked");
    assert_eq!(
        (
            bl["flags"].as_str(),
            bl["multi"].as_str(),
            bl["cmd"].as_str()
        ),
        ("b", "-1", "blpop")
    );
    let tr = by_name("tracker");
    assert_eq!((tr["flags"].as_str(), tr["redir"].as_str()), ("tB", "0"));
    let me = by_name("");
    assert_eq!(
        (
            me["flags"].as_str(),
            me["watch"].as_str(),
            me["redir"].as_str()
        ),
        ("N", "0", "-1")
    );
}

/// LOLWUT draws and ends with the version line, as Redis's does.
#[test]
fn lolwut_draws_and_names_the_version() {
    let s = Server::start(2);
    let mut c = s.conn();
    let art: String = q(&mut c, &["LOLWUT"]);
    let last = art.lines().last().unwrap();
    assert!(
        last.starts_with("2 shard(s)") && last.contains("Redis ver. 7."),
        "{art}"
    );
    let small: String = q(&mut c, &["LOLWUT", "VERSION", "5", "20", "3"]);
    assert_eq!(small.lines().next().unwrap().len(), 20);
    assert!(err(&mut c, &["LOLWUT", "VERSION", "x"]).contains("not an integer"));
}

/// CONFIG GET lists Redis 6's aliases too; byte sizes take units; dynamic-hz is a
/// parameter — as redis-server 7.0.
#[test]
fn config_aliases_units_and_dynamic_hz_match_redis() {
    let s = Server::start(2);
    let mut c = s.conn();
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "hash-max-ziplist-entries", "100"],
    );
    let got: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "hash-max-*"]);
    let want: HashMap<String, String> = [
        ("hash-max-listpack-entries", "100"),
        ("hash-max-ziplist-entries", "100"),
        ("hash-max-listpack-value", "64"),
        ("hash-max-ziplist-value", "64"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(got, want);
    let _: () = q(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "zset-max-ziplist-value",
            "1kb",
            "stream-node-max-bytes",
            "4kb",
        ],
    );
    let got: HashMap<String, String> = q(
        &mut c,
        &[
            "CONFIG",
            "GET",
            "zset-max-listpack-value",
            "stream-node-max-bytes",
        ],
    );
    assert_eq!(got["zset-max-listpack-value"], "1024");
    assert_eq!(got["stream-node-max-bytes"], "4096");
    assert!(
        err(&mut c, &["CONFIG", "SET", "hash-max-listpack-value", "abc"])
            .ends_with("argument must be a memory value")
    );
    let _: () = q(&mut c, &["CONFIG", "SET", "dynamic-hz", "no"]);
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "dynamic-hz"]);
    assert_eq!(got, ["dynamic-hz", "no"]);
    assert!(err(&mut c, &["CONFIG", "SET", "dynamic-hz", "maybe"]).contains("'yes' or 'no'"));
}

fn fill_for_digest(c: &mut Connection, reversed: bool) {
    let mut members: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
    if reversed {
        members.reverse();
    }
    for m in &members {
        let _: i64 = q(c, &["SADD", "set", m]);
        let _: i64 = q(c, &["HSET", "hash", m, "v"]);
        let _: i64 = q(c, &["ZADD", "zset", "1.5", m]);
    }
    let _: i64 = q(c, &["RPUSH", "list", "a", "b", "c"]);
    let _: () = q(c, &["SET", "str", "hello"]);
    let _: () = q(c, &["SET", "num", "12345"]);
    let _: () = q(c, &["SET", "ttl", "x", "EX", "1000"]);
    let _: String = q(c, &["XADD", "stream", "1-1", "f", "v"]);
    let _: () = q(c, &["SELECT", "3"]);
    let _: () = q(c, &["SET", "other-db", "1"]);
    let _: () = q(c, &["SELECT", "0"]);
}

/// DEBUG DIGEST is the same for the same data whatever the shard count, insertion
/// order or a reload, and changes with the data; DIGEST-VALUE per key; DEBUG OBJECT.
#[test]
fn debug_digest_object_and_digest_value() {
    let zeros = "0".repeat(40);
    let a = Server::start(1);
    let b = Server::start(3);
    let (mut ca, mut cb) = (a.conn(), b.conn());
    let empty: String = q(&mut ca, &["DEBUG", "DIGEST"]);
    assert_eq!(empty, zeros);
    fill_for_digest(&mut ca, false);
    fill_for_digest(&mut cb, true);
    let da: String = q(&mut ca, &["DEBUG", "DIGEST"]);
    let db: String = q(&mut cb, &["DEBUG", "DIGEST"]);
    assert_eq!(da.len(), 40);
    assert_ne!(da, zeros);
    assert_eq!(da, db, "same data, other order and shard count");
    let _: () = q(&mut cb, &["DEBUG", "RELOAD"]);
    let reloaded: String = q(&mut cb, &["DEBUG", "DIGEST"]);
    assert_eq!(reloaded, da, "a reload keeps the digest");
    let _: i64 = q(&mut cb, &["SADD", "set", "extra"]);
    let changed: String = q(&mut cb, &["DEBUG", "DIGEST"]);
    assert_ne!(changed, da);
    let _: i64 = q(&mut cb, &["SREM", "set", "extra"]);
    let back: String = q(&mut cb, &["DEBUG", "DIGEST"]);
    assert_eq!(back, da);
    // Per value: equal values, equal digests; a missing key, zeros.
    let _: () = q(&mut ca, &["SET", "copy", "hello"]);
    let v: Vec<String> = q(
        &mut ca,
        &["DEBUG", "DIGEST-VALUE", "str", "copy", "missing", "set"],
    );
    assert_eq!(v[0], v[1]);
    assert_eq!(v[2], zeros);
    let other: Vec<String> = q(&mut cb, &["DEBUG", "DIGEST-VALUE", "set"]);
    assert_eq!(v[3], other[0]);
    // DEBUG OBJECT: Redis's line.
    let line: String = q(&mut ca, &["DEBUG", "OBJECT", "str"]);
    assert!(line.starts_with("Value at:0x"), "{line}");
    assert!(
        line.contains(" refcount:1 encoding:embstr serializedlength:6 lru:"),
        "{line}"
    );
    assert!(line.contains(" lru_seconds_idle:"), "{line}");
    assert_eq!(
        err(&mut ca, &["DEBUG", "OBJECT", "missing"]),
        "ERR no such key"
    );
}

/// A big command's query buffer is given back once it is handled: CLIENT INFO's
/// qbuf-free (what is left of the buffer's capacity) is small again.
#[test]
fn a_big_commands_query_buffer_shrinks_afterwards() {
    let s = Server::start(2);
    let mut c = s.conn();
    let big = "x".repeat(4 << 20);
    let _: () = q(&mut c, &["SET", "big", &big]);
    let info: String = q(&mut c, &["CLIENT", "INFO"]);
    let field = |name: &str| -> usize {
        info.split(' ')
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    assert!(field("qbuf-free") <= 64 * 1024, "{info}");
    assert!(field("tot-mem") < 1 << 20, "{info}");
    let len: usize = q(&mut c, &["STRLEN", "big"]);
    assert_eq!(len, 4 << 20);
}

/// CLIENT KILL's filters as redis-server 7.0 reads them: SKIPME yes|no, an unknown
/// USER is an error (only `default` exists), a bad MAXAGE a syntax error.
#[test]
fn client_kill_filters_read_as_redis_reads_them() {
    let s = Server::start(2);
    let mut c = s.conn();
    let _other = s.conn();
    assert_eq!(
        err(&mut c, &["CLIENT", "KILL", "USER", "nobody"]),
        "ERR No such user 'nobody'"
    );
    assert_eq!(
        err(&mut c, &["CLIENT", "KILL", "SKIPME", "on"]),
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["CLIENT", "KILL", "MAXAGE", "x"]),
        "ERR syntax error"
    );
    // Every default-user client but the caller.
    let n: i64 = q(
        &mut c,
        &["CLIENT", "KILL", "USER", "default", "SKIPME", "yes"],
    );
    assert_eq!(n, 1);
    let id: i64 = q(&mut c, &["CLIENT", "ID"]);
    let mut killer = s.conn();
    let n: i64 = q(
        &mut killer,
        &["CLIENT", "KILL", "ID", &id.to_string(), "SKIPME", "no"],
    );
    assert_eq!(n, 1);
}
