//! Keyspace walks over every shard: SCAN (one cursor across shards) and RANDOMKEY.

use std::rc::Rc;

use bytes::Bytes;
use shards::args::{eq_ic, parse_i64};
use shards::cmd::keys;
use shards::cmd::CommandSpec;
use shards::ops::ShardOp;
use shards::{CmdError, Reply};

use crate::runtime::clients::ClientHandle;
use crate::runtime::shard::Shard;
use crate::runtime::work::Work;

/// SCAN over all shards: the global cursor is `local_cursor * nshards + shard`. A call
/// walks the shard the cursor names and goes on to the next shards while it has found
/// fewer keys than COUNT, so an empty database answers cursor 0 at once.
pub async fn scan(
    shard: &Rc<Shard>,
    client: &ClientHandle,
    spec: &'static CommandSpec,
    mut args: Vec<Bytes>,
) -> Result<Reply, CmdError> {
    let cursor =
        keys::parse_cursor(&args[1]).ok_or_else(|| CmdError::other("ERR invalid cursor"))?;
    let count = scan_count(&args);
    let n = shard.nshards as u64;
    let (mut target, mut local) = ((cursor % n) as usize, cursor / n);
    let (db, touch) = client.db_touch();
    let mut found = Vec::new();
    // Bounded: at most one full pass over the shards plus the steps of one shard.
    for _ in 0..(shard.nshards + 64) {
        args[1] = Bytes::from(local.to_string());
        let op = ShardOp::Cmd {
            spec,
            db,
            touch,
            args: args.clone(),
            track: shards::ops::Track::NONE,
        };
        let reply = shard.call(target, Work::Ops(vec![op])).await.into_reply();
        let Reply::Array(mut parts) = reply else {
            return Ok(reply);
        };
        if let Some(Reply::Array(keys)) = parts.pop() {
            found.extend(keys);
        }
        local = match parts.first() {
            Some(Reply::Bulk(b)) => keys::parse_cursor(b).unwrap_or(0),
            _ => 0,
        };
        if local == 0 {
            target += 1;
            if target == shard.nshards {
                return Ok(scan_reply(0, found));
            }
        }
        if found.len() >= count {
            break;
        }
    }
    Ok(scan_reply(local * n + target as u64, found))
}

/// The COUNT a SCAN asks for (10 when absent or unparsable; shards report bad values).
fn scan_count(args: &[Bytes]) -> usize {
    let mut i = 2;
    while i + 1 < args.len() {
        if eq_ic(&args[i], "COUNT") {
            return parse_i64(&args[i + 1]).map_or(10, |c| c.clamp(1, 1 << 20) as usize);
        }
        i += 2;
    }
    10
}

fn scan_reply(cursor: u64, keys: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(cursor.to_string().into_bytes()),
        Reply::Array(keys),
    ])
}

/// RANDOMKEY: asks shards, starting at a random one, until one has a key.
pub async fn randomkey(
    shard: &Rc<Shard>,
    client: &ClientHandle,
    spec: &'static CommandSpec,
    args: Vec<Bytes>,
) -> Result<Reply, CmdError> {
    let n = shard.nshards;
    let start = (shard.ks.borrow_mut().rand() % n as u64) as usize;
    let db = client.info.borrow().db;
    for i in 0..n {
        let op = ShardOp::Cmd {
            spec,
            db,
            touch: false,
            args: args.clone(),
            track: shards::ops::Track::NONE,
        };
        match shard
            .call((start + i) % n, Work::Ops(vec![op]))
            .await
            .into_reply()
        {
            Reply::Nil => continue,
            r => return Ok(r),
        }
    }
    Ok(Reply::Nil)
}
