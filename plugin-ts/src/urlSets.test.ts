import { recordingLogger, removeDir, tempDir, TINY_SET } from './__testing__/helpers';
import { FakeTreeReader } from './__testing__/urlReader';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { isTemplateSetUrl, resolveTemplateSetUrl } from './engine';
import { UrlTemplateSets } from './urlSets';

const URL_V1 = 'https://github.com/acme/templates/tree/v1.0.0/tiny';

describe('UrlTemplateSets', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map(removeDir));
  });

  async function setup() {
    const cacheDir = path.join(await tempDir(), 'cache');
    dirs.push(path.dirname(cacheDir));
    const reader = new FakeTreeReader();
    reader.serve(URL_V1, TINY_SET, 'sha-1');
    return { reader, cacheDir, sets: new UrlTemplateSets(reader, { cacheDir }) };
  }

  it('tells URLs from names and paths', () => {
    for (const ref of [URL_V1, 'https://gitlab.example.com/g/p/-/tree/main/set', 'file:///tmp/x']) {
      assert.equal(isTemplateSetUrl(ref), true, ref);
    }
    for (const ref of ['microservice', './base', '../microservice', '/abs/path', 'C:\\sets\\x', 'github.com/acme']) {
      assert.equal(isTemplateSetUrl(ref), false, ref);
    }
  });

  it('resolves a relative extends against the folder the set URL names', () => {
    const acme = 'https://github.com/acme/templates/tree/v2.0.0/sets/acme';
    assert.equal(resolveTemplateSetUrl('../microservice', acme), 'https://github.com/acme/templates/tree/v2.0.0/sets/microservice');
    assert.equal(resolveTemplateSetUrl('./base', acme), 'https://github.com/acme/templates/tree/v2.0.0/sets/acme/base');
    assert.equal(resolveTemplateSetUrl('../microservice', `${acme}/`), 'https://github.com/acme/templates/tree/v2.0.0/sets/microservice');
  });

  it('reads a tree once into the cache, keeps modes, then reuses it while the reader says not modified', async () => {
    const { reader, sets, cacheDir } = await setup();
    const logger = recordingLogger();
    const fetchUrl = sets.fetcher(logger);

    const dir = await fetchUrl(URL_V1);
    assert.ok(dir.startsWith(cacheDir + path.sep), dir);
    assert.equal(await fs.readFile(path.join(dir, 'manifest.yaml'), 'utf8'), await fs.readFile(path.join(TINY_SET, 'manifest.yaml'), 'utf8'));
    assert.equal((await fs.stat(path.join(dir, 'skeleton', 'run.sh'))).mode & 0o111, 0o111);
    assert.match(logger.lines[0], new RegExp(`^svcgen: read template set ${URL_V1} \\(etag sha-1\\) in \\d+ ms$`));

    assert.equal(await fetchUrl(URL_V1), dir);
    assert.equal(logger.lines[1], `svcgen: template set ${URL_V1} not modified (etag sha-1): using the compiled set`);
    assert.deepEqual(reader.calls, [
      { url: URL_V1, etag: undefined, result: 'tree' },
      { url: URL_V1, etag: 'sha-1', result: 'not-modified' },
    ]);
    // Only the extracted set is left in the cache folder (no staging folder).
    assert.deepEqual(await fs.readdir(cacheDir), [path.basename(dir)]);
  });

  it('gives a moved branch a new folder and retires the old one', async () => {
    const { reader, sets } = await setup();
    const branch = 'https://github.com/acme/templates/tree/main/tiny';
    reader.serve(branch, TINY_SET, 'sha-1');
    const first = await sets.fetch(branch);
    reader.serve(branch, TINY_SET, 'sha-2');
    const second = await sets.fetch(branch);
    assert.equal(second.how, 'read');
    assert.equal(second.etag, 'sha-2');
    assert.notEqual(second.dir, first.dir);
    // The superseded folder stays for renders still using it (removed later).
    await fs.access(first.dir);
  });

  it('shares one read between concurrent tasks', async () => {
    const { reader, sets } = await setup();
    const [a, b] = await Promise.all([sets.fetch(URL_V1), sets.fetch(URL_V1)]);
    assert.equal(a.dir, b.dir);
    assert.equal(reader.calls.length, 1);
  });

  it('reads again when the cached folder was removed (a cleaned temporary folder)', async () => {
    const { reader, sets } = await setup();
    const first = await sets.fetch(URL_V1);
    await removeDir(first.dir);
    const again = await sets.fetch(URL_V1);
    assert.equal(again.how, 'read');
    assert.equal(again.dir, first.dir);
    assert.deepEqual(reader.calls.map(c => c.etag), [undefined, undefined]);
  });

  it('refuses a tree without a manifest at its root and leaves nothing behind', async () => {
    const { reader, sets, cacheDir } = await setup();
    const url = 'https://github.com/acme/templates/tree/v1.0.0';
    const repoRoot = await tempDir();
    dirs.push(repoRoot);
    await fs.cp(TINY_SET, path.join(repoRoot, 'tiny'), { recursive: true });
    reader.serve(url, repoRoot, 'sha-1');
    await assert.rejects(sets.fetch(url), (err: Error) => {
      assert.equal(err.name, 'InputError');
      assert.match(err.message, /has no manifest\.yaml at its root; point templateSet at the folder of the set/);
      return true;
    });
    assert.deepEqual(await fs.readdir(cacheDir), []);
  });

  it("turns the reader's not found and not allowed into input errors, other failures into errors", async () => {
    const { reader, sets } = await setup();
    reader.fail('https://github.com/acme/none/tree/v1', 'NotFoundError', 'Request failed for x, 404 Not Found');
    reader.fail('https://unknown.example/x', 'NotAllowedError', "Reading from 'https://unknown.example/x' is not allowed");
    reader.fail('https://github.com/acme/down/tree/v1', 'Error', 'Request failed for x, 502 Bad Gateway');
    await assert.rejects(sets.fetch('https://github.com/acme/none/tree/v1'), {
      name: 'InputError',
      message: 'svcgen: cannot read template set https://github.com/acme/none/tree/v1: Request failed for x, 404 Not Found',
    });
    await assert.rejects(sets.fetch('https://unknown.example/x'), { name: 'InputError', message: /is not allowed/ });
    await assert.rejects(sets.fetch('https://github.com/acme/down/tree/v1'), {
      name: 'Error',
      message: 'svcgen: could not read template set https://github.com/acme/down/tree/v1: Request failed for x, 502 Bad Gateway',
    });
  });

  it('removes its folder on dispose, a private one by default', async () => {
    const reader = new FakeTreeReader();
    reader.serve(URL_V1, TINY_SET, 'sha-1');
    const sets = new UrlTemplateSets(reader);
    const { dir } = await sets.fetch(URL_V1);
    const root = path.dirname(dir);
    assert.equal((await fs.stat(root)).mode & 0o777, 0o700);
    await sets.dispose();
    await assert.rejects(fs.access(root));
  });
});
