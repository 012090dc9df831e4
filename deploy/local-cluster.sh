#!/usr/bin/env bash
# A local corecache cluster of several processes on loopback, for trying cluster mode.
#
#   deploy/local-cluster.sh start [processes=3] [shards=2] [first port=7000] [replicas=0]
#   deploy/local-cluster.sh stop
#
# Process i listens on port <first> + 100*i; its shards are cluster nodes on the ports
# that follow. With replicas=1 each process also gets a replica process on port
# <first> + 100*i + 50 (its nodes replicate the primary's, one for one). The slots are
# split evenly over the processes in a topology file that every process reads (see
# cluster-topology.example). State (topology, nodes files, logs, pids) lives in
# $CLUSTER_DIR (default ./local-cluster). Then, for example:
#
#   redis-cli -c -p 7001 set foo bar
#   redis-cli --cluster check 127.0.0.1:7001
#   redis-cli --cluster reshard 127.0.0.1:7001
set -euo pipefail

dir=${CLUSTER_DIR:-./local-cluster}
find_bin() {
  bin=${CORECACHE_BIN:-}
  if [ -z "$bin" ]; then
    root="$(cd "$(dirname "$0")/.." && pwd)"
    bin="$root/target/release/corecache"
    [ -x "$bin" ] || (cd "$root" && cargo build --release --quiet)
  fi
}

stop() {
  [ -d "$dir" ] || return 0
  local stopping=()
  for f in "$dir"/*.pid; do
    [ -e "$f" ] || continue
    stopping+=("$(cat "$f")")
    kill "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
  # A process logs its shutdown after SIGTERM: wait (up to 5 s) until it is gone, so
  # whoever removes the directory next does not race its last writes.
  for pid in "${stopping[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  done
}

case "${1:-}" in
  start)
    procs=${2:-3}
    shards=${3:-2}
    first=${4:-7000}
    replicas=${5:-0}
    find_bin
    stop
    mkdir -p "$dir"
    topo="$dir/topology.conf"
    echo "# $procs processes x $shards shards, written by deploy/local-cluster.sh" >"$topo"
    for i in $(seq 0 $((procs - 1))); do
      lo=$((i * 16384 / procs))
      hi=$(((i + 1) * 16384 / procs - 1))
      echo "127.0.0.1:$((first + 100 * i)) $shards $lo-$hi" >>"$topo"
      if [ "$replicas" = 1 ]; then
        echo "127.0.0.1:$((first + 100 * i + 50)) $shards replicaof=127.0.0.1:$((first + 100 * i))" >>"$topo"
      fi
    done
    ports=()
    for i in $(seq 0 $((procs - 1))); do
      ports+=($((first + 100 * i)))
      if [ "$replicas" = 1 ]; then ports+=($((first + 100 * i + 50))); fi
    done
    for port in "${ports[@]}"; do
      "$bin" --bind 127.0.0.1 --port "$port" --threads "$shards" --no-pin \
        --cluster-mode yes --cluster-config "$topo" \
        --cluster-config-file "$dir/nodes-$port.conf" \
        --dir "$dir" --dbfilename "dump-$port.rdb" >/dev/null 2>"$dir/$port.log" &
      echo $! >"$dir/$port.pid"
    done
    for port in "${ports[@]}"; do
      for _ in $(seq 100); do grep -q 'cluster mode: ' "$dir/$port.log" && break; sleep 0.1; done
      grep -q 'cluster mode: ' "$dir/$port.log" || { cat "$dir/$port.log"; stop; exit 1; }
    done
    echo "cluster of $procs processes x $shards shards (replica processes: $replicas): public ports $first.. (every 100), topology $topo"
    ;;
  stop)
    stop
    ;;
  *)
    sed -n '2,16p' "$0"
    exit 2
    ;;
esac
