#!/usr/bin/env python3
"""Pub/Sub throughput, corecache against redis-server: PUBLISH rate and message delivery
rate to 1, 50 and 500 subscribers of one channel, side by side in one run, as ratios.

    python3 perf/pubsub.py [--corecache-bin PATH] [--threads 2] [--repeat 3] [--scale 1.0]
                           [--subscribers 1,50,500] [--publishers 1] [--batch 64]
                           [--window 4] [--payload 64] [--readme]

For every subscriber count S and every repetition, each server is started fresh (perf/
bench.py's servers: free loopback port, stopped by PID, also on errors, Ctrl-C and
SIGTERM). S plain TCP connections send `SUBSCRIBE bench-channel` and read their
confirmation (corecache spreads them over its shards itself: every connection is accepted
by whichever shard's SO_REUSEPORT socket the kernel picks); `PUBSUB NUMSUB bench-channel`
must then answer S. The publisher connection(s) send N `PUBLISH bench-channel <payload>`
commands pipelined `--batch` per write, at most `--window` batches unanswered, and check
every reply: each must be the integer S, anything else aborts the benchmark. One thread
reads all connections through a selector (epoll) and compares every byte a subscriber
receives with what it must receive: with one publisher the N messages in order (the
payload carries the sequence number modulo 4096), with several the same message N times.
Each subscriber must get exactly N messages (no more arrive within 0.2 s after the last).

Reported, median of the repetitions:
  * publishes/s = N / (time from the first write to the last PUBLISH reply);
  * deliveries/s = N * S / (time from the first write until the last subscriber got its
    last message);
  * server CPU µs per delivery = the server's user + system time (/proc/PID/stat, ticks
    before the first write and after the last delivery) / (N * S).
Ratios are corecache / redis-server (of the medians). N per S, times `--scale`: 500 000
for 1 subscriber, 40 000 for 50, 4 000 for 500 (about 0.5 s each for redis-server 7 on two
cores, enough for CPU ticks of 10 ms; corecache at commit 304cd19 needs 15-40 s). The
client is one Python thread (its CPU time is in the JSON); on two cores it shares them
with the server.

So that no subscriber falls so far behind that a server disconnects it (both drop a
subscriber with 32 MB of messages waiting), the publishers pause while they are more than
`--max-lag-mb` (4 MiB) of messages ahead of the slowest subscriber; how often that
happened is in the JSON (`lag_stalls`) — with the defaults it should not.

Prints a Markdown block on stdout (progress on stderr), writes the raw results to
perf/results/pubsub-<UTC>.json and, with `--readme`, puts the block between
`<!-- pubsub:start -->` and `<!-- pubsub:end -->` in perf/README.md (adding the section
when it is missing). Every socket has a timeout; a run that does not finish within
`--run-timeout` (120 s) aborts the benchmark."""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import selectors
import shlex
import shutil
import socket
from typing import Callable
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
START, END = "<!-- pubsub:start -->", "<!-- pubsub:end -->"
SECTION = "## Pub/Sub throughput"
SECTION_TEXT = (
    "PUBLISH throughput of pipelined publishers and the rate at which the messages reach "
    "1, 50 and 500 subscribers of the channel (`perf/pubsub.py`, every byte each "
    "subscriber receives checked, each server started fresh for every run). Ratios are "
    "corecache / redis-server; server CPU is the process's user + system time per "
    "delivered message."
)
CHANNEL = b"bench-channel"
DEFAULT_SUBSCRIBERS = (1, 50, 500)
# Publishes per run at --scale 1, by subscriber count (others: interpolated): about 0.5 s
# for redis-server 7 on two cores (1.1 M publishes/s to 1 subscriber, 3-6 M deliveries/s
# to 50 or 500), about 40, 15 and 20 s for corecache at commit 304cd19 (12-14 k
# publishes/s to 1 subscriber), well inside the 120 s a run may take.
BASE_MESSAGES = {1: 500_000, 50: 40_000, 500: 4_000}
# One publisher numbers its payloads modulo this (the streams repeat with this period,
# so neither side needs N messages in memory).
CYCLE = 4096
SOCKET_TIMEOUT = 10.0  # connect / subscribe / blocking reads during set-up
STALL_TIMEOUT = 20.0   # no byte from any connection for this long: fail
RECV_SIZE = 1 << 18


def messages_for(subscribers: int, scale: float) -> int:
    base = BASE_MESSAGES.get(subscribers)
    if base is None:
        base = int(2_000_000 / subscribers) if subscribers > 1 else 500_000
    return max(1, round(base * scale))


# ----------------------------------------------------------------- wire format


def payloads(publisher: int, numbered: bool, size: int) -> list[bytes]:
    """One period of payloads of exactly `size` bytes: CYCLE numbered ones (publisher and
    index), or one constant payload."""
    if not numbered:
        return [(b"payload-" * (size // 8 + 1))[:size]]
    out = []
    for i in range(CYCLE):
        head = b"p%d:%d:" % (publisher, i)
        if len(head) > size:
            raise bench.BenchError(f"--payload {size} is too small for the sequence numbers")
        out.append(head + b"x" * (size - len(head)))
    return out


def publish_command(payload: bytes) -> bytes:
    return bench.encode_command(b"PUBLISH", CHANNEL, payload)


def message_push(payload: bytes) -> bytes:
    """What a RESP2 subscriber receives for one PUBLISH of `payload`."""
    return (b"*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
            % (len(CHANNEL), CHANNEL, len(payload), payload))


SUBSCRIBE_CONFIRMATION = b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(CHANNEL), CHANNEL)


def snippet(data: bytes | memoryview, limit: int = 120) -> str:
    return repr(bytes(data[:limit]))


class Periodic:
    """A byte stream that repeats one period: `pattern` holds the period followed by as
    much of its start as one read or write can span, so any window of up to `span`
    bytes is a contiguous slice at `offset % period`."""

    def __init__(self, period: bytes, span: int) -> None:
        self.period = len(period)
        self.pattern = period * (1 + -(-span // len(period)))
        self.view = memoryview(self.pattern)

    def matches(self, data: bytes, offset: int) -> bool:
        return self.pattern.startswith(data, offset % self.period)

    def slice(self, start: int, end: int) -> memoryview:
        at = start % self.period
        return self.view[at:at + (end - start)]


# -------------------------------------------------------------------- the load


def receive(sock: socket.socket, closed: Callable[[], str]) -> bytes | None:
    """What a readable socket has (None: nothing yet); the server closing it is an error
    described by `closed()`."""
    try:
        data = sock.recv(RECV_SIZE)
    except BlockingIOError:
        return None
    if not data:
        raise bench.BenchError(closed())
    return data


class Subscriber:
    def __init__(self, index: int, sock: socket.socket, expected: Periodic, total: int) -> None:
        self.index = index
        self.sock = sock
        self.expected = expected
        self.total = total  # bytes it must receive
        self.got = 0  # bytes received (and checked)
        self.done_at: float | None = None

    def on_readable(self, now: float, run: "Run") -> bool:
        data = receive(self.sock, lambda: (
            f"{run.server.name}: the server closed subscriber {self.index} after "
            f"{self.got // run.msg_len} of {run.messages} messages"))
        if data is None:
            return False
        end = self.got + len(data)
        if self.got >= self.total:
            raise bench.BenchError(
                f"{run.server.name}: subscriber {self.index} received more than its "
                f"{run.messages} messages: {snippet(data)}")
        if end > self.total or not self.expected.matches(data, self.got):
            want = self.expected.slice(self.got, min(end, self.total))
            raise bench.BenchError(
                f"{run.server.name}: subscriber {self.index} received {snippet(data)} at byte "
                f"{self.got} (message {self.got // run.msg_len}), expected {snippet(want)}")
        self.got = end
        if end == self.total:
            self.done_at = now
            run.subs_done += 1
        return True


class Publisher:
    def __init__(self, index: int, sock: socket.socket, commands: Periodic, cmd_len: int,
                 count: int, subscribers: int) -> None:
        self.index = index
        self.sock = sock
        self.commands = commands
        self.count = count
        self.cmd_len = cmd_len
        self.reply = b":%d\r\n" % subscribers
        self.replies = Periodic(self.reply, RECV_SIZE)
        self.sent = 0    # bytes written
        self.rbytes = 0  # reply bytes read (and checked)
        self.acked = 0   # replies read
        self.done_at: float | None = None
        self.want_write = False

    @property
    def sent_cmds(self) -> int:
        return self.sent // self.cmd_len

    def on_readable(self, now: float, run: "Run") -> bool:
        data = receive(self.sock, lambda: (
            f"{run.server.name}: the server closed publisher {self.index} "
            f"after {self.acked} replies"))
        if data is None:
            return False
        total = len(self.reply) * self.count
        if self.rbytes + len(data) > total or not self.replies.matches(data, self.rbytes):
            raise bench.BenchError(
                f"{run.server.name}: PUBLISH reply {self.acked + 1} of publisher {self.index} "
                f"is {snippet(data)}, expected {self.reply!r} (the number of subscribers, "
                f"{run.subscribers})")
        self.rbytes += len(data)
        self.acked = self.rbytes // len(self.reply)
        if self.acked == self.count:
            self.done_at = now
            run.pubs_done += 1
        return True

    def pump(self, allowed_cmds: int, batch: int) -> bool:
        """Writes, one batch of commands per send(), up to `allowed_cmds` commands;
        True when something was written."""
        wrote = False
        limit = min(self.count, allowed_cmds) * self.cmd_len
        while self.sent < limit:
            batch_bytes = batch * self.cmd_len
            end = min(limit, (self.sent // batch_bytes + 1) * batch_bytes)
            try:
                n = self.sock.send(self.commands.slice(self.sent, end))
            except BlockingIOError:
                n = 0
            if n <= 0:
                self.want_write = True
                return wrote
            wrote = True
            self.sent += n
            if self.sent < end:  # the kernel took part of it: wait until writable
                self.want_write = True
                return wrote
        self.want_write = False
        return wrote


class Run:
    """One measurement: S subscribers and P publishers on one running server."""

    def __init__(self, server: bench.Server, subscribers: int, messages: int,
                 args: argparse.Namespace) -> None:
        self.server = server
        self.subscribers = subscribers
        self.messages = messages
        self.args = args
        self.subs: list[Subscriber] = []
        self.pubs: list[Publisher] = []
        self.subs_done = 0
        self.pubs_done = 0
        numbered = args.publishers == 1
        self.counts = [messages // args.publishers + (1 if i < messages % args.publishers else 0)
                       for i in range(args.publishers)]
        # Every publisher's commands, and what every subscriber must receive: one period
        # each (all commands and all messages have the same length).
        self.commands: list[Periodic] = []
        for i in range(args.publishers):
            cmds = [publish_command(p) for p in payloads(i, numbered, args.payload)]
            self.commands.append(Periodic(b"".join(cmds), args.batch * len(cmds[0])))
        self.cmd_len = len(cmds[0])
        pushes = [message_push(p) for p in payloads(0, numbered, args.payload)]
        self.msg_len = len(pushes[0])
        self.expected = Periodic(b"".join(pushes), RECV_SIZE)
        self.max_lag = (int(args.max_lag_mb * (1 << 20)) // self.msg_len
                        if args.max_lag_mb > 0 else None)
        self.lag_stalls = 0  # times the publishers paused for the slowest subscriber
        self._stalled = False

    # -- set-up
    def connect(self, deadline: float) -> None:
        port = self.server.port
        for i in range(self.subscribers):
            sock = socket.create_connection((bench.HOST, port), timeout=SOCKET_TIMEOUT)
            self.subs.append(Subscriber(i, sock, self.expected, self.msg_len * self.messages))
            sock.sendall(bench.encode_command(b"SUBSCRIBE", CHANNEL))
            if time.monotonic() > deadline:
                raise bench.BenchError(f"{self.server.name}: connecting {self.subscribers} "
                                       "subscribers took too long")
        for sub in self.subs:
            got = b""
            while len(got) < len(SUBSCRIBE_CONFIRMATION):
                try:
                    chunk = sub.sock.recv(len(SUBSCRIBE_CONFIRMATION) - len(got))
                except socket.timeout:
                    raise bench.BenchError(f"{self.server.name}: no SUBSCRIBE confirmation for "
                                           f"subscriber {sub.index} within {SOCKET_TIMEOUT} s "
                                           f"(got {got!r})") from None
                if not chunk:
                    raise bench.BenchError(f"{self.server.name}: subscriber {sub.index} closed "
                                           f"after {got!r}")
                got += chunk
                if got.startswith(b"-"):
                    break
            if got != SUBSCRIBE_CONFIRMATION:
                raise bench.BenchError(f"{self.server.name}: SUBSCRIBE answered {got!r}, expected "
                                       f"{SUBSCRIBE_CONFIRMATION!r}")
        with bench.RespClient(port, timeout=SOCKET_TIMEOUT) as client:
            probe = client.call("PUBLISH", "bench-probe-channel", "x")  # nobody listens there
            if probe != 0:
                raise bench.BenchError(f"{self.server.name}: PUBLISH to an empty channel "
                                       f"answered {probe!r}")
            numsub = client.call("PUBSUB", "NUMSUB", CHANNEL)
        if numsub != [CHANNEL, self.subscribers]:
            raise bench.BenchError(f"{self.server.name}: PUBSUB NUMSUB answered {numsub!r} with "
                                   f"{self.subscribers} subscribers connected")
        for i, commands in enumerate(self.commands):
            sock = socket.create_connection((bench.HOST, port), timeout=SOCKET_TIMEOUT)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.pubs.append(Publisher(i, sock, commands, self.cmd_len, self.counts[i],
                                       self.subscribers))

    def close(self) -> None:
        for conn in [*self.subs, *self.pubs]:
            try:
                conn.sock.close()
            except OSError:
                pass

    # -- the timed part
    def min_delivered(self) -> int:
        return min(s.got for s in self.subs) // self.msg_len

    def pump(self, sel: selectors.BaseSelector, cached_min: list[int]) -> bool:
        """Lets every publisher write what its window (and the lag limit) allows."""
        wrote = False
        window = self.args.window * self.args.batch
        stalled = False
        for pub in self.pubs:
            allowed = pub.acked + window
            if self.max_lag is not None:
                total_sent = sum(p.sent_cmds for p in self.pubs)
                if total_sent - cached_min[0] >= self.max_lag:
                    cached_min[0] = self.min_delivered()
                room = cached_min[0] + self.max_lag - total_sent
                if room <= 0 and pub.sent_cmds < min(allowed, pub.count):
                    stalled = True
                allowed = min(allowed, pub.sent_cmds + max(0, room))
            before = pub.want_write
            wrote |= pub.pump(allowed, self.args.batch)
            if pub.want_write != before:
                events = selectors.EVENT_READ | (selectors.EVENT_WRITE if pub.want_write else 0)
                sel.modify(pub.sock, events, pub)
        if stalled and not self._stalled:
            self.lag_stalls += 1
        self._stalled = stalled
        return wrote

    def measure(self, deadline: float) -> dict:
        sel = selectors.DefaultSelector()
        try:
            for conn in [*self.subs, *self.pubs]:
                conn.sock.setblocking(False)
                sel.register(conn.sock, selectors.EVENT_READ, conn)
            cached_min = [0]
            cpu0 = self.server.cpu_ticks()
            sched0 = bench.proc_sched_ns(self.server.pid)
            client0 = time.process_time()
            t0 = time.perf_counter()
            last_progress = t0
            self.pump(sel, cached_min)
            while self.pubs_done < len(self.pubs) or self.subs_done < len(self.subs):
                events = sel.select(timeout=0.5)
                now = time.perf_counter()
                progressed = False
                for key, mask in events:
                    conn = key.data
                    if mask & selectors.EVENT_READ:
                        progressed |= conn.on_readable(now, self)
                # Writable publishers (and those whose window opened) write in pump().
                progressed |= self.pump(sel, cached_min)
                if progressed:
                    last_progress = now
                if time.monotonic() > deadline:
                    raise bench.BenchError(f"{self.server.name}: the run did not finish within "
                                           f"{self.args.run_timeout:.0f} s ({self.state()})")
                if now - last_progress > STALL_TIMEOUT:
                    raise bench.BenchError(f"{self.server.name}: nothing moved for "
                                           f"{STALL_TIMEOUT:.0f} s ({self.state()})")
            cpu1 = self.server.cpu_ticks()
            sched1 = bench.proc_sched_ns(self.server.pid)
            client1 = time.process_time()
            # No subscriber may receive anything more.
            for key, _ in sel.select(timeout=0.2):
                conn = key.data
                if isinstance(conn, Subscriber):
                    conn.on_readable(time.perf_counter(), self)
        finally:
            sel.close()
        t_pub = max(p.done_at for p in self.pubs) - t0
        t_del = max(s.done_at for s in self.subs) - t0
        deliveries = self.messages * self.subscribers
        return {
            "messages": self.messages, "subscribers": self.subscribers,
            "publishers": len(self.pubs), "message_bytes": self.msg_len,
            "publish_s": t_pub, "deliver_s": t_del,
            "publishes_per_s": self.messages / t_pub,
            "deliveries_per_s": deliveries / t_del,
            "server_cpu_s": (cpu1 - cpu0) / bench.CLK_TCK,
            "server_sched_s": (sched1 - sched0) / 1e9,
            "client_cpu_s": client1 - client0,
            "cpu_us_per_delivery": (cpu1 - cpu0) / bench.CLK_TCK * 1e6 / deliveries,
            "lag_stalls": self.lag_stalls,
            "max_lag_messages": self.max_lag,
        }

    def state(self) -> str:
        subs_min = self.min_delivered() if self.subs else 0
        return (f"publishers sent {sum(p.sent_cmds for p in self.pubs)} and got "
                f"{sum(p.acked for p in self.pubs)} of {self.messages} replies; "
                f"{self.subs_done} of {self.subscribers} subscribers complete, the slowest "
                f"at {subs_min} messages")


# ---------------------------------------------------------------------- servers


def make_server(name: str, workdir: Path, args: argparse.Namespace) -> bench.Server:
    if name == "redis":
        return bench.RedisServer(workdir)
    return bench.CorecacheServer(workdir, args.corecache_bin, args.threads)


def measure(name: str, subscribers: int, args: argparse.Namespace) -> dict:
    """A fresh server, S subscribers, N publishes; the server is stopped by PID."""
    messages = messages_for(subscribers, args.scale)
    workdir = Path(tempfile.mkdtemp(prefix=f"corecache-pubsub-{name}-"))
    server = make_server(name, workdir, args)
    run: Run | None = None
    try:
        server.start()
        deadline = time.monotonic() + args.run_timeout
        run = Run(server, subscribers, messages, args)
        run.connect(deadline)
        bench.log(f"{name}: {subscribers} subscriber(s) ready, {messages:,} publishes")
        res = run.measure(deadline)
    except (bench.RespError, bench.BenchError) as exc:
        hint = (" (a corecache built before Pub/Sub?)" if name == "corecache"
                and "unknown command" in str(exc) else "")
        text = str(exc) if isinstance(exc, bench.BenchError) else f"{name}: {exc}"
        raise bench.BenchError(f"{text}{hint}") from None
    finally:
        try:
            if run is not None:
                run.close()
        finally:
            try:
                server.stop()
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
    bench.log(f"{name} S={subscribers}: {res['publishes_per_s']:,.0f} publishes/s, "
              f"{res['deliveries_per_s']:,.0f} deliveries/s, server CPU {res['server_cpu_s']:.2f} s "
              f"({res['cpu_us_per_delivery']:.2f} µs/delivery), client CPU {res['client_cpu_s']:.2f} s "
              f"of {res['deliver_s']:.2f} s, lag stalls {res['lag_stalls']}")
    return {"server": name, "version": server.version, **res}


# ----------------------------------------------------------------------- report


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt_ratio(value: float | None, bold: bool = False) -> str:
    if value is None:
        return "–"
    return f"**{value:.2f}×**" if bold else f"{value:.2f}×"


def summarize(runs: list[dict], subscriber_counts: list[int]) -> list[dict]:
    rows = []
    for s in subscriber_counts:
        row: dict = {"subscribers": s}
        for name in bench.SERVER_ORDER:
            mine = [r for r in runs if r["subscribers"] == s and r["server"] == name]
            row["messages"] = mine[0]["messages"]
            for key in ("publishes_per_s", "deliveries_per_s", "cpu_us_per_delivery",
                        "client_cpu_s", "deliver_s"):
                row[f"{name}_{key}"] = statistics.median(r[key] for r in mine)
                row[f"{name}_{key}_all"] = [r[key] for r in mine]
        row["publish_ratio"] = ratio(row["corecache_publishes_per_s"], row["redis_publishes_per_s"])
        row["delivery_ratio"] = ratio(row["corecache_deliveries_per_s"], row["redis_deliveries_per_s"])
        row["cpu_ratio"] = ratio(row["corecache_cpu_us_per_delivery"], row["redis_cpu_us_per_delivery"])
        rows.append(row)
    return rows


def render(rows: list[dict]) -> list[str]:
    lines = ["| subscribers | publishes/s redis / corecache | ratio | deliveries/s redis / corecache "
             "| ratio | server CPU µs per delivery redis / corecache | CPU ratio |",
             "|--:|---|--:|---|--:|---|--:|"]
    for r in rows:
        lines.append(
            f"| {r['subscribers']} "
            f"| {r['redis_publishes_per_s']:,.0f} / {r['corecache_publishes_per_s']:,.0f} "
            f"| {fmt_ratio(r['publish_ratio'], True)} "
            f"| {r['redis_deliveries_per_s']:,.0f} / {r['corecache_deliveries_per_s']:,.0f} "
            f"| {fmt_ratio(r['delivery_ratio'], True)} "
            f"| {r['redis_cpu_us_per_delivery']:.3f} / {r['corecache_cpu_us_per_delivery']:.3f} "
            f"| {fmt_ratio(r['cpu_ratio'])} |")
    return lines


# ------------------------------------------------------------------------- main


def raise_nofile(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        new = needed if hard == resource.RLIM_INFINITY else min(hard, max(needed, soft))
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        bench.log(f"open-files limit raised from {soft} to {new}")
        if new < needed:
            raise bench.BenchError(f"need {needed} open files, the hard limit is {hard}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corecache-bin", type=Path, help="use this binary instead of building")
    ap.add_argument("--threads", type=int, default=2, help="corecache shards (default 2)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="fresh servers per subscriber count and server; medians (default 3)")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply the publishes per run (500000 / 40000 / 4000 for 1 / 50 / 500 "
                         "subscribers)")
    ap.add_argument("--subscribers", default=",".join(map(str, DEFAULT_SUBSCRIBERS)),
                    help="comma-separated subscriber counts (default 1,50,500)")
    ap.add_argument("--publishers", type=int, default=1,
                    help="publisher connections sharing the N publishes (default 1)")
    ap.add_argument("--batch", type=int, default=64, help="PUBLISH commands per write (default 64)")
    ap.add_argument("--window", type=int, default=4,
                    help="batches a publisher may have unanswered (default 4)")
    ap.add_argument("--payload", type=int, default=64, help="payload bytes (default 64)")
    ap.add_argument("--max-lag-mb", type=float, default=4.0,
                    help="publishers pause while this many MiB of messages ahead of the slowest "
                         "subscriber (default 4; 0: never)")
    ap.add_argument("--run-timeout", type=float, default=120.0,
                    help="seconds one run (connect, publish, deliver) may take (default 120)")
    ap.add_argument("--readme", action="store_true", help="write the block into perf/README.md")
    ap.add_argument("--no-install", action="store_true", help="never call apt-get")
    args = ap.parse_args(argv)
    try:
        args.subscribers = [int(x) for x in args.subscribers.split(",") if x]
    except ValueError:
        ap.error("--subscribers takes comma-separated integers")
    if not args.subscribers or min(args.subscribers) < 1:
        ap.error("--subscribers must be positive")
    if min(args.threads, args.repeat, args.publishers, args.batch, args.window) < 1:
        ap.error("--threads, --repeat, --publishers, --batch and --window must be positive")
    if args.scale <= 0 or args.payload < 1 or args.run_timeout <= 0:
        ap.error("--scale, --payload and --run-timeout must be positive")
    if min(messages_for(s, args.scale) for s in args.subscribers) < args.publishers:
        ap.error("fewer publishes than publishers: raise --scale")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.gmtime()
    if args.no_install:
        if not shutil.which("redis-server"):
            raise bench.BenchError("redis-server missing (and --no-install)")
    else:
        bench.ensure_redis_tools()
    args.corecache_bin = (args.corecache_bin or bench.build_corecache()).resolve()
    raise_nofile(max(args.subscribers) + args.publishers + 256)

    runs: list[dict] = []
    for rep in range(args.repeat):
        order = bench.SERVER_ORDER if rep % 2 == 0 else tuple(reversed(bench.SERVER_ORDER))
        for s in args.subscribers:
            for name in order:
                runs.append({"repeat": rep, **measure(name, s, args)})
    rows = summarize(runs, args.subscribers)

    stamp = time.strftime("%Y%m%dT%H%M%SZ", started)
    commit = bench.command_output(["git", "rev-parse", "--short", "HEAD"], cwd=bench.REPO_ROOT) or "?"
    dirty = bool(bench.command_output(["git", "status", "--porcelain", "--untracked-files=no"],
                                      cwd=bench.REPO_ROOT))
    command = shlex.join(["python3", "perf/pubsub.py", *sys.argv[1:]])
    counts = ", ".join(f"{r['messages']:,} for {r['subscribers']}" for r in rows)
    stalls = sum(r["lag_stalls"] for r in runs)
    block = "\n".join([
        f"Command: `{command}` ({time.strftime('%Y-%m-%d %H:%M UTC', started)}, commit {commit}"
        f"{' + work tree changes' if dirty else ''})",
        "",
        *render(rows),
        "",
        f"PUBLISH to one channel with a {args.payload} B payload from {args.publishers} "
        f"pipelined publisher connection{'s' if args.publishers != 1 else ''} ({args.batch} "
        f"commands per write, at most {args.window} writes unanswered); publishes per run: "
        f"{counts} subscriber(s); corecache `--threads {args.threads}`; median of {args.repeat} "
        f"run{'s' if args.repeat != 1 else ''} on fresh servers; ratios corecache / redis-server; "
        f"client: one Python thread; {bench.cpu_model()}, {os.cpu_count()} CPUs"
        + (f"; publishers paused {stalls} times for the slowest subscriber" if stalls else "")
        + ".",
    ])
    out = PERF_DIR / "results" / f"pubsub-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "meta": {
            "command": command, "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", started),
            "commit": commit, "worktree_dirty": dirty, "threads": args.threads,
            "repeat": args.repeat, "scale": args.scale, "subscribers": args.subscribers,
            "publishers": args.publishers, "batch": args.batch, "window": args.window,
            "payload": args.payload, "max_lag_mb": args.max_lag_mb, "channel": CHANNEL.decode(),
            "server_order": "redis first on even repeats, corecache first on odd",
            "clk_tck": bench.CLK_TCK, "cpu_model": bench.cpu_model(), "cpus": os.cpu_count(),
            "kernel": platform.release(), "python": platform.python_version(),
            "redis_version": bench.command_output(["redis-server", "--version"]),
            "corecache_bin": str(args.corecache_bin),
        },
        "summary": rows, "runs": runs, "markdown": block,
    }, indent=2) + "\n")
    bench.log(f"results written to {out}")
    if args.readme:
        bench.put_readme_block(README, START, END, block, f"{SECTION}\n\n{SECTION_TEXT}")
        bench.log("perf/README.md updated")
    print(block)
    return 0


if __name__ == "__main__":
    bench.run_main(main)
