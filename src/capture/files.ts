// The files the capture process handles as root before the drop: the pidfile, which
// the monitor removes at stop, the --json output, which the monitor writes, and the
// socket tables the monitor reads with --slow-scans.

import fs = require('node:fs');
import path = require('node:path');
import { StartupError, messageOf, syscallText } from '../shared/errors.js';
import { SOCKET_TABLES, type SocketTable } from '../shared/fds.js';
import { WRITE, mayAccess, unsafeDirectory } from '../shared/ownership.js';
import type { Account } from './privdrop.js';

export function checkPidfileDir(file: string, account: Account): void {
  const dir = path.dirname(file);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    throw new StartupError(`pidfile ${file}: ${messageOf(err)}`);
  }
  if (st.isDirectory() && (st.mode & 0o002) !== 0) {
    // Anyone could plant a pidfile there before the start, or swap it while it runs.
    throw new StartupError(
      `pidfile ${file}: directory ${dir} is writable by others (mode ${(st.mode & 0o7777).toString(8)}); ` +
        `use one that only root and user ${account.name} can write, such as /run/scanlogd`,
    );
  }
  if (!st.isDirectory() || !mayAccess(st, account, WRITE)) {
    throw new StartupError(`pidfile ${file}: directory ${dir} must be writable by user ${account.name}, which removes the file at stop`);
  }
}

/** Creates the pidfile without following a link someone may have planted there. */
export function writePidfile(file: string): void {
  try {
    fs.rmSync(file, { force: true });
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o644);
    fs.writeSync(fd, `${process.pid}\n`);
    fs.closeSync(fd);
  } catch (err) {
    throw new StartupError(`pidfile ${file}: ${messageOf(err)}`);
  }
}

/**
 * Opens the --json file for the monitor, which cannot open it itself: a log directory
 * is root's. The same rules as the configuration file: every directory above it root's
 * and writable by no one else (who could swap the file could make root append to any
 * file); appending, created 0640, never through a planted symbolic link, never
 * blocking on a FIFO; and it must be a regular root-owned file with one link (a hard
 * link planted earlier could point anywhere on the file system), mode 0640.
 * `-` is the capture process's standard output.
 */
export function openJsonOutput(file: string): number {
  if (file === '-') return 1;
  const fail = (why: string, err?: unknown): never => {
    throw new StartupError(`--json ${file}: ${why}`, err === undefined ? undefined : { cause: err });
  };
  let dir = '';
  try {
    dir = fs.realpathSync(path.dirname(file));
  } catch (err) {
    fail(syscallText(err), err);
  }
  const unsafe = unsafeDirectory(dir);
  if (unsafe !== null) fail(`directory ${unsafe.dir} is ${unsafe.problem}`);
  let fd = -1;
  try {
    fd = fs.openSync(
      path.join(dir, path.basename(file)),
      fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK,
      0o640,
    );
  } catch (err) {
    fail(messageOf(err), err);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) fail('not a regular file');
    if (st.uid !== 0) fail(`owned by uid ${st.uid}, not root`);
    if (st.nlink !== 1) fail(`has ${st.nlink} links; it must have one`);
    if ((st.mode & 0o7777) !== 0o640) fs.fchmodSync(fd, 0o640);
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
