# Shared by the examples' scripts (three-nodes/, cluster/): which accord
# binary, the DIR argument, whether a process runs. Needs $ROOT (the
# repository) set by the sourcing script.
# shellcheck shell=bash

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

# Whether process PID runs (a killed node whose parent has not reaped it
# yet is a zombie: kill -0 still succeeds on it).
alive() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -r "/proc/$pid/status" ] && grep -q '^State:[[:space:]]*Z' "/proc/$pid/status"; then
    return 1
  fi
  return 0
}
