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
import shlex
import socket
import sys

VOLATILE = {"RANDOMKEY", "TIME", "INFO", "CLIENT", "OBJECT", "DEBUG", "CONFIG", "HELLO", "LASTSAVE"}
# Random picks: only the reply's type and size are fixed.
RANDOM = {"SPOP", "SRANDMEMBER", "HRANDFIELD", "ZRANDMEMBER", "SCAN", "SSCAN", "HSCAN", "ZSCAN"}
ORDERLESS = {"KEYS", "SMEMBERS", "SINTER", "SUNION", "SDIFF", "HKEYS", "HVALS", "FUNCTION LIST"}
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
    ap.add_argument("scripts", nargs="+")
    opts = ap.parse_args()
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
            # FUNCTION LIST lists libraries in hash order.
            if name == "FUNCTION" and len(words) > 1 and words[1].upper() == "LIST":
                name = "FUNCTION LIST"
            if comparable(name, timeless(words, a)) != comparable(name, timeless(words, b)):
                failures += 1
                print(f"{path}:{lineno}: {text}\n  redis:     {a!r}\n  corecache: {b!r}")
    print(f"{total - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
