#!/usr/bin/env python3
"""Cluster-client throughput against the same client in plain mode, side by side with
redis-server. Standard library only.

Four servers on free loopback ports, measured in alternating rounds with the same
redis-benchmark command (only the port and `--cluster` change):

  redis plain      redis-server 7, standalone
  redis cluster    N redis-server 7 processes in one cluster (N = corecache's shards;
                   redis-benchmark --cluster needs at least 2 nodes)
  cc plain         corecache --threads N, standalone (the kernel spreads connections
                   over the shards; a key of another shard costs a mailbox hop)
  cc cluster       corecache --threads N --cluster-mode yes, driven through its node
                   ports with redis-benchmark --cluster (each command goes straight to
                   the core that owns its key)

For corecache it also reports INFO's forwarded_commands per request (0 means no command
crossed cores). Prints a Markdown table and writes the raw numbers to a JSON file.
redis-benchmark --cluster ends its runs on a 250 ms tick: give it runs of a few
seconds (--requests 600000) or its cluster columns move in coarse steps.

usage: perf/cluster.py --corecache-bin target/release/corecache [--requests N]
                       [--rounds R] [--threads N] [--out FILE]
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port(below: int = 65536) -> int:
    """A free loopback port (redis-server's cluster bus needs port + 10000 < 65536)."""
    for _ in range(1000):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port < below:
            return port
    raise SystemExit("no free port")


def cli(port: int, *args: str) -> str:
    return subprocess.run(
        ["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=30
    ).stdout


def wait_ping(port: int) -> None:
    for _ in range(200):
        if cli(port, "ping").strip() == "PONG":
            return
        time.sleep(0.05)
    logs = "".join(p.read_text()[-500:] for p in Path(tempfile.gettempdir()).glob(
        f"cc-cluster-perf-*/redis-{port}.log"))
    raise SystemExit(f"server on {port} did not answer PING {logs}")


def info_int(port: int, field: str) -> int:
    m = re.search(rf"^{field}:(\d+)", cli(port, "info", "stats"), re.M)
    return int(m.group(1)) if m else 0


class Servers:
    def __init__(self, binary: str, threads: int, work: Path) -> None:
        self.work = work
        self.ports: dict[str, int] = {}
        self.bench_port: dict[str, int] = {}
        # The processes whose CPU time counts for each server.
        self.pids: dict[str, list[int]] = {}
        # redis-server standalone, and a cluster of `threads` redis-server processes
        # (as many cores as corecache's shards get).
        def redis(extra: list[str]) -> int:
            port = free_port(below=55536)
            self._spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                         "--save", "", "--appendonly", "no", "--dir", str(work),
                         "--logfile", str(work / f"redis-{port}.log"), *extra])
            wait_ping(port)
            return port

        self.ports["redis plain"] = self.bench_port["redis plain"] = redis([])
        self.pids["redis plain"] = [self.procs[-1].pid]
        nodes = [
            redis(["--cluster-enabled", "yes",
                   "--cluster-config-file", str(work / f"redis-nodes-{i}.conf")])
            for i in range(max(threads, 2))
        ]
        for i, port in enumerate(nodes):
            lo, hi = i * 16384 // len(nodes), (i + 1) * 16384 // len(nodes) - 1
            cli(port, "cluster", "addslotsrange", str(lo), str(hi))
            if i:
                cli(port, "cluster", "meet", "127.0.0.1", str(nodes[0]))
        for _ in range(200):
            if all("cluster_state:ok" in cli(p, "cluster", "info") for p in nodes):
                break
            time.sleep(0.1)
        else:
            raise SystemExit("the redis-server cluster did not form")
        self.ports["redis cluster"] = self.bench_port["redis cluster"] = nodes[0]
        self.pids["redis cluster"] = [p.pid for p in self.procs[1:]]
        # corecache, plain and cluster mode.
        for name, extra in (
            ("cc plain", []),
            ("cc cluster", ["--cluster-mode", "yes",
                            "--cluster-config-file", str(work / "cc-nodes.conf")]),
        ):
            log = work / f"{name.replace(' ', '-')}.log"
            self._spawn([binary, "--bind", "127.0.0.1", "--port", "0",
                         "--threads", str(threads), "--save", "", "--dir", str(work), *extra],
                        stderr=open(log, "w"))
            port = None
            for _ in range(200):
                m = re.search(r" ready: .* on 127\.0\.0\.1:(\d+) ", log.read_text())
                if m:
                    port = int(m.group(1))
                    break
                time.sleep(0.05)
            if port is None:
                raise SystemExit(f"corecache did not start: {log.read_text()}")
            wait_ping(port)
            self.ports[name] = port
            self.bench_port[name] = port
            self.pids[name] = [self.procs[-1].pid]
        # Cluster clients start from a node port (they would from the public one too).
        slots = cli(self.ports["cc cluster"], "cluster", "slots").split()
        self.bench_port["cc cluster"] = int(slots[3])

    def _spawn(self, cmd: list[str], stderr=subprocess.DEVNULL) -> None:
        self.procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr))

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (all threads), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


def bench(port: int, cluster: bool, test: str, pipeline: int, requests: int) -> float:
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q", "-n", str(requests),
           "-c", "50", "-r", "100000", "-d", "16", "-P", str(pipeline), "-t", test]
    if cluster:
        cmd.append("--cluster")
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    out = res.stdout
    m = re.findall(r"([\d.]+) requests per second", out.replace("\r", "\n"))
    if not m:
        raise SystemExit(f"no result from {' '.join(cmd)}:\n{out}{res.stderr}")
    return float(m[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corecache-bin", default="target/release/corecache")
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    for tool in ("redis-server", "redis-cli", "redis-benchmark"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing (apt-get install redis-server redis-tools)")
    work = Path(tempfile.mkdtemp(prefix="cc-cluster-perf-"))
    servers = Servers.__new__(Servers)
    servers.procs = []
    try:
        Servers.__init__(servers, a.corecache_bin, a.threads, work)
    except BaseException:
        servers.stop()
        raise
    names = ["redis plain", "redis cluster", "cc plain", "cc cluster"]
    cases = [(t, p) for p in (1, 16) for t in ("set", "get")]
    results: dict[str, dict[str, list[float]]] = {}
    cpu_us: dict[str, dict[str, list[float]]] = {}
    forwarded: dict[str, dict[str, int]] = {n: {"requests": 0, "forwarded": 0}
                                           for n in ("cc plain", "cc cluster")}
    try:
        for rnd in range(a.rounds):
            for test, pipeline in cases:
                key = f"{test.upper()} P{pipeline}"
                n = a.requests * (4 if pipeline > 1 else 1)
                order = names if rnd % 2 == 0 else list(reversed(names))
                for name in order:
                    before = info_int(servers.ports[name], "forwarded_commands") \
                        if name in forwarded else 0
                    cpu0 = cpu_seconds(servers.pids[name])
                    rps = bench(servers.bench_port[name], "cluster" in name, test,
                                pipeline, n)
                    cpu = (cpu_seconds(servers.pids[name]) - cpu0) / n * 1e6
                    cpu_us.setdefault(key, {}).setdefault(name, []).append(cpu)
                    if name in forwarded:
                        after = info_int(servers.ports[name], "forwarded_commands")
                        forwarded[name]["requests"] += n
                        forwarded[name]["forwarded"] += after - before
                    results.setdefault(key, {}).setdefault(name, []).append(rps)
                    print(f"round {rnd + 1} {key:8} {name:14} {rps:>12,.0f} rps "
                          f"{cpu:6.2f} µs CPU/req", file=sys.stderr)
    finally:
        servers.stop()
        shutil.rmtree(work, ignore_errors=True)

    med = {k: {n: statistics.median(v) for n, v in row.items()} for k, row in results.items()}
    lines = [
        "| test | redis plain | redis --cluster | cc plain | cc --cluster | "
        "cc cluster / cc plain | cc cluster / redis plain | cc cluster / redis cluster |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for k, row in med.items():
        lines.append(
            f"| {k} | {row['redis plain']:,.0f} | {row['redis cluster']:,.0f} | "
            f"{row['cc plain']:,.0f} | {row['cc cluster']:,.0f} | "
            f"{row['cc cluster'] / row['cc plain']:.2f}x | "
            f"{row['cc cluster'] / row['redis plain']:.2f}x | "
            f"{row['cc cluster'] / row['redis cluster']:.2f}x |"
        )
    cmed = {k: {n: statistics.median(v) for n, v in row.items()} for k, row in cpu_us.items()}
    lines += [
        "",
        "| test | server CPU µs/req: redis plain | redis --cluster | cc plain | cc --cluster | "
        "cc cluster / redis plain | cc cluster / redis cluster |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for k, row in cmed.items():
        lines.append(
            f"| {k} | {row['redis plain']:.2f} | {row['redis cluster']:.2f} | "
            f"{row['cc plain']:.2f} | {row['cc cluster']:.2f} | "
            f"{row['cc cluster'] / row['redis plain']:.2f}x | "
            f"{row['cc cluster'] / row['redis cluster']:.2f}x |"
        )
    for name, f in forwarded.items():
        share = f["forwarded"] / max(f["requests"], 1)
        lines.append("")
        lines.append(f"{name}: {f['forwarded']:,} of {f['requests']:,} requests crossed "
                     f"cores ({share:.1%})")
    table = "\n".join(lines)
    print(table)
    out = a.out or f"perf/results/cluster-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps({
        "command": " ".join(sys.argv),
        "threads": a.threads,
        "requests": a.requests,
        "rounds": a.rounds,
        "results": results,
        "median": med,
        "cpu_us_per_request": cpu_us,
        "cpu_median": cmed,
        "forwarded": forwarded,
    }, indent=1))
    print(f"\nraw results: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parent.parent)
    sys.exit(main())
