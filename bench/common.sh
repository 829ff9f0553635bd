# Shared by the bench scripts: paths, the release build, the peer venv, a run folder.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$ROOT/../shared"
DATA="$ROOT/bench/data"
mkdir -p "$DATA"
RUN_DIR="$ROOT/bench/runs/$(date -u +%Y-%m-%d)-$(hostname -s)"
mkdir -p "$RUN_DIR"
ACCORD="$ROOT/target/release/accord"

build_accord() {
  (cd "$ROOT" && cargo build --release --locked -p accord >&2)
}

# The OASIS tools, in the same venv the tests use.
peer_python() {
  if ! "$ROOT/.venv/bin/python" -c 'import stix2validator' 2>/dev/null; then
    python3 -m venv "$ROOT/.venv" >&2
    "$ROOT/.venv/bin/pip" install -q -r "$ROOT/requirements-test.txt" >&2
  fi
  echo "$ROOT/.venv/bin/python"
}

machine() {
  echo "$(nproc) cores $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)"
}

# Median of numbers on stdin.
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# Where a run writes its raw output: $RUN_DIR/NAME.txt, or NAME-2.txt,
# NAME-3.txt… when earlier runs of the day are there (they are kept).
run_file() {
  local f="$RUN_DIR/$1.txt" n=2
  while [ -e "$f" ]; do f="$RUN_DIR/$1-$n.txt"; n=$((n + 1)); done
  echo "$f"
}
