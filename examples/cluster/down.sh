#!/usr/bin/env bash
# Stops what up.sh started in DIR: the node processes, NATS, PostgreSQL.
# The data stays in DIR (up.sh DIR starts it again).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_dir "$@"
DIR="$(cd "$1" && pwd)"
stop_pid() { # PIDFILE NAME
  local pidf=$1 name=$2 pid
  [ -f "$pidf" ] || return 0
  pid="$(cat "$pidf")"
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do
      alive "$pid" || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
  echo "stopped $name"
}
for i in $(seq 0 $((N_NODES - 1))); do
  stop_pid "$DIR/node-$i.pid" "node process $i"
done
stop_pid "$DIR/nats.pid" "nats-server"
if [ -f "$DIR/pg/data/postmaster.pid" ]; then
  as_pg "$(pg_bin)/pg_ctl" stop -D "$DIR/pg/data" -m fast -w >/dev/null && echo "stopped PostgreSQL"
fi
