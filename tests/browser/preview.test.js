'use strict';
/*
 * The live preview in a real browser (issue 17): the smallest real Backstage frontend (app/) with
 * the scaffolder, the catalog and the svcgen preview field, against the example backend (guest
 * sign-in, the e2e copy of the microservice template publishing to a local bare repository), in
 * Debian's headless Chromium driven by playwright-core. Started by `bash tests/browser/run.sh`.
 *
 * - the form: a bad name (a Python keyword, which the form's pattern allows) shows the server's
 *   problem in the preview, fixing it clears it; gRPC adds a .proto file to the tree; a file opens
 *   on click; Create runs the task and the pushed repository holds exactly the files the preview
 *   showed (less the gitops/ files the template proposes elsewhere and deletes);
 * - the preview routes unreachable: the preview says `unavailable…` and the form still submits.
 * Screenshots for the README go to docs/images/.
 */

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, test } = require('node:test');
const { withoutDeleted } = require('../e2e/lib/expect');
const { readTree } = require('../e2e/lib/git');
const H = require('../e2e/lib/harness');
const api = require('../e2e/lib/scaffolder');
const { TEMPLATE_PATH, launchChromium, openSignedIn, startEnvironment } = require('./lib/env');
const { Form, readPreview, sel, waitStatus } = require('./lib/form');

H.installGuards(8 * 60_000);

const T = { timeout: 180_000 };
const IMAGES = path.join(H.REPO_ROOT, 'docs', 'images');
const OWNER = 'group:default/platform-team';
// Screenshots for the README only when asked (SVCGEN_BROWSER_SCREENSHOTS=1): a test run leaves tracked files alone.
const SHOTS = process.env.SVCGEN_BROWSER_SCREENSHOTS === '1';

let env;
let browser;

before(async () => {
  env = await startEnvironment('test');
  browser = await launchChromium();
}, { timeout: 180_000 });

after(async () => {
  await H.cleanupAll();
});

async function taskFinished(taskId) {
  const { task } = await api.pollUntilFinished(env.backend, taskId, { timeoutMs: 120_000, intervalMs: 100 });
  if (task.status !== 'completed') {
    const events = await env.backend.fetch(`/api/scaffolder/v2/tasks/${taskId}/events`).then(r => r.json());
    assert.fail(`task ${taskId} ended ${task.status}:\n${api.formatEvents(events)}`);
  }
  return task;
}

function sameKeys(actual, expected, what) {
  const a = [...actual.keys()].sort();
  const e = [...expected.keys()].sort();
  const missing = e.filter(p => !actual.has(p));
  const extra = a.filter(p => !expected.has(p));
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, what);
}

test('the preview in the form: a bad name, its fix, gRPC adds the .proto, a file opens, and Create pushes exactly the tree shown', T, async () => {
  const page = await openSignedIn(browser, env.app, TEMPLATE_PATH);
  const form = new Form(page);
  await form.waitLoaded();

  // A Python keyword as the name: the form's pattern allows it, the server's rules do not.
  await form.fillRequired({ serviceName: 'class', owner: OWNER, repoOwner: 'acme', repo: 'browser-service' });
  await waitStatus(page);
  const problem = page.locator(`${sel.problem}[data-field="serviceName"]`);
  await problem.first().waitFor({ timeout: 30_000 });
  assert.match(await problem.first().textContent(), /Python keyword/);

  await form.setServiceName('browser-service');
  await waitStatus(page);
  await problem.first().waitFor({ state: 'detached', timeout: 30_000 });
  let shown = await readPreview(page);
  assert.deepEqual(shown.problems, [], 'no problem left');
  assert.ok(shown.files.size > 20, `the tree lists the files (${shown.files.size})`);
  assert.ok(![...shown.files.keys()].some(p => p.endsWith('.proto')), 'REST: no .proto');
  const restFiles = shown.files;

  await form.setApiType('gRPC');
  await waitStatus(page);
  await page.locator(`${sel.file}[data-path$=".proto"]`).first().waitFor({ timeout: 30_000 });
  shown = await readPreview(page);
  const protos = [...shown.files.keys()].filter(p => p.endsWith('.proto'));
  assert.ok(protos.length >= 1, 'gRPC: a .proto file appears');
  assert.notDeepEqual([...shown.files.keys()].sort(), [...restFiles.keys()].sort(), 'the tree changed');
  if (SHOTS) {
    fs.mkdirSync(IMAGES, { recursive: true });
    await page.locator(sel.root).scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(IMAGES, 'preview-form.png') });
  }

  await page.locator(`${sel.file}[data-path="${protos[0]}"]`).click();
  const contents = page.locator(sel.contents);
  await contents.waitFor({ timeout: 10_000 });
  assert.equal(await contents.getAttribute('data-path'), protos[0]);
  assert.match(await contents.textContent(), /syntax = "proto3"/);
  if (SHOTS) await page.screenshot({ path: path.join(IMAGES, 'preview-file.png') });

  const taskId = await form.create();
  await taskFinished(taskId);
  const pushed = readTree(env.gitHost.bareRepo('acme', 'browser-service'));
  const expected = withoutDeleted(shown.files, env.templates.copy);
  sameKeys(pushed, expected, 'the pushed repository holds the files the preview showed, less what the template deletes');
  for (const [p, size] of expected) {
    assert.equal(pushed.get(p).bytes.length, size, `${p}: the size the preview showed`);
  }
  await page.context().close();
});

test('the preview routes unreachable: the preview says unavailable and the form still submits', T, async () => {
  const page = await openSignedIn(browser, env.app, TEMPLATE_PATH, {
    onContext: context => context.route('**/api/scaffolder/svcgen/preview/**', route => route.abort('connectionrefused')),
  });
  const form = new Form(page);
  await form.waitLoaded();
  await form.fillRequired({ serviceName: 'offline-service', owner: OWNER, repoOwner: 'acme', repo: 'offline-service' });
  const status = await waitStatus(page, 'unavailable', 60_000);
  assert.match(status, /^unavailable/);
  const shown = await readPreview(page);
  assert.equal(shown.files.size, 0, 'no tree');
  const taskId = await form.create();
  await taskFinished(taskId);
  const pushed = readTree(env.gitHost.bareRepo('acme', 'offline-service'));
  assert.ok(pushed.has('catalog-info.yaml'), 'the service was created');
  await page.context().close();
});
