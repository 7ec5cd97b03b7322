'use strict';
/*
 * Keeping a generated service current (issue 16), in one real Backstage backend (SQLite in memory),
 * through the real templates: services are created by the microservice template from the bundled
 * set kept in a git repository at two tags, and updated by templates/update-service/template.yaml.
 * Only the publish actions are the test's stand-ins (no GitHub here): the update's pull request is
 * a branch on top of the service's main, with filesToDelete removed, as publish:github:pull-request
 * commits it.
 *
 * The set's repository (on the test's git host, read through Backstage's real GithubUrlReader):
 * v0.1.0 is templates/microservice as it is; v0.2.0 bumps the version, changes a line of
 * docs/deployment.md, adds docs/upgrading.md and drops .editorconfig.
 *
 * - orders: created at v0.1.0, the team edits the README's description, appends a runbook to
 *   docs/deployment.md and adds NOTES.md; the update to 0.2.0 proposes v0.2.0's changes with every
 *   team edit kept, and no conflict.
 * - billing: the team rewrites the README line that names the version, which v0.2.0 changes too:
 *   the step lists README.md as a conflict, and the proposed README carries conflict markers.
 * - an update to the version the service already has proposes nothing.
 */

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, test } = require('node:test');
const { Backend } = require('./lib/backend');
const { GitHost, commits, readTree } = require('./lib/git');
const H = require('./lib/harness');
const api = require('./lib/scaffolder');
const { TEMPLATES_DIR, YAML, loadRealTemplate, localGitCopy } = require('./lib/templates');
const { storyValues } = require('./lib/values');

H.installGuards(8 * 60_000);

const TOKEN = `e2e-${require('node:crypto').randomBytes(12).toString('hex')}`;
const CREATE_TEMPLATE = 'template:default/microservice-from-git-e2e';
const UPDATE_TEMPLATE = 'template:default/update-service-e2e';
const UPDATE_TEMPLATE_FILE = path.join(TEMPLATES_DIR, 'update-service', 'template.yaml');
const T = { timeout: 180_000 };
const OWNER = 'acme';
const SET_REPO = 'svcgen-templates';
const SET_FOLDER = 'sets/microservice';
const ANSI = /\x1b\[[0-9;]*m/g;

const DEPLOYMENT_LINE = 'The promotion path is dev → staging → production;';
const DEPLOYMENT_LINE_B = 'The promotion path is dev → staging → production (upgrades: docs/upgrading.md);';
const UPGRADING = '# Upgrading {{ serviceName }}\n\nRun the "Update a service" template: it proposes the new version as a pull request.\n';

let work;
let gitHost;
let backend;
let versionA;
const VERSION_B = '0.2.0';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Team',
  GIT_AUTHOR_EMAIL: 'team@example.invalid',
  GIT_COMMITTER_NAME: 'Team',
  GIT_COMMITTER_EMAIL: 'team@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

/** The template set's repository: the bundled set at its own version (tag vA), then v0.2.0. */
function writeSetRepository() {
  const src = path.join(work, 'set-repo');
  const set = path.join(src, SET_FOLDER);
  const git = (...args) => H.sh('git', args, { cwd: src, env: GIT_ENV }).trim();
  fs.mkdirSync(src, { recursive: true });
  git('init', '--quiet', '--initial-branch=main');
  fs.cpSync(path.join(TEMPLATES_DIR, 'microservice'), set, { recursive: true });
  const manifestFile = path.join(set, 'manifest.yaml');
  const manifest = fs.readFileSync(manifestFile, 'utf8');
  versionA = /^version: (\S+)$/m.exec(manifest)[1];
  assert.notEqual(versionA, VERSION_B, 'version B must differ from the bundled set');
  git('add', '--all');
  git('commit', '--quiet', '-m', `microservice ${versionA}`);
  git('tag', `v${versionA}`);

  fs.writeFileSync(manifestFile, manifest.replace(/^version: \S+$/m, `version: ${VERSION_B}`));
  const deployment = path.join(set, 'skeleton', 'common', 'docs', 'deployment.md.jinja');
  const text = fs.readFileSync(deployment, 'utf8');
  assert.ok(text.includes(DEPLOYMENT_LINE), `${deployment} has the line v${VERSION_B} changes`);
  fs.writeFileSync(deployment, text.replace(DEPLOYMENT_LINE, DEPLOYMENT_LINE_B));
  fs.writeFileSync(path.join(set, 'skeleton', 'common', 'docs', 'upgrading.md.jinja'), UPGRADING);
  fs.rmSync(path.join(set, 'skeleton', 'common', '.editorconfig'));
  git('add', '--all');
  git('commit', '--quiet', '-m', `microservice ${VERSION_B}`);
  git('tag', `v${VERSION_B}`);

  const bare = gitHost.bareRepo(OWNER, SET_REPO);
  fs.mkdirSync(path.dirname(bare), { recursive: true });
  H.sh('git', ['clone', '--quiet', '--bare', src, bare], { env: GIT_ENV });
}

const setUrl = tag => gitHost.treeUrl(OWNER, SET_REPO, tag, SET_FOLDER);

/**
 * The real microservice template rendering the set from git at vA, and the real update template,
 * each with the test's publish stand-ins; nothing else changes.
 */
function writeTemplates() {
  const create = localGitCopy(loadRealTemplate());
  create.metadata.name = 'microservice-from-git-e2e';
  const render = create.spec.steps.find(s => s.action === 'svcgen:render');
  render.input.templateSet = setUrl(`v${versionA}`);
  const update = localGitCopy(loadRealTemplate(UPDATE_TEMPLATE_FILE), UPDATE_TEMPLATE_FILE);
  // The scaffolder shows a step's outputs nowhere else: the update step's, for the assertions.
  const step = update.spec.steps.find(s => s.action === 'svcgen:update');
  update.spec.output.update = `\${{ steps['${step.id}'].output }}`;
  const file = path.join(work, 'update-templates.yaml');
  const docs = [create, update].map(d => YAML.stringify(d, { lineWidth: 0 }));
  fs.writeFileSync(file, `# generated by tests/e2e/update.test.js\n${docs.join('---\n')}`);
  return [{ type: 'file', target: file, rules: [{ allow: ['Template'] }] }];
}

before(async () => {
  work = H.tempDir('update');
  gitHost = await new GitHost(path.join(work, 'git')).start();
  writeSetRepository();
  fs.mkdirSync(path.join(work, 'scaffolder-workspaces'));
  backend = new Backend({
    name: 'update',
    workDir: work,
    token: TOKEN,
    config: {
      backend: { workingDirectory: path.join(work, 'scaffolder-workspaces') },
      catalog: { locations: writeTemplates() },
      integrations: gitHost.integrationConfig,
      e2eTestOnly: { localGit: { rootDir: gitHost.root, webBaseUrl: gitHost.baseUrl } },
    },
  });
  await backend.start();
  await backend.waitReady({ templateRef: CREATE_TEMPLATE });
  await backend.waitReady({ templateRef: UPDATE_TEMPLATE });
}, { timeout: 180_000 });

after(async () => {
  H.writeMeasurements(`update-node${process.versions.node.split('.')[0]}`);
  await H.cleanupAll();
});

/** Runs a task to its end: its events, completion, task record and wall time. */
async function runTask(templateRef, values) {
  const created = await api.createTask(backend, templateRef, values);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const { events, completion } = await api.waitForCompletion(backend, created.body.id, { timeoutMs: 150_000 });
  const task = await api.getTask(backend, created.body.id);
  return { events, completion, task, ms: Date.now() - created.postedAt };
}

const stepLogs = (events, stepId) =>
  events
    .filter(e => e.type === 'log' && e.body.stepId === stepId)
    .map(e => (e.body.message ?? '').replace(ANSI, '').replace(/^(info|warn|error): /, ''));

/**
 * Creates `name` with the microservice template at vA, published to the git host as
 * acme/<name> (a GitHub repository there, so the catalog entry names it by project slug), and
 * waits for its component in the catalog.
 */
async function createService(name) {
  const values = {
    ...storyValues(),
    serviceName: name,
    description: `Manages ${name}.`,
    ciProvider: 'github',
    repoUrl: `127.0.0.1:${gitHost.port}?owner=${OWNER}&repo=${name}`,
  };
  const run = await runTask(CREATE_TEMPLATE, values);
  assert.equal(run.task.status, 'completed', api.formatEvents(run.events));
  const pushed = readTree(gitHost.bareRepo(OWNER, name));
  const answers = YAML.parse(pushed.get('.svcgen/answers.yaml').bytes.toString());
  assert.equal(answers.template.version, versionA);
  assert.equal(answers.template.layers[0].source, setUrl(`v${versionA}`));
  assert.ok(pushed.has('.editorconfig'));
  const component = await H.waitFor(
    `component:default/${name} in the catalog`,
    () => api.getEntity(backend, 'component', 'default', name),
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  assert.equal(component.metadata.annotations['backstage.io/source-location'], `url:https://127.0.0.1:${gitHost.port}/${OWNER}/${name}/tree/main/`);
  assert.equal(component.metadata.annotations['github.com/project-slug'], `${OWNER}/${name}`);
  return { values, createMs: run.ms };
}

/** Commits the team's edits (path → new text, or null to delete) on main of acme/<name>. */
function commitTeamEdit(name, edit) {
  const clone = path.join(work, 'clones', name);
  const git = (...args) => H.sh('git', args, { cwd: clone, env: GIT_ENV }).trim();
  fs.mkdirSync(path.dirname(clone), { recursive: true });
  H.sh('git', ['clone', '--quiet', gitHost.bareRepo(OWNER, name), clone], { env: GIT_ENV });
  for (const [file, change] of Object.entries(edit)) {
    const target = path.join(clone, file);
    const before = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
    fs.writeFileSync(target, change(before));
  }
  git('add', '--all');
  git('commit', '--quiet', '-m', 'Team edit');
  git('push', '--quiet', 'origin', 'main');
  return git('rev-parse', 'HEAD');
}

/** Runs the update template for `name`; returns the run, the step's outputs and the proposed branch. */
async function update(name, templateVersion, answers = {}) {
  const run = await runTask(UPDATE_TEMPLATE, { component: `component:default/${name}`, templateVersion, answers });
  assert.equal(run.task.status, 'completed', api.formatEvents(run.events));
  const output = run.completion.body.output.update;
  const logs = stepLogs(run.events, 'update');
  const wrote = logs.map(l => /^svcgen: wrote \d+ changes to \.\/repo in (\d+) ms$/.exec(l)).find(Boolean);
  assert.ok(wrote, logs.join('\n'));
  return { run, output, logs, stepMs: Number(wrote[1]) };
}

/** The files whose content differs between two refs of a bare repository. */
function changedFiles(bare, from, to) {
  return H.sh('git', ['--git-dir', bare, 'diff', '--name-status', '--no-renames', from, to])
    .split('\n')
    .filter(Boolean)
    .map(line => line.split('\t'))
    .map(([status, file]) => `${status} ${file}`)
    .sort();
}

const text = (tree, file) => {
  assert.ok(tree.has(file), `${file} is in the tree`);
  return tree.get(file).bytes.toString();
};

test('update to a new version: its changes proposed on top of main, every team edit kept, no conflict', T, async () => {
  const { createMs } = await createService('orders');
  const teamHead = commitTeamEdit('orders', {
    'README.md': t => t.replace('Manages orders.', 'Manages orders and their refunds (payments team).'),
    'docs/deployment.md': t => `${t}\n## Runbook\n\nPage the payments on-call before a manual sync.\n`,
    'NOTES.md': () => 'Decisions of the payments team.\n',
  });
  const { run, output, stepMs } = await update('orders', VERSION_B);

  // The step's outputs.
  assert.equal(output.fromVersion, versionA);
  assert.equal(output.toVersion, VERSION_B);
  assert.deepEqual(output.conflicts, []);
  assert.deepEqual(output.deleted, ['.editorconfig']);
  assert.deepEqual(output.renamed, []);
  assert.equal(output.added, 1);
  assert.equal(output.removed, 1);
  assert.match(output.summary, new RegExp(`^## svcgen: update from microservice@${versionA.replace(/\./g, '\\.')} to microservice@0\\.2\\.0\\n`));

  // The proposed branch: one commit on top of the team's main.
  const bare = gitHost.bareRepo(OWNER, 'orders');
  const branch = `svcgen/update-${VERSION_B}`;
  const branchCommits = commits(bare, branch);
  assert.equal(branchCommits[1], teamHead, 'the branch is one commit on top of main');
  assert.equal(branchCommits.length, commits(bare, 'main').length + 1);
  const changed = changedFiles(bare, 'main', branch);
  assert.ok(changed.includes('A docs/upgrading.md'), changed.join('\n'));
  assert.ok(changed.includes('D .editorconfig'), changed.join('\n'));
  assert.equal(changed.filter(c => c.startsWith('M ')).length, output.changed, changed.join('\n'));
  assert.equal(changed.length, output.changed + output.added + output.removed, changed.join('\n'));

  const proposed = readTree(bare, branch);
  // v0.2.0's changes.
  assert.equal(text(proposed, 'docs/upgrading.md'), '# Upgrading orders\n\nRun the "Update a service" template: it proposes the new version as a pull request.\n');
  assert.ok(!proposed.has('.editorconfig'), '.editorconfig, dropped by v0.2.0 and unchanged by the team, is deleted');
  const deployment = text(proposed, 'docs/deployment.md');
  assert.ok(deployment.includes(DEPLOYMENT_LINE_B), deployment);
  const readme = text(proposed, 'README.md');
  assert.ok(readme.includes(`version ${VERSION_B}.`), readme);
  assert.match(text(proposed, 'catalog-info.yaml'), new RegExp(`svcgen.dev/template-version: "?${VERSION_B.replace(/\./g, '\\.')}"?\\n`));
  const answers = YAML.parse(text(proposed, '.svcgen/answers.yaml'));
  assert.equal(answers.template.version, VERSION_B);
  assert.deepEqual(answers.template.layers, [{ name: 'microservice', version: VERSION_B, source: setUrl(`v${VERSION_B}`) }]);
  // The team's edits.
  assert.ok(readme.includes('Manages orders and their refunds (payments team).'), readme);
  assert.ok(deployment.endsWith('\n## Runbook\n\nPage the payments on-call before a manual sync.\n'), deployment);
  assert.equal(text(proposed, 'NOTES.md'), 'Decisions of the payments team.\n');
  for (const [file, { bytes }] of proposed) assert.ok(!bytes.includes('<<<<<<<'), `no conflict marker in ${file}`);

  H.record('update.createTaskMs', createMs);
  H.record('update.updateTaskMs', run.ms);
  H.record('update.stepMs', stepMs);
  H.record('update.proposed', { changed: output.changed, added: output.added, removed: output.removed, files: proposed.size });
});

test('update where the team changed the line the new version changes: the step lists the conflict, the file has markers', T, async () => {
  await createService('billing');
  const generatedLine = `Generated from the \`microservice\` template set, version ${versionA}.`;
  commitTeamEdit('billing', {
    'README.md': t => {
      assert.ok(t.includes(generatedLine), t);
      return t.replace(generatedLine, `${generatedLine} Maintained by the billing team.`);
    },
  });
  const { output, logs, stepMs } = await update('billing', VERSION_B);
  // Both sets were read and compiled by the first update: this step is the merge and its I/O.
  H.record('update.stepMsSetsCached', stepMs);
  assert.deepEqual(output.conflicts, ['README.md']);
  assert.match(output.summary, /### Conflicts to resolve\n\n- `README\.md`\n/);
  assert.ok(logs.includes('svcgen: conflict in README.md (conflict markers)'), logs.join('\n'));

  const bare = gitHost.bareRepo(OWNER, 'billing');
  const proposed = readTree(bare, `svcgen/update-${VERSION_B}`);
  const readme = text(proposed, 'README.md');
  assert.ok(
    readme.includes(
      `<<<<<<< ours (repository)\n${generatedLine} Maintained by the billing team.\n` +
        `||||||| base (microservice@${versionA})\n${generatedLine}\n` +
        `=======\nGenerated from the \`microservice\` template set, version ${VERSION_B}.\n` +
        `>>>>>>> theirs (microservice@${VERSION_B})\n`,
    ),
    readme,
  );
  // The rest of the new version still lands.
  assert.ok(proposed.has('docs/upgrading.md'));
  assert.ok(text(proposed, 'docs/deployment.md').includes(DEPLOYMENT_LINE_B));
  assert.ok(!proposed.has('src/billing/cache.py'));

  // Run again with a changed answer: the open proposal is replaced (update: true), still one commit on main.
  const again = await update('billing', VERSION_B, { redisCache: true });
  assert.deepEqual(again.output.conflicts, ['README.md']);
  const branch = `svcgen/update-${VERSION_B}`;
  assert.equal(commits(bare, branch).length, commits(bare, 'main').length + 1);
  const replaced = readTree(bare, branch);
  assert.ok(replaced.has('src/billing/cache.py'), 'the Redis cache the changed answer turns on');
  assert.equal(YAML.parse(text(replaced, '.svcgen/answers.yaml')).values.redisCache, true);
  assert.ok(text(replaced, 'README.md').includes('<<<<<<< ours (repository)'));
});

test('an update to the version the service already has proposes nothing', T, async () => {
  const before = H.sh('git', ['--git-dir', gitHost.bareRepo(OWNER, 'orders'), 'branch', '--list']);
  const { output, run } = await update('orders', versionA);
  assert.equal(output.changed + output.added + output.removed, 0);
  assert.equal(output.summary, `## svcgen: up to date with microservice@${versionA}\n\nNothing to change.\n`);
  const skipped = run.events.filter(e => e.body.stepId === 'pr-github' && e.body.status === 'skipped');
  assert.equal(skipped.length, 1, api.formatEvents(run.events));
  assert.equal(H.sh('git', ['--git-dir', gitHost.bareRepo(OWNER, 'orders'), 'branch', '--list']), before, 'no new branch');
});
