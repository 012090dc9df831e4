//! MEMORY: USAGE (on the key's shard), STATS, DOCTOR, MALLOC-STATS, PURGE and HELP over
//! every shard.

use std::cell::Cell;
use std::rc::Rc;

use bytes::Bytes;
use shards::args::eq_ic;
use shards::cmd::CommandSpec;
use shards::{CmdError, Reply};

use crate::runtime::clients::ClientHandle;
use crate::runtime::shard::Shard;

thread_local! {
    /// This shard's used memory once it was ready.
    static STARTUP: Cell<u64> = const { Cell::new(0) };
}

/// Notes this shard's used memory at start-up.
pub fn note_startup(shard: &Shard) {
    let ks = shard.ks.borrow();
    STARTUP.with(|c| c.set(ks.budget.meter.used()));
    ks.budget.publish();
}

const HELP: &[&str] = &[
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Report memory problems, if any are found.",
    "MALLOC-STATS",
    "    Report the allocator's own statistics.",
    "PURGE",
    "    Ask the allocator to give back the memory it keeps free.",
    "STATS",
    "    Report the server's memory use, item by item.",
    "USAGE <key> [SAMPLES <count>]",
    "    Report the bytes <key> and its value use (corecache counts exactly; SAMPLES",
    "    is accepted for compatibility).",
    "HELP",
    "    Prints this help.",
];

pub async fn run(
    shard: &Rc<Shard>,
    client: &ClientHandle,
    spec: &'static CommandSpec,
    args: Vec<Bytes>,
) -> Result<Reply, CmdError> {
    let sub = &args[1];
    let exactly_two = args.len() == 2;
    if eq_ic(sub, "USAGE") && args.len() >= 3 {
        let owner = shard.slots.owner_of_key(&args[2]);
        let db = client.info.borrow().db;
        return Ok(super::debug::on_shard(shard, owner, spec, db, args).await);
    }
    if eq_ic(sub, "HELP") && exactly_two {
        return Ok(Reply::Array(
            HELP.iter().map(|l| Reply::status(*l)).collect(),
        ));
    }
    if eq_ic(sub, "STATS") && exactly_two {
        return Ok(stats(shard).await);
    }
    if eq_ic(sub, "DOCTOR") && exactly_two {
        return Ok(Reply::Verbatim(doctor(&gather(shard).await)));
    }
    if eq_ic(sub, "MALLOC-STATS") && exactly_two {
        return Ok(Reply::Verbatim(malloc_stats(&gather(shard).await)));
    }
    if eq_ic(sub, "PURGE") && exactly_two {
        shard
            .run_everywhere(|| |_: &Rc<Shard>| crate::runtime::memory::purge_freed())
            .await;
        return Ok(Reply::Ok);
    }
    let known = ["USAGE", "HELP", "STATS", "DOCTOR", "MALLOC-STATS", "PURGE"];
    match known.iter().find(|k| eq_ic(sub, k)) {
        Some(k) => Err(CmdError::WrongArity(format!(
            "memory|{}",
            k.to_ascii_lowercase()
        ))),
        None => Err(CmdError::UnknownSubcommand {
            sub: String::from_utf8_lossy(sub).into_owned(),
            cmd: "memory".into(),
        }),
    }
}

/// What one shard reports for MEMORY STATS.
struct ShardMemory {
    id: usize,
    /// The shard's tally (see `Meter::tally`): right only in sum over shards.
    used: i64,
    startup: u64,
    /// The process's peak (the same on every shard).
    peak: u64,
    not_counted: u64,
    clients_input: u64,
    keys: u64,
    /// (db, main table overhead, bytes of TTLs in nodes) for non-empty databases.
    dbs: Vec<(usize, u64, u64)>,
}

async fn gather(shard: &Rc<Shard>) -> Vec<ShardMemory> {
    shard
        .run_everywhere(|| {
            |s: &Rc<Shard>| {
                let ks = s.ks.borrow();
                ks.budget.publish();
                let mut dbs = Vec::new();
                let mut keys = 0;
                for db in 0..ks.db_count() {
                    let d = ks.db(db);
                    if d.is_empty() {
                        continue;
                    }
                    keys += d.len() as u64;
                    let (main, expires) = d.overhead();
                    dbs.push((db, main as u64, expires as u64));
                }
                ShardMemory {
                    id: s.id,
                    used: ks.budget.meter.tally(),
                    startup: STARTUP.with(Cell::get),
                    peak: ks.budget.usage.peak(),
                    not_counted: ks.budget.not_counted,
                    clients_input: s.clients.borrow().input_bytes() as u64,
                    keys,
                    dbs,
                }
            }
        })
        .await
}

/// MEMORY STATS with Redis 7.0's fields, summed over shards. corecache has no
/// replication, AOF or cluster bus, so those items are zero; the allocator items come
/// from the counting allocator and the process's RSS.
async fn stats(shard: &Rc<Shard>) -> Reply {
    let all = gather(shard).await;
    let sum = |f: &dyn Fn(&ShardMemory) -> u64| all.iter().map(f).sum::<u64>();
    let total = all.iter().map(|m| m.used).sum::<i64>().max(0) as u64;
    let startup = sum(&|m| m.startup);
    let peak = process_peak(&all).max(total);
    let clients = sum(&|m| m.clients_input);
    let keys = sum(&|m| m.keys);
    let mut per_db: Vec<(usize, u64, u64)> = Vec::new();
    for m in &all {
        for &(db, main, expires) in &m.dbs {
            match per_db.iter_mut().find(|d| d.0 == db) {
                Some(d) => {
                    d.1 += main;
                    d.2 += expires;
                }
                None => per_db.push((db, main, expires)),
            }
        }
    }
    per_db.sort_unstable();
    let tables: u64 = per_db.iter().map(|d| d.1 + d.2).sum();
    // Start-up memory includes the network driver's receive buffers.
    let overhead = startup + clients + tables;
    let dataset = total.saturating_sub(overhead);
    let net = total.saturating_sub(startup).max(1);
    let rss = crate::commands::info::rss_bytes().max(0) as u64;
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let int = |name: &str, v: u64| (Reply::bulk(name), Reply::Int(v as i64));
    let dbl = |name: &str, v: f64| (Reply::bulk(name), Reply::Double(v));
    let mut out = vec![
        int("peak.allocated", peak),
        int("total.allocated", total),
        int("startup.allocated", startup),
        int("replication.backlog", 0),
        int("clients.slaves", 0),
        int("clients.normal", clients),
        int("cluster.links", 0),
        int("aof.buffer", 0),
        int("lua.caches", 0),
        int("functions.caches", 0),
    ];
    for (db, main, expires) in per_db {
        out.push((
            Reply::bulk(format!("db.{db}")),
            Reply::Map(vec![
                int("overhead.hashtable.main", main),
                int("overhead.hashtable.expires", expires),
                int("overhead.hashtable.slot-to-keys", 0),
            ]),
        ));
    }
    out.extend([
        int("overhead.total", overhead),
        int("keys.count", keys),
        int("keys.bytes-per-key", net.checked_div(keys).unwrap_or(0)),
        int("dataset.bytes", dataset),
        dbl("dataset.percentage", 100.0 * ratio(dataset, net)),
        dbl("peak.percentage", 100.0 * ratio(total, peak)),
        int("allocator.allocated", total),
        int("allocator.active", total),
        int("allocator.resident", rss),
        dbl("allocator-fragmentation.ratio", 1.0),
        int("allocator-fragmentation.bytes", 0),
        dbl("allocator.rss-ratio", ratio(rss, total)),
        int("allocator.rss-bytes", rss.saturating_sub(total)),
        dbl("rss-overhead.ratio", 1.0),
        int("rss-overhead.bytes", 0),
        dbl("fragmentation", ratio(rss, total)),
        int("fragmentation.bytes", rss.saturating_sub(total)),
    ]);
    Reply::Map(out)
}

/// The process's peak of used memory (every shard reports the same figure).
fn process_peak(all: &[ShardMemory]) -> u64 {
    all.iter().map(|m| m.peak).max().unwrap_or(0)
}

/// MEMORY DOCTOR: looks for the problems the figures can show.
fn doctor(all: &[ShardMemory]) -> String {
    let total = all.iter().map(|m| m.used).sum::<i64>().max(0) as u64;
    let startup: u64 = all.iter().map(|m| m.startup).sum();
    let peak = process_peak(all).max(total);
    let rss = crate::commands::info::rss_bytes().max(0) as u64;
    if total.saturating_sub(startup) < 5 << 20 {
        return "This instance holds very little data (under 5 MB), too little for these \
                checks to mean anything. Load some data and ask again."
            .into();
    }
    let mut issues = Vec::new();
    if peak > total + total / 2 {
        issues.push(format!(
            "Peak memory: the peak ({peak} bytes) is more than 150% of the memory used now \
             ({total} bytes). The allocator may keep pages it cannot give back; RSS can \
             stay near the peak."
        ));
    }
    // The binary, thread stacks and io_uring's memory are RSS too: only a large excess
    // is news.
    if rss > total + total / 2 + (64 << 20) {
        issues.push(format!(
            "High RSS overhead: the process's RSS ({rss} bytes) is more than 150% of the \
             memory in use ({total} bytes). MEMORY PURGE asks the allocator to give free \
             pages back."
        ));
    }
    let fullest = all.iter().max_by_key(|m| m.keys);
    let emptiest = all.iter().min_by_key(|m| m.keys);
    if let (Some(f), Some(e)) = (fullest, emptiest) {
        if all.len() > 1 && f.keys > 2 * e.keys.max(1000) {
            issues.push(format!(
                "Uneven shards: shard {} holds {} keys, shard {} only {}. Hash tags that \
                 put many keys in one slot keep one core busier than the others.",
                f.id, f.keys, e.id, e.keys
            ));
        }
    }
    if issues.is_empty() {
        return "No memory problem found in the figures this instance reports.".into();
    }
    let mut report = String::from("Memory problems found:\n\n");
    for i in issues {
        report.push_str(" * ");
        report.push_str(&i);
        report.push_str("\n\n");
    }
    report
}

/// MEMORY MALLOC-STATS: what the counting allocator knows, per shard.
fn malloc_stats(all: &[ShardMemory]) -> String {
    let peak = process_peak(all);
    let mut out = format!(
        "Allocator: mimalloc, counted per thread by corecache's counting allocator.\n\
         Peak of the process: {peak} bytes.\n"
    );
    for m in all {
        out.push_str(&format!(
            "shard {}: heap tally {} bytes (bytes it frees for other shards count \
             against it: only the sum is exact), at start-up {} bytes, receive buffers \
             {} bytes\n",
            m.id, m.used, m.startup, m.not_counted
        ));
    }
    out
}
