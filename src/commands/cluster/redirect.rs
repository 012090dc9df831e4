//! Which node serves a command, Redis Cluster's rules: all keys of a command (of every
//! queued command, for EXEC) must hash to one slot; a slot owned by another node gets
//! `-MOVED`; a slot this node is migrating away gets `-ASK` for keys it no longer has;
//! a slot it is importing serves clients that sent ASKING.
//!
//! A node port is one node. The public port is the whole process: it serves every slot
//! this process owns (the router forwards between cores) and redirects the others;
//! a slot that one of this process's nodes is moving is redirected to its owner node,
//! whose port knows which keys have moved.

use std::rc::Rc;

use bytes::Bytes;
use shards::cmd::{flags, CommandSpec, Route};
use shards::{key_slot, CmdError, Reply, Slot};

use super::{with, State};
use crate::commands::table::{server_cmd, ServerCmd};
use crate::runtime::clients::ClientHandle;
use crate::runtime::shard::Shard;

/// What the router does with a command in cluster mode.
pub enum Verdict {
    /// Route it as usual.
    Pass,
    /// Answer with this error instead (MOVED, ASK, CROSSSLOT, TRYAGAIN ...).
    Refuse(Reply),
    /// Run it on this shard only: a keyspace-wide command (DBSIZE, KEYS, SCAN,
    /// FLUSHALL ...) on a node port sees that node's keys, as on a Redis node.
    Here,
}

fn err(msg: String) -> Verdict {
    Verdict::Refuse(Reply::Error(CmdError::Other(msg)))
}

/// The slot shared by every key of the command (of every queued command for EXEC),
/// how many keys there are, or CROSSSLOT.
fn slot_of(
    client: &ClientHandle,
    spec: &CommandSpec,
    args: &[Bytes],
) -> Result<(Option<Slot>, usize), ()> {
    let mut slot = None;
    let mut nkeys = 0;
    let mut visit = |spec: &CommandSpec, args: &[Bytes]| {
        for pos in spec.key_positions(args) {
            let s = key_slot(&args[pos]);
            nkeys += 1;
            match slot {
                None => slot = Some(s),
                Some(prev) if prev != s => return Err(()),
                _ => {}
            }
        }
        Ok(())
    };
    if server_cmd(spec) == Some(ServerCmd::Exec) {
        if let Some(m) = client.multi.borrow().as_ref() {
            for (qspec, qargs) in &m.queued {
                visit(qspec, qargs)?;
            }
        }
    } else {
        visit(spec, args)?;
    }
    Ok((slot, nkeys))
}

/// Decides how a command is served in cluster mode (see the module comment).
pub fn check(
    shard: &Rc<Shard>,
    client: &ClientHandle,
    spec: &'static CommandSpec,
    args: &[Bytes],
) -> Verdict {
    let mut conn = client.cluster.get();
    let in_multi = client.multi.borrow().is_some();
    let asking = conn.asking || spec.has(flags::ASKING);
    // ASKING covers the next command only (the whole transaction inside MULTI).
    if conn.asking && server_cmd(spec) != Some(ServerCmd::Asking) && !in_multi {
        conn.asking = false;
        client.cluster.set(conn);
    }
    let is_exec = server_cmd(spec) == Some(ServerCmd::Exec);
    let (slot, nkeys) = match slot_of(client, spec, args) {
        Ok(found) => found,
        Err(()) => {
            if is_exec {
                client.multi.borrow_mut().take();
            }
            return err("CROSSSLOT Keys in request don't hash to the same slot".into());
        }
    };
    let Some(slot) = slot else {
        return keyless(conn.node_port && !in_multi, spec, args);
    };
    let verdict = with(|st| {
        if conn.node_port {
            on_node(shard, client, st, spec, args, slot, nkeys, asking)
        } else {
            on_public(client, st, spec, slot)
        }
    });
    match verdict {
        Verdict::Pass => {
            if conn.node_port && shard.slots.owner(slot) != shard.id {
                // Never expected: a node port serves its own slots on its own core.
                shard.stats.borrow_mut().node_port_forwards += 1;
            }
            db_rules(spec, args)
        }
        refused => {
            if is_exec {
                client.multi.borrow_mut().take();
            }
            refused
        }
    }
}

/// Keyless commands: keyspace-wide ones on a node port stay on the node's shard.
fn keyless(node_scope: bool, spec: &CommandSpec, args: &[Bytes]) -> Verdict {
    let v = db_rules(spec, args);
    if !matches!(v, Verdict::Pass) || !node_scope {
        return v;
    }
    let keyspace_wide = matches!(spec.route, Route::Broadcast(_))
        || matches!(
            server_cmd(spec),
            Some(ServerCmd::Scan | ServerCmd::RandomKey)
        );
    if keyspace_wide && spec.handler.is_some() {
        Verdict::Here
    } else {
        Verdict::Pass
    }
}

/// Only database 0 exists in cluster mode.
fn db_rules(spec: &CommandSpec, args: &[Bytes]) -> Verdict {
    if spec.has(flags::OTHER_DB) {
        let name = spec.name.to_ascii_uppercase();
        return err(format!("ERR {name} is not allowed in cluster mode"));
    }
    if spec.has(flags::DB_OPTION) && args.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"db")) {
        return err("ERR Copying to another database is not allowed in cluster mode".into());
    }
    Verdict::Pass
}

/// A command on the public port: this process's slots are served here (and, by a
/// replica process, reads of its primary's slots after READONLY).
fn on_public(client: &ClientHandle, st: &State, spec: &CommandSpec, slot: Slot) -> Verdict {
    let Some(owner) = st.owner_of(slot) else {
        return err("CLUSTERDOWN Hash slot not served".into());
    };
    if st.nodes[owner].local.is_some() && !st.in_migration(slot) {
        return Verdict::Pass;
    }
    let replicated_here = st
        .replicas_of(owner)
        .iter()
        .any(|&r| st.nodes[r].local.is_some());
    if replicated_here && reads_on_replica(client, spec) {
        return Verdict::Pass;
    }
    err(format!("MOVED {slot} {}", addr(client, st, owner)))
}

/// Whether a replica serves this command itself: the connection sent READONLY and the
/// command (every queued command, for EXEC) writes nothing.
fn reads_on_replica(client: &ClientHandle, spec: &CommandSpec) -> bool {
    if !client.cluster.get().readonly {
        return false;
    }
    if server_cmd(spec) == Some(ServerCmd::Exec) {
        return client
            .multi
            .borrow()
            .as_ref()
            .is_some_and(|m| m.queued.iter().all(|(q, _)| !q.has(flags::WRITE)));
    }
    !spec.has(flags::WRITE)
}

/// A command on a node port: served only if the node owns the slot, with Redis's
/// rules for slots being migrated.
#[allow(clippy::too_many_arguments)]
fn on_node(
    shard: &Shard,
    client: &ClientHandle,
    st: &State,
    spec: &CommandSpec,
    args: &[Bytes],
    slot: Slot,
    nkeys: usize,
    asking: bool,
) -> Verdict {
    let me = st.me;
    let Some(owner) = st.owner_of(slot) else {
        if asking && st.importing.contains_key(&(me, slot)) {
            return Verdict::Pass;
        }
        return err("CLUSTERDOWN Hash slot not served".into());
    };
    if owner == me {
        let Some(&to) = st.migrating.get(&(me, slot)) else {
            return Verdict::Pass;
        };
        if server_cmd(spec) == Some(ServerCmd::Migrate) {
            return Verdict::Pass;
        }
        if spec.has(flags::WRITE) && spec.key_positions(args).any(|p| super::in_flight(&args[p])) {
            return err("TRYAGAIN Multiple keys request during rehashing of slot".into());
        }
        let (present, missing) = count_present(shard, client, spec, args);
        return match (present, missing) {
            (_, 0) => Verdict::Pass,
            (0, _) => err(format!("ASK {slot} {}", addr(client, st, to))),
            _ => err("TRYAGAIN Multiple keys request during rehashing of slot".into()),
        };
    }
    if st.nodes[me].master == Some(owner) && reads_on_replica(client, spec) {
        return Verdict::Pass;
    }
    if asking && st.importing.contains_key(&(me, slot)) {
        if nkeys > 1 {
            let (_, missing) = count_present(shard, client, spec, args);
            if missing > 0 {
                return err("TRYAGAIN Multiple keys request during rehashing of slot".into());
            }
        }
        return Verdict::Pass;
    }
    err(format!("MOVED {slot} {}", addr(client, st, owner)))
}

/// How many of the command's keys this shard has, and how many it lacks.
fn count_present(
    shard: &Shard,
    client: &ClientHandle,
    spec: &CommandSpec,
    args: &[Bytes],
) -> (usize, usize) {
    let db = client.info.borrow().db;
    let mut ks = shard.ks.borrow_mut();
    ks.tick();
    let (mut present, mut missing) = (0, 0);
    for pos in spec.key_positions(args) {
        if ks.exists(db, &args[pos]) {
            present += 1;
        } else {
            missing += 1;
        }
    }
    (present, missing)
}

/// `ip:port` of a node as clients should reach it: its announced IP, or the address
/// this connection reached us at.
pub fn addr(client: &ClientHandle, st: &State, node: usize) -> String {
    let n = &st.nodes[node];
    format!("{}:{}", node_ip(client, &n.ip), n.port)
}

pub fn node_ip(client: &ClientHandle, announced: &str) -> String {
    if !announced.is_empty() {
        return announced.to_string();
    }
    let laddr = client.info.borrow().laddr.clone();
    laddr
        .parse::<std::net::SocketAddr>()
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}
