//! CLUSTER and its subcommands, READONLY, READWRITE and ASKING, in Redis's formats.
//! Without cluster mode they answer as a Redis built without cluster support would
//! be configured: arity and subcommand errors first, then "cluster support disabled".

use std::rc::Rc;

use bytes::Bytes;
use shards::args::{eq_ic, parse_i64};
use shards::slot::SLOTS;
use shards::{key_slot, CmdError, Reply, Slot};

use super::views::{info_text, nodes_text, replicas_reply, shards_reply, slots_reply};
use super::{enabled, on_request, roles, update, with, Request, Response, Update};
use crate::commands::ServerCmd;
use crate::runtime::clients::ClientHandle;
use crate::runtime::shard::Shard;

const DISABLED: &str = "ERR This instance has cluster support disabled";

/// Subcommands and their Redis arities (including `cluster` and the subcommand).
const SUBCOMMANDS: &[(&str, i32)] = &[
    ("addslots", -3),
    ("addslotsrange", -4),
    ("bumpepoch", 2),
    ("count-failure-reports", 3),
    ("countkeysinslot", 3),
    ("delslots", -3),
    ("delslotsrange", -4),
    ("failover", -2),
    ("flushslots", 2),
    ("forget", 3),
    ("getkeysinslot", 4),
    ("help", 2),
    ("info", 2),
    ("keyslot", 3),
    ("links", 2),
    ("meet", -4),
    ("myid", 2),
    ("myshardid", 2),
    ("nodes", 2),
    ("process-role", -4),
    ("replicas", 3),
    ("replicate", 3),
    ("reset", -2),
    ("saveconfig", 2),
    ("set-config-epoch", 3),
    ("setslot", -4),
    ("shards", 2),
    ("slaves", 3),
    ("slots", 2),
];

const HELP: &[&str] = &[
    "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ADDSLOTS <slot> [<slot> ...]",
    "    Assign slots to current node.",
    "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Assign slots which are between <start-slot> and <end-slot> to current node.",
    "BUMPEPOCH",
    "    Advance the cluster config epoch.",
    "COUNTKEYSINSLOT <slot>",
    "    Return the number of keys in <slot>.",
    "DELSLOTS <slot> [<slot> ...]",
    "    Delete slots information from current node.",
    "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
    "GETKEYSINSLOT <slot> <count>",
    "    Return key names stored by current node in a slot.",
    "INFO",
    "    Return information about the cluster.",
    "KEYSLOT <key>",
    "    Return the hash slot for <key>.",
    "LINKS",
    "    Return information about all network links between this node and its peers (none: there is no cluster bus).",
    "MYID",
    "    Return the node id.",
    "MYSHARDID",
    "    Return the node's shard id.",
    "FAILOVER [FORCE|TAKEOVER]",
    "    Promote current replica node (its whole process) to being a master.",
    "NODES",
    "    Return cluster configuration seen by node. Output format:",
    "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
    "PROCESS-ROLE <ip:port> (PRIMARY <epoch>|REPLICAOF <ip:port>)",
    "    corecache: tell this process that another process changed roles.",
    "REPLICAS <node-id>",
    "    Return <node-id> replicas.",
    "REPLICATE <node-id>",
    "    Configure current node (its whole process) as replica of <node-id>.",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
    "    Set slot state.",
    "SHARDS",
    "    Return information about slot range mappings and the nodes associated with them.",
    "SLOTS",
    "    Return information about slots range mappings. Each range is made of:",
    "    start, end, master and replicas IP addresses, ports and ids",
    "HELP",
    "    Prints this help.",
];

fn other(msg: impl Into<String>) -> CmdError {
    CmdError::other(msg)
}

/// READONLY, READWRITE, ASKING.
pub fn connection_flag(client: &ClientHandle, cmd: ServerCmd) -> Result<Reply, CmdError> {
    if !enabled() {
        return Err(other(DISABLED));
    }
    let mut c = client.cluster.get();
    match cmd {
        ServerCmd::Asking => c.asking = true,
        ServerCmd::ReadOnly => c.readonly = true,
        _ => c.readonly = false,
    }
    client.cluster.set(c);
    Ok(Reply::Ok)
}

/// CLUSTER <subcommand> ...
pub async fn cluster(
    shard: &Rc<Shard>,
    client: &ClientHandle,
    args: &[Bytes],
) -> Result<Reply, CmdError> {
    let name = crate::commands::subcommand("cluster", SUBCOMMANDS, args)?;
    if !enabled() {
        return Err(other(DISABLED));
    }
    match name {
        "help" => Ok(Reply::Array(
            HELP.iter().map(|l| Reply::Status(l.to_string())).collect(),
        )),
        "info" => Ok(Reply::Verbatim(with(info_text))),
        "myid" => Ok(with(|st| Reply::bulk(&st.nodes[st.me].id))),
        "myshardid" => Ok(with(|st| Reply::bulk(st.shard_id_of(st.me)))),
        "nodes" => Ok(Reply::Verbatim(with(|st| nodes_text(client, st)))),
        "slots" => Ok(with(|st| slots_reply(client, st))),
        "shards" => Ok(with(|st| shards_reply(client, st))),
        "links" => Ok(Reply::Array(Vec::new())),
        "keyslot" => Ok(Reply::Int(key_slot(&args[2]) as i64)),
        "countkeysinslot" => {
            let slot = parse_i64(&args[2])?;
            if !(0..SLOTS as i64).contains(&slot) {
                return Err(other("ERR Invalid slot"));
            }
            match ask_owner(shard, client, Request::CountKeysInSlot(slot as Slot)).await {
                Response::Count(n) => Ok(Reply::Int(n as i64)),
                _ => Ok(Reply::Int(0)),
            }
        }
        "getkeysinslot" => {
            let slot = parse_i64(&args[2])?;
            let count = parse_i64(&args[3])?;
            if !(0..SLOTS as i64).contains(&slot) || count < 0 {
                return Err(other("ERR Invalid slot or number of keys"));
            }
            let req = Request::KeysInSlot(slot as Slot, count.min(1 << 24) as usize);
            match ask_owner(shard, client, req).await {
                Response::Keys(keys) => Ok(Reply::Array(keys.iter().map(Reply::bulk).collect())),
                _ => Ok(Reply::Array(Vec::new())),
            }
        }
        "addslots" | "delslots" => {
            let slots = args[2..]
                .iter()
                .map(|a| parse_slot(a))
                .collect::<Result<Vec<_>, _>>()?;
            assign(shard, name == "addslots", slots).await
        }
        "addslotsrange" | "delslotsrange" => {
            if args.len() % 2 == 1 {
                return Err(CmdError::WrongArity(format!("cluster|{name}")));
            }
            let mut slots = Vec::new();
            for pair in args[2..].chunks(2) {
                let (a, b) = (parse_slot(&pair[0])?, parse_slot(&pair[1])?);
                if a > b {
                    return Err(other(format!(
                        "ERR start slot number {a} is greater than end slot number {b}"
                    )));
                }
                slots.extend(a..=b);
            }
            assign(shard, name == "addslotsrange", slots).await
        }
        "setslot" => setslot(shard, args).await,
        "bumpepoch" => {
            let (me, epoch) = with(|st| (st.me, st.current_epoch + 1));
            update(shard, Update::Epoch { node: me, epoch }).await;
            Ok(Reply::Status(format!("BUMPED {epoch}")))
        }
        "set-config-epoch" => {
            let epoch = parse_i64(&args[2])?;
            if epoch < 0 {
                return Err(other(format!(
                    "ERR Invalid config epoch specified: {epoch}"
                )));
            }
            let me = with(|st| st.me);
            update(
                shard,
                Update::Epoch {
                    node: me,
                    epoch: epoch as u64,
                },
            )
            .await;
            Ok(Reply::Ok)
        }
        "saveconfig" => Ok(Reply::Ok),
        "count-failure-reports" | "replicas" | "slaves" => with(|st| {
            let Some(n) = st.node_by_id(&args[2]) else {
                return Err(other(format!(
                    "ERR Unknown node {}",
                    String::from_utf8_lossy(&args[2])
                )));
            };
            if name == "count-failure-reports" {
                Ok(Reply::Int(0))
            } else if st.nodes[n].master.is_some() {
                Err(other("ERR The specified node is not a master"))
            } else {
                Ok(replicas_reply(client, st, n))
            }
        }),
        "replicate" => roles::replicate(shard, &args[2]).await,
        "failover" => roles::failover(shard, &args[2..]).await,
        "process-role" => roles::process_role(shard, &args[2..]).await,
        "flushslots" => {
            let slots = with(|st| {
                (0..SLOTS as Slot)
                    .filter(|&s| st.owner_of(s) == Some(st.me))
                    .collect::<Vec<_>>()
            });
            if shard.ks.borrow().len(0) > 0 {
                return Err(other("ERR DB must be empty to perform CLUSTER FLUSHSLOTS."));
            }
            update(shard, Update::Assign { slots, node: None }).await;
            Ok(Reply::Ok)
        }
        _ => Err(other(format!(
            "ERR CLUSTER {} is not supported: corecache has no cluster bus; give the \
             topology with --cluster-config, move slots with CLUSTER SETSLOT and add replicas \
             with CLUSTER REPLICATE",
            name.to_ascii_uppercase()
        ))),
    }
}

/// Slot argument of ADDSLOTS, SETSLOT ...
fn parse_slot(a: &[u8]) -> Result<Slot, CmdError> {
    parse_i64(a)
        .ok()
        .filter(|s| (0..SLOTS as i64).contains(s))
        .map(|s| s as Slot)
        .ok_or_else(|| other("ERR Invalid or out of range slot"))
}

/// Runs a slot request on the shard holding that slot's keys for this connection: the
/// node's own shard on a node port, the slot's local owner on the public port.
async fn ask_owner(shard: &Rc<Shard>, client: &ClientHandle, req: Request) -> Response {
    let slot = match &req {
        Request::CountKeysInSlot(s) | Request::KeysInSlot(s, _) => *s,
        Request::Update(_) => 0,
    };
    let target = if client.cluster.get().node_port {
        shard.id
    } else {
        shard.slots.owner(slot)
    };
    shard
        .run_on(target, move |s: &Rc<Shard>| on_request(s, req))
        .await
}

/// ADDSLOTS (`add`) or DELSLOTS for this node.
async fn assign(shard: &Rc<Shard>, add: bool, slots: Vec<Slot>) -> Result<Reply, CmdError> {
    let me = with(|st| -> Result<usize, CmdError> {
        let mut seen = vec![false; SLOTS];
        for &s in &slots {
            if std::mem::replace(&mut seen[s as usize], true) {
                return Err(other(format!("ERR Slot {s} specified multiple times")));
            }
            match (add, st.owner_of(s)) {
                (true, Some(_)) => return Err(other(format!("ERR Slot {s} is already busy"))),
                (false, None) => return Err(other(format!("ERR Slot {s} is already unassigned"))),
                _ => {}
            }
        }
        Ok(st.me)
    })?;
    let node = add.then_some(me);
    update(shard, Update::Assign { slots, node }).await;
    Ok(Reply::Ok)
}

async fn setslot(shard: &Rc<Shard>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let slot = parse_slot(&args[2])?;
    let action = &args[3];
    let bad_action =
        || other("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP");
    if eq_ic(action, "STABLE") {
        if args.len() != 4 {
            return Err(bad_action());
        }
        let node = with(|st| st.me);
        update(shard, Update::Stable { node, slot }).await;
        return Ok(Reply::Ok);
    }
    if args.len() != 5 {
        return Err(bad_action());
    }
    let id = &args[4];
    let id_text = String::from_utf8_lossy(id).into_owned();
    let (me, owner, target) = with(|st| (st.me, st.owner_of(slot), st.node_by_id(id)));
    let u = if eq_ic(action, "MIGRATING") {
        if owner != Some(me) {
            return Err(other(format!("ERR I'm not the owner of hash slot {slot}")));
        }
        let to = target.ok_or_else(|| other(format!("ERR I don't know about node {id_text}")))?;
        Update::Migrating { node: me, slot, to }
    } else if eq_ic(action, "IMPORTING") {
        if owner == Some(me) {
            return Err(other(format!(
                "ERR I'm already the owner of hash slot {slot}"
            )));
        }
        let from = target.ok_or_else(|| other(format!("ERR I don't know about node {id_text}")))?;
        Update::Importing {
            node: me,
            slot,
            from,
        }
    } else if eq_ic(action, "NODE") {
        let to = target.ok_or_else(|| other(format!("ERR Unknown node {id_text}")))?;
        if owner == Some(me) && to != me {
            let held = shard.run_on(shard.id, move |s: &Rc<Shard>| {
                on_request(s, Request::CountKeysInSlot(slot))
            });
            if let Response::Count(n) = held.await {
                if n > 0 {
                    return Err(other(format!(
                        "ERR Can't assign hashslot {slot} to a different node while I still \
                         hold keys for this hash slot."
                    )));
                }
            }
        }
        Update::Assign {
            slots: vec![slot],
            node: Some(to),
        }
    } else {
        return Err(bad_action());
    };
    update(shard, u).await;
    Ok(Reply::Ok)
}
