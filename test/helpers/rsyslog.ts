// A real rsyslogd of a test's own: its configuration, socket, queues and files in one
// directory, optionally inside a network namespace; nothing system-wide.

import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');
import { sleep, waitFor } from '../../harness/netns.js';

export const RSYSLOGD = '/usr/sbin/rsyslogd';

export interface Rsyslog {
  stop(): Promise<void>;
}

/**
 * Starts rsyslogd with `config` (the lines after its global settings) and `dir` as its
 * work directory, in namespace `ns` if given; resolves once `started()` says so.
 */
export async function startRsyslog(dir: string, config: string[], started: () => boolean, ns: string | null = null): Promise<Rsyslog> {
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'rsyslog.conf');
  fs.writeFileSync(conf, [`global(workDirectory="${dir}")`, ...config, ''].join('\n'));
  const command = [RSYSLOGD, '-n', '-f', conf, '-i', path.join(dir, 'rsyslogd.pid')];
  const child =
    ns === null
      ? childProcess.spawn(command[0] as string, command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
      : childProcess.spawn('ip', ['netns', 'exec', ns, ...command], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await waitFor(`rsyslogd to start (${err})`, () => (started() ? true : undefined), 10000, 50);
  return {
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
