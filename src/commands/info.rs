//! INFO: each shard reports its own figures through the mesh; this module adds them up
//! and formats Redis's sections, plus a `shards` section with one line per shard.

use std::fmt::Write;
use std::rc::Rc;

use bytes::Bytes;
use shards::{CmdError, Reply, ShardId};

use super::REDIS_VERSION;
use crate::base::config::render_percentile;
use crate::runtime::clients::ClientHandle;
use crate::runtime::cmdstats::Snapshot;
use crate::runtime::shard::{rusage_us, thread_cpu_us, ServerStats, Shard};

/// What a shard tells INFO about itself.
#[derive(Debug, Clone, Default)]
pub struct ShardReport {
    pub id: ShardId,
    pub cpu: usize,
    pub db_keys: Vec<(usize, usize)>,
    pub used_memory: isize,
    pub not_counted_for_evict: u64,
    pub clients: usize,
    pub blocked_clients: usize,
    pub stats: ServerStats,
    pub hits: u64,
    pub misses: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
    pub cpu_user_us: u64,
    pub cpu_sys_us: u64,
    pub slots: Vec<(u16, u16)>,
    /// Clients with CLIENT TRACKING on (of this shard's clients).
    pub tracking_clients: usize,
    /// The tracking table here: keys, client-key items, BCAST prefixes.
    pub tracking: (usize, usize, usize),
    /// Commands per second, input and output KiB per second, lately.
    pub instant: [f64; 3],
    /// The scripting engine here: cached scripts, libraries, functions, and the bytes
    /// of its EVAL and functions Lua states (zeros before its first use).
    pub scripting: crate::commands::script_engine::EngineFigures,
    /// The largest query buffer of this shard's clients.
    pub max_qbuf: usize,
}

impl ShardReport {
    /// The report of the shard this runs on.
    pub fn of(shard: &Rc<Shard>) -> ShardReport {
        let ks = shard.ks.borrow();
        let db_keys = (0..ks.db_count())
            .map(|db| (ks.len(db), ks.db(db).expires_len()))
            .collect();
        let (user, sys) = thread_cpu_us();
        ShardReport {
            id: shard.id,
            cpu: shard.cpu,
            db_keys,
            // Signed: a shard that frees what others allocated goes below zero; only
            // the sum over shards is exact.
            used_memory: ks.budget.meter.tally() as isize,
            not_counted_for_evict: ks.budget.not_counted,
            clients: shard.clients.borrow().len(),
            blocked_clients: shard.blocked_clients(),
            stats: *shard.stats.borrow(),
            hits: ks.stats.hits,
            misses: ks.stats.misses,
            expired_keys: ks.stats.expired_keys,
            evicted_keys: ks.stats.evicted_keys,
            cpu_user_us: user,
            cpu_sys_us: sys,
            tracking_clients: shard.clients.borrow().tracking_ids().len(),
            tracking: shard.tracking.borrow().counts(),
            instant: shard.instant.borrow().rates(),
            scripting: crate::commands::script_engine::engine_figures(),
            max_qbuf: shard.clients.borrow().max_qbuf(),
            slots: if crate::commands::cluster::enabled() {
                crate::commands::cluster::with(|st| st.ranges_of(st.me))
            } else {
                shard.slots.ranges_of(shard.id)
            },
        }
    }
}

/// Which choice brings a section in.
#[derive(PartialEq, Clone, Copy)]
enum In {
    /// INFO without arguments, `default`, `all` and `everything`.
    Default,
    /// `all` and `everything`.
    All,
    /// Only when named (corecache's own).
    Named,
}

/// Every section, in Redis's order.
const SECTIONS: &[(&str, In)] = &[
    ("server", In::Default),
    ("clients", In::Default),
    ("memory", In::Default),
    ("persistence", In::Default),
    ("stats", In::Default),
    ("replication", In::Default),
    ("cpu", In::Default),
    ("modules", In::Default),
    ("commandstats", In::All),
    ("errorstats", In::Default),
    ("latencystats", In::All),
    ("cluster", In::Default),
    ("keyspace", In::Default),
    ("shards", In::Named),
];

/// The sections INFO's arguments choose, as redis-server 7 chooses them: any number
/// of names, `default`, `all` and `everything` (every section; no module adds more),
/// unknown names ignored.
fn chosen(args: &[Bytes]) -> Vec<&'static str> {
    let mut want = vec![false; SECTIONS.len()];
    let mut add = |pick: &dyn Fn(&str, In) -> bool| {
        for (w, (name, choice)) in want.iter_mut().zip(SECTIONS) {
            *w |= pick(name, *choice);
        }
    };
    if args.is_empty() {
        add(&|_, c| c == In::Default);
    }
    for a in args {
        let arg = String::from_utf8_lossy(a).to_ascii_lowercase();
        match arg.as_str() {
            "default" => add(&|_, c| c == In::Default),
            "all" | "everything" => add(&|_, c| c != In::Named),
            name => add(&|s, _| s == name),
        }
    }
    SECTIONS
        .iter()
        .zip(want)
        .filter_map(|((s, _), w)| w.then_some(*s))
        .collect()
}

/// INFO. On a cluster node port it describes that node (its shard) only, as a Redis
/// node would; on the public port, the whole process.
pub async fn run(
    shard: &Rc<Shard>,
    client: &ClientHandle,
    args: &[Bytes],
) -> Result<Reply, CmdError> {
    let sections = chosen(&args[1..]);
    let node_only = client.cluster.get().node_port;
    let mut reports: Vec<ShardReport> = shard.run_everywhere(|| ShardReport::of).await;
    if node_only {
        reports.retain(|r| r.id == shard.id);
    }
    let per_command = ["commandstats", "errorstats", "latencystats"];
    let commands = if sections.iter().any(|s| per_command.contains(s)) {
        let hist = sections.contains(&"latencystats");
        let me = shard.id;
        let all: Vec<(ShardId, Snapshot)> = shard
            .run_everywhere(|| move |sh: &Rc<Shard>| (sh.id, sh.cmdstats.borrow().snapshot(hist)))
            .await;
        let mine: Vec<Snapshot> = all
            .into_iter()
            .filter(|(id, _)| !node_only || *id == me)
            .map(|(_, s)| s)
            .collect();
        Snapshot::merge(&mine)
    } else {
        Snapshot::default()
    };
    let pubsub = if sections.contains(&"stats") {
        use crate::runtime::pubsub::Kind;
        let n = |v: Vec<(Bytes, usize)>| v.len();
        [
            n(crate::commands::pubsub::subscribed(shard, Kind::Channel).await),
            n(crate::commands::pubsub::subscribed(shard, Kind::Pattern).await),
            n(crate::commands::pubsub::subscribed(shard, Kind::Shard).await),
        ]
    } else {
        [0; 3]
    };
    let mut out = String::new();
    for section in sections {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        if per_command.contains(&section) {
            write_per_command(&mut out, section, shard, &commands);
        } else {
            write_section(&mut out, section, shard, &reports);
            write_more(&mut out, section, shard, &reports, pubsub);
        }
    }
    Ok(Reply::Verbatim(out))
}

/// Commandstats, errorstats and latencystats.
fn write_per_command(out: &mut String, section: &str, shard: &Shard, stats: &Snapshot) {
    match section {
        "commandstats" => {
            out.push_str("# Commandstats\r\n");
            for (name, c) in &stats.commands {
                let usec = c.ns / 1000;
                let per_call = if c.calls == 0 {
                    0.0
                } else {
                    usec as f64 / c.calls as f64
                };
                let _ = write!(
                    out,
                    "cmdstat_{name}:calls={},usec={usec},usec_per_call={per_call:.2},\
                     rejected_calls={},failed_calls={}\r\n",
                    c.calls, c.rejected, c.failed
                );
            }
        }
        "errorstats" => {
            out.push_str("# Errorstats\r\n");
            for (code, n) in &stats.errors {
                let _ = write!(out, "errorstat_{code}:count={n}\r\n");
            }
        }
        _ => {
            out.push_str("# Latencystats\r\n");
            let percentiles = shard.settings.borrow().latency_percentiles.clone();
            for (name, c) in &stats.commands {
                let Some(h) = &c.hist else { continue };
                let _ = write!(out, "latency_percentiles_usec_{name}:");
                for (i, p) in percentiles.iter().enumerate() {
                    let v = h.value_at_quantile(p / 100.0) as f64 / 1000.0;
                    let sep = if i == 0 { "" } else { "," };
                    let _ = write!(out, "{sep}p{}={v:.3}", render_percentile(*p));
                }
                out.push_str("\r\n");
            }
        }
    }
}

fn human(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}G", b / (1024.0 * 1024.0 * 1024.0))
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.2}M", b / (1024.0 * 1024.0))
    } else if b >= 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else {
        format!("{}B", b as i64)
    }
}

pub(crate) fn rss_bytes() -> i64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: i64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as i64
}

/// System and user CPU seconds of this process (`RUSAGE_SELF`) or of its children.
fn rusage_cpu(who: libc::c_int) -> (f64, f64) {
    let (user, sys) = rusage_us(who);
    (sys as f64 / 1e6, user as f64 / 1e6)
}

fn ranges(slots: &[(u16, u16)]) -> String {
    slots
        .iter()
        .map(|(a, b)| format!("{a}-{b}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn write_section(out: &mut String, section: &str, shard: &Shard, reports: &[ShardReport]) {
    let sum = |f: fn(&ShardReport) -> u64| reports.iter().map(f).sum::<u64>();
    let settings = shard.settings.borrow().clone();
    let now = shards::clock::system_ms();
    let uptime = now.saturating_sub(shard.started_ms) / 1000;
    let _ = match section {
        "server" => write!(
            out,
            "# Server\r\nredis_version:{REDIS_VERSION}\r\ncorecache_version:{}\r\nredis_mode:{}\r\n\
             os:{} {}\r\narch_bits:64\r\nmultiplexing_api:io_uring\r\nprocess_id:{}\r\n\
             tcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\n\
             hz:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\nshards:{}\r\n",
            env!("CARGO_PKG_VERSION"),
            if crate::commands::cluster::enabled() { "cluster" } else { "standalone" },
            std::env::consts::OS,
            std::env::consts::ARCH,
            std::process::id(),
            crate::base::config::public_port(),
            now * 1000,
            uptime / 86400,
            settings.hz,
            std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
            crate::base::config_file::config_file().map(|p| p.display().to_string()).unwrap_or_default(),
            shard.nshards,
        ),
        "clients" => write!(
            out,
            "# Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:{}\r\ntracking_clients:{}\r\n",
            reports.iter().map(|r| r.clients).sum::<usize>(),
            settings.maxclients,
            reports.iter().map(|r| r.blocked_clients).sum::<usize>(),
            reports.iter().map(|r| r.tracking_clients).sum::<usize>(),
        ),
        "memory" => {
            let used: i64 = reports.iter().map(|r| r.used_memory as i64).sum();
            let rss = rss_bytes();
            write!(
                out,
                "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\n\
                 used_memory_rss_human:{}\r\nmaxmemory:{}\r\nmaxmemory_human:{}\r\n\
                 maxmemory_policy:{}\r\nmem_fragmentation_ratio:{:.2}\r\nmem_not_counted_for_evict:{}\r\n\
                 mem_allocator:mimalloc\r\n",
                human(used),
                human(rss),
                settings.maxmemory,
                human(settings.maxmemory as i64),
                shard.ks.borrow().config.maxmemory_policy.name(),
                if used > 0 { rss as f64 / used as f64 } else { 0.0 },
                reports.iter().map(|r| r.not_counted_for_evict).sum::<u64>(),
            )
        }
        "persistence" => out.write_str(&crate::commands::save::info_section(sum(|r| r.stats.dirty))),
        "stats" => write!(
            out,
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\n\
             instantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\n\
             instantaneous_input_kbps:{:.2}\r\ninstantaneous_output_kbps:{:.2}\r\n\
             rejected_connections:{}\r\nexpired_keys:{}\r\nevicted_keys:{}\r\nkeyspace_hits:{}\r\n\
             keyspace_misses:{}\r\ntotal_error_replies:{}\r\nforwarded_commands:{}\r\n\
             forward_messages:{}\r\noptimistic_read_retries:{}\r\n\
             cluster_node_port_forwards:{}\r\ntracking_total_keys:{}\r\n\
             tracking_total_items:{}\r\ntracking_total_prefixes:{}\r\n",
            sum(|r| r.stats.connections),
            sum(|r| r.stats.commands),
            reports.iter().map(|r| r.instant[0]).sum::<f64>().round() as u64,
            sum(|r| r.stats.net_input_bytes),
            sum(|r| r.stats.net_output_bytes),
            reports.iter().map(|r| r.instant[1]).sum::<f64>(),
            reports.iter().map(|r| r.instant[2]).sum::<f64>(),
            sum(|r| r.stats.rejected_connections),
            sum(|r| r.expired_keys),
            sum(|r| r.evicted_keys),
            sum(|r| r.hits),
            sum(|r| r.misses),
            sum(|r| r.stats.error_replies),
            sum(|r| r.stats.forwarded_ops),
            sum(|r| r.stats.hop_messages),
            sum(|r| r.stats.read_retries),
            sum(|r| r.stats.node_port_forwards),
            reports.iter().map(|r| r.tracking.0).sum::<usize>(),
            reports.iter().map(|r| r.tracking.1).sum::<usize>(),
            // Every shard holds every BCAST prefix; shard 0's count is the total.
            reports.first().map_or(0, |r| r.tracking.2),
        ),
        "replication" => {
            out.push_str("# Replication\r\n");
            crate::commands::replication::info_fields(out);
            Ok(())
        }
        "modules" => out.write_str("# Modules\r\n"),
        "cpu" => {
            let (sys, user) = rusage_cpu(libc::RUSAGE_SELF);
            write!(
                out,
                "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\n\
                 used_cpu_sys_shards:{:.6}\r\nused_cpu_user_shards:{:.6}\r\n",
                sum(|r| r.cpu_sys_us) as f64 / 1e6,
                sum(|r| r.cpu_user_us) as f64 / 1e6,
            )
        }
        "cluster" => write!(
            out,
            "# Cluster\r\ncluster_enabled:{}\r\n",
            crate::commands::cluster::enabled() as u8
        ),
        "keyspace" => {
            let _ = write!(out, "# Keyspace\r\n");
            let dbs = reports.first().map_or(0, |r| r.db_keys.len());
            for db in 0..dbs {
                let keys: usize = reports.iter().map(|r| r.db_keys[db].0).sum();
                let expires: usize = reports.iter().map(|r| r.db_keys[db].1).sum();
                if keys > 0 {
                    let _ = write!(out, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
                }
            }
            Ok(())
        }
        "shards" => {
            let _ = write!(out, "# Shards\r\n");
            for r in reports {
                let keys: usize = r.db_keys.iter().map(|d| d.0).sum();
                let _ = write!(
                    out,
                    "shard{}:cpu={},slots={},keys={},used_memory={},clients={},commands={},\
                     forwarded_commands={},forward_messages={},used_cpu_user={:.6},used_cpu_sys={:.6}\r\n",
                    r.id,
                    r.cpu,
                    ranges(&r.slots),
                    keys,
                    r.used_memory,
                    r.clients,
                    r.stats.commands,
                    r.stats.forwarded_ops,
                    r.stats.hop_messages,
                    r.cpu_user_us as f64 / 1e6,
                    r.cpu_sys_us as f64 / 1e6,
                );
            }
            Ok(())
        }
        _ => Ok(()),
    };
}

fn total_system_memory() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The rest of Redis 7's fields of a section (exporters and Sentinel read them), after
/// `write_section`'s. Figures corecache has no counterpart for are what they are here:
/// no replication, no lazy freeing, no client eviction. No fork either: `total_forks` and
/// `latest_fork_usec` count snapshot starts and the time the latest held every shard.
fn write_more(
    out: &mut String,
    section: &str,
    shard: &Shard,
    reports: &[ShardReport],
    pubsub: [usize; 3],
) {
    let now_s = shards::clock::system_ms() / 1000;
    let forks = crate::commands::snapshot::start_stats();
    let syncs = crate::runtime::replicas::syncs();
    let sum = |f: fn(&ShardReport) -> usize| reports.iter().map(f).sum::<usize>();
    let _ = match section {
        "server" => write!(
            out,
            "run_id:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nprocess_supervised:no\r\n\
             redis_git_sha1:00000000\r\nredis_git_dirty:0\r\nmonotonic_clock:POSIX clock_gettime\r\n",
            crate::base::ids::process_id(0),
            shard.settings.borrow().hz,
            now_s & ((1 << 24) - 1),
        ),
        "clients" => write!(
            out,
            "cluster_connections:0\r\nclient_recent_max_input_buffer:{}\r\n",
            reports.iter().map(|r| r.max_qbuf).max().unwrap_or(0),
        ),
        "memory" => {
            let used: i64 = reports.iter().map(|r| r.used_memory as i64).sum();
            // The peak is sampled when shards publish; now may be higher.
            let peak = shard.ks.borrow().budget.usage.peak().max(used.max(0) as u64);
            let (eval_vm, func_vm) = (
                sum(|r| r.scripting.eval_vm_bytes),
                sum(|r| r.scripting.functions_vm_bytes),
            );
            let system = total_system_memory();
            // Every shard keeps the same scripts and libraries: one shard's counts.
            let first = reports.iter().map(|r| r.scripting).max_by_key(|f| f.scripts);
            let f = first.unwrap_or_default();
            write!(
                out,
                "used_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\n\
                 used_memory_lua:{eval_vm}\r\nused_memory_vm_eval:{eval_vm}\r\nused_memory_lua_human:{}\r\n\
                 used_memory_vm_functions:{func_vm}\r\nused_memory_vm_total:{}\r\n\
                 used_memory_vm_total_human:{}\r\nnumber_of_cached_scripts:{}\r\n\
                 number_of_functions:{}\r\nnumber_of_libraries:{}\r\ntotal_system_memory:{system}\r\n\
                 total_system_memory_human:{}\r\nmem_fragmentation_bytes:{}\r\n\
                 lazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
                human(peak as i64),
                if peak > 0 { used.max(0) as f64 * 100.0 / peak as f64 } else { 0.0 },
                human(eval_vm as i64),
                eval_vm + func_vm,
                human((eval_vm + func_vm) as i64),
                f.scripts,
                f.functions,
                f.libraries,
                human(system as i64),
                rss_bytes() - used,
            )
        }
        "stats" => write!(
            out,
            "pubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\n\
             evicted_clients:0\r\nlatest_fork_usec:{}\r\ntotal_forks:{}\r\nmigrate_cached_sockets:0\r\n\
             sync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\n",
            pubsub[0], pubsub[1], pubsub[2], forks.1, forks.0, syncs[0], syncs[1], syncs[2],
        ),
        "cpu" => {
            let (sys, user) = rusage_cpu(libc::RUSAGE_CHILDREN);
            write!(
                out,
                "used_cpu_sys_children:{sys:.6}\r\nused_cpu_user_children:{user:.6}\r\n"
            )
        }
        _ => Ok(()),
    };
}
