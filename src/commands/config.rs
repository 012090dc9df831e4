//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP over the settings each shard holds.

use std::rc::Rc;

use bytes::Bytes;
use shards::config::EngineConfig;
use shards::glob::glob_match;
use shards::{CmdError, Reply};

use super::config_values::{value_of, PARAMS};
use crate::base::config::{normalize_save, parse_memory, Settings};
use crate::runtime::shard::{ServerStats, Shard};

const IMMUTABLE: &[&str] = &[
    "bind",
    "port",
    "databases",
    "io-threads",
    "appendfilename",
    "appenddirname",
    "aclfile",
    "tls-port",
];

/// Settable only with `enable-protected-configs` (Redis 7).
const PROTECTED: &[&str] = &["dir", "dbfilename"];

/// Checks a CONFIG SET pair; the error names the argument as Redis does.
fn validate(name: &str, value: &str, protected_ok: bool) -> Result<(), CmdError> {
    let fail = |why: &str| {
        CmdError::other(format!(
            "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
        ))
    };
    if IMMUTABLE.contains(&name) {
        return Err(fail("can't set immutable config"));
    }
    if PROTECTED.contains(&name) && !protected_ok {
        return Err(fail("can't set protected config"));
    }
    if EngineConfig::knows(name) {
        return EngineConfig::default()
            .set(name, value)
            .map_err(|why| fail(&why));
    }
    if name.starts_with("tls-") {
        return crate::runtime::tls::with_changed(name, value)
            .map(|_| ())
            .map_err(|why| fail(&why));
    }
    let lower = value.to_ascii_lowercase();
    let one_of = |allowed: &[&str]| {
        if allowed.contains(&lower.as_str()) {
            Ok(())
        } else {
            Err(fail(&format!(
                "argument(s) must be one of the following: {}",
                allowed.join(", ")
            )))
        }
    };
    match name {
        "tracking-table-max-keys" | "acllog-max-len" => match value.parse::<i64>() {
            Ok(v) if v >= 0 => Ok(()),
            Ok(_) => Err(fail(
                "argument must be between 0 and 9223372036854775807 inclusive",
            )),
            Err(_) => Err(fail("argument couldn't be parsed into an integer")),
        },
        "maxclients"
        | "timeout"
        | "tcp-keepalive"
        | "repl-timeout"
        | "hz"
        | "busy-reply-threshold"
        | "lua-time-limit"
        | "min-replicas-to-write"
        | "min-replicas-max-lag" => {
            let v = value
                .parse::<i64>()
                .map_err(|_| fail("argument couldn't be parsed into an integer"))?;
            let min = if name == "maxclients" { 1 } else { 0 };
            if !(min..=i32::MAX as i64).contains(&v) {
                return Err(fail(&format!(
                    "argument must be between {min} and 2147483647 inclusive"
                )));
            }
            Ok(())
        }
        "slowlog-log-slower-than" | "slowlog-max-len" | "latency-monitor-threshold" => {
            let v = value
                .parse::<i64>()
                .map_err(|_| fail("argument couldn't be parsed into an integer"))?;
            let min = if name == "slowlog-log-slower-than" {
                -1
            } else {
                0
            };
            if v < min {
                return Err(fail(&format!(
                    "argument must be between {min} and 9223372036854775807 inclusive"
                )));
            }
            Ok(())
        }
        "latency-tracking-info-percentiles" => crate::base::config::parse_percentiles(value)
            .map(|_| ())
            .map_err(fail),
        "proto-max-bulk-len" | "client-query-buffer-limit" | "maxmemory" | "repl-backlog-size" => {
            let v = parse_memory(value).ok_or_else(|| fail("argument must be a memory value"))?;
            let min = match name {
                "proto-max-bulk-len" => 1024 * 1024,
                "client-query-buffer-limit" => 1024 * 1024,
                "repl-backlog-size" => 1,
                _ => 0,
            };
            if v < min {
                return Err(fail(&format!(
                    "argument must be between {min} and 9223372036854775807 inclusive"
                )));
            }
            Ok(())
        }
        "appendonly"
        | "rdbcompression"
        | "rdbchecksum"
        | "stop-writes-on-bgsave-error"
        | "aof-load-truncated"
        | "aof-use-rdb-preamble"
        | "latency-tracking"
        | "dynamic-hz"
        | "replica-serve-stale-data"
        | "replica-read-only"
        | "protected-mode"
            if lower != "yes" && lower != "no" =>
        {
            Err(fail("argument must be 'yes' or 'no'"))
        }
        "appendfsync" => one_of(&["always", "everysec", "no"]),
        "acl-pubsub-default" => one_of(&["resetchannels", "allchannels"]),
        // A full sync always streams the snapshot to the socket (Redis's diskless sync).
        "repl-diskless-sync" if lower != "yes" => Err(fail(
            "corecache always streams a full sync's snapshot to the replica (no disk-based sync)",
        )),
        "notify-keyspace-events" if shards::notify::parse_flags(value).is_none() => Err(fail(
            "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
        )),
        "client-output-buffer-limit" => crate::base::output_limits::OutputLimits::default()
            .updated(value)
            .map(|_| ())
            .ok_or_else(|| fail("Invalid argument")),
        "auto-aof-rewrite-percentage"
            if value.parse::<u32>().map_or(true, |v| v > i32::MAX as u32) =>
        {
            Err(fail("argument must be between 0 and 2147483647 inclusive"))
        }
        "auto-aof-rewrite-min-size" if parse_memory(value).is_none() => {
            Err(fail("argument must be a memory value"))
        }
        "save" if normalize_save(value).is_none() => Err(fail("Invalid save parameters")),
        "dir" if !std::path::Path::new(value).is_dir() => Err(fail("No such file or directory")),
        "dbfilename" if value.contains('/') || value.is_empty() => {
            Err(fail("dbfilename can't be a path, just a filename"))
        }
        "loglevel" => one_of(&["debug", "verbose", "notice", "warning", "nothing"]),
        _ => Ok(()),
    }
}

/// Applies a validated CONFIG SET pair to one shard's settings.
fn apply_setting(s: &mut Settings, name: &str, value: &str) {
    let mem = || parse_memory(value).unwrap_or(0);
    let num = || value.parse::<u64>().unwrap_or(0);
    match name {
        // Process-wide; checked by `validate`.
        _ if name.starts_with("tls-") => {
            if let Ok(tls) = crate::runtime::tls::with_changed(name, value) {
                let _ = crate::runtime::tls::configure(tls);
            }
        }
        "requirepass" => {
            s.requirepass = value.to_string();
            crate::runtime::acl::set_requirepass(value);
        }
        "masterauth" => s.masterauth = value.to_string(),
        "repl-diskless-sync" => {}
        "acllog-max-len" => crate::runtime::acl::set_log_max(num()),
        "protected-mode" => {
            crate::runtime::acl::set_protected_mode(value.eq_ignore_ascii_case("yes"))
        }
        "acl-pubsub-default" => {
            crate::runtime::acl::set_pubsub_all_default(value.eq_ignore_ascii_case("allchannels"))
        }
        "maxclients" => s.maxclients = num() as usize,
        "loglevel" => s.loglevel = value.to_ascii_lowercase(),
        "proto-max-bulk-len" => s.proto_max_bulk_len = mem() as usize,
        // Process-wide (one backlog); below 16 KiB it is 16 KiB, as in Redis.
        "repl-backlog-size" => crate::runtime::backlog::set_size(mem() as usize),
        // Process-wide, like the backlog.
        "min-replicas-to-write" => {
            let (_, lag) = crate::runtime::replicas::min_replicas();
            crate::runtime::replicas::set_min_replicas(num(), lag)
        }
        "min-replicas-max-lag" => {
            let (min, _) = crate::runtime::replicas::min_replicas();
            crate::runtime::replicas::set_min_replicas(min, num())
        }
        "replica-serve-stale-data" => {
            crate::runtime::upstream::set_serve_stale(value.eq_ignore_ascii_case("yes"))
        }
        "replica-read-only" => {
            crate::runtime::upstream::set_read_only(value.eq_ignore_ascii_case("yes"))
        }
        "client-query-buffer-limit" => s.client_query_buffer_limit = mem() as usize,
        "timeout" => s.timeout = num(),
        "tcp-keepalive" => s.tcp_keepalive = num(),
        "repl-timeout" => crate::runtime::upstream::set_repl_timeout(num()),
        "hz" => s.hz = num().clamp(1, 500),
        "dynamic-hz" => s.dynamic_hz = value.eq_ignore_ascii_case("yes"),
        "tracking-table-max-keys" => s.tracking_table_max_keys = num(),
        "maxmemory" => s.maxmemory = mem(),
        "save" => s.save = normalize_save(value).unwrap_or_default(),
        "dir" => s.dir = value.to_string(),
        "dbfilename" => s.dbfilename = value.to_string(),
        "rdbcompression" => s.rdbcompression = value.eq_ignore_ascii_case("yes"),
        "rdbchecksum" => s.rdbchecksum = value.eq_ignore_ascii_case("yes"),
        "stop-writes-on-bgsave-error" => {
            s.stop_writes_on_bgsave_error = value.eq_ignore_ascii_case("yes")
        }
        "appendonly" => s.appendonly = value.to_ascii_lowercase(),
        "appendfsync" => {
            if let Some(f) = crate::runtime::aof::Fsync::parse(value) {
                crate::runtime::aof::set_fsync(f);
            }
        }
        "aof-load-truncated" => s.aof_load_truncated = value.eq_ignore_ascii_case("yes"),
        "notify-keyspace-events" => {
            s.notify_keyspace_events = shards::notify::parse_flags(value).unwrap_or(0)
        }
        "client-output-buffer-limit" => {
            if let Some(l) = s.output_limits.updated(value) {
                s.output_limits = l;
            }
        }
        "aof-use-rdb-preamble" => s.aof_use_rdb_preamble = value.eq_ignore_ascii_case("yes"),
        "auto-aof-rewrite-percentage" => s.auto_aof_rewrite_percentage = num(),
        "auto-aof-rewrite-min-size" => s.auto_aof_rewrite_min_size = mem(),
        "busy-reply-threshold" | "lua-time-limit" => {
            crate::commands::script::set_busy_threshold(num())
        }
        "slowlog-log-slower-than" => s.slowlog_log_slower_than = value.parse().unwrap_or(-1),
        "slowlog-max-len" => s.slowlog_max_len = num(),
        "latency-tracking" => s.latency_tracking = value.eq_ignore_ascii_case("yes"),
        "latency-tracking-info-percentiles" => {
            s.latency_percentiles =
                crate::base::config::parse_percentiles(value).unwrap_or_default()
        }
        // Process-wide (the AOF's events have no shard).
        "latency-monitor-threshold" => crate::runtime::latency::set_threshold_ms(num()),
        _ => {}
    }
}

/// Applies validated CONFIG SET pairs to one shard.
fn apply_all(shard: &Rc<Shard>, pairs: Vec<(String, String)>) {
    {
        let mut s = shard.settings.borrow_mut();
        let mut ks = shard.ks.borrow_mut();
        for (k, v) in &pairs {
            if EngineConfig::knows(k) {
                // Validated before it was sent to the shards.
                let _ = ks.config.set(k, v);
            } else {
                apply_setting(&mut s, k, v);
            }
        }
    }
    if pairs.iter().any(|(k, _)| k == "maxmemory") {
        shard.set_maxmemory(shard.settings.borrow().maxmemory);
    }
    if pairs.iter().any(|(k, _)| k == "notify-keyspace-events") {
        shard.set_notify(shard.settings.borrow().notify_keyspace_events);
    }
    if pairs
        .iter()
        .any(|(k, _)| k == "slowlog-max-len" || k == "latency-tracking")
    {
        let s = shard.settings.borrow();
        shard.slowlog.borrow_mut().trim(s.slowlog_max_len as usize);
        shard.cmdstats.borrow_mut().latency = s.latency_tracking;
    }
    if pairs.iter().any(|(k, _)| k == "tracking-table-max-keys") {
        shard.set_tracking_limit(shard.settings.borrow().tracking_table_max_keys);
    }
}

/// CONFIG RESETSTAT on one shard.
fn reset_stats(shard: &Rc<Shard>) {
    *shard.stats.borrow_mut() = ServerStats::default();
    shard.cmdstats.borrow_mut().reset();
    shard.ks.borrow_mut().stats = Default::default();
}

pub async fn run(shard: &Rc<Shard>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match sub.as_str() {
        "get" if args.len() >= 3 => {
            let mut pairs = Vec::new();
            let aliases = EngineConfig::ALIASES.iter().map(|(alias, _)| alias);
            for name in PARAMS.iter().chain(EngineConfig::NAMES).chain(aliases) {
                let hit = args[2..]
                    .iter()
                    .any(|p| glob_match(&p.to_ascii_lowercase(), name.as_bytes()));
                if hit {
                    let v = value_of(shard, name);
                    pairs.push((Reply::bulk(name), Reply::Bulk(v.into_bytes())));
                }
            }
            Ok(Reply::Map(pairs))
        }
        "set" if args.len() >= 4 && args.len().is_multiple_of(2) => {
            let mut pairs = Vec::new();
            for pair in args[2..].chunks(2) {
                let name = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
                let value = String::from_utf8_lossy(&pair[1]).into_owned();
                if !PARAMS.contains(&name.as_str()) && !EngineConfig::knows(&name) {
                    return Err(CmdError::other(format!(
                        "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                        String::from_utf8_lossy(&pair[0])
                    )));
                }
                validate(&name, &value, shard.settings.borrow().protected_configs)?;
                // A parameter named twice fails the whole CONFIG SET (an alias and its
                // parameter are two names to Redis 7.0: the last one wins).
                if pairs.iter().any(|(n, _): &(String, String)| *n == name) {
                    return Err(CmdError::other(format!(
                        "ERR CONFIG SET failed (possibly related to argument '{}') - duplicate parameter",
                        String::from_utf8_lossy(&pair[0])
                    )));
                }
                pairs.push((name, value));
            }
            let lowers_memory = pairs.iter().any(|(k, _)| k == "maxmemory");
            let appendonly = pairs
                .iter()
                .rev()
                .find(|(k, _)| k == "appendonly")
                .map(|(_, v)| v.eq_ignore_ascii_case("yes"));
            shard
                .run_everywhere(|| {
                    let pairs = pairs.clone();
                    move |s: &Rc<Shard>| apply_all(s, pairs)
                })
                .await;
            // Once every shard knows the limit (and published its measure), they evict
            // down to it in rounds: in each, a shard evicts while it holds about its
            // share of the keys (so none empties itself while the others catch up),
            // until a round finds nothing more to evict.
            if lowers_memory {
                loop {
                    let evicted = shard
                        .run_everywhere(|| |s: &Rc<Shard>| s.evict_to_budget())
                        .await;
                    if !evicted.contains(&true) {
                        break;
                    }
                }
            }
            if let Some(on) = appendonly {
                crate::commands::aof::set_appendonly(shard, on).await?;
            }
            Ok(Reply::Ok)
        }
        "resetstat" if args.len() == 2 => {
            shard.run_everywhere(|| reset_stats).await;
            Ok(Reply::Ok)
        }
        "rewrite" if args.len() == 2 => super::config_rewrite::rewrite(shard),
        "help" if args.len() == 2 => Ok(Reply::Array(
            [
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>",
                "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value>",
                "    Set the configuration <directive> to <value>.",
                "RESETSTAT",
                "    Reset statistics reported by the INFO command.",
                "REWRITE",
                "    Rewrite the configuration file.",
                "HELP",
                "    Prints this help.",
            ]
            .iter()
            .map(|l| Reply::Status(l.to_string()))
            .collect(),
        )),
        "get" | "set" | "resetstat" | "rewrite" | "help" => {
            Err(CmdError::WrongArity(format!("config|{sub}")))
        }
        _ => Err(CmdError::UnknownSubcommand {
            sub: String::from_utf8_lossy(&args[1]).into_owned(),
            cmd: "config".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_values_parse_with_units() {
        assert_eq!(parse_memory("100"), Some(100));
        assert_eq!(parse_memory("1kb"), Some(1024));
        assert_eq!(parse_memory("2mb"), Some(2 * 1024 * 1024));
        assert_eq!(parse_memory("1g"), Some(1_000_000_000));
        assert_eq!(parse_memory("x"), None);
    }

    #[test]
    fn immutable_and_bad_values_are_refused() {
        assert!(validate("port", "1", false).is_err());
        assert!(validate("maxclients", "abc", false).is_err());
        assert!(validate("maxmemory-policy", "allkeys-lru", false).is_ok());
        assert!(validate("maxmemory-policy", "lru", false).is_err());
    }
}
