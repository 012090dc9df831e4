//! DEBUG: the subcommands tests use (SLEEP, SET-ACTIVE-EXPIRE, RELOAD, LOADAOF) and HELP.

use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use shards::args::{eq_ic, parse_f64, parse_i64};
use shards::{CmdError, Reply};

use crate::runtime::shard::Shard;

pub async fn run(shard: &Rc<Shard>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let sub = &args[1];
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
