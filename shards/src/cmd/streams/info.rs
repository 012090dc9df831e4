//! XINFO STREAM [FULL [COUNT n]] / GROUPS / CONSUMERS / HELP.

use bytes::Bytes;

use super::groups::{help_reply, subcommand_arity, subcommand_syntax};
use super::{entry_reply, id_reply, range_reply, read_stream};
use crate::args::{eq_ic, parse_i64};
use crate::cmd::{arg, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::types::stream::{Group, Stream, StreamId};

const XINFO_HELP: &[&str] = &[
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
];

fn field(name: &str, value: Reply) -> (Reply, Reply) {
    (Reply::bulk(name), value)
}

fn lag_reply(s: &Stream, g: &Group) -> Reply {
    s.lag(g).map_or(Reply::Nil, Reply::Int)
}

fn entries_read_reply(g: &Group) -> Reply {
    g.entries_read.map_or(Reply::Nil, |n| Reply::Int(n as i64))
}

/// The nodes of the radix tree Redis would hold for this many keys (reported by XINFO;
/// ours is a B-tree, so this is Redis's count for keys with a shared prefix).
fn tree_nodes(keys: usize) -> i64 {
    keys as i64 + 1
}

pub fn xinfo(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let sub = arg(args, 1)?;
    subcommand_arity(
        args,
        "xinfo",
        &[("consumers", 4), ("groups", 3), ("stream", -3), ("help", 2)],
    )?;
    if eq_ic(sub, "help") {
        if args.len() != 2 {
            return Err(subcommand_syntax(args, "xinfo"));
        }
        return Ok(help_reply(XINFO_HELP));
    }
    if args.len() < 3 {
        return Err(subcommand_syntax(args, "xinfo"));
    }
    let key = &args[2][..];
    let now = ctx.ks.now();
    let Some(s) = read_stream(ctx, key)? else {
        return Err(CmdError::NoSuchKey);
    };
    if eq_ic(sub, "consumers") && args.len() == 4 {
        let name = &args[3][..];
        let Some(g) = s.groups.get(name) else {
            return Err(CmdError::other(format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(key)
            )));
        };
        let list = g
            .consumers
            .iter()
            .map(|(n, c)| {
                Reply::Map(vec![
                    field("name", Reply::bulk(n)),
                    field("pending", Reply::Int(c.pel.len() as i64)),
                    field("idle", Reply::Int(now.saturating_sub(c.seen_time) as i64)),
                ])
            })
            .collect();
        Ok(Reply::Array(list))
    } else if eq_ic(sub, "groups") && args.len() == 3 {
        let list = s
            .groups
            .iter()
            .map(|(n, g)| {
                Reply::Map(vec![
                    field("name", Reply::bulk(n)),
                    field("consumers", Reply::Int(g.consumers.len() as i64)),
                    field("pending", Reply::Int(g.pel.len() as i64)),
                    field("last-delivered-id", id_reply(g.last_id)),
                    field("entries-read", entries_read_reply(g)),
                    field("lag", lag_reply(s, g)),
                ])
            })
            .collect();
        Ok(Reply::Array(list))
    } else if eq_ic(sub, "stream") {
        stream_info(s, args)
    } else {
        Err(subcommand_syntax(args, "xinfo"))
    }
}

fn edge_entry(s: &Stream, rev: bool) -> Reply {
    let mut out = Reply::Nil;
    s.range(StreamId::MIN, StreamId::MAX, rev, |id, fields| {
        out = entry_reply(id, fields);
        false
    });
    out
}

/// XINFO STREAM key [FULL [COUNT n]]
fn stream_info(s: &Stream, args: &[Bytes]) -> CmdResult<Reply> {
    let opts = &args[3..];
    let mut count = 10i64;
    let full = !opts.is_empty();
    if full {
        if (opts.len() != 1 && opts.len() != 3) || !eq_ic(&opts[0], "full") {
            return Err(subcommand_syntax(args, "xinfo"));
        }
        if opts.len() == 3 {
            if !eq_ic(&opts[1], "count") {
                return Err(subcommand_syntax(args, "xinfo"));
            }
            count = parse_i64(&opts[2])?;
            if count < 0 {
                count = 10;
            }
        }
    }
    let mut map = vec![
        field("length", Reply::Int(s.len() as i64)),
        field("radix-tree-keys", Reply::Int(s.node_count() as i64)),
        field("radix-tree-nodes", Reply::Int(tree_nodes(s.node_count()))),
        field("last-generated-id", id_reply(s.last_id)),
        field("max-deleted-entry-id", id_reply(s.max_deleted_id)),
        field("entries-added", Reply::Int(s.entries_added as i64)),
        field("recorded-first-entry-id", id_reply(s.first_id)),
    ];
    if !full {
        map.push(field("groups", Reply::Int(s.groups.len() as i64)));
        map.push(field("first-entry", edge_entry(s, false)));
        map.push(field("last-entry", edge_entry(s, true)));
        return Ok(Reply::Map(map));
    }
    let limit = count as usize;
    let take = |n: usize| if limit == 0 { n } else { n.min(limit) };
    let entries = range_reply(s, StreamId::MIN, StreamId::MAX, false, limit);
    map.push(field("entries", Reply::Array(entries)));
    let groups = s
        .groups
        .iter()
        .map(|(name, g)| {
            let pel = g
                .pel
                .iter()
                .take(take(g.pel.len()))
                .map(|(id, p)| {
                    Reply::Array(vec![
                        id_reply(*id),
                        Reply::bulk(&p.consumer),
                        Reply::Int(p.delivery_time as i64),
                        Reply::Int(p.delivery_count as i64),
                    ])
                })
                .collect();
            let consumers = g
                .consumers
                .iter()
                .map(|(cname, c)| {
                    let pending = c
                        .pel
                        .iter()
                        .take(take(c.pel.len()))
                        .map(|id| {
                            let p = &g.pel[id];
                            Reply::Array(vec![
                                id_reply(*id),
                                Reply::Int(p.delivery_time as i64),
                                Reply::Int(p.delivery_count as i64),
                            ])
                        })
                        .collect();
                    Reply::Map(vec![
                        field("name", Reply::bulk(cname)),
                        field("seen-time", Reply::Int(c.seen_time as i64)),
                        field("pel-count", Reply::Int(c.pel.len() as i64)),
                        field("pending", Reply::Array(pending)),
                    ])
                })
                .collect();
            Reply::Map(vec![
                field("name", Reply::bulk(name)),
                field("last-delivered-id", id_reply(g.last_id)),
                field("entries-read", entries_read_reply(g)),
                field("lag", lag_reply(s, g)),
                field("pel-count", Reply::Int(g.pel.len() as i64)),
                field("pending", Reply::Array(pel)),
                field("consumers", Reply::Array(consumers)),
            ])
        })
        .collect();
    map.push(field("groups", Reply::Array(groups)));
    Ok(Reply::Map(map))
}
