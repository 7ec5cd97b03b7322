import { readTree, recordingLogger, removeDir, tempDir, TINY_SET } from '../__testing__/helpers';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { FakeTreeReader } from '../__testing__/urlReader';
import { createSvcgenRenderAction } from './render';
import { atVersionTag } from '../repoUpdate';
import { createSvcgenUpdateAction } from './update';

const URL_V1 = 'https://github.com/acme/svcgen-templates/tree/v1.0.0/tiny';
const URL_V2 = 'https://github.com/acme/svcgen-templates/tree/v1.1.0/tiny';
const README_V2 = '# {{ serviceName }} ({{ serviceSnake }})\nOwned by the platform team.\n\nreplicas: {{ replicas }}\n';

type Input = Record<string, unknown>;

function context(workspacePath: string, input: Input) {
  const logger = recordingLogger();
  const ctx = createMockActionContext({ workspacePath, logger, input: input as any });
  const outputs = new Map<string, unknown>();
  ctx.output = (name: string, value: unknown) => void outputs.set(name, value);
  return { ctx, logger, outputs };
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

describe('svcgen:update', () => {
  let root: string;
  let workspace: string;
  let reader: FakeTreeReader;
  const repo = () => path.join(workspace, 'repo');
  const read = (file: string) => fs.readFile(path.join(repo(), file), 'utf8');

  /** `v1/tiny` (the tiny set at 1.0.0) and `v2/tiny` (1.1.0, a README change), served at their tags. */
  beforeEach(async () => {
    root = await tempDir('svcgen-update-action-');
    workspace = path.join(root, 'workspace');
    await fs.mkdir(workspace);
    await fs.cp(TINY_SET, path.join(root, 'v1', 'tiny'), { recursive: true });
    await fs.cp(TINY_SET, path.join(root, 'v2', 'tiny'), { recursive: true });
    const manifest = path.join(root, 'v2', 'tiny', 'manifest.yaml');
    await fs.writeFile(manifest, (await fs.readFile(manifest, 'utf8')).replace('version: 1.0.0', 'version: 1.1.0'));
    await fs.writeFile(path.join(root, 'v2', 'tiny', 'skeleton', 'README.md.jinja'), README_V2);
    reader = new FakeTreeReader();
    reader.serve(URL_V1, path.join(root, 'v1', 'tiny'), 'v1');
    reader.serve(URL_V2, path.join(root, 'v2', 'tiny'), 'v2');
  });
  afterEach(async () => {
    await removeDir(root);
  });

  /** Generates `workspace/repo` with svcgen:render from `templateSet`. */
  async function generate(templateSet: string, templateDirs?: string[]) {
    const render = createSvcgenRenderAction({ urlReader: reader, templateDirs, urlCacheDir: path.join(root, 'cache-render') });
    const { ctx } = context(workspace, { templateSet, values: { serviceName: 'user-service' }, targetPath: 'repo' });
    await render.handler(ctx);
  }

  const update = (input: Input, templateDirs?: string[]) => {
    const action = createSvcgenUpdateAction({ urlReader: reader, templateDirs, urlCacheDir: path.join(root, 'cache-update') });
    const run = context(workspace, { sourcePath: 'repo', ...input });
    return { run, done: action.handler(run.ctx) };
  };

  it("applies the new version's change and keeps the team's edits", async () => {
    await generate(URL_V1);
    await fs.appendFile(path.join(repo(), 'README.md'), '\nTeam notes.\n');
    await fs.writeFile(path.join(repo(), 'NOTES.md'), 'ours only\n');

    const { run, done } = update({ templateSet: URL_V2, templateVersion: '^1.1.0' });
    await done;
    assert.equal(await read('README.md'), '# user-service (user_service)\nOwned by the platform team.\n\nreplicas: 1\n\nTeam notes.\n');
    assert.equal(await read('NOTES.md'), 'ours only\n');
    assert.match(await read('.svcgen/answers.yaml'), /\n {2}version: "1\.1\.0"\n/);
    assert.equal(run.outputs.get('changed'), 2);
    assert.equal(run.outputs.get('added'), 0);
    assert.equal(run.outputs.get('removed'), 0);
    assert.deepEqual(run.outputs.get('conflicts'), []);
    assert.deepEqual(run.outputs.get('renamed'), []);
    assert.deepEqual(run.outputs.get('deleted'), []);
    assert.equal(run.outputs.get('fromVersion'), '1.0.0');
    assert.equal(run.outputs.get('toVersion'), '1.1.0');
    const summary = run.outputs.get('summary') as string;
    assert.match(summary, /^## svcgen: update from tiny@1\.0\.0 to tiny@1\.1\.0\n\n2 changed, 0 added, 0 removed, 0 conflicts\.\n/);
    assert.match(summary, /### Changed\n\n- `\.svcgen\/answers\.yaml`\n- `README\.md`\n/);
    assert.doesNotMatch(summary, /Conflicts to resolve/);
    assert.ok(run.logger.lines.some(l => /^svcgen: wrote 2 changes to \.\/repo in \d+ ms$/.test(l)), run.logger.lines.join('\n'));
  });

  it('lists a conflict in the outputs and leaves conflict markers in the file', async () => {
    await generate(URL_V1);
    const readme = path.join(repo(), 'README.md');
    await fs.writeFile(readme, (await fs.readFile(readme, 'utf8')).replace('replicas: 1', 'replicas: 1 # scaled by hand'));

    const { run, done } = update({ values: { replicas: 2 } });
    await done;
    assert.deepEqual(run.outputs.get('conflicts'), ['README.md']);
    const merged = await read('README.md');
    assert.match(merged, /<<<<<<< ours \(repository\)\nreplicas: 1 # scaled by hand\n/);
    assert.match(merged, /=======\nreplicas: 2\n>>>>>>> theirs \(tiny@1\.0\.0\)\n/);
    const summary = run.outputs.get('summary') as string;
    assert.match(summary, /^## svcgen: tiny@1\.0\.0 with changed answers\n/);
    assert.match(summary, /### Conflicts to resolve\n\n- `README\.md`\n\n.*<<<<<<</);
    assert.ok(run.logger.lines.includes('warn: svcgen: conflict in README.md (conflict markers)'), run.logger.lines.join('\n'));
  });

  it('lists renamed and deleted files when changed answers move a generated folder', async () => {
    await generate(URL_V1);
    await fs.writeFile(path.join(repo(), 'user_service', '__init__.py'), '# Team docstring.\n');
    const { run, done } = update({ values: { serviceName: 'orders' } });
    await done;
    assert.deepEqual(run.outputs.get('renamed'), [{ from: 'user_service/__init__.py', to: 'orders/__init__.py' }]);
    assert.deepEqual(run.outputs.get('deleted'), ['user_service/__init__.py']);
    assert.equal(await read('orders/__init__.py'), '# Team docstring.\n');
    await assert.rejects(fs.stat(path.join(repo(), 'user_service')), { code: 'ENOENT' });
    assert.match(run.outputs.get('summary') as string, /### Renamed\n\n- `user_service\/__init__\.py` → `orders\/__init__\.py`/);
  });

  it('fails with an InputError and writes nothing without an answers file', async () => {
    await fs.mkdir(repo());
    await fs.writeFile(path.join(repo(), 'README.md'), 'hand-made\n');
    const before = await readTree(workspace);
    const { done } = update({ templateSet: URL_V2 });
    const err = await rejectsWith(done, 'InputError');
    assert.match(err.message, /\.\/repo has no \.svcgen\/answers\.yaml: it was not generated by svcgen, nothing is proposed/);
    assert.deepEqual(await readTree(workspace), before);
  });

  it('fails with an InputError when the recorded set is found at another version, and merges from fromTemplateSet', async () => {
    // Generated from the set named "tiny" at 1.0.0; the backend's "tiny" is now 1.1.0.
    await generate('tiny', [path.join(root, 'v1')]);
    const before = await readTree(workspace);
    const { done } = update({}, [path.join(root, 'v2')]);
    const err = await rejectsWith(done, 'InputError');
    assert.match(err.message, /generated by tiny@1\.0\.0, but tiny is at version 1\.1\.0; the update needs the recorded version 1\.0\.0/);
    assert.match(err.message, /fromTemplateSet/);
    assert.deepEqual(await readTree(workspace), before);

    const again = update({ fromTemplateSet: URL_V1 }, [path.join(root, 'v2')]);
    await again.done;
    assert.equal(again.run.outputs.get('fromVersion'), '1.0.0');
    assert.equal(again.run.outputs.get('toVersion'), '1.1.0');
    assert.match(await read('README.md'), /Owned by the platform team/);
  });

  it('reads the set at the tag of an exact templateVersion when the recorded URL is at the tag of the recorded version', async () => {
    await generate(URL_V1);
    await fs.appendFile(path.join(repo(), 'README.md'), '\nTeam notes.\n');
    const { run, done } = update({ templateVersion: '1.1.0' });
    await done;
    assert.equal(run.outputs.get('toVersion'), '1.1.0');
    assert.match(await read('README.md'), /Owned by the platform team\.\n\nreplicas: 1\n\nTeam notes\.\n$/);
    assert.match(await read('.svcgen/answers.yaml'), new RegExp(`source: "${URL_V2.replace(/[.]/g, '\\.')}"`));
  });

  it('changes nothing for the same version with the same answers', async () => {
    await generate(URL_V1);
    const before = await readTree(workspace);
    const { run, done } = update({});
    await done;
    assert.deepEqual(await readTree(workspace), before);
    for (const count of ['changed', 'added', 'removed']) assert.equal(run.outputs.get(count), 0);
    assert.deepEqual(run.outputs.get('conflicts'), []);
    assert.equal(run.outputs.get('summary'), '## svcgen: up to date with tiny@1.0.0\n\nNothing to change.\n');
  });
});

describe('atVersionTag', () => {
  const at = 'https://github.com/acme/templates/tree/v1.0.0/sets/microservice';
  it('moves a URL from the tag of the recorded version to the tag of the wanted one, keeping its style', () => {
    assert.equal(atVersionTag(at, '1.0.0', '1.2.0'), 'https://github.com/acme/templates/tree/v1.2.0/sets/microservice');
    assert.equal(atVersionTag(at, '1.0.0', ' v2.0.0-rc.1 '), 'https://github.com/acme/templates/tree/v2.0.0-rc.1/sets/microservice');
    assert.equal(
      atVersionTag('https://gitlab.example/acme/templates/-/tree/1.0.0/x', '1.0.0', '1.1.0'),
      'https://gitlab.example/acme/templates/-/tree/1.1.0/x',
    );
  });
  it('leaves ranges, names, paths and URLs without the recorded version alone', () => {
    assert.equal(atVersionTag(at, '1.0.0', '^1.2.0'), undefined);
    assert.equal(atVersionTag(at, '1.0.0', undefined), undefined);
    assert.equal(atVersionTag('microservice', '1.0.0', '1.2.0'), undefined);
    assert.equal(atVersionTag('./sets/microservice', '1.0.0', '1.2.0'), undefined);
    assert.equal(atVersionTag('https://github.com/acme/templates/tree/main/x', '1.0.0', '1.2.0'), undefined);
    // The host is never touched, only the path.
    assert.equal(atVersionTag('https://1.0.0/acme/x', '1.0.0', '1.2.0'), undefined);
  });
});
