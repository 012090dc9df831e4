# Shared start of the test scripts (sourced): the corecache binary (built if missing),
# a scratch directory, and the PIDs of started servers, all stopped and removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${CORECACHE_BIN:-target/debug/corecache}
[ -x "$BIN" ] || cargo build --quiet
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
