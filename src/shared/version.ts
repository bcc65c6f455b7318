// The package's version, read from its package.json (shipped beside dist/ in the
// packages and in the staged copy): the one place it is written.

import fs = require('node:fs');
import path = require('node:path');

function readVersion(): string {
  const file = path.join(__dirname, '..', '..', '..', 'package.json');
  const version = (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: unknown }).version;
  if (typeof version !== 'string' || !/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`${file}: no version`);
  return version;
}

export const VERSION = readVersion();

/** Said by --version and in the start line: the same code behaves differently per Node.js line. */
export const VERSION_LINE = `scanlogd-ts ${VERSION} (Node.js ${process.version})`;
