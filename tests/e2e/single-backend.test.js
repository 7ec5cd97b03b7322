'use strict';
/*
 * One real Backstage backend (examples/backend, SQLite in memory) driven only through its HTTP API:
 * catalog registration, the action list, a task from the story's values with its event stream and
 * the pushed repository, the example organisation overlay (acme-microservice) against its base,
 * invalid values, faults (template sets in svcgen.templateDirs linking outside themselves, a slow
 * set while the API keeps answering), and the dry-run of the real template.
 */

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, test } = require('node:test');
const { Backend } = require('./lib/backend');
const { GitHost, commits, readTree } = require('./lib/git');
const H = require('./lib/harness');
const { checkProposals, deletedPaths, proposals, withoutDeleted } = require('./lib/expect');
const { diffListing, diffTrees, fromDirectoryContents, preview } = require('./lib/preview');
const api = require('./lib/scaffolder');
const { ACME_TEMPLATE, OVERLAYS_DIR, REAL_LOCATION, REAL_TEMPLATE, TEST_PUBLISH_ACTION, YAML, writeTemplateSets, writeTestTemplates } = require('./lib/templates');
const { repoOf, storyValues } = require('./lib/values');

H.installGuards(8 * 60_000);

const TOKEN = `e2e-${require('node:crypto').randomBytes(12).toString('hex')}`;
const E2E_TEMPLATE = 'template:default/microservice-e2e';
const BAD_INPUTS_TEMPLATE = 'template:default/svcgen-e2e-bad-inputs';
const ACME_E2E_TEMPLATE = 'template:default/acme-microservice-e2e';
const T = { timeout: 120_000 };
const ANSWERS = '.svcgen/answers.yaml';
/** The overlay's folder as the documented preview command names it (from the repository root). */
const ACME_DIR = 'examples/overlays/acme-microservice';
/**
 * A Go + PostgreSQL service deployed up to production with JWT, on Acme's GitLab (the values of
 * rust/core/tests/overlay_example.rs); the base gets the same values less costCenter, which it
 * does not know.
 */
const ACME_VALUES = {
  serviceName: 'order-service',
  owner: 'group:default/payments-team',
  repoUrl: 'gitlab.acme.example?owner=payments&repo=order-service',
  language: 'go',
  apiType: 'rest',
  database: 'postgresql',
  ciProvider: 'gitlab',
  awsRegion: 'eu-central-1',
  environment: 'production',
  configureAdvanced: true,
  authentication: 'jwt',
  costCenter: 'CC-1234',
};

let work;
let gitHost;
let backend;
let templates;
let sets;
let story;
let storyPreview;
let acmePreview;
let acmeBasePreview;

before(async () => {
  work = H.tempDir('single');
  gitHost = await new GitHost(path.join(work, 'git')).start();
  templates = writeTestTemplates(work);
  sets = writeTemplateSets(work);
  story = storyValues();
  backend = new Backend({
    name: 'sqlite',
    workDir: work,
    token: TOKEN,
    config: {
      backend: { workingDirectory: path.join(work, 'scaffolder-workspaces') },
      catalog: { locations: templates.locations },
      // The example backend's own svcgen.templateDirs (the overlays) beside the fault sets.
      svcgen: { templateDirs: [...sets.templateDirs, OVERLAYS_DIR] },
      integrations: gitHost.integrationConfig,
      e2eTestOnly: { localGit: { rootDir: gitHost.root, webBaseUrl: gitHost.baseUrl } },
    },
  });
  fs.mkdirSync(path.join(work, 'scaffolder-workspaces'));
  await backend.start();
  const ready = await backend.waitReady();
  H.record('coldStart.sqlite', ready);
  await backend.waitReady({ templateRef: E2E_TEMPLATE });
  await backend.waitReady({ templateRef: BAD_INPUTS_TEMPLATE });
  await backend.waitReady({ templateRef: ACME_E2E_TEMPLATE });
  const baseValues = { ...ACME_VALUES };
  delete baseValues.costCenter;
  [storyPreview, acmePreview, acmeBasePreview] = await Promise.all([
    preview(story, work, 'story'),
    preview(ACME_VALUES, work, 'acme', { templateDir: ACME_DIR }),
    preview(baseValues, work, 'acme-base'),
  ]);
}, { timeout: 180_000 });

after(async () => {
  H.writeMeasurements(`single-backend-node${process.versions.node.split('.')[0]}`);
  await H.cleanupAll();
});

test('the template is a Template entity in the catalog, registered through its Location file', T, async () => {
  const template = await api.getEntity(backend, 'template', 'default', 'microservice');
  assert.ok(template, 'template:default/microservice is in the catalog');
  assert.equal(template.kind, 'Template');
  assert.equal(template.apiVersion, 'scaffolder.backstage.io/v1beta3');
  assert.equal(template.metadata.annotations['backstage.io/managed-by-origin-location'], `file:${REAL_LOCATION}`);
  assert.equal(template.metadata.annotations['backstage.io/managed-by-location'], `file:${REAL_TEMPLATE}`);
  assert.deepEqual(template.spec, templates.real.spec, 'the catalog serves the template file unchanged');
  const location = await api.getEntity(backend, 'location', 'default', 'svcgen-templates');
  assert.ok(location, 'the Location entity of templates/location.yaml is in the catalog');
});

test('the module compiled the template sets when the backend started, all but those linking outside themselves', T, async () => {
  const log = backend.log();
  assert.match(log, /svcgen: compiled template sets (.*, )?microservice@\d+\.\d+\.\d+ in \d+ ms/);
  assert.match(log, /svcgen: compiled template sets .*e2e-slow@1\.0\.0/);
  assert.doesNotMatch(log, /svcgen: could not compile/);
  const failed = [...log.matchAll(/svcgen: template set "([^"]+)" does not compile; tasks using it will fail: (.*)/g)];
  const links = Object.values(sets.links);
  assert.deepEqual(failed.map(m => m[1]).sort(), links.map(l => l.set).sort(), log);
  for (const { set, link } of links) {
    const [, , message] = failed.find(m => m[1] === set);
    assert.ok(message.startsWith(`svcgen: template set "${set}": ${link} is a symbolic link to `), message);
  }
  assert.ok(!log.includes(sets.secret), 'the linked secret is never logged');
});

test('svcgen:render is listed by GET /v2/actions with its input schema and examples', T, async () => {
  const actions = await api.listActions(backend);
  const ids = actions.map(a => a.id);
  for (const id of ['svcgen:render', 'publish:github', 'publish:gitlab', 'catalog:register']) {
    assert.ok(ids.includes(id), `${id} is installed (got ${ids.length} actions)`);
  }
  const render = actions.find(a => a.id === 'svcgen:render');
  const input = render.schema.input;
  assert.equal(input.type, 'object');
  assert.deepEqual(Object.keys(input.properties).sort(), ['targetPath', 'templateSet', 'templateVersion', 'values']);
  assert.deepEqual(input.required, ['values']);
  assert.equal(input.properties.values.type, 'object');
  for (const [name, prop] of Object.entries(input.properties)) {
    assert.ok(prop.description && prop.description.length > 10, `input ${name} has a description`);
  }
  assert.deepEqual(Object.keys(render.schema.output.properties).sort(), [
    'derived',
    'files',
    'templateLayers',
    'templateSet',
    'templateSource',
    'templateVersion',
  ]);
  assert.ok(render.examples.length >= 2, 'has examples');
  for (const example of render.examples) {
    assert.ok(example.description, 'each example has a description');
    assert.match(example.example, /action: svcgen:render/);
  }
});

test("a task with the story's values: task id, progress in the event stream, completed, output, pushed tree = preview", T, async () => {
  const created = await api.createTask(backend, E2E_TEMPLATE, story);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const taskId = created.body.id;
  assert.match(taskId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

  // What the task page of the UI reads, and a fast poll of the status for the latency figure.
  const [stream, polled] = await Promise.all([
    api.readEventStream(backend, taskId),
    api.pollUntilFinished(backend, taskId, { intervalMs: 20 }),
  ]);
  const latency = polled.seenAt - created.postedAt;
  H.record('singleTask.sqlite.postToCompletedMs', latency);

  const events = stream.map(e => e.data);
  const completion = events.find(e => e.type === 'completion');
  assert.ok(completion, `the event stream ends with a completion event:\n${api.formatEvents(events)}`);
  assert.equal(polled.task.status, 'completed', api.formatEvents(events));
  assert.equal(completion.body.status ?? 'completed', 'completed');
  assert.equal(completion.body.error, undefined);

  const renderLogs = events.filter(e => e.type === 'log' && e.body.stepId === 'render').map(e => e.body.message);
  const n = storyPreview.printed.files.length;
  for (const line of [/svcgen: validated values for microservice@\d+\.\d+\.\d+/, new RegExp(`svcgen: planned ${n} files`), new RegExp(`svcgen: wrote ${n} files \\(.+\\) to \\./ in \\d+ ms`)]) {
    assert.ok(renderLogs.some(m => line.test(m)), `render step logged ${line}:\n${renderLogs.join('\n')}`);
  }
  const stepStatus = (stepId, status) => events.some(e => e.type === 'log' && e.body.stepId === stepId && e.body.status === status);
  for (const step of ['render', 'publish-github', 'register']) {
    assert.ok(stepStatus(step, 'completed'), `step ${step} completed:\n${api.formatEvents(events)}`);
  }
  assert.ok(stepStatus('publish-gitlab', 'skipped'), 'publish-gitlab was skipped (ciProvider github)');

  // The template's output: links (repository, catalog entity) and text.
  const { owner, repo } = repoOf(story);
  const output = completion.body.output;
  assert.ok(output, 'the completion event carries the template output');
  const links = JSON.stringify(output.links);
  assert.ok(output.links.some(l => l.url === `${gitHost.baseUrl}/${owner}/${repo}`), `a link to the repository: ${links}`);
  assert.ok(output.links.some(l => l.entityRef === `component:default/${story.serviceName}`), `a link to the component: ${links}`);
  assert.ok(output.links.every(l => l.url || l.entityRef), `no empty link: ${links}`);
  const text = output.text.map(t => t.content).join('\n');
  assert.ok(text.includes(story.serviceName) && new RegExp(`\\b${n} files`).test(text), `text names the service and ${n} files: ${text}`);

  // The pushed repository equals the preview, byte for byte, executable bits included, less
  // what the template's own fs:delete steps remove (files proposed to another repository).
  const bare = gitHost.bareRepo(owner, repo);
  assert.equal(commits(bare).length, 1, 'one commit on main');
  const pushed = readTree(bare);
  const expectedService = withoutDeleted(storyPreview.tree, templates.copy);
  assert.deepEqual(diffTrees(expectedService, pushed), []);
  const printed = storyPreview.printed.files.filter(f => expectedService.has(f.path));
  assert.deepEqual(diffListing(printed, pushed), []);
  // Pull requests (the GitOps change) carry the rest: together nothing rendered is lost.
  assert.deepEqual(checkProposals(events, templates.copy, storyPreview.tree), []);
  const proposed = proposals(events).map(p => p.source.replace(/^\.\//, ''));
  for (const d of deletedPaths(templates.copy)) assert.ok(proposed.includes(d), `${d} was proposed before it was deleted`);
  H.record('singleTask.files', {
    rendered: storyPreview.tree.size,
    pushed: pushed.size,
    proposed: storyPreview.tree.size - expectedService.size,
    pushedBytes: [...pushed.values()].reduce((s, f) => s + f.bytes.length, 0),
  });

  // catalog:register registered the pushed catalog-info.yaml: the component shows up.
  const component = await H.waitFor(
    `component:default/${story.serviceName} in the catalog`,
    () => api.getEntity(backend, 'component', 'default', story.serviceName),
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  assert.equal(component.spec.owner, story.owner);
  assert.equal(component.metadata.annotations['backstage.io/source-template'], 'template:default/microservice');
});

test('the form schema still guards the API: a value breaking it is refused with 400 before any task', T, async () => {
  const res = await api.createTask(backend, E2E_TEMPLATE, { ...story, serviceName: 'User_Service', repoUrl: 'github.com?owner=acme&repo=form-refused' });
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.ok(res.body.errors.some(e => e.property === 'instance.serviceName'), JSON.stringify(res.body.errors));
  assert.equal(fs.existsSync(gitHost.bareRepo('acme', 'form-refused')), false);
});

test('invalid values that pass the form reach svcgen:render: the task fails listing every problem, nothing is pushed', T, async () => {
  // Advanced options sent straight to the API while the form switch is off: the form's JSON
  // Schema only checks them when configureAdvanced is true; svcgen:render checks them always.
  const values = {
    ...story,
    serviceName: 'invalid-values',
    repoUrl: 'github.com?owner=acme&repo=invalid-values',
    configureAdvanced: false,
    redisCache: 'yes',
    messageQueue: 'kafka',
    scheduledJobs: true,
    authentication: 'basic',
  };
  const created = await api.createTask(backend, E2E_TEMPLATE, values);
  assert.equal(created.status, 201, `the scaffolder accepts them: ${JSON.stringify(created.body)}`);
  const { events, completion } = await api.waitForCompletion(backend, created.body.id);
  const task = await api.getTask(backend, created.body.id);
  assert.equal(task.status, 'failed', api.formatEvents(events));
  const message = completion.body.error?.message ?? '';
  H.record('invalidValues.message', message);
  assert.match(message, /^svcgen: template set "microservice": /);
  for (const field of ['redisCache', 'messageQueue', 'schedule', 'authentication']) {
    assert.match(message, new RegExp(`\\b${field}\\b`), `the error names ${field}: ${message}`);
  }
  const renderLog = events.filter(e => e.type === 'log' && e.body.stepId === 'render').map(e => e.body.message).join('\n');
  for (const field of ['redisCache', 'messageQueue', 'schedule', 'authentication']) {
    assert.match(renderLog, new RegExp(`\\b${field}\\b`), `the step log names ${field}`);
  }
  assert.ok(!events.some(e => e.body.stepId === 'publish-github' && e.body.status === 'processing'), 'publish never started');
  assert.equal(fs.existsSync(gitHost.bareRepo('acme', 'invalid-values')), false, 'nothing pushed');
});

test('the example overlay is a Template entity in the catalog, as the example backend registers it', T, async () => {
  const template = await api.getEntity(backend, 'template', 'default', 'acme-microservice');
  assert.ok(template, 'template:default/acme-microservice is in the catalog');
  assert.equal(template.kind, 'Template');
  assert.equal(template.metadata.annotations['backstage.io/managed-by-location'], `file:${ACME_TEMPLATE}`);
  assert.deepEqual(template.spec, templates.acme.real.spec, 'the catalog serves the template file unchanged');
  const render = template.spec.steps.find(s => s.action === 'svcgen:render');
  assert.equal(render.input.templateSet, 'acme-microservice');
  // Warm-up compiled the overlay with its base, from svcgen.templateDirs.
  assert.match(backend.log(), /svcgen: compiled template sets .*acme-microservice@1\.0\.0/);
});

test('a task of the overlay: pushed tree = the overlay\'s preview; it differs from the base exactly as the overlay says; answers list both layers', T, async () => {
  const created = await api.createTask(backend, ACME_E2E_TEMPLATE, ACME_VALUES);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const { events, completion } = await api.waitForCompletion(backend, created.body.id);
  assert.equal((await api.getTask(backend, created.body.id)).status, 'completed', api.formatEvents(events));
  H.record('overlayTask.ms', Date.now() - created.postedAt);
  // Both layers found by name: the overlay in svcgen.templateDirs, the base built into the module.
  const renderLogs = api.logMessages(events.filter(e => e.body.stepId === 'render'));
  const validated = 'svcgen: validated values for acme-microservice@1.0.0 (acme-microservice@1.0.0 extends microservice@0.1.0) from acme-microservice';
  assert.ok(renderLogs.some(m => m.includes(validated)), renderLogs.join('\n'));
  for (const step of ['render', 'gitops-gitlab', 'drop-gitops', 'publish-gitlab', 'register']) {
    assert.ok(events.some(e => e.body.stepId === step && e.body.status === 'completed'), `step ${step} completed:\n${api.formatEvents(events)}`);
  }

  // The step's outputs (exposed by the test copy's template output) name both layers, top first.
  const output = completion.body.output;
  assert.equal(output.templateSet, 'acme-microservice');
  assert.equal(output.templateVersion, '1.0.0');
  // Sources as the answers file records them: set names, never a folder of the backend's machine.
  assert.equal(output.templateSource, 'acme-microservice');
  assert.deepEqual(output.templateLayers, [
    { name: 'acme-microservice', version: '1.0.0', source: 'acme-microservice' },
    { name: 'microservice', version: '0.1.0', source: 'microservice' },
  ]);
  assert.match(output.text.map(t => t.content).join('\n'), /from template set `acme-microservice`\s+version 1\.0\.0: \d+ files/);

  // The service repository = `svcgen-preview --template-dir examples/overlays/acme-microservice`,
  // byte for byte, less the GitOps files (proposed by merge request, then deleted). One line
  // differs by design: the backend found the overlay by name in svcgen.templateDirs and records
  // that name as its source; the preview was given the folder and records it as it printed it.
  const bare = gitHost.bareRepo('payments', 'order-service');
  assert.equal(commits(bare).length, 1, 'one commit on main');
  const pushed = readTree(bare);
  const expected = withoutDeleted(acmePreview.tree, templates.acme.copy);
  const previewSource = acmePreview.printed.template.layers[0].source;
  assert.ok(previewSource.endsWith(ACME_DIR), `the preview records the overlay by its folder: ${previewSource}`);
  const byPath = `source: ${JSON.stringify(previewSource)}\n`;
  const previewAnswers = expected.get(ANSWERS);
  assert.ok(previewAnswers.bytes.includes(byPath), previewAnswers.bytes.toString());
  const answersByName = previewAnswers.bytes.toString().replace(byPath, 'source: "acme-microservice"\n');
  expected.set(ANSWERS, { ...previewAnswers, bytes: Buffer.from(answersByName) });
  assert.deepEqual(diffTrees(expected, pushed), []);
  assert.deepEqual(checkProposals(events, templates.acme.copy, acmePreview.tree), []);
  assert.ok(proposals(events).every(p => p.bare === gitHost.bareRepo('payments', 'gitops')), JSON.stringify(proposals(events)));

  // Against the base set's preview with the same values (less costCenter): once the base's
  // registry and hosts are replaced by Acme's, only these paths differ (every line of them:
  // rust/core/tests/overlay_example.rs).
  const substitutions = [
    ['registry.gitlab.acme.example', 'registry.acme.example'],
    ['order-service.dev.example.com', 'order-service.dev.services.acme.example'],
    ['order-service.staging.example.com', 'order-service.staging.services.acme.example'],
    ['order-service.example.com', 'order-service.services.acme.example'],
  ];
  const base = withoutDeleted(acmeBasePreview.tree, templates.acme.copy);
  const text = (tree, p) => tree.get(p).bytes.toString();
  const substituted = new Set();
  const changed = [];
  for (const [p, file] of base) {
    if (!pushed.has(p)) continue;
    let before = file.bytes.toString();
    for (const [from, to] of substitutions) before = before.split(from).join(to);
    if (before !== file.bytes.toString()) substituted.add(p);
    if (before !== text(pushed, p) || file.executable !== pushed.get(p).executable) changed.push(p);
  }
  const added = [...pushed.keys()].filter(p => !base.has(p));
  const removed = [...base.keys()].filter(p => !pushed.has(p));
  assert.deepEqual({ added, removed, changed: changed.sort() }, {
    added: ['.gitlab/CODEOWNERS'],
    removed: [],
    changed: [
      ANSWERS,
      'README.md',
      'catalog-info.yaml',
      'terraform/environments/dev/terraform.tfvars',
      'terraform/environments/production/terraform.tfvars',
      'terraform/environments/staging/terraform.tfvars',
    ],
  });
  for (const p of ['.gitlab-ci.yml', 'k8s/base/deployment.yaml', 'k8s/base/ingress.yaml', 'catalog-info.yaml']) {
    assert.ok(substituted.has(p), `${p}: the base's registry or domain, replaced by Acme's`);
  }
  assert.match(text(pushed, '.gitlab-ci.yml'), /IMAGE: "registry\.acme\.example\/payments\/order-service"/);
  assert.match(text(pushed, 'k8s/base/ingress.yaml'), /- host: order-service\.services\.acme\.example$/m);
  assert.deepEqual(text(pushed, '.gitlab/CODEOWNERS').split('\n').filter(l => l && !l.startsWith('#')), ['* @payments-team']);
  for (const env of ['dev', 'staging', 'production']) {
    const tfvars = text(pushed, `terraform/environments/${env}/terraform.tfvars`);
    assert.match(tfvars, /^ {2}"CostCenter" = "CC-1234"$/m, `${env}: the CostCenter tag`);
    assert.doesNotMatch(text(base, `terraform/environments/${env}/terraform.tfvars`), /CostCenter/);
  }
  const catalogInfo = text(pushed, 'catalog-info.yaml');
  for (const line of [
    'backstage.io/source-template: "template:default/acme-microservice"',
    'svcgen.dev/template-set: "acme-microservice"',
    'svcgen.dev/template-version: "1.0.0"',
  ]) {
    assert.ok(catalogInfo.includes(`    ${line}\n`), `catalog-info.yaml: ${line}`);
  }

  // The answers file: the set asked for, the same layers as the outputs, each recorded by the name
  // it was found by (no machine's path in a repository), the values as validated.
  const answers = YAML.parse(text(pushed, ANSWERS));
  assert.equal(answers.template.name, 'acme-microservice');
  assert.equal(answers.template.version, '1.0.0');
  assert.deepEqual(answers.template.layers, [
    { name: 'acme-microservice', version: '1.0.0', source: 'acme-microservice' },
    { name: 'microservice', version: '0.1.0', source: 'microservice' },
  ]);
  assert.deepEqual(answers.values, acmePreview.printed.values);
  assert.equal(answers.values.costCenter, 'CC-1234');
  assert.equal(answers.values.baseDomain, 'services.acme.example', 'the overlay\'s default');
  const baseAnswers = YAML.parse(text(base, ANSWERS));
  assert.deepEqual(baseAnswers.template.layers, [{ name: 'microservice', version: '0.1.0', source: 'microservice' }]);

  const component = await H.waitFor(
    'component:default/order-service in the catalog',
    () => api.getEntity(backend, 'component', 'default', 'order-service'),
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  assert.equal(component.metadata.annotations['svcgen.dev/template-set'], 'acme-microservice');
  H.record('overlayTask.files', { pushed: pushed.size, base: base.size, changed: changed.length, substituted: substituted.size });
});

test('values the overlay refuses but its form lets through (production without authentication): the task fails listing every problem, nothing is pushed', T, async () => {
  // The form only checks authentication and schedule when configureAdvanced is on; svcgen:render
  // checks Acme's rule (production needs authentication, default none) and the base's always.
  const values = {
    ...ACME_VALUES,
    serviceName: 'refused-service',
    repoUrl: 'gitlab.acme.example?owner=payments&repo=refused-service',
    configureAdvanced: false,
    scheduledJobs: true,
  };
  delete values.authentication;
  const created = await api.createTask(backend, ACME_E2E_TEMPLATE, values);
  assert.equal(created.status, 201, `the form lets them through: ${JSON.stringify(created.body)}`);
  const { events, completion } = await api.waitForCompletion(backend, created.body.id);
  assert.equal((await api.getTask(backend, created.body.id)).status, 'failed', api.formatEvents(events));
  const message = completion.body.error?.message ?? '';
  H.record('overlayRefused.message', message);
  assert.match(message, /^svcgen: template set "acme-microservice": /);
  assert.match(message, /\bauthentication\b.*Acme policy/);
  assert.match(message, /\bschedule\b/);
  for (const step of ['gitops-gitlab', 'publish-gitlab', 'register']) {
    assert.ok(!events.some(e => e.body.stepId === step && e.body.status === 'processing'), `${step} never started`);
  }
  assert.equal(fs.existsSync(gitHost.bareRepo('payments', 'refused-service')), false, 'nothing pushed');
  assert.deepEqual(commits(gitHost.bareRepo('payments', 'gitops'), 'svcgen/add-refused-service'), [], 'nothing proposed');
});

for (const [kase, expected] of [
  ['missing-template-set', /svcgen: unknown template set "no-such-set"; available: .*microservice/],
  ['values-not-an-object', /values/],
  ['values-a-list', /values/],
]) {
  test(`fault: ${kase} fails the task with a clear message and pushes nothing`, T, async () => {
    const repo = `fault-${kase}`;
    const created = await api.createTask(backend, BAD_INPUTS_TEMPLATE, {
      case: kase,
      serviceName: 'fault-service',
      repoUrl: `github.com?owner=acme&repo=${repo}`,
      tags: ['a', 'b'],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { events, completion } = await api.waitForCompletion(backend, created.body.id);
    const task = await api.getTask(backend, created.body.id);
    assert.equal(task.status, 'failed', api.formatEvents(events));
    const message = completion.body.error?.message ?? '';
    assert.match(message, expected);
    if (kase !== 'missing-template-set') assert.match(message, /object/, message);
    H.record(`fault.${kase}`, message);
    assert.ok(!events.some(e => e.body.stepId === 'publish' && e.body.status === 'processing'), 'publish never started');
    assert.equal(fs.existsSync(gitHost.bareRepo('acme', repo)), false, 'nothing pushed');
  });
}

for (const kase of ['link-to-a-file-outside', 'link-to-proc-environ']) {
  test(`a template set in svcgen.templateDirs with a ${kase.replace(/-/g, ' ')}: the task fails naming the link, its content goes nowhere`, T, async () => {
    const { set, link, target } = sets.links[kase];
    const repo = `fault-${kase}`;
    const created = await api.createTask(backend, BAD_INPUTS_TEMPLATE, { case: kase, serviceName: 'fault-service', repoUrl: `github.com?owner=acme&repo=${repo}` });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { events, completion } = await api.waitForCompletion(backend, created.body.id);
    const task = await api.getTask(backend, created.body.id);
    assert.equal(task.status, 'failed', api.formatEvents(events));
    const message = completion.body.error?.message ?? '';
    H.record(`fault.${kase}`, message);
    const expected = `svcgen: template set "${set}": ${link} is a symbolic link to ${target}`;
    assert.ok(message.startsWith(expected), `${message}\ndoes not start with\n${expected}`);
    assert.match(message, /, a location outside the set; template sets may only link inside themselves$/);
    assert.ok(events.some(e => e.body.stepId === `render-${kase}` && e.body.status === 'failed'), api.formatEvents(events));
    assert.ok(!events.some(e => e.body.stepId === 'publish' && e.body.status === 'processing'), 'publish never started');
    assert.equal(fs.existsSync(gitHost.bareRepo('acme', repo)), false, 'nothing pushed');
    // Neither the linked file nor the backend's environment shows anywhere.
    const seen = JSON.stringify([events, task]) + backend.log();
    for (const secret of [sets.secret, TOKEN, 'SVCGEN_API_TOKEN=']) {
      assert.ok(!seen.includes(secret), `${secret.slice(0, 16)}… appears in the task or the log`);
    }
  });
}

test('GET /v2/actions answers at once while a task renders a slow template set (the render runs off the main thread)', T, async () => {
  const created = await api.createTask(backend, BAD_INPUTS_TEMPLATE, { case: 'slow-set', serviceName: 'slow-service', repoUrl: 'github.com?owner=acme&repo=fault-slow-set' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const taskId = created.body.id;
  // When this test saw the render step begin and fail, through the task's event feed.
  const seen = {};
  const onEvent = e => {
    if (e.type === 'log' && e.body.stepId === 'render-slow-set' && ['processing', 'failed'].includes(e.body.status)) {
      seen[e.body.status] ??= Date.now();
    }
  };
  let finished = false;
  const following = api.waitForCompletion(backend, taskId, { onEvent }).finally(() => {
    finished = true;
  });
  // GET /v2/actions, one request after the other, until the task has finished.
  const requests = [];
  while (!finished) {
    const sent = Date.now();
    const actions = await api.listActions(backend);
    requests.push({ sent, answered: Date.now() });
    assert.ok(actions.some(a => a.id === 'svcgen:render'));
  }
  const { events, completion } = await following;
  assert.equal((await api.getTask(backend, taskId)).status, 'failed', api.formatEvents(events));
  assert.match(completion.body.error?.message ?? '', /fuel/, 'the render ran until the core stopped it');
  assert.ok(seen.processing && seen.failed, api.formatEvents(events));

  const renderMs = seen.failed - seen.processing;
  const during = requests.filter(r => r.sent >= seen.processing && r.answered <= seen.failed);
  const figure = {
    renderMs,
    requests: requests.length,
    answeredDuringRender: during.length,
    latencyMs: H.stats(requests.map(r => r.answered - r.sent)),
  };
  H.record('slowRender.actionsWhileRendering', figure);
  // Ratios, not absolute times: while the step rendered, the backend answered request after
  // request, the slowest of them in a small fraction of the render's duration.
  assert.ok(during.length >= 5, `only ${during.length} GET /v2/actions answered during the render: ${JSON.stringify(figure)}`);
  assert.ok(figure.latencyMs.max < renderMs / 10, `the slowest GET /v2/actions took more than a tenth of the render: ${JSON.stringify(figure)}`);
  assert.equal(fs.existsSync(gitHost.bareRepo('acme', 'fault-slow-set')), false, 'nothing pushed');
});

test('POST /v2/dry-run with the real template returns the generated files; publish and register are skipped', T, async () => {
  // The template as the Template Editor gets it: the real entity from the catalog.
  const template = await api.getEntity(backend, 'template', 'default', 'microservice');
  for (const ciProvider of ['github', 'gitlab', undefined]) {
    const values = ciProvider ? { ...story, ciProvider } : story;
    const started = Date.now();
    const { status, body } = await api.dryRun(backend, template, values);
    const ms = Date.now() - started;
    assert.equal(status, 200, JSON.stringify(body).slice(0, 2000));
    const label = ciProvider ?? 'default';
    H.record(`dryRun.${label}.ms`, ms);
    const expected = ciProvider ? (await preview(values, work, `dry-run-${label}`)) : storyPreview;
    const tree = fromDirectoryContents(body.directoryContents);
    // The dry-run runs fs:delete too: the files the service repository would get.
    assert.deepEqual(diffTrees(withoutDeleted(expected.tree, templates.real), tree, { actualName: 'dry-run' }), []);

    const log = body.log.map(l => l.body.message ?? '').join('\n');
    assert.match(log, /svcgen: wrote \d+ files .* \(dry run\)/);
    const publish = ciProvider === 'gitlab' ? 'publish:gitlab' : 'publish:github';
    if (ciProvider) {
      assert.match(log, new RegExp(`Skipping because ${publish} does not support dry-run`), log);
    }
    if (ciProvider === 'github' && templates.real.spec.steps.some(s => s.action === 'publish:github:pull-request')) {
      assert.match(log, /Performing dry run of creating pull request/, log);
    }
    assert.match(log, /Skipping because catalog:register does not support dry-run/, log);
    assert.ok(body.output, 'the dry-run returns the template output');
    assert.ok(Array.isArray(body.output.links) && Array.isArray(body.output.text));
    assert.ok(body.output.text.some(t => t.content.includes(values.serviceName)), JSON.stringify(body.output.text));
  }
  // Nothing was pushed or registered by the dry-runs.
  assert.equal(commits(gitHost.bareRepo('acme', story.serviceName)).length, 1);
});

test('dry-run with invalid values reports the validation problems', T, async () => {
  const template = await api.getEntity(backend, 'template', 'default', 'microservice');
  const { status, body } = await api.dryRun(backend, template, { ...story, configureAdvanced: false, scheduledJobs: true });
  const text = JSON.stringify(body);
  assert.ok(status === 200 || status === 400, `HTTP ${status}`);
  assert.match(text, /svcgen: template set \\?"microservice\\?": .*schedule/);
  if (status === 200) assert.deepEqual(body.directoryContents, [], 'no files from a failed render');
});

test('the test-only publish action exists only because the tests asked for it', T, async () => {
  const actions = await api.listActions(backend);
  const testOnly = actions.find(a => a.id === TEST_PUBLISH_ACTION);
  assert.ok(testOnly, 'loaded with SVCGEN_E2E_TEST_ONLY_MODULES=1');
  assert.match(testOnly.description, /TEST-ONLY/);
  assert.match(backend.log(), /TEST-ONLY module loaded/);
});
