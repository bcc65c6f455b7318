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
