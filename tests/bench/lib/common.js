// Shared by the benchmark scripts: reading a template set, the svcgen core, the render job the
// other engines get, synthetic ×N sets, and statistics.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const ROOT = path.resolve(__dirname, '../../..');
// SVCGEN_BENCH_GLUE: another build of the glue, to compare builds (A/B) with the same driver.
const GLUE = process.env.SVCGEN_BENCH_GLUE || path.join(ROOT, 'plugin-ts/wasm/svcgen.js');
const SUFFIX = '.jinja';
// Under target/ (ignored by git): shared /tmp folders get cleaned by other tools mid-run.
const WORK = process.env.SVCGEN_BENCH_WORK || path.join(ROOT, 'target/bench-work');

function requireFromPluginTs(name) {
  return require(require.resolve(name, { paths: [path.join(ROOT, 'plugin-ts')] }));
}
const yaml = requireFromPluginTs('yaml');
const port = require('./port');

/** Every regular file of a template-set folder, sorted by path, as the core expects them. */
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
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The values of the benchmark: the story's example (examples/values/user-service.yaml). */
function exampleValues() {
  return yaml.parse(fs.readFileSync(path.join(ROOT, 'examples/values/user-service.yaml'), 'utf8'));
}

/**
 * Value sets for the byte-equality check of the ports: the example plus variants that switch on
 * the other languages, APIs, databases, CI providers and options, so every template of the set
 * is rendered by at least one of them (checked: see uncoveredTemplates).
 */
function checkValueSets() {
  const base = exampleValues();
  return [
    ['example', base],
    ['python-grpc-dynamodb-all-options', {
      ...base, apiType: 'grpc', database: 'dynamodb', redisCache: true, messageQueue: 'sqs', scheduledJobs: true,
      schedule: '*/15 * * * *', authentication: 'jwt', createNetwork: true, environment: 'production',
      system: 'system:default/accounts',
      description: 'Quotes " and \' and ${x} %{y} {{ 7*7 }}\tand a \u2028 line separator',
    }],
    ['python-graphql-oauth2-sns-gitlab', {
      ...base, apiType: 'graphql', authentication: 'oauth2', messageQueue: 'sns', ciProvider: 'gitlab',
      database: 'none', resourceName: 'category', environment: 'dev', repoUrl: 'gitlab.example.com?owner=acme&repo=user-service',
    }],
    ['python-minimal', { ...base, database: 'none', ciProvider: 'gitlab', environment: 'dev' }],
    ['nodejs', { ...base, language: 'nodejs', database: 'dynamodb', redisCache: true }],
    ['go', { ...base, language: 'go', apiType: 'grpc', ciProvider: 'gitlab', messageQueue: 'sqs', scheduledJobs: true, schedule: '0 * * * *' }],
  ];
}

let glue;
/** The WASM core (the glue wasm-bindgen generated), loaded once. */
function core() {
  if (!glue) glue = require(GLUE);
  return glue;
}

/**
 * A set's files as `TemplateSet.load` takes them: one index and every file's bytes back to back in
 * one buffer (as plugin-ts's packLayers does), so a set of any size crosses into WASM in two calls.
 * Packing is the host's reading work: callers do it before timing, like reading the files.
 */
function packSet(files, source = 'bench') {
  return {
    index: [{ source, files: files.map((f) => ({ path: f.path, size: f.contents.length, executable: f.executable })) }],
    data: Buffer.concat(files.map((f) => f.contents)),
  };
}

/** Compiles a packed set (see packSet) with the WASM core. */
function loadSet(packed, glueModule = core()) {
  return glueModule.TemplateSet.load(packed.index, packed.data);
}

/** Splits the core's output into a Map of path → Buffer. */
function splitOutput(output) {
  const map = new Map();
  let offset = 0;
  for (const file of output.files) {
    map.set(file.path, Buffer.from(output.data.buffer, output.data.byteOffset + offset, file.size));
    offset += file.size;
  }
  return map;
}

/**
 * What every other engine gets to render the same output as the core: every template of the set
 * by name, the core's plan (which files, where, rendered or copied), and the context the core
 * renders with (values + derived + template).
 */
function makeJob(setDir, values) {
  const files = readSet(setDir);
  const set = loadSet(packSet(files));
  try {
    const info = set.info();
    const plan = set.plan(values);
    const expected = splitOutput(set.render(values));
    const templates = {};
    const verbatim = {};
    for (const f of files) {
      if (f.path.endsWith(SUFFIX)) templates[f.path] = f.contents.toString('utf8');
    }
    // The ports: translated once, like a person porting the set would (not part of any timing).
    const ports = {};
    const translations = {};
    for (const engine of Object.keys(port.ENGINE_TRANSLATIONS)) {
      translations[engine] = {};
      ports[engine] = port.portTemplates(engine, templates, translations[engine]);
    }
    for (const f of plan.files) {
      // The answers file is written by the core itself, from no template: the other engines are
      // handed its bytes, like a file they copy.
      if (f.rendered && !(f.source in templates)) {
        f.rendered = false;
        verbatim[f.source] = expected.get(f.path).toString('base64');
      }
      if (!f.rendered) verbatim[f.source] ||= files.find((s) => s.path === f.source).contents.toString('base64');
    }
    return {
      set: { dir: setDir, name: info.name, version: info.version },
      values,
      context: { ...plan.validated.values, ...plan.validated.derived, template: info },
      templates,
      ports,
      translations,
      verbatim,
      files: plan.files,
      expected,
      expectedBytes: [...expected.values()].reduce((n, b) => n + b.length, 0),
    };
  } finally {
    set.free();
  }
}

/** Writes the job (without the expected output) for the engine processes; returns its path. */
function writeJob(job, name) {
  fs.mkdirSync(WORK, { recursive: true });
  const file = path.join(WORK, `job-${name}.json`);
  const { expected, ...rest } = job;
  fs.writeFileSync(file, JSON.stringify(rest));
  return file;
}

/**
 * A synthetic set with the files of `setDir` `times` times: copy 0 is the set itself, copy k
 * lives under `copyK/` with its own sources, conditions and includes, so every copy renders the
 * same files under other paths. Written under the work folder; returns its path.
 */
function syntheticSet(setDir, times) {
  const dir = path.join(WORK, `set-x${times}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const files = readSet(setDir);
  const manifest = yaml.parse(files.find((f) => f.path === 'manifest.yaml').contents.toString('utf8'));
  const templates = new Set(files.filter((f) => f.path.endsWith(SUFFIX)).map((f) => f.path));
  const sources = [...manifest.sources];
  const conditions = { ...(manifest.conditions || {}) };
  const write = (rel, contents, executable) => {
    const full = path.join(dir, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, contents, { mode: executable ? 0o755 : 0o644 });
  };
  for (let k = 1; k < times; k++) {
    const prefix = `copy${k}`;
    for (const s of manifest.sources) {
      sources.push({ ...s, dir: `${prefix}/${s.dir}`, into: s.into ? `${prefix}/${s.into}` : prefix });
    }
    for (const [key, expr] of Object.entries(manifest.conditions || {})) conditions[`${prefix}/${key}`] = expr;
    for (const f of files) {
      if (f.path === 'manifest.yaml') continue;
      let contents = f.contents;
      if (f.path.endsWith(SUFFIX)) {
        contents = f.contents.toString('utf8').replace(
          /(\{%-?\s*include\s+)(['"])([^'"]+)\2/g,
          (all, head, q, name) => (templates.has(name) ? `${head}${q}${prefix}/${name}${q}` : all),
        );
      }
      write(`${prefix}/${f.path}`, contents, f.executable);
    }
  }
  for (const f of files) {
    if (f.path !== 'manifest.yaml') write(f.path, f.contents, f.executable);
  }
  // Each copy renders the whole output again: the limits of one render scale with it (to the core's maximums).
  const limits = { ...(manifest.limits || {}), fuel: 20_000_000, outputBytes: 256 << 20 };
  write('manifest.yaml', yaml.stringify({ ...manifest, sources, conditions, ...(times > 1 && { limits }) }, { lineWidth: 0 }));
  return dir;
}

/**
 * A copy of the repository's templates/ under the work folder, so that every engine (and the
 * Backstage backend) renders the same files even while templates/ is being edited. A copy taken
 * in the middle of an edit may not render: it is retaken (up to `tries` times, `waitMs` apart).
 */
function snapshotTemplates({ tries = 30, waitMs = 10000 } = {}) {
  const dest = path.join(WORK, 'templates');
  for (let attempt = 1; ; attempt++) {
    fs.rmSync(dest, { recursive: true, force: true });
    fs.cpSync(path.join(ROOT, 'templates'), dest, { recursive: true });
    try {
      const set = loadSet(packSet(readSet(path.join(dest, 'microservice'))));
      try {
        for (const [, values] of checkValueSets()) set.render(values);
      } finally {
        set.free();
      }
      return dest;
    } catch (err) {
      if (attempt >= tries) throw err;
      console.error(`[bench] templates/ does not render right now (${String(err.message).split('\n')[0]}); retrying in ${waitMs / 1000} s`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, waitMs);
    }
  }
}

/** Sorted copy and quantiles of timings. */
function summarize(times) {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q) => sorted[Math.round((sorted.length - 1) * q)];
  return { runs: sorted.length, median: at(0.5), p10: at(0.1), p90: at(0.9), min: sorted[0], max: sorted[sorted.length - 1] };
}

/**
 * Times `fn` (milliseconds per call): warms up for `warmupMs`, then runs until both `minRuns`
 * calls and `minMs` have passed, or `maxRuns` calls.
 */
function timeWarm(fn, { warmupMs = 1000, minRuns = 30, minMs = 4000, maxRuns = 2000 } = {}) {
  const warmEnd = performance.now() + warmupMs;
  do fn(); while (performance.now() < warmEnd);
  const times = [];
  const start = performance.now();
  while (times.length < maxRuns && (times.length < minRuns || performance.now() - start < minMs)) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return times;
}

/**
 * `--wait-quiet=L` of argv as a number, or null without it: the 1-minute load average the parts of a
 * run wait for (the machine may be shared).
 */
function quietLimit(argv = process.argv) {
  const arg = argv.find((a) => a.startsWith('--wait-quiet='));
  return arg ? Number(arg.slice('--wait-quiet='.length)) : null;
}

/**
 * Blocks until the 1-minute load average is below `limit` or the clock passes `deadline` (ms since
 * the epoch), checking every `everyMs`; returns what happened. A null limit returns at once.
 */
function waitQuiet(limit, deadline, log, everyMs = 30_000) {
  if (limit === null) return null;
  const start = Date.now();
  while (os.loadavg()[0] >= limit && Date.now() < deadline) {
    log(`load ${os.loadavg()[0].toFixed(2)} ≥ ${limit}: waiting`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, everyMs);
  }
  return { limit, waitedMin: +((Date.now() - start) / 60_000).toFixed(1), reached: os.loadavg()[0] < limit };
}

/** The head of a results file of a part run alone (load.js, update.js): when, where, on what. */
function runInfo(runs) {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus[0].model} × ${cpus.length}`,
    loadAtStart: os.loadavg().map((x) => +x.toFixed(2)),
    runs,
    gitHead: require('node:child_process').execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(),
  };
}

module.exports = {
  ROOT, GLUE, WORK, SUFFIX, yaml, readSet, packSet, loadSet, exampleValues, checkValueSets, core, splitOutput, makeJob, writeJob,
  syntheticSet, snapshotTemplates, summarize, timeWarm, quietLimit, waitQuiet, runInfo,
};
