#!/usr/bin/env bash
# Scale: page latency of a 10,000,000-object collection vs a 1,000-object one,
# in the same store, served by `accord serve`.
#
#   bash bench/scale.sh        # ~10 minutes, ~20 GB of disk under bench/data
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
build_accord
PY="$(peer_python)"
J10M="$DATA/indicators-10m.jsonl"
[ -s "$J10M" ] || "$ACCORD" generate --count 10000000 --seed 10 -o "$J10M"
W="$DATA/scale"
rm -rf "$W" && mkdir -p "$W"
head -n 1000 "$J10M" > "$W/small.jsonl"
"$ACCORD" ingest --no-progress --data "$W/store" --collection small "$W/small.jsonl" 2>&1 | tail -1
"$ACCORD" ingest --no-progress --data "$W/store" --collection big "$J10M" 2>&1 | tail -1
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SMALL=11111111-0000-4000-8000-000000000001
BIG=11111111-0000-4000-8000-000000000002
cat > "$W/accord.toml" <<TOML
listen = "127.0.0.1:$PORT"
data_dir = "$W/store"
[[api_roots]]
name = "api1"
title = "Scale"
[[api_roots.collections]]
id = "$SMALL"
store_name = "small"
title = "1,000 objects"
[[api_roots.collections]]
id = "$BIG"
store_name = "big"
title = "10,000,000 objects"
[[accounts]]
name = "bench"
password_hash = "$(printf 'bench-secret' | "$ACCORD" hash-password)"
read = ["*"]
TOML
RUST_LOG=warn "$ACCORD" serve --config "$W/accord.toml" > "$W/log" 2>&1 & SRV=$!
sleep 1
{
  echo "date: $(date -u +%FT%TZ)  commit: $(git -C "$ROOT" rev-parse --short HEAD)  machine: $(machine)"
  echo "1,000-object collection:      $("$PY" "$ROOT/bench/scale_pages.py" "http://127.0.0.1:$PORT/api1/collections/$SMALL/" bench bench-secret 200 500)"
  echo "10,000,000-object collection: $("$PY" "$ROOT/bench/scale_pages.py" "http://127.0.0.1:$PORT/api1/collections/$BIG/" bench bench-secret 200 5001000)"
} | tee "$(run_file scale)"
kill "$SRV"; wait "$SRV" || true
