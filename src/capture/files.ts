// The files the capture process handles as root before the drop: the pidfile, which
// it holds locked for its life and removes at its end, the --json output, which the
// monitor writes, and the socket tables the monitor reads with --slow-scans.

import fs = require('node:fs');
import path = require('node:path');
import { StartupError, messageOf, syscallText } from '../shared/errors.js';
import { SOCKET_TABLES, type SocketTable } from '../shared/fds.js';
import { WRITE, mayAccess, pseudoFileSystem, unsafeDirectory } from '../shared/ownership.js';
import type { Account } from './privdrop.js';
import type { PrivDrop } from '../types/privdrop.js';

/** The resolved directory of a path option's file, refused when it is not a place for files. */
function placeFor(option: string, file: string): string {
  let dir: string;
  try {
    dir = fs.realpathSync(path.dirname(file));
  } catch (err) {
    throw new StartupError(`${option} ${file}: directory ${path.dirname(file)}: ${syscallText(err)}`, { cause: err });
  }
  const pseudo = pseudoFileSystem(dir);
  if (pseudo !== null) throw new StartupError(`${option} ${file}: ${dir} ${pseudo}`);
  return dir;
}

export function checkPidfileDir(file: string, account: Account): void {
  const dir = placeFor('pidfile', file);
  const st = fs.statSync(dir);
  if (st.isDirectory() && (st.mode & 0o002) !== 0) {
    // Anyone could plant a pidfile there before the start, or swap it while it runs.
    throw new StartupError(
      `pidfile ${file}: directory ${dir} is writable by others (mode ${(st.mode & 0o7777).toString(8)}); ` +
        `use one that only root and user ${account.name} can write, such as /run/scanlogd`,
    );
  }
  if (!st.isDirectory() || !mayAccess(st, account, WRITE)) {
    throw new StartupError(`pidfile ${file}: directory ${dir} must be writable by user ${account.name}, which removes the file at the end`);
  }
}

/** Attempts to lock a pidfile that someone removes or replaces just as it is locked. */
const PIDFILE_ATTEMPTS = 3;

/** The pidfile as the capture process holds it: locked at `fd`, its directory open at `dirFd`. */
export interface HeldPidfile {
  path: string;
  fd: number;
  dirFd: number;
  /** Its name in that directory. */
  name: string;
}

/** The privdrop addon's calls a pidfile takes. */
export type PidfileCalls = Pick<PrivDrop, 'lockFile' | 'entryOf' | 'unlinkAt'>;

/**
 * Takes the pidfile for this process's life: its directory opened (no link followed),
 * the file opened (created 0644 if absent) without following a link or blocking,
 * locked (flock) so that a second daemon with the same pidfile is refused, naming the
 * holder, then this pid written into it. Neither descriptor is ever closed: the lock
 * goes when the process does, however it ends, and the directory's descriptor is how
 * the chrooted process removes the file at its end (releasePidfile).
 */
export function claimPidfile(file: string, calls: PidfileCalls): HeldPidfile {
  const { O_RDONLY, O_RDWR, O_CREAT, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  const dir = placeFor('pidfile', file);
  const name = path.basename(file);
  let dirFd: number;
  try {
    dirFd = fs.openSync(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (err) {
    throw new StartupError(`pidfile ${file}: directory ${dir}: ${syscallText(err)}`, { cause: err });
  }
  for (let attempt = 1; ; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(path.join(dir, name), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o644);
    } catch (err) {
      fs.closeSync(dirFd);
      throw new StartupError(`pidfile ${file}: ${syscallText(err)}`, { cause: err });
    }
    try {
      const st = fs.fstatSync(fd);
      // The directory is also the daemon user's: what it could have put there is not truncated.
      if (!st.isFile() || st.uid !== 0 || st.nlink !== 1) {
        throw new StartupError(`pidfile ${file}: not a regular file of root's with one link; remove it`);
      }
      if (!calls.lockFile(fd)) {
        const holder = fs.readFileSync(fd, 'utf8').trim();
        throw new StartupError(`another scanlogd (pid ${/^\d+$/.test(holder) ? holder : 'unknown'}) holds ${file}`);
      }
      // Locked, but perhaps a file its holder removed as it stopped: then again, with the new one.
      if (calls.entryOf(dirFd, name, fd) !== 'held' && attempt < PIDFILE_ATTEMPTS) {
        fs.closeSync(fd);
        continue;
      }
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, `${process.pid}\n`, 0);
      return { path: file, fd, dirFd, name };
    } catch (err) {
      fs.closeSync(fd);
      fs.closeSync(dirFd);
      if (err instanceof StartupError) throw err;
      throw new StartupError(`pidfile ${file}: ${syscallText(err)}`, { cause: err });
    }
  }
}

/**
 * Removes the pidfile at the end of the process that holds it, and only if its name
 * still leads to the file this process locked: a file someone put in its place (a
 * newer instance's, once this one's was removed by hand) stays. Returns what to say
 * when it was not removed, or null.
 */
export function releasePidfile(held: HeldPidfile, calls: PidfileCalls): string | null {
  try {
    const entry = calls.entryOf(held.dirFd, held.name, held.fd);
    if (entry === 'replaced') return `pidfile ${held.path} left in place: it is not the file this process locked`;
    if (entry === 'held') calls.unlinkAt(held.dirFd, held.name);
    return null;
  } catch (err) {
    return `pidfile ${held.path} not removed: ${messageOf(err)}`;
  }
}

/** The mode of the --json file as the daemon creates it: root's to write, its group's (the notifier's) to read. */
export const JSON_FILE_MODE = 0o640;

/** What differs between an existing --json file and one the daemon made, or null when nothing does. */
function notMadeByDaemon(st: fs.Stats): string | null {
  if (!st.isFile()) return 'it exists and is not a regular file';
  if (st.uid !== 0) return `it is owned by uid ${st.uid}, not root`;
  if ((st.mode & 0o7777) !== JSON_FILE_MODE) return `its mode is ${(st.mode & 0o7777).toString(8)}, not ${JSON_FILE_MODE.toString(8)}`;
  // A hard link planted earlier could point anywhere on the file system.
  if (st.nlink !== 1) return `it has ${st.nlink} links, not 1`;
  return null;
}

/**
 * Where the --json file goes, if it may: every directory above it root's and writable
 * by no one else (who could swap the file could make root append to any file), on a
 * file system for files, and the file absent or one the daemon made (a regular file
 * of root's, mode 0640, one link). Returns the path with its directory resolved and
 * whether the file exists. Nothing is created or changed.
 */
export function checkJsonOutput(file: string): { target: string; exists: boolean } {
  const dir = placeFor('--json', file);
  const unsafe = unsafeDirectory(dir);
  if (unsafe !== null) throw new StartupError(`--json ${file}: directory ${unsafe.dir} is ${unsafe.problem}`);
  const target = path.join(dir, path.basename(file));
  let st: fs.Stats;
  try {
    st = fs.lstatSync(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { target, exists: false };
    throw new StartupError(`--json ${file}: ${syscallText(err)}`, { cause: err });
  }
  const differs = notMadeByDaemon(st);
  if (differs !== null) throw new StartupError(`--json ${file}: ${differs}; the daemon appends only to a file it made`);
  return { target, exists: true };
}

/**
 * Opens the --json file for the monitor, which cannot open it itself: a log directory
 * is root's. Created 0640 (whatever the umask) where checkJsonOutput found none, or
 * appended to where it found one the daemon made; never through a planted link, never
 * blocking. No other file's mode is changed. `-` is the capture process's standard output.
 */
export function openJsonOutput(file: string): number {
  if (file === '-') return 1;
  const { target, exists } = checkJsonOutput(file);
  const { O_WRONLY, O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(target, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | (exists ? 0 : O_CREAT | O_EXCL), JSON_FILE_MODE);
  } catch (err) {
    throw new StartupError(`--json ${file}: ${syscallText(err)}`, { cause: err });
  }
  try {
    if (exists) {
      // The directory is root's alone, so this is the file checked; said again all the same.
      const differs = notMadeByDaemon(fs.fstatSync(fd));
      if (differs !== null) throw new StartupError(`--json ${file}: ${differs}; the daemon appends only to a file it made`);
    } else {
      // Its own new file: the umask (0077 under the systemd unit) must not take the group's read.
      fs.fchmodSync(fd, JSON_FILE_MODE);
    }
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return fd;
}

/** Where this process's network namespace shows its sockets. */
const SOCKET_TABLE_DIR = '/proc/self/net';

/**
 * Opens, for the monitor's second stage (--slow-scans), the socket tables it reads to
 * know which ports are open: TCP and TCP over IPv6 always (a dual-stack service
 * listens only there), UDP ones with --udp. Read-only, close-on-exec; a table the
 * kernel does not have (IPv6 disabled) is left out. The monitor opens no file.
 */
export function openSocketTables(udp: boolean): Array<{ table: SocketTable; fd: number }> {
  const wanted = SOCKET_TABLES.filter((table) => udp || table.startsWith('tcp'));
  const opened: Array<{ table: SocketTable; fd: number }> = [];
  for (const table of wanted) {
    try {
      opened.push({ table, fd: fs.openSync(path.join(SOCKET_TABLE_DIR, table), fs.constants.O_RDONLY) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      for (const { fd } of opened) fs.closeSync(fd);
      throw new StartupError(`--slow-scans: ${SOCKET_TABLE_DIR}/${table}: ${messageOf(err)}`, { cause: err });
    }
  }
  return opened;
}
