// What a start checks before it opens a socket or drops a privilege. A start and
// --check run these same checks, so that a configuration --check accepts gets as far
// as the sockets.

import fs = require('node:fs');
import { StartupError } from '../shared/errors.js';
import { loadProcCtl } from '../shared/procctl.js';
import type { OptionName } from '../shared/options.js';
import { checkJsonOutput, checkPidfileDir } from './files.js';
import { IgnoreFilter } from './ignore.js';
import { loadPcapRecv } from './pcap.js';
import { checkChrootDir, checkReadableBy, loadPrivDrop, lookupUser, type Account } from './privdrop.js';
import { loadRawRecv } from './rawsocket.js';
import type { Settings } from './settings.js';

/** What the checks found out, for the start to go on with. */
export interface Checked {
  account: Account;
  chrootDir: string;
  ignore: IgnoreFilter | null;
}

/** The file and line that set an option ("/etc/scanlogd.conf:3"), or null when the file did not set it. */
export type Blame = (name: OptionName) => string | null;

function checkInterface(name: string): void {
  // "any" is libpcap's own; every other device is listed by the kernel.
  if (name !== 'any' && !fs.existsSync(`/sys/class/net/${name}`)) throw new StartupError(`libpcap on ${name}: No such device exists`);
}

/**
 * Every check a start makes before its first socket: root, the user, the chroot, the
 * pidfile's and --json's places, the capture device, the code the monitor loads and
 * the addons. An error caused by a value from the configuration file names its line.
 */
export function checkStart(settings: Settings, entryScript: string, blame: Blame = () => null): Checked {
  const as = <T>(name: OptionName, check: () => T): T => {
    try {
      return check();
    } catch (err) {
      const where = blame(name);
      if (where === null || !(err instanceof StartupError)) throw err;
      throw new StartupError(`${where}: ${err.message}`, { cause: err });
    }
  };
  if (process.getuid?.() !== 0) throw new StartupError('must be run as root');
  const account = as('user', () => lookupUser(settings.user));
  const chrootDir = as('chroot', () => checkChrootDir(settings.chroot));
  const pidfile = settings.pidfile;
  if (pidfile !== null) as('pidfile', () => checkPidfileDir(pidfile, account));
  const json = settings.json;
  if (json !== null && json !== '-') as('json', () => checkJsonOutput(json));
  const device = settings.interface;
  if (device !== null) as('interface', () => checkInterface(device));
  as('user', () => checkReadableBy(account, entryScript));
  const ignore = IgnoreFilter.build(settings.ignoreSource, settings.ignorePort);
  loadPrivDrop();
  loadProcCtl();
  if (device === null) loadRawRecv();
  else loadPcapRecv();
  return { account, chrootDir, ignore };
}
