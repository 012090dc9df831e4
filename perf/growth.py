#!/usr/bin/env python3
"""Growth without stalls: load N keys (default 10 million) with pipelined SETs and time
every round trip of 1 000 SETs; the slowest round trips show the pauses a table resize
causes. corecache and redis-server, one after the other.

    python3 perf/growth.py [--corecache-bin PATH] [--keys 10000000] [--threads 2]

Uses perf/bench.py's server management; prints a Markdown table and writes
perf/results/growth-<UTC>.json."""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

BATCH = 1000


def load(port: int, keys: int) -> list[float]:
    """Round-trip times (ms) of every batch of SETs."""
    times = []
    value = b"v" * 16
    with bench.RespClient(port) as c:
        for start in range(0, keys, BATCH):
            req = b"".join(
                b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%s\r\n" % (len(k), k, value)
                for k in (b"key:%d" % i for i in range(start, min(keys, start + BATCH))))
            t0 = time.perf_counter()
            c.sock.sendall(req)
            c.expect_ok(min(BATCH, keys - start))
            times.append((time.perf_counter() - t0) * 1000)
    return times


def summary(times: list[float]) -> dict[str, float]:
    s = sorted(times)
    return {
        "batches": len(s),
        "p50_ms": statistics.median(s),
        "p99_ms": s[int(len(s) * 0.99)],
        "p999_ms": s[int(len(s) * 0.999)],
        "max_ms": s[-1],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corecache-bin", type=Path, action="append",
                    help="a corecache binary to measure (repeatable)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keys", type=int, default=10_000_000)
    args = ap.parse_args()
    bench.ensure_redis_tools()
    bins = args.corecache_bin or [bench.build_corecache()]
    workdir = Path(tempfile.mkdtemp(prefix="corecache-growth-"))
    rows = []
    servers = [(f"corecache {b}", bench.CorecacheServer(workdir, b, args.threads)) for b in bins]
    servers.append(("redis-server", bench.RedisServer(workdir)))
    for name, server in servers:
        server.start()
        try:
            t0 = time.monotonic()
            times = load(server.port, args.keys)
            took = time.monotonic() - t0
            row = {"server": name, "seconds": took, **summary(times)}
            rows.append(row)
            bench.log(f"{name}: {row}")
        finally:
            server.stop()
    command = "python3 perf/growth.py " + " ".join(sys.argv[1:])
    lines = [
        f"Command: `{command.strip()}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}), "
        f"{args.keys:,} keys, round trips of {BATCH} pipelined SETs",
        "",
        "| server | load time s | p50 ms | p99 ms | p99.9 ms | slowest ms |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        lines.append(f"| {r['server']} | {r['seconds']:.1f} | {r['p50_ms']:.2f} | "
                     f"{r['p99_ms']:.2f} | {r['p999_ms']:.2f} | {r['max_ms']:.1f} |")
    print("\n".join(lines))
    bench.write_results("growth", {"command": command, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
