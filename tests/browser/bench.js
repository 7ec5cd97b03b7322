#!/usr/bin/env node
'use strict';
/*
 * Benchmark of the live preview in Chromium (issue 17), never part of `make test`:
 *   bash tests/browser/run.sh --bench      (or: node tests/browser/bench.js after run.sh built the app)
 *
 * 1. Keystroke → DOM: a scripted typing session in the form of a one-page copy of the microservice
 *    template (the fields typed and the preview on the same page; the full microservice set):
 *    the service name and the description typed key by key, the API type switched. For each
 *    input, the time from the event (its `timeStamp`, performance.now() of the page) to the
 *    preview root's `data-updated-at` (performance.now() when its DOM last changed); median, p95.
 * 2. Bytes the field adds to the page, gzip-compressed (zlib, level 9): the package's code in the
 *    app's entry chunk (paid by every page), its lazy chunks (the field and the WebAssembly glue,
 *    paid only by a form using it), the WebAssembly core and the template set it downloads.
 * Writes tests/browser/results.json and prints a markdown table.
 */

const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const H = require('../e2e/lib/harness');
const { loadRealTemplate, localGitCopy } = require('../e2e/lib/templates');
const { APP_DIST, launchChromium, openSignedIn, startEnvironment } = require('./lib/env');
const { sel, waitStatus } = require('./lib/form');

H.installGuards(10 * 60_000);

const OUT = path.join(__dirname, 'results.json');
const TEMPLATE = 'microservice-bench';
const NAME = 'order-service';
const DESCRIPTION = 'Keeps the orders of customers';
// Each a change: the session (run twice) ends on REST and starts on GraphQL.
const API_TYPES = ['GraphQL', 'REST', 'gRPC', 'REST'];

/** The microservice template with every answer the session needs on its first page, and the preview there. */
function benchTemplate() {
  const copy = localGitCopy(loadRealTemplate());
  const steps = copy.spec.parameters;
  const all = Object.assign({}, ...steps.map(s => s.properties ?? {}));
  const pick = name => ({ ...all[name] });
  const owner = { ...pick('owner'), default: 'group:default/platform-team' };
  delete owner['ui:field'];
  delete owner['ui:options'];
  const repoUrl = { ...pick('repoUrl'), default: 'github.com?owner=acme&repo=order-service' };
  delete repoUrl['ui:field'];
  delete repoUrl['ui:options'];
  const preview = Object.values(all).find(p => p['ui:field'] === 'SvcgenPreview');
  if (!preview) throw new Error('templates/microservice/template.yaml has no SvcgenPreview property');
  copy.metadata.name = TEMPLATE;
  copy.metadata.title = 'Microservice (benchmark: one page)';
  copy.spec.parameters = [
    {
      title: 'Service',
      required: ['serviceName', 'owner', 'repoUrl'],
      properties: {
        serviceName: pick('serviceName'),
        description: pick('description'),
        apiType: pick('apiType'),
        owner,
        repoUrl,
        preview,
      },
    },
  ];
  return copy;
}

function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const gz = buf => zlib.gzipSync(buf, { level: 9 }).length;

/** Installs the listeners that note each input's time; returns nothing. */
async function instrument(page) {
  await page.evaluate(() => {
    window.__svcgenInputs = [];
    for (const type of ['keydown', 'click']) {
      window.addEventListener(type, e => window.__svcgenInputs.push({ type, t: e.timeStamp }), true);
    }
  });
}

/** Waits until the preview root updates after the last noted input; returns ms or null (no update in 3 s). */
async function latencyOfLastInput(page) {
  const handle = await page
    .waitForFunction(
      s => {
        const last = window.__svcgenInputs[window.__svcgenInputs.length - 1];
        const root = document.querySelector(s);
        const at = Number(root?.dataset.updatedAt);
        return last && at >= last.t ? { ms: at - last.t, renderMs: Number(root.dataset.renderMs) } : false;
      },
      sel.root,
      { timeout: 3000, polling: 'raf' },
    )
    .catch(() => null);
  return handle ? handle.jsonValue() : null;
}

async function typingSession(page) {
  const samples = [];
  const noUpdate = [];
  const record = async what => {
    const r = await latencyOfLastInput(page);
    if (r) samples.push({ what, ...r });
    else noUpdate.push(what);
    await page.waitForTimeout(60); // a fast typist: ~15 keys per second
  };
  const name = page.getByLabel('Service name');
  await name.click();
  await name.press('Control+a');
  await name.press('Delete');
  await record('clear name');
  for (const ch of NAME) {
    await page.keyboard.type(ch);
    await record(`name ${ch}`);
  }
  await page.getByLabel('Description').click();
  for (const ch of DESCRIPTION) {
    await page.keyboard.type(ch);
    await record(`description ${ch}`);
  }
  for (const api of API_TYPES) {
    await page.locator('#root_apiType').click();
    await page.getByRole('option', { name: api, exact: true }).click();
    await record(`apiType ${api}`);
    await page.getByRole('listbox').waitFor({ state: 'detached' });
    await page.waitForTimeout(300);
  }
  return { samples, noUpdate };
}

function bundleBytes() {
  const meta = JSON.parse(fs.readFileSync(path.join(APP_DIST, 'meta.json'), 'utf8'));
  const isField = input => /(^|\/)plugin-ts\/frontend\//.test(input) || input.includes('node_modules/@svcgen/plugin-scaffolder-svcgen-preview/');
  // The app's entry chunk (lazy chunks of dynamic imports have an entryPoint too).
  const entry = Object.entries(meta.outputs).find(([, o]) => o.entryPoint?.endsWith('app/src/index.jsx'))?.[0];
  let eagerRaw = 0;
  const lazy = [];
  for (const [file, out] of Object.entries(meta.outputs)) {
    if (!file.endsWith('.js')) continue;
    const inputs = Object.entries(out.inputs);
    const mine = inputs.filter(([p]) => isField(p)).reduce((n, [, i]) => n + i.bytesInOutput, 0);
    if (!mine) continue;
    if (file === entry) eagerRaw += mine;
    else lazy.push({ file: path.basename(file), raw: out.bytes, fieldShare: round(mine / out.bytes, 2), gzip: gz(fs.readFileSync(path.join(APP_DIST, file.slice(file.lastIndexOf('dist/') + 5)))) });
  }
  return { entry: path.basename(entry ?? ''), eagerRaw, lazy };
}

async function main() {
  const t0 = Date.now();
  const env = await startEnvironment('bench', { extraTemplates: [benchTemplate()] });
  await env.backend.waitReady({ templateRef: `template:default/${TEMPLATE}` });
  const browser = await launchChromium();
  const page = await openSignedIn(browser, env.app, `/create/templates/default/${TEMPLATE}`);
  await page.getByLabel('Service name').waitFor({ timeout: 60_000 });
  await page.getByLabel('Service name').fill('warm-up');
  await waitStatus(page);
  await instrument(page);
  // One unmeasured round first (the core's code paths warm up), then the measured session.
  await typingSession(page);
  const { samples, noUpdate } = await typingSession(page);
  const lat = samples.map(s => s.ms).sort((a, b) => a - b);
  const render = samples.map(s => s.renderMs).filter(Number.isFinite).sort((a, b) => a - b);
  const files = await page.locator(sel.file).count();

  // Bytes: what the field's code weighs in the bundle, and what it downloads.
  const bundle = bundleBytes();
  const wasm = await env.backend.fetch('/api/scaffolder/svcgen/preview/core.wasm', { headers: { 'accept-encoding': 'identity' } }).then(r => r.arrayBuffer()).then(b => Buffer.from(b));
  const set = await env.backend.fetch('/api/scaffolder/svcgen/preview/sets/microservice', { headers: { 'accept-encoding': 'identity' } }).then(r => r.arrayBuffer()).then(b => Buffer.from(b));
  const lazyGzip = bundle.lazy.reduce((n, c) => n + c.gzip, 0);
  const results = {
    date: new Date().toISOString(),
    chromium: browser.version(),
    node: process.version,
    cpus: require('node:os').cpus().length,
    templateSet: 'microservice (full set)',
    filesInTree: files,
    keystrokeToDom: {
      inputs: samples.length + noUpdate.length,
      measured: samples.length,
      noUpdate,
      medianMs: round(quantile(lat, 0.5)),
      p95Ms: round(quantile(lat, 0.95)),
      maxMs: round(lat[lat.length - 1]),
      renderMedianMs: round(quantile(render, 0.5)),
      renderP95Ms: round(quantile(render, 0.95)),
      withinOneFrame: lat.filter(x => x <= 16).length,
    },
    bytes: {
      eagerInEntryChunkRaw: bundle.eagerRaw,
      lazyChunks: bundle.lazy,
      lazyChunksGzip: lazyGzip,
      wasmRaw: wasm.length,
      wasmGzip: gz(wasm),
      setJsonRaw: set.length,
      setJsonGzip: gz(set),
      totalGzip: lazyGzip + gz(wasm) + gz(set),
    },
    samples,
  };
  fs.writeFileSync(OUT, `${JSON.stringify(results, null, 2)}\n`);
  const k = results.keystrokeToDom;
  const b = results.bytes;
  const kb = n => `${round(n / 1024)} KiB`;
  console.log(`
| live preview in Chromium ${results.chromium} (${results.cpus} cores) | value |
|---|---|
| keystroke → updated tree and problems, median | ${k.medianMs} ms |
| keystroke → updated tree and problems, p95 | ${k.p95Ms} ms (max ${k.maxMs} ms; ${k.withinOneFrame}/${k.measured} within 16 ms) |
| validate + render in the page (data-render-ms), median / p95 | ${k.renderMedianMs} / ${k.renderP95Ms} ms |
| inputs in the session (name, description, API type) | ${k.inputs} (${k.noUpdate.length} without a DOM change) |
| files in the tree | ${files} |
| field code in the app's entry chunk (every page), raw | ${b.eagerInEntryChunkRaw} B |
| field + WebAssembly glue, lazy chunks, gzip | ${kb(b.lazyChunksGzip)} |
| WebAssembly core, gzip (raw) | ${kb(b.wasmGzip)} (${kb(b.wasmRaw)}) |
| template set JSON, gzip (raw) | ${kb(b.setJsonGzip)} (${kb(b.setJsonRaw)}) |
| total the field adds to a page using it, gzip | ${kb(b.totalGzip)} |
`);
  console.log(`bench.js: wrote ${path.relative(process.cwd(), OUT)} in ${Math.round((Date.now() - t0) / 1000)} s`);
}

main()
  .catch(err => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => H.cleanupAll());
