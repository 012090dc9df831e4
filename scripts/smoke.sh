#!/usr/bin/env bash
# Smoke test with real Redis tools: starts corecache (2 shards) and a reference
# redis-server on free loopback ports, drives corecache with redis-cli and
# redis-benchmark, replays the compatibility scripts against both servers, and stops
# both by PID. Needs Debian's redis-server and redis-tools (.ci/run installs them).
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$BIN" --bind 127.0.0.1 --port 0 --threads 2 --no-pin --save "" --dir "$work" 2>"$work/cc.log" &
pids+=($!)
for _ in $(seq 100); do grep -q ' ready: ' "$work/cc.log" && break; sleep 0.1; done
port=$(sed -n 's/.* ready: .* on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$work/cc.log")
[ -n "$port" ] || { echo "corecache did not start"; cat "$work/cc.log"; exit 1; }

ref_port=$(free_port)
redis-server --port "$ref_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no --enable-debug-command yes \
  --logfile "$work/redis.log" &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$ref_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

cli() { redis-cli -p "$port" "$@"; }
expect() {
  local want=$1; shift
  local got; got=$(cli "$@")
  if [ "$got" != "$want" ]; then
    echo "FAIL: redis-cli $* -> '$got', expected '$want'"; exit 1
  fi
}

expect PONG ping
expect OK set greeting hello
expect hello get greeting
expect OK mset a 1 b 2 c 3 d 4
expect "$(printf '1\n2\n3\n4')" mget a b c d
expect 4 del a b c d
expect 11 incrby counter 11
expect 1 exists greeting
cli info shards | grep -q '^shard1:' || { echo "FAIL: INFO shards has no shard1"; exit 1; }
printf 'SET piped yes\nGET piped\n' | cli | tail -1 | grep -qx yes
for i in $(seq 1 200); do echo "SET scan:$i v"; done | cli >/dev/null
[ "$(cli --scan --pattern 'scan:*' | sort -u | wc -l)" = 200 ] || { echo "FAIL: --scan"; exit 1; }
echo "redis-cli checks: ok"

bench=$(redis-benchmark -p "$port" -q -n 20000 -c 20 -P 16 -r 10000 -t set,get,incr,mset 2>&1)
echo "$bench"
[ "$(echo "$bench" | grep -c 'requests per second')" = 4 ] || { echo "FAIL: redis-benchmark"; exit 1; }

python3 tests/compat/compare.py --reference "$ref_port" --tested "$port" tests/compat/*.txt
# Random differential replay: 2 seeds x 3000 commands over every data family.
python3 tests/compat/compare.py --reference "$ref_port" --tested "$port" --random 3000 --seed 1,2
python3 scripts/stream_rdb_check.py --redis-port "$ref_port" --corecache-port "$port"

kill -0 "${pids[0]}" || { echo "FAIL: corecache died"; exit 1; }
echo "smoke: 4 passed, 0 failed"
