import {
  BROKEN_SET,
  FIXTURES,
  PACKAGE_ROOT,
  removeDir,
  setWithLinks,
  SLOW_SET,
  TINY_SET,
  USER_SERVICE_VALUES,
} from './__testing__/helpers';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as YAML from 'yaml';
import { isSvcgenError, SvcgenCrashError, SvcgenEngine } from './engine';
import { __testing, SvcgenWorkerEngine } from './worker';

/** Whatever `promise` rejects with (fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  let caught: unknown;
  await promise.then(
    () => assert.fail('expected a rejection'),
    err => {
      caught = err;
    },
  );
  assert.ok(caught instanceof Error, String(caught));
  return caught;
}

/** The fields of an error that callers read, for comparing in-process and worker errors. */
function fieldsOf(err: Error) {
  const { name, message, kind, detail, file, line, problems } = err as Error & Record<string, unknown>;
  return { name, message, kind, detail, file, line, problems };
}

/** Runs `body` while a 5 ms interval ticks on this thread; returns the largest gap between ticks. */
async function withTicker<T>(body: () => Promise<T>): Promise<{ result: T; ms: number; maxGapMs: number; ticks: number }> {
  let last = performance.now();
  let maxGapMs = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    ticks += 1;
  }, 5);
  const started = performance.now();
  try {
    const result = await body();
    const ms = performance.now() - started;
    maxGapMs = Math.max(maxGapMs, performance.now() - last);
    return { result, ms, maxGapMs, ticks };
  } finally {
    clearInterval(timer);
  }
}

describe('render worker', () => {
  const worker = new SvcgenWorkerEngine({ templateDirs: [FIXTURES] });
  const inProcess = new SvcgenEngine({ templateDirs: [FIXTURES] });

  it('renders the same bytes as in process, and transfers the buffer instead of copying it', async () => {
    const story = YAML.parse(await fs.readFile(USER_SERVICE_VALUES, 'utf8'));
    const microservice = await worker.resolveTemplateSet('microservice');
    for (const [dir, values] of [
      [TINY_SET, { serviceName: 'user-service', withScript: true, replicas: 3 }],
      [microservice, story],
    ] as const) {
      const threaded = await worker.render(dir, values);
      assert.equal(await __testing.lastOutputTransferred(), true, 'the worker no longer holds the bytes');
      const local = await inProcess.render(dir, values);
      assert.deepEqual(threaded.files, local.files);
      assert.deepEqual(threaded.validated, local.validated);
      assert.deepEqual(threaded.template, local.template);
      assert.ok(threaded.data instanceof Uint8Array);
      assert.ok(Buffer.from(threaded.data).equals(Buffer.from(local.data)), `${dir}: same bytes`);
    }
  });

  it('hands core errors back with all their fields, as in process', async () => {
    const cyclic: Record<string, unknown> = { serviceName: 'abc' };
    cyclic.self = cyclic;
    for (const [dir, values] of [
      [TINY_SET, { serviceName: 'User_Service', withScript: 'yes', replicas: 11 }],
      [TINY_SET, ['a list']],
      [TINY_SET, undefined],
      [TINY_SET, cyclic],
      [BROKEN_SET, { serviceName: 'a' }],
    ] as const) {
      const threaded = await rejection(worker.render(dir, values));
      const local = await rejection(inProcess.render(dir, values));
      assert.ok(isSvcgenError(threaded), `${threaded.name}: ${threaded.message}`);
      assert.deepEqual(fieldsOf(threaded), fieldsOf(local));
    }
    const validation = await rejection(worker.render(TINY_SET, { serviceName: 'User_Service', replicas: 11 }));
    assert.equal((validation as any).problems.length, 2);
    const broken = await rejection(worker.render(BROKEN_SET, { serviceName: 'a' }));
    assert.deepEqual([(broken as any).kind, (broken as any).file, (broken as any).line], ['template', 'skeleton/README.md.jinja', 3]);
  });

  it('refuses a set linking outside itself with the InputError naming the link', async () => {
    const { root, dir } = await setWithLinks({ 'skeleton/secrets.txt': '/etc/hostname' });
    try {
      const err = await rejection(worker.render(dir, { serviceName: 'abc' }));
      assert.equal(err.name, 'InputError');
      assert.match(err.message, /^svcgen: template set "linked": skeleton\/secrets\.txt is a symbolic link to \/etc\/hostname\b.*outside the set/);
      const { failed } = await new SvcgenWorkerEngine({ templateDirs: [root] }).warmUp();
      assert.deepEqual(failed.map(f => [f.name, f.error.name]), [['linked', 'InputError']]);
      assert.match(failed[0].error.message, /skeleton\/secrets\.txt is a symbolic link to \/etc\/hostname/);
    } finally {
      await removeDir(root);
    }
  });

  it('recovers from a WebAssembly trap in the worker with a fresh instance', async () => {
    await worker.render(TINY_SET, { serviceName: 'abc' });
    assert.equal(await __testing.isCached(TINY_SET), true);
    const generation = await __testing.generation();
    const workers = __testing.workersStarted();
    const err = await rejection(__testing.trap());
    assert.ok(err instanceof SvcgenCrashError, err.name);
    assert.match(err.message, /^svcgen: the WebAssembly core crashed \(unreachable\); it was restarted for the next call$/);
    assert.equal((err.cause as Error).name, 'RuntimeError');
    assert.equal(await __testing.isCached(TINY_SET), false, 'sets compiled by the dead instance are dropped');
    const output = await worker.render(TINY_SET, { serviceName: 'abc' });
    assert.equal(output.files.length, 3);
    assert.equal(await __testing.generation(), generation + 1, 'a fresh instance served the next call');
    assert.equal(__testing.workersStarted(), workers, 'in the same worker');
  });

  it('replaces a worker that dies: the call in flight fails with a SvcgenCrashError, the next ones work', async () => {
    await worker.render(TINY_SET, { serviceName: 'abc' });
    const workers = __testing.workersStarted();
    // Three calls queued at once: before, during and after the worker's death.
    const before = worker.render(TINY_SET, { serviceName: 'before' });
    const crash = rejection(__testing.exit());
    const after = worker.render(TINY_SET, { serviceName: 'after' });
    assert.equal((await before).validated.derived.serviceSnake, 'before');
    const err = await crash;
    assert.ok(err instanceof SvcgenCrashError, err.name);
    assert.match(err.message, /^svcgen: the WebAssembly core crashed \(the render worker exited with code 1\)/);
    assert.equal((await after).validated.derived.serviceSnake, 'after');
    assert.equal(__testing.workersStarted(), workers + 1, 'a fresh worker served the next call');
  });

  it('serves calls in the order they were made', async () => {
    const order: string[] = [];
    const names = ['one', 'two', 'three', 'four', 'five'];
    // "three" fails (a broken set): failures keep their turn too.
    const call = (name: string) =>
      name === 'three' ? rejection(worker.render(BROKEN_SET, { serviceName: name })) : worker.render(TINY_SET, { serviceName: name });
    await Promise.all(names.map(name => call(name).then(() => order.push(name))));
    assert.deepEqual(order, names);
  });

  it('keeps the main thread answering while a slow set renders; in process it would not', async () => {
    await worker.render(TINY_SET, { serviceName: 'abc' }); // the worker is up
    const threaded = await withTicker(() => rejection(worker.render(SLOW_SET, {})));
    const local = await withTicker(() => rejection(inProcess.render(SLOW_SET, {})));
    for (const { result } of [threaded, local]) {
      assert.ok(isSvcgenError(result), `${result.name}: ${result.message}`);
      assert.match(result.message, /fuel/, 'the core stopped the render at its fuel limit');
    }
    const report = (r: typeof threaded) => `render ${Math.round(r.ms)} ms, longest gap ${Math.round(r.maxGapMs)} ms, ${r.ticks} ticks`;
    console.log(`# in the worker: ${report(threaded)}; in process: ${report(local)}`);
    // Ratios, not absolute times: the worker's render leaves the timers running, the in-process one stops them.
    assert.ok(threaded.maxGapMs < threaded.ms / 10, `worker: ${report(threaded)}`);
    assert.ok(local.maxGapMs > local.ms / 2, `in process: ${report(local)}`);
  });

  it('never keeps a process alive once idle', async () => {
    const script = `
      const { SvcgenWorkerEngine } = require(${JSON.stringify(path.join(__dirname, 'worker.js'))});
      new SvcgenWorkerEngine().render(${JSON.stringify(TINY_SET)}, { serviceName: 'abc' })
        .then(output => console.log(output.files.length));`;
    const result = await new Promise<{ code: number | null; signal: string | null; stdout: string }>(resolve => {
      const child = execFile(process.execPath, ['-e', script], { cwd: PACKAGE_ROOT, timeout: 60_000 }, (_err, stdout) =>
        resolve({ code: child.exitCode, signal: child.signalCode, stdout }),
      );
    });
    assert.deepEqual(result, { code: 0, signal: null, stdout: '3\n' }, 'the script ended by itself after its render');
  });
});
