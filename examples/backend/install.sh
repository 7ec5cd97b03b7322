#!/usr/bin/env bash
# Installs the example backend: the Backstage packages from package-lock.json (npm ci), then the
# svcgen module from a tarball packed from ../../plugin-ts, exactly what `npm install` of the
# published package would put in node_modules. Needs a built plugin-ts (`make setup` at the root).
# Does nothing when node_modules already holds the same tarball; --force reinstalls everything.
# SVCGEN_PLUGIN_DIR may point at another build of the package (default: ../../plugin-ts).
#   bash examples/backend/install.sh [--force]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
plugin="$(cd "${SVCGEN_PLUGIN_DIR:-$here/../../plugin-ts}" && pwd)"
pack_dir="$here/.pack"
force=0
[[ "${1:-}" == "--force" ]] && force=1

for f in dist/index.js wasm/svcgen_bg.wasm templates; do
  if [[ ! -e "$plugin/$f" ]]; then
    echo "install.sh: $plugin/$f is missing: run 'make setup' at the repository root first" >&2
    exit 1
  fi
done

rm -rf "$pack_dir"
mkdir -p "$pack_dir"
# --ignore-scripts: pack what `make setup` built, without rebuilding it here.
tarball="$(cd "$plugin" && npm pack --ignore-scripts --silent --pack-destination "$pack_dir" | tail -n 1)"
tarball="$pack_dir/$tarball"
listing="$(tar -tzf "$tarball")"
for f in package/dist/index.js package/wasm/svcgen_bg.wasm package/bin/svcgen-preview.js; do
  if ! grep -qx "$f" <<<"$listing"; then
    echo "install.sh: $(basename "$tarball") lacks ${f#package/}: is plugin-ts being rebuilt? run 'make setup' and retry" >&2
    exit 1
  fi
done
sum="$(sha256sum "$tarball" | cut -d' ' -f1)"
stamp="$here/node_modules/.svcgen-module.sha256"

cd "$here"
if [[ $force == 1 || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "install.sh: npm ci (Backstage packages, ~2 min the first time)"
  npm ci --no-audit --no-fund --loglevel=error
  rm -f "$stamp"
fi
if [[ $force == 1 || ! -f "$stamp" || "$(cat "$stamp")" != "$sum" ]]; then
  echo "install.sh: installing $(basename "$tarball")"
  # --no-save: the lock file pins only the Backstage packages; the module comes from this tarball.
  npm install --no-save --no-audit --no-fund --loglevel=error "$tarball"
  echo "$sum" > "$stamp"
fi
echo "install.sh: ready ($(node -p "require('@svcgen/plugin-scaffolder-backend-module-svcgen/package.json').version" 2>/dev/null || echo '?'))"
