//! The append-only file through real clients: restarts that replay it (with any number
//! of shards), kill -9 with `appendfsync always`, a torn tail, BGREWRITEAOF, turning
//! it on at run time, and directories that go both ways with Debian's redis-server.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::dataset::{assert_same, content, fill, mixed_writes};
use common::redis_server::RedisServer;
use common::{keys_on_every_shard, q, scratch_dir, Server};

fn start_aof(dir: &Path, shards: usize, extra: &[&str]) -> Server {
    let mut args = vec!["--dir", dir.to_str().unwrap(), "--appendonly", "yes"];
    args.extend(extra);
    Server::start_with(shards, &args)
}

fn info(c: &mut redis::Connection) -> String {
    q(c, &["INFO", "persistence"])
}

fn wait_for_rewrite(c: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let i = info(c);
        if i.contains("aof_rewrite_in_progress:0") && i.contains("aof_enabled:1") {
            return;
        }
        assert!(Instant::now() < deadline, "the rewrite did not finish: {i}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// redis-server answers LOADING while it replays its files.
fn wait_loaded(c: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while redis::cmd("PING").query::<String>(c).is_err() {
        assert!(Instant::now() < deadline, "redis-server still loading");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts redis-server on the AOF directory in `dir` and checks it holds `want`; false
/// when redis-server is not installed.
fn redis_server_loads(dir: &Path, want: &common::dataset::Content, what: &str) -> bool {
    let Some(r) = RedisServer::start(
        what,
        &["--dir", dir.to_str().unwrap(), "--appendonly", "yes"],
    ) else {
        return false;
    };
    let mut c = r.conn();
    wait_loaded(&mut c);
    assert_same(
        &content(&mut c, 16),
        want,
        &format!("redis-server loaded {what}"),
    );
    true
}

fn manifest(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap()
}

#[test]
fn every_write_survives_a_restart_through_the_log_with_any_number_of_shards() {
    for (before, after) in [(2, 2), (1, 3), (4, 2)] {
        let dir = scratch_dir("aof-restart");
        let want = {
            let s = start_aof(&dir, before, &["--appendfsync", "always"]);
            let mut c = s.conn();
            fill(&mut c);
            mixed_writes(&mut c);
            content(&mut c, 16)
            // Dropped: killed with SIGKILL, no shutdown.
        };
        let s = start_aof(&dir, after, &[]);
        let mut c = s.conn();
        assert_same(
            &content(&mut c, 16),
            &want,
            &format!("{before} shards -> {after}"),
        );
        let ttl: i64 = q(&mut c, &["TTL", "rel"]);
        assert!(
            (990..=1000).contains(&ttl),
            "relative TTL kept its deadline: {ttl}"
        );
        let float: String = q(&mut c, &["GET", "float"]);
        assert_eq!(float, "0.3");
    }
}

#[test]
fn ttls_that_passed_while_down_replay_as_the_writes_were_made() {
    let dir = scratch_dir("aof-ttl");
    {
        let s = start_aof(&dir, 2, &["--appendfsync", "always"]);
        let mut c = s.conn();
        // A counter that expired: INCR after its EXPIRE keeps the TTL, so it must not
        // come back (without a TTL) after a restart.
        let _: i64 = q(&mut c, &["INCR", "counter"]);
        let _: bool = q(&mut c, &["PEXPIRE", "counter", "300"]);
        let _: i64 = q(&mut c, &["INCR", "counter"]);
        // A key made persistent before its deadline must stay.
        let _: () = q(&mut c, &["SET", "kept", "v", "PX", "300"]);
        let _: bool = q(&mut c, &["PERSIST", "kept"]);
        let _: () = q(&mut c, &["SET", "gone", "v", "PX", "300"]);
        // A BGREWRITEAOF base that still holds a key whose TTL then passes.
        let _: () = q(&mut c, &["SET", "based", "v", "PX", "1500"]);
        let _: String = q(&mut c, &["BGREWRITEAOF"]);
        wait_for_rewrite(&mut c);
        let persisted: bool = q(&mut c, &["PERSIST", "based"]);
        assert!(persisted, "the rewrite took longer than the TTL");
        let _: () = q(&mut c, &["SET", "based-gone", "v", "PX", "1500"]);
    }
    std::thread::sleep(Duration::from_millis(1600));
    let s = start_aof(&dir, 2, &[]);
    let mut c = s.conn();
    let got: Vec<Option<String>> = q(
        &mut c,
        &["MGET", "counter", "kept", "gone", "based", "based-gone"],
    );
    assert_eq!(
        got,
        vec![None, Some("v".into()), None, Some("v".into()), None]
    );
    let ttl: i64 = q(&mut c, &["TTL", "kept"]);
    assert_eq!(ttl, -1);
}

#[test]
fn function_libraries_loaded_after_the_base_come_back_from_the_log() {
    let dir = scratch_dir("aof-functions");
    let lib = |name: &str| {
        format!("#!lua name={name}\nredis.register_function('{name}_f', function(keys, args) return '{name}' end)")
    };
    {
        let s = start_aof(&dir, 2, &["--appendfsync", "always"]);
        let mut c = s.conn();
        let _: String = q(&mut c, &["FUNCTION", "LOAD", &lib("one")]);
        let _: String = q(&mut c, &["FUNCTION", "LOAD", &lib("two")]);
        let _: () = q(&mut c, &["FUNCTION", "DELETE", "one"]);
        let dump: Vec<u8> = q(&mut c, &["FUNCTION", "DUMP"]);
        let _: () = q(&mut c, &["FUNCTION", "FLUSH"]);
        let _: () = redis::cmd("FUNCTION")
            .arg("RESTORE")
            .arg(dump)
            .query(&mut c)
            .unwrap();
        let _: String = q(&mut c, &["FUNCTION", "LOAD", &lib("three")]);
    }
    let s = start_aof(&dir, 3, &[]);
    let mut c = s.conn();
    let got: String = q(&mut c, &["FCALL", "two_f", "0"]);
    assert_eq!(got, "two");
    let got: String = q(&mut c, &["FCALL", "three_f", "0"]);
    assert_eq!(got, "three");
    let err = common::err(&mut c, &["FCALL", "one_f", "0"]);
    assert!(err.contains("Function not found"), "{err}");
}

#[test]
fn with_everysec_a_kill_9_loses_at_most_about_the_last_second() {
    let dir = scratch_dir("aof-everysec");
    let s = start_aof(&dir, 2, &[]);
    let mut c = s.conn();
    let started = Instant::now();
    let mut acked: Vec<(Duration, i64)> = Vec::new();
    let mut i = 0i64;
    while started.elapsed() < Duration::from_millis(3000) {
        let _: () = q(&mut c, &["SET", &format!("k{i}"), "v"]);
        acked.push((started.elapsed(), i));
        i += 1;
    }
    let killed_at = started.elapsed();
    drop(s);
    let s = start_aof(&dir, 2, &[]);
    let mut c = s.conn();
    // Syncs come once a second: whatever was acknowledged more than two seconds
    // before the kill (a sync period, and slack for a loaded machine) is on disk.
    let safe: Vec<i64> = acked
        .iter()
        .filter(|(t, _)| *t + Duration::from_millis(2000) < killed_at)
        .map(|(_, i)| *i)
        .collect();
    assert!(safe.len() > 100, "the writer got going: {}", safe.len());
    for i in safe {
        let v: Option<String> = q(&mut c, &["GET", &format!("k{i}")]);
        assert!(
            v.is_some(),
            "k{i}, acknowledged well before the kill, is lost"
        );
    }
}

#[test]
fn acknowledged_writes_survive_kill_9_with_appendfsync_always() {
    let dir = scratch_dir("aof-crash");
    let s = start_aof(&dir, 2, &["--appendfsync", "always"]);
    let stop = Arc::new(AtomicBool::new(false));
    let keys = keys_on_every_shard(2);
    let mut writers = Vec::new();
    for (w, key) in keys.iter().enumerate() {
        let (url, stop, key) = (s.url(), stop.clone(), key.clone());
        writers.push(std::thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut acked = 0i64;
            let mut sets = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match redis::cmd("INCR").arg(&key).query::<i64>(&mut c) {
                    Ok(v) => acked = v,
                    Err(_) => break,
                }
                let k = format!("w{w}:{acked}");
                if redis::cmd("SET")
                    .arg(&k)
                    .arg(acked)
                    .query::<()>(&mut c)
                    .is_err()
                {
                    break;
                }
                sets.push(k);
            }
            (key, acked, sets)
        }));
    }
    std::thread::sleep(Duration::from_millis(1500));
    // SIGKILL while the writers write: no shutdown, no final sync.
    drop(s);
    stop.store(true, Ordering::Relaxed);
    let results: Vec<_> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    let s = start_aof(&dir, 2, &[]);
    let mut c = s.conn();
    for (key, acked, sets) in results {
        assert!(acked > 10, "the writer got going: {acked}");
        let got: i64 = q(&mut c, &["GET", &key]);
        assert!(got >= acked, "{key}: {got} < acknowledged {acked}");
        for k in sets {
            let v: Option<String> = q(&mut c, &["GET", &k]);
            assert!(v.is_some(), "acknowledged SET {k} lost");
        }
    }
}

#[test]
fn a_torn_tail_is_cut_with_aof_load_truncated_and_refused_without() {
    let dir = scratch_dir("aof-torn");
    {
        let s = start_aof(&dir, 2, &["--appendfsync", "always"]);
        let mut c = s.conn();
        let _: () = q(&mut c, &["SET", "a", "1"]);
        let _: () = q(&mut c, &["SET", "b", "2"]);
    }
    let incr = dir.join("appendonlydir/appendonly.aof.1.incr.aof");
    let whole = std::fs::read(&incr).unwrap();
    let mut torn = whole.clone();
    torn.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$5\r\nhal");
    std::fs::write(&incr, &torn).unwrap();

    let text = common::start_must_fail(&[
        "--dir",
        dir.to_str().unwrap(),
        "--appendonly",
        "yes",
        "--aof-load-truncated",
        "no",
    ]);
    assert!(text.contains("aof-load-truncated"), "{text}");
    assert_eq!(
        std::fs::read(&incr).unwrap(),
        torn,
        "the file is left as it was"
    );

    let s = start_aof(&dir, 2, &[]);
    let mut c = s.conn();
    let got: Vec<Option<String>> = q(&mut c, &["MGET", "a", "b", "c"]);
    assert_eq!(got, vec![Some("1".into()), Some("2".into()), None]);
    assert_eq!(
        std::fs::read(&incr).unwrap(),
        whole,
        "the torn tail was cut"
    );
    // Appends go on after the cut.
    let _: () = q(&mut c, &["SET", "c", "3"]);
    drop(s);
    let s = start_aof(&dir, 1, &[]);
    let mut c = s.conn();
    let got: Vec<Option<String>> = q(&mut c, &["MGET", "a", "b", "c"]);
    assert_eq!(
        got,
        vec![Some("1".into()), Some("2".into()), Some("3".into())]
    );
}

#[test]
fn bgrewriteaof_replaces_the_files_and_keeps_every_write() {
    let dir = scratch_dir("aof-rewrite");
    let want = {
        let s = start_aof(&dir, 2, &[]);
        let mut c = s.conn();
        fill(&mut c);
        let reply: String = q(&mut c, &["BGREWRITEAOF"]);
        assert_eq!(reply, "Background append only file rewriting started");
        // Writes during the rewrite land in the new incremental file.
        mixed_writes(&mut c);
        wait_for_rewrite(&mut c);
        let i = info(&mut c);
        assert!(i.contains("aof_rewrites:1"), "{i}");
        assert!(i.contains("aof_last_bgrewrite_status:ok"), "{i}");
        let _: () = q(&mut c, &["SET", "after-rewrite", "1"]);
        content(&mut c, 16)
    };
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "appendonly.aof.2.base.rdb",
            "appendonly.aof.2.incr.aof",
            "appendonly.aof.manifest"
        ]
    );
    if let Ok(out) = std::process::Command::new("redis-check-aof")
        .arg(dir.join("appendonlydir/appendonly.aof.manifest"))
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("All AOF files and manifest are valid"),
            "{text}"
        );
    }
    let s = start_aof(&dir, 3, &[]);
    let mut c = s.conn();
    assert_same(&content(&mut c, 16), &want, "after the restart");
}

#[test]
fn debug_loadaof_empties_and_loads_what_was_logged() {
    let dir = scratch_dir("aof-loadaof");
    let s = start_aof(&dir, 3, &[]);
    let mut c = s.conn();
    fill(&mut c);
    let _: String = q(&mut c, &["BGREWRITEAOF"]);
    wait_for_rewrite(&mut c);
    mixed_writes(&mut c);
    let want = content(&mut c, 16);
    let _: () = q(&mut c, &["DEBUG", "LOADAOF"]);
    assert_same(&content(&mut c, 16), &want, "after DEBUG LOADAOF");
    // The log goes on where it was: one more write, and a restart has everything.
    let _: () = q(&mut c, &["SET", "after-loadaof", "1"]);
    let want = content(&mut c, 16);
    drop(c);
    drop(s);
    let s = start_aof(&dir, 2, &[]);
    let mut c = s.conn();
    assert_same(&content(&mut c, 16), &want, "after the restart");
}

#[test]
fn the_files_are_rewritten_on_their_own_past_the_growth_threshold() {
    let dir = scratch_dir("aof-auto");
    let s = start_aof(
        &dir,
        2,
        &[
            "--auto-aof-rewrite-percentage",
            "50",
            "--auto-aof-rewrite-min-size",
            "100kb",
        ],
    );
    let mut c = s.conn();
    let value = "v".repeat(100);
    for i in 0..2000 {
        let _: () = q(&mut c, &["SET", &format!("key:{i}"), &value]);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while !info(&mut c).contains("aof_rewrites:1") {
        assert!(Instant::now() < deadline, "no rewrite: {}", info(&mut c));
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_for_rewrite(&mut c);
    assert!(manifest(&dir).contains("appendonly.aof.2.base.rdb"));
    let n: i64 = q(&mut c, &["DBSIZE"]);
    assert_eq!(n, 2000);
}

#[test]
fn without_the_rdb_preamble_the_base_is_commands_both_servers_load() {
    let dir = scratch_dir("aof-no-preamble");
    let want = {
        let s = start_aof(&dir, 2, &["--aof-use-rdb-preamble", "no"]);
        let mut c = s.conn();
        fill(&mut c);
        let _: String = q(&mut c, &["BGREWRITEAOF"]);
        wait_for_rewrite(&mut c);
        mixed_writes(&mut c);
        let _: () = q(&mut c, &["CONFIG", "SET", "appendfsync", "always"]);
        let _: () = q(&mut c, &["SET", "last", "1"]);
        content(&mut c, 16)
    };
    assert!(manifest(&dir).contains("file appendonly.aof.2.base.aof seq 2 type b"));
    let s = start_aof(&dir, 3, &[]);
    let mut c = s.conn();
    assert_same(&content(&mut c, 16), &want, "after the restart");
    drop(c);
    drop(s);
    redis_server_loads(&dir, &want, "the command base");
}

/// The log is off while start-up replays it: that must not look like a reason to start
/// it with a rewrite (which took the log over from a half-loaded keyspace, and the
/// writes after start-up went to a file the manifest no longer listed).
#[test]
fn a_long_replay_at_start_up_starts_no_rewrite() {
    let dir = scratch_dir("aof-long-replay");
    let aof_dir = dir.join("appendonlydir");
    std::fs::create_dir_all(&aof_dir).unwrap();
    let listed = "file appendonly.aof.1.incr.aof seq 1 type i\n";
    std::fs::write(aof_dir.join("appendonly.aof.manifest"), listed).unwrap();
    let mut incr = Vec::new();
    for i in 0..300_000 {
        let k = format!("k{i}");
        incr.extend_from_slice(
            format!("*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n$1\r\nv\r\n", k.len()).as_bytes(),
        );
    }
    std::fs::write(aof_dir.join("appendonly.aof.1.incr.aof"), &incr).unwrap();
    let s = start_aof(&dir, 2, &[]);
    let mut c = s.conn();
    let n: i64 = q(&mut c, &["DBSIZE"]);
    assert_eq!(n, 300_000);
    let _: () = q(&mut c, &["SET", "after-start", "1"]);
    std::thread::sleep(Duration::from_millis(1200));
    let i = info(&mut c);
    assert!(i.contains("aof_rewrites:0"), "{i}");
    assert_eq!(manifest(&dir), listed);
    drop(c);
    drop(s);
    let s = start_aof(&dir, 2, &[]);
    let mut c = s.conn();
    let v: Option<String> = q(&mut c, &["GET", "after-start"]);
    assert_eq!(v.as_deref(), Some("1"));
}

#[test]
fn config_set_appendonly_starts_the_log_with_the_data_so_far() {
    let dir = scratch_dir("aof-config");
    let want = {
        let s = Server::start_with(2, &["--dir", dir.to_str().unwrap()]);
        let mut c = s.conn();
        fill(&mut c);
        let _: () = q(
            &mut c,
            &[
                "CONFIG",
                "SET",
                "appendonly",
                "yes",
                "appendfsync",
                "always",
            ],
        );
        wait_for_rewrite(&mut c);
        let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "appendfsync"]);
        assert_eq!(got, ["appendfsync", "always"]);
        mixed_writes(&mut c);
        content(&mut c, 16)
    };
    assert!(manifest(&dir).contains("type b"));
    let s = start_aof(&dir, 2, &[]);
    let mut c = s.conn();
    assert_same(&content(&mut c, 16), &want, "after the restart");
}

#[test]
fn directives_come_from_a_config_file_and_the_command_line_wins() {
    let dir = scratch_dir("aof-conf");
    let conf = dir.join("corecache.conf");
    std::fs::write(
        &conf,
        format!(
            "# as a redis.conf would\nbind 127.0.0.1 -::1\nport 0\ndir \"{}\"\n\
             appendonly yes\nappendfsync always\nsave 900 1\nsave 300 10\n\
             maxmemory 5mb\ntcp-backlog 511\n",
            dir.display()
        ),
    )
    .unwrap();
    let s = Server::start_exact(&[
        conf.to_str().unwrap(),
        "--maxmemory",
        "6mb",
        "--threads",
        "2",
        "--no-pin",
    ]);
    let mut c = s.conn();
    let get = |c: &mut redis::Connection, name: &str| -> String {
        let v: Vec<String> = q(c, &["CONFIG", "GET", name]);
        v[1].clone()
    };
    assert_eq!(get(&mut c, "appendonly"), "yes");
    assert_eq!(get(&mut c, "appendfsync"), "always");
    assert_eq!(get(&mut c, "save"), "900 1 300 10");
    assert_eq!(get(&mut c, "maxmemory"), (6 * 1024 * 1024).to_string());
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert!(manifest(&dir).contains("type i"));
}

#[test]
fn aof_directories_go_both_ways_with_redis_server() {
    // corecache's files, loaded by redis-server.
    let ours = scratch_dir("aof-ours");
    let want = {
        let s = start_aof(&ours, 2, &[]);
        let mut c = s.conn();
        fill(&mut c);
        mixed_writes(&mut c);
        let w = content(&mut c, 16);
        let _: () = q(&mut c, &["CONFIG", "SET", "appendfsync", "always"]);
        let _: () = q(&mut c, &["SET", "synced", "1"]);
        let _: () = q(&mut c, &["DEL", "synced"]);
        w
    };
    if !redis_server_loads(&ours, &want, "corecache's AOF") {
        return;
    }

    // redis-server's files, loaded by corecache.
    let theirs = scratch_dir("aof-theirs");
    let want = {
        let r = RedisServer::start(
            "aof_directories_go_both_ways_with_redis_server",
            &[
                "--dir",
                theirs.to_str().unwrap(),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ],
        )
        .expect("redis-server ran a moment ago");
        let mut c = r.conn();
        fill(&mut c);
        mixed_writes(&mut c);
        content(&mut c, 16)
    };
    let s = start_aof(&theirs, 2, &[]);
    let mut c = s.conn();
    assert_same(
        &content(&mut c, 16),
        &want,
        "corecache loaded redis-server's AOF",
    );
}
