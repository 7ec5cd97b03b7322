#!/usr/bin/env node
// The Go services' generated gRPC code, checked against the real code generators.
//
//   node templates/tools/go-grpc-gen.mjs [--quick] [--template-dir DIR]
//
// --quick leaves out the sweeps over every service and resource length (which find the lengths where a
// varint, a wrapped comment or gofmt's alignment changes): the 32 chosen value sets only.
//
// A Go gRPC service commits internal/gen/: the Go code `buf generate` writes from its contract (buf.gen.yaml:
// protoc-gen-go and protoc-gen-connect-go, run with `go tool` at the versions go.mod pins). The templates of that
// code (skeleton/go/internal/gen/…, helpers in skeleton/partials/go/grpc.jinja) reproduce the plugins' output for
// any service and resource name. This check renders the gRPC Go service for many value sets (shortest and longest
// names, every service and resource length, digits, every plural ending, names the plugins rename, module paths
// that sort anywhere among the imports, every authentication), runs the real buf generate on each rendered
// contract and compares every generated file byte for byte with the rendered one, printing a unified diff for each
// difference. Exit status 1 on any difference.
//
// The first value set is generated exactly as in its repository: its buf.gen.yaml, go.mod and go.sum, the real
// `go tool` (the go command may download modules once). The others run in batches of different contracts per buf
// run, with the plugins built once from a module pinning the versions below (under ~/.cache/svcgen/go-grpc-gen,
// from the Go module proxy the first time) behind a `go` that runs them for `go tool`: buf's and the go command's
// start-up would otherwise take most of the time. The versions must be those the generated go.mod requires.
//
// Needs `make setup` (it renders in-process with plugin-ts/dist), Go, and buf 1.75 (BUF, else `buf` on PATH,
// else the harness's venv).
import { execFile as execFileCallback, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFile = promisify(execFileCallback);

const PLUGINS = {
  'google.golang.org/protobuf': { version: 'v1.36.12', tool: 'google.golang.org/protobuf/cmd/protoc-gen-go' },
  'connectrpc.com/connect': { version: 'v1.21.1', tool: 'connectrpc.com/connect/cmd/protoc-gen-connect-go' },
};
const GO_VERSION = '1.26.0'; // connectrpc.com/connect v1.21.1 requires it

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const args = process.argv.slice(2);
const templateDir = args.includes('--template-dir')
  ? path.resolve(args[args.indexOf('--template-dir') + 1])
  : path.join(root, 'templates', 'microservice');

// ---- The value sets ----

const base = {
  owner: 'group:default/team',
  language: 'go',
  apiType: 'grpc',
  configureAdvanced: true,
};
const repo = (name, host = 'github.com', owner = 'acme') => `${host}?owner=${owner}&repo=${name}`;
// A kebab-case name of exactly `length` characters: `stem` repeated and cut, a final "-" replaced.
const sized = (stem, length) => stem.repeat(Math.ceil(length / stem.length)).slice(0, length).replace(/-$/, 'z');
const longService = sized('abcdefghi-2', 63);
const longServiceEndingService = `${sized('abcdefghij', 55)}-service`; // its resource is 55 characters

function valueSets() {
  const sets = [
    { serviceName: 'order-service' },
    { serviceName: 'a', authentication: 'jwt' },
    { serviceName: 'ab', resourceName: 'x', authentication: 'oauth2' },
    { serviceName: longService, authentication: 'jwt' },
    { serviceName: longServiceEndingService },
    { serviceName: longService, resourceName: sized('abcdefghijklmnopqrstuvwxyz', 40) },
    { serviceName: 'inventory', resourceName: sized('long-resource-name-', 39) + 'y' }, // -ies
    { serviceName: 'inventory', resourceName: sized('long-resource-name-', 39) + 's' }, // -es
    { serviceName: 'inventory', resourceName: sized('long-resource-name-', 39) + 'x', authentication: 'jwt' },
    // Digits: GoCamelCase uppercases a letter after a digit and keeps "_" before one (x_2 → X_2).
    { serviceName: 'v2-api', resourceName: 'item2-x' },
    { serviceName: 'item2x-svc', resourceName: 'a1b2' },
    { serviceName: 'k8s-cluster-service' },
    { serviceName: 's3', resourceName: 'x-2', authentication: 'jwt' },
    { serviceName: 'a1-b2-c3', resourceName: 'abc-2def-3' },
    // Plurals: -ies, -s after a vowel and y, -es after s, x, z, ch, sh.
    { serviceName: 'catalog', resourceName: 'category' },
    { serviceName: 'keyring', resourceName: 'key' },
    { serviceName: 'shipping', resourceName: 'box' },
    { serviceName: 'tracker', resourceName: 'status', authentication: 'oauth2' },
    { serviceName: 'wishlist', resourceName: 'wish' },
    { serviceName: 'league', resourceName: 'match' },
    { serviceName: 'quiz', resourceName: 'quiz' },
    // Single-letter parts.
    { serviceName: 'a-b-c', resourceName: 'a-b-c' },
    { serviceName: 'q', resourceName: 'q-r' },
    // Field names protoc-gen-go renames (Reset → Reset_): they clash with a method of every message.
    { serviceName: 'resets', resourceName: 'reset' },
    { serviceName: 'strings-service', resourceName: 'string' },
    { serviceName: 'descriptors', resourceName: 'descriptor' },
    { serviceName: 'ext', resourceName: 'extension-map' },
    // Module paths sorting first, last and case-sensitively among the Connect file's imports.
    { serviceName: 'first', repoUrl: repo('first', 'a.example.com') },
    { serviceName: 'last', repoUrl: repo('last', 'zz.example.com') },
    { serviceName: 'upper', repoUrl: repo('Upper', 'Git.Example.com', 'Acme') },
    { serviceName: 'grouped', repoUrl: repo('grouped', 'gitlab.com', 'group%2Fsub') },
    { serviceName: 'dotted', repoUrl: repo('..dotted..', 'git.example.com:8443', '.team.') },
  ];
  if (args.includes('--quick')) return sets.map((set) => ({ ...base, repoUrl: repo(set.serviceName), ...set }));
  // Every resource length with the longest service name: the descriptor's lengths pass 127 (one varint byte)
  // to 128 (two) in every message, and take most byte values (", \, control characters) along the way.
  // (Each service name differs in its last two letters: buf runs on value sets with different contract folders
  // together.)
  for (let length = 1; length <= 40; length++) {
    const serviceName = longService.slice(0, 61) + String.fromCharCode(97 + Math.floor(length / 26), 97 + (length % 26));
    sets.push({ serviceName, resourceName: sized('r0-abcdefghijklmnopqrstuvwxyz', length) });
  }
  // Every service name length: Connect's comments reach 97 characters (its wrapping width) and 98, func init()
  // stops fitting on one line (100 characters).
  for (let length = 1; length <= 63; length++) {
    sets.push({ serviceName: sized('s2-abcdefghijklmnopqrstuvwxyz', length), resourceName: 'item' });
  }
  // Resources longer than resourceName allows, taken from "<resource>-service": the Go types' comments stop
  // aligning with Timestamp's (gofmt's alignment sections) from some length on.
  for (let length = 41; length <= 55; length++) {
    sets.push({ serviceName: `${sized('abcdefghijklmnopqrstuvwxyz-2', length)}-service` });
  }
  return sets.map((set) => ({ ...base, repoUrl: repo(set.serviceName), ...set }));
}

// ---- Tools ----

function findBuf() {
  const candidates = [process.env.BUF, 'buf'];
  const harness = path.join(homedir(), '.cache', 'svcgen', 'harness');
  if (existsSync(harness)) {
    for (const venv of readdirSync(harness).sort()) candidates.push(path.join(harness, venv, 'bin', 'buf'));
  }
  for (const candidate of candidates.filter(Boolean)) {
    try {
      const version = execFileSync(candidate, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      return { buf: candidate, version: version.trim() };
    } catch {
      // not this one
    }
  }
  throw new Error('buf not found: set BUF, put buf on PATH (pip install buf-bin==1.75.0) or run the harness once');
}

/**
 * A module whose go.mod pins the plugins as the generated go.mod does (made once), the plugins built from it, and a
 * folder with a `go` that runs `go tool protoc-gen-…` as those binaries: the go command's own start-up costs more
 * than a plugin run, and buf runs two per value set.
 */
function toolsModule() {
  const versions = Object.entries(PLUGINS).map(([module, { version }]) => `${module}@${version}`).join(' ');
  const dir = path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'svcgen', 'go-grpc-gen',
    versions.replace(/[^A-Za-z0-9.@-]+/g, '_'));
  const goMod = [
    'module svcgen.local/go-grpc-gen',
    '',
    `go ${GO_VERSION}`,
    '',
    'tool (',
    ...Object.values(PLUGINS).map(({ tool }) => `\t${tool}`).sort(),
    ')',
    '',
    'require (',
    ...Object.entries(PLUGINS).map(([module, { version }]) => `\t${module} ${version}`).sort(),
    ')',
    '',
  ].join('\n');
  const bin = path.join(dir, 'bin');
  const names = Object.values(PLUGINS).map(({ tool }) => tool.split('/').at(-1));
  if (!existsSync(path.join(dir, 'go.sum')) || readFileSync(path.join(dir, 'go.mod.in'), 'utf8') !== goMod) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'go.mod'), goMod);
    execFileSync('go', ['mod', 'tidy'], { cwd: dir, stdio: 'inherit' });
    writeFileSync(path.join(dir, 'go.mod.in'), goMod);
  }
  if (names.some((name) => !existsSync(path.join(bin, name)))) {
    execFileSync('go', ['build', '-o', `${bin}/`, ...Object.values(PLUGINS).map(({ tool }) => tool)], {
      cwd: dir,
      stdio: 'inherit',
    });
  }
  const go = path.join(execFileSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).trim(), 'bin', 'go');
  const shim = path.join(dir, 'shim');
  mkdirSync(shim, { recursive: true });
  const script = [
    '#!/bin/sh',
    `# go-grpc-gen: \`go tool ${names.join('|')}\` runs the binary built from ../go.mod; anything else, the go command.`,
    'case "$1 $2" in',
    ...names.map((name) => `  "tool ${name}") shift 2; exec "${bin}/${name}" "$@" ;;`),
    'esac',
    `exec "${go}" "$@"`,
    '',
  ].join('\n');
  if (!existsSync(path.join(shim, 'go')) || readFileSync(path.join(shim, 'go'), 'utf8') !== script) {
    writeFileSync(path.join(shim, 'go'), script, { mode: 0o755 });
  }
  return { shim };
}

// ---- The check ----

const decoder = new TextDecoder();

/** Every file of a folder, by its path relative to it. */
function readTree(dir, prefix = '') {
  const files = {};
  if (!existsSync(dir)) return files;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) Object.assign(files, readTree(path.join(dir, entry.name), relative));
    else files[relative] = readFileSync(path.join(dir, entry.name), 'utf8');
  }
  return files;
}

function unifiedDiff(work, name, rendered, generated) {
  const a = path.join(work, 'diff-rendered');
  const b = path.join(work, 'diff-generated');
  writeFileSync(a, rendered);
  writeFileSync(b, generated);
  try {
    execFileSync('diff', ['-u', '--label', `rendered/${name}`, '--label', `buf-generate/${name}`, a, b], {
      encoding: 'utf8',
    });
    return '';
  } catch (error) {
    const lines = String(error.stdout).split('\n');
    return lines.length > 120 ? [...lines.slice(0, 120), `… ${lines.length - 120} more lines`].join('\n') : lines.join('\n');
  }
}

/** What the check needs of one value set's render, and the problems seen without running anything. */
function prepare(files) {
  const text = (name) => (name in files ? decoder.decode(files[name]) : '');
  const problems = [];
  for (const [module, { version }] of Object.entries(PLUGINS)) {
    const required = text('go.mod').match(new RegExp(`^\\s*(?:require\\s+)?${module.replace(/\./g, '\\.')} (v\\S+)`, 'm'));
    if (required && required[1] !== version) {
      problems.push(`go.mod requires ${module} ${required[1]}, this check (and the templates) ${version}`);
    }
  }
  for (const { tool } of Object.values(PLUGINS)) {
    if (!new RegExp(`^(?:tool[ \\t]+|[ \\t]+)${tool.replace(/\./g, '\\.')}[ \\t]*$`, 'm').test(text('go.mod'))) {
      problems.push(`go.mod has no tool line for ${tool} (buf.gen.yaml runs it with go tool)`);
    }
  }
  if (!text('buf.gen.yaml') || !text('buf.yaml')) problems.push('buf.gen.yaml or buf.yaml is not rendered');
  const protos = Object.keys(files).filter((name) => name.startsWith('proto/'));
  const rendered = Object.fromEntries(
    Object.keys(files)
      .filter((name) => name.startsWith('internal/gen/'))
      .map((name) => [name.slice('internal/gen/'.length), text(name)]),
  );
  return {
    files,
    problems,
    bufGen: text('buf.gen.yaml'),
    options: [...text('buf.gen.yaml').matchAll(/^\s*- (M\S+)$/gm)].map((match) => match[1]),
    protos,
    // The contract's folder under proto/ (serviceSnake): where its generated code goes under internal/gen/.
    folder: protos.length ? protos[0].split('/')[1] : '',
    rendered,
  };
}

/** The problems of a value set: its rendered internal/gen/ against `generated` (buf generate's, by path). */
function compare(set, generated, work) {
  const problems = [...set.problems];
  for (const name of [...new Set([...Object.keys(generated), ...Object.keys(set.rendered)])].sort()) {
    if (!(name in set.rendered)) problems.push(`internal/gen/${name} is generated but not rendered`);
    else if (!(name in generated)) problems.push(`internal/gen/${name} is rendered but buf generate does not write it`);
    else if (set.rendered[name] !== generated[name]) {
      problems.push(`internal/gen/${name} differs:\n${unifiedDiff(work, name, set.rendered[name], generated[name])}`);
    }
  }
  if (!Object.keys(generated).length) problems.push('buf generate wrote nothing for it');
  return problems;
}

async function bufGenerate(buf, work, PATH) {
  try {
    await execFile(buf, ['generate'], { cwd: work, env: { ...process.env, PATH } });
    return '';
  } catch (error) {
    return `buf generate failed: ${error.stderr || error.message}`;
  }
}

/**
 * One value set as its repository has it: buf.yaml, buf.gen.yaml, proto/, go.mod and go.sum, the plugins run by
 * the real `go tool` (the go command may download the modules go.mod requires, once).
 */
async function checkAlone(set, work, buf) {
  for (const name of ['buf.yaml', 'buf.gen.yaml', 'go.mod', 'go.sum', ...set.protos]) {
    if (!(name in set.files)) return [...set.problems, `${name} is not rendered`];
    mkdirSync(path.join(work, path.dirname(name)), { recursive: true });
    writeFileSync(path.join(work, name), set.files[name]);
  }
  const failure = await bufGenerate(buf, work, process.env.PATH);
  return failure ? [...set.problems, failure] : compare(set, readTree(path.join(work, 'internal', 'gen')), work);
}

/**
 * Value sets with different contract folders in one buf run (buf's start-up and compilation cost more than the
 * plugins): each contract is a module of one workspace, and the configuration is the first value set's
 * buf.gen.yaml (which checkAlone runs as is) with every set's M option. Each set's buf.gen.yaml must be the
 * first's but for its M option.
 */
async function checkTogether(sets, first, work, buf, tools) {
  const modules = [];
  for (const [i, set] of sets.entries()) {
    for (const name of set.protos) {
      mkdirSync(path.join(work, `m${i}`, path.dirname(name)), { recursive: true });
      writeFileSync(path.join(work, `m${i}`, name), set.files[name]);
    }
    modules.push(`  - path: m${i}/proto`);
  }
  writeFileSync(path.join(work, 'buf.yaml'), ['version: v2', 'modules:', ...modules, ''].join('\n'));
  const config = [];
  let inputs = false;
  for (const line of first.bufGen.split('\n')) {
    if (/^inputs:/.test(line)) inputs = true;
    else if (/^\S/.test(line)) inputs = false;
    const option = line.match(/^(\s*- )M\S+$/);
    if (option) config.push(...sets.flatMap((set) => set.options.map((o) => `${option[1]}${o}`)));
    else if (!inputs) config.push(line);
  }
  writeFileSync(path.join(work, 'buf.gen.yaml'), config.join('\n'));
  const failure = await bufGenerate(buf, work, `${tools.shim}${path.delimiter}${process.env.PATH}`);
  const generated = readTree(path.join(work, 'internal', 'gen'));
  const withoutOptions = (text) => text.replace(/^(\s*- )M\S+$/gm, '$1M');
  return sets.map((set) => {
    const problems = withoutOptions(set.bufGen) === withoutOptions(first.bufGen) ? [] : [
      "buf.gen.yaml differs from the first value set's other than in its M option",
    ];
    if (failure) return [...set.problems, ...problems, failure];
    const own = Object.fromEntries(
      Object.entries(generated)
        .filter(([name]) => name.startsWith(`${set.folder}/`))
        .map(([name, contents]) => [name, contents]),
    );
    return [...problems, ...compare(set, own, work)];
  });
}

async function main() {
  const require = createRequire(import.meta.url);
  const { packLayers, readTemplateSetFiles, splitOutput } = require(path.join(root, 'plugin-ts', 'dist', 'engine.js'));
  const { TemplateSet } = require(path.join(root, 'plugin-ts', 'wasm', 'svcgen.js'));
  const { buf, version } = findBuf();
  const tools = toolsModule();
  const sets = valueSets();
  const scratch = mkdtempSync(path.join(tmpdir(), 'svcgen-go-grpc-gen-'));
  const results = new Array(sets.length);
  let strayFiles = false;
  try {
    // The core compiles the set once; each render is then in memory.
    const { index, data } = packLayers([{ source: 'microservice', files: await readTemplateSetFiles(templateDir) }]);
    const templateSet = TemplateSet.load(index, data);
    const render = (values) =>
      Object.fromEntries(splitOutput(templateSet.render(values)).map((file) => [file.path, file.contents]));
    // Without gRPC, none of it is generated.
    const rest = render({ ...base, serviceName: 'rest-service', repoUrl: repo('rest-service'), apiType: 'rest' });
    const stray = Object.keys(rest).filter((name) => name === 'buf.gen.yaml' || name.startsWith('internal/gen/'));
    if (stray.length) {
      strayFiles = true;
      console.log(`FAIL apiType rest renders ${stray.join(', ')}`);
    }
    // Render one after the other while buf runs on the sets already rendered, in batches of sets whose
    // contracts have different folders.
    const running = new Set();
    const start = async (task) => {
      while (running.size >= Math.max(2, availableParallelism())) await Promise.race(running);
      const tracked = task().finally(() => running.delete(tracked));
      running.add(tracked);
    };
    let first;
    let open = [];
    const flush = async () => {
      const batch = open;
      open = [];
      const work = path.join(scratch, `batch-${batch[0].index}`);
      mkdirSync(work);
      await start(async () => {
        const problems = await checkTogether(batch.map(({ set }) => set), first, work, buf, tools);
        for (const [j, { index }] of batch.entries()) results[index] = problems[j];
      });
    };
    for (const [index, values] of sets.entries()) {
      const set = prepare(render(values));
      if (index === 0) {
        first = set;
        const work = path.join(scratch, 'alone');
        mkdirSync(work);
        await start(async () => {
          results[0] = await checkAlone(set, work, buf);
        });
        continue;
      }
      if (open.some((other) => other.set.folder === set.folder) || open.length === 20) await flush();
      open.push({ index, set });
    }
    if (open.length) await flush();
    await Promise.all(running);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  // Every failing value set, the problems (and diffs) of the first five.
  let failed = 0;
  for (const [i, problems] of results.entries()) {
    if (!problems.length) continue;
    failed++;
    const { owner, language, apiType, configureAdvanced, ...shown } = sets[i];
    console.log(`FAIL ${JSON.stringify(shown)}${failed <= 5 ? `\n  ${problems.join('\n  ')}` : ''}`);
  }
  const plugins = Object.values(PLUGINS).map(({ tool, version: v }) => `${tool.split('/').at(-1)} ${v}`);
  console.log(
    `go-grpc-gen: ${sets.length - failed} of ${sets.length} value sets render internal/gen exactly as ` +
      `buf generate writes it (buf ${version}, ${plugins.join(', ')})`,
  );
  return failed || strayFiles ? 1 : 0;
}

process.exit(await main());
