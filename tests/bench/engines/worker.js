// One engine in its own process:  node engines/worker.js ENGINE MODE JOB.json [OUT.json]
//   check   renders once and writes the output files (base64) to OUT.json
//   warm    compiles once, then times full renders; prints a JSON line
//   cold    (fresh process) times load + compile + first full render; prints a JSON line
//   phases  (wasm only) times each call of the binding separately, for the profile
//   load    (wasm only; fresh process) times require, the process's first TemplateSet.load of the
//           set and a second one; the set is read and packed before timing
//   action  (ENGINE ignored) times the action's two halves in plugin-ts: SvcgenEngine.render of the
//           built-in set and of the job's copy in a configured folder, then writeOutput
//   update  (wasm only; fresh process) an update job (lib/update.js): loads both sets and reads the
//           repository, then times the process's first update and warm ones; each timed call packs
//           the repository into index + buffer (as plugin-ts's packRepo) and calls the binding's update
//   engine-update  (ENGINE: engine = plugin-ts's SvcgenEngine, worker-engine = SvcgenWorkerEngine, as
//           the svcgen:update action uses it) the same job through `update({ repoDir, … })`: reading
//           the repository from disk, packing, the core's update and splitting its output; both sets
//           compiled before timing, as the backend module's warm-up does
// Reading the job and the template files from disk is done before any timing starts, for every engine.
'use strict';

const fs = require('node:fs');
const { performance } = require('node:perf_hooks');
const [engineName, mode, jobFile, outFile] = process.argv.slice(2);

const job = JSON.parse(fs.readFileSync(jobFile, 'utf8'));
const common = require('../lib/common');
const { engines, verbatimBuffers } = require('./js');
const engine = engines[engineName];
const OWN_JOB = ['action', 'update', 'engine-update'];
if (!engine && !OWN_JOB.includes(mode)) throw new Error(`unknown engine ${engineName}`);
const input = {
  sources: engineName === 'wasm' && !OWN_JOB.includes(mode) ? common.packSet(common.readSet(job.set.dir)) : null,
  verbatim: verbatimBuffers(job),
};

if (mode === 'cold') {
  const t0 = performance.now();
  const renderer = engine.prepare(job, input);
  const t1 = performance.now();
  renderer.render();
  const t2 = performance.now();
  const t3 = performance.now();
  renderer.render();
  const secondRenderMs = performance.now() - t3;
  console.log(JSON.stringify({ engine: engineName, mode, ms: t2 - t0, prepareMs: t1 - t0, firstRenderMs: t2 - t1, secondRenderMs, ...renderer.detail, sinceProcessStartMs: t2 }));
} else if (mode === 'check') {
  const renderer = engine.prepare(job, input);
  const files = renderer.files(renderer.render());
  fs.writeFileSync(outFile, JSON.stringify(Object.fromEntries([...files].map(([p, b]) => [p, b.toString('base64')]))));
} else if (mode === 'warm') {
  const t0 = performance.now();
  const renderer = engine.prepare(job, input);
  const prepareMs = performance.now() - t0;
  const opts = JSON.parse(process.env.SVCGEN_BENCH_WARM || '{}');
  const times = common.timeWarm(renderer.render, opts);
  console.log(JSON.stringify({ engine: engineName, mode, prepareMs, ...renderer.detail, ...common.summarize(times), times }));
} else if (mode === 'load') {
  // SVCGEN_BENCH_LOAD_AFTER=DIR: first load the set in DIR and leave V8 a second to finish
  // compiling what that made hot, like a backend that compiled its bundled sets at startup.
  const after = process.env.SVCGEN_BENCH_LOAD_AFTER;
  const before = after ? common.packSet(common.readSet(after)) : null;
  const t0 = performance.now();
  const core = require(common.GLUE);
  const t1 = performance.now();
  if (before) {
    common.loadSet(before, core).free();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  }
  const t2 = performance.now();
  const first = common.loadSet(input.sources, core);
  const t3 = performance.now();
  first.free();
  const t4 = performance.now();
  common.loadSet(input.sources, core).free();
  const t5 = performance.now();
  console.log(JSON.stringify({
    engine: engineName, mode, after: after || null, requireMs: t1 - t0, firstLoadMs: t3 - t2, secondLoadMs: t5 - t4,
    files: input.sources.index.reduce((n, l) => n + l.files.length, 0), bytes: input.sources.data.length,
  }));
} else if (mode === 'phases') {
  const core = require(common.GLUE);
  const set = common.loadSet(input.sources, core);
  const quick = { warmupMs: 300, minRuns: 30, minMs: 2000, maxRuns: 5000 };
  const time = (fn) => common.summarize(common.timeWarm(fn, quick));
  const values = job.values;
  const out = set.render(values);
  const json = JSON.stringify(values);
  const result = {
    engine: engineName,
    mode,
    // A call that does nothing but cross: the set's name and version, as JSON.
    info: time(() => set.info()),
    validate: time(() => set.validate(values)),
    plan: time(() => set.plan(values)),
    render: time(() => set.render(values)),
    load: time(() => common.loadSet(input.sources, core).free()),
    // The host's side of the boundary, measured in JS alone: values to JSON text, the output's
    // metadata back from JSON text, the bytes copied out of linear memory.
    hostStringifyValues: time(() => JSON.stringify(values)),
    hostParseOutputJson: time(() => JSON.parse(JSON.stringify({ ...out, data: null }))),
    hostCopyBytes: time(() => new Uint8Array(out.data)),
    outputJsonBytes: JSON.stringify({ ...out, data: null }).length,
    valuesJsonBytes: json.length,
    dataBytes: out.data.length,
  };
  set.free();
  console.log(JSON.stringify(result));
} else if (mode === 'action') {
  const path = require('node:path');
  const os = require('node:os');
  const { SvcgenEngine, __testing } = require(path.join(common.ROOT, 'plugin-ts/dist/engine.js'));
  const { writeOutput } = require(path.join(common.ROOT, 'plugin-ts/dist/writer.js'));
  const opts = { warmupMs: 1000, minRuns: 30, minMs: 4000, maxRuns: 2000, ...JSON.parse(process.env.SVCGEN_BENCH_WARM || '{}') };
  async function timeAsync(fn, before = async () => {}) {
    const warmEnd = performance.now() + Math.min(opts.warmupMs, 500);
    do {
      await before();
      await fn();
    } while (performance.now() < warmEnd);
    const times = [];
    const start = performance.now();
    while (times.length < opts.maxRuns && (times.length < opts.minRuns || performance.now() - start < opts.minMs / 2)) {
      await before();
      const t0 = performance.now();
      await fn();
      times.push(performance.now() - t0);
    }
    return common.summarize(times);
  }
  (async () => {
    // As the backend module configures it: the job's folder of sets searched before the built-in ones.
    const engine = new SvcgenEngine({ templateDirs: [path.dirname(job.set.dir)] });
    const builtInDir = await new SvcgenEngine().resolveTemplateSet(job.set.name);
    const configuredDir = await engine.resolveTemplateSet(job.set.name);
    // Each set compiled before timing, as the module's warmUp() does at startup; then a built-in
    // set is only rendered, a configured one first stats its files and folders (in parallel).
    for (const setDir of [builtInDir, configuredDir]) await engine.render(setDir, job.values);
    const builtIn = await timeAsync(() => engine.render(builtInDir, job.values));
    const configured = await timeAsync(() => engine.render(configuredDir, job.values));
    configured.watched = __testing.watchedCount(configuredDir);
    const output = await engine.render(configuredDir, job.values);
    // The package's copy of the set may be older than the job's (plugin-ts not rebuilt).
    const fromBuiltIn = await engine.render(builtInDir, job.values);
    builtIn.sameOutput = Buffer.from(fromBuiltIn.data).equals(Buffer.from(output.data)) && JSON.stringify(fromBuiltIn.files) === JSON.stringify(output.files);
    // The other half: writing the files into an empty workspace folder.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'svcgen-bench-write-'));
    const target = path.join(dir, 'out');
    const write = await timeAsync(() => writeOutput(output, target), async () => fs.rmSync(target, { recursive: true, force: true }));
    fs.rmSync(dir, { recursive: true, force: true });
    console.log(JSON.stringify({ engine: 'action', mode: 'warm', builtIn, configured, write }));
  })();
} else if (mode === 'update') {
  const { SOURCE, packRepo, digest } = require('../lib/update');
  const files = common.readSet(job.repoDir);
  const packedOld = common.packSet(common.readSet(job.old.dir), job.source || SOURCE);
  const packedNew = job.same ? null : common.packSet(common.readSet(job.new.dir), job.source || SOURCE);
  const t0 = performance.now();
  const core = require(common.GLUE);
  const oldSet = common.loadSet(packedOld, core);
  const newSet = job.same ? oldSet : common.loadSet(packedNew, core);
  const loadMs = performance.now() - t0;
  // What plugin-ts's SvcgenEngine.update does between reading the repository and splitting the result.
  const run = () => {
    const { index, data } = packRepo(files);
    return core.update(oldSet, job.oldValues, newSet, job.newValues, index, data);
  };
  const t1 = performance.now();
  const first = run();
  const firstMs = performance.now() - t1;
  const times = common.timeWarm(run, JSON.parse(process.env.SVCGEN_BENCH_WARM || '{}'));
  console.log(JSON.stringify({ engine: engineName, mode, loadMs, firstMs, digest: digest(first), ...common.summarize(times), times }));
} else if (mode === 'engine-update') {
  const path = require('node:path');
  const { SOURCE, digest } = require('../lib/update');
  const { SvcgenEngine, readRepoFiles } = require(path.join(common.ROOT, 'plugin-ts/dist/engine.js'));
  const Engine = engineName === 'worker-engine' ? require(path.join(common.ROOT, 'plugin-ts/dist/worker.js')).SvcgenWorkerEngine : SvcgenEngine;
  if (engineName !== 'engine' && engineName !== 'worker-engine') throw new Error(`unknown engine ${engineName} for engine-update`);
  const opts = { warmupMs: 1000, minRuns: 30, minMs: 4000, maxRuns: 2000, ...JSON.parse(process.env.SVCGEN_BENCH_WARM || '{}') };
  (async () => {
    const engine = new Engine();
    // The chains as the action resolves them, each set recorded under the bundled set's name.
    const from = { dirs: [job.old.dir], sources: [job.source || SOURCE] };
    const to = job.same ? from : { dirs: [job.new.dir], sources: [job.source || SOURCE] };
    const t0 = performance.now();
    for (const chain of job.same ? [from] : [from, to]) await engine.checkVersion(chain, '>=0.0.0');
    const loadMs = performance.now() - t0;
    const run = () => engine.update({ repoDir: job.repoDir, from, to, oldValues: job.oldValues, newValues: job.newValues });
    const t1 = performance.now();
    const first = await run();
    const firstMs = performance.now() - t1;
    async function timeAsync(fn, { warmupMs, minRuns, minMs, maxRuns }) {
      const warmEnd = performance.now() + warmupMs;
      do await fn(); while (performance.now() < warmEnd);
      const times = [];
      const start = performance.now();
      while (times.length < maxRuns && (times.length < minRuns || performance.now() - start < minMs)) {
        const t = performance.now();
        await fn();
        times.push(performance.now() - t);
      }
      return times;
    }
    const times = await timeAsync(run, opts);
    // Where the time goes, shorter: reading the repository alone (readRepoFiles), and the update of
    // the repository's files already in memory (the sets' stat check, packing, the core, splitting).
    const part = { warmupMs: 200, minRuns: 30, minMs: 1000, maxRuns: opts.maxRuns };
    const readRepo = common.summarize(await timeAsync(() => readRepoFiles(job.repoDir), part));
    const files = await readRepoFiles(job.repoDir);
    const inMemory = common.summarize(await timeAsync(() => engine.update({ files, from, to, oldValues: job.oldValues, newValues: job.newValues }), part));
    console.log(JSON.stringify({ engine: engineName, mode, loadMs, firstMs, digest: digest(first), readRepo, inMemory, ...common.summarize(times), times }));
  })().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  throw new Error(`unknown mode ${mode}`);
}
