//! The Prometheus endpoint (`--metrics-port`): real figures after real commands on 2
//! shards, checked against the commands sent, DBSIZE and INFO; the text format checked
//! by a parser of our own (families, escaping, histogram buckets) and by Prometheus's
//! Python parser (prometheus_client), which must read the same samples; lock waits
//! counted while multi-shard writes meet reads; HTTP answers for other paths, methods
//! and bad heads; the port set from a configuration file. INFO keeps the fields
//! redis_exporter reads. The Grafana dashboard in deploy/ queries only metrics the
//! endpoint has.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

/// A port free right now (the server binds it a moment later).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().unwrap().port()
}

struct Http {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

/// Sends `request` as is and reads the answer until the server closes.
fn http_raw(port: u16, request: &[u8]) -> Http {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to metrics");
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(request).expect("send request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .expect("read until the server closes");
    let text = String::from_utf8(raw).expect("utf-8 answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let mut parts = status_line.splitn(3, ' ');
    assert_eq!(parts.next(), Some("HTTP/1.1"), "{status_line}");
    let status = parts.next().unwrap().parse().expect("status code");
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(": ").expect("header");
            (k.to_ascii_lowercase(), v.to_string())
        })
        .collect();
    Http {
        status,
        headers,
        body: body.to_string(),
    }
}

fn get(port: u16, path: &str) -> Http {
    http_raw(
        port,
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n").as_bytes(),
    )
}

/// One sample: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The exposition parsed strictly: every sample after its family's HELP and TYPE, each
/// family once, names and label values as the format writes them.
struct Scrape {
    types: HashMap<String, String>,
    samples: Vec<Sample>,
}

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let mut types = HashMap::new();
        let mut samples = Vec::new();
        let mut family = String::new();
        let mut helped = String::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap();
                assert!(!types.contains_key(name), "family {name} twice");
                helped = name.to_string();
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
                assert_eq!(name, helped, "TYPE without its HELP first");
                assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
                types.insert(name.to_string(), kind.to_string());
                family = name.to_string();
            } else {
                assert!(!line.starts_with('#') && !line.is_empty(), "line {line:?}");
                let s = parse_sample(line);
                let suffixes: &[&str] = match types[&family].as_str() {
                    "histogram" => &["_bucket", "_sum", "_count"],
                    _ => &[""],
                };
                assert!(
                    suffixes.iter().any(|x| s.name == format!("{family}{x}")),
                    "{} outside its family {family}",
                    s.name
                );
                samples.push(s);
            }
        }
        let mut seen = std::collections::HashSet::new();
        for s in &samples {
            assert!(
                seen.insert((s.name.clone(), s.labels.clone())),
                "{s:?} twice"
            );
        }
        Scrape { types, samples }
    }

    fn find(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
            })
            .collect()
    }

    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found = self.find(name, labels);
        assert!(!found.is_empty(), "no {name} {labels:?}");
        found.iter().map(|s| s.value).sum()
    }

    fn one(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found = self.find(name, labels);
        assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
        found[0].value
    }
}

/// `name{k="v",...} value`, with the format's escapes in label values.
fn parse_sample(line: &str) -> Sample {
    let (name, rest) = match line.find('{') {
        Some(i) => (&line[..i], &line[i..]),
        None => line.split_at(line.find(' ').expect("a value")),
    };
    assert!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
        "metric name {name:?}"
    );
    let mut labels = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    if chars.peek() == Some(&'{') {
        chars.next();
        loop {
            let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
            assert!(
                !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "label name {key:?} in {line}"
            );
            assert_eq!(chars.next(), Some('"'), "{line}");
            let mut v = String::new();
            loop {
                match chars.next().expect("unterminated label value") {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('\\') => v.push('\\'),
                        Some('"') => v.push('"'),
                        Some('n') => v.push('\n'),
                        other => panic!("bad escape {other:?} in {line}"),
                    },
                    '\n' => panic!("raw line feed in {line}"),
                    c => v.push(c),
                }
            }
            assert!(labels.insert(key, v).is_none(), "label twice in {line}");
            match chars.next() {
                Some(',') => continue,
                Some('}') => break,
                other => panic!("{other:?} after a label in {line}"),
            }
        }
    }
    let value: String = chars.collect();
    let value = value.strip_prefix(' ').expect("one space before the value");
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse()
            .unwrap_or_else(|_| panic!("value {v:?} in {line}")),
    };
    Sample {
        name: name.to_string(),
        labels,
        value,
    }
}

/// Every histogram series: cumulative buckets, `+Inf` equal to `_count`.
fn check_histograms(scrape: &Scrape) {
    for (family, kind) in &scrape.types {
        if kind != "histogram" {
            continue;
        }
        let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for s in scrape.find(&format!("{family}_bucket"), &[]) {
            let mut labels = s.labels.clone();
            let le = labels.remove("le").expect("le label");
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().expect("le")
            };
            series.entry(labels).or_default().push((le, s.value));
        }
        for (labels, buckets) in series {
            let pairs: Vec<(&str, &str)> = labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert!(buckets
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
            let (last_le, last) = *buckets.last().unwrap();
            assert_eq!(last_le, f64::INFINITY, "{family} {labels:?} ends with +Inf");
            assert_eq!(last, scrape.one(&format!("{family}_count"), &pairs));
            scrape.one(&format!("{family}_sum"), &pairs);
        }
    }
}

/// Prometheus's own parser (prometheus_client) over the text: the samples it reads,
/// or None when python3 or the module is missing (a failure under CI, where .ci/run
/// installs it).
fn python_samples(text: &str) -> Option<Vec<Sample>> {
    const SCRIPT: &str = r#"
import sys
try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.exit(77)
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(k + "=" + v.encode().hex() for k, v in sorted(s.labels.items()))
        print(family.type, s.name, labels, repr(s.value), sep="\t")
"#;
    let python = std::env::var("CORECACHE_PYTHON").unwrap_or_else(|_| "python3".into());
    let skip = |why: String| {
        assert!(
            std::env::var_os("CI").is_none(),
            "the prometheus_client check cannot run under CI: {why}"
        );
        println!("note: skipping the prometheus_client check: {why}");
        None
    };
    let mut child = match Command::new(&python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return skip(format!("{python}: {e}")),
    };
    let mut stdin = child.stdin.take().unwrap();
    let input = text.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("python ran");
    writer.join().unwrap().expect("text sent to python");
    if out.status.code() == Some(77) {
        return skip("no prometheus_client module (pip install prometheus_client)".into());
    }
    assert!(
        out.status.success(),
        "prometheus_client refused the text: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hex = |h: &str| -> String {
        let bytes: Vec<u8> = (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect();
        String::from_utf8(bytes).unwrap()
    };
    let samples = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let labels = f[2]
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap();
                    (k.to_string(), hex(v))
                })
                .collect();
            let value = match f[3] {
                "inf" => f64::INFINITY,
                v => v.parse().unwrap(),
            };
            Sample {
                name: f[1].to_string(),
                labels,
                value,
            }
        })
        .collect();
    Some(samples)
}

/// Scrapes, checks the HTTP answer and the format, and parses.
fn scrape(port: u16) -> Scrape {
    let r = get(port, "/metrics");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert_eq!(r.headers["content-length"], r.body.len().to_string());
    assert_eq!(r.headers["connection"], "close");
    let s = Scrape::parse(&r.body);
    check_histograms(&s);
    if let Some(theirs) = python_samples(&r.body) {
        let key = |s: &Sample| format!("{} {:?}", s.name, s.labels);
        let mut ours: Vec<&Sample> = s.samples.iter().collect();
        let mut theirs: Vec<&Sample> = theirs.iter().collect();
        ours.sort_by_key(|s| key(s));
        theirs.sort_by_key(|s| key(s));
        assert_eq!(ours, theirs, "prometheus_client reads other samples");
    }
    s
}

#[test]
fn metrics_report_the_commands_sent() {
    let port = free_port();
    let p = port.to_string();
    let s = Server::start_with(2, &["--metrics-port", &p]);
    let mut c = s.conn();
    let keys = keys_on_every_shard(2);
    let mut sent = 0;
    for (i, k) in keys.iter().enumerate() {
        let _: () = q(&mut c, &["SET", k, &i.to_string()]);
        let _: () = q(&mut c, &["EXPIRE", k, "1000"]);
        sent += 2;
    }
    for i in 0..20 {
        let _: () = q(&mut c, &["SET", &format!("more:{i}"), "x"]);
        sent += 1;
    }
    let mut gets = 0;
    for k in keys.iter().chain([&keys[0], &keys[0]]) {
        let _: Option<String> = q(&mut c, &["GET", k]);
        gets += 1;
    }
    for m in ["missing:1", "missing:2", "missing:3"] {
        let _: Option<String> = q(&mut c, &["GET", m]);
        gets += 1;
    }
    sent += gets;
    // Keys on both shards: a hop.
    let mut mget = vec!["MGET"];
    mget.extend(keys.iter().map(String::as_str));
    let _: Vec<Option<String>> = q(&mut c, &mget);
    sent += 1;
    let _: () = q(&mut c, &["LPUSH", "list", "a"]);
    assert!(err(&mut c, &["GET", "list"]).starts_with("WRONGTYPE"));
    // An error code a script chooses, with a quote and a backslash: escaped in labels.
    let e = err(
        &mut c,
        &["EVAL", r#"return redis.error_reply('Q"B\\S oops')"#, "0"],
    );
    assert!(e.starts_with(r#"Q"B\S"#), "{e}");
    sent += 3;
    let dbsize: u64 = q(&mut c, &["DBSIZE"]);
    let hits = info_field::<f64>(&mut c, "stats", "keyspace_hits");
    let misses = info_field::<f64>(&mut c, "stats", "keyspace_misses");
    let clients = info_field::<f64>(&mut c, "clients", "connected_clients");
    let received = info_field::<f64>(&mut c, "stats", "total_connections_received");

    let m = scrape(port);
    assert_eq!(m.types["corecache_commands_processed_total"], "counter");
    assert_eq!(m.types["corecache_command_duration_seconds"], "histogram");
    assert_eq!(m.types["corecache_keys"], "gauge");
    assert_eq!(m.find("corecache_commands_processed_total", &[]).len(), 2);
    assert!(m.sum("corecache_commands_processed_total", &[]) >= sent as f64);
    assert_eq!(m.one("corecache_shards", &[]), 2.0);
    assert_eq!(m.sum("corecache_keys", &[("db", "0")]), dbsize as f64);
    assert_eq!(
        m.sum("corecache_expiring_keys", &[("db", "0")]),
        keys.len() as f64
    );
    assert_eq!(m.sum("corecache_keyspace_hits_total", &[]), hits);
    assert_eq!(m.sum("corecache_keyspace_misses_total", &[]), misses);
    assert!(misses >= 3.0 && hits >= keys.len() as f64);
    assert_eq!(m.sum("corecache_connected_clients", &[]), clients);
    assert_eq!(m.sum("corecache_connections_received_total", &[]), received);
    assert!(m.sum("corecache_forwarded_commands_total", &[]) >= 1.0);
    assert!(m.sum("corecache_hop_messages_total", &[]) >= 1.0);
    assert!(m.one("corecache_used_memory_bytes", &[]) > 0.0);
    assert!(m.one("corecache_used_memory_rss_bytes", &[]) > 0.0);
    for shard in ["0", "1"] {
        for origin in ["local", "peer"] {
            m.one(
                "corecache_lock_waits_total",
                &[("shard", shard), ("origin", origin)],
            );
        }
        m.one("corecache_evicted_keys_total", &[("shard", shard)]);
        m.one("corecache_expired_keys_total", &[("shard", shard)]);
        m.one(
            "corecache_optimistic_read_retries_total",
            &[("shard", shard)],
        );
    }
    // GET: every call, in the histogram too.
    let get = [("cmd", "get")];
    assert_eq!(
        m.one("corecache_command_calls_total", &get),
        (gets + 1) as f64
    );
    assert_eq!(m.one("corecache_command_failed_calls_total", &get), 1.0);
    assert_eq!(
        m.one("corecache_command_duration_seconds_count", &get),
        (gets + 1) as f64
    );
    assert!(m.one("corecache_command_duration_seconds_sum", &get) > 0.0);
    // The first bucket and the last finite one.
    m.one(
        "corecache_command_duration_seconds_bucket",
        &[("cmd", "get"), ("le", "0.000002048")],
    );
    assert_eq!(
        m.one(
            "corecache_command_duration_seconds_bucket",
            &[("cmd", "get"), ("le", "17.179869184")]
        ),
        (gets + 1) as f64
    );
    assert_eq!(
        m.one("corecache_command_calls_total", &[("cmd", "mget")]),
        1.0
    );
    assert_eq!(
        m.one("corecache_errors_total", &[("code", "WRONGTYPE")]),
        1.0
    );
    assert_eq!(
        m.one("corecache_errors_total", &[("code", r#"Q"B\S"#)]),
        1.0
    );

    // Every metric the Grafana dashboard in deploy/ queries is one this endpoint has.
    let dashboard = include_str!("../deploy/grafana-dashboard.json");
    let mut queried: Vec<&str> = dashboard
        .match_indices("corecache_")
        .map(|(at, _)| {
            let rest = &dashboard[at..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect();
    queried.sort();
    queried.dedup();
    assert!(queried.len() >= 20, "{queried:?}");
    for name in queried {
        let family = name.strip_suffix("_bucket").unwrap_or(name);
        assert!(
            m.types.contains_key(family),
            "the dashboard queries {name}, which /metrics does not have"
        );
    }

    // Counters only grow; the scrape's own visits are no client's commands.
    let _: () = q(&mut c, &["SET", "after", "1"]);
    let again = scrape(port);
    assert_eq!(
        again.one("corecache_command_calls_total", &[("cmd", "set")]),
        m.one("corecache_command_calls_total", &[("cmd", "set")]) + 1.0
    );
}

#[test]
fn other_requests_get_http_errors_and_the_endpoint_survives_them() {
    let port = free_port();
    let p = port.to_string();
    let s = Server::start_with(1, &["--metrics-port", &p]);
    let r = get(port, "/");
    assert_eq!(r.status, 404);
    assert_eq!(r.headers["connection"], "close");
    assert_eq!(get(port, "/metricsx").status, 404);
    assert_eq!(get(port, "/metrics?x=1").status, 200);
    let r = http_raw(port, b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(r.status, 405);
    assert_eq!(r.headers["allow"], "GET, HEAD");
    let r = http_raw(port, b"HEAD /metrics HTTP/1.1\r\n\r\n");
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert!(r.headers["content-length"].parse::<usize>().unwrap() > 1000);
    for bad in [
        &b"garbage\r\n\r\n"[..],
        b"GET /metrics HTTP/9.9\r\n\r\n",
        b"\x00\xff\xfe\r\n\r\n",
    ] {
        assert_eq!(http_raw(port, bad).status, 400, "{bad:?}");
    }
    // A head past 8 KiB, and a client that leaves mid-head.
    let mut long = b"GET /metrics HTTP/1.1\r\n".to_vec();
    while long.len() < 9000 {
        long.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    long.extend_from_slice(b"\r\n");
    assert_eq!(http_raw(port, &long).status, 400);
    {
        let mut half = TcpStream::connect(("127.0.0.1", port)).unwrap();
        half.write_all(b"GET /met").unwrap();
    }
    // Still serving, and the server too.
    assert_eq!(get(port, "/metrics").status, 200);
    let mut c = s.conn();
    let pong: String = q(&mut c, &["PING"]);
    assert_eq!(pong, "PONG");
}

#[test]
fn the_metrics_port_comes_from_a_config_file() {
    let dir = scratch_dir("metrics-conf");
    let port = free_port();
    let conf = dir.join("corecache.conf");
    std::fs::write(
        &conf,
        format!(
            "bind 127.0.0.1\nport 0\ndir \"{}\"\nmetrics-port {port}\nmetrics-bind 127.0.0.1\n",
            dir.display()
        ),
    )
    .unwrap();
    let s = Server::start_exact(&[conf.to_str().unwrap(), "--threads", "1", "--no-pin"]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let m = scrape(port);
    assert_eq!(m.sum("corecache_keys", &[("db", "0")]), 1.0);
}

#[test]
fn info_keeps_the_fields_redis_exporter_reads() {
    let s = Server::start(2);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let _: Option<String> = q(&mut c, &["GET", "k"]);
    let text: String = q(&mut c, &["INFO", "everything"]);
    for field in [
        "redis_version:",
        "uptime_in_seconds:",
        "connected_clients:",
        "blocked_clients:",
        "maxclients:",
        "used_memory:",
        "used_memory_rss:",
        "maxmemory:",
        "mem_fragmentation_ratio:",
        "rdb_changes_since_last_save:",
        "total_connections_received:",
        "total_commands_processed:",
        "instantaneous_ops_per_sec:",
        "total_net_input_bytes:",
        "total_net_output_bytes:",
        "rejected_connections:",
        "expired_keys:",
        "evicted_keys:",
        "keyspace_hits:",
        "keyspace_misses:",
        "total_error_replies:",
        "role:master",
        "connected_slaves:",
        "used_cpu_sys:",
        "used_cpu_user:",
        "cluster_enabled:",
        "db0:keys=1,expires=0,avg_ttl=0",
        "cmdstat_get:calls=1,",
        "latency_percentiles_usec_get:p50=",
    ] {
        assert!(text.contains(field), "INFO lacks {field}");
    }
}

/// A connection served by shard `want` of `shards` (client ids are
/// `shard + 1 + k * shards`).
fn conn_on(s: &Server, shards: usize, want: usize) -> redis::Connection {
    loop {
        let mut c = s.conn();
        let id: u64 = q(&mut c, &["CLIENT", "ID"]);
        if ((id - 1) % shards as u64) as usize == want {
            return c;
        }
    }
}

#[test]
fn commands_that_meet_a_transaction_count_as_lock_waits() {
    let port = free_port();
    let p = port.to_string();
    let s = Server::start_with(2, &["--metrics-port", &p]);
    let keys = keys_on_every_shard(2);
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    // On each shard, a client writing both keys at once (a multi-shard write locks
    // them on both shards) and a client reading them one by one.
    for shard in 0..2 {
        let (mut w, mut r) = (conn_on(&s, 2, shard), conn_on(&s, 2, shard));
        let (keys, stop) = (keys.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _: () = q(&mut w, &["MSET", &keys[0], "1", &keys[1], "2"]);
                for k in &keys {
                    let _: Option<String> = q(&mut r, &["GET", k]);
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let waits = |m: &Scrape, origin| m.sum("corecache_lock_waits_total", &[("origin", origin)]);
    let m = loop {
        let m = scrape(port);
        if (waits(&m, "local") > 0.0 && waits(&m, "peer") > 0.0) || Instant::now() > deadline {
            break m;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    assert!(waits(&m, "local") > 0.0, "no command waited for a lock");
    assert!(waits(&m, "peer") > 0.0, "no peer's work waited for a lock");
}
