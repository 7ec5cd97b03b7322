import {
  BROKEN_SET,
  FIXTURES,
  PACKAGE_ROOT,
  readTree,
  removeDir,
  setWithLinks,
  tempDir,
  TINY_SET,
  USER_SERVICE_VALUES,
} from '../__testing__/helpers';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { splitOutput, SvcgenEngine } from '../engine';
import { parseSetValue } from './preview';

const BIN = path.join(PACKAGE_ROOT, 'bin', 'svcgen-preview.js');
/** An overlay of the tiny set, extending it by the relative path ../tiny. */
const TINY_OVERLAY = path.join(FIXTURES, 'tiny-overlay');

/**
 * Renders in this process as the CLI does in `cwd`: the answers file records a set's folder
 * relative to the working folder.
 */
async function renderIn(cwd: string, set: string, values: unknown) {
  const before = process.cwd();
  process.chdir(cwd);
  try {
    return await new SvcgenEngine().render(set, values);
  } finally {
    process.chdir(before);
  }
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the installed bin script (which loads dist/) in `cwd`. */
function preview(args: string[], cwd: string): Promise<Result> {
  return new Promise(resolve => {
    execFile(process.execPath, [BIN, ...args], { cwd }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('svcgen-preview', () => {
  let cwd: string;
  beforeEach(async () => {
    cwd = await tempDir('svcgen-cli-');
  });
  afterEach(async () => {
    await removeDir(cwd);
  });

  it('prints the tree of what would be generated and writes nothing', async () => {
    const values = { serviceName: 'user-service', withScript: true };
    const result = await preview(
      ['--template-dir', TINY_SET, '--set', 'serviceName=user-service', '--set', 'withScript=true'],
      cwd,
    );
    assert.equal(result.code, 0, result.stderr);
    const engine = new SvcgenEngine();
    const tree = engine.formatTree((await renderIn(cwd, TINY_SET, values)).files);
    assert.ok(tree.includes('run.sh'));
    assert.equal(result.stdout, `tiny@1.0.0 would generate (nothing written; add --out DIR to write):\n${tree}`);
    assert.equal(result.stderr, '');
    assert.deepEqual(await fs.readdir(cwd), []);
  });

  it('writes files byte-identical to a render with --out', async () => {
    const values = { serviceName: 'user-service', withScript: true, replicas: 3 };
    const result = await preview(
      ['--template-dir', TINY_SET, '--set', 'serviceName=user-service', '--set', 'withScript=true', '--set', 'replicas=3', '--out', 'out'],
      cwd,
    );
    assert.equal(result.code, 0, result.stderr);
    const outDir = path.join(await fs.realpath(cwd), 'out');
    assert.match(result.stdout, new RegExp(`wrote 4 files \\(0\\.\\d KiB\\) to ${outDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n$`));

    const rendered = splitOutput(await renderIn(cwd, TINY_SET, values));
    const written = await readTree(outDir);
    assert.deepEqual(
      written,
      new Map(rendered.map(f => [f.path, { contents: Buffer.from(f.contents), executable: f.executable }])),
    );
    assert.equal(written.get('run.sh')?.executable, true);
    assert.match(written.get('README.md')!.contents.toString(), /replicas: 3/);
    assert.match(written.get('.svcgen/answers.yaml')!.contents.toString(), /\n {6}source: ".*\/tiny"\nvalues:\n/);
  });

  it('merges --values files in order, then --set and --set-string in order', async () => {
    await fs.writeFile(path.join(cwd, 'a.json'), JSON.stringify({ serviceName: 'from-json', replicas: 2 }));
    await fs.writeFile(path.join(cwd, 'b.yaml'), 'serviceName: from-yaml\nwithScript: true\n');
    const result = await preview(
      ['--template-dir', TINY_SET, '--values', 'a.json', '--values', 'b.yaml', '--set', 'replicas=4', '--json'],
      cwd,
    );
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout);
    assert.deepEqual(json.template, {
      name: 'tiny',
      version: '1.0.0',
      layers: [{ name: 'tiny', version: '1.0.0', source: TINY_SET }],
    });
    assert.deepEqual(json.values, { serviceName: 'from-yaml', withScript: true, replicas: 4 });
    assert.deepEqual(json.derived, { serviceSnake: 'from_yaml' });
    assert.deepEqual(
      json.files.map((f: { path: string }) => f.path),
      ['.svcgen/answers.yaml', 'README.md', 'from_yaml/__init__.py', 'run.sh'],
    );
    assert.equal(json.out, undefined);
  });

  it('keeps --set-string values as strings', async () => {
    const result = await preview(
      ['--template-dir', TINY_SET, '--set', 'serviceName=abc', '--set-string', 'replicas=3', '--out', 'out'],
      cwd,
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /replicas: expected an integer, got the string "3"/);
  });

  it('exits 1 listing every problem and writes nothing', async () => {
    const result = await preview(
      ['--template-dir', TINY_SET, '--set', 'serviceName=Bad_Name', '--set', 'withScript=yes', '--set', 'colour=blue', '--out', 'out'],
      cwd,
    );
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^svcgen-preview: invalid values: 3 problems\n/);
    assert.match(result.stderr, /\n {2}- serviceName: "Bad_Name" must be kebab-case/);
    assert.match(result.stderr, /\n {2}- withScript: expected a boolean, got the string "yes"/);
    assert.match(result.stderr, /\n {2}- colour: is not a parameter of this template/);
    assert.deepEqual(await fs.readdir(cwd), []);
  });

  it('prints validation problems as JSON too with --json', async () => {
    const result = await preview(['--template-dir', TINY_SET, '--json'], cwd);
    assert.equal(result.code, 1);
    const { error } = JSON.parse(result.stdout);
    assert.equal(error.kind, 'validation');
    assert.deepEqual(error.problems, [{ field: 'serviceName', code: 'required', message: 'serviceName: is required' }]);
  });

  it('exits 2 with the usage on usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [['--bogus'], /Unknown option '--bogus'/],
      [['stray'], /positional argument/],
      [['--set', 'serviceName'], /--set expects KEY=VALUE, got "serviceName"/],
      [['--set', '=x'], /--set expects KEY=VALUE/],
      [['--template', 'tiny', '--template-dir', TINY_SET], /either --template or --template-dir/],
      [['--values', 'missing.yaml'], /cannot read values file missing\.yaml/],
    ];
    for (const [args, message] of cases) {
      const result = await preview(args, cwd);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.match(result.stderr, /Usage: svcgen-preview/);
    }
  });

  it('exits 2 for an unknown template set, naming the available ones', async () => {
    const result = await preview(['--template', 'nope'], cwd);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^svcgen-preview: unknown template set "nope"; available: .*microservice/);
  });

  it('exits 2 for a values file that is not a mapping, or a missing template folder', async () => {
    await fs.writeFile(path.join(cwd, 'list.yaml'), '- a\n- b\n');
    let result = await preview(['--template-dir', TINY_SET, '--values', 'list.yaml'], cwd);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /values file list\.yaml must hold a mapping/);
    result = await preview(['--template-dir', 'no-such-folder'], cwd);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /template folder no-such-folder does not exist/);
  });

  it('exits 3 with file and line for a broken template set', async () => {
    const result = await preview(['--template-dir', BROKEN_SET, '--set', 'serviceName=a', '--out', 'out'], cwd);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /template error: syntax error: .*\(in skeleton\/README\.md\.jinja:3\)\n$/);
    assert.deepEqual(await fs.readdir(cwd), []);
  });

  it('exits 3 for an unsafe output path and writes nothing', async () => {
    const result = await preview(['--template-dir', path.join(FIXTURES, 'unsafe'), '--set', 'fileName=../evil', '--out', 'out'], cwd);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /unsafe output path: "\.\.\/evil\.txt" has a "\.\." segment \(in skeleton\/\{\{ fileName \}\}\.txt\)/);
    assert.deepEqual(await fs.readdir(cwd), []);
  });

  it('exits 3 naming a symbolic link out of the template set, and writes nothing', async () => {
    const secretFile = path.join(cwd, 'secret.txt');
    await fs.writeFile(secretFile, 'the secret');
    const { root, dir } = await setWithLinks({ 'skeleton/secrets.txt': secretFile });
    try {
      const result = await preview(['--template-dir', dir, '--set', 'serviceName=a', '--out', 'out'], cwd);
      assert.equal(result.code, 3);
      assert.equal(result.stdout, '');
      assert.equal(
        result.stderr,
        `svcgen-preview: template set "linked": skeleton/secrets.txt is a symbolic link to ${secretFile}, a location outside the set; template sets may only link inside themselves\n`,
      );
      assert.deepEqual(await fs.readdir(cwd), ['secret.txt']);
    } finally {
      await removeDir(root);
    }
  });

  it('exits 3 for a folder without a manifest', async () => {
    await fs.mkdir(path.join(cwd, 'empty'));
    const result = await preview(['--template-dir', 'empty'], cwd);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /manifest\.yaml/);
  });

  it('renders an overlay folder with its chain of bases, and never prints a secret', async () => {
    let result = await preview(['--template', TINY_OVERLAY, '--set', 'serviceName=abc'], cwd);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^tiny-overlay@2\.0\.0 extends tiny@1\.0\.0 would generate \(nothing written/);
    assert.match(result.stdout, /OWNERS/);

    // --template-dir reads the same; a secret given is used but printed nowhere.
    result = await preview(['--template-dir', TINY_OVERLAY, '--set', 'serviceName=abc', '--set', 'apiToken=s3cret', '--json'], cwd);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /s3cret|apiToken/);
    const json = JSON.parse(result.stdout);
    assert.deepEqual(json.template.layers, [
      { name: 'tiny-overlay', version: '2.0.0', source: TINY_OVERLAY },
      { name: 'tiny', version: '1.0.0', source: TINY_SET },
    ]);
    // The overlay's narrowed default and its new parameter.
    assert.deepEqual(json.values, { serviceName: 'abc', withScript: false, replicas: 2, tier: 'gold' });
    assert.deepEqual(
      json.files.map((f: { path: string }) => f.path),
      ['.svcgen/answers.yaml', 'OWNERS', 'README.md', 'abc/__init__.py'],
    );

    // A file: URL is a folder too; the base it names by relative path resolves as a URL beside it.
    result = await preview(['--template', pathToFileURL(TINY_OVERLAY).href, '--set', 'serviceName=abc', '--json'], cwd);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      JSON.parse(result.stdout).template.layers.map((l: { source: string }) => l.source),
      [pathToFileURL(TINY_OVERLAY).href, pathToFileURL(TINY_SET).href],
    );
  });

  it('exits 3 naming the overlay manifest and line when an overlay widens its base', async () => {
    // Three layers: this one extends the tiny overlay by file: URL and offers a tier it lacks.
    await fs.mkdir(path.join(cwd, 'wide'));
    await fs.writeFile(
      path.join(cwd, 'wide', 'manifest.yaml'),
      `name: wide\nversion: 0.1.0\nextends:\n  set: ${pathToFileURL(TINY_OVERLAY).href}\nparameters:\n  tier:\n    enum: [gold, silver, bronze]\n`,
    );
    // Named relative to the working folder, as the set was found there.
    const manifest = './wide/manifest.yaml';
    let result = await preview(['--template', './wide', '--set', 'serviceName=abc', '--out', 'out'], cwd);
    assert.equal(result.code, 3);
    assert.equal(result.stdout, '');
    assert.equal(
      result.stderr,
      `svcgen-preview: invalid template set: parameter "tier": enum adds "bronze", which the base does not offer; an overlay may only narrow a parameter (in ${manifest}:7)\n`,
    );
    assert.deepEqual(await fs.readdir(cwd), ['wide']);

    result = await preview(['--template', './wide', '--set', 'serviceName=abc', '--json'], cwd);
    assert.equal(result.code, 3);
    const { error } = JSON.parse(result.stdout);
    assert.deepEqual([error.kind, error.file, error.line], ['manifest', manifest, 7]);
  });

  it('exits 3 when a base cannot be found or is read from a URL the CLI cannot read', async () => {
    for (const [set, message] of [
      ['../nowhere', /template set \.\.\/nowhere \(extended by \.\/bad\): no manifest\.yaml in \/.*\/nowhere\n$/],
      ['file:///nonexistent/tiny', /template set file:\/\/\/nonexistent\/tiny: no manifest\.yaml in \/nonexistent\/tiny\n$/],
      ['https://example.com/sets/tiny', /template set https:\/\/example\.com\/sets\/tiny is read from a URL, which the preview CLI cannot do/],
    ]) {
      await fs.mkdir(path.join(cwd, 'bad'), { recursive: true });
      await fs.writeFile(path.join(cwd, 'bad', 'manifest.yaml'), `name: bad\nversion: 0.1.0\nextends:\n  set: ${set}\n`);
      const result = await preview(['--template', './bad'], cwd);
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, message as RegExp);
    }
  });

  it('re-renders byte for byte from a generated repository\'s answers file', async () => {
    let result = await preview(
      ['--template', TINY_OVERLAY, '--set', 'serviceName=abc', '--set', 'withScript=true', '--set', 'apiToken=s3cret', '--out', 'out'],
      cwd,
    );
    assert.equal(result.code, 0, result.stderr);
    const answersFile = path.join(cwd, 'out', '.svcgen', 'answers.yaml');
    const answers = await fs.readFile(answersFile, 'utf8');
    assert.match(answers, /\n {6}source: ".*\/tiny-overlay"\n.*\n.*\n {6}source: ".*\/tiny"\n/);
    assert.doesNotMatch(answers, /s3cret|apiToken/);

    result = await preview(['--answers', 'out/.svcgen/answers.yaml', '--out', 'out2'], cwd);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^tiny-overlay@2\.0\.0 extends tiny@1\.0\.0 generated:/);
    assert.equal(result.stderr, '');
    const first = await readTree(path.join(cwd, 'out'));
    assert.deepEqual(await readTree(path.join(cwd, 'out2')), first);
    assert.equal(first.size, 5);

    // --values and --set override the answers' values.
    result = await preview(['--answers', answersFile, '--set', 'replicas=4', '--json'], cwd);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).values, { serviceName: 'abc', withScript: true, replicas: 4, tier: 'gold' });
  });

  it('re-renders from an answers file naming a set folder of the working folder', async () => {
    await fs.cp(TINY_SET, path.join(cwd, 'mytiny'), { recursive: true });
    let result = await preview(['--template', './mytiny', '--set', 'serviceName=abc', '--out', 'out'], cwd);
    assert.equal(result.code, 0, result.stderr);
    assert.match(await fs.readFile(path.join(cwd, 'out', '.svcgen', 'answers.yaml'), 'utf8'), /\n {6}source: "\.\/mytiny"\n/);
    result = await preview(['--answers', 'out/.svcgen/answers.yaml', '--out', 'out2'], cwd);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await readTree(path.join(cwd, 'out2')), await readTree(path.join(cwd, 'out')));
  });

  it('renders an answers file\'s values with the set --template names, noting the change of set', async () => {
    let result = await preview(['--template-dir', TINY_SET, '--set', 'serviceName=abc', '--out', 'out'], cwd);
    assert.equal(result.code, 0, result.stderr);
    result = await preview(['--answers', 'out/.svcgen/answers.yaml', '--template', TINY_OVERLAY, '--json'], cwd);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stderr,
      'svcgen-preview: note: out/.svcgen/answers.yaml was written by tiny@1.0.0; rendering tiny-overlay@2.0.0\n',
    );
    const json = JSON.parse(result.stdout);
    assert.equal(json.template.name, 'tiny-overlay');
    assert.deepEqual(json.values, { serviceName: 'abc', withScript: false, replicas: 1, tier: 'gold' });
  });

  it('exits 2 for an answers file it cannot use', async () => {
    const write = (name: string, text: string) => fs.writeFile(path.join(cwd, name), text);
    await write('url.yaml', 'template:\n  layers:\n    - { name: t, version: 1.0.0, source: "https://github.com/acme/t/tree/v1" }\nvalues: {}\n');
    await write('none.yaml', 'template:\n  name: t\nvalues: {}\n');
    await write('list.yaml', '- a\n');
    const cases: [string, RegExp][] = [
      ['url.yaml', /^svcgen-preview: answers file url\.yaml: the set was read from https:\/\/github\.com\/acme\/t\/tree\/v1: the preview CLI reads local folders and file: URLs only; pass --template /],
      ['none.yaml', /^svcgen-preview: answers file none\.yaml names no template set \(template\.layers\[0\]\.source\): pass --template/],
      ['list.yaml', /answers file list\.yaml is not an svcgen answers file/],
      ['missing.yaml', /cannot read answers file missing\.yaml/],
    ];
    for (const [file, message] of cases) {
      const result = await preview(['--answers', file], cwd);
      assert.equal(result.code, 2, `${file}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });

  it('renders the built-in microservice set by default', async () => {
    const result = await preview(['--values', USER_SERVICE_VALUES], cwd);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^microservice@\S+ would generate/);
    assert.match(result.stdout, /catalog-info\.yaml/);
  });

  it('shows help with the built-in sets', async () => {
    const result = await preview(['--help'], cwd);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Usage: svcgen-preview/);
    assert.match(result.stdout, /Built-in template sets: .*microservice/);
  });
});

describe('parseSetValue', () => {
  it('types YAML scalars like helm and keeps everything else as text', () => {
    assert.equal(parseSetValue('true'), true);
    assert.equal(parseSetValue('false'), false);
    assert.equal(parseSetValue('3'), 3);
    assert.equal(parseSetValue('-2.5'), -2.5);
    assert.equal(parseSetValue('null'), null);
    assert.equal(parseSetValue(''), '');
    assert.equal(parseSetValue('user-service'), 'user-service');
    assert.equal(parseSetValue('yes'), 'yes');
    assert.equal(parseSetValue("'3'"), '3');
    assert.equal(parseSetValue('*/15 * * * *'), '*/15 * * * *');
    assert.equal(parseSetValue('a: b'), 'a: b');
    assert.equal(parseSetValue('[1, 2]'), '[1, 2]');
    assert.equal(parseSetValue('#hash'), '#hash');
    assert.equal(parseSetValue('a # comment'), 'a # comment');
    assert.equal(parseSetValue('github.com?owner=acme&repo=x'), 'github.com?owner=acme&repo=x');
  });
});
