#!/usr/bin/env python3
"""A/B benchmark of corecache against redis-server 7 (Python 3.11 standard library only).

One command runs everything (see perf/README.md):

    python3 perf/bench.py

It builds corecache in release mode, installs Debian's redis-server / redis-tools when
they are missing, starts both servers on free loopback ports, runs a redis-benchmark
matrix alternating the servers round after round, measures the server's CPU time per
request (from /proc/PID/stat) and, in separate shorter runs, system calls per request
(`perf stat -e raw_syscalls:sys_enter` or `strace -c -f`), compares memory per key
after loading small strings into fresh servers, writes every raw measurement to
perf/results/<UTC timestamp>.json and the summary table into perf/README.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

PERF_DIR = Path(__file__).resolve().parent
REPO_ROOT = PERF_DIR.parent
README_PATH = PERF_DIR / "README.md"
RESULTS_DIR = PERF_DIR / "results"
MARK_START = "<!-- results:start -->"
MARK_END = "<!-- results:end -->"

HOST = "127.0.0.1"
ALL_TESTS = ("set", "get", "incr", "mset", "mget")
DEFAULT_PIPELINES = (1, 16)
DEFAULT_SIZES = (16, 512)
CLIENTS = 50
KEYSPACE = 100_000
MGET_KEYS = 10
# redis-benchmark replaces __rand_int__ with a 12-digit zero-padded number.
BENCH_KEY_FMT = "key:%012d"
MEMORY_KEY_FMT = "key:%d"
MEMORY_VALUE_SIZE = 16
# Memory is measured without TTLs and with a TTL on every key (one hour); the results'
# keys are the server's name plus the suffix.
MEMORY_TTL_MS = 3_600_000
MEMORY_VARIANTS = (("", ""), ("-ttl", " with TTL"))
CLK_TCK = os.sysconf("SC_CLK_TCK")

SERVER_ORDER = ("redis", "corecache")  # A, B


def log(msg: str) -> None:
    """Progress goes to stderr so stdout carries only the final Markdown."""
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- tools


class BenchError(RuntimeError):
    """A failure that aborts the benchmark with a clear message."""


_apt_updated = False


def apt_install(packages: Iterable[str]) -> bool:
    """Install Debian packages (running apt-get update once first); True on success."""
    global _apt_updated
    if shutil.which("apt-get") is None:
        log("apt-get not found; cannot install " + " ".join(packages))
        return False
    sudo = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if sudo is None:
        log("not root and no sudo; cannot install " + " ".join(packages))
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if not _apt_updated:
        log("apt-get update")
        if subprocess.run([*sudo, "apt-get", "update", "-qq"], env=env).returncode != 0:
            return False
        _apt_updated = True
    log("apt-get install -y " + " ".join(packages))
    res = subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", *packages], env=env)
    return res.returncode == 0


def ensure_redis_tools() -> None:
    """Make sure redis-server and redis-benchmark exist (Debian packages otherwise)."""
    if shutil.which("redis-server") and shutil.which("redis-benchmark"):
        return
    if not apt_install(["redis-server", "redis-tools"]):
        raise BenchError("redis-server / redis-benchmark missing and could not be installed")
    if not (shutil.which("redis-server") and shutil.which("redis-benchmark")):
        raise BenchError("redis-server / redis-benchmark still missing after apt-get install")


def build_corecache() -> Path:
    """`cargo build --release` in the repository root; returns the binary path."""
    log("cargo build --release")
    res = subprocess.run(["cargo", "build", "--release"], cwd=REPO_ROOT)
    if res.returncode != 0:
        raise BenchError("cargo build --release failed")
    binary = REPO_ROOT / "target" / "release" / "corecache"
    if not binary.is_file():
        raise BenchError(f"{binary} not found after the build")
    return binary


def command_output(cmd: list[str], cwd: Path | None = None) -> str | None:
    """stdout of a command, stripped, or None when it fails or is missing."""
    try:
        res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# ----------------------------------------------------------------------- /proc


def proc_cpu_ticks(pid: int) -> int:
    """utime + stime (fields 14 and 15 of /proc/PID/stat) for the whole process."""
    data = Path(f"/proc/{pid}/stat").read_text()
    fields = data[data.rindex(")") + 2 :].split()  # fields[0] is field 3 (state)
    return int(fields[11]) + int(fields[12])


def proc_sched_ns(pid: int) -> int:
    """Sum of on-CPU nanoseconds of the live threads (/proc/PID/task/*/schedstat).

    Recorded as a finer-grained cross-check of the tick-based CPU time; threads that
    exited during a run are missing from it, so the report uses /proc/PID/stat.
    """
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def proc_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise BenchError(f"no VmRSS for pid {pid}")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# ------------------------------------------------------------------ RESP client


class RespError(Exception):
    """An error reply from the server."""


def encode_command(*args: bytes | str | int) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, int):
            arg = str(arg)
        if isinstance(arg, str):
            arg = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


class RespClient:
    """A minimal blocking RESP2 client over a raw socket, with pipelined writes."""

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = bytearray()
        self._pos = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RespClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- buffered reading
    def _fill(self) -> None:
        if self._pos > 1 << 20:  # compact now and then
            del self._buf[: self._pos]
            self._pos = 0
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise BenchError("server closed the connection")
        self._buf += chunk

    def _read_line(self) -> bytes:
        while True:
            end = self._buf.find(b"\r\n", self._pos)
            if end >= 0:
                line = bytes(self._buf[self._pos : end])
                self._pos = end + 2
                return line
            self._fill()

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) - self._pos < n:
            self._fill()
        data = bytes(self._buf[self._pos : self._pos + n])
        self._pos += n
        return data

    def read_reply(self) -> Any:
        """One reply; error replies are returned as RespError instances."""
        line = self._read_line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._read_exact(n + 2)[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read_reply() for _ in range(n)]
        raise BenchError(f"unexpected RESP reply line {line[:80]!r}")

    # -- commands
    def call(self, *args: bytes | str | int) -> Any:
        self.sock.sendall(encode_command(*args))
        reply = self.read_reply()
        if isinstance(reply, RespError):
            raise reply
        return reply

    def info(self, section: str) -> dict[str, str]:
        text = self.call("INFO", section).decode()
        out = {}
        for line in text.splitlines():
            if ":" in line and not line.startswith("#"):
                key, value = line.split(":", 1)
                out[key] = value
        return out

    def expect_ok(self, count: int) -> None:
        """Consume `count` replies that must all be +OK (fast path for bulk loads)."""
        want = b"+OK\r\n" * count
        while len(self._buf) - self._pos < len(want):
            self._fill()
        if self._buf[self._pos : self._pos + len(want)] == want:
            self._pos += len(want)
            return
        for _ in range(count):  # slow path: find the offending reply
            reply = self.read_reply()
            if reply != "OK":
                raise BenchError(f"bulk load got {reply!r} instead of OK")


def load_strings(port: int, key_fmt: str, count: int, value: bytes, batch: int = 1000,
                 ttl_ms: int = 0) -> float:
    """SET key_fmt % i = value for i in range(count), `batch` commands per write; with
    `ttl_ms`, each key gets that TTL (SET ... PX ttl_ms).

    Two batches are kept in flight so the server never waits for the loader to parse.
    Returns the wall time in seconds.
    """
    value_part = b"$%d\r\n%s\r\n" % (len(value), value)
    head = b"*3\r\n$3\r\nSET\r\n"
    if ttl_ms:
        ttl = str(ttl_ms).encode()
        head = b"*5\r\n$3\r\nSET\r\n"
        value_part += b"$2\r\nPX\r\n$%d\r\n%s\r\n" % (len(ttl), ttl)
    t0 = time.monotonic()
    with RespClient(port) as client:
        in_flight: deque[int] = deque()
        for start in range(0, count, batch):
            end = min(start + batch, count)
            parts = []
            for i in range(start, end):
                key = (key_fmt % i).encode()
                parts.append(head + b"$%d\r\n%s\r\n" % (len(key), key))
                parts.append(value_part)
            client.sock.sendall(b"".join(parts))
            in_flight.append(end - start)
            if len(in_flight) >= 2:
                client.expect_ok(in_flight.popleft())
        while in_flight:
            client.expect_ok(in_flight.popleft())
    return time.monotonic() - t0


# --------------------------------------------------------------------- servers


def write_results(prefix: str, data: dict) -> Path:
    """Writes a side benchmark's raw results to perf/results/<prefix>-<UTC>.json."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = Path(__file__).resolve().parent / "results" / f"{prefix}-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2))
    return out


class Server:
    """A server process we started ourselves (never daemonized), stopped by PID."""

    name = "server"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.version = ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self) -> None:
        raise NotImplementedError

    def _check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            raise BenchError(f"{self.name} exited with {self.proc.returncode}:\n{tail}")

    def wait_ping(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                with RespClient(self.port, timeout=2) as client:
                    if client.call("PING") == "PONG":
                        return
            except (OSError, RespError, BenchError):
                pass
            if time.monotonic() > deadline:
                raise BenchError(f"{self.name} did not answer PING on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM by PID, then SIGKILL if it has not exited within 10 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log(f"{self.name} (pid {self.proc.pid}) ignored SIGTERM; sending SIGKILL")
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def cpu_ticks(self) -> int:
        return proc_cpu_ticks(self.pid)

    def rss_bytes(self) -> int:
        return proc_rss_bytes(self.pid)

    def used_memory(self) -> int:
        with RespClient(self.port) as client:
            return int(client.info("memory")["used_memory"])

    def dbsize(self) -> int:
        with RespClient(self.port) as client:
            return int(client.call("DBSIZE"))


class RedisServer(Server):
    name = "redis"

    def __init__(self, workdir: Path, extra: tuple[str, ...] = ()) -> None:
        super().__init__(workdir)
        # More flags for it (a --dir, --replicaof ...).
        self.extra = list(extra)

    def start(self) -> None:
        self.port = free_port()
        cmd = [
            "redis-server", "--port", str(self.port), "--bind", HOST,
            "--save", "", "--appendonly", "no", "--daemonize", "no",
            "--logfile", str(self.log_path), *self.extra,
        ]
        self.version = command_output(["redis-server", "--version"]) or ""
        log(f"starting {shlex.join(cmd)}")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        self.wait_ping()
        log(f"redis-server pid {self.pid} on port {self.port}")


class CorecacheServer(Server):
    name = "corecache"
    READY = re.compile(r" ready: .*? on [^ ]*:(\d+) ")

    def __init__(self, workdir: Path, binary: Path, threads: int,
                 data_dir: Path | None = None, extra: tuple[str, ...] = ()) -> None:
        super().__init__(workdir)
        self.binary = binary
        self.threads = threads
        # Where the server keeps its files (--dir), and more flags for it.
        self.data_dir = data_dir or workdir
        self.extra = list(extra)

    def start(self) -> None:
        cmd = [str(self.binary), "--bind", HOST, "--port", "0", "--threads", str(self.threads),
               "--save", "", "--dir", str(self.data_dir), *self.extra]
        log(f"starting {shlex.join(cmd)}")
        with open(self.log_path, "wb") as logf:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                         start_new_session=True)
        deadline = time.monotonic() + 20
        while True:
            self._check_alive()
            text = self.log_path.read_text(errors="replace")
            match = self.READY.search(text)
            if match:
                self.port = int(match.group(1))
                self.version = next(l for l in text.splitlines() if " ready: " in l).strip()
                break
            if time.monotonic() > deadline:
                raise BenchError(f"corecache printed no ready line:\n{text[-2000:]}")
            time.sleep(0.05)
        self.wait_ping()
        log(f"corecache pid {self.pid} on port {self.port}")


# ------------------------------------------------------------ syscall counting


class SyscallCounter:
    """Counts system calls of a running process between start() and stop()."""

    name = "none"

    def start(self, pid: int, workdir: Path) -> Any:
        raise NotImplementedError

    def stop(self, handle: Any) -> int | None:
        raise NotImplementedError

    @staticmethod
    def _interrupt(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


class PerfSyscalls(SyscallCounter):
    """`perf stat -e raw_syscalls:sys_enter -p PID`: an in-kernel counter, cheap."""

    name = "perf stat -e raw_syscalls:sys_enter"

    def start(self, pid: int, workdir: Path) -> Any:
        out = workdir / f"perf-{pid}-{time.monotonic_ns()}.csv"
        cmd = ["perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "-p", str(pid), "-o", str(out)]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(0.3)  # let perf open its counters on every thread
        return proc, out

    def stop(self, handle: Any) -> int | None:
        proc, out = handle
        self._interrupt(proc)
        try:
            for row in csv.reader(out.read_text().splitlines()):
                if len(row) >= 3 and row[2].startswith("raw_syscalls:sys_enter"):
                    return int(row[0]) if row[0].strip().isdigit() else None
        except OSError:
            pass
        return None


class StraceSyscalls(SyscallCounter):
    """`strace -c -f -p PID`: ptrace-based, slows the traced server heavily."""

    name = "strace -c -f"

    def start(self, pid: int, workdir: Path) -> Any:
        out = workdir / f"strace-{pid}-{time.monotonic_ns()}.txt"
        err = workdir / f"strace-{pid}-{time.monotonic_ns()}.err"
        cmd = ["strace", "-c", "-f", "-p", str(pid), "-o", str(out)]
        errf = open(err, "wb")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=errf, start_new_session=True)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and b"attached" not in err.read_bytes():
            time.sleep(0.05)
        time.sleep(0.2)
        return proc, out, errf

    def stop(self, handle: Any) -> int | None:
        proc, out, errf = handle
        self._interrupt(proc)
        errf.close()
        try:
            for line in out.read_text().splitlines():
                tokens = line.split()
                if tokens and tokens[-1] == "total" and len(tokens) >= 5:
                    return int(tokens[3])
        except (OSError, ValueError):
            pass
        return None


def _probe_counter(counter: SyscallCounter, workdir: Path) -> bool:
    """Attach the counter to a child that makes syscalls; works if it counts some."""
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import os,time\nt=time.time()+3\nwhile time.time()<t: os.stat('/'); time.sleep(0.001)"],
        stdin=subprocess.DEVNULL,
    )
    try:
        handle = counter.start(child.pid, workdir)
        time.sleep(0.3)
        count = counter.stop(handle)
    except OSError:
        count = None
    finally:
        child.kill()
        child.wait()
    return bool(count and count > 0)


def detect_syscall_counter(workdir: Path, allow_install: bool) -> SyscallCounter | None:
    """perf if it can count raw_syscalls:sys_enter of another process, else strace."""
    for attempt in range(2):
        if shutil.which("perf") and _probe_counter(PerfSyscalls(), workdir):
            return PerfSyscalls()
        if shutil.which("strace") and _probe_counter(StraceSyscalls(), workdir):
            return StraceSyscalls()
        if attempt == 0 and allow_install:
            missing = [p for p, exe in (("strace", "strace"), ("linux-perf", "perf")) if not shutil.which(exe)]
            if not missing or not apt_install(missing):
                break
    log("no working syscall counter (perf or strace): syscalls per request will be null")
    return None


# ------------------------------------------------------------- redis-benchmark


def benchmark_command(port: int, test: str, pipeline: int, size: int, requests: int) -> list[str]:
    cmd = [
        "redis-benchmark", "-h", HOST, "-p", str(port), "-c", str(CLIENTS), "-n", str(requests),
        "-P", str(pipeline), "-d", str(size), "-r", str(KEYSPACE), "--csv",
    ]
    if test == "mget":
        cmd += ["MGET", *(["key:__rand_int__"] * MGET_KEYS)]
    else:
        cmd += ["-t", test]
    return cmd


CSV_FIELDS = {
    "rps": "rps", "avg_ms": "avg_latency_ms", "min_ms": "min_latency_ms", "p50_ms": "p50_latency_ms",
    "p95_ms": "p95_latency_ms", "p99_ms": "p99_latency_ms", "max_ms": "max_latency_ms",
}


def parse_benchmark_csv(stdout: str) -> dict[str, float]:
    """The one data row of `redis-benchmark --csv` (progress lines end in \\r, skip them)."""
    lines = [l.strip() for l in re.split(r"[\r\n]+", stdout) if l.strip().startswith('"')]
    rows = list(csv.reader(lines))
    header = next((r for r in rows if r and r[0] == "test"), None)
    data = [r for r in rows if r and r[0] != "test"]
    if header is None or len(data) != 1:
        raise BenchError(f"cannot parse redis-benchmark output:\n{stdout[-2000:]}")
    row = dict(zip(header, data[0]))
    return {key: float(row[col]) for key, col in CSV_FIELDS.items()}


def run_benchmark(cmd: list[str], requests: int) -> tuple[dict[str, float], float]:
    timeout = 120 + requests / 500
    t0 = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    wall = time.monotonic() - t0
    if res.returncode != 0:
        raise BenchError(f"{shlex.join(cmd)} failed ({res.returncode}):\n{res.stderr[-2000:]}")
    return parse_benchmark_csv(res.stdout), wall


# ---------------------------------------------------------------- measurements


@dataclass
class Plan:
    tests: list[str]
    pipelines: list[int]
    sizes: list[int]
    rounds: int
    requests: int
    pipelined_scale: int
    syscall_requests: int
    memory_keys: int

    def requests_for(self, pipeline: int, syscall_run: bool = False) -> int:
        base = self.syscall_requests if syscall_run else self.requests
        return base * (self.pipelined_scale if pipeline > 1 else 1)

    def cells(self) -> list[tuple[str, int, int]]:
        return [(t, p, s) for s in self.sizes for p in self.pipelines for t in self.tests]


@dataclass
class Results:
    runs: list[dict] = field(default_factory=list)
    syscall_runs: list[dict] = field(default_factory=list)
    prefills: list[dict] = field(default_factory=list)
    memory: dict[str, dict] = field(default_factory=dict)


def prefill(server: Server, size: int, results: Results) -> None:
    """SET every key redis-benchmark's GET/MGET can pick, with values of `size` bytes."""
    value = b"x" * size
    wall = load_strings(server.port, BENCH_KEY_FMT, KEYSPACE, value)
    with RespClient(server.port) as client:
        probe = client.call("GET", BENCH_KEY_FMT % (KEYSPACE - 1))
    if probe != value:
        raise BenchError(f"{server.name}: prefill check failed (GET returned {probe!r:.60})")
    results.prefills.append({"server": server.name, "size": size, "keys": KEYSPACE, "wall_s": wall})


def timed_run(server: Server, test: str, pipeline: int, size: int, requests: int, rnd: int) -> dict:
    """One redis-benchmark run with the server's CPU time measured around it."""
    cmd = benchmark_command(server.port, test, pipeline, size, requests)
    ticks0, sched0 = server.cpu_ticks(), proc_sched_ns(server.pid)
    stats, wall = run_benchmark(cmd, requests)
    ticks1, sched1 = server.cpu_ticks(), proc_sched_ns(server.pid)
    ticks = ticks1 - ticks0
    return {
        "server": server.name, "round": rnd, "test": test, "pipeline": pipeline, "size": size,
        "requests": requests, **stats, "wall_s": round(wall, 4),
        "cpu_ticks": ticks, "cpu_s": ticks / CLK_TCK,
        "cpu_us_per_req": ticks / CLK_TCK * 1e6 / requests,
        "sched_ns": sched1 - sched0, "sched_us_per_req": (sched1 - sched0) / 1e3 / requests,
        "command": shlex.join(cmd),
    }


def syscall_run(server: Server, counter: SyscallCounter | None, test: str, pipeline: int,
                size: int, requests: int, workdir: Path) -> dict:
    """A separate, shorter run with the syscall counter attached (never the timed one)."""
    cmd = benchmark_command(server.port, test, pipeline, size, requests)
    calls = None
    stats: dict[str, float] = {}
    if counter is not None:
        handle = counter.start(server.pid, workdir)
        try:
            stats, _ = run_benchmark(cmd, requests)
        finally:
            calls = counter.stop(handle)
    return {
        "server": server.name, "test": test, "pipeline": pipeline, "size": size,
        "requests": requests, "method": counter.name if counter else None,
        "syscalls": calls, "syscalls_per_req": (calls / requests) if calls is not None else None,
        "rps_while_counting": stats.get("rps"), "command": shlex.join(cmd),
    }


def run_matrix(servers: dict[str, Server], plan: Plan, results: Results,
               counter: SyscallCounter | None, workdir: Path) -> None:
    """Timed rounds (servers alternate on every cell; who goes first flips per round),
    then one syscall-counting pass over the same cells."""
    cells = plan.cells()
    for name in SERVER_ORDER:  # warm-up, not recorded
        server = servers[name]
        prefill(server, plan.sizes[0], results)
        for pipeline in plan.pipelines:
            run_benchmark(benchmark_command(server.port, "set", pipeline, plan.sizes[0],
                                            plan.requests_for(pipeline) // 10 or 1000), 10_000)
    total = plan.rounds * len(cells) * 2
    done = 0
    for rnd in range(plan.rounds):
        order = SERVER_ORDER if rnd % 2 == 0 else tuple(reversed(SERVER_ORDER))
        current_size = None
        for test, pipeline, size in cells:
            if size != current_size:
                for name in order:
                    prefill(servers[name], size, results)
                current_size = size
            for name in order:
                run = timed_run(servers[name], test, pipeline, size, plan.requests_for(pipeline), rnd)
                results.runs.append(run)
                done += 1
                log(f"[{done}/{total}] round {rnd + 1} {name:9} {test:4} P{pipeline:<2} {size:3}B "
                    f"{run['rps']:>10.0f} rps  p99 {run['p99_ms']:.3f} ms  "
                    f"cpu {run['cpu_us_per_req']:.2f} us/req")
    if counter is None:
        log("syscall pass skipped: no counter")
    else:
        log(f"syscall pass with {counter.name}")
    current_size = None
    for test, pipeline, size in cells:
        if size != current_size:
            for name in SERVER_ORDER:
                prefill(servers[name], size, results)
            current_size = size
        for name in SERVER_ORDER:
            run = syscall_run(servers[name], counter, test, pipeline, size,
                              plan.requests_for(pipeline, syscall_run=True), workdir)
            results.syscall_runs.append(run)
            spr = run["syscalls_per_req"]
            log(f"syscalls {name:9} {test:4} P{pipeline:<2} {size:3}B "
                f"{'null' if spr is None else f'{spr:.3f}'} per request")


def measure_memory(make_server: Callable[[], Server], keys: int, ttl_ms: int = 0) -> dict:
    """Fresh server: used_memory and RSS before and after loading `keys` small strings
    (each with a TTL of `ttl_ms` when non-zero)."""
    server = make_server()
    try:
        server.start()
        time.sleep(0.5)
        before_used, before_rss = server.used_memory(), server.rss_bytes()
        wall = load_strings(server.port, MEMORY_KEY_FMT, keys, b"v" * MEMORY_VALUE_SIZE,
                            ttl_ms=ttl_ms)
        time.sleep(1.0)  # let background work (e.g. incremental rehash) settle
        after_used, after_rss = server.used_memory(), server.rss_bytes()
        dbsize = server.dbsize()
        if dbsize != keys:
            raise BenchError(f"{server.name}: DBSIZE {dbsize} after loading {keys} keys")
    finally:
        server.stop()
    result = {
        "keys": keys, "value_size": MEMORY_VALUE_SIZE, "ttl_ms": ttl_ms,
        "load_wall_s": round(wall, 3),
        "used_memory_before": before_used, "used_memory_after": after_used,
        "rss_before": before_rss, "rss_after": after_rss,
        "used_memory_per_key": (after_used - before_used) / keys,
        "rss_per_key": (after_rss - before_rss) / keys,
    }
    log(f"memory {server.name}{' with TTLs' if ttl_ms else ''}: "
        f"{result['used_memory_per_key']:.1f} B/key used_memory, "
        f"{result['rss_per_key']:.1f} B/key RSS")
    return result


# --------------------------------------------------------------------- summary


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def median_or_none(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def summarize(plan: Plan, results: Results) -> list[dict]:
    """Per (test, pipeline, size): ratios corecache/redis paired round by round."""
    rows = []
    for test, pipeline, size in plan.cells():
        def runs_of(name: str) -> dict[int, dict]:
            return {r["round"]: r for r in results.runs
                    if (r["server"], r["test"], r["pipeline"], r["size"]) == (name, test, pipeline, size)}

        red, cc = runs_of("redis"), runs_of("corecache")
        rounds = sorted(set(red) & set(cc))
        if not rounds:
            continue
        rps_ratios = [cc[r]["rps"] / red[r]["rps"] for r in rounds]
        sys_of = {s["server"]: s["syscalls_per_req"] for s in results.syscall_runs
                  if (s["test"], s["pipeline"], s["size"]) == (test, pipeline, size)}
        row = {"test": test, "pipeline": pipeline, "size": size, "rounds": len(rounds),
               "rps_ratio_median": statistics.median(rps_ratios),
               "rps_ratio_min": min(rps_ratios), "rps_ratio_max": max(rps_ratios),
               "p99_ratio_median": median_or_none(ratio(cc[r]["p99_ms"], red[r]["p99_ms"]) for r in rounds),
               "cpu_ratio_median": median_or_none(
                   ratio(cc[r]["cpu_us_per_req"], red[r]["cpu_us_per_req"]) for r in rounds),
               "syscalls_per_req": {"redis": sys_of.get("redis"), "corecache": sys_of.get("corecache")},
               "syscall_ratio": ratio(sys_of.get("corecache"), sys_of.get("redis"))}
        for name, runs in (("redis", red), ("corecache", cc)):
            row[name] = {
                "rps_median": statistics.median(runs[r]["rps"] for r in rounds),
                "p50_ms_median": statistics.median(runs[r]["p50_ms"] for r in rounds),
                "p99_ms_median": statistics.median(runs[r]["p99_ms"] for r in rounds),
                "cpu_us_per_req_median": statistics.median(runs[r]["cpu_us_per_req"] for r in rounds),
            }
        rows.append(row)
    return rows


@dataclass
class Goal:
    text: str
    target: str
    measured: float | None
    detail: str
    met: bool | None
    unit: str = "×"


def evaluate_goals(rows: list[dict], memory: dict[str, dict], threads: int) -> list[Goal]:
    """The runtime issue's goals (ratios to redis-server), each judged on its worst
    matching cell."""
    def pick(tests: Iterable[str], pipeline: int | None = None) -> list[dict]:
        return [r for r in rows if r["test"] in tests and (pipeline is None or r["pipeline"] == pipeline)]

    def worst(cells: list[dict], key: Callable[[dict], float | None], higher_is_worse: bool):
        vals = [(key(c), c) for c in cells if key(c) is not None]
        if not vals:
            return None, "no data"
        val, cell = (max if higher_is_worse else min)(vals, key=lambda v: v[0])
        return val, f"worst: {cell['test'].upper()} P{cell['pipeline']} {cell['size']} B"

    def goal(text, target, cells, key, limit, higher_is_worse=True, aim=None) -> Goal:
        val, detail = worst(cells, key, higher_is_worse)
        met = None if val is None else (val <= limit if higher_is_worse else val >= limit)
        if aim is not None and val is not None:
            detail += f"; aim {'met' if val <= aim else 'not met'}"
        return Goal(text, target, val, detail, met)

    getset = ("get", "set")
    cpu = lambda r: r["cpu_ratio_median"]  # noqa: E731
    rps = lambda r: r["rps_ratio_median"]  # noqa: E731

    def syscalls(cells: list[dict], limit: float) -> Goal:
        vals = [(r["syscalls_per_req"]["corecache"], r) for r in cells
                if r["syscalls_per_req"]["corecache"] is not None]
        if not vals:
            return Goal("system calls per GET, pipeline 1", f"≤ {limit}", None, "no data", None)
        val, cell = max(vals, key=lambda v: v[0])
        red = cell["syscalls_per_req"]["redis"]
        return Goal("system calls per GET, pipeline 1 (absolute, not a ratio)", f"≤ {limit}", val,
                    f"redis {fmt(red)}", val <= limit, unit=" per request")

    get_p1 = pick(("get",), 1)
    if threads == 1:
        goals = [
            goal("server CPU per request, GET/SET, 1 shard, pipeline 1", "≤ 0.95× (aim 0.85×)",
                 pick(getset, 1), cpu, 0.95, aim=0.85),
            goal("server CPU per request, GET/SET, 1 shard, pipeline 16", "≤ 0.80× (aim 0.70×)",
                 pick(getset, 16), cpu, 0.80, aim=0.70),
            syscalls(get_p1, 1.0),
            goal("throughput, GET/SET, 1 shard, pipeline 1", "≥ 1.0×", pick(getset, 1), rps, 1.0,
                 higher_is_worse=False),
            goal("throughput, GET/SET, 1 shard, pipeline 16", "≥ 1.15×", pick(getset, 16), rps, 1.15,
                 higher_is_worse=False),
            goal("p99 latency, GET/SET, 1 shard, pipeline 1", "≤ 1.1×", pick(getset, 1),
                 lambda r: r["p99_ratio_median"], 1.1),
        ]
    else:
        goals = [
            goal(f"server CPU per request, GET/SET, {threads} shards, pipeline 1", "≤ 1.2×",
                 pick(getset, 1), cpu, 1.2),
            goal(f"server CPU per request, GET/SET, {threads} shards, pipeline 16", "≤ 1.0×",
                 pick(getset, 16), cpu, 1.0),
            syscalls(get_p1, 1.8),
            goal(f"server CPU per request, MGET of 10 keys over {threads} shards, pipeline 1",
                 "≤ 1.0×", pick(("mget",), 1), cpu, 1.0),
        ]
    for suffix, what in MEMORY_VARIANTS:
        red, cc = memory.get("redis" + suffix), memory.get("corecache" + suffix)
        if not (red and cc):
            continue
        for key, label, target in (("used_memory_per_key", "used memory", 0.6),
                                   ("rss_per_key", "RSS", 0.7)):
            val = ratio(cc[key], red[key])
            goals.append(Goal(f"{label} per key, {red['keys']:,} × {MEMORY_VALUE_SIZE} B strings{what}",
                              f"≤ {target}× redis", val,
                              f"{cc[key]:.1f} vs {red[key]:.1f} B/key",
                              None if val is None else val <= target))
    return goals


def fmt(value: float | None, spec: str = ".2f", suffix: str = "") -> str:
    return "–" if value is None else f"{value:{spec}}{suffix}"


def fmt_rps(value: float) -> str:
    return f"{value / 1000:.1f}k"


def render_markdown(rows: list[dict], memory: dict[str, dict], goals: list[Goal]) -> str:
    out = [
        "| test | P | size | rps ratio median (min–max) | rps redis / corecache | p99 ms redis / corecache "
        "| p99 ratio | CPU µs/req redis / corecache | CPU ratio | syscalls/req redis / corecache | syscall ratio |",
        "|---|--:|--:|---|---|---|--:|---|--:|---|--:|",
    ]
    for r in rows:
        red, cc = r["redis"], r["corecache"]
        sys_r, sys_c = r["syscalls_per_req"]["redis"], r["syscalls_per_req"]["corecache"]
        out.append(
            f"| {r['test'].upper()} | {r['pipeline']} | {r['size']} B "
            f"| **{r['rps_ratio_median']:.2f}×** ({r['rps_ratio_min']:.2f}–{r['rps_ratio_max']:.2f}) "
            f"| {fmt_rps(red['rps_median'])} / {fmt_rps(cc['rps_median'])} "
            f"| {red['p99_ms_median']:.3f} / {cc['p99_ms_median']:.3f} | {fmt(r['p99_ratio_median'])}× "
            f"| {red['cpu_us_per_req_median']:.2f} / {cc['cpu_us_per_req_median']:.2f} "
            f"| **{fmt(r['cpu_ratio_median'])}×** "
            f"| {fmt(sys_r)} / {fmt(sys_c)} | **{fmt(r['syscall_ratio'])}×** |"
        )
    if memory:
        out += ["", "| memory per key | redis | corecache | ratio |", "|---|--:|--:|--:|"]
        for suffix, what in MEMORY_VARIANTS:
            red, cc = memory.get("redis" + suffix), memory.get("corecache" + suffix)
            if not (red or cc):
                continue
            for key, label in (("used_memory_per_key", "INFO used_memory, bytes/key"),
                               ("rss_per_key", "process RSS, bytes/key")):
                rv = red[key] if red else None
                cv = cc[key] if cc else None
                out.append(f"| {label}{what} | {fmt(rv, '.1f')} | {fmt(cv, '.1f')} "
                           f"| **{fmt(ratio(cv, rv))}×** |")
    if goals:
        out += ["", "| goal | target | measured | met |", "|---|---|---|---|"]
        for g in goals:
            met = "–" if g.met is None else ("yes" if g.met else "**no**")
            out.append(f"| {g.text} | {g.target} | {fmt(g.measured)}{g.unit} ({g.detail}) | {met} |")
    return "\n".join(out)


def update_readme(block: str) -> None:
    text = README_PATH.read_text() if README_PATH.exists() else f"# perf\n\n{MARK_START}\n{MARK_END}\n"
    start, end = text.find(MARK_START), text.find(MARK_END)
    if start < 0 or end < start:
        text = text.rstrip("\n") + f"\n\n{MARK_START}\n{MARK_END}\n"
        start, end = text.find(MARK_START), text.find(MARK_END)
    new = text[: start + len(MARK_START)] + "\n" + block.rstrip("\n") + "\n" + text[end:]
    README_PATH.write_text(new)


# ------------------------------------------------------------------------ main


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="short run: 1 round, 10000 requests, 100000 memory keys")
    p.add_argument("--rounds", type=int, default=None, help="A/B rounds (default 3)")
    p.add_argument("--requests", type=int, default=None,
                   help="requests per timed run at pipeline 1 (default 200000)")
    p.add_argument("--pipelined-scale", type=int, default=4,
                   help="pipelined runs send this many times more requests (default 4)")
    p.add_argument("--syscall-requests", type=int, default=None,
                   help="requests per syscall-counting run at pipeline 1 (default requests/5)")
    p.add_argument("--out", type=Path, default=None, help="results JSON (default perf/results/<UTC>.json)")
    p.add_argument("--only", default=None, help="comma-separated subset of " + ",".join(ALL_TESTS))
    p.add_argument("--pipelines", default=",".join(map(str, DEFAULT_PIPELINES)))
    p.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    p.add_argument("--memory", action=argparse.BooleanOptionalAction, default=True,
                   help="measure memory per key (default on)")
    p.add_argument("--memory-keys", type=int, default=None, help="keys for the memory test (default 1000000)")
    p.add_argument("--corecache-bin", type=Path, default=None, help="use this binary instead of building")
    p.add_argument("--threads", type=int, default=2, help="corecache shards (default 2)")
    p.add_argument("--no-readme", action="store_true", help="do not write the table into perf/README.md")
    p.add_argument("--no-install", action="store_true", help="never call apt-get")
    args = p.parse_args(argv)
    quick = args.quick
    args.rounds = args.rounds or (1 if quick else 3)
    args.requests = args.requests or (10_000 if quick else 200_000)
    args.syscall_requests = args.syscall_requests or max(2_000, args.requests // 5)
    args.memory_keys = args.memory_keys or (100_000 if quick else 1_000_000)
    tests = args.only.split(",") if args.only else list(ALL_TESTS)
    unknown = [t for t in tests if t not in ALL_TESTS]
    if unknown:
        p.error(f"unknown test(s) {unknown}; choose from {','.join(ALL_TESTS)}")
    args.tests = [t for t in ALL_TESTS if t in tests]
    args.pipelines = [int(x) for x in args.pipelines.split(",")]
    args.sizes = [int(x) for x in args.sizes.split(",")]
    return args


def collect_meta(args: argparse.Namespace, servers: dict[str, Server], counter: SyscallCounter | None) -> dict:
    commit = command_output(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT)
    dirty = command_output(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT)
    return {
        "command": shlex.join(["python3", os.path.relpath(sys.argv[0], REPO_ROOT)
                               if Path(sys.argv[0]).is_absolute() else sys.argv[0], *sys.argv[1:]]),
        "commit": commit, "worktree_dirty": bool(dirty),
        "cpu_model": cpu_model(), "cpus": os.cpu_count(),
        "kernel": platform.release(), "platform": platform.platform(),
        "python": platform.python_version(), "clk_tck": CLK_TCK,
        "redis_version": servers["redis"].version if "redis" in servers else None,
        "redis_benchmark_version": command_output(["redis-benchmark", "--version"]),
        "corecache_ready_line": servers["corecache"].version if "corecache" in servers else None,
        "corecache_threads": args.threads,
        "syscall_method": counter.name if counter else None,
        "loadavg_start": Path("/proc/loadavg").read_text().strip(),
    }


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    plan = Plan(args.tests, args.pipelines, args.sizes, args.rounds, args.requests,
                args.pipelined_scale, args.syscall_requests, args.memory_keys)
    started = dt.datetime.now(dt.timezone.utc)
    out_path = args.out or RESULTS_DIR / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"

    if args.no_install:
        if not (shutil.which("redis-server") and shutil.which("redis-benchmark")):
            raise BenchError("redis-server / redis-benchmark missing (and --no-install)")
    else:
        ensure_redis_tools()
    binary = args.corecache_bin.resolve() if args.corecache_bin else build_corecache()

    results = Results()
    servers: dict[str, Server] = {}
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="corecache-bench-") as tmp:
        workdir = Path(tmp)
        counter = detect_syscall_counter(workdir, allow_install=not args.no_install)
        log(f"syscall counter: {counter.name if counter else 'none'}")
        try:
            servers = {"redis": RedisServer(workdir),
                       "corecache": CorecacheServer(workdir, binary, args.threads)}
            for server in servers.values():
                server.start()
            meta = collect_meta(args, servers, counter)
            run_matrix(servers, plan, results, counter, workdir)
            for server in servers.values():
                server.stop()
            if args.memory:
                memdir = workdir / "memory"
                memdir.mkdir()
                for suffix, _ in MEMORY_VARIANTS:
                    ttl = MEMORY_TTL_MS if suffix else 0
                    results.memory["redis" + suffix] = measure_memory(
                        lambda: RedisServer(memdir), plan.memory_keys, ttl)
                    results.memory["corecache" + suffix] = measure_memory(
                        lambda: CorecacheServer(memdir, binary, args.threads), plan.memory_keys, ttl)
        except BaseException:
            if results.runs:
                partial = out_path.with_suffix(".partial.json")
                partial.parent.mkdir(parents=True, exist_ok=True)
                partial.write_text(json.dumps({"runs": results.runs, "syscall_runs": results.syscall_runs,
                                               "memory": results.memory}, indent=1))
                log(f"partial results written to {partial}")
            raise
        finally:
            for server in servers.values():
                server.stop()

    meta["loadavg_end"] = Path("/proc/loadavg").read_text().strip()
    meta["finished_utc"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    meta["started_utc"] = started.isoformat(timespec="seconds")
    rows = summarize(plan, results)
    goals = evaluate_goals(rows, results.memory, args.threads)
    table = render_markdown(rows, results.memory, goals)
    report = {
        "meta": meta,
        "plan": {**plan.__dict__, "clients": CLIENTS, "keyspace": KEYSPACE, "mget_keys": MGET_KEYS,
                 "server_order": "A B per cell, A = redis first on even rounds, corecache first on odd"},
        "command_templates": {t: shlex.join(benchmark_command(0, t, 1, 16, plan.requests)).replace(
            "-p 0", "-p PORT") for t in plan.tests},
        "runs": results.runs, "syscall_runs": results.syscall_runs, "prefills": results.prefills,
        "memory": results.memory, "summary": rows, "goals": [g.__dict__ for g in goals],
        "markdown": table,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(report, indent=1) + "\n")
    log(f"results written to {out_path}")

    rel_out = os.path.relpath(out_path, REPO_ROOT)
    commit = (meta["commit"] or "unknown")[:12] + (" (work tree modified)" if meta["worktree_dirty"] else "")
    block = (
        f"Produced by `{meta['command']}` on {started.strftime('%Y-%m-%d %H:%M')} UTC, commit {commit}, "
        f"{meta['cpu_model']} ({meta['cpus']} CPUs), kernel {meta['kernel']}, "
        f"{plan.rounds} round{'s' if plan.rounds != 1 else ''}, {plan.requests} requests per run at pipeline 1 "
        f"({plan.requests * plan.pipelined_scale} pipelined), syscalls via "
        f"{meta['syscall_method'] or 'nothing (null)'}. Raw data: `{rel_out}`.\n\n{table}\n"
    )
    if not args.no_readme:
        update_readme(block)
        log("perf/README.md updated")
    print(block)
    return 0


def put_readme_block(readme: Path, start: str, end: str, block: str, new_section: str) -> None:
    """Replaces the text between the `start` and `end` markers of `readme` with `block`;
    without the markers, appends `new_section` (a heading and text) and the block."""
    text = readme.read_text()
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        readme.write_text(f"{head}{start}\n{block}\n{end}{tail}")
    else:
        readme.write_text(f"{text.rstrip(chr(10))}\n\n{new_section}\n\n{start}\n{block}\n{end}\n")


def run_main(main) -> None:
    """Runs a benchmark's `main(argv)` so that SIGTERM and Ctrl-C stop it through its
    `finally` blocks (servers stopped by PID) and errors end it with a message."""
    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if inherited as ignored
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as exc:
        log(f"error: {exc}")
        sys.exit(1)
    except KeyboardInterrupt:
        log("interrupted; servers stopped")
        sys.exit(130)


if __name__ == "__main__":
    run_main(main)
