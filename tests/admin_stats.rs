//! INFO's section choice and its per-command sections (commandstats, errorstats,
//! latencystats), and SLOWLOG, through the redis crate with 2 shards: a client's
//! commands count once whatever shard owns their keys, and every shard's slow log
//! reads as one log.

mod common;

use std::collections::HashMap;

use common::*;
use redis::{Connection, Value};

fn headers(c: &mut Connection, args: &[&str]) -> Vec<String> {
    let mut all = vec!["INFO"];
    all.extend_from_slice(args);
    let text: String = q(c, &all);
    text.lines()
        .filter_map(|l| l.strip_prefix("# "))
        .map(str::to_string)
        .collect()
}

/// `prefix<name>:k=v,k=v` lines of an INFO section, by name.
fn fields(
    c: &mut Connection,
    section: &str,
    prefix: &str,
) -> HashMap<String, HashMap<String, String>> {
    let text: String = q(c, &["INFO", section]);
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|l| l.split_once(':'))
        .map(|(name, rest)| {
            let kv = rest
                .split(',')
                .filter_map(|f| f.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            (name.to_string(), kv)
        })
        .collect()
}

#[test]
fn info_chooses_sections_as_redis_does() {
    let s = Server::start(2);
    let mut c = s.conn();
    let default = [
        "Server",
        "Clients",
        "Memory",
        "Persistence",
        "Stats",
        "Replication",
        "CPU",
        "Modules",
        "Errorstats",
        "Cluster",
        "Keyspace",
    ];
    let mut all = default.to_vec();
    all.insert(8, "Commandstats");
    all.insert(10, "Latencystats");
    assert_eq!(headers(&mut c, &[]), default);
    assert_eq!(headers(&mut c, &["default"]), default);
    assert_eq!(headers(&mut c, &["all"]), all);
    assert_eq!(headers(&mut c, &["EVERYTHING"]), all);
    assert_eq!(headers(&mut c, &["cpu", "Server"]), ["Server", "CPU"]);
    assert_eq!(headers(&mut c, &["nosuch"]), Vec::<String>::new());
    assert_eq!(
        headers(&mut c, &["keyspace", "nosuch", "commandstats"]),
        ["Commandstats", "Keyspace"]
    );
    assert_eq!(headers(&mut c, &["shards"]), ["Shards"]);
}

#[test]
fn commandstats_count_calls_failures_and_rejections_across_shards() {
    let s = Server::start(2);
    let mut c = s.conn();
    let keys = keys_on_every_shard(2);
    let _: () = q(&mut c, &["CONFIG", "RESETSTAT"]);
    for k in &keys {
        let _: () = q(&mut c, &["SET", k, "x"]);
        let _: Option<String> = q(&mut c, &["GET", k]);
    }
    // A pipeline over both shards counts each command once.
    let mut p = redis::pipe();
    for k in &keys {
        p.cmd("GET").arg(k);
    }
    let _: Vec<Value> = p.query(&mut c).unwrap();
    assert!(err(&mut c, &["INCR", &keys[0]]).starts_with("ERR"));
    assert!(err(&mut c, &["GET"]).contains("wrong number of arguments"));
    assert!(err(&mut c, &["NOSUCHCMD"]).contains("unknown command"));
    assert!(err(&mut c, &["LPUSH", &keys[1], "v"]).starts_with("WRONGTYPE"));
    let _: Value = q(&mut c, &["CONFIG", "GET", "maxmemory"]);
    let stats = fields(&mut c, "commandstats", "cmdstat_");
    assert_eq!(stats["set"]["calls"], "2");
    assert_eq!(stats["get"]["calls"], "4");
    assert_eq!(stats["get"]["rejected_calls"], "1");
    assert_eq!(stats["get"]["failed_calls"], "0");
    assert_eq!(stats["incr"]["calls"], "1");
    assert_eq!(stats["incr"]["failed_calls"], "1");
    assert_eq!(stats["lpush"]["failed_calls"], "1");
    assert_eq!(stats["config|get"]["calls"], "1");
    assert!(!stats.contains_key("nosuchcmd"));
    let usec: u64 = stats["set"]["usec"].parse().unwrap();
    let per_call: f64 = stats["set"]["usec_per_call"].parse().unwrap();
    assert!((per_call - usec as f64 / 2.0).abs() < 0.01);
    let errors = fields(&mut c, "errorstats", "errorstat_");
    assert_eq!(errors["ERR"]["count"], "3");
    assert_eq!(errors["WRONGTYPE"]["count"], "1");
    let latency = fields(&mut c, "latencystats", "latency_percentiles_usec_");
    let get = &latency["get"];
    let (p50, p99): (f64, f64) = (get["p50"].parse().unwrap(), get["p99.9"].parse().unwrap());
    assert!(p50 > 0.0 && p50 <= p99, "{get:?}");
    // Other percentiles; then tracking off: no histograms after RESETSTAT.
    let _: () = q(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "latency-tracking-info-percentiles",
            "10 99.99",
        ],
    );
    let latency = fields(&mut c, "latencystats", "latency_percentiles_usec_");
    let mut names: Vec<&String> = latency["get"].keys().collect();
    names.sort();
    assert_eq!(names, ["p10", "p99.99"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "latency-tracking", "no"]);
    let _: () = q(&mut c, &["CONFIG", "RESETSTAT"]);
    let _: Option<String> = q(&mut c, &["GET", &keys[0]]);
    assert!(fields(&mut c, "latencystats", "latency_percentiles_usec_").is_empty());
    assert_eq!(
        fields(&mut c, "commandstats", "cmdstat_")["get"]["calls"],
        "1"
    );
    assert!(fields(&mut c, "errorstats", "errorstat_").is_empty());
}

/// SLOWLOG GET's entries: (id, duration, arguments, client address, client name).
fn slowlog(c: &mut Connection, count: &str) -> Vec<(i64, i64, Vec<String>, String, String)> {
    let entries: Vec<Value> = q(c, &["SLOWLOG", "GET", count]);
    entries
        .into_iter()
        .map(|e| {
            let Value::Array(f) = e else {
                panic!("entry {e:?}")
            };
            let int = |v: &Value| match v {
                Value::Int(i) => *i,
                other => panic!("{other:?}"),
            };
            let text = |v: &Value| match v {
                Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("{other:?}"),
            };
            let Value::Array(args) = &f[3] else {
                panic!("args {:?}", f[3])
            };
            assert!(int(&f[1]) > 1_700_000_000, "a Unix time");
            (
                int(&f[0]),
                int(&f[2]),
                args.iter().map(text).collect(),
                text(&f[4]),
                text(&f[5]),
            )
        })
        .collect()
}

#[test]
fn slowlog_merges_every_shard_newest_first() {
    let s = Server::start(2);
    let mut c = s.conn();
    let keys = keys_on_every_shard(2);
    let _: () = q(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    let _: () = q(&mut c, &["CLIENT", "SETNAME", "slow-one"]);
    let _: () = q(&mut c, &["SLOWLOG", "RESET"]);
    let long = "v".repeat(200);
    let _: () = q(&mut c, &["SET", &keys[0], &long]);
    let _: () = q(&mut c, &["SET", &keys[1], "2"]);
    assert!(err(&mut c, &["AUTH", "secret"]).starts_with("ERR"));
    let many: Vec<String> = (0..40).map(|i| format!("m{i}")).collect();
    let mut rpush = vec!["RPUSH", "list"];
    rpush.extend(many.iter().map(String::as_str));
    let _: i64 = q(&mut c, &rpush);
    let log = slowlog(&mut c, "-1");
    // Newest first: RPUSH, AUTH, SET, SET, SLOWLOG RESET.
    let ids: Vec<i64> = log.iter().map(|e| e.0).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    let names: Vec<&str> = log.iter().map(|e| e.2[0].as_str()).collect();
    assert_eq!(&names[..4], ["RPUSH", "AUTH", "SET", "SET"]);
    let (_, _, rpush_args, addr, name) = &log[0];
    assert_eq!(rpush_args.len(), 32);
    assert_eq!(rpush_args[31], "... (11 more arguments)");
    assert_eq!(name, "slow-one");
    let me: String = q(&mut c, &["CLIENT", "INFO"]);
    assert!(me.contains(&format!("addr={addr} ")), "{me} / {addr}");
    assert_eq!(log[1].2, ["AUTH", "(redacted)"]);
    assert_eq!(
        log[3].2[2],
        format!("{}... (72 more bytes)", "v".repeat(128))
    );
    assert_eq!(slowlog(&mut c, "2").len(), 2);
    assert_eq!(slowlog(&mut c, "0").len(), 0);
    let len: i64 = q(&mut c, &["SLOWLOG", "LEN"]);
    assert!(len >= 5);
    // The log is bounded as a whole.
    let _: () = q(&mut c, &["CONFIG", "SET", "slowlog-max-len", "3"]);
    let len: i64 = q(&mut c, &["SLOWLOG", "LEN"]);
    assert_eq!(len, 3);
    assert_eq!(slowlog(&mut c, "-1").len(), 3);
    // A threshold: only slow commands.
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "slowlog-log-slower-than", "100000"],
    );
    let _: () = q(&mut c, &["SLOWLOG", "RESET"]);
    let _: Option<String> = q(&mut c, &["GET", &keys[1]]);
    let _: () = q(&mut c, &["DEBUG", "SLEEP", "0.2"]);
    let log = slowlog(&mut c, "10");
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].2, ["DEBUG", "SLEEP", "0.2"]);
    assert!(log[0].1 >= 200_000);
    // Off.
    let _: () = q(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    let _: () = q(&mut c, &["SLOWLOG", "RESET"]);
    let _: () = q(&mut c, &["DEBUG", "SLEEP", "0.1"]);
    let len: i64 = q(&mut c, &["SLOWLOG", "LEN"]);
    assert_eq!(len, 0);
}

#[test]
fn latency_monitor_records_slow_commands_and_histograms() {
    let s = Server::start(2);
    let mut c = s.conn();
    let n: i64 = q(&mut c, &["LATENCY", "RESET"]);
    assert!(n >= 0);
    // Off (threshold 0): nothing recorded.
    let _: () = q(&mut c, &["DEBUG", "SLEEP", "0.02"]);
    let latest: Vec<Value> = q(&mut c, &["LATENCY", "LATEST"]);
    assert!(latest.is_empty(), "{latest:?}");
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "latency-monitor-threshold", "10"],
    );
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let _: () = q(&mut c, &["DEBUG", "SLEEP", "0.05"]);
    let latest: Vec<(String, i64, i64, i64)> = q(&mut c, &["LATENCY", "LATEST"]);
    assert_eq!(latest.len(), 1, "{latest:?}");
    let (event, time, ms, max) = &latest[0];
    assert_eq!(event, "command");
    assert!(*time > 1_700_000_000);
    assert!(*ms >= 50 && max >= ms, "{latest:?}");
    let history: Vec<(i64, i64)> = q(&mut c, &["LATENCY", "HISTORY", "command"]);
    assert_eq!(history.len(), 1);
    assert_eq!(history[0], (*time, *ms));
    let graph: String = q(&mut c, &["LATENCY", "GRAPH", "command"]);
    assert!(
        graph.starts_with(&format!("command - high {ms} ms")),
        "{graph}"
    );
    assert!(err(&mut c, &["LATENCY", "GRAPH", "nosuch"]).contains("No samples available"));
    let doctor: String = q(&mut c, &["LATENCY", "DOCTOR"]);
    assert!(doctor.contains("command"), "{doctor}");
    // Per-command histograms: calls and cumulative counts that end at the calls.
    let h: Vec<Value> = q(&mut c, &["LATENCY", "HISTOGRAM", "set", "debug", "nosuch"]);
    assert_eq!(h.len(), 4, "{h:?}");
    let Value::Array(body) = &h[3] else {
        panic!("{h:?}")
    };
    assert_eq!(body[0], Value::BulkString(b"calls".to_vec()));
    assert_eq!(body[1], Value::Int(2));
    let Value::Array(buckets) = &body[3] else {
        panic!("{body:?}")
    };
    assert_eq!(buckets.last(), Some(&Value::Int(2)));
    let Value::Int(top) = buckets[buckets.len() - 2] else {
        panic!("{buckets:?}")
    };
    assert!(top >= 50_000, "the sleep's bucket: {buckets:?}");
    assert_eq!(
        q::<i64>(&mut c, &["LATENCY", "RESET", "command", "nosuch"]),
        1
    );
    let latest: Vec<Value> = q(&mut c, &["LATENCY", "LATEST"]);
    assert!(latest.is_empty());
    assert!(err(&mut c, &["LATENCY", "LATEST", "x"]).contains("'latency|latest'"));
    assert!(err(&mut c, &["LATENCY", "NOSUCH"]).contains("unknown subcommand 'NOSUCH'"));
}

/// The instantaneous rates follow the load: above zero under it, zero after it.
#[test]
fn instantaneous_rates_follow_the_load() {
    let s = Server::start(2);
    let mut c = s.conn();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let loaders: Vec<_> = (0..2)
        .map(|_| {
            let mut r = s.conn();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let mut p = redis::pipe();
                    for i in 0..50 {
                        p.cmd("SET").arg(format!("k{i}")).arg("value");
                    }
                    let _: Vec<Value> = p.query(&mut r).unwrap();
                }
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let ops = info_field::<f64>(&mut c, "stats", "instantaneous_ops_per_sec");
    let input = info_field::<f64>(&mut c, "stats", "instantaneous_input_kbps");
    let output = info_field::<f64>(&mut c, "stats", "instantaneous_output_kbps");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for l in loaders {
        l.join().unwrap();
    }
    assert!(ops > 100.0, "{ops}");
    assert!(input > 1.0 && output > 0.1, "{input} {output}");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(
        info_field::<f64>(&mut c, "stats", "instantaneous_ops_per_sec"),
        0.0
    );
}

/// INFO carries the fields exporters and Sentinel read, with real values where
/// corecache has them (scripts, Pub/Sub, peak memory, system memory).
#[test]
fn info_has_redis_7_fields_that_tools_read() {
    let s = Server::start(2);
    let mut c = s.conn();
    let _: i64 = q(&mut c, &["EVAL", "return 1", "0"]);
    let mut sub = Raw::connect(s.port);
    sub.send(&resp(&[b"SUBSCRIBE", b"a", b"b"]));
    let _ = sub.read_exact_len(
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"
            .len(),
    );
    let text: String = q(&mut c, &["INFO", "everything"]);
    let field = |name: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in INFO"))
            .to_string()
    };
    assert_eq!(field("run_id").len(), 40);
    assert_eq!(field("master_replid").len(), 40);
    assert_eq!(field("role"), "master");
    assert_eq!(field("number_of_cached_scripts"), "1");
    assert_eq!(field("pubsub_channels"), "2");
    assert!(field("used_memory_lua").parse::<u64>().unwrap() > 0);
    assert!(field("total_system_memory").parse::<u64>().unwrap() > 0);
    let peak: u64 = field("used_memory_peak").parse().unwrap();
    let used: u64 = field("used_memory").parse().unwrap();
    assert!(peak >= used);
    for name in [
        "configured_hz",
        "lru_clock",
        "lazyfree_pending_objects",
        "repl_backlog_active",
        "master_repl_offset",
        "used_cpu_sys_children",
        "client_recent_max_input_buffer",
        "pubsub_patterns",
        "pubsubshard_channels",
        "evicted_clients",
    ] {
        let _ = field(name);
    }
}

/// LATENCY records a shard's eviction run and active expiry cycle past the threshold
/// (`eviction-cycle`, `expire-cycle`), as Redis does.
#[test]
fn latency_records_eviction_and_expiry_cycles() {
    let s = Server::start(2);
    let mut c = s.conn();
    let _: () = q(&mut c, &["CONFIG", "SET", "latency-monitor-threshold", "1"]);
    let fill = |c: &mut redis::Connection, prefix: &str, ttl: Option<&str>| {
        for chunk in 0..20 {
            let mut p = redis::pipe();
            for i in 0..5000 {
                let key = format!("{prefix}:{chunk}:{i}");
                match ttl {
                    Some(ms) => p.cmd("SET").arg(key).arg("value").arg("PX").arg(ms),
                    None => p.cmd("SET").arg(key).arg("value"),
                };
            }
            let _: Vec<Value> = p.query(c).unwrap();
        }
    };
    fill(&mut c, "k", None);
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-random"],
    );
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "1mb"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
    let _: () = q(&mut c, &["FLUSHALL"]);
    fill(&mut c, "t", Some("1"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let events = loop {
        let latest: Vec<(String, i64, i64, i64)> = q(&mut c, &["LATENCY", "LATEST"]);
        let names: Vec<String> = latest.into_iter().map(|e| e.0).collect();
        let both = names.iter().any(|n| n == "eviction-cycle")
            && names.iter().any(|n| n == "expire-cycle");
        if both || std::time::Instant::now() > deadline {
            break names;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(events.contains(&"eviction-cycle".to_string()), "{events:?}");
    assert!(events.contains(&"expire-cycle".to_string()), "{events:?}");
}

/// Commands run by EXEC count as calls of their own (a failed one as failed), as in
/// Redis, whatever shards their keys live on.
#[test]
fn commands_inside_exec_count_in_commandstats() {
    let s = Server::start(2);
    let mut c = s.conn();
    let keys = keys_on_every_shard(2);
    let _: () = q(&mut c, &["CONFIG", "RESETSTAT"]);
    let mut p = redis::pipe();
    p.atomic()
        .cmd("SET")
        .arg(&keys[0])
        .arg("1")
        .cmd("INCR")
        .arg(&keys[1])
        .cmd("LPUSH")
        .arg(&keys[0])
        .arg("x")
        .cmd("CONFIG")
        .arg("GET")
        .arg("hz");
    let r: redis::RedisResult<Value> = p.query(&mut c);
    assert!(r.is_err(), "the LPUSH fails inside EXEC");
    let stats = fields(&mut c, "commandstats", "cmdstat_");
    for (name, calls, failed) in [
        ("set", "1", "0"),
        ("incr", "1", "0"),
        ("lpush", "1", "1"),
        ("config|get", "1", "0"),
        ("multi", "1", "0"),
        ("exec", "1", "0"),
    ] {
        assert_eq!(stats[name]["calls"], calls, "{name}");
        assert_eq!(stats[name]["failed_calls"], failed, "{name}");
    }
}

/// LATENCY records the append-only file's writes (`aof-write`, and `aof-write-alone` or
/// `aof-write-pending-fsync`) and a snapshot's start (`fork`, corecache's counterpart);
/// INFO counts snapshot starts as forks.
#[test]
fn latency_records_aof_writes_and_snapshot_starts() {
    let dir = common::scratch_dir("latency-aof");
    let s = Server::start_with(
        2,
        &[
            "--dir",
            dir.to_str().unwrap(),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--auto-aof-rewrite-percentage",
            "0",
        ],
    );
    let mut c = s.conn();
    let _: () = q(&mut c, &["CONFIG", "SET", "latency-monitor-threshold", "1"]);
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "latency-monitor-threshold"]);
    assert_eq!(v, ["latency-monitor-threshold", "1"]);
    // A 200 MB value: its append takes well over a millisecond.
    let big = vec![b'v'; 200 << 20];
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg(&big)
        .query(&mut c)
        .unwrap();
    drop(big);
    let latest: Vec<(String, i64, i64, i64)> = q(&mut c, &["LATENCY", "LATEST"]);
    let names: Vec<String> = latest.into_iter().map(|e| e.0).collect();
    assert!(names.contains(&"aof-write".to_string()), "{names:?}");
    assert!(
        names
            .iter()
            .any(|n| n == "aof-write-alone" || n == "aof-write-pending-fsync"),
        "{names:?}"
    );
    let _: () = q(&mut c, &["DEL", "big"]);
    let forks: u64 = common::info_field(&mut c, "stats", "total_forks");
    let _: String = q(&mut c, &["BGSAVE"]);
    let after: u64 = common::info_field(&mut c, "stats", "total_forks");
    assert_eq!(after, forks + 1);
    let usec: u64 = common::info_field(&mut c, "stats", "latest_fork_usec");
    assert!(usec > 0);
}

/// A slow `@fast` command is logged too, with its arguments (as in Redis), on any
/// shard, with a threshold above 0.
#[test]
fn slowlog_logs_slow_fast_commands() {
    let s = Server::start(2);
    let mut c = s.conn();
    let keys = keys_on_every_shard(2);
    let big = vec![b'g'; 100 << 20];
    for k in &keys {
        let _: () = redis::cmd("SET").arg(k).arg(&big).query(&mut c).unwrap();
    }
    drop(big);
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "slowlog-log-slower-than", "1000"],
    );
    let _: () = q(&mut c, &["SLOWLOG", "RESET"]);
    for k in &keys {
        let got: Vec<u8> = redis::cmd("GET").arg(k).query(&mut c).unwrap();
        assert_eq!(got.len(), 100 << 20);
    }
    let _: String = q(&mut c, &["PING"]);
    let log = slowlog(&mut c, "-1");
    let gets: Vec<&Vec<String>> = log.iter().map(|e| &e.2).filter(|a| a[0] == "GET").collect();
    assert_eq!(gets.len(), 2, "{log:?}");
    for k in &keys {
        assert!(gets.iter().any(|a| a[1] == *k), "{gets:?}");
    }
    assert!(log.iter().all(|e| e.2[0] != "PING"), "{log:?}");
}
