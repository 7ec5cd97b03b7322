import { FIXTURES, PACKAGE_ROOT, readTree, recordingLogger, removeDir, tempDir, USER_SERVICE_VALUES } from '../__testing__/helpers';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { scaffolderActionsExtensionPoint, TemplateAction } from '@backstage/plugin-scaffolder-node';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { parse as parseYaml } from 'yaml';
import svcgenModule from '../index';
import type { PreviewSet } from './route';

type WebCore = typeof import('../../wasm-web/svcgen.js', { with: { 'resolution-mode': 'import' } });

const OVERLAYS = path.resolve(PACKAGE_ROOT, '..', 'examples', 'overlays');
const BASE = '/api/scaffolder/svcgen/preview';

describe('the preview routes', () => {
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  let root: string;
  let render: TemplateAction<any, any>;
  let web: WebCore;

  /** A GET of the preview route `rel`, as a signed-in user unless `headers` says otherwise. */
  const get = (rel: string, headers: Record<string, string> = {}) =>
    fetch(`http://localhost:${backend.server.port()}${BASE}${rel}`, {
      headers: { authorization: mockCredentials.user.header(), ...headers },
    });

  before(async () => {
    // A configured folder holding the tiny set and its overlay (a copy: one test edits it), and the
    // example overlay of the bundled microservice set.
    root = await tempDir('svcgen-preview-');
    for (const name of ['tiny', 'tiny-overlay']) await fs.cp(path.join(FIXTURES, name), path.join(root, name), { recursive: true });
    const added: TemplateAction<any, any>[] = [];
    backend = await startTestBackend({
      extensionPoints: [
        [scaffolderActionsExtensionPoint, { addActions: (...actions: TemplateAction<any, any>[]) => added.push(...actions) }],
      ],
      features: [
        svcgenModule,
        mockServices.rootConfig.factory({ data: { svcgen: { templateDirs: [root, OVERLAYS] } } }),
        // No credentials is no credentials (the mock's default is a signed-in user).
        mockServices.httpAuth.factory({ defaultCredentials: mockCredentials.none() }),
      ],
    });
    render = added.find(a => a.id === 'svcgen:render')!;
    // The browser build, initialised with the bytes the route serves, as the field does.
    const wasm = Buffer.from(await (await get('/core.wasm')).arrayBuffer());
    web = (await import(pathToFileURL(path.join(PACKAGE_ROOT, 'wasm-web', 'svcgen.js')).href)) as WebCore;
    await web.default({ module_or_path: wasm });
  });
  after(async () => {
    await backend?.stop();
    await removeDir(root);
  });

  /** What the action writes for a set and values: path → contents and mode. */
  async function actionTree(templateSet: string, values: unknown) {
    const workspacePath = await tempDir();
    try {
      const ctx = createMockActionContext({ workspacePath, logger: recordingLogger(), input: { templateSet, values: values as any } });
      ctx.output = () => {};
      await render.handler(ctx);
      return await readTree(workspacePath);
    } finally {
      await removeDir(workspacePath);
    }
  }

  /** What the browser build renders from a set the route served. */
  function webTree(set: PreviewSet, values: unknown) {
    const loaded = web.TemplateSet.load(set.layers, Buffer.from(set.data, 'base64'));
    try {
      assert.deepEqual({ name: loaded.info().name, version: loaded.info().version }, { name: set.name, version: set.version });
      const output = loaded.render(values);
      const tree = new Map<string, { contents: Buffer; executable: boolean }>();
      let offset = 0;
      for (const file of output.files) {
        tree.set(file.path, { contents: Buffer.from(output.data.subarray(offset, offset + file.size)), executable: file.executable });
        offset += file.size;
      }
      return new Map([...tree].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    } finally {
      loaded.free();
    }
  }

  async function assertNotModified(rel: string, etag: string) {
    const again = await get(rel, { 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get('etag'), etag);
    assert.equal((await again.arrayBuffer()).byteLength, 0);
  }

  it('serves the browser build of the core, with its ETag and the svcgen version the answers file records', async () => {
    const res = await get('/core.wasm');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/wasm');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const body = Buffer.from(await res.arrayBuffer());
    assert.ok(body.equals(await fs.readFile(path.join(PACKAGE_ROOT, 'wasm-web', 'svcgen_bg.wasm'))));
    const etag = res.headers.get('etag')!;
    assert.match(etag, /^"[\w-]+"$/);

    const tree = await actionTree('tiny', { serviceName: 'abc' });
    const answers = parseYaml(tree.get('.svcgen/answers.yaml')!.contents.toString('utf8'));
    assert.equal(res.headers.get('x-svcgen-version'), answers.svcgen);

    await assertNotModified('/core.wasm', etag);
    assert.equal((await get('/core.wasm', { 'if-none-match': '"stale"' })).status, 200);
  });

  it('serves a bundled set that renders in the browser build exactly what the action writes', async () => {
    const res = await get('/sets/microservice');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const set = (await res.json()) as PreviewSet;
    assert.equal(set.svcgen, res.headers.get('x-svcgen-version'));
    assert.equal(set.name, 'microservice');
    assert.deepEqual(set.layers.map(l => l.source), ['microservice']);

    const values = parseYaml(await fs.readFile(USER_SERVICE_VALUES, 'utf8')) as Record<string, unknown>;
    const inBrowser = webTree(set, values);
    const written = await actionTree('microservice', values);
    assert.ok(inBrowser.size > 50);
    assert.deepEqual([...inBrowser.keys()], [...written.keys()]);
    assert.deepEqual(inBrowser, written);

    const etag = res.headers.get('etag')!;
    await assertNotModified('/sets/microservice', etag);
    // Computed once: the same ETag again.
    assert.equal((await get('/sets/microservice')).headers.get('etag'), etag);
  });

  it('serves an overlay with its chain, as the action resolves it', async () => {
    const acme = (await (await get('/sets/acme-microservice')).json()) as PreviewSet;
    assert.deepEqual([acme.name, acme.layers.map(l => l.source)], ['acme-microservice', ['acme-microservice', 'microservice']]);

    const values = { serviceName: 'abc', withScript: true, tier: 'silver' };
    const tiny = (await (await get('/sets/tiny-overlay')).json()) as PreviewSet;
    assert.deepEqual([tiny.name, tiny.version, tiny.layers.map(l => l.source)], ['tiny-overlay', '2.0.0', ['tiny-overlay', 'tiny']]);
    const inBrowser = webTree(tiny, values);
    assert.equal(inBrowser.get('run.sh')?.executable, true);
    assert.deepEqual(inBrowser, await actionTree('tiny-overlay', values));
  });

  it('serves a set of a configured folder again, with a new ETag, once one of its files changes', async () => {
    const first = await get('/sets/tiny-overlay');
    const etag = first.headers.get('etag')!;
    await assertNotModified('/sets/tiny-overlay', etag);

    // The overlay's own file is edited; then a file is added to its base, in a new folder.
    await fs.appendFile(path.join(root, 'tiny-overlay', 'skeleton', 'README.md.jinja'), '\nEdited.\n');
    const edited = await get('/sets/tiny-overlay', { 'if-none-match': etag });
    assert.equal(edited.status, 200);
    const etag2 = edited.headers.get('etag')!;
    assert.notEqual(etag2, etag);
    const set = (await edited.json()) as PreviewSet;
    assert.match(webTree(set, { serviceName: 'abc' }).get('README.md')!.contents.toString('utf8'), /Edited\./);

    await fs.mkdir(path.join(root, 'tiny', 'skeleton', 'docs'));
    await fs.writeFile(path.join(root, 'tiny', 'skeleton', 'docs', 'NOTES.md'), 'notes\n');
    const added = await get('/sets/tiny-overlay', { 'if-none-match': etag2 });
    assert.equal(added.status, 200);
    const withNotes = (await added.json()) as PreviewSet;
    assert.ok(webTree(withNotes, { serviceName: 'abc' }).has('docs/NOTES.md'));
  });

  it('answers 404 with a JSON error for a set the action does not know', async () => {
    for (const name of ['no-such-set', encodeURIComponent('bad name'), encodeURIComponent('https://example.com/sets/x')]) {
      const res = await get(`/sets/${name}`);
      assert.equal(res.status, 404, name);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const body = (await res.json()) as { error: { message: string } };
      assert.match(body.error.message, /svcgen: /);
    }
    const unknown = (await (await get('/sets/no-such-set')).json()) as { error: { message: string } };
    assert.match(unknown.error.message, /unknown template set "no-such-set"; available: .*microservice/);
  });

  it('refuses requests without a Backstage token, and serves service tokens', async () => {
    for (const rel of ['/core.wasm', '/sets/microservice']) {
      const res = await fetch(`http://localhost:${backend.server.port()}${BASE}${rel}`);
      assert.equal(res.status, 401, rel);
      await res.arrayBuffer();
      const asService = await get(rel, { authorization: mockCredentials.service.header() });
      assert.equal(asService.status, 200, rel);
      await asService.arrayBuffer();
    }
  });
});
