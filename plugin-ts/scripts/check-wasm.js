#!/usr/bin/env node
// Fails the build early, with the command to run, when the WebAssembly binding is not built yet.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const wasm = path.resolve(__dirname, '..', 'wasm');
const missing = ['svcgen.js', 'svcgen.d.ts', 'svcgen_bg.wasm'].filter(f => !fs.existsSync(path.join(wasm, f)));
if (missing.length) {
  console.error(
    `check-wasm: ${missing.join(', ')} missing in ${wasm}; build the binding first:\n` +
      '  cd ../rust/wasm && wasm-pack build --target nodejs --mode no-install --out-dir ../../plugin-ts/wasm --out-name svcgen',
  );
  process.exit(1);
}
