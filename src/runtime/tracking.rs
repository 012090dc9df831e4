//! Client-side caching (CLIENT TRACKING). A client's settings live with it on its home
//! shard (`ClientTracking`); the keys it reads are remembered by the shard that owns
//! them, in the same step as the read (the op carries `shards::ops::Track`), so no
//! write can slip between a read and its registration. A write of a remembered key
//! removes it from the table and sends an invalidation to each client that read it,
//! through the client's home shard (and on to its REDIRECT target's home). BCAST
//! clients' prefixes are known to every shard. Like Redis, the table holds key names
//! whatever their database, and FLUSHDB / FLUSHALL invalidate everything (a null
//! invalidation to every tracking client). This file holds the data; sending the
//! invalidations is `invalidate.rs`.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use shards::cmd::{flags, CommandSpec};
use shards::ops::Track;

/// A client's CLIENT TRACKING settings.
#[derive(Clone, Debug, Default)]
pub struct ClientTracking {
    pub on: bool,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// CLIENT CACHING was given for the next command.
    pub caching: bool,
    /// Its redirect target went away.
    pub broken_redirect: bool,
    pub redirect: u64,
    pub prefixes: Vec<Bytes>,
}

impl ClientTracking {
    /// What the shards do for command `spec` of client `id`: a read command's keys
    /// are remembered (when the client's mode remembers this command's).
    pub fn track_for(&self, id: u64, spec: &CommandSpec) -> Track {
        let t = self.for_script(id);
        Track {
            remember: t.remember && spec.has(flags::READONLY),
            ..t
        }
    }

    /// What the shards do for the commands of a script this client runs (each of them
    /// then remembered if it reads, see `script_command`).
    pub fn for_script(&self, id: u64) -> Track {
        if !self.on {
            return Track::NONE;
        }
        let skipped = (self.optin && !self.caching) || (self.optout && self.caching);
        Track {
            client: id,
            remember: !self.bcast && !skipped,
            noloop: self.noloop,
        }
    }
}

/// A BCAST client's prefixes (empty prefix: every key).
struct Bcast {
    client: u64,
    prefixes: Vec<Bytes>,
    noloop: bool,
}

/// One shard's tracking table.
#[derive(Default)]
pub struct Table {
    keys: HashMap<Bytes, HashSet<u64>>,
    items: usize,
    bcast: Vec<Bcast>,
    /// This shard's share of `tracking-table-max-keys` (0: no limit).
    pub max_keys: usize,
}

impl Table {
    pub fn with_limit(max_keys: usize) -> Table {
        Table {
            max_keys,
            ..Table::default()
        }
    }

    pub fn is_idle(&self) -> bool {
        self.keys.is_empty() && self.bcast.is_empty()
    }

    /// Keys, client-key items and BCAST prefixes held (INFO).
    pub fn counts(&self) -> (usize, usize, usize) {
        let prefixes = self.bcast.iter().map(|b| b.prefixes.len()).sum();
        (self.keys.len(), self.items, prefixes)
    }

    pub(crate) fn remember(&mut self, client: u64, key: &Bytes) {
        if self.keys.entry(key.clone()).or_default().insert(client) {
            self.items += 1;
        }
    }

    /// The (client, key) invalidations a write of `key` by `writer` sends.
    pub(crate) fn take(&mut self, key: &Bytes, writer: Track, out: &mut Vec<(u64, Bytes, bool)>) {
        let skip = |c: u64, noloop: bool| noloop && c == writer.client;
        if let Some(clients) = self.keys.remove(key) {
            self.items -= clients.len();
            for c in clients {
                if !skip(c, writer.noloop) {
                    out.push((c, key.clone(), false));
                }
            }
        }
        for b in &self.bcast {
            if b.prefixes.iter().any(|p| key.starts_with(p)) && !skip(b.client, b.noloop) {
                out.push((b.client, key.clone(), true));
            }
        }
    }

    /// Keys past the limit: forgotten, and invalidated for their readers (Redis's way
    /// of keeping the table within `tracking-table-max-keys`).
    pub(crate) fn overflow(&mut self, out: &mut Vec<(u64, Bytes, bool)>) {
        while self.max_keys > 0 && self.keys.len() > self.max_keys {
            let Some(key) = self.keys.keys().next().cloned() else {
                break;
            };
            let clients = self.keys.remove(&key).unwrap_or_default();
            self.items -= clients.len();
            out.extend(clients.into_iter().map(|c| (c, key.clone(), false)));
        }
    }

    pub(crate) fn flush(&mut self) {
        self.keys.clear();
        self.items = 0;
    }

    pub fn set_bcast(&mut self, client: u64, prefixes: Vec<Bytes>, noloop: bool) {
        self.bcast.retain(|b| b.client != client);
        if !prefixes.is_empty() {
            self.bcast.push(Bcast {
                client,
                prefixes,
                noloop,
            });
        }
    }
}

/// Whether a prefix list would make a key match twice (Redis refuses overlapping
/// prefixes): the error text, or None.
pub fn prefix_overlap(existing: &[Bytes], new: &[Bytes]) -> Option<String> {
    let overlap = |a: &[u8], b: &[u8]| {
        let n = a.len().min(b.len());
        a[..n] == b[..n]
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for (i, p) in new.iter().enumerate() {
        if let Some(e) = existing.iter().find(|e| overlap(e, p)) {
            return Some(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                text(p),
                text(e)
            ));
        }
        if let Some(q) = new[i + 1..].iter().find(|q| overlap(p, q)) {
            return Some(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                text(p),
                text(q)
            ));
        }
    }
    None
}
