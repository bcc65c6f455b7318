// The harness's C tools (the load generator, the system-call injector) are compiled with
// the machine's gcc into dist/ before a run, never committed as binaries.

import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');

/** Compiles one C file into `binary`; throws with gcc's message if that fails. */
export function compileC(source: string, binary: string, what: string): string {
  const which = childProcess.spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (which.status !== 0) throw new Error(`gcc not found: the ${what} is compiled before each run (apt-get install gcc libc6-dev)`);
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  const r = childProcess.spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-o', binary, source], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`compiling ${source} failed:\n${String(r.stderr)}`);
  return binary;
}
