// The action inside the real example backend, against fetch:template on the equivalent skeleton:
//   node tests/bench/backstage.js [TASKS] [TEMPLATES_DIR]
// TASKS: tasks of each kind after 3 warm-up tasks (default 20); TEMPLATES_DIR: the folder holding
// the template sets (default the repository's templates/; bench.js passes its snapshot).
// Needs examples/backend installed (bash examples/backend/install.sh; run.sh does it). Prints one JSON line.
//
// Two one-step templates are generated under the work folder and registered through an extra
// config file: `svcgen-bench-action` (svcgen:render with the example values) and
// `svcgen-bench-fetch` (fetch:template with the context the core derives, on a skeleton holding,
// at each output path, the Nunjitsu port of the file's template, a line of {% set name =
// cookiecutter.name %} for the names it uses in front, and the copied files verbatim). Both are
// first dry-run and compared byte for byte with the core's output; then tasks alternate, each
// POSTed and polled to `completed`. Step and task durations come from the scaffolder's own
// histograms (process.hrtime) read through backstage/backend.js's probe, and from the action's log
// line ("… in N ms").
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const common = require('./lib/common');

const BACKEND_DIR = path.join(common.ROOT, 'examples/backend');
const TASKS = Number(process.argv[2] || 20);
const TEMPLATES = path.resolve(process.argv[3] || path.join(common.ROOT, 'templates'));
const WARMUP = 3;
const TOKEN = 'svcgen-bench-token';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Writes both templates and the skeleton; returns what the comparison needs. */
function writeTemplates(dir, job) {
  fs.rmSync(dir, { recursive: true, force: true });
  const write = (rel, contents, mode = 0o644) => {
    const full = path.join(dir, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, contents, { mode });
  };
  const names = Object.keys(job.context);
  const verbatimPaths = [];
  const skeleton = [];
  for (const f of job.files) {
    let contents;
    if (f.rendered) {
      const source = job.ports.nunjitsu[f.source];
      const used = names.filter((n) => new RegExp(`\\b${n}\\b`).test(source));
      const header = used.map((n) => `{% set ${n} = cookiecutter.${n} %}`).join('');
      // trimBlocks removes one newline after the header's last tag: give it one when the template starts with one.
      contents = Buffer.from(header + (header && source.startsWith('\n') ? '\n' : '') + source);
    } else {
      contents = Buffer.from(job.verbatim[f.source], 'base64');
      verbatimPaths.push(f.path);
    }
    write(`fetch/skeleton/${f.path}`, contents, f.executable ? 0o755 : 0o644);
    skeleton.push({ path: `skeleton/${f.path}`, base64Content: contents.toString('base64'), executable: f.executable });
  }
  const action = {
    apiVersion: 'scaffolder.backstage.io/v1beta3',
    kind: 'Template',
    metadata: { name: 'svcgen-bench-action', title: 'svcgen bench: svcgen:render' },
    spec: {
      owner: 'group:default/platform-team',
      type: 'service',
      parameters: [],
      steps: [{ id: 'render', name: 'svcgen:render', action: 'svcgen:render', input: { values: job.values } }],
    },
  };
  const fetchTemplate = {
    apiVersion: 'scaffolder.backstage.io/v1beta3',
    kind: 'Template',
    metadata: { name: 'svcgen-bench-fetch', title: 'svcgen bench: fetch:template' },
    spec: {
      owner: 'group:default/platform-team',
      type: 'service',
      parameters: [],
      steps: [{
        id: 'render',
        name: 'fetch:template',
        action: 'fetch:template',
        input: {
          url: './skeleton',
          values: job.context,
          cookiecutterCompat: true,
          trimBlocks: true,
          lstripBlocks: true,
          copyWithoutTemplating: verbatimPaths,
        },
      }],
    },
  };
  // JSON is YAML.
  write('action/template.yaml', JSON.stringify(action, null, 2));
  write('fetch/template.yaml', JSON.stringify(fetchTemplate, null, 2));
  write('location.yaml', JSON.stringify({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Location',
    metadata: { name: 'svcgen-bench' },
    spec: { targets: ['./action/template.yaml', './fetch/template.yaml'] },
  }, null, 2));
  return { action, fetchTemplate, skeleton, skeletonBytes: skeleton.reduce((n, f) => n + Buffer.from(f.base64Content, 'base64').length, 0) };
}

async function main() {
  for (const f of ['node_modules/.package-lock.json', 'node_modules/@svcgen/plugin-scaffolder-backend-module-svcgen/package.json']) {
    if (!fs.existsSync(path.join(BACKEND_DIR, f))) {
      console.log(JSON.stringify({ blocked: `examples/backend is not installed (${f} missing): run bash examples/backend/install.sh` }));
      return;
    }
  }
  const job = common.makeJob(path.join(TEMPLATES, 'microservice'), common.exampleValues());
  const dir = path.join(common.WORK, 'backstage');
  const templates = writeTemplates(dir, job);
  const [port, probePort] = [await freePort(), await freePort()];
  const base = `http://127.0.0.1:${port}`;
  const config = {
    backend: {
      baseUrl: base,
      listen: { port, host: '127.0.0.1' },
      auth: { externalAccess: [{ type: 'static', options: { token: TOKEN, subject: 'svcgen-bench' } }] },
    },
    catalog: { locations: [{ type: 'file', target: path.join(dir, 'location.yaml'), rules: [{ allow: ['Location', 'Template'] }] }] },
    // The templates the other engines render (the repository's, or bench.js's copy of them), not
    // the copy bundled in the installed package, which may be older.
    svcgen: { templateDirs: [TEMPLATES] },
  };
  const configFile = path.join(dir, 'app-config.bench.yaml');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  const logFile = path.join(dir, 'backend.log');
  const log = fs.openSync(logFile, 'w');
  const started = performance.now();
  const proc = spawn(process.execPath, [path.join(__dirname, 'backstage/backend.js'), '--config', 'app-config.yaml', '--config', configFile], {
    cwd: BACKEND_DIR,
    env: { ...process.env, SVCGEN_API_TOKEN: TOKEN, SVCGEN_BENCH_PROBE_PORT: String(probePort), GITHUB_TOKEN: 'placeholder', NO_COLOR: '1', FORCE_COLOR: '0' },
    stdio: ['ignore', log, log],
    detached: true,
  });
  let exited = false;
  proc.on('exit', () => (exited = true));
  const stop = () => {
    try {
      process.kill(-proc.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  };
  process.on('exit', stop);
  const watchdog = setTimeout(() => {
    console.error('backstage.js: watchdog (10 min) expired');
    stop();
    process.exit(2);
  }, 600_000);

  const api = async (p, init = {}) => {
    const res = await fetch(base + p, {
      ...init,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...(init.headers || {}) },
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${init.method || 'GET'} ${p}: ${res.status} ${text.slice(0, 500)}`);
    return JSON.parse(text);
  };
  const waitFor = async (what, fn, ms = 120_000) => {
    const end = performance.now() + ms;
    for (;;) {
      if (exited) throw new Error(`backend exited while waiting for ${what}:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
      try {
        if (await fn()) return;
      } catch {
        /* not yet */
      }
      if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  };
  const probe = async () => (await fetch(`http://127.0.0.1:${probePort}/`)).json();

  try {
    await waitFor('the scaffolder', async () => (await api('/api/scaffolder/v2/actions')).length > 0);
    for (const name of ['svcgen-bench-action', 'svcgen-bench-fetch']) {
      await waitFor(`${name} in the catalog`, async () => Boolean(await api(`/api/catalog/entities/by-name/template/default/${name}`)));
    }
    const readyMs = performance.now() - started;

    // Same bytes: dry-run each template and compare with the core's output.
    // The answers file records where the set was read (a folder here, `bench` for the job's core),
    // so its `source:` lines are left out of the comparison.
    const sourceless = (p, b) => (p === '.svcgen/answers.yaml' ? Buffer.from(b.toString('utf8').replace(/^(\s*source: ).*$/gm, '$1…')) : b);
    const compare = (contents, prefix = '') => {
      const got = new Map(contents.filter((c) => c.path.startsWith(prefix)).map((c) => [c.path.slice(prefix.length), Buffer.from(c.base64Content, 'base64')]));
      const differing = [...job.expected].filter(([p, b]) => !got.has(p) || !sourceless(p, got.get(p)).equals(sourceless(p, b))).map(([p]) => p);
      const extra = [...got.keys()].filter((p) => !job.expected.has(p));
      return { files: job.expected.size, equal: job.expected.size - differing.length, differing, extra };
    };
    const dryAction = await api('/api/scaffolder/v2/dry-run', {
      method: 'POST',
      body: JSON.stringify({ template: templates.action, values: {}, directoryContents: [] }),
    });
    const dryFetch = await api('/api/scaffolder/v2/dry-run', {
      method: 'POST',
      body: JSON.stringify({ template: templates.fetchTemplate, values: {}, directoryContents: templates.skeleton }),
    });
    const check = {
      action: compare(dryAction.directoryContents),
      fetchTemplate: compare(dryFetch.directoryContents.filter((c) => !c.path.startsWith('skeleton/'))),
    };

    // Timed tasks, alternating; the probe's histogram sums give each task's step and task time.
    const sumOf = (m, name, step) =>
      m[name].filter((v) => v.metricName === `${name}_sum` && v.labels.result === 'ok' && (!step || v.labels.step === step))
        .reduce((n, v) => n + v.value, 0);
    const runTask = async (kind) => {
      const before = await probe();
      const t0 = performance.now();
      const { id } = await api('/api/scaffolder/v2/tasks', {
        method: 'POST',
        body: JSON.stringify({ templateRef: `template:default/svcgen-bench-${kind}`, values: {} }),
      });
      let status;
      for (;;) {
        ({ status } = await api(`/api/scaffolder/v2/tasks/${id}`));
        if (status === 'completed' || status === 'failed' || status === 'cancelled') break;
        await sleep(2);
      }
      const wallMs = performance.now() - t0;
      if (status !== 'completed') throw new Error(`task ${kind} ${id}: ${status}`);
      const after = await probe();
      const stepName = { action: 'svcgen:render', fetch: 'fetch:template' }[kind];
      const events = await api(`/api/scaffolder/v2/tasks/${id}/events`);
      const line = events.map((e) => e.body && e.body.message).find((m) => /svcgen: wrote \d+ files/.test(m || ''));
      return {
        kind,
        stepMs: (sumOf(after, 'scaffolder_step_duration', stepName) - sumOf(before, 'scaffolder_step_duration', stepName)) * 1e3,
        taskMs: (sumOf(after, 'scaffolder_task_duration') - sumOf(before, 'scaffolder_task_duration')) * 1e3,
        postToCompletedMs: wallMs,
        actionLogMs: line ? Number(/ in (\d+) ms/.exec(line)[1]) : null,
        logEvents: events.filter((e) => e.type === 'log').length,
      };
    };
    const kinds = ['action', 'fetch'];
    for (let i = 0; i < WARMUP; i++) for (const kind of kinds) await runTask(kind);
    const runs = [];
    for (let i = 0; i < TASKS; i++) {
      // Rotating order, so that no kind always follows the same other kind.
      for (let k = 0; k < kinds.length; k++) runs.push(await runTask(kinds[(i + k) % kinds.length]));
    }
    const pick = (kind, key) => common.summarize(runs.filter((r) => r.kind === kind).map((r) => r[key]));
    const rssMiB = Number((fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/) || [0, 0])[1]) / 1024;
    const summary = {};
    for (const kind of kinds) {
      summary[kind] = {
        step: pick(kind, 'stepMs'),
        task: pick(kind, 'taskMs'),
        postToCompleted: pick(kind, 'postToCompletedMs'),
        logEvents: pick(kind, 'logEvents').median,
        ...(kind === 'action' ? { actionLog: pick(kind, 'actionLogMs') } : {}),
      };
    }
    console.log(JSON.stringify({
      node: process.version,
      readyMs,
      files: job.files.length,
      bytes: job.expectedBytes,
      skeletonFiles: templates.skeleton.length,
      skeletonBytes: templates.skeletonBytes,
      check,
      tasksPerKind: TASKS,
      summary,
      ratioStepMedian: summary.fetch.step.median / summary.action.step.median,
      backendRssMiB: +rssMiB.toFixed(1),
      runs,
    }));
  } finally {
    clearTimeout(watchdog);
    stop();
  }
}

main().catch((err) => {
  console.error(err.stack || String(err));
  process.exit(1);
});
