# Shared by up.sh, sync.sh and down.sh: which binary, which nodes.
# shellcheck shell=bash
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NODES=(cn us eu)

# The accord binary: $ACCORD, else target/release/accord (built if missing).
accord_bin() {
  if [ -n "${ACCORD:-}" ]; then
    echo "$ACCORD"
    return
  fi
  local bin="$ROOT/target/release/accord"
  if [ ! -x "$bin" ]; then
    echo "building $bin (once)..." >&2
    (cd "$ROOT" && cargo build --release --locked -p accord >&2)
  fi
  echo "$bin"
}

need_dir() {
  if [ $# -ne 1 ]; then
    echo "usage: $(basename "$0") DIR" >&2
    exit 2
  fi
}
