//! What CLUSTER INFO, NODES, SLOTS, SHARDS and REPLICAS show, in redis-server 7.0's
//! formats: masters with their slots, replicas after their masters.

use std::fmt::Write as _;

use shards::slot::SLOTS;
use shards::{Reply, Slot};

use super::redirect::node_ip;
use super::State;
use crate::runtime::clients::ClientHandle;

pub fn info_text(st: &State) -> String {
    let assigned = st.owner.iter().filter(|&&o| o != super::UNASSIGNED).count();
    let size = (0..st.nodes.len())
        .filter(|&n| st.owner.iter().any(|&o| o as usize == n))
        .count();
    let state = if assigned == SLOTS { "ok" } else { "fail" };
    format!(
        "cluster_state:{state}\r\ncluster_slots_assigned:{assigned}\r\ncluster_slots_ok:{assigned}\r\n\
         cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:{}\r\n\
         cluster_size:{size}\r\ncluster_current_epoch:{}\r\ncluster_my_epoch:{}\r\n\
         cluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n\
         total_cluster_links_buffer_limit_exceeded:0\r\n",
        st.nodes.len(),
        st.current_epoch,
        epoch_of(st, st.me),
    )
}

/// A node's config epoch as Redis shows it: a replica shows its master's.
fn epoch_of(st: &State, n: usize) -> u64 {
    st.nodes[st.nodes[n].master.unwrap_or(n)].epoch
}

/// One line of CLUSTER NODES (without its newline).
pub fn node_line(client: &ClientHandle, st: &State, i: usize, now: u64) -> String {
    let n = &st.nodes[i];
    let me = i == st.me;
    let role = if n.master.is_some() {
        "slave"
    } else {
        "master"
    };
    let mut out = format!(
        "{} {}:{}@{} {}{role} {} 0 {} {} connected",
        n.id,
        node_ip(client, &n.ip),
        n.port,
        n.cport(),
        if me { "myself," } else { "" },
        n.master.map_or("-", |m| st.nodes[m].id.as_str()),
        if me { 0 } else { now },
        epoch_of(st, i),
    );
    for (a, b) in st.ranges_of(i) {
        if a == b {
            let _ = write!(out, " {a}");
        } else {
            let _ = write!(out, " {a}-{b}");
        }
    }
    if me {
        for (&(node, slot), &to) in &st.migrating {
            if node == i {
                let _ = write!(out, " [{slot}->-{}]", st.nodes[to].id);
            }
        }
        for (&(node, slot), &from) in &st.importing {
            if node == i {
                let _ = write!(out, " [{slot}-<-{}]", st.nodes[from].id);
            }
        }
    }
    out
}

pub fn nodes_text(client: &ClientHandle, st: &State) -> String {
    let now = shards::clock::system_ms();
    let mut out = String::new();
    for i in 0..st.nodes.len() {
        out.push_str(&node_line(client, st, i, now));
        out.push('\n');
    }
    out
}

/// CLUSTER REPLICAS / SLAVES: the NODES lines of a master's replicas.
pub fn replicas_reply(client: &ClientHandle, st: &State, master: usize) -> Reply {
    let now = shards::clock::system_ms();
    Reply::Array(
        st.replicas_of(master)
            .into_iter()
            .map(|r| Reply::bulk(node_line(client, st, r, now)))
            .collect(),
    )
}

fn endpoint(client: &ClientHandle, st: &State, n: usize) -> Reply {
    let node = &st.nodes[n];
    Reply::Array(vec![
        Reply::bulk(node_ip(client, &node.ip)),
        Reply::Int(node.port as i64),
        Reply::bulk(&node.id),
        Reply::Map(Vec::new()),
    ])
}

pub fn slots_reply(client: &ClientHandle, st: &State) -> Reply {
    let mut ranges: Vec<(Slot, Slot, usize)> = (0..st.nodes.len())
        .flat_map(|n| st.ranges_of(n).into_iter().map(move |(a, b)| (a, b, n)))
        .collect();
    ranges.sort_unstable();
    Reply::Array(
        ranges
            .into_iter()
            .map(|(a, b, n)| {
                let mut entry = vec![
                    Reply::Int(a as i64),
                    Reply::Int(b as i64),
                    endpoint(client, st, n),
                ];
                entry.extend(
                    st.replicas_of(n)
                        .into_iter()
                        .map(|r| endpoint(client, st, r)),
                );
                Reply::Array(entry)
            })
            .collect(),
    )
}

/// CLUSTER SHARDS: one entry per master, its replicas among its nodes.
pub fn shards_reply(client: &ClientHandle, st: &State) -> Reply {
    let s = |v: &str| Reply::bulk(v);
    let node = |n: usize| {
        let node = &st.nodes[n];
        let ip = node_ip(client, &node.ip);
        // Only this process knows its own offset (there is no cluster bus).
        let offset = if node.local.is_some() && crate::runtime::backlog::active() {
            crate::runtime::backlog::offset() as i64
        } else {
            0
        };
        let role = if node.master.is_some() {
            "replica"
        } else {
            "master"
        };
        Reply::Map(vec![
            (s("id"), s(&node.id)),
            (s("port"), Reply::Int(node.port as i64)),
            (s("ip"), s(&ip)),
            (s("endpoint"), s(&ip)),
            (s("role"), s(role)),
            (s("replication-offset"), Reply::Int(offset)),
            (s("health"), s("online")),
        ])
    };
    Reply::Array(
        (0..st.nodes.len())
            .filter(|&m| st.nodes[m].master.is_none())
            .map(|m| {
                let slots = st
                    .ranges_of(m)
                    .into_iter()
                    .flat_map(|(a, b)| [Reply::Int(a as i64), Reply::Int(b as i64)])
                    .collect();
                let mut nodes = vec![node(m)];
                nodes.extend(st.replicas_of(m).into_iter().map(node));
                Reply::Map(vec![
                    (s("slots"), Reply::Array(slots)),
                    (s("nodes"), Reply::Array(nodes)),
                ])
            })
            .collect(),
    )
}
