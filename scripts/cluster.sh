#!/usr/bin/env bash
# Cluster-mode checks with unchanged cluster clients: one corecache process with 4
# shards (4 cluster nodes) driven by redis-cli -c, redis-py's RedisCluster (from PyPI),
# `redis-cli --cluster check` and `redis-benchmark --cluster`; INFO must show that no
# command crossed cores; then several processes from a topology file (resharding,
# replica processes and CLUSTER FAILOVER). Every server is started on loopback and
# stopped by its PID.
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"
fail() { echo "FAIL: $*"; exit 1; }
passed=0

# redis-py from PyPI (a venv when the system Python cannot install packages).
PY=python3
if ! "$PY" -c 'import redis.cluster' 2>/dev/null; then
  if ! "$PY" -m pip install --quiet --user redis 2>/dev/null; then
    venv="${XDG_CACHE_HOME:-$HOME/.cache}/corecache-ci-venv"
    if [ ! -x "$venv/bin/python" ]; then
      python3 -m venv "$venv" 2>/dev/null || {
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv "$venv"
      }
    fi
    "$venv/bin/python" -m pip install --quiet redis
    PY="$venv/bin/python"
  fi
fi

# Starts corecache in cluster mode; sets $port to its public port.
start() {
  local log=$1; shift
  "$BIN" --bind 127.0.0.1 --no-pin --cluster-mode yes --save "" --dir "$work" "$@" >/dev/null 2>"$log" &
  pids+=($!)
  for _ in $(seq 100); do grep -q 'cluster mode: ' "$log" && break; sleep 0.1; done
  port=$(sed -n 's/.* ready: .* on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$log")
}

echo "== one process, 4 shards"
start "$work/one.log" --port 0 --threads 4 --cluster-config-file "$work/nodes-one.conf"
[ -n "$port" ] || { cat "$work/one.log"; fail "corecache did not start"; }
node=$(redis-cli -p "$port" cluster slots | sed -n 4p)
[ -n "$node" ] || fail "CLUSTER SLOTS lists no node"

# redis-cli -c follows MOVED from any node.
for i in $(seq 1 50); do redis-cli -c -p "$node" set "cli:$i" "v$i" >/dev/null; done
for i in $(seq 1 50); do
  [ "$(redis-cli -c -p "$node" get "cli:$i")" = "v$i" ] || fail "redis-cli -c get cli:$i"
done
redis-cli -p "$node" get cli:1 | grep -q '^MOVED\|^v1$' || fail "plain redis-cli get"
echo "redis-cli -c: ok"; passed=$((passed + 1))

timeout 300 "$PY" scripts/cluster_client.py "127.0.0.1:$port"
passed=$((passed + 1))

check=$(redis-cli --cluster check "127.0.0.1:$node" 2>&1) || { echo "$check"; fail "cluster check"; }
echo "$check" | grep -q 'All nodes agree about slots configuration' || fail "slots disagree"
echo "$check" | grep -q 'All 16384 slots covered' || fail "slot coverage"
if echo "$check" | grep -q '\[WARNING\]\|\[ERR\]'; then echo "$check"; fail "cluster check warnings"; fi
echo "redis-cli --cluster check: clean"; passed=$((passed + 1))

bench=$(timeout 120 redis-benchmark -h 127.0.0.1 -p "$node" --cluster -q -n 20000 -c 20 -r 10000 -t set,get 2>&1 | tr '\r' '\n')
echo "$bench" | grep 'requests per second'
[ "$(echo "$bench" | grep -c 'requests per second')" = 2 ] || fail "redis-benchmark --cluster"
passed=$((passed + 1))

stats=$(redis-cli -p "$port" info stats | tr -d '\r')
echo "$stats" | grep -qx 'forwarded_commands:0' || { echo "$stats"; fail "commands crossed cores"; }
echo "$stats" | grep -qx 'cluster_node_port_forwards:0' || fail "a node port forwarded"
echo "cluster clients: no command crossed cores"; passed=$((passed + 1))

kill -0 "${pids[0]}" || fail "corecache died"

echo "== three processes x 2 shards from a topology file (deploy/local-cluster.sh)"
# A base port with base, base+1, base+2 (+100, +200) free.
first=$(python3 - <<'PY'
import random, socket
for _ in range(200):
    base = random.randrange(20000, 32000 - 300)  # below the ephemeral ports
    ports = [base + 100 * i + k for i in range(3) for k in range(3)]
    try:
        socks = []
        for p in ports:
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
        for s in socks: s.close()
        print(base); break
    except OSError:
        for s in socks: s.close()
PY
)
export CLUSTER_DIR="$work/three" CORECACHE_BIN="$BIN"
stop_three() { deploy/local-cluster.sh stop; }
trap 'stop_three; cleanup' EXIT
deploy/local-cluster.sh start 3 2 "$first"
n0=$((first + 1)); n1=$((first + 2)); n2=$((first + 201))
timeout 300 "$PY" scripts/cluster_client.py "127.0.0.1:$first" --keys 5000
check=$(redis-cli --cluster check "127.0.0.1:$n0" 2>&1) || { echo "$check"; fail "cluster check (3 processes)"; }
echo "$check" | grep -q '6 masters' || { echo "$check"; fail "six masters expected"; }
echo "redis-py and --cluster check against three processes: ok"; passed=$((passed + 1))

echo "== resharding under concurrent writes"
# Between processes, then between two cores of one process.
timeout 400 "$PY" scripts/reshard_check.py "127.0.0.1:$first" "127.0.0.1:$n2" "127.0.0.1:$n0" 300
timeout 400 "$PY" scripts/reshard_check.py "127.0.0.1:$first" "127.0.0.1:$n0" "127.0.0.1:$n1" 300
check=$(redis-cli --cluster check "127.0.0.1:$n0" 2>&1) || { echo "$check"; fail "cluster check after resharding"; }
if echo "$check" | grep -q '\[WARNING\]\|\[ERR\]'; then echo "$check"; fail "open slots after resharding"; fi
echo "$check" | grep -q 'All 16384 slots covered' || fail "coverage after resharding"
echo "reshard: ok"; passed=$((passed + 1))
for f in "$CLUSTER_DIR"/*.pid; do kill -0 "$(cat "$f")" || fail "a cluster process died"; done
deploy/local-cluster.sh stop

echo "== replica processes: two primaries x 2 shards, each with a replica process"
deploy/local-cluster.sh start 2 2 "$first" 1
n0=$((first + 1))
check=$(redis-cli --cluster check "127.0.0.1:$n0" 2>&1) || { echo "$check"; fail "cluster check (replicas)"; }
[ "$(echo "$check" | grep -c '1 additional replica(s)')" = 4 ] || { echo "$check"; fail "four masters with a replica each expected"; }
if echo "$check" | grep -q '\[WARNING\]\|\[ERR\]'; then echo "$check"; fail "cluster check warnings (replicas)"; fi
timeout 120 "$PY" scripts/cluster_replicas.py "$first" "$((first + 50))"
check=$(redis-cli --cluster check "127.0.0.1:$n0" 2>&1) || { echo "$check"; fail "cluster check after failover"; }
echo "$check" | grep -q 'All 16384 slots covered' || { echo "$check"; fail "coverage after failover"; }
echo "replicas, READONLY reads and CLUSTER FAILOVER with redis-py: ok"; passed=$((passed + 1))

echo "cluster: $passed passed, 0 failed"
