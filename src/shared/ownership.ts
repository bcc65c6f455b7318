// Who can change a path, and who can reach it: the checks a process running as root
// makes before it believes a file (the configuration) or enters a directory (the
// chroot), and before it hands a path to the unprivileged user.

import fs = require('node:fs');
import path = require('node:path');

/** Why a file or directory could have been written by someone other than root; null when it could not. */
export function notRootOnly(st: fs.Stats): string | null {
  if (st.uid !== 0) return `owned by uid ${st.uid}, not root`;
  const mode = (st.mode & 0o7777).toString(8);
  if ((st.mode & 0o002) !== 0) return `writable by others (mode ${mode})`;
  if ((st.mode & 0o020) !== 0) return `writable by group (mode ${mode})`;
  return null;
}

/** The directories from / down to `dir`, which must be absolute and resolved. */
export function directoriesDownTo(dir: string): string[] {
  const dirs = [dir];
  for (let d = dir; path.dirname(d) !== d; d = path.dirname(d)) dirs.unshift(path.dirname(d));
  return dirs;
}

/**
 * The first directory from / down to `dir` (resolved) that someone other than root
 * could change, and why: whoever can write a directory above a file can replace the
 * file. Null when every one of them is root's alone.
 */
export function unsafeDirectory(dir: string): { dir: string; problem: string } | null {
  for (const d of directoriesDownTo(dir)) {
    const st = fs.statSync(d);
    if (!st.isDirectory()) return { dir: d, problem: 'not a directory' };
    const problem = notRootOnly(st);
    if (problem !== null) return { dir: d, problem };
  }
  return null;
}

export const READ = 0o4;
export const WRITE = 0o2;
export const SEARCH = 0o1;

/**
 * Whether a process with `ids` (and no supplementary group but its primary one) has
 * the access `bits` (READ, WRITE, SEARCH) to `st`, as the kernel decides it: the owner
 * bits alone apply to the owner, the group bits alone to the group.
 */
export function mayAccess(st: fs.Stats, ids: { uid: number; gid: number }, bits: number): boolean {
  if (st.uid === ids.uid) return (st.mode & (bits << 6)) !== 0;
  if (st.gid === ids.gid) return (st.mode & (bits << 3)) !== 0;
  return (st.mode & bits) !== 0;
}

/**
 * File systems whose files are the kernel's interfaces, not data: writing one changes
 * the system, reading one can block, fail half-way or differ on each read. Magic
 * numbers from linux/magic.h.
 */
const PSEUDO_FILE_SYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0xcafe4a11, 'bpf'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
  [0x62656570, 'configfs'],
  [0x65735543, 'fusectl'],
  [0x42494e4d, 'binfmt_misc'],
  [0x958458f6, 'hugetlbfs'],
  [0x19800202, 'mqueue'],
  [0x6e736673, 'nsfs'],
  [0xf97cff8c, 'selinuxfs'],
]);

/**
 * Where the kernel's interfaces are mounted. devtmpfs answers statfs as tmpfs does, so
 * /dev is known only by its place.
 */
const PSEUDO_TREES = ['/proc', '/sys', '/dev'];

/**
 * Why `real` (a resolved path that exists) is no place for a file the daemon reads or
 * writes as a file; null when it is one.
 */
export function pseudoFileSystem(real: string): string | null {
  const tree = PSEUDO_TREES.find((top) => real === top || real.startsWith(`${top}/`));
  if (tree !== undefined) return `is under ${tree}, the kernel's interfaces, not a place for files`;
  const type = PSEUDO_FILE_SYSTEMS.get(Number(fs.statfsSync(real).type));
  return type === undefined ? null : `is on a ${type} file system, the kernel's interfaces, not a place for files`;
}
