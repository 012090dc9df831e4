#!/usr/bin/env python3
"""Drives a corecache cluster with redis-py's RedisCluster (unchanged client code):
10 000 keys set and read back, MOVED seen by a plain connection, hash tags keeping
multi-key commands legal, CROSSSLOT for keys in different slots.

usage: cluster_client.py HOST:PORT [--keys N]"""
import argparse
import sys

import redis
from redis.cluster import RedisCluster


def slot_owner(rc, key):
    node = rc.get_node_from_key(key)
    return node.host, node.port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("seed")
    ap.add_argument("--keys", type=int, default=10_000)
    a = ap.parse_args()
    host, port = a.seed.rsplit(":", 1)
    rc = RedisCluster(
        host=host, port=int(port), decode_responses=True, socket_timeout=30
    )
    nodes = rc.get_primaries()
    print(f"redis-py {redis.__version__}: {len(nodes)} primaries")
    before = rc.dbsize(target_nodes=RedisCluster.PRIMARIES)

    pipe = rc.pipeline()
    for i in range(a.keys):
        pipe.set(f"py:{i}", f"v{i}")
    assert all(pipe.execute())
    pipe = rc.pipeline()
    for i in range(a.keys):
        pipe.get(f"py:{i}")
    got = pipe.execute()
    assert got == [f"v{i}" for i in range(a.keys)], "pipelined read-back differs"
    for i in range(0, a.keys, 97):
        assert rc.get(f"py:{i}") == f"v{i}"
    print(f"{a.keys} keys set and read back")

    # MOVED: a plain connection to a node that does not own the key.
    owner = slot_owner(rc, "py:1")
    other = next(n for n in nodes if (n.host, n.port) != owner)
    plain = redis.Redis(
        host=other.host, port=other.port, decode_responses=True, socket_timeout=30
    )
    try:
        plain.get("py:1")
        raise SystemExit("FAIL: the wrong node served py:1")
    except redis.exceptions.MovedError as e:
        got = f"MOVED {e.slot_id} {e.host}:{e.port}"
        want = f"MOVED {rc.keyslot('py:1')} {owner[0]}:{owner[1]}"
        assert got == want, f"{got!r} != {want!r}"
    print("MOVED from the wrong node")

    # Hash tags keep multi-key commands in one slot.
    rc.mset({"{user:7}name": "ann", "{user:7}mail": "a@x"})
    assert rc.mget("{user:7}name", "{user:7}mail") == ["ann", "a@x"]
    rc.sadd("{g}a", 1, 2, 3)
    rc.sadd("{g}b", 2, 3, 4)
    assert rc.sinterstore("{g}c", ["{g}a", "{g}b"]) == 2
    rc.rename("{g}c", "{g}d")
    assert rc.smembers("{g}d") == {"2", "3"}
    # Keys in different slots: the node refuses the command.
    node = rc.get_node_from_key("a")
    plain = redis.Redis(
        host=node.host, port=node.port, decode_responses=True, socket_timeout=30
    )
    try:
        plain.execute_command("MGET", "a", "b")
        raise SystemExit("FAIL: MGET a b was served")
    except redis.exceptions.ClusterCrossSlotError as e:
        assert str(e) == "Keys in request don't hash to the same slot", repr(e)
    print("hash tags and CROSSSLOT")

    total = rc.dbsize(target_nodes=RedisCluster.PRIMARIES)
    assert total == before + a.keys + 5, f"DBSIZE over all primaries is {total}"
    print(f"DBSIZE over the primaries: {total}")
    print("redis-py cluster: 4 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
