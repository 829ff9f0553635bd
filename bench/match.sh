#!/usr/bin/env bash
# Log matching: `accord match` against 1,000,000 indicators on a 2,000,000-line
# Suricata EVE log and Zeek conn + dns TSV logs (2,000,000 lines each), beside
# the Python json+set baseline (bench/match_baseline.py, same semantics: the
# hit counts per indicator must be equal) and `grep -F -f` (bytes/s reference).
#
#   bash bench/match.sh            # RUNS=3 by default
#   ONLY=load bash bench/match.sh  # the index loads only (file, store cold and warm, ingest then match)
#   BASE_ACCORD=/path/to/accord    # also load, and scan on 1 thread (interleaved), with another build
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
if [ ! -f "$D/meta.json" ] && [ "${ONLY:-}" != load ]; then
  "$ACCORD" generate-logs --out "$D" --indicators 1000000 --lines 2000000 --seed 42
fi
mkdir -p "$D"
PY="$(command -v python3)"
say "machine: $(machine); load average before: $(cut -d' ' -f1-3 /proc/loadavg); commit $(git -C "$ROOT" rev-parse --short HEAD)"

# time -v wrapper: prints "wall user sys maxrss_kb" then the command's stderr to the log.
timed() {
  local tf; tf=$(mktemp)
  /usr/bin/time -f "%e %U %S %M" -o "$tf" "$@" 2>>"$LOG"
  cat "$tf"; rm -f "$tf"
}

IDX="$D/index.bin"
rm -f "$IDX" "$IDX".*
# (ONLY=load without the generated logs: the file load is left out.)
if [ -f "$D/meta.json" ]; then

# 1. Load 1,000,000 indicators from JSON lines, compile patterns, build and save the index.
read -r w u s m < <(timed "$ACCORD" match --indicators "$D/indicators.jsonl" --index "$IDX" --no-sightings --threads 1 "$D/meta.json")
IDX_BYTES=$(stat -c %s "$IDX")
say "index: 1,000,000 indicators loaded, compiled and built in $w s (whole command), $(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}') CPU-s, $IDX_BYTES bytes = $(awk -v b="$IDX_BYTES" 'BEGIN{printf "%.1f", b/1e6}') B/indicator, peak RSS $((m/1024)) MiB"
# The same with another build (BASE_ACCORD=path/to/accord: an A/B in the same run).
if [ -n "${BASE_ACCORD:-}" ]; then
  rm -f "$IDX.base" "$IDX.base.meta.json"
  read -r w u s m < <(timed "$BASE_ACCORD" match --indicators "$D/indicators.jsonl" --index "$IDX.base" --no-sightings --threads 1 "$D/meta.json")
  say "index, BASE_ACCORD ($("$BASE_ACCORD" --version 2>/dev/null | head -1)): $w s (whole command), $(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}') CPU-s, peak RSS $((m/1024)) MiB"
  rm -f "$IDX.base" "$IDX.base.meta.json"
fi
fi

# 1b. Load from a store of 1,000,000 generated indicators (`accord demo --generated
# 1000000`, as bench/dashboard.sh makes it; MATCH_STORE overrides), copied so the
# original is not touched: cold (no saved index), warm (the saved index and
# nothing new), warm after 1,000 new indicator versions (added, revoked,
# modified). Floor in the same run: sqlite3 reading the indicators' JSON.
SRC_STORE="${MATCH_STORE:-$DATA/dashboard-1m}"
if [ -f "$SRC_STORE/accord.sqlite" ]; then
  S="$D/store-copy"
  rm -rf "$S"; mkdir -p "$S"
  cp "$SRC_STORE/accord.sqlite" "$S/"
  # A store made by `accord ingest` alone has no signing key yet.
  [ -f "$SRC_STORE/ledger.key" ] && cp "$SRC_STORE/ledger.key" "$S/"
  [ -f "$SRC_STORE/node-identity.json" ] && cp "$SRC_STORE/node-identity.json" "$S/"
  SIDX="$S.index.bin"
  echo '{"timestamp":"2026-01-01T00:00:00Z","event_type":"dns","src_ip":"192.0.2.1","dns":{"rrname":"x.example"}}' > "$OUT/one.json"
  N_IND=$(sqlite3 "$S/accord.sqlite" "select count(*) from objects where type='indicator'")
  read -r w u s m < <(timed sqlite3 -cmd ".output /dev/null" "$S/accord.sqlite" "select raw from objects where type='indicator'")
  say "floor: sqlite3 reads the $N_IND indicators' JSON: $w s wall, $(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}') CPU-s, peak RSS $((m/1024)) MiB"
  for t in 2 1; do
    rm -f "$SIDX" "$SIDX".*
    read -r w u s m < <(timed "$ACCORD" match --data "$S" --index "$SIDX" --no-sightings --no-progress --threads "$t" "$OUT/one.json")
    say "store load, cold ($N_IND indicators, $t thread(s)): $w s whole command, $(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}') CPU-s, peak RSS $((m/1024)) MiB"
  done
  if [ -n "${BASE_ACCORD:-}" ]; then
    rm -f "$SIDX.base" "$SIDX.base.meta.json"
    read -r w u s m < <(timed "$BASE_ACCORD" match --data "$S" --index "$SIDX.base" --no-sightings --no-progress "$OUT/one.json")
    say "store load, cold, BASE_ACCORD: $w s whole command, $(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}') CPU-s, peak RSS $((m/1024)) MiB"
    read -r w u s m < <(timed "$BASE_ACCORD" match --data "$S" --index "$SIDX.base" --no-sightings --no-progress "$OUT/one.json")
    say "store load, warm, BASE_ACCORD: $w s whole command, $(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}') CPU-s, peak RSS $((m/1024)) MiB"
    rm -f "$SIDX.base" "$SIDX.base".*
  fi
  read -r w u s m < <(timed "$ACCORD" match --data "$S" --index "$SIDX" --no-sightings --no-progress "$OUT/one.json")
  say "store load, warm (saved index, nothing new): $w s whole command, $(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}') CPU-s, peak RSS $((m/1024)) MiB"
  # 1,000 new versions: 800 new indicators, 100 revocations, 100 new patterns.
  python3 "$ROOT/bench/match_changes.py" "$S/accord.sqlite" > "$OUT/new.jsonl"
  # (exit status 1 when some version conflicts with a stored one; the line says how many)
  say "ingest of the changes: $("$ACCORD" ingest --no-progress --data "$S" --collection demo "$OUT/new.jsonl" 2>&1 | grep -m1 'objects read' || true)"
  read -r w u s m < <(timed "$ACCORD" match --data "$S" --index "$SIDX" --no-sightings --no-progress "$OUT/one.json")
  say "store load, warm (saved index + 1,000 new indicator versions applied): $w s whole command, $(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}') CPU-s, peak RSS $((m/1024)) MiB; $(grep -o 'brought up to date[^;]*' "$LOG" | tail -1)"
  read -r w u s m < <(timed "$ACCORD" match --data "$S" --index "$SIDX" --no-sightings --no-progress "$OUT/one.json")
  say "store load, warm again (the changes saved beside the index by the previous run, when this build saves them): $w s whole command, $(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}') CPU-s, peak RSS $((m/1024)) MiB"
  rm -rf "$S" "$SIDX" "$SIDX".* "$OUT/new.jsonl"
else
  say "store load: skipped ($SRC_STORE has no store; run bench/dashboard.sh or set MATCH_STORE)"
fi

# 1c. Ingest, then the first match (the index kept fresh as indicators
# arrive): a node that has matched before (its default index kept in
# DATA_DIR/match-index/, over one indicator) ingests 1,000,000 indicators;
# `accord ingest` brings the kept index up to date at its end (here past the
# delta's bound: a rebuild), so the first match after it maps the index.
# The same with BASE_ACCORD, whose ingest leaves the index behind and whose
# first match builds it. Also: the ingest alone, into a store with no index.
J1M="$DATA/indicators-1m.jsonl"
[ -s "$J1M" ] || "$ACCORD" generate --count 1000000 -o "$J1M"
cpu() { awk -v u="$1" -v s="$2" 'BEGIN{print u+s}'; }
ingest_then_match() { # label binary
  local label=$1 bin=$2 d="$D/fresh-store"
  rm -rf "$d"
  head -1 "$J1M" > "$OUT/first.jsonl"
  "$bin" ingest --no-progress --data "$d" --collection c "$OUT/first.jsonl" > /dev/null 2>&1
  "$bin" match --data "$d" --no-sightings --no-progress "$OUT/one.json" > /dev/null 2>&1
  local before; before=$(wc -l < "$LOG")
  read -r w u s m < <(timed "$bin" ingest --no-progress --data "$d" --collection c "$J1M")
  local refresh; refresh=$(tail -n +"$before" "$LOG" | grep -o 'match index .*' | tail -1 || true)
  say "$label: ingest of 1,000,000 into a store with a kept index: $w s whole command, $(cpu "$u" "$s") CPU-s, peak RSS $((m/1024)) MiB; ${refresh:-no index refreshed}"
  read -r w u s m < <(timed "$bin" match --data "$d" --no-sightings --no-progress "$OUT/one.json")
  say "$label: the first match after it: $w s whole command, $(cpu "$u" "$s") CPU-s, peak RSS $((m/1024)) MiB; $(tail -n 4 "$LOG" | grep -o 'index reused[^;]*' | tail -1 || true)"
  read -r w u s m < <(timed "$bin" match --data "$d" --no-sightings --no-progress "$OUT/one.json")
  say "$label: the second match: $w s whole command, $(cpu "$u" "$s") CPU-s, peak RSS $((m/1024)) MiB"
  rm -rf "$d"
  read -r w u s m < <(timed "$bin" ingest --no-progress --data "$d" --collection c "$J1M")
  say "$label: ingest of 1,000,000 into a fresh store (no index kept): $w s whole command, $(cpu "$u" "$s") CPU-s, peak RSS $((m/1024)) MiB"
  rm -rf "$d"
}
if [ -f "$SRC_STORE/accord.sqlite" ]; then
  for i in $(seq "${LOAD_RUNS:-1}"); do
    ingest_then_match "this build" "$ACCORD"
    if [ -n "${BASE_ACCORD:-}" ]; then ingest_then_match "BASE_ACCORD" "$BASE_ACCORD"; fi
  done
fi

if [ "${ONLY:-}" = load ]; then say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"; echo "raw output: $LOG" >&2; exit 0; fi

EVE_LINES=$(wc -l < "$D/eve.json"); EVE_BYTES=$(stat -L -c %s "$D/eve.json")
Z_LINES=$(( $(wc -l < "$D/conn.log") + $(wc -l < "$D/dns.log") ))
Z_BYTES=$(( $(stat -L -c %s "$D/conn.log") + $(stat -L -c %s "$D/dns.log") ))

run_accord() { # name threads files... (BIN=another build)
  local name=$1 t=$2; shift 2
  local walls=() cpus=() rss=0
  for i in $(seq "$RUNS"); do
    read -r w u s m < <(timed "${BIN:-$ACCORD}" match --indicators "$D/indicators.jsonl" --index "$IDX" --no-sightings --no-progress \
      --threads "$t" --hits "$OUT/hits-$name-$t.jsonl" "$@")
    walls+=("$w"); cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}')"); [ "$m" -gt "$rss" ] && rss=$m
  done
  echo "$(printf '%s\n' "${walls[@]}" | median) $(printf '%s\n' "${cpus[@]}" | median) $rss $(printf '%s/' "${walls[@]}")"
}

# One thread, this build and BASE_ACCORD's alternately (RUNS each), so both
# see the same machine load: the per-core figures as an A/B.
if [ -n "${BASE_ACCORD:-}" ]; then
  for what in eve zeek; do
    if [ "$what" = eve ]; then files=("$D/eve.json"); n=$EVE_LINES; else files=("$D/conn.log" "$D/dns.log"); n=$Z_LINES; fi
    aw=(); bw=(); ac=(); bc=()
    for i in $(seq "$RUNS"); do
      read -r w c _ _ < <(RUNS=1 run_accord "$what" 1 "${files[@]}"); aw+=("$w"); ac+=("$c")
      read -r w c _ _ < <(RUNS=1 BIN="$BASE_ACCORD" run_accord "$what-base" 1 "${files[@]}"); bw+=("$w"); bc+=("$c")
    done
    a=$(printf '%s\n' "${aw[@]}" | median); b=$(printf '%s\n' "${bw[@]}" | median)
    a_c=$(printf '%s\n' "${ac[@]}" | median); b_c=$(printf '%s\n' "${bc[@]}" | median)
    say "A/B $what, 1 thread, interleaved: this build median $a s wall ($(printf '%s/' "${aw[@]}" | sed 's,/$,,')) = $(awk -v n="$n" -v w="$a" 'BEGIN{printf "%.0f", n/w}') lines/s, $a_c CPU-s; BASE_ACCORD median $b s ($(printf '%s/' "${bw[@]}" | sed 's,/$,,')) = $(awk -v n="$n" -v w="$b" 'BEGIN{printf "%.0f", n/w}') lines/s, $b_c CPU-s; wall ratio $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", b/a}')x, CPU ratio $(awk -v a="$a_c" -v b="$b_c" 'BEGIN{printf "%.2f", b/a}')x"
    rm -f "$OUT/hits-$what-base-1.jsonl"
  done
fi

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
