//! MEMORY against real clients: USAGE on any shard's key, STATS with Redis 7.0's fields,
//! DOCTOR, MALLOC-STATS, PURGE, HELP, and Redis's errors.

mod common;

use common::{keys_on_every_shard, q, resp, Server, SHARD_COUNTS};

/// MEMORY STATS's top-level names in redis-server 7.0's order (one `db.N` per non-empty
/// database after `functions.caches`).
const STATS_FIELDS: &[&str] = &[
    "peak.allocated",
    "total.allocated",
    "startup.allocated",
    "replication.backlog",
    "clients.slaves",
    "clients.normal",
    "cluster.links",
    "aof.buffer",
    "lua.caches",
    "functions.caches",
    "db.0",
    "overhead.total",
    "keys.count",
    "keys.bytes-per-key",
    "dataset.bytes",
    "dataset.percentage",
    "peak.percentage",
    "allocator.allocated",
    "allocator.active",
    "allocator.resident",
    "allocator-fragmentation.ratio",
    "allocator-fragmentation.bytes",
    "allocator.rss-ratio",
    "allocator.rss-bytes",
    "rss-overhead.ratio",
    "rss-overhead.bytes",
    "fragmentation",
    "fragmentation.bytes",
];

#[test]
fn usage_counts_the_key_and_value_on_any_shard() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        for k in keys_on_every_shard(n) {
            q::<()>(&mut c, &["SET", &k, "v"]);
            let small: i64 = q(&mut c, &["MEMORY", "USAGE", &k]);
            q::<()>(&mut c, &["SET", &k, &"v".repeat(10_000)]);
            let big: i64 = q(&mut c, &["MEMORY", "USAGE", &k, "SAMPLES", "0"]);
            assert!(small > 0 && small < 200, "{n} shards: {small}");
            assert!(big >= small + 10_000, "{n} shards: {small} then {big}");
            q::<()>(&mut c, &["RPUSH", &format!("{k}:l"), "a", "b", "c"]);
            let list: i64 = q(&mut c, &["MEMORY", "USAGE", &format!("{k}:l")]);
            assert!(list > 0);
        }
        let missing: Option<i64> = q(&mut c, &["MEMORY", "USAGE", "no-such-key"]);
        assert_eq!(missing, None);
    }
}

#[test]
fn errors_are_redis_errors() {
    let s = Server::start(2);
    let mut raw = s.raw();
    let cases: &[(&[&[u8]], &str)] = &[
        (
            &[b"MEMORY", b"USAGE", b"k", b"SAMPLES", b"-1"],
            "-ERR syntax error\r\n",
        ),
        (
            &[b"MEMORY", b"USAGE", b"k", b"foo"],
            "-ERR syntax error\r\n",
        ),
        (
            &[b"MEMORY", b"foo"],
            "-ERR unknown subcommand 'foo'. Try MEMORY HELP.\r\n",
        ),
        (
            &[b"MEMORY"],
            "-ERR wrong number of arguments for 'memory' command\r\n",
        ),
        (
            &[b"MEMORY", b"STATS", b"x"],
            "-ERR wrong number of arguments for 'memory|stats' command\r\n",
        ),
    ];
    for (req, want) in cases {
        raw.send(&resp(req));
        assert_eq!(&raw.read_line(), want, "{req:?}");
    }
}

#[test]
fn stats_has_redis_fields_and_counts_keys() {
    for n in SHARD_COUNTS {
        let s = Server::start(n);
        let mut c = s.conn();
        for i in 0..1000 {
            q::<()>(&mut c, &["SET", &format!("key:{i}"), &"v".repeat(100)]);
        }
        let stats: redis::Value = q(&mut c, &["MEMORY", "STATS"]);
        let redis::Value::Array(items) = stats else {
            panic!("MEMORY STATS is a flat array in RESP2");
        };
        let names: Vec<String> = items
            .iter()
            .step_by(2)
            .map(|v| redis::from_redis_value(v.clone()).unwrap())
            .collect();
        assert_eq!(names, STATS_FIELDS, "{n} shards");
        let field = |name: &str| -> i64 {
            let i = names.iter().position(|f| f == name).unwrap();
            redis::from_redis_value(items[2 * i + 1].clone()).unwrap()
        };
        assert_eq!(field("keys.count"), 1000);
        let total = field("total.allocated");
        let used: String = q(&mut c, &["INFO", "memory"]);
        assert!(used.contains("used_memory:"));
        assert!(field("dataset.bytes") > 100 * 1000, "{n} shards");
        assert!(field("peak.allocated") >= total);
        assert!(field("startup.allocated") < total);
    }
}

#[test]
fn doctor_malloc_stats_purge_and_help_answer() {
    let s = Server::start(2);
    let mut c = s.conn();
    let doctor: String = q(&mut c, &["MEMORY", "DOCTOR"]);
    assert!(doctor.contains("very little data"), "{doctor}");
    for i in 0..20_000 {
        q::<()>(&mut c, &["SET", &format!("key:{i}"), &"v".repeat(500)]);
    }
    let doctor: String = q(&mut c, &["MEMORY", "DOCTOR"]);
    assert!(!doctor.contains("very little data"), "{doctor}");
    let stats: String = q(&mut c, &["MEMORY", "MALLOC-STATS"]);
    assert!(
        stats.contains("shard 0:") && stats.contains("shard 1:"),
        "{stats}"
    );
    q::<()>(&mut c, &["FLUSHALL"]);
    let rss_before = s.rss_kib();
    q::<()>(&mut c, &["MEMORY", "PURGE"]);
    assert!(s.rss_kib() <= rss_before + 1024, "PURGE grew the RSS");
    let help: Vec<String> = q(&mut c, &["MEMORY", "HELP"]);
    assert!(help[0].starts_with("MEMORY <subcommand>"));
    assert!(help
        .iter()
        .any(|l| l.starts_with("USAGE <key> [SAMPLES <count>]")));
}
