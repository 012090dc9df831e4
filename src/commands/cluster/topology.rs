//! Where the cluster's nodes are and which slots each owns, at start-up: this process
//! alone (every slot, split over its shards) or several processes described by a
//! topology file; plus the nodes file that keeps this process's node ids.
//!
//! Topology file: one line per process, `#` starts a comment.
//!
//! ```text
//! # ip:port         shards  slot ranges                [nodes=<first node port>]
//! 127.0.0.1:7000    2       0-5460
//! 127.0.0.1:7100    2       5461-10922
//! 127.0.0.1:7200    2       10923-16383   nodes=7201
//! 127.0.0.1:7300    2       replicaof=127.0.0.1:7000
//! ```
//!
//! Every process reads the same file. A process splits its slots (in the order given)
//! into as many contiguous runs as it has shards; shard `i` is a node on port
//! `first node port + i` (default: the process port + 1). Node ids of a topology are
//! derived from the node's address, so every process names every node alike without
//! talking to the others. A `replicaof=` line is a replica process: no slots of its
//! own, the same number of shards as the process it names, its node `i` a replica of
//! that process's node `i`.

use std::fmt::Write as _;

use shards::slot::SLOTS;
use shards::{ShardId, Slot};

use super::{Node, Process, State, UNASSIGNED};
use crate::base::ids::hex_words;
pub use crate::base::ids::random_id;

/// One process of a topology file.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessSpec {
    pub ip: String,
    pub port: u16,
    pub shards: usize,
    pub slots: Vec<Slot>,
    pub node_base: u16,
    /// The process (index into the file's lines) this one replicates.
    pub replicaof: Option<usize>,
}

/// Parses a topology file's text.
pub fn parse_topology(text: &str) -> Result<Vec<ProcessSpec>, String> {
    let mut out: Vec<ProcessSpec> = Vec::new();
    let mut seen = vec![false; SLOTS];
    // (process, the `ip:port` it names, line number)
    let mut replicaof: Vec<(usize, String, usize)> = Vec::new();
    for (no, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let bad = |what: &str| format!("topology line {}: {what}: {raw}", no + 1);
        let mut words = line.split_whitespace();
        let addr = words.next().ok_or_else(|| bad("missing ip:port"))?;
        let (ip, port) = addr
            .rsplit_once(':')
            .ok_or_else(|| bad("expected ip:port"))?;
        let port: u16 = port.parse().map_err(|_| bad("bad port"))?;
        let shards: usize = words
            .next()
            .and_then(|w| w.parse().ok())
            .filter(|&n| n > 0)
            .ok_or_else(|| bad("expected a number of shards after ip:port"))?;
        let mut slots = Vec::new();
        let mut node_base = port.checked_add(1).ok_or_else(|| bad("port too high"))?;
        for w in words {
            if let Some(base) = w.strip_prefix("nodes=") {
                node_base = base.parse().map_err(|_| bad("bad nodes= port"))?;
                continue;
            }
            if let Some(primary) = w.strip_prefix("replicaof=") {
                replicaof.push((out.len(), primary.to_string(), no + 1));
                continue;
            }
            let (a, b) = match w.split_once('-') {
                Some((a, b)) => (a, b),
                None => (w, w),
            };
            let a: usize = a.parse().map_err(|_| bad("bad slot range"))?;
            let b: usize = b.parse().map_err(|_| bad("bad slot range"))?;
            if a > b || b >= SLOTS {
                return Err(bad("slot range out of order or above 16383"));
            }
            for (s, taken) in seen.iter_mut().enumerate().take(b + 1).skip(a) {
                if std::mem::replace(taken, true) {
                    return Err(bad(&format!("slot {s} is given twice")));
                }
                slots.push(s as Slot);
            }
        }
        if (node_base as usize) + shards > 65536 {
            return Err(bad("node ports above 65535"));
        }
        out.push(ProcessSpec {
            ip: ip.to_string(),
            port,
            shards,
            slots,
            node_base,
            replicaof: None,
        });
    }
    if out.is_empty() {
        return Err("topology file lists no process".into());
    }
    for (p, primary, no) in replicaof {
        let bad = |what: &str| format!("topology line {no}: {what}");
        let found = out
            .iter()
            .position(|q| format!("{}:{}", q.ip, q.port) == primary)
            .ok_or_else(|| bad(&format!("replicaof={primary} names no process of the file")))?;
        if found == p || out[p].shards != out[found].shards {
            return Err(bad(
                "a replica process needs another process with as many shards",
            ));
        }
        if !out[p].slots.is_empty() {
            return Err(bad("a replica process has no slots of its own"));
        }
        out[p].replicaof = Some(found);
    }
    for p in &out {
        if let Some(q) = p.replicaof {
            if out[q].replicaof.is_some() {
                return Err(format!(
                    "topology: {}:{} replicates a replica; name its primary instead",
                    p.ip, p.port
                ));
            }
        }
    }
    Ok(out)
}

/// Splits `slots` into `n` contiguous runs of (nearly) equal size, in order.
pub fn split_slots(slots: &[Slot], n: usize) -> Vec<&[Slot]> {
    (0..n)
        .map(|i| &slots[i * slots.len() / n..(i + 1) * slots.len() / n])
        .collect()
}

/// A node id derived from a node's address: 40 hex digits, the same in every process.
pub fn derived_id(salt: &str, addr: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in salt.bytes().chain([0]).chain(addr.bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    hex_words(&mut h)
}

/// Node ids of this process's shards as kept in the nodes file: `(node id, shard id)`
/// per shard, in shard order.
pub fn parse_nodes_file(text: &str) -> Vec<(usize, String, String)> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let shard = w.next()?.parse().ok()?;
            let id = w.next().filter(|id| is_node_id(id))?.to_string();
            let shard_id = w.next().filter(|id| is_node_id(id))?.to_string();
            Some((shard, id, shard_id))
        })
        .collect()
}

pub fn is_node_id(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The nodes file: this process's node ids, then the slots of every node as last set
/// (ADDSLOTS, SETSLOT NODE ...), tagged with the topology they started from.
fn nodes_file_text(nodes: &[Node], owner: &[u16], topology: &str) -> String {
    let mut out = String::from(
        "# corecache cluster nodes of this process: <shard> <node id> <shard id> <ip:port>\n",
    );
    for n in nodes {
        if let Some(shard) = n.local {
            let _ = writeln!(out, "{shard} {} {} {}:{}", n.id, n.shard_id, n.ip, n.port);
        }
    }
    let _ = writeln!(
        out,
        "# slots of every node, as last changed: slots <node id> <ranges>\ntopology {topology}"
    );
    for (i, n) in nodes.iter().enumerate() {
        let mut line = format!("slots {}", n.id);
        let mut any = false;
        let mut s = 0;
        while s < SLOTS {
            if owner[s] as usize != i {
                s += 1;
                continue;
            }
            let start = s;
            while s < SLOTS && owner[s] as usize == i {
                s += 1;
            }
            let _ = write!(line, " {start}-{}", s - 1);
            any = true;
        }
        if any {
            out.push_str(&line);
            out.push('\n');
        }
    }
    for n in nodes {
        if let Some(m) = n.master {
            let _ = writeln!(out, "replica {} {}", n.id, nodes[m].id);
        }
    }
    out
}

/// The slot map and the replicas' masters a nodes file saved, if it was saved for the
/// same topology and names only known nodes.
type Saved = (Vec<u16>, Vec<Option<usize>>);

fn saved_map(text: &str, topology: &str, nodes: &[Node]) -> Option<Saved> {
    let mut owner = vec![UNASSIGNED; SLOTS];
    let mut masters = vec![None; nodes.len()];
    let mut tagged = false;
    let mut any = false;
    let find = |id: &str| nodes.iter().position(|n| n.id == id);
    for line in text.lines() {
        let mut w = line.split_whitespace();
        match w.next() {
            Some("topology") => tagged = w.next().unwrap_or("") == topology,
            Some("replica") => {
                let node = find(w.next()?)?;
                masters[node] = Some(find(w.next()?)?);
            }
            Some("slots") => {
                let id = w.next()?;
                let node = nodes.iter().position(|n| n.id == id)? as u16;
                for r in w {
                    let (a, b) = r.split_once('-')?;
                    let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                    if a > b || b >= SLOTS {
                        return None;
                    }
                    owner[a..=b].iter_mut().for_each(|o| *o = node);
                    any = true;
                }
            }
            _ => {}
        }
    }
    (tagged && any).then_some((owner, masters))
}

/// A short tag of a topology file's text.
fn topology_tag(topology: &str) -> String {
    derived_id("topology", topology)[..16].to_string()
}

/// Rewrites the nodes file with the current slot map (after a slot changed owner).
pub fn save(st: &State) -> std::io::Result<()> {
    let text = nodes_file_text(&st.nodes, &st.owner, &st.topology_tag);
    let tmp = format!("{}.tmp", st.nodes_file);
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &st.nodes_file)
}

/// What start-up knows: the bind address, the announced IP, the public port, the node
/// ports of this process's shards (already bound), the topology file's text if any.
pub struct Inputs<'a> {
    pub announce_ip: &'a str,
    pub public_port: u16,
    pub node_ports: &'a [u16],
    pub topology: Option<&'a str>,
    pub nodes_file: &'a str,
}

/// Builds the cluster state every shard starts from (`me` is set per shard later), and
/// the slot -> local shard table. Writes the nodes file.
pub fn build(inp: &Inputs) -> Result<(State, Vec<ShardId>), String> {
    let nshards = inp.node_ports.len();
    let mut owner = vec![UNASSIGNED; SLOTS];
    let mut nodes = Vec::new();
    let mut processes = Vec::new();
    match inp.topology {
        None => {
            let kept = std::fs::read_to_string(inp.nodes_file)
                .map(|t| parse_nodes_file(&t))
                .unwrap_or_default();
            for (shard, &port) in inp.node_ports.iter().enumerate() {
                let (id, shard_id) = kept
                    .iter()
                    .find(|k| k.0 == shard)
                    .map(|k| (k.1.clone(), k.2.clone()))
                    .unwrap_or_else(|| (random_id(), random_id()));
                nodes.push(Node {
                    id,
                    shard_id,
                    ip: inp.announce_ip.to_string(),
                    port,
                    local: Some(shard),
                    epoch: shard as u64 + 1,
                    process: 0,
                    master: None,
                });
            }
            for (s, o) in owner.iter_mut().enumerate() {
                *o = (s * nshards / SLOTS) as u16;
            }
            processes.push(Process {
                ip: inp.announce_ip.to_string(),
                port: inp.public_port,
            });
        }
        Some(text) => {
            let procs = parse_topology(text)?;
            let mine = find_self(&procs, inp)?;
            let p = &procs[mine];
            if p.shards != nshards {
                return Err(format!(
                    "corecache: the topology gives {}:{} {} shards but this process runs {nshards}",
                    p.ip, p.port, p.shards
                ));
            }
            for (i, &port) in inp.node_ports.iter().enumerate() {
                if port as usize != p.node_base as usize + i {
                    return Err(format!(
                        "corecache: shard {i} listens on port {port} but the topology puts it \
                         on {} (use --cluster-port-base {} or nodes= in the topology)",
                        p.node_base as usize + i,
                        p.node_base
                    ));
                }
            }
            let mut first = Vec::new();
            for (pi, p) in procs.iter().enumerate() {
                first.push(nodes.len());
                for (i, run) in split_slots(&p.slots, p.shards).into_iter().enumerate() {
                    let port = p.node_base + i as u16;
                    let addr = format!("{}:{port}", p.ip);
                    let idx = nodes.len() as u16;
                    for &s in run {
                        owner[s as usize] = idx;
                    }
                    nodes.push(Node {
                        id: derived_id("node", &addr),
                        shard_id: derived_id("shard", &addr),
                        ip: p.ip.clone(),
                        port,
                        local: (pi == mine).then_some(i),
                        epoch: idx as u64 + 1,
                        process: pi,
                        master: None,
                    });
                }
                processes.push(Process {
                    ip: p.ip.clone(),
                    port: p.port,
                });
            }
            for (pi, p) in procs.iter().enumerate() {
                if let Some(q) = p.replicaof {
                    for i in 0..p.shards {
                        nodes[first[pi] + i].master = Some(first[q] + i);
                        nodes[first[pi] + i].epoch = nodes[first[q] + i].epoch;
                    }
                }
            }
        }
    }
    // Slots moved at run time (resharding) survive a restart, unless the topology
    // changed since.
    let tag = match inp.topology {
        Some(t) => topology_tag(t),
        None => format!("single-{nshards}"),
    };
    if let Ok(text) = std::fs::read_to_string(inp.nodes_file) {
        if let Some((saved, masters)) = saved_map(&text, &tag, &nodes) {
            owner = saved;
            for (n, m) in nodes.iter_mut().zip(masters) {
                n.master = m;
            }
        }
    }
    let current_epoch = nodes.iter().map(|n| n.epoch).max().unwrap_or(0);
    let me = nodes.iter().position(|n| n.local == Some(0)).unwrap_or(0);
    let state = State {
        nodes,
        processes,
        owner,
        migrating: Default::default(),
        importing: Default::default(),
        me,
        current_epoch,
        nodes_file: inp.nodes_file.to_string(),
        topology_tag: tag,
    };
    if let Err(e) = save(&state) {
        return Err(format!(
            "corecache: cannot write the cluster nodes file {}: {e}",
            inp.nodes_file
        ));
    }
    // Where each slot's keys live in this process (a replica process: on the node
    // replicating the slot's owner).
    let local_owner = (0..SLOTS)
        .map(|s| state.route_for(s as Slot).unwrap_or(0))
        .collect();
    Ok((state, local_owner))
}

/// The topology line of this process: the one with our port (and our announced IP,
/// when several lines share the port).
fn find_self(procs: &[ProcessSpec], inp: &Inputs) -> Result<usize, String> {
    let same_port: Vec<usize> = (0..procs.len())
        .filter(|&i| procs[i].port == inp.public_port)
        .collect();
    match same_port.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!(
            "corecache: no line of the topology file has port {}",
            inp.public_port
        )),
        many => many
            .iter()
            .copied()
            .find(|&i| procs[i].ip == inp.announce_ip)
            .ok_or_else(|| {
                format!(
                    "corecache: several topology lines have port {}; start with \
                     --cluster-announce-ip to say which one is this process",
                    inp.public_port
                )
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topology_lines_parse_ranges_and_node_base() {
        let t = "# c\n127.0.0.1:7000 2 0-2 5 # x\n\n127.0.0.2:7100 1 3-4 6-16383 nodes=8000\n";
        let p = parse_topology(t).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].slots, vec![0, 1, 2, 5]);
        assert_eq!(p[0].node_base, 7001);
        assert_eq!(p[1].node_base, 8000);
        assert_eq!(p[1].slots.len(), SLOTS - 4);
    }

    #[test]
    fn topology_refuses_a_slot_given_twice() {
        let t = "127.0.0.1:7000 1 0-10\n127.0.0.1:7100 1 10-20\n";
        assert!(parse_topology(t).unwrap_err().contains("slot 10"));
    }

    #[test]
    fn replica_lines_name_a_primary_with_as_many_shards() {
        let t = "127.0.0.1:7000 2 0-16383\n127.0.0.1:7100 2 replicaof=127.0.0.1:7000\n";
        let p = parse_topology(t).unwrap();
        assert_eq!((p[0].replicaof, p[1].replicaof), (None, Some(0)));
        assert!(p[1].slots.is_empty());
        let three = "127.0.0.1:7000 2 0-16383\n127.0.0.1:7100 3 replicaof=127.0.0.1:7000\n";
        assert!(parse_topology(three)
            .unwrap_err()
            .contains("as many shards"));
        let unknown = "127.0.0.1:7000 2 0-16383\n127.0.0.1:7100 2 replicaof=127.0.0.1:9\n";
        assert!(parse_topology(unknown)
            .unwrap_err()
            .contains("names no process"));
        let with_slots =
            "127.0.0.1:7000 2 0-100\n127.0.0.1:7100 2 101-200 replicaof=127.0.0.1:7000\n";
        assert!(parse_topology(with_slots).unwrap_err().contains("no slots"));
        let chain = format!("{t}127.0.0.1:7200 2 replicaof=127.0.0.1:7100\n");
        assert!(parse_topology(&chain)
            .unwrap_err()
            .contains("replicates a replica"));
    }

    #[test]
    fn roles_survive_in_the_nodes_file() {
        let node = |port: u16, master| Node {
            id: derived_id("node", &format!("127.0.0.1:{port}")),
            shard_id: random_id(),
            ip: "127.0.0.1".into(),
            port,
            local: None,
            epoch: 1,
            process: 0,
            master,
        };
        let nodes = vec![node(7001, None), node(7101, Some(0))];
        let mut owner = vec![UNASSIGNED; SLOTS];
        owner[0] = 0;
        let text = nodes_file_text(&nodes, &owner, "t");
        assert_eq!(
            saved_map(&text, "t", &nodes),
            Some((owner, vec![None, Some(0)]))
        );
    }

    #[test]
    fn slots_split_into_contiguous_runs() {
        let slots: Vec<Slot> = (0..10).collect();
        let runs = split_slots(&slots, 3);
        assert_eq!(runs, vec![&[0, 1, 2][..], &[3, 4, 5], &[6, 7, 8, 9]]);
    }

    #[test]
    fn derived_ids_are_stable_hex_and_distinct() {
        let a = derived_id("node", "127.0.0.1:7001");
        assert_eq!(a, derived_id("node", "127.0.0.1:7001"));
        assert!(is_node_id(&a));
        assert_ne!(a, derived_id("node", "127.0.0.1:7002"));
        assert_ne!(a, derived_id("shard", "127.0.0.1:7001"));
        assert!(is_node_id(&random_id()));
    }

    #[test]
    fn nodes_file_round_trips() {
        let n = Node {
            id: random_id(),
            shard_id: random_id(),
            ip: "127.0.0.1".into(),
            port: 7001,
            local: Some(0),
            epoch: 1,
            process: 0,
            master: None,
        };
        let mut owner = vec![UNASSIGNED; SLOTS];
        owner[5..=9].iter_mut().for_each(|o| *o = 0);
        owner[100] = 0;
        let text = nodes_file_text(std::slice::from_ref(&n), &owner, "tag");
        assert_eq!(
            saved_map(&text, "tag", std::slice::from_ref(&n)),
            Some((owner, vec![None]))
        );
        assert_eq!(saved_map(&text, "other", std::slice::from_ref(&n)), None);
        let parsed = parse_nodes_file(&text);
        assert_eq!(parsed, vec![(0, n.id, n.shard_id)]);
    }
}
