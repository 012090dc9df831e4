//! DEBUG: the subcommands tools and Redis's tests use (SLEEP, SET-ACTIVE-EXPIRE,
//! RELOAD, LOADAOF, OBJECT, DIGEST, DIGEST-VALUE, LISTPACK, QUICKLIST,
//! QUICKLIST-PACKED-THRESHOLD) and HELP. OBJECT, DIGEST-VALUE, LISTPACK and QUICKLIST
//! run on the shards of their keys, DIGEST on every shard (the engine's
//! `shards/src/cmd/debug.rs`), their digests XORed into the dataset's.

use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use shards::args::{eq_ic, parse_f64, parse_i64};
use shards::cmd::CommandSpec;
use shards::ops::ShardOp;
use shards::{CmdError, Reply};

use crate::runtime::clients::ClientHandle;
use crate::runtime::shard::Shard;
use crate::runtime::work::Work;

/// Runs a server command's per-shard part (`spec`'s handler: DEBUG OBJECT, MEMORY
/// USAGE ...) on `owner`'s keyspace, without touching keys.
pub(super) async fn on_shard(
    shard: &Rc<Shard>,
    owner: shards::ShardId,
    spec: &'static CommandSpec,
    db: usize,
    args: Vec<Bytes>,
) -> Reply {
    let op = ShardOp::Cmd {
        spec,
        db,
        touch: false,
        args,
        track: shards::ops::Track::NONE,
    };
    shard.call(owner, Work::Ops(vec![op])).await.into_reply()
}

pub async fn run(
    shard: &Rc<Shard>,
    client: &ClientHandle,
    spec: &'static CommandSpec,
    args: &[Bytes],
) -> Result<Reply, CmdError> {
    let sub = &args[1];
    let db = client.info.borrow().db;
    if eq_ic(sub, "OBJECT") && args.len() == 3 {
        let owner = shard.slots.owner_of_key(&args[2]);
        return Ok(on_shard(shard, owner, spec, db, args.to_vec()).await);
    }
    let listpack = eq_ic(sub, "LISTPACK") && args.len() == 3;
    if listpack || (eq_ic(sub, "QUICKLIST") && (args.len() == 3 || args.len() == 4)) {
        let owner = shard.slots.owner_of_key(&args[2]);
        return Ok(
            match on_shard(shard, owner, spec, db, args.to_vec()).await {
                // Printed on standard output, as Redis does.
                Reply::Array(lines) => {
                    for line in lines {
                        if let Reply::Status(l) = line {
                            println!("{l}");
                        }
                    }
                    let what = if listpack { "Listpack" } else { "Quicklist" };
                    Reply::Status(format!("{what} structure printed on stdout"))
                }
                other => other,
            },
        );
    }
    if eq_ic(sub, "QUICKLIST-PACKED-THRESHOLD") && args.len() == 3 {
        // Process-wide, as in Redis: every shard's lists see it at once.
        let size = std::str::from_utf8(&args[2])
            .ok()
            .and_then(shards::config::parse_memory);
        return match size {
            Some(sz) if shards::types::list::set_packed_threshold(sz) => Ok(Reply::Ok),
            _ => Err(CmdError::other(
                "ERR argument must be a memory value bigger than 1 and smaller than 4gb",
            )),
        };
    }
    if eq_ic(sub, "DIGEST-VALUE") {
        let mut digests = Vec::with_capacity(args.len() - 2);
        for key in &args[2..] {
            let owner = shard.slots.owner_of_key(key);
            let one = vec![args[0].clone(), args[1].clone(), key.clone()];
            match on_shard(shard, owner, spec, db, one).await {
                Reply::Array(mut d) if d.len() == 1 => digests.push(d.remove(0)),
                other => return Ok(other),
            }
        }
        return Ok(Reply::Array(digests));
    }
    if eq_ic(sub, "DIGEST") && args.len() == 2 {
        let mut all = [0u8; 20];
        for owner in 0..shard.nshards {
            let r = on_shard(shard, owner, spec, 0, args.to_vec()).await;
            let Reply::Status(hex) = r else { return Ok(r) };
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
                .collect();
            if let Ok(d) = <[u8; 20]>::try_from(bytes) {
                shards::digest::combine(&mut all, &d);
            }
        }
        return Ok(Reply::Status(shards::digest::hex(&all)));
    }
    if eq_ic(sub, "SLEEP") && args.len() == 3 {
        let secs = parse_f64(&args[2])?;
        if secs > 0.0 {
            crate::runtime::sleep::sleep(Duration::from_secs_f64(secs.min(3600.0))).await;
        }
        return Ok(Reply::Ok);
    }
    if eq_ic(sub, "SET-ACTIVE-EXPIRE") && args.len() == 3 {
        let on = parse_i64(&args[2])? != 0;
        shard
            .run_everywhere(|| move |s: &Rc<Shard>| s.settings.borrow_mut().active_expire = on)
            .await;
        return Ok(Reply::Ok);
    }
    if eq_ic(sub, "RELOAD") && args.len() == 2 {
        return crate::commands::save::debug_reload(shard).await;
    }
    if eq_ic(sub, "LOADAOF") && args.len() == 2 {
        return crate::commands::aof::debug_loadaof(shard).await;
    }
    if eq_ic(sub, "HELP") {
        return Ok(Reply::Array(
            [
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "SLEEP <seconds>",
                "    Stop the connection for <seconds> (decimals allowed).",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Switch active expiry of keys off or on.",
                "RELOAD",
                "    Save the RDB on disk, empty the databases and load the file again.",
                "LOADAOF",
                "    Flush the AOF buffers on disk, empty the databases and load the AOF again.",
                "OBJECT <key>",
                "    The key's value as Redis's DEBUG OBJECT line (encoding, serialized length, idle).",
                "DIGEST",
                "    A digest of the whole dataset (0s when it is empty).",
                "DIGEST-VALUE <key> [<key> ...]",
                "    A digest of each key's value (0s for a missing key).",
                "LISTPACK <key>",
                "    Show low level info about the listpack encoding of <key>.",
                "QUICKLIST <key> [<0|1>]",
                "    Show low level info about the quicklist encoding of <key>.",
                "QUICKLIST-PACKED-THRESHOLD <size>",
                "    Sets the threshold for elements to be inserted as plain vs packed nodes.",
                "    The default 0 restores 1GB.",
                "HELP",
                "    Prints this help.",
            ]
            .iter()
            .map(|l| Reply::Status(l.to_string()))
            .collect(),
        ));
    }
    Err(CmdError::UnknownSubcommand {
        sub: String::from_utf8_lossy(sub).into_owned(),
        cmd: "debug".into(),
    })
}
