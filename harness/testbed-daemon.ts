// One call for the usual test scene: a testbed, a syslog socket to read, and our
// daemon running in the target namespace, all torn down when the test ends.

import fs = require('node:fs');
import path = require('node:path');
import { createTestbed, type Testbed } from './netns.js';
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
 * `extraArgs` may depend on the testbed's addresses and the scene's directory.
 * `beforeKill` runs first at teardown (to stop load generators, say). `wrap`: as for
 * startOurs.
 */
export async function startScene(
  t: { teardown(fn: () => void | Promise<void>): void },
  extraArgs: string[] | ((bed: Testbed, dir: string) => string[]) = [],
  options: { nodeArgs?: string[]; beforeKill?: () => void; ipv6?: boolean; wrap?: string[] } = {},
): Promise<Scene> {
  const bed = createTestbed({ ipv6: options.ipv6 === true });
  const dir = makeSocketDir();
  const syslog = listenSyslog(path.join(dir, 'log'));
  const args = typeof extraArgs === 'function' ? extraArgs(bed, dir) : extraArgs;
  const daemon = startOurs(bed, ['--foreground', '--syslog-socket', syslog.path, ...args], {
    nodeArgs: options.nodeArgs ?? [],
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
