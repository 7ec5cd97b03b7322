#!/usr/bin/env node
// The Node.js services' lock file, for every combination of options, from one npm resolution.
//
//   node templates/tools/nodejs-lock.mjs            regenerate package-lock.json.jinja (needs the npm registry)
//   node templates/tools/nodejs-lock.mjs --check    render every combination that changes the dependencies and
//                                                   check that its lock file is exactly what package.json asks for
//                                                   (needs `make setup`: it renders with plugin-ts/dist)
//
// package.json.jinja is the one place dependencies are declared, each under the `{% if %}` of the options that
// need it. `generate` installs the union of all of them once (`npm install --package-lock-only`, so every
// version is resolved together), then writes a lock template in which every package carries the condition
// under which something of that combination depends on it. A rendered lock file therefore lists exactly the
// packages its package.json needs, at the versions of the one resolution, and `npm ci` accepts it.
// To upgrade: change the ranges in package.json.jinja, run this script, then `--check` and the harness.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const skeleton = path.join(root, 'templates', 'microservice', 'skeleton', 'nodejs');
const packageTemplate = path.join(skeleton, 'package.json.jinja');
const lockTemplate = path.join(skeleton, 'package-lock.json.jinja');
const preview = path.join(root, 'plugin-ts', 'bin', 'svcgen-preview.js');

/** Each dependency of package.json.jinja with its range, its section and the condition that includes it. */
function declaredDependencies() {
  const dependencies = [];
  const stack = []; // per open {% if %}: the conditions of its earlier branches and the current one
  let section;
  for (const line of readFileSync(packageTemplate, 'utf8').split('\n')) {
    const tag = line.match(/^\{%-?\s*(if|elif|else|endif)\b\s*(.*?)\s*-?%\}$/);
    if (tag) {
      const [, keyword, expression] = tag;
      if (keyword === 'if') stack.push({ earlier: [], current: expression });
      else if (keyword === 'endif') stack.pop();
      else {
        const level = stack.at(-1);
        level.earlier.push(level.current);
        level.current = keyword === 'elif' ? expression : undefined;
      }
      continue;
    }
    if (line.includes('{%')) throw new Error(`package.json.jinja: only if/elif/else/endif lines are understood: ${line}`);
    const opened = line.match(/^\s*"(dependencies|devDependencies)": \{/);
    if (opened) section = opened[1];
    const entry = section && line.match(/^\s*"([^"]+)": "([^"]+)",?$/);
    if (entry) {
      const parts = stack.flatMap(({ earlier, current }) => [
        ...earlier.map((condition) => `not (${condition})`),
        ...(current ? [current] : []),
      ]);
      const condition = parts.length > 1 ? parts.map((part) => `(${part})`).join(' and ') : parts[0];
      dependencies.push({ name: entry[1], range: entry[2], section, condition: condition ?? 'true' });
    }
    if (section && /^\s*\}/.test(line)) section = undefined;
  }
  return dependencies;
}

/** Where Node finds `name` required from the package at `from` (a lock path), or undefined. */
function resolve(packages, from, name) {
  for (let dir = from; ; ) {
    const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!dir) return undefined;
    const at = dir.lastIndexOf('/node_modules/');
    dir = at === -1 ? '' : dir.slice(0, at);
  }
}

function edges(entry) {
  const optionalPeers = new Set(
    Object.entries(entry.peerDependenciesMeta ?? {}).filter(([, meta]) => meta.optional).map(([name]) => name),
  );
  return [
    ...Object.keys(entry.dependencies ?? {}),
    ...Object.keys(entry.optionalDependencies ?? {}),
    ...Object.keys(entry.peerDependencies ?? {}).filter((name) => !optionalPeers.has(name)),
  ];
}

/** The lock paths a root dependency brings in, itself included. */
function closure(packages, name) {
  const start = resolve(packages, '', name);
  const seen = new Set();
  const queue = start ? [start] : [];
  while (queue.length) {
    const at = queue.pop();
    if (seen.has(at)) continue;
    seen.add(at);
    for (const dependency of edges(packages[at])) {
      const found = resolve(packages, at, dependency);
      if (found) queue.push(found);
    }
  }
  return seen;
}

function anyOf(conditions) {
  const unique = [...new Set(conditions)];
  if (unique.includes('true')) return 'true';
  return unique.length === 1 ? unique[0] : unique.map((condition) => `(${condition})`).join(' or ');
}

function indent(text, by) {
  return text.split('\n').map((line, i) => (i === 0 ? line : by + line)).join('\n');
}

function generate() {
  const dependencies = declaredDependencies();
  const work = mkdtempSync(path.join(tmpdir(), 'svcgen-nodejs-lock-'));
  try {
    const union = { name: 'union', version: '0.0.0', private: true, dependencies: {}, devDependencies: {} };
    for (const { name, range, section } of dependencies) union[section][name] = range;
    writeFileSync(path.join(work, 'package.json'), JSON.stringify(union, null, 2));
    execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: work,
      stdio: 'inherit',
    });
    const lock = JSON.parse(readFileSync(path.join(work, 'package-lock.json'), 'utf8'));
    writeFileSync(lockTemplate, lockTemplateText(lock, dependencies));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`nodejs-lock: wrote ${path.relative(root, lockTemplate)}`);
}

function lockTemplateText(lock, dependencies) {
  const packages = lock.packages;
  const prod = new Map(); // lock path -> conditions of the production dependencies that bring it in
  const all = new Map(); // lock path -> conditions of any dependency that brings it in
  for (const { name, section, condition } of dependencies) {
    for (const at of closure(packages, name)) {
      for (const map of section === 'dependencies' ? [prod, all] : [all]) {
        map.set(at, [...(map.get(at) ?? []), condition]);
      }
    }
  }
  // JSON has no trailing commas: every entry ends with one except the last, so the last of each map
  // is one that every combination has.
  const entries = (items) => {
    const last = items.findLastIndex(({ condition }) => condition === 'true');
    if (last === -1) throw new Error('every map of the lock needs one package that every combination has');
    const ordered = [...items.slice(0, last), ...items.slice(last + 1), items[last]];
    return ordered.map(({ text, condition }, i) => {
      const line = i === ordered.length - 1 ? text : `${text},`;
      return condition === 'true' ? line : `{% if ${condition} %}\n${line}\n{% endif %}`;
    });
  };
  const rootEntry = packages[''];
  const root = ['      "name": {{ serviceName | json_str }},', '      "version": "0.1.0",'];
  for (const section of ['dependencies', 'devDependencies']) {
    const listed = dependencies.filter((dependency) => dependency.section === section);
    root.push(`      "${section}": {`);
    root.push(
      ...entries(
        listed.map(({ name, range, condition }) => ({
          text: `        ${JSON.stringify(name)}: ${JSON.stringify(range)}`,
          condition,
        })),
      ),
    );
    root.push('      },');
  }
  root.push(`      "engines": ${indent(JSON.stringify(rootEntry.engines ?? { node: '>=22.12' }, null, 2), '      ')}`);
  const items = [{ text: `    "": {\n${root.join('\n')}\n    }`, condition: 'true' }];
  for (const [at, entry] of Object.entries(packages)) {
    const included = all.get(at);
    if (at === '' || !included) continue; // nothing declared reaches it (cannot happen with a fresh resolution)
    const condition = anyOf(included);
    const prodCondition = prod.has(at) ? anyOf(prod.get(at)) : 'false';
    const { dev, ...rest } = entry;
    let body = indent(JSON.stringify(rest, null, 2), '    ');
    // `dev` marks packages only development dependencies need; `npm prune --omit=dev` removes them.
    if (prodCondition === 'false') {
      body = body.replace(/^\{\n/, '{\n      "dev": true,\n');
    } else if (prodCondition !== 'true' && prodCondition !== condition) {
      body = body.replace(/^\{\n/, `{\n{% if not (${prodCondition}) %}\n      "dev": true,\n{% endif %}\n`);
    }
    items.push({ text: `    ${JSON.stringify(at)}: ${body}`, condition });
  }
  return [
    '{#- Generated by templates/tools/nodejs-lock.mjs from package.json.jinja: do not edit. #}',
    '{',
    '  "name": {{ serviceName | json_str }},',
    '  "version": "0.1.0",',
    `  "lockfileVersion": ${lock.lockfileVersion},`,
    '  "requires": true,',
    '  "packages": {',
    ...entries(items),
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Every combination of the values package.json.jinja depends on. */
function combinations() {
  const axes = {
    apiType: ['rest', 'grpc', 'graphql'],
    database: ['postgresql', 'dynamodb', 'none'],
    redisCache: [false, true],
    messageQueue: ['none', 'sqs', 'sns'],
    authentication: ['none', 'jwt', 'oauth2'],
  };
  return Object.entries(axes).reduce(
    (sets, [key, values]) => sets.flatMap((set) => values.map((value) => ({ ...set, [key]: value }))),
    [{}],
  );
}

/** package.json and package-lock.json of one combination, rendered in memory by the product's engine. */
async function render(engine, values) {
  const output = await engine.render(path.join(root, 'templates', 'microservice'), {
    serviceName: 'lock-check',
    owner: 'group:default/team',
    repoUrl: 'github.com?owner=acme&repo=lock-check',
    language: 'nodejs',
    configureAdvanced: true,
    ...values,
  });
  const files = Object.fromEntries(splitOutput(output).map((file) => [file.path, file.contents]));
  const json = (name) => JSON.parse(new TextDecoder().decode(files[name]));
  return { pkg: json('package.json'), lock: json('package-lock.json') };
}

/** Problems of one rendered project: its lock must hold exactly what its package.json needs. */
function problemsOf(pkg, lock) {
  const problems = [];
  const packages = lock.packages;
  for (const section of ['dependencies', 'devDependencies']) {
    if (JSON.stringify(pkg[section]) !== JSON.stringify(Object.fromEntries(Object.entries(packages[''][section]).sort())))
      problems.push(`${section} of package.json and the lock's root differ`);
  }
  const reachable = new Set();
  const prodReachable = new Set();
  for (const [section, target] of [['dependencies', prodReachable], ['devDependencies', reachable]]) {
    for (const name of Object.keys(pkg[section] ?? {})) {
      const found = closure(packages, name);
      if (!found.size) problems.push(`${name} is not in the lock`);
      for (const at of found) {
        target.add(at);
        reachable.add(at);
      }
    }
  }
  for (const [at, entry] of Object.entries(packages)) {
    if (!at) continue;
    if (!reachable.has(at)) problems.push(`${at} is in the lock but nothing needs it`);
    if (Boolean(entry.dev) === prodReachable.has(at)) problems.push(`${at}: "dev" is ${Boolean(entry.dev)}`);
    for (const name of Object.keys(entry.dependencies ?? {})) {
      if (!resolve(packages, at, name)) problems.push(`${at} needs ${name}, which the lock lacks`);
    }
  }
  return problems;
}

async function check() {
  const { SvcgenEngine, splitOutput: split } = createRequire(import.meta.url)(path.join(root, 'plugin-ts', 'dist', 'engine.js'));
  splitOutput = split;
  const engine = new SvcgenEngine();
  const sets = combinations();
  let failed = 0;
  for (const values of sets) {
    const { pkg, lock } = await render(engine, values);
    const problems = problemsOf(pkg, lock);
    if (problems.length) {
      failed++;
      console.log(`FAIL ${JSON.stringify(values)}\n  ${problems.slice(0, 10).join('\n  ')}`);
    }
  }
  console.log(`nodejs-lock: ${sets.length - failed} of ${sets.length} combinations have a lock file that matches their package.json`);
  return failed ? 1 : 0;
}

let splitOutput;

if (process.argv.includes('--check')) process.exit(await check());
generate();
