//! FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]: Redis 6.2's coordinated
//! failover, run by the primary. It pauses clients' writes, waits until the target
//! replica (or any replica) acknowledged the whole stream, then becomes a replica of
//! it with `PSYNC <replid> <offset> FAILOVER`, which makes the target a primary (its
//! old id kept as its second one, so the demoted primary resumes from it partially).
//! The pause ends when the target answered (the failover is done) or on a failure,
//! a timeout (unless FORCE) or FAILOVER ABORT (the server stays the primary).
//!
//! The replica's side of `PSYNC ... FAILOVER` is in `replication.rs`; the failover's
//! state in `runtime/handover.rs`.

use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use shards::args::{eq_ic, parse_i64};
use shards::{CmdError, Reply};

use crate::runtime::handover::{self, Phase};
use crate::runtime::shard::Shard;
use crate::runtime::{backlog, replicas, upstream};

pub async fn failover(shard: &Rc<Shard>, args: &[Bytes]) -> Result<Reply, CmdError> {
    if crate::commands::cluster::enabled() {
        return Err(CmdError::other(
            "ERR FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER command instead.",
        ));
    }
    if args.len() == 2 && eq_ic(&args[1], "abort") {
        if !handover::running() {
            return Err(CmdError::other("ERR No failover in progress."));
        }
        handover::abort("Failover manually aborted");
        return Ok(Reply::Ok);
    }
    let (mut timeout, mut force, mut target) = (0i64, false, None);
    let mut j = 1;
    while j < args.len() {
        if eq_ic(&args[j], "timeout") && j + 1 < args.len() && timeout == 0 {
            timeout = parse_i64(&args[j + 1])?;
            if timeout <= 0 {
                return Err(CmdError::other(
                    "ERR FAILOVER timeout must be greater than 0",
                ));
            }
            j += 2;
        } else if eq_ic(&args[j], "to") && j + 2 < args.len() && target.is_none() {
            let port = parse_i64(&args[j + 2])?;
            target = Some((String::from_utf8_lossy(&args[j + 1]).into_owned(), port));
            j += 3;
        } else if eq_ic(&args[j], "force") && !force {
            force = true;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if handover::running() {
        return Err(CmdError::other("ERR FAILOVER already in progress."));
    }
    if upstream::is_replica() {
        return Err(CmdError::other(
            "ERR FAILOVER is not valid when server is a replica.",
        ));
    }
    let list = replicas::list();
    if list.is_empty() {
        return Err(CmdError::other("ERR FAILOVER requires connected replicas."));
    }
    if force && (timeout == 0 || target.is_none()) {
        return Err(CmdError::other(
            "ERR FAILOVER with force option requires both a timeout and target HOST and IP.",
        ));
    }
    let target = match target {
        Some((host, port)) => {
            let found = list
                .iter()
                .find(|r| r.ip == host && i64::from(r.port) == port);
            let Some(r) = found else {
                return Err(CmdError::other(
                    "ERR FAILOVER target HOST and PORT is not a replica.",
                ));
            };
            if r.state != replicas::State::Online {
                return Err(CmdError::other(
                    "ERR FAILOVER target replica is not online.",
                ));
            }
            crate::base::log::notice(&format!("FAILOVER requested to {host}:{port}."));
            Some((host, r.port))
        }
        None => {
            crate::base::log::notice("FAILOVER requested to any replica.");
            None
        }
    };
    let deadline = (timeout > 0).then(|| Instant::now() + Duration::from_millis(timeout as u64));
    handover::begin(target, deadline, force);
    crate::runtime::exec::spawn(watch(shard.clone()));
    Ok(Reply::Ok)
}

/// Drives the wait: once a replica acknowledged the whole stream (or the timeout passed
/// with FORCE) this server follows it with PSYNC FAILOVER.
async fn watch(shard: Rc<Shard>) {
    loop {
        let (phase, target, deadline, force) = handover::current();
        if phase != Phase::WaitForSync {
            return;
        }
        let timed_out = deadline.is_some_and(|d| Instant::now() >= d);
        let caught_up = replicas::list().into_iter().find(|r| {
            r.state == replicas::State::Online
                && r.acked == backlog::offset()
                && target
                    .as_ref()
                    .is_none_or(|(h, p)| r.ip == *h && r.port == *p)
        });
        let chosen = match (caught_up, timed_out) {
            (Some(r), _) => Some((r.ip, r.port)),
            (None, true) if force => target.clone(),
            (None, true) => {
                handover::abort("Replica never caught up before timeout");
                return;
            }
            (None, false) => None,
        };
        if let Some((host, port)) = chosen {
            handover::set_in_progress();
            crate::base::log::notice(&format!("Failover to {host}:{port}: becoming its replica"));
            crate::commands::replication::follow(&shard, &host, port);
            return;
        }
        // Replicas acknowledge once a second (as Redis's failover, it waits for that:
        // a GETACK would move the offset it waits for).
        crate::runtime::sleep::sleep(Duration::from_millis(10)).await;
    }
}
