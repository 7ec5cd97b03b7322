import { PACKAGE_ROOT, USER_SERVICE_VALUES } from '../__testing__/helpers';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { packLayers, readTemplateSetFiles, SvcgenEngine } from '../engine';

/** The browser build's glue (wasm-bindgen --target web): an ES module, loaded as the browser loads it. */
type WebCore = typeof import('../../wasm-web/svcgen.js', { with: { 'resolution-mode': 'import' } });

const WEB_DIR = path.join(PACKAGE_ROOT, 'wasm-web');

/**
 * The browser build of the core (plugin-ts/wasm-web, written by rust/build-wasm.sh), run in Node:
 * it must load like the browser loads it and render exactly what the Node build renders.
 */
describe('the browser build of the core', () => {
  let web: WebCore;

  before(async () => {
    web = (await import(pathToFileURL(path.join(WEB_DIR, 'svcgen.js')).href)) as WebCore;
    await web.default({ module_or_path: await fs.readFile(path.join(WEB_DIR, 'svcgen_bg.wasm')) });
  });

  it('is the same compiled core as the Node build, optimised the same way', async () => {
    const [node, browser] = await Promise.all([
      fs.readFile(path.join(PACKAGE_ROOT, 'wasm', 'svcgen_bg.wasm')),
      fs.readFile(path.join(WEB_DIR, 'svcgen_bg.wasm')),
    ]);
    assert.ok(browser.equals(node), 'wasm-web/svcgen_bg.wasm differs from wasm/svcgen_bg.wasm');
    const pkg = JSON.parse(await fs.readFile(path.join(WEB_DIR, 'package.json'), 'utf8'));
    assert.equal(pkg.type, 'module');
    assert.match(pkg.version, /^\d+\.\d+\.\d+/);
  });

  it('renders the story values to the same bytes as the Node build', async () => {
    const engine = new SvcgenEngine();
    const chain = await engine.resolveChain('microservice');
    const values = parseYaml(await fs.readFile(USER_SERVICE_VALUES, 'utf8'));

    const layers = await Promise.all(
      chain.dirs.map(async (dir, i) => ({ source: chain.sources[i], files: await readTemplateSetFiles(dir) })),
    );
    const { index, data } = packLayers(layers);
    const set = web.TemplateSet.load(index, data);
    try {
      assert.equal(set.info().name, 'microservice');
      assert.equal(set.validate(values).values.serviceName, values.serviceName);
      const inBrowser = set.render(values);
      const inNode = await engine.render(chain, values);

      assert.ok(inBrowser.files.length > 50, `only ${inBrowser.files.length} files rendered`);
      assert.deepEqual(inBrowser.files, inNode.files);
      assert.deepEqual(inBrowser.template, inNode.template);
      assert.ok(Buffer.from(inBrowser.data).equals(Buffer.from(inNode.data)), 'the rendered bytes differ');

      // The same rules, with the server's messages: every problem at once, by field.
      assert.throws(
        () => set.validate({ ...values, serviceName: 'Not A Name' }),
        (err: { name?: string; kind?: string; problems?: { field: string }[] }) =>
          err.name === 'SvcgenError' && err.kind === 'validation' && !!err.problems?.some(p => p.field === 'serviceName'),
      );
    } finally {
      set.free();
    }
  });
});
