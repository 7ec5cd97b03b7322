'use strict';
/*
 * The scaffolder's REST API as the Backstage UI and API callers use it: create a task, follow its
 * events (long-poll and the SSE event stream), read actions, dry-run a template.
 */

const { waitFor } = require('./harness');

async function json(res, what) {
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    throw new Error(`${what}: HTTP ${res.status}, not JSON: ${text.slice(0, 300)}`);
  }
  return { status: res.status, body };
}

/**
 * POST /api/scaffolder/v2/tasks; returns { status, body, postedAt } (postedAt = Date.now() before
 * sending). `secrets` reach the template as `${{ secrets.name }}`, never stored in the task's spec.
 */
async function createTask(backend, templateRef, values, secrets) {
  const postedAt = Date.now();
  const res = await backend.fetch('/api/scaffolder/v2/tasks', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(secrets ? { templateRef, values, secrets } : { templateRef, values }),
  });
  return { ...(await json(res, 'POST /v2/tasks')), postedAt };
}

async function getTask(backend, taskId) {
  const { status, body } = await json(await backend.fetch(`/api/scaffolder/v2/tasks/${taskId}`), 'GET task');
  if (status !== 200) throw new Error(`GET /v2/tasks/${taskId}: HTTP ${status} ${JSON.stringify(body)}`);
  return body;
}

/**
 * Follows GET /v2/tasks/<id>/events (long-poll, ?after=) until the `completion` event; returns all
 * events, each also handed to `onEvent` as it arrives. `backends` may list several replicas: the
 * request is retried on the next one if one is down.
 */
async function waitForCompletion(backends, taskId, { timeoutMs = 120_000, onEvent = () => {} } = {}) {
  const list = Array.isArray(backends) ? backends : [backends];
  const events = [];
  let after;
  let turn = 0;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const backend = list[turn % list.length];
    let batch;
    try {
      const q = after === undefined ? '' : `?after=${after}`;
      const res = await backend.fetch(`/api/scaffolder/v2/tasks/${taskId}/events${q}`, { timeoutMs: 40_000 });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      batch = await res.json();
    } catch {
      turn += 1; // that replica is down or restarting: ask another one
      await new Promise(r => setTimeout(r, 200));
      continue;
    }
    for (const event of batch) {
      events.push(event);
      onEvent(event);
      after = event.id;
    }
    const completion = events.find(e => e.type === 'completion');
    if (completion) return { events, completion };
  }
  throw new Error(`task ${taskId} did not complete within ${timeoutMs} ms; events so far:\n${formatEvents(events)}`);
}

/**
 * Reads GET /v2/tasks/<id>/eventstream (server-sent events, what the task page of the UI reads)
 * until the `completion` event. Returns [{ type, data, receivedAt }].
 */
async function readEventStream(backend, taskId, { timeoutMs = 60_000 } = {}) {
  const res = await backend.fetch(`/api/scaffolder/v2/tasks/${taskId}/eventstream`, {
    headers: { accept: 'text/event-stream' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.status !== 200) throw new Error(`eventstream: HTTP ${res.status}`);
  const out = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let sep;
    while ((sep = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, sep);
      buffer = buffer.slice(sep + 2);
      let type = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) type = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (!data.length) continue;
      out.push({ type, data: JSON.parse(data.join('\n')), receivedAt: Date.now() });
      if (type === 'completion') {
        res.body.cancel().catch(() => {});
        return out;
      }
    }
  }
  return out;
}

/** Polls GET /v2/tasks/<id> every `intervalMs` until a final status; returns { task, seenAt }. */
async function pollUntilFinished(backend, taskId, { timeoutMs = 60_000, intervalMs = 20 } = {}) {
  let task;
  await waitFor(
    `task ${taskId} to finish`,
    async () => {
      task = await getTask(backend, taskId);
      return ['completed', 'failed', 'cancelled'].includes(task.status);
    },
    { timeoutMs, intervalMs },
  );
  return { task, seenAt: Date.now() };
}

async function listActions(backend) {
  const { status, body } = await json(await backend.fetch('/api/scaffolder/v2/actions'), 'GET actions');
  if (status !== 200) throw new Error(`GET /v2/actions: HTTP ${status}`);
  return body;
}

async function getEntity(backend, kind, namespace, name) {
  const res = await backend.fetch(`/api/catalog/entities/by-name/${kind}/${namespace}/${name}`);
  if (res.status === 404) return undefined;
  const { status, body } = await json(res, 'GET entity');
  if (status !== 200) throw new Error(`GET entity ${kind}:${namespace}/${name}: HTTP ${status}`);
  return body;
}

/** POST /api/scaffolder/v2/dry-run, as the Template Editor does. */
async function dryRun(backend, template, values, directoryContents = []) {
  const res = await backend.fetch('/api/scaffolder/v2/dry-run', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ template, values, directoryContents }),
    timeoutMs: 60_000,
  });
  return json(res, 'POST /v2/dry-run');
}

function logMessages(events) {
  return events.filter(e => e.type === 'log').map(e => e.body.message ?? '');
}

function formatEvents(events) {
  return events
    .map(e => `  [${e.type}] ${e.body?.stepId ?? ''} ${e.body?.status ?? ''} ${e.body?.message ?? ''}${e.body?.error ? ` ERROR ${JSON.stringify(e.body.error)}` : ''}`)
    .join('\n');
}

module.exports = {
  createTask,
  dryRun,
  formatEvents,
  getEntity,
  getTask,
  listActions,
  logMessages,
  pollUntilFinished,
  readEventStream,
  waitForCompletion,
};
