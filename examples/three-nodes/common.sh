# Shared by up.sh, sync.sh and down.sh: which binary, which nodes.
# shellcheck shell=bash
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NODES=(cn us eu)
# accord_bin, need_dir, alive
source "$HERE/../lib.sh"

