#!/usr/bin/env bash
# The dashboard's ATT&CK technique pages on a 1,000,000-object store:
# ICS ATT&CK 18.1 imported, N_IND generated indicators (default 700,000)
# and N_REL `indicates` relationships (default 300,000) from them to the
# release's 95 techniques. Each page's time to answer (curl's time_total,
# signed in), 10 times after a warm-up, median and max; the floor in the
# same run is the partners page (no store read) and the overview as it was
# before (its other sections). Also: how long the node's background
# follower took to read the store at start (its log line).
#
#   bash bench/techniques.sh
#
# The bound: every page < 100 ms (the issue's).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
build_accord
N_IND="${N_IND:-700000}"
N_REL="${N_REL:-300000}"
STORE="$DATA/techniques-1m"
PORT="${PORT:-18493}"
URL="http://127.0.0.1:$PORT"
CONF="$DATA/techniques-1m.toml"
if [ ! -d "$STORE" ]; then
  "$ACCORD" init -o "$CONF" --user bench --name bench --listen "127.0.0.1:$PORT" --data "$STORE" > "$DATA/techniques-init.txt"
  "$ACCORD" import attack --data "$STORE" --no-progress "$ROOT/data/demo/stix/ics-attack-18.1.json" >&2
  "$ACCORD" generate --count "$N_IND" --seed 11 -o "$DATA/techniques-ind.jsonl"
  python3 - "$DATA/techniques-ind.jsonl" "$ROOT/data/demo/stix/ics-attack-18.1.json" "$N_REL" > "$DATA/techniques-rel.jsonl" <<'EOF'
import json, sys, uuid
inds = [json.loads(l)["id"] for l in open(sys.argv[1])]
aps = [o["id"] for o in json.load(open(sys.argv[2]))["objects"] if o["type"] == "attack-pattern" and not o.get("revoked")]
t = "2026-01-01T00:00:00.000Z"
for n in range(int(sys.argv[3])):
    print(json.dumps({"type": "relationship", "spec_version": "2.1",
        "id": "relationship--" + str(uuid.UUID(int=(0x1 << 76) | n, version=4)),
        "created": t, "modified": t, "relationship_type": "indicates",
        "source_ref": inds[n % len(inds)], "target_ref": aps[(n * 7) % len(aps)]}))
EOF
  "$ACCORD" ingest --data "$STORE" --no-progress "$DATA/techniques-ind.jsonl" >&2
  "$ACCORD" ingest --data "$STORE" --no-progress "$DATA/techniques-rel.jsonl" >&2
fi
PW=$(sed -n 's/.*has password `\([^`]*\)`.*/\1/p' "$DATA/techniques-init.txt")
"$ACCORD" serve --config "$CONF" > "$DATA/techniques-serve.log" 2>&1 &
NODE=$!
trap 'kill $NODE 2>/dev/null; wait $NODE 2>/dev/null' EXIT
for _ in $(seq 600); do
  grep -q "ATT&CK techniques caught up" "$DATA/techniques-serve.log" && break
  sleep 1
done
grep -q "ATT&CK techniques caught up" "$DATA/techniques-serve.log" || { tail "$DATA/techniques-serve.log"; exit 1; }
JAR="$(mktemp)"
csrf=$(curl -s -c "$JAR" -b "$JAR" "$URL/" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p')
curl -s -o /dev/null -c "$JAR" -b "$JAR" --data "csrf=$csrf&user=bench&password=$PW" "$URL/login"
t() { curl -s -o /dev/null -w '%{time_total}\n' -b "$JAR" "$URL$1"; }
ms() { awk '{printf "%.1f\n", $1 * 1000}'; }
pages=(/ui/partners / /ui/techniques /ui/techniques/T0801 /ui/techniques/T0883)
{
  echo "date: $(date -u +%FT%TZ)  commit: $(git -C "$ROOT" rev-parse --short HEAD)  machine: $(machine)  load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "store: $("$ACCORD" report techniques --data "$STORE" 2>&1 >/dev/null | tail -1)"
  grep -o "ATT&CK techniques caught up.*" "$DATA/techniques-serve.log" | head -1
  printf '%-45s %10s %10s\n' page "median ms" "max ms"
  for p in "${pages[@]}"; do
    t "$p" > /dev/null
    times=$(for _ in $(seq 10); do t "$p"; done | ms)
    printf '%-45s %10s %10s\n' "$p" "$(echo "$times" | median)" "$(echo "$times" | sort -g | tail -1)"
  done
} | tee "$(run_file techniques)"
rm -f "$JAR"
