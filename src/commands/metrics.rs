//! The Prometheus metrics of the whole process, as `GET /metrics` serves them
//! (`net/metrics_http.rs`): every shard's report (the one INFO adds up) and command
//! stats, gathered through the mesh in one visit per shard, written in the text
//! format (`base/exposition.rs`).
//!
//! Per-shard figures carry a `shard` label and no total beside them (a total in the
//! same family would be counted twice by `sum`): the process's figure is
//! `sum without (shard) (...)`. The exceptions are figures only exact for the process
//! (`corecache_used_memory_bytes`; a shard may free what another allocated) and
//! process-wide ones. Per-command and per-error figures are the process's, added up.

use std::rc::Rc;

use hdrhistogram::Histogram;

use crate::base::exposition::{Exposition, Kind, Number};
use crate::commands::info::{rss_bytes, ShardReport};
use crate::commands::REDIS_VERSION;
use crate::runtime::cmdstats::{CommandStat, Snapshot};
use crate::runtime::shard::Shard;

/// Upper bounds of the latency histograms' buckets, in nanoseconds: 1024 ns · 2^k for
/// k in 1..=24 (2.048 µs to about 17.2 s), LATENCY HISTOGRAM's doubling buckets. The
/// HdrHistograms behind them (1024 ns units, 2 significant digits) never have a range
/// of equivalent values across a power of two from 2048 ns on, so every recorded time
/// lies wholly on one side of each bound; times under 1.024 µs are recorded as 1.024 µs
/// and count at 2.048 µs.
const BUCKETS_NS: [u64; 24] = {
    let mut b = [0u64; 24];
    let mut k = 0;
    while k < 24 {
        b[k] = 2048 << k;
        k += 1;
    }
    b
};

/// How a family's figure is read off a report.
type Figure<T, V> = fn(&T) -> V;

/// The text of one scrape.
pub async fn render(shard: &Rc<Shard>) -> String {
    let gathered: Vec<(ShardReport, Snapshot)> = shard
        .run_everywhere(|| {
            |sh: &Rc<Shard>| (ShardReport::of(sh), sh.cmdstats.borrow().snapshot(true))
        })
        .await;
    let (reports, snapshots): (Vec<ShardReport>, Vec<Snapshot>) = gathered.into_iter().unzip();
    let commands = Snapshot::merge(&snapshots);
    let mut e = Exposition::new();
    write_process(&mut e, shard, &reports);
    write_shards(&mut e, &reports);
    write_commands(&mut e, &commands);
    e.finish()
}

/// Figures of the process as a whole.
fn write_process(e: &mut Exposition, shard: &Shard, reports: &[ShardReport]) {
    e.family(
        "corecache_build_info",
        Kind::Gauge,
        "Always 1; the labels name the corecache version and the Redis version it follows.",
    );
    e.sample(
        &[
            ("version", env!("CARGO_PKG_VERSION")),
            ("redis_version", REDIS_VERSION),
        ],
        1u64,
    );
    e.family("corecache_shards", Kind::Gauge, "Shards (one per core).");
    e.sample(&[], reports.len());
    let now = shards::clock::system_ms();
    e.family(
        "corecache_uptime_seconds",
        Kind::Gauge,
        "Seconds since the server started.",
    );
    e.sample(&[], now.saturating_sub(shard.started_ms) / 1000);
    e.family(
        "corecache_used_memory_bytes",
        Kind::Gauge,
        "Bytes allocated for keys and values by every shard (INFO used_memory).",
    );
    e.sample(
        &[],
        reports.iter().map(|r| r.used_memory as i64).sum::<i64>(),
    );
    e.family(
        "corecache_used_memory_rss_bytes",
        Kind::Gauge,
        "Resident memory of the process.",
    );
    e.sample(&[], rss_bytes());
    e.family(
        "corecache_maxmemory_bytes",
        Kind::Gauge,
        "The maxmemory setting (0: no limit).",
    );
    e.sample(&[], shard.settings.borrow().maxmemory);
}

/// A per-shard family with one sample per shard.
fn per_shard<N: Into<Number>>(
    e: &mut Exposition,
    reports: &[ShardReport],
    (name, kind, help): (&str, Kind, &str),
    value: impl Fn(&ShardReport) -> N,
) {
    e.family(name, kind, help);
    for r in reports {
        e.sample(&[("shard", &r.id.to_string())], value(r));
    }
}

/// Figures kept by each shard, labelled with it.
fn write_shards(e: &mut Exposition, reports: &[ShardReport]) {
    use Kind::{Counter, Gauge};
    let families: [(&str, Kind, &str, Figure<ShardReport, u64>); 15] = [
        (
            "corecache_commands_processed_total",
            Counter,
            "Commands run by the shard's clients (INFO total_commands_processed).",
            |r| r.stats.commands,
        ),
        (
            "corecache_keyspace_hits_total",
            Counter,
            "Key lookups on the shard that found the key.",
            |r| r.hits,
        ),
        (
            "corecache_keyspace_misses_total",
            Counter,
            "Key lookups on the shard that did not find the key.",
            |r| r.misses,
        ),
        (
            "corecache_expired_keys_total",
            Counter,
            "Keys of the shard deleted because their TTL passed.",
            |r| r.expired_keys,
        ),
        (
            "corecache_evicted_keys_total",
            Counter,
            "Keys of the shard evicted to stay under maxmemory.",
            |r| r.evicted_keys,
        ),
        (
            "corecache_connected_clients",
            Gauge,
            "Clients connected to the shard.",
            |r| r.clients as u64,
        ),
        (
            "corecache_blocked_clients",
            Gauge,
            "The shard's clients waiting in a blocking command.",
            |r| r.blocked_clients as u64,
        ),
        (
            "corecache_connections_received_total",
            Counter,
            "Connections the shard accepted.",
            |r| r.stats.connections,
        ),
        (
            "corecache_rejected_connections_total",
            Counter,
            "Connections the shard turned away at maxclients.",
            |r| r.stats.rejected_connections,
        ),
        (
            "corecache_forwarded_commands_total",
            Counter,
            "Cross-shard hops: commands, or parts of commands, the shard sent to another shard.",
            |r| r.stats.forwarded_ops,
        ),
        (
            "corecache_hop_messages_total",
            Counter,
            "Cross-shard hops: mailbox messages the shard sent to other shards (requests \
             and answers; INFO's and scrapes' visits too).",
            |r| r.stats.hop_messages,
        ),
        (
            "corecache_optimistic_read_retries_total",
            Counter,
            "Multi-shard reads of the shard's clients that ran again under holds.",
            |r| r.stats.read_retries,
        ),
        (
            "corecache_error_replies_total",
            Counter,
            "Error replies sent to the shard's clients.",
            |r| r.stats.error_replies,
        ),
        (
            "corecache_net_input_bytes_total",
            Counter,
            "Bytes read from the shard's clients.",
            |r| r.stats.net_input_bytes,
        ),
        (
            "corecache_net_output_bytes_total",
            Counter,
            "Bytes written to the shard's clients.",
            |r| r.stats.net_output_bytes,
        ),
    ];
    for (name, kind, help, get) in families {
        per_shard(e, reports, (name, kind, help), get);
    }
    per_shard(
        e,
        reports,
        (
            "corecache_shard_used_memory_bytes",
            Gauge,
            "Bytes allocated on the shard less bytes freed there; may be negative when \
             the shard frees what another allocated: only the sum is exact.",
        ),
        |r| r.used_memory as i64,
    );
    e.family(
        "corecache_lock_waits_total",
        Counter,
        "Work that found the shard held or its keys locked by a transaction and waited \
         at its gate: origin=\"local\" for its own clients' commands and work, \
         origin=\"peer\" for work from other shards.",
    );
    for r in reports {
        let id = r.id.to_string();
        e.sample(&[("shard", &id), ("origin", "local")], r.stats.lock_waits);
        e.sample(&[("shard", &id), ("origin", "peer")], r.stats.deferred_work);
    }
    e.family(
        "corecache_cpu_seconds_total",
        Counter,
        "CPU time of the shard's thread.",
    );
    for r in reports {
        let id = r.id.to_string();
        e.sample(
            &[("shard", &id), ("mode", "user")],
            r.cpu_user_us as f64 / 1e6,
        );
        e.sample(
            &[("shard", &id), ("mode", "system")],
            r.cpu_sys_us as f64 / 1e6,
        );
    }
    write_keys(e, reports);
}

/// Keys per database and shard: database 0 always, the others when they hold keys.
fn write_keys(e: &mut Exposition, reports: &[ShardReport]) {
    let dbs = reports.first().map_or(0, |r| r.db_keys.len());
    let shown: Vec<usize> = (0..dbs)
        .filter(|&db| db == 0 || reports.iter().any(|r| r.db_keys[db].0 > 0))
        .collect();
    // A database's keys and keys with a TTL on one shard.
    type Db = (usize, usize);
    let families: [(&str, &str, Figure<Db, usize>); 2] = [
        (
            "corecache_keys",
            "Keys in the database on the shard.",
            |d| d.0,
        ),
        (
            "corecache_expiring_keys",
            "Keys with a TTL in the database on the shard.",
            |d| d.1,
        ),
    ];
    for (name, help, get) in families {
        e.family(name, Kind::Gauge, help);
        for r in reports {
            let id = r.id.to_string();
            for &db in &shown {
                let db_label = db.to_string();
                e.sample(&[("shard", &id), ("db", &db_label)], get(&r.db_keys[db]));
            }
        }
    }
}

/// Per-command figures and error counts, added up over the shards.
fn write_commands(e: &mut Exposition, stats: &Snapshot) {
    let counts: [(&str, &str, Figure<CommandStat, u64>); 3] = [
        (
            "corecache_command_calls_total",
            "Calls of the command (per subcommand as cmd|sub), as INFO commandstats.",
            |c| c.calls,
        ),
        (
            "corecache_command_failed_calls_total",
            "Calls of the command that ran and answered an error.",
            |c| c.failed,
        ),
        (
            "corecache_command_rejected_calls_total",
            "Calls of the command refused before running (arity, NOAUTH, OOM ...).",
            |c| c.rejected,
        ),
    ];
    for (name, help, get) in counts {
        e.family(name, Kind::Counter, help);
        for (cmd, c) in &stats.commands {
            e.sample(&[("cmd", cmd)], get(c));
        }
    }
    e.family(
        "corecache_command_duration_seconds",
        Kind::Histogram,
        "Time from a command's dispatch to its reply on its client's shard (a hop to \
         another shard included), from the HdrHistograms behind INFO latencystats \
         (latency-tracking).",
    );
    let les: Vec<String> = BUCKETS_NS.iter().map(|&ns| seconds_of_ns(ns)).collect();
    for (cmd, c) in &stats.commands {
        let Some(h) = &c.hist else { continue };
        let cumulative = buckets(h);
        let buckets: Vec<(&str, u64)> = les
            .iter()
            .map(String::as_str)
            .zip(cumulative.iter().copied())
            .collect();
        let count = h.len();
        // Every call is in the histogram unless latency-tracking was off for some since
        // the last CONFIG RESETSTAT; then the sum is the histogram's own.
        let sum_ns = if count == c.calls {
            c.ns as f64
        } else {
            h.mean() * count as f64
        };
        e.histogram(&[("cmd", cmd)], &buckets, count, sum_ns / 1e9);
    }
    e.family(
        "corecache_errors_total",
        Kind::Counter,
        "Error replies by error code (the first word of the message), as INFO errorstats.",
    );
    for (code, n) in &stats.errors {
        e.sample(&[("code", code)], *n);
    }
}

/// Cumulative counts at or below each bound of `BUCKETS_NS` (a value by the top of its
/// range of equivalent values).
fn buckets(h: &Histogram<u32>) -> [u64; BUCKETS_NS.len()] {
    let mut own = [0u64; BUCKETS_NS.len()];
    for v in h.iter_recorded() {
        let top_ns = h.highest_equivalent(v.value_iterated_to());
        if let Some(k) = BUCKETS_NS.iter().position(|&ns| top_ns <= ns) {
            own[k] += u64::from(v.count_at_value());
        }
    }
    let mut total = 0;
    for n in own.iter_mut() {
        total += *n;
        *n = total;
    }
    own
}

/// Nanoseconds as seconds in plain decimal (`le` labels), exactly: 2048 →
/// "0.000002048".
fn seconds_of_ns(ns: u64) -> String {
    let frac = format!("{:09}", ns % 1_000_000_000);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{}", ns / 1_000_000_000)
    } else {
        format!("{}.{frac}", ns / 1_000_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_bounds_are_exact_decimals() {
        assert_eq!(seconds_of_ns(BUCKETS_NS[0]), "0.000002048");
        assert_eq!(seconds_of_ns(BUCKETS_NS[23]), "17.179869184");
        assert_eq!(seconds_of_ns(2_000_000_000), "2");
        assert_eq!(seconds_of_ns(1_500), "0.0000015");
    }

    #[test]
    fn buckets_are_cumulative_and_exact() {
        let mut h = Histogram::<u32>::new_with_bounds(1024, 1_000_000_000_000, 2).unwrap();
        h.record_n(1024, 3).unwrap(); // le=2.048 µs
        h.record(2047).unwrap(); // le=2.048 µs
        h.record(2048).unwrap(); // le=4.096 µs
        h.record(5_000).unwrap(); // le=8.192 µs
        h.record(8_191).unwrap(); // le=8.192 µs
        h.record(1_000_000).unwrap(); // 1 ms: le=1.048576 ms
        h.record(100_000_000_000).unwrap(); // 100 s: only +Inf
        let b = buckets(&h);
        assert_eq!(b[..4], [4, 5, 7, 7]);
        assert_eq!(b[8], 7);
        assert_eq!(b[9], 8);
        assert_eq!(b[23], 8);
        assert_eq!(h.len(), 9);
    }
}
