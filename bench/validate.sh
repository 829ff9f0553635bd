#!/usr/bin/env bash
# STIX validation: Accord vs the OASIS stix2-validator, side by side, same input.
#
#   bash bench/validate.sh            # ~2 minutes
#
# Input: the peer benchmark's bundle of 10,000 generated indicators
# (../shared/peers/stixgen.py, seed 5), plus 1,000,000 indicators from
# `accord generate` for Accord's steady-state rate. Timed: stix2-validator's
# library call validate_instance(bundle, ValidationOptions(version="2.1"))
# (JSON already parsed, as PEERS.md measures it), and the whole `accord
# validate` command (startup, file read and JSON parse included).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
RUNS="${RUNS:-3}"
build_accord
PY="$(peer_python)"
B10K="$DATA/validator-bundle-10k.json"
if [ ! -s "$B10K" ]; then
  PYTHONPATH="$SHARED/peers" "$PY" -c "
import json, stixgen
json.dump(stixgen.bundle(stixgen.indicators(10000, seed=5)), open('$B10K', 'w'))"
fi
J1M="$DATA/indicators-1m.jsonl"
[ -s "$J1M" ] || "$ACCORD" generate --count 1000000 -o "$J1M"

echo "== stix2-validator, library call, 10,000 indicators, $RUNS runs" >&2
peer=$("$PY" - "$B10K" "$RUNS" <<'PY'
import json, sys, time
from stix2validator import validate_instance, ValidationOptions
b = json.load(open(sys.argv[1])); n = len(b["objects"])
for _ in range(int(sys.argv[2])):
    t = time.perf_counter(); r = validate_instance(b, ValidationOptions(version="2.1")); s = time.perf_counter() - t
    assert r.is_valid, r.errors[:3]
    print(n / s)
PY
)
peer_med=$(echo "$peer" | median)

rate() { # objects/s printed by `accord validate`'s summary line
  "$ACCORD" validate --no-warnings "$1" 2>&1 >/dev/null | sed -n 's/.*(\([0-9]*\) objects\/s).*/\1/p'
}
echo "== accord validate, same 10,000-indicator bundle, $RUNS runs (whole command)" >&2
a10k=$(for _ in $(seq "$RUNS"); do
  t0=$(date +%s.%N); "$ACCORD" validate --no-warnings "$B10K" >/dev/null 2>&1; t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN {print 10000 / (b - a)}'; done | median)
echo "== accord validate, 1,000,000 indicators (JSON lines), $RUNS runs" >&2
a1m=$(for _ in $(seq "$RUNS"); do rate "$J1M"; done | median)

{
  echo "date: $(date -u +%FT%TZ)  commit: $(git -C "$ROOT" rev-parse --short HEAD)  machine: $(machine)"
  printf "stix2-validator 3.3.2, 10k bundle, library call: %.0f objects/s (median of %s: %s)\n" "$peer_med" "$RUNS" "$(echo $peer | tr '\n' ' ')"
  printf "accord validate, same 10k bundle, whole command: %.0f objects/s  ratio %.0fx\n" "$a10k" "$(awk -v a="$a10k" -v p="$peer_med" 'BEGIN {print a / p}')"
  printf "accord validate, 1M indicators JSON lines: %.0f objects/s  ratio %.0fx\n" "$a1m" "$(awk -v a="$a1m" -v p="$peer_med" 'BEGIN {print a / p}')"
} | tee "$(run_file validate)"
