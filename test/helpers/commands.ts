// Running a command to its end, for the packaging tests: its status and output, or
// (ok) its output, with the command line and everything it said in the error if it failed.

import childProcess = require('node:child_process');

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Five minutes unless `options` say otherwise: building and installing packages is slow. */
export function run(cmd: string, args: string[], options: childProcess.SpawnSyncOptions = {}): Result {
  const r = childProcess.spawnSync(cmd, args, { encoding: 'utf8', timeout: 300000, maxBuffer: 64 << 20, ...options });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export function ok(cmd: string, args: string[], options: childProcess.SpawnSyncOptions = {}): string {
  const r = run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}
