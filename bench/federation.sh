#!/usr/bin/env bash
# Federation: a sync of N objects between two nodes on this machine, with
# the agreement's policy and the log on, set beside the receiving node's own
# `accord ingest` of the same objects measured in the same run; and the CPU
# an idle partner costs per sync interval.
#
#   bash bench/federation.sh            # N=1000000 (~5 minutes)
#   N=200000 bash bench/federation.sh
#   PAGE=1000 bash bench/federation.sh  # pages of 1,000 (a's max_page_size, b's page_size; the default is 5,000)
#
# Node a holds N generated indicators (one in ten names a person's e-mail
# address; half of IPv4 is declared a customer range, so about half of the
# IP indicators are truncated); b pulls them with `accord sync --once`
# under an agreement that pseudonymises personal data and truncates
# customer addresses. Every object passes a's release decision, is logged
# `out` at a and `in` at b, and is validated and stored at b.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
N="${N:-1000000}"
IDLE_SECS="${IDLE_SECS:-30}"
build_accord
W="$(mktemp -d "$DATA/federation.XXXX")"
trap 'kill $(cat "$W"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$W"' EXIT
SRC="$DATA/federation-$N.jsonl"
if [ ! -s "$SRC" ]; then
  "$ACCORD" generate --count "$N" |
    sed '0~10s/"description":"Generated/"description":"Reported by analyst.wang@example.org; generated/' >"$SRC"
fi
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PA=$(port); PB=$(port)
init() { # name user port -> password
  "$ACCORD" init -o "$W/$1.toml" --name "$1" --user "$2" --listen "127.0.0.1:$3" --data "$W/$1" |
    sed -n 's/.*has password `\([^`]*\)`.*/\1/p'
}
PW_B_AT_A=$(init a b "$PA")
init b a "$PB" >/dev/null
COLL=$(sed -n 's/^id = "\(.*\)"/\1/p' "$W/a.toml" | head -1)
key() { "$ACCORD" ledger key --json --config "$W/$1.toml" | sed -E "s/.*\"$2\": *\"([^\"]*)\".*/\1/"; }
printf '%s\n' "$PW_B_AT_A" >"$W/b-at-a.password"
PAGE="${PAGE:-5000}"
sed -i "s/^max_page_size = .*/max_page_size = $PAGE/" "$W/a.toml"
cat >>"$W/a.toml" <<TOML

[residency]
customer_ranges = ["0.0.0.0/1"]

[[partners]]
name = "b"
url = "http://127.0.0.1:$PB/"
verifier_key = "$(key b verifier_key)"
witness_key = "$(key b witness_key)"
account = "b"
[partners.sync]
interval_secs = 0
[partners.outbound]
max_tlp = "amber"
[partners.outbound.categories]
personal = "pseudonymise"
customer_address = "truncate"
TOML
cat >>"$W/b.toml" <<TOML

[[partners]]
name = "a"
url = "http://127.0.0.1:$PA/"
api_root = "api1"
verifier_key = "$(key a verifier_key)"
user = "b"
password_file = "$W/b-at-a.password"
[partners.sync]
pull = ["$COLL"]
into = "from-a"
interval_secs = 0
page_size = $PAGE
[partners.inbound]
producers = ["identity--7d5b2c9a-3f1e-4b8a-9c6d-2e4f8a1b3c5d"]
TOML
"$ACCORD" ingest --no-progress --data "$W/a" --collection default "$SRC" >&2
"$ACCORD" serve --config "$W/a.toml" >"$W/a.log" 2>&1 & echo $! >"$W/a.pid"
until grep -q "listening on" "$W/a.log"; do sleep 0.1; done
# The dashboard's search index is built in the background after a first
# start: let it finish, so the figures are the sync's and the idle's alone.
caught_up() { until grep -q "search index caught up" "$1"; do sleep 0.5; done; }
caught_up "$W/a.log"

echo "== sync of $N objects a -> b (policy and log on), then b's own ingest of the same file" >&2
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
ta_s0=$(ticks "$(cat "$W/a.pid")")
t0=$(date +%s.%N)
if [ -n "${PERF_SYNC:-}" ]; then
  perf record -F 499 -g -a -o "$PERF_SYNC" -- /usr/bin/time -f "CPU %U %S" -o "$W/sync.time" "$ACCORD" sync --config "$W/b.toml" --once >"$W/sync.out" 2>&1 || { cat "$W/sync.out" >&2; exit 1; }
else
  /usr/bin/time -f "CPU %U %S" -o "$W/sync.time" "$ACCORD" sync --config "$W/b.toml" --once >"$W/sync.out" 2>&1 || { cat "$W/sync.out" >&2; exit 1; }
fi
t1=$(date +%s.%N)
ta_s1=$(ticks "$(cat "$W/a.pid")")
sync_cpu=$(awk '/^CPU/ {printf "%.1f s user + %.1f s sys", $2, $3}' "$W/sync.time")
a_cpu=$(awk -v t=$((ta_s1 - ta_s0)) -v hz="$hz" 'BEGIN {printf "%.1f s", t / hz}')
sync_rate=$(awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN {printf "%d", n / (b - a)}')
stored=$(sed -n 's/.*pulled \([0-9]*\) from.*/\1/p' "$W/sync.out" | head -1)
redacted=$(grep -c '"action":"redacted"' <("$ACCORD" ledger entries --data "$W/a") || true)
fresh="$W/fresh"
out=$("$ACCORD" ingest --no-progress --data "$fresh" "$SRC" 2>&1 >/dev/null)
ingest_rate=$(echo "$out" | sed -n 's/.*, \([0-9]*\) objects\/s).*/\1/p')

gets() { grep -c "GET path=/api1/collections/$COLL/objects/" "$W/a.log" || true; }
echo "== idle baseline: b served ${IDLE_SECS} s without a scheduler" >&2
"$ACCORD" serve --config "$W/b.toml" >"$W/b0.log" 2>&1 & echo $! >"$W/b0.pid"
until grep -q "listening on" "$W/b0.log"; do sleep 0.1; done
caught_up "$W/b0.log"
sleep 3
tz0=$(ticks "$(cat "$W/b0.pid")")
sleep "$IDLE_SECS"
tz1=$(ticks "$(cat "$W/b0.pid")")
kill "$(cat "$W/b0.pid")"; wait "$(cat "$W/b0.pid")" 2>/dev/null || true; rm -f "$W/b0.pid"
echo "== idle: b's scheduler every second for ${IDLE_SECS} s with nothing new" >&2
sed -i 's/^interval_secs = 0$/interval_secs = 1/' "$W/b.toml"
"$ACCORD" serve --config "$W/b.toml" >"$W/b.log" 2>&1 & echo $! >"$W/b.pid"
until grep -q "listening on" "$W/b.log"; do sleep 0.1; done
caught_up "$W/b.log"
sleep 3
tb0=$(ticks "$(cat "$W/b.pid")"); ta0=$(ticks "$(cat "$W/a.pid")"); g0=$(gets)
if [ -n "${PERF:-}" ]; then
  perf record -F 20000 -g -p "$(cat "$W/b.pid")" -o "$PERF" -- sleep "$IDLE_SECS" 2>/dev/null
else
  sleep "$IDLE_SECS"
fi
tb1=$(ticks "$(cat "$W/b.pid")"); ta1=$(ticks "$(cat "$W/a.pid")"); g1=$(gets)
rounds=$((g1 - g0))
echo "requests a served during the idle phase:" >&2
grep -o 'method=[A-Z]* path=[^}]*' "$W/a.log" | sed 's/[0-9a-f-]\{36\}/ID/g' | sort | uniq -c | sort -rn | head >&2
{
  echo "date: $(date -u +%FT%TZ)  commit: $(git -C "$ROOT" rev-parse --short HEAD)  machine: $(machine)"
  echo "sync of $N objects a -> b, policy and log on: $sync_rate objects/s ($stored pulled; $redacted released redacted at a); CPU: b's accord sync $sync_cpu, a (serving) $a_cpu, in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f s", b - a}')"
  echo "b's own accord ingest of the same file, same run: $ingest_rate objects/s"
  echo "sync / ingest: $(awk -v a="$sync_rate" -v b="$ingest_rate" 'BEGIN {printf "%.2f", a / b}')"
  echo "idle: $rounds rounds in ${IDLE_SECS} s; CPU of b (the syncing node) per round: $(awk -v t=$((tb1 - tb0)) -v hz="$hz" -v r="$rounds" 'BEGIN {printf "%.2f ms", r ? 1000 * t / hz / r : -1}'), of which the node's own idle (b served without a scheduler, same length): $(awk -v t=$((tz1 - tz0)) -v hz="$hz" -v r="$rounds" 'BEGIN {printf "%.2f ms", r ? 1000 * t / hz / r : -1}'); the rounds alone: $(awk -v t=$((tb1 - tb0 - tz1 + tz0)) -v hz="$hz" -v r="$rounds" 'BEGIN {printf "%.2f ms", r ? 1000 * t / hz / r : -1}'); a (answering, its own idle included): $(awk -v t=$((ta1 - ta0)) -v hz="$hz" -v r="$rounds" 'BEGIN {printf "%.2f ms", r ? 1000 * t / hz / r : -1}')"
} | tee "$(run_file federation)"
