#!/usr/bin/env node
/*
 * Previews a template on the running example backend the way Backstage's Template Editor does:
 * fetches the Template entity from the catalog and POSTs it to /api/scaffolder/v2/dry-run.
 * Nothing is published or registered (publish and register steps are skipped in a dry-run).
 *
 *   node scripts/dry-run.js --values ../values/user-service.yaml [--template microservice] [--out DIR]
 *
 * Reads SVCGEN_API_TOKEN (start.sh's default if unset) and SVCGEN_BACKEND_URL (http://localhost:7007).
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const YAML = require('yaml');

async function main() {
  const { values: opts } = parseArgs({
    options: { values: { type: 'string' }, template: { type: 'string', default: 'microservice' }, out: { type: 'string' } },
  });
  if (!opts.values) throw new Error('usage: dry-run.js --values FILE.yaml [--template NAME] [--out DIR]');
  const base = process.env.SVCGEN_BACKEND_URL ?? 'http://localhost:7007';
  const headers = {
    authorization: `Bearer ${process.env.SVCGEN_API_TOKEN ?? 'svcgen-local-dev-token'}`,
    'content-type': 'application/json',
  };

  const res = await fetch(`${base}/api/catalog/entities/by-name/template/default/${opts.template}`, { headers });
  if (!res.ok) throw new Error(`template ${opts.template}: HTTP ${res.status} ${await res.text()}`);
  const template = await res.json();
  const values = YAML.parse(fs.readFileSync(opts.values, 'utf8'));

  const dry = await fetch(`${base}/api/scaffolder/v2/dry-run`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ template, values, directoryContents: [] }),
  });
  const body = await dry.json();
  if (!dry.ok) throw new Error(`dry-run: HTTP ${dry.status} ${JSON.stringify(body)}`);

  for (const entry of body.log) console.log(`[${entry.body.stepId ?? '-'}] ${entry.body.message}`);
  console.log(`\n${body.directoryContents.length} files:`);
  for (const file of body.directoryContents) {
    console.log(`  ${file.path}${file.executable ? ' (executable)' : ''}`);
    if (opts.out) {
      const target = path.join(opts.out, file.path);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, Buffer.from(file.base64Content, 'base64'), { mode: file.executable ? 0o755 : 0o644 });
    }
  }
  console.log(`\noutput: ${JSON.stringify(body.output, null, 2)}`);
}

main().catch(err => {
  console.error(`dry-run.js: ${err.message}`);
  process.exit(1);
});
