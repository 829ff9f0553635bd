#!/usr/bin/env bash
# Runs each fuzz target for SECONDS (default: every target):
#   fuzz/run.sh SECONDS [TARGET...]
#
# Only a stable toolchain is needed: cargo-fuzz builds the libFuzzer
# targets with RUSTC_BOOTSTRAP=1 (it passes unstable -Z flags) and
# `--sanitizer none` (no AddressSanitizer runtime on stable; Rust's own
# checks, debug assertions and overflow checks still catch panics, which
# is what these targets look for). cargo-fuzz is installed from crates.io
# when missing. A crash leaves its input in fuzz/artifacts/TARGET/ and makes
# this script exit non-zero. Each run starts from fuzz/corpus/TARGET
# (kept between runs, not committed), seeded from the repository's real
# files (data/demo, data/fixtures) and fuzz/seeds/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(document object pattern pattern_json timestamp taxii logs note tiles config misp_event warninglist work_task index_fast_paths)
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
export RUSTC_BOOTSTRAP=1
data=../data

seed() { # seed TARGET FILE... : copy the files into the target's corpus
  local t=$1; shift
  mkdir -p "corpus/$t"
  for f in "$@"; do
    [ -f "$f" ] && cp -f "$f" "corpus/$t/seed-$(basename "$f")"
  done
  return 0
}
seed document "$data"/demo/stix/*.json "$data"/fixtures/stix-invalid/*.json
seed object "$data"/demo/stix/oasis-*.json "$data"/demo/observed.json
seed pattern "$data"/demo/pattern-cases.jsonl
# The batch reader's JSON: whole case lines.
if [ -f "$data/demo/pattern-cases.jsonl" ]; then
  mkdir -p corpus/pattern_json
  head -100 "$data/demo/pattern-cases.jsonl" | split -l 1 - corpus/pattern_json/seed-case-
fi
seed pattern_json "$data"/demo/stix/*.json
if [ -f "$data/demo/pattern-cases.jsonl" ]; then
  # Each case's pattern on its own, as the parser sees it.
  i=0
  grep -o '"pattern": *"[^"]*"' "$data/demo/pattern-cases.jsonl" | head -200 |
    sed 's/^"pattern": *"//; s/"$//' | while IFS= read -r p; do
      i=$((i + 1)); printf '%s' "$p" > "corpus/pattern/seed-case-$i"
    done
fi
seed timestamp /dev/null
printf '2016-05-12T08:17:27.000Z' > corpus/timestamp/seed-ts
seed taxii seeds/taxii/*
seed logs "$data"/demo/logs/* "$data"/fixtures/zeek/*.log "$data"/fixtures/suricata/*.json
seed note seeds/note/*
seed tiles seeds/tiles/*
seed config seeds/config/*
seed misp_event seeds/misp_event/* ../../shared/data/misp/events/*.json
seed warninglist seeds/warninglist/* ../../shared/data/misp/warninglists/*.json
seed work_task seeds/work_task/*
seed index_fast_paths seeds/index_fast_paths/*

status=0
for t in "${targets[@]}"; do
  log="corpus/$t.log"
  echo "fuzz $t: ${secs}s"
  if ! cargo fuzz run --sanitizer none "$t" "corpus/$t" -- \
      -max_total_time="$secs" -max_len=1048576 -rss_limit_mb=2048 -timeout=20 \
      -print_final_stats=1 >"$log" 2>&1; then
    echo "fuzz $t: CRASH (see $log and artifacts/$t/)"
    tail -40 "$log"
    status=1
  fi
  runs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' ||
    grep -ao '^#[0-9]*' "$log" | tail -1 | tr -d '#' || echo '?')
  echo "fuzz $t: $runs executions in ${secs}s"
done
exit $status
