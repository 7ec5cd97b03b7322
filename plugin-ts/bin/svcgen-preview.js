#!/usr/bin/env node
'use strict';

require('../dist/cli/preview.js').run();
