// Calls made inside a running daemon process by gdb (attached as root): each runs with
// the process's own credentials, root directory and, where it has one, its filters,
// as a compromised process would make it.

import childProcess = require('node:child_process');

/** Runs each gdb `call` in process `pid`, then detaches; the value each printed, in order. */
export function callInside(pid: number, calls: string[]): { values: number[]; output: string } {
  const g = childProcess.spawnSync('gdb', ['-p', String(pid), '-batch', '-nx', ...calls.flatMap((c) => ['-ex', c]), '-ex', 'detach'], {
    encoding: 'utf8',
    timeout: 60000,
  });
  const values = g.stdout
    .split('\n')
    .map((l) => /^\$\d+ = (-?\d+)$/.exec(l)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number);
  return { values, output: g.stdout + g.stderr };
}
