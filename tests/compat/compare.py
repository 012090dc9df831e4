#!/usr/bin/env python3
"""Replays command scripts against a reference redis-server and against corecache and
reports every reply that differs, byte for byte after decoding.

    compare.py --reference PORT --tested PORT script.txt [script.txt ...]

A script has one command per line (shell-style quoting; `#` starts a comment line). A
script with a line `# compare: escapes` has backslash escapes (\n, \xff) decoded in
every argument.
Both servers are flushed before each script. Commands whose replies Redis leaves open
(random picks, timing, server identity) are listed in VOLATILE and only checked for the
reply type. Exits 1 when any reply differs."""

import argparse
import shlex
import socket
import sys

VOLATILE = {"RANDOMKEY", "TIME", "INFO", "CLIENT", "OBJECT", "DEBUG", "CONFIG", "HELLO", "LASTSAVE"}
# Random picks: only the reply's type and size are fixed.
RANDOM = {"SPOP", "SRANDMEMBER", "HRANDFIELD", "ZRANDMEMBER", "SCAN", "SSCAN", "HSCAN", "ZSCAN"}
ORDERLESS = {"KEYS", "SMEMBERS", "SINTER", "SUNION", "SDIFF", "HKEYS", "HVALS"}
PAIRS_ORDERLESS = {"HGETALL"}


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


def comparable(name, reply):
    kind, body = reply
    if name in VOLATILE:
        return kind
    if name in RANDOM:
        return (kind, len(body) if isinstance(body, list) else body is None)
    if name in ORDERLESS and isinstance(body, list):
        return (kind, sorted(body))
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
            if comparable(name, a) != comparable(name, b):
                failures += 1
                print(f"{path}:{lineno}: {text}\n  redis:     {a!r}\n  corecache: {b!r}")
    print(f"{total - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
