#!/usr/bin/env python3
"""Replication, corecache against redis-server as the primary, each with the same
replicas (redis-server processes): the primary's SET throughput with 0, 1 and 2
replicas attached, the replication latency with 1 and 2 replicas (a SET followed by
WAIT for every replica: the time until every replica acknowledged it, p50 and p99),
and the time of a full sync of a replica that joins a primary holding the keys.

    python3 perf/replication.py [--corecache-bin PATH] [--keys 1000000] [--threads 2]
                                [--requests 200000] [--waits 2000]

Throughput is redis-benchmark's (`-t set -P 16 -c 50`, 16-byte values). The replicas
run on the same machine as the primary (and share its cores). redis-server sends its
snapshot diskless (its default) without the 5 s `repl-diskless-sync-delay`; corecache
writes it to a temporary file first. Writes the raw results
to perf/results/replication-<UTC>.json."""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the harness next to this file)


class Replica(bench.RedisServer):
    """A redis-server replica of `primary_port`, with its own directory."""

    def __init__(self, workdir: Path, primary_port: int, index: int) -> None:
        own = workdir / f"replica{index}"
        own.mkdir(parents=True, exist_ok=True)
        super().__init__(own, ("--dir", str(own), "--replicaof", bench.HOST, str(primary_port)))
        self.name = f"replica{index}"

    def wait_synced(self, t0: float | None = None, timeout: float = 600.0) -> float:
        """Seconds from `t0` (default: now) until the link is up (the snapshot loaded)."""
        t0 = time.monotonic() if t0 is None else t0
        while True:
            with bench.RespClient(self.port) as client:
                if client.info("replication").get("master_link_status") == "up":
                    return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                raise bench.BenchError(f"{self.name} did not sync in {timeout} s")
            time.sleep(0.01)


def set_throughput(port: int, requests: int) -> float:
    cmd = bench.benchmark_command(port, "set", 16, 16, requests)
    stats, _ = bench.run_benchmark(cmd, requests)
    return stats["rps"]


def wait_latency(port: int, replicas: int, count: int) -> tuple[float, float]:
    """p50 and p99 (ms) of SET + WAIT <replicas> 0."""
    times = []
    with bench.RespClient(port) as client:
        for i in range(count):
            t0 = time.perf_counter()
            client.call("SET", f"lag:{i % 1000}", "x" * 16)
            got = client.call("WAIT", replicas, 5000)
            times.append((time.perf_counter() - t0) * 1000)
            if got != replicas:
                raise bench.BenchError(f"WAIT answered {got}, not {replicas}")
    times.sort()
    return (round(times[len(times) // 2], 3), round(times[int(len(times) * 0.99)], 3))


def redis_primary_of(work: Path) -> bench.RedisServer:
    """redis-server as the primary, with no wait before a full sync (Redis 7 waits 5 s
    by default, `repl-diskless-sync-delay`, for more replicas to share the transfer)."""
    return bench.RedisServer(work, ("--repl-diskless-sync-delay", "0"))


def measure_stream(primary: bench.Server, work: Path, args: argparse.Namespace) -> dict:
    """Throughput with 0, 1 and 2 replicas, and SET + WAIT latency."""
    out: dict = {"throughput": {}, "wait_ms": {}}
    replicas: list[Replica] = []
    primary.start()
    try:
        out["throughput"]["0"] = set_throughput(primary.port, args.requests)
        for n in (1, 2):
            r = Replica(work / primary.name, primary.port, n)
            r.start()
            r.wait_synced()
            replicas.append(r)
            out["throughput"][str(n)] = set_throughput(primary.port, args.requests)
            out["wait_ms"][str(n)] = wait_latency(primary.port, n, args.waits)
    finally:
        for r in replicas:
            r.stop()
        primary.stop()
    bench.log(f"{primary.name}: {out}")
    return out


def measure_full_sync(primary: bench.Server, work: Path, args: argparse.Namespace) -> dict:
    """Seconds until a new replica of a primary holding the keys has its link up."""
    out: dict = {}
    replicas: list[Replica] = []
    primary.start()
    try:
        bench.load_strings(primary.port, bench.MEMORY_KEY_FMT, args.keys,
                           b"v" * bench.MEMORY_VALUE_SIZE)
        r = Replica(work / primary.name, primary.port, 3)
        replicas.append(r)
        # From the replica's start: a small sync may be over once it answers PING.
        t0 = time.monotonic()
        r.start()
        out["full_sync_s"] = round(r.wait_synced(t0), 3)
        out["replica_keys"] = r.dbsize()
    finally:
        for r in replicas:
            r.stop()
        primary.stop()
    bench.log(f"{primary.name}: {out}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corecache-bin", type=Path)
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--waits", type=int, default=2000)
    args = ap.parse_args()
    bench.ensure_redis_tools()
    binary = args.corecache_bin or bench.build_corecache()
    work = Path(tempfile.mkdtemp(prefix="corecache-replication-"))
    # Both primaries' streams first, then both full syncs (a full sync leaves files
    # and page cache work behind that would weigh on what follows it).
    redis_primary = redis_primary_of(work)
    core_primary = bench.CorecacheServer(work, binary, args.threads)
    redis = measure_stream(redis_primary, work, args)
    core = measure_stream(core_primary, work, args)
    redis.update(measure_full_sync(redis_primary, work, args))
    core.update(measure_full_sync(core_primary, work, args))
    command = "python3 perf/replication.py " + " ".join(sys.argv[1:])
    rows = []
    for n in ("0", "1", "2"):
        rows.append((f"SETs per second (P16, 50 clients), {n} replicas",
                     redis["throughput"][n], core["throughput"][n]))
    for n in ("1", "2"):
        for i, p in ((0, "p50"), (1, "p99")):
            rows.append((f"SET + WAIT {n} latency {p}, ms", redis["wait_ms"][n][i],
                         core["wait_ms"][n][i]))
    rows.append((f"full sync of {args.keys:,} keys, seconds to the replica's link up",
                 redis["full_sync_s"], core["full_sync_s"]))
    print(f"Command: `{command.strip()}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}), "
          f"replicas are redis-server, {args.threads} corecache shards\n")
    print("| measure | redis primary | corecache primary | ratio |\n|---|--:|--:|--:|")
    for name, r, c in rows:
        ratio = f"{c / r:.2f}x" if r and c else "-"
        print(f"| {name} | {r} | {c} | {ratio} |")
    out = bench.write_results("replication", {"command": command, "redis": redis,
                                              "corecache": core})
    bench.log(f"raw results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
