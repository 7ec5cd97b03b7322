#!/usr/bin/env node
// Copies every template set of the repository (../templates/<name>/ holding a manifest.yaml)
// into ./templates/, so the published package is self-contained. File modes are kept; symbolic
// links are copied as what they point at, and one pointing outside its set fails the build.
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

/** The first symbolic link under `dir` that resolves outside `setRoot` (or nowhere), as "path -> target". */
function linkOutside(setRoot, dir = setRoot) {
  const realRoot = fs.realpathSync(setRoot);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) {
      let real;
      try {
        real = fs.realpathSync(file);
      } catch {
        return `${path.relative(setRoot, file)} -> ${fs.readlinkSync(file)} (missing)`;
      }
      if (real !== realRoot && !real.startsWith(realRoot + path.sep)) return `${path.relative(setRoot, file)} -> ${fs.readlinkSync(file)}`;
    } else if (entry.isDirectory()) {
      const found = linkOutside(setRoot, file);
      if (found) return found;
    }
  }
  return undefined;
}

const copied = [];
for (const name of fs.readdirSync(source).sort()) {
  const dir = path.join(source, name);
  if (!fs.statSync(dir).isDirectory() || !fs.existsSync(path.join(dir, 'manifest.yaml'))) continue;
  // The package must not carry a file of the build machine: the engine would refuse the set anyway.
  const outside = linkOutside(dir);
  if (outside) {
    console.error(`copy-templates: template set "${name}": ${outside} is a symbolic link outside the set; template sets may only link inside themselves`);
    process.exit(1);
  }
  // cpSync keeps file modes, so executable template files stay executable.
  fs.cpSync(dir, path.join(target, name), { recursive: true, dereference: true });
  copied.push(name);
}
console.log(`copy-templates: ${copied.length ? copied.join(', ') : 'no template sets'} -> ${path.relative(process.cwd(), target) || '.'}`);
