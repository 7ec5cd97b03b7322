import { BROKEN_SET, FIXTURES, removeDir, setWithLinks, tempDir, TINY_SET } from './__testing__/helpers';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { __testing, BUILTIN_TEMPLATES_DIR, mapLimited, readTemplateSetFiles, splitOutput, SvcgenEngine } from './engine';

describe('engine', () => {
  it('reads every regular file of a set with / paths and executable bits', async () => {
    const files = await readTemplateSetFiles(TINY_SET);
    assert.deepEqual(
      files.map(f => [f.path, f.executable]),
      [
        ['manifest.yaml', false],
        ['skeleton/README.md.jinja', false],
        ['skeleton/run.sh', true],
        ['skeleton/{{ serviceSnake }}/__init__.py', false],
      ],
    );
    assert.equal(Buffer.from(files[2].contents).toString(), await fs.readFile(path.join(TINY_SET, 'skeleton/run.sh'), 'utf8'));
  });

  it('finds sets in the configured folders before the built-in ones', async () => {
    const engine = new SvcgenEngine({ templateDirs: [FIXTURES] });
    assert.deepEqual(engine.searchDirs, [FIXTURES, BUILTIN_TEMPLATES_DIR]);
    assert.equal(await engine.resolveTemplateSet('tiny'), TINY_SET);
    const sets = await engine.listTemplateSets();
    assert.ok(sets.includes('tiny') && sets.includes('broken'), sets.join(', '));
    await assert.rejects(new SvcgenEngine().resolveTemplateSet('tiny'), /unknown template set "tiny"/);
  });

  it('splits the output buffer into files that add up', async () => {
    const output = await new SvcgenEngine().render(TINY_SET, { serviceName: 'abc', withScript: true });
    assert.ok(output.data instanceof Uint8Array, 'the binding hands the bytes over as one Uint8Array');
    const files = splitOutput(output);
    assert.deepEqual(files.map(f => f.path), ['.svcgen/answers.yaml', 'README.md', 'run.sh', 'abc/__init__.py'].sort());
    assert.equal(files.reduce((n, f) => n + f.contents.length, 0), output.data.length);
    assert.throws(() => splitOutput({ ...output, files: output.files.slice(1) }), /add up to/);
  });

  it('throws the core error with file and line for a broken set, every time', async () => {
    for (let i = 0; i < 2; i++) {
      await assert.rejects(new SvcgenEngine().render(BROKEN_SET, { serviceName: 'a' }), (err: any) => {
        assert.equal(err.name, 'SvcgenError');
        assert.equal(err.kind, 'template');
        assert.equal(err.file, 'skeleton/README.md.jinja');
        assert.equal(err.line, 3);
        return true;
      });
    }
  });

  it('recompiles a cached set when one of its files changes', async () => {
    const dir = await tempDir();
    try {
      await fs.cp(TINY_SET, dir, { recursive: true });
      const engine = new SvcgenEngine();
      const first = await engine.render(dir, { serviceName: 'abc' });
      assert.equal(__testing.isCached(dir), true);
      const readme = path.join(dir, 'skeleton/README.md.jinja');
      await fs.writeFile(readme, 'changed {{ serviceName }}\n');
      // Make sure the mtime differs even on coarse clocks.
      const later = new Date(Date.now() + 5000);
      await fs.utimes(readme, later, later);
      const second = await engine.render(dir, { serviceName: 'abc' });
      const text = (o: typeof first) => Buffer.from(splitOutput(o).find(f => f.path === 'README.md')!.contents).toString();
      assert.equal(text(first), '# abc (abc)\n\nreplicas: 1\n');
      assert.equal(text(second), 'changed abc\n');
    } finally {
      await removeDir(dir);
    }
  });

  it('notices a file added to a cached set; never re-checks the built-in sets', async () => {
    const dir = await tempDir();
    try {
      await fs.cp(TINY_SET, dir, { recursive: true });
      const engine = new SvcgenEngine();
      const values = { serviceName: 'abc' };
      assert.deepEqual((await engine.render(dir, values)).files.map(f => f.path), ['.svcgen/answers.yaml', 'README.md', 'abc/__init__.py']);
      assert.ok(__testing.watchedCount(dir)! > 4, 'the files and folders of a configured set are watched');
      await fs.writeFile(path.join(dir, 'skeleton/NOTES.md'), 'new\n');
      assert.deepEqual((await engine.render(dir, values)).files.map(f => f.path), ['.svcgen/answers.yaml', 'NOTES.md', 'README.md', 'abc/__init__.py']);

      const builtIn = await engine.resolveTemplateSet('microservice');
      await engine.render(builtIn, { serviceName: 'orders', owner: 'team-a', repoUrl: 'github.com?owner=o&repo=orders' });
      assert.equal(__testing.watchedCount(builtIn), 0);
    } finally {
      await removeDir(dir);
    }
  });

  it('keeps the 16 most recently used chains compiled, freeing the others', async () => {
    const root = await tempDir();
    try {
      const dirs = await Promise.all(
        Array.from({ length: 18 }, async (_, i) => {
          const dir = path.join(root, `tiny-${i}`);
          await fs.cp(TINY_SET, dir, { recursive: true });
          return dir;
        }),
      );
      const engine = new SvcgenEngine();
      await engine.render(dirs[0], { serviceName: 'abc' });
      for (const dir of dirs.slice(1, 16)) await engine.render(dir, { serviceName: 'abc' });
      // Using the first one again makes the second the least recently used.
      await engine.render(dirs[0], { serviceName: 'abc' });
      for (const dir of dirs.slice(16)) await engine.render(dir, { serviceName: 'abc' });
      assert.equal(__testing.isCached(dirs[0]), true, 'recently used');
      assert.equal(__testing.isCached(dirs[1]), false, 'least recently used: freed');
      assert.equal(__testing.isCached(dirs[2]), false, 'next least recently used: freed');
      assert.equal(__testing.isCached(dirs[17]), true);
      assert.deepEqual((await engine.render(dirs[1], { serviceName: 'abc' })).files.length, 3, 'a freed chain compiles again');
    } finally {
      await removeDir(root);
    }
  });

  it('warms up by compiling every set it finds, reporting the broken ones', async () => {
    const { compiled, failed } = await new SvcgenEngine({ templateDirs: [FIXTURES] }).warmUp();
    assert.ok(compiled.includes('microservice@0.1.0'), compiled.join(', '));
    assert.ok(compiled.some(c => c.startsWith('tiny@')), compiled.join(', '));
    assert.deepEqual(failed.map(f => f.name), ['broken']);
    assert.match(failed[0].error.message, /README\.md\.jinja/);
    assert.equal(__testing.isCached(TINY_SET), true);
  });

  it('loads one instance per process and replaces it after a trap', async () => {
    const engine = new SvcgenEngine();
    await engine.render(TINY_SET, { serviceName: 'abc' });
    const generation = __testing.generation();
    await engine.render(TINY_SET, { serviceName: 'abc' });
    assert.equal(__testing.generation(), generation, 'no new instance without a trap');
    const dead = __testing.instance();
    assert.throws(() => __testing.trap(), { name: 'SvcgenCrashError' });
    assert.equal(__testing.isCached(TINY_SET), false);
    const output = await engine.render(TINY_SET, { serviceName: 'abc' });
    assert.equal(output.files.length, 3);
    assert.equal(__testing.generation(), generation + 1);
    assert.notEqual(__testing.instance(), dead, 'the glue module was loaded afresh, not reused from the require cache');
  });
});

describe('engine: symbolic links in template sets', () => {
  const OUTSIDE = /a location outside the set; template sets may only link inside themselves$/;

  /** Expects `promise` to fail with the InputError naming `link` (set-relative) and `target`. */
  async function refusesLink(promise: Promise<unknown>, link: string, target: string, secret?: string) {
    await assert.rejects(promise, (err: Error) => {
      assert.equal(err.name, 'InputError');
      assert.ok(
        err.message.startsWith(`svcgen: template set "linked": ${link} is a symbolic link to ${target}`),
        err.message,
      );
      assert.match(err.message, OUTSIDE);
      if (secret) assert.ok(!err.message.includes(secret), 'the content never shows');
      return true;
    });
  }

  it('refuses a link to a file outside the set, wherever the set is read', async () => {
    const outside = await tempDir('svcgen-outside-');
    const secretFile = path.join(outside, 'secret.txt');
    const secret = `secret-${Math.random()}`;
    await fs.writeFile(secretFile, secret);
    const { root, dir } = await setWithLinks({ 'skeleton/secrets.txt': secretFile });
    try {
      await refusesLink(readTemplateSetFiles(dir), 'skeleton/secrets.txt', secretFile, secret);
      await refusesLink(new SvcgenEngine().render(dir, { serviceName: 'abc' }), 'skeleton/secrets.txt', secretFile, secret);
      const { compiled, failed } = await new SvcgenEngine({ templateDirs: [root] }).warmUp();
      assert.ok(!compiled.some(c => c.startsWith('tiny@')), compiled.join(', '));
      assert.deepEqual(failed.map(f => f.name), ['linked']);
      await refusesLink(Promise.reject(failed[0].error), 'skeleton/secrets.txt', secretFile, secret);
      // Relative links are resolved the same way.
      const relative = path.relative(path.join(dir, 'skeleton'), secretFile);
      await fs.rm(path.join(dir, 'skeleton/secrets.txt'));
      await fs.symlink(relative, path.join(dir, 'skeleton/secrets.txt'));
      await refusesLink(readTemplateSetFiles(dir), 'skeleton/secrets.txt', `${relative} (${await fs.realpath(secretFile)})`, secret);
    } finally {
      await removeDir(root);
      await removeDir(outside);
    }
  });

  it('refuses a link to /proc/self/environ: the environment never reaches a render', { skip: process.platform !== 'linux' }, async () => {
    const { root, dir } = await setWithLinks({ 'skeleton/env.txt.jinja': '/proc/self/environ' });
    try {
      await assert.rejects(readTemplateSetFiles(dir), (err: Error) => {
        assert.equal(err.name, 'InputError');
        assert.match(err.message, /^svcgen: template set "linked": skeleton\/env\.txt\.jinja is a symbolic link to \/proc\/self\/environ \(\/proc\/\d+\/environ\), a location outside the set/);
        assert.ok(!err.message.includes('PATH='), err.message);
        return true;
      });
      await assert.rejects(new SvcgenEngine().render(dir, { serviceName: 'abc' }), { name: 'InputError' });
    } finally {
      await removeDir(root);
    }
  });

  it('refuses a link to a folder outside the set, even a link in a linked folder', async () => {
    const outside = await tempDir('svcgen-outside-');
    await fs.writeFile(path.join(outside, 'id_rsa'), 'private key');
    const { root, dir } = await setWithLinks({ 'skeleton/home': outside });
    try {
      await refusesLink(readTemplateSetFiles(dir), 'skeleton/home', outside, 'private key');
      // The set's root itself may be reached through a link; a link inside still may not leave.
      const alias = path.join(root, 'alias');
      await fs.symlink(dir, alias);
      await assert.rejects(readTemplateSetFiles(alias), /template set "alias": skeleton\/home is a symbolic link to .*outside the set/);
    } finally {
      await removeDir(root);
      await removeDir(outside);
    }
  });

  it('refuses a dangling link with a clear error', async () => {
    const { root, dir } = await setWithLinks({ 'skeleton/gone.txt': 'no-such-file' });
    try {
      await assert.rejects(readTemplateSetFiles(dir), {
        name: 'InputError',
        message: 'svcgen: template set "linked": skeleton/gone.txt is a symbolic link to no-such-file, which cannot be read (ENOENT)',
      });
    } finally {
      await removeDir(root);
    }
  });

  it('follows links that stay inside the set, skipping cycles; the set may be reached through a link', async () => {
    const { root, dir } = await setWithLinks({
      'skeleton/COPY.md.jinja': 'README.md.jinja',
      'skeleton/alias': '{{ serviceSnake }}',
      'skeleton/loop': '.',
      'skeleton/up': '..',
    });
    try {
      const files = await readTemplateSetFiles(dir);
      // A folder reached twice is read once (the cycle protection), under its first path in name
      // order: here the link, which sorts before "{{ serviceSnake }}".
      assert.deepEqual(
        files.map(f => f.path),
        ['manifest.yaml', 'skeleton/COPY.md.jinja', 'skeleton/README.md.jinja', 'skeleton/alias/__init__.py', 'skeleton/run.sh'],
      );
      const output = await new SvcgenEngine().render(dir, { serviceName: 'abc' });
      const text = Object.fromEntries(splitOutput(output).map(f => [f.path, Buffer.from(f.contents).toString()]));
      assert.equal(text['COPY.md'], text['README.md']);
      assert.ok('alias/__init__.py' in text, Object.keys(text).join(', '));
      const alias = path.join(root, 'alias');
      await fs.symlink(dir, alias);
      assert.deepEqual((await readTemplateSetFiles(alias)).map(f => f.path), files.map(f => f.path));
    } finally {
      await removeDir(root);
    }
  });

  it('notices a cached file replaced by a link outside the set', async () => {
    const outside = await tempDir('svcgen-outside-');
    await fs.writeFile(path.join(outside, 'secret.txt'), 'e2a6f1c0-content');
    const { root, dir } = await setWithLinks({});
    try {
      const engine = new SvcgenEngine();
      await engine.render(dir, { serviceName: 'abc' });
      assert.equal(__testing.isCached(dir), true);
      const readme = path.join(dir, 'skeleton/README.md.jinja');
      await fs.rm(readme);
      await fs.symlink(path.join(outside, 'secret.txt'), readme);
      await refusesLink(
        engine.render(dir, { serviceName: 'abc' }),
        'skeleton/README.md.jinja',
        path.join(outside, 'secret.txt'),
        'e2a6f1c0-content',
      );
    } finally {
      await removeDir(root);
      await removeDir(outside);
    }
  });
});

describe('mapLimited', () => {
  it('keeps the items\' order and never runs more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const items = Array.from({ length: 50 }, (_, i) => i);
    const results = await mapLimited(items, 4, async i => {
      running++;
      most = Math.max(most, running);
      // Later items finish first: the results must still come back in the items' order.
      await new Promise(resolve => setTimeout(resolve, (50 - i) % 7));
      running--;
      return i * 2;
    });
    assert.deepEqual(results, items.map(i => i * 2));
    assert.equal(most, 4);
  });

  it('handles fewer items than the limit, and none', async () => {
    assert.deepEqual(await mapLimited([1, 2], 16, async i => i + 1), [2, 3]);
    assert.deepEqual(await mapLimited([], 16, async i => i), []);
  });
});
