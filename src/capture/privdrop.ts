// Leaving root: the checks that must pass first, the chroot and id changes in
// scanlogd's order, and a verification that the old privileges cannot come back.

import fs = require('node:fs');
import path = require('node:path');
import { StartupError, messageOf, syscallText } from '../shared/errors.js';
import { loadAddon } from '../shared/addon.js';
import { READ, SEARCH, directoriesDownTo, mayAccess, pseudoFileSystem, unsafeDirectory } from '../shared/ownership.js';
import { loadProcCtl } from '../shared/procctl.js';
import type { ProcCtl } from '../types/procctl.js';
import type { PrivDrop } from '../types/privdrop.js';

export interface Account {
  name: string;
  uid: number;
  gid: number;
}

/** The one place the addon is loaded: by the capture process, as root, before the drop. */
export function loadPrivDrop(): PrivDrop {
  return loadAddon<PrivDrop>('privdrop', 'privilege drop addon');
}

/**
 * The system calls the drop is made of, and the ids it reads back: the real ones are
 * the privdrop addon's, the C library's id changes (procctl) and Node's own reads;
 * tests give a model of the kernel's rules.
 */
export interface PrivilegeCalls {
  /** The account's ids, or null when there is no such user; throws if the lookup itself failed. */
  getpwnam(name: string): { uid: number; gid: number } | null;
  chroot(dir: string): void;
  chdir(dir: string): void;
  setgroups(groups: number[]): void;
  setgid(gid: number): void;
  setuid(uid: number): void;
  /** Real and effective ids, and the supplementary groups. */
  ids(): { uid: number; euid: number; gid: number; egid: number; groups: number[] };
}

/** The process's own calls: the privdrop addon for what Node lacks, procctl for the id changes. */
export function systemCalls(addon: PrivDrop = loadPrivDrop(), procctl: ProcCtl = loadProcCtl()): PrivilegeCalls {
  return {
    getpwnam: (name) => addon.getpwnam(name),
    chroot: (dir) => addon.chroot(dir),
    chdir: (dir) => process.chdir(dir),
    setgroups: (groups) => procctl.setgroups(groups),
    setgid: (gid) => procctl.setgid(gid),
    setuid: (uid) => procctl.setuid(uid),
    ids: () => ({
      uid: process.getuid!(),
      euid: process.geteuid!(),
      gid: process.getgid!(),
      egid: process.getegid!(),
      groups: process.getgroups!(),
    }),
  };
}

/**
 * The account's numeric ids, resolved while /etc/passwd is still reachable. Only a
 * lookup that found nothing is "No such user"; a lookup that failed says why.
 */
export function lookupUser(name: string, calls: PrivilegeCalls = systemCalls()): Account {
  let pw: { uid: number; gid: number } | null;
  try {
    pw = calls.getpwnam(name);
  } catch (err) {
    throw new StartupError(`getpwnam("${name}"): error reading the user database: ${messageOf(err)}`, { cause: err });
  }
  if (pw === null) throw new StartupError(`getpwnam("${name}"): No such user`);
  if (pw.uid === 0 || pw.gid === 0) {
    throw new StartupError(`user ${name} has uid ${pw.uid} and gid ${pw.gid}; it must be an unprivileged account`);
  }
  return { name, uid: pw.uid, gid: pw.gid };
}

/**
 * A chroot directory that someone other than root can write to, or that sits below
 * such a directory, could be filled or swapped by that someone.
 */
export function checkChrootDir(dir: string): string {
  if (!path.isAbsolute(dir)) throw new StartupError(`chroot dir ${dir}: must be an absolute path`);
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch (err) {
    throw new StartupError(`chroot("${dir}"): ${syscallText(err)}`);
  }
  const pseudo = pseudoFileSystem(real);
  if (pseudo !== null) throw new StartupError(`chroot dir ${dir}: ${real} ${pseudo}`);
  const unsafe = unsafeDirectory(real);
  if (unsafe !== null) throw new StartupError(`chroot dir ${dir}: ${unsafe.dir} is ${unsafe.problem}`);
  return real;
}

/**
 * Whether `account` (with only its primary group) may read `file`: every directory
 * above it searchable, the file readable. The monitor runs as that account and loads
 * the daemon's code from there.
 */
export function checkReadableBy(account: Account, file: string): void {
  const real = fs.realpathSync(file);
  for (const d of directoriesDownTo(path.dirname(real))) {
    const st = fs.statSync(d);
    if (!mayAccess(st, account, SEARCH)) {
      throw new StartupError(
        `user ${account.name} cannot reach ${real}: ${d} is not searchable by it (mode ${(st.mode & 0o7777).toString(8)}); ` +
          'install the daemon where that user can read it (npm start runs a copy of the tree from /run/scanlogd-dev)',
      );
    }
  }
  if (!mayAccess(fs.statSync(real), account, READ)) throw new StartupError(`user ${account.name} cannot read ${real}`);
}

/**
 * chroot, chdir("/"), one supplementary group, setgid, setuid; then prove it. The id
 * changes are the C library's (procctl): Node's own refuse to run where its libuv may
 * use io_uring, which on Debian 13's nodejs (the system's libuv) is always.
 */
export function dropPrivileges(dir: string, account: Account, calls: PrivilegeCalls = systemCalls()): void {
  const step = (name: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      throw new StartupError(`${name}: ${syscallText(err)}`, { cause: err });
    }
  };
  step(`chroot("${dir}")`, () => calls.chroot(dir));
  step('chdir("/")', () => calls.chdir('/'));
  step('setgroups', () => calls.setgroups([account.gid]));
  step('setgid', () => calls.setgid(account.gid));
  step('setuid', () => calls.setuid(account.uid));
  verifyDropped(account, calls);
}

/**
 * The proof the drop holds, as OpenSSH's privsep makes it: every id is the account's,
 * its group the only one, and the old privileges cannot be taken back.
 */
export function verifyDropped(account: Account, calls: PrivilegeCalls = systemCalls()): void {
  const { groups, ...ids } = calls.ids();
  const wrong =
    ids.uid !== account.uid ||
    ids.euid !== account.uid ||
    ids.gid !== account.gid ||
    ids.egid !== account.gid ||
    groups.some((g) => g !== account.gid);
  if (wrong) {
    throw new StartupError(`privileges not dropped: uid ${ids.uid}/${ids.euid} gid ${ids.gid}/${ids.egid} groups ${groups.join(',')}`);
  }
  // With a saved uid of 0 this would succeed; it must not.
  let regained = true;
  try {
    calls.setuid(0);
  } catch {
    regained = false;
  }
  if (regained) throw new StartupError('privileges not dropped: setuid(0) succeeded');
}
