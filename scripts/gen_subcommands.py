#!/usr/bin/env python3
"""Writes shards/src/cmd/subcommands.txt: Redis 7's container commands (CONFIG, CLIENT
...) and their subcommands (CONFIG GET, CLIENT KILL ...) as a running redis-server 7
reports them (COMMAND), one line per container and per subcommand:

    container ARITY FLAGS CATEGORIES FIRST LAST STEP
    container|subcommand ARITY FLAGS CATEGORIES FIRST LAST STEP

FLAGS: Redis's command flags joined by commas (`-` for none); CATEGORIES: its ACL
categories without the `@`, joined by commas; FIRST LAST STEP: its key positions in
COMMAND INFO's legacy form.

    gen_subcommands.py PORT > shards/src/cmd/subcommands.txt

These are facts about Redis's commands (what each subcommand is called, how many
arguments it takes, which ACL categories it belongs to); ACL rules, ACL CAT and
COMMAND read them."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_key_specs import commands  # noqa: E402


def words(items):
    return ",".join(x.decode().lstrip("@") for x in items) or "-"


def describe(cmd):
    return "%s %d %s %s %d %d %d" % (
        cmd[0].decode(), cmd[1], words(cmd[2]), words(cmd[6]), cmd[3], cmd[4], cmd[5])


def main():
    lines = []
    for cmd in commands(int(sys.argv[1])):
        if cmd[9]:
            lines.append(describe(cmd))
        for sub in cmd[9] or []:
            lines.append(describe(sub))
    print("# Redis 7's container commands and their subcommands (scripts/gen_subcommands.py).")
    for text in sorted(lines):
        print(text)


main()
