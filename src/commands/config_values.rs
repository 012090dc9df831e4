//! The parameters CONFIG GET and CONFIG REWRITE know, and each one's value as CONFIG
//! GET shows it (from a shard's settings, or from the defaults for REWRITE).

use shards::config::EngineConfig;

use crate::base::config::Settings;
use crate::runtime::shard::Shard;

/// Parameters CONFIG GET knows, in the order it lists them.
pub(super) const PARAMS: &[&str] = &[
    "bind",
    "port",
    "databases",
    "maxclients",
    "requirepass",
    "proto-max-bulk-len",
    "client-query-buffer-limit",
    "timeout",
    "hz",
    "dynamic-hz",
    "maxmemory",
    "save",
    "client-output-buffer-limit",
    "notify-keyspace-events",
    "tracking-table-max-keys",
    "appendonly",
    "appendfsync",
    "appendfilename",
    "appenddirname",
    "aof-load-truncated",
    "aof-use-rdb-preamble",
    "auto-aof-rewrite-percentage",
    "auto-aof-rewrite-min-size",
    "dir",
    "dbfilename",
    "rdbcompression",
    "rdbchecksum",
    "stop-writes-on-bgsave-error",
    "loglevel",
    "io-threads",
    "busy-reply-threshold",
    "lua-time-limit",
    "slowlog-log-slower-than",
    "slowlog-max-len",
    "latency-tracking",
    "latency-tracking-info-percentiles",
    "latency-monitor-threshold",
    "repl-backlog-size",
    "min-replicas-to-write",
    "min-replicas-max-lag",
    "replica-serve-stale-data",
    "replica-read-only",
    "repl-diskless-sync",
    "masterauth",
    "aclfile",
    "protected-mode",
    "tcp-keepalive",
    "repl-timeout",
    "acllog-max-len",
    "acl-pubsub-default",
    "tls-port",
    "tls-cert-file",
    "tls-key-file",
    "tls-ca-cert-file",
    "tls-auth-clients",
    "tls-client-cert-file",
    "tls-client-key-file",
    "tls-replication",
    "tls-cluster",
];

/// A parameter's value now, as CONFIG GET shows it.
pub(super) fn value_of(shard: &Shard, name: &str) -> String {
    let ks = shard.ks.borrow();
    render(
        name,
        &shard.settings.borrow(),
        &ks.config,
        ks.db_count(),
        true,
    )
}

/// A parameter's value as CONFIG GET shows it, from these settings; `live`: the
/// process-wide ones (address, fsync policy, busy threshold) as they are now, else
/// their defaults.
pub(super) fn render(
    name: &str,
    s: &Settings,
    engine: &EngineConfig,
    databases: usize,
    live: bool,
) -> String {
    if let Some(v) = engine.get(name) {
        return v;
    }
    if name.starts_with("tls-") {
        let tls = if live {
            crate::runtime::tls::settings()
        } else {
            Default::default()
        };
        return crate::runtime::tls::render(&tls, name).unwrap_or_default();
    }
    match name {
        "bind" if live => crate::base::config::bind_addr(),
        "bind" => "127.0.0.1".into(),
        "port" if live => crate::base::config::public_port().to_string(),
        "port" => "6379".into(),
        "appendfsync" if !live => "everysec".into(),
        "busy-reply-threshold" | "lua-time-limit" if !live => {
            scripting::DEFAULT_BUSY_THRESHOLD_MS.to_string()
        }
        "databases" => databases.to_string(),
        "maxclients" => s.maxclients.to_string(),
        "requirepass" => s.requirepass.clone(),
        "masterauth" => s.masterauth.clone(),
        "repl-diskless-sync" => "yes".into(),
        "aclfile" if live => crate::runtime::acl::file().unwrap_or_default(),
        "aclfile" => String::new(),
        "protected-mode" if live => yes_no(crate::runtime::acl::protected_mode()),
        "protected-mode" => "yes".into(),
        "tcp-keepalive" => s.tcp_keepalive.to_string(),
        "repl-timeout" if live => crate::runtime::upstream::repl_timeout()
            .as_secs()
            .to_string(),
        "repl-timeout" => "60".into(),
        "acllog-max-len" if live => crate::runtime::acl::log_max().to_string(),
        "acllog-max-len" => "128".into(),
        "acl-pubsub-default" if live && crate::runtime::acl::pubsub_all_default() => {
            "allchannels".into()
        }
        "acl-pubsub-default" => "resetchannels".into(),
        "proto-max-bulk-len" => s.proto_max_bulk_len.to_string(),
        "client-query-buffer-limit" => s.client_query_buffer_limit.to_string(),
        "timeout" => s.timeout.to_string(),
        "hz" => s.hz.to_string(),
        "dynamic-hz" => yes_no(s.dynamic_hz),
        "maxmemory" => s.maxmemory.to_string(),
        "save" => s.save.clone(),
        "dir" => std::fs::canonicalize(&s.dir)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| s.dir.clone()),
        "dbfilename" => s.dbfilename.clone(),
        "rdbcompression" => yes_no(s.rdbcompression),
        "rdbchecksum" => yes_no(s.rdbchecksum),
        "stop-writes-on-bgsave-error" => yes_no(s.stop_writes_on_bgsave_error),
        "appendonly" => s.appendonly.clone(),
        "appendfsync" => crate::runtime::aof::fsync().name().into(),
        "client-output-buffer-limit" => s.output_limits.render(),
        "notify-keyspace-events" => shards::notify::render_flags(s.notify_keyspace_events),
        "tracking-table-max-keys" => s.tracking_table_max_keys.to_string(),
        "appendfilename" => s.appendfilename.clone(),
        "appenddirname" => s.appenddirname.clone(),
        "aof-load-truncated" => yes_no(s.aof_load_truncated),
        "aof-use-rdb-preamble" => yes_no(s.aof_use_rdb_preamble),
        "auto-aof-rewrite-percentage" => s.auto_aof_rewrite_percentage.to_string(),
        "auto-aof-rewrite-min-size" => s.auto_aof_rewrite_min_size.to_string(),
        "loglevel" => s.loglevel.clone(),
        "io-threads" => "1".into(),
        "busy-reply-threshold" | "lua-time-limit" => {
            crate::commands::script::busy_threshold().to_string()
        }
        "slowlog-log-slower-than" => s.slowlog_log_slower_than.to_string(),
        "slowlog-max-len" => s.slowlog_max_len.to_string(),
        "latency-tracking" => yes_no(s.latency_tracking),
        "latency-tracking-info-percentiles" => s
            .latency_percentiles
            .iter()
            .map(|p| crate::base::config::render_percentile(*p))
            .collect::<Vec<_>>()
            .join(" "),
        // Process-wide settings: the defaults when not live (CONFIG REWRITE).
        "latency-monitor-threshold" if live => crate::runtime::latency::threshold_ms().to_string(),
        "latency-monitor-threshold" => "0".into(),
        "repl-backlog-size" if live => crate::runtime::backlog::size().to_string(),
        "repl-backlog-size" => crate::runtime::backlog::DEFAULT_SIZE.to_string(),
        "min-replicas-to-write" if live => crate::runtime::replicas::min_replicas().0.to_string(),
        "min-replicas-to-write" => "0".into(),
        "min-replicas-max-lag" if live => crate::runtime::replicas::min_replicas().1.to_string(),
        "min-replicas-max-lag" => "10".into(),
        "replica-serve-stale-data" if live => yes_no(crate::runtime::upstream::serve_stale()),
        "replica-serve-stale-data" => "yes".into(),
        "replica-read-only" if live => yes_no(crate::runtime::upstream::read_only()),
        "replica-read-only" => "yes".into(),
        _ => String::new(),
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}
