#!/usr/bin/env bash
# Builds the WASM package into plugin-ts/wasm, installing the pinned toolchain pieces first if missing.
# Tools are cached in $SVCGEN_TOOLS (default ~/.cache/svcgen/tools), so only the first run installs them.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen crate pinned in rust/wasm/Cargo.toml
WASM_PACK_VERSION=0.15.1
BINARYEN_VERSION=132.0.0       # npm's build of wasm-opt (Debian's 108 emits a module that fails to load)
TOOLS="${SVCGEN_TOOLS:-$HOME/.cache/svcgen/tools}"
export PATH="$TOOLS/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "==> adding the wasm32-unknown-unknown target"
  if ! rustup target add wasm32-unknown-unknown; then
    # Offline machines of this project carry the same component beside the checkout.
    archive="../shared/toolchain/rust-std-$(rustc --version | cut -d' ' -f2)-wasm32-unknown-unknown.tar.xz"
    [ -f "$archive" ] || { echo "rustup could not add the wasm32 target and $archive is absent" >&2; exit 1; }
    tar -xJf "$archive" -C "$(rustc --print sysroot)/lib/rustlib/"
  fi
fi
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  echo "==> installing wasm-bindgen-cli $WASM_BINDGEN_VERSION into $TOOLS (once, ≈3 min)"
  # Not --locked: a dependency locked by that release is missing from the registry.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$TOOLS"
fi
if [ "$(wasm-pack --version 2>/dev/null)" != "wasm-pack $WASM_PACK_VERSION" ]; then
  echo "==> installing wasm-pack $WASM_PACK_VERSION into $TOOLS (once, ≈2.5 min)"
  cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked --root "$TOOLS"
fi

wasm_opt="$TOOLS/binaryen-$BINARYEN_VERSION/node_modules/.bin/wasm-opt"
if [ ! -x "$wasm_opt" ]; then
  echo "==> installing binaryen $BINARYEN_VERSION (wasm-opt) from npm into $TOOLS (once)"
  npm install --prefix "$TOOLS/binaryen-$BINARYEN_VERSION" --no-audit --no-fund --loglevel=error \
    "binaryen@$BINARYEN_VERSION"
fi

echo "==> building the WASM package"
# --mode no-install: never download anything; the tools above are used as they are.
wasm-pack --quiet build rust/wasm --release --target nodejs --mode no-install \
  --out-dir ../../plugin-ts/wasm --out-name svcgen

# The browser build (the form's live preview, plugin-ts/src/preview): the same compiled core, bound
# by wasm-bindgen --target web (an ES module whose default export `init` takes the .wasm).
# wasm-pack left the compiled core where cargo builds it.
echo "==> binding the browser build"
web=plugin-ts/wasm-web
rm -rf "$web"
wasm-bindgen --target web --out-dir "$web" --out-name svcgen target/wasm32-unknown-unknown/release/svcgen_wasm.wasm
# The svcgen version, as the core records it in .svcgen/answers.yaml (the crate's version, which
# wasm-pack's package.json carries); "type": "module" makes Node read svcgen.js as the ES module it is.
version=$(node -p 'require("./plugin-ts/wasm/package.json").version')
printf '{\n  "name": "svcgen-web",\n  "version": "%s",\n  "private": true,\n  "type": "module"\n}\n' "$version" \
  >"$web/package.json"
rm -f plugin-ts/wasm/.gitignore plugin-ts/wasm/package.json plugin-ts/wasm/README.md

# wasm-opt -O3: ≈20 % smaller and ≈5 % faster (BENCHMARKS.md). It takes ≈40 s, so its result is kept
# by the input's hash and reused while the Rust code is unchanged. The features are the ones rustc's
# wasm32 target enables, plus simd128 (.cargo/config.toml).
optimize() {
  local wasm=$1
  local optimized
  optimized="target/wasm-opt/$(sha256sum "$wasm" | cut -c1-16).wasm"
  if [ ! -f "$optimized" ]; then
    echo "==> wasm-opt -O3 $wasm"
    mkdir -p target/wasm-opt
    "$wasm_opt" -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue "$wasm" -o "$optimized.tmp"
    mv "$optimized.tmp" "$optimized"
  fi
  cp "$optimized" "$wasm"
  ls -l "$wasm" | awk '{print "    " $9 ": " $5 " bytes"}'
}
optimize plugin-ts/wasm/svcgen_bg.wasm
optimize "$web/svcgen_bg.wasm"
