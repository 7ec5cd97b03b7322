// The benchmark: svcgen (WASM in Node, native) against Nunjucks 3.2.4, Nunjitsu and Jinja2 on the
// real template set, plus growth, memory, a profile and the Backstage comparison. Run it through
// run.sh (which builds the native program and the Jinja2 venv):  bash tests/bench/run.sh [--quick]
// Writes tests/bench/results.json and tests/bench/results.md and prints the latter.
'use strict';

const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const common = require('./lib/common');
const { runWorker, checkEngine, PYTHON, BENCH } = require('./lib/run');
const { measureLoad } = require('./lib/load');

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const SKIP_BACKSTAGE = args.has('--skip-backstage');
const NATIVE = process.env.SVCGEN_BENCH_NATIVE || path.join(common.ROOT, 'target/bench-native/release/svcgen-bench-native');
const WARM = QUICK ? { warmupMs: 300, minRuns: 20, minMs: 1000, maxRuns: 500 } : { warmupMs: 1000, minRuns: 50, minMs: 5000, maxRuns: 3000 };
const COLD_RUNS = QUICK ? 5 : 25;
const ENGINES = ['native', 'wasm', 'nunjucks', 'nunjitsu', 'jinja2'];
const LABELS = {
  native: 'svcgen core, native Rust (the limit)',
  wasm: 'svcgen core, WASM in Node',
  nunjucks: 'Nunjucks 3.2.4 (precompiled templates)',
  nunjitsu: 'Nunjitsu 0.7.0 (parses per render: its only API)',
  jinja2: 'Jinja2 (Python; compiled templates cached)',
};

// The preview CLI, and the V8 flags its entry point sets (read from it, so the two never differ).
const CLI = path.join(common.ROOT, 'plugin-ts/bin/svcgen-preview.js');
const CLI_V8_FLAGS = [...fs.readFileSync(CLI, 'utf8').matchAll(/setFlagsFromString\('([^']+)'\)/g)].map((m) => m[1]);
if (!CLI_V8_FLAGS.length) throw new Error(`no V8 flag found in ${CLI}`);
const log = (...a) => console.error('[bench]', ...a);
const loadAvg = () => os.loadavg().map((x) => +x.toFixed(2));
const sh = (cmd, argv) => {
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
};

function environment() {
  const cpu = os.cpus();
  const lock = fs.readFileSync(path.join(common.ROOT, 'Cargo.lock'), 'utf8');
  const crate = (name) => (new RegExp(`name = "${name}"\\nversion = "([^"]+)"`).exec(lock) || [])[1];
  return {
    date: new Date().toISOString(),
    cpu: `${cpu[0].model} × ${cpu.length}`,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    python: sh(PYTHON, ['--version']),
    jinja2: sh(PYTHON, ['-c', 'import importlib.metadata as m; print(m.version("jinja2"))']),
    rustc: sh('rustc', ['--version']),
    minijinja: crate('minijinja'),
    nunjucks: require(require.resolve('nunjucks/package.json', { paths: [BENCH] })).version,
    nunjitsu: require(require.resolve('nunjitsu/package.json', { paths: [BENCH] })).version,
    wasmBytes: fs.statSync(path.join(common.ROOT, 'plugin-ts/wasm/svcgen_bg.wasm')).size,
    gitHead: sh('git', ['-C', common.ROOT, 'rev-parse', '--short', 'HEAD']),
    templatesDirty: Boolean(sh('git', ['-C', common.ROOT, 'status', '--porcelain', '--', 'templates'])),
  };
}

/**
 * The preview CLI as users run it, in fresh processes, interleaved: the core's cold start (load +
 * compile + first render) with V8's defaults and with the CLI's flag, and the whole CLI run (Node
 * start, reading the set, rendering, writing every file) as wall time.
 */
function measureCli(node, jobFile) {
  const out = path.join(common.WORK, 'cli-out');
  const runs = { defaults: [], cliFlags: [], cliFlagsWall: [], run: [] };
  for (let i = 0; i < COLD_RUNS; i++) {
    runs.defaults.push(runWorker('wasm', ['cold', jobFile], {}, node).result.ms);
    const flagged = runWorker('wasm', ['cold', jobFile], {}, node, CLI_V8_FLAGS);
    runs.cliFlags.push(flagged.result.ms);
    runs.cliFlagsWall.push(flagged.wallMs);
    fs.rmSync(out, { recursive: true, force: true });
    const t0 = performance.now();
    const r = spawnSync(node, [CLI, '--values', path.join(common.ROOT, 'examples/values/user-service.yaml'), '--out', out], { encoding: 'utf8' });
    runs.run.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`svcgen-preview failed (${r.status}): ${r.stderr.slice(-2000)}`);
  }
  const summary = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, common.summarize(v)]));
  log('cli', sh(node, ['--version']), JSON.stringify(Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, v.median.toFixed(1)]))));
  return { flags: CLI_V8_FLAGS, ...summary };
}

function runNative(mode, dir, valuesFile) {
  const r = spawnSync(NATIVE, [mode, dir, valuesFile], { encoding: 'utf8', env: { ...process.env, SVCGEN_BENCH_WARM: JSON.stringify(WARM) }, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`native ${mode}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function fnv(buf) {
  let h = 0xcbf29ce484222325n;
  for (const b of buf) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

/** Templates of the set that no check renders (directly or through an include or import). */
function uncovered(templates, renderedSources) {
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const m of (templates[name] || '').matchAll(/\{%-?\s*(?:include|import|from)\s+(['"])([^'"]+)\1/g)) visit(m[2]);
  };
  renderedSources.forEach(visit);
  return Object.keys(templates).filter((t) => !seen.has(t));
}

const stripTimes = ({ times, ...rest }) => rest;

/**
 * With --wait-quiet=L, waits until the 1-minute load average is below L: up to 45 min before the
 * run, up to 10 min before each later part (the machine may be shared). Returns what happened.
 */
function waitQuiet(maxMin = 45) {
  return common.waitQuiet(common.quietLimit([...args]), Date.now() + maxMin * 60_000, log, 15_000);
}

const phases = {};
/** Waits for quiet (with --wait-quiet) and notes the load each part started under. */
function phaseLoad(name) {
  const waited = waitQuiet(10);
  phases[name] = { loadAtStart: loadAvg(), ...(waited ? { waitedMin: waited.waitedMin } : {}) };
}

async function main() {
  const quiet = waitQuiet();
  const results = { environment: environment(), loadAtStart: loadAvg(), quick: QUICK, waitQuiet: quiet };
  // Every part renders the same copy of templates/ (taken now), whatever happens to templates/ meanwhile.
  const TEMPLATES = common.snapshotTemplates();
  const SET_DIR = path.join(TEMPLATES, 'microservice');
  log('environment', JSON.stringify(results.environment));

  // 1. The job and the byte-for-byte check of every port on several value sets.
  const values = common.exampleValues();
  const valuesFile = path.join(common.WORK, 'values.json');
  fs.mkdirSync(common.WORK, { recursive: true });
  fs.writeFileSync(valuesFile, JSON.stringify(values));
  const job = common.makeJob(SET_DIR, values);
  const jobFile = common.writeJob(job, 'example');
  results.set = {
    name: job.set.name,
    version: job.set.version,
    setFiles: common.readSet(SET_DIR).length,
    templates: Object.keys(job.templates).length,
    outputFiles: job.files.length,
    renderedFiles: job.files.filter((f) => f.rendered).length,
    outputBytes: job.expectedBytes,
    values: 'examples/values/user-service.yaml',
  };
  results.translations = job.translations;
  log('set', JSON.stringify(results.set));

  results.checks = [];
  const renderedSources = new Set();
  for (const [name, v] of common.checkValueSets()) {
    const j = name === 'example' ? job : common.makeJob(SET_DIR, v);
    j.files.filter((f) => f.rendered).forEach((f) => renderedSources.add(f.source));
    const file = name === 'example' ? jobFile : common.writeJob(j, `check-${name}`);
    for (const engine of ['nunjucks', 'nunjitsu', 'jinja2']) {
      const r = checkEngine(engine, file, j.expected);
      results.checks.push({ values: name, engine, ...r });
      log('check', name, engine, `${r.equal}/${r.files}`, r.error ? r.error.split('\n')[0] : '', r.differing.map((d) => d.path).join(' '));
    }
  }
  results.uncoveredTemplates = uncovered(job.templates, renderedSources);

  // 2. Warm: each engine in its own process, templates compiled once.
  phaseLoad('2');
  results.warm = {};
  const native = runNative('warm', SET_DIR, valuesFile);
  results.warm.native = { prepareMs: native.prepareMs, ...native.summary };
  results.nativeHashEqualsWasm = native.hash === fnv(Buffer.concat([...job.expected.values()]));
  log('warm native', JSON.stringify(results.warm.native), 'same bytes as WASM:', results.nativeHashEqualsWasm);
  // An engine that cannot render the set is reported as failed, not left out.
  const attempt = (what, fn) => {
    try {
      return fn();
    } catch (err) {
      log(what, 'FAILED', String(err.message).split('\n').slice(0, 8).join(' | '));
      return { error: String(err.message).slice(0, 1500) };
    }
  };
  for (const engine of ['wasm', 'nunjucks', 'nunjitsu', 'jinja2']) {
    results.warm[engine] = attempt(`warm ${engine}`, () => stripTimes(runWorker(engine, ['warm', jobFile], { SVCGEN_BENCH_WARM: JSON.stringify(WARM) }).result));
    log('warm', engine, JSON.stringify(results.warm[engine]));
  }
  {
    const { result } = runWorker('wasm', ['action', jobFile], { SVCGEN_BENCH_WARM: JSON.stringify(WARM) });
    results.warm.actionEngine = stripTimes(result);
    log('warm action engine', JSON.stringify(results.warm.actionEngine));
  }

  // 3. Cold: fresh processes, engines interleaved; in-process time and the process's wall time.
  phaseLoad('3');
  const cold = Object.fromEntries(ENGINES.map((e) => [e, { ms: [], wallMs: [] }]));
  const baseline = { node: [], python: [] };
  for (let i = 0; i < COLD_RUNS; i++) {
    for (const engine of ENGINES) {
      if (engine === 'native') {
        const t0 = performance.now();
        const r = runNative('cold', SET_DIR, valuesFile);
        cold.native.wallMs.push(performance.now() - t0);
        cold.native.ms.push(r.ms);
      } else if (!results.warm[engine].error) {
        const r = attempt(`cold ${engine}`, () => runWorker(engine, ['cold', jobFile]));
        if (!r.error) {
          cold[engine].ms.push(r.result.ms);
          cold[engine].wallMs.push(r.wallMs);
          for (const k of ['prepareMs', 'firstRenderMs', 'secondRenderMs', 'requireMs', 'loadMs']) {
            if (typeof r.result[k] === 'number') (cold[engine][k] ||= []).push(r.result[k]);
          }
        }
      }
    }
    for (const [which, cmd, argv] of [['node', process.execPath, ['-e', '']], ['python', PYTHON, ['-c', '']]]) {
      const t0 = performance.now();
      spawnSync(cmd, argv);
      baseline[which].push(performance.now() - t0);
    }
  }
  results.cold = Object.fromEntries(ENGINES.map((e) => [e, cold[e].ms.length
    ? {
        inProcess: common.summarize(cold[e].ms),
        wall: common.summarize(cold[e].wallMs),
        parts: Object.fromEntries(Object.entries(cold[e]).filter(([k]) => !['ms', 'wallMs'].includes(k)).map(([k, v]) => [k, common.summarize(v).median])),
      }
    : { error: 'no successful run' }]));
  results.cold.emptyProcess = { node: common.summarize(baseline.node), python: common.summarize(baseline.python) };
  results.cli = { [process.version]: measureCli(process.execPath, jobFile) };
  log('cold', JSON.stringify(Object.fromEntries(ENGINES.map((e) => [e, results.cold[e].inProcess && results.cold[e].inProcess.median]))));

  // 3b. The same Node engines on Node 22, the line Backstage supports (when run.sh provided it).
  phaseLoad('3b');
  const node22 = process.env.SVCGEN_BENCH_NODE22;
  if (node22 && fs.existsSync(node22)) {
    results.node22 = { version: sh(node22, ['--version']), warm: {}, cold: {} };
    for (const engine of ['wasm', 'nunjucks', 'nunjitsu']) {
      if (results.warm[engine].error) continue;
      results.node22.warm[engine] = attempt(`node22 warm ${engine}`, () => stripTimes(runWorker(engine, ['warm', jobFile], { SVCGEN_BENCH_WARM: JSON.stringify(WARM) }, node22).result));
      results.node22.cold[engine] = attempt(`node22 cold ${engine}`, () => {
        const times = [];
        for (let i = 0; i < Math.ceil(COLD_RUNS / 2); i++) times.push(runWorker(engine, ['cold', jobFile], {}, node22).result.ms);
        return common.summarize(times);
      });
      log('node22', engine, JSON.stringify(results.node22.warm[engine]).slice(0, 200));
    }
    results.cli[results.node22.version] = measureCli(node22, jobFile);
  }

  // 4. Growth: the set ×1, ×10, ×100 files; rendering, and loading in fresh processes (lib/load.js).
  phaseLoad('4');
  results.growth = [];
  for (const times of [1, 10, 100]) {
    const dir = times === 1 ? SET_DIR : common.syntheticSet(SET_DIR, times);
    const gJob = times === 1 ? job : common.makeJob(dir, values);
    const gFile = times === 1 ? jobFile : common.writeJob(gJob, `x${times}`);
    const n = runNative('warm', dir, valuesFile);
    const { result: w } = runWorker('wasm', ['warm', gFile], { SVCGEN_BENCH_WARM: JSON.stringify({ ...WARM, maxRuns: times === 100 ? 200 : WARM.maxRuns }) });
    const load = measureLoad({ dir, times, runs: QUICK ? 3 : 7, native: NATIVE, valuesFile, startupDir: SET_DIR });
    results.growth.push({
      times,
      setFiles: common.readSet(dir).length,
      outputFiles: gJob.files.length,
      outputBytes: gJob.expectedBytes,
      wasm: { render: stripTimes(w) },
      native: { render: n.summary },
      load,
    });
    log('growth', times, 'wasm', w.median.toFixed(3), 'native', n.summary.median.toFixed(3));
  }

  // 5. Memory over 10,000 renders in one process.
  phaseLoad('5');
  {
    const r = spawnSync(process.execPath, ['--expose-gc', path.join(BENCH, 'memory.js'), QUICK ? '2000' : '10000', '500', SET_DIR], { encoding: 'utf8', maxBuffer: 16 << 20 });
    if (r.status !== 0) throw new Error(`memory.js: ${r.stderr}`);
    results.memory = JSON.parse(r.stdout.trim().split('\n').pop());
    log('memory', JSON.stringify(results.memory.afterWarmup));
  }

  // 6. Profile: each binding call against the same call natively.
  phaseLoad('6');
  {
    const { result } = runWorker('wasm', ['phases', jobFile]);
    results.profile = { wasm: result, native: runNative('phases', SET_DIR, valuesFile) };
    log('profile', 'render wasm', result.render.median.toFixed(3), 'native', results.profile.native.render.median.toFixed(3));
  }

  // 7. Inside the real Backstage example backend.
  phaseLoad('7');
  if (SKIP_BACKSTAGE) {
    results.backstage = { skipped: '--skip-backstage' };
  } else {
    const install = spawnSync('bash', [path.join(common.ROOT, 'examples/backend/install.sh')], { encoding: 'utf8' });
    if (install.status !== 0) {
      results.backstage = { blocked: `examples/backend/install.sh failed: ${(install.stderr || install.stdout).slice(-1000)}` };
    } else {
      const r = spawnSync(process.execPath, [path.join(BENCH, 'backstage.js'), QUICK ? '5' : '30', TEMPLATES], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 900_000 });
      results.backstage = r.status === 0 ? JSON.parse(r.stdout.trim().split('\n').pop()) : { failed: (r.stderr || '').slice(-3000) };
      if (results.backstage.runs) results.backstage.runs = results.backstage.runs.length;
      log('backstage', JSON.stringify(results.backstage.summary || results.backstage).slice(0, 1000));
    }
  }

  results.loadAtEnd = loadAvg();
  results.phases = phases;
  fs.writeFileSync(path.join(BENCH, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const md = require('./lib/report').markdown(results, LABELS);
  fs.writeFileSync(path.join(BENCH, 'results.md'), md);
  console.log(md);
}

if (args.has('--report')) {
  // results.md again from results.json, after a change to the tables (lib/report.js).
  const md = require('./lib/report').markdown(JSON.parse(fs.readFileSync(path.join(BENCH, 'results.json'), 'utf8')), LABELS);
  fs.writeFileSync(path.join(BENCH, 'results.md'), md);
  console.log(md);
} else {
  main().catch((err) => {
    console.error(err.stack || String(err));
    process.exit(1);
  });
}
