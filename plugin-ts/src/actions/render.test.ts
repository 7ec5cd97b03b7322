import {
  FIXTURES,
  readTree,
  recordingLogger,
  removeDir,
  setWithLinks,
  tempDir,
  TINY_SET,
  USER_SERVICE_VALUES,
} from '../__testing__/helpers';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import * as YAML from 'yaml';
import { splitOutput, SvcgenCrashError, SvcgenEngine } from '../engine';
import { __testing } from '../worker';
import { createSvcgenRenderAction } from './render';

const action = createSvcgenRenderAction({ templateDirs: [FIXTURES] });

type Input = { templateSet?: string; values?: unknown; targetPath?: string };

function context(workspacePath: string, input: Input, extra: { isDryRun?: boolean } = {}) {
  const logger = recordingLogger();
  const ctx = createMockActionContext({ workspacePath, logger, input: input as any });
  const outputs = new Map<string, unknown>();
  ctx.output = (name: string, value: unknown) => void outputs.set(name, value);
  Object.assign(ctx, extra);
  return { ctx, logger, outputs };
}

/** What the engine renders for these values, as a path → {contents, executable} map. */
async function expectedFiles(setDir: string, values: unknown) {
  const output = await new SvcgenEngine().render(setDir, values);
  return new Map(
    splitOutput(output).map(f => [f.path, { contents: Buffer.from(f.contents), executable: f.executable }]),
  );
}

async function rejectsWith(promise: Promise<unknown>, name: string): Promise<Error> {
  let caught: unknown;
  await promise.catch(err => {
    caught = err;
  });
  assert.ok(caught instanceof Error, `expected a rejection with ${name}`);
  assert.equal(caught.name, name, caught.message);
  return caught;
}

describe('svcgen:render', () => {
  let workspace: string;
  const dirs: string[] = [];
  beforeEach(async () => {
    workspace = await tempDir();
    dirs.push(workspace);
  });
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map(removeDir));
  });

  it('describes itself with a zod-derived schema and supports dry runs', () => {
    assert.equal(action.id, 'svcgen:render');
    assert.equal(action.supportsDryRun, true);
    const input = action.schema?.input as { properties: Record<string, unknown>; required?: string[] };
    assert.deepEqual(Object.keys(input.properties).sort(), ['targetPath', 'templateSet', 'values']);
    assert.deepEqual(input.required, ['values']);
    const output = action.schema?.output as { properties: Record<string, unknown> };
    assert.deepEqual(Object.keys(output.properties).sort(), ['derived', 'files', 'templateSet', 'templateVersion']);
  });

  it('writes exactly the rendered files, keeps the executable bit and sets the outputs', async () => {
    const values = { serviceName: 'user-service', withScript: true, replicas: 3 };
    const { ctx, logger, outputs } = context(workspace, { templateSet: 'tiny', values });
    await action.handler(ctx);

    const written = await readTree(workspace);
    const expected = await expectedFiles(TINY_SET, values);
    assert.deepEqual([...written.keys()], ['README.md', 'run.sh', 'user_service/__init__.py']);
    assert.deepEqual(written, expected);
    assert.equal(written.get('run.sh')?.executable, true);
    assert.equal(written.get('README.md')?.executable, false);
    assert.equal(written.get('README.md')?.contents.toString(), '# user-service (user_service)\n\nreplicas: 3\n');
    // Files without the template suffix are copied byte for byte, braces included.
    assert.match(written.get('run.sh')!.contents.toString(), /\{\{ not rendered \}\}/);

    assert.deepEqual(outputs.get('files'), ['README.md', 'run.sh', 'user_service/__init__.py']);
    assert.deepEqual(outputs.get('derived'), { serviceSnake: 'user_service' });
    assert.equal(outputs.get('templateSet'), 'tiny');
    assert.equal(outputs.get('templateVersion'), '1.0.0');

    assert.equal(logger.lines[0], 'svcgen: validated values for tiny@1.0.0');
    assert.equal(logger.lines[1], 'svcgen: planned 3 files');
    assert.match(logger.lines[2], /^svcgen: wrote 3 files \(0\.1 KiB\) to \.\/ in \d+ ms$/);
  });

  it('applies the manifest defaults and leaves out conditional files', async () => {
    const { ctx } = context(workspace, { templateSet: 'tiny', values: { serviceName: 'orders' } });
    await action.handler(ctx);
    const written = await readTree(workspace);
    assert.deepEqual([...written.keys()], ['README.md', 'orders/__init__.py']);
    assert.equal(written.get('README.md')?.contents.toString(), '# orders (orders)\n\nreplicas: 1\n');
  });

  it('writes into targetPath and reports paths relative to the workspace', async () => {
    const { ctx, logger, outputs } = context(workspace, {
      templateSet: 'tiny',
      targetPath: 'services/orders',
      values: { serviceName: 'orders' },
    });
    await action.handler(ctx);
    assert.deepEqual([...(await readTree(workspace)).keys()], ['services/orders/README.md', 'services/orders/orders/__init__.py']);
    assert.deepEqual(outputs.get('files'), ['services/orders/README.md', 'services/orders/orders/__init__.py']);
    assert.match(logger.lines[2], / to \.\/services\/orders in /);
  });

  it('overwrites existing files and corrects their mode', async () => {
    await fs.writeFile(path.join(workspace, 'run.sh'), 'old', { mode: 0o600 });
    const { ctx } = context(workspace, { templateSet: 'tiny', values: { serviceName: 'a', withScript: true } });
    await action.handler(ctx);
    const stat = await fs.stat(path.join(workspace, 'run.sh'));
    assert.equal(stat.mode & 0o777, 0o755);
    assert.match(await fs.readFile(path.join(workspace, 'run.sh'), 'utf8'), /^#!\/bin\/sh/);
  });

  it('reports every problem in one InputError and writes nothing', async () => {
    const { ctx, outputs } = context(workspace, {
      templateSet: 'tiny',
      values: { serviceName: 'User_Service', withScript: 'yes', replicas: 11, colour: 'blue' },
    });
    const err = await rejectsWith(action.handler(ctx), 'InputError');
    assert.match(err.message, /invalid values: 4 problems/);
    assert.match(err.message, /- serviceName: "User_Service" must be kebab-case/);
    assert.match(err.message, /- withScript: expected a boolean, got the string "yes"/);
    assert.match(err.message, /- replicas: 11 is more than the maximum of 10/);
    assert.match(err.message, /- colour: is not a parameter of this template/);
    assert.deepEqual(await fs.readdir(workspace), []);
    assert.equal(outputs.size, 0);
  });

  it('refuses values that are not an object', async () => {
    for (const values of [['user-service'], 'user-service', null, undefined]) {
      const { ctx } = context(workspace, { templateSet: 'tiny', values });
      const err = await rejectsWith(action.handler(ctx), 'InputError');
      const expected = values == null ? /values: are missing; expected an object/ : /values: must be an object of parameter values/;
      assert.match(err.message, expected);
      // The problems are listed once, not repeated through the error's cause.
      assert.equal(err.message.split('- values:').length, 2);
    }
    assert.deepEqual(await fs.readdir(workspace), []);
  });

  it('names the unknown template set and the available ones', async () => {
    const { ctx } = context(workspace, { templateSet: 'nope', values: { serviceName: 'a' } });
    const err = await rejectsWith(action.handler(ctx), 'InputError');
    assert.match(err.message, /unknown template set "nope"/);
    assert.match(err.message, /available: .*\btiny\b/);
    assert.match(err.message, /\bmicroservice\b/);
    assert.deepEqual(await fs.readdir(workspace), []);
  });

  it('refuses template set names that are paths', async () => {
    for (const templateSet of ['../tiny', 'tiny/skeleton', '/etc', '']) {
      const { ctx } = context(workspace, { templateSet, values: { serviceName: 'a' } });
      const err = await rejectsWith(action.handler(ctx), 'InputError');
      assert.match(err.message, /is not valid/);
    }
  });

  it('refuses a targetPath outside the workspace, symbolic links included', async () => {
    const outside = await tempDir('svcgen-outside-');
    dirs.push(outside);
    await fs.symlink(outside, path.join(workspace, 'link'));
    for (const targetPath of ['../escape', '/tmp/svcgen-escape', 'a/../../escape', 'link', 'link/sub']) {
      const { ctx } = context(workspace, { templateSet: 'tiny', targetPath, values: { serviceName: 'a' } });
      const err = await rejectsWith(action.handler(ctx), 'InputError');
      assert.match(err.message, /is outside the workspace/);
    }
    assert.deepEqual(await fs.readdir(workspace), ['link']);
    assert.deepEqual(await fs.readdir(outside), []);
    await assert.rejects(fs.access(path.join(path.dirname(workspace), 'escape')));
  });

  it('writes the same files in a dry run', async () => {
    const values = { serviceName: 'user-service', withScript: true };
    const real = context(workspace, { templateSet: 'tiny', values });
    await action.handler(real.ctx);

    const dryWorkspace = await tempDir();
    dirs.push(dryWorkspace);
    const dry = context(dryWorkspace, { templateSet: 'tiny', values }, { isDryRun: true });
    await action.handler(dry.ctx);

    const dryFiles = await readTree(dryWorkspace);
    assert.equal(dryFiles.size, 3);
    assert.deepEqual(dryFiles, await readTree(workspace));
    assert.deepEqual(dry.outputs, real.outputs);
    assert.match(dry.logger.lines[2], /\(dry run\)$/);
  });

  it('fails on a broken template with its file and line, not as an input error', async () => {
    const { ctx } = context(workspace, { templateSet: 'broken', values: { serviceName: 'a' } });
    const err = await rejectsWith(action.handler(ctx), 'SvcgenError');
    assert.match(err.message, /^template error: syntax error: .* \(in skeleton\/README\.md\.jinja:3\)$/);
    assert.deepEqual(await fs.readdir(workspace), []);
  });

  it('refuses output paths that values would push outside the target, writing nothing', async () => {
    const outside = path.join(path.dirname(workspace), 'evil.txt');
    for (const fileName of ['../evil', '/tmp/evil', 'a/../../evil']) {
      const { ctx } = context(workspace, { templateSet: 'unsafe', targetPath: 'sub', values: { fileName } });
      const err = await rejectsWith(action.handler(ctx), 'SvcgenError');
      assert.equal((err as any).kind, 'path');
      assert.match(err.message, /^unsafe output path: /);
    }
    assert.deepEqual(await fs.readdir(workspace), []);
    await assert.rejects(fs.access(outside));
  });

  it('recovers from a WebAssembly trap in the render worker with a fresh instance', async () => {
    const values = { serviceName: 'user-service', withScript: true };
    await action.handler(context(workspace, { templateSet: 'tiny', values }).ctx);
    const before = await __testing.generation();
    assert.equal(await __testing.isCached(TINY_SET), true);

    await assert.rejects(__testing.trap(), (err: unknown) => {
      assert.ok(err instanceof SvcgenCrashError);
      assert.match(err.message, /WebAssembly core crashed \(unreachable\)/);
      assert.equal((err.cause as Error).name, 'RuntimeError');
      return true;
    });
    assert.equal(await __testing.isCached(TINY_SET), false, 'sets compiled by the dead instance are dropped');

    const again = await tempDir();
    dirs.push(again);
    const { ctx, outputs } = context(again, { templateSet: 'tiny', values });
    await action.handler(ctx);
    assert.equal(await __testing.generation(), before + 1, 'a fresh instance served the next call');
    assert.deepEqual(await readTree(again), await readTree(workspace));
    assert.equal(outputs.get('templateVersion'), '1.0.0');
  });

  it('refuses a template set with a symbolic link out of the set, writing nothing', async () => {
    const outside = await tempDir('svcgen-outside-');
    dirs.push(outside);
    const secretFile = path.join(outside, 'token');
    await fs.writeFile(secretFile, 'ghp_not-a-real-token');
    const { root } = await setWithLinks({ 'skeleton/secrets.txt': secretFile });
    dirs.push(root);
    const linking = createSvcgenRenderAction({ templateDirs: [root] });
    const { ctx, outputs } = context(workspace, { templateSet: 'linked', values: { serviceName: 'a' } });
    const err = await rejectsWith(linking.handler(ctx), 'InputError');
    assert.equal(
      err.message,
      `svcgen: template set "linked": skeleton/secrets.txt is a symbolic link to ${secretFile}, a location outside the set; template sets may only link inside themselves`,
    );
    assert.deepEqual(await fs.readdir(workspace), []);
    assert.equal(outputs.size, 0);
  });

  it('renders the built-in microservice set by default', async () => {
    const values = YAML.parse(await fs.readFile(USER_SERVICE_VALUES, 'utf8'));
    const { ctx, outputs } = context(workspace, { values });
    await action.handler(ctx);
    assert.equal(outputs.get('templateSet'), 'microservice');
    const files = outputs.get('files') as string[];
    assert.ok(files.includes('catalog-info.yaml'), files.join(', '));
    const catalogInfo = await fs.readFile(path.join(workspace, 'catalog-info.yaml'), 'utf8');
    assert.match(catalogInfo, /user-service/);
    assert.equal((outputs.get('derived') as Record<string, unknown>).serviceSnake, 'user_service');
  });
});

