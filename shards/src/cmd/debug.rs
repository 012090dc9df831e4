//! DEBUG's per-shard part (the server routes each to the shard of its keys, or to
//! every shard): OBJECT <key>, DIGEST-VALUE <key> ..., DIGEST (this shard's dataset),
//! LISTPACK <key> and QUICKLIST <key> (the structure's lines, which the server prints).

use bytes::Bytes;

use super::{arg, Ctx};
use crate::args::eq_ic;
use crate::digest::{self, Digest};
use crate::error::{CmdError, CmdResult};
use crate::evict::access;
use crate::reply::Reply;
use crate::value::Value;

pub fn debug(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let sub = arg(args, 1)?;
    if eq_ic(sub, "OBJECT") && args.len() == 3 {
        return object(ctx, arg(args, 2)?);
    }
    if eq_ic(sub, "DIGEST-VALUE") {
        let digests = args[2..]
            .iter()
            .map(|key| {
                let d = ctx
                    .ks
                    .peek_entry(ctx.db, key)
                    .filter(|e| !e.is_expired(ctx.ks.expiry_now()))
                    .map_or([0u8; 20], |e| digest::value_digest(e.value()));
                Reply::Status(digest::hex(&d))
            })
            .collect();
        return Ok(Reply::Array(digests));
    }
    if eq_ic(sub, "LISTPACK") && args.len() == 3 {
        return structure(ctx, arg(args, 2)?, "listpack");
    }
    if eq_ic(sub, "QUICKLIST") && (args.len() == 3 || args.len() == 4) {
        return structure(ctx, arg(args, 2)?, "quicklist");
    }
    if eq_ic(sub, "DIGEST") && args.len() == 2 {
        let mut all: Digest = [0u8; 20];
        for db in 0..ctx.ks.db_count() {
            ctx.ks.for_each_key(db, |key, entry| {
                digest::combine(&mut all, &digest::key_digest(db, key, entry));
            });
        }
        return Ok(Reply::Status(digest::hex(&all)));
    }
    Err(CmdError::Syntax)
}

/// DEBUG LISTPACK / QUICKLIST: the lines describing a value of that encoding, which
/// the server prints on its standard output (as Redis does) before answering.
fn structure(ctx: &mut Ctx, key: &[u8], encoding: &str) -> CmdResult<Reply> {
    let config = ctx.ks.config.clone();
    let Some(entry) = ctx.ks.read(ctx.db, key, false) else {
        return Err(CmdError::other("ERR no such key"));
    };
    let value = entry.value();
    if value.encoding(&config) != encoding {
        return Err(CmdError::other(format!(
            "ERR Not a {encoding} encoded object."
        )));
    }
    let mut lines = vec![format!(
        "{{{encoding} of {}}} {{type {}}}",
        String::from_utf8_lossy(key),
        value.type_name(),
    )];
    if let Value::List(l) = value {
        lines.push(format!("{{elements {}}}", l.len()));
        if encoding == "quicklist" {
            lines.extend(l.node_lines());
        } else {
            lines.extend(
                l.iter().enumerate().map(|(i, e)| {
                    format!("{{index {i}}} {{value {}}}", String::from_utf8_lossy(&e))
                }),
            );
        }
    }
    Ok(Reply::Array(lines.into_iter().map(Reply::Status).collect()))
}

/// DEBUG OBJECT: Redis's line (the address is the entry's, the LRU clock in seconds).
fn object(ctx: &mut Ctx, key: &[u8]) -> CmdResult<Reply> {
    let now = ctx.ks.now();
    let config = ctx.ks.config.clone();
    let Some(entry) = ctx.ks.read(ctx.db, key, false) else {
        return Err(CmdError::other("ERR no such key"));
    };
    let value = entry.value();
    let mut serialized = Vec::new();
    crate::rdb::write_object(&mut serialized, value);
    let idle = access::idle_secs(entry.access(), now);
    let lru = (now / 1000).saturating_sub(idle) & ((1 << 24) - 1);
    let mut line = format!(
        "Value at:{:p} refcount:1 encoding:{} serializedlength:{} lru:{lru} lru_seconds_idle:{idle}",
        value as *const Value,
        value.encoding(&config),
        serialized.len().saturating_sub(1),
    );
    let ql = match value {
        Value::List(l) => l.quicklist_info().map(|ql| (ql, l.len())),
        _ => None,
    };
    if let Some((ql, len)) = ql {
        line.push_str(&format!(
            " ql_nodes:{} ql_avg_node:{:.2} ql_listpack_max:{} ql_compressed:{} \
             ql_uncompressed_size:{}",
            ql.nodes,
            len as f64 / ql.nodes.max(1) as f64,
            ql.fill,
            u8::from(ql.compresses),
            ql.uncompressed,
        ));
    }
    Ok(Reply::Status(line))
}
