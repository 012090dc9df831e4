//! COMMAND and its subcommands, generated from the command table.

use crate::runtime::acl::rules::CATEGORIES;
use bytes::Bytes;
use shards::args::eq_ic;
use shards::cmd::key_specs::{self, Begin, Find};
use shards::cmd::{flags, subcommands, CommandSpec, COMMANDS};
use shards::{CmdError, Reply};

fn info_of(c: &CommandSpec) -> Reply {
    let row = shards::cmd::index_of(c);
    let subs = Reply::Array(subcommands::ids_of(row).map(info_of_id).collect());
    // One of Redis's containers: as Redis shows it (our row's flags and key columns
    // are for routing its subcommands).
    if let Some(facts) = subcommands::container(row) {
        return sub_info(facts, subs);
    }
    let flag_names = flags::NAMES
        .iter()
        .filter(|(bit, _)| c.has(*bit))
        .map(|(_, name)| Reply::Status(name.to_string()))
        .collect();
    let specs = match key_specs::specs_of(c.name) {
        Some(specs) => specs.iter().map(key_spec).collect(),
        None => key_specs(c),
    };
    Reply::Array(vec![
        Reply::bulk(c.name),
        Reply::Int(c.arity as i64),
        Reply::Set(flag_names),
        Reply::Int(c.first_key as i64),
        Reply::Int(c.last_key as i64),
        Reply::Int(c.step as i64),
        categories(c.acl.iter().copied()),
        tips(c.name),
        Reply::Array(specs),
        subs,
    ])
}

/// ACL categories in Redis's order (ACL CAT's).
fn categories<'a>(tags: impl Iterator<Item = &'a str>) -> Reply {
    let order = |tag: &str| {
        CATEGORIES
            .iter()
            .position(|c| tag.strip_prefix('@') == Some(*c))
    };
    let mut tags: Vec<&str> = tags.collect();
    tags.sort_by_key(|t| order(t));
    Reply::Set(tags.into_iter().map(Reply::status).collect())
}

/// COMMAND INFO's tips of a command or subcommand.
fn tips(name: &str) -> Reply {
    Reply::Array(
        shards::cmd::tips::of(name)
            .iter()
            .map(|t| Reply::bulk(*t))
            .collect(),
    )
}

/// COMMAND INFO's entry of a command id (a command, or a subcommand as Redis shows it
/// under its container).
fn info_of_id(id: usize) -> Reply {
    match subcommands::sub(id) {
        Some(sub) => sub_info(sub, Reply::Array(Vec::new())),
        None => info_of(&COMMANDS[id]),
    }
}

/// COMMAND INFO's entry from Redis's facts of a subcommand or container.
fn sub_info(sub: &subcommands::SubSpec, subs: Reply) -> Reply {
    let names = |list: &[&str]| Reply::Set(list.iter().map(|f| Reply::status(*f)).collect());
    let acl: Vec<&str> = sub.acl.iter().map(String::as_str).collect();
    let specs = key_specs::specs_of(sub.name).unwrap_or_default();
    Reply::Array(vec![
        Reply::bulk(sub.name),
        Reply::Int(sub.arity as i64),
        names(&sub.flags),
        Reply::Int(sub.keys.0 as i64),
        Reply::Int(sub.keys.1 as i64),
        Reply::Int(sub.keys.2 as i64),
        names(&acl),
        tips(sub.name),
        Reply::Array(specs.iter().map(key_spec).collect()),
        subs,
    ])
}

/// One of Redis's key specifications (`key_specs.txt`) as COMMAND INFO shows it.
fn key_spec(spec: &key_specs::Spec) -> Reply {
    let s = |v: &str| Reply::bulk(v);
    let int = |v: i64| Reply::Int(v);
    let (begin, begin_spec) = match spec.begin {
        Begin::Index(i) => ("index", vec![(s("index"), int(i as i64))]),
        Begin::Keyword(word, from) => (
            "keyword",
            vec![(s("keyword"), s(word)), (s("startfrom"), int(from))],
        ),
        Begin::Unknown => ("unknown", Vec::new()),
    };
    let (find, find_spec) = match spec.find {
        Find::Range { last, step, limit } => (
            "range",
            vec![
                (s("lastkey"), int(last)),
                (s("keystep"), int(step as i64)),
                (s("limit"), int(limit)),
            ],
        ),
        Find::KeyNum { idx, first, step } => (
            "keynum",
            vec![
                (s("keynumidx"), int(idx as i64)),
                (s("firstkey"), int(first as i64)),
                (s("keystep"), int(step as i64)),
            ],
        ),
        Find::Unknown => ("unknown", Vec::new()),
    };
    Reply::Map(vec![
        (
            s("flags"),
            Reply::Set(spec.flags.split(',').map(Reply::status).collect()),
        ),
        (
            s("begin_search"),
            Reply::Map(vec![
                (s("type"), s(begin)),
                (s("spec"), Reply::Map(begin_spec)),
            ]),
        ),
        (
            s("find_keys"),
            Reply::Map(vec![
                (s("type"), s(find)),
                (s("spec"), Reply::Map(find_spec)),
            ]),
        ),
    ])
}

/// Key specifications derived from the key columns (a command Redis does not have).
fn key_specs(c: &CommandSpec) -> Vec<Reply> {
    if c.first_key <= 0 {
        return Vec::new();
    }
    let s = |v: &str| Reply::bulk(v);

    vec![Reply::Map(vec![
        (s("flags"), Reply::Set(key_flags(c))),
        (
            s("begin_search"),
            Reply::Map(vec![
                (s("type"), s("index")),
                (
                    s("spec"),
                    Reply::Map(vec![(s("index"), Reply::Int(c.first_key as i64))]),
                ),
            ]),
        ),
        (
            s("find_keys"),
            Reply::Map(vec![
                (s("type"), s("range")),
                (
                    s("spec"),
                    Reply::Map(vec![
                        (
                            s("lastkey"),
                            Reply::Int(if c.last_key < 0 {
                                c.last_key as i64
                            } else {
                                (c.last_key - c.first_key) as i64
                            }),
                        ),
                        (s("keystep"), Reply::Int(c.step as i64)),
                        (s("limit"), Reply::Int(0)),
                    ]),
                ),
            ]),
        ),
    ])]
}

/// A key's flags in COMMAND INFO's key specifications: `RW` for a write command's
/// keys, `RO` otherwise (COMMAND GETKEYSANDFLAGS shows Redis's own, `key_specs`).
fn key_flags(c: &CommandSpec) -> Vec<Reply> {
    let f = if c.has(flags::WRITE) { "RW" } else { "RO" };
    vec![Reply::Status(f.into())]
}

/// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern].
fn list(opts: &[Bytes]) -> Result<Reply, CmdError> {
    let keep: Box<dyn Fn(usize) -> bool> = match opts {
        [] => Box::new(|_| true),
        [by, kind, arg] if eq_ic(by, "FILTERBY") => {
            if eq_ic(kind, "MODULE") {
                // No modules: no command belongs to one.
                Box::new(|_| false)
            } else if eq_ic(kind, "ACLCAT") {
                let cat = format!("@{}", String::from_utf8_lossy(arg).to_ascii_lowercase());
                Box::new(move |id| subcommands::in_category(id, &cat))
            } else if eq_ic(kind, "PATTERN") {
                let pattern = arg.to_ascii_lowercase();
                Box::new(move |id| {
                    shards::glob::glob_match(&pattern, subcommands::name(id).as_bytes())
                })
            } else {
                return Err(CmdError::Syntax);
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    // Commands and their subcommands, as Redis lists them.
    Ok(Reply::Array(
        subcommands::walk()
            .filter(|&id| keep(id))
            .map(|id| Reply::bulk(subcommands::name(id)))
            .collect(),
    ))
}

fn docs_of(c: &CommandSpec) -> (Reply, Reply) {
    let s = |v: &str| Reply::bulk(v);
    (
        s(c.name),
        Reply::Map(vec![
            (s("summary"), s(c.summary)),
            (s("since"), s("1.0.0")),
            (s("group"), s(c.group)),
            (s("complexity"), s("O(1)")),
        ]),
    )
}

pub fn run(args: &[Bytes]) -> Result<Reply, CmdError> {
    if args.len() == 1 {
        return Ok(Reply::Array(COMMANDS.iter().map(info_of).collect()));
    }
    let sub = &args[1];
    if eq_ic(sub, "COUNT") && args.len() == 2 {
        return Ok(Reply::Int(COMMANDS.len() as i64));
    }
    if eq_ic(sub, "LIST") {
        return list(&args[2..]);
    }
    if eq_ic(sub, "INFO") {
        if args.len() == 2 {
            return Ok(Reply::Array(COMMANDS.iter().map(info_of).collect()));
        }
        return Ok(Reply::Array(
            args[2..]
                .iter()
                .map(|n| subcommands::lookup_id(n).map_or(Reply::Nil, info_of_id))
                .collect(),
        ));
    }
    if eq_ic(sub, "DOCS") {
        let list: Vec<&CommandSpec> = if args.len() == 2 {
            COMMANDS.iter().collect()
        } else {
            args[2..].iter().filter_map(|n| shards::lookup(n)).collect()
        };
        return Ok(Reply::Map(list.into_iter().map(docs_of).collect()));
    }
    let with_flags = eq_ic(sub, "GETKEYSANDFLAGS");
    if (eq_ic(sub, "GETKEYS") || with_flags) && args.len() >= 4 {
        let target = &args[2..];
        let spec = shards::lookup(&target[0])
            .ok_or_else(|| CmdError::other("ERR Invalid command specified"))?;
        if subcommands::arity_error(spec, target).is_some() {
            return Err(CmdError::other(
                "ERR Invalid number of arguments specified for command",
            ));
        }
        let positions: Vec<usize> = spec.key_positions(target).collect();
        let uses = shards::cmd::key_specs::key_flags(spec, target, &positions);
        let keys: Vec<Reply> = positions
            .into_iter()
            .zip(uses)
            .map(|(p, used)| {
                let key = Reply::Bulk(target[p].to_vec());
                if with_flags {
                    let named = used
                        .split(',')
                        .map(|f| Reply::Status(f.to_string()))
                        .collect();
                    Reply::Array(vec![key, Reply::Set(named)])
                } else {
                    key
                }
            })
            .collect();
        if keys.is_empty() {
            return Err(CmdError::other("ERR The command has no key arguments"));
        }
        return Ok(Reply::Array(keys));
    }
    if eq_ic(sub, "HELP") && args.len() == 2 {
        return Ok(Reply::Array(
            [
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)",
                "    Return details about all commands.",
                "COUNT",
                "    Return the total number of commands in this server.",
                "LIST [FILTERBY (MODULE <name>|ACLCAT <category>|PATTERN <pattern>)]",
                "    Return a list of the server's commands, all or those the filter keeps.",
                "INFO [<command-name> ...]",
                "    Return details about multiple commands.",
                "DOCS [<command-name> ...]",
                "    Return documentation details about multiple commands.",
                "GETKEYS <full-command>",
                "    Return the keys from a full command.",
                "GETKEYSANDFLAGS <full-command>",
                "    Return the keys and their access flags from a full command.",
                "HELP",
                "    Prints this help.",
            ]
            .iter()
            .map(|l| Reply::Status(l.to_string()))
            .collect(),
        ));
    }
    let name = String::from_utf8_lossy(sub).to_ascii_lowercase();
    if ["count", "getkeys", "getkeysandflags", "help"].contains(&name.as_str()) {
        return Err(CmdError::WrongArity(format!("command|{name}")));
    }
    Err(CmdError::UnknownSubcommand {
        sub: String::from_utf8_lossy(sub).into_owned(),
        cmd: "command".into(),
    })
}
