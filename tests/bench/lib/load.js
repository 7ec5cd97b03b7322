// Loading a set at ×1, ×10, ×100 its files (BENCHMARKS.md, "Loading"): TemplateSet.load of the WASM
// core against the native core, each in fresh processes, interleaved. Used by bench.js (growth)
// and by load.js (this part alone).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const common = require('./common');
const { runWorker } = require('./run');

/**
 * Times loads of the set in `dir` in `runs` fresh processes of each kind:
 * - wasm.first: the process's first load, V8 compiling the module's code as it runs;
 * - wasm.afterStartup: a load after the process loaded `startupDir` (the bundled set) and idled
 *   1 s, as in a backend, which compiles its bundled sets at startup;
 * - wasm.second, native.second: a second load of the same set in the same process;
 * - native.first: the native program's first load.
 * The set's files are read and packed before any timing.
 */
function measureLoad({ dir, times, runs, native, valuesFile, startupDir }) {
  const jobFile = path.join(common.WORK, `job-load-x${times}.json`);
  fs.mkdirSync(common.WORK, { recursive: true });
  fs.writeFileSync(jobFile, JSON.stringify({ set: { dir }, verbatim: {} }));
  const t = { wasmFirst: [], wasmSecond: [], wasmAfterStartup: [], nativeFirst: [], nativeSecond: [] };
  let info;
  for (let i = 0; i < runs; i++) {
    const { result: w } = runWorker('wasm', ['load', jobFile]);
    t.wasmFirst.push(w.firstLoadMs);
    t.wasmSecond.push(w.secondLoadMs);
    info = { files: w.files, bytes: w.bytes };
    const { result: s } = runWorker('wasm', ['load', jobFile], { SVCGEN_BENCH_LOAD_AFTER: startupDir });
    t.wasmAfterStartup.push(s.firstLoadMs);
    const r = require('node:child_process').spawnSync(native, ['load', dir, valuesFile], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`native load failed: ${r.stderr}`);
    const n = JSON.parse(r.stdout.trim().split('\n').pop());
    t.nativeFirst.push(n.firstLoadMs);
    t.nativeSecond.push(n.secondLoadMs);
  }
  const s = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, common.summarize(v)]));
  return {
    times,
    setFiles: info.files,
    setBytes: info.bytes,
    wasm: { first: s.wasmFirst, afterStartup: s.wasmAfterStartup, second: s.wasmSecond },
    native: { first: s.nativeFirst, second: s.nativeSecond },
  };
}

/** The markdown table of measureLoad results. */
function loadTable(rows) {
  const f = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const ms = (v) => `${f(v.median)} (${f(v.p10)}–${f(v.p90)})`;
  const ratio = (a, b) => `${(a / b).toFixed(2)}×`;
  const out = [
    '| set | files | MB | native load | WASM, first load of a process | × native | WASM, after loading the bundled set | × native | second load, WASM / native |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    out.push(`| ×${r.times} | ${r.setFiles} | ${(r.setBytes / 1e6).toFixed(1)} | ${ms(r.native.first)} | ${ms(r.wasm.first)} | ${ratio(r.wasm.first.median, r.native.first.median)} | ${ms(r.wasm.afterStartup)} | ${ratio(r.wasm.afterStartup.median, r.native.first.median)} | ${f(r.wasm.second.median)} / ${f(r.native.second.median)} = ${ratio(r.wasm.second.median, r.native.second.median)} |`);
  }
  return out.join('\n');
}

module.exports = { measureLoad, loadTable };
