#!/usr/bin/env bash
# A node under abuse (issue 17): 10,000 slow connections from one local
# client while a legitimate client GETs /taxii2/ (p99, node RSS), with the
# default per-address bound and with it raised so the node holds all of
# them; then 200 wrong passwords per second while a legitimate client POSTs
# envelopes of 1,000 indicators (time vs without the flood).
#
#   bash bench/abuse.sh            # ~2 minutes
#
# Needs 127.0.0.2 on the loopback interface (Linux has all of 127/8).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
build_accord
ACCORD="${CARGO_TARGET_DIR:-$ROOT/target}/release/accord"
# 10,000 client sockets and as many on the node's side.
ulimit -n "$(ulimit -Hn)"
OUT="$(run_file abuse)"
{
  echo "date: $(date -u +%FT%TZ)  commit: $(git -C "$ROOT" rev-parse --short HEAD)  machine: $(machine)  open files: $(ulimit -n)"
  echo "== default limits"
  python3 "$ROOT/bench/abuse.py" "$ACCORD" --slow 10000 --flood 200
  echo "== max_connections_per_address = 12000: the node holds every slow connection"
  python3 "$ROOT/bench/abuse.py" "$ACCORD" --slow 10000 --per-address 12000 --flood 0
} | tee "$OUT"
echo "written to $OUT" >&2
