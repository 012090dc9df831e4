#!/usr/bin/env python3
"""Stream throughput and memory, corecache against redis-server: XADD, XRANGE and XREAD
rates (redis-benchmark), consumer-group throughput (XREADGROUP + XACK) and memory per
entry, side by side in one run, as ratios corecache / redis-server.

    python3 perf/streams.py [--corecache-bin PATH] [--threads 2] [--repeat 3]
                            [--requests 100000] [--pipelined-scale 4] [--pipelines 1,16]
                            [--clients 50] [--streams 8] [--entries 100000]
                            [--consumers 4] [--group-count 100]
                            [--memory-entries 1000000] [--out FILE] [--readme]

Every repetition starts a redis-server and a corecache (`--threads 2`) side by side on
free loopback ports (perf/bench.py's servers: stopped by PID at the end, also on errors,
Ctrl-C and SIGTERM), runs one short unrecorded XADD warm-up on each, then every workload
on both servers back to back (redis first on even repetitions, corecache first on odd
ones), with FLUSHALL before each run:

  * XADD: `redis-benchmark -c 50 -n N -P P -r 8 --csv XADD stream:__rand_int__ * f
    <16 B>`, i.e. every XADD goes to one of 8 streams picked at random (they spread over
    corecache's shards); afterwards the 8 streams must hold exactly N entries together.
  * XRANGE / XREAD: a pipelined loader puts `--entries` (100 000) entries `f <16 B>` into
    the stream `s` (XLEN checked), then `redis-benchmark ... XRANGE s - + COUNT 10` and
    `... XREAD COUNT 10 STREAMS s 0` (both answer the stream's first 10 entries; one
    probe of each is checked). XLEN must be unchanged afterwards.
  * Consumer group: `XGROUP CREATE s g $ MKSTREAM`, the loader adds `--entries` entries
    (its rate is in the JSON), then `--consumers` (4) connections, driven by one Python
    thread through a selector, each loop `XREADGROUP GROUP g c<i> COUNT 100 STREAMS s >`
    and, once its reply is in, `XACK s g <its ids>` pipelined with the next XREADGROUP,
    until XREADGROUP answers nil. Every reply is checked (entry layout, XACK's count);
    the consumers must have received every entry exactly once, XPENDING must report 0
    and XINFO GROUPS pending 0, entries-read = entries, lag 0. Reported: entries
    consumed per second (first write to the last nil reply); the client is the same
    Python code for both servers, its CPU time is in the JSON.

Server CPU time is utime + stime of the server process (/proc/PID/stat) around each run,
per command (per entry for the consumer group). Then the memory test, one fresh server
at a time: MEMORY PURGE, INFO used_memory and VmRSS, `--memory-entries` (1 000 000)
`XADD m * sensor 42 temp 21.5` from the pipelined loader (1 000 per write, two writes
in flight), one second to settle, MEMORY PURGE, the same readings and XLEN; reported
per entry.

Throughput ratios are paired within a repetition (median, min and max over the
repetitions); rates and CPU times are medians. Prints a Markdown block on stdout
(progress on stderr), writes the raw results to perf/results/streams-<UTC>.json (or
`--out`) and, with `--readme`, puts the block between `<!-- streams:start -->` and
`<!-- streams:end -->` in perf/README.md (adding the section when it is missing)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import selectors
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the harness next to this file)

PERF_DIR = Path(__file__).resolve().parent
README = PERF_DIR / "README.md"
START, END = "<!-- streams:start -->", "<!-- streams:end -->"
SECTION = "## Streams"
SECTION_TEXT = (
    "Stream commands against redis-server in the same run (`perf/streams.py`): XADD, "
    "XRANGE and XREAD rates from redis-benchmark, the rate at which consumers of a "
    "consumer group drain a stream with XREADGROUP + XACK, and memory per entry. Ratios "
    "are corecache / redis-server; server CPU is the process's user + system time per "
    "command (per entry for the consumer group)."
)

VALUE = b"v" * 16                 # the 16-byte field value of the throughput tests
XADD_KEY = "stream:__rand_int__"  # redis-benchmark -r K: stream:000000000000 .. K-1
READ_KEY = b"s"
GROUP = b"g"
MEMORY_KEY = b"m"
MEMORY_FIELDS = (b"sensor", b"42", b"temp", b"21.5")
WARMUP_REQUESTS = 20_000
SOCKET_TIMEOUT = 30.0
STALL_TIMEOUT = 20.0
RECV_SIZE = 1 << 18

ID_REPLY = re.compile(rb"\$\d+\r\n\d+-\d+\r\n")
INT_REPLY = re.compile(rb":(-?\d+)\r\n")
NIL_ARRAY = b"*-1\r\n"
GROUP_HEADER = re.compile(rb"\*1\r\n\*2\r\n\$%d\r\n%s\r\n\*(\d+)\r\n"
                          % (len(READ_KEY), re.escape(READ_KEY)))
GROUP_ENTRY = re.compile(rb"\*2\r\n\$\d+\r\n(\d+-\d+)\r\n\*2\r\n\$1\r\nf\r\n\$%d\r\n%s\r\n"
                         % (len(VALUE), re.escape(VALUE)))
MAX_ENTRY_BYTES = 96  # longer than any GROUP_ENTRY match


# ---------------------------------------------------------------------- loading


def expect_ids(client: bench.RespClient, count: int, who: str) -> None:
    """Consumes `count` XADD replies (bulk strings holding an entry ID)."""
    got = 0
    while got < count:
        m = ID_REPLY.match(client._buf, client._pos)
        if m:
            client._pos = m.end()
            got += 1
            continue
        rest = bytes(client._buf[client._pos:client._pos + 200])
        # An ID reply is under 50 bytes; anything else that is complete is wrong.
        if (rest and not rest.startswith(b"$")) or len(rest) > 64:
            raise bench.BenchError(f"{who}: XADD answered {rest!r} instead of an entry ID")
        client._fill()


def load_stream(port: int, key: bytes, count: int, fields: tuple[bytes, ...], who: str,
                batch: int = 1000) -> float:
    """`XADD key * fields...` `count` times, `batch` commands per write, two writes in
    flight; every reply must be an ID. Returns the wall time in seconds."""
    cmd = bench.encode_command(b"XADD", key, b"*", *fields)
    t0 = time.monotonic()
    with bench.RespClient(port, timeout=SOCKET_TIMEOUT) as client:
        in_flight: deque[int] = deque()
        full = cmd * batch
        for start in range(0, count, batch):
            n = min(batch, count - start)
            client.sock.sendall(full if n == batch else cmd * n)
            in_flight.append(n)
            if len(in_flight) >= 2:
                expect_ids(client, in_flight.popleft(), who)
        while in_flight:
            expect_ids(client, in_flight.popleft(), who)
    return time.monotonic() - t0


def call(server: bench.Server, *args: bytes | str | int):
    """One command on a fresh connection; an error reply aborts the benchmark."""
    try:
        with bench.RespClient(server.port, timeout=SOCKET_TIMEOUT) as client:
            return client.call(*args)
    except bench.RespError as exc:
        shown = " ".join(a.decode() if isinstance(a, bytes) else str(a) for a in args)
        raise bench.BenchError(f"{server.name}: {shown} answered -{exc}") from None


def flushall(server: bench.Server) -> None:
    call(server, "FLUSHALL")
    if (size := call(server, "DBSIZE")) != 0:
        raise bench.BenchError(f"{server.name}: DBSIZE {size} after FLUSHALL")


def xlen(server: bench.Server, key: bytes | str) -> int:
    return int(call(server, "XLEN", key))


def purge(server: bench.Server) -> None:
    call(server, "MEMORY", "PURGE")
    time.sleep(0.2)


# -------------------------------------------------------------- redis-benchmark


def benchmark_command(port: int, test: str, pipeline: int, requests: int,
                      args: argparse.Namespace) -> list[str]:
    cmd = ["redis-benchmark", "-h", bench.HOST, "-p", str(port), "-c", str(args.clients),
           "-n", str(requests), "-P", str(pipeline)]
    if test == "xadd":
        return cmd + ["-r", str(args.streams), "--csv", "XADD", XADD_KEY, "*", "f",
                      VALUE.decode()]
    if test == "xrange":
        return cmd + ["--csv", "XRANGE", READ_KEY.decode(), "-", "+", "COUNT", "10"]
    if test == "xread":
        return cmd + ["--csv", "XREAD", "COUNT", "10", "STREAMS", READ_KEY.decode(), "0"]
    raise ValueError(test)


def run_benchmark(cmd: list[str], timeout: float) -> tuple[dict[str, float], float]:
    """redis-benchmark's CSV row and the wall time; an error reply (redis-benchmark
    prints `Error from server` and exits with 1) aborts the benchmark."""
    t0 = time.monotonic()
    try:
        res = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        raise bench.BenchError(f"{shlex.join(cmd)} did not finish within {timeout:.0f} s") from None
    wall = time.monotonic() - t0
    if res.returncode != 0 or "Error" in res.stdout or "Error" in res.stderr:
        raise bench.BenchError(f"{shlex.join(cmd)} failed ({res.returncode}):\n"
                               f"{res.stdout[-1500:]}\n{res.stderr[-1500:]}")
    return bench.parse_benchmark_csv(res.stdout), wall


def timed_benchmark(server: bench.Server, test: str, pipeline: int, requests: int,
                    args: argparse.Namespace) -> dict:
    cmd = benchmark_command(server.port, test, pipeline, requests, args)
    ticks0, sched0 = server.cpu_ticks(), bench.proc_sched_ns(server.pid)
    stats, wall = run_benchmark(cmd, args.timeout)
    ticks1, sched1 = server.cpu_ticks(), bench.proc_sched_ns(server.pid)
    cpu_s = (ticks1 - ticks0) / bench.CLK_TCK
    return {
        "test": test, "pipeline": pipeline, "requests": requests, **stats,
        "rate": stats["rps"], "wall_s": round(wall, 4), "cpu_ticks": ticks1 - ticks0,
        "cpu_s": cpu_s, "cpu_us_per_op": cpu_s * 1e6 / requests,
        "sched_us_per_op": (sched1 - sched0) / 1e3 / requests,
        "command": shlex.join(cmd).replace(f"-p {server.port}", "-p PORT"),
    }


def requests_for(pipeline: int, args: argparse.Namespace) -> int:
    return args.requests * (args.pipelined_scale if pipeline > 1 else 1)


def xadd_run(server: bench.Server, pipeline: int, args: argparse.Namespace) -> dict:
    flushall(server)
    requests = requests_for(pipeline, args)
    res = timed_benchmark(server, "xadd", pipeline, requests, args)
    lens = [xlen(server, f"stream:{i:012d}") for i in range(args.streams)]
    dbsize = int(call(server, "DBSIZE"))
    if sum(lens) != requests or dbsize != sum(1 for n in lens if n):
        raise bench.BenchError(f"{server.name}: after {requests} XADDs the {args.streams} streams "
                               f"hold {lens} entries (sum {sum(lens)}), DBSIZE {dbsize}")
    return {**res, "xlens": lens}


def entry_ids(entries: list) -> list[bytes]:
    return [e[0] for e in entries]


def load_read_stream(server: bench.Server, args: argparse.Namespace) -> dict:
    """FLUSHALL, `--entries` entries in `s`, and a check of one XRANGE and one XREAD."""
    flushall(server)
    wall = load_stream(server.port, READ_KEY, args.entries, (b"f", VALUE), server.name)
    if (n := xlen(server, READ_KEY)) != args.entries:
        raise bench.BenchError(f"{server.name}: XLEN s is {n} after {args.entries} XADDs")
    xrange = call(server, "XRANGE", READ_KEY, "-", "+", "COUNT", "10")
    xread = call(server, "XREAD", "COUNT", "10", "STREAMS", READ_KEY, "0")
    ok = (isinstance(xrange, list) and len(xrange) == 10
          and all(e[1] == [b"f", VALUE] for e in xrange)
          and isinstance(xread, list) and len(xread) == 1 and xread[0][0] == READ_KEY
          and entry_ids(xread[0][1]) == entry_ids(xrange))
    if not ok:
        raise bench.BenchError(f"{server.name}: XRANGE / XREAD of the loaded stream answered "
                               f"{xrange!r:.300} / {xread!r:.300}")
    return {"entries": args.entries, "load_s": round(wall, 4),
            "load_rate": args.entries / wall, "first_id": xrange[0][0].decode()}


def read_run(server: bench.Server, test: str, pipeline: int, args: argparse.Namespace) -> dict:
    res = timed_benchmark(server, test, pipeline, requests_for(pipeline, args), args)
    if (n := xlen(server, READ_KEY)) != args.entries:
        raise bench.BenchError(f"{server.name}: XLEN s is {n} after the {test} run, "
                               f"expected {args.entries}")
    return res


# --------------------------------------------------------------- consumer group


class Consumer:
    """One connection of the group: XREADGROUP, then XACK of what it got pipelined with
    the next XREADGROUP, until XREADGROUP answers nil."""

    def __init__(self, index: int, port: int, count: int) -> None:
        self.index = index
        self.name = b"c%d" % index
        self.sock = socket.create_connection((bench.HOST, port), timeout=SOCKET_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.read_cmd = bench.encode_command(b"XREADGROUP", b"GROUP", GROUP, self.name,
                                             b"COUNT", count, b"STREAMS", READ_KEY, b">")
        self.count = count
        self.buf = bytearray()
        self.ack_expected: int | None = None  # the XACK reply comes first
        self.consumed = 0
        self.reads = 0
        self.done = False

    def start(self) -> None:
        self.sock.sendall(self.read_cmd)

    def fail(self, who: str, what: str) -> None:
        raise bench.BenchError(f"{who}: consumer {self.name.decode()} after {self.consumed} "
                               f"entries: {what}: {bytes(self.buf[:200])!r}")

    def on_readable(self, who: str, seen: set[bytes]) -> bool:
        data = self.sock.recv(RECV_SIZE)
        if not data:
            self.fail(who, "the server closed the connection")
        if self.done:
            self.buf += data
            self.fail(who, "bytes after the final nil reply")
        self.buf += data
        if self.buf.startswith(b"-") and b"\r\n" in self.buf:
            self.fail(who, "error reply")
        if self.ack_expected is not None:
            m = INT_REPLY.match(self.buf)
            if not m:
                if len(self.buf) > 24:
                    self.fail(who, "XACK's reply is not an integer")
                return True
            if int(m.group(1)) != self.ack_expected:
                self.fail(who, f"XACK acknowledged {m.group(1).decode()} of {self.ack_expected}")
            del self.buf[:m.end()]
            self.ack_expected = None
            if self.buf.startswith(b"-") and b"\r\n" in self.buf:
                self.fail(who, "error reply")
        if self.buf.startswith(NIL_ARRAY):
            if len(self.buf) > len(NIL_ARRAY):
                self.fail(who, "bytes after the nil reply")
            self.done = True
            return True
        head = GROUP_HEADER.match(self.buf)
        if not head:
            if len(self.buf) > 64:
                self.fail(who, "XREADGROUP's reply is not [[s, [entries]]]")
            return True
        n = int(head.group(1))
        if not 0 < n <= self.count:
            self.fail(who, f"XREADGROUP answered {n} entries for COUNT {self.count}")
        pos = head.end()
        ids = []
        for _ in range(n):
            m = GROUP_ENTRY.match(self.buf, pos)
            if not m:
                if len(self.buf) - pos > MAX_ENTRY_BYTES:
                    self.fail(who, f"entry {len(ids)} of the reply is not [id, [f, <16 B>]]")
                return True  # incomplete: wait for the rest
            ids.append(m.group(1))
            pos = m.end()
        if pos != len(self.buf):
            self.fail(who, "more bytes than one XREADGROUP reply")
        self.buf.clear()
        before = len(seen)
        seen.update(ids)
        if len(seen) != before + n:
            self.fail(who, "an entry was delivered twice")
        self.consumed += n
        self.reads += 1
        self.ack_expected = n
        self.sock.sendall(bench.encode_command(b"XACK", READ_KEY, GROUP, *ids) + self.read_cmd)
        return True

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def info_pairs(flat: list) -> dict:
    return {flat[i].decode(): (v.decode() if isinstance(v := flat[i + 1], bytes) else v)
            for i in range(0, len(flat), 2)}


def group_run(server: bench.Server, args: argparse.Namespace) -> dict:
    flushall(server)
    if call(server, "XGROUP", "CREATE", READ_KEY, GROUP, "$", "MKSTREAM") != "OK":
        raise bench.BenchError(f"{server.name}: XGROUP CREATE did not answer OK")
    load_s = load_stream(server.port, READ_KEY, args.entries, (b"f", VALUE), server.name)
    if (n := xlen(server, READ_KEY)) != args.entries:
        raise bench.BenchError(f"{server.name}: XLEN s is {n} after {args.entries} XADDs")
    consumers: list[Consumer] = []
    sel = selectors.DefaultSelector()
    seen: set[bytes] = set()
    try:
        for i in range(args.consumers):
            consumers.append(Consumer(i, server.port, args.group_count))
        for c in consumers:
            sel.register(c.sock, selectors.EVENT_READ, c)
        ticks0, sched0 = server.cpu_ticks(), bench.proc_sched_ns(server.pid)
        client0 = time.process_time()
        t0 = time.perf_counter()
        last = t0
        deadline = time.monotonic() + args.timeout
        for c in consumers:
            c.start()
        while not all(c.done for c in consumers):
            events = sel.select(timeout=0.5)
            now = time.perf_counter()
            for key, _ in events:
                if key.data.on_readable(server.name, seen):
                    last = now
            if now - last > STALL_TIMEOUT or time.monotonic() > deadline:
                state = ", ".join(f"{c.name.decode()} {c.consumed}{' done' if c.done else ''}"
                                  for c in consumers)
                raise bench.BenchError(f"{server.name}: the consumer group stalled ({state})")
        elapsed = time.perf_counter() - t0
        ticks1, sched1 = server.cpu_ticks(), bench.proc_sched_ns(server.pid)
        client1 = time.process_time()
        # Nothing more may arrive.
        for key, _ in sel.select(timeout=0.1):
            key.data.on_readable(server.name, seen)
    finally:
        sel.close()
        for c in consumers:
            c.close()
    consumed = sum(c.consumed for c in consumers)
    pending = call(server, "XPENDING", READ_KEY, GROUP)
    groups = [info_pairs(g) for g in call(server, "XINFO", "GROUPS", READ_KEY)]
    final_len = xlen(server, READ_KEY)
    group = groups[0] if len(groups) == 1 else {}
    problems = []
    if consumed != args.entries or len(seen) != args.entries:
        problems.append(f"consumed {consumed} ({len(seen)} distinct) of {args.entries}")
    if not (isinstance(pending, list) and pending and pending[0] == 0):
        problems.append(f"XPENDING answered {pending!r}")
    if (group.get("pending") != 0 or group.get("consumers") != args.consumers
            or group.get("entries-read") != args.entries or group.get("lag") != 0):
        problems.append(f"XINFO GROUPS answered {groups!r}")
    if final_len != args.entries:
        problems.append(f"XLEN {final_len}")
    if problems:
        raise bench.BenchError(f"{server.name}: consumer group: " + "; ".join(problems))
    cpu_s = (ticks1 - ticks0) / bench.CLK_TCK
    return {
        "test": "group", "entries": args.entries, "consumers": args.consumers,
        "count": args.group_count, "load_s": round(load_s, 4),
        "load_rate": args.entries / load_s, "elapsed_s": round(elapsed, 4),
        "rate": consumed / elapsed, "cpu_ticks": ticks1 - ticks0, "cpu_s": cpu_s,
        "cpu_us_per_op": cpu_s * 1e6 / consumed,
        "sched_us_per_op": (sched1 - sched0) / 1e3 / consumed,
        "client_cpu_s": round(client1 - client0, 4),
        "per_consumer": {c.name.decode(): c.consumed for c in consumers},
        "reads": sum(c.reads for c in consumers), "xpending": pending[0],
        "xinfo_group": group, "xlen": final_len,
    }


# ----------------------------------------------------------------------- memory


def measure_memory(name: str, args: argparse.Namespace) -> dict:
    """A fresh server alone: readings before and after `--memory-entries` XADDs."""
    workdir = Path(tempfile.mkdtemp(prefix=f"corecache-streams-mem-{name}-"))
    server = make_server(name, workdir, args)
    try:
        server.start()
        time.sleep(0.5)
        purge(server)
        used0, rss0 = server.used_memory(), server.rss_bytes()
        ticks0 = server.cpu_ticks()
        wall = load_stream(server.port, MEMORY_KEY, args.memory_entries, MEMORY_FIELDS, name)
        ticks1 = server.cpu_ticks()
        time.sleep(1.0)
        purge(server)
        used1, rss1 = server.used_memory(), server.rss_bytes()
        n = xlen(server, MEMORY_KEY)
        if n != args.memory_entries:
            raise bench.BenchError(f"{name}: XLEN m is {n} after {args.memory_entries} XADDs")
        version = server.version
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    entries = args.memory_entries
    res = {
        "server": name, "entries": entries, "xlen": n, "load_s": round(wall, 3),
        "load_rate": entries / wall, "load_cpu_us_per_xadd": (ticks1 - ticks0) / bench.CLK_TCK
        * 1e6 / entries, "used_memory_before": used0, "used_memory_after": used1,
        "rss_before": rss0, "rss_after": rss1, "used_per_entry": (used1 - used0) / entries,
        "rss_per_entry": (rss1 - rss0) / entries, "version": version,
    }
    bench.log(f"memory {name}: {res['used_per_entry']:.1f} B/entry used_memory, "
              f"{res['rss_per_entry']:.1f} B/entry RSS ({entries:,} entries loaded in {wall:.2f} s)")
    return res


# ---------------------------------------------------------------------- servers


def make_server(name: str, workdir: Path, args: argparse.Namespace) -> bench.Server:
    if name == "redis":
        return bench.RedisServer(workdir)
    return bench.CorecacheServer(workdir, args.corecache_bin, args.threads)


def throughput_round(rep: int, args: argparse.Namespace) -> list[dict]:
    """Both servers side by side for every throughput workload of one repetition."""
    order = bench.SERVER_ORDER if rep % 2 == 0 else tuple(reversed(bench.SERVER_ORDER))
    servers: dict[str, bench.Server] = {}
    workdirs: list[Path] = []
    runs: list[dict] = []

    def record(name: str, res: dict) -> None:
        runs.append({"repeat": rep, "server": name, **res})
        what = res["test"] + (f" P{res['pipeline']}" if "pipeline" in res else "")
        bench.log(f"{name:9} {what:10} {res['rate']:>12,.0f}/s  server CPU "
                  f"{res['cpu_us_per_op']:.2f} µs per {'entry' if res['test'] == 'group' else 'command'}")

    try:
        for name in bench.SERVER_ORDER:
            workdirs.append(Path(tempfile.mkdtemp(prefix=f"corecache-streams-{name}-")))
            servers[name] = make_server(name, workdirs[-1], args)
            servers[name].start()
        for name in order:  # warm-up, not recorded
            run_benchmark(benchmark_command(servers[name].port, "xadd", 16, WARMUP_REQUESTS, args),
                          args.timeout)
        for pipeline in args.pipelines:
            for name in order:
                record(name, xadd_run(servers[name], pipeline, args))
        loads = {name: load_read_stream(servers[name], args) for name in order}
        for name in order:
            runs.append({"repeat": rep, "server": name, "test": "load", **loads[name]})
        for test in ("xrange", "xread"):
            for pipeline in args.pipelines:
                for name in order:
                    record(name, read_run(servers[name], test, pipeline, args))
        for name in order:
            record(name, group_run(servers[name], args))
        for name in order:
            runs.append({"repeat": rep, "server": name, "test": "version",
                         "version": servers[name].version})
    except bench.RespError as exc:
        raise bench.BenchError(f"unexpected error reply: {exc}") from None
    finally:
        try:
            for server in servers.values():
                try:
                    server.stop()
                except Exception as exc:  # keep stopping the others
                    bench.log(f"stopping {server.name}: {exc}")
        finally:
            for workdir in workdirs:
                shutil.rmtree(workdir, ignore_errors=True)
    return runs


# ----------------------------------------------------------------------- report


def fmt_ratio(value: float | None, bold: bool = True) -> str:
    if value is None:
        return "–"
    return f"**{value:.2f}×**" if bold else f"{value:.2f}×"


def summarize(runs: list[dict], args: argparse.Namespace) -> list[dict]:
    cells = [("xadd", p) for p in args.pipelines]
    cells += [(t, p) for t in ("xrange", "xread") for p in args.pipelines]
    cells.append(("group", None))
    rows = []
    for test, pipeline in cells:
        mine = [r for r in runs if r["test"] == test and r.get("pipeline") == pipeline]
        row: dict = {"test": test, "pipeline": pipeline}
        for name in bench.SERVER_ORDER:
            own = [r for r in mine if r["server"] == name]
            row[f"{name}_rate"] = statistics.median(r["rate"] for r in own)
            row[f"{name}_rate_all"] = [r["rate"] for r in own]
            row[f"{name}_cpu_us"] = statistics.median(r["cpu_us_per_op"] for r in own)
            if test == "group":
                row[f"{name}_client_cpu_s"] = statistics.median(r["client_cpu_s"] for r in own)
                row[f"{name}_elapsed_s"] = statistics.median(r["elapsed_s"] for r in own)
        paired = []
        for rep in sorted({r["repeat"] for r in mine}):
            by = {r["server"]: r for r in mine if r["repeat"] == rep}
            if by["redis"]["rate"]:
                paired.append(by["corecache"]["rate"] / by["redis"]["rate"])
        row["ratios"] = paired
        row["ratio"] = statistics.median(paired) if paired else None
        row["ratio_min"] = min(paired) if paired else None
        row["ratio_max"] = max(paired) if paired else None
        row["cpu_ratio"] = (row["corecache_cpu_us"] / row["redis_cpu_us"]
                            if row["redis_cpu_us"] else None)
        rows.append(row)
    return rows


def summarize_memory(memory: list[dict]) -> dict:
    out: dict = {}
    for name in bench.SERVER_ORDER:
        own = [m for m in memory if m["server"] == name]
        out[f"{name}_used"] = statistics.median(m["used_per_entry"] for m in own)
        out[f"{name}_rss"] = statistics.median(m["rss_per_entry"] for m in own)
    out["used_ratio"] = out["corecache_used"] / out["redis_used"] if out["redis_used"] else None
    out["rss_ratio"] = out["corecache_rss"] / out["redis_rss"] if out["redis_rss"] else None
    return out


def label(row: dict, args: argparse.Namespace) -> str:
    if row["test"] == "xadd":
        return f"XADD to {args.streams} streams"
    if row["test"] == "xrange":
        return "XRANGE s - + COUNT 10"
    if row["test"] == "xread":
        return "XREAD COUNT 10 STREAMS s 0"
    return (f"XREADGROUP COUNT {args.group_count} + XACK, {args.consumers} consumers "
            "(entries/s, µs per entry)")


def render(rows: list[dict], mem: dict, args: argparse.Namespace) -> list[str]:
    lines = ["| workload | P | per second redis / corecache | ratio median (min–max) "
             "| server CPU µs per command redis / corecache | CPU ratio |",
             "|---|--:|---|---|---|--:|"]
    for r in rows:
        spread = (f" ({r['ratio_min']:.2f}–{r['ratio_max']:.2f})"
                  if len(r["ratios"]) > 1 else "")
        lines.append(
            f"| {label(r, args)} | {r['pipeline'] if r['pipeline'] else '–'} "
            f"| {r['redis_rate']:,.0f} / {r['corecache_rate']:,.0f} "
            f"| {fmt_ratio(r['ratio'])}{spread} "
            f"| {r['redis_cpu_us']:.2f} / {r['corecache_cpu_us']:.2f} "
            f"| {fmt_ratio(r['cpu_ratio'], False)} |")
    lines += ["", f"| memory per entry, {args.memory_entries:,} entries `sensor 42 temp 21.5` "
              "| redis | corecache | ratio |", "|---|--:|--:|--:|",
              f"| INFO used_memory, bytes/entry | {mem['redis_used']:.1f} "
              f"| {mem['corecache_used']:.1f} | {fmt_ratio(mem['used_ratio'])} |",
              f"| process RSS, bytes/entry | {mem['redis_rss']:.1f} "
              f"| {mem['corecache_rss']:.1f} | {fmt_ratio(mem['rss_ratio'])} |"]
    return lines


def explanation(rows: list[dict], args: argparse.Namespace) -> str:
    group = next(r for r in rows if r["test"] == "group")
    p_list = " and ".join(str(p) for p in args.pipelines)
    scale = (f" ({requests_for(max(args.pipelines), args):,} when pipelined)"
             if max(args.pipelines) > 1 and args.pipelined_scale != 1 else "")
    return (
        f"What the rows measure: redis-benchmark with {args.clients} clients, "
        f"{args.requests:,} commands per run{scale}, pipeline {p_list} (`P`). "
        f"*XADD*: `XADD stream:__rand_int__ * f <16 B>` with `-r {args.streams}`, each command "
        f"to one of {args.streams} streams at random (spread over corecache's shards), "
        f"starting empty; the streams must hold every entry afterwards. *XRANGE* / *XREAD*: "
        f"the first 10 entries of one stream of {args.entries:,} entries (`f <16 B>`), "
        f"one key, so with corecache the commands of connections on the other shard hop. "
        f"*XREADGROUP*: a stream of {args.entries:,} entries in a group, drained by "
        f"{args.consumers} consumer connections (one Python thread, selector), each looping "
        f"`XREADGROUP GROUP g c<i> COUNT {args.group_count} STREAMS s >` and XACK of its IDs "
        f"pipelined with the next read; checked: every entry delivered once, XPENDING 0, "
        f"XINFO GROUPS lag 0; the rate is entries per second, CPU per entry (the client used "
        f"{group['redis_client_cpu_s']:.2f} / {group['corecache_client_cpu_s']:.2f} s of CPU of "
        f"{group['redis_elapsed_s']:.2f} / {group['corecache_elapsed_s']:.2f} s, so this row is "
        f"partly client-bound). *Memory*: a fresh server alone, {args.memory_entries:,} "
        f"`XADD m * sensor 42 temp 21.5` pipelined 1 000 per write, INFO used_memory and "
        f"VmRSS after MEMORY PURGE, minus the readings before loading, per entry. Server CPU "
        f"is utime + stime of the server process (/proc/PID/stat, 10 ms ticks) over the run, "
        f"per command. Both servers run side by side, each workload on both back to back, the "
        f"order flipping every repetition; ratios are corecache / redis-server paired within "
        f"a repetition."
    )


# ------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corecache-bin", type=Path, help="use this binary instead of building")
    ap.add_argument("--threads", type=int, default=2, help="corecache shards (default 2)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="repetitions (fresh servers each); medians (default 3)")
    ap.add_argument("--requests", type=int, default=100_000,
                    help="redis-benchmark commands per run at pipeline 1 (default 100000)")
    ap.add_argument("--pipelined-scale", type=int, default=4,
                    help="pipelined runs send K × as many commands (default 4)")
    ap.add_argument("--pipelines", default="1,16", help="redis-benchmark -P values (default 1,16)")
    ap.add_argument("--clients", type=int, default=50, help="redis-benchmark clients (default 50)")
    ap.add_argument("--streams", type=int, default=8,
                    help="streams the XADD runs spread over (-r, default 8)")
    ap.add_argument("--entries", type=int, default=100_000,
                    help="entries of the XRANGE/XREAD stream and of the group's stream "
                         "(default 100000)")
    ap.add_argument("--consumers", type=int, default=4, help="consumers of the group (default 4)")
    ap.add_argument("--group-count", type=int, default=100,
                    help="XREADGROUP COUNT (default 100)")
    ap.add_argument("--memory-entries", type=int, default=1_000_000,
                    help="entries of the memory test (default 1000000)")
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="seconds one run may take (default 120)")
    ap.add_argument("--out", type=Path, help="results file (default perf/results/streams-<UTC>.json)")
    ap.add_argument("--readme", action="store_true", help="write the block into perf/README.md")
    ap.add_argument("--no-install", action="store_true", help="never call apt-get")
    args = ap.parse_args(argv)
    try:
        args.pipelines = [int(x) for x in args.pipelines.split(",") if x]
    except ValueError:
        ap.error("--pipelines takes comma-separated integers")
    if not args.pipelines or min(args.pipelines) < 1:
        ap.error("--pipelines must be positive")
    if min(args.threads, args.repeat, args.requests, args.pipelined_scale, args.clients,
           args.streams, args.entries, args.consumers, args.group_count,
           args.memory_entries) < 1:
        ap.error("counts must be positive")
    if args.entries < 10:
        ap.error("--entries must be at least 10 (XRANGE / XREAD COUNT 10)")
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
    loadavg_start = Path("/proc/loadavg").read_text().strip()

    runs: list[dict] = []
    memory: list[dict] = []
    for rep in range(args.repeat):
        bench.log(f"repetition {rep + 1} of {args.repeat}")
        runs += throughput_round(rep, args)
        order = bench.SERVER_ORDER if rep % 2 == 0 else tuple(reversed(bench.SERVER_ORDER))
        for name in order:
            memory.append({"repeat": rep, **measure_memory(name, args)})
    rows = summarize([r for r in runs if "rate" in r], args)
    mem = summarize_memory(memory)

    stamp = time.strftime("%Y%m%dT%H%M%SZ", started)
    commit = bench.command_output(["git", "rev-parse", "--short", "HEAD"], cwd=bench.REPO_ROOT) or "?"
    dirty = bool(bench.command_output(["git", "status", "--porcelain", "--untracked-files=no"],
                                      cwd=bench.REPO_ROOT))
    command = shlex.join(["python3", "perf/streams.py", *sys.argv[1:]])
    block = "\n".join([
        f"Command: `{command}` ({time.strftime('%Y-%m-%d %H:%M UTC', started)}, commit {commit}"
        f"{' + work tree changes' if dirty else ''})",
        "",
        *render(rows, mem, args),
        "",
        f"corecache `--threads {args.threads}`; median of {args.repeat} "
        f"repetition{'s' if args.repeat != 1 else ''}; {bench.cpu_model()}, {os.cpu_count()} "
        f"CPUs, load average at the start {loadavg_start.split()[0]}.",
        "",
        explanation(rows, args),
    ])
    out = args.out or PERF_DIR / "results" / f"streams-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "meta": {
            "command": command, "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", started),
            "commit": commit, "worktree_dirty": dirty, "threads": args.threads,
            "repeat": args.repeat, "requests": args.requests,
            "pipelined_scale": args.pipelined_scale, "pipelines": args.pipelines,
            "clients": args.clients, "streams": args.streams, "entries": args.entries,
            "consumers": args.consumers, "group_count": args.group_count,
            "memory_entries": args.memory_entries,
            "server_order": "redis first on even repeats, corecache first on odd",
            "clk_tck": bench.CLK_TCK, "cpu_model": bench.cpu_model(), "cpus": os.cpu_count(),
            "kernel": platform.release(), "python": platform.python_version(),
            "redis_version": bench.command_output(["redis-server", "--version"]),
            "redis_benchmark_version": bench.command_output(["redis-benchmark", "--version"]),
            "corecache_bin": str(args.corecache_bin),
            "loadavg_start": loadavg_start,
            "loadavg_end": Path("/proc/loadavg").read_text().strip(),
        },
        "summary": rows, "memory_summary": mem, "runs": runs, "memory": memory,
        "markdown": block,
    }, indent=2) + "\n")
    bench.log(f"results written to {out}")
    if args.readme:
        bench.put_readme_block(README, START, END, block, f"{SECTION}\n\n{SECTION_TEXT}")
        bench.log("perf/README.md updated")
    print(block)
    return 0


if __name__ == "__main__":
    bench.run_main(main)
