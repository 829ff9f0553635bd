#!/usr/bin/env bash
# Patterns seen once (issue 21): N fresh random cases, each its own pattern
# and observations, from the stix2-matcher differential's generator
# (crates/accord/tests/pattern_diff.py, fixed seed), through
# `accord pattern match --batch` (release build) and through stix2-matcher
# 3.0.0 (bench/pattern_fresh.py), whole process each side, runs interleaved.
#
#   bash bench/pattern_fresh.sh                 # N=3000 SEED=21 RUNS=5, ~1 minute
#   BEFORE=/path/to/other/accord bash bench/pattern_fresh.sh   # a third column, same run
#
# Prints every run's wall and CPU time (user + system; the machine is
# shared, CPU time is the steadier), the medians, the ratios stix2-matcher /
# Accord, and Accord's slowest single case (from a separate, untimed run
# with `--timings`: the time from the end of the case before to a case's
# answer, in CPU time and by the wall clock, the worst over all runs; the
# timed runs go without it, on both sides, as its clock readings cost a
# system call a case); keeps the raw output in
# bench/runs/<date>-<host>/pattern-fresh.txt.
source "$(dirname "$0")/common.sh"
N="${N:-3000}"
SEED="${SEED:-21}"
RUNS="${RUNS:-5}"
if [ -n "${ACCORD_PYTHON:-}" ]; then PY="$ACCORD_PYTHON"; else PY="$(peer_python)"; fi
"$PY" -c 'import stix2matcher' 2>/dev/null || { echo "stix2-matcher is not importable by $PY" >&2; exit 1; }
build_accord
ACCORD="${CARGO_TARGET_DIR:-$ROOT/target}/release/accord"
CASES="$DATA/pattern-fresh-$SEED-$N.jsonl"
if [ ! -s "$CASES" ]; then
  "$PY" "$ROOT/crates/accord/tests/pattern_diff.py" --seed "$SEED" --cases "$N" --no-peer --out "$CASES.tmp" >&2
  mv "$CASES.tmp" "$CASES"
fi
OUT="$(run_file pattern-fresh)"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT

# CPU seconds (user + system) of this shell's finished children, from the
# `times` builtin (run in this shell, not a subshell, to see its children).
child_cpu() { tail -1 "$1" | awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } printf "%.3f", s }'; }
# "WALL CPU" seconds of one command (stdout to $1, stderr to $2); the
# machine is shared, so CPU time is the steadier figure.
timed() {
  local so=$1 se=$2; shift 2
  local t0 t1
  times >"$T/times0"; t0=$EPOCHREALTIME
  "$@" >"$so" 2>"$se"
  t1=$EPOCHREALTIME; times >"$T/times1"
  awk -v a="$t0" -v b="$t1" -v c0="$(child_cpu "$T/times0")" -v c1="$(child_cpu "$T/times1")" 'BEGIN{printf "%.4f %.3f\n", b-a, c1-c0}'
}
slowest_wall_us() { sed -n 's/.*; wall .* slowest \([0-9.]*\) us.*; CPU .*/\1/p' "$1"; }
slowest_cpu_us() { sed -n 's/.*; CPU .* slowest \([0-9.]*\) us.*/\1/p' "$1"; }

{
  echo "# $(date -u +%FT%TZ) $(machine); load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- crates || echo ' + uncommitted changes'); cases: $CASES ($N cases, seed $SEED, $(stat -c %s "$CASES") bytes)"
  echo "# stix2-matcher $("$PY" -c 'import importlib.metadata as m; print(m.version("stix2-matcher"))') under $("$PY" -c 'import sys; print(sys.version.split()[0])')"
  aw=() ac=() pw=() pc=() bw=() bc=() slow=() slowc=()
  for i in $(seq "$RUNS"); do
    read -r w c < <(timed "$T/accord.out" "$T/accord.err" "$ACCORD" pattern match --batch "$CASES")
    aw+=("$w"); ac+=("$c")
    "$ACCORD" pattern match --batch "$CASES" --timings >"$T/timings.out" 2>"$T/timings.err"
    cmp -s "$T/accord.out" "$T/timings.out" || echo "run $i: [ANSWERS DIFFER with --timings]"
    slow+=("$(slowest_wall_us "$T/timings.err")"); slowc+=("$(slowest_cpu_us "$T/timings.err")")
    line="run $i: accord $w s wall, $c s CPU (--timings run: $(sed 's/^timings: //' "$T/timings.err"))"
    if [ -n "${BEFORE:-}" ]; then
      read -r w c < <(timed "$T/before.out" "$T/before.err" "$BEFORE" pattern match --batch "$CASES")
      bw+=("$w"); bc+=("$c")
      cmp -s "$T/accord.out" "$T/before.out" || line="$line [ANSWERS DIFFER from BEFORE's]"
      line="$line; before $w s wall, $c s CPU"
    fi
    read -r w c < <(timed "$T/peer.out" "$T/peer.err" "$PY" "$ROOT/bench/pattern_fresh.py" "$CASES")
    pw+=("$w"); pc+=("$c")
    echo "$line; stix2-matcher $w s wall, $c s CPU"
  done
  med() { printf '%s\n' "$@" | median; }
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", a/b}'; }
  maw=$(med "${aw[@]}"); mac=$(med "${ac[@]}"); mpw=$(med "${pw[@]}"); mpc=$(med "${pc[@]}")
  echo "median accord: $maw s wall, $mac s CPU ($(awk -v n="$N" -v t="$maw" 'BEGIN{printf "%.1f", t/n*1e6}') us a case wall, process start included)"
  echo "median stix2-matcher: $mpw s wall, $mpc s CPU"
  echo "ratio stix2-matcher / accord: $(ratio "$mpw" "$maw")x wall, $(ratio "$mpc" "$mac")x CPU"
  echo "accord slowest single case over $RUNS runs: $(printf '%s\n' "${slowc[@]}" | sort -g | tail -1) us of CPU (per run: ${slowc[*]}); by the wall clock $(printf '%s\n' "${slow[@]}" | sort -g | tail -1) us (per run: ${slow[*]}; includes waiting for a core)"
  if [ -n "${BEFORE:-}" ]; then
    mbw=$(med "${bw[@]}"); mbc=$(med "${bc[@]}")
    echo "median before ($BEFORE): $mbw s wall, $mbc s CPU; stix2-matcher / before: $(ratio "$mpw" "$mbw")x wall, $(ratio "$mpc" "$mbc")x CPU; before / accord: $(ratio "$mbw" "$maw")x wall, $(ratio "$mbc" "$mac")x CPU"
  fi
  echo "answers: $(grep -c '"match":true' "$T/accord.out") match, $(grep -c '"match":false' "$T/accord.out") no match, $(grep -c '"error"' "$T/accord.out") error (stix2-matcher: $(grep -c '"match":true' "$T/peer.out") / $(grep -c '"match":false' "$T/peer.out") / $(grep -c '"error"' "$T/peer.out"); the differences are the documented deviations, checked by crates/accord/tests/pattern_differential.rs)"
} 2>&1 | tee "$OUT"
