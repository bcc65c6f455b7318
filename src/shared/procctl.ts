// No new privileges, not dumpable, SIGUSR1 for its listener: the process attributes
// each half sets for itself (native/procctl.c). Loaded by each process as it starts,
// before any drop.

import os = require('node:os');
import { StartupError, messageOf } from './errors.js';
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
    throw new StartupError(`${who}: ${messageOf(err)}`, { cause: err });
  }
  const state = procctl.state();
  if (!state.noNewPrivs || state.dumpable) {
    throw new StartupError(`${who}: process attributes not set: no_new_privs ${state.noNewPrivs}, dumpable ${state.dumpable}`);
  }
}

/**
 * How the capture process passes on a SIGHUP it receives, for the monitor to say in
 * syslog what it does. A signal of its own, so that a SIGHUP sent to both halves
 * (systemctl kill) makes one line, not two; and one whose default action is to ignore
 * it, so that a relay that arrives before the monitor listens cannot end it.
 */
export const RELAYED_SIGHUP = 'SIGURG';

/**
 * SIGUSR1 to `handler` from now on. Each half listens for it before anything else:
 * without a listener Node 20 would answer it by opening its inspector. Where the
 * runtime runs with --disable-sigusr1 (Node 22.14 and later, 24), no inspector answers
 * it, but Node keeps the signal blocked in every thread, so that it would stay pending
 * and never reach a listener; unblocked on this thread, which runs the listener, it
 * does.
 */
export function onSigusr1(handler: () => void, procctl: ProcCtl = loadProcCtl()): void {
  process.on('SIGUSR1', handler);
  procctl.unblockSignal(os.constants.signals.SIGUSR1);
}

/**
 * Start-up reads much of the runtime's files (the node binary's relocations, its V8
 * snapshot, code that runs once), and those pages would stay resident, in each half,
 * for the daemon's life. This gives them back (native/pages.c); pages the half uses
 * again come back from the page cache. Called as a half starts, to keep the start-up
 * peak down, and once it is set up (inside the sandbox: madvise only). Before the
 * sandbox the mappings are read again each time; the last call uses the list of the
 * one before it, since the sandbox opens no file. Returns the bytes advised; a half
 * that cannot read /proc/self/smaps gives nothing back.
 */
export function releaseStartupPages(beforeSandbox: boolean, procctl: ProcCtl = loadProcCtl()): number {
  return procctl.releaseFilePages(beforeSandbox);
}
