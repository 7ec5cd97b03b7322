import { removeDir, tempDir } from './__testing__/helpers';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Output } from './engine';
import { writeOutput } from './writer';

/** An output as the core returns it: file list plus one buffer. */
function outputOf(files: [path: string, contents: string, executable?: boolean][]): Output {
  const buffers = files.map(([, contents]) => Buffer.from(contents));
  return {
    template: { name: 'test', version: '1.0.0', layers: [{ name: 'test', version: '1.0.0', source: 'test' }] },
    validated: { values: {}, derived: {} },
    files: files.map(([p, , executable], i) => ({ path: p, executable: executable ?? false, size: buffers[i].length })),
    data: new Uint8Array(Buffer.concat(buffers)),
  };
}

describe('writeOutput', () => {
  let target: string;
  let outside: string;
  beforeEach(async () => {
    target = await tempDir('svcgen-writer-');
    outside = await tempDir('svcgen-outside-');
  });
  afterEach(async () => {
    await removeDir(target);
    await removeDir(outside);
  });

  it('writes every file with its folders and mode, overwriting what is there', async () => {
    const files: [string, string, boolean?][] = [['README.md', '# hi\n'], ['bin/run.sh', '#!/bin/sh\n', true]];
    for (let i = 0; i < 40; i++) files.push([`a/b${i % 3}/c/file${i}.txt`, `${i}\n`]);
    await fs.mkdir(path.join(target, 'bin'));
    await fs.writeFile(path.join(target, 'bin/run.sh'), 'old and longer\n', { mode: 0o600 });

    const result = await writeOutput(outputOf(files), target);

    assert.deepEqual(result.paths, files.map(f => f[0]));
    assert.equal(result.bytes, files.reduce((n, [, c]) => n + Buffer.byteLength(c), 0));
    for (const [p, contents, executable] of files) {
      assert.equal(await fs.readFile(path.join(target, p), 'utf8'), contents, p);
      assert.equal((await fs.stat(path.join(target, p))).mode & 0o777, executable ? 0o755 : 0o644, p);
    }
  });

  it('refuses a folder that is a symbolic link leading outside the target, writing nothing there', async () => {
    await fs.symlink(outside, path.join(target, 'src'));
    await assert.rejects(writeOutput(outputOf([['src/app.py', 'x\n']]), target), /outside/i);
    assert.deepEqual(await fs.readdir(outside), []);
  });

  it('refuses to write through a symbolic link at a file path', async () => {
    const victim = path.join(outside, 'victim.txt');
    await fs.writeFile(victim, 'keep\n');
    await fs.symlink(victim, path.join(target, 'README.md'));
    await assert.rejects(writeOutput(outputOf([['README.md', 'x\n']]), target), /symbolic link is in its place/);
    assert.equal(await fs.readFile(victim, 'utf8'), 'keep\n');
  });
});
