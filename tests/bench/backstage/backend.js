/*
 * The example backend (examples/backend) for the benchmark: the same installed packages, config
 * and modules as examples/backend/src/index.js, plus
 *   - a module that registers, for fetch:template, the filters and global the ported skeleton uses
 *     (the svcgen filters and `split` / `items` / `dict`, as an organisation registers its own), and
 *   - with SVCGEN_BENCH_SET_DIR, `svcgen-bench:render-sketch`: a sketch of the action with the
 *     changes BENCHMARKS.md proposes (see createSketchAction), and
 *   - a loopback-only endpoint (SVCGEN_BENCH_PROBE_PORT) that returns the scaffolder's own step and
 *     task duration histograms (prom-client, measured with process.hrtime), for sub-millisecond
 *     step times: the task events store timestamps to the second.
 * Run from examples/backend:  node ../../tests/bench/backstage/backend.js --config app-config.yaml --config BENCH.yaml
 */
'use strict';

const http = require('node:http');
const { performance } = require('node:perf_hooks');
const path = require('node:path');
const { createRequire } = require('node:module');

const BACKEND_DIR = path.resolve(__dirname, '../../../examples/backend');
const requireBackend = createRequire(path.join(BACKEND_DIR, 'package.json'));
const { createBackend } = requireBackend('@backstage/backend-defaults');
const { createBackendModule, resolveSafeChildPath } = requireBackend('@backstage/backend-plugin-api');
const { scaffolderTemplatingExtensionPoint } = requireBackend('@backstage/plugin-scaffolder-node/alpha');
const { createTemplateAction, scaffolderActionsExtensionPoint } = requireBackend('@backstage/plugin-scaffolder-node');
const fs = require('node:fs');
const common = require('../lib/common');
const port = require('../lib/port');

const add = (name) => backend.add(Promise.resolve(requireBackend(name)));
const backend = createBackend();
add('@backstage/plugin-catalog-backend');
add('@backstage/plugin-catalog-backend-module-scaffolder-entity-model');
add('@backstage/plugin-scaffolder-backend');
add('@backstage/plugin-scaffolder-backend-module-github');
add('@backstage/plugin-scaffolder-backend-module-gitlab');
add('@svcgen/plugin-scaffolder-backend-module-svcgen');

backend.add(
  createBackendModule({
    pluginId: 'scaffolder',
    moduleId: 'svcgen-bench-filters',
    register(env) {
      env.registerInit({
        deps: { templating: scaffolderTemplatingExtensionPoint },
        async init({ templating }) {
          templating.addTemplateFilters(port.helperFilters);
          templating.addTemplateGlobals(port.helperGlobals);
        },
      });
    },
  }),
);

/*
 * A sketch of the action with the two changes BENCHMARKS.md proposes, to measure them in the same
 * backend: the set compiled once per process (no per-call listing and stat of its files), and the
 * files written with each folder created once and 16 files at a time. Same WASM module (the one
 * installed with the svcgen package), same set, same output.
 */
function createSketchAction() {
  const glue = requireBackend(path.join(path.dirname(requireBackend.resolve('@svcgen/plugin-scaffolder-backend-module-svcgen/package.json')), 'wasm/svcgen.js'));
  const setDir = process.env.SVCGEN_BENCH_SET_DIR;
  let set;
  return createTemplateAction({
    id: 'svcgen-bench:render-sketch',
    description: 'Benchmark only: svcgen:render with a set compiled once and a batched writer',
    supportsDryRun: true,
    schema: { input: { values: (z) => z.record(z.unknown()) } },
    async handler(ctx) {
      const started = performance.now();
      set ??= glue.TemplateSet.load(common.readSet(setDir));
      const output = set.render(ctx.input.values);
      const fsp = fs.promises;
      const files = [];
      let offset = 0;
      for (const f of output.files) {
        files.push({ ...f, contents: output.data.subarray(offset, offset + f.size) });
        offset += f.size;
      }
      const target = ctx.workspacePath;
      // Same safety as writeOutput: each folder checked (symbolic links included) to stay inside
      // the target before it is created, each file opened without following a symbolic link.
      const dirs = [...new Set(files.map((f) => path.posix.dirname(f.path)))].sort();
      await fsp.mkdir(target, { recursive: true });
      for (const d of dirs) await fsp.mkdir(resolveSafeChildPath(target, d), { recursive: true });
      const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW;
      if (process.env.SVCGEN_BENCH_SKETCH_SYNC === '1') {
        // Variant: synchronous writes (no thread-pool round trip per file; blocks the loop for the writes).
        const umaskSync = process.umask();
        for (const f of files) {
          const mode = f.executable ? 0o755 : 0o644;
          const fd = fs.openSync(path.join(target, f.path), flags, mode);
          try {
            fs.writeSync(fd, f.contents);
            if ((mode & ~umaskSync) !== mode) fs.fchmodSync(fd, mode);
          } finally {
            fs.closeSync(fd);
          }
        }
        ctx.logger.info(`svcgen sketch (sync): wrote ${files.length} files in ${Math.round(performance.now() - started)} ms`);
        return;
      }
      const umask = process.umask();
      for (let i = 0; i < files.length; i += 16) {
        await Promise.all(files.slice(i, i + 16).map(async (f) => {
          const mode = f.executable ? 0o755 : 0o644;
          const handle = await fsp.open(path.join(target, f.path), flags, mode);
          try {
            await handle.writeFile(f.contents);
            if ((mode & ~umask) !== mode) await handle.chmod(mode);
          } finally {
            await handle.close();
          }
        }));
      }
      ctx.logger.info(`svcgen sketch: wrote ${files.length} files in ${Math.round(performance.now() - started)} ms`);
    },
  });
}

if (process.env.SVCGEN_BENCH_SET_DIR) {
  backend.add(
    createBackendModule({
      pluginId: 'scaffolder',
      moduleId: 'svcgen-bench-sketch',
      register(env) {
        env.registerInit({
          deps: { scaffolder: scaffolderActionsExtensionPoint },
          async init({ scaffolder }) {
            scaffolder.addActions(createSketchAction());
          },
        });
      },
    }),
  );
}

if (process.env.SVCGEN_BENCH_PROBE_PORT) {
  const promClient = createRequire(requireBackend.resolve('@backstage/plugin-scaffolder-backend'))('prom-client');
  http
    .createServer(async (req, res) => {
      const metrics = {};
      for (const name of ['scaffolder_step_duration', 'scaffolder_task_duration']) {
        const metric = promClient.register.getSingleMetric(name);
        metrics[name] = metric ? (await metric.get()).values.filter((v) => v.metricName === `${name}_sum` || v.metricName === `${name}_count`) : [];
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(metrics));
    })
    .listen(Number(process.env.SVCGEN_BENCH_PROBE_PORT), '127.0.0.1');
}

backend.start().catch((err) => {
  console.error('Backend startup failed, exiting:', err);
  process.exit(1);
});
