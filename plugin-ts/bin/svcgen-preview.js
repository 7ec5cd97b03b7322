#!/usr/bin/env node
'use strict';

// A CLI run loads a set once and renders it once or twice: V8's baseline WebAssembly code (Liftoff)
// runs all of it, while by default the optimising compiler recompiles hot functions on background
// threads that, on a 2-core machine, take the cores the run needs (reading the set, writing the
// files). Baseline code only: a run of the bundled set 0.50 → 0.30 s on Node 20, 0.43 → 0.23 s on
// Node 22, and no slower for a set of 25,000 files (BENCHMARKS.md, "Cold start"). One compile task
// instead (--wasm-num-compilation-tasks=1) made the render faster but the whole run slower (0.62 s).
// The flag is process-wide, so only this entry point sets it (a backend keeps V8's default), and it
// must be set before the core is compiled.
require('node:v8').setFlagsFromString('--liftoff-only');

require('../dist/cli/preview.js').run();
