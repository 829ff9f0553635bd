#!/usr/bin/env bash
# The dashboard's pages on a 1,000,000-object store: each page's time to
# answer (curl's time_total, signed in), 10 times each after one warm-up
# request, median and max; the overview's first request (the tally of every
# collection, cached a minute afterwards) is reported apart.
#
#   bash bench/dashboard.sh            # ~4 minutes the first time (the store is
#                                      # built once: `accord demo --generated 1000000`)
#
# No peer: the figure is against the issue's bound (every page < 100 ms).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
build_accord
STORE="$DATA/dashboard-1m"
PORT="${PORT:-18491}"
URL="http://127.0.0.1:$PORT"
"$ACCORD" demo --data "$STORE" --generated 1000000 --listen "127.0.0.1:$PORT" > "$DATA/dashboard-serve.log" 2>&1 &
NODE=$!
trap 'kill $NODE 2>/dev/null; wait $NODE 2>/dev/null' EXIT
for _ in $(seq 1200); do
  grep -q "listening on" "$DATA/dashboard-serve.log" && break
  sleep 1
done
grep -q "listening on" "$DATA/dashboard-serve.log" || { cat "$DATA/dashboard-serve.log"; exit 1; }
# The search index is built in the background at the first start.
for _ in $(seq 1200); do
  grep -q "search index caught up" "$DATA/dashboard-serve.log" && break
  sleep 1
done
JAR="$(mktemp)"
csrf=$(curl -s -c "$JAR" -b "$JAR" "$URL/" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p')
curl -s -o /dev/null -c "$JAR" -b "$JAR" --data "csrf=$csrf&user=demo&password=demo" "$URL/login"
t() { curl -s -o /dev/null -w '%{time_total}\n' -b "$JAR" "$URL$1"; }
ms() { awk '{printf "%.1f\n", $1 * 1000}'; }
one_id=$(curl -s -b "$JAR" "$URL/ui/objects?type=indicator" | grep -o 'href="/ui/objects/demo/indicator--[^"]*"' | head -1 | sed 's/href="//;s/"$//')
first_overview=$(t / | ms)
# A value of the first objects generated: older than any bounded scan.
old_value=$( ("$ACCORD" export --data "$STORE" --jsonl --versions first 2>/dev/null || true) | grep -m1 -o "ipv4-addr:value = '[0-9.]*'" | sed "s/.*= '//;s/'//" || true)
pages=(/ /ui/partners /ui/objects "/ui/objects?type=indicator" "/ui/objects?q=198.51.100.77" "/ui/objects?q=$old_value" "/ui/objects?label=generated&tlp=green" "$one_id" "$one_id/log" /ui/log/proof/500000 /ui/sightings /ui/cases /ui/log)
{
  echo "date: $(date -u +%FT%TZ)  commit: $(git -C "$ROOT" rev-parse --short HEAD)  machine: $(machine)"
  echo "store: $(curl -s -b "$JAR" "$URL/" | grep -o '<div class="big">[0-9,]*</div><div class="what">objects' | head -1 | sed 's/<[^>]*>//g')"
  echo "overview, first request (tallies every collection): $first_overview ms"
  grep -o "search index caught up.*" "$DATA/dashboard-serve.log" | head -1
  printf '%-45s %10s %10s\n' page "median ms" "max ms"
  for p in "${pages[@]}"; do
    t "$p" > /dev/null
    times=$(for _ in $(seq 10); do t "$p"; done | ms)
    printf '%-45s %10s %10s\n' "$p" "$(echo "$times" | median)" "$(echo "$times" | sort -g | tail -1)"
  done
} | tee "$(run_file dashboard)"
rm -f "$JAR"
