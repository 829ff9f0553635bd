#!/usr/bin/env bash
# Durable ingest: `accord ingest` of 1,000,000 generated indicators (JSON
# lines, ~640 MB) into a fresh data directory, and peak memory at 100,000
# vs 1,000,000 objects (streaming: it should not grow with the file).
#
#   bash bench/ingest.sh              # ~3 minutes
#   FLOOR_VARIANTS=1 bash bench/ingest.sh   # also SQLite alone without each
#                                           # collection index, raw apart
#   BASE_ACCORD=/path/to/accord bash bench/ingest.sh   # also that binary,
#       interleaved: rates and CPU seconds of both, and their ratio
#
# No peer runs here: OpenCTI (the peer DESIGN.md names) needs Elasticsearch,
# RabbitMQ, Redis and MinIO and cannot be installed on this machine; its
# users report 0.7-55 bundles/s. What each run is set beside instead is the
# ceiling of the store itself: SQLite inserting the same rows into the same
# table on one thread with nothing else running (crates/store/examples/
# sqlite_floor.rs), interleaved with Accord's runs.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
RUNS="${RUNS:-4}"
build_accord
(cd "$ROOT" && cargo build --release --locked -p accord-store --example sqlite_floor >&2)
FLOOR="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/sqlite_floor"
J1M="$DATA/indicators-1m.jsonl"
J100K="$DATA/indicators-100k.jsonl"
[ -s "$J1M" ] || "$ACCORD" generate --count 1000000 -o "$J1M"
[ -s "$J100K" ] || head -n 100000 "$J1M" > "$J100K"

one() { # file [binary] -> "objects/s maxrss_kB cpu_seconds whole_command_objects/s"
  local dir; dir=$(mktemp -d "$DATA/ingest.XXXX")
  local out; out=$( { /usr/bin/time -f "RSS %M CPU %U %S WALL %e" "${2:-$ACCORD}" ingest --no-progress --data "$dir" "$1" >/dev/null; } 2>&1 )
  rm -rf "$dir"
  local n; n=$(echo "$out" | sed -n 's/^\([0-9]*\) objects read.*/\1/p')
  echo "$(echo "$out" | sed -n 's/.*, \([0-9]*\) objects\/s).*/\1/p') $(echo "$out" | sed -n 's/^RSS \([0-9]*\).*/\1/p') $(echo "$out" | sed -n 's/^RSS [0-9]* CPU \([0-9.]*\) \([0-9.]*\).*/\1 \2/p' | awk '{print $1 + $2}') $(echo "$out" | sed -n 's/.* WALL \([0-9.]*\)$/\1/p' | awk -v n="$n" '{printf "%.0f", n / $1}')"
}
echo "== accord ingest, 1,000,000 indicators, $RUNS runs, fresh data dir each" >&2
results=""; base_results=""; floors=""; floors_raw=""
for round in $(seq "$RUNS"); do
  # This VM charges a page the guest has not touched for some seconds ~6x
  # more than one just freed (bench/runs/2026-12-08-vm/page-cache-first-
  # touch.txt): a run right after another run's `rm` reuses its pages. So
  # Accord and the base take turns at going first (ABBA over the rounds).
  if [ -n "${BASE_ACCORD:-}" ] && [ $((round % 2)) -eq 0 ]; then
    base_results+="$(one "$J1M" "$BASE_ACCORD")"$'\n'
    results+="$(one "$J1M")"$'\n'
  else
    results+="$(one "$J1M")"$'\n'
    [ -n "${BASE_ACCORD:-}" ] && base_results+="$(one "$J1M" "$BASE_ACCORD")"$'\n'
  fi
  f=$(TMPDIR="$DATA" "$FLOOR" "$J1M" 2>/dev/null)
  floors_raw+="$f"$'\n'
  rate_of() { echo "$f" | grep -F "$1" | sed -n 's/.*: \([0-9]*\) rows\/s/\1/p'; }
  floors+="$(rate_of 'objects, synchronous=NORMAL') $(rate_of 'objects, synchronous=OFF') $(rate_of '+ 1 index, synchronous=OFF')"$'\n'
done
results=$(echo "$results" | sed '/^$/d'); floors=$(echo "$floors" | sed '/^$/d')
rate=$(echo "$results" | awk '{print $1}' | median)
floor_sync=$(echo "$floors" | awk '{print $1}' | median)
floor_off=$(echo "$floors" | awk '{print $2}' | median)
floor_min=$(echo "$floors" | awk '{print $3}' | median)
rss1m=$(echo "$results" | awk '{print $2}' | median)
rss100k=$(one "$J100K" | awk '{print $2}')
{
  echo "date: $(date -u +%FT%TZ)  commit: $(git -C "$ROOT" rev-parse --short HEAD)  machine: $(machine)"
  echo "accord ingest 1M indicators (durable: acknowledged after the WAL fsync): $rate objects/s (median of $RUNS: $(echo "$results" | awk '{print $1}' | tr '\n' ' '))"
  echo "SQLite alone, same rows and table, one thread, nothing else running: $floor_sync rows/s with an fdatasync per commit, $floor_off rows/s with no sync at all; a bare (seq, raw, id hash) table with one index, no sync: $floor_min rows/s (medians of $RUNS, interleaved: $(echo "$floors" | tr '\n' ';'))"
  echo "accord / SQLite-alone-without-sync: $(awk -v a="$rate" -v b="$floor_off" 'BEGIN {printf "%.2f", a / b}')"
  # The rate above is the ingest's own (its loop, up to the last
  # acknowledgement); the whole command also waits for the last checkpoint
  # and the database's sync, which the floor leaves out too.
  echo "accord ingest whole command (until it exits, last checkpoint included): $(echo "$results" | awk '{print $4}' | median) objects/s (runs: $(echo "$results" | awk '{print $4}' | tr '\n' ' '))"
  echo "peak RSS: $((rss100k / 1024)) MiB at 100k objects, $((rss1m / 1024)) MiB at 1M objects"
  echo "CPU seconds (user + sys) of the whole command per run: $(echo "$results" | awk '{print $3}' | tr '\n' ' ')(median $(echo "$results" | awk '{print $3}' | median))"
  if [ -n "${BASE_ACCORD:-}" ]; then
    base_results=$(echo "$base_results" | sed '/^$/d')
    base_rate=$(echo "$base_results" | awk '{print $1}' | median)
    echo "base $BASE_ACCORD, interleaved: $base_rate objects/s (median of $RUNS: $(echo "$base_results" | awk '{print $1}' | tr '\n' ' ')); whole command $(echo "$base_results" | awk '{print $4}' | median) objects/s; CPU seconds $(echo "$base_results" | awk '{print $3}' | tr '\n' ' ')(median $(echo "$base_results" | awk '{print $3}' | median))"
    echo "accord / base: $(awk -v a="$rate" -v b="$base_rate" 'BEGIN {printf "%.2f", a / b}') objects/s; CPU $(awk -v a="$(echo "$results" | awk '{print $3}' | median)" -v b="$(echo "$base_results" | awk '{print $3}' | median)" 'BEGIN {printf "%.2f", a / b}')"
  fi
  # FLOOR_VARIANTS=1: what each index and the raw column cost SQLite alone.
  [ -n "${FLOOR_VARIANTS:-}" ] && echo "$floors_raw" | grep -v '^$'
  true
} | tee "$(run_file ingest)"
