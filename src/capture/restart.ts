// The capture process's first act, as root: the start filter (no io_uring, no
// listen(2)), then the same command again from a fresh image under it. The runtime's
// event loop may have set up an io_uring before any JavaScript ran, and a ring cannot
// be taken back from libuv; in the fresh image libuv is told io_uring does not exist
// and uses epoll, and so is the monitor, which inherits the filter.

import { StartupError, messageOf } from '../shared/errors.js';
import { loadProcCtl } from '../shared/procctl.js';
import { nodeOptions } from './runtime.js';
import { confirmStartFilter, installStartFilter } from '../shared/sandbox.js';
import type { ProcCtl } from '../types/procctl.js';

/**
 * In the environment of the fresh image, so that it does not start again. It is not
 * trusted: the fresh image checks that the filter holds (confirmStartFilter).
 */
export const RESTARTED = 'SCANLOGD_RESTARTED';

/**
 * The node command line of the fresh image: the same, with the options every process
 * the daemon starts gets (the heap's bound, never an inspector on SIGUSR1 where the
 * runtime can say so). A foreground start from the command line has none of them yet;
 * one the user gave keeps the user's value.
 */
export function freshArguments(
  execArgv: readonly string[],
  entryScript: string,
  argv: readonly string[],
  flags: ReadonlySet<string> = process.allowedNodeEnvironmentFlags,
): string[] {
  const given = new Set(execArgv.map((option) => option.split('=')[0]));
  const extra = nodeOptions(flags).filter((option) => !given.has(option.split('=')[0]));
  return [...execArgv, ...extra, entryScript, ...argv];
}

/**
 * Returns in the fresh image, the filter checked; the first image does not return. The
 * fresh image gets the standard descriptors and `statusFd` (a detached start's status
 * pipe); every other descriptor closes. Only as root: any other user is refused by the
 * capture process itself.
 */
export function restartUnderStartFilter(
  entryScript: string,
  argv: readonly string[],
  statusFd: number | null,
  procctl: ProcCtl = loadProcCtl(),
  env: NodeJS.ProcessEnv = process.env,
): void {
  if (process.getuid?.() !== 0) return;
  if (env[RESTARTED] === undefined) {
    installStartFilter(procctl);
    // Under the filter UV_USE_IO_URING can ask for nothing, and while it is set Node 20
    // refuses every id change (its fix for CVE-2024-22017): the fresh image goes without.
    const environment = Object.entries({ ...env, [RESTARTED]: '1' })
      .filter(([name]) => name !== 'UV_USE_IO_URING')
      .map(([name, value]) => `${name}=${value ?? ''}`);
    try {
      const keep = statusFd === null ? [0, 1, 2] : [0, 1, 2, statusFd];
      procctl.execve(process.execPath, [process.argv0, ...freshArguments(process.execArgv, entryScript, argv)], environment, keep);
    } catch (err) {
      throw new StartupError(`capture process: cannot start again under its start filter: ${messageOf(err)}`, { cause: err });
    }
  }
  delete env[RESTARTED];
  confirmStartFilter('capture process', procctl);
}
