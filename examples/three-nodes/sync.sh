#!/usr/bin/env bash
# One full round of exchange among the three nodes started by up.sh: each
# node pulls from its two partners (and pushes, where configured), then the
# logs are witnessed. Returns when done; exit 1 if any round failed.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_dir "$@"
DIR="$(cd "$1" && pwd)"
ACCORD="$(accord_bin)"
status=0
for node in "${NODES[@]}"; do
  echo "== $node"
  "$ACCORD" sync --config "$DIR/$node/accord.toml" --once || status=1
done
exit $status
