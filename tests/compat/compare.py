#!/usr/bin/env python3
"""Replays command scripts against a reference redis-server and against corecache and
reports every reply that differs, byte for byte after decoding.

    compare.py --reference PORT --tested PORT script.txt [script.txt ...]

A script has one command per line (shell-style quoting; `#` starts a comment line). A
script with a line `# compare: escapes` has backslash escapes (\n, \xff) decoded in
every argument.
Both servers are flushed before each script. Commands whose replies Redis leaves open
(random picks, timing, server identity) are listed in VOLATILE and only checked for the
reply type. Exits 1 when any reply differs.

Stream replies that read the clock are compared only by the type of those values: the idle
time (3rd element of each entry) in XPENDING's extended form; in XINFO replies the values
of the fields idle, seen-time, active-time and inactive, and the delivery time (next to
last element) of each entry under a `pending` list (XINFO STREAM FULL's PELs)."""

import argparse
import random
import shlex
import socket
import sys

VOLATILE = {"RANDOMKEY", "TIME", "INFO", "CLIENT", "OBJECT", "DEBUG", "CONFIG", "HELLO", "LASTSAVE"}
# Random picks: only the reply's type and size are fixed.
RANDOM = {"SPOP", "SRANDMEMBER", "HRANDFIELD", "ZRANDMEMBER", "SCAN", "SSCAN", "HSCAN", "ZSCAN"}
ORDERLESS = {"KEYS", "SMEMBERS", "SINTER", "SUNION", "SDIFF", "HKEYS", "HVALS", "FUNCTION LIST",
             "ACL CAT", "COMMAND LIST"}
PAIRS_ORDERLESS = {"HGETALL"}
# Fields of XINFO replies whose values are times in ms (idle, or a Unix time).
TIMED_FIELDS = {b"idle", b"seen-time", b"active-time", b"inactive"}


class Peer:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.pending = b""

    def _more(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("connection closed by server")
        self.pending += chunk

    def _line(self):
        while b"\r\n" not in self.pending:
            self._more()
        line, _, self.pending = self.pending.partition(b"\r\n")
        return line

    def reply(self):
        line = self._line()
        kind, body = line[:1], line[1:]
        if kind in b"+-:,#_(":
            return (kind, body)
        if kind in b"$=!":
            size = int(body)
            if size < 0:
                return (kind, None)
            while len(self.pending) < size + 2:
                self._more()
            data, self.pending = self.pending[:size], self.pending[size + 2:]
            return (kind, data)
        if kind in b"*~>%|":
            count = int(body)
            if count < 0:
                return (kind, None)
            if kind in b"%|":
                count *= 2
            return (kind, [self.reply() for _ in range(count)])
        raise ValueError(f"unexpected reply line {line!r}")

    def run(self, words):
        frame = [b"*%d\r\n" % len(words)]
        for w in words:
            data = w.encode()
            frame.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(frame))
        return self.reply()


def untimed(reply):
    """A value read from the clock: only its type is compared."""
    return (reply[0], "<time>")


def untimed_at(entry, i):
    """An array reply (a pending entry) with its element i untimed."""
    kind, body = entry
    if not isinstance(body, list) or len(body) < 3:
        return entry
    body = list(body)
    body[i] = untimed(body[i])
    return (kind, body)


def xinfo_untimed(reply):
    """XINFO's reply (a field list, or a list of them) with the clock's values untimed."""
    kind, body = reply
    if not isinstance(body, list) or not body:
        return reply
    if isinstance(body[0][1], list):  # GROUPS, CONSUMERS: a field list each
        return (kind, [xinfo_untimed(r) for r in body])
    body = list(body)
    for i in range(0, len(body) - 1, 2):
        field, (kind_, value) = body[i][1], body[i + 1]
        if field in TIMED_FIELDS:
            body[i + 1] = untimed(body[i + 1])
        elif field == b"pending" and isinstance(value, list):
            # [id, (consumer,) delivery time, delivery count]
            body[i + 1] = (kind_, [untimed_at(e, -2) for e in value])
        elif field in (b"groups", b"consumers") and isinstance(value, list):
            body[i + 1] = xinfo_untimed(body[i + 1])
    return (kind, body)


def timeless(words, reply):
    """The reply with its idle and delivery times untimed (XPENDING, XINFO)."""
    kind, body = reply
    name = words[0].upper()
    if name == "XPENDING" and len(words) > 3 and isinstance(body, list):
        return (kind, [untimed_at(e, 2) for e in body])
    if name == "XINFO":
        return xinfo_untimed(reply)
    return reply


def comparable(name, reply):
    kind, body = reply
    if name in VOLATILE:
        return kind
    if name in RANDOM:
        return (kind, len(body) if isinstance(body, list) else body is None)
    if name in ORDERLESS and isinstance(body, list):
        return (kind, sorted(body, key=repr))
    if name in PAIRS_ORDERLESS and isinstance(body, list):
        return (kind, sorted(zip(body[0::2], body[1::2])))
    return reply


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", type=int, required=True)
    ap.add_argument("--tested", type=int, required=True)
    ap.add_argument("--random", type=int, metavar="N", help="random mode: N commands a seed")
    ap.add_argument("--seed", default="1", help="random mode: seeds, comma-separated")
    ap.add_argument("--families", help=f"random mode: some of {','.join(FAMILIES)}")
    ap.add_argument("--max-diffs", type=int, default=10,
                    help="random mode: stop a seed after this many differences")
    ap.add_argument("--verbose", type=int, default=0, metavar="K",
                    help="random mode: print the K commands before each difference")
    ap.add_argument("scripts", nargs="*")
    opts = ap.parse_args()
    if opts.random is not None:
        failures = 0
        for seed in opts.seed.split(","):
            opts.seed = int(seed)
            failures += random_run(opts)
        sys.exit(1 if failures else 0)
    if not opts.scripts:
        ap.error("give scripts, or --random N")
    failures = 0
    total = 0
    for path in opts.scripts:
        ref, test = Peer(opts.reference), Peer(opts.tested)
        ref.run(["FLUSHALL"])
        test.run(["FLUSHALL"])
        with open(path) as f:
            lines = [(n, l.strip()) for n, l in enumerate(f, 1)]
        escapes = any(text == "# compare: escapes" for _, text in lines)
        for lineno, text in lines:
            if not text or text.startswith("#"):
                continue
            words = shlex.split(text)
            if escapes:
                words = [w.encode().decode("unicode_escape") for w in words]
            total += 1
            name = words[0].upper()
            a, b = ref.run(words), test.run(words)
            # Lists in hash order: FUNCTION LIST's libraries, ACL CAT's and COMMAND
            # LIST's commands.
            if len(words) > 1 and f"{name} {words[1].upper()}" in ORDERLESS:
                name = f"{name} {words[1].upper()}"
            if comparable(name, timeless(words, a)) != comparable(name, timeless(words, b)):
                failures += 1
                print(f"{path}:{lineno}: {text}\n  redis:     {a!r}\n  corecache: {b!r}")
    print(f"{total - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


# ---------------------------------------------------------------------------------------
# Random differential mode: --random N --seed S [--families a,b,...]

FAMILIES = ["string", "keys", "list", "hash", "set", "zset", "stream", "hll", "bitmap", "geo"]
# Replies that read the clock in random mode: a TTL is compared only by its sign class
# (-2 missing, -1 no expiry, or some time left), since the two servers read their clocks
# at slightly different moments and a second's boundary may fall between them.
CLOCKED = {"TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"}
# Keys made before the random commands, so every family also meets wrong types and
# strings that are not HyperLogLogs or numbers.
SEEDED = [
    ["SET", "str", "hello world"],
    ["SET", "num", "12"],
    ["RPUSH", "lst", "a", "b", "c"],
    ["HSET", "hsh", "f", "1", "g", "2"],
    ["SADD", "st", "1", "2", "x"],
    ["ZADD", "zs", "1", "a", "2", "b"],
    ["XADD", "stm", "1-1", "f", "v"],
]


class Gen:
    """Random commands of one family at a time over a small key space."""

    def __init__(self, rng):
        self.r = rng
        self.ticks = 0
        self.pool = [f"k{i}" for i in range(23)] + [w[1] for w in SEEDED]

    # -- argument helpers
    def key(self):
        return self.r.choice(self.pool)

    def keys_(self, lo=1, hi=4):
        return [self.key() for _ in range(self.r.randint(lo, hi))]

    def pick(self, *xs):
        return self.r.choice(xs)

    def maybe(self, p=0.5):
        return self.r.random() < p

    def int_(self, lo=-5, hi=20):
        """Mostly small integers, sometimes edge cases a client may send."""
        if self.maybe(0.85):
            return str(self.r.randint(lo, hi))
        return self.pick("0", "-1", "2147483648", "-2147483649", "9223372036854775807",
                         "-9223372036854775808", "9223372036854775808", "abc", "1.5",
                         "", " 1", "+3", "0x10", "1e3", "-0")

    def small_count(self):
        """A count for random picks: a huge negative one makes redis-server 7.0 build a
        reply of that many elements (and run out of memory)."""
        return self.pick(str(self.r.randint(-5, 5)), "x", "", "1.5")

    def float_(self):
        if self.maybe(0.8):
            return self.pick(str(self.r.randint(-10, 10)), f"{self.r.uniform(-10, 10):.3f}")
        return self.pick("inf", "-inf", "+inf", "nan", "1e308", "1e400", "-1e-320",
                         "abc", "", "0.1", "3.0e2", "1.7976931348623157e308")

    def member(self):
        return self.pick(*"abcdefgh", "1", "2", "10", "-3", "a" * 70)

    def field(self):
        return self.pick("f", "g", "h", "i", "1", "2", "longfield" * 8)

    def value(self):
        return self.pick("v", "x", "1", "-2", "3.5", "10", "abc", "", "hello world",
                         "9223372036854775807", "z" * 80)

    # -- families
    def fam_string(self):
        k, r = self.key(), self.r
        c = r.randrange(20)
        if c == 0:
            opts = []
            if self.maybe(0.3):
                opts += [self.pick("NX", "XX")]
            if self.maybe(0.2):
                opts += [self.pick("EX", "PX", "EXAT", "PXAT"),
                         self.pick("100000", "0", "-1", "abc", "99999999999999")]
            if self.maybe(0.2):
                opts += [self.pick("KEEPTTL", "GET")]
            return ["SET", k, self.value()] + opts
        if c == 1:
            return ["GET", k]
        if c == 2:
            return ["APPEND", k, self.value()]
        if c == 3:
            return [self.pick("INCR", "DECR"), k]
        if c == 4:
            return [self.pick("INCRBY", "DECRBY"), k, self.int_()]
        if c == 5:
            return ["INCRBYFLOAT", k, self.float_()]
        if c == 6:
            return ["STRLEN", k]
        if c == 7:
            return [self.pick("GETRANGE", "SUBSTR"), k, self.int_(-20, 20), self.int_(-20, 20)]
        if c == 8:
            return ["SETRANGE", k, self.int_(-1, 30), self.value()]
        if c == 9:
            ws = ["MSET"]
            for _ in range(r.randint(1, 3)):
                ws += [self.key(), self.value()]
            return ws
        if c == 10:
            return ["MGET"] + self.keys_()
        if c == 11:
            ws = ["MSETNX"]
            for _ in range(r.randint(1, 3)):
                ws += [self.key(), self.value()]
            return ws
        if c == 12:
            return ["GETSET", k, self.value()]
        if c == 13:
            return ["GETDEL", k]
        if c == 14:
            return ["SETNX", k, self.value()]
        if c == 15:
            return ["GETEX", k] + self.pick([], ["PERSIST"], ["EX", "100000"], ["EX", "0"],
                                            ["PX", "abc"])
        if c == 16:
            ws = ["LCS", k, self.key()]
            ws += self.pick([], ["LEN"], ["IDX"], ["IDX", "MINMATCHLEN", self.int_(0, 3)],
                            ["IDX", "WITHMATCHLEN"], ["LEN", "IDX"])
            return ws
        if c == 17:
            return ["SETEX", k, self.pick("100000", "0", "-5", "x"), self.value()]
        if c == 18:
            return ["DEL", k]
        return ["SET", k, self.int_()]

    def fam_keys(self):
        k, r = self.key(), self.r
        c = r.randrange(14)
        if c == 0:
            return [self.pick("DEL", "UNLINK", "EXISTS", "TOUCH")] + self.keys_()
        if c == 1:
            return ["TYPE", k]
        if c == 2:
            return [self.pick("RENAME", "RENAMENX"), k, self.key()]
        if c == 3:
            return ["COPY", k, self.key()] + self.pick([], ["REPLACE"], ["DB", "0"], ["DB", "x"])
        if c == 4:
            ws = [self.pick("EXPIRE", "PEXPIRE"), k,
                  self.pick("100000", "200000", "0", "-1", "abc", "9223372036854775807")]
            if self.maybe(0.4):
                ws.append(self.pick("NX", "XX", "GT", "LT", "FOO"))
            return ws
        if c == 5:
            return [self.pick("EXPIREAT", "PEXPIREAT"), k, self.pick("1", "5000000000000",
                                                                   "-3")]
        if c == 6:
            return [self.pick("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"), k]
        if c == 7:
            return ["PERSIST", k]
        if c == 8:
            return ["KEYS", self.pick("*", "k1*", "k?", "[a-m]*", "s*")]
        if c == 9:
            return ["DBSIZE"]
        if c == 10:
            return ["SET", k, self.value()]
        if c == 11:
            return ["RPUSH", k, self.value()]
        if c == 12:
            return ["SORT", k] + self.pick([], ["ALPHA"], ["DESC"], ["LIMIT", "0", "2"],
                                           ["ALPHA", "DESC", "LIMIT", "1", "-1"])
        return ["SADD", k, self.member()]

    def fam_list(self):
        k, r = self.key(), self.r
        c = r.randrange(17)
        if c == 0:
            return [self.pick("LPUSH", "RPUSH")] + [k] + [self.value() for _ in range(
                r.randint(1, 4))]
        if c == 1:
            return [self.pick("LPUSHX", "RPUSHX"), k, self.value()]
        if c == 2:
            return [self.pick("LPOP", "RPOP"), k] + self.pick([], [self.int_(-1, 5)])
        if c == 3:
            return ["LRANGE", k, self.int_(-10, 10), self.int_(-10, 10)]
        if c == 4:
            return ["LINDEX", k, self.int_(-10, 10)]
        if c == 5:
            return ["LSET", k, self.int_(-5, 5), self.value()]
        if c == 6:
            return ["LINSERT", k, self.pick("BEFORE", "AFTER", "MIDDLE"), self.value(),
                    self.value()]
        if c == 7:
            return ["LREM", k, self.int_(-3, 3), self.value()]
        if c == 8:
            return ["LTRIM", k, self.int_(-10, 10), self.int_(-10, 10)]
        if c == 9:
            return ["LLEN", k]
        if c == 10:
            ws = ["LPOS", k, self.value()]
            for o in ("RANK", "COUNT", "MAXLEN"):
                if self.maybe(0.3):
                    ws += [o, self.int_(-3, 5)]
            return ws
        if c == 11:
            return ["LMOVE", k, self.key(), self.pick("LEFT", "RIGHT"),
                    self.pick("LEFT", "RIGHT", "UP")]
        if c == 12:
            return ["RPOPLPUSH", k, self.key()]
        if c == 13:
            ks = self.keys_(1, 3)
            return ["LMPOP", str(len(ks))] + ks + [self.pick("LEFT", "RIGHT")] + self.pick(
                [], ["COUNT", self.int_(0, 4)])
        if c == 14:
            return ["RPUSH", k] + [self.value() for _ in range(r.randint(5, 140))]
        return ["RPUSH", k, self.value()]

    def fam_hash(self):
        k, r = self.key(), self.r
        c = r.randrange(14)
        if c == 0:
            ws = [self.pick("HSET", "HMSET"), k]
            for _ in range(r.randint(1, 3)):
                ws += [self.field(), self.value()]
            return ws
        if c == 1:
            return ["HSETNX", k, self.field(), self.value()]
        if c == 2:
            return ["HGET", k, self.field()]
        if c == 3:
            return ["HMGET", k] + [self.field() for _ in range(r.randint(1, 3))]
        if c == 4:
            return ["HDEL", k] + [self.field() for _ in range(r.randint(1, 3))]
        if c == 5:
            return ["HLEN", k]
        if c == 6:
            return ["HEXISTS", k, self.field()]
        if c == 7:
            return ["HINCRBY", k, self.field(), self.int_()]
        if c == 8:
            return ["HINCRBYFLOAT", k, self.field(), self.float_()]
        if c == 9:
            return [self.pick("HKEYS", "HVALS", "HGETALL"), k]
        if c == 10:
            return ["HSTRLEN", k, self.field()]
        if c == 11:
            return ["HRANDFIELD", k] + self.pick([], [self.small_count()],
                                                 [self.small_count(), "WITHVALUES"])
        if c == 12:
            ws = ["HSET", k]
            for i in range(r.randint(10, 140)):
                ws += [f"f{i}", self.value()]
            return ws
        return ["HSET", k, self.field(), self.value()]

    def fam_set(self):
        k, r = self.key(), self.r
        c = r.randrange(13)
        if c == 0:
            return ["SADD", k] + [self.member() for _ in range(r.randint(1, 4))]
        if c == 1:
            return ["SREM", k] + [self.member() for _ in range(r.randint(1, 3))]
        if c == 2:
            return ["SISMEMBER", k, self.member()]
        if c == 3:
            return ["SMISMEMBER", k] + [self.member() for _ in range(r.randint(1, 3))]
        if c == 4:
            return ["SCARD", k]
        if c == 5:
            return ["SMEMBERS", k]
        if c == 6:
            return [self.pick("SINTER", "SUNION", "SDIFF")] + self.keys_()
        if c == 7:
            return [self.pick("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"), k] + self.keys_()
        if c == 8:
            return ["SMOVE", k, self.key(), self.member()]
        if c == 9:
            ks = self.keys_()
            return ["SINTERCARD", self.pick(str(len(ks)), "0", "9", "x")] + ks + self.pick(
                [], ["LIMIT", self.int_(-1, 3)])
        if c == 10:
            return ["SRANDMEMBER", k] + self.pick([], [self.small_count()])
        if c == 11:
            return ["SADD", k] + [str(i) for i in range(r.randint(5, 600))]
        return ["SADD", k, self.member()]

    def score_bound(self):
        return self.pick("-inf", "+inf", "0", "1", "(1", "2.5", "(-2", "x", "5", "(5")

    def lex_bound(self):
        # Not a bare "[" or "(": redis-server 7.0 then compares with whatever bytes follow
        # in its memory, and two runs of it give different counts.
        return self.pick("-", "+", "[a", "(b", "[c", "(z", "a", "[1", "(a", "[10", "-a")

    def fam_zset(self):
        k, r = self.key(), self.r
        c = r.randrange(22)
        if c == 0:
            ws = ["ZADD", k]
            for o in ("NX", "XX", "GT", "LT", "CH", "INCR"):
                if self.maybe(0.12):
                    ws.append(o)
            for _ in range(r.randint(1, 3)):
                ws += [self.float_(), self.member()]
            return ws
        if c == 1:
            return ["ZINCRBY", k, self.float_(), self.member()]
        if c == 2:
            return ["ZSCORE", k, self.member()]
        if c == 3:
            return ["ZMSCORE", k] + [self.member() for _ in range(r.randint(1, 3))]
        if c == 4:
            kind = r.randrange(3)
            if kind == 0:
                ws = ["ZRANGE", k, self.int_(-5, 5), self.int_(-5, 5)]
            elif kind == 1:
                ws = ["ZRANGE", k, self.score_bound(), self.score_bound(), "BYSCORE"]
            else:
                ws = ["ZRANGE", k, self.lex_bound(), self.lex_bound(), "BYLEX"]
            if self.maybe(0.3):
                ws.append("REV")
            if self.maybe(0.3):
                ws += ["LIMIT", self.int_(-1, 3), self.int_(-1, 3)]
            if self.maybe(0.4):
                ws.append("WITHSCORES")
            return ws
        if c == 5:
            ws = [self.pick("ZRANGEBYSCORE", "ZREVRANGEBYSCORE"), k, self.score_bound(),
                  self.score_bound()]
            if self.maybe(0.4):
                ws.append("WITHSCORES")
            if self.maybe(0.3):
                ws += ["LIMIT", self.int_(-1, 3), self.int_(-1, 3)]
            return ws
        if c == 6:
            return [self.pick("ZRANGEBYLEX", "ZREVRANGEBYLEX"), k, self.lex_bound(),
                    self.lex_bound()]
        if c == 7:
            return [self.pick("ZRANK", "ZREVRANK"), k, self.member()]
        if c == 8:
            return ["ZREM", k] + [self.member() for _ in range(r.randint(1, 3))]
        if c == 9:
            return ["ZCARD", k]
        if c == 10:
            return ["ZCOUNT", k, self.score_bound(), self.score_bound()]
        if c == 11:
            return ["ZLEXCOUNT", k, self.lex_bound(), self.lex_bound()]
        if c == 12:
            return self.pick(["ZREMRANGEBYRANK", k, self.int_(-5, 5), self.int_(-5, 5)],
                             ["ZREMRANGEBYSCORE", k, self.score_bound(), self.score_bound()],
                             ["ZREMRANGEBYLEX", k, self.lex_bound(), self.lex_bound()])
        if c == 13:
            return [self.pick("ZPOPMIN", "ZPOPMAX"), k] + self.pick([], [self.int_(-1, 4)])
        if c in (14, 15):
            ks = self.keys_(1, 3)
            ws = [self.pick("ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"), k, str(len(ks))] + ks
            if ws[0] != "ZDIFFSTORE":
                if self.maybe(0.3):
                    ws += ["WEIGHTS"] + [self.float_() for _ in ks]
                if self.maybe(0.3):
                    ws += ["AGGREGATE", self.pick("SUM", "MIN", "MAX", "AVG")]
            return ws
        if c == 16:
            ks = self.keys_(1, 3)
            ws = [self.pick("ZUNION", "ZINTER", "ZDIFF"), str(len(ks))] + ks
            if self.maybe(0.4):
                ws.append("WITHSCORES")
            return ws
        if c == 17:
            return ["ZRANGESTORE", k, self.key(), self.int_(-3, 3), self.int_(-3, 3)]
        if c == 18:
            ks = self.keys_(1, 3)
            return ["ZMPOP", str(len(ks))] + ks + [self.pick("MIN", "MAX")] + self.pick(
                [], ["COUNT", self.int_(0, 4)])
        if c == 19:
            ks = self.keys_()
            return ["ZINTERCARD", str(len(ks))] + ks + self.pick([], ["LIMIT", self.int_(0, 3)])
        if c == 20:
            ws = ["ZADD", k]
            for i in range(r.randint(5, 140)):
                ws += [str(r.randint(-50, 50)), f"m{i}"]
            return ws
        return ["ZADD", k, self.float_(), self.member()]

    # -- streams: IDs are always explicit or <ms>-*, never `*` (clock)
    def sid(self, full=True):
        # The IDs' range grows with the run, so XADD keeps finding room above the top.
        self.ticks += 1
        top = 30 + self.ticks // 8
        ms = self.r.randint(max(0, top - 40), top)
        if not full or self.maybe(0.3):
            return str(ms)
        return f"{ms}-{self.r.randint(0, 3)}"

    def range_id(self, low):
        if self.maybe(0.2):
            return "-" if low else "+"
        i = self.sid()
        if self.maybe(0.2):
            i = "(" + i
        return i

    def group(self):
        return self.pick("g1", "g2", "g3")

    def consumer(self):
        return self.pick("c1", "c2", "c3")

    def fam_stream(self):
        k, r = self.key(), self.r
        c = r.randrange(24)
        if c in (0, 1, 2, 3):
            ws = ["XADD", k]
            if self.maybe(0.15):
                ws.append("NOMKSTREAM")
            if self.maybe(0.25):
                strat = self.pick("MAXLEN", "MINID")
                ws.append(strat)
                approx = self.pick(None, "~", "=")
                if approx:
                    ws.append(approx)
                ws.append(self.int_(0, 8) if strat == "MAXLEN" else self.sid())
                if self.maybe(0.2):
                    ws += ["LIMIT", self.int_(0, 5)]
            i = self.sid()
            if self.maybe(0.3):
                i = f"{self.sid(False)}-*"
            ws.append(i)
            for _ in range(r.randint(1, 3)):
                ws += [self.field(), self.value()]
            if self.maybe(0.03):
                ws.pop()
            return ws
        if c == 4:
            ws = ["XTRIM", k, self.pick("MAXLEN", "MINID", "FOO")]
            if self.maybe(0.5):
                ws.append(self.pick("~", "="))
            ws.append(self.int_(0, 8) if ws[2] != "MINID" else self.sid())
            if self.maybe(0.2):
                ws += ["LIMIT", self.int_(0, 5)]
            return ws
        if c in (5, 6):
            ws = [self.pick("XRANGE", "XREVRANGE"), k]
            lo, hi = self.range_id(True), self.range_id(False)
            ws += [lo, hi] if ws[0] == "XRANGE" else [hi, lo]
            if self.maybe(0.4):
                ws += ["COUNT", self.int_(-1, 5)]
            return ws
        if c == 7:
            return ["XDEL", k] + [self.sid() for _ in range(r.randint(1, 3))]
        if c == 8:
            return ["XLEN", k]
        if c == 9:
            ws = ["XGROUP", "CREATE", k, self.group(), self.pick("$", "0", self.sid())]
            if self.maybe(0.4):
                ws.append("MKSTREAM")
            if self.maybe(0.2):
                ws += ["ENTRIESREAD", self.int_(-1, 10)]
            return ws
        if c == 10:
            return self.pick(
                ["XGROUP", "CREATECONSUMER", k, self.group(), self.consumer()],
                ["XGROUP", "DELCONSUMER", k, self.group(), self.consumer()],
                ["XGROUP", "SETID", k, self.group(), self.pick("$", "0", self.sid())]
                + self.pick([], ["ENTRIESREAD", self.int_(-1, 10)]),
                ["XGROUP", "DESTROY", k, self.group()],
            )
        if c in (11, 12):
            ks = self.keys_(1, 2)
            ws = ["XREADGROUP", "GROUP", self.group(), self.consumer()]
            if self.maybe(0.4):
                ws += ["COUNT", self.int_(0, 4)]
            if self.maybe(0.2):
                ws.append("NOACK")
            ws += ["STREAMS"] + ks + [self.pick(">", ">", "0", self.sid()) for _ in ks]
            return ws
        if c == 13:
            ks = self.keys_(1, 2)
            ws = ["XREAD"]
            if self.maybe(0.4):
                ws += ["COUNT", self.int_(0, 4)]
            return ws + ["STREAMS"] + ks + [self.pick("0", "$", self.sid()) for _ in ks]
        if c == 14:
            return ["XACK", k, self.group()] + [self.sid() for _ in range(r.randint(1, 3))]
        if c == 15:
            ws = ["XPENDING", k, self.group()]
            if self.maybe(0.6):
                if self.maybe(0.2):
                    ws += ["IDLE", self.pick("0", "100000000")]
                ws += [self.range_id(True), self.range_id(False), self.int_(-1, 5)]
                if self.maybe(0.4):
                    ws.append(self.consumer())
            return ws
        if c == 16:
            ws = ["XCLAIM", k, self.group(), self.consumer(), "0"]
            ws += [self.sid() for _ in range(r.randint(1, 3))]
            for o in ("JUSTID", "FORCE"):
                if self.maybe(0.25):
                    ws.append(o)
            if self.maybe(0.2):
                ws += ["RETRYCOUNT", self.int_(0, 5)]
            if self.maybe(0.1):
                ws += ["LASTID", self.sid()]
            return ws
        if c == 17:
            ws = ["XAUTOCLAIM", k, self.group(), self.consumer(), "0", self.pick("0", self.sid())]
            if self.maybe(0.4):
                ws += ["COUNT", self.int_(0, 5)]
            if self.maybe(0.3):
                ws.append("JUSTID")
            return ws
        if c == 18:
            sub = self.pick("STREAM", "GROUPS", "CONSUMERS", "STREAM")
            ws = ["XINFO", sub, k]
            if sub == "STREAM" and self.maybe(0.4):
                ws.append("FULL")
                if self.maybe(0.5):
                    ws += ["COUNT", self.int_(0, 3)]
            if sub == "CONSUMERS":
                ws.append(self.group())
            return ws
        if c == 19:
            ws = ["XSETID", k, self.sid()]
            if self.maybe(0.3):
                ws += ["ENTRIESADDED", self.int_(0, 20)]
            if self.maybe(0.3):
                ws += ["MAXDELETEDID", self.sid()]
            return ws
        if c == 20:
            return [self.pick("DEL", "EXISTS", "TYPE"), k]
        return ["XADD", k, f"{self.sid(False)}-*", self.field(), self.value()]

    # -- HyperLogLog
    def fam_hll(self):
        k, r = self.key(), self.r
        c = r.randrange(8)
        if c in (0, 1):
            return ["PFADD", k] + [self.pick(self.member(), str(r.randint(0, 5000)))
                                   for _ in range(r.randint(0, 5))]
        if c == 2:
            return ["PFADD", k] + [str(r.randint(0, 100000)) for _ in range(r.randint(50, 400))]
        if c == 3:
            return ["PFCOUNT"] + self.keys_(1, 3)
        if c == 4:
            return ["PFMERGE", k] + self.keys_(0, 3)
        if c == 5:
            return ["GET", k]
        if c == 6:
            return [self.pick("DEL", "TYPE", "STRLEN"), k]
        return ["PFCOUNT", k]

    # -- bitmaps
    def bitfield_type(self):
        return self.pick("i5", "u8", "i64", "u63", "i8", "u1", "i1", "u64", "i65", "x8", "u16")

    def bitfield_off(self):
        if self.maybe(0.9):
            return self.pick(str(self.r.randint(0, 40)), f"#{self.r.randint(0, 5)}")
        return self.pick("-1", "x", "4294967296", "#x", "#-1", "")

    def fam_bitmap(self):
        k, r = self.key(), self.r
        c = r.randrange(12)
        if c in (0, 1):
            # (a huge valid offset would make a 512 MB string)
            off = self.pick("-1", "x", "4294967296", "1.5", "")
            return ["SETBIT", k, str(r.randint(0, 100)) if self.maybe(0.95) else off,
                    self.pick("0", "1", "1", "2", "x")]
        if c == 2:
            return ["GETBIT", k, self.int_(-1, 100)]
        if c == 3:
            ws = ["BITCOUNT", k]
            if self.maybe(0.6):
                ws += [self.int_(-10, 10), self.int_(-10, 10)]
                if self.maybe(0.5):
                    ws.append(self.pick("BYTE", "BIT", "bit", "WORD"))
            return ws
        if c == 4:
            ws = ["BITPOS", k, self.pick("0", "1", "2")]
            if self.maybe(0.6):
                ws.append(self.int_(-10, 10))
                if self.maybe(0.6):
                    ws.append(self.int_(-10, 60))
                    if self.maybe(0.5):
                        ws.append(self.pick("BYTE", "BIT", "WORD"))
            return ws
        if c == 5:
            op = self.pick("AND", "OR", "XOR", "NOT", "NOT", "FOO")
            return ["BITOP", op, k] + self.keys_(1, 1 if op == "NOT" and self.maybe(0.8)
                                                 else 3)
        if c in (6, 7):
            ws = [self.pick("BITFIELD", "BITFIELD", "BITFIELD_RO"), k]
            for _ in range(r.randint(0, 4)):
                sub = self.pick("GET", "SET", "INCRBY", "OVERFLOW")
                if sub == "OVERFLOW":
                    ws += ["OVERFLOW", self.pick("WRAP", "SAT", "FAIL", "NONE")]
                elif sub == "GET":
                    ws += ["GET", self.bitfield_type(), self.bitfield_off()]
                else:
                    ws += [sub, self.bitfield_type(), self.bitfield_off(),
                           self.pick(self.int_(-300, 300), "9223372036854775807",
                                     "-9223372036854775808", str(r.randint(-40, 40)))]
            return ws
        if c == 8:
            return ["GET", k]
        if c == 9:
            return [self.pick("SET", "APPEND"), k, self.pick("foobar", "\x00\xff", "abc",
                                                             "\x80", "")]
        if c == 10:
            return ["SETRANGE", k, self.int_(0, 20), self.pick("\xff\x0f", "x")]
        return [self.pick("DEL", "STRLEN"), k]

    # -- geo: points around Sicily so radius searches find each other
    def lon(self):
        if self.maybe(0.95):
            return f"{self.r.uniform(12.0, 16.0):.6f}"
        return self.pick("181", "-180", "180", "abc", "", "nan", "-181")

    def lat(self):
        if self.maybe(0.95):
            return f"{self.r.uniform(36.5, 39.0):.6f}"
        return self.pick("86", "-85.05112878", "85.05112878", "x", "-90", "91")

    def unit(self):
        return self.pick("m", "km", "km", "km", "mi", "ft", "KM", "yd")

    def radius(self):
        return self.pick(str(self.r.randint(1, 400)), "0", "-1", "x", "10000", "0.5")

    def geo_opts(self, store=False):
        ws = []
        if self.maybe(0.6):
            ws.append(self.pick("ASC", "DESC"))
        if self.maybe(0.4):
            ws += ["COUNT", self.int_(0, 5)]
            if self.maybe(0.3):
                ws.append("ANY")
        if not store:
            for o in ("WITHCOORD", "WITHDIST", "WITHHASH"):
                if self.maybe(0.3):
                    ws.append(o)
        self.r.shuffle(ws) if self.maybe(0.1) else None
        return ws

    def geo_from(self, k):
        if self.maybe(0.5):
            return ["FROMMEMBER", self.member()]
        return ["FROMLONLAT", self.lon(), self.lat()]

    def geo_by(self):
        if self.maybe(0.5):
            return ["BYRADIUS", self.radius(), self.unit()]
        return ["BYBOX", self.radius(), self.radius(), self.unit()]

    def fam_geo(self):
        k, r = self.key(), self.r
        c = r.randrange(14)
        if c in (0, 1, 2):
            ws = ["GEOADD", k]
            for o in ("NX", "XX", "CH"):
                if self.maybe(0.12):
                    ws.append(o)
            for _ in range(r.randint(1, 3)):
                ws += [self.lon(), self.lat(), self.member()]
            return ws
        if c == 3:
            return ["GEODIST", k, self.member(), self.member()] + self.pick([], [self.unit()])
        if c == 4:
            return ["GEOHASH", k] + [self.member() for _ in range(r.randint(0, 3))]
        if c == 5:
            return ["GEOPOS", k] + [self.member() for _ in range(r.randint(0, 3))]
        if c in (6, 7):
            return ["GEOSEARCH", k] + self.geo_from(k) + self.geo_by() + self.geo_opts()
        if c == 8:
            ws = ["GEOSEARCHSTORE", self.key(), k] + self.geo_from(k) + self.geo_by()
            ws += self.geo_opts(store=True)
            if self.maybe(0.4):
                ws.append("STOREDIST")
            return ws
        if c == 9:
            ws = [self.pick("GEORADIUS", "GEORADIUS_RO"), k, self.lon(), self.lat(),
                  self.radius(), self.unit()] + self.geo_opts()
            if ws[0] == "GEORADIUS" and self.maybe(0.2):
                ws += [self.pick("STORE", "STOREDIST"), self.key()]
            return ws
        if c == 10:
            ws = [self.pick("GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO"), k, self.member(),
                  self.radius(), self.unit()] + self.geo_opts()
            if ws[0] == "GEORADIUSBYMEMBER" and self.maybe(0.2):
                ws += [self.pick("STORE", "STOREDIST"), self.key()]
            return ws
        if c == 11:
            return ["ZRANGE", k, "0", "-1", "WITHSCORES"]
        if c == 12:
            return ["ZREM", k, self.member()]
        return ["ZADD", k, self.pick("0", "1", "4503599627370495", "4503599627370496", "-1"),
                self.member()]

    def command(self, families):
        return getattr(self, "fam_" + self.r.choice(families))()


def random_run(opts):
    """Sends the same random commands to both servers; returns the number of differences."""
    families = opts.families.split(",") if opts.families else FAMILIES
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        sys.exit(f"unknown families {unknown}; known: {','.join(FAMILIES)}")
    gen = Gen(random.Random(opts.seed))
    ref, test = Peer(opts.reference), Peer(opts.tested)
    for words in [["FLUSHALL"]] + SEEDED:
        ref.run(words)
        test.run(words)
    failures = 0
    history = []
    skipped = 0
    for n in range(opts.random):
        words = gen.command(families)
        history.append(words)
        name = words[0].upper()
        if lex_unspecified(words, ref):
            skipped += 1
            continue
        try:
            a = ref.run(words)
        except OSError as e:
            sys.exit(f"seed {opts.seed} #{n}: {shlex.join(words)!r}: redis-server: {e!r}")
        try:
            b = test.run(words)
        except OSError as e:
            sys.exit(f"seed {opts.seed} #{n}: {shlex.join(words)!r}: corecache: {e!r}")
        if name in CLOCKED:
            a, b = clock_class(a), clock_class(b)
        if comparable(name, timeless(words, a)) != comparable(name, timeless(words, b)):
            failures += 1
            print(f"seed {opts.seed} #{n}: {shlex.join(words)!r}\n  redis:     {a!r:.300}\n"
                  f"  corecache: {b!r:.300}\n  first difference: {first_difference(a, b)}")
            if opts.verbose:
                for w in history[-opts.verbose - 1:-1]:
                    print(f"    after: {shlex.join(w)}")
            if failures >= opts.max_diffs:
                print("(stopping: too many differences)")
                break
    # The whole keyspace must agree too, not only the replies read along the way.
    if not failures:
        for key in gen.pool:
            for words in (["TYPE", key],):
                a, b = ref.run(words), test.run(words)
                if a != b:
                    failures += 1
                    print(f"seed {opts.seed} end: {shlex.join(words)}\n  redis:     {a!r}\n"
                          f"  corecache: {b!r}")
    print(f"seed {opts.seed}: {opts.random} random commands over {','.join(families)} "
          f"({skipped} skipped): {failures} differences")
    return failures


LEX_RANGES = {"ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT", "ZREMRANGEBYLEX"}


def lex_unspecified(words, ref):
    """Whether a lex range command meets a sorted set whose scores differ. Redis leaves
    the result open then (its skiplist is searched as if ordered by member, and its
    levels are random), so the command is sent to neither server."""
    upper = [w.upper() for w in words]
    if upper[0] in LEX_RANGES:
        key = words[1]
    elif upper[0] in ("ZRANGE", "ZRANGESTORE") and "BYLEX" in upper:
        key = words[2] if upper[0] == "ZRANGESTORE" else words[1]
    else:
        return False
    kind, body = ref.run(["ZRANGE", key, "0", "-1", "WITHSCORES"])
    return kind == b"*" and len({score for _, score in body[1::2]}) > 1


def first_difference(a, b, path="reply"):
    """Where two decoded replies first differ, for the report."""
    if a[0] != b[0] or not isinstance(a[1], list) or not isinstance(b[1], list):
        return f"{path}: {a!r:.200} != {b!r:.200}"
    for i, (x, y) in enumerate(zip(a[1], b[1])):
        if x != y:
            return first_difference(x, y, f"{path}[{i}]")
    return f"{path}: {len(a[1])} != {len(b[1])} elements"


def clock_class(reply):
    """TTL-like replies: -2 and -1 exactly, any other time only as 'some time left'."""
    kind, body = reply
    if kind == b":" and body not in (b"-1", b"-2"):
        return (kind, b"<time left>")
    return reply


if __name__ == "__main__":
    main()
