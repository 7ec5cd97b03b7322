#!/usr/bin/env bash
# The live preview in a real browser (issue 17): installs tests/browser (npm ci, pinned Backstage
# frontend packages, esbuild, playwright-core; no browser download), builds the svcgen preview field
# (plugin-ts/frontend) when its build is missing or older than its sources, bundles the test app
# (app/build.js, esbuild), installs the example backend, then runs preview.test.js in Debian's
# headless Chromium (/usr/bin/chromium, `apt-get install chromium`; SVCGEN_CHROMIUM for another).
# Assumes `make setup` ran (plugin-ts built with wasm-web/).
#
#   bash tests/browser/run.sh            the test (SVCGEN_BROWSER_SCREENSHOTS=1: also the README's screenshots, docs/images/)
#   bash tests/browser/run.sh --bench    the keystroke benchmark instead (bench.js, results.json)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
field="$root/plugin-ts/frontend"
cd "$root"

chromium="${SVCGEN_CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$chromium" && -z "${SVCGEN_CHROMIUM:-}" && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  # A fresh CI machine (root, Debian): Debian's own package, ≈2 min; nothing downloads a browser.
  echo "run.sh: apt-get install chromium"
  apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if [[ ! -x "$chromium" ]]; then
  echo "run.sh: $chromium is missing: apt-get install -y chromium (Debian), or set SVCGEN_CHROMIUM" >&2
  exit 1
fi

if [[ ! -f "$here/node_modules/.package-lock.json" || "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]]; then
  echo "run.sh: npm ci (tests/browser, ~1.5 min the first time)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

# The field's package, linked into node_modules (file: dependency): build it when needed.
newest_src="$(find "$field/src" "$field/package.json" -type f -newer "$field/dist/alpha.js" 2>/dev/null | head -n 1 || true)"
if [[ ! -f "$field/dist/alpha.js" || -n "$newest_src" ]]; then
  echo "run.sh: building plugin-ts/frontend"
  if [[ ! -f "$field/node_modules/.package-lock.json" || "$field/package-lock.json" -nt "$field/node_modules/.package-lock.json" ]]; then
    (cd "$field" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  (cd "$field" && npm run --silent build)
fi

t0=$(date +%s%N)
node "$here/app/build.js"
echo "run.sh: app bundle took $(( ($(date +%s%N) - t0) / 1000000 )) ms"

bash examples/backend/install.sh

if [[ "${1:-}" == "--bench" ]]; then
  exec timeout --kill-after=20 600 node "$here/bench.js"
fi
exec timeout --kill-after=20 480 node --test "$here/preview.test.js"
