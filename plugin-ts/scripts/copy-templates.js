#!/usr/bin/env node
// Copies every template set of the repository (../templates/<name>/ holding a manifest.yaml)
// into ./templates/, so the published package is self-contained. File modes are kept.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const source = path.resolve(__dirname, '..', '..', 'templates');
const target = path.resolve(__dirname, '..', 'templates');

fs.rmSync(target, { recursive: true, force: true });
fs.mkdirSync(target, { recursive: true });

if (!fs.existsSync(source)) {
  console.warn(`copy-templates: ${source} does not exist; no built-in template sets`);
  process.exit(0);
}

const copied = [];
for (const name of fs.readdirSync(source).sort()) {
  const dir = path.join(source, name);
  if (!fs.statSync(dir).isDirectory() || !fs.existsSync(path.join(dir, 'manifest.yaml'))) continue;
  // cpSync keeps file modes, so executable template files stay executable.
  fs.cpSync(dir, path.join(target, name), { recursive: true, dereference: true });
  copied.push(name);
}
console.log(`copy-templates: ${copied.length ? copied.join(', ') : 'no template sets'} -> ${path.relative(process.cwd(), target) || '.'}`);
