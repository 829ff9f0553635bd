#!/usr/bin/env bash
# Log matching: `accord match` against 1,000,000 indicators on a 2,000,000-line
# Suricata EVE log and Zeek conn + dns TSV logs (2,000,000 lines each), beside
# the Python json+set baseline (bench/match_baseline.py, same semantics: the
# hit counts per indicator must be equal) and `grep -F -f` (bytes/s reference).
#
#   bash bench/match.sh            # RUNS=3 by default
#
# Data: `accord generate-logs` (seed 42) into bench/data/match, once.
# Prints one line per figure and keeps the raw output in bench/runs/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ACCORD="${CARGO_TARGET_DIR:-$ROOT/target}/release/accord"
RUNS="${RUNS:-3}"
D="$DATA/match"
OUT="$RUN_DIR/match"
mkdir -p "$OUT"
LOG="$OUT/output.txt"
: > "$LOG"
say() { echo "$*" | tee -a "$LOG"; }

(cd "$ROOT" && cargo build --release --locked -p accord >&2)
if [ ! -f "$D/meta.json" ]; then
  "$ACCORD" generate-logs --out "$D" --indicators 1000000 --lines 2000000 --seed 42
fi
PY="$(command -v python3)"
say "machine: $(machine); load average before: $(cut -d' ' -f1-3 /proc/loadavg); commit $(git -C "$ROOT" rev-parse --short HEAD)"

# time -v wrapper: prints "wall user sys maxrss_kb" then the command's stderr to the log.
timed() {
  local tf; tf=$(mktemp)
  /usr/bin/time -f "%e %U %S %M" -o "$tf" "$@" 2>>"$LOG"
  cat "$tf"; rm -f "$tf"
}

IDX="$D/index.bin"
rm -f "$IDX" "$IDX.meta.json"
# 1. Load 1,000,000 indicators from JSON lines, compile patterns, build and save the index.
read -r w u s m < <(timed "$ACCORD" match --indicators "$D/indicators.jsonl" --index "$IDX" --no-sightings --threads 1 "$D/meta.json")
IDX_BYTES=$(stat -c %s "$IDX")
say "index: 1,000,000 indicators loaded, compiled and built in $w s (whole command), $IDX_BYTES bytes = $(awk -v b="$IDX_BYTES" 'BEGIN{printf "%.1f", b/1e6}') B/indicator, peak RSS $((m/1024)) MiB"

EVE_LINES=$(wc -l < "$D/eve.json"); EVE_BYTES=$(stat -c %s "$D/eve.json")
Z_LINES=$(( $(wc -l < "$D/conn.log") + $(wc -l < "$D/dns.log") ))
Z_BYTES=$(( $(stat -c %s "$D/conn.log") + $(stat -c %s "$D/dns.log") ))

run_accord() { # name threads files...
  local name=$1 t=$2; shift 2
  local walls=() cpus=() rss=0
  for i in $(seq "$RUNS"); do
    read -r w u s m < <(timed "$ACCORD" match --indicators "$D/indicators.jsonl" --index "$IDX" --no-sightings --no-progress \
      --threads "$t" --hits "$OUT/hits-$name-$t.jsonl" "$@")
    walls+=("$w"); cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}')"); [ "$m" -gt "$rss" ] && rss=$m
  done
  echo "$(printf '%s\n' "${walls[@]}" | median) $(printf '%s\n' "${cpus[@]}" | median) $rss $(printf '%s/' "${walls[@]}")"
}

for t in 1 2; do
  read -r w c m all < <(run_accord eve "$t" "$D/eve.json")
  say "accord EVE, $t thread(s): median $w s wall (${all%/}) = $(awk -v n="$EVE_LINES" -v w="$w" 'BEGIN{printf "%.0f", n/w}') events/s, $(awk -v n="$EVE_LINES" -v c="$c" 'BEGIN{printf "%.0f", n/c}') events per CPU-second, $(awk -v b="$EVE_BYTES" -v w="$w" 'BEGIN{printf "%.0f", b/1e6/w}') MB/s; peak RSS $((m/1024)) MiB (includes the mapped log's page-cache pages)"
done
for t in 1 2; do
  read -r w c m all < <(run_accord zeek "$t" "$D/conn.log" "$D/dns.log")
  say "accord Zeek conn+dns TSV, $t thread(s): median $w s wall (${all%/}) = $(awk -v n="$Z_LINES" -v w="$w" 'BEGIN{printf "%.0f", n/w}') lines/s, $(awk -v n="$Z_LINES" -v c="$c" 'BEGIN{printf "%.0f", n/c}') lines per CPU-second; peak RSS $((m/1024)) MiB"
done
# Memory without the mapped input: the log on standard input (read in bounded buffers).
read -r w u s m < <(timed sh -c "\"$ACCORD\" match --indicators \"$D/indicators.jsonl\" --index \"$IDX\" --no-sightings --no-progress --format eve - < \"$D/eve.json\"")
say "accord EVE from standard input (streamed, 1 thread): $w s, peak RSS $((m/1024)) MiB (index mapped: $((IDX_BYTES/1048576)) MiB)"

# 2. The Python json+set baseline, same indicators and logs.
read -r w u s m < <(timed sh -c "\"$PY\" \"$ROOT/bench/match_baseline.py\" --iocs \"$D/iocs.tsv\" --counts \"$OUT/py-eve.tsv\" \"$D/eve.json\" > \"$OUT/py-eve.json\"")
PY_EVE=$(python3 -c "import json;d=json.load(open('$OUT/py-eve.json'))['logs'];print(round(sum(v['lines'] for v in d.values())/sum(v['seconds'] for v in d.values())))")
say "python json+set, EVE: $PY_EVE events/s (scan only, 1 core; whole command $w s, peak RSS $((m/1024)) MiB)"
read -r w u s m < <(timed sh -c "\"$PY\" \"$ROOT/bench/match_baseline.py\" --iocs \"$D/iocs.tsv\" --counts \"$OUT/py-zeek.tsv\" \"$D/conn.log\" \"$D/dns.log\" > \"$OUT/py-zeek.json\"")
PY_Z=$(python3 -c "import json;d=json.load(open('$OUT/py-zeek.json'))['logs'];print(round(sum(v['lines'] for v in d.values())/sum(v['seconds'] for v in d.values())))")
say "python split+set, Zeek: $PY_Z lines/s (scan only, 1 core; whole command $w s)"

# 3. Correctness in the same run: hit counts per indicator.
for pair in "eve:py-eve" "zeek:py-zeek"; do
  a=${pair%%:*}; p=${pair##*:}
  python3 - "$OUT/hits-$a-1.jsonl" "$OUT/$p.tsv" "$a" <<'EOF' | tee -a "$LOG"
import collections, json, sys
ours = collections.Counter(json.loads(l)["indicator"] for l in open(sys.argv[1]))
theirs = {l.split("\t")[0]: int(l.split("\t")[1]) for l in open(sys.argv[2])}
same = ours == collections.Counter(theirs)
print("correctness %s: accord %d hits on %d indicators, python %d hits on %d indicators: %s"
      % (sys.argv[3], sum(ours.values()), len(ours), sum(theirs.values()), len(theirs),
         "per-indicator counts EQUAL" if same else "DIFFER"))
EOF
done

# 4. grep -F -f over the same EVE file (bytes/s reference; not the same work).
cut -f2 "$D/iocs.tsv" > "$OUT/values.txt"
read -r w u s m < <(timed sh -c "LC_ALL=C timeout 600 grep -F -c -f \"$OUT/values.txt\" \"$D/eve.json\" > \"$OUT/grep.count\"" || true)
say "grep -F -c -f (1,000,000 literals, LC_ALL=C) over eve.json: $w s = $(awk -v b="$EVE_BYTES" -v w="$w" 'BEGIN{printf "%.0f", b/1e6/w}') MB/s, $(cat "$OUT/grep.count") matching lines, peak RSS $((m/1024)) MiB"
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# Keep the summary, drop the bulky intermediate files.
rm -f "$OUT"/hits-*.jsonl "$OUT/values.txt" "$OUT"/py-*.tsv
echo "raw output: $LOG" >&2
