//! MONITOR through raw RESP: commands of a client on any shard, in Redis's line format
//! and quoting, admin commands left out, AUTH redacted, RESET ending it.

mod common;

use common::{resp, Raw, Server};

fn check_line(line: &str, db: u32, rest: &str) {
    // +<secs>.<micros> [<db> 127.0.0.1:<port>] <args>
    let body = line.strip_prefix('+').expect("a status line");
    let body = body.strip_suffix("\r\n").expect("CRLF");
    let (stamp, after) = body.split_once(' ').unwrap();
    let (secs, micros) = stamp.split_once('.').unwrap();
    assert!(secs.parse::<u64>().is_ok() && micros.len() == 6, "{line:?}");
    let prefix = format!("[{db} 127.0.0.1:");
    assert!(after.starts_with(&prefix), "{line:?}");
    let (_, args) = after.split_once("] ").unwrap();
    assert_eq!(args, rest, "{line:?}");
}

#[test]
fn monitor_streams_every_clients_commands_in_redis_format() {
    let s = Server::start(3);
    let mut m = Raw::connect(s.port);
    m.roundtrip(b"*1\r\n$7\r\nMONITOR\r\n", b"+OK\r\n");
    // Clients on several shards; each one's lines arrive in its order.
    for i in 0..6 {
        let mut c = Raw::connect(s.port);
        let key = format!("k{i}");
        c.roundtrip(&resp(&[b"SET", key.as_bytes(), b"v"]), b"+OK\r\n");
        check_line(&m.read_line(), 0, &format!("\"SET\" \"{key}\" \"v\""));
    }
    let mut c = Raw::connect(s.port);
    c.roundtrip(&resp(&[b"SELECT", b"2"]), b"+OK\r\n");
    check_line(&m.read_line(), 0, "\"SELECT\" \"2\"");
    c.roundtrip(&resp(&[b"set", b"a b", b"x\"y\n"]), b"+OK\r\n");
    check_line(&m.read_line(), 2, r#""set" "a b" "x\"y\n""#);
    // Admin commands are not shown; AUTH's arguments are redacted.
    c.send(&resp(&[b"CONFIG", b"GET", b"maxmemory"]));
    let _ = c.read_exact_len(b"*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n".len());
    c.send(&resp(&[b"AUTH", b"secret"]));
    let _ = c.read_line();
    check_line(&m.read_line(), 2, r#""AUTH" "(redacted)""#);
    // A script's commands follow it, from `lua`.
    let script = b"redis.call('set', KEYS[1], 'x') return 1";
    c.roundtrip(&resp(&[b"EVAL", script, b"1", b"sk"]), b":1\r\n");
    check_line(
        &m.read_line(),
        2,
        r#""EVAL" "redis.call('set', KEYS[1], 'x') return 1" "1" "sk""#,
    );
    let line = m.read_line();
    assert!(line.contains(" [2 lua] \"set\" \"sk\" \"x\""), "{line:?}");
    // Also when its keys live on several shards (it runs on copies of them).
    let keys = common::keys_on_every_shard(3);
    let script = b"for i, k in ipairs(KEYS) do redis.call('set', k, 'y') end return 1";
    let mut eval: Vec<&[u8]> = vec![b"EVAL", script, b"3"];
    eval.extend(keys.iter().map(|k| k.as_bytes()));
    c.roundtrip(&resp(&eval), b":1\r\n");
    let _ = m.read_line();
    for k in &keys {
        let line = m.read_line();
        let want = format!(" [2 lua] \"set\" \"{k}\" \"y\"");
        assert!(line.contains(&want), "{line:?}");
    }
    // RESET ends it: the next command is not shown, only RESET's reply comes.
    m.roundtrip(b"*1\r\n$5\r\nRESET\r\n", b"+RESET\r\n");
    c.roundtrip(&resp(&[b"SET", b"after", b"1"]), b"+OK\r\n");
    m.roundtrip(b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n");
}
