#!/usr/bin/env python3
"""RDB snapshots, corecache against redis-server: time of SAVE and of BGSAVE for the
same keys, the restart that loads the file, and memory during a BGSAVE while a client
overwrites keys as fast as it can (redis-server forks, and the child's copies of
changed pages count; corecache copies entries before they change).

    python3 perf/snapshot.py [--corecache-bin PATH] [--keys 1000000] [--threads 2]

Memory is the proportional set size (PSS, /proc/PID/smaps_rollup) of the server and,
for redis-server, of its forked child, summed and sampled every 10 ms: shared pages
count once. Writes the raw results to perf/results/snapshot-<UTC>.json."""

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the harness next to this file)


def pss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def tree_pss(pid: int) -> int:
    return pss_bytes(pid) + sum(pss_bytes(c) for c in children(pid))


def writer(port: int, keys: int, stop: threading.Event, counter: list[int]) -> None:
    """Overwrites random keys with pipelined SETs until told to stop."""
    i = 0
    with bench.RespClient(port) as client:
        while not stop.is_set():
            parts = []
            for _ in range(100):
                key = b"key:%d" % ((i * 7919) % keys)
                parts.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\nxxxxxxxxxxxxxxxx\r\n"
                             % (len(key), key))
                i += 1
            client.sock.sendall(b"".join(parts))
            client.expect_ok(100)
            counter[0] += 100


def in_progress(port: int) -> bool:
    with bench.RespClient(port) as client:
        return client.info("persistence").get("rdb_bgsave_in_progress") == "1"


def measure(server: bench.Server, keys: int) -> dict:
    server.start()
    try:
        bench.load_strings(server.port, bench.MEMORY_KEY_FMT, keys, b"v" * bench.MEMORY_VALUE_SIZE)
        time.sleep(1.0)
        base = tree_pss(server.pid)
        t0 = time.monotonic()
        with bench.RespClient(server.port) as client:
            client.call("SAVE")
        save_s = time.monotonic() - t0
        stop, counter = threading.Event(), [0]
        w = threading.Thread(target=writer, args=(server.port, keys, stop, counter))
        w.start()
        time.sleep(0.3)
        before = counter[0]
        t0 = time.monotonic()
        with bench.RespClient(server.port) as client:
            client.call("BGSAVE")
        peak = base
        while True:
            peak = max(peak, tree_pss(server.pid))
            if not in_progress(server.port):
                break
            time.sleep(0.01)
        bgsave_s = time.monotonic() - t0
        writes = counter[0] - before
        stop.set()
        w.join()
        # A restart that loads the file just written, timed until every key answers.
        server.stop()
        t0 = time.monotonic()
        server.start()
        while server.dbsize() < keys:
            time.sleep(0.005)
        load_s = time.monotonic() - t0
    finally:
        server.stop()
    out = {"keys": keys, "save_s": round(save_s, 3), "bgsave_s": round(bgsave_s, 3),
           "load_s": round(load_s, 3),
           "pss_before": base, "pss_peak": peak, "peak_ratio": round(peak / base, 3),
           "writes_during_bgsave": writes,
           "writes_per_s_during_bgsave": round(writes / bgsave_s) if bgsave_s else None}
    bench.log(f"{server.name}: {out}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corecache-bin", type=Path)
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    bench.ensure_redis_tools()
    binary = args.corecache_bin or bench.build_corecache()
    work = Path(tempfile.mkdtemp(prefix="corecache-snapshot-"))
    redis_server = bench.RedisServer(work, ("--dir", str(work), "--dbfilename", "redis.rdb"))
    redis = measure(redis_server, args.keys)
    core = measure(bench.CorecacheServer(work, binary, args.threads), args.keys)
    command = "python3 perf/snapshot.py " + " ".join(sys.argv[1:])
    rows = [
        ("SAVE, seconds", redis["save_s"], core["save_s"]),
        ("BGSAVE under writes, seconds", redis["bgsave_s"], core["bgsave_s"]),
        ("restart loading the file, seconds to the last key", redis["load_s"], core["load_s"]),
        ("peak memory during BGSAVE / before (PSS)", redis["peak_ratio"], core["peak_ratio"]),
        ("SETs per second during BGSAVE (one pipelining client)",
         redis["writes_per_s_during_bgsave"], core["writes_per_s_during_bgsave"]),
    ]
    print(f"Command: `{command.strip()}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}), "
          f"{args.keys:,} keys of {bench.MEMORY_VALUE_SIZE} bytes\n")
    print("| measure | redis | corecache | ratio |\n|---|--:|--:|--:|")
    for name, r, c in rows:
        ratio = f"{c / r:.2f}x" if r and c else "-"
        print(f"| {name} | {r} | {c} | {ratio} |")
    out = bench.write_results("snapshot", {"command": command, "redis": redis, "corecache": core})
    bench.log(f"raw results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
