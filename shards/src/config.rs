//! Engine settings CONFIG GET/SET reach: the size thresholds at which collections leave
//! their compact encodings, and how keys are evicted (Redis's names and defaults).

use crate::evict::Policy;

#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// Positive: max entries per list node; negative: max node size (-1 4 KiB .. -5 64 KiB).
    pub list_max_listpack_size: i64,
    /// Quicklist nodes kept uncompressed at each end of a list (0: none compressed).
    pub list_compress_depth: usize,
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    pub set_max_listpack_entries: usize,
    pub set_max_listpack_value: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    pub maxmemory_policy: Policy,
    pub maxmemory_samples: usize,
    pub maxmemory_eviction_tenacity: u32,
    pub lfu_log_factor: u32,
    pub lfu_decay_time: u32,
    pub stream_node_max_bytes: usize,
    pub stream_node_max_entries: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            maxmemory_policy: Policy::NoEviction,
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 10,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
        }
    }
}

impl EngineConfig {
    /// Parameter names, as CONFIG GET lists them.
    pub const NAMES: &'static [&'static str] = &[
        "list-max-listpack-size",
        "list-compress-depth",
        "hash-max-listpack-entries",
        "hash-max-listpack-value",
        "set-max-intset-entries",
        "set-max-listpack-entries",
        "set-max-listpack-value",
        "zset-max-listpack-entries",
        "zset-max-listpack-value",
        "maxmemory-policy",
        "maxmemory-samples",
        "maxmemory-eviction-tenacity",
        "lfu-log-factor",
        "lfu-decay-time",
        "stream-node-max-bytes",
        "stream-node-max-entries",
    ];

    /// Redis 6 names that Redis 7 still accepts (and CONFIG GET lists) as aliases.
    pub const ALIASES: &'static [(&'static str, &'static str)] = &[
        ("list-max-ziplist-size", "list-max-listpack-size"),
        ("hash-max-ziplist-entries", "hash-max-listpack-entries"),
        ("hash-max-ziplist-value", "hash-max-listpack-value"),
        ("zset-max-ziplist-entries", "zset-max-listpack-entries"),
        ("zset-max-ziplist-value", "zset-max-listpack-value"),
    ];

    fn canonical(name: &str) -> &str {
        Self::ALIASES
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or(name, |(_, c)| c)
    }

    pub fn knows(name: &str) -> bool {
        Self::NAMES.contains(&Self::canonical(name))
    }

    pub fn get(&self, name: &str) -> Option<String> {
        Some(match Self::canonical(name) {
            "list-max-listpack-size" => self.list_max_listpack_size.to_string(),
            "list-compress-depth" => self.list_compress_depth.to_string(),
            "hash-max-listpack-entries" => self.hash_max_listpack_entries.to_string(),
            "hash-max-listpack-value" => self.hash_max_listpack_value.to_string(),
            "set-max-intset-entries" => self.set_max_intset_entries.to_string(),
            "set-max-listpack-entries" => self.set_max_listpack_entries.to_string(),
            "set-max-listpack-value" => self.set_max_listpack_value.to_string(),
            "zset-max-listpack-entries" => self.zset_max_listpack_entries.to_string(),
            "zset-max-listpack-value" => self.zset_max_listpack_value.to_string(),
            "maxmemory-policy" => self.maxmemory_policy.name().to_string(),
            "maxmemory-samples" => self.maxmemory_samples.to_string(),
            "maxmemory-eviction-tenacity" => self.maxmemory_eviction_tenacity.to_string(),
            "lfu-log-factor" => self.lfu_log_factor.to_string(),
            "lfu-decay-time" => self.lfu_decay_time.to_string(),
            "stream-node-max-bytes" => self.stream_node_max_bytes.to_string(),
            "stream-node-max-entries" => self.stream_node_max_entries.to_string(),
            _ => return None,
        })
    }

    /// Sets a parameter; the error says why the value was refused, in the words CONFIG
    /// SET uses after "argument ... - " (an unknown name: "unknown parameter").
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let int = |min: i64, max: i64| -> Result<i64, String> {
            let v = value
                .parse::<i64>()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            if (min..=max).contains(&v) {
                Ok(v)
            } else {
                Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ))
            }
        };
        let count = || int(0, i64::from(i32::MAX)).map(|v| v as usize);
        // Sizes in bytes take Redis's units (1kb, 4k, 2mb ...).
        let bytes = || -> Result<usize, String> {
            let v =
                parse_memory(value).ok_or_else(|| "argument must be a memory value".to_string())?;
            if v > i64::MAX as u64 {
                return Err("argument must be between 0 and 9223372036854775807 inclusive".into());
            }
            Ok(v as usize)
        };
        match Self::canonical(name) {
            // Redis takes any int: 0 holds one entry per node, below -5 means -5.
            "list-max-listpack-size" => {
                self.list_max_listpack_size = int(i64::from(i32::MIN), i64::from(i32::MAX))?
            }
            "list-compress-depth" => self.list_compress_depth = count()?,
            "hash-max-listpack-entries" => self.hash_max_listpack_entries = count()?,
            "hash-max-listpack-value" => self.hash_max_listpack_value = bytes()?,
            "set-max-intset-entries" => self.set_max_intset_entries = count()?,
            "set-max-listpack-entries" => self.set_max_listpack_entries = count()?,
            "set-max-listpack-value" => self.set_max_listpack_value = bytes()?,
            "zset-max-listpack-entries" => self.zset_max_listpack_entries = count()?,
            "zset-max-listpack-value" => self.zset_max_listpack_value = bytes()?,
            "maxmemory-policy" => {
                self.maxmemory_policy = Policy::parse(value).ok_or_else(|| {
                    // Redis's list, as Redis words it (allkeys-tinylfu is ours).
                    let names: Vec<_> = Policy::ALL.iter().map(|(_, n)| *n).collect();
                    format!(
                        "argument(s) must be one of the following: {}",
                        names.join(", ")
                    )
                })?
            }
            "maxmemory-samples" => self.maxmemory_samples = int(1, i64::from(i32::MAX))? as usize,
            "maxmemory-eviction-tenacity" => self.maxmemory_eviction_tenacity = int(0, 100)? as u32,
            "lfu-log-factor" => self.lfu_log_factor = count()? as u32,
            "lfu-decay-time" => self.lfu_decay_time = count()? as u32,
            "stream-node-max-bytes" => self.stream_node_max_bytes = bytes()?,
            "stream-node-max-entries" => self.stream_node_max_entries = int(0, i64::MAX)? as usize,
            _ => return Err("unknown parameter".into()),
        }
        Ok(())
    }
}

/// Parses a memory size like Redis: plain bytes or with k/kb/m/mb/g/gb.
pub fn parse_memory(v: &str) -> Option<u64> {
    let lower = v.to_ascii_lowercase();
    let units: [(&str, u64); 6] = [
        ("kb", 1024),
        ("k", 1000),
        ("mb", 1024 * 1024),
        ("m", 1_000_000),
        ("gb", 1024 * 1024 * 1024),
        ("g", 1_000_000_000),
    ];
    for (suffix, mul) in units.iter().rev() {
        if let Some(num) = lower.strip_suffix(suffix) {
            return num.parse::<u64>().ok()?.checked_mul(*mul);
        }
    }
    // A bare "b" means bytes (after kb/mb/gb above).
    lower.strip_suffix('b').unwrap_or(&lower).parse().ok()
}
