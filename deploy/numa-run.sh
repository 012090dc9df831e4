#!/usr/bin/env bash
# Starts corecache on the CPUs and memory of one NUMA node, e.g. `numa-run.sh 0 --port 6379`.
# Each shard pins itself to one of the node's CPUs and first-touches its own memory.
set -euo pipefail
node=${1:?usage: numa-run.sh <numa-node> [corecache args...]}
shift
cpus=$(cat "/sys/devices/system/node/node${node}/cpulist")
exec numactl --membind="$node" corecache --cpus "$cpus" "$@"
