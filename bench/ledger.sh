#!/usr/bin/env bash
# Transparency log benchmarks (issue 8), one command:
#
#   bash bench/ledger.sh        # ~10 minutes (+ ~4 minutes and 10 GB of disk
#                               # the first time, for the 10^8-leaf fixture)
#
# 1. What the log costs ingest: `accord ingest` of 1,000,000 generated
#    indicators into a fresh data dir, the normal build against the same
#    code built with the log compiled out (feature
#    `accord-store/bench-no-ledger`, its own target dir), runs interleaved.
# 2. Proof latency through the store at 10^8 leaves: a synthetic log built
#    once through the store's own append path (`ledger_synth`, short leaves:
#    real records would need ~40 GB), then `ledger_proof_timing` (random
#    leaves and sizes, every inclusion proof verified against the root).
# 3. The pure crate: batch appends (leaves/s) with divan.
#
# RUNS=5 bash bench/ledger.sh for more ingest runs; SKIP_SYNTH=1 skips 2.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
RUNS="${RUNS:-3}"
build_accord
NOLOG_TARGET="$ROOT/target/bench-no-ledger"
(cd "$ROOT" && CARGO_TARGET_DIR="$NOLOG_TARGET" cargo build --release --locked -p accord \
  --features accord-store/bench-no-ledger >&2)
NOLOG="$NOLOG_TARGET/release/accord"
(cd "$ROOT" && cargo build --release --locked -p accord-store --features bench-fixtures \
  --example ledger_synth --example ledger_proof_timing >&2)
J1M="$DATA/indicators-1m.jsonl"
[ -s "$J1M" ] || "$ACCORD" generate --count 1000000 -o "$J1M"
OUT="$(run_file ledger)"

rate() { # binary -> objects/s of one fresh ingest
  local dir; dir=$(mktemp -d "$DATA/ledger.XXXX")
  "$1" ingest --no-progress --data "$dir" "$J1M" 2>&1 | sed -n 's/.*, \([0-9]*\) objects\/s).*/\1/p'
  rm -rf "$dir"
}
{
  echo "date: $(date -u +%FT%TZ)  commit: $(git -C "$ROOT" rev-parse --short HEAD)  machine: $(machine)"
  echo "== ingest of 1,000,000 indicators, with the log vs the log compiled out, $RUNS runs each, interleaved"
  with=(); without=()
  for _ in $(seq "$RUNS"); do
    with+=("$(rate "$ACCORD")"); without+=("$(rate "$NOLOG")")
  done
  w=$(printf '%s\n' "${with[@]}" | median); n=$(printf '%s\n' "${without[@]}" | median)
  echo "with the log: $w objects/s (${with[*]})"
  echo "log compiled out: $n objects/s (${without[*]})"
  awk -v w="$w" -v n="$n" 'BEGIN { printf "cost of the log: %.1f%% of ingest throughput (median vs median)\n", 100 * (n - w) / n }'

  if [ -z "${SKIP_SYNTH:-}" ]; then
    SYN="$DATA/ledger-1e8"
    if [ ! -s "$SYN/accord.sqlite" ] || [ "$("$ROOT/target/release/examples/ledger_proof_timing" "$SYN" 1 2>/dev/null | sed -n 's/^size \([0-9]*\):.*/\1/p')" != 100000000 ]; then
      rm -rf "$SYN"
      echo "== building the 10^8-leaf fixture in $SYN"
      "$ROOT/target/release/examples/ledger_synth" "$SYN" 100000000 2>&1 | tail -1
    fi
    echo "== proofs at 10^8 leaves (3 runs of 20,000 each; the first run maps the file)"
    for _ in 1 2 3; do "$ROOT/target/release/examples/ledger_proof_timing" "$SYN" 20000; done
  fi

  echo "== pure crate: batch appends (divan)"
  (cd "$ROOT" && cargo bench --locked -p accord-ledger --bench ledger -- append 2>&1 | grep -E 'append|leaves|Mitem|Kitem|item/s' | head -20)
} | tee "$OUT"
