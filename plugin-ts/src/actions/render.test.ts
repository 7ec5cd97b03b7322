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
import { FakeTreeReader } from '../__testing__/urlReader';
import * as YAML from 'yaml';
import { splitOutput, SvcgenCrashError, SvcgenEngine } from '../engine';
import { __testing } from '../worker';
import { createSvcgenRenderAction } from './render';

const action = createSvcgenRenderAction({ templateDirs: [FIXTURES] });

type Input = { templateSet?: string; templateVersion?: string; values?: unknown; targetPath?: string };

function context(workspacePath: string, input: Input, extra: { isDryRun?: boolean } = {}) {
  const logger = recordingLogger();
  const ctx = createMockActionContext({ workspacePath, logger, input: input as any });
  const outputs = new Map<string, unknown>();
  ctx.output = (name: string, value: unknown) => void outputs.set(name, value);
  Object.assign(ctx, extra);
  return { ctx, logger, outputs };
}

const ANSWERS = '.svcgen/answers.yaml';

/**
 * What the engine renders for these values, as a path → {contents, executable} map; without the
 * answers file, which records where the set was read (compare it with {@link withoutAnswers}).
 */
async function expectedFiles(setDir: string, values: unknown) {
  const output = await new SvcgenEngine().render(setDir, values);
  return withoutAnswers(
    new Map(splitOutput(output).map(f => [f.path, { contents: Buffer.from(f.contents), executable: f.executable }])),
  );
}

function withoutAnswers<T>(tree: Map<string, T>): Map<string, T> {
  return new Map([...tree].filter(([p]) => p !== ANSWERS && !p.endsWith(`/${ANSWERS}`)));
}

/** The answers file the action wrote at the workspace root. */
async function answersIn(workspace: string): Promise<any> {
  return YAML.parse(await fs.readFile(path.join(workspace, ANSWERS), 'utf8'));
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
    assert.deepEqual(Object.keys(input.properties).sort(), ['targetPath', 'templateSet', 'templateVersion', 'values']);
    assert.deepEqual(input.required, ['values']);
    const output = action.schema?.output as { properties: Record<string, unknown> };
    assert.deepEqual(Object.keys(output.properties).sort(), [
      'derived',
      'files',
      'templateLayers',
      'templateSet',
      'templateSource',
      'templateVersion',
    ]);
  });

  it('writes exactly the rendered files, keeps the executable bit and sets the outputs', async () => {
    const values = { serviceName: 'user-service', withScript: true, replicas: 3 };
    const { ctx, logger, outputs } = context(workspace, { templateSet: 'tiny', values });
    await action.handler(ctx);

    const written = await readTree(workspace);
    const expected = await expectedFiles(TINY_SET, values);
    assert.deepEqual([...written.keys()], [ANSWERS, 'README.md', 'run.sh', 'user_service/__init__.py']);
    assert.deepEqual(withoutAnswers(written), expected);
    const answers = await answersIn(workspace);
    assert.deepEqual(answers.template, { name: 'tiny', version: '1.0.0', layers: [{ name: 'tiny', version: '1.0.0', source: 'tiny' }] });
    assert.deepEqual(answers.values, { serviceName: 'user-service', withScript: true, replicas: 3 });
    assert.equal(written.get('run.sh')?.executable, true);
    assert.equal(written.get('README.md')?.executable, false);
    assert.equal(written.get('README.md')?.contents.toString(), '# user-service (user_service)\n\nreplicas: 3\n');
    // Files without the template suffix are copied byte for byte, braces included.
    assert.match(written.get('run.sh')!.contents.toString(), /\{\{ not rendered \}\}/);

    assert.deepEqual(outputs.get('files'), [ANSWERS, 'README.md', 'run.sh', 'user_service/__init__.py']);
    assert.deepEqual(outputs.get('derived'), { serviceSnake: 'user_service' });
    assert.equal(outputs.get('templateSet'), 'tiny');
    assert.equal(outputs.get('templateVersion'), '1.0.0');
    assert.equal(outputs.get('templateSource'), 'tiny');
    assert.deepEqual(outputs.get('templateLayers'), [{ name: 'tiny', version: '1.0.0', source: 'tiny' }]);

    assert.equal(logger.lines[0], `svcgen: validated values for tiny@1.0.0 from tiny`);
    assert.equal(logger.lines[1], 'svcgen: planned 4 files');
    assert.match(logger.lines[2], /^svcgen: wrote 4 files \(\d+\.\d KiB\) to \.\/ in \d+ ms$/);
  });

  it('applies the manifest defaults and leaves out conditional files', async () => {
    const { ctx } = context(workspace, { templateSet: 'tiny', values: { serviceName: 'orders' } });
    await action.handler(ctx);
    const written = await readTree(workspace);
    assert.deepEqual([...written.keys()], [ANSWERS, 'README.md', 'orders/__init__.py']);
    assert.equal(written.get('README.md')?.contents.toString(), '# orders (orders)\n\nreplicas: 1\n');
  });

  it('writes into targetPath and reports paths relative to the workspace', async () => {
    const { ctx, logger, outputs } = context(workspace, {
      templateSet: 'tiny',
      targetPath: 'services/orders',
      values: { serviceName: 'orders' },
    });
    await action.handler(ctx);
    const files = [`services/orders/${ANSWERS}`, 'services/orders/README.md', 'services/orders/orders/__init__.py'];
    assert.deepEqual([...(await readTree(workspace)).keys()], files);
    assert.deepEqual(outputs.get('files'), files);
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
    assert.equal(dryFiles.size, 4);
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
    assert.equal(outputs.get('templateSource'), 'microservice');
    const catalogInfo = await fs.readFile(path.join(workspace, 'catalog-info.yaml'), 'utf8');
    assert.match(catalogInfo, /user-service/);
    assert.equal((outputs.get('derived') as Record<string, unknown>).serviceSnake, 'user_service');
  });

  describe('templateVersion', () => {
    for (const templateVersion of ['1.0.0', '^1.0.0', '>=0.9.0 <2.0.0', '1.x', '', '  ']) {
      it(`accepts tiny@1.0.0 for ${JSON.stringify(templateVersion)}`, async () => {
        const { ctx, outputs } = context(workspace, { templateSet: 'tiny', templateVersion, values: { serviceName: 'a' } });
        await action.handler(ctx);
        assert.equal(outputs.get('templateVersion'), '1.0.0');
      });
    }

    it('fails with an InputError naming the version and the range, writing nothing', async () => {
      for (const templateVersion of ['^1.1.0', '<1.0.0', '2.x']) {
        const { ctx, outputs } = context(workspace, { templateSet: 'tiny', templateVersion, values: { serviceName: 'a' } });
        const err = await rejectsWith(action.handler(ctx), 'InputError');
        assert.ok(err.message.startsWith('svcgen: templateVersion: '), err.message);
        assert.ok(err.message.includes('1.0.0') && err.message.includes(templateVersion), err.message);
        assert.equal(outputs.size, 0);
      }
      assert.deepEqual(await fs.readdir(workspace), []);
    });

    it('refuses a range that is not one', async () => {
      const { ctx } = context(workspace, { templateSet: 'tiny', templateVersion: 'latest please', values: { serviceName: 'a' } });
      const err = await rejectsWith(action.handler(ctx), 'InputError');
      assert.match(err.message, /^svcgen: templateVersion: /);
      assert.deepEqual(await fs.readdir(workspace), []);
    });
  });

  describe('template sets from a URL', () => {
    const url = 'https://github.com/acme/svcgen-templates/tree/v1.0.0/tiny';

    async function urlAction() {
      const cache = await tempDir('svcgen-url-cache-');
      dirs.push(cache);
      const reader = new FakeTreeReader();
      reader.serve(url, TINY_SET, 'c0ffee');
      return { reader, cache, action: createSvcgenRenderAction({ templateDirs: [FIXTURES], urlReader: reader, urlCacheDir: cache }) };
    }

    it('reads the set through the URL reader, renders it, and reports the URL as the source', async () => {
      const { action: fromUrl, cache } = await urlAction();
      const values = { serviceName: 'user-service', withScript: true, replicas: 3 };
      const { ctx, logger, outputs } = context(workspace, { templateSet: url, values });
      await fromUrl.handler(ctx);

      assert.deepEqual(withoutAnswers(await readTree(workspace)), await expectedFiles(TINY_SET, values));
      assert.equal((await readTree(workspace)).get('run.sh')?.executable, true);
      assert.deepEqual((await answersIn(workspace)).template.layers, [{ name: 'tiny', version: '1.0.0', source: url }]);
      assert.equal(outputs.get('templateSet'), 'tiny');
      assert.equal(outputs.get('templateVersion'), '1.0.0');
      assert.equal(outputs.get('templateSource'), url);
      assert.deepEqual(outputs.get('templateLayers'), [{ name: 'tiny', version: '1.0.0', source: url }]);
      assert.match(logger.lines[0], new RegExp(`^svcgen: read template set ${url} \\(etag c0ffee\\) in \\d+ ms$`));
      assert.equal(logger.lines[1], `svcgen: validated values for tiny@1.0.0 from ${url}`);
      // The set was extracted under the cache folder, never into the workspace.
      assert.equal((await fs.readdir(cache)).length, 1);
    });

    it('reuses the compiled set while the reader says not modified, and reads a moved ref again', async () => {
      const { action: fromUrl, reader } = await urlAction();
      const values = { serviceName: 'orders' };
      await fromUrl.handler(context(workspace, { templateSet: url, values }).ctx);

      const second = await tempDir();
      dirs.push(second);
      const again = context(second, { templateSet: url, values });
      await fromUrl.handler(again.ctx);
      assert.equal(again.logger.lines[0], `svcgen: template set ${url} not modified (etag c0ffee): using the compiled set`);
      assert.deepEqual(await readTree(second), await readTree(workspace));
      assert.deepEqual(
        reader.calls.map(c => c.result),
        ['tree', 'not-modified'],
      );

      const moved = await setWithLinks({});
      dirs.push(moved.root);
      await fs.writeFile(path.join(moved.dir, 'manifest.yaml'), (await fs.readFile(path.join(moved.dir, 'manifest.yaml'), 'utf8')).replace('version: 1.0.0', 'version: 1.1.0'));
      reader.serve(url, moved.dir, 'beef');
      const third = await tempDir();
      dirs.push(third);
      const later = context(third, { templateSet: url, values });
      await fromUrl.handler(later.ctx);
      assert.match(later.logger.lines[0], /^svcgen: read template set .* \(etag beef\)/);
      assert.equal(later.outputs.get('templateVersion'), '1.1.0');
    });

    it('reads the base of a set read from a URL relative to its URL, through the same reader', async () => {
      const { action: fromUrl, reader } = await urlAction();
      const overlay = await tempDir('svcgen-overlay-');
      dirs.push(overlay);
      await fs.writeFile(
        path.join(overlay, 'manifest.yaml'),
        "name: tiny-overlay\nversion: 2.0.0\nextends:\n  set: ../tiny\n  version: '^1.0.0'\nparameters:\n  replicas: { default: 2 }\n",
      );
      const overlayUrl = 'https://github.com/acme/svcgen-templates/tree/v1.0.0/tiny-overlay';
      reader.serve(overlayUrl, overlay, 'c0ffee');
      const { ctx, logger, outputs } = context(workspace, { templateSet: overlayUrl, templateVersion: '2.x', values: { serviceName: 'orders' } });
      await fromUrl.handler(ctx);
      assert.deepEqual(outputs.get('templateLayers'), [
        { name: 'tiny-overlay', version: '2.0.0', source: overlayUrl },
        { name: 'tiny', version: '1.0.0', source: url },
      ]);
      assert.equal(outputs.get('templateSource'), overlayUrl);
      assert.deepEqual(reader.calls.map(c => c.url), [overlayUrl, url]);
      assert.match(logger.lines[2], /^svcgen: validated values for tiny-overlay@2\.0\.0 \(tiny-overlay@2\.0\.0 extends tiny@1\.0\.0\) from /);
      assert.match((await readTree(workspace)).get('README.md')!.contents.toString(), /replicas: 2/);
    });

    it('checks templateVersion against the set read from the URL', async () => {
      const { action: fromUrl } = await urlAction();
      const { ctx } = context(workspace, { templateSet: url, templateVersion: '>=2', values: { serviceName: 'a' } });
      const err = await rejectsWith(fromUrl.handler(ctx), 'InputError');
      assert.match(err.message, /^svcgen: templateVersion: .*1\.0\.0/);
      assert.deepEqual(await fs.readdir(workspace), []);
    });

    it("fails with the reader's reason for a URL it cannot read, writing nothing", async () => {
      const { action: fromUrl, reader } = await urlAction();
      const other = 'https://unknown.example/acme/sets/tree/v1/tiny';
      reader.fail(other, 'NotAllowedError', `Reading from '${other}' is not allowed`);
      const { ctx } = context(workspace, { templateSet: other, values: { serviceName: 'a' } });
      const err = await rejectsWith(fromUrl.handler(ctx), 'InputError');
      assert.equal(err.message, `svcgen: cannot read template set ${other}: Reading from '${other}' is not allowed`);
      assert.deepEqual(await fs.readdir(workspace), []);
    });

    it('refuses a URL when the action has no URL reader', async () => {
      const { ctx } = context(workspace, { templateSet: url, values: { serviceName: 'a' } });
      const err = await rejectsWith(action.handler(ctx), 'InputError');
      assert.match(err.message, /is a URL, but this action was created without a URL reader/);
    });
  });

  describe('secret parameters', () => {
    const TOKEN = 'tok-5f1d2c9e-not-a-real-credential';

    async function secretSet() {
      const root = await tempDir('svcgen-secret-');
      dirs.push(root);
      const dir = path.join(root, 'with-secret');
      await fs.mkdir(path.join(dir, 'skeleton'), { recursive: true });
      await fs.writeFile(
        path.join(dir, 'manifest.yaml'),
        [
          'name: with-secret',
          'version: 1.0.0',
          'parameters:',
          '  serviceName: { type: string, required: true }',
          "  apiToken: { type: string, required: true, secret: true, pattern: '^tok-' }",
          'derived:',
          `  authHeader: "'Bearer ' ~ apiToken"`,
          '  nested: "{\'header\': \'Bearer \' ~ apiToken, \'list\': [apiToken, serviceName]}"',
          'sources:',
          '  - dir: skeleton',
          '',
        ].join('\n'),
      );
      await fs.writeFile(path.join(dir, 'skeleton', 'README.md.jinja'), '# {{ serviceName }}\n');
      return createSvcgenRenderAction({ templateDirs: [root] });
    }

    it('never shows a secret value in the outputs or the log', async () => {
      const withSecret = await secretSet();
      const { ctx, logger, outputs } = context(workspace, { templateSet: 'with-secret', values: { serviceName: 'svc', apiToken: TOKEN } });
      await withSecret.handler(ctx);
      assert.deepEqual(outputs.get('derived'), {
        authHeader: 'Bearer ***',
        nested: { header: 'Bearer ***', list: ['***', 'svc'] },
      });
      assert.ok(!JSON.stringify([...outputs.values()]).includes(TOKEN));
      assert.ok(!logger.lines.join('\n').includes(TOKEN));
      const answers = await fs.readFile(path.join(workspace, '.svcgen', 'answers.yaml'), 'utf8');
      assert.ok(!answers.includes(TOKEN) && !answers.includes('apiToken'), answers);
    });

    it('never quotes a secret value in a validation error', async () => {
      const withSecret = await secretSet();
      const wrong = 'ghp_wrong-kind-of-token';
      const { ctx } = context(workspace, { templateSet: 'with-secret', values: { serviceName: 'svc', apiToken: wrong } });
      const err = await rejectsWith(withSecret.handler(ctx), 'InputError');
      assert.match(err.message, /apiToken/);
      assert.ok(!err.message.includes(wrong), err.message);
    });
  });
});
