#!/usr/bin/env python3
"""SET throughput with the append-only file on, corecache against redis-server, for each
`appendfsync` policy (always, everysec, no), side by side in one run, as ratios.

    python3 perf/aof_fsync.py [--corecache-bin PATH] [--requests 100000] [--clients 50]
                              [--threads 2] [--repeat 1] [--pipeline 1]
                              [--policies always,everysec,no] [--readme]

For every policy and every repetition, each server is started fresh with
`--appendonly yes --appendfsync POLICY --dir TMP` (corecache also `--save ""`; redis-server
gets `--save ""` from perf/bench.py), TMP a new empty directory under the system's
temporary directory (its file system is recorded: on tmpfs fdatasync costs nothing),
loaded with

    redis-benchmark -h 127.0.0.1 -p PORT -t set -n N -c C -d 16 -r 100000 -P P -q

and stopped by PID; its directory is removed afterwards. The servers take turns (redis
first on even repetitions, corecache first on odd ones) and the median requests per
second of the repetitions is reported. After each run the script checks that the AOF
really was written: INFO persistence says `aof_enabled:1`, CONFIG GET appendfsync names
the policy, and `appendonlydir` in TMP holds a non-empty `.incr.aof` file (also after the
server stopped); anything else aborts the benchmark.

Prints a Markdown table on stdout (progress goes to stderr), writes the raw results to
perf/results/aof-fsync-<UTC>.json and, with `--readme`, puts the table between
`<!-- aof-fsync:start -->` and `<!-- aof-fsync:end -->` in perf/README.md (adding the
section when it is missing). Uses perf/bench.py's server management (free ports, stop by
PID, also on errors, Ctrl-C and SIGTERM)."""

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the harness next to this file)

PERF_DIR = Path(__file__).resolve().parent
README = PERF_DIR / "README.md"
START, END = "<!-- aof-fsync:start -->", "<!-- aof-fsync:end -->"
SECTION = "## Write throughput with the append-only file"
SECTION_TEXT = (
    "SET throughput (redis-benchmark, 16-byte values, 100 000 random keys) with the "
    "append-only file on, for each `appendfsync` policy, each server started fresh on an "
    "empty `--dir`; the ratio is corecache / redis-server. With `always`, no reply leaves "
    "before its write is on disk: corecache group-commits the writes of one loop of a "
    "shard into one fdatasync, as redis-server does once per event-loop iteration."
)
# "off": the same load with the append-only file off, the reference for the others.
POLICIES = ("off", "always", "everysec", "no")
VALUE_SIZE = 16
KEYSPACE = 100_000
AOF_DIRNAME = "appendonlydir"
RPS = re.compile(r"SET: ([0-9.]+) requests per second")


# --------------------------------------------------------------------- servers


def aof_args(policy: str) -> list[str]:
    if policy == "off":
        return ["--appendonly", "no"]
    return ["--appendonly", "yes", "--appendfsync", policy]


class AofRedis(bench.RedisServer):
    """redis-server as in perf/bench.py, with the append-only file on in `data_dir`."""

    def __init__(self, workdir: Path, data_dir: Path, policy: str) -> None:
        super().__init__(workdir)
        self.data_dir = data_dir
        self.policy = policy

    def start(self) -> None:
        self.port = bench.free_port()
        cmd = [
            "redis-server", "--port", str(self.port), "--bind", bench.HOST,
            "--save", "", "--daemonize", "no", "--logfile", str(self.log_path),
            "--dir", str(self.data_dir), *aof_args(self.policy),
        ]
        self.version = bench.command_output(["redis-server", "--version"]) or ""
        bench.log(f"starting {shlex.join(cmd)}")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        self.wait_ping()
        bench.log(f"redis-server pid {self.pid} on port {self.port}")


def make_server(name: str, workdir: Path, data_dir: Path, policy: str,
                args: argparse.Namespace) -> bench.Server:
    if name == "redis":
        return AofRedis(workdir, data_dir, policy)
    return bench.CorecacheServer(workdir, args.corecache_bin, args.threads, data_dir,
                                 tuple(aof_args(policy)))


# ------------------------------------------------------------------ measuring


def benchmark_command(port: int, args: argparse.Namespace) -> list[str]:
    return ["redis-benchmark", "-h", bench.HOST, "-p", str(port), "-t", "set",
            "-n", str(args.requests), "-c", str(args.clients), "-d", str(VALUE_SIZE),
            "-r", str(KEYSPACE), "-P", str(args.pipeline), "-q"]


def run_benchmark(cmd: list[str], timeout: float) -> tuple[float, float, str]:
    """(requests per second, wall seconds, the result line) of one redis-benchmark run."""
    t0 = time.monotonic()
    try:
        res = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        raise bench.BenchError(f"{shlex.join(cmd)} did not finish within {timeout:.0f} s") from None
    wall = time.monotonic() - t0
    if res.returncode != 0:
        raise bench.BenchError(f"{shlex.join(cmd)} failed ({res.returncode}):\n{res.stderr[-2000:]}")
    matches = list(RPS.finditer(res.stdout))
    if not matches:
        raise bench.BenchError(f"no 'SET: ... requests per second' in the output of "
                               f"{shlex.join(cmd)}:\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    last = matches[-1]
    line = res.stdout[last.start():].splitlines()[0].strip()
    return float(last.group(1)), wall, line


def incr_files(data_dir: Path) -> dict[str, int]:
    """Name -> size of the `.incr.aof` files in data_dir/appendonlydir."""
    aof_dir = data_dir / AOF_DIRNAME
    if not aof_dir.is_dir():
        return {}
    return {p.name: p.stat().st_size for p in sorted(aof_dir.iterdir())
            if p.name.endswith(".incr.aof") and p.is_file()}


def check_running(server: bench.Server, policy: str) -> dict:
    """INFO persistence and CONFIG GET appendfsync of a running server; raises unless the
    append-only file is on with the expected policy."""
    with bench.RespClient(server.port) as client:
        info = client.info("persistence")
        conf = client.call("CONFIG", "GET", "appendfsync")
        dbsize = int(client.call("DBSIZE"))
    if policy == "off":
        if info.get("aof_enabled") != "0":
            raise bench.BenchError(f"{server.name}: the AOF is on in the 'off' run")
        return {"aof_enabled": "0", "appendfsync": None, "dbsize": dbsize}
    if info.get("aof_enabled") != "1":
        raise bench.BenchError(f"{server.name}: INFO persistence has aof_enabled:"
                               f"{info.get('aof_enabled')!r}, not 1")
    got = conf[1].decode() if isinstance(conf, list) and len(conf) == 2 else None
    if got != policy:
        raise bench.BenchError(f"{server.name}: CONFIG GET appendfsync is {conf!r}, not {policy!r}")
    return {"aof_enabled": info.get("aof_enabled"), "appendfsync": got, "dbsize": dbsize,
            "aof_rewrite_in_progress": info.get("aof_rewrite_in_progress"),
            "aof_last_write_status": info.get("aof_last_write_status")}


def check_files(name: str, files: dict[str, int], when: str, data_dir: Path) -> None:
    if not any(size > 0 for size in files.values()):
        listing = sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*"))
        raise bench.BenchError(f"{name}: no non-empty .incr.aof file in {data_dir / AOF_DIRNAME} "
                               f"{when} (incr files {files}, directory holds {listing})")


def measure(name: str, policy: str, args: argparse.Namespace, tmp_root: Path | None) -> dict:
    """One fresh server with the AOF on under `policy`, one redis-benchmark run, the checks."""
    root = Path(tempfile.mkdtemp(prefix=f"corecache-aof-{name}-{policy}-", dir=tmp_root))
    data_dir = root / "data"
    data_dir.mkdir()
    server = make_server(name, root, data_dir, policy, args)
    try:
        server.start()
        cmd = benchmark_command(server.port, args)
        bench.log(f"{name} appendfsync {policy}: {shlex.join(cmd)}")
        cpu0 = server.cpu_ticks()
        rps, wall, line = run_benchmark(cmd, args.timeout)
        cpu1 = server.cpu_ticks()
        state = check_running(server, policy)
        files_running = incr_files(data_dir)
        if policy != "off":
            check_files(name, files_running, "while the server runs", data_dir)
        server.stop()
        files_stopped = incr_files(data_dir)
        if policy != "off":
            check_files(name, files_stopped, "after the server stopped", data_dir)
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)
    aof_bytes = sum(files_stopped.values())
    bench.log(f"{name} appendfsync {policy}: {rps:,.0f} SET/s ({line}); "
              f"AOF {aof_bytes:,} B, {aof_bytes / args.requests:.1f} B per SET")
    return {
        "server": name, "policy": policy, "rps": rps, "wall_s": wall, "result_line": line,
        "command": shlex.join(cmd).replace(f"-p {server.port}", "-p PORT"),
        "server_cpu_s": (cpu1 - cpu0) / bench.CLK_TCK,
        "incr_files_running": files_running, "incr_files_stopped": files_stopped,
        "aof_bytes": aof_bytes, "version": server.version, **state,
    }


# ---------------------------------------------------------------------- report


def fs_type(path: Path) -> str:
    """File system type of the mount holding `path` (longest mount point in /proc/self/mounts)."""
    best, kind = "", "unknown"
    try:
        for line in Path("/proc/self/mounts").read_text().splitlines():
            fields = line.split()
            if len(fields) < 3:
                continue
            mount = fields[1].replace("\\040", " ")
            inside = str(path) == mount or str(path).startswith(mount.rstrip("/") + "/")
            if inside and len(mount) >= len(best):
                best, kind = mount, fields[2]
    except OSError:
        pass
    return kind


def render(rows: list[dict]) -> list[str]:
    lines = ["| policy | redis SET/s | corecache SET/s | ratio corecache/redis "
             "| server CPU µs per SET redis / corecache | CPU ratio |",
             "|---|--:|--:|--:|---|--:|"]
    for r in rows:
        ratio = f"**{r['ratio']:.2f}×**" if r["ratio"] is not None else "–"
        cpu_r, cpu_c = r["redis_cpu_us"], r["corecache_cpu_us"]
        cpu_ratio = f"{cpu_c / cpu_r:.2f}×" if cpu_r else "–"
        lines.append(f"| {r['policy']} | {r['redis_rps']:,.0f} | {r['corecache_rps']:,.0f} | {ratio} "
                     f"| {cpu_r:.1f} / {cpu_c:.1f} | {cpu_ratio} |")
    return lines


def update_readme(block: str) -> None:
    bench.put_readme_block(README, START, END, block, f"{SECTION}\n\n{SECTION_TEXT}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corecache-bin", type=Path, help="use this binary instead of building")
    ap.add_argument("--requests", type=int, default=100_000, help="SETs per run (default 100000)")
    ap.add_argument("--clients", type=int, default=50, help="redis-benchmark clients (default 50)")
    ap.add_argument("--pipeline", type=int, default=1, help="redis-benchmark -P (default 1)")
    ap.add_argument("--threads", type=int, default=2, help="corecache shards (default 2)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="fresh servers per policy and server; the median is reported (default 1)")
    ap.add_argument("--policies", default=",".join(POLICIES),
                    help="comma-separated subset of always,everysec,no")
    ap.add_argument("--timeout", type=float, default=300.0,
                    help="seconds one redis-benchmark run may take (default 300)")
    ap.add_argument("--tmpdir", type=Path, default=None,
                    help="where the servers' temporary --dir go (default: the system's)")
    ap.add_argument("--readme", action="store_true",
                    help="write the table into perf/README.md")
    ap.add_argument("--no-install", action="store_true", help="never call apt-get")
    args = ap.parse_args(argv)
    args.policies = [p for p in args.policies.split(",") if p]
    bad = [p for p in args.policies if p not in POLICIES]
    if bad or not args.policies:
        ap.error(f"unknown policies {bad}; choose from {','.join(POLICIES)}")
    if min(args.requests, args.clients, args.pipeline, args.threads, args.repeat) < 1:
        ap.error("--requests, --clients, --pipeline, --threads and --repeat must be positive")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.gmtime()
    if args.no_install:
        if not (shutil.which("redis-server") and shutil.which("redis-benchmark")):
            raise bench.BenchError("redis-server / redis-benchmark missing (and --no-install)")
    else:
        bench.ensure_redis_tools()
    args.corecache_bin = (args.corecache_bin or bench.build_corecache()).resolve()
    help_text = subprocess.run([str(args.corecache_bin), "--help"], capture_output=True,
                               text=True, timeout=30).stdout
    if "--appendfsync" not in help_text:
        raise bench.BenchError(f"{args.corecache_bin} has no --appendfsync option (built before "
                               "the append-only file?)")
    tmp_root = args.tmpdir.resolve() if args.tmpdir else Path(tempfile.gettempdir())
    tmp_root.mkdir(parents=True, exist_ok=True)

    runs: list[dict] = []
    for rep in range(args.repeat):
        order = bench.SERVER_ORDER if rep % 2 == 0 else tuple(reversed(bench.SERVER_ORDER))
        for policy in args.policies:
            for name in order:
                runs.append({"repeat": rep, **measure(name, policy, args, tmp_root)})

    rows = []
    for policy in args.policies:
        row: dict = {"policy": policy}
        for name in bench.SERVER_ORDER:
            vals = [r["rps"] for r in runs if r["policy"] == policy and r["server"] == name]
            row[f"{name}_rps"] = statistics.median(vals)
            row[f"{name}_rps_all"] = vals
            row[f"{name}_cpu_us"] = statistics.median(
                r["server_cpu_s"] * 1e6 / args.requests for r in runs
                if r["policy"] == policy and r["server"] == name)
            row[f"{name}_aof_bytes_per_set"] = statistics.median(
                r["aof_bytes"] / args.requests for r in runs
                if r["policy"] == policy and r["server"] == name)
        row["ratio"] = row["corecache_rps"] / row["redis_rps"] if row["redis_rps"] else None
        rows.append(row)

    stamp = time.strftime("%Y%m%dT%H%M%SZ", started)
    commit = bench.command_output(["git", "rev-parse", "--short", "HEAD"], cwd=bench.REPO_ROOT) or "?"
    dirty = bool(bench.command_output(["git", "status", "--porcelain", "--untracked-files=no"],
                                      cwd=bench.REPO_ROOT))
    command = shlex.join(["python3", "perf/aof_fsync.py", *sys.argv[1:]])
    fs = fs_type(tmp_root)
    block = "\n".join([
        f"Command: `{command}` ({time.strftime('%Y-%m-%d %H:%M UTC', started)}, commit {commit}"
        f"{' + work tree changes' if dirty else ''})",
        "",
        *render(rows),
        "",
        f"{args.requests:,} SETs of {VALUE_SIZE} B per run, {args.clients} clients, pipeline "
        f"{args.pipeline}, corecache `--threads {args.threads}`, median of {args.repeat} "
        f"run{'s' if args.repeat != 1 else ''}; AOF on {fs} ({tmp_root}), "
        f"{bench.cpu_model()}, {os.cpu_count()} CPUs.",
    ])
    out = PERF_DIR / "results" / f"aof-fsync-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "meta": {
            "command": command, "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", started),
            "commit": commit, "worktree_dirty": dirty, "requests": args.requests,
            "clients": args.clients, "pipeline": args.pipeline, "value_size": VALUE_SIZE,
            "keyspace": KEYSPACE, "threads": args.threads, "repeat": args.repeat,
            "tmp_root": str(tmp_root), "tmp_fs": fs, "cpu_model": bench.cpu_model(),
            "cpus": os.cpu_count(), "kernel": platform.release(),
            "redis_benchmark_version": bench.command_output(["redis-benchmark", "--version"]),
            "corecache_bin": str(args.corecache_bin),
        },
        "summary": rows, "runs": runs, "markdown": block,
    }, indent=2) + "\n")
    bench.log(f"results written to {out}")
    if args.readme:
        update_readme(block)
        bench.log("perf/README.md updated")
    print(block)
    return 0


if __name__ == "__main__":
    bench.run_main(main)
