#!/usr/bin/env bash
# Real STIX 2.1 content, object by object: `accord validate` beside the OASIS
# stix2-validator, disagreements grouped by class (bench/real_content.py).
#
#   bash bench/real_content.sh                 # ../shared/data and the in-repo fixtures
#   bash bench/real_content.sh DIR_OR_FILE...  # other content, e.g. a checkout of
#                                              # mitre-attack/attack-stix-data
#   ACCORD_BIN=/path/to/accord bash bench/real_content.sh ...   # another build
#
# The first run of stix2-validator takes ~2.5 ms per object (3 minutes for
# ATT&CK ICS and Mobile, every release: 71,229 objects); its verdicts are
# cached in bench/data/real-content/, so later runs cost Accord's time only.
# Output: the table on stdout and in bench/runs/DATE-HOST/real-content*.txt.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PY="${ACCORD_PYTHON:-$(peer_python)}"
if [ -n "${ACCORD_BIN:-}" ]; then ACCORD="$ACCORD_BIN"; else build_accord; fi
if [ $# -eq 0 ]; then
  set -- "$SHARED/data/stix" "$SHARED/data/misp" "$ROOT/data/fixtures/stix-invalid"
  for d in "$@"; do [ -e "$d" ] || { echo "skip: $d is absent"; exit 0; }; done
fi
OUT="$(run_file real-content)"
{
  if [ -n "${ACCORD_BIN:-}" ]; then built="given by ACCORD_BIN"; else built="built at $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet || echo '+dirty')"; fi
  echo "date: $(date -u +%FT%TZ)  accord: $ACCORD ($built)  machine: $(machine)"
  echo "inputs: $*"
  "$PY" "$ROOT/bench/real_content.py" "$ACCORD" "$DATA/real-content" "$@"
} | tee "$OUT"
