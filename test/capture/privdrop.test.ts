// Leaving root, against a model of the kernel's rules for ids: the order of the calls,
// the proof that the drop holds (the ids read back, and setuid(0) refused afterwards),
// what each failure says; as root, the checks on the chroot directory and on the tree
// the monitor loads its code from; and the real addon (build/Release/privdrop.node)
// against this machine's accounts, a real chroot and a lookup that fails rather than
// finds nothing.

import test from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import {
  checkChrootDir,
  checkReadableBy,
  dropPrivileges,
  loadPrivDrop,
  lookupUser,
  systemCalls,
  verifyDropped,
  type Account,
  type PrivilegeCalls,
} from '../../src/capture/privdrop.js';
import { StartupError } from '../../src/shared/errors.js';
import type { Passwd, PrivDrop } from '../../src/types/privdrop.js';
import { isRoot } from '../../harness/netns.js';
import { rootOwnedDir } from '../helpers/dirs.js';
import { entryScript } from '../../harness/daemon.js';

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
  t.is(err?.message, 'chroot("/var/empty"): Operation not permitted');
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

test('lookupUser: a lookup that failed is not "No such user": it says why', (t) => {
  const kernel = new ModelKernel();
  kernel.getpwnam = () => {
    throw new Error('Permission denied');
  };
  const err = t.throws(() => lookupUser('scanlogd', kernel), { instanceOf: StartupError });
  t.is(err?.message, 'getpwnam("scanlogd"): error reading the user database: Permission denied');
});

test("the process's own calls: the lookup and chroot are the addon's, a refused chroot is said in strerror's words and nothing follows", (t) => {
  const calls: string[] = [];
  const passwd: Passwd = { name: 'scanlogd', uid: 999, gid: 995, home: '/nonexistent', shell: '/usr/sbin/nologin' };
  const addon: PrivDrop = {
    getpwnam(name) {
      calls.push(`getpwnam ${name}`);
      return name === passwd.name ? passwd : null;
    },
    chroot(dir) {
      calls.push(`chroot ${dir}`);
      throw Object.assign(new Error('No such file or directory'), { errno: 2 });
    },
    lockFile() {
      throw new Error('not part of the drop');
    },
    entryOf() {
      throw new Error('not part of the drop');
    },
    unlinkAt() {
      throw new Error('not part of the drop');
    },
  };
  const own = systemCalls(addon);
  t.deepEqual(lookupUser('scanlogd', own), { name: 'scanlogd', uid: 999, gid: 995 });
  const before = process.getuid?.();
  const err = t.throws(() => dropPrivileges('/nowhere', { name: 'x', uid: 999, gid: 995 }, own), { instanceOf: StartupError });
  t.is(err?.message, 'chroot("/nowhere"): No such file or directory');
  t.deepEqual(calls, ['getpwnam scanlogd', 'chroot /nowhere']);
  t.is(process.getuid?.(), before);
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

// ---------------------------------------------------------------------------
// The real addon.

/** The entry of `name` in /etc/passwd, as the addon should give it. */
function passwdEntry(name: string): Passwd | null {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (line === undefined) return null;
  const f = line.split(':');
  return { name: f[0] as string, uid: Number(f[2]), gid: Number(f[3]), home: f[5] as string, shell: f[6] as string };
}

test('the addon: getpwnam gives the entry as /etc/passwd has it, null for no such user', (t) => {
  const privdrop = loadPrivDrop();
  t.deepEqual(privdrop.getpwnam('root'), passwdEntry('root'));
  t.is(privdrop.getpwnam('root')?.uid, 0);
  const mine = os.userInfo().username;
  t.deepEqual(privdrop.getpwnam(mine), passwdEntry(mine));
  t.is(privdrop.getpwnam('no-such-user-at-all'), null);
  // Names no account can have: with a NUL in them, or longer than LOGIN_NAME_MAX.
  t.is(privdrop.getpwnam('root\0x'), null);
  t.is(privdrop.getpwnam('r'.repeat(300)), null);
  t.throws(() => privdrop.getpwnam(0 as unknown as string), { instanceOf: TypeError });
});

test("the addon: a chroot the kernel refuses throws strerror's words and the errno", (t) => {
  const privdrop = loadPrivDrop();
  const err = t.throws(() => privdrop.chroot('/no/such/dir'));
  t.is(err?.message, 'No such file or directory');
  t.is((err as Error & { errno?: number }).errno, os.constants.errno.ENOENT);
});

/**
 * Runs `body` in a Node process started through `wrap` (a command that runs its
 * arguments), with `privdrop` loaded; its output. The addon is the staged copy's, which
 * the unprivileged users of these tests can read wherever the clone is (root's home is
 * mode 0700).
 */
function withAddon(body: string, wrap: string[] = []): string {
  const addon = path.join(path.dirname(path.dirname(entryScript())), 'build', 'Release', 'privdrop.node');
  const command = [...wrap, process.execPath, '-e', `const privdrop = require(${JSON.stringify(addon)}); ${body}`];
  const r = childProcess.spawnSync(command[0] as string, command.slice(1), { encoding: 'utf8', timeout: 20000 });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}

const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

rootTest('the addon: chroot as root changes the root directory; an unprivileged user gets EPERM', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scanlogd-chroot-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Reachable by the unprivileged user, so that only the missing privilege refuses it.
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, 'only-here'), '');
  t.is(
    withAddon(
      `const fs = require('node:fs'); privdrop.chroot(${JSON.stringify(dir)}); process.chdir('/'); console.log(fs.readdirSync('/').join(','));`,
    ),
    'only-here',
  );
  t.is(
    withAddon(
      `try { privdrop.chroot(${JSON.stringify(dir)}); console.log('chrooted'); } catch (e) { console.log(e.message, e.errno); }`,
      asNobody,
    ),
    `Operation not permitted ${os.constants.errno.EPERM}`,
  );
});

rootTest('the addon: a lookup that fails (passwd unreadable, files only) is an error, not "no such user"', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scanlogd-nss-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, 'passwd'), '', { mode: 0o000 });
  fs.writeFileSync(path.join(dir, 'nsswitch.conf'), 'passwd: files\n', { mode: 0o644 });
  fs.chmodSync(path.join(dir, 'passwd'), 0o000);
  // In a mount namespace of its own: /etc/passwd unreadable to the unprivileged user,
  // and no other NSS source to fall back on.
  const mounts = `mount --bind ${dir}/passwd /etc/passwd && mount --bind ${dir}/nsswitch.conf /etc/nsswitch.conf && exec "$@"`;
  const probe = "try { console.log(JSON.stringify(privdrop.getpwnam('root'))); } catch (e) { console.log(e.message, e.errno); }";
  t.is(withAddon(probe, ['unshare', '-m', 'sh', '-c', mounts, 'sh', ...asNobody]), `Permission denied ${os.constants.errno.EACCES}`);
  // The same lookup with the real files finds the account.
  t.is(withAddon(probe, asNobody), JSON.stringify(passwdEntry('root')));
});
