//! Command-line configuration and the runtime settings CONFIG GET/SET expose.

use std::sync::OnceLock;

use clap::Parser;

static PUBLIC: OnceLock<(String, u16)> = OnceLock::new();

/// Records the address clients connect to (once, at start-up).
pub fn set_public_addr(bind: &str, port: u16) {
    let _ = PUBLIC.set((bind.to_string(), port));
}

/// The port clients connect to.
pub fn public_port() -> u16 {
    PUBLIC.get().map_or(0, |p| p.1)
}

/// The address the public port is bound to.
pub fn bind_addr() -> String {
    PUBLIC.get().map(|p| p.0.clone()).unwrap_or_default()
}

#[derive(Parser, Debug, Clone)]
#[command(
    name = "corecache",
    version,
    // A configuration file's directive, then the same flag on the command line: the
    // last one wins (see `config_file`).
    args_override_self = true,
    about = "A Redis-compatible, thread-per-core in-memory cache on io_uring",
    long_about = "A Redis-compatible, thread-per-core in-memory cache on io_uring.\n\n\
        Usage: corecache [CONFIG-FILE] [OPTIONS]. A configuration file has one directive \
        per line with Redis's names (`maxmemory 2gb`, `appendonly yes`), the same as the \
        options without their dashes; options on the command line win.\n\n\
        Every selected CPU runs one shard: an executor pinned to that CPU that owns a \
        contiguous range of the 16384 hash slots and serves the connections the kernel \
        gives it on the shared port (SO_REUSEPORT)."
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,

    /// TCP port (0 picks a free port; the chosen one is printed on start-up).
    #[arg(long, default_value_t = 6379)]
    pub port: u16,

    /// Port of the Prometheus metrics endpoint (plain HTTP, `GET /metrics`, served by
    /// shard 0). 0: off.
    #[arg(long, default_value_t = 0)]
    pub metrics_port: u16,

    /// Address of the metrics endpoint. Default: the same as --bind.
    #[arg(long)]
    pub metrics_bind: Option<String>,

    /// Number of shards (one per CPU). Defaults to the CPUs this process may run on.
    #[arg(long, conflicts_with = "cpus")]
    pub threads: Option<usize>,

    /// CPUs to run shards on, e.g. `0-3,8`. One shard per CPU.
    #[arg(long, value_parser = parse_cpu_list)]
    pub cpus: Option<CpuList>,

    /// Number of logical databases (SELECT 0..N-1).
    #[arg(long, default_value_t = 16)]
    pub databases: usize,

    /// Maximum number of connected clients.
    #[arg(long, default_value_t = 10000)]
    pub maxclients: usize,

    /// Seconds between TCP keepalive probes on clients' connections (0: off).
    #[arg(long, default_value_t = 300)]
    pub tcp_keepalive: u64,

    /// Seconds a replica's primary may stay silent before the link is dropped.
    #[arg(long, default_value_t = 60)]
    pub repl_timeout: u64,

    /// Log verbosity: debug, verbose, notice or warning.
    #[arg(long, default_value = "notice", value_parser = ["debug", "verbose", "notice", "warning"])]
    pub loglevel: String,

    /// Password clients must give with AUTH (empty: none).
    #[arg(long, default_value = "")]
    pub requirepass: String,

    /// An ACL user as Redis's `user` directive gives it: `NAME RULES...` in one value
    /// (`--user "alice on >pw ~app:* +@read"`). Repeatable; not with `--aclfile`.
    #[arg(long = "user", value_name = "NAME RULES")]
    pub users: Vec<String>,

    /// Turn away clients from outside the loopback interface while the default user
    /// has no password (Redis's protected mode).
    #[arg(long, default_value = "yes", value_parser = ["yes", "no"])]
    pub protected_mode: String,

    /// A port for TLS clients (0: none).
    #[arg(long, default_value_t = 0)]
    pub tls_port: u16,

    /// The server's certificate (PEM, with its chain) for `--tls-port`.
    #[arg(long)]
    pub tls_cert_file: Option<String>,

    /// The server's private key (PEM).
    #[arg(long)]
    pub tls_key_file: Option<String>,

    /// CA certificates (PEM) that clients' certificates must chain to.
    #[arg(long)]
    pub tls_ca_cert_file: Option<String>,

    /// Whether TLS clients must present a certificate: yes, no or optional.
    #[arg(long, default_value = "yes", value_parser = ["yes", "no", "optional"])]
    pub tls_auth_clients: String,

    /// The certificate a replica presents to its primary (default: tls-cert-file).
    #[arg(long)]
    pub tls_client_cert_file: Option<String>,

    /// The key of tls-client-cert-file (default: tls-key-file).
    #[arg(long)]
    pub tls_client_key_file: Option<String>,

    /// Whether a replica connects to its primary over TLS (the primary's address is
    /// then its TLS port).
    #[arg(long, default_value = "no", value_parser = ["yes", "no"])]
    pub tls_replication: String,

    /// Whether the cluster node ports, and the links between cluster processes, speak
    /// TLS (with the TLS port's certificate and CA).
    #[arg(long, default_value = "no", value_parser = ["yes", "no"])]
    pub tls_cluster: String,

    /// The ACL file: the users at start-up, ACL LOAD and ACL SAVE.
    #[arg(long)]
    pub aclfile: Option<String>,

    /// ACL LOG's length.
    #[arg(long, default_value_t = 128)]
    pub acllog_max_len: u64,

    /// The channels a new ACL user starts with.
    #[arg(long, default_value = "resetchannels", value_parser = ["resetchannels", "allchannels"])]
    pub acl_pubsub_default: String,

    /// Password this server gives its primary when it replicates one (AUTH).
    #[arg(long, default_value = "")]
    pub masterauth: String,

    /// Start as a replica of `HOST PORT` (as REPLICAOF at start-up): two values, or
    /// one with both (a configuration file's `replicaof host port`).
    #[arg(long, alias = "slaveof", num_args = 1..=2, value_names = ["HOST", "PORT"])]
    pub replicaof: Vec<String>,

    /// Largest bulk string a client may send (bytes, or with Redis's units: 512mb).
    #[arg(long, default_value = "512mb", value_parser = parse_memory_usize_arg)]
    pub proto_max_bulk_len: usize,

    /// Largest unparsed input a client may have buffered (bytes, or with units: 1gb).
    #[arg(long, default_value = "1gb", value_parser = parse_memory_usize_arg)]
    pub client_query_buffer_limit: usize,

    /// Memory budget of the whole process for keys and values (split evenly between
    /// shards), with Redis's units: `100mb`, `2gb`, plain bytes. 0: no limit.
    #[arg(long, default_value = "0", value_parser = parse_memory_arg)]
    pub maxmemory: u64,

    /// What to evict at the budget: noeviction, allkeys-lru, allkeys-lfu,
    /// allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl.
    #[arg(long, default_value = "noeviction", value_parser = parse_policy_arg)]
    pub maxmemory_policy: String,

    /// Bytes of the replication stream kept for replicas that reconnect (partial
    /// resync), with Redis's units; at least 16 KiB.
    #[arg(long, default_value = "1mb", value_parser = parse_memory_usize_arg)]
    pub repl_backlog_size: usize,

    /// A primary refuses writes (-NOREPLICAS) with fewer than this many replicas that
    /// acknowledged within `--min-replicas-max-lag` seconds (0: never).
    #[arg(long, alias = "min-slaves-to-write", default_value_t = 0)]
    pub min_replicas_to_write: u64,

    #[arg(long, alias = "min-slaves-max-lag", default_value_t = 10)]
    pub min_replicas_max_lag: u64,

    /// Whether a replica refuses clients' writes (-READONLY); `no` lets them write
    /// locally (not passed on to its own replicas, as in Redis).
    #[arg(long, alias = "slave-read-only", default_value = "yes", value_parser = ["yes", "no"])]
    pub replica_read_only: String,

    /// Whether a replica whose link is down still answers (else -MASTERDOWN).
    #[arg(long, alias = "slave-serve-stale-data", default_value = "yes", value_parser = ["yes", "no"])]
    pub replica_serve_stale_data: String,

    /// An engine setting as CONFIG SET takes it, `NAME=VALUE`: the collections'
    /// encoding thresholds (`hash-max-listpack-entries=256`), `list-compress-depth=1`,
    /// the stream node sizes, the LFU factors. Repeatable; a configuration file's lines
    /// for these settings become this flag.
    #[arg(long = "engine-setting", value_name = "NAME=VALUE", value_parser = parse_engine_setting_arg)]
    pub engine_setting: Vec<String>,

    /// Memory each executor registers with io_uring, in KiB (counted against memlock).
    #[arg(long, default_value_t = 256)]
    pub io_memory_kib: usize,

    /// Network path: `uring` (each shard's own io_uring: multishot receive, one system
    /// call per loop) or `glommio` (glommio's TcpStream, the earlier path).
    #[arg(long, env = "CORECACHE_IO_ENGINE", default_value = "uring", value_parser = ["uring", "glommio"])]
    pub io_engine: String,

    /// With `--io-engine uring`: microseconds an idle shard polls for work before it
    /// sleeps. Polling answers peers and clients sooner (waking a sleeping core costs
    /// tens of microseconds on virtual machines) but keeps the core busy; for cores
    /// dedicated to corecache. 0: never poll.
    #[arg(long, env = "CORECACHE_IDLE_SPIN_US", default_value_t = 0)]
    pub idle_spin_us: u64,

    /// Directory of the RDB file (and where it is loaded from at start-up).
    #[arg(long, default_value = ".")]
    pub dir: String,

    /// Name of the RDB file in `--dir`.
    #[arg(long, default_value = "dump.rdb")]
    pub dbfilename: String,

    /// Save points: "seconds changes" pairs: a BGSAVE starts when at least `changes`
    /// writes happened in the last `seconds`; "" saves only on SAVE, BGSAVE and
    /// SHUTDOWN SAVE. Redis's default; with save points set, SIGTERM saves too.
    #[arg(long, default_value = "3600 1 300 100 60 10000", value_parser = parse_save_arg)]
    pub save: String,

    /// Whether CONFIG SET may change protected settings (`dir`, `dbfilename`): `no`
    /// (Redis 7's default), `yes`, or `local` (from loopback connections only, which
    /// corecache treats as `yes`).
    #[arg(long, default_value = "no", value_parser = ["yes", "no", "local"])]
    pub enable_protected_configs: String,

    /// Log every write to the append-only file (Redis 7's multi-part AOF in
    /// `--dir`/`--appenddirname`); at start-up the data come from it instead of the RDB
    /// file.
    #[arg(long, default_value = "no", value_parser = ["yes", "no"])]
    pub appendonly: String,

    /// When the append-only file reaches the disk: `always` (before each reply; the
    /// writes of one loop of a shard share one fdatasync), `everysec`, or `no` (the
    /// kernel decides).
    #[arg(long, default_value = "everysec", value_parser = ["always", "everysec", "no"])]
    pub appendfsync: String,

    /// Name prefix of the append-only files (`<name>.1.base.rdb`, `<name>.1.incr.aof`,
    /// `<name>.manifest`).
    #[arg(long, default_value = "appendonly.aof")]
    pub appendfilename: String,

    /// Directory of the append-only files, inside `--dir`.
    #[arg(long, default_value = "appendonlydir")]
    pub appenddirname: String,

    /// Load an append-only file whose last command was cut short by a crash (the torn
    /// tail is cut off the file and reported) instead of refusing to start.
    #[arg(long, default_value = "yes", value_parser = ["yes", "no"])]
    pub aof_load_truncated: String,

    /// Rewrites write the base file as an RDB snapshot (`no`: as commands, one
    /// `RESTORE` per key).
    #[arg(long, default_value = "yes", value_parser = ["yes", "no"])]
    pub aof_use_rdb_preamble: String,

    /// Rewrite the append-only files when they grew by this percentage since the last
    /// rewrite (0: never on its own).
    #[arg(long, default_value_t = 100)]
    pub auto_aof_rewrite_percentage: u64,

    /// ... and are at least this big.
    #[arg(long, default_value = "64mb", value_parser = parse_memory_arg)]
    pub auto_aof_rewrite_min_size: u64,

    /// Limits on output waiting for a client, per class, in Redis's syntax: `pubsub
    /// 32mb 8mb 60` (a subscriber over 32 MB, or over 8 MB for 60 s, is disconnected).
    /// The pubsub and replica classes are enforced; `normal` must keep Redis's default.
    #[arg(long, default_value = "", value_parser = parse_output_limits_arg)]
    pub client_output_buffer_limit: String,

    /// Keyspace notifications: Redis's classes (`K` keyspace, `E` keyevent, `g` `$` `l`
    /// `s` `h` `z` `x` `e` `n`, `A` for all); "" turns them off.
    #[arg(long, default_value = "", value_parser = parse_notify_arg)]
    pub notify_keyspace_events: String,

    /// Client-side caching: the most keys the tracking table remembers (split over the
    /// shards; 0: no limit).
    #[arg(long, default_value_t = 1_000_000)]
    pub tracking_table_max_keys: u64,

    /// Background tasks per second on each shard (active expiry, eviction, resizing,
    /// statistics): 1 to 500.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=500))]
    pub hz: u64,

    /// Raise `hz` with the number of clients (one step per 200 clients, up to 500), as
    /// Redis's dynamic-hz.
    #[arg(long, default_value = "yes", value_parser = ["yes", "no"])]
    pub dynamic_hz: String,

    /// Close a client idle for this many seconds (0: never; Pub/Sub and blocked clients
    /// are kept).
    #[arg(long, default_value_t = 0)]
    pub timeout: u64,

    /// Commands taking at least this many microseconds go to the slow log (-1: off,
    /// 0: every command).
    #[arg(long, default_value_t = 10000, allow_negative_numbers = true,
          value_parser = clap::value_parser!(i64).range(-1..))]
    pub slowlog_log_slower_than: i64,

    /// The most entries the slow log keeps.
    #[arg(long, default_value_t = 128)]
    pub slowlog_max_len: u64,

    /// Per-command latency histograms (INFO latencystats).
    #[arg(long, default_value = "yes", value_parser = ["yes", "no"])]
    pub latency_tracking: String,

    /// The percentiles INFO latencystats reports.
    #[arg(long, default_value = "50 99 99.9", value_parser = parse_percentiles_arg)]
    pub latency_tracking_info_percentiles: String,

    /// LATENCY's monitor: events lasting at least this many milliseconds are
    /// recorded (0: off).
    #[arg(long, default_value_t = 0)]
    pub latency_monitor_threshold: u64,

    /// LZF-compress strings in RDB files.
    #[arg(long, default_value = "yes", value_parser = ["yes", "no"])]
    pub rdbcompression: String,

    /// Write (and check) the RDB file's CRC-64.
    #[arg(long, default_value = "yes", value_parser = ["yes", "no"])]
    pub rdbchecksum: String,

    /// Keep transparent huge pages off for this process, as Redis's `disable-thp`
    /// does: the allocator asks for huge pages on its arenas, and a 2 MiB page that a
    /// few keys touch counts whole in RSS (and costs latency when the kernel merges).
    #[arg(long, default_value = "yes", value_parser = ["yes", "no"])]
    pub disable_thp: String,

    /// Do not pin shards to CPUs (useful with more shards than CPUs, in tests).
    #[arg(long)]
    pub no_pin: bool,

    /// Redis Cluster mode: every shard is also announced as a cluster node (a master
    /// owning its slot range) listening on its own port.
    #[arg(long, alias = "cluster-enabled", default_value = "no", value_parser = ["yes", "no"])]
    pub cluster_mode: String,

    /// Port of shard 0's cluster node; shard i listens on base + i. Default: --port + 1
    /// (free ports picked by the system when --port is 0).
    #[arg(long)]
    pub cluster_port_base: Option<u16>,

    /// File that keeps the node ids of this process's shards across restarts (created
    /// when missing). Default: nodes-<port>.conf in the working directory.
    #[arg(long)]
    pub cluster_config_file: Option<String>,

    /// IP address announced to clients (CLUSTER SLOTS, NODES, MOVED) instead of --bind,
    /// for NAT and containers.
    #[arg(long)]
    pub cluster_announce_ip: Option<String>,

    /// Topology of a cluster of several processes: one line per process with its
    /// `ip:port`, its number of shards and the slot ranges it owns (see deploy/).
    /// Without it, this process alone owns all 16384 slots.
    #[arg(long)]
    pub cluster_config: Option<String>,
}

pub use shards::config::parse_memory;

fn parse_memory_usize_arg(v: &str) -> Result<usize, String> {
    parse_memory_arg(v).map(|m| m as usize)
}

fn parse_memory_arg(v: &str) -> Result<u64, String> {
    parse_memory(v).ok_or_else(|| format!("'{v}' is not a memory size (e.g. 100mb)"))
}

/// A `save` value in its canonical form (pairs of non-negative integers separated by
/// single spaces; "" for none), or None when it is not one.
pub fn normalize_save(v: &str) -> Option<String> {
    let words: Vec<&str> = v.split_whitespace().collect();
    (words.len().is_multiple_of(2) && words.iter().all(|w| w.parse::<u64>().is_ok()))
        .then(|| words.join(" "))
}

fn parse_save_arg(v: &str) -> Result<String, String> {
    normalize_save(v).ok_or_else(|| "save points are pairs of seconds and changes".into())
}

fn parse_output_limits_arg(v: &str) -> Result<String, String> {
    if v.is_empty() {
        return Ok(String::new());
    }
    crate::base::output_limits::OutputLimits::default()
        .updated(v)
        .ok_or_else(|| format!("'{v}' is not <class> <hard> <soft> <seconds> groups"))?;
    Ok(v.to_string())
}

fn parse_notify_arg(v: &str) -> Result<String, String> {
    shards::notify::parse_flags(v)
        .map(|_| v.to_string())
        .ok_or_else(|| "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into())
}

fn parse_engine_setting_arg(v: &str) -> Result<String, String> {
    let (name, value) = v
        .split_once('=')
        .ok_or_else(|| format!("'{v}' is not NAME=VALUE"))?;
    shards::config::EngineConfig::default()
        .set(&name.to_ascii_lowercase(), value)
        .map_err(|why| format!("{name}: {why}"))?;
    Ok(v.to_string())
}

fn parse_policy_arg(v: &str) -> Result<String, String> {
    shards::evict::Policy::parse(v)
        .map(|p| p.name().to_string())
        .ok_or_else(|| format!("'{v}' is not a maxmemory policy"))
}

/// A list of CPU ids.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuList(pub Vec<usize>);

/// Parses `0-3,8,10-11`.
pub fn parse_cpu_list(s: &str) -> Result<CpuList, String> {
    let mut cpus = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("invalid CPU list element '{part}'");
        match part.split_once('-') {
            Some((a, b)) => {
                let a: usize = a.trim().parse().map_err(|_| bad())?;
                let b: usize = b.trim().parse().map_err(|_| bad())?;
                if a > b {
                    return Err(bad());
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().map_err(|_| bad())?),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    if cpus.is_empty() {
        return Err("empty CPU list".into());
    }
    Ok(CpuList(cpus))
}

/// The CPUs this process may run on (its affinity mask).
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it for this process.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

impl Config {
    pub fn cluster_enabled(&self) -> bool {
        self.cluster_mode == "yes"
    }

    /// Whether shards run the network driver (else glommio's streams).
    pub fn uring_engine(&self) -> bool {
        self.io_engine == "uring"
    }

    /// The CPU each shard runs on (repeated round-robin when there are more shards
    /// than CPUs), and whether shards are pinned.
    pub fn shard_cpus(&self) -> Vec<usize> {
        let allowed = allowed_cpus();
        match (&self.cpus, self.threads) {
            (Some(list), _) => list.0.clone(),
            (None, Some(n)) => (0..n.max(1)).map(|i| allowed[i % allowed.len()]).collect(),
            (None, None) => allowed,
        }
    }
}

/// Settings that CONFIG SET may change at run time. Each shard holds its own copy;
/// CONFIG SET updates every copy through the mesh, so no lock sits on the command path.
#[derive(Debug, Clone)]
pub struct Settings {
    pub requirepass: String,
    pub masterauth: String,
    pub maxclients: usize,
    pub loglevel: String,
    pub proto_max_bulk_len: usize,
    pub client_query_buffer_limit: usize,
    pub timeout: u64,
    /// `tcp-keepalive` seconds for new connections (0: off).
    pub tcp_keepalive: u64,
    pub hz: u64,
    pub dynamic_hz: bool,
    pub maxmemory: u64,
    pub save: String,
    pub appendonly: String,
    pub appendfilename: String,
    pub appenddirname: String,
    pub aof_load_truncated: bool,
    pub aof_use_rdb_preamble: bool,
    pub auto_aof_rewrite_percentage: u64,
    pub auto_aof_rewrite_min_size: u64,
    pub active_expire: bool,
    pub dir: String,
    pub dbfilename: String,
    pub rdbcompression: bool,
    pub rdbchecksum: bool,
    pub stop_writes_on_bgsave_error: bool,
    pub protected_configs: bool,
    pub output_limits: crate::base::output_limits::OutputLimits,
    pub notify_keyspace_events: u32,
    pub tracking_table_max_keys: u64,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: u64,
    pub latency_tracking: bool,
    pub latency_percentiles: Vec<f64>,
}

/// `latency-tracking-info-percentiles`: numbers from 0 to 100 ("" for none), or
/// Redis's error text.
pub fn parse_percentiles(v: &str) -> Result<Vec<f64>, &'static str> {
    v.split_whitespace()
        .map(|p| match p.parse::<f64>() {
            Ok(x) if x.is_nan() => Err("Invalid latency-tracking-info-percentiles parameters"),
            Ok(x) if !(0.0..=100.0).contains(&x) => {
                Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
            }
            Ok(x) => Ok(x),
            Err(_) => Err("Invalid latency-tracking-info-percentiles parameters"),
        })
        .collect()
}

fn parse_percentiles_arg(v: &str) -> Result<String, String> {
    parse_percentiles(v)
        .map(|_| v.to_string())
        .map_err(str::to_string)
}

/// A percentile as Redis prints it (`%f` without trailing zeros: 50, 99.9).
pub fn render_percentile(p: f64) -> String {
    let s = format!("{p:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl Settings {
    pub fn from_config(c: &Config) -> Self {
        Settings {
            requirepass: c.requirepass.clone(),
            masterauth: c.masterauth.clone(),
            maxclients: c.maxclients,
            loglevel: c.loglevel.clone(),
            proto_max_bulk_len: c.proto_max_bulk_len,
            client_query_buffer_limit: c.client_query_buffer_limit,
            timeout: c.timeout,
            tcp_keepalive: c.tcp_keepalive,
            hz: c.hz,
            dynamic_hz: c.dynamic_hz == "yes",
            maxmemory: c.maxmemory,
            save: c.save.clone(),
            appendonly: c.appendonly.clone(),
            appendfilename: c.appendfilename.clone(),
            appenddirname: c.appenddirname.clone(),
            aof_load_truncated: c.aof_load_truncated == "yes",
            aof_use_rdb_preamble: c.aof_use_rdb_preamble == "yes",
            auto_aof_rewrite_percentage: c.auto_aof_rewrite_percentage,
            auto_aof_rewrite_min_size: c.auto_aof_rewrite_min_size,
            active_expire: true,
            dir: c.dir.clone(),
            dbfilename: c.dbfilename.clone(),
            rdbcompression: c.rdbcompression == "yes",
            rdbchecksum: c.rdbchecksum == "yes",
            stop_writes_on_bgsave_error: true,
            protected_configs: c.enable_protected_configs != "no",
            notify_keyspace_events: shards::notify::parse_flags(&c.notify_keyspace_events)
                .unwrap_or(0),
            tracking_table_max_keys: c.tracking_table_max_keys,
            slowlog_log_slower_than: c.slowlog_log_slower_than,
            slowlog_max_len: c.slowlog_max_len,
            latency_tracking: c.latency_tracking == "yes",
            latency_percentiles: parse_percentiles(&c.latency_tracking_info_percentiles)
                .unwrap_or_default(),
            output_limits: crate::base::output_limits::OutputLimits::default()
                .updated(&c.client_output_buffer_limit)
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse_ranges_and_singles() {
        assert_eq!(parse_cpu_list("0-3,8").unwrap().0, vec![0, 1, 2, 3, 8]);
        assert_eq!(parse_cpu_list("2,1,1").unwrap().0, vec![1, 2]);
        assert!(parse_cpu_list("3-1").is_err());
        assert!(parse_cpu_list("x").is_err());
    }
}
