// The gate of the flood test files: they run as root, with gcc to build the load
// generator (harness/gen/flood.c), and whatever the generator started is killed after.

import test from 'ava';
import fs = require('node:fs');
import { isRoot } from '../../harness/netns.js';
import { buildGenerator, killStarted } from '../../harness/generator.js';

/**
 * The test function of a file of flood tests: ava's serial test where they can run, with
 * the generator built before the first and its floods stopped after the last; otherwise
 * a skip, said once as "`what` skipped: …".
 */
export function floodTest(what: string): typeof test.serial | typeof test.serial.skip {
  if (!isRoot || !fs.existsSync('/usr/bin/gcc')) {
    console.log(`${what} skipped: they need root and gcc (for the load generator)`);
    return test.serial.skip;
  }
  test.before(() => {
    buildGenerator();
  });
  test.after.always(() => killStarted());
  return test.serial;
}
