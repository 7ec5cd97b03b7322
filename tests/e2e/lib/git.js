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
/** A branch, tag or commit as git would take it; never an option, never a range. */
const SAFE_REF = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._\/-]*$/;

class GitHost {
  constructor(root) {
    this.root = root;
    this.requests = 0;
    /** GitHub API calls answered, by kind: repo, status, tarball. */
    this.apiCalls = { repo: 0, status: 0, tarball: 0 };
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
   * Backstage config: a GitHub integration for this host (files read through rawBaseUrl, since
   * there is no token; trees through apiBaseUrl); github.com keeps the example's placeholder token
   * (dry-runs of publish:github:pull-request need a credential).
   */
  get integrationConfig() {
    return {
      github: [
        { host: `127.0.0.1:${this.port}`, rawBaseUrl: `${this.baseUrl}/raw`, apiBaseUrl: `${this.baseUrl}/api/v3` },
        { host: 'github.com', token: 'placeholder-no-github-access' },
      ],
    };
  }

  bareRepo(owner, repo) {
    return path.join(this.root, owner, `${repo}.git`);
  }

  /** The web URL of a folder of `ref` in a repository, as GithubUrlReader.readTree takes it. */
  treeUrl(owner, repo, ref, folder = '') {
    return `${this.baseUrl}/${owner}/${repo}/tree/${ref}${folder ? `/${folder}` : ''}`;
  }

  handle(req, res) {
    this.requests += 1;
    const url = new URL(req.url, this.baseUrl);
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (req.method === 'GET' && parts[0] === 'api' && parts[1] === 'v3' && parts[2] === 'repos') {
      this.handleApi(parts.slice(3), res);
      return;
    }
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

  /** The GitHub REST API calls of GithubUrlReader.readTree; `parts` follow `/api/v3/repos/`. */
  handleApi(parts, res) {
    const notFound = () => res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
    const [owner, repo, kind, ...rest] = parts;
    const bare = owner && repo ? this.bareRepo(owner, repo) : '';
    if (!SAFE.test(owner ?? '') || !SAFE.test(repo ?? '') || !fs.existsSync(bare)) return notFound();
    const api = `${this.baseUrl}/api/v3/repos/${owner}/${repo}`;
    const details = () => ({
      full_name: `${owner}/${repo}`,
      default_branch: sh('git', ['--git-dir', bare, 'symbolic-ref', '--short', 'HEAD']).trim(),
      archive_url: `${api}/{archive_format}{/ref}`,
      trees_url: `${api}/git/trees{/sha}`,
    });
    const commitOf = ref => {
      if (!SAFE_REF.test(ref)) return undefined;
      try {
        return sh('git', ['--git-dir', bare, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).trim();
      } catch {
        return undefined;
      }
    };
    if (kind === undefined) {
      this.apiCalls.repo += 1;
      return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(details()));
    }
    if (kind === 'commits' && rest.length >= 2 && rest[rest.length - 1] === 'status') {
      this.apiCalls.status += 1;
      const sha = commitOf(rest.slice(0, -1).join('/'));
      if (!sha) return notFound();
      const body = { state: 'pending', sha, total_count: 0, statuses: [], repository: details() };
      return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    }
    if (kind === 'tarball' && rest.length >= 1) {
      this.apiCalls.tarball += 1;
      const sha = commitOf(rest.join('/'));
      if (!sha) return notFound();
      // GitHub's layout: one top folder <owner>-<repo>-<short sha>/, which the reader strips.
      const prefix = `${owner}-${repo}-${sha.slice(0, 7)}/`;
      const git = spawn('git', ['--git-dir', bare, 'archive', '--format=tar.gz', `--prefix=${prefix}`, sha]);
      const chunks = [];
      git.stdout.on('data', c => chunks.push(c));
      git.on('close', code => {
        if (code !== 0) return res.writeHead(500).end('git archive failed\n');
        res.writeHead(200, { 'content-type': 'application/x-gzip' }).end(Buffer.concat(chunks));
      });
      return undefined;
    }
    return notFound();
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
