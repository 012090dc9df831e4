//! Cluster replicas: whole corecache processes replicating another process of a
//! topology (`replicaof=`, CLUSTER REPLICATE), shown in CLUSTER NODES/SLOTS/SHARDS/
//! REPLICAS, serving READONLY reads on their node ports, and taking over with CLUSTER
//! FAILOVER (coordinated, FORCE) while the `redis` crate's cluster client writes.

mod common;

use common::{
    cluster_process, cmd, err, eventually, free_ports, q, scratch_dir, slot_of, Scratch, Server,
};
use redis::cluster::ClusterClientBuilder;

/// Processes of one topology, each with 2 shards: process `i` on public port
/// `base + 3i`, its nodes on the next two ports.
struct Topology {
    procs: Vec<Server>,
    base: u16,
    dir: Scratch,
}

impl Topology {
    /// `lines[i]` is what follows `127.0.0.1:<port> 2` on process i's line, with `{P0}`
    /// standing for process 0's address.
    fn start(lines: &[&str]) -> Topology {
        let base = free_ports(3 * lines.len() as u16);
        let dir = scratch_dir("cluster-replicas");
        let addr = |i: usize| format!("127.0.0.1:{}", base + 3 * i as u16);
        let text: String = lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{} 2 {}\n", addr(i), l.replace("{P0}", &addr(0))))
            .collect();
        let topo = dir.join("topology");
        std::fs::write(&topo, text).unwrap();
        let mut t = Topology {
            procs: Vec::new(),
            base,
            dir,
        };
        for i in 0..lines.len() {
            let p = t.launch(i);
            t.procs.push(p);
        }
        t
    }

    fn launch(&self, i: usize) -> Server {
        let dir = self.dir.to_str().unwrap().to_string();
        let data = format!("{dir}/data-{i}");
        std::fs::create_dir_all(&data).unwrap();
        cluster_process(
            self.public(i),
            &format!("{dir}/topology"),
            &format!("{dir}/nodes-{i}.conf"),
            &data,
        )
    }

    fn public(&self, i: usize) -> u16 {
        self.base + 3 * i as u16
    }

    /// Node `k` (0 or 1) of process `i`.
    fn node(&self, i: usize, k: usize) -> u16 {
        self.public(i) + 1 + k as u16
    }

    fn conn(&self, port: u16) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .unwrap()
            .get_connection()
            .unwrap()
    }

    fn id(&self, port: u16) -> String {
        q(&mut self.conn(port), &["CLUSTER", "MYID"])
    }

    /// `(flags, master id, slot words)` of the node on `port`, as `seen_from` shows it.
    fn line(&self, seen_from: u16, port: u16) -> (String, String, String) {
        let text: String = q(&mut self.conn(seen_from), &["CLUSTER", "NODES"]);
        let needle = format!("127.0.0.1:{port}@");
        let l = text
            .lines()
            .find(|l| l.split(' ').nth(1).is_some_and(|a| a.starts_with(&needle)))
            .unwrap_or_else(|| panic!("no node {port} in {text}"));
        let w: Vec<&str> = l.split(' ').collect();
        (w[2].to_string(), w[3].to_string(), w[8..].join(" "))
    }

    fn dbsize(&self, i: usize) -> i64 {
        q(&mut self.conn(self.public(i)), &["DBSIZE"])
    }

    fn cluster_client(&self, replicas: bool) -> redis::cluster::ClusterConnection {
        let mut b =
            ClusterClientBuilder::new(vec![format!("redis://127.0.0.1:{}/", self.node(0, 0))]);
        if replicas {
            b = b.read_routing_strategy(redis::cluster_read_routing::RandomReplicaStrategy);
        }
        b.build().unwrap().get_connection().unwrap()
    }
}

#[test]
fn a_replica_process_is_listed_syncs_and_serves_readonly_reads() {
    let t = Topology::start(&["0-16383", "replicaof={P0}", ""]);
    let (p0, p1) = (t.node(0, 0), t.node(0, 1));
    let (r0, r1) = (t.node(1, 0), t.node(1, 1));
    // Every process lists the replica nodes after their masters.
    for seen in [p0, r1, t.node(2, 0)] {
        assert_eq!(t.line(seen, r0).1, t.id(p0));
        assert_eq!(t.line(seen, r1).1, t.id(p1));
        assert!(t.line(seen, r0).0.ends_with("slave"));
        assert_eq!(t.line(seen, r0).2, "");
        assert_eq!(t.line(seen, p0).2, "0-8191");
    }
    assert_eq!(t.line(r0, r0).0, "myself,slave");
    // SLOTS: master then replica per range; SHARDS: one shard per master.
    let slots: redis::Value = q(&mut t.conn(p1), &["CLUSTER", "SLOTS"]);
    let text = format!("{slots:?}");
    assert!(
        text.contains(&t.id(r0)) && text.contains(&t.id(r1)),
        "{text}"
    );
    let ports: Vec<Vec<u16>> = match slots {
        redis::Value::Array(ranges) => ranges
            .iter()
            .map(|r| match r {
                redis::Value::Array(parts) => parts[2..]
                    .iter()
                    .map(|n| match n {
                        redis::Value::Array(n) => redis::from_redis_value(n[1].clone()).unwrap(),
                        _ => panic!("{n:?}"),
                    })
                    .collect(),
                _ => panic!("{r:?}"),
            })
            .collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(ports, vec![vec![p0, r0], vec![p1, r1]]);
    let shards: redis::Value = q(&mut t.conn(p0), &["CLUSTER", "SHARDS"]);
    let shards = format!("{shards:?}");
    assert_eq!(shards.matches("\"replica\"").count(), 2, "{shards}");
    let replicas: Vec<String> = q(&mut t.conn(p0), &["CLUSTER", "REPLICAS", &t.id(p0)]);
    assert_eq!(replicas.len(), 1);
    assert!(replicas[0].starts_with(&t.id(r0)), "{replicas:?}");
    assert_eq!(
        err(&mut t.conn(p0), &["CLUSTER", "REPLICAS", &t.id(r0)]),
        "ERR The specified node is not a master"
    );
    assert_eq!(
        q::<String>(&mut t.conn(r0), &["CLUSTER", "MYSHARDID"]),
        q::<String>(&mut t.conn(p0), &["CLUSTER", "MYSHARDID"])
    );

    // Writes through the cluster client reach the replica process.
    let mut cc = t.cluster_client(false);
    for i in 0..2000 {
        let _: () = cmd(&["SET", &format!("k:{i}"), &i.to_string()])
            .query(&mut cc)
            .unwrap();
    }
    eventually("the replica process has every key", 10, || {
        t.dbsize(1) == 2000
    });

    // A replica node redirects until READONLY; then it serves reads, never writes.
    let key = (0..)
        .map(|i| format!("k:{i}"))
        .find(|k| slot_of(k.as_bytes()) < 8192)
        .unwrap();
    let slot = slot_of(key.as_bytes());
    let mut c = t.conn(r0);
    let moved = format!("MOVED {slot} 127.0.0.1:{p0}");
    assert_eq!(err(&mut c, &["GET", &key]), moved);
    let _: () = q(&mut c, &["READONLY"]);
    let v: String = q(&mut c, &["GET", &key]);
    assert_eq!(format!("k:{v}"), key);
    assert_eq!(err(&mut c, &["SET", &key, "x"]), moved);
    // A key of the other master's slots is not this node's to serve.
    let other = (0..)
        .map(|i| format!("k:{i}"))
        .find(|k| slot_of(k.as_bytes()) >= 8192)
        .unwrap();
    assert!(err(&mut c, &["GET", &other]).starts_with("MOVED "));
    let _: () = q(&mut c, &["READWRITE"]);
    assert_eq!(err(&mut c, &["GET", &key]), moved);

    // The cluster client reading from replicas sees every key.
    let mut rc = t.cluster_client(true);
    for i in (0..2000).step_by(7) {
        let v: String = cmd(&["GET", &format!("k:{i}")]).query(&mut rc).unwrap();
        assert_eq!(v, i.to_string());
    }

    // CLUSTER REPLICATE: the empty third process follows process 0, and tells the others.
    let e0 = t.node(2, 0);
    let mut ec = t.conn(e0);
    assert_eq!(
        err(&mut ec, &["CLUSTER", "REPLICATE", &t.id(e0)]),
        "ERR Can't replicate myself"
    );
    assert_eq!(
        err(&mut ec, &["CLUSTER", "REPLICATE", &t.id(r0)]),
        "ERR I can only replicate a master, not a replica."
    );
    assert!(err(&mut ec, &["CLUSTER", "REPLICATE", &t.id(p1)]).contains("whole processes"));
    assert_eq!(
        err(&mut ec, &["CLUSTER", "REPLICATE", "nosuchnode"]),
        "ERR Unknown node nosuchnode"
    );
    let _: () = q(&mut ec, &["CLUSTER", "REPLICATE", &t.id(p0)]);
    eventually("the third process has every key", 10, || {
        t.dbsize(2) == 2000
    });
    eventually("process 0 lists the new replicas", 5, || {
        t.line(p0, t.node(2, 1)).1 == t.id(p1)
    });
    assert_eq!(t.line(r0, e0).1, t.id(p0));
    let replicas: Vec<String> = q(&mut t.conn(p0), &["CLUSTER", "REPLICAS", &t.id(p0)]);
    assert_eq!(replicas.len(), 2);
}

#[test]
fn cluster_failover_swaps_roles_without_losing_acknowledged_writes() {
    let mut t = Topology::start(&["0-16383", "replicaof={P0}"]);
    let (p0, r0, r1) = (t.node(0, 0), t.node(1, 0), t.node(1, 1));
    assert_eq!(
        err(&mut t.conn(p0), &["CLUSTER", "FAILOVER"]),
        "ERR You should send CLUSTER FAILOVER to a replica"
    );
    assert_eq!(
        err(&mut t.conn(r0), &["CLUSTER", "FAILOVER", "SOON"]),
        "ERR syntax error"
    );
    eventually("the replica's link is up", 10, || {
        let info: String = q(&mut t.conn(t.public(1)), &["INFO", "replication"]);
        info.contains("master_link_status:up")
    });
    // A writer keeps going while the replica takes over.
    let writer_port = t.node(0, 0);
    let writer = std::thread::spawn(move || {
        let client = ClusterClientBuilder::new(vec![format!("redis://127.0.0.1:{writer_port}/")])
            .retries(20)
            .build()
            .unwrap();
        let mut cc = client.get_connection().unwrap();
        let mut acked = Vec::new();
        for i in 0..3000 {
            let k = format!("w:{i}");
            if cmd(&["SET", &k, &i.to_string()])
                .query::<()>(&mut cc)
                .is_ok()
            {
                acked.push(k);
            }
            if i % 500 == 0 {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        acked
    });
    std::thread::sleep(std::time::Duration::from_millis(150));
    let _: () = q(&mut t.conn(r0), &["CLUSTER", "FAILOVER"]);
    eventually("the replica process owns the slots", 10, || {
        t.line(p0, r0).2 == "0-8191" && t.line(r0, r1).2 == "8192-16383"
    });
    assert_eq!(t.line(r0, p0).1, t.id(r0));
    assert!(t.line(p0, p0).0.ends_with("slave"));
    let acked = writer.join().unwrap();
    assert!(
        acked.len() > 2500,
        "only {} writes acknowledged",
        acked.len()
    );
    let mut rc = t.conn(t.public(1));
    for k in &acked {
        let v: Option<String> = q(&mut rc, &["GET", k]);
        assert!(v.is_some(), "acknowledged {k} lost");
    }
    // The old primary follows the new one (partially: it kept the same stream).
    eventually("the old primary has caught up", 10, || {
        t.dbsize(0) == t.dbsize(1)
    });
    let info: String = q(&mut t.conn(t.public(0)), &["INFO", "replication"]);
    assert!(info.contains("role:slave"), "{info}");
    let stats: String = q(&mut t.conn(t.public(1)), &["INFO", "stats"]);
    assert!(stats.contains("sync_partial_ok:1"), "{stats}");

    // FORCE when the primary is gone: kill the new primary, the old one takes over.
    drop(t.procs.pop());
    let mut c = t.conn(p0);
    eventually("the link is seen down", 10, || {
        let info: String = q(&mut c, &["INFO", "replication"]);
        info.contains("master_link_status:down")
    });
    assert_eq!(
        err(&mut c, &["CLUSTER", "FAILOVER"]),
        "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE"
    );
    let _: () = q(&mut c, &["CLUSTER", "FAILOVER", "FORCE"]);
    eventually("process 0 owns the slots again", 10, || {
        t.line(p0, p0) == ("myself,master".into(), "-".into(), "0-8191".into())
    });
    let v: Option<String> = q(&mut c, &["GET", &acked[0]]);
    assert!(v.is_some());
    let _: () = q(&mut c, &["SET", &acked[0], "after"]);
}
