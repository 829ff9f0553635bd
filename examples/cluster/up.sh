#!/usr/bin/env bash
# Starts one Accord jurisdiction served by three node processes over one
# PostgreSQL database, all on 127.0.0.1, with data under DIR. Returns once
# all three serve, and writes DIR/cluster.json:
#   {"nodes": ["http://127.0.0.1:8481", …], "pids": [pid, …],
#    "admin": {"user": …, "password": …}, "collection": "<writable id>",
#    "config": "DIR/accord.toml"}
#
#   examples/cluster/up.sh DIR        BASE_PORT=8481 by default
#   accord cluster status --config DIR/accord.toml
#   examples/cluster/down.sh DIR      stops everything
#
# PostgreSQL: a new cluster in DIR/pg (initdb), on a Unix socket in DIR/pg
# and on 127.0.0.1:BASE_PORT+10; run as the `postgres` user when root. The
# nodes log in as `accord` with a password kept in DIR/secrets and handed
# to them in $ACCORD_POSTGRES (`postgres_env`), never in accord.toml.
# NATS: when nats-server is installed, started with JetStream on
# 127.0.0.1:BASE_PORT+11 and named in [cluster] nats.
#
# Uses $ACCORD if set, else target/release/accord (built if missing);
# PostgreSQL from $PG_BIN, else the newest /usr/lib/postgresql/N/bin.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_dir "$@"
DIR="$(mkdir -p "$1" && cd "$1" && pwd)"
ACCORD="$(accord_bin)"
PGB="$(pg_bin)"
COLLECTION=9a1c6d20-5b7e-4f3a-8c2d-1e0f3a4b5c01
secret() { head -c 18 /dev/urandom | base64 | tr -d '/+=' ; }

mkdir -p "$DIR/secrets" "$DIR/logs"
chmod 700 "$DIR/secrets"
# The postgres user must reach DIR/pg.
chmod 755 "$DIR"

# 1. PostgreSQL, once: initdb, a role and a database for Accord.
PGDIR="$DIR/pg"
pwf="$DIR/secrets/postgres.password"
[ -f "$pwf" ] || { secret >"$pwf"; chmod 600 "$pwf"; }
PG_PW="$(cat "$pwf")"
if [ ! -f "$PGDIR/data/PG_VERSION" ]; then
  mkdir -p "$PGDIR"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDIR"
  as_pg "$PGB/initdb" -A trust -E UTF8 --locale=C -U postgres -D "$PGDIR/data" >"$DIR/logs/initdb.log"
  # Local socket: trust (the directory is the guard); TCP: passwords.
  cat >"$PGDIR/data/pg_hba.conf" <<HBA
local all all trust
host  all all 127.0.0.1/32 scram-sha-256
HBA
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDIR/data/pg_hba.conf"
  fresh=1
else
  fresh=0
fi
if ! as_pg "$PGB/pg_isready" -h "$PGDIR" -p "$PG_PORT" -q; then
  as_pg "$PGB/pg_ctl" start -w -t 60 -D "$PGDIR/data" -l "$PGDIR/server.log" \
    -o "-k $PGDIR -p $PG_PORT -c listen_addresses=127.0.0.1 -c max_connections=300" >/dev/null
fi
if [ "$fresh" = 1 ]; then
  as_pg "$PGB/psql" -q -h "$PGDIR" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE accord LOGIN PASSWORD '$PG_PW'" -c "CREATE DATABASE accord OWNER accord" >/dev/null
fi
export ACCORD_POSTGRES="host=127.0.0.1 port=$PG_PORT user=accord password=$PG_PW dbname=accord"
# For the operator's shell: `source DIR/secrets/postgres.env`.
printf 'export ACCORD_POSTGRES="%s"\n' "$ACCORD_POSTGRES" >"$DIR/secrets/postgres.env"
chmod 600 "$DIR/secrets/postgres.env"

# 2. NATS JetStream, when installed (sync rounds, hotline ticks and
# ingest batches run on its work queue).
NATS_LINE=""
if command -v nats-server >/dev/null 2>&1; then
  natspid="$DIR/nats.pid"
  if ! { [ -f "$natspid" ] && alive "$(cat "$natspid")"; }; then
    mkdir -p "$DIR/nats"
    # An explicit file-store limit: JetStream's default (75% of the free
    # disk) refuses the work stream on a machine short of disk.
    printf 'jetstream {\n  store_dir: "%s"\n  max_file_store: %s\n}\n' \
      "$DIR/nats" "${NATS_MAX_FILE_STORE:-1GB}" >"$DIR/nats.conf"
    nats-server -c "$DIR/nats.conf" -a 127.0.0.1 -p "$NATS_PORT" -js >"$DIR/logs/nats.log" 2>&1 &
    echo $! >"$natspid"
  fi
  NATS_LINE="nats = \"nats://127.0.0.1:$NATS_PORT\""
fi

# 3. One configuration for the three processes (each gets its own --listen;
# its cluster name is then HOSTNAME-PORT), one data directory (the log's
# key, warninglists, match indexes), made once by accord init.
CFG="$DIR/accord.toml"
adminf="$DIR/secrets/admin.password"
[ -f "$adminf" ] || { secret >"$adminf"; chmod 600 "$adminf"; }
ADMIN_PW="$(cat "$adminf")"
if [ ! -f "$DIR/data/ledger.key" ]; then
  "$ACCORD" init -o "$DIR/init.toml" --name cluster --listen "127.0.0.1:$BASE_PORT" \
    --data "$DIR/data" >/dev/null
fi
cat >"$CFG" <<TOML
# One jurisdiction served by three processes (written by examples/cluster/up.sh).
listen = "127.0.0.1:$BASE_PORT"
data_dir = "$DIR/data"
title = "Accord cluster example"

[ledger]
origin = "accord.cluster/log"

[cluster]
# The connection string is in \$ACCORD_POSTGRES (its password in
# $DIR/secrets/postgres.password), not in this file.
postgres_env = "ACCORD_POSTGRES"
$NATS_LINE

[[api_roots]]
name = "api1"
title = "Threat intelligence"

[[api_roots.collections]]
id = "$COLLECTION"
store_name = "share"
alias = "share"
title = "Shared"

[[accounts]]
name = "admin"
password_hash = "$(printf '%s' "$ADMIN_PW" | "$ACCORD" hash-password)"
read = ["*"]
write = ["*"]
TOML

# 4. The three processes, and wait until each serves.
PIDS=()
URLS=()
for i in $(seq 0 $((N_NODES - 1))); do
  port=$((BASE_PORT + i))
  pidf="$DIR/node-$i.pid"
  URLS+=("http://127.0.0.1:$port")
  if [ -f "$pidf" ] && alive "$(cat "$pidf")"; then
    PIDS+=("$(cat "$pidf")")
    continue
  fi
  "$ACCORD" serve --config "$CFG" --listen "127.0.0.1:$port" >"$DIR/logs/node-$i.log" 2>&1 &
  echo $! >"$pidf"
  PIDS+=("$!")
done
for i in $(seq 0 $((N_NODES - 1))); do
  log="$DIR/logs/node-$i.log"
  for _ in $(seq 1 600); do
    grep -q "listening on" "$log" 2>/dev/null && break
    if ! alive "${PIDS[$i]}"; then
      echo "up.sh: node process $i did not start:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.1
  done
  grep -q "listening on" "$log" || {
    echo "up.sh: node process $i did not listen within 60 s; see $log" >&2
    exit 1
  }
done

# 5. cluster.json
json_list() { local IFS=,; echo "$*"; }
quoted=()
for u in "${URLS[@]}"; do quoted+=("\"$u\""); done
cat >"$DIR/cluster.json" <<JSON
{"nodes": [$(json_list "${quoted[@]}")], "pids": [$(json_list "${PIDS[@]}")], "admin": {"user": "admin", "password": "$ADMIN_PW"}, "collection": "$COLLECTION", "config": "$CFG"}
JSON
echo "cluster up: ${URLS[*]}; status: source $DIR/secrets/postgres.env && accord cluster status --config $CFG"
