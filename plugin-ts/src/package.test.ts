import { PACKAGE_ROOT, removeDir, tempDir, USER_SERVICE_VALUES } from './__testing__/helpers';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

/**
 * The published tarball must be self-contained: the binding, the built-in template sets and the
 * CLI, and nothing that only the repository has.
 */
describe('packed package', () => {
  let work: string;
  let unpacked: string;
  let files: string[];

  before(async () => {
    work = await tempDir('svcgen-pack-');
    const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
      cwd: PACKAGE_ROOT,
      encoding: 'utf8',
    });
    const [info] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
    files = info.files.map(f => f.path);
    execFileSync('tar', ['-xzf', path.join(work, info.filename), '-C', work]);
    unpacked = path.join(work, 'package');
    // The dependencies, as an app that installs the package would provide them.
    await fs.symlink(path.join(PACKAGE_ROOT, 'node_modules'), path.join(unpacked, 'node_modules'));
  });
  after(async () => {
    await removeDir(work);
  });

  it('holds the binding, the built-in sets and the CLI, and no tests', () => {
    for (const needed of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/preview.js',
      'dist/worker.js',
      'bin/svcgen-preview.js',
      'wasm/svcgen.js',
      'wasm/svcgen.d.ts',
      'wasm/svcgen_bg.wasm',
      'templates/microservice/manifest.yaml',
      'config.d.ts',
    ]) {
      assert.ok(files.includes(needed), `${needed} is missing from the tarball`);
    }
    assert.deepEqual(
      files.filter(f => /\.test\.|__testing__|dist-test|test-fixtures|(^|\/)src\//.test(f) && !f.startsWith('templates/')),
      [],
    );
  });

  it('renders from the unpacked copy without the repository', async () => {
    const values = path.join(work, 'values.yaml');
    await fs.copyFile(USER_SERVICE_VALUES, values);
    const out = path.join(work, 'out');
    execFileSync(process.execPath, [path.join(unpacked, 'bin/svcgen-preview.js'), '--values', values, '--out', out], {
      cwd: work,
    });
    const catalogInfo = await fs.readFile(path.join(out, 'catalog-info.yaml'), 'utf8');
    assert.match(catalogInfo, /user-service/);

    const mod = require(unpacked);
    assert.equal(typeof mod.createSvcgenRenderAction, 'function');
    assert.equal(mod.default.$$type, '@backstage/BackendFeature');
  });
});
