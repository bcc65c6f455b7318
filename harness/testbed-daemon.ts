// One call for the usual test scene: a testbed, a syslog socket to read, and our
// daemon running in the target namespace, all torn down when the test ends.

import fs = require('node:fs');
import path = require('node:path');
import { createTestbed, runIn, waitFor, type Testbed } from './netns.js';
import { listenSyslog, makeSocketDir, type SyslogListener } from './syslog.js';
import { startOurs, type OurDaemon } from './daemon.js';

export interface Scene {
  bed: Testbed;
  syslog: SyslogListener;
  /** A directory the scanlogd user may enter, removed at the end. */
  dir: string;
  daemon: OurDaemon;
}

/**
 * `extraArgs` may depend on the testbed's addresses and the scene's directory;
 * `entry` is another build's entry script (this tree's staged copy by default).
 * `beforeKill` runs first at teardown (to stop load generators, say). `wrap`: as for
 * startOurs.
 */
export async function startScene(
  t: { teardown(fn: () => void | Promise<void>): void },
  extraArgs: string[] | ((bed: Testbed, dir: string) => string[]) = [],
  options: { nodeArgs?: string[]; beforeKill?: () => void; ipv6?: boolean; entry?: string; wrap?: string[] } = {},
): Promise<Scene> {
  const bed = createTestbed({ ipv6: options.ipv6 === true });
  const dir = makeSocketDir();
  const syslog = listenSyslog(path.join(dir, 'log'));
  const args = typeof extraArgs === 'function' ? extraArgs(bed, dir) : extraArgs;
  const daemon = startOurs(bed, ['--foreground', '--syslog-socket', syslog.path, ...args], {
    nodeArgs: options.nodeArgs ?? [],
    ...(options.entry === undefined ? {} : { entry: options.entry }),
    ...(options.wrap === undefined ? {} : { wrap: options.wrap }),
  });
  t.teardown(async () => {
    try {
      options.beforeKill?.();
      await daemon.kill();
    } finally {
      syslog.close();
      bed.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  await daemon.ready();
  return { bed, syslog, dir, daemon };
}

/**
 * Scans the testbed's target from its scanner (nmap -sS, ports 1-30, no retries) and
 * waits for a scan line that came after the call: the daemon still detects. Throws,
 * with what nmap said, when nmap fails.
 */
export async function scanIsLogged({ bed, syslog }: Pick<Scene, 'bed' | 'syslog'>, timeoutMs = 10000): Promise<void> {
  const before = syslog.datagrams.length;
  const nmap = await runIn(bed.scanner, 'nmap', ['-n', '-Pn', '-sS', '--max-retries', '0', '-p', '1-30', bed.targetAddr]);
  if (nmap.code !== 0) throw new Error(`nmap exited with status ${nmap.code}: ${nmap.stderr}`);
  const scanned = (): true | undefined =>
    syslog
      .messages()
      .slice(before)
      .some((m) => m.includes(' ports '))
      ? true
      : undefined;
  await waitFor('a scan line in syslog', scanned, timeoutMs);
}
