// The engines that run in Node: the svcgen WASM core, Nunjucks 3.2.4 and Nunjitsu.
// `prepare(job, input)` loads the engine and compiles what can be compiled; the returned `render()`
// produces the whole output in memory. Libraries are required inside `prepare`, so that a cold
// measurement (fresh process) includes loading them.
'use strict';

const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { GLUE, loadSet } = require('../lib/common');
const port = require('../lib/port');

const BENCH = path.resolve(__dirname, '..');
const requireBench = (name) => require(require.resolve(name, { paths: [BENCH] }));

/** Verbatim files of the plan as Buffers, decoded once before timing. */
function verbatimBuffers(job) {
  const out = {};
  for (const [source, b64] of Object.entries(job.verbatim)) out[source] = Buffer.from(b64, 'base64');
  return out;
}

const engines = {
  wasm: {
    label: 'svcgen WASM (Node)',
    version: () => require(path.join(path.dirname(GLUE), '..', 'package.json')).version,
    /** input.sources: the set's files as read from disk and packed (the host's job, outside the timing). */
    prepare(job, input) {
      const t0 = performance.now();
      const core = require(GLUE);
      const t1 = performance.now();
      const set = loadSet(input.sources, core);
      return {
        // require = read + compile + instantiate the module; load = parse the manifest, compile the templates.
        detail: { requireMs: t1 - t0, loadMs: performance.now() - t1 },
        // The action's call: validate + derive + plan + render, output as one byte buffer.
        render: () => set.render(job.values),
        files: (out) => {
          const map = new Map();
          let offset = 0;
          for (const f of out.files) {
            map.set(f.path, Buffer.from(out.data.buffer, out.data.byteOffset + offset, f.size));
            offset += f.size;
          }
          return map;
        },
      };
    },
  },

  nunjucks: {
    label: 'Nunjucks 3.2.4',
    version: () => requireBench('nunjucks/package.json').version,
    prepare(job, input) {
      const nunjucks = requireBench('nunjucks');
      const templates = job.ports.nunjucks;
      const Loader = nunjucks.Loader.extend({
        getSource: (name) => ({ src: templates[name], path: name, noCache: false }),
      });
      const env = new nunjucks.Environment(new Loader(), {
        autoescape: false, trimBlocks: true, lstripBlocks: true, throwOnUndefined: true,
      });
      for (const [name, fn] of Object.entries(port.helperFilters)) env.addFilter(name, fn);
      for (const [name, fn] of Object.entries(port.helperTests)) env.addTest(name, fn);
      for (const [name, fn] of Object.entries(port.helperGlobals)) env.addGlobal(name, fn);
      // Templates compiled once (getTemplate caches them, includes included).
      const compiled = job.files.map((f) => (f.rendered ? env.getTemplate(f.source, true) : null));
      const verbatim = input.verbatim;
      const { files, context } = job;
      return {
        render: () => files.map((f, i) => [f.path, f.rendered ? compiled[i].render(context) : verbatim[f.source]]),
        files: (out) => new Map(out.map(([p, c]) => [p, Buffer.from(c)])),
      };
    },
  },

  nunjitsu: {
    label: 'Nunjitsu 0.7.0',
    version: () => requireBench('nunjitsu/package.json').version,
    prepare(job, input) {
      const { createTemplateRenderer } = requireBench('nunjitsu');
      const templates = job.ports.nunjitsu;
      // As fetch:template creates it, with {{ }} delimiters (cookiecutterCompat) and the helpers.
      const renderer = createTemplateRenderer({
        filters: port.helperFilters,
        globals: port.helperGlobals,
        allowRegexExecution: true,
        cookiecutterCompat: true,
        trimBlocks: true,
        lstripBlocks: true,
      });
      const context = renderer.prepareContext(job.context);
      const verbatim = input.verbatim;
      const { files } = job;
      // Nunjitsu has no compiled-template API: each render parses its source (as fetch:template does).
      return {
        render: () => files.map((f) => [f.path, f.rendered ? renderer.render(templates[f.source], context) : verbatim[f.source]]),
        files: (out) => new Map(out.map(([p, c]) => [p, Buffer.from(c)])),
      };
    },
  },
};

module.exports = { engines, verbatimBuffers };
