#!/usr/bin/env bash
# Durable ingest: `accord ingest` of 1,000,000 generated indicators (JSON
# lines, ~640 MB) into a fresh data directory, and peak memory at 100,000
# vs 1,000,000 objects (streaming: it should not grow with the file).
#
#   bash bench/ingest.sh              # ~1-2 minutes
#
# No peer runs here: OpenCTI (the peer DESIGN.md names) needs Elasticsearch,
# RabbitMQ, Redis and MinIO and cannot be installed on this machine; its
# users report 0.7-55 bundles/s.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
RUNS="${RUNS:-3}"
build_accord
J1M="$DATA/indicators-1m.jsonl"
J100K="$DATA/indicators-100k.jsonl"
[ -s "$J1M" ] || "$ACCORD" generate --count 1000000 -o "$J1M"
[ -s "$J100K" ] || head -n 100000 "$J1M" > "$J100K"

one() { # file -> "objects/s maxrss_kB"
  local dir; dir=$(mktemp -d "$DATA/ingest.XXXX")
  local out; out=$( { /usr/bin/time -f "RSS %M" "$ACCORD" ingest --no-progress --data "$dir" "$1" >/dev/null; } 2>&1 )
  rm -rf "$dir"
  echo "$(echo "$out" | sed -n 's/.*, \([0-9]*\) objects\/s).*/\1/p') $(echo "$out" | sed -n 's/^RSS \([0-9]*\)/\1/p')"
}
echo "== accord ingest, 1,000,000 indicators, $RUNS runs, fresh data dir each" >&2
results=$(for _ in $(seq "$RUNS"); do one "$J1M"; done)
rate=$(echo "$results" | awk '{print $1}' | median)
rss1m=$(echo "$results" | awk '{print $2}' | median)
rss100k=$(one "$J100K" | awk '{print $2}')
{
  echo "date: $(date -u +%FT%TZ)  commit: $(git -C "$ROOT" rev-parse --short HEAD)  machine: $(machine)"
  echo "accord ingest 1M indicators (durable: acknowledged after the WAL fsync): $rate objects/s (median of $RUNS: $(echo "$results" | awk '{print $1}' | tr '\n' ' '))"
  echo "peak RSS: $((rss100k / 1024)) MiB at 100k objects, $((rss1m / 1024)) MiB at 1M objects"
} | tee "$(run_file ingest)"
