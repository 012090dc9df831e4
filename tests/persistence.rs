//! RDB snapshots through real clients: SAVE / BGSAVE / LASTSAVE / SHUTDOWN, a restart
//! that loads the file (with the same or another number of shards), and files that
//! go both ways between corecache and Debian's redis-server.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::dataset::{content, fill};
use common::redis_server::RedisServer;
use common::{err, q, scratch_dir, Server};

fn dump_path(dir: &Path) -> String {
    dir.join("dump.rdb").to_str().unwrap().to_string()
}

fn start_in(dir: &Path, shards: usize) -> Server {
    Server::start_with(shards, &["--dir", dir.to_str().unwrap()])
}

#[test]
fn every_type_survives_a_restart_with_any_number_of_shards() {
    for (before, after) in [(1, 1), (2, 4), (4, 2), (3, 1)] {
        let dir = scratch_dir("restart");
        let want = {
            let s = start_in(&dir, before);
            let mut c = s.conn();
            fill(&mut c);
            let want = content(&mut c, 16);
            let _: () = q(&mut c, &["SAVE"]);
            want
        };
        let s = start_in(&dir, after);
        let mut c = s.conn();
        assert_eq!(content(&mut c, 16), want, "{before} shards -> {after}");
        let info: String = q(&mut c, &["INFO", "persistence"]);
        assert!(info.contains("rdb_last_load_keys_loaded:"), "{info}");
        // The encodings come back as the thresholds say.
        let enc: String = q(&mut c, &["OBJECT", "ENCODING", "ints"]);
        assert_eq!(enc, "intset");
        let enc: String = q(&mut c, &["OBJECT", "ENCODING", "zset-big"]);
        assert_eq!(enc, "skiplist");
    }
}

#[test]
fn keys_that_expired_while_down_do_not_come_back() {
    let dir = scratch_dir("expired");
    {
        let s = start_in(&dir, 2);
        let mut c = s.conn();
        let _: () = q(&mut c, &["SET", "short", "v", "PX", "800"]);
        let _: () = q(&mut c, &["SET", "stays", "v"]);
        let _: () = q(&mut c, &["SAVE"]);
    }
    std::thread::sleep(Duration::from_millis(900));
    let s = start_in(&dir, 2);
    let mut c = s.conn();
    let keys: Vec<String> = q(&mut c, &["KEYS", "*"]);
    assert_eq!(keys, vec!["stays".to_string()]);
    let info: String = q(&mut c, &["INFO", "persistence"]);
    assert!(info.contains("rdb_last_load_keys_expired:1"), "{info}");
}

#[test]
fn bgsave_lastsave_and_changes_since_the_last_save() {
    let dir = scratch_dir("bgsave");
    let s = start_in(&dir, 2);
    let mut c = s.conn();
    let before: i64 = q(&mut c, &["LASTSAVE"]);
    for i in 0..10 {
        let _: () = q(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    let info: String = q(&mut c, &["INFO", "persistence"]);
    assert!(info.contains("rdb_changes_since_last_save:10"), "{info}");
    std::thread::sleep(Duration::from_millis(1100));
    let started: String = q(&mut c, &["BGSAVE"]);
    assert_eq!(started, "Background saving started");
    wait_for_bgsave(&mut c);
    let info: String = q(&mut c, &["INFO", "persistence"]);
    assert!(info.contains("rdb_saves:1"), "{info}");
    assert!(info.contains("rdb_changes_since_last_save:0"), "{info}");
    assert!(info.contains("rdb_last_bgsave_status:ok"), "{info}");
    let after: i64 = q(&mut c, &["LASTSAVE"]);
    assert!(after > before, "LASTSAVE {before} -> {after}");
    assert!(Path::new(&dump_path(&dir)).exists());
    assert_eq!(err(&mut c, &["BGSAVE", "NOW"]), "ERR syntax error");
    // Saving into a directory that is gone fails and says so.
    std::fs::remove_dir_all(&dir).unwrap();
    let _: String = q(&mut c, &["BGSAVE"]);
    wait_for_bgsave(&mut c);
    let info: String = q(&mut c, &["INFO", "persistence"]);
    assert!(info.contains("rdb_last_bgsave_status:err"), "{info}");
}

/// Waits (up to `secs`) for the server to end by itself after `what`.
fn wait_for_exit(s: &mut Server, secs: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while s.alive() {
        assert!(Instant::now() < deadline, "still running after {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_for_bgsave(c: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info: String = q(c, &["INFO", "persistence"]);
        if info.contains("rdb_bgsave_in_progress:0") {
            return;
        }
        assert!(Instant::now() < deadline, "BGSAVE did not finish: {info}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn config_names_and_errors_match_redis() {
    let s = Server::start(1);
    let mut c = s.conn();
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "dbfilename"]);
    assert_eq!(got, vec!["dbfilename", "dump.rdb"]);
    // Redis's default save points.
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "save"]);
    assert_eq!(got, vec!["save", "3600 1 300 100 60 10000"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "save", "3600 1 300  100"]);
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "save"]);
    assert_eq!(got, vec!["save", "3600 1 300 100"]);
    assert!(err(&mut c, &["CONFIG", "SET", "save", "3600"]).contains("Invalid save parameters"));
    // Protected, as in Redis 7 unless enable-protected-configs allows them.
    assert!(err(&mut c, &["CONFIG", "SET", "dir", "/tmp"]).contains("can't set protected config"));
    assert!(err(&mut c, &["CONFIG", "SET", "dbfilename", "x.rdb"])
        .contains("can't set protected config"));
    let s = Server::start_with(1, &["--enable-protected-configs", "yes"]);
    let mut c2 = s.conn();
    assert!(err(&mut c2, &["CONFIG", "SET", "dbfilename", "a/b"]).contains("can't be a path"));
    assert!(err(&mut c2, &["CONFIG", "SET", "dir", "/no/such/dir"])
        .contains("No such file or directory"));
    let _: () = q(&mut c2, &["CONFIG", "SET", "dbfilename", "other.rdb"]);
    assert!(err(&mut c, &["CONFIG", "SET", "rdbcompression", "maybe"]).contains("'yes' or 'no'"));
    assert_eq!(
        err(&mut c, &["SHUTDOWN", "ABORT"]),
        "ERR No shutdown in progress."
    );
    assert_eq!(
        err(&mut c, &["SHUTDOWN", "SAVE", "NOSAVE"]),
        "ERR syntax error"
    );
}

#[test]
fn shutdown_save_writes_the_file_and_ends_the_process() {
    let dir = scratch_dir("shutdown");
    let mut s = start_in(&dir, 2);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "kept", "yes"]);
    let _ = redis::cmd("SHUTDOWN").arg("SAVE").query::<()>(&mut c);
    wait_for_exit(&mut s, 10, "SHUTDOWN");
    let s = start_in(&dir, 1);
    let got: String = q(&mut s.conn(), &["GET", "kept"]);
    assert_eq!(got, "yes");
}

#[test]
fn sigterm_saves_when_save_points_are_set() {
    let dir = scratch_dir("sigterm");
    let mut s = Server::start_with(2, &["--dir", dir.to_str().unwrap(), "--save", "3600 1"]);
    let _: () = q(&mut s.conn(), &["SET", "kept", "yes"]);
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc_kill(s.pid() as i32, 15) };
    wait_for_exit(&mut s, 10, "SIGTERM");
    let s = start_in(&dir, 2);
    let got: String = q(&mut s.conn(), &["GET", "kept"]);
    assert_eq!(got, "yes");
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

#[test]
fn files_go_both_ways_with_redis_server() {
    // corecache -> redis-server.
    let dir = scratch_dir("to-redis");
    let want = {
        let s = start_in(&dir, 2);
        let mut c = s.conn();
        fill(&mut c);
        let want = content(&mut c, 16);
        let _: () = q(&mut c, &["SAVE"]);
        want
    };
    let checked = std::process::Command::new("redis-check-rdb")
        .arg(dump_path(&dir))
        .output();
    if let Ok(out) = checked {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("RDB looks OK"),
            "{text}"
        );
    }
    let Some(redis) = RedisServer::start("files_go_both_ways", &["--dir", dir.to_str().unwrap()])
    else {
        return;
    };
    let mut rc = redis.conn();
    assert_eq!(
        content(&mut rc, 16),
        want,
        "redis-server read corecache's file"
    );

    // redis-server -> corecache: its own encodings (listpacks, quicklists, intsets,
    // hashtables, skiplists), saved by itself.
    std::fs::remove_file(dump_path(&dir)).unwrap();
    let _: () = q(&mut rc, &["SAVE"]);
    assert!(Path::new(&dump_path(&dir)).exists());
    let s = start_in(&dir, 3);
    assert_eq!(
        content(&mut s.conn(), 16),
        want,
        "corecache read redis-server's file"
    );
}

#[test]
fn a_damaged_file_stops_the_start_with_a_message() {
    let dir = scratch_dir("damaged");
    {
        let s = start_in(&dir, 1);
        let mut c = s.conn();
        let _: () = q(&mut c, &["SET", "k", "v"]);
        let _: () = q(&mut c, &["SAVE"]);
    }
    let path = dump_path(&dir);
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 12] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let text = common::start_must_fail(&["--dir", dir.to_str().unwrap()]);
    assert!(text.contains("dump.rdb"), "{text}");
}

#[test]
fn debug_reload_saves_flushes_and_loads() {
    let dir = scratch_dir("reload");
    let s = start_in(&dir, 2);
    let mut c = s.conn();
    fill(&mut c);
    let want = content(&mut c, 16);
    let _: () = q(&mut c, &["DEBUG", "RELOAD"]);
    assert_eq!(content(&mut c, 16), want);
}

#[test]
fn writes_are_refused_after_a_failed_save_with_save_points() {
    let dir = scratch_dir("misconf");
    let s = Server::start_with(2, &["--dir", dir.to_str().unwrap(), "--save", "3600 1"]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    std::fs::remove_dir_all(&dir).unwrap();
    // A failed SAVE answers an error and changes nothing else (as in Redis) ...
    assert_eq!(err(&mut c, &["SAVE"]).trim(), "ERR");
    let _: () = q(&mut c, &["SET", "k", "v"]);
    // ... a failed BGSAVE refuses writes until a save succeeds.
    let _: String = q(&mut c, &["BGSAVE"]);
    wait_for_bgsave(&mut c);
    let refused = err(&mut c, &["SET", "k", "w"]);
    assert!(
        refused.starts_with("MISCONF Redis is configured to save RDB snapshots"),
        "{refused}"
    );
    let v: String = q(&mut c, &["GET", "k"]);
    assert_eq!(v, "v");
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"],
    );
    let _: () = q(&mut c, &["SET", "k", "w"]);
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"],
    );
    assert!(err(&mut c, &["SET", "k", "x"]).starts_with("MISCONF"));
    std::fs::create_dir_all(&dir).unwrap();
    let _: () = q(&mut c, &["SAVE"]);
    let _: () = q(&mut c, &["SET", "k", "x"]);
}

/// Loads `n` keys `k:<i>` = "before" with pipelined MSETs.
fn load(c: &mut redis::Connection, n: usize) {
    for start in (0..n).step_by(1000) {
        let mut cmd = redis::cmd("MSET");
        for i in start..(start + 1000).min(n) {
            cmd.arg(format!("k:{i}")).arg("before");
        }
        let _: () = cmd.query(c).unwrap();
    }
}

#[test]
fn bgsave_under_writes_is_the_keyspace_at_its_start() {
    const N: usize = 300_000;
    let dir = scratch_dir("bgsave-writes");
    let s = start_in(&dir, 2);
    let mut c = s.conn();
    load(&mut c, N);
    let started: String = q(&mut c, &["BGSAVE"]);
    assert_eq!(started, "Background saving started");
    // Overwrite, delete and add keys while the snapshot walks.
    let mut w = s.conn();
    let mut during = 0;
    let mut i = 0usize;
    loop {
        let info: String = q(&mut c, &["INFO", "persistence"]);
        if info.contains("rdb_bgsave_in_progress:0") {
            break;
        }
        let mut p = redis::pipe();
        for _ in 0..200 {
            let k = format!("k:{}", (i * 7919) % N);
            match i % 3 {
                0 => p.cmd("SET").arg(&k).arg("after").ignore(),
                1 => p.cmd("DEL").arg(&k).ignore(),
                _ => p.cmd("SET").arg(format!("new:{i}")).arg("after").ignore(),
            };
            i += 1;
        }
        let _: () = p.query(&mut w).unwrap();
        during += 200;
    }
    eprintln!("{during} writes overlapped the snapshot");
    assert!(during > 0, "no write overlapped the snapshot");
    let info: String = q(&mut c, &["INFO", "persistence"]);
    assert!(info.contains("rdb_last_bgsave_status:ok"), "{info}");
    drop((c, w, s));
    let s = start_in(&dir, 3);
    let mut c = s.conn();
    let n: usize = q(&mut c, &["DBSIZE"]);
    assert_eq!(n, N, "{during} writes during the snapshot");
    for i in (0..N).step_by(997) {
        let v: String = q(&mut c, &["GET", &format!("k:{i}")]);
        assert_eq!(v, "before");
    }
}

#[test]
fn function_libraries_are_saved_and_loaded_both_ways() {
    let lib = "#!lua name=mylib\nredis.register_function('hello', function(keys, args) return 'hi ' .. args[1] end)";
    let dir = scratch_dir("functions");
    {
        let s = start_in(&dir, 2);
        let mut c = s.conn();
        let name: String = q(&mut c, &["FUNCTION", "LOAD", lib]);
        assert_eq!(name, "mylib");
        let _: () = q(&mut c, &["SET", "k", "v"]);
        let _: () = q(&mut c, &["SAVE"]);
    }
    let s = start_in(&dir, 3);
    let mut c = s.conn();
    let got: String = q(&mut c, &["FCALL", "hello", "0", "you"]);
    assert_eq!(got, "hi you");
    drop((c, s));
    // redis-server reads them from our file, and writes them back for us.
    let Some(redis) = RedisServer::start("function_libraries", &["--dir", dir.to_str().unwrap()])
    else {
        return;
    };
    let mut rc = redis.conn();
    let got: String = q(&mut rc, &["FCALL", "hello", "0", "redis"]);
    assert_eq!(got, "hi redis");
    let _: () = q(&mut rc, &["SAVE"]);
    drop((rc, redis));
    let s = start_in(&dir, 1);
    let got: String = q(&mut s.conn(), &["FCALL", "hello", "0", "again"]);
    assert_eq!(got, "hi again");
}

#[test]
fn shutdown_during_a_bgsave_waits_for_it_and_saves_everything() {
    const N: usize = 200_000;
    let dir = scratch_dir("shutdown-bgsave");
    let mut s = start_in(&dir, 2);
    let mut c = s.conn();
    load(&mut c, N);
    let _: String = q(&mut c, &["BGSAVE"]);
    let _ = redis::cmd("SHUTDOWN").arg("SAVE").query::<()>(&mut c);
    wait_for_exit(&mut s, 20, "SHUTDOWN");
    let s = start_in(&dir, 2);
    let n: usize = q(&mut s.conn(), &["DBSIZE"]);
    assert_eq!(n, N);
}
