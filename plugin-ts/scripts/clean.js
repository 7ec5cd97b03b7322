#!/usr/bin/env node
// Removes the folders named on the command line (build output), like rm -rf.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

for (const dir of process.argv.slice(2)) {
  fs.rmSync(path.resolve(__dirname, '..', dir), { recursive: true, force: true });
}
