// One engine in its own process:  node engines/worker.js ENGINE MODE JOB.json [OUT.json]
//   check   renders once and writes the output files (base64) to OUT.json
//   warm    compiles once, then times full renders; prints a JSON line
//   cold    (fresh process) times load + compile + first full render; prints a JSON line
//   phases  (wasm only) times each call of the binding separately, for the profile
//   action  (ENGINE ignored) times the action's engine, plugin-ts SvcgenEngine.render(setDir, values):
//           the set's freshness check (list + stat every file) + the WASM render
// Reading the job and the template files from disk is done before any timing starts, for every engine.
'use strict';

const fs = require('node:fs');
const { performance } = require('node:perf_hooks');
const [engineName, mode, jobFile, outFile] = process.argv.slice(2);

const job = JSON.parse(fs.readFileSync(jobFile, 'utf8'));
const common = require('../lib/common');
const { engines, verbatimBuffers } = require('./js');
const engine = engines[engineName];
if (!engine && mode !== 'action') throw new Error(`unknown engine ${engineName}`);
const input = {
  sources: engineName === 'wasm' && mode !== 'action' ? common.readSet(job.set.dir) : null,
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
  console.log(JSON.stringify({ engine: engineName, mode, prepareMs, ...common.summarize(times), times }));
} else if (mode === 'phases') {
  const core = require(common.GLUE);
  const set = core.TemplateSet.load(input.sources);
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
    load: time(() => core.TemplateSet.load(input.sources).free()),
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
  const { SvcgenEngine } = require(path.join(common.ROOT, 'plugin-ts/dist/engine.js'));
  const { writeOutput } = require(path.join(common.ROOT, 'plugin-ts/dist/writer.js'));
  const { resolveSafeChildPath } = require(require.resolve('@backstage/backend-plugin-api', { paths: [path.join(common.ROOT, 'plugin-ts')] }));
  const engine = new SvcgenEngine();
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
    // The two halves of the action's step: the engine's render (freshness check of the set's
    // files + WASM render), then writing the files into an empty workspace folder.
    const render = await timeAsync(() => engine.render(job.set.dir, job.values));
    const output = await engine.render(job.set.dir, job.values);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'svcgen-bench-write-'));
    const target = path.join(dir, 'out');
    const clean = async () => fs.rmSync(target, { recursive: true, force: true });
    const write = await timeAsync(() => writeOutput(output, target), clean);
    // A sketch of a writer with fewer, overlapping system calls, for comparison: each folder
    // checked and created once, files written 16 at a time with their mode at creation (fchmod
    // only when the umask masks it).
    const fsp = fs.promises;
    const umask = process.umask();
    async function writeBatched(out, targetDir) {
      const files = [];
      let offset = 0;
      for (const f of out.files) {
        files.push({ ...f, contents: out.data.subarray(offset, offset + f.size) });
        offset += f.size;
      }
      // Same safety as writeOutput: each folder checked (symbolic links included) to stay inside
      // the target before it is created, each file opened without following a symbolic link.
      const dirs = [...new Set(files.map((f) => path.posix.dirname(f.path)))].sort();
      await fsp.mkdir(targetDir, { recursive: true });
      for (const d of dirs) await fsp.mkdir(resolveSafeChildPath(targetDir, d), { recursive: true });
      const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW;
      for (let i = 0; i < files.length; i += 16) {
        await Promise.all(files.slice(i, i + 16).map(async (f) => {
          const mode = f.executable ? 0o755 : 0o644;
          const handle = await fsp.open(path.join(targetDir, f.path), flags, mode);
          try {
            await handle.writeFile(f.contents);
            if ((mode & ~umask) !== mode) await handle.chmod(mode);
          } finally {
            await handle.close();
          }
        }));
      }
    }
    const writeBatchedTimes = await timeAsync(() => writeBatched(output, target), clean);
    // The sketch writes the same files with the same modes as writeOutput.
    await clean();
    await writeBatched(output, target);
    const other = path.join(dir, 'reference');
    await writeOutput(output, other);
    writeBatchedTimes.sameFiles = output.files.every((f) => {
      const a = path.join(target, f.path);
      const b = path.join(other, f.path);
      return fs.readFileSync(a).equals(fs.readFileSync(b)) && fs.statSync(a).mode === fs.statSync(b).mode;
    });
    fs.rmSync(dir, { recursive: true, force: true });
    console.log(JSON.stringify({ engine: 'action', mode: 'warm', ...render, write, writeBatched: writeBatchedTimes }));
  })();
} else {
  throw new Error(`unknown mode ${mode}`);
}
