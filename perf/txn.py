#!/usr/bin/env python3
"""Transaction throughput, corecache against redis-server: clients run, in pipelined
batches, MULTI / INCR a / INCR b / EXEC, the same two INCRs in one EVAL script, and
MSET a b, with `a` and `b` on one shard (a hash tag) and, for corecache, on two
different shards.

    python3 perf/txn.py [--corecache-bin PATH] [--seconds 3] [--clients 4] [--idle-spin-us N]

Uses perf/bench.py's server management; prints a Markdown table and writes
perf/results/txn-<UTC>.json."""

import argparse
import multiprocessing as mp
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

BATCH = 50


SCRIPT = "return {redis.call('INCR', KEYS[1]), redis.call('INCR', KEYS[2])}"

# What one unit of each kind sends, and the reply prefix that ends it.
KINDS = {
    "MULTI/EXEC": (lambda a, b: (("MULTI",), ("INCR", a), ("INCR", b), ("EXEC",)), b"*2\r\n"),
    "EVAL": (lambda a, b: (("EVAL", SCRIPT, "2", a, b),), b"*2\r\n"),
    "MSET": (lambda a, b: (("MSET", a, "1", b, "2"),), b"+OK\r\n"),
}


def worker(port: int, kind: str, keys: tuple[str, str], seconds: float, out: mp.Queue) -> None:
    make, marker = KINDS[kind]
    one = b"".join(bench.encode_command(*c) for c in make(*keys))
    batch = one * BATCH
    sock = socket.create_connection((bench.HOST, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    done = 0
    deadline = time.monotonic() + seconds
    tail = b""
    while time.monotonic() < deadline:
        sock.sendall(batch)
        seen = 0
        while seen < BATCH:
            chunk = sock.recv(1 << 16)
            if not chunk:
                raise SystemExit("server closed the connection")
            data = tail + chunk
            seen += data.count(marker)
            tail = data[-(len(marker) - 1):]
            if b"-" in chunk[:1]:
                raise SystemExit(f"error reply: {chunk[:80]!r}")
        done += BATCH
    out.put(done)


def run(port: int, kind: str, keys: tuple[str, str], seconds: float, clients: int) -> float:
    q: mp.Queue = mp.Queue()
    procs = [
        mp.Process(target=worker, args=(port, kind, keys, seconds, q)) for _ in range(clients)
    ]
    start = time.monotonic()
    for p in procs:
        p.start()
    total = sum(q.get() for _ in procs)
    for p in procs:
        p.join()
    return total / (time.monotonic() - start)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corecache-bin", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--idle-spin-us", type=int, default=None,
                    help="corecache's --idle-spin-us (polling before a shard sleeps)")
    args = ap.parse_args()
    if args.idle_spin_us is not None:
        os.environ["CORECACHE_IDLE_SPIN_US"] = str(args.idle_spin_us)
    bench.ensure_redis_tools()
    binary = args.corecache_bin or bench.build_corecache()
    workdir = Path(tempfile.mkdtemp(prefix="corecache-txn-"))
    same = ("{t}a", "{t}b")
    # key:0 and key:2 hash to different halves of the slot space (different shards).
    spread = ("key:0", "key:2")
    rows = []
    redis = bench.RedisServer(workdir)
    redis.start()
    try:
        for kind in KINDS:
            tps = run(redis.port, kind, same, args.seconds, args.clients)
            rows.append((kind, "redis-server", "one slot", tps))
    finally:
        redis.stop()
    core = bench.CorecacheServer(workdir, binary, args.threads)
    core.start()
    try:
        for kind in KINDS:
            tps = run(core.port, kind, same, args.seconds, args.clients)
            rows.append((kind, "corecache", "one shard", tps))
            tps = run(core.port, kind, spread, args.seconds, args.clients)
            rows.append((kind, "corecache", "two shards", tps))
    finally:
        core.stop()
    base = {kind: tps for kind, server, _, tps in rows if server == "redis-server"}
    command = "python3 perf/txn.py " + " ".join(sys.argv[1:])
    lines = [
        f"Command: `{command.strip()}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}), "
        f"{args.clients} clients, {BATCH} units per pipelined write",
        "",
        "| unit | server | keys | units/s | ratio to redis |",
        "|---|---|---|--:|--:|",
    ]
    for kind, server, keys, tps in rows:
        lines.append(f"| {kind} | {server} | {keys} | {tps:,.0f} | {tps / base[kind]:.2f}x |")
    print("\n".join(lines))
    bench.write_results("txn", {"command": command, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
