#!/usr/bin/env bash
# The protected-facility check on the ingest path: `accord ingest` of the
# same generated indicators into a fresh node with no facility and into one
# with 1,000 facilities registered (a /24 and a domain each), interleaved,
# same run. The check should cost nothing measurable: the ratio of the two
# rates is the figure (1.00 = no cost).
#
#   bash bench/facility.sh               # N=1000000, RUNS=3 (~4 minutes)
#   N=200000 RUNS=5 bash bench/facility.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
N="${N:-1000000}"
RUNS="${RUNS:-3}"
build_accord
SRC="$DATA/indicators-$N.jsonl"
[ -s "$SRC" ] || "$ACCORD" generate --count "$N" -o "$SRC"
W="$(mktemp -d "$DATA/facility.XXXX")"
trap 'rm -rf "$W"' EXIT
CSV="$W/facilities.csv"
{
  echo "name,owner,sector,jurisdiction,networks,domains,asns"
  for i in $(seq 0 999); do
    echo "Facility $i,,energy,DE,10.$((i / 256)).$((i % 256)).0/24,f$i.example.org,"
  done
} >"$CSV"

one() { # with|without -> objects/s
  local dir="$W/node"
  rm -rf "$dir"
  "$ACCORD" init -o "$W/accord.toml" --name bench --user admin --listen 127.0.0.1:1 --data "$dir" >/dev/null
  if [ "$1" = with ]; then
    "$ACCORD" facility import --config "$W/accord.toml" "$CSV" >/dev/null
  fi
  "$ACCORD" ingest --no-progress --data "$dir" "$SRC" 2>&1 >/dev/null |
    sed -n 's/.*, \([0-9]*\) objects\/s).*/\1/p'
}
echo "== accord ingest of $N indicators, with no facility and with 1,000, interleaved, $RUNS runs each" >&2
without=""; with=""
for _ in $(seq "$RUNS"); do
  without+="$(one without)"$'\n'
  with+="$(one with)"$'\n'
done
w0=$(echo "$without" | sed '/^$/d' | median)
w1=$(echo "$with" | sed '/^$/d' | median)
{
  echo "date: $(date -u +%FT%TZ)  commit: $(git -C "$ROOT" rev-parse --short HEAD)  machine: $(machine)"
  echo "ingest of $N indicators, no facility: $(echo $without | tr '\n' ' ') objects/s (median $w0)"
  echo "ingest of $N indicators, 1,000 facilities: $(echo $with | tr '\n' ' ') objects/s (median $w1)"
  echo "with / without: $(awk -v a="$w1" -v b="$w0" 'BEGIN {printf "%.3f", a / b}')"
} | tee "$(run_file facility)"
