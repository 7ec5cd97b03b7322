// Running engine processes from the driver.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { WORK } = require('./common');

const BENCH = path.resolve(__dirname, '..');
const PYTHON = process.env.SVCGEN_BENCH_PYTHON || 'python3';

/** The command line of an engine's worker process; `nodeArgs` are V8 flags (as the CLI sets them). */
function command(engine, args, node = process.execPath, nodeArgs = []) {
  if (engine === 'jinja2') return [PYTHON, [path.join(BENCH, 'engines/jinja2_engine.py'), ...args]];
  return [node, [...nodeArgs, path.join(BENCH, 'engines/worker.js'), engine, ...args]];
}

/** Runs a worker to completion; returns its last stdout line as JSON (if any) and the wall time. */
function runWorker(engine, args, env = {}, node = undefined, nodeArgs = []) {
  const [cmd, argv] = command(engine, args, node, nodeArgs);
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 256 << 20 });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) {
    throw new Error(`${engine} ${args[0]} failed (${r.status ?? r.signal}):\n${(r.stderr || '').slice(-4000)}`);
  }
  const lines = r.stdout.trim().split('\n').filter(Boolean);
  return { result: lines.length ? JSON.parse(lines[lines.length - 1]) : null, wallMs, stderr: r.stderr };
}

/**
 * Renders the job once with `engine` and compares every file with the core's output.
 * Returns { files, equal, differing: [{path, line, got, want}], missing, extra, error }.
 */
function checkEngine(engine, jobFile, expected) {
  const out = path.join(WORK, `check-${engine}.json`);
  fs.rmSync(out, { force: true });
  try {
    runWorker(engine, ['check', jobFile, out]);
  } catch (err) {
    return { files: expected.size, equal: 0, differing: [], missing: [], extra: [], error: String(err.message).slice(0, 2000) };
  }
  const got = new Map(Object.entries(JSON.parse(fs.readFileSync(out, 'utf8'))).map(([p, b]) => [p, Buffer.from(b, 'base64')]));
  const differing = [];
  let equal = 0;
  for (const [p, want] of expected) {
    const have = got.get(p);
    if (!have) continue;
    if (have.equals(want)) {
      equal += 1;
      continue;
    }
    const a = have.toString('utf8').split('\n');
    const b = want.toString('utf8').split('\n');
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    differing.push({ path: p, line: i + 1, got: a[i] ?? '<end>', want: b[i] ?? '<end>' });
  }
  return {
    files: expected.size,
    equal,
    differing,
    missing: [...expected.keys()].filter((p) => !got.has(p)),
    extra: [...got.keys()].filter((p) => !expected.has(p)),
    error: null,
  };
}

module.exports = { BENCH, PYTHON, command, runWorker, checkEngine };
