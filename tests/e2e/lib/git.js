'use strict';
/*
 * The test's stand-in for a git host. Bare repositories live under `root/<owner>/<repo>.git`
 * (the test-only e2e:publish:local-git action pushes there). A small HTTP server answers raw file
 * reads the way a GitHub Enterprise host's `rawBaseUrl` does (`/raw/<owner>/<repo>/<ref>/<path>`),
 * so that catalog:register can read the pushed catalog-info.yaml through Backstage's GitHub
 * integration. Also: reading a pushed tree with its modes and bytes.
 */

const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { freePort, onCleanup, sh } = require('./harness');

const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

class GitHost {
  constructor(root) {
    this.root = root;
    this.requests = 0;
  }

  async start() {
    this.port = await freePort();
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', resolve);
    });
    this.unregister = onCleanup('git host', () => this.stop());
    return this;
  }

  get baseUrl() {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Backstage config: a GitHub integration for this host, read through rawBaseUrl; github.com keeps
   * the example's placeholder token (dry-runs of publish:github:pull-request need a credential).
   */
  get integrationConfig() {
    return {
      github: [
        { host: `127.0.0.1:${this.port}`, rawBaseUrl: `${this.baseUrl}/raw` },
        { host: 'github.com', token: 'placeholder-no-github-access' },
      ],
    };
  }

  bareRepo(owner, repo) {
    return path.join(this.root, owner, `${repo}.git`);
  }

  handle(req, res) {
    this.requests += 1;
    const url = new URL(req.url, this.baseUrl);
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (req.method !== 'GET' || parts[0] !== 'raw' || parts.length < 5) {
      res.writeHead(404).end('not found\n');
      return;
    }
    const [, owner, repo, ref, ...file] = parts;
    const bare = this.bareRepo(owner, repo);
    if (!SAFE.test(owner) || !SAFE.test(repo) || !SAFE.test(ref) || !fs.existsSync(bare)) {
      res.writeHead(404).end('not found\n');
      return;
    }
    const git = spawn('git', ['--git-dir', bare, 'cat-file', 'blob', `${ref}:${file.join('/')}`]);
    const chunks = [];
    git.stdout.on('data', c => chunks.push(c));
    git.on('close', code => {
      if (code === 0) res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(Buffer.concat(chunks));
      else res.writeHead(404).end('not found\n');
    });
  }

  async stop() {
    this.unregister?.();
    if (this.server) await new Promise(resolve => this.server.close(resolve));
    this.server = undefined;
  }
}

/** Commits on `ref` of a bare repository, or [] when it has no such ref (or does not exist). */
function commits(bare, ref = 'main') {
  if (!fs.existsSync(bare)) return [];
  try {
    return sh('git', ['--git-dir', bare, 'rev-list', ref]).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Every file of `ref`'s tree: Map path → { executable, bytes }. Fails on anything that is not a
 * regular file (symlinks, submodules).
 */
function readTree(bare, ref = 'main') {
  const listing = sh('git', ['--git-dir', bare, 'ls-tree', '-r', '-z', '--full-tree', ref], { maxBuffer: 64 << 20 });
  const entries = listing
    .split('\0')
    .filter(Boolean)
    .map(line => {
      const tab = line.indexOf('\t');
      const [mode, type, oid] = line.slice(0, tab).split(' ');
      return { mode, type, oid, path: line.slice(tab + 1) };
    });
  const tree = new Map();
  if (!entries.length) return tree;
  const batch = execFileSync('git', ['--git-dir', bare, 'cat-file', '--batch'], {
    input: entries.map(e => e.oid).join('\n') + '\n',
    maxBuffer: 256 << 20,
  });
  let offset = 0;
  for (const entry of entries) {
    if (entry.type !== 'blob' || (entry.mode !== '100644' && entry.mode !== '100755')) {
      throw new Error(`${entry.path}: unexpected ${entry.type} with mode ${entry.mode} in the pushed tree`);
    }
    const nl = batch.indexOf(0x0a, offset);
    const [oid, type, size] = batch.subarray(offset, nl).toString().split(' ');
    if (oid !== entry.oid || type !== 'blob') throw new Error(`git cat-file --batch: unexpected header for ${entry.path}`);
    const start = nl + 1;
    const end = start + Number(size);
    tree.set(entry.path, { executable: entry.mode === '100755', bytes: batch.subarray(start, end) });
    offset = end + 1;
  }
  return tree;
}

module.exports = { GitHost, commits, readTree };
