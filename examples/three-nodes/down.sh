#!/usr/bin/env bash
# Stops the three nodes started by up.sh (their data stays in DIR).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_dir "$@"
DIR="$(cd "$1" && pwd)"
for node in "${NODES[@]}"; do
  pidf="$DIR/$node/serve.pid"
  [ -f "$pidf" ] || continue
  pid="$(cat "$pidf")"
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do
      alive "$pid" || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
  echo "stopped $node"
done
