// Calls made inside a running daemon process by gdb (attached as root): each runs with
// the process's own credentials, root directory and, where it has one, its filters,
// as a compromised process would make it.

import childProcess = require('node:child_process');

/**
 * Runs each gdb `call` in process `pid`, then detaches; the value each printed, in
 * order. With `fatal`, a call is expected to end the process: there is nothing to
 * detach from, and gdb, which can trip over a process dying under it, quits at once
 * rather than dumping its own core while it still holds the dead process.
 */
export function callInside(pid: number, calls: string[], { fatal = false } = {}): { values: number[]; output: string } {
  const setup = fatal ? ['maint set internal-error quit yes', 'maint set internal-error corefile no'] : [];
  const commands = [...calls, ...(fatal ? [] : ['detach'])];
  const args = [...setup.flatMap((c) => ['-iex', c]), '-p', String(pid), '-batch', '-nx', ...commands.flatMap((c) => ['-ex', c])];
  const g = childProcess.spawnSync('gdb', args, {
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
