//! Lua scripts and functions through real connections, with 1, 2 and 4 shards: EVAL
//! and EVALSHA on keys of one shard and of several, the script cache on every shard,
//! undeclared keys, read-only scripts, FUNCTION LOAD/LIST/DELETE/DUMP/RESTORE and
//! FCALL (SCRIPT KILL and FUNCTION KILL: tests/script_kill.rs).

mod common;

use common::*;
use redis::Value;

const TRANSFER: &str = "local a = tonumber(redis.call('GET', KEYS[1])) \
     local n = tonumber(ARGV[1]) \
     if a < n then return 0 end \
     redis.call('DECRBY', KEYS[1], n) \
     redis.call('INCRBY', KEYS[2], n) \
     return 1";

#[test]
fn eval_runs_on_keys_of_one_and_of_several_shards() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let keys = keys_on_every_shard(n);
        // On the first and the last shard (one and the same with one shard).
        let (a, b) = (&keys[0], &format!("to{{{}}}", keys[n - 1]));
        let _: () = q(&mut c, &["SET", a, "100"]);
        let _: () = q(&mut c, &["SET", b, "5"]);
        let moved: i64 = q(&mut c, &["EVAL", TRANSFER, "2", a, b, "30"]);
        assert_eq!(moved, 1);
        let got: Vec<i64> = q(&mut c, &["MGET", a, b]);
        assert_eq!(got, vec![70, 35], "{n} shards");
        let refused: i64 = q(&mut c, &["EVAL", TRANSFER, "2", a, b, "1000"]);
        assert_eq!(refused, 0);
        // Every key of every shard in one script, with a new key created on each.
        let mut args = vec!["EVAL", "for i, k in ipairs(KEYS) do redis.call('SET', k .. ':copy', k) end \
             local out = {} for i, k in ipairs(KEYS) do out[i] = redis.call('GET', k .. ':copy') end \
             return out"];
        let count = keys.len().to_string();
        args.push(&count);
        let with_tags: Vec<String> = keys.iter().map(|k| format!("{{{k}}}")).collect();
        for k in &with_tags {
            args.push(k);
        }
        let got: Vec<String> = q(&mut c, &args);
        assert_eq!(got, with_tags);
        for k in &with_tags {
            let v: String = q(&mut c, &["GET", &format!("{k}:copy")]);
            assert_eq!(&v, k);
        }
    }
}

#[test]
fn scripts_inside_multi_run_under_the_transaction() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let keys = keys_on_every_shard(n);
        let (a, b) = (&keys[0], &format!("to{{{}}}", keys[n - 1]));
        let _: () = q(&mut c, &["MSET", a, "10", b, "0"]);
        let mut p = redis::pipe();
        p.atomic()
            .cmd("EVAL")
            .arg(TRANSFER)
            .arg(2)
            .arg(a)
            .arg(b)
            .arg(4)
            .cmd("INCR")
            .arg(b)
            .cmd("EVAL")
            .arg("return redis.call('GET', KEYS[1]) .. redis.call('GET', KEYS[2])")
            .arg(2)
            .arg(a)
            .arg(b);
        let got: (i64, i64, String) = p.query(&mut c).unwrap();
        assert_eq!(got, (1, 5, "65".to_string()), "{n} shards");
    }
}

#[test]
fn replies_convert_both_ways_as_in_redis() {
    let s = Server::start(2);
    let mut r = s.raw();
    let cases: &[(&str, &[u8])] = &[
        ("return 1", b":1\r\n"),
        ("return 3.99", b":3\r\n"),
        ("return 'x'", b"$1\r\nx\r\n"),
        (
            "return {1, 'a', {2}}",
            b"*3\r\n:1\r\n$1\r\na\r\n*1\r\n:2\r\n",
        ),
        ("return {1, 2, nil, 4}", b"*2\r\n:1\r\n:2\r\n"),
        ("return true", b":1\r\n"),
        ("return false", b"$-1\r\n"),
        ("return nil", b"$-1\r\n"),
        ("return {ok='fine'}", b"+fine\r\n"),
        ("return {err='ERR bad thing'}", b"-ERR bad thing\r\n"),
        ("return redis.status_reply('S')", b"+S\r\n"),
        ("return redis.error_reply('MY err')", b"-MY err\r\n"),
        ("return redis.call('GET', 'nokey')", b"$-1\r\n"),
        (
            "return type(redis.call('GET', 'nokey'))",
            b"$7\r\nboolean\r\n",
        ),
        ("return redis.call('PING')['ok']", b"$4\r\nPONG\r\n"),
        (
            "return redis.sha1hex('')",
            b"$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n",
        ),
        ("return redis.pcall('INCR', KEYS)['err'] ~= nil", b":1\r\n"),
    ];
    for (script, want) in cases {
        r.roundtrip(&resp(&[b"EVAL", script.as_bytes(), b"0"]), want);
    }
    // A command error raised by redis.call ends the script with that error.
    r.roundtrip(&resp(&[b"SET", b"str", b"x"]), b"+OK\r\n");
    r.send(&resp(&[
        b"EVAL",
        b"return redis.call('LPUSH', KEYS[1], 'a')",
        b"1",
        b"str",
    ]));
    let line = r.read_line();
    assert!(line.starts_with("-WRONGTYPE"), "{line}");
    let mut c = s.conn();
    let e = err(&mut c, &["EVAL", "return 1", "3", "a"]);
    assert_eq!(e, "ERR Number of keys can't be greater than number of args");
    let e = err(&mut c, &["EVAL", "return 1", "-1"]);
    assert_eq!(e, "ERR Number of keys can't be negative");
    let e = err(
        &mut c,
        &["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"],
    );
    assert!(e.starts_with("NOSCRIPT"), "{e}");
}

#[test]
fn the_script_cache_is_shared_by_every_shard() {
    let s = Server::start(4);
    let mut first = s.conn();
    let sha: String = q(&mut first, &["SCRIPT", "LOAD", "return ARGV[1] .. '!'"]);
    assert_eq!(sha.len(), 40);
    // Connections land on different shards; each must know the script.
    for _ in 0..8 {
        let mut c = s.conn();
        let got: String = q(&mut c, &["EVALSHA", &sha, "0", "hi"]);
        assert_eq!(got, "hi!");
        let exists: Vec<i64> = q(&mut c, &["SCRIPT", "EXISTS", &sha, "0000"]);
        assert_eq!(exists, vec![1, 0]);
    }
    // EVAL caches too.
    let _: i64 = q(&mut first, &["EVAL", "return 7", "0"]);
    let sha7: String = q(
        &mut first,
        &["EVAL", "return redis.sha1hex('return 7')", "0"],
    );
    for _ in 0..4 {
        let mut c = s.conn();
        let got: i64 = q(&mut c, &["EVALSHA", &sha7, "0"]);
        assert_eq!(got, 7);
    }
    let _: () = q(&mut first, &["SCRIPT", "FLUSH"]);
    for _ in 0..4 {
        let mut c = s.conn();
        let e = err(&mut c, &["EVALSHA", &sha, "0", "x"]);
        assert!(e.starts_with("NOSCRIPT"), "{e}");
    }
}

#[test]
fn undeclared_keys_and_read_only_scripts() {
    let s = Server::start(4);
    let mut c = s.conn();
    let keys = keys_on_every_shard(4);
    let _: () = q(&mut c, &["SET", &keys[3], "far"]);
    // A legacy script (no shebang) may touch undeclared keys, wherever they live.
    let got: String = q(
        &mut c,
        &[
            "EVAL",
            &format!(
                "redis.call('SET', KEYS[1], 'near') return redis.call('GET', '{}')",
                keys[3]
            ),
            "1",
            &keys[0],
        ],
    );
    assert_eq!(got, "far");
    let near: String = q(&mut c, &["GET", &keys[0]]);
    assert_eq!(near, "near");
    // With a shebang, only declared keys, unless allow-cross-slot-keys.
    let strict = format!("#!lua\nreturn redis.call('GET', '{}')", keys[3]);
    let e = err(&mut c, &["EVAL", &strict, "1", &keys[0]]);
    assert!(e.contains("Script attempted to access"), "{e}");
    let allowed = format!(
        "#!lua flags=allow-cross-slot-keys\nreturn redis.call('GET', '{}')",
        keys[3]
    );
    let got: String = q(&mut c, &["EVAL", &allowed, "1", &keys[0]]);
    assert_eq!(got, "far");
    // Read-only: EVAL_RO and no-writes refuse writes, allow reads.
    let e = err(
        &mut c,
        &[
            "EVAL_RO",
            "return redis.call('SET', KEYS[1], 'x')",
            "1",
            &keys[1],
        ],
    );
    assert!(
        e.contains("Write commands are not allowed from read-only scripts"),
        "{e}"
    );
    let got: String = q(
        &mut c,
        &[
            "EVAL_RO",
            "return redis.call('GET', KEYS[1])",
            "1",
            &keys[0],
        ],
    );
    assert_eq!(got, "near");
    let e = err(
        &mut c,
        &[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('DEL', KEYS[1])",
            "1",
            &keys[2],
        ],
    );
    assert!(
        e.contains("Write commands are not allowed from read-only scripts"),
        "{e}"
    );
    // Commands a script may not call.
    let e = err(&mut c, &["EVAL", "return redis.call('MULTI')", "0"]);
    assert!(
        e.contains("This Redis command is not allowed from script"),
        "{e}"
    );
}

#[test]
fn functions_load_list_call_delete_dump_and_restore() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        let lib = "#!lua name=bank\n\
             redis.register_function('transfer', function(keys, args) \
               local a = tonumber(redis.call('GET', keys[1])) \
               local n = tonumber(args[1]) \
               if a < n then return 0 end \
               redis.call('DECRBY', keys[1], n) \
               redis.call('INCRBY', keys[2], n) \
               return 1 end)\n\
             redis.register_function{function_name='total', callback=function(keys) \
               local t = 0 for i, k in ipairs(keys) do t = t + tonumber(redis.call('GET', k) or 0) end \
               return t end, flags={'no-writes'}}";
        let name: String = q(&mut c, &["FUNCTION", "LOAD", lib]);
        assert_eq!(name, "bank");
        let e = err(&mut c, &["FUNCTION", "LOAD", lib]);
        assert!(e.contains("already exists"), "{e}");
        let _: String = q(&mut c, &["FUNCTION", "LOAD", "REPLACE", lib]);
        let keys = keys_on_every_shard(n);
        // On the first and the last shard (one and the same with one shard).
        let (a, b) = (&keys[0], &format!("to{{{}}}", keys[n - 1]));
        let _: () = q(&mut c, &["MSET", a, "50", b, "0"]);
        // From several connections (several shards): every shard has the library.
        for _ in 0..4 {
            let mut c = s.conn();
            let moved: i64 = q(&mut c, &["FCALL", "transfer", "2", a, b, "10"]);
            assert_eq!(moved, 1);
            let total: i64 = q(&mut c, &["FCALL_RO", "total", "2", a, b]);
            assert_eq!(total, 50);
        }
        let e = err(&mut c, &["FCALL_RO", "transfer", "2", a, b, "1"]);
        assert_eq!(
            e,
            "ERR Can not execute a script with write flag using *_ro command."
        );
        let e = err(&mut c, &["FCALL", "nosuch", "0"]);
        assert_eq!(e, "ERR Function not found");
        let list: Value = q(&mut c, &["FUNCTION", "LIST"]);
        let text = format!("{list:?}");
        assert!(
            text.contains("bank") && text.contains("transfer") && text.contains("total"),
            "{text}"
        );
        let dump: Vec<u8> = q(&mut c, &["FUNCTION", "DUMP"]);
        let _: () = q(&mut c, &["FUNCTION", "DELETE", "bank"]);
        let e = err(&mut c, &["FCALL", "transfer", "2", a, b, "1"]);
        assert_eq!(e, "ERR Function not found");
        let _: () = redis::cmd("FUNCTION")
            .arg("RESTORE")
            .arg(&dump)
            .query(&mut c)
            .unwrap();
        for _ in 0..4 {
            let mut c = s.conn();
            let total: i64 = q(&mut c, &["FCALL_RO", "total", "2", a, b]);
            assert_eq!(total, 50);
        }
        let _: () = q(&mut c, &["FUNCTION", "FLUSH"]);
        let list: Vec<Value> = q(&mut c, &["FUNCTION", "LIST"]);
        assert!(list.is_empty());
    }
}

/// A script that writes on its shard and then reaches for a key of another shard runs
/// again on copies of all its keys: the first run's writes are undone, so every INCR
/// counts once (it counted twice before), and the append-only file holds each once.
#[test]
fn a_script_reaching_for_keys_of_other_shards_writes_each_key_once() {
    let dir = common::scratch_dir("script-undo");
    let args = ["--dir", dir.to_str().unwrap(), "--appendonly", "yes"];
    let s = Server::start_with(3, &args);
    let mut c = s.conn();
    let keys = common::keys_on_every_shard(3);
    let script = "for _, k in ipairs(ARGV) do redis.call('INCR', k) end return 1";
    for round in 1..=3i64 {
        // No declared key, then one declared key of the first shard.
        let mut cmd = vec!["EVAL", script, "0"];
        cmd.extend(keys.iter().map(String::as_str));
        let _: i64 = common::q(&mut c, &cmd);
        let mut cmd = vec!["EVAL", script, "1", &keys[0]];
        cmd.extend(keys.iter().map(String::as_str));
        let _: i64 = common::q(&mut c, &cmd);
        for k in &keys {
            let v: i64 = common::q(&mut c, &["GET", k]);
            assert_eq!(v, round * 2, "{k} after round {round}");
        }
    }
    drop(c);
    drop(s);
    let s = Server::start_with(2, &args);
    let mut c = s.conn();
    for k in &keys {
        let v: i64 = common::q(&mut c, &["GET", k]);
        assert_eq!(v, 6, "{k} after replaying the log");
    }
}
