//! How a command uses each key it names, from Redis 7's key specifications
//! (`key_specs.txt`, written by `scripts/gen_key_specs.py` from redis-server's COMMAND
//! INFO: facts about Redis's commands). The command table says *where* the keys are;
//! these say, key by key, whether the command reads it (`access`) and how it changes it
//! (`update`, `insert`, `delete`), which is what ACL key permissions (`%R~`, `%W~`) and
//! COMMAND GETKEYSANDFLAGS need. A key no specification places (SORT's STORE key, whose
//! keyword may be anywhere) takes the command's last `unknown` specification; a command
//! Redis does not have takes RW+access+update if it writes, else RO+access.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::flags;
use crate::cmd::CommandSpec;

/// One key specification: its flags (comma-separated, Redis's names) and how to find
/// its keys.
pub struct Spec {
    pub flags: &'static str,
    pub begin: Begin,
    pub find: Find,
}

pub enum Begin {
    Index(usize),
    Keyword(&'static str, i64),
    Unknown,
}

pub enum Find {
    Range {
        last: i64,
        step: usize,
        limit: i64,
    },
    KeyNum {
        idx: usize,
        first: usize,
        step: usize,
    },
    Unknown,
}

static SPECS: LazyLock<HashMap<&'static str, Vec<Spec>>> = LazyLock::new(|| {
    let mut all: HashMap<&'static str, Vec<Spec>> = HashMap::new();
    for line in include_str!("key_specs.txt").lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let w: Vec<&'static str> = line.split(' ').collect();
        let [name, flags, begin, find] = w[..] else {
            continue;
        };
        let num = |s: &str| s.parse::<i64>().unwrap_or(0);
        let b: Vec<&'static str> = begin.split(':').collect();
        let begin = match b[..] {
            ["index", i] => Begin::Index(num(i) as usize),
            ["keyword", k, from] => Begin::Keyword(k, num(from)),
            _ => Begin::Unknown,
        };
        let f: Vec<&str> = find.split(':').collect();
        let find = match f[..] {
            ["range", last, step, limit] => Find::Range {
                last: num(last),
                step: num(step).max(1) as usize,
                limit: num(limit),
            },
            ["keynum", idx, first, step] => Find::KeyNum {
                idx: num(idx) as usize,
                first: num(first) as usize,
                step: num(step).max(1) as usize,
            },
            _ => Find::Unknown,
        };
        all.entry(name)
            .or_default()
            .push(Spec { flags, begin, find });
    }
    all
});

impl Spec {
    /// The argument positions this specification names in `args` (Redis's search).
    fn positions<A: AsRef<[u8]>>(&self, args: &[A]) -> Vec<usize> {
        let argc = args.len();
        let start = match self.begin {
            Begin::Index(i) => i,
            Begin::Keyword(word, from) => {
                let hit = |i: &usize| args[*i].as_ref().eq_ignore_ascii_case(word.as_bytes());
                let found = if from >= 0 {
                    (from as usize..argc).find(hit)
                } else {
                    let top = argc as i64 + from;
                    (1..=top.max(0) as usize).rev().find(hit)
                };
                match found {
                    Some(i) => i + 1,
                    None => return Vec::new(),
                }
            }
            Begin::Unknown => return Vec::new(),
        };
        if start >= argc {
            return Vec::new();
        }
        let (first, last, step) = match self.find {
            Find::Range { last, step, limit } => {
                let end = if last >= 0 {
                    start as i64 + last
                } else if limit <= 1 {
                    argc as i64 + last
                } else {
                    start as i64 + ((argc - start) as i64 / limit + last)
                };
                (start, end, step)
            }
            Find::KeyNum { idx, first, step } => {
                let n = args
                    .get(start + idx)
                    .and_then(|a| std::str::from_utf8(a.as_ref()).ok())
                    .and_then(|s| s.parse::<i64>().ok())
                    .unwrap_or(0)
                    .max(0);
                let first = start + first;
                (first, first as i64 + n * step as i64 - 1, step)
            }
            Find::Unknown => return Vec::new(),
        };
        let last = last.min(argc as i64 - 1);
        if last < first as i64 {
            return Vec::new();
        }
        (first..=last as usize).step_by(step).collect()
    }
}

/// The key specifications of a command (`get`) or subcommand (`object|encoding`) that
/// Redis 7 has.
pub fn specs_of(name: &str) -> Option<&'static [Spec]> {
    SPECS.get(name).map(Vec::as_slice)
}

/// The key-spec flags (Redis's names) of the key at each of `positions` of a call of
/// `spec` with `args`, in order.
pub fn key_flags<A: AsRef<[u8]>>(
    spec: &CommandSpec,
    args: &[A],
    positions: &[usize],
) -> Vec<&'static str> {
    let name = super::subcommands::full_name(spec, args);
    let coarse = if spec.has(flags::WRITE) {
        "RW,access,update"
    } else {
        "RO,access"
    };
    let Some(specs) = SPECS.get(name) else {
        return vec![coarse; positions.len()];
    };
    let refined = variable(name, args);
    let placed: Vec<(Vec<usize>, &'static str)> = specs
        .iter()
        .map(|s| (s.positions(args), refined.unwrap_or(s.flags)))
        .collect();
    let unknown = specs
        .iter()
        .rev()
        .find(|s| matches!(s.begin, Begin::Unknown))
        .map(|s| s.flags);
    positions
        .iter()
        .map(|p| {
            placed
                .iter()
                .find(|(at, _)| at.contains(p))
                .map(|(_, f)| *f)
                .or(unknown)
                .unwrap_or(coarse)
        })
        .collect()
}

/// The flags of commands whose key's use depends on their arguments (Redis's
/// `variable_flags`): SET reads the old value only with GET; BITFIELD writes only with
/// SET or INCRBY.
fn variable<A: AsRef<[u8]>>(name: &str, args: &[A]) -> Option<&'static str> {
    let has = |word: &str| {
        args.iter()
            .skip(2)
            .any(|a| a.as_ref().eq_ignore_ascii_case(word.as_bytes()))
    };
    match name {
        "set" if has("GET") => Some("RW,access,update"),
        "set" => Some("OW,update"),
        "bitfield" if has("SET") || has("INCRBY") => Some("RW,access,update"),
        "bitfield" => Some("RO,access"),
        _ => None,
    }
}

/// What a key with these flags needs: (read, write) permission (Redis: `access` reads,
/// `update`, `insert` and `delete` write; a key with neither needs only a pattern).
pub fn needs(flags: &str) -> (bool, bool) {
    let has = |f: &str| flags.split(',').any(|x| x == f);
    (
        has("access"),
        has("update") || has("insert") || has("delete"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags_of(line: &str) -> Vec<&'static str> {
        let args: Vec<&str> = line.split(' ').collect();
        let spec = crate::lookup(args[0].as_bytes()).expect("command");
        let positions: Vec<usize> = spec.key_positions(&args).collect();
        key_flags(spec, &args, &positions)
    }

    #[test]
    fn each_key_has_its_own_use() {
        assert_eq!(
            flags_of("lmove a b LEFT RIGHT"),
            ["RW,access,delete", "RW,insert"]
        );
        assert_eq!(flags_of("copy src dst"), ["RO,access", "OW,update"]);
        assert_eq!(
            flags_of("zunionstore d 2 a b"),
            ["OW,update", "RO,access", "RO,access"]
        );
        assert_eq!(flags_of("exists a b"), ["RO", "RO"]);
        assert_eq!(flags_of("lpush l x"), ["RW,insert"]);
        assert_eq!(flags_of("object encoding k"), ["RO"]);
    }

    #[test]
    fn keywords_and_unknown_specifications() {
        assert_eq!(
            flags_of("xread COUNT 2 STREAMS s t 0 0"),
            ["RO,access", "RO,access"]
        );
        assert_eq!(flags_of("sort k STORE out"), ["RO,access", "OW,update"]);
        assert_eq!(
            flags_of("georadius g 0 0 1 km STORE out"),
            ["RO,access", "OW,update"]
        );
    }

    #[test]
    fn set_and_bitfield_depend_on_their_arguments() {
        assert_eq!(flags_of("set k v"), ["OW,update"]);
        assert_eq!(flags_of("set k v GET"), ["RW,access,update"]);
        assert_eq!(flags_of("bitfield k GET u8 0"), ["RO,access"]);
        assert_eq!(flags_of("bitfield k INCRBY u8 0 1"), ["RW,access,update"]);
        assert_eq!(needs("OW,update"), (false, true));
        assert_eq!(needs("RO"), (false, false));
        assert_eq!(needs("RW,access,delete"), (true, true));
    }
}
