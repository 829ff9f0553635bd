#!/usr/bin/env bash
# MISP import: `accord import misp` vs MISP's own misp-stix, same events, same run.
#
#   bash bench/misp_import.sh          # N=1000000 attributes; PEER_EVENTS=20
#
# Input: a generated MISP feed (bench/misp_feed_gen.py, seed 7) of N
# attributes in events of 1,000 (manifest.json, hashes.csv). Timed: the
# whole `accord import misp` command into a fresh data directory (read,
# convert, hashes.csv check, validate, store durably with ledger records),
# and misp-stix's MISPtoSTIX21Parser.parse_misp_event + bundle on the first
# PEER_EVENTS events of the same feed (JSON already parsed; misp-stix on all
# 1,000,000 attributes would take most of an hour). Compared per attribute.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
N="${N:-1000000}"
PEER_EVENTS="${PEER_EVENTS:-20}"
build_accord
# ACCORD_PYTHON: a Python with misp-stix (else the repo's .venv, made when missing).
PY="${ACCORD_PYTHON:-$(peer_python)}"
"$PY" -c 'import misp_stix_converter' 2>/dev/null || "$(dirname "$PY")/pip" install -q -r "$ROOT/requirements-test.txt" >&2
FEED="$DATA/misp-feed-$N"
[ -s "$FEED/manifest.json" ] || "$PY" "$ROOT/bench/misp_feed_gen.py" "$FEED" "$N" 1000 7
OUT="$(run_file misp_import)"
echo "machine: $(machine); commit $(git -C "$ROOT" rev-parse --short HEAD)" | tee "$OUT"

echo "== misp-stix, $PEER_EVENTS events" >&2
peer=$("$PY" - "$FEED" "$PEER_EVENTS" <<'PY'
import json, os, sys, time
from misp_stix_converter import MISPtoSTIX21Parser
feed, k = sys.argv[1], int(sys.argv[2])
uuids = sorted(json.load(open(os.path.join(feed, "manifest.json"))))[:k]
events = [json.load(open(os.path.join(feed, u + ".json"))) for u in uuids]
attrs = sum(len(e["Event"]["Attribute"]) + sum(len(o["Attribute"]) for o in e["Event"]["Object"]) for e in events)
objs = 0
t, cpu = time.perf_counter(), time.process_time()
for e in events:
    p = MISPtoSTIX21Parser()
    p.parse_misp_event(e)
    objs += len(p.bundle.objects)
s, cpu = time.perf_counter() - t, time.process_time() - cpu
print(f"{attrs} {objs} {s:.2f} {attrs / s:.0f} {objs / s:.0f} {cpu:.2f} {attrs / cpu:.0f}")
PY
)
echo "misp-stix: attributes objects seconds attributes/s objects/s cpu-seconds attributes/cpu-s = $peer" | tee -a "$OUT"
peer_rate=$(echo "$peer" | awk '{print $4}')
peer_cpu_rate=$(echo "$peer" | awk '{print $7}')

echo "== accord import misp, $N attributes" >&2
D="$(mktemp -d "$DATA/misp-import.XXXXXX")"
trap 'rm -rf "$D"' EXIT
/usr/bin/time -f "peak RSS %M KiB; CPU user %U s, sys %S s, wall %e s" "$ACCORD" import misp --no-progress --data "$D/node" "$FEED" 2>&1 | tail -2 | tee -a "$OUT"
line=$(grep "attributes/s" "$OUT" | tail -1)
ours=$(echo "$line" | sed -n 's/.* \([0-9]*\) attributes\/s.*/\1/p')
echo "ratio (attributes/s): $ours / $peer_rate = $(awk -v a="$ours" -v b="$peer_rate" 'BEGIN{printf "%.0f", a/b}')x" | tee -a "$OUT"
# On a machine shared with other work the wall clock of each phase depends
# on the load of its moment; CPU seconds per attribute compare more fairly.
cpu=$(grep "CPU user" "$OUT" | tail -1 | awk '{for (i = 1; i <= NF; i++) {if ($i == "user") u = $(i + 1); if ($i == "sys") s = $(i + 1)}} END {print u + s}')
echo "ratio (attributes per CPU second): $(awk -v n="$N" -v c="$cpu" 'BEGIN{printf "%.0f", n/c}') / $peer_cpu_rate = $(awk -v n="$N" -v c="$cpu" -v b="$peer_cpu_rate" 'BEGIN{printf "%.0f", n/c/b}')x" | tee -a "$OUT"

# The floor: the same objects, already converted (exported from the store
# just filled, as JSON lines), through `accord ingest` into a fresh data
# directory: the seam's validation and the durable store alone.
echo "== accord ingest of the converted objects" >&2
"$ACCORD" export --data "$D/node" --jsonl --versions all -o "$D/converted.jsonl" >&2
rm -rf "$D/node"
/usr/bin/time -f "peak RSS %M KiB; CPU user %U s, sys %S s, wall %e s" "$ACCORD" ingest --no-progress --data "$D/ingest" "$D/converted.jsonl" 2>&1 | tail -2 | sed 's/^/ingest alone: /' | tee -a "$OUT"
