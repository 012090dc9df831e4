#!/usr/bin/env python3
"""Moves slots with `redis-cli --cluster reshard` while a redis-py RedisCluster client
keeps writing, then reads every written key back: no key may be lost or stale.

usage: reshard_check.py SEED_HOST:PORT FROM_HOST:PORT TO_HOST:PORT SLOTS [--seconds S]"""
import argparse
import random
import subprocess
import sys
import threading
import time

import redis
from redis.cluster import RedisCluster


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("seed")
    ap.add_argument("source")
    ap.add_argument("target")
    ap.add_argument("slots", type=int)
    ap.add_argument("--preload", type=int, default=5000)
    ap.add_argument("--timeout", type=float, default=180)
    a = ap.parse_args()

    def client():
        host, port = a.seed.rsplit(":", 1)
        return RedisCluster(
            host=host, port=int(port), decode_responses=True, socket_timeout=30
        )

    def node_id(addr):
        host, port = addr.rsplit(":", 1)
        node = redis.Redis(host=host, port=int(port), decode_responses=True, socket_timeout=30)
        return node.execute_command("CLUSTER", "MYID")

    rc = client()
    run = random.randrange(1 << 30)
    # redis-cli moves the source's lowest slots first: aim half the traffic at them.
    src_host, src_port = a.source.rsplit(":", 1)
    ranges = [
        (r[0], r[1])
        for r in rc.cluster_slots().keys()
        if rc.cluster_slots()[r]["primary"] == (src_host, int(src_port))
    ]
    owned = sorted(s for lo, hi in ranges for s in range(lo, hi + 1))
    moving = set(owned[: a.slots])
    tags = {}
    j = 0
    while len(tags) < len(moving) and j < 2_000_000:
        slot = rc.keyslot(f"t{j}")
        if slot in moving and slot not in tags:
            tags[slot] = f"t{j}"
        j += 1
    hot = [f"{{{t}}}rs{run}" for t in tags.values()]
    pipe = rc.pipeline()
    expected = {}
    for i in range(a.preload):
        k = f"rs{run}:{i}" if i % 2 else f"{hot[i % len(hot)]}:{i}"
        pipe.set(k, f"p{i}")
        expected[k] = f"p{i}"
    pipe.execute()
    preloaded = list(expected)

    stop = threading.Event()
    written = {}
    errors = []

    def writer():
        w = client()
        n = 0
        try:
            while not stop.is_set():
                # New keys (half of them in moving slots), and overwrites of
                # preloaded keys, half of which are in moving slots.
                k = f"rw{run}:{n}" if n % 2 else f"{hot[n % len(hot)]}:w{n}"
                w.set(k, str(n))
                written[k] = str(n)
                old = preloaded[(n * 7) % len(preloaded)]
                w.set(old, f"w{n}")
                written[old] = f"w{n}"
                n += 1
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(0.3)
    cmd = [
        "redis-cli", "--cluster", "reshard", a.source,
        "--cluster-from", node_id(a.source), "--cluster-to", node_id(a.target),
        "--cluster-slots", str(a.slots), "--cluster-yes",
    ]
    started = time.time()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout)
    took = time.time() - started
    time.sleep(0.3)
    stop.set()
    t.join()
    if res.returncode != 0 or "[ERR]" in res.stdout:
        print(res.stdout[-3000:], res.stderr[-3000:])
        raise SystemExit("FAIL: reshard failed")
    if errors:
        raise SystemExit(f"FAIL: the writer saw {errors[0]}")
    moved = sum(
        1 for line in res.stdout.splitlines() if "Moving slot" in line and " to " in line
    )
    expected.update(written)
    keys = list(expected)
    got = []
    for i in range(0, len(keys), 1000):
        pipe = rc.pipeline()
        for k in keys[i:i + 1000]:
            pipe.get(k)
        got.extend(pipe.execute())
    bad = [(k, expected[k], v) for k, v in zip(keys, got) if v != expected[k]]
    if bad:
        raise SystemExit(f"FAIL: {len(bad)} keys lost or stale, e.g. {bad[:5]}")
    print(
        f"resharded {moved} slots {a.source} -> {a.target} in {took:.1f}s under "
        f"{len(written)} concurrent writes; all {len(keys)} keys read back"
    )


if __name__ == "__main__":
    sys.exit(main())
