#!/usr/bin/env bash
# Starts three Accord nodes on 127.0.0.1 — cn (jurisdiction CN), us (US) and
# eu (DE) — each a partner of the other two under the agreements written
# below, with data under DIR. Returns once all three serve, and writes
# DIR/nodes.json (URLs, configs, accounts, collection ids).
#
#   examples/three-nodes/up.sh DIR        BASE_PORT=8471 by default
#   examples/three-nodes/sync.sh DIR      one full round of exchange
#   examples/three-nodes/down.sh DIR      stops them
#
# Uses $ACCORD if set, else target/release/accord (built if missing).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_dir "$@"
DIR="$(mkdir -p "$1" && cd "$1" && pwd)"
BASE_PORT="${BASE_PORT:-8471}"
ACCORD="$(accord_bin)"

declare -A PORT JUR
PORT[cn]=$BASE_PORT; PORT[us]=$((BASE_PORT + 1)); PORT[eu]=$((BASE_PORT + 2))
JUR[cn]=CN; JUR[us]=US; JUR[eu]=DE

# Collection ids: fixed per node so that the agreements can name them.
declare -A SHARE FROM HOTLINE
SHARE[cn]=7d2c1f40-0c1e-4c55-9a51-3c7b6c1a0c01
SHARE[us]=7d2c1f40-0c1e-4c55-9a51-3c7b6c1a0c02
SHARE[eu]=7d2c1f40-0c1e-4c55-9a51-3c7b6c1a0c03
# Each node's hotline cases (`accord hotline`): its partners pull them; the
# seam gives each partner only the cases it is a party to.
HOTLINE[cn]=7d2c1f40-0c1e-4c55-9a51-3c7b6c1a0e01
HOTLINE[us]=7d2c1f40-0c1e-4c55-9a51-3c7b6c1a0e02
HOTLINE[eu]=7d2c1f40-0c1e-4c55-9a51-3c7b6c1a0e03
# Each node's protected facilities (`accord facility`): its partners pull
# them, so a touch of one escalates wherever it is seen.
declare -A FACIL
FACIL[cn]=7d2c1f40-0c1e-4c55-9a51-3c7b6c1a0f01
FACIL[us]=7d2c1f40-0c1e-4c55-9a51-3c7b6c1a0f02
FACIL[eu]=7d2c1f40-0c1e-4c55-9a51-3c7b6c1a0f03
n=0
for node in "${NODES[@]}"; do
  for other in "${NODES[@]}"; do
    [ "$node" = "$other" ] && continue
    n=$((n + 1))
    FROM[$node.$other]=$(printf '7d2c1f40-0c1e-4c55-9a51-3c7b6c1a0d%02d' "$n")
  done
done

secret() { head -c 18 /dev/urandom | base64 | tr -d '/+=' ; }
hash() { printf '%s' "$1" | "$ACCORD" hash-password; }

# 1. Data directories, stores and log keys (accord init), once.
declare -A ADMIN_PW
for node in "${NODES[@]}"; do
  mkdir -p "$DIR/$node/secrets"
  chmod 700 "$DIR/$node/secrets"
  if [ ! -f "$DIR/$node/data/ledger.key" ]; then
    "$ACCORD" init -o "$DIR/$node/init.toml" --name "$node" --user admin \
      --listen "127.0.0.1:${PORT[$node]}" --data "$DIR/$node/data" >/dev/null
  fi
done

# 2. Passwords: the admin of each node, and one account per partner at each
# node (PW[cn.us] is what us uses at cn). Kept across runs.
declare -A PW
pw_file() { echo "$DIR/$1/secrets/$2.password"; }
for node in "${NODES[@]}"; do
  for who in admin "${NODES[@]}"; do
    [ "$who" = "$node" ] && continue
    f="$(pw_file "$node" "account-$who")"
    [ -f "$f" ] || { secret >"$f"; chmod 600 "$f"; }
    PW[$node.$who]="$(cat "$f")"
  done
done
# What each node presents at a partner: the password of its account there.
for node in "${NODES[@]}"; do
  for other in "${NODES[@]}"; do
    [ "$node" = "$other" ] && continue
    cp "$(pw_file "$other" "account-$node")" "$(pw_file "$node" "at-$other")"
  done
done

declare -A VKEY WKEY
for node in "${NODES[@]}"; do
  keys="$("$ACCORD" ledger key --json --config "$DIR/$node/init.toml")"
  VKEY[$node]="$(sed -E 's/.*"verifier_key": *"([^"]*)".*/\1/' <<<"$keys")"
  WKEY[$node]="$(sed -E 's/.*"witness_key": *"([^"]*)".*/\1/' <<<"$keys")"
done

# Each node's STIX identity (the party of hotline cases), created once.
declare -A IDENT
for node in "${NODES[@]}"; do
  who="$("$ACCORD" hotline whoami --json --config "$DIR/$node/init.toml")"
  IDENT[$node]="$(sed -E 's/.*"identity": *"([^"]*)".*/\1/' <<<"$who")"
done

# The agreements, from each side. cn declares 203.0.113.0/24 as its customer
# range and the default categories as personal data. To eu: every type, TLP
# up to AMBER, personal data pseudonymised, customer addresses truncated. To
# us: every type, TLP up to GREEN, any object carrying personal data
# withheld. us and eu share everything up to AMBER with each other and with
# cn. No agreement allows onward sharing.
outbound() { # NODE PARTNER
  local node=$1 partner=$2
  if [ "$node" = cn ] && [ "$partner" = eu ]; then
    printf 'max_tlp = "amber"\n[partners.outbound.categories]\npersonal = "pseudonymise"\ncustomer_address = "truncate"\nimportant = "withhold"\n'
  elif [ "$node" = cn ] && [ "$partner" = us ]; then
    printf 'max_tlp = "green"\n[partners.outbound.categories]\npersonal = "withhold"\ncustomer_address = "withhold"\nimportant = "withhold"\n'
  else
    printf 'max_tlp = "amber"\n[partners.outbound.categories]\npersonal = "allow"\ncustomer_address = "allow"\nimportant = "withhold"\n'
  fi
}

for node in "${NODES[@]}"; do
  cfg="$DIR/$node/accord.toml"
  {
    cat <<TOML
# Node $node of the three-nodes example (written by up.sh).
listen = "127.0.0.1:${PORT[$node]}"
data_dir = "$DIR/$node/data"
title = "Accord node $node (${JUR[$node]})"

[ledger]
origin = "accord.$node/log"

[residency]
jurisdiction = "${JUR[$node]}"
TOML
    if [ "$node" = cn ]; then
      echo 'customer_ranges = ["203.0.113.0/24"]'
    fi
    cat <<TOML

[[api_roots]]
name = "api1"
title = "Threat intelligence shared by $node"

[[api_roots.collections]]
id = "${SHARE[$node]}"
store_name = "share"
alias = "share"
title = "Shared with partners"
description = "What $node's analysts post to share, under each partner's agreement"

[[api_roots.collections]]
id = "${HOTLINE[$node]}"
store_name = "hotline"
alias = "hotline"
title = "Hotline cases"
description = "$node's messages on hotline cases; each partner reads only its own cases"

[[api_roots.collections]]
id = "${FACIL[$node]}"
store_name = "facilities"
alias = "facilities"
title = "Protected facilities"
description = "The facilities $node protects (accord facility add); any touch of one opens a critical hotline case"
TOML
    for other in "${NODES[@]}"; do
      [ "$other" = "$node" ] && continue
      cat <<TOML

[[api_roots.collections]]
id = "${FROM[$node.$other]}"
store_name = "from-$other"
alias = "from-$other"
title = "Received from $other"
TOML
    done
    cat <<TOML

[[accounts]]
name = "admin"
password_hash = "$(hash "${PW[$node.admin]}")"
read = ["*"]
write = ["*"]
TOML
    for other in "${NODES[@]}"; do
      [ "$other" = "$node" ] && continue
      cat <<TOML

# The account partner $other uses here. It may read every collection: what
# it receives is decided object by object by its agreement (partners.outbound
# below), which never sends an object back where it came from nor onward
# against the originator's agreement. It may post into what it sent.
[[accounts]]
name = "$other"
password_hash = "$(hash "${PW[$node.$other]}")"
read = ["*"]
write = ["${FROM[$node.$other]}"]
TOML
    done
    for other in "${NODES[@]}"; do
      [ "$other" = "$node" ] && continue
      cat <<TOML

[[partners]]
name = "$other"
jurisdiction = "${JUR[$other]}"
url = "http://127.0.0.1:${PORT[$other]}/"
api_root = "api1"
verifier_key = "${VKEY[$other]}"
witness_key = "${WKEY[$other]}"
identity = "${IDENT[$other]}"
account = "$other"
user = "$node"
password_file = "$(pw_file "$node" "at-$other")"

[partners.sync]
pull = ["${SHARE[$other]}", "${HOTLINE[$other]}", "${FACIL[$other]}"]
into = "from-$other"
interval_secs = ${SYNC_INTERVAL:-60}

[partners.outbound]
$(outbound "$node" "$other")
TOML
    done
  } >"$cfg"
done

# 3. Start them, and wait until each serves.
for node in "${NODES[@]}"; do
  pidf="$DIR/$node/serve.pid"
  if [ -f "$pidf" ] && alive "$(cat "$pidf")"; then
    continue
  fi
  : >"$DIR/$node/serve.log"
  "$ACCORD" serve --config "$DIR/$node/accord.toml" >"$DIR/$node/serve.log" 2>&1 &
  echo $! >"$pidf"
done
for node in "${NODES[@]}"; do
  for _ in $(seq 1 300); do
    if grep -q "listening on" "$DIR/$node/serve.log" 2>/dev/null; then
      break
    fi
    if ! alive "$(cat "$DIR/$node/serve.pid")"; then
      echo "up.sh: node $node did not start:" >&2
      cat "$DIR/$node/serve.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  grep -q "listening on" "$DIR/$node/serve.log" || {
    echo "up.sh: node $node did not listen within 30 s; see $DIR/$node/serve.log" >&2
    exit 1
  }
done

# 4. nodes.json
{
  echo "{"
  i=0
  for node in "${NODES[@]}"; do
    i=$((i + 1))
    printf '  "%s": {\n' "$node"
    printf '    "url": "http://127.0.0.1:%s",\n' "${PORT[$node]}"
    printf '    "jurisdiction": "%s",\n' "${JUR[$node]}"
    printf '    "config": "%s",\n' "$DIR/$node/accord.toml"
    printf '    "data": "%s",\n' "$DIR/$node/data"
    printf '    "admin": {"user": "admin", "password": "%s"},\n' "${PW[$node.admin]}"
    printf '    "share_collection": "%s",\n' "${SHARE[$node]}"
    printf '    "hotline_collection": "%s",\n' "${HOTLINE[$node]}"
    printf '    "facility_collection": "%s",\n' "${FACIL[$node]}"
    printf '    "identity": "%s",\n' "${IDENT[$node]}"
    printf '    "received_collection": {'
    sep=""
    for other in "${NODES[@]}"; do
      [ "$other" = "$node" ] && continue
      printf '%s"%s": "%s"' "$sep" "$other" "${FROM[$node.$other]}"
      sep=", "
    done
    printf '},\n    "partner_accounts": {'
    sep=""
    for other in "${NODES[@]}"; do
      [ "$other" = "$node" ] && continue
      printf '%s"%s": {"user": "%s", "password": "%s"}' "$sep" "$other" "$other" "${PW[$node.$other]}"
      sep=", "
    done
    printf '}\n  }'
    [ $i -lt ${#NODES[@]} ] && printf ','
    printf '\n'
  done
  echo "}"
} >"$DIR/nodes.json"
echo "three nodes up: cn http://127.0.0.1:${PORT[cn]}, us http://127.0.0.1:${PORT[us]}, eu http://127.0.0.1:${PORT[eu]}"
echo "accounts and collections: $DIR/nodes.json"
