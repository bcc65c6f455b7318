// Who can change a path and who can reach it: the one rule behind the chroot, the
// configuration file, the pidfile directory and the daemon's own code.

import test from 'ava';
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { READ, SEARCH, WRITE, directoriesDownTo, mayAccess, notRootOnly, unsafeDirectory } from '../../src/shared/ownership.js';

const stat = (uid: number, gid: number, mode: number): fs.Stats => ({ uid, gid, mode }) as fs.Stats;
const ids = { uid: 100, gid: 200 };

const access: Array<[string, fs.Stats, number, boolean]> = [
  ['owner with the owner bit', stat(100, 0, 0o700), READ, true],
  ['owner without the owner bit, though others have it', stat(100, 0, 0o077), READ, false],
  ['group member with the group bit', stat(0, 200, 0o070), WRITE, true],
  ['group member without the group bit, though others have it', stat(0, 200, 0o707), WRITE, false],
  ['anyone else with the other bit', stat(0, 0, 0o001), SEARCH, true],
  ['anyone else without it', stat(0, 0, 0o770), SEARCH, false],
  ['search is not read', stat(0, 0, 0o711), READ, false],
];

for (const [name, st, bits, expected] of access) {
  test(`mayAccess: ${name}`, (t) => {
    t.is(mayAccess(st, ids, bits), expected);
  });
}

const owners: Array<[fs.Stats, string | null]> = [
  [stat(0, 0, 0o40755), null],
  [stat(0, 0, 0o41755), null],
  [stat(0, 50, 0o40775), 'writable by group (mode 775)'],
  [stat(0, 0, 0o41777), 'writable by others (mode 1777)'],
  [stat(0, 0, 0o40777), 'writable by others (mode 777)'],
  [stat(65534, 0, 0o40755), 'owned by uid 65534, not root'],
];

for (const [st, expected] of owners) {
  test(`notRootOnly: uid ${st.uid} mode ${(st.mode & 0o7777).toString(8)}`, (t) => {
    t.is(notRootOnly(st), expected);
  });
}

test('directoriesDownTo lists / first and the directory itself last', (t) => {
  t.deepEqual(directoriesDownTo('/'), ['/']);
  t.deepEqual(directoriesDownTo('/var/empty'), ['/', '/var', '/var/empty']);
});

test('unsafeDirectory names the first directory from the top that someone else could change', (t) => {
  if (process.getuid?.() !== 0) {
    // Without root no directory of one's own is root's: /tmp (1777) is the first problem.
    t.deepEqual(unsafeDirectory(os.tmpdir()), { dir: os.tmpdir(), problem: 'writable by others (mode 1777)' });
    return;
  }
  // Below /run, root's alone; a group-writable directory with a world-writable one below.
  const top = fs.mkdtempSync('/run/scanlogd-own-');
  t.teardown(() => fs.rmSync(top, { recursive: true, force: true }));
  fs.chmodSync(top, 0o755);
  t.is(unsafeDirectory(top), null);
  const file = path.join(top, 'f');
  fs.writeFileSync(file, '');
  t.deepEqual(unsafeDirectory(file), { dir: file, problem: 'not a directory' });
  const inner = path.join(top, 'a', 'b');
  fs.mkdirSync(inner, { recursive: true });
  fs.chmodSync(path.join(top, 'a'), 0o775);
  fs.chmodSync(inner, 0o777);
  t.deepEqual(unsafeDirectory(inner), { dir: path.join(top, 'a'), problem: 'writable by group (mode 775)' });
  fs.chownSync(path.join(top, 'a'), 65534, 0);
  t.deepEqual(unsafeDirectory(inner), { dir: path.join(top, 'a'), problem: 'owned by uid 65534, not root' });
});
