// No new privileges, and not dumpable: the process attributes each half sets for
// itself (native/procctl.c). Loaded by each process as it starts, before any drop.

import { StartupError, describe } from './errors.js';
import { loadAddon } from './addon.js';
import type { ProcCtl } from '../types/procctl.js';

export function loadProcCtl(): ProcCtl {
  return loadAddon<ProcCtl>('procctl', 'process attributes addon');
}

/**
 * Not dumpable, set explicitly rather than left to fs.suid_dumpable: the /proc files of
 * the process become root's, and another process of the same user (the other half,
 * were it compromised) can neither ptrace it nor read its memory. Also no new
 * privileges on this thread. Throws a StartupError naming `who` if either is refused.
 */
export function lockProcess(who: string, procctl: ProcCtl = loadProcCtl()): void {
  try {
    procctl.noNewPrivs();
    procctl.setDumpable(false);
  } catch (err) {
    throw new StartupError(`${who}: ${describe(err)}`, { cause: err });
  }
  const state = procctl.state();
  if (!state.noNewPrivs || state.dumpable) {
    throw new StartupError(`${who}: process attributes not set: no_new_privs ${state.noNewPrivs}, dumpable ${state.dumpable}`);
  }
}
