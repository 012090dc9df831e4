//! Replaying the append-only file at start-up: its commands run through the router as
//! a client's would (a client without a socket, on shard 0), so commands whose keys
//! live on several shards, MULTI blocks and SELECTs behave exactly as they did when
//! they were logged. Clients are let in only afterwards (see `commands::aof`).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;

use crate::base::log;
use crate::commands::aof::{self, Plan};
use crate::net::router::{Batch, Flow};
use crate::runtime::shard::Shard;

/// Commands per batch: the router groups each batch's keys per shard.
const BATCH: usize = 1024;

/// Replays the files `plan` lists, then opens the log for appending. A file that
/// cannot be loaded ends the process, as in Redis.
pub async fn load_and_open(shard: Rc<Shard>, plan: Plan) {
    let started = Instant::now();
    let files = plan.command_files();
    let mut total = 0usize;
    for (i, path) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        let cmds = match aof::read_commands(path, last, plan.load_truncated) {
            Ok(c) => c,
            Err(e) => fail(&e),
        };
        total += cmds.len();
        if let Err(e) = replay(&shard, cmds).await {
            fail(&format!("{e} ({})", path.display()));
        }
    }
    if plan.manifest.is_some() {
        log::notice(&format!(
            "DB loaded from append only file: {:.3} seconds ({total} commands)",
            started.elapsed().as_secs_f64()
        ));
    }
    // Keys may expire again, on every shard, before clients come in.
    shard
        .run_everywhere(|| |sh: &Rc<Shard>| sh.ks.borrow_mut().loading = false)
        .await;
    if let Err(e) = aof::open_after_load(plan) {
        fail(&e);
    }
}

/// `replay` as `commands::aof` calls it (DEBUG LOADAOF); unknown commands were
/// checked when the file was read at start-up, and are skipped with a warning here.
pub fn replay_boxed(shard: Rc<Shard>, cmds: Vec<Vec<Bytes>>) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        if let Err(e) = replay(&shard, cmds).await {
            log::warning(&e);
        }
    })
}

fn fail(msg: &str) -> ! {
    log::warning(msg);
    std::process::exit(1);
}

/// Runs `cmds` as one client would send them. Unknown commands are fatal, as in
/// Redis; commands that answer an error are not (the log only has what succeeded,
/// but a file edited by hand may not).
async fn replay(shard: &Rc<Shard>, cmds: Vec<Vec<Bytes>>) -> Result<(), String> {
    if let Some(bad) = cmds.iter().find(|c| shards::lookup(&c[0]).is_none()) {
        return Err(format!(
            "Unknown command '{}' reading the append only file",
            String::from_utf8_lossy(&bad[0])
        ));
    }
    let now = shard.ks.borrow().now();
    let client = shard.clients.borrow_mut().register(-1, None, None, now);
    client.info.borrow_mut().authenticated = true;
    client.trusted.set(true);
    let mut rest = cmds;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(BATCH));
        let mut batch = rest;
        rest = tail;
        loop {
            let mut out = Vec::new();
            match Batch::new(shard, &client).run(batch, &mut out).await {
                Flow::Pause(more) if !more.is_empty() => batch = more,
                Flow::Block(b) if !b.rest.is_empty() => batch = b.rest,
                _ => break,
            }
        }
    }
    shard
        .clients
        .borrow_mut()
        .unregister(client.info.borrow().id);
    Ok(())
}
