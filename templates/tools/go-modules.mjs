#!/usr/bin/env node
// The Go services' go.mod and go.sum, for every combination of options, from one module resolution.
//
//   node templates/tools/go-modules.mjs                   regenerate go.mod.jinja and go.sum.jinja (needs the Go
//                                                         module proxy for a module no earlier resolution has)
//   node templates/tools/go-modules.mjs --upgrade         the same, but every module at its newest version
//   node templates/tools/go-modules.mjs --check           render every combination and run `go mod tidy -diff` on
//                                                         each: it must change nothing (offline once the module
//                                                         cache holds the modules; it fills it first if not)
//   node templates/tools/go-modules.mjs --check --quick   the same, once per distinct rendered go.mod, go.sum and
//                                                         set of imported packages (what `go mod tidy` reads)
//   node templates/tools/go-modules.mjs --check --recorded  without Go, in seconds: every combination still imports
//                                                         the packages, and renders the go.mod and go.sum, that
//                                                         `go mod tidy -diff` accepted when they were generated
//                                                         (generate records digests of both in go.sum.jinja)
//
// All need `make setup` (they render with plugin-ts/dist); all but --recorded need Go 1.23 or newer
// (`go mod tidy -diff`).
//
// Nothing here names a module. The Go files of each combination, rendered in memory, say which packages it
// imports (tests included: tidy keeps their modules), and its rendered go.mod which tools it declares.
// `generate` resolves all of them at once: a scratch module blank-importing every package any combination
// imports, with every tool, goes through one `go mod tidy`. The modules that go.mod.jinja already lists
// keep their versions there (tidy does not move a listed version), so regenerating after a template change
// adds the new modules at their newest version and changes no other; `--upgrade` starts from nothing.
// Then each combination's own files go through `go mod tidy` offline, starting from that union's go.mod and
// go.sum, which only removes: its go.mod requirements (direct or `// indirect` as that combination uses them)
// and go.sum lines are a subset of the union's, at the union's versions (checked). Each line of the two
// templates then carries the condition, over the form values, that selects exactly the combinations that
// have it, and every combination is rendered again and compared with what tidy wrote, byte for byte.
// The options that change no import (measured, not assumed) appear in no condition.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const setDir = path.join(root, 'templates', 'microservice');
const skeleton = path.join(setDir, 'skeleton', 'go');
const modTemplate = path.join(skeleton, 'go.mod.jinja');
const sumTemplate = path.join(skeleton, 'go.sum.jinja');
const tool = path.relative(root, fileURLToPath(import.meta.url));

/** The options that can change what a Go service imports, each with every value it takes. */
const AXES = {
  apiType: ['rest', 'grpc', 'graphql'],
  database: ['postgresql', 'dynamodb', 'none'],
  redisCache: [false, true],
  messageQueue: ['none', 'sqs', 'sns'],
  authentication: ['none', 'jwt', 'oauth2'],
  scheduledJobs: [false, true],
};

/** The values every render gets besides the axes. */
const BASE_VALUES = {
  serviceName: 'lock-check',
  owner: 'group:default/team',
  repoUrl: 'github.com?owner=acme&repo=lock-check',
  language: 'go',
  configureAdvanced: true,
};

function combinations() {
  return Object.entries(AXES).reduce(
    (sets, [key, values]) => sets.flatMap((set) => values.map((value) => ({ ...set, [key]: value }))),
    [{}],
  );
}

function describe(values) {
  return Object.keys(AXES)
    .map((key) => (typeof values[key] === 'boolean' ? `${values[key] ? '' : '!'}${key}` : `${key}=${values[key]}`))
    .join(' ');
}

// ---------------------------------------------------------------------------------------------------------
// Rendering and reading Go sources

let engineModule;
let engine;

function loadEngine() {
  const dist = path.join(root, 'plugin-ts', 'dist', 'engine.js');
  if (!existsSync(dist)) throw new Error(`${path.relative(root, dist)} is missing: run \`make setup\` first`);
  engineModule = createRequire(import.meta.url)(dist);
  engine = new engineModule.SvcgenEngine();
}

/** One combination rendered in memory: its files as text, by path. */
async function render(values) {
  let output;
  try {
    output = await engine.render(setDir, {
      ...BASE_VALUES,
      ...(values.scheduledJobs ? { schedule: '*/5 * * * *' } : {}),
      ...values,
    });
  } catch (error) {
    throw new Error(`${describe(values)}: the render failed: ${error instanceof Error ? error.message : error}`);
  }
  const files = new Map();
  const decoder = new TextDecoder();
  for (const file of engineModule.splitOutput(output)) files.set(file.path, decoder.decode(file.contents));
  return files;
}

/**
 * The import paths of one Go file, and whether `go mod tidy` leaves it out: it reads a file whatever its build
 * constraint, except one that needs the tag `ignore` (`//go:build ignore`, or `ignore && ...`).
 */
function goFileImports(text, where) {
  let at = 0;
  let ignored = false;
  let header = true; // before the package clause, where a build constraint stands
  const fail = (what) => {
    throw new Error(`${where}: ${what} at offset ${at}`);
  };
  // Whitespace and comments; a `//go:build` line before the package clause is the file's build constraint.
  const skip = () => {
    for (;;) {
      const rest = text.slice(at);
      const space = rest.match(/^\s+/);
      if (space) {
        at += space[0].length;
        continue;
      }
      if (rest.startsWith('//')) {
        const end = text.indexOf('\n', at);
        const line = text.slice(at, end === -1 ? text.length : end);
        const constraint = header && line.match(/^\/\/go:build\s+(.*)$/);
        if (constraint && !constraint[1].includes('||') && constraint[1].split(/[\s()&]+/).includes('ignore')) ignored = true;
        at = end === -1 ? text.length : end + 1;
        continue;
      }
      if (rest.startsWith('/*')) {
        const end = text.indexOf('*/', at + 2);
        if (end === -1) fail('unterminated comment');
        at = end + 2;
        continue;
      }
      return;
    }
  };
  const token = (pattern) => {
    skip();
    const found = text.slice(at).match(pattern);
    if (!found) return undefined;
    at += found[0].length;
    return found[0];
  };
  const importPath = () => {
    const literal = token(/^("(?:[^"\\\n]|\\.)*"|`[^`]*`)/);
    if (!literal) fail('expected an import path');
    return literal.startsWith('`') ? literal.slice(1, -1) : JSON.parse(literal);
  };
  const spec = () => {
    token(/^(?:[\p{L}_][\p{L}\p{N}_]*|\.)(?=\s*["`])/u);
    return importPath();
  };
  if (!token(/^package\b/)) fail('expected the package clause');
  header = false;
  if (!token(/^[\p{L}_][\p{L}\p{N}_]*/u)) fail('expected the package name');
  const imports = [];
  while (token(/^import\b/)) {
    if (token(/^\(/)) {
      while (!token(/^\)/)) {
        imports.push(spec());
        token(/^;/);
      }
    } else {
      imports.push(spec());
    }
    token(/^;/);
  }
  return { imports, ignored };
}

/** Whether the go command builds a file at this path of the module (it skips testdata, _x and .x folders). */
function inBuild(file) {
  const parts = file.split('/');
  return parts.slice(0, -1).every((part) => part !== 'testdata' && !/^[._]/.test(part)) && !/^[._]/.test(parts.at(-1));
}

/** What `go mod tidy` reads of one rendered combination, and the rendered go.mod and go.sum. */
function analyse(files, values) {
  const goMod = files.get('go.mod');
  if (goMod === undefined) throw new Error(`${describe(values)}: the render has no go.mod`);
  const mod = parseGoMod(goMod, `${describe(values)}: go.mod`);
  for (const file of files.keys()) {
    if (file !== 'go.mod' && file.endsWith('/go.mod')) throw new Error(`${describe(values)}: nested module ${file} is not supported`);
  }
  const external = new Set();
  const internal = new Set();
  for (const [file, text] of files) {
    if (!file.endsWith('.go') || !inBuild(file)) continue;
    const { imports, ignored } = goFileImports(text, `${describe(values)}: ${file}`);
    if (ignored) continue;
    for (const imported of imports) {
      if (imported === mod.module || imported.startsWith(`${mod.module}/`)) internal.add(imported);
      else if (imported.split('/')[0].includes('.')) external.add(imported);
    }
  }
  // An imported package of the module that the render lacks (code still to be generated, say) fails tidy.
  const packages = new Set(
    [...files.keys()].filter((file) => file.endsWith('.go') && inBuild(file)).map((file) => path.posix.dirname(file)),
  );
  const missing = [...internal].filter((imported) => !packages.has(imported === mod.module ? '.' : imported.slice(mod.module.length + 1)));
  return {
    external: [...external].sort(),
    tools: [...mod.tools].sort(),
    missing: missing.sort(),
    goMod,
    goSum: files.get('go.sum') ?? '',
    mod,
  };
}

/** What `go mod tidy`'s result depends on: the packages imported from outside the module and the tools. */
function importSignature(analysis) {
  return JSON.stringify([analysis.external, analysis.tools]);
}

// ---------------------------------------------------------------------------------------------------------
// go.mod, go.sum and versions

/**
 * A go.mod as `go mod tidy` writes it: module, go, require and tool directives. Anything else (replace,
 * exclude, toolchain, godebug, comments) is refused: the templates do not use it and this tool does not
 * reproduce it.
 */
function parseGoMod(text, where) {
  const mod = { module: undefined, go: undefined, requires: [], tools: [] };
  let block;
  const entry = (directive, body) => {
    if (directive === 'require') {
      const found = body.match(/^(\S+) (\S+)( \/\/ indirect)?$/);
      if (!found) throw new Error(`${where}: cannot read the requirement "${body}"`);
      mod.requires.push({ path: found[1], version: found[2], indirect: Boolean(found[3]) });
    } else if (directive === 'tool') {
      if (!/^\S+$/.test(body)) throw new Error(`${where}: cannot read the tool "${body}"`);
      mod.tools.push(body);
    } else {
      throw new Error(`${where}: the ${directive} directive is not supported by ${tool}`);
    }
  };
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    if (block) {
      if (line === ')') block = undefined;
      else entry(block, line.trim());
      continue;
    }
    const [directive, ...rest] = line.trim().split(' ');
    const body = rest.join(' ');
    if (directive === 'module') mod.module = body;
    else if (directive === 'go') mod.go = body;
    else if (body === '(') block = directive;
    else entry(directive, body);
  }
  if (!mod.module || !mod.go) throw new Error(`${where}: no module or go line`);
  return mod;
}

/** Go's semver.Compare for valid versions (module versions, pseudo-versions and +incompatible included). */
function compareVersions(a, b) {
  const parse = (version) => {
    const found = version.match(/^v(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/);
    if (!found) throw new Error(`not a module version: ${version}`);
    return { numbers: found.slice(1, 4), pre: found[4] };
  };
  const numeric = (x, y) => (x.length !== y.length ? x.length - y.length : x < y ? -1 : x > y ? 1 : 0);
  const [x, y] = [parse(a), parse(b)];
  for (let i = 0; i < 3; i++) {
    const order = numeric(x.numbers[i], y.numbers[i]);
    if (order) return Math.sign(order);
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  const [xs, ys] = [x.pre.split('.'), y.pre.split('.')];
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    const [p, q] = [xs[i], ys[i]];
    if (p === q) continue;
    const [pn, qn] = [/^\d+$/.test(p), /^\d+$/.test(q)];
    if (pn && qn) return Math.sign(numeric(p, q));
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return Math.sign(xs.length - ys.length);
}

/** The order of go.sum lines, as the go command writes them (module.Sort: path, version, then /go.mod). */
function compareSumLines(a, b) {
  const split = (line) => {
    const [module, versionFile, hash] = line.split(' ');
    const slash = versionFile.indexOf('/');
    return slash === -1
      ? { module, version: versionFile, file: '', hash }
      : { module, version: versionFile.slice(0, slash), file: versionFile.slice(slash), hash };
  };
  const [x, y] = [split(a), split(b)];
  if (x.module !== y.module) return x.module < y.module ? -1 : 1;
  if (x.version !== y.version) return compareVersions(x.version, y.version);
  if (x.file !== y.file) return x.file < y.file ? -1 : 1;
  return x.hash < y.hash ? -1 : x.hash > y.hash ? 1 : 0;
}

/**
 * go.mod as keyed lines: sorting every combination's lines together by key, then keeping one combination's,
 * gives that combination's go.mod. Blocks: 1 direct requirements, 2 indirect ones, 3 tools; a block of one
 * entry is written on one line, as tidy does.
 */
function goModLines(mod) {
  const lines = [
    { key: [0, 0], text: 'module {{ goModule }}' },
    { key: [0, 1], text: '' },
    { key: [0, 2], text: `go ${mod.go}` },
  ];
  const blocks = [
    ['require', mod.requires.filter((r) => !r.indirect).map((r) => ({ sort: r.path, text: `${r.path} ${r.version}` }))],
    ['require', mod.requires.filter((r) => r.indirect).map((r) => ({ sort: r.path, text: `${r.path} ${r.version} // indirect` }))],
    ['tool', mod.tools.map((t) => ({ sort: t, text: t }))],
  ];
  blocks.forEach(([directive, entries], index) => {
    const block = index + 1;
    if (!entries.length) return;
    entries.sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0));
    lines.push({ key: [block, 0], text: '' });
    if (entries.length === 1) {
      lines.push({ key: [block, 1, entries[0].sort], text: `${directive} ${entries[0].text}` });
    } else {
      lines.push({ key: [block, 2], text: `${directive} (` });
      for (const { sort, text } of entries) lines.push({ key: [block, 3, sort], text: `\t${text}` });
      lines.push({ key: [block, 4], text: ')' });
    }
  });
  return lines;
}

function compareKeys(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] === undefined) return -1;
    if (b[i] === undefined) return 1;
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

function joinLines(lines) {
  return lines.map((line) => `${line}\n`).join('');
}

// ---------------------------------------------------------------------------------------------------------
// Running go

const goEnv = { ...process.env, GOFLAGS: '-modcacherw', GOTOOLCHAIN: 'local', GOWORK: 'off' };
const offlineEnv = { ...goEnv, GOFLAGS: '-modcacherw -mod=mod', GOPROXY: 'off' };

function go(args, cwd, env) {
  return new Promise((resolve) => {
    execFile('go', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        resolve({ code: -1, stdout, stderr: `${stderr}${error.message}` });
      } else {
        resolve({ code: error ? error.code : 0, stdout, stderr });
      }
    });
  });
}

/** Whether a failed offline go command only lacked something the module cache does not hold yet. */
function needsNetwork(result) {
  return /GOPROXY=off|module lookup disabled/.test(result.stderr);
}

/** Runs `work(item, index, worker)` over the items, `limit` at a time; `worker` numbers the lanes from 0. */
async function pool(items, limit, work) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async (_, worker) => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index], index, worker);
      }
    }),
  );
  return results;
}

const parallel = Math.max(2, availableParallelism());

/**
 * The files of a render that the go command reads: go.mod, go.sum, the Go files and what else is in their
 * packages' folders (what a `//go:embed` may name).
 */
function goFiles(files) {
  const packages = new Set([...files.keys()].filter((file) => file.endsWith('.go')).map((file) => path.posix.dirname(file)));
  const inPackage = (file) => {
    for (let dir = path.posix.dirname(file); dir !== '.'; dir = path.posix.dirname(dir)) if (packages.has(dir)) return true;
    return false;
  };
  return new Map([...files].filter(([file]) => file === 'go.mod' || file === 'go.sum' || file.endsWith('.go') || inPackage(file)));
}

/**
 * A folder that holds one combination's Go files at a time. Going to the next combination writes only the
 * files that differ and removes only those it lacks (removing thousands of files is slow on some disks).
 */
class Workspace {
  constructor(dir) {
    this.dir = dir;
    this.files = new Map();
    mkdirSync(dir, { recursive: true });
  }

  hold(files) {
    const wanted = goFiles(files);
    for (const file of new Set([...this.files.keys(), 'go.mod', 'go.sum'])) {
      if (!wanted.has(file)) rmSync(path.join(this.dir, file), { force: true });
    }
    for (const [file, text] of wanted) {
      // go.mod and go.sum are written every time: go mod tidy may have rewritten them.
      if (this.files.get(file) === text && file !== 'go.mod' && file !== 'go.sum') continue;
      const target = path.join(this.dir, file);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, text);
    }
    this.files = wanted;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Conditions

/**
 * Builds the shortest condition it can find, over the axes that matter, for each set of combinations:
 * a disjunction of conjunctions of atoms such as `apiType == 'grpc'`, `apiType != 'rest'`, `redisCache`,
 * `not scheduledJobs`, chosen greedily (most combinations covered, then fewest atoms), with any term the
 * others cover dropped. Sets are BigInt bit masks over the combination indexes.
 */
class Conditions {
  constructor(sets, axes) {
    this.all = (1n << BigInt(sets.length)) - 1n;
    const options = axes.map((axis) => {
      const values = AXES[axis];
      const choices = [undefined];
      for (const value of values) {
        if (typeof value === 'boolean') choices.push({ axis, value, text: value ? axis : `not ${axis}`, eq: true });
        else {
          choices.push({ axis, value, text: `${axis} == '${value}'`, eq: true });
          if (values.length > 2) choices.push({ axis, value, text: `${axis} != '${value}'`, eq: false });
        }
      }
      return choices;
    });
    const matches = (atom, combination) => (combination[atom.axis] === atom.value) === atom.eq;
    this.terms = [];
    const build = (index, atoms) => {
      if (index === options.length) {
        if (!atoms.length) return;
        let mask = 0n;
        sets.forEach((combination, i) => {
          if (atoms.every((atom) => matches(atom, combination))) mask |= 1n << BigInt(i);
        });
        const eqs = atoms.filter((atom) => atom.eq).length;
        this.terms.push({ atoms, mask, size: popcount(mask), eqs });
        return;
      }
      for (const choice of options[index]) build(index + 1, choice ? [...atoms, choice] : atoms);
    };
    build(0, []);
    this.cache = new Map();
  }

  of(mask) {
    if (mask === this.all) return 'true';
    if (mask === 0n) throw new Error('a line that no combination has');
    const cached = this.cache.get(mask);
    if (cached) return cached;
    const candidates = this.terms.filter((term) => term.mask !== 0n && (term.mask & ~mask) === 0n);
    const chosen = [];
    let uncovered = mask;
    while (uncovered) {
      let best;
      let bestGain = 0;
      for (const term of candidates) {
        const gain = popcount(term.mask & uncovered);
        if (
          gain > bestGain ||
          (gain === bestGain && gain > 0 && (term.atoms.length < best.atoms.length || (term.atoms.length === best.atoms.length && term.eqs > best.eqs)))
        ) {
          best = term;
          bestGain = gain;
        }
      }
      chosen.push(best);
      uncovered &= ~best.mask;
    }
    // Drop a term the others cover.
    for (let i = chosen.length - 1; i >= 0; i--) {
      const others = chosen.reduce((acc, term, j) => (j === i ? acc : acc | term.mask), 0n);
      if ((others & mask) === mask) chosen.splice(i, 1);
    }
    const texts = chosen.map((term) => term.atoms.map((atom) => atom.text).join(' and '));
    const text = texts.length === 1 ? texts[0] : texts.map((t, i) => (chosen[i].atoms.length > 1 ? `(${t})` : t)).join(' or ');
    const check = chosen.reduce((acc, term) => acc | term.mask, 0n);
    if (check !== mask) throw new Error(`condition ${text} does not select its combinations`);
    this.cache.set(mask, text);
    return text;
  }
}

function popcount(mask) {
  let count = 0;
  for (let m = mask; m; m &= m - 1n) count++;
  return count;
}

/** The axes whose value changes some combination's signature, given every combination's signature. */
function relevantAxes(sets, signatures) {
  const index = new Map(sets.map((values, i) => [JSON.stringify(values), i]));
  return Object.keys(AXES).filter((axis) =>
    sets.some((values, i) =>
      AXES[axis].some((value) => signatures[index.get(JSON.stringify({ ...values, [axis]: value }))] !== signatures[i]),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Templates

/** A template from keyed lines with combination masks: lines in key order, runs of one mask under one `if`. */
function templateText(header, lines, conditions) {
  const out = [header];
  let open;
  for (const line of lines) {
    if (open !== undefined && open !== line.mask) {
      out.push('{% endif %}');
      open = undefined;
    }
    if (open === undefined && line.mask !== conditions.all) {
      out.push(`{% if ${conditions.of(line.mask)} %}`);
      open = line.mask;
    }
    if (/\{[{%#]/.test(line.text.replace('{{ goModule }}', ''))) throw new Error(`a line looks like a template tag: ${line.text}`);
    out.push(line.text);
  }
  if (open !== undefined) out.push('{% endif %}');
  return joinLines(out);
}

/** Merges every combination's keyed lines: each distinct line with the mask of the combinations that have it. */
function mergeLines(perCombination, compare) {
  const merged = new Map();
  perCombination.forEach((lines, i) => {
    for (const line of lines) {
      const id = JSON.stringify([line.key, line.text]);
      const entry = merged.get(id) ?? { ...line, mask: 0n };
      entry.mask |= 1n << BigInt(i);
      merged.set(id, entry);
    }
  });
  return [...merged.values()].sort((a, b) => compare(a, b) || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------------------
// generate

async function renderAll(sets) {
  const started = Date.now();
  const analyses = [];
  const trees = [];
  for (const values of sets) {
    const files = await render(values);
    trees.push(files);
    analyses.push(analyse(files, values));
  }
  console.log(`go-modules: rendered ${sets.length} combinations in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { analyses, trees };
}

async function generate(upgrade) {
  loadEngine();
  const sets = combinations();
  const { analyses, trees } = await renderAll(sets);
  const signatures = analyses.map(importSignature);
  const axes = relevantAxes(sets, signatures);
  const unused = Object.keys(AXES).filter((axis) => !axes.includes(axis));
  console.log(`go-modules: the imports depend on ${axes.join(', ')}${unused.length ? `; not on ${unused.join(', ')}` : ''}`);

  // Combinations that import the same packages and declare the same tools get the same go.mod and go.sum.
  const classes = new Map();
  signatures.forEach((signature, i) => {
    const found = classes.get(signature) ?? { signature, members: [], analysis: analyses[i], files: trees[i] };
    found.members.push(i);
    classes.set(signature, found);
  });
  console.log(`go-modules: ${classes.size} distinct sets of imports`);
  for (const { analysis, members } of classes.values()) {
    if (analysis.missing.length) {
      console.log(`  warning: ${describe(sets[members[0]])} (and ${members.length - 1} more) imports ${analysis.missing.join(', ')}, which the render lacks`);
    }
  }

  const work = mkdtempSync(path.join(tmpdir(), 'svcgen-go-modules-'));
  try {
    // 1. The union: every package, every tool, one resolution.
    const seeds = new Map(); // module -> version the current templates name (kept unless --upgrade)
    if (!upgrade) {
      for (const { mod } of analyses) {
        for (const { path: module, version } of mod.requires) {
          if (!seeds.has(module) || compareVersions(version, seeds.get(module)) > 0) seeds.set(module, version);
        }
      }
    }
    const externals = [...new Set(analyses.flatMap((a) => a.external))].sort();
    const tools = [...new Set(analyses.flatMap((a) => a.tools))].sort();
    const goLine = analyses[0].mod.go;
    if (analyses.some((a) => a.mod.go !== goLine)) throw new Error('the rendered go.mod files differ in their go line');
    const unionDir = path.join(work, 'union');
    mkdirSync(unionDir);
    writeFileSync(
      path.join(unionDir, 'go.mod'),
      joinLines([
        'module svcgen.invalid/union',
        '',
        `go ${goLine}`,
        ...(seeds.size ? ['', 'require (', ...[...seeds].map(([m, v]) => `\t${m} ${v}`), ')'] : []),
        ...(tools.length ? ['', 'tool (', ...tools.map((t) => `\t${t}`), ')'] : []),
      ]),
    );
    writeFileSync(path.join(unionDir, 'union.go'), joinLines(['package union', '', 'import (', ...externals.map((p) => `\t_ ${JSON.stringify(p)}`), ')']));
    let started = Date.now();
    const resolved = await go(['mod', 'tidy'], unionDir, goEnv);
    if (resolved.code !== 0) throw new Error(`go mod tidy of the union of ${externals.length} packages failed:\n${resolved.stderr}`);
    const unionMod = parseGoMod(readFileSync(path.join(unionDir, 'go.mod'), 'utf8'), 'union go.mod');
    const unionSum = readFileSync(path.join(unionDir, 'go.sum'), 'utf8');
    const unionVersions = new Map(unionMod.requires.map((r) => [r.path, r.version]));
    const unionSumLines = new Set(unionSum.split('\n').filter(Boolean));
    console.log(
      `go-modules: resolved ${externals.length} packages and ${tools.length} tools to ${unionMod.requires.length} modules in ${((Date.now() - started) / 1000).toFixed(1)} s` +
        `${upgrade ? ' (newest versions)' : seeds.size ? ` (${seeds.size} versions kept from go.mod.jinja)` : ''}`,
    );
    for (const [module, version] of seeds) {
      if (unionVersions.has(module) && unionVersions.get(module) !== version) {
        console.log(`  ${module} ${version} -> ${unionVersions.get(module)} (another module needs it)`);
      }
    }

    // 2. Each class: its own files, tidied offline from the union.
    started = Date.now();
    const problems = [];
    const classList = [...classes.values()];
    const spaces = Array.from({ length: parallel }, (_, n) => new Workspace(path.join(work, `tidy-${n}`)));
    await pool(classList, parallel, async (cls, _, worker) => {
      const { dir } = spaces[worker];
      spaces[worker].hold(cls.files);
      const mod = {
        module: cls.analysis.mod.module,
        go: unionMod.go,
        requires: unionMod.requires,
        tools: cls.analysis.tools,
      };
      const startText = joinLines(goModLines(mod).map((line) => line.text)).replace('{{ goModule }}', mod.module);
      writeFileSync(path.join(dir, 'go.mod'), startText);
      writeFileSync(path.join(dir, 'go.sum'), unionSum);
      // The union's tidy filled the module cache with everything a subset of it needs.
      let result = await go(['mod', 'tidy'], dir, offlineEnv);
      if (result.code !== 0 && cls.analysis.missing.length) {
        // A render that does not load (it imports a package of its own that it lacks, code still to be
        // written or generated): tidy what loads, and say so.
        cls.warning = result.stderr.trim();
        result = await go(['mod', 'tidy', '-e'], dir, offlineEnv);
      }
      if (result.code !== 0) {
        problems.push(`${describe(sets[cls.members[0]])}: go mod tidy failed:\n${result.stderr}`);
        return;
      }
      cls.goMod = readFileSync(path.join(dir, 'go.mod'), 'utf8');
      cls.goSum = existsSync(path.join(dir, 'go.sum')) ? readFileSync(path.join(dir, 'go.sum'), 'utf8') : '';
      const where = describe(sets[cls.members[0]]);
      cls.mod = parseGoMod(cls.goMod, `${where}: tidied go.mod`);
      for (const { path: module, version } of cls.mod.requires) {
        if (unionVersions.get(module) !== version) problems.push(`${where}: ${module} ${version}, but the union resolved ${unionVersions.get(module) ?? 'no version'}`);
      }
      for (const line of cls.goSum.split('\n').filter(Boolean)) {
        if (!unionSumLines.has(line)) problems.push(`${where}: go.sum line not in the union's: ${line}`);
      }
      const rebuilt = joinLines(goModLines(cls.mod).map((line) => line.text)).replace('{{ goModule }}', cls.mod.module);
      if (rebuilt !== cls.goMod) problems.push(`${where}: tidy wrote go.mod in a layout ${tool} does not reproduce:\n${cls.goMod}`);
      const sorted = [...cls.goSum.split('\n').filter(Boolean)].sort(compareSumLines);
      if (joinLines(sorted) !== cls.goSum) problems.push(`${where}: go.sum is not in the order ${tool} reproduces`);
    });
    console.log(`go-modules: tidied ${classList.length} sets of imports offline in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const partial = classList.filter((cls) => cls.warning);
    if (partial.length) console.log(`  warning: ${partial.length} of them do not load (see above): tidied with -e, from the packages that load`);
    if (problems.length) throw new Error(`go-modules: ${problems.length} problems:\n${problems.slice(0, 40).join('\n')}`);

    // 3. Lines and their conditions.
    const perCombination = new Array(sets.length);
    for (const cls of classList) for (const i of cls.members) perCombination[i] = cls;
    const conditions = new Conditions(sets, axes);
    const modLines = mergeLines(
      perCombination.map((cls) => goModLines(cls.mod)),
      (a, b) => compareKeys(a.key, b.key),
    );
    const sumLines = mergeLines(
      perCombination.map((cls) => cls.goSum.split('\n').filter(Boolean).map((text) => ({ text }))),
      (a, b) => compareSumLines(a.text, b.text),
    );
    writeFileSync(
      modTemplate,
      templateText(
        comment([
          `Generated by ${tool} from the imports of every combination's Go files: run it again after a`,
          'change to what they import. By hand, change only a version or a tool line (under the condition of the',
          'combinations that need it), then run it: it keeps both.',
        ]),
        modLines,
        conditions,
      ),
    );
    const sumText = (recorded) =>
      templateText(comment([`Generated by ${tool} with go.mod.jinja: do not edit, run it.`, recordLine(recorded)]), sumLines, conditions);
    writeFileSync(sumTemplate, sumText(undefined));
    const used = new Map();
    for (const line of [...modLines, ...sumLines]) if (line.mask !== conditions.all) used.set(line.mask, conditions.of(line.mask));
    console.log(`go-modules: wrote ${path.relative(root, modTemplate)} (${modLines.length} lines) and ${path.relative(root, sumTemplate)} (${sumLines.length} lines) with ${used.size} conditions:`);
    for (const text of [...used.values()].sort()) console.log(`  ${text}`);

    // 4. Every combination renders exactly what tidy wrote.
    let differ = 0;
    const rendered = await renderAll(sets);
    for (let i = 0; i < sets.length; i++) {
      const files = rendered.trees[i];
      const cls = perCombination[i];
      for (const [name, expected] of [
        ['go.mod', cls.goMod],
        ['go.sum', cls.goSum],
      ]) {
        if (files.get(name) !== expected) {
          differ++;
          if (differ <= 5) console.log(`FAIL ${describe(sets[i])}: the rendered ${name} is not what go mod tidy wrote`);
        }
      }
    }
    if (differ) throw new Error(`go-modules: ${differ} rendered files differ from go mod tidy's`);
    console.log(`go-modules: all ${sets.length} combinations render the go.mod and go.sum that go mod tidy wrote`);

    // 5. And go mod tidy, run on each as rendered, changes nothing: then record what it accepted.
    const failing = await tidyDiff(sets, rendered.analyses, rendered.trees, true);
    if (failing) {
      console.log(`go-modules: ${path.relative(root, sumTemplate)} records no accepted state (\`--check --recorded\` fails until a run passes)`);
      return 1;
    }
    writeFileSync(sumTemplate, sumText(digests(sets, rendered.analyses)));
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// check

/**
 * Runs `go mod tidy -diff` on rendered combinations, offline, and prints those it would change. With
 * `quick`, once per distinct rendered go.mod, go.sum, imported packages and tools: all that tidy reads (the
 * module's own packages matter to it only by what they import from elsewhere). Resolves to the number of
 * combinations that fail.
 */
async function tidyDiff(sets, analyses, trees, quick) {
  const groups = new Map();
  analyses.forEach((analysis, i) => {
    const key = quick ? JSON.stringify([importSignature(analysis), analysis.goMod, analysis.goSum]) : String(i);
    const group = groups.get(key) ?? [];
    group.push(i);
    groups.set(key, group);
  });
  const work = mkdtempSync(path.join(tmpdir(), 'svcgen-go-modules-check-'));
  const started = Date.now();
  let downloads = 0;
  try {
    const spaces = Array.from({ length: parallel }, (_, n) => new Workspace(path.join(work, String(n))));
    const results = await pool([...groups.values()], parallel, async (members, _, worker) => {
      const { dir } = spaces[worker];
      spaces[worker].hold(trees[members[0]]);
      let result = await go(['mod', 'tidy', '-diff'], dir, offlineEnv);
      if (result.code !== 0 && needsNetwork(result) && !analyses[members[0]].missing.length) {
        // The module cache lacks something: the same command with the proxy fills it (go.sum checks every
        // download, and tidy takes nothing new without showing it in its diff), then the verdict offline.
        downloads++;
        await go(['mod', 'tidy', '-diff'], dir, goEnv);
        result = await go(['mod', 'tidy', '-diff'], dir, offlineEnv);
      }
      return { members, result };
    });
    // One report per distinct complaint, with the combinations that have it.
    const complaints = new Map();
    for (const { members, result } of results) {
      if (result.code === 0) continue;
      const text = (result.stdout + result.stderr).trim();
      complaints.set(text, [...(complaints.get(text) ?? []), ...members]);
    }
    let failing = 0;
    for (const [text, members] of complaints) {
      failing += members.length;
      const names = members.map((i) => describe(sets[i]));
      console.log(`FAIL ${members.length} combination${members.length > 1 ? 's' : ''}: ${names.slice(0, 3).join('; ')}${names.length > 3 ? '; …' : ''}`);
      const lines = text.split('\n');
      console.log(`  ${lines.slice(0, 40).join('\n  ')}${lines.length > 40 ? `\n  … (${lines.length - 40} more lines)` : ''}`);
    }
    console.log(
      `go-modules: ${sets.length - failing} of ${sets.length} combinations leave go mod tidy nothing to change ` +
        `(${groups.size} go mod tidy -diff runs in ${((Date.now() - started) / 1000).toFixed(1)} s${downloads ? `; ${downloads} filled the module cache first` : ''})`,
    );
    return failing;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * What `generate` records once `go mod tidy -diff` accepted every combination: a digest of every
 * combination's imported packages and tools, and one of its rendered go.mod and go.sum.
 */
function digests(sets, analyses) {
  const imports = createHash('sha256');
  const files = createHash('sha256');
  analyses.forEach((analysis, i) => {
    const key = JSON.stringify(sets[i]);
    imports.update(`${key} ${importSignature(analysis)}\n`);
    files.update(`${key} ${JSON.stringify([analysis.goMod, analysis.goSum])}\n`);
  });
  return { imports: imports.digest('hex').slice(0, 32), files: files.digest('hex').slice(0, 32) };
}

const RECORD = /imports sha256:([0-9a-f]+), go\.mod and go\.sum sha256:([0-9a-f]+)/;

function recordLine(recorded) {
  return recorded
    ? `Accepted by go mod tidy -diff in every combination: imports sha256:${recorded.imports}, go.mod and go.sum sha256:${recorded.files}.`
    : 'Not accepted by go mod tidy -diff in every combination: see the output of the last run.';
}

/** A template comment of several lines, which renders as nothing. */
function comment(lines) {
  return `{#- ${lines.join('\n    ')} #}`;
}

/**
 * Without Go: every combination's imports, tools, go.mod and go.sum are still those that `generate` checked
 * with `go mod tidy -diff`. It proves the templates are not stale; it does not run Go again (`--check` does).
 */
async function checkRecorded() {
  const found = readFileSync(sumTemplate, 'utf8').match(RECORD);
  loadEngine();
  const sets = combinations();
  const { analyses } = await renderAll(sets);
  const now = digests(sets, analyses);
  const rerun = `run \`node ${tool}\` (it regenerates go.mod.jinja and go.sum.jinja and checks them with go mod tidy)`;
  if (!found) {
    console.log(`FAIL ${path.relative(root, sumTemplate)} records no accepted state: ${rerun}`);
    return 1;
  }
  const [, imports, files] = found;
  if (imports !== now.imports) {
    console.log(`FAIL the Go files import other packages (or go.mod declares other tools) than when go.sum.jinja was generated: ${rerun}`);
    return 1;
  }
  if (files !== now.files) {
    console.log(`FAIL the rendered go.mod or go.sum differ from those go mod tidy accepted (go.mod.jinja or go.sum.jinja was edited): ${rerun}`);
    return 1;
  }
  console.log(`go-modules: all ${sets.length} combinations import the packages, and render the go.mod and go.sum, that go mod tidy -diff accepted`);
  return 0;
}

async function check(quick) {
  loadEngine();
  const sets = combinations();
  const { analyses, trees } = await renderAll(sets);
  return (await tidyDiff(sets, analyses, trees, quick)) ? 1 : 0;
}

try {
  if (process.argv.includes('--check') && process.argv.includes('--recorded')) process.exit(await checkRecorded());
  if (process.argv.includes('--check')) process.exit(await check(process.argv.includes('--quick')));
  process.exit(await generate(process.argv.includes('--upgrade')));
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
