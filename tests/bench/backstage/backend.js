/*
 * The example backend (examples/backend) for the benchmark: the same installed packages, config
 * and modules as examples/backend/src/index.js, plus
 *   - a module that registers, for fetch:template, the filters and global the ported skeleton uses
 *     (the svcgen filters and `split` / `items` / `dict`, as an organisation registers its own), and
 *   - a loopback-only endpoint (SVCGEN_BENCH_PROBE_PORT) that returns the scaffolder's own step and
 *     task duration histograms (prom-client, measured with process.hrtime), for sub-millisecond
 *     step times: the task events store timestamps to the second.
 * Run from examples/backend:  node ../../tests/bench/backstage/backend.js --config app-config.yaml --config BENCH.yaml
 */
'use strict';

const http = require('node:http');
const path = require('node:path');
const { createRequire } = require('node:module');

const BACKEND_DIR = path.resolve(__dirname, '../../../examples/backend');
const requireBackend = createRequire(path.join(BACKEND_DIR, 'package.json'));
const { createBackend } = requireBackend('@backstage/backend-defaults');
const { createBackendModule } = requireBackend('@backstage/backend-plugin-api');
const { scaffolderTemplatingExtensionPoint } = requireBackend('@backstage/plugin-scaffolder-node/alpha');
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
