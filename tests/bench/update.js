// Updating a generated repository (issue 16): svcgen::update of the story's example service from
// the bundled set (version A) to a version B of it with a realistic template change, and a no-op
// update, natively, through the WASM binding and through plugin-ts's engine, each in fresh
// processes (lib/update.js). Run it through run.sh, which builds the native program:
//   bash tests/bench/run.sh --update [--runs=N] [--wait-quiet=L]
// --wait-quiet=L waits for a 1-minute load average below L before each case, 20 min at most in all
// (then it goes on and the load is recorded). Every update is checked before timing (the conflict,
// the team's edits kept, B's added and removed files), and every process must return the same update.
// Writes tests/bench/results-update.json and prints the table (BENCHMARKS.md, "Updating a generated
// repository").
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const common = require('./lib/common');
const { prepareUpdate, checkUpdate, measureUpdate, updateTable, updateNotes } = require('./lib/update');

const runsArg = process.argv.find((a) => a.startsWith('--runs='));
const RUNS = runsArg ? Number(runsArg.slice('--runs='.length)) : 7;
const NATIVE = process.env.SVCGEN_BENCH_NATIVE || path.join(common.ROOT, 'target/bench-native/release/svcgen-bench-native');
const QUIET = common.quietLimit();
const QUIET_MAX_MS = 20 * 60_000;
// Per process and kind: 0.5 s of warm-up, then at least 30 updates and 2 s.
const WARM = { warmupMs: 500, minRuns: 30, minMs: 2000, maxRuns: 2000 };
const log = (...a) => console.error('[update]', ...a);

const quietUntil = Date.now() + QUIET_MAX_MS;
/** With --wait-quiet, blocks until the 1-minute load average is below the limit (20 min in all at most). */
function waitQuiet() {
  return common.waitQuiet(QUIET, quietUntil, log) ?? { waitedMin: 0, reached: true };
}

const TEMPLATES = common.snapshotTemplates();
const SET_DIR = path.join(TEMPLATES, 'microservice');
const scenario = prepareUpdate({ setDir: SET_DIR, values: common.exampleValues() });
const reference = checkUpdate(scenario);
for (const c of scenario.cases) {
  const s = reference[c.name].summary;
  log(`${c.label}: checked; ${s.changes} changes (${s.modified} modified, ${s.added} added, ${s.removed} deleted), conflicts ${JSON.stringify(s.conflicts.map((x) => x.path))}`);
}
const results = {
  ...common.runInfo(RUNS),
  warm: WARM,
  scenario: {
    from: scenario.fromVersion,
    to: scenario.toVersion,
    setFiles: common.readSet(scenario.oldDir).length,
    generatedFiles: scenario.ours.size,
    repoFiles: scenario.repo.size,
    repoBytes: [...scenario.repo.values()].reduce((n, f) => n + f.contents.length, 0),
    paths: scenario.paths,
  },
  rows: [],
};
for (const c of scenario.cases) {
  const quiet = waitQuiet();
  const loadAvg = +os.loadavg()[0].toFixed(2);
  const row = measureUpdate({ c, runs: RUNS, native: NATIVE, reference, warm: WARM });
  results.rows.push({ ...row, loadAvg, quiet });
  log(c.name, 'native', row.native.warm.median.toFixed(2), 'wasm', row.wasm.warm.median.toFixed(2), 'engine', row.engine.warm.median.toFixed(2), 'worker engine', row.workerEngine.warm.median.toFixed(2), `(load ${loadAvg})`);
}
results.loadAtEnd = os.loadavg().map((x) => +x.toFixed(2));
fs.writeFileSync(path.join(__dirname, 'results-update.json'), `${JSON.stringify(results, null, 2)}\n`);
const sc = results.scenario;
console.log(`Updating the example service (ms, median (p10–p90); warm: single updates pooled over ${RUNS} fresh processes of each kind, first call: one per process; ${results.cpu}, Node ${results.node}; repository ${sc.repoFiles} files, ${(sc.repoBytes / 1e3).toFixed(0)} KB; 1-minute load average at each case: ${results.rows.map((r) => r.loadAvg).join(', ')})\n`);
console.log(updateTable(results.rows));
console.log(`\n${updateNotes(results.rows)}`);
