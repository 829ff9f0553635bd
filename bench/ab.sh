#!/usr/bin/env bash
# A/B of two builds of Accord on the same machine in the same run, runs
# interleaved (A B A B …) so drift of a noisy machine hits both alike. Used
# to show that a refactor stays within noise of the commit before it.
#
#   bash bench/ab.sh BASE_COMMIT              # ~6 minutes, RUNS=3
#   A_BIN=/path/to/accord bash bench/ab.sh BASE_COMMIT   # A already built
#
# Unless A_BIN is given, BASE_COMMIT is checked out in a git worktree under bench/data/ab-base and
# built in release mode there; B is the working tree. Workloads: `accord
# ingest` of 1,000,000 generated indicators (fresh data dir each run),
# `accord validate` of the same file, `accord match` of the bench's EVE log
# against 1,000,000 indicators (index prebuilt by each side), and `accord
# export` of the ingested store. Prints one line per workload with each
# side's median (seconds; for post, seconds per 50,000 objects) and the
# ratio B/A (below 1: B is faster). WORKLOADS="post ingest" picks some.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
BASE="${1:?usage: bench/ab.sh BASE_COMMIT}"
RUNS="${RUNS:-3}"
build_accord
(cd "$ROOT" && cargo build --release --locked -p accord-node --example taxii_load >&2)
LOAD="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/taxii_load"
B="${CARGO_TARGET_DIR:-$ROOT/target}/release/accord"
if [ -n "${A_BIN:-}" ]; then
  # A build of BASE made elsewhere (its commit is taken on trust).
  A="$A_BIN"; A_COMMIT="$BASE"
else
  WT="$DATA/ab-base"
  if [ ! -d "$WT" ]; then git -C "$ROOT" worktree add -q --detach "$WT" "$BASE"; fi
  git -C "$WT" checkout -q --detach "$BASE"
  (cd "$WT" && cargo build --release --locked -p accord >&2)
  A="$WT/target/release/accord"; A_COMMIT=$(git -C "$WT" rev-parse --short HEAD)
fi
J1M="$DATA/indicators-1m.jsonl"
[ -s "$J1M" ] || "$B" generate --count 1000000 -o "$J1M"
M="$DATA/match"
[ -f "$M/meta.json" ] || "$B" generate-logs --out "$M" --indicators 1000000 --lines 2000000 --seed 42
OUT="$(run_file ab)"

wall() { # command... -> wall seconds
  local s e
  s=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; e=$(date +%s.%N)
  awk -v s="$s" -v e="$e" 'BEGIN{printf "%.3f", e-s}'
}
ingest() { local d; d=$(mktemp -d "$DATA/ab.XXXX"); wall "$1" ingest --no-progress --data "$d" "$J1M"; rm -rf "$d"; }
validate() { wall "$1" validate "$J1M"; }
match_eve() { wall "$1" match --indicators "$M/indicators.jsonl" --index "$M/ab-$2.bin" --no-sightings --no-progress --threads 2 "$M/eve.json"; }
STORE_A=$(mktemp -d "$DATA/ab-store.XXXX"); STORE_B=$(mktemp -d "$DATA/ab-store.XXXX")
"$A" ingest --no-progress --data "$STORE_A" "$J1M" >/dev/null 2>&1
"$B" ingest --no-progress --data "$STORE_B" "$J1M" >/dev/null 2>&1
post4() { # accord -> seconds for 50,000 objects POSTed by 4 clients
  local d port coll=365fed99-08fa-fdcd-a1b3-fb247eb41d01 srv rate
  d=$(mktemp -d "$DATA/ab-post.XXXX")
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$d/accord.toml" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$d/store"
[[api_roots]]
name = "api1"
title = "Bench"
[[api_roots.collections]]
id = "$coll"
store_name = "bench"
title = "Bench"
[[accounts]]
name = "bench"
password_hash = "$(printf 'bench-secret' | "$1" hash-password)"
read = ["*"]
write = ["*"]
TOML
  RUST_LOG=warn "$1" serve --config "$d/accord.toml" > "$d/log" 2>&1 & srv=$!
  for _ in $(seq 50); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  rate=$("$LOAD" post "http://127.0.0.1:$port/api1/collections/$coll/" bench bench-secret 50000 1000 4 | sed -n 's/.* = \([0-9]*\) objects\/s.*/\1/p')
  kill "$srv"; wait "$srv" 2>/dev/null || true
  rm -rf "$d"
  awk -v r="$rate" 'BEGIN{printf "%.3f", 50000/r}'
}
export_all() { wall "$1" export --data "$2" --jsonl -o "$DATA/ab-export.jsonl"; }
# Prebuild each side's index once (the format may differ between builds).
rm -f "$M"/ab-a.bin* "$M"/ab-b.bin*
match_eve "$A" a >/dev/null; match_eve "$B" b >/dev/null

{
  echo "date: $(date -u +%FT%TZ)  A: $A_COMMIT  B: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet || echo '+dirty')  machine: $(machine)  runs: $RUNS interleaved"
  for w in ${WORKLOADS:-ingest post validate match export}; do
    as=(); bs=()
    for _ in $(seq "$RUNS"); do
      case $w in
        ingest) as+=("$(ingest "$A")"); bs+=("$(ingest "$B")") ;;
        post) as+=("$(post4 "$A")"); bs+=("$(post4 "$B")") ;;
        validate) as+=("$(validate "$A")"); bs+=("$(validate "$B")") ;;
        match) as+=("$(match_eve "$A" a)"); bs+=("$(match_eve "$B" b)") ;;
        export) as+=("$(export_all "$A" "$STORE_A")"); bs+=("$(export_all "$B" "$STORE_B")") ;;
      esac
    done
    ma=$(printf '%s\n' "${as[@]}" | median); mb=$(printf '%s\n' "${bs[@]}" | median)
    echo "$w: A median $ma s (${as[*]}), B median $mb s (${bs[*]}), B/A $(awk -v a="$ma" -v b="$mb" 'BEGIN{printf "%.3f", b/a}')"
  done
} | tee "$OUT"
rm -rf "$STORE_A" "$STORE_B" "$DATA/ab-export.jsonl"
