// Updating a generated repository (BENCHMARKS.md, "Updating a generated repository"): the scenario
// (a version B of the bundled set, the team's repository generated from version A), the check that
// an update does what is expected, and svcgen::update timed natively, through the WASM binding and
// through plugin-ts's engine, each in fresh processes. Used by update.js.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const common = require('./common');
const { runWorker } = require('./run');

/**
 * What every host records as the sets' source (the answers file's `layers[].source`): the bundled
 * set's name, as in a repository the action generated from it. The same in every host, so that
 * every host does the same work and returns the same bytes.
 */
const SOURCE = 'microservice';

/** The team's edits of the generated repository (ours). */
const TEAM = {
  readmeLine: 'On call: page #user-service-oncall in Slack; the runbook is docs/runbook.md.',
  ciLine: '# Reviewed by the platform team: ask in #platform before changing the pipeline.',
  // The team pinned the base image of the build stage to a digest: the line B changes.
  digest: `sha256:${crypto.createHash('sha256').update('user-service base image').digest('hex')}`,
  added: ['docs/runbook.md', '# user-service runbook\n\nRestart: `kubectl rollout restart deployment/user-service`.\n'],
  // Deleted by the team: a file B leaves as it is (the first of these the render has).
  deletedPreferred: ['.env.example', 'docker-compose.yml'],
};

/** Version B's changes of the set (besides the version bump). */
const TEMPLATE = {
  readmeLine: 'See [CONTRIBUTING.md](CONTRIBUTING.md) to propose a change.',
  added: [
    'CONTRIBUTING.md.jinja',
    '# Contributing to {{ serviceName }}\n\nOpen a merge or pull request; {{ owner }} reviews it. Files generated from the\n' +
      '`{{ template.name }}` template set are updated with svcgen: a change of yours is merged with the\n' +
      "template's next change.\n",
  ],
  // Removed by B: the first of these the render has.
  removedPreferred: ['.github/dependabot.yml', '.gitlab/merge_request_templates/Default.md'],
};

/** A repository's files as `update` takes them: an index and the bytes back to back, as plugin-ts's packRepo. */
function packRepo(files) {
  const index = files.map((f) => ({ path: f.path, size: f.contents.length, executable: f.executable ?? false }));
  return { index, data: Buffer.concat(files.map((f) => f.contents)) };
}

/** FNV-1a (64-bit) of the bytes, as the native program's `fnv`: the same update on both sides. */
function fnv(data) {
  let h = 0xcbf29ce484222325n;
  for (const b of data) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, '0');
}

/** What an update did, to compare hosts: each change (path, kind, size, executable), the conflicts, the bytes' hash. */
function digest(update) {
  return {
    changes: update.changes.map((c) => [c.path, c.kind, c.size, c.executable]),
    conflicts: update.summary.conflicts.map((c) => [c.path, c.kind]),
    hash: fnv(update.data),
  };
}

/** A rendered output as a Map of path → { contents, executable }. */
function outputFiles(output) {
  const map = new Map();
  let offset = 0;
  for (const f of output.files) {
    map.set(f.path, { contents: Buffer.from(output.data.subarray(offset, offset + f.size)), executable: f.executable });
    offset += f.size;
  }
  return map;
}

/** Replaces the first match of `re` in `text` (every match for a /g one); fails (naming `what`) when there is none. */
function replaceOnce(text, re, replace, what) {
  if (!text.match(re)) throw new Error(`update scenario: ${what}: no match for ${re} (has the set changed? adapt tests/bench/lib/update.js)`);
  return text.replace(re, replace);
}

const teamEdit = {
  readme: (text) => `${text.endsWith('\n') ? text : `${text}\n`}${TEAM.readmeLine}\n`,
  ci: (text) => `${TEAM.ciLine}\n${text}`,
  dockerfile: (text) => replaceOnce(text, /^(FROM\s+)(\S+)/m, `$1$2@${TEAM.digest}`, 'the Dockerfile'),
};

/**
 * Writes version B of the set in `setDir` (version A) and the team's repository (A rendered with
 * `values`, then edited) under the work folder. B: the manifest's version a minor up; the README
 * template with a line added; the base images a minor up in the Dockerfile template (the build
 * stage's line is the one the team changed too: a conflict); actions/checkout a major up in the CI
 * template; a template added (CONTRIBUTING.md) and one removed. Ours: a line added to README.md
 * and to the CI workflow, the Dockerfile's first FROM line pinned to a digest, one file deleted,
 * one added. Returns the scenario: the folders, the paths involved and the two cases' jobs.
 */
function prepareUpdate({ setDir, values }) {
  const work = path.join(common.WORK, 'update');
  fs.rmSync(work, { recursive: true, force: true });
  const oldDir = setDir;
  const newDir = path.join(work, 'set-b', path.basename(setDir));
  const repoDir = path.join(work, 'repo');
  fs.cpSync(oldDir, newDir, { recursive: true });

  const old = common.loadSet(common.packSet(common.readSet(oldDir), SOURCE));
  const plan = old.plan(values);
  const ours = outputFiles(old.render(values));
  const fromVersion = old.info().version;
  old.free();
  const sourceOf = (output) => {
    const f = plan.files.find((p) => p.path === output);
    if (!f || !f.rendered) throw new Error(`update scenario: the render has no templated ${output} (adapt tests/bench/lib/update.js)`);
    return f.source;
  };
  const pick = (list, what) => {
    const found = list.find((p) => ours.has(p));
    if (!found) throw new Error(`update scenario: the render has none of ${list.join(', ')} (${what})`);
    return found;
  };
  const paths = {
    readme: 'README.md',
    ci: '.github/workflows/ci.yml',
    dockerfile: 'Dockerfile',
    removed: pick(TEMPLATE.removedPreferred, 'the file B removes'),
    added: TEMPLATE.added[0].replace(/\.jinja$/, ''),
    teamDeleted: pick(TEAM.deletedPreferred, 'the file the team deletes'),
    teamAdded: TEAM.added[0],
  };
  if (ours.has(paths.added) || ours.has(paths.teamAdded)) throw new Error('update scenario: an added file is already generated');

  // Version B of the set.
  const edit = (rel, fn) => {
    const file = path.join(newDir, rel);
    fs.writeFileSync(file, fn(fs.readFileSync(file, 'utf8')));
  };
  let toVersion;
  edit('manifest.yaml', (text) => replaceOnce(text, /^version:\s*['"]?(\d+)\.(\d+)\.(\d+)['"]?\s*$/m, (all, major, minor) => {
    toVersion = `${major}.${Number(minor) + 1}.0`;
    return `version: ${toVersion}`;
  }, 'the manifest'));
  const readmeSource = sourceOf(paths.readme);
  edit(readmeSource, (text) => replaceOnce(text, /^(.*\n)/, `$1\n${TEMPLATE.readmeLine}\n`, 'the README template'));
  edit(sourceOf(paths.dockerfile), (text) => replaceOnce(text, /^(FROM\s+[^\s:]+:)(\d+)\.(\d+)/gm, (all, head, major, minor) => `${head}${major}.${Number(minor) + 1}`, 'the Dockerfile template'));
  edit(sourceOf(paths.ci), (text) => replaceOnce(text, /actions\/checkout@v(\d+)/, (all, major) => `actions/checkout@v${Number(major) + 1}`, 'the CI template'));
  fs.writeFileSync(path.join(newDir, path.dirname(readmeSource), TEMPLATE.added[0]), TEMPLATE.added[1]);
  fs.rmSync(path.join(newDir, sourceOf(paths.removed)));

  // The team's repository.
  const repo = new Map([...ours].map(([p, f]) => [p, { ...f }]));
  for (const key of ['readme', 'ci', 'dockerfile']) {
    const f = repo.get(paths[key]);
    f.contents = Buffer.from(teamEdit[key](f.contents.toString('utf8')));
  }
  repo.delete(paths.teamDeleted);
  repo.set(paths.teamAdded, { contents: Buffer.from(TEAM.added[1]), executable: false });
  for (const [rel, f] of repo) {
    const full = path.join(repoDir, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, f.contents, { mode: f.executable ? 0o755 : 0o644 });
  }

  const job = (name, newSet) => {
    const file = path.join(work, `job-update-${name}.json`);
    fs.writeFileSync(file, JSON.stringify({
      source: SOURCE, old: { dir: oldDir }, new: { dir: newSet }, same: newSet === oldDir,
      oldValues: values, newValues: values, repoDir, verbatim: {},
    }));
    return file;
  };
  return {
    oldDir, newDir, repoDir, values, paths, fromVersion, toVersion, ours, repo,
    cases: [
      { name: 'conflict', label: `A → B (${fromVersion} → ${toVersion}): a conflict`, job: job('conflict', newDir) },
      { name: 'noop', label: `no-op (${fromVersion} → ${fromVersion}, same values)`, job: job('noop', oldDir) },
    ],
  };
}

/** Fails unless `cond`, with the case and what was expected. */
function expect(cond, caseName, what) {
  if (!cond) throw new Error(`update check (${caseName}): ${what}`);
}

/**
 * Runs each case once with the WASM core in this process (not timed) and checks the result: for
 * A → B, the Dockerfile the only conflict (both versions between markers), README.md and ci.yml
 * B's render with the team's line, B's added file added and removed file deleted, the team's
 * deletion and added file left alone, and every other file exactly B's render; for the no-op, no
 * change. Returns each case's digest (what every host must return) and summary.
 */
function checkUpdate(scenario) {
  const core = common.core();
  const { paths } = scenario;
  const load = (dir) => common.loadSet(common.packSet(common.readSet(dir), SOURCE), core);
  const oldSet = load(scenario.oldDir);
  const newSet = load(scenario.newDir);
  const theirs = outputFiles(newSet.render(scenario.values));
  const files = common.readSet(scenario.repoDir);
  // The repository as the update is given it: read back from disk.
  const repo = new Map(files.map((f) => [f.path, { contents: f.contents, executable: f.executable }]));
  const out = {};
  try {
    for (const c of scenario.cases) {
      const next = c.name === 'noop' ? oldSet : newSet;
      const { index, data } = packRepo(files);
      const update = core.update(oldSet, scenario.values, next, scenario.values, index, data);
      if (c.name === 'noop') {
        expect(update.changes.length === 0 && update.summary.conflicts.length === 0, c.name, `no changes expected, got ${JSON.stringify(update.changes.map((x) => [x.path, x.kind]))}`);
      } else {
        checkConflictCase(update, { paths, repo, theirs, scenario });
      }
      const s = update.summary;
      out[c.name] = {
        digest: digest(update),
        summary: { changes: update.changes.length, modified: s.modified, added: s.added, removed: s.removed, conflicts: s.conflicts, renamed: s.renamed.length, kept: s.kept, deletedByTeam: s.deletedByTeam },
        bytes: update.data.length,
      };
    }
  } finally {
    oldSet.free();
    newSet.free();
  }
  return out;
}

function checkConflictCase(update, { paths, repo, theirs, scenario }) {
  const name = 'conflict';
  expect(update.from.version === scenario.fromVersion && update.to.version === scenario.toVersion, name, `versions ${update.from.version} → ${update.to.version}`);
  expect(JSON.stringify(update.summary.conflicts) === JSON.stringify([{ path: paths.dockerfile, kind: 'lines' }]), name, `conflicts ${JSON.stringify(update.summary.conflicts)}`);
  const kinds = new Map(update.changes.map((c) => [c.path, c.kind]));
  expect(kinds.get(paths.added) === 'added', name, `${paths.added} added (got ${kinds.get(paths.added)})`);
  expect(kinds.get(paths.removed) === 'deleted', name, `${paths.removed} deleted (got ${kinds.get(paths.removed)})`);
  expect(!kinds.has(paths.teamDeleted) && !kinds.has(paths.teamAdded), name, "the team's deleted and added files left alone");
  // The repository after the update.
  const after = new Map([...repo].map(([p, f]) => [p, f.contents]));
  let offset = 0;
  for (const c of update.changes) {
    const bytes = Buffer.from(update.data.subarray(offset, offset + c.size));
    offset += c.size;
    if (c.kind === 'deleted') after.delete(c.path);
    else after.set(c.path, bytes);
  }
  for (const [p, f] of theirs) {
    const now = after.get(p);
    const text = now && now.toString('utf8');
    if (p === paths.teamDeleted) {
      expect(now === undefined, name, `${p} stays deleted`);
    } else if (p === paths.dockerfile) {
      const teamFrom = repo.get(p).contents.toString('utf8').match(/^FROM\s+\S+.*$/m)[0];
      const theirFrom = f.contents.toString('utf8').match(/^FROM\s+\S+.*$/m)[0];
      expect(/^<<<<<<< /m.test(text) && /^>>>>>>> /m.test(text) && text.includes(teamFrom) && text.includes(theirFrom), name, `${p}: conflict markers with ${teamFrom} and ${theirFrom}`);
    } else if (p === paths.readme || p === paths.ci) {
      const key = p === paths.readme ? 'readme' : 'ci';
      expect(text === teamEdit[key](f.contents.toString('utf8')), name, `${p}: B's render with the team's line`);
      expect(p !== paths.readme || text.includes(TEMPLATE.readmeLine), name, `${p}: B's line`);
    } else {
      expect(now !== undefined && now.equals(f.contents), name, `${p}: B's render`);
    }
  }
  for (const p of after.keys()) {
    expect(theirs.has(p) || p === paths.teamAdded, name, `${p}: left over (B does not generate it)`);
  }
  expect(after.get(paths.teamAdded).toString('utf8') === TEAM.added[1], name, `${paths.teamAdded} as the team wrote it`);
}

/** The worker's or native program's last JSON line for a case; throws unless it did the checked update. */
function checked(result, who, c, reference) {
  const want = JSON.stringify(reference[c.name].digest);
  const got = JSON.stringify(result.digest);
  if (got !== want) throw new Error(`${who} (${c.name}) returned another update than the checked one:\n${got.slice(0, 2000)}\nwant\n${want.slice(0, 2000)}`);
  return result;
}

/**
 * Times one case in `runs` fresh processes of each kind, interleaved: the native program, the WASM
 * binding, plugin-ts's SvcgenEngine and SvcgenWorkerEngine. Each process loads both sets and reads
 * the repository before timing (the engines: compile both sets before timing, as the backend
 * module's warm-up does), then times its first update and warm ones. Warm times are pooled over
 * the processes; first calls are one per process.
 */
function measureUpdate({ c, runs, native, reference, warm }) {
  const env = { SVCGEN_BENCH_WARM: JSON.stringify(warm) };
  const kinds = ['native', 'wasm', 'engine', 'workerEngine'];
  const t = Object.fromEntries(kinds.map((k) => [k, { first: [], warm: [], loadMs: [], readRepo: [], inMemory: [] }]));
  const add = (k, r) => {
    t[k].first.push(r.firstMs);
    t[k].warm.push(...r.times);
    t[k].loadMs.push(r.loadMs);
    // The engines' parts: medians per process.
    if (r.readRepo) t[k].readRepo.push(r.readRepo.median);
    if (r.inMemory) t[k].inMemory.push(r.inMemory.median);
  };
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(native, ['update', c.job], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`native update failed: ${r.stderr}`);
    add('native', checked(JSON.parse(r.stdout.trim().split('\n').pop()), 'native', c, reference));
    add('wasm', checked(runWorker('wasm', ['update', c.job], env).result, 'wasm', c, reference));
    add('engine', checked(runWorker('engine', ['engine-update', c.job], env).result, 'SvcgenEngine', c, reference));
    add('workerEngine', checked(runWorker('worker-engine', ['engine-update', c.job], env).result, 'SvcgenWorkerEngine', c, reference));
  }
  const row = { case: c.name, label: c.label, ...reference[c.name].summary, bytes: reference[c.name].bytes };
  for (const k of kinds) {
    row[k] = { first: common.summarize(t[k].first), warm: common.summarize(t[k].warm), loadMs: common.summarize(t[k].loadMs) };
    if (t[k].readRepo.length) Object.assign(row[k], { readRepo: common.summarize(t[k].readRepo), inMemory: common.summarize(t[k].inMemory) });
  }
  return row;
}

/** The markdown table of measureUpdate rows. */
function updateTable(rows) {
  const f = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  const ms = (v) => `${f(v.median)} (${f(v.p10)}–${f(v.p90)})`;
  const ratio = (a, b) => `${(a / b).toFixed(2)}×`;
  const out = [
    '| case | changes | native, warm | native, first call | WASM, warm | × native | WASM, first call | `SvcgenEngine.update`, warm | first call | `SvcgenWorkerEngine.update`, warm | first call |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const changes = r.changes
      ? `${r.changes}: ${r.modified} modified, ${r.added} added, ${r.removed} deleted; ${r.conflicts.length} conflict${r.conflicts.length === 1 ? '' : 's'}`
      : 'none';
    out.push(`| ${r.label} | ${changes} | ${ms(r.native.warm)} | ${ms(r.native.first)} | ${ms(r.wasm.warm)} | ${ratio(r.wasm.warm.median, r.native.warm.median)} | ${ms(r.wasm.first)} | ${ms(r.engine.warm)} | ${ms(r.engine.first)} | ${ms(r.workerEngine.warm)} | ${ms(r.workerEngine.first)} |`);
  }
  return out.join('\n');
}

/** A line per case: where the engines' time goes, and the sets' first load per process. */
function updateNotes(rows) {
  const f = (x) => x.toFixed(x >= 10 ? 1 : 2);
  return rows.map((r) => {
    const parts = ['engine', 'workerEngine'].map((k) => {
      const name = k === 'engine' ? 'SvcgenEngine' : 'SvcgenWorkerEngine';
      return `${name}: reading the repository ${f(r[k].readRepo.median)}, the update of its files in memory ${f(r[k].inMemory.median)}`;
    });
    return `${r.label}, ms (medians of per-process medians): ${parts.join('; ')}. Loading the set(s) before timing: native ${f(r.native.loadMs.median)}, WASM ${f(r.wasm.loadMs.median)} (with require of the glue).`;
  }).join('\n');
}

module.exports = { SOURCE, packRepo, digest, prepareUpdate, checkUpdate, measureUpdate, updateTable, updateNotes };
