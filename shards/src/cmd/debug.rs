//! DEBUG's per-shard part (the server routes each to the shard of its keys, or to
//! every shard): OBJECT <key>, DIGEST-VALUE <key> ..., DIGEST (this shard's dataset).

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
    if let Value::List(l) = value {
        if l.is_quicklist() {
            let nodes = l.node_items().count();
            let total: usize = l
                .node_items()
                .map(|n| n.map(<[u8]>::len).sum::<usize>())
                .sum();
            line.push_str(&format!(
                " ql_nodes:{nodes} ql_avg_node:{:.2} ql_listpack_max:{} ql_compressed:0 \
                 ql_uncompressed_size:{total}",
                l.len() as f64 / nodes.max(1) as f64,
                config.list_max_listpack_size,
            ));
        }
    }
    Ok(Reply::Status(line))
}
