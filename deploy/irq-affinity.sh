#!/usr/bin/env bash
# Steers a NIC's receive queue interrupts to the CPUs that run corecache shards, one
# queue per CPU in order, so a connection's packets are handled on the core that serves
# it. Usage: irq-affinity.sh <interface> <cpu-list, e.g. 0-7>. Run as root; stop
# irqbalance first (systemctl stop irqbalance), or it will undo this.
set -euo pipefail
iface=${1:?usage: irq-affinity.sh <interface> <cpu-list>}
cpulist=${2:?usage: irq-affinity.sh <interface> <cpu-list>}

expand() {
  local out=() part a b
  IFS=, read -ra parts <<<"$1"
  for part in "${parts[@]}"; do
    if [[ $part == *-* ]]; then a=${part%-*}; b=${part#*-}; for ((i=a; i<=b; i++)); do out+=("$i"); done
    else out+=("$part"); fi
  done
  echo "${out[@]}"
}
read -ra cpus <<<"$(expand "$cpulist")"
mapfile -t irqs < <(grep -E "${iface}[-:]" /proc/interrupts | awk -F: '{gsub(/ /,"",$1); print $1}')
[ ${#irqs[@]} -gt 0 ] || { echo "no interrupts found for $iface" >&2; exit 1; }
for i in "${!irqs[@]}"; do
  cpu=${cpus[$((i % ${#cpus[@]}))]}
  echo "$cpu" > "/proc/irq/${irqs[$i]}/smp_affinity_list"
  echo "irq ${irqs[$i]} -> cpu $cpu"
done
