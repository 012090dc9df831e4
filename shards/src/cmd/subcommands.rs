//! The subcommands of container commands (CONFIG GET, CLIENT KILL, XINFO STREAM ...)
//! and the containers' own facts, from `subcommands.txt` (written by
//! `scripts/gen_subcommands.py` from redis-server 7's COMMAND: facts about Redis's
//! commands), for the containers this server has.
//!
//! ACL rules, ACL CAT and COMMAND LIST treat a subcommand as a command of its own, as
//! Redis 7 does: each has its own ACL categories (CONFIG SET is `@admin`, CONFIG HELP
//! is not). A *command id* numbers both: ids `0..COMMANDS.len()` are the rows of the
//! command table, the ids after them the subcommands, grouped by container.

use std::ops::Range;
use std::sync::LazyLock;

use super::{lookup, CommandSpec, COMMANDS};

/// One subcommand (or a container's own facts).
pub struct SubSpec {
    /// `container|subcommand` (or `container`), lower case.
    pub name: &'static str,
    /// The container's row in the command table.
    pub parent: usize,
    pub arity: i32,
    /// Command flags, as COMMAND INFO names them.
    pub flags: Vec<&'static str>,
    /// ACL categories (`@admin` ...).
    pub acl: Vec<String>,
    /// Key positions in COMMAND INFO's legacy form: first, last, step.
    pub keys: (i32, i32, i32),
}

impl SubSpec {
    /// The part after the `|`.
    fn short_name(&self) -> &'static str {
        self.name.split_once('|').map_or(self.name, |(_, s)| s)
    }
}

struct Table {
    subs: Vec<SubSpec>,
    /// Per row of the command table, the container's own facts (Redis's COMMAND INFO
    /// of the container itself).
    containers: Vec<Option<SubSpec>>,
    /// Per row of the command table, the range of `subs` that are its subcommands.
    ranges: Vec<Range<usize>>,
}

/// Subcommands corecache has beyond Redis 7.0's table, in its format: Redis 7.2's
/// CLIENT SETINFO, CLIENT NO-TOUCH and CLUSTER MYSHARDID, and corecache's own CLUSTER
/// PROCESS-ROLE (how a process tells the others of a role change; an admin command).
const BEYOND: &str = "\
client|no-touch 3 noscript,loading,stale slow,connection 0 0 0
client|setinfo -4 noscript,loading,stale slow,connection 0 0 0
cluster|myshardid 2 loading,stale slow 0 0 0
cluster|process-role -4 admin,noscript,stale admin,slow,dangerous 0 0 0
";

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut subs = Vec::new();
    let mut containers: Vec<Option<SubSpec>> = (0..COMMANDS.len()).map(|_| None).collect();
    for line in include_str!("subcommands.txt")
        .lines()
        .chain(BEYOND.lines())
    {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let w: Vec<&'static str> = line.split(' ').collect();
        let [name, arity, flags, cats, first, last, step] = w[..] else {
            continue;
        };
        let words = |list: &'static str| list.split(',').filter(|c| *c != "-");
        let num = |n: &str| n.parse::<i32>().unwrap_or(0);
        let container = name.split_once('|').map_or(name, |(c, _)| c);
        let Some(spec) = lookup(container.as_bytes()) else {
            continue;
        };
        let facts = SubSpec {
            name,
            parent: super::index_of(spec),
            arity: arity.parse().unwrap_or(-2),
            flags: words(flags).collect(),
            acl: words(cats).map(|c| format!("@{c}")).collect(),
            keys: (num(first), num(last), num(step)),
        };
        if name.contains('|') {
            subs.push(facts);
        } else {
            let row = facts.parent;
            containers[row] = Some(facts);
        }
    }
    // Grouped by container in the table's row order, each container's subcommands by
    // name (the extra ones among Redis's).
    subs.sort_by_key(|s| (s.parent, s.name));
    let mut ranges = vec![0..0; COMMANDS.len()];
    let mut start = 0;
    for group in subs.chunk_by(|a, b| a.parent == b.parent) {
        ranges[group[0].parent] = start..start + group.len();
        start += group.len();
    }
    Table {
        subs,
        containers,
        ranges,
    }
});

/// How many command ids there are (rows and subcommands).
pub fn id_count() -> usize {
    COMMANDS.len() + TABLE.subs.len()
}

/// The command ids of the subcommands of row `row` (empty when it has none).
pub fn ids_of(row: usize) -> Range<usize> {
    let r = &TABLE.ranges[row];
    COMMANDS.len() + r.start..COMMANDS.len() + r.end
}

/// Whether row `row` is a container with subcommands.
pub fn has_subcommands(row: usize) -> bool {
    !TABLE.ranges[row].is_empty()
}

/// The subcommand `arg` (any case) of row `row`, as a command id.
pub fn id_of(row: usize, arg: &[u8]) -> Option<usize> {
    let range = ids_of(row);
    TABLE.subs[TABLE.ranges[row].clone()]
        .iter()
        .position(|s| s.short_name().as_bytes().eq_ignore_ascii_case(arg))
        .map(|i| range.start + i)
}

/// The subcommand a call of `spec` names (`args[1]` of a container), as a command id.
pub fn called<A: AsRef<[u8]>>(spec: &CommandSpec, args: &[A]) -> Option<usize> {
    let row = super::index_of(spec);
    if !has_subcommands(row) {
        return None;
    }
    id_of(row, args.get(1)?.as_ref())
}

/// The full name of what a call of `spec` with `args` runs: `config|get` for a known
/// subcommand, else the command's name.
pub fn full_name<A: AsRef<[u8]>>(spec: &CommandSpec, args: &[A]) -> &'static str {
    called(spec, args).map_or(spec.name, name)
}

/// The name under which a call with `args` has the wrong number of arguments, if it
/// has: the command's, or that of the subcommand it names (Redis checks both before
/// anything else).
pub fn arity_error<A: AsRef<[u8]>>(spec: &CommandSpec, args: &[A]) -> Option<&'static str> {
    arity_error_of(spec, called(spec, args), args.len())
}

/// `arity_error` for a caller that already looked up the subcommand (`called`).
pub fn arity_error_of(
    spec: &CommandSpec,
    sub_id: Option<usize>,
    argc: usize,
) -> Option<&'static str> {
    if !spec.arity_ok(argc) {
        return Some(spec.name);
    }
    let sub = sub(sub_id?)?;
    (!super::arity_fits(sub.arity, argc)).then_some(sub.name)
}

/// A command id from a full name: `get`, or `config|get` for a subcommand.
pub fn lookup_id(name: &[u8]) -> Option<usize> {
    match name.iter().position(|&b| b == b'|') {
        None => lookup(name).map(super::index_of),
        Some(bar) => id_of(super::index_of(lookup(&name[..bar])?), &name[bar + 1..]),
    }
}

/// Row `row`'s own facts as Redis shows them, when it is one of Redis's containers.
pub fn container(row: usize) -> Option<&'static SubSpec> {
    TABLE.containers[row].as_ref()
}

/// The subcommand of command id `id` (`None` for a row of the command table).
pub fn sub(id: usize) -> Option<&'static SubSpec> {
    TABLE.subs.get(id.checked_sub(COMMANDS.len())?)
}

/// The full name of a command id (`get`, `config|get`).
pub fn name(id: usize) -> &'static str {
    match id.checked_sub(COMMANDS.len()) {
        None => COMMANDS[id].name,
        Some(i) => TABLE.subs[i].name,
    }
}

/// Whether command id `id` is in ACL category `tag` (`@admin`).
pub fn in_category(id: usize, tag: &str) -> bool {
    match id.checked_sub(COMMANDS.len()) {
        None => COMMANDS[id].acl.contains(&tag),
        Some(i) => TABLE.subs[i].acl.iter().any(|c| c == tag),
    }
}

/// Every command id as Redis walks its table: each command, then its subcommands.
pub fn walk() -> impl Iterator<Item = usize> {
    (0..COMMANDS.len()).flat_map(|row| std::iter::once(row).chain(ids_of(row)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_have_their_subcommands() {
        let config = lookup_id(b"config").unwrap();
        assert!(has_subcommands(config));
        let set = lookup_id(b"CONFIG|SET").unwrap();
        assert_eq!(name(set), "config|set");
        assert_eq!(id_of(config, b"Set"), Some(set));
        assert!(ids_of(config).contains(&set));
        assert!(in_category(set, "@admin") && !in_category(set, "@read"));
        let help = lookup_id(b"config|help").unwrap();
        assert!(!in_category(help, "@admin"));
        assert_eq!(lookup_id(b"config|nosuch"), None);
        assert_eq!(lookup_id(b"get|x"), None);
        let get = lookup_id(b"get").unwrap();
        assert!(!has_subcommands(get) && ids_of(get).is_empty());
        assert_eq!(walk().count(), id_count());
        let spec = lookup(b"config").unwrap();
        assert_eq!(arity_error(spec, &["config"]), Some("config"));
        assert_eq!(arity_error(spec, &["config", "get"]), Some("config|get"));
        assert_eq!(arity_error(spec, &["config", "get", "x"]), None);
        assert_eq!(arity_error(spec, &["config", "nosuch"]), None);
    }
}
