'use strict';
/*
 * Shared plumbing of the end-to-end tests: free loopback ports, polling with deadlines, a registry
 * of everything started (stopped on success, failure, timeout or Ctrl-C) and the measurements file.
 */

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const BACKEND_DIR = path.resolve(process.env.SVCGEN_E2E_BACKEND_DIR || path.join(REPO_ROOT, 'examples', 'backend'));
const PLUGIN_DIR = path.resolve(process.env.SVCGEN_PLUGIN_DIR || path.join(REPO_ROOT, 'plugin-ts'));
const KEEP = process.env.SVCGEN_E2E_KEEP === '1';

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

/** A TCP port on 127.0.0.1 that was free a moment ago. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Calls `probe` until it returns a truthy value; throws after `timeoutMs` naming `what`. An error
 * thrown by `probe` is retried unless it has `fatal: true`.
 */
async function waitFor(what, probe, { timeoutMs = 30_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      if (err.fatal) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError.message})` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/* ---- cleanup registry ------------------------------------------------------------------------ */

const cleanups = []; // { name, async fn, sync fn } newest last

/** Registers something to stop; `sync` is the last-resort version run from process 'exit'. */
function onCleanup(name, fn, sync) {
  const entry = { name, fn, sync, done: false };
  cleanups.push(entry);
  return () => {
    entry.done = true;
  };
}

async function cleanupAll() {
  while (cleanups.length) {
    const entry = cleanups.pop();
    if (entry.done) continue;
    entry.done = true;
    try {
      await entry.fn();
    } catch (err) {
      console.error(`# cleanup of ${entry.name} failed: ${err.message}`);
    }
  }
}

function cleanupAllSync() {
  while (cleanups.length) {
    const entry = cleanups.pop();
    if (entry.done || !entry.sync) continue;
    entry.done = true;
    try {
      entry.sync();
    } catch {
      /* best effort at exit */
    }
  }
}

let guardsInstalled = false;
/** Stops everything on exit and signals, and aborts the whole file after `watchdogMs`. */
function installGuards(watchdogMs) {
  if (guardsInstalled) return;
  guardsInstalled = true;
  process.on('exit', cleanupAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      console.error(`# ${signal}: stopping everything the e2e tests started`);
      cleanupAll().finally(() => process.exit(130));
    });
  }
  const timer = setTimeout(() => {
    console.error(`# e2e watchdog: ${path.basename(process.argv[1] || 'test')} exceeded ${watchdogMs} ms; stopping everything`);
    cleanupAll().finally(() => process.exit(124));
  }, watchdogMs);
  timer.unref();
}

/** A fresh temporary directory, removed at cleanup unless SVCGEN_E2E_KEEP=1. */
function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `svcgen-e2e-${prefix}-`));
  if (!KEEP) {
    const rm = () => fs.rmSync(dir, { recursive: true, force: true });
    onCleanup(`temp dir ${dir}`, async () => rm(), rm);
  } else {
    console.log(`# keeping ${dir}`);
  }
  return dir;
}

/* ---- measurements ---------------------------------------------------------------------------- */

const measurements = {};

/** Records a measurement; written to $SVCGEN_E2E_RESULTS/<file>.json and printed at the end. */
function record(key, value) {
  measurements[key] = value;
  console.log(`# measure ${key} = ${JSON.stringify(value)}`);
}

function writeMeasurements(name) {
  const dir = process.env.SVCGEN_E2E_RESULTS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, `${JSON.stringify({ node: process.version, ...measurements }, null, 2)}\n`);
}

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { n: sorted.length, min: sorted[0], median: Math.round(median), max: sorted[sorted.length - 1] };
}

/** Runs a command synchronously and returns stdout (used for git and pg tools). */
function sh(cmd, args, options = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

/**
 * Leaves a note for run.sh's last-resort cleanup ($SVCGEN_E2E_RESULTS/<kind>/<name>), should this
 * process die without running its own; returns a function that removes the note.
 */
function leaveNote(kind, name, content = '') {
  const dir = process.env.SVCGEN_E2E_RESULTS;
  if (!dir) return () => {};
  const file = path.join(dir, kind, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return () => fs.rmSync(file, { force: true });
}

/** An error that stops waitFor at once. */
function fatal(message) {
  return Object.assign(new Error(message), { fatal: true });
}

module.exports = {
  fatal,
  BACKEND_DIR,
  KEEP,
  PLUGIN_DIR,
  REPO_ROOT,
  cleanupAll,
  freePort,
  installGuards,
  leaveNote,
  onCleanup,
  record,
  sh,
  sleep,
  stats,
  tempDir,
  waitFor,
  writeMeasurements,
};
