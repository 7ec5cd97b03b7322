'use strict';
/* Prints the measurements the e2e test files recorded (tests/e2e/run.sh calls it). */

const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2];
const files = dir && fs.existsSync(dir) ? fs.readdirSync(dir).filter(f => f.endsWith('.json')).sort() : [];
if (!files.length) {
  console.log('e2e measurements: none recorded');
  process.exit(0);
}

const byNode = new Map();
for (const f of files) {
  const data = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  byNode.set(data.node, { ...(byNode.get(data.node) ?? {}), ...data });
}

const ms = v => (v === undefined ? '-' : `${v} ms`);
console.log('e2e measurements (ms; one machine, everything on loopback)');
for (const [node, m] of byNode) {
  console.log(`  Node ${node}`);
  const lines = [];
  if (m['coldStart.sqlite']) {
    const c = m['coldStart.sqlite'];
    lines.push(`cold start, SQLite: scaffolder answers ${ms(c.scaffolderMs)}, template in catalog ${ms(c.catalogMs)}`);
  }
  if (m['singleTask.sqlite.postToCompletedMs'] !== undefined) {
    lines.push(`one task (story values), POST to completed: ${ms(m['singleTask.sqlite.postToCompletedMs'])}`);
  }
  const dry = ['github', 'gitlab', 'default'].map(k => m[`dryRun.${k}.ms`]).filter(v => v !== undefined);
  if (dry.length) lines.push(`dry-run of the real template: ${dry.map(ms).join(', ')}`);
  const slow = m['slowRender.actionsWhileRendering'];
  if (slow) {
    lines.push(
      `GET /v2/actions while a task renders a slow set (${ms(slow.renderMs)}): ${slow.answeredDuringRender} answered during the render, ` +
        `latency median ${ms(slow.latencyMs.median)}, max ${ms(slow.latencyMs.max)}`,
    );
  }
  if (m['postgres.startMs'] !== undefined) lines.push(`PostgreSQL initdb + start: ${ms(m['postgres.startMs'])}`);
  for (const k of ['firstReplica', 'secondReplica']) {
    const c = m[`coldStart.postgres.${k}`];
    if (c) lines.push(`cold start, PostgreSQL, ${k}: scaffolder ${ms(c.scaffolderMs)}, template in catalog ${ms(c.catalogMs)}`);
  }
  const r = m['replicas.twentyTasks'];
  if (r) {
    lines.push(
      `${r.tasks} tasks at once over 2 replicas: wall ${ms(r.wallMs)}, per task median ${ms(r.latencyMs.median)}, ` +
        `max ${ms(r.latencyMs.max)}, min ${ms(r.latencyMs.min)} (run by replica-1: ${r.executedBy['replica-1']}, replica-2: ${r.executedBy['replica-2']})`,
    );
  }
  if (m['restart.warmStart']) lines.push(`restart: back up in ${ms(m['restart.warmStart'].scaffolderMs)}`);
  if (m['restart.interruptedTask']) {
    const t = m['restart.interruptedTask'];
    lines.push(`task interrupted by the restart: ${t.status}${t.error ? ` (${t.error})` : ''}, ${ms(t.afterRestartMs)} after the restart`);
  }
  if (m['setFromGit.firstTaskMs'] !== undefined) {
    lines.push(
      `template set from git, POST to end: first read ${ms(m['setFromGit.firstTaskMs'])}, new tag ${ms(m['setFromGit.newVersionTaskMs'])}, ` +
        `same tag again (cached) ${ms(m['setFromGit.cachedTaskMs'])}`,
    );
  }
  for (const line of lines) console.log(`    ${line}`);
}
