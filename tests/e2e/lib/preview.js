'use strict';
/*
 * The reference output: what the local preview script (plugin-ts/bin/svcgen-preview.js) generates
 * for the same values, and comparisons of file trees (path → { executable, bytes }).
 */

const { execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { promisify } = require('node:util');
const { PLUGIN_DIR, REPO_ROOT } = require('./harness');

const run = promisify(execFile);
// The documented local preview command; SVCGEN_E2E_PREVIEW may name another copy (debugging only).
const PREVIEW = path.resolve(process.env.SVCGEN_E2E_PREVIEW || path.join(PLUGIN_DIR, 'bin', 'svcgen-preview.js'));

/**
 * Runs `svcgen-preview --values <file> --json --out <dir>` (with `--template-dir <templateDir>`
 * when given; else the bundled set) and returns what it printed (the file list, with executable
 * flags and sizes) and the tree it wrote.
 */
async function preview(values, workDir, name, { templateDir } = {}) {
  const valuesFile = path.join(workDir, `${name}.values.json`);
  const outDir = path.join(workDir, `${name}.preview`);
  fs.writeFileSync(valuesFile, JSON.stringify(values, null, 2));
  fs.rmSync(outDir, { recursive: true, force: true });
  const template = templateDir ? ['--template-dir', templateDir] : [];
  const { stdout } = await run(process.execPath, [PREVIEW, ...template, '--values', valuesFile, '--json', '--out', outDir], {
    // From the repository root, as documented: a set rendered by path is recorded (answers file)
    // by its path relative to the working folder.
    cwd: REPO_ROOT,
    maxBuffer: 64 << 20,
  });
  const printed = JSON.parse(stdout);
  return { printed, tree: readDir(outDir) };
}

/** Every regular file under `dir`: Map relative path → { executable, bytes }. */
function readDir(dir) {
  const tree = new Map();
  const walk = rel => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      const abs = path.join(dir, relPath);
      if (entry.isDirectory()) walk(relPath);
      else if (entry.isFile()) {
        tree.set(relPath, { executable: (fs.statSync(abs).mode & 0o100) !== 0, bytes: fs.readFileSync(abs) });
      } else throw new Error(`${abs}: not a regular file`);
    }
  };
  walk('');
  return tree;
}

/** The dry-run's directoryContents as a tree. */
function fromDirectoryContents(contents) {
  return new Map(
    contents.map(f => [f.path, { executable: Boolean(f.executable), bytes: Buffer.from(f.base64Content, 'base64') }]),
  );
}

/** Differences between two trees, [] when equal path by path, byte by byte and in executable bits. */
function diffTrees(expected, actual, { expectedName = 'preview', actualName = 'pushed' } = {}) {
  const problems = [];
  for (const [p, e] of expected) {
    const a = actual.get(p);
    if (!a) problems.push(`${p}: in the ${expectedName} tree, missing from the ${actualName} tree`);
    else {
      if (!a.bytes.equals(e.bytes)) problems.push(`${p}: bytes differ (${e.bytes.length} vs ${a.bytes.length} bytes)`);
      if (a.executable !== e.executable) problems.push(`${p}: executable ${e.executable} vs ${a.executable}`);
    }
  }
  for (const p of actual.keys()) if (!expected.has(p)) problems.push(`${p}: only in the ${actualName} tree`);
  return problems;
}

/** Checks the printed file list against a tree: same paths, flags and sizes. */
function diffListing(printedFiles, tree) {
  const asTree = new Map(printedFiles.map(f => [f.path, f]));
  const problems = [];
  for (const [p, f] of asTree) {
    const t = tree.get(p);
    if (!t) problems.push(`${p}: printed by the preview, not in the tree`);
    else if (t.bytes.length !== f.size || t.executable !== f.executable) {
      problems.push(`${p}: printed ${f.size} B executable=${f.executable}, tree ${t.bytes.length} B executable=${t.executable}`);
    }
  }
  for (const p of tree.keys()) if (!asTree.has(p)) problems.push(`${p}: in the tree, not printed by the preview`);
  return problems;
}

module.exports = { diffListing, diffTrees, fromDirectoryContents, preview, readDir };
