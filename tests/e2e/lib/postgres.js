'use strict';
/*
 * A throw-away PostgreSQL cluster on 127.0.0.1 (initdb + pg_ctl, trust auth). As root the tools run
 * as the `postgres` user through runuser, since root may not run initdb; otherwise as the caller.
 */

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { freePort, leaveNote, onCleanup, sh, KEEP } = require('./harness');

function findBinDir() {
  const candidates = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    for (const v of fs.readdirSync(root).sort((a, b) => Number(b) - Number(a))) candidates.push(path.join(root, v, 'bin'));
  }
  for (const dir of candidates) if (fs.existsSync(path.join(dir, 'pg_ctl'))) return dir;
  throw new Error('PostgreSQL server binaries not found (looked in $PG_BIN and /usr/lib/postgresql/*/bin)');
}

class Postgres {
  async start() {
    this.bin = findBinDir();
    this.port = await freePort();
    this.asRoot = process.getuid?.() === 0;
    // Not under a 0700 temp dir of root's: the postgres user must reach it.
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'svcgen-e2e-pg-'));
    this.data = path.join(this.dir, 'data');
    fs.mkdirSync(this.data);
    if (this.asRoot) {
      sh('chown', ['-R', 'postgres', this.dir]);
      fs.chmodSync(this.dir, 0o755);
    }
    this.run('initdb', ['-D', this.data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    const options = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c max_connections=200',
      '-c fsync=off',
      '-c synchronous_commit=off',
    ].join(' ');
    this.run('pg_ctl', ['-D', this.data, '-l', path.join(this.dir, 'server.log'), '-o', options, '-w', '-t', '60', 'start']);
    const pgCtl = path.join(this.bin, 'pg_ctl');
    const stopCmd = `${this.asRoot ? 'runuser -u postgres -- ' : ''}'${pgCtl}' -D '${this.data}' -m immediate -w stop`;
    this.removeNote = leaveNote('pg', path.basename(this.dir), `${stopCmd}\nrm -rf '${this.dir}'\n`);
    const stopSync = () => this.stopSync();
    this.unregister = onCleanup('postgres', async () => stopSync(), stopSync);
    return this;
  }

  run(tool, args) {
    const cmd = path.join(this.bin, tool);
    return this.asRoot ? sh('runuser', ['-u', 'postgres', '--', cmd, ...args]) : sh(cmd, args);
  }

  /** Connection settings for Backstage's `backend.database.connection`. */
  get connection() {
    return { host: '127.0.0.1', port: this.port, user: 'postgres', password: 'postgres' };
  }

  stopSync() {
    if (!this.data) return;
    try {
      this.run('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', '-t', '30', 'stop']);
    } catch (err) {
      console.error(`# pg_ctl stop: ${err.message}`);
    }
    if (!KEEP) fs.rmSync(this.dir, { recursive: true, force: true });
    this.removeNote?.();
    this.data = undefined;
  }

  async stop() {
    this.unregister?.();
    this.stopSync();
  }
}

module.exports = { Postgres };
