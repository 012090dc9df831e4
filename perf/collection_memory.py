#!/usr/bin/env python3
"""Memory of collections, corecache against redis-server: loads the same lists, hashes,
sets and sorted sets into a fresh instance of each server and compares used memory
(INFO used_memory) and RSS per element, for small collections (compact encodings) and
large ones (hash tables, skiplists ...).

    python3 perf/collection_memory.py [--corecache-bin PATH] [--scale 1.0] [--repeat 3] [--no-readme]

Before each reading both servers are asked to give free memory back (MEMORY PURGE:
jemalloc's purge in redis, every shard's mimalloc collect in corecache), so RSS counts
what is held rather than when each allocator happens to return freed pages; each shape
is measured on `--repeat` fresh servers and the median reported (RSS of a few MB of
data moves by a megabyte between runs). Fixed costs that the first load touches stay
in the numbers (corecache's receive buffers: 2 MiB per shard), which weigh at
`--scale 1` (a few MB of data) and vanish at larger scales. The last columns count
only what the second half of the keys added to RSS (both halves loaded the same way),
which leaves out such one-time costs: the cost of one more element.

Uses perf/bench.py's server management (free ports, stop by PID) and writes
perf/results/collections-<UTC>.json and a table into perf/README.md."""

import argparse
import json
import statistics
import tempfile
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the harness next to this file)

README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- collections:start -->", "<!-- collections:end -->"


def shapes(scale: float) -> list[dict]:
    """(type, keys, elements per key) for small and large collections."""
    small = max(1, int(20000 * scale))
    large = max(1, int(20 * scale))
    out = []
    for kind in ("list", "hash", "set-int", "set-str", "zset"):
        out.append({"type": kind, "size": "small", "keys": small, "elements": 8})
        out.append({"type": kind, "size": "large", "keys": large, "elements": 5000})
    return out


def commands(kind: str, key: str, elements: int) -> list[tuple]:
    """Commands that build one collection, batched 100 elements per command."""
    cmds = []
    for start in range(0, elements, 100):
        chunk = range(start, min(start + 100, elements))
        if kind == "list":
            cmds.append(("RPUSH", key, *[f"value:{i:06d}" for i in chunk]))
        elif kind == "hash":
            args = []
            for i in chunk:
                args += [f"field:{i:06d}", f"value:{i:06d}"]
            cmds.append(("HSET", key, *args))
        elif kind == "set-int":
            cmds.append(("SADD", key, *[str(i * 7) for i in chunk]))
        elif kind == "set-str":
            cmds.append(("SADD", key, *[f"member:{i:06d}" for i in chunk]))
        elif kind == "zset":
            args = []
            for i in chunk:
                args += [str(i * 1.5), f"member:{i:06d}"]
            cmds.append(("ZADD", key, *args))
    return cmds


def load(port: int, shape: dict, keys: range) -> None:
    with bench.RespClient(port) as client:
        batch = []
        for k in keys:
            key = f"{shape['type']}:{shape['size']}:{k}"
            for cmd in commands(shape["type"], key, shape["elements"]):
                batch.append(bench.encode_command(*cmd))
            if len(batch) >= 500:
                client.sock.sendall(b"".join(batch))
                for _ in batch:
                    reply = client.read_reply()
                    if isinstance(reply, bench.RespError):
                        raise bench.BenchError(f"{shape}: {reply}")
                batch = []
        if batch:
            client.sock.sendall(b"".join(batch))
            for _ in batch:
                reply = client.read_reply()
                if isinstance(reply, bench.RespError):
                    raise bench.BenchError(f"{shape}: {reply}")


def encoding_of(port: int, shape: dict) -> str:
    with bench.RespClient(port) as client:
        enc = client.call("OBJECT", "ENCODING", f"{shape['type']}:{shape['size']}:0")
        return enc.decode() if isinstance(enc, bytes) else str(enc)


def purge(server: bench.Server) -> None:
    with bench.RespClient(server.port) as client:
        client.call("MEMORY", "PURGE")
    time.sleep(0.2)


def measure(server: bench.Server, shape: dict) -> dict:
    server.start()
    try:
        time.sleep(0.3)
        purge(server)
        used0, rss0 = server.used_memory(), server.rss_bytes()
        half = shape["keys"] // 2
        load(server.port, shape, range(half))
        time.sleep(0.5)
        purge(server)
        rss_half = server.rss_bytes()
        load(server.port, shape, range(half, shape["keys"]))
        time.sleep(0.5)
        purge(server)
        used1, rss1 = server.used_memory(), server.rss_bytes()
        enc = encoding_of(server.port, shape)
    finally:
        server.stop()
    n = shape["keys"] * shape["elements"]
    second = (shape["keys"] - half) * shape["elements"]
    return {
        "encoding": enc,
        "used_per_element": (used1 - used0) / n,
        "rss_per_element": (rss1 - rss0) / n,
        "rss_marginal": (rss1 - rss_half) / second,
    }


def median_of(n: int, run) -> dict:
    """Runs `run` n times; each measure's median, and every raw run."""
    runs = [run() for _ in range(max(1, n))]
    out = {"encoding": runs[0]["encoding"], "runs": runs}
    for key in ("used_per_element", "rss_per_element", "rss_marginal"):
        out[key] = statistics.median(r[key] for r in runs)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corecache-bin", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the key counts")
    ap.add_argument("--repeat", type=int, default=3, help="fresh servers per shape (median)")
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()
    bench.ensure_redis_tools()
    binary = args.corecache_bin or bench.build_corecache()
    workdir = Path(tempfile.mkdtemp(prefix="corecache-collections-"))
    rows = []
    for shape in shapes(args.scale):
        redis = median_of(args.repeat, lambda: measure(bench.RedisServer(workdir), shape))
        core = median_of(args.repeat, lambda: measure(
            bench.CorecacheServer(workdir, binary, args.threads), shape))
        rows.append({**shape, "redis": redis, "corecache": core})
        bench.log(f"{shape}: redis {redis} corecache {core}")
    lines = [
        "| type | size | keys x elements | encoding redis / corecache | used B/elem redis / corecache | ratio | RSS B/elem redis / corecache | ratio | RSS of the second half B/elem | ratio |",
        "|---|---|---|---|---|--:|---|--:|---|--:|",
    ]
    for r in rows:
        rd, cc = r["redis"], r["corecache"]
        ur = cc["used_per_element"] / rd["used_per_element"] if rd["used_per_element"] else 0
        rr = cc["rss_per_element"] / rd["rss_per_element"] if rd["rss_per_element"] else 0
        mr = cc["rss_marginal"] / rd["rss_marginal"] if rd["rss_marginal"] else 0
        lines.append(
            f"| {r['type']} | {r['size']} | {r['keys']} x {r['elements']} | "
            f"{rd['encoding']} / {cc['encoding']} | {rd['used_per_element']:.1f} / "
            f"{cc['used_per_element']:.1f} | **{ur:.2f}x** | {rd['rss_per_element']:.1f} / "
            f"{cc['rss_per_element']:.1f} | {rr:.2f}x | {rd['rss_marginal']:.1f} / "
            f"{cc['rss_marginal']:.1f} | {mr:.2f}x |"
        )
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    command = "python3 perf/collection_memory.py " + " ".join(sys.argv[1:])
    block = "\n".join([
        f"Command: `{command.strip()}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"commit {bench.command_output(['git', 'rev-parse', '--short', 'HEAD']) or '?'})",
        "",
        *lines,
    ])
    print(block)
    out = Path(__file__).resolve().parent / "results" / f"collections-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"command": command, "rows": rows}, indent=2))
    if not args.no_readme:
        bench.put_readme_block(README, START, END, block, "## Memory of collections")
    return 0


if __name__ == "__main__":
    sys.exit(main())
