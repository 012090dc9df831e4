//! The command table: one declarative row per command (name, arity, flags, key
//! positions, routing, handler). Validation, key extraction, COMMAND introspection and
//! routing are all derived from these rows; no per-command code outside the handlers.

pub mod bitmaps;
pub mod debug;
pub mod dump;
pub mod geo;
pub mod hashes;
pub mod hll;
pub mod key_specs;
pub mod keys;
pub mod lists;
pub mod memory;
pub mod sets;
pub mod sort;
pub mod streams;
pub mod strings;
pub mod subcommands;
mod table;
#[cfg(test)]
pub(crate) mod test_env;
pub mod tips;
pub mod zsets;

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};
use crate::keyspace::Keyspace;
use crate::reply::Reply;

pub use table::COMMANDS;

/// What a handler sees: the shard's keyspace and the calling client's state.
pub struct Ctx<'a> {
    pub ks: &'a mut Keyspace,
    /// The client's selected database.
    pub db: usize,
    /// False under CLIENT NO-TOUCH: reads do not refresh access times.
    pub touch: bool,
}

impl Ctx<'_> {
    /// Looks `key` up for a write (see `Keyspace::write_lookup`).
    pub fn lookup_write(&mut self, key: &[u8]) -> Option<&mut crate::keyspace::Stored> {
        self.ks.write_lookup(self.db, key, self.touch)
    }
}

/// A per-shard handler. `args[0]` is the command name as the client sent it. A failure
/// is a typed `Err`; `ops::run_op` turns it into the error reply (replies that merely
/// contain errors, such as an array with an error element, are `Ok`).
pub type Handler = fn(&mut Ctx, &[Bytes]) -> CmdResult<Reply>;

/// Argument `i`. The server checks arity from the table, but a short argument vector
/// must give Redis's arity error, never a panic.
pub(crate) fn arg(args: &[Bytes], i: usize) -> CmdResult<&[u8]> {
    args.get(i).map(|a| &a[..]).ok_or_else(|| {
        let name = args.first().map_or(String::new(), |n| {
            String::from_utf8_lossy(n).to_ascii_lowercase()
        });
        CmdError::WrongArity(name)
    })
}

/// How per-shard replies of a split or broadcast command combine into one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// Integer replies are added (DEL, EXISTS, DBSIZE).
    Sum,
    /// Each shard answers an array for its keys; elements go back to argument order (MGET).
    Positional,
    /// Every shard answers OK; so does the whole (MSET, FLUSHALL).
    AllOk,
    /// Arrays are concatenated (KEYS).
    Concat,
}

/// Commands whose keys may live on different shards and that need more than a split:
/// the server coordinates them step by step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cross {
    Rename,
    RenameNx,
    Copy,
    MsetNx,
    Lcs,
    /// Any other multi-key command: the server copies the keys' entries into a scratch
    /// keyspace, runs the handler there, and writes back the keys that changed.
    Gather,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Runs on the shard that owns its key(s); keyless commands run locally.
    Local,
    /// Keys are split by owning shard, each shard runs `handler` on its part (each key
    /// with the `step - 1` arguments after it), and replies merge.
    Split(Merge),
    /// Runs on the owning shard when all keys share one, else coordinated by the server.
    Cross(Cross),
    /// Runs on every shard; replies merge.
    Broadcast(Merge),
    /// Served by the server (connection state, introspection, coordination over every
    /// shard); `handler`, when present, is the per-shard part.
    Server,
}

pub mod flags {
    pub const WRITE: u32 = 1;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const NOSCRIPT: u32 = 1 << 4;
    pub const LOADING: u32 = 1 << 5;
    pub const STALE: u32 = 1 << 6;
    pub const FAST: u32 = 1 << 7;
    pub const NO_AUTH: u32 = 1 << 8;
    pub const ALLOW_BUSY: u32 = 1 << 9;
    pub const NO_MULTI: u32 = 1 << 10;
    pub const BLOCKING: u32 = 1 << 11;
    pub const MOVABLEKEYS: u32 = 1 << 12;
    /// Accepted from a client that sent ASKING for a slot being imported (cluster mode).
    pub const ASKING: u32 = 1 << 13;
    /// A blocking command whose timeout is its first argument (BLMPOP, BZMPOP), not its
    /// last. Not shown by COMMAND INFO.
    pub const TIMEOUT_FIRST: u32 = 1 << 15;
    /// Works across databases (MOVE, SWAPDB): refused in cluster mode, which has only
    /// db 0. Not shown by COMMAND INFO.
    pub const OTHER_DB: u32 = 1 << 16;
    /// Takes a DB option naming another database (COPY): refused with it in cluster
    /// mode. Not shown by COMMAND INFO.
    pub const DB_OPTION: u32 = 1 << 17;

    /// Flag names as COMMAND INFO reports them, in Redis's order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (ASKING, "asking"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MULTI, "no_multi"),
        (MOVABLEKEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// Where a command's keys are, beyond the first/last/step columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyScheme {
    /// `first_key..=last_key` by `step` (the columns).
    Range,
    /// `args[i]` is a key count; that many keys follow it (LMPOP, SINTERCARD, ZUNION).
    NumKeysAt(usize),
    /// `args[1]` is a destination key, `args[2]` a key count, keys follow (ZUNIONSTORE).
    DestNumKeys,
    /// `args[1]`, plus the argument after a STORE or STOREDIST option (SORT, GEORADIUS).
    StoreOption,
    /// MIGRATE: `args[3]`, or with the KEYS option every argument after it.
    Migrate,
    /// XREAD / XREADGROUP: after the STREAMS option, the first half of what follows.
    Streams,
}

pub struct CommandSpec {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis arity: exact argument count including the name, or `-N` for at least N.
    pub arity: i32,
    pub flags: u32,
    /// Position of the first key (0: no keys).
    pub first_key: i32,
    /// Position of the last key; negative counts from the end (-1: the last argument).
    pub last_key: i32,
    pub step: i32,
    /// ACL category names, for COMMAND INFO (`@string`, `@keyspace` ...).
    pub acl: &'static [&'static str],
    /// Command group for COMMAND DOCS.
    pub group: &'static str,
    pub summary: &'static str,
    pub route: Route,
    pub handler: Option<Handler>,
    pub keys: KeyScheme,
}

/// Whether `argc` arguments (including the name) satisfy a Redis arity: exactly that
/// many, or at least `-arity` when negative.
pub fn arity_fits(arity: i32, argc: usize) -> bool {
    if arity >= 0 {
        argc == arity as usize
    } else {
        argc >= arity.unsigned_abs() as usize
    }
}

impl CommandSpec {
    /// Whether `argc` (including the name) satisfies the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        arity_fits(self.arity, argc)
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// Argument positions of the keys of `args` (the whole command).
    pub fn key_positions<T: AsRef<[u8]>>(&self, args: &[T]) -> KeyIter {
        let argc = args.len();
        let count_at = |i: usize| {
            args.get(i)
                .and_then(|a| crate::args::parse_i64_opt(a.as_ref()))
                .filter(|&n| n > 0)
                .map_or(0, |n| n as usize)
        };
        let range = |first: usize, count: usize| {
            let end = first.saturating_add(count).min(argc);
            (first, end)
        };
        match self.keys {
            KeyScheme::NumKeysAt(i) => {
                let (next, end) = range(i + 1, count_at(i));
                KeyIter::new(None, next, end, 1)
            }
            KeyScheme::DestNumKeys => {
                let dest = (argc > 1).then_some(1);
                let (next, end) = range(3, count_at(2));
                KeyIter::new(dest, next, end, 1)
            }
            KeyScheme::StoreOption => {
                let first = (argc > 1).then_some(1);
                let store = (2..argc.saturating_sub(1))
                    .rev()
                    .find(|&i| {
                        let a = args[i].as_ref();
                        a.eq_ignore_ascii_case(b"STORE") || a.eq_ignore_ascii_case(b"STOREDIST")
                    })
                    .map_or((0, 0), |i| (i + 1, i + 2));
                KeyIter::new(first, store.0, store.1, 1)
            }
            KeyScheme::Migrate => {
                let mut i = 6;
                while i < argc {
                    let a = args[i].as_ref();
                    if a.eq_ignore_ascii_case(b"KEYS") {
                        return KeyIter::new(None, i + 1, argc, 1);
                    }
                    if a.eq_ignore_ascii_case(b"AUTH") {
                        i += 1;
                    } else if a.eq_ignore_ascii_case(b"AUTH2") {
                        i += 2;
                    }
                    i += 1;
                }
                let key = (argc > 3).then_some(3);
                KeyIter::new(key, 0, 0, 1)
            }
            KeyScheme::Streams => {
                let mut i = 1;
                while i < argc {
                    let a = args[i].as_ref();
                    let is = |w: &str| a.eq_ignore_ascii_case(w.as_bytes());
                    if is("STREAMS") {
                        let n = (argc - i - 1) / 2;
                        return KeyIter::new(None, i + 1, i + 1 + n, 1);
                    }
                    i += if is("BLOCK") || is("COUNT") {
                        2
                    } else if is("GROUP") {
                        3
                    } else {
                        1
                    };
                }
                KeyIter::new(None, 0, 0, 1)
            }
            KeyScheme::Range => {
                if self.first_key <= 0 || self.first_key as usize >= argc {
                    return KeyIter::new(None, 0, 0, 1);
                }
                let first = self.first_key as usize;
                let last = if self.last_key < 0 {
                    (argc as i64 + self.last_key as i64).max(0) as usize
                } else {
                    (self.last_key as usize).min(argc - 1)
                };
                KeyIter::new(None, first, last + 1, self.step.max(1) as usize)
            }
        }
    }
}

/// Iterator over key positions: an optional leading position, then a stepped range.
pub struct KeyIter {
    lead: Option<usize>,
    next: usize,
    end: usize,
    step: usize,
}

impl KeyIter {
    fn new(lead: Option<usize>, next: usize, end: usize, step: usize) -> Self {
        KeyIter {
            lead,
            next,
            end,
            step,
        }
    }
}

impl Iterator for KeyIter {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if let Some(l) = self.lead.take() {
            return Some(l);
        }
        if self.next >= self.end {
            return None;
        }
        let p = self.next;
        self.next += self.step;
        Some(p)
    }
}

type Index = HashMap<&'static [u8], &'static CommandSpec, ahash::RandomState>;

fn table_index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| COMMANDS.iter().map(|c| (c.name.as_bytes(), c)).collect())
}

/// The row number of `spec` in `COMMANDS`, for tables that extend the rows.
pub fn index_of(spec: &CommandSpec) -> usize {
    let offset = (spec as *const CommandSpec as usize).wrapping_sub(COMMANDS.as_ptr() as usize);
    let i = offset / std::mem::size_of::<CommandSpec>();
    assert!(
        i < COMMANDS.len() && std::ptr::eq(&COMMANDS[i], spec),
        "a row of COMMANDS"
    );
    i
}

/// Finds a command by name, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        return None;
    }
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    table_index().get(&*lower).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_consistent() {
        let mut names = std::collections::HashSet::new();
        for c in COMMANDS {
            assert!(names.insert(c.name), "duplicate row {}", c.name);
            assert_eq!(c.name, c.name.to_ascii_lowercase());
            assert!(lookup(c.name.to_ascii_uppercase().as_bytes()).is_some());
            match c.route {
                Route::Server => {}
                _ => assert!(c.handler.is_some(), "{} has no handler", c.name),
            }
            assert_eq!(COMMANDS[index_of(c)].name, c.name);
            if matches!(c.route, Route::Split(_)) {
                assert!(
                    c.first_key > 0 && c.last_key < 0,
                    "{} split needs keys",
                    c.name
                );
            }
        }
    }

    #[test]
    fn key_positions_follow_columns() {
        let keys = |name: &str, args: &[&str]| {
            lookup(name.as_bytes())
                .unwrap()
                .key_positions(args)
                .collect::<Vec<_>>()
        };
        assert_eq!(keys("mset", &["mset", "a", "1", "b", "2"]), vec![1, 3]);
        assert_eq!(keys("get", &["get", "a"]), vec![1]);
        assert_eq!(keys("object", &["object", "help"]), Vec::<usize>::new());
        assert_eq!(keys("object", &["object", "encoding", "k"]), vec![2]);
        assert_eq!(keys("ping", &["ping"]), Vec::<usize>::new());
        let migrate = [
            "migrate", "h", "1", "", "0", "5", "auth", "keys", "keys", "a", "b",
        ];
        assert_eq!(keys("migrate", &migrate), vec![9, 10]);
        assert_eq!(
            keys("migrate", &["migrate", "h", "1", "k", "0", "5"]),
            vec![3]
        );
    }
}
