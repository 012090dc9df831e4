#!/usr/bin/env python3
"""Writes shards/src/cmd/subcommands.txt: the subcommands of Redis 7's container
commands (CONFIG GET, CLIENT KILL ...) as a running redis-server 7 reports them
(COMMAND), one line per subcommand:

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


def main():
    lines = []
    for cmd in commands(int(sys.argv[1])):
        for sub in cmd[9] or []:
            lines.append("%s %d %s %s %d %d %d" % (
                sub[0].decode(), sub[1], words(sub[2]), words(sub[6]), sub[3], sub[4], sub[5]))
    print("# Subcommands of Redis 7's container commands (scripts/gen_subcommands.py).")
    for line in sorted(lines):
        print(line)


main()
