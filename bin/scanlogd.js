#!/usr/bin/env node
'use strict';
// Both processes start here; the compiled sources live in dist/.
require('../dist/src/cli.js').main(process.argv.slice(2), __filename);
