//! Cluster mode against one process with 4 shards: the `redis` crate's cluster client,
//! plain connections that meet MOVED/ASK/CROSSSLOT, and Redis's exact reply formats.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{cmd, err, free_ports, info_field, q, resp, slot_of, Server};
use redis::cluster::ClusterClient;

/// A nodes file in the temp dir, removed when the test ends.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str) -> TempFile {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let name = format!("corecache-{tag}-{}-{n}.conf", std::process::id());
        let path = std::env::temp_dir().join(name);
        let _ = std::fs::remove_file(&path);
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A cluster-mode server and its nodes file.
struct Cluster {
    server: Server,
    _nodes: TempFile,
}

fn start(shards: usize) -> Cluster {
    let nodes = TempFile::new("nodes");
    start_with_nodes_file(shards, nodes)
}

fn start_with_nodes_file(shards: usize, nodes: TempFile) -> Cluster {
    let server = Server::start_with(
        shards,
        &[
            "--cluster-mode",
            "yes",
            "--cluster-config-file",
            nodes.path(),
        ],
    );
    Cluster {
        server,
        _nodes: nodes,
    }
}

/// One line of CLUSTER NODES.
#[derive(Debug, Clone)]
struct NodeLine {
    id: String,
    port: u16,
    flags: String,
    slots: Vec<(u16, u16)>,
}

fn nodes(c: &mut redis::Connection) -> Vec<NodeLine> {
    let text: String = q(c, &["CLUSTER", "NODES"]);
    let mut out: Vec<NodeLine> = text
        .lines()
        .map(|l| {
            let w: Vec<&str> = l.split(' ').collect();
            let addr = w[1].split('@').next().unwrap();
            let port = addr.rsplit(':').next().unwrap().parse().unwrap();
            let slots = w[8..]
                .iter()
                .filter(|s| !s.starts_with('['))
                .map(|s| match s.split_once('-') {
                    Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
                    None => (s.parse().unwrap(), s.parse().unwrap()),
                })
                .collect();
            NodeLine {
                id: w[0].to_string(),
                port,
                flags: w[2].to_string(),
                slots,
            }
        })
        .collect();
    out.sort_by_key(|n| n.slots.first().map_or(u16::MAX, |s| s.0));
    out
}

/// The node line owning `slot`.
fn owner(nodes: &[NodeLine], slot: u16) -> &NodeLine {
    nodes
        .iter()
        .find(|n| n.slots.iter().any(|&(a, b)| (a..=b).contains(&slot)))
        .expect("slot is assigned")
}

fn conn_to(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .get_connection()
        .unwrap()
}

#[test]
fn cluster_client_sets_and_reads_10000_keys_without_crossing_cores() {
    let c = start(4);
    let client = ClusterClient::new(vec![c.server.url()]).unwrap();
    let mut cc = client.get_connection().unwrap();
    for i in 0..10_000 {
        let _: () = cmd(&["SET", &format!("key:{i}"), &format!("value:{i}")])
            .query(&mut cc)
            .unwrap();
    }
    for i in 0..10_000 {
        let v: String = cmd(&["GET", &format!("key:{i}")]).query(&mut cc).unwrap();
        assert_eq!(v, format!("value:{i}"));
    }
    let mut public = c.server.conn();
    // Every command went straight to the core owning its slot.
    assert_eq!(
        info_field::<String>(&mut public, "stats", "forwarded_commands"),
        "0"
    );
    assert_eq!(
        info_field::<String>(&mut public, "stats", "cluster_node_port_forwards"),
        "0"
    );
    assert_eq!(q::<i64>(&mut public, &["DBSIZE"]), 10_000);
    // Each node holds only its own slots' keys.
    let ns = nodes(&mut public);
    assert_eq!(ns.len(), 4);
    let mut total = 0;
    for n in &ns {
        let keys: i64 = q(&mut conn_to(n.port), &["DBSIZE"]);
        let expected = (0..10_000)
            .filter(|i| {
                let s = slot_of(format!("key:{i}").as_bytes());
                n.slots.iter().any(|&(a, b)| (a..=b).contains(&s))
            })
            .count();
        assert_eq!(keys as usize, expected, "keys of node {}", n.port);
        total += keys;
    }
    assert_eq!(total, 10_000);
}

#[test]
fn wrong_node_answers_moved_and_the_cluster_client_follows() {
    let c = start(4);
    let mut public = c.server.conn();
    let ns = nodes(&mut public);
    let slot = slot_of(b"foo");
    assert_eq!(slot, 12182);
    let right = owner(&ns, slot).clone();
    let wrong = ns.iter().find(|n| n.port != right.port).unwrap();
    let mut raw = common::Raw::connect(wrong.port);
    raw.roundtrip(
        &resp(&[b"SET", b"foo", b"bar"]),
        format!("-MOVED 12182 127.0.0.1:{}\r\n", right.port).as_bytes(),
    );
    // The public port serves any key of the process.
    let _: () = q(&mut public, &["SET", "foo", "bar"]);
    let mut raw = common::Raw::connect(right.port);
    raw.roundtrip(&resp(&[b"GET", b"foo"]), b"$3\r\nbar\r\n");
    // A cluster client seeded with a node that owns none of these keys still works.
    let seed = format!("redis://127.0.0.1:{}/", wrong.port);
    let mut cc = ClusterClient::new(vec![seed])
        .unwrap()
        .get_connection()
        .unwrap();
    let v: String = cmd(&["GET", "foo"]).query(&mut cc).unwrap();
    assert_eq!(v, "bar");
}

#[test]
fn hash_tags_keep_multi_key_commands_legal_and_mixed_slots_are_crossslot() {
    let c = start(4);
    let mut cc = ClusterClient::new(vec![c.server.url()])
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = cmd(&["MSET", "{user:1}a", "1", "{user:1}b", "2"])
        .query(&mut cc)
        .unwrap();
    let v: Vec<String> = cmd(&["MGET", "{user:1}a", "{user:1}b"])
        .query(&mut cc)
        .unwrap();
    assert_eq!(v, vec!["1", "2"]);
    let _: () = cmd(&["SADD", "{t}s1", "x", "y"]).query(&mut cc).unwrap();
    let _: () = cmd(&["SADD", "{t}s2", "y", "z"]).query(&mut cc).unwrap();
    let n: i64 = cmd(&["SINTERSTORE", "{t}dst", "{t}s1", "{t}s2"])
        .query(&mut cc)
        .unwrap();
    assert_eq!(n, 1);
    let _: () = cmd(&["RENAME", "{t}dst", "{t}moved"])
        .query(&mut cc)
        .unwrap();
    let m: Vec<String> = cmd(&["SMEMBERS", "{t}moved"]).query(&mut cc).unwrap();
    assert_eq!(m, vec!["y"]);

    // Keys in different slots: CROSSSLOT on the public port and on node ports.
    let mut public = c.server.conn();
    let crossslot = "CROSSSLOT Keys in request don't hash to the same slot";
    assert_eq!(err(&mut public, &["MGET", "a", "b"]), crossslot);
    assert_eq!(err(&mut public, &["SUNIONSTORE", "d", "{t}s1"]), crossslot);
    let ns = nodes(&mut public);
    let node = owner(&ns, slot_of(b"a"));
    assert_eq!(err(&mut conn_to(node.port), &["DEL", "a", "b"]), crossslot);
    // Inside MULTI a refused command aborts EXEC, as in Redis.
    let mut raw = c.server.raw();
    raw.roundtrip(
        &[
            resp(&[b"MULTI"]),
            resp(&[b"MSET", b"a", b"1", b"b", b"2"]),
            resp(&[b"EXEC"]),
        ]
        .concat(),
        b"+OK\r\n-CROSSSLOT Keys in request don't hash to the same slot\r\n\
          -EXECABORT Transaction discarded because of previous errors.\r\n",
    );
    // Queued commands in different slots: EXEC itself is CROSSSLOT.
    raw.roundtrip(
        &[
            resp(&[b"MULTI"]),
            resp(&[b"SET", b"a", b"1"]),
            resp(&[b"SET", b"b", b"2"]),
            resp(&[b"EXEC"]),
            resp(&[b"EXISTS", b"a"]),
        ]
        .concat(),
        b"+OK\r\n+QUEUED\r\n+QUEUED\r\n\
          -CROSSSLOT Keys in request don't hash to the same slot\r\n:0\r\n",
    );
}

#[test]
fn cluster_commands_answer_in_redis_formats() {
    let c = start(4);
    let mut public = c.server.conn();
    let ns = nodes(&mut public);
    assert_eq!(
        ns.iter().map(|n| n.slots.clone()).collect::<Vec<_>>(),
        vec![
            vec![(0, 4095)],
            vec![(4096, 8191)],
            vec![(8192, 12287)],
            vec![(12288, 16383)]
        ]
    );
    let first = &ns[0];
    let mut raw = common::Raw::connect(first.port);
    // MYID is the id NODES flags as myself.
    let myid = format!("${}\r\n{}\r\n", first.id.len(), first.id);
    raw.roundtrip(&resp(&[b"CLUSTER", b"MYID"]), myid.as_bytes());
    let mut n0 = conn_to(first.port);
    let own = nodes(&mut n0);
    assert_eq!(own[0].flags, "myself,master");
    assert!(own[1..].iter().all(|n| n.flags == "master"));
    let text: String = q(&mut n0, &["CLUSTER", "NODES"]);
    let line = text.lines().next().unwrap();
    let cport = match first.port as u32 + 10000 {
        c if c > 65535 => 0,
        c => c,
    };
    assert_eq!(
        line,
        format!(
            "{} 127.0.0.1:{}@{cport} myself,master - 0 0 1 connected 0-4095",
            first.id, first.port
        )
    );
    assert!(text.ends_with('\n'));
    // SLOTS: [start, end, [ip, port, id, {}]] sorted by start; RESP3 metadata is a map.
    let slots = format!(
        "*4\r\n*3\r\n:0\r\n:4095\r\n*4\r\n$9\r\n127.0.0.1\r\n:{}\r\n$40\r\n{}\r\n*0\r\n",
        first.port, first.id
    );
    raw.send(&resp(&[b"CLUSTER", b"SLOTS"]));
    let got = String::from_utf8(raw.read_exact_len(slots.len())).unwrap();
    assert_eq!(got, slots);
    // The rest of the reply: three more ranges of the same shape.
    for n in &ns[1..] {
        let (a, b) = n.slots[0];
        let part = format!(
            "*3\r\n:{a}\r\n:{b}\r\n*4\r\n$9\r\n127.0.0.1\r\n:{}\r\n$40\r\n{}\r\n*0\r\n",
            n.port, n.id
        );
        raw.roundtrip(b"", part.as_bytes());
    }
    let info: String = q(&mut n0, &["CLUSTER", "INFO"]);
    assert_eq!(
        info,
        "cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\n\
         cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:4\r\n\
         cluster_size:4\r\ncluster_current_epoch:4\r\ncluster_my_epoch:1\r\n\
         cluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n\
         total_cluster_links_buffer_limit_exceeded:0\r\n"
    );
    assert_eq!(q::<i64>(&mut n0, &["CLUSTER", "KEYSLOT", "foo"]), 12182);
    assert_eq!(q::<i64>(&mut n0, &["CLUSTER", "KEYSLOT", "{}"]), 15257);
    let links: Vec<redis::Value> = q(&mut n0, &["CLUSTER", "LINKS"]);
    assert!(links.is_empty());
    let shard_id: String = q(&mut n0, &["CLUSTER", "MYSHARDID"]);
    assert_eq!(shard_id.len(), 40);
    // SHARDS: one per node, with its slots and its one master.
    let shards: Vec<redis::Value> = q(&mut n0, &["CLUSTER", "SHARDS"]);
    assert_eq!(shards.len(), 4);
    let text = format!("{:?}", shards[0]);
    for field in ["slots", "nodes", "endpoint", "replication-offset", "online"] {
        assert!(text.contains(field), "{field} in {text}");
    }

    // Keys of a slot, counted on the node that owns it.
    let _: () = q(&mut public, &["MSET", "{x}1", "a", "{x}2", "b"]);
    let slot = slot_of(b"x").to_string();
    let holder = owner(&ns, slot_of(b"x")).port;
    let mut h = conn_to(holder);
    assert_eq!(q::<i64>(&mut h, &["CLUSTER", "COUNTKEYSINSLOT", &slot]), 2);
    assert_eq!(
        q::<i64>(&mut public, &["CLUSTER", "COUNTKEYSINSLOT", &slot]),
        2
    );
    let mut keys: Vec<String> = q(&mut h, &["CLUSTER", "GETKEYSINSLOT", &slot, "10"]);
    keys.sort();
    assert_eq!(keys, vec!["{x}1", "{x}2"]);
    let one: Vec<String> = q(&mut h, &["CLUSTER", "GETKEYSINSLOT", &slot, "1"]);
    assert_eq!(one.len(), 1);

    // Errors, as redis-server 7.0 spells them.
    let e = |c: &mut redis::Connection, a: &[&str]| err(c, a);
    assert_eq!(
        e(&mut n0, &["CLUSTER", "COUNTKEYSINSLOT", "16384"]),
        "ERR Invalid slot"
    );
    assert_eq!(
        e(&mut n0, &["CLUSTER", "COUNTKEYSINSLOT", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        e(&mut n0, &["CLUSTER", "GETKEYSINSLOT", "1", "-1"]),
        "ERR Invalid slot or number of keys"
    );
    assert_eq!(
        e(&mut n0, &["CLUSTER", "KEYSLOT"]),
        "ERR wrong number of arguments for 'cluster|keyslot' command"
    );
    assert_eq!(
        e(&mut n0, &["CLUSTER", "FOO"]),
        "ERR unknown subcommand 'FOO'. Try CLUSTER HELP."
    );
    assert_eq!(
        e(&mut n0, &["CLUSTER", "ADDSLOTS", "1"]),
        "ERR Slot 1 is already busy"
    );
    assert_eq!(
        e(&mut n0, &["CLUSTER", "ADDSLOTS", "16384"]),
        "ERR Invalid or out of range slot"
    );
    assert_eq!(
        e(&mut n0, &["CLUSTER", "SETSLOT", "1", "NODE", "abc"]),
        "ERR Unknown node abc"
    );
    assert_eq!(
        e(&mut n0, &["CLUSTER", "SETSLOT", "1", "FOO"]),
        "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP"
    );
    assert_eq!(
        e(&mut n0, &["SELECT", "1"]),
        "ERR SELECT is not allowed in cluster mode"
    );
    let _: () = q(&mut n0, &["SELECT", "0"]);
    assert_eq!(
        e(&mut public, &["SWAPDB", "0", "1"]),
        "ERR SWAPDB is not allowed in cluster mode"
    );
    assert_eq!(
        e(&mut public, &["MOVE", "foo", "1"]),
        "ERR MOVE is not allowed in cluster mode"
    );
    for flag in ["READONLY", "READWRITE", "ASKING"] {
        let _: () = q(&mut n0, &[flag]);
    }
    assert_eq!(
        info_field::<String>(&mut n0, "cluster", "cluster_enabled"),
        "1"
    );
    assert_eq!(
        info_field::<String>(&mut n0, "server", "redis_mode"),
        "cluster"
    );
}

#[test]
fn node_ports_see_only_their_own_keys_and_the_public_port_sees_all() {
    let c = start(2);
    let mut public = c.server.conn();
    for i in 0..100 {
        let _: () = q(&mut public, &["SET", &format!("k{i}"), "v"]);
    }
    let ns = nodes(&mut public);
    let mut sum = 0;
    for n in &ns {
        let mut nc = conn_to(n.port);
        let dbsize: i64 = q(&mut nc, &["DBSIZE"]);
        let keys: Vec<String> = q(&mut nc, &["KEYS", "*"]);
        assert_eq!(keys.len() as i64, dbsize);
        for k in &keys {
            assert!(n
                .slots
                .iter()
                .any(|&(a, b)| (a..=b).contains(&slot_of(k.as_bytes()))));
        }
        let mut scanned = 0;
        let mut cursor = "0".to_string();
        loop {
            let (next, batch): (String, Vec<String>) = q(&mut nc, &["SCAN", &cursor, "COUNT", "7"]);
            scanned += batch.len();
            cursor = next;
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(scanned as i64, dbsize);
        // INFO on a node port describes that node.
        let db0 = info_field::<String>(&mut nc, "keyspace", "db0");
        assert!(db0.starts_with(&format!("keys={dbsize},")), "{db0}");
        sum += dbsize;
    }
    assert_eq!(sum, 100);
    assert_eq!(q::<i64>(&mut public, &["DBSIZE"]), 100);
    // FLUSHALL on one node empties that node only.
    let _: () = q(&mut conn_to(ns[0].port), &["FLUSHALL"]);
    let left: i64 = q(&mut public, &["DBSIZE"]);
    assert_eq!(left, q::<i64>(&mut conn_to(ns[1].port), &["DBSIZE"]));
}

#[test]
fn a_slot_moves_between_nodes_with_ask_redirects() {
    let c = start(2);
    let mut public = c.server.conn();
    let ns = nodes(&mut public);
    let (src, dst) = (&ns[0], &ns[1]);
    // Keys of one slot owned by the source node.
    let tag = (0..)
        .map(|i| format!("m{i}"))
        .find(|t| slot_of(t.as_bytes()) <= src.slots[0].1)
        .unwrap();
    let slot = slot_of(tag.as_bytes());
    let k = |name: &str| format!("{{{tag}}}{name}");
    let (stay, new) = (k("stay"), k("new"));
    let _: () = q(&mut public, &["SET", &stay, "1"]);
    let mut s = conn_to(src.port);
    let mut d = conn_to(dst.port);
    let slot_s = slot.to_string();
    let _: () = q(
        &mut d,
        &["CLUSTER", "SETSLOT", &slot_s, "IMPORTING", &src.id],
    );
    let _: () = q(
        &mut s,
        &["CLUSTER", "SETSLOT", &slot_s, "MIGRATING", &dst.id],
    );
    let text: String = q(&mut s, &["CLUSTER", "NODES"]);
    assert!(text.contains(&format!("[{slot}->-{}]", dst.id)), "{text}");
    let text: String = q(&mut d, &["CLUSTER", "NODES"]);
    assert!(text.contains(&format!("[{slot}-<-{}]", src.id)), "{text}");
    // The source still serves keys it has; a missing key is asked of the target.
    assert_eq!(q::<String>(&mut s, &["GET", &stay]), "1");
    let ask = format!("ASK {slot} 127.0.0.1:{}", dst.port);
    assert_eq!(err(&mut s, &["SET", &new, "2"]), ask);
    assert_eq!(
        err(&mut s, &["MGET", &stay, &new]),
        "TRYAGAIN Multiple keys request during rehashing of slot"
    );
    // The target refuses without ASKING, serves with it (once).
    let moved = format!("MOVED {slot} 127.0.0.1:{}", src.port);
    assert_eq!(err(&mut d, &["SET", &new, "2"]), moved);
    let _: () = q(&mut d, &["ASKING"]);
    let _: () = q(&mut d, &["SET", &new, "2"]);
    assert_eq!(err(&mut d, &["GET", &new]), moved);
    // The public port sends a moving slot to its owner node.
    assert_eq!(err(&mut public, &["GET", &new]), moved);
    // The key written with ASKING lives on the target's core.
    assert_eq!(
        q::<i64>(&mut d, &["CLUSTER", "COUNTKEYSINSLOT", &slot_s]),
        1
    );
    // Hand the remaining key over by hand (MIGRATE's job), then give the slot away.
    assert_eq!(
        err(&mut s, &["CLUSTER", "SETSLOT", &slot_s, "NODE", &dst.id]),
        format!(
            "ERR Can't assign hashslot {slot} to a different node while I still hold keys \
             for this hash slot."
        )
    );
    let _: () = q(&mut s, &["DEL", &stay]);
    let _: () = q(&mut d, &["ASKING"]);
    let _: () = q(&mut d, &["SET", &stay, "1"]);
    let _: () = q(&mut d, &["CLUSTER", "SETSLOT", &slot_s, "NODE", &dst.id]);
    let _: () = q(&mut s, &["CLUSTER", "SETSLOT", &slot_s, "NODE", &dst.id]);
    assert_eq!(
        err(&mut s, &["GET", &stay]),
        format!("MOVED {slot} 127.0.0.1:{}", dst.port)
    );
    assert_eq!(q::<String>(&mut d, &["GET", &stay]), "1");
    // Every core of the process learnt the new owner: the public port finds both keys.
    assert_eq!(
        q::<Vec<String>>(&mut public, &["MGET", &stay, &new]),
        vec!["1", "2"]
    );
    let ns2 = nodes(&mut public);
    assert!(owner(&ns2, slot).port == dst.port);
    let text: String = q(&mut s, &["CLUSTER", "NODES"]);
    assert!(!text.contains('['), "no open slot left: {text}");
}

#[test]
fn node_ids_and_moved_slots_survive_a_restart_with_the_same_nodes_file() {
    let file = TempFile::new("restart");
    let path = file.0.clone();
    let c = start_with_nodes_file(2, file);
    let ns = nodes(&mut c.server.conn());
    let before: Vec<String> = ns.iter().map(|n| n.id.clone()).collect();
    // Slot 0 (empty) moves to the second node.
    let _: () = q(
        &mut conn_to(ns[1].port),
        &["CLUSTER", "SETSLOT", "0", "NODE", &ns[1].id],
    );
    drop(c.server);
    let again = start_with_nodes_file(2, TempFile(path));
    let mut after: Vec<String> = nodes(&mut again.server.conn())
        .into_iter()
        .map(|n| n.id)
        .collect();
    after.sort();
    let mut sorted = before.clone();
    sorted.sort();
    assert_eq!(sorted, after);
    assert!(before.iter().all(|id| id.len() == 40));
    let ns = nodes(&mut again.server.conn());
    assert_eq!(owner(&ns, 0).id, before[1]);
    assert_eq!(owner(&ns, 1).id, before[0]);
    let Cluster {
        server,
        _nodes: file,
    } = again;
    drop(server);
    // Another shard count starts from the default split, keeping the ids it can.
    let third = start_with_nodes_file(3, file);
    let ns = nodes(&mut third.server.conn());
    assert_eq!(ns[0].id, before[0]);
    assert_eq!(ns[0].slots, vec![(0, 5461)]);
}

#[test]
fn standalone_mode_refuses_cluster_commands_as_redis_does() {
    let s = Server::start(2);
    let mut c = s.conn();
    let disabled = "ERR This instance has cluster support disabled";
    for args in [
        &["CLUSTER", "INFO"][..],
        &["CLUSTER", "KEYSLOT", "foo"],
        &["CLUSTER", "SLOTS"],
        &["READONLY"],
        &["READWRITE"],
        &["ASKING"],
    ] {
        assert_eq!(err(&mut c, args), disabled, "{args:?}");
    }
    assert_eq!(
        err(&mut c, &["CLUSTER", "FOO"]),
        "ERR unknown subcommand 'FOO'. Try CLUSTER HELP."
    );
    assert_eq!(
        err(&mut c, &["CLUSTER", "MYID", "x"]),
        "ERR wrong number of arguments for 'cluster|myid' command"
    );
    // Keys in different slots are fine without cluster mode.
    let _: () = q(&mut c, &["MSET", "a", "1", "b", "2"]);
    let _: () = q(&mut c, &["SELECT", "1"]);
    assert_eq!(
        info_field::<String>(&mut c, "cluster", "cluster_enabled"),
        "0"
    );
}

/// A node as one process sees it: id, port, slot ranges.
type NodeView = (String, u16, Vec<(u16, u16)>);

#[test]
fn three_processes_form_one_cluster_from_a_topology_file() {
    // Process i: public port base + 3i, its two nodes on the next two ports.
    let base = free_ports(9);
    let topo = TempFile::new("topology");
    let lines: String = (0..3u16)
        .map(|i| {
            let (lo, hi) = (i as usize * 16384 / 3, (i as usize + 1) * 16384 / 3 - 1);
            format!("127.0.0.1:{} 2 {lo}-{hi}\n", base + 3 * i)
        })
        .collect();
    std::fs::write(&topo.0, format!("# three processes\n{lines}")).unwrap();
    let files: Vec<TempFile> = (0..3).map(|_| TempFile::new("nodes3")).collect();
    let dir = common::scratch_dir("cluster3");
    let procs: Vec<Server> = (0..3u16)
        .map(|i| {
            common::cluster_process(
                base + 3 * i,
                topo.path(),
                files[i as usize].path(),
                dir.to_str().unwrap(),
            )
        })
        .collect();
    // Every process sees the same six nodes, named alike.
    let views: Vec<Vec<NodeView>> = procs
        .iter()
        .map(|p| {
            nodes(&mut p.conn())
                .into_iter()
                .map(|n| (n.id, n.port, n.slots))
                .collect()
        })
        .collect();
    assert_eq!(views[0].len(), 6);
    assert_eq!(views[0], views[1]);
    assert_eq!(views[0], views[2]);
    assert_eq!(views[0][0].2, vec![(0, 2729)]);
    assert_eq!(views[0][5].2, vec![(13653, 16383)]);

    let client = ClusterClient::new(vec![procs[0].url()]).unwrap();
    let mut cc = client.get_connection().unwrap();
    for i in 0..10_000 {
        let _: () = cmd(&["SET", &format!("k3:{i}"), &i.to_string()])
            .query(&mut cc)
            .unwrap();
    }
    for i in 0..10_000 {
        let v: String = cmd(&["GET", &format!("k3:{i}")]).query(&mut cc).unwrap();
        assert_eq!(v, i.to_string());
    }
    let _: () = cmd(&["MSET", "{p3}a", "1", "{p3}b", "2"])
        .query(&mut cc)
        .unwrap();
    for p in &procs {
        let mut c = p.conn();
        assert_eq!(
            info_field::<String>(&mut c, "stats", "forwarded_commands"),
            "0"
        );
    }
    let per_process: Vec<i64> = procs
        .iter()
        .map(|p| q::<i64>(&mut p.conn(), &["DBSIZE"]))
        .collect();
    assert_eq!(per_process.iter().sum::<i64>(), 10_002);
    assert!(per_process.iter().all(|&n| n > 3000), "{per_process:?}");
    // A key of another process gets MOVED from every port of this one.
    let slot = slot_of(b"foo");
    let owner_port = owner(&nodes(&mut procs[0].conn()), slot).port;
    let foreign = &procs[0];
    let moved = format!("MOVED {slot} 127.0.0.1:{owner_port}");
    assert_eq!(err(&mut foreign.conn(), &["GET", "foo"]), moved);
    for n in &views[0][..2] {
        assert_eq!(err(&mut conn_to(n.1), &["GET", "foo"]), moved);
    }
    // The owning process serves it on its public port too.
    let owning = procs
        .iter()
        .position(|p| {
            let port = p.port;
            owner_port > port && owner_port <= port + 2
        })
        .unwrap();
    let _: () = q(&mut procs[owning].conn(), &["SET", "foo", "bar"]);
    assert_eq!(
        q::<String>(&mut conn_to(owner_port), &["GET", "foo"]),
        "bar"
    );
}

#[test]
fn writes_to_a_key_that_migrate_is_copying_wait_with_tryagain() {
    use std::io::{Read, Write};
    let c = start(2);
    let mut public = c.server.conn();
    let ns = nodes(&mut public);
    let (src, dst) = (&ns[0], &ns[1]);
    let tag = (0..)
        .map(|i| format!("f{i}"))
        .find(|t| slot_of(t.as_bytes()) <= src.slots[0].1)
        .unwrap();
    let slot = slot_of(tag.as_bytes()).to_string();
    let key = format!("{{{tag}}}k");
    let _: () = q(&mut public, &["SET", &key, "old"]);
    let mut s = conn_to(src.port);
    let _: () = q(&mut s, &["CLUSTER", "SETSLOT", &slot, "MIGRATING", &dst.id]);
    // A target that takes its time to answer keeps the MIGRATE in flight.
    let target = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target_port = target.local_addr().unwrap().port().to_string();
    let (key2, port2) = (key.clone(), src.port);
    let migrate = std::thread::spawn(move || {
        let mut m = conn_to(port2);
        q::<String>(
            &mut m,
            &["MIGRATE", "127.0.0.1", &target_port, &key2, "0", "5000"],
        )
    });
    let (mut peer, _) = target.accept().unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("RESTORE-ASKING") {
        let n = peer.read(&mut buf).unwrap();
        assert!(n > 0, "MIGRATE closed early");
        got.extend_from_slice(&buf[..n]);
    }
    // Meanwhile: reads are served, writes are told to try again.
    let mut w = conn_to(src.port);
    assert_eq!(q::<String>(&mut w, &["GET", &key]), "old");
    assert_eq!(
        err(&mut w, &["SET", &key, "new"]),
        "TRYAGAIN Multiple keys request during rehashing of slot"
    );
    peer.write_all(b"+OK\r\n+OK\r\n").unwrap();
    assert_eq!(migrate.join().unwrap(), "OK");
    // The key has left: writes now go to the target with -ASK.
    assert_eq!(
        err(&mut w, &["SET", &key, "new"]),
        format!("ASK {slot} 127.0.0.1:{}", dst.port)
    );
}

#[test]
fn the_announced_ip_is_what_clients_are_told() {
    let nodes_file = TempFile::new("announce");
    let s = Server::start_with(
        2,
        &[
            "--cluster-mode",
            "yes",
            "--cluster-config-file",
            nodes_file.path(),
            "--cluster-announce-ip",
            "10.1.2.3",
        ],
    );
    let mut c = s.conn();
    let text: String = q(&mut c, &["CLUSTER", "NODES"]);
    assert!(
        text.lines()
            .all(|l| l.split(' ').nth(1).unwrap().starts_with("10.1.2.3:")),
        "{text}"
    );
    let slots: Vec<redis::Value> = q(&mut c, &["CLUSTER", "SLOTS"]);
    assert_eq!(slots.len(), 2);
    let text = format!("{slots:?}");
    assert_eq!(text.matches("10.1.2.3").count(), 2, "{text}");
    let moved = err(&mut conn_to(nodes(&mut c)[0].port), &["GET", "foo"]);
    assert!(moved.starts_with("MOVED 12182 10.1.2.3:"), "{moved}");
}

#[test]
fn keys_in_slot_follow_writes_after_the_first_question() {
    let c = start(2);
    let mut public = c.server.conn();
    let slot = slot_of(b"ix").to_string();
    let holder = owner(&nodes(&mut public), slot_of(b"ix")).port;
    let mut h = conn_to(holder);
    let _: () = q(&mut public, &["SET", "{ix}1", "a"]);
    assert_eq!(q::<i64>(&mut h, &["CLUSTER", "COUNTKEYSINSLOT", &slot]), 1);
    // Created, deleted and created again after the index was built.
    let _: () = q(&mut public, &["MSET", "{ix}2", "b", "{ix}3", "c"]);
    let _: () = q(&mut public, &["DEL", "{ix}1"]);
    let _: () = q(&mut public, &["SET", "{ix}3", "again"]);
    let _: () = q(&mut public, &["DEL", "{ix}2"]);
    let _: () = q(&mut public, &["SET", "{ix}2", "back"]);
    assert_eq!(q::<i64>(&mut h, &["CLUSTER", "COUNTKEYSINSLOT", &slot]), 2);
    let keys: Vec<String> = q(&mut h, &["CLUSTER", "GETKEYSINSLOT", &slot, "10"]);
    assert_eq!(keys, vec!["{ix}2", "{ix}3"]);
    let _: () = q(&mut public, &["FLUSHALL"]);
    assert_eq!(q::<i64>(&mut h, &["CLUSTER", "COUNTKEYSINSLOT", &slot]), 0);
    let _: () = q(&mut public, &["SET", "{ix}9", "z"]);
    let keys: Vec<String> = q(&mut h, &["CLUSTER", "GETKEYSINSLOT", &slot, "10"]);
    assert_eq!(keys, vec!["{ix}9"]);
}

#[test]
fn a_refused_exec_discards_the_transaction_and_its_watches() {
    let c = start(2);
    let mut raw = c.server.raw();
    raw.roundtrip(
        &[
            resp(&[b"WATCH", b"{w}k"]),
            resp(&[b"MULTI"]),
            resp(&[b"SET", b"a", b"1"]),
            resp(&[b"SET", b"b", b"2"]),
            resp(&[b"EXEC"]),
        ]
        .concat(),
        b"+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n\
          -CROSSSLOT Keys in request don't hash to the same slot\r\n",
    );
    // The watch is gone: another client's write does not abort the next transaction.
    let _: () = q(&mut c.server.conn(), &["SET", "{w}k", "x"]);
    raw.roundtrip(
        &[
            resp(&[b"MULTI"]),
            resp(&[b"SET", b"{w}k", b"y"]),
            resp(&[b"EXEC"]),
        ]
        .concat(),
        b"+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n",
    );
}

#[test]
fn scripts_with_the_no_cluster_flag_are_refused_in_cluster_mode() {
    let cluster = start(2);
    let mut c = cluster.server.conn();
    let e = err(&mut c, &["EVAL", "#!lua flags=no-cluster\nreturn 1", "0"]);
    assert_eq!(
        e,
        "ERR Can not run script on cluster, 'no-cluster' flag is set."
    );
    let one: i64 = q(&mut c, &["EVAL", "#!lua\nreturn 1", "0"]);
    assert_eq!(one, 1);
    // A script on keys of one slot runs on the owning node port too.
    let ns = nodes(&mut c);
    let node = owner(&ns, slot_of(b"{s}a"));
    let mut n = conn_to(node.port);
    let got: String = q(
        &mut n,
        &[
            "EVAL",
            "redis.call('SET', KEYS[1], 'x') return redis.call('GET', KEYS[2] or KEYS[1])",
            "1",
            "{s}a",
        ],
    );
    assert_eq!(got, "x");
}

#[test]
fn sharded_channels_follow_slots_on_node_ports() {
    let c = start(2);
    let mut public = c.server.conn();
    let ns = nodes(&mut public);
    let (a, b) = (&ns[0], &ns[1]);
    // A channel in a slot of node b.
    let ch = (0..)
        .map(|i| format!("ch{i}"))
        .find(|k| {
            b.slots
                .iter()
                .any(|&(lo, hi)| (lo..=hi).contains(&slot_of(k.as_bytes())))
        })
        .unwrap();
    let mut on_a = conn_to(a.port);
    let e = common::err(&mut on_a, &["SPUBLISH", &ch, "m"]);
    assert!(
        e.starts_with(&format!("MOVED {} ", slot_of(ch.as_bytes()))),
        "{e}"
    );
    let e = common::err(&mut on_a, &["SSUBSCRIBE", "{x}1", "{y}1"]);
    assert!(e.starts_with("CROSSSLOT"), "{e}");
    // On its own node a sharded channel works.
    let mut sub = common::Raw::connect(b.port);
    sub.roundtrip(
        &common::resp(&[b"SSUBSCRIBE", ch.as_bytes()]),
        format!("*3\r\n$10\r\nssubscribe\r\n${}\r\n{ch}\r\n:1\r\n", ch.len()).as_bytes(),
    );
    let mut on_b = conn_to(b.port);
    let n: i64 = q(&mut on_b, &["SPUBLISH", &ch, "m"]);
    assert_eq!(n, 1);
}

/// In cluster mode SORT refuses BY patterns and GET, with Redis Cluster's errors; a
/// constant BY (no sorting) is fine.
#[test]
fn sort_refuses_patterns_in_cluster_mode() {
    let c = start(2);
    let mut cc = ClusterClient::new(vec![c.server.url()])
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = cmd(&["RPUSH", "{s}l", "3", "1", "2"])
        .query(&mut cc)
        .unwrap();
    let e = cmd(&["SORT", "{s}l", "BY", "w_*"])
        .query::<Vec<String>>(&mut cc)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("BY option of SORT denied in Cluster mode."),
        "{e}"
    );
    let e = cmd(&["SORT_RO", "{s}l", "GET", "#"])
        .query::<Vec<String>>(&mut cc)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("GET option of SORT denied in Cluster mode."),
        "{e}"
    );
    let v: Vec<String> = cmd(&["SORT", "{s}l", "BY", "nosort"])
        .query(&mut cc)
        .unwrap();
    assert_eq!(v, ["3", "1", "2"]);
    let v: Vec<String> = cmd(&["SORT", "{s}l"]).query(&mut cc).unwrap();
    assert_eq!(v, ["1", "2", "3"]);
}
