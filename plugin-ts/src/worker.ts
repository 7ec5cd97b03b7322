/*
 * The render worker: renders (and the module's warm-up) run in a worker thread, so that a slow
 * template set never stops the backend's main thread from answering requests. Plumbing only: the
 * worker runs the in-process engine of engine.ts, which keeps its caches and trap recovery there.
 *
 * - One worker per process, started by the first call and shared by every engine; unref()'d while
 *   idle, so it never keeps a process alive (a call in flight does, like any pending I/O).
 * - Calls are queued in order; one is in the worker at a time.
 * - A WebAssembly trap in the worker fails that call with a `SvcgenCrashError` and a fresh instance
 *   serves the next one (engine.ts, inside the worker). Should the worker itself die, the call in
 *   flight fails with a `SvcgenCrashError` and the next call starts a fresh worker.
 * - Errors cross back with their fields (a `SvcgenError`'s kind, detail, file, line, problems), as
 *   the class the caller checks for (`InputError`, `SvcgenCrashError`).
 * - The output's byte buffer is transferred, not copied (an update's too).
 */

import * as path from 'node:path';
import { isMainThread, type MessagePort, parentPort, Worker, workerData } from 'node:worker_threads';
import { InputError } from '@backstage/errors';
import {
  __testing as engineTesting,
  type Extends,
  type Output,
  type RepoIndex,
  SvcgenCrashError,
  SvcgenEngine,
  type SvcgenEngineOptions,
  type TemplateChain,
  type Update,
} from './engine';

/** Values cross as JSON text (what the core reads them as), else as they are for the core to refuse. */
type WireValues = { json: string } | { raw: unknown };

type TestingHook = 'trap' | 'generation' | 'isCached' | 'lastOutputTransferred' | 'exit';

type Request =
  | { op: 'render'; chain: TemplateChain; values: WireValues }
  | { op: 'checkVersion'; chain: TemplateChain; range: string }
  | {
      op: 'update';
      from: TemplateChain;
      to: TemplateChain;
      oldValues: WireValues;
      newValues: WireValues;
      index: RepoIndex[];
      data: Uint8Array;
    }
  | { op: 'readExtends'; dir: string }
  | { op: 'warmUp'; templateDirs: string[] }
  | { op: 'testing'; hook: TestingHook; args: string[] };

interface WireError {
  name: string;
  message: string;
  stack?: string;
  props: Record<string, unknown>;
  cause?: WireError;
}

type Response = { ok: true; result: unknown } | { ok: false; error: WireError };

type WarmUpResult = Awaited<ReturnType<SvcgenEngine['warmUp']>>;

/** The fields kept when an error crosses: the core's, and Node's system errors'. */
const ERROR_FIELDS = ['kind', 'detail', 'file', 'line', 'problems', 'code', 'errno', 'syscall', 'path'];

function toWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), props: {} };
  const props: Record<string, unknown> = {};
  for (const key of ERROR_FIELDS) {
    const value = (err as unknown as Record<string, unknown>)[key];
    if (value !== undefined) props[key] = value;
  }
  const cause = err.cause === undefined ? undefined : toWire(err.cause);
  return { name: err.name, message: err.message, stack: err.stack, props, cause };
}

function fromWire(wire: WireError): Error {
  const cause = wire.cause && fromWire(wire.cause);
  let err: Error;
  if (wire.name === 'SvcgenCrashError') {
    err = new SvcgenCrashError(cause);
  } else if (wire.name === 'InputError') {
    err = new InputError(wire.message);
  } else {
    err = new Error(wire.message);
    err.name = wire.name;
  }
  err.message = wire.message;
  Object.assign(err, wire.props);
  if (cause) err.cause = cause;
  if (wire.stack) err.stack = wire.stack;
  return err;
}

// ---------------------------------------------------------------------------------------------
// The main thread's side

interface Call {
  request: Request;
  resolve(result: unknown): void;
  reject(err: Error): void;
}

let worker: Worker | undefined;
let workersStarted = 0;
let inFlight: Call | undefined;
const queue: Call[] = [];

function startWorker(): Worker {
  const started = new Worker(__filename, { workerData: { svcgenRenderWorker: true } });
  workersStarted += 1;
  let failure: Error | undefined;
  started.on('message', (response: Response) => {
    const call = inFlight;
    if (started !== worker || !call) return;
    inFlight = undefined;
    if (response.ok) call.resolve(response.result);
    else call.reject(fromWire(response.error));
    next();
  });
  started.on('messageerror', err => {
    failure = err;
    void started.terminate();
  });
  started.on('error', err => {
    failure = err;
  });
  started.on('exit', code => {
    if (started !== worker) return;
    worker = undefined;
    const call = inFlight;
    inFlight = undefined;
    call?.reject(new SvcgenCrashError(failure ?? new Error(`the render worker exited with code ${code}`)));
    next();
  });
  return started;
}

/** Sends the next queued call to the worker, if none is in flight. */
function next(): void {
  if (inFlight) return;
  const call = queue.shift();
  if (!call) {
    worker?.unref();
    return;
  }
  try {
    worker ??= startWorker();
    worker.ref();
    worker.postMessage(call.request);
    inFlight = call;
  } catch (err) {
    // No worker could start, or values that cannot be cloned: nothing reached the worker.
    call.reject(err instanceof Error ? err : new Error(String(err)));
    next();
  }
}

function callWorker<T>(request: Request): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    queue.push({ request, resolve: resolve as (result: unknown) => void, reject });
    next();
  });
}

/** The last call's turn: calls reach the worker in the order they were made. */
let lastTurn: Promise<unknown> = Promise.resolve();

/**
 * Sends a request once every earlier call has been sent. Each call finds its set first (reading
 * folders, asking the worker what manifests extend), which takes longer for some than others; the
 * turn keeps the order of the calls, not of their lookups.
 */
function callInOrder<T>(request: Promise<Request>): Promise<T> {
  // A lookup may fail before its turn comes: handled now (the turn rejects with it), never unhandled.
  request.catch(() => undefined);
  const turn = lastTurn.then(() => request);
  lastTurn = turn.catch(() => undefined);
  return turn.then(ready => callWorker<T>(ready));
}

function toWireValues(values: unknown): WireValues {
  try {
    const json = JSON.stringify(values);
    if (json !== undefined) return { json };
  } catch {
    // Cyclic, or a BigInt: the core reports it, with the same message as in process.
  }
  return { raw: values };
}

/**
 * A {@link SvcgenEngine} whose renders and warm-up run in the process's render worker; finding
 * sets (`listTemplateSets`, `resolveTemplateSet`, `resolveChain`) stays on the calling thread,
 * which asks the worker's core only what each manifest extends.
 */
export class SvcgenWorkerEngine extends SvcgenEngine {
  private readonly templateDirs: string[];

  constructor(options: SvcgenEngineOptions = {}) {
    super(options);
    this.templateDirs = this.searchDirs.slice(0, -1);
  }

  override render(set: string | TemplateChain, values: unknown): Promise<Output> {
    const wire = toWireValues(values);
    return callInOrder<Output>(this.chainOf(set).then(chain => ({ op: 'render', chain, values: wire })));
  }

  override checkVersion(set: string | TemplateChain, range: string): Promise<void> {
    return callInOrder<void>(this.chainOf(set).then(chain => ({ op: 'checkVersion', chain, range })));
  }

  protected override async runUpdate(
    from: TemplateChain,
    to: TemplateChain,
    oldValues: unknown,
    newValues: unknown,
    index: RepoIndex[],
    data: Uint8Array,
  ): Promise<Update> {
    const wire = { oldValues: toWireValues(oldValues), newValues: toWireValues(newValues) };
    const chains = Promise.all([this.chainOf(from), this.chainOf(to)]);
    return callInOrder<Update>(chains.then(([f, t]) => ({ op: 'update', from: f, to: t, ...wire, index, data })));
  }

  override readExtends(dir: string): Promise<Extends | undefined> {
    return callWorker<Extends | undefined>({ op: 'readExtends', dir: path.resolve(dir) });
  }

  private async chainOf(set: string | TemplateChain): Promise<TemplateChain> {
    const chain = typeof set === 'string' ? await this.resolveChain(path.resolve(set), { allowPath: true }) : set;
    return { dirs: chain.dirs.map(dir => path.resolve(dir)), sources: chain.sources };
  }

  override async warmUp(): Promise<WarmUpResult> {
    const { compiled, failed } = await callWorker<{ compiled: string[]; failed: { name: string; error: WireError }[] }>({
      op: 'warmUp',
      templateDirs: this.templateDirs,
    });
    return { compiled, failed: failed.map(({ name, error }) => ({ name, error: fromWire(error) })) };
  }
}

/** Test hooks, run in the worker through the queue; not part of the package's public API. */
export const __testing = {
  /** Executes a trap in the worker's instance (rejects with the `SvcgenCrashError`). */
  trap: () => callWorker<void>({ op: 'testing', hook: 'trap', args: [] }),
  /** The worker's instance generation (see engine.ts). */
  generation: () => callWorker<number>({ op: 'testing', hook: 'generation', args: [] }),
  /** Whether the set in `dir` is compiled and cached in the worker. */
  isCached: (dir: string) => callWorker<boolean>({ op: 'testing', hook: 'isCached', args: [path.resolve(dir)] }),
  /** Whether the last render's byte buffer was transferred (detached in the worker), not copied. */
  lastOutputTransferred: () => callWorker<boolean>({ op: 'testing', hook: 'lastOutputTransferred', args: [] }),
  /** Ends the worker thread in the middle of a call, as a crash would. */
  exit: () => callWorker<never>({ op: 'testing', hook: 'exit', args: [] }),
  /** How many workers this process started. */
  workersStarted: () => workersStarted,
};

// ---------------------------------------------------------------------------------------------
// The worker's side

/** The in-process engine, with its packed update callable from the worker's side. */
class UpdatingEngine extends SvcgenEngine {
  override runUpdate(...args: Parameters<SvcgenEngine['runUpdate']>): Promise<Update> {
    return super.runUpdate(...args);
  }
}

function serve(port: MessagePort): void {
  let lastOutput: Output | undefined;

  async function handle(request: Request): Promise<{ result: unknown; transfer: ArrayBuffer[] }> {
    switch (request.op) {
      case 'render': {
        const values = 'json' in request.values ? JSON.parse(request.values.json) : request.values.raw;
        const output = await new SvcgenEngine().render(request.chain, values);
        // The binding returns the bytes in a buffer of their own; copy only should that change.
        const { data } = output;
        if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) output.data = data.slice();
        lastOutput = output;
        return { result: output, transfer: [output.data.buffer as ArrayBuffer] };
      }
      case 'update': {
        const values = (wire: WireValues) => ('json' in wire ? JSON.parse(wire.json) : wire.raw);
        const update = await new UpdatingEngine().runUpdate(
          request.from,
          request.to,
          values(request.oldValues),
          values(request.newValues),
          request.index,
          request.data,
        );
        const { data } = update;
        if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) update.data = data.slice();
        return { result: update, transfer: [update.data.buffer as ArrayBuffer] };
      }
      case 'checkVersion':
        return { result: await new SvcgenEngine().checkVersion(request.chain, request.range), transfer: [] };
      case 'readExtends':
        return { result: await new SvcgenEngine().readExtends(request.dir), transfer: [] };
      case 'warmUp': {
        const { compiled, failed } = await new SvcgenEngine({ templateDirs: request.templateDirs }).warmUp();
        return { result: { compiled, failed: failed.map(({ name, error }) => ({ name, error: toWire(error) })) }, transfer: [] };
      }
      case 'testing': {
        const hooks: Record<TestingHook, () => unknown> = {
          trap: () => engineTesting.trap(),
          generation: () => engineTesting.generation(),
          isCached: () => engineTesting.isCached(request.args[0]),
          lastOutputTransferred: () => lastOutput?.data.byteLength === 0,
          exit: () => process.exit(1),
        };
        return { result: hooks[request.hook](), transfer: [] };
      }
    }
  }

  port.on('message', async (request: Request) => {
    let response: Response;
    let transfer: ArrayBuffer[] = [];
    try {
      let result;
      ({ result, transfer } = await handle(request));
      response = { ok: true, result };
    } catch (err) {
      response = { ok: false, error: toWire(err) };
    }
    try {
      port.postMessage(response, transfer);
    } catch (err) {
      port.postMessage({ ok: false, error: toWire(err) } satisfies Response);
    }
  });
}

if (!isMainThread && parentPort && (workerData as { svcgenRenderWorker?: boolean } | null)?.svcgenRenderWorker) {
  serve(parentPort);
}
