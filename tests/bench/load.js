// Loading alone: TemplateSet.load of the bundled set ×1, ×10 and ×100, WASM against native (the
// growth part of bench.js measures the same). Run it through run.sh, which builds the native program:
//   bash tests/bench/run.sh --load [--runs=N] [--wait-quiet=L]
// --wait-quiet=L waits (up to 45 min) for a 1-minute load average below L before each size.
// Writes tests/bench/results-load.json and prints the table (BENCHMARKS.md, "Loading").
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const common = require('./lib/common');
const { measureLoad, loadTable } = require('./lib/load');

const runsArg = process.argv.find((a) => a.startsWith('--runs='));
const RUNS = runsArg ? Number(runsArg.slice('--runs='.length)) : 7;
const NATIVE = process.env.SVCGEN_BENCH_NATIVE || path.join(common.ROOT, 'target/bench-native/release/svcgen-bench-native');
const QUIET = common.quietLimit();
const log = (...a) => console.error('[load]', ...a);

/** With --wait-quiet, blocks until the 1-minute load average is below the limit (45 min at most). */
function waitQuiet() {
  common.waitQuiet(QUIET, Date.now() + 45 * 60_000, log);
}

const TEMPLATES = common.snapshotTemplates();
const SET_DIR = path.join(TEMPLATES, 'microservice');
const valuesFile = path.join(common.WORK, 'values.json');
fs.writeFileSync(valuesFile, JSON.stringify(common.exampleValues()));
const results = {
  ...common.runInfo(RUNS),
  rows: [],
};
for (const times of [1, 10, 100]) {
  const dir = times === 1 ? SET_DIR : common.syntheticSet(SET_DIR, times);
  waitQuiet();
  const loadAvg = +os.loadavg()[0].toFixed(2);
  const row = measureLoad({ dir, times, runs: RUNS, native: NATIVE, valuesFile, startupDir: SET_DIR });
  results.rows.push({ ...row, loadAvg });
  log(`×${times}`, 'native', row.native.first.median.toFixed(1), 'wasm first', row.wasm.first.median.toFixed(1), 'after startup', row.wasm.afterStartup.median.toFixed(1));
}
results.loadAtEnd = os.loadavg().map((x) => +x.toFixed(2));
fs.writeFileSync(path.join(__dirname, 'results-load.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log(`Loading (ms, median (p10–p90) of ${RUNS} fresh processes each; ${results.cpu}, Node ${results.node}; 1-minute load average at each size: ${results.rows.map((r) => r.loadAvg).join(', ')})\n`);
console.log(loadTable(results.rows));
