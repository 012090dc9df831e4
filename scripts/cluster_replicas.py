#!/usr/bin/env python3
"""Cluster replicas with redis-py's RedisCluster (unchanged client code): keys written
through the primaries reach the replica processes, reads with read_from_replicas=True
are served by them, and after CLUSTER FAILOVER on a replica node the client follows
the new primaries with every key intact.

usage: cluster_replicas.py PRIMARY_PORT REPLICA_PORT [--keys N]
(the public ports of one primary process and its replica process on 127.0.0.1, in a
cluster started by `deploy/local-cluster.sh start P S FIRST 1`)"""
import argparse
import time

import redis
from redis.cluster import RedisCluster


def wait(what, ok, secs=15):
    deadline = time.time() + secs
    while not ok():
        if time.time() > deadline:
            raise SystemExit(f"FAIL: gave up waiting: {what}")
        time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("primary", type=int)
    ap.add_argument("replica", type=int)
    ap.add_argument("--keys", type=int, default=3000)
    a = ap.parse_args()
    plain = lambda port: redis.Redis(port=port, decode_responses=True, socket_timeout=30)
    try:  # redis-py 5.3+ names reading from replicas a load-balancing strategy
        from redis.cluster import LoadBalancingStrategy
        spread = {"load_balancing_strategy": LoadBalancingStrategy.ROUND_ROBIN}
    except ImportError:
        spread = {"read_from_replicas": True}
    rc = RedisCluster(
        host="127.0.0.1", port=a.primary + 1, decode_responses=True,
        socket_timeout=30, **spread,
    )
    replicas = rc.get_replicas()
    assert replicas, "RedisCluster sees no replicas"
    print(f"redis-py {redis.__version__}: {len(rc.get_primaries())} primaries, "
          f"{len(replicas)} replicas")
    pipe = rc.pipeline()
    for i in range(a.keys):
        pipe.set(f"rp:{i}", f"v{i}")
    assert all(pipe.execute())
    # deploy/local-cluster.sh puts each replica node 50 ports above its master.
    for m in rc.get_primaries():
        keys = plain(m.port).dbsize()
        wait(f"the replica of {m.port} has its keys",
             lambda: plain(m.port + 50).dbsize() == keys)

    def replica_gets():
        stats = plain(a.replica).info("commandstats")
        return stats.get("cmdstat_get", {}).get("calls", 0)

    before = replica_gets()
    for i in range(a.keys):
        assert rc.get(f"rp:{i}") == f"v{i}", f"rp:{i}"
    served = replica_gets() - before
    assert served > 0, "no read went to a replica"
    print(f"{a.keys} keys read back, {served} of them by the replica process")

    # The replica process takes over (coordinated): the client follows it.
    plain(a.replica + 1).execute_command("CLUSTER", "FAILOVER")
    wait("the replica node became a master", lambda: "myself,master" in
         plain(a.replica + 1).execute_command("CLUSTER", "NODES"))
    wait("the old primary follows it",
         lambda: plain(a.primary).info("replication")["role"] == "slave")
    for i in range(a.keys):
        rc.set(f"rp2:{i}", f"w{i}")
    # Read from the primaries: a replica may not have the last writes yet.
    fresh = RedisCluster(host="127.0.0.1", port=a.replica + 1, decode_responses=True,
                         socket_timeout=30)
    for i in range(0, a.keys, 7):
        assert fresh.get(f"rp:{i}") == f"v{i}", f"rp:{i} after failover"
        assert fresh.get(f"rp2:{i}") == f"w{i}", f"rp2:{i} after failover"
    print("CLUSTER FAILOVER: the client follows the new primaries, every key intact")


if __name__ == "__main__":
    main()
