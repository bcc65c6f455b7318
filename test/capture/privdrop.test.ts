// The account lookup and chroot of the privilege drop: the adapter's wording with a fake
// addon, then the real one (build/Release/privdrop.node) against this machine's
// accounts and, as root, a real chroot and a lookup that fails rather than finds nothing.

import test from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { dropPrivileges, loadPrivDrop, lookupUser } from '../../src/capture/privdrop.js';
import { StartupError } from '../../src/shared/errors.js';
import type { Passwd, PrivDrop } from '../../src/types/privdrop.js';
import { isRoot } from '../../harness/netns.js';
import { entryScript } from '../../harness/daemon.js';

const rootTest = isRoot ? test : test.skip;
if (!isRoot) console.log('privdrop addon tests that chroot or change users skipped: they need root');

/** An addon whose getpwnam answers from `accounts` or throws `failure`, and whose chroot throws `chrootError`. */
function fakeAddon(accounts: Passwd[], failure?: Error, chrootError?: Error): { addon: PrivDrop; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    addon: {
      getpwnam(name) {
        calls.push(`getpwnam ${name}`);
        if (failure !== undefined) throw failure;
        return accounts.find((a) => a.name === name) ?? null;
      },
      chroot(dir) {
        calls.push(`chroot ${dir}`);
        if (chrootError !== undefined) throw chrootError;
      },
    },
  };
}

const account = (name: string, uid: number, gid: number): Passwd => ({ name, uid, gid, home: '/nonexistent', shell: '/usr/sbin/nologin' });

test('lookupUser: the numeric ids of an unprivileged account', (t) => {
  const { addon } = fakeAddon([account('scanlogd', 999, 995)]);
  t.deepEqual(lookupUser('scanlogd', addon), { name: 'scanlogd', uid: 999, gid: 995 });
});

test('lookupUser: "No such user" only when the lookup found nothing; a failed lookup says why', (t) => {
  const missing = t.throws(() => lookupUser('nobody-here', fakeAddon([]).addon), { instanceOf: StartupError });
  t.is(missing?.message, 'getpwnam("nobody-here"): No such user');
  const failed = t.throws(() => lookupUser('scanlogd', fakeAddon([], new Error('Permission denied')).addon), { instanceOf: StartupError });
  t.is(failed?.message, 'getpwnam("scanlogd"): Permission denied');
});

test("lookupUser: root's uid or gid is refused", (t) => {
  for (const [uid, gid] of [
    [0, 995],
    [999, 0],
  ] as const) {
    const err = t.throws(() => lookupUser('x', fakeAddon([account('x', uid, gid)]).addon), { instanceOf: StartupError });
    t.is(err?.message, `user x has uid ${uid} and gid ${gid}; it must be an unprivileged account`);
  }
});

test("dropPrivileges: a refused chroot is one line in strerror's words, and nothing after it is tried", (t) => {
  const enoent = Object.assign(new Error('No such file or directory'), { errno: 2 });
  const { addon, calls } = fakeAddon([], undefined, enoent);
  const before = process.getuid?.();
  const err = t.throws(() => dropPrivileges('/nowhere', { name: 'x', uid: 999, gid: 995 }, addon), { instanceOf: StartupError });
  t.is(err?.message, 'chroot("/nowhere"): No such file or directory');
  t.deepEqual(calls, ['chroot /nowhere']);
  t.is(process.getuid?.(), before);
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
