#!/usr/bin/env node
'use strict';
// Both processes start here; the compiled sources live in dist/. The pages the runtime's
// own start-up read go back before any of the daemon's code loads (src/shared/procctl.ts).
require('../dist/src/shared/procctl.js').releaseStartupPages(true);
require('../dist/src/cli.js').main(process.argv.slice(2), __filename);
