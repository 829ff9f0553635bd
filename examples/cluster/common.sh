# Shared by up.sh and down.sh: which binaries, which ports.
# shellcheck shell=bash
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BASE_PORT="${BASE_PORT:-8481}"
# The three node processes listen on BASE_PORT, +1, +2; PostgreSQL on
# 127.0.0.1:BASE_PORT+10 (and a Unix socket in DIR/pg); NATS, when
# nats-server is installed, on 127.0.0.1:BASE_PORT+11.
# How many node processes (NODES, 1 to 9; 3 by default).
N_NODES="${NODES:-3}"
PG_PORT=$((BASE_PORT + 10))
NATS_PORT=$((BASE_PORT + 11))
# accord_bin, need_dir, alive
source "$HERE/../lib.sh"

# PostgreSQL's programs: $PG_BIN, else the newest /usr/lib/postgresql/N/bin
# (Debian), else pg_ctl's directory on the PATH.
pg_bin() {
  if [ -n "${PG_BIN:-}" ]; then
    echo "$PG_BIN"
    return
  fi
  local newest
  newest="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -n "$newest" ] && [ -x "$newest/initdb" ]; then
    echo "$newest"
    return
  fi
  local ctl
  ctl="$(command -v pg_ctl || true)"
  if [ -z "$ctl" ]; then
    echo "PostgreSQL is not installed (apt-get install postgresql, or set PG_BIN)" >&2
    exit 2
  fi
  dirname "$(readlink -f "$ctl")"
}

# Runs a PostgreSQL program as the `postgres` user when root (the server
# refuses to run as root), else as the current user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

