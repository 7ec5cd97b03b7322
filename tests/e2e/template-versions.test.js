'use strict';
/*
 * Template sets read from git at a version, in one real Backstage backend (SQLite in memory):
 * `svcgen:render` gets a GitHub tree URL (`.../tree/<tag>/<folder>`) and reads it through the
 * backend's own UrlReaderService, i.e. Backstage's real GithubUrlReader, against the test's git
 * host (lib/git.js answers the GitHub API calls readTree makes: the ref's commit, the tarball).
 *
 * The set is a small one (plugin-ts/test-fixtures/tiny plus a secret parameter) in a local git
 * repository with two tags: v1.0.0, and v1.1.0 with a new version and a changed README. Tasks
 * render v1.0.0, then v1.1.0, then v1.1.0 again (served from the cache: no tarball download, and
 * the step says so), then one whose templateVersion the set does not satisfy (fails, nothing pushed).
 */

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, test } = require('node:test');
const { Backend } = require('./lib/backend');
const { GitHost, commits, readTree } = require('./lib/git');
const H = require('./lib/harness');
const api = require('./lib/scaffolder');
const { TEST_PUBLISH_ACTION, YAML } = require('./lib/templates');

H.installGuards(5 * 60_000);

const TOKEN = `e2e-${require('node:crypto').randomBytes(12).toString('hex')}`;
/** The secret parameter's value: it must show up in no output, event, task or log. */
const DEPLOY_TOKEN = `deploy-${require('node:crypto').randomBytes(12).toString('hex')}`;
const TEMPLATE = 'template:default/svcgen-e2e-set-from-git';
const T = { timeout: 120_000 };
const OWNER = 'acme';
const REPO = 'svcgen-templates';
const SET_FOLDER = 'sets/tiny';
const ANSI = /\x1b\[[0-9;]*m/g;

let work;
let gitHost;
let backend;
/** tag → commit sha of the template repository. */
const tagCommits = {};

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Platform Team',
  GIT_AUTHOR_EMAIL: 'platform@example.invalid',
  GIT_COMMITTER_NAME: 'Platform Team',
  GIT_COMMITTER_EMAIL: 'platform@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

/**
 * The template repository, pushed to the git host as acme/svcgen-templates: the tiny set (a
 * rendered README, an executable run.sh behind withScript, a templated folder) under sets/tiny,
 * with a secret parameter and a value derived from it. v1.0.0, then v1.1.0: version 1.1.0 and a
 * README line that only 1.1.0 renders.
 */
function writeTemplateRepository() {
  const src = path.join(work, 'template-repo');
  const set = path.join(src, SET_FOLDER);
  const git = (...args) => H.sh('git', args, { cwd: src, env: GIT_ENV }).trim();
  fs.mkdirSync(src, { recursive: true });
  git('init', '--quiet', '--initial-branch=main');
  fs.cpSync(path.join(H.PLUGIN_DIR, 'test-fixtures', 'tiny'), set, { recursive: true });
  const manifestFile = path.join(set, 'manifest.yaml');
  const secretParameter =
    '  deployToken:\n    type: string\n    required: true\n    secret: true\n' +
    "    description: 'A credential: never written, logged or shown'\n";
  let manifest = fs.readFileSync(manifestFile, 'utf8');
  manifest = manifest.replace('derived:\n', `${secretParameter}derived:\n  authHeader: "'Bearer ' ~ deployToken"\n`);
  assert.match(manifest, /^version: 1\.0\.0$/m);
  fs.writeFileSync(manifestFile, manifest);
  assert.equal(fs.statSync(path.join(set, 'skeleton', 'run.sh')).mode & 0o111, 0o111, 'the fixture run.sh is executable');
  git('add', '--all');
  git('commit', '--quiet', '-m', 'tiny 1.0.0');
  git('tag', 'v1.0.0');

  fs.writeFileSync(manifestFile, manifest.replace(/^version: 1\.0\.0$/m, 'version: 1.1.0'));
  fs.appendFileSync(path.join(set, 'skeleton', 'README.md.jinja'), '\nNew in 1.1.0: a changelog line.\n');
  git('commit', '--quiet', '--all', '-m', 'tiny 1.1.0');
  git('tag', 'v1.1.0');
  for (const tag of ['v1.0.0', 'v1.1.0']) tagCommits[tag] = git('rev-parse', `${tag}^{commit}`);

  const bare = gitHost.bareRepo(OWNER, REPO);
  fs.mkdirSync(path.dirname(bare), { recursive: true });
  H.sh('git', ['clone', '--quiet', '--bare', src, bare], { env: GIT_ENV });
}

/** A Template whose render step reads the set from `parameters.templateSet`, then publishes. */
function writeTemplate() {
  const template = {
    apiVersion: 'scaffolder.backstage.io/v1beta3',
    kind: 'Template',
    metadata: {
      name: 'svcgen-e2e-set-from-git',
      title: 'svcgen e2e: a template set read from git at a version (test only)',
      tags: ['e2e-test-only'],
    },
    spec: {
      owner: 'group:default/platform-team',
      type: 'service',
      parameters: [
        {
          required: ['templateSet', 'serviceName', 'repoUrl'],
          properties: {
            templateSet: { type: 'string' },
            templateVersion: { type: 'string' },
            serviceName: { type: 'string' },
            repoUrl: { type: 'string' },
          },
        },
      ],
      steps: [
        {
          id: 'render',
          name: 'Render the set at its version',
          action: 'svcgen:render',
          input: {
            templateSet: '${{ parameters.templateSet }}',
            templateVersion: '${{ parameters.templateVersion }}',
            values: {
              serviceName: '${{ parameters.serviceName }}',
              withScript: true,
              deployToken: '${{ secrets.deployToken }}',
            },
          },
        },
        { id: 'publish', name: 'Publish', action: TEST_PUBLISH_ACTION, input: { repoUrl: '${{ parameters.repoUrl }}' } },
      ],
      output: {
        templateSet: "${{ steps['render'].output.templateSet }}",
        templateVersion: "${{ steps['render'].output.templateVersion }}",
        templateSource: "${{ steps['render'].output.templateSource }}",
        templateLayers: "${{ steps['render'].output.templateLayers }}",
        derived: "${{ steps['render'].output.derived }}",
        files: "${{ steps['render'].output.files }}",
      },
    },
  };
  const file = path.join(work, 'set-from-git-template.yaml');
  fs.writeFileSync(file, `# generated by tests/e2e/template-versions.test.js\n${YAML.stringify(template, { lineWidth: 0 })}`);
  return [{ type: 'file', target: file, rules: [{ allow: ['Template'] }] }];
}

before(async () => {
  work = H.tempDir('versions');
  gitHost = await new GitHost(path.join(work, 'git')).start();
  writeTemplateRepository();
  const locations = writeTemplate();
  fs.mkdirSync(path.join(work, 'scaffolder-workspaces'));
  backend = new Backend({
    name: 'versions',
    workDir: work,
    token: TOKEN,
    config: {
      backend: { workingDirectory: path.join(work, 'scaffolder-workspaces') },
      catalog: { locations },
      integrations: gitHost.integrationConfig,
      e2eTestOnly: { localGit: { rootDir: gitHost.root, webBaseUrl: gitHost.baseUrl } },
    },
  });
  await backend.start();
  await backend.waitReady({ templateRef: TEMPLATE });
}, { timeout: 180_000 });

after(async () => {
  H.writeMeasurements(`template-versions-node${process.versions.node.split('.')[0]}`);
  await H.cleanupAll();
});

/** Runs one task to its end; returns the events, the completion, the render step's log lines and the git host's API calls it made. */
async function runTask(values) {
  const before = { ...gitHost.apiCalls };
  const created = await api.createTask(backend, TEMPLATE, values, { deployToken: DEPLOY_TOKEN });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const taskId = created.body.id;
  const { events, completion } = await api.waitForCompletion(backend, taskId);
  // The step's log lines as the task page shows them, less colours and the level ("info: ...").
  const renderLogs = events
    .filter(e => e.type === 'log' && e.body.stepId === 'render')
    .map(e => (e.body.message ?? '').replace(ANSI, '').replace(/^(info|warn|error): /, ''));
  const calls = Object.fromEntries(Object.entries(gitHost.apiCalls).map(([k, v]) => [k, v - before[k]]));
  const task = await api.getTask(backend, taskId);
  return { taskId, events, completion, renderLogs, calls, task, ms: Date.now() - created.postedAt };
}

const treeUrl = tag => gitHost.treeUrl(OWNER, REPO, tag, SET_FOLDER);

/** What every completed task of these tests must show: outputs, the pushed files, no secret anywhere. */
function checkRendered(run, { tag, version, serviceName, repo }) {
  const { completion, events } = run;
  assert.equal(completion.body.status ?? 'completed', 'completed', api.formatEvents(events));
  const output = completion.body.output;
  assert.equal(output.templateSet, 'tiny');
  assert.equal(output.templateVersion, version);
  assert.equal(output.templateSource, treeUrl(tag));
  assert.deepEqual(output.templateLayers, [{ name: 'tiny', version, source: treeUrl(tag) }]);
  assert.deepEqual(output.derived, { serviceSnake: serviceName.replace(/-/g, '_'), authHeader: 'Bearer ***' });

  const bare = gitHost.bareRepo(OWNER, repo);
  assert.equal(commits(bare).length, 1);
  const pushed = readTree(bare);
  const snake = serviceName.replace(/-/g, '_');
  assert.deepEqual([...pushed.keys()].sort(), ['.svcgen/answers.yaml', 'README.md', 'run.sh', `${snake}/__init__.py`].sort());
  assert.equal(pushed.get('run.sh').executable, true, 'run.sh keeps its executable bit from git through the tarball');
  assert.equal(pushed.get('README.md').executable, false);
  const readme = pushed.get('README.md').bytes.toString();
  assert.match(readme, new RegExp(`^# ${serviceName} \\(${snake}\\)`));
  assert.equal(readme.includes('New in 1.1.0'), version === '1.1.0', readme);
  const answers = YAML.parse(pushed.get('.svcgen/answers.yaml').bytes.toString());
  assert.equal(answers.template.name, 'tiny');
  assert.equal(answers.template.version, version);
  assert.deepEqual(answers.template.layers, [{ name: 'tiny', version, source: treeUrl(tag) }]);
  assert.equal(answers.values.serviceName, serviceName);
  assert.equal('deployToken' in answers.values, false, 'the secret parameter is not recorded');
  assertNoSecret(run, pushed);
}

/** The secret is in no event, task record, pushed file or backend log line. */
function assertNoSecret(run, pushed = new Map()) {
  assert.ok(!JSON.stringify(run.events).includes(DEPLOY_TOKEN), 'the secret is in no event of the task');
  assert.ok(!JSON.stringify(run.task).includes(DEPLOY_TOKEN), 'the secret is not in the task record');
  for (const [file, { bytes }] of pushed) assert.ok(!bytes.includes(DEPLOY_TOKEN), `the secret is not in ${file}`);
  assert.ok(!backend.log().includes(DEPLOY_TOKEN), 'the secret is not in the backend log');
}

test('task 1 renders the set at v1.0.0, read through the GitHub URL reader: outputs, files, executable bit', T, async () => {
  const run = await runTask({ templateSet: treeUrl('v1.0.0'), serviceName: 'orders', repoUrl: `127.0.0.1?owner=${OWNER}&repo=orders-100` });
  checkRendered(run, { tag: 'v1.0.0', version: '1.0.0', serviceName: 'orders', repo: 'orders-100' });
  // One status call for the tag's commit (the ETag), one tarball download.
  assert.deepEqual(run.calls, { repo: 0, status: 1, tarball: 1 });
  assert.ok(
    run.renderLogs.some(m => m.startsWith(`svcgen: read template set ${treeUrl('v1.0.0')} (etag ${tagCommits['v1.0.0']}) in `)),
    run.renderLogs.join('\n'),
  );
  H.record('setFromGit.firstTaskMs', run.ms);
});

test('task 2 renders v1.1.0: the new version and the changed file', T, async () => {
  const run = await runTask({ templateSet: treeUrl('v1.1.0'), serviceName: 'orders', repoUrl: `127.0.0.1?owner=${OWNER}&repo=orders-110` });
  checkRendered(run, { tag: 'v1.1.0', version: '1.1.0', serviceName: 'orders', repo: 'orders-110' });
  assert.deepEqual(run.calls, { repo: 0, status: 1, tarball: 1 });
  H.record('setFromGit.newVersionTaskMs', run.ms);
});

test('task 3 at v1.1.0 again is served from the cache: no download, the step says so', T, async () => {
  const run = await runTask({ templateSet: treeUrl('v1.1.0'), serviceName: 'billing', repoUrl: `127.0.0.1?owner=${OWNER}&repo=billing-110` });
  checkRendered(run, { tag: 'v1.1.0', version: '1.1.0', serviceName: 'billing', repo: 'billing-110' });
  // The reader asks for the tag's commit, finds the stored ETag, and downloads nothing.
  assert.deepEqual(run.calls, { repo: 0, status: 1, tarball: 0 });
  const line = `svcgen: template set ${treeUrl('v1.1.0')} not modified (etag ${tagCommits['v1.1.0']}): using the compiled set`;
  assert.ok(run.renderLogs.includes(line), `the render step logged "${line}":\n${run.renderLogs.join('\n')}`);
  assert.ok(!run.renderLogs.some(m => m.startsWith('svcgen: read template set')), run.renderLogs.join('\n'));
  H.record('setFromGit.cachedTaskMs', run.ms);
});

test('a templateVersion range the set does not satisfy fails the step with a clear message, nothing is pushed', T, async () => {
  const run = await runTask({
    templateSet: treeUrl('v1.0.0'),
    templateVersion: '^1.1.0',
    serviceName: 'too-old',
    repoUrl: `127.0.0.1?owner=${OWNER}&repo=too-old`,
  });
  assert.equal(run.task.status, 'failed', api.formatEvents(run.events));
  const message = run.completion.body.error?.message ?? '';
  H.record('setFromGit.versionRefused', message);
  assert.equal(
    message,
    `svcgen: templateVersion: template set tiny is at version 1.0.0, which does not satisfy the version asked for, "^1.1.0" (read from ${treeUrl('v1.0.0')})`,
  );
  assert.ok(!run.events.some(e => e.body.stepId === 'publish' && e.body.status === 'processing'), 'publish never started');
  assert.equal(fs.existsSync(gitHost.bareRepo(OWNER, 'too-old')), false, 'nothing was pushed');
  assert.deepEqual(run.calls, { repo: 0, status: 1, tarball: 0 }, 'v1.0.0 came from the cache');
  assertNoSecret(run);
});

test('a set URL on a host without an integration fails the step naming the URL, nothing is pushed', T, async () => {
  const url = 'https://templates.example.invalid/acme/svcgen-templates/tree/v1.0.0/sets/tiny';
  const run = await runTask({ templateSet: url, serviceName: 'nowhere', repoUrl: `127.0.0.1?owner=${OWNER}&repo=nowhere` });
  assert.equal(run.task.status, 'failed', api.formatEvents(run.events));
  const message = run.completion.body.error?.message ?? '';
  assert.ok(message.startsWith(`svcgen: cannot read template set ${url}: Reading from '${url}' is not allowed`), message);
  assert.equal(fs.existsSync(gitHost.bareRepo(OWNER, 'nowhere')), false, 'nothing was pushed');
});
