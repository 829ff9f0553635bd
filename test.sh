#!/usr/bin/env bash
# Runs every test of Accord on a bare machine: installs what the tests need
# (the OASIS Python tools in .venv; Debian packages when run as root), then
# runs the whole Cargo test suite. Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

PYTHON="${PYTHON:-python3}"
need_apt=()
command -v "$PYTHON" >/dev/null || need_apt+=(python3)
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
command -v cc >/dev/null || need_apt+=(build-essential)
# The end-to-end tests read the nodes' logs over HTTP with curl.
command -v curl >/dev/null || need_apt+=(curl)
# The dashboard's browser tests drive Debian's Chromium (Playwright with
# its own downloaded browser is not used). Installed only as root; without
# it those tests print one `skip:` line.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  need_apt+=(chromium)
fi
# The PostgreSQL backend's tests start a throwaway cluster with Debian's
# postgresql (initdb as the `postgres` user). Installed only as root;
# without it those tests print one `skip:` line.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  need_apt+=(postgresql)
fi
# The durable-work tests (crates/work) run Debian's NATS server with
# JetStream; installed only as root; without it they print one `skip:` line.
if ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ] \
   && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  need_apt+=(nats-server)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >/dev/null
  else
    echo "test.sh: missing ${need_apt[*]}; install them (as root: apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c 'import stix2validator, stix2, taxii2client, medallion' 2>/dev/null \
   || ! cmp -s requirements-test.txt .venv/.requirements-installed; then
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-test.txt
  cp requirements-test.txt .venv/.requirements-installed
fi
export ACCORD_PYTHON="$PWD/.venv/bin/python"

cargo test --workspace --all-targets --locked "$@"
# Doc tests are not part of --all-targets.
cargo test --workspace --doc --locked
