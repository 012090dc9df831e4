#!/usr/bin/env python3
"""Stream DUMP/RESTORE interoperability with redis-server 7.0.

For each scenario, builds a stream in redis-server, moves its DUMP payload into
corecache (RESTORE), takes corecache's DUMP of it and RESTOREs that into redis-server
under another key (with sanitize-dump-payload yes, so Redis deep-checks our listpacks).
Then checks:
  - XINFO STREAM key FULL (COUNT 0: every entry) of the copy equals the original's,
    except radix-tree-keys/-nodes (we rewrite nodes without deleted entries);
  - redis-server's DUMP of the copy is our payload (it keeps our nodes as they are);
  - for streams without deletions, our payload is byte-identical to Redis's.

Usage: start both servers, then
  scripts/stream_rdb_check.py [--redis-port 7361] [--corecache-port 7362]
Exits 1 on any difference."""

import argparse
import socket
import sys


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.f = self.sock.makefile("rb")

    def __call__(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self.reply()

    def reply(self):
        line = self.f.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind in (b"$", b"*"):
            n = int(rest)
            if n < 0:
                return None
            if kind == b"$":
                return self.f.read(n + 2)[:-2]
            return [self.reply() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)


def basic(r):
    r("XADD", "s", "1000-0", "name", "alice", "age", "30")
    r("XADD", "s", "1000-1", "name", "bob", "age", "-7")
    r("XADD", "s", "1001-5", "other", "x", "n", "123456789012")
    r("XADD", "s", "2000-0", "name", "carol", "age", "")
    r("XDEL", "s", "1000-1")
    r("XGROUP", "CREATE", "s", "g1", "0")
    r("XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "4")
    r("XREADGROUP", "GROUP", "g1", "c1", "COUNT", "2", "STREAMS", "s", ">")
    r("XREADGROUP", "GROUP", "g1", "c2", "COUNT", "1", "STREAMS", "s", ">")
    r("XCLAIM", "s", "g1", "c2", "0", "1001-5", "TIME", "1700000000000", "RETRYCOUNT", "4")
    r("XGROUP", "CREATECONSUMER", "s", "g1", "idle")
    return False


def many(r, n, long_every=0):
    for i in range(1, n + 1):
        if long_every and i % long_every == 0:
            fields = ["blob", "z" * (300 + i % 5000), "n", str(i)]
        elif i % 3:
            fields = ["f", str(i * 37), "g", "v%d" % i]
        else:
            fields = ["h", "x" * (i % 9), "f", str(-i), "bin", "\x00\xff%d" % i]
        # Two entries a millisecond; the sequence also goes down between them.
        seq = (i % 2) * 10 + (7 * i) % 5
        r("XADD", "s", "%d-%d" % (1_700_000_000_000 + i // 2, seq), *fields)


def nodes(r):
    many(r, 1000, long_every=97)
    r("XGROUP", "CREATE", "s", "grp", "0")
    r("XREADGROUP", "GROUP", "grp", "w1", "COUNT", "30", "STREAMS", "s", ">")
    r("XREADGROUP", "GROUP", "grp", "w2", "COUNT", "5", "STREAMS", "s", ">")
    r("XACK", "s", "grp", "1700000000000-12")
    r("XGROUP", "CREATE", "s", "12345", "$")
    return False


def deletions(r):
    many(r, 700, long_every=50)
    ids = [e[0] for e in r("XRANGE", "s", "-", "+")]
    for i in range(0, len(ids), 7):
        r("XDEL", "s", ids[i])
    r("XTRIM", "s", "MAXLEN", "550")  # marks entries of the first node
    r("XGROUP", "CREATE", "s", "a", "0")
    r("XGROUP", "CREATE", "s", "b", ids[300])
    r("XREADGROUP", "GROUP", "a", "c", "COUNT", "20", "STREAMS", "s", ">")
    r("XREADGROUP", "GROUP", "b", "d", "COUNT", "3", "STREAMS", "s", ">")
    r("XGROUP", "SETID", "s", "a", ids[400], "ENTRIESREAD", "390")
    r("XDEL", "s", ids[-1])
    return False


def empty(r):
    r("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    r("XGROUP", "CREATECONSUMER", "s", "g", "someone")
    return True


def emptied(r):
    r("XADD", "s", "5-1", "a", "1")
    r("XADD", "s", "6-1", "a", "2")
    r("XGROUP", "CREATE", "s", "g", "0")
    r("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    r("XDEL", "s", "5-1", "6-1")
    return False


def setid(r):
    r("XADD", "s", "100-1", "k", "v")
    r("XSETID", "s", "9999-9", "ENTRIESADDED", "50", "MAXDELETEDID", "500-0")
    r("XGROUP", "CREATE", "s", "g", "0", "ENTRIESREAD", "7")
    return True


SCENARIOS = [basic, nodes, deletions, empty, emptied, setid]
NODE_FIELDS = {b"radix-tree-keys", b"radix-tree-nodes"}


def info(r, key):
    reply = r("XINFO", "STREAM", key, "FULL", "COUNT", "0")
    return [x for i, x in enumerate(reply) if reply[i - (i % 2)] not in NODE_FIELDS]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--redis-port", type=int, default=7361)
    ap.add_argument("--corecache-port", type=int, default=7362)
    args = ap.parse_args()
    redis, cc = Conn(args.redis_port), Conn(args.corecache_port)
    redis("CONFIG", "SET", "sanitize-dump-payload", "yes")
    failures = 0
    for scenario in SCENARIOS:
        name = scenario.__name__
        redis("FLUSHALL")
        cc("FLUSHALL")
        pristine = scenario(redis)
        theirs = redis("DUMP", "s")
        cc("RESTORE", "s", "0", theirs)
        ours = cc("DUMP", "s")
        redis("RESTORE", "copy", "0", ours)
        problems = []
        if cc("TYPE", "s") != "stream":
            problems.append("corecache TYPE is not stream")
        if info(redis, "s") != info(redis, "copy"):
            problems.append("XINFO STREAM FULL differs:\n  redis: %r\n  copy:  %r"
                            % (info(redis, "s"), info(redis, "copy")))
        if redis("DUMP", "copy") != ours:
            problems.append("redis re-dumps our payload differently")
        if pristine and ours != theirs:
            problems.append("payload not byte-identical:\n  redis: %s\n  ours:  %s"
                            % (theirs.hex(), ours.hex()))
        status = "ok" if not problems else "FAILED"
        print("%-10s %s (redis %d bytes, ours %d bytes%s)" % (
            name, status, len(theirs), len(ours),
            ", byte-identical" if ours == theirs else ""))
        for p in problems:
            print("  " + p)
        failures += bool(problems)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
