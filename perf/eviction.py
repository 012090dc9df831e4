#!/usr/bin/env python3
"""Eviction, corecache against redis-server at the same memory budget:

1. hit ratio: a cache-aside client replays a skewed trace (GET; on a miss, SET) against
   each eviction policy, with the same room for data above each server's idle memory;
   traces are Zipf-distributed keys (parameter alpha) and a Zipf mix with one-off scans;
2. SET throughput at the limit: redis-benchmark writes new keys while the server evicts.

    python3 perf/eviction.py [--corecache-bin PATH] [--threads 2] [--requests 300000]

Uses perf/bench.py's server management; prints Markdown tables and writes
perf/results/eviction-<UTC>.json."""

import argparse
import bisect
import itertools
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

VALUE = b"v" * 100
BATCH = 200


def zipf_sampler(n: int, alpha: float, rng: random.Random):
    cdf = list(itertools.accumulate(1.0 / (i ** alpha) for i in range(1, n + 1)))
    total = cdf[-1]
    # Key ranks are shuffled so popular keys do not share a prefix (or a shard).
    names = list(range(n))
    rng.shuffle(names)
    return lambda: names[bisect.bisect_left(cdf, rng.random() * total)]


def trace(kind: str, n_keys: int, requests: int, alpha: float, seed: int) -> list[int]:
    rng = random.Random(seed)
    draw = zipf_sampler(n_keys, alpha, rng)
    if kind == "zipf":
        return [draw() for _ in range(requests)]
    # "scan": the Zipf stream, interrupted every 20 000 requests by a scan of 5 000
    # keys never asked for before (a batch job, a crawler).
    out, scan_base = [], n_keys
    while len(out) < requests:
        out.extend(draw() for _ in range(20_000))
        out.extend(range(scan_base, scan_base + 5_000))
        scan_base += 5_000
    return out[:requests]


def counted(client: bench.RespClient) -> int:
    info = client.info("memory")
    return int(info["used_memory"]) - int(info.get("mem_not_counted_for_evict", 0))


def replay(port: int, keys: list[int], warm: int) -> float:
    """Cache-aside replay; the hit ratio after the first `warm` requests."""
    hits = misses = 0
    with bench.RespClient(port) as c:
        for start in range(0, len(keys), BATCH):
            chunk = keys[start:start + BATCH]
            c.sock.sendall(b"".join(bench.encode_command("GET", f"k:{k}") for k in chunk))
            missing = []
            for i, k in enumerate(chunk):
                hit = c.read_reply() is not None
                if start + i >= warm:
                    hits += hit
                    misses += not hit
                if not hit:
                    missing.append(k)
            if missing:
                c.sock.sendall(b"".join(bench.encode_command("SET", f"k:{k}", VALUE)
                                        for k in missing))
                for _ in missing:
                    reply = c.read_reply()
                    if isinstance(reply, bench.RespError):
                        raise bench.BenchError(f"SET refused: {reply}")
    return hits / max(hits + misses, 1)


def prepare(server: bench.Server, policy: str, room: int) -> int:
    with bench.RespClient(server.port) as c:
        c.call("FLUSHALL")
        c.call("CONFIG", "RESETSTAT")
        c.call("CONFIG", "SET", "maxmemory", "0")
        time.sleep(0.2)
        limit = counted(c) + room
        c.call("CONFIG", "SET", "maxmemory-policy", policy)
        c.call("CONFIG", "SET", "maxmemory", str(limit))
        return limit


def set_rate(server: bench.Server, requests: int) -> tuple[float, float]:
    """SETs of new keys per second at the limit, and server CPU µs per SET."""
    cmd = ["redis-benchmark", "-h", bench.HOST, "-p", str(server.port), "-c", "50", "-P", "16",
           "-n", str(requests), "-r", "100000000", "-d", "100", "-t", "set", "--csv"]
    ticks = server.cpu_ticks()
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    cpu_s = (server.cpu_ticks() - ticks) / bench.os.sysconf("SC_CLK_TCK")
    try:
        rps = bench.parse_benchmark_csv(run.stdout)["rps"]
    except bench.BenchError as e:
        raise bench.BenchError(f"{e}\nstderr: {run.stderr[-2000:]}") from None
    return rps, cpu_s / requests * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corecache-bin", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=300_000)
    ap.add_argument("--alpha", type=float, default=0.9)
    ap.add_argument("--room-mb", type=float, default=4.0,
                    help="memory for data above each server's idle use")
    ap.add_argument("--set-requests", type=int, default=1_000_000)
    args = ap.parse_args()
    bench.ensure_redis_tools()
    binary = args.corecache_bin or bench.build_corecache()
    workdir = Path(tempfile.mkdtemp(prefix="corecache-eviction-"))
    room = int(args.room_mb * 1024 * 1024)
    traces = {kind: trace(kind, args.keys, args.requests, args.alpha, seed=7)
              for kind in ("zipf", "scan")}
    warm = args.requests // 5
    servers = [("redis-server", bench.RedisServer(workdir), ["allkeys-lru", "allkeys-lfu"]),
               ("corecache", bench.CorecacheServer(workdir, binary, args.threads),
                ["allkeys-lru", "allkeys-lfu", "allkeys-random", "allkeys-tinylfu"])]
    hit_rows, rate_rows = [], []
    for name, server, policies in servers:
        server.start()
        try:
            for policy in policies:
                for kind, keys in traces.items():
                    prepare(server, policy, room)
                    ratio = replay(server.port, keys, warm)
                    with bench.RespClient(server.port) as c:
                        stored = int(c.call("DBSIZE"))
                        evicted = int(c.info("stats")["evicted_keys"])
                    hit_rows.append((name, policy, kind, ratio, stored, evicted))
                    bench.log(f"{name} {policy} {kind}: hit ratio {ratio:.4f}, "
                              f"{stored} keys held, {evicted} evicted")
            prepare(server, "allkeys-lru", 16 * 1024 * 1024)
            rps, cpu = set_rate(server, args.set_requests)
            rate_rows.append((name, rps, cpu))
            bench.log(f"{name}: {rps:,.0f} SET/s at the limit, {cpu:.2f} µs CPU per SET")
        finally:
            server.stop()
    command = "python3 perf/eviction.py " + " ".join(sys.argv[1:])
    lines = [
        f"Command: `{command.strip()}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}), "
        f"{args.keys} keys, {args.requests} requests (hit ratio over the last "
        f"{args.requests - warm}), Zipf alpha {args.alpha}, {len(VALUE)}-byte values, "
        f"{args.room_mb} MB of room above idle memory, corecache with {args.threads} shards",
        "",
        "| server | policy | trace | hit ratio | keys held | evicted |",
        "|---|---|---|--:|--:|--:|",
    ]
    for name, policy, kind, ratio, stored, evicted in hit_rows:
        lines.append(f"| {name} | {policy} | {kind} | {ratio:.4f} | {stored:,} | {evicted:,} |")
    lines += ["", "| server | SET/s at the limit (allkeys-lru, 16 MB) | server CPU µs per SET |",
              "|---|--:|--:|"]
    for name, rps, cpu in rate_rows:
        lines.append(f"| {name} | {rps:,.0f} | {cpu:.2f} |")
    if len(rate_rows) == 2:
        lines.append(f"| ratio corecache / redis | {rate_rows[1][1] / rate_rows[0][1]:.2f}x | "
                     f"{rate_rows[1][2] / rate_rows[0][2]:.2f}x |")
    print("\n".join(lines))
    bench.write_results("eviction",
                        {"command": command, "hit_ratio": hit_rows, "set_rate": rate_rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
