'use strict';
/*
 * Two processes of the example backend sharing one PostgreSQL (app-config.postgres.yaml), started
 * here on loopback. 20 tasks submitted at once across both replicas must each complete exactly
 * once with the output of their own values; then a restart while tasks are queued must lose none.
 */

const assert = require('node:assert/strict');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { after, before, test } = require('node:test');
const { Backend } = require('./lib/backend');
const { GitHost, commits, readTree } = require('./lib/git');
const H = require('./lib/harness');
const { Postgres } = require('./lib/postgres');
const { checkProposals, withoutDeleted } = require('./lib/expect');
const { diffTrees, preview } = require('./lib/preview');
const api = require('./lib/scaffolder');
const { writeTestTemplates } = require('./lib/templates');
const { repoOf, variant } = require('./lib/values');

H.installGuards(10 * 60_000);

const TOKEN = `e2e-${require('node:crypto').randomBytes(12).toString('hex')}`;
const E2E_TEMPLATE = 'template:default/microservice-e2e';
const TASKS = 20;

let work;
let pg;
let gitHost;
let replicas;
let templates;

function makeReplica(name, templates) {
  return new Backend({
    name,
    workDir: work,
    token: TOKEN,
    configFiles: ['app-config.postgres.yaml'],
    env: {
      POSTGRES_HOST: pg.connection.host,
      POSTGRES_PORT: String(pg.connection.port),
      POSTGRES_USER: pg.connection.user,
      POSTGRES_PASSWORD: pg.connection.password,
    },
    config: {
      backend: { workingDirectory: path.join(work, `${name}-workspaces`) },
      catalog: { locations: templates.locations },
      integrations: gitHost.integrationConfig,
      // Short, so that the restart test does not wait 30 s for a dead replica's task.
      scaffolder: { taskRecovery: { enabled: true, staleTimeout: { seconds: 3 } } },
      e2eTestOnly: { localGit: { rootDir: gitHost.root, webBaseUrl: gitHost.baseUrl } },
    },
  });
}

/** Previews for many value sets, a few at a time. */
async function previews(valueSets, prefix) {
  const out = new Array(valueSets.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < valueSets.length) {
        const i = next++;
        out[i] = await preview(valueSets[i], work, `${prefix}-${i}`);
      }
    }),
  );
  return out;
}

/** Checks one finished task against its own values and returns its completion. */
async function checkTask(backends, taskId, values, expectedPreview) {
  const { events, completion } = await api.waitForCompletion(backends, taskId);
  const task = await api.getTask(backends[0], taskId);
  assert.equal(task.status, 'completed', `${completion.body.error?.message ?? ''}; last events:\n${api.formatEvents(events.slice(-4))}`);
  assert.equal(events.filter(e => e.type === 'completion').length, 1, 'one completion event');
  const wrote = events.filter(e => e.type === 'log' && /svcgen: wrote \d+ files/.test(e.body.message ?? ''));
  assert.equal(wrote.length, 1, `svcgen:render ran once for ${values.serviceName}`);
  const publishStep = values.ciProvider === 'gitlab' ? 'publish-gitlab' : 'publish-github';
  assert.ok(events.some(e => e.body.stepId === publishStep && e.body.status === 'completed'), `${publishStep} completed`);
  const { owner, repo } = repoOf(values);
  const bare = gitHost.bareRepo(owner, repo);
  assert.equal(commits(bare).length, 1, `one commit in ${owner}/${repo}`);
  const expectedService = withoutDeleted(expectedPreview.tree, templates.copy);
  assert.deepEqual(diffTrees(expectedService, readTree(bare)), [], `${values.serviceName}: pushed tree = preview`);
  assert.deepEqual(checkProposals(events, templates.copy, expectedPreview.tree), [], `${values.serviceName}: pull requests`);
  const { links } = completion.body.output;
  assert.ok(links.some(l => l.url === `${gitHost.baseUrl}/${owner}/${repo}`), `repository link: ${JSON.stringify(links)}`);
  assert.ok(links.some(l => l.entityRef === `component:default/${values.serviceName}`), `entity link: ${JSON.stringify(links)}`);
  return { events, completion };
}

before(async () => {
  work = H.tempDir('replicas');
  const pgStarted = performance.now();
  pg = await new Postgres().start();
  H.record('postgres.startMs', Math.round(performance.now() - pgStarted));
  gitHost = await new GitHost(path.join(work, 'git')).start();
  templates = writeTestTemplates(work);
  replicas = [makeReplica('replica-1', templates), makeReplica('replica-2', templates)];
  require('node:fs').mkdirSync(path.join(work, 'replica-1-workspaces'));
  require('node:fs').mkdirSync(path.join(work, 'replica-2-workspaces'));
  // One after the other: on an empty database the first one runs the schema migrations, and
  // replicas started at the same instant race for them (knex "Migration table is already locked").
  await replicas[0].start();
  H.record('coldStart.postgres.firstReplica', await replicas[0].waitReady({ timeoutMs: 120_000 }));
  await replicas[1].start();
  H.record('coldStart.postgres.secondReplica', await replicas[1].waitReady({ timeoutMs: 120_000 }));
  await Promise.all(replicas.map(r => r.waitReady({ templateRef: E2E_TEMPLATE })));
}, { timeout: 240_000 });

after(async () => {
  H.writeMeasurements(`replicas-node${process.versions.node.split('.')[0]}`);
  await H.cleanupAll();
});

test(`${TASKS} tasks submitted at once across two replicas on one PostgreSQL: each completes exactly once, correctly`, { timeout: 300_000 }, async () => {
  const valueSets = Array.from({ length: TASKS }, (_, i) => variant(i + 1, 'rep'));
  const expected = await previews(valueSets, 'rep');

  const created = await Promise.all(valueSets.map((values, i) => api.createTask(replicas[i % 2], E2E_TEMPLATE, values)));
  for (const c of created) assert.equal(c.status, 201, JSON.stringify(c.body));
  const ids = created.map(c => c.body.id);
  assert.equal(new Set(ids).size, TASKS, 'distinct task ids');

  const settled = await Promise.allSettled(
    ids.map((id, i) => checkTask([replicas[i % 2], replicas[(i + 1) % 2]], id, valueSets[i], expected[i])),
  );
  const failures = settled
    .map((r, i) => (r.status === 'rejected' ? `${valueSets[i].serviceName} (task ${ids[i]}): ${r.reason.message}` : null))
    .filter(Boolean);
  assert.deepEqual(failures, [], `${failures.length} of ${TASKS} tasks are wrong:\n${failures.join('\n\n')}`);
  const results = settled.map(r => r.value);

  const latencies = results.map((r, i) => Date.parse(r.completion.createdAt) - created[i].postedAt);
  const firstPost = Math.min(...created.map(c => c.postedAt));
  const lastDone = Math.max(...results.map(r => Date.parse(r.completion.createdAt)));
  const executed = replicas.map(r => r.executedTaskIds().filter(id => ids.includes(id)));
  const all = executed.flat();
  assert.equal(all.length, TASKS, `every task was executed exactly once in total (got ${all.length} executions)`);
  assert.deepEqual([...new Set(all)].sort(), [...ids].sort(), 'no task lost, none run twice');
  H.record('replicas.twentyTasks', {
    tasks: TASKS,
    wallMs: lastDone - firstPost,
    latencyMs: H.stats(latencies),
    executedBy: { 'replica-1': executed[0].length, 'replica-2': executed[1].length },
  });
});

test('a restart while tasks are queued loses none: queued tasks run after the restart, the interrupted one is recovered', { timeout: 240_000 }, async () => {
  // Whatever the previous test left running finishes first: this one needs an idle queue.
  await H.waitFor('earlier tasks to finish', async () => {
    const res = await replicas[0].fetch('/api/scaffolder/v2/tasks');
    const { tasks } = await res.json();
    return tasks.every(t => ['completed', 'failed', 'cancelled'].includes(t.status));
  }, { timeoutMs: 120_000, intervalMs: 500 });
  await Promise.all(replicas.map(r => r.stop()));
  const [r1] = replicas;
  // One task at a time, each held 5 s before its push: the first is running, the rest queue.
  await r1.start({ scaffolder: { concurrentTasksLimit: 1 }, e2eTestOnly: { localGit: { delayMs: 5000 } } });
  await r1.waitReady();

  const valueSets = [1, 2, 3].map(i => variant(100 + i, 'rst'));
  const expected = await previews(valueSets, 'rst');
  const created = [];
  for (const values of valueSets) created.push(await api.createTask(r1, E2E_TEMPLATE, values));
  for (const c of created) assert.equal(c.status, 201, JSON.stringify(c.body));
  const ids = created.map(c => c.body.id);

  await H.waitFor('the first task to run and the others to queue', async () => {
    const statuses = await Promise.all(ids.map(id => api.getTask(r1, id).then(t => t.status)));
    return statuses[0] === 'processing' && statuses[1] === 'open' && statuses[2] === 'open';
  }, { timeoutMs: 30_000 });

  const exit = await r1.stop({ signal: 'SIGTERM' });
  H.record('restart.exit', exit);
  const restartedAt = performance.now();
  await r1.start(); // normal settings again
  const ready = await r1.waitReady();
  H.record('restart.warmStart', ready);

  // The queued tasks: picked up after the restart, complete and correct.
  for (const i of [1, 2]) await checkTask([r1], ids[i], valueSets[i], expected[i]);
  const afterRestart = r1.executedTaskIds({ lastStartOnly: true });
  assert.ok(afterRestart.includes(ids[1]) && afterRestart.includes(ids[2]), 'the queued tasks ran in the restarted process');

  // The interrupted task: recovered (taskRecovery) and finished, or failed with a reason; never stuck.
  const { events, completion } = await api.waitForCompletion([r1], ids[0], { timeoutMs: 90_000 });
  const task = await api.getTask(r1, ids[0]);
  assert.ok(['completed', 'failed'].includes(task.status), `final status, got ${task.status}`);
  assert.ok(events.some(e => e.type === 'recovered'), `a "recovered" event:\n${api.formatEvents(events)}`);
  const outcome = { status: task.status, error: completion.body.error?.message, afterRestartMs: Math.round(performance.now() - restartedAt) };
  if (task.status === 'completed') {
    const { owner, repo } = repoOf(valueSets[0]);
    const bare = gitHost.bareRepo(owner, repo);
    assert.equal(commits(bare).length, 1);
    assert.deepEqual(diffTrees(withoutDeleted(expected[0].tree, templates.copy), readTree(bare)), []);
  } else {
    assert.ok(outcome.error, 'a failed task says why');
  }
  H.record('restart.interruptedTask', outcome);
});
