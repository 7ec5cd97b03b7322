// Memory over many renders in one process:  node --expose-gc tests/bench/memory.js [RENDERS] [EVERY]
// Renders the bundled set for the example values RENDERS times (default 10,000) with one compiled
// set, and samples every EVERY renders (default 500): RSS, V8 heap, external memory and the WASM
// instance's linear memory. Prints one JSON line.
'use strict';

const path = require('node:path');
const { performance } = require('node:perf_hooks');
const common = require('./lib/common');

const renders = Number(process.argv[2] || 10000);
const every = Number(process.argv[3] || 500);
const setDir = process.argv[4] || path.join(common.ROOT, 'templates/microservice');

// The glue keeps its instance to itself: note the instance it creates to read its memory.
const instances = [];
const OriginalInstance = WebAssembly.Instance;
WebAssembly.Instance = function Instance(module, imports) {
  const instance = new OriginalInstance(module, imports);
  instances.push(instance);
  return instance;
};
const core = common.core();
WebAssembly.Instance = OriginalInstance;
const memory = instances[0].exports.memory;

const files = common.readSet(setDir);
const values = common.exampleValues();
const set = common.loadSet(common.packSet(files), core);

const samples = [];
function sample(done) {
  if (global.gc) global.gc();
  const m = process.memoryUsage();
  samples.push({
    renders: done,
    rssMiB: +(m.rss / 2 ** 20).toFixed(2),
    heapUsedMiB: +(m.heapUsed / 2 ** 20).toFixed(2),
    externalMiB: +(m.external / 2 ** 20).toFixed(2),
    wasmMemoryMiB: +(memory.buffer.byteLength / 2 ** 20).toFixed(2),
  });
}

sample(0);
const start = performance.now();
let bytes = 0;
for (let i = 1; i <= renders; i++) {
  const out = set.render(values);
  bytes = out.data.length;
  if (i % every === 0) sample(i);
}
const elapsed = performance.now() - start;
set.free();

// After warm-up (the first sample after 0 renders), nothing may grow.
const warm = samples.filter((s) => s.renders >= every);
const growth = (key) => +(warm[warm.length - 1][key] - warm[0][key]).toFixed(2);
const range = (key) => +(Math.max(...warm.map((s) => s[key])) - Math.min(...warm.map((s) => s[key]))).toFixed(2);
console.log(JSON.stringify({
  renders,
  every,
  bytesPerRender: bytes,
  msPerRender: +(elapsed / renders).toFixed(3),
  gcBetweenSamples: Boolean(global.gc),
  afterWarmup: {
    rssGrowthMiB: growth('rssMiB'),
    rssRangeMiB: range('rssMiB'),
    heapUsedGrowthMiB: growth('heapUsedMiB'),
    wasmMemoryGrowthMiB: growth('wasmMemoryMiB'),
  },
  samples,
}));
