#!/usr/bin/env bash
# The README's map says includes point down: a room may include itself and the rooms below it,
#   core < autograd < ops < cuda < nn, data < apps        (nn and data do not include each other)
# This check fails on any #include "<room>/..." that points up or sideways, except the ones
# listed in KNOWN below; it also fails when a listed
# exception no longer exists, so the list can only shrink.
#   tests/layering/check_includes.sh [source root]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"

# "file room" pairs allowed to point up, each with its reason (none today: the last three,
# printing's grad_fn, the engine's gradient sums and gradcheck, moved below ops in issue 21).
KNOWN=()

# "file room" for every include of another room whose rank is not below the file's own
mapfile -t found < <(
  grep -rHoE '^#include "[a-z_]+/' core autograd ops cuda nn data \
      --include='*.h' --include='*.cpp' --include='*.cu' --include='*.cuh' |
    awk -F: 'BEGIN { r["core"] = 0; r["autograd"] = 1; r["ops"] = 2; r["cuda"] = 3; r["nn"] = 4; r["data"] = 4; r["apps"] = 5 }
      { split($1, path, "/"); from = path[1]; to = $2; sub(/#include "/, "", to); sub(/\//, "", to)
        if (to != from && (to in r) && r[to] >= r[from]) print $1, to }' | sort -u)

status=0
for f in "${found[@]}"; do
  if ! printf '%s\n' "${KNOWN[@]}" | grep -qxF "$f"; then echo "FAIL: $f: includes a room above it (core < autograd < ops < cuda < nn, data < apps)"; status=1; fi
done
for k in "${KNOWN[@]}"; do
  if ! printf '%s\n' "${found[@]}" | grep -qxF "$k"; then
    echo "FAIL: the known exception '$k' is gone: remove it from KNOWN in $0"; status=1
  fi
done
[[ $status -eq 0 ]] && echo "includes point down (${#found[@]} upward includes, ${#KNOWN[@]} known exceptions${KNOWN[*]:+: ${KNOWN[*]}})"
exit $status
