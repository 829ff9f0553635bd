#!/usr/bin/env bash
# TAXII 2.1 server benchmarks, side by side with medallion in the same run.
#
#   bash bench/taxii.sh          # ~6 minutes (medallion's paged GET alone is ~2 min)
#
# 1. taxii2-client against Accord and medallion 3.0.0 (gunicorn, memory
#    backend): POST 5,000 indicators in envelopes of 1,000; paged GET of a
#    5,000-object collection, limit 100 (bench/taxii_bench.py).
# 2. The native load tool (crates/node/examples/taxii_load.rs) against
#    `accord serve`: POST envelopes of 1,000 from 1, 2 and 4 clients; then
#    GET match[id] on a 1,000,000-object store from 200 concurrent clients,
#    unpaced (closed loop, 3 runs) and paced at 2,000 requests/s (3 runs);
#    the closed loop also against a server that does no work at all
#    (baseline_server), and the disk's own fdatasync latency beside the
#    paced runs.
#
#   ONLY=get-id bash bench/taxii.sh   # only the GET match[id] part (~2 min):
#       3 closed-loop runs, then 3 runs at each rate of RATES (default 2000)
#       (the full run does the same after the POSTs)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
build_accord
(cd "$ROOT" && cargo build --release --locked -p accord-node --example taxii_load --example baseline_server >&2)
# The builds go to CARGO_TARGET_DIR when it is set.
ACCORD="${CARGO_TARGET_DIR:-$ROOT/target}/release/accord"
ONLY="${ONLY:-}"
RATES="${RATES:-2000}"
PY="$(peer_python)"
[ -n "$ONLY" ] || "$PY" -c 'import gunicorn' 2>/dev/null || "$ROOT/.venv/bin/pip" install -q gunicorn==27.0.1 >&2
LOAD="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/taxii_load"
BASELINE="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/baseline_server"
J1M="$DATA/indicators-1m.jsonl"
[ -s "$J1M" ] || "$ACCORD" generate --count 1000000 -o "$J1M"
OUT="$(run_file taxii)"
{
  echo "date: $(date -u +%FT%TZ)  commit: $(git -C "$ROOT" rev-parse --short HEAD)  machine: $(machine)"
  if [ -z "$ONLY" ]; then
    echo "== taxii2-client: Accord vs medallion (same run)"
    "$PY" "$ROOT/bench/taxii_bench.py" --runs-post 5 --runs-get 3 --runs-get-medallion 1
  fi

  W=$(mktemp -d "$DATA/taxii.XXXX")
  PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  COLL=365fed99-08fa-fdcd-a1b3-fb247eb41d01
  cat > "$W/accord.toml" <<TOML
listen = "127.0.0.1:$PORT"
data_dir = "$W/store"
[limits]
max_page_size = 1000
[[api_roots]]
name = "api1"
title = "Bench"
[[api_roots.collections]]
id = "$COLL"
store_name = "bench"
title = "Bench"
[[accounts]]
name = "bench"
password_hash = "$(printf 'bench-secret' | "$ACCORD" hash-password)"
read = ["*"]
write = ["*"]
TOML
  URL="http://127.0.0.1:$PORT/api1/collections/$COLL/"
  if [ -z "$ONLY" ]; then
    echo "== native client: POST (durable), fresh store"
    RUST_LOG=warn "$ACCORD" serve --config "$W/accord.toml" > "$W/log" 2>&1 & SRV=$!
    sleep 1
    for c in 1 2 4; do "$LOAD" post "$URL" bench bench-secret 50000 1000 "$c"; done
    kill "$SRV"; wait "$SRV" || true
  fi
  echo "== native client: GET match[id] on a 1,000,000-object store"
  "$ACCORD" ingest --no-progress --data "$W/store" --collection bench "$J1M" 2>&1 | tail -1
  # The measurement is of a node at rest, not one still writing back a
  # 1 GB import: every fsync would queue behind that writeback.
  sync
  RUST_LOG=warn,accord_node::ui=info "$ACCORD" serve --config "$W/accord.toml" > "$W/log" 2>&1 & SRV=$!
  sleep 1
  # A node at rest: the dashboard's search index of a fresh 1M store is
  # built in the background after a start (~50 s); measuring during it
  # measures its disk writes too.
  until grep -q "search index caught up" "$W/log"; do sleep 0.5; done
  # One request first: it puts the password in the node's cache. 200
  # clients logging in at once before that would each spend a failed-login
  # token before argon2 answers, and the burst past the bucket gets 429.
  curl -sf -u bench:bench-secret "${URL}objects/?limit=1" >/dev/null
  "$LOAD" get-id "$URL" bench bench-secret "$J1M" 2000 200 >/dev/null   # warm up: connections
  # Closed loop first: it also grows the WAL file to its working size, as
  # on a node that has been serving for a while (a WAL file still growing
  # makes each fsync also commit the file system's metadata).
  for i in 1 2 3; do RUST_LOG=warn "$LOAD" get-id "$URL" bench bench-secret "$J1M" 40000 200; done
  # The same closed loop against a server that does no work at all
  # (crates/node/examples/baseline_server.rs: one fixed envelope, same
  # tokio/axum/hyper stack): the floor any server's latency has here.
  BPORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$BASELINE" "127.0.0.1:$BPORT" & BSRV=$!
  sleep 0.5
  BURL="http://127.0.0.1:$BPORT/api1/collections/$COLL/"
  "$LOAD" get-id "$BURL" bench bench-secret "$J1M" 2000 200 >/dev/null
  for i in 1 2 3; do echo "baseline (no-op server) $("$LOAD" get-id "$BURL" bench bench-secret "$J1M" 200000 200)"; done
  kill "$BSRV"; wait "$BSRV" || true
  # The disk's own flush latency just before and just after the paced
  # runs: a GET is answered once its `out` records are durable, so its
  # percentiles cannot beat the disk's (bench/fsync_probe.py).
  "$PY" "$ROOT/bench/fsync_probe.py" "$W/probe" 8
  for r in $RATES; do
    for i in 1 2 3; do RUST_LOG=warn "$LOAD" get-id "$URL" bench bench-secret "$J1M" $((r * 8)) 200 "$r"; done
  done
  "$PY" "$ROOT/bench/fsync_probe.py" "$W/probe" 8
  kill "$SRV"; wait "$SRV" || true
  rm -rf "$W"
} 2>&1 | tee "$OUT"
