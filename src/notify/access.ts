// --check's look at the two paths the notifier uses, as its user meets them: the events
// file it must read and the state directory it must write. Run as root (the init
// script's check), the look is taken with that user's ids and groups, by switching the
// effective ids for the duration; the kernel then answers as it will for the notifier.

import childProcess = require('node:child_process');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { StartupError, syscallText } from '../shared/errors.js';
import { readPosition } from './follower.js';

/** The account the packages create and run the notifier as. */
export const NOTIFY_USER = 'scanlogd-notify';

/**
 * Runs `look` as `user` would (effective uid, gid and supplementary groups) when this
 * process is root, and as itself otherwise; returns its result and the name it ran as.
 */
export function asNotifier<T>(look: () => T, user = NOTIFY_USER): { result: T; as: string } {
  if (process.geteuid?.() !== 0) return { result: look(), as: os.userInfo().username };
  // id(1) asks the system's user database (NSS), as the init system will.
  let pw: { uid: number; gid: number };
  try {
    const id = (flag: string): number =>
      Number(childProcess.execFileSync('id', [flag, user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    pw = { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new StartupError(`user ${user}, whom the notifier runs as, does not exist`);
  }
  const groups = process.getgroups?.() ?? [];
  const egid = process.getegid?.() ?? 0;
  // Node has initgroups(3) (the user's groups from the system's group database); its types lack it.
  (process as NodeJS.Process & { initgroups(user: string, extraGroup: number): void }).initgroups(user, pw.gid);
  process.setegid?.(pw.gid);
  process.seteuid?.(pw.uid);
  try {
    return { result: look(), as: user };
  } finally {
    process.seteuid?.(0);
    process.setegid?.(egid);
    process.setgroups?.(groups);
  }
}

/** Whether the events file can be read (or is not there yet, in a directory that is); throws with the reason. */
export function lookAtEvents(file: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    // Absent from a directory that is there: the daemon has not written it yet.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && fs.existsSync(path.dirname(file))) {
      return `events file ${file}: not there yet (the notifier waits for it)`;
    }
    throw new StartupError(`events file ${file}: ${syscallText(err)}`);
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new StartupError(`events file ${file}: not a regular file`);
  } finally {
    fs.closeSync(fd);
  }
  return `events file ${file}: readable`;
}

/** Whether a file can be made in the state file's directory, and the state file (if any) read; throws with the reason. */
export function lookAtState(file: string): string {
  const dir = path.dirname(file);
  const probe = path.join(dir, `.check-${process.pid}`);
  try {
    const fd = fs.openSync(probe, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    fs.closeSync(fd);
    fs.unlinkSync(probe);
  } catch (err) {
    throw new StartupError(`state directory ${dir}: cannot write in it: ${syscallText(err)}`);
  }
  try {
    const position = readPosition(file);
    return `state directory ${dir}: writable${position === null ? '' : `; position ${position.offset} in inode ${position.ino}`}`;
  } catch (err) {
    throw new StartupError((err as Error).message);
  }
}
