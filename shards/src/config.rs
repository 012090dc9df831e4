//! Engine settings CONFIG GET/SET reach: the size thresholds at which collections leave
//! their compact encodings (Redis's names and defaults).

#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// Positive: max entries per list node; negative: max node size (-1 4 KiB .. -5 64 KiB).
    pub list_max_listpack_size: i64,
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    pub set_max_listpack_entries: usize,
    pub set_max_listpack_value: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            list_max_listpack_size: -2,
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
        }
    }
}

impl EngineConfig {
    /// Parameter names, as CONFIG GET lists them.
    pub const NAMES: &'static [&'static str] = &[
        "list-max-listpack-size",
        "hash-max-listpack-entries",
        "hash-max-listpack-value",
        "set-max-intset-entries",
        "set-max-listpack-entries",
        "set-max-listpack-value",
        "zset-max-listpack-entries",
        "zset-max-listpack-value",
    ];

    /// Redis 6 names that Redis 7 still accepts as aliases.
    fn canonical(name: &str) -> &str {
        match name {
            "list-max-ziplist-size" => "list-max-listpack-size",
            "hash-max-ziplist-entries" => "hash-max-listpack-entries",
            "hash-max-ziplist-value" => "hash-max-listpack-value",
            "zset-max-ziplist-entries" => "zset-max-listpack-entries",
            "zset-max-ziplist-value" => "zset-max-listpack-value",
            other => other,
        }
    }

    pub fn knows(name: &str) -> bool {
        Self::NAMES.contains(&Self::canonical(name))
    }

    pub fn get(&self, name: &str) -> Option<String> {
        Some(match Self::canonical(name) {
            "list-max-listpack-size" => self.list_max_listpack_size.to_string(),
            "hash-max-listpack-entries" => self.hash_max_listpack_entries.to_string(),
            "hash-max-listpack-value" => self.hash_max_listpack_value.to_string(),
            "set-max-intset-entries" => self.set_max_intset_entries.to_string(),
            "set-max-listpack-entries" => self.set_max_listpack_entries.to_string(),
            "set-max-listpack-value" => self.set_max_listpack_value.to_string(),
            "zset-max-listpack-entries" => self.zset_max_listpack_entries.to_string(),
            "zset-max-listpack-value" => self.zset_max_listpack_value.to_string(),
            _ => return None,
        })
    }

    /// Sets a parameter; false when the name is unknown or the value does not parse.
    pub fn set(&mut self, name: &str, value: &str) -> bool {
        let n = || value.parse::<usize>().ok();
        match Self::canonical(name) {
            "list-max-listpack-size" => match value.parse::<i64>() {
                Ok(v) if v != 0 && v >= -5 => self.list_max_listpack_size = v,
                _ => return false,
            },
            "hash-max-listpack-entries" => match n() {
                Some(v) => self.hash_max_listpack_entries = v,
                None => return false,
            },
            "hash-max-listpack-value" => match n() {
                Some(v) => self.hash_max_listpack_value = v,
                None => return false,
            },
            "set-max-intset-entries" => match n() {
                Some(v) => self.set_max_intset_entries = v,
                None => return false,
            },
            "set-max-listpack-entries" => match n() {
                Some(v) => self.set_max_listpack_entries = v,
                None => return false,
            },
            "set-max-listpack-value" => match n() {
                Some(v) => self.set_max_listpack_value = v,
                None => return false,
            },
            "zset-max-listpack-entries" => match n() {
                Some(v) => self.zset_max_listpack_entries = v,
                None => return false,
            },
            "zset-max-listpack-value" => match n() {
                Some(v) => self.zset_max_listpack_value = v,
                None => return false,
            },
            _ => return false,
        }
        true
    }
}
