#!/usr/bin/env bash
# Warninglists and matching: `accord match` of a generated EVE log against
# generated indicators, with MISP's shared warninglists loaded in the data
# directory (the index built without the warninglisted indicators: every
# indicator's keys checked against the lists) and with
# `--include-warninglisted` (lists not read, nothing checked), interleaved
# in the same run. The index is rebuilt in every run (no --index cache), so
# the figures include loading and compiling the lists (62,745 CIDRs of
# public-dns-v4 among them) and checking every indicator.
#
#   bash bench/warninglist.sh           # RUNS=5, 1,000,000 indicators, 2,000,000 lines
#   INDICATORS=200000 LINES=1000000 bash bench/warninglist.sh
#
# Prints one line per figure and keeps the raw output in bench/runs/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
RUNS="${RUNS:-5}"
INDICATORS="${INDICATORS:-1000000}"
LINES="${LINES:-2000000}"
LISTS="${LISTS:-$SHARED/data/misp/warninglists}"
D="$DATA/warninglist-$INDICATORS-$LINES"
LOG="$(run_file warninglist)"
say() { echo "$*" | tee -a "$LOG"; }
[ -d "$LISTS" ] || { echo "no warninglists at $LISTS" >&2; exit 2; }

build_accord
if [ ! -f "$D/meta.json" ]; then
  "$ACCORD" generate-logs --out "$D" --indicators "$INDICATORS" --lines "$LINES" --seed 42 >&2
fi
NODE="$D/node"
rm -rf "$NODE"
"$ACCORD" warninglist update --data "$NODE" "$LISTS" 2>>"$LOG"
say "machine: $(machine); load average before: $(cut -d' ' -f1-3 /proc/loadavg); commit $(git -C "$ROOT" rev-parse --short HEAD)"
say "$INDICATORS indicators, $(wc -l < "$D/eve.json") EVE lines; lists: $("$ACCORD" warninglist list --data "$NODE" | wc -l) from $LISTS"

one() { # with|without -> "wall cpu scan_s load_s"
  local tf out; tf=$(mktemp); out=$(mktemp)
  local extra=()
  [ "$1" = without ] && extra=(--include-warninglisted)
  /usr/bin/time -f "%e %U %S" -o "$tf" "$ACCORD" match --data "$NODE" --indicators "$D/indicators.jsonl" \
    --no-sightings --no-progress --threads 1 "${extra[@]}" "$D/eve.json" 2>"$out"
  cat "$out" >>"$LOG"
  read -r w u s < "$tf"
  local scan load
  scan=$(grep -o 'throughput: [0-9.]* s' "$out" | grep -o '[0-9.]*')
  load=$(grep -o 'loaded in [0-9.]* s' "$out" | grep -o '[0-9.]*')
  rm -f "$tf" "$out"
  echo "$w $(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}') $scan $load"
}

declare -A W C S L
for i in $(seq "$RUNS"); do
  for m in without with; do
    read -r w c s l < <(one "$m")
    W[$m]+="$w "; C[$m]+="$c "; S[$m]+="$s "; L[$m]+="$l "
  done
done
med() { tr ' ' '\n' | grep . | median; }
for m in without with; do
  say "$m lists: whole command median $(echo "${W[$m]}" | med) s wall, $(echo "${C[$m]}" | med) s CPU; scan median $(echo "${S[$m]}" | med) s; indicators loaded and indexed median $(echo "${L[$m]}" | med) s  (runs: ${W[$m]})"
done
awk -v a="$(echo "${C[without]}" | med)" -v b="$(echo "${C[with]}" | med)" -v sa="$(echo "${S[without]}" | med)" -v sb="$(echo "${S[with]}" | med)" \
  'BEGIN{printf "cost of the lists: %+.1f%% CPU of the whole command, %+.1f%% scan time (target <= 5%%)\n", (b/a-1)*100, (sb/sa-1)*100}' | tee -a "$LOG"
echo "raw output: $LOG"
