// A directory a test may fill with files root owns: below /run, root's, mode 0755, so
// that every directory above a file in it passes the daemon's ownership checks.

import fs = require('node:fs');
import { makeSocketDir } from '../../harness/syslog.js';

/** A new root-owned 0755 directory, removed when the test ends. */
export function rootOwnedDir(t: { teardown(fn: () => void): void }): string {
  const dir = makeSocketDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
