#!/usr/bin/env python3
"""Writes shards/src/cmd/key_specs.txt: every command's key specifications as a running
redis-server 7 reports them (COMMAND INFO), one line per key specification:

    name[|subcommand] FLAGS BEGIN FIND

FLAGS: Redis's key-spec flags joined by commas (RW/RO/OW/RM, access, update, insert,
delete, ...); BEGIN: index:I | keyword:WORD:STARTFROM | unknown; FIND:
range:LASTKEY:STEP:LIMIT | keynum:KEYNUMIDX:FIRSTKEY:STEP | unknown.

    gen_key_specs.py PORT > shards/src/cmd/key_specs.txt

These are facts about Redis's commands (which argument is a key, and how it is used);
ACL checks and COMMAND GETKEYSANDFLAGS read them."""

import socket
import sys


def read_reply(f):
    line = f.readline()
    t, rest = line[:1], line[1:-2]
    if t == b"*":
        n = int(rest)
        return None if n < 0 else [read_reply(f) for _ in range(n)]
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data
    if t == b":":
        return int(rest)
    if t in (b"+", b"-"):
        return rest
    raise ValueError(line)


def pairs(lst):
    return {lst[i].decode(): lst[i + 1] for i in range(0, len(lst), 2)}


def spec_line(name, spec):
    s = pairs(spec)
    flags = ",".join(x.decode() for x in s["flags"])
    b = pairs(s["begin_search"])
    bspec = pairs(b["spec"]) if b["spec"] else {}
    if b["type"] == b"index":
        begin = "index:%d" % bspec["index"]
    elif b["type"] == b"keyword":
        begin = "keyword:%s:%d" % (bspec["keyword"].decode(), bspec["startfrom"])
    else:
        begin = "unknown"
    k = pairs(s["find_keys"])
    kspec = pairs(k["spec"]) if k["spec"] else {}
    if k["type"] == b"range":
        find = "range:%d:%d:%d" % (kspec["lastkey"], kspec["keystep"], kspec["limit"])
    elif k["type"] == b"keynum":
        find = "keynum:%d:%d:%d" % (kspec["keynumidx"], kspec["firstkey"], kspec["keystep"])
    else:
        find = "unknown"
    return "%s %s %s %s" % (name, flags, begin, find)


def commands(port):
    """Every command as redis-server on `port` describes it (COMMAND's reply)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"*1\r\n$7\r\nCOMMAND\r\n")
    return read_reply(sock.makefile("rb"))


def main():
    lines = []

    def walk(cmd):
        name = cmd[0].decode()
        for spec in cmd[8] or []:
            lines.append(spec_line(name, spec))
        for sub in cmd[9] or []:
            walk(sub)

    for cmd in commands(int(sys.argv[1])):
        walk(cmd)
    print("# Key specifications of Redis 7's commands (scripts/gen_key_specs.py).")
    for line in sorted(lines, key=lambda l: l.split(" ")[0]):
        print(line)


if __name__ == "__main__":
    main()
