import { BROKEN_SET, FIXTURES, removeDir, tempDir, TINY_SET } from './__testing__/helpers';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { __testing, BUILTIN_TEMPLATES_DIR, readTemplateSetFiles, splitOutput, SvcgenEngine } from './engine';

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
    assert.deepEqual(files.map(f => f.path), ['README.md', 'run.sh', 'abc/__init__.py'].sort());
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
      assert.deepEqual((await engine.render(dir, values)).files.map(f => f.path), ['README.md', 'abc/__init__.py']);
      assert.ok(__testing.watchedCount(dir)! > 4, 'the files and folders of a configured set are watched');
      await fs.writeFile(path.join(dir, 'skeleton/NOTES.md'), 'new\n');
      assert.deepEqual((await engine.render(dir, values)).files.map(f => f.path), ['NOTES.md', 'README.md', 'abc/__init__.py']);

      const builtIn = await engine.resolveTemplateSet('microservice');
      await engine.render(builtIn, { serviceName: 'orders', owner: 'team-a', repoUrl: 'github.com?owner=o&repo=orders' });
      assert.equal(__testing.watchedCount(builtIn), 0);
    } finally {
      await removeDir(dir);
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
    assert.equal(output.files.length, 2);
    assert.equal(__testing.generation(), generation + 1);
    assert.notEqual(__testing.instance(), dead, 'the glue module was loaded afresh, not reused from the require cache');
  });
});
