// Leaving root, against a model of the kernel's rules for ids: the order of the calls,
// the proof that the drop holds (the ids read back, and setuid(0) refused afterwards),
// what each failure says; and, as root, the checks on the chroot directory and on the
// tree the monitor loads its code from.

import test from 'ava';
import fs = require('node:fs');
import path = require('node:path');
import {
  checkChrootDir,
  checkReadableBy,
  dropPrivileges,
  lookupUser,
  verifyDropped,
  type Account,
  type PrivilegeCalls,
} from '../../src/capture/privdrop.js';
import { StartupError } from '../../src/shared/errors.js';
import { isRoot } from '../../harness/netns.js';
import { rootOwnedDir } from '../helpers/dirs.js';

const ACCOUNT: Account = { name: 'scanlogd', uid: 101, gid: 102 };

const eperm = (call: string): Error => Object.assign(new Error(`${call} EPERM`), { code: 'EPERM' });

/**
 * Linux's rules for a process's ids, as setuid(2), setgid(2), setgroups(2) and
 * chroot(2) state them: with effective uid 0 setuid sets the real, effective and saved
 * uid; without it, only the effective one, and only to the real or saved uid.
 * `quirks` make one call do less than it should, as a broken library or addon might.
 */
class ModelKernel implements PrivilegeCalls {
  uid = 0;
  euid = 0;
  suid = 0;
  gid = 0;
  egid = 0;
  sgid = 0;
  groups = [0, 4, 27];
  root = '/';
  cwd = '/home/admin';
  readonly calls: string[] = [];

  constructor(private readonly quirks: { setuidKeepsSaved?: boolean; setgidIgnored?: boolean; setgroupsIgnored?: boolean } = {}) {}

  getpwnam(name: string): { uid: number; gid: number } | null {
    if (name === ACCOUNT.name) return { uid: ACCOUNT.uid, gid: ACCOUNT.gid };
    if (name === 'root') return { uid: 0, gid: 0 };
    if (name === 'wheelish') return { uid: 1000, gid: 0 };
    return null;
  }

  chroot(dir: string): void {
    this.calls.push(`chroot ${dir}`);
    if (this.euid !== 0) throw eperm('chroot');
    this.root = dir;
  }

  chdir(dir: string): void {
    this.calls.push(`chdir ${dir}`);
    this.cwd = dir;
  }

  setgroups(groups: number[]): void {
    this.calls.push(`setgroups ${groups.join(',')}`);
    if (this.euid !== 0) throw eperm('setgroups');
    if (!this.quirks.setgroupsIgnored) this.groups = [...groups];
  }

  setgid(gid: number): void {
    this.calls.push(`setgid ${gid}`);
    if (this.quirks.setgidIgnored) return;
    if (this.euid === 0) [this.gid, this.egid, this.sgid] = [gid, gid, gid];
    else if (gid === this.gid || gid === this.sgid) this.egid = gid;
    else throw eperm('setgid');
  }

  setuid(uid: number): void {
    this.calls.push(`setuid ${uid}`);
    if (this.euid === 0 && !this.quirks.setuidKeepsSaved) [this.uid, this.euid, this.suid] = [uid, uid, uid];
    else if (this.euid === 0) [this.uid, this.euid] = [uid, uid];
    else if (uid === this.uid || uid === this.suid) this.euid = uid;
    else throw eperm('setuid');
  }

  ids(): { uid: number; euid: number; gid: number; egid: number; groups: number[] } {
    return { uid: this.uid, euid: this.euid, gid: this.gid, egid: this.egid, groups: [...this.groups] };
  }
}

test("the drop is made in scanlogd's order, ends with every id the account's, and is proved by a refused setuid(0)", (t) => {
  const kernel = new ModelKernel();
  dropPrivileges('/var/empty', ACCOUNT, kernel);
  t.deepEqual(kernel.calls, ['chroot /var/empty', 'chdir /', 'setgroups 102', 'setgid 102', 'setuid 101', 'setuid 0']);
  t.like(kernel, { uid: 101, euid: 101, suid: 101, gid: 102, egid: 102, sgid: 102, groups: [102], root: '/var/empty', cwd: '/' });
});

test('a setuid that leaves the saved uid 0 is caught: setuid(0) succeeds afterwards, and the start stops', (t) => {
  const kernel = new ModelKernel({ setuidKeepsSaved: true });
  const err = t.throws(() => dropPrivileges('/var/empty', ACCOUNT, kernel), { instanceOf: StartupError });
  t.is(err?.message, 'privileges not dropped: setuid(0) succeeded');
  // The ids read back were the account's: only the attempt to regain root shows it.
  t.is(kernel.calls.at(-1), 'setuid 0');
});

test('a group id that did not change is caught, naming what the ids are', (t) => {
  const err = t.throws(() => dropPrivileges('/var/empty', ACCOUNT, new ModelKernel({ setgidIgnored: true })), {
    instanceOf: StartupError,
  });
  t.is(err?.message, 'privileges not dropped: uid 101/101 gid 0/0 groups 102');
});

test("supplementary groups left over (root's disk, adm, sudo) are caught", (t) => {
  const err = t.throws(() => dropPrivileges('/var/empty', ACCOUNT, new ModelKernel({ setgroupsIgnored: true })), {
    instanceOf: StartupError,
  });
  t.is(err?.message, 'privileges not dropped: uid 101/101 gid 102/102 groups 0,4,27');
});

test('verifyDropped refuses a process still root, and passes one that has dropped', (t) => {
  t.is(t.throws(() => verifyDropped(ACCOUNT, new ModelKernel()))?.message, 'privileges not dropped: uid 0/0 gid 0/0 groups 0,4,27');
  const kernel = new ModelKernel();
  dropPrivileges('/var/empty', ACCOUNT, kernel);
  t.notThrows(() => verifyDropped(ACCOUNT, kernel));
});

test('a process that is no longer root cannot make the drop: chroot is refused first, said with its call', (t) => {
  const kernel = new ModelKernel();
  dropPrivileges('/var/empty', ACCOUNT, kernel);
  // Running the drop again, as a process that is no longer root: chroot is refused first.
  const err = t.throws(() => dropPrivileges('/var/empty', ACCOUNT, kernel), { instanceOf: StartupError });
  t.is(err?.message, 'chroot("/var/empty"): chroot EPERM');
  t.true(err?.cause instanceof Error);
});

test('a failing step stops the drop there, with the words of strerror', (t) => {
  const kernel = new ModelKernel();
  kernel.chroot = (dir) => {
    kernel.calls.push(`chroot ${dir}`);
    throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
  };
  const err = t.throws(() => dropPrivileges('/var/empty', ACCOUNT, kernel), { instanceOf: StartupError });
  t.is(err?.message, 'chroot("/var/empty"): No such file or directory');
  t.deepEqual(kernel.calls, ['chroot /var/empty'], 'no id changed after a failed chroot');
});

test('lookupUser: the numeric ids of an unprivileged account; no such user, or one with uid or gid 0, is refused', (t) => {
  const kernel = new ModelKernel();
  t.deepEqual(lookupUser('scanlogd', kernel), ACCOUNT);
  t.is(t.throws(() => lookupUser('nosuchuser', kernel), { instanceOf: StartupError })?.message, 'getpwnam("nosuchuser"): No such user');
  t.is(t.throws(() => lookupUser('root', kernel))?.message, 'user root has uid 0 and gid 0; it must be an unprivileged account');
  t.is(t.throws(() => lookupUser('wheelish', kernel))?.message, 'user wheelish has uid 1000 and gid 0; it must be an unprivileged account');
});

// ---------------------------------------------------------------------------
// The directories, on the real file system (root makes them root's, or not).

const rootTest = isRoot ? test : test.skip;
if (!isRoot) console.log('chroot and readability checks on disk skipped: they need root to create root-owned directories');

const tree = rootOwnedDir;

rootTest('checkChrootDir: a root-owned directory is taken, resolved; anything someone else could change is refused', (t) => {
  const dir = tree(t);
  fs.mkdirSync(`${dir}/empty`, { mode: 0o755 });
  fs.symlinkSync(`${dir}/empty`, `${dir}/link`);
  t.is(checkChrootDir(`${dir}/link`), `${dir}/empty`);
  t.is(t.throws(() => checkChrootDir('var/empty'))?.message, 'chroot dir var/empty: must be an absolute path');
  t.is(t.throws(() => checkChrootDir(`${dir}/absent`))?.message, `chroot("${dir}/absent"): No such file or directory`);
  fs.mkdirSync(`${dir}/open`);
  fs.chmodSync(`${dir}/open`, 0o775);
  t.is(t.throws(() => checkChrootDir(`${dir}/open`))?.message, `chroot dir ${dir}/open: ${dir}/open is writable by group (mode 775)`);
  fs.mkdirSync(`${dir}/theirs/empty`, { recursive: true, mode: 0o755 });
  fs.chownSync(`${dir}/theirs`, 65534, 65534);
  t.is(
    t.throws(() => checkChrootDir(`${dir}/theirs/empty`))?.message,
    `chroot dir ${dir}/theirs/empty: ${dir}/theirs is owned by uid 65534, not root`,
  );
});

rootTest('checkReadableBy: every directory searchable by the account and the file readable, or the start says which is not', (t) => {
  const dir = tree(t);
  const nobody: Account = { name: 'nobody', uid: 65534, gid: 65534 };
  fs.mkdirSync(`${dir}/lib/bin`, { recursive: true, mode: 0o755 });
  const file = path.join(dir, 'lib', 'bin', 'scanlogd.js');
  fs.writeFileSync(file, '', { mode: 0o644 });
  t.notThrows(() => checkReadableBy(nobody, file));
  fs.chmodSync(`${dir}/lib`, 0o700);
  t.is(
    t.throws(() => checkReadableBy(nobody, file))?.message,
    `user nobody cannot reach ${file}: ${dir}/lib is not searchable by it (mode 700); ` +
      'install the daemon where that user can read it (npm start runs a copy of the tree from /run/scanlogd-dev)',
  );
  // Its group may search it: the account's primary group is enough.
  fs.chownSync(`${dir}/lib`, 0, 65534);
  fs.chmodSync(`${dir}/lib`, 0o710);
  t.notThrows(() => checkReadableBy(nobody, file));
  fs.chmodSync(file, 0o600);
  t.is(t.throws(() => checkReadableBy(nobody, file))?.message, `user nobody cannot read ${file}`);
});
