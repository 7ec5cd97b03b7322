#!/usr/bin/env node
// Fails the build early, with the command to run, when the WebAssembly bindings are not built yet:
// wasm/ (Node, the action) and wasm-web/ (the browser, the form's live preview).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const builds = {
  wasm: ['svcgen.js', 'svcgen.d.ts', 'svcgen_bg.wasm'],
  'wasm-web': ['svcgen.js', 'svcgen.d.ts', 'svcgen_bg.wasm', 'package.json'],
};
const missing = Object.entries(builds).flatMap(([dir, files]) =>
  files.map(f => path.join(dir, f)).filter(f => !fs.existsSync(path.resolve(__dirname, '..', f))),
);
if (missing.length) {
  console.error(
    `check-wasm: ${missing.join(', ')} missing in ${path.resolve(__dirname, '..')}; build the bindings first:\n` +
      '  bash ../rust/build-wasm.sh',
  );
  process.exit(1);
}
