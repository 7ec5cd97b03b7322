// WASM timing of the bundled microservice set, same values and runs as the native bench:
//   node tests/bench/render-wasm.js      (after the build; see BENCHMARKS in the README)
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const root = path.resolve(__dirname, '../..');
const started = performance.now();
const wasm = require(path.join(root, 'plugin-ts/wasm/svcgen.js'));
const instantiated = performance.now() - started;
const yaml = require(require.resolve('yaml', { paths: [path.join(root, 'plugin-ts')] }));

function readSet(dir) {
  const files = [];
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files.push({
      path: path.relative(dir, full).split(path.sep).join('/'),
      contents: fs.readFileSync(full),
      executable: (fs.statSync(full).mode & 0o111) !== 0,
    });
  }
  return files;
}

function measure(runs, fn) {
  for (let i = 0; i < Math.floor(runs / 10) + 1; i++) fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    times.push((performance.now() - start) * 1000);
  }
  return times.sort((a, b) => a - b);
}

function report(what, times) {
  const at = (q) => times[Math.round((times.length - 1) * q)];
  console.log(JSON.stringify({
    engine: 'wasm', what, runs: times.length,
    median_us: +at(0.5).toFixed(1), p10_us: +at(0.1).toFixed(1), p90_us: +at(0.9).toFixed(1),
  }));
}

const files = readSet(path.join(root, 'templates/microservice'));
const values = yaml.parse(fs.readFileSync(path.join(root, 'examples/values/user-service.yaml'), 'utf8'));

console.log(JSON.stringify({ engine: 'wasm', what: 'require (compile + instantiate module)', ms: +instantiated.toFixed(2) }));
report('load (parse manifest + compile templates)', measure(50, () => wasm.TemplateSet.load(files).free()));
const set = wasm.TemplateSet.load(files);
report('validate + derive', measure(500, () => set.validate(values)));
report('plan', measure(500, () => set.plan(values)));
const output = set.render(values);
report(`render ${output.files.length} files, ${output.data.length} bytes`, measure(500, () => set.render(values)));
