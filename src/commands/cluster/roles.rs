//! Cluster replicas. Replication in corecache is per process (one stream for all its
//! shards, `runtime/backlog.rs`), so a replica is a whole process: it has as many
//! shards as its primary process, its node `i` replicates the primary's node `i`, and
//! its link is an ordinary replica link to the primary's public port. Its keys live on
//! the shard of the node that replicates their slot's owner, so a READONLY read on a
//! replica node is served by that node's own core.
//!
//! Roles come from the topology file (`replicaof=`) and change with CLUSTER REPLICATE
//! and CLUSTER FAILOVER. There is no cluster bus: the process that changed tells every
//! other process of the topology with `CLUSTER PROCESS-ROLE` over a client connection
//! (an operator may send it too), and each process keeps the roles in its nodes file.
//!
//! CLUSTER FAILOVER (default) coordinates with the primary as Redis's manual failover
//! does: the primary's writes are paused (CLIENT PAUSE WRITE), the replica waits until
//! it applied the primary's whole stream, takes over the slots, tells every process,
//! and lifts the pause; the paused writers then get `-MOVED` to the new primary. FORCE
//! and TAKEOVER skip the coordination (the primary may be down); as there is no vote
//! to hold, both take over at once.

use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use shards::args::eq_ic;
use shards::{CmdError, Reply};

use super::{update, with, State, Update};
use crate::base::log;
use crate::runtime::peer::Peer;
use crate::runtime::shard::Shard;
use crate::runtime::{backlog, upstream};

/// How long a coordinated failover waits for the replica to catch up (Redis's
/// manual failover timeout).
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(5);

fn other(msg: impl Into<String>) -> CmdError {
    CmdError::other(msg)
}

/// Starts or stops this process's replication link to match its role (after a role
/// change, on the shard that applied it, and at start-up on shard 0).
pub fn sync_upstream(shard: &Rc<Shard>) {
    let want = with(|st| {
        st.my_primary()
            .map(|p| (st.processes[p].ip.clone(), st.processes[p].port))
    });
    let current = upstream::get().map(|u| (u.host, u.port));
    match want {
        None => stop_replicating(),
        Some(addr) if current.as_ref() != Some(&addr) => {
            log::notice(&format!(
                "Cluster: replicating the process at {}:{}",
                addr.0, addr.1
            ));
            crate::commands::replication::follow(shard, &addr.0, addr.1);
        }
        Some(_) => {}
    }
}

/// Ends this process's replication link, if any: it takes writes from now on.
fn stop_replicating() {
    if let Some(u) = upstream::get() {
        upstream::stop();
        backlog::shift_replid();
        log::notice(&format!(
            "MASTER MODE enabled (cluster failover; was a replica of {}:{})",
            u.host, u.port
        ));
    }
}

/// `ip:port` of a process.
fn addr_of(st: &State, p: usize) -> String {
    format!("{}:{}", st.processes[p].ip, st.processes[p].port)
}

/// CLUSTER REPLICATE <node-id>: this whole process becomes a replica of the node's
/// process.
pub async fn replicate(shard: &Rc<Shard>, id: &Bytes) -> Result<Reply, CmdError> {
    let (mine, primary) = with(|st| -> Result<(usize, usize), CmdError> {
        let n = st
            .node_by_id(id)
            .ok_or_else(|| other(format!("ERR Unknown node {}", String::from_utf8_lossy(id))))?;
        if n == st.me {
            return Err(other("ERR Can't replicate myself"));
        }
        if st.nodes[n].master.is_some() {
            return Err(other("ERR I can only replicate a master, not a replica."));
        }
        let (mine, theirs) = (st.nodes[st.me].process, st.nodes[n].process);
        if mine == theirs {
            return Err(other(
                "ERR corecache replicates whole processes: the node is a shard of this same process",
            ));
        }
        let my_nodes = st.nodes_of(mine);
        let their_nodes = st.nodes_of(theirs);
        let pos = |v: &[usize], x: usize| v.iter().position(|&y| y == x);
        if my_nodes.len() != their_nodes.len() || pos(&my_nodes, st.me) != pos(&their_nodes, n) {
            return Err(other(format!(
                "ERR corecache replicates whole processes: node {i} of this process replicates \
                 node {i} of a process with as many shards ({} has {} nodes, this one {})",
                addr_of(st, theirs),
                their_nodes.len(),
                my_nodes.len(),
                i = pos(&my_nodes, st.me).unwrap_or(0)
            )));
        }
        let has_slots = my_nodes.iter().any(|&m| !st.ranges_of(m).is_empty());
        if st.nodes[st.me].master.is_none() && has_slots {
            return Err(other(
                "ERR To set a master the node must be empty and without assigned slots.",
            ));
        }
        Ok((mine, theirs))
    })?;
    let was_master = with(|st| st.nodes[st.me].master.is_none());
    if was_master {
        let keys: usize = shard
            .run_everywhere(|| |s: &Rc<Shard>| s.ks.borrow().len(0))
            .await
            .into_iter()
            .sum();
        if keys > 0 {
            return Err(other(
                "ERR To set a master the node must be empty and without assigned slots.",
            ));
        }
    }
    update(
        shard,
        Update::Follow {
            process: mine,
            primary,
        },
    )
    .await;
    sync_upstream(shard);
    let words = with(|st| vec![addr_of(st, mine), "REPLICAOF".into(), addr_of(st, primary)]);
    tell_others(shard, words);
    Ok(Reply::Ok)
}

/// CLUSTER FAILOVER [FORCE|TAKEOVER] on a replica node: answers at once, the takeover
/// runs on its own task (as Redis's).
pub async fn failover(shard: &Rc<Shard>, opts: &[Bytes]) -> Result<Reply, CmdError> {
    let force = match opts {
        [] => false,
        [o] if eq_ic(o, "force") || eq_ic(o, "takeover") => true,
        [_] => return Err(CmdError::Syntax),
        _ => {
            return Err(CmdError::UnknownSubcommand {
                sub: "failover".into(),
                cmd: "cluster".into(),
            })
        }
    };
    if with(|st| st.nodes[st.me].master.is_none()) {
        return Err(other("ERR You should send CLUSTER FAILOVER to a replica"));
    }
    let link_up = upstream::get().is_some_and(|u| u.link == upstream::Link::Connected);
    if !force && !link_up {
        return Err(other(
            "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE",
        ));
    }
    crate::runtime::exec::spawn(take_over(shard.clone(), force));
    Ok(Reply::Ok)
}

async fn take_over(shard: Rc<Shard>, force: bool) {
    let Some(primary) = with(|st| st.my_primary()) else {
        return;
    };
    let mut paused = None;
    if !force {
        match coordinate(&shard, primary).await {
            Ok(peer) => paused = Some(peer),
            Err(e) => {
                log::warning(&format!("Manual failover failed: {e}"));
                return;
            }
        }
    }
    let (mine, epoch) = with(|st| (st.nodes[st.me].process, st.current_epoch + 1));
    // A replica no more before any shard shows the slots as ours: a client that sees
    // them there may write at once.
    stop_replicating();
    update(
        &shard,
        Update::Promote {
            process: mine,
            epoch,
        },
    )
    .await;
    sync_upstream(&shard);
    log::notice(&format!(
        "Failover: this process took over its primary's slots (config epoch {epoch})"
    ));
    let words = with(|st| vec![addr_of(st, mine), "PRIMARY".into(), epoch.to_string()]);
    tell_all(&shard, words).await;
    if let Some(mut peer) = paused {
        // The old primary knows its new role by now: its paused writers get -MOVED.
        let _ = peer.ask(&[b"CLIENT", b"UNPAUSE"]).await;
    }
}

/// Pauses the primary's writes and waits until this replica applied its whole stream;
/// returns the connection that holds the pause.
async fn coordinate(shard: &Rc<Shard>, primary: usize) -> Result<Peer, String> {
    let mut peer = connect(shard, primary).await?;
    let ms = FAILOVER_TIMEOUT.as_millis().to_string();
    let r = peer
        .ask(&[b"CLIENT", b"PAUSE", ms.as_bytes(), b"WRITE"])
        .await?;
    if r.starts_with('-') {
        return Err(format!("the primary refused CLIENT PAUSE: {r}"));
    }
    let info = peer.ask_bulk(&[b"INFO", b"replication"]).await?;
    let target: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("master_repl_offset:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or("no master_repl_offset in the primary's INFO")?;
    let deadline = Instant::now() + FAILOVER_TIMEOUT;
    while backlog::offset() < target {
        if Instant::now() > deadline {
            let _ = peer.ask(&[b"CLIENT", b"UNPAUSE"]).await;
            return Err("timed out waiting for the primary's stream".into());
        }
        crate::runtime::sleep::sleep(Duration::from_millis(5)).await;
    }
    Ok(peer)
}

/// A client connection to process `p` (with `masterauth` when set): its public port,
/// or with `tls-cluster yes` its first node port over TLS.
async fn connect(shard: &Rc<Shard>, p: usize) -> Result<Peer, String> {
    let second = Duration::from_secs(1);
    let tls = crate::runtime::tls::cluster_client();
    let (ip, port) = with(|st| {
        let public = (st.processes[p].ip.clone(), st.processes[p].port);
        let node = st
            .nodes
            .iter()
            .filter(|n| n.process == p)
            .min_by_key(|n| n.port);
        match node {
            Some(n) if tls.is_some() => (public.0, n.port),
            _ => public,
        }
    });
    let mut peer = Peer::connect(&ip, port, 2 * second, second, 2 * second, tls).await?;
    let auth = shard.settings.borrow().masterauth.clone();
    if !auth.is_empty() {
        peer.ask(&[b"AUTH", auth.as_bytes()]).await?;
    }
    Ok(peer)
}

/// Sends `CLUSTER PROCESS-ROLE <words>` to every other process of the cluster; one that
/// cannot be reached is logged (the operator tells it, or it reads its nodes file).
async fn tell_all(shard: &Rc<Shard>, words: Vec<String>) {
    let targets = with(|st| {
        let mine = st.nodes[st.me].process;
        (0..st.processes.len())
            .filter(|&p| p != mine)
            .map(|p| (p, st.processes[p].ip.clone(), st.processes[p].port))
            .collect::<Vec<_>>()
    });
    for (p, ip, port) in targets {
        let mut cmd: Vec<&[u8]> = vec![b"CLUSTER", b"PROCESS-ROLE"];
        cmd.extend(words.iter().map(|w| w.as_bytes()));
        let told = match connect(shard, p).await {
            Ok(mut peer) => peer.ask(&cmd).await,
            Err(e) => Err(e),
        };
        match told {
            Ok(r) if r.starts_with('+') => {}
            Ok(r) => log::warning(&format!("{ip}:{port} refused the role change: {r}")),
            Err(e) => log::warning(&format!("cannot tell {ip}:{port} of the role change: {e}")),
        }
    }
}

fn tell_others(shard: &Rc<Shard>, words: Vec<String>) {
    let shard = shard.clone();
    crate::runtime::exec::spawn(async move { tell_all(&shard, words).await });
}

/// CLUSTER PROCESS-ROLE <ip:port> PRIMARY <epoch> | REPLICAOF <ip:port>: another
/// process changed roles (sent by that process, or an operator).
pub async fn process_role(shard: &Rc<Shard>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let find = |a: &Bytes| {
        with(|st| (0..st.processes.len()).find(|&p| addr_of(st, p).as_bytes() == &a[..]))
            .ok_or_else(|| {
                other(format!(
                    "ERR Unknown process {}",
                    String::from_utf8_lossy(a)
                ))
            })
    };
    let process = find(&args[0])?;
    let u = match args {
        [_, role, epoch] if eq_ic(role, "primary") => Update::Promote {
            process,
            epoch: shards::args::parse_i64(epoch)?.max(0) as u64,
        },
        [_, role, primary] if eq_ic(role, "replicaof") => {
            let primary = find(primary)?;
            let fits = with(|st| {
                primary != process && st.nodes_of(primary).len() == st.nodes_of(process).len()
            });
            if !fits {
                return Err(other(
                    "ERR a replica process needs another process with as many shards",
                ));
            }
            Update::Follow { process, primary }
        }
        _ => return Err(CmdError::Syntax),
    };
    update(shard, u).await;
    sync_upstream(shard);
    Ok(Reply::Ok)
}
