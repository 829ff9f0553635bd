#!/usr/bin/env bash
# Beyond one machine (issue 22): TAXII POST, paged GET and a partner's
# sync against 1, 2 and 3 `accord serve` processes over one PostgreSQL
# (examples/cluster/up.sh, fresh database each time), beside one process on
# the embedded SQLite store, all in the same run, on this machine.
#
#   bash bench/cluster.sh                  # OBJECTS=60000, ~5 minutes
#   OBJECTS=20000 CLIENTS=6 bash bench/cluster.sh
#
# For each setup:
#   post   OBJECTS generated indicators POSTed in envelopes of 1,000 by
#          CLIENTS clients, spread round robin over the processes
#          (crates/node/examples/taxii_load.rs post);
#   pages  CLIENTS clients each read the whole collection once, pages of
#          1,000, spread over the processes (taxii_load pages);
#   sync   a partner node (SQLite) pulls the collection from the first
#          process with `accord sync --once`, pages of 1,000: the pull a
#          partner makes, with its release decisions and `out` records.
# The machine has 2 cores: the processes, PostgreSQL and the load tool
# share them, so more processes cannot add CPU here; what the figures show
# is what each setup costs, and where the time goes (see ARCHITECTURE.md,
# "Beyond one machine").
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
OBJECTS="${OBJECTS:-60000}"
CLIENTS="${CLIENTS:-6}"
SETUPS="${SETUPS:-sqlite pg1 pg2 pg3}"
build_accord
(cd "$ROOT" && cargo build --release --locked -p accord-node --example taxii_load >&2)
LOAD="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/taxii_load"
export ACCORD
# In /tmp, open to the `postgres` user (up.sh runs PostgreSQL as it when root).
W="$(mktemp -d /tmp/accord-bench-cluster.XXXX)"
chmod 755 "$W"
BASE_PORT="${BASE_PORT:-18481}"
cleanup() {
  for d in "$W"/pg*; do [ -d "$d" ] && NODES=3 BASE_PORT="$BASE_PORT" bash "$ROOT/examples/cluster/down.sh" "$d" >/dev/null 2>&1 || true; done
  kill $(cat "$W"/*.pid 2>/dev/null) 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
OUT="$(run_file cluster)"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A partner that pulls COLL from URL as `admin` (password file PWF) into
# its own SQLite store; prints objects/s.
sync_from() { # name url coll pwf verifier_key
  local b="$W/partner-$1" pb
  pb=$(port)
  "$ACCORD" init -o "$b.toml" --name "partner$1" --listen "127.0.0.1:$pb" --data "$b" >/dev/null
  cat >>"$b.toml" <<TOML

[[partners]]
name = "src"
url = "$2/"
api_root = "api1"
verifier_key = "$5"
user = "admin"
password_file = "$4"
[partners.sync]
pull = ["$3"]
into = "from-src"
interval_secs = 0
page_size = 1000
TOML
  local t0 t1 out n
  t0=$(date +%s.%N)
  out=$("$ACCORD" sync --config "$b.toml" --once 2>&1) || { echo "$out" >&2; return 1; }
  t1=$(date +%s.%N)
  n=$(echo "$out" | sed -n 's/.*pulled \([0-9]*\) from.*/\1/p' | head -1)
  awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN {printf "sync: %d objects pulled in %.2f s = %d objects/s\n", n, b - a, n / (b - a)}'
}

# CPU seconds (user + system) used so far by the processes in $PIDS
# (the node processes) and by PostgreSQL's (every process of the
# `postgres` user: the throwaway cluster is the only one running).
hz=$(getconf CLK_TCK)
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
cpu_now() { echo "$(ticks $PIDS) $(ticks $(pgrep -u postgres || true))"; }
cpu_since() { # "node0 pg0" -> "node X s, PostgreSQL Y s"
  local a b x y
  read -r a b <<<"$1"
  read -r x y <<<"$(cpu_now)"
  awk -v n=$((x - a)) -v g=$((y - b)) -v hz="$hz" 'BEGIN {printf "   CPU: node processes %.2f s, PostgreSQL %.2f s\n", n / hz, g / hz}'
}

measure() { # setup base-urls(comma-separated) password-file collection verifier-key
  local pw urls="" u c0
  pw=$(cat "$3")
  for u in ${2//,/ }; do urls="$urls,$u/api1/collections/$4/"; done
  urls="${urls#,}"
  echo "-- $1"
  c0=$(cpu_now)
  "$LOAD" post "$urls" admin "$pw" "$OBJECTS" 1000 "$CLIENTS"
  cpu_since "$c0"
  c0=$(cpu_now)
  "$LOAD" pages "$urls" admin "$pw" 1000 "$CLIENTS" 1
  cpu_since "$c0"
  c0=$(cpu_now)
  sync_from "$SETUP" "${2%%,*}" "$4" "$3" "$5"
  cpu_since "$c0"
}

{
  echo "date: $(date -u +%FT%TZ)  commit: $(git -C "$ROOT" rev-parse --short HEAD)  machine: $(machine)"
  echo "objects: $OBJECTS POSTed by $CLIENTS clients; pages of 1,000; PostgreSQL $(ls /usr/lib/postgresql | sort -n | tail -1)"
  for s in $SETUPS; do
    SETUP="$s"
    case "$s" in
      sqlite)
        # The cluster's own configuration without [cluster]: the same
        # accounts and collection on the embedded store.
        d="$W/sqlite-setup"
        NODES=1 BASE_PORT="$BASE_PORT" bash "$ROOT/examples/cluster/up.sh" "$d" >/dev/null
        NODES=1 BASE_PORT="$BASE_PORT" bash "$ROOT/examples/cluster/down.sh" "$d" >/dev/null
        p=$(port)
        sed -e '/^\[cluster\]/,/^\[\[api_roots\]\]/{/^\[\[api_roots\]\]/!d}' \
          -e "s|^data_dir = .*|data_dir = \"$W/sqlite-data\"|" \
          -e "s|^listen = .*|listen = \"127.0.0.1:$p\"|" "$d/accord.toml" >"$W/sqlite.toml"
        mkdir -p "$W/sqlite-data" && cp "$d"/data/ledger* "$W/sqlite-data/" 2>/dev/null || true
        "$ACCORD" serve --config "$W/sqlite.toml" >"$W/sqlite.log" 2>&1 & echo $! >"$W/sqlite.pid"
        until grep -q "listening on" "$W/sqlite.log"; do sleep 0.1; done
        coll=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["collection"])' "$d/cluster.json")
        key=$("$ACCORD" ledger key --config "$W/sqlite.toml" | tail -1)
        PIDS=$(cat "$W/sqlite.pid")
        measure "embedded SQLite, 1 process" "http://127.0.0.1:$p" "$d/secrets/admin.password" "$coll" "$key"
        kill "$(cat "$W/sqlite.pid")"; wait "$(cat "$W/sqlite.pid")" 2>/dev/null || true; rm -f "$W/sqlite.pid"
        ;;
      pg*)
        n="${s#pg}"
        d="$W/$s"
        NODES="$n" BASE_PORT="$BASE_PORT" bash "$ROOT/examples/cluster/up.sh" "$d" >/dev/null
        urls=$(python3 -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["nodes"]))' "$d/cluster.json")
        coll=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["collection"])' "$d/cluster.json")
        key=$("$ACCORD" ledger key --config "$d/accord.toml" | tail -1)
        PIDS=$(python3 -c 'import json,sys; print(" ".join(map(str, json.load(open(sys.argv[1]))["pids"])))' "$d/cluster.json")
        measure "PostgreSQL, $n process(es)" "$urls" "$d/secrets/admin.password" "$coll" "$key"
        NODES=3 BASE_PORT="$BASE_PORT" bash "$ROOT/examples/cluster/down.sh" "$d" >/dev/null
        ;;
    esac
  done
} | tee "$OUT"
echo "raw output: $OUT" >&2
