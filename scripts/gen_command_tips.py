#!/usr/bin/env python3
"""Writes shards/src/cmd/tips.txt: the tips of Redis 7's commands and subcommands
(`request_policy:multi_shard`, `nondeterministic_output` ...) as a running
redis-server 7 reports them (COMMAND), one line per command that has any:

    name[|subcommand] TIP[,TIP ...]

    gen_command_tips.py PORT > shards/src/cmd/tips.txt

Facts about Redis's commands, for COMMAND INFO."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_key_specs import commands  # noqa: E402


def main():
    lines = []

    def walk(cmd):
        if cmd[7]:
            lines.append("%s %s" % (cmd[0].decode(), ",".join(t.decode() for t in cmd[7])))
        for sub in cmd[9] or []:
            walk(sub)

    for cmd in commands(int(sys.argv[1])):
        walk(cmd)
    print("# Tips of Redis 7's commands (scripts/gen_command_tips.py).")
    for line in sorted(lines):
        print(line)


main()
