// Detaching like the original daemon: the command starts the daemon in a new session
// and returns 0 once both processes run, or 1 with the reason it could not start.

import childProcess = require('node:child_process');
import type net = require('node:net');
import { LAUNCHER_STATUS_FD } from '../shared/fds.js';
import { nodeOptions } from './runtime.js';

const READY_TIMEOUT_MS = 15000;

export function launchDaemon(entryScript: string, argv: readonly string[]): void {
  const stdio: Array<'ignore' | 'pipe'> = ['ignore', 'ignore', 'ignore'];
  stdio[LAUNCHER_STATUS_FD] = 'pipe';
  const child = childProcess.spawn(
    process.execPath,
    [...nodeOptions(), entryScript, ...argv, '--foreground', '--status-fd', String(LAUNCHER_STATUS_FD)],
    { detached: true, stdio, cwd: '/' },
  );
  const statusPipe = child.stdio[LAUNCHER_STATUS_FD] as net.Socket;
  const ready = new Set<string>();
  let text = '';
  let done = false;

  const finish = (code: number, message: string | null): void => {
    if (done) return;
    done = true;
    if (message !== null) process.stderr.write(`${message}\n`);
    statusPipe.destroy();
    child.unref();
    process.exit(code);
  };

  statusPipe.setEncoding('utf8');
  statusPipe.on('data', (chunk: string) => {
    text += chunk;
    let newline: number;
    while ((newline = text.indexOf('\n')) >= 0) {
      const line = text.slice(0, newline);
      text = text.slice(newline + 1);
      if (line.startsWith('ready ')) ready.add(line.slice(6));
      else if (line.startsWith('error ')) finish(1, line.slice(6));
      else if (line.startsWith('warning ')) process.stderr.write(`${line.slice(8)}\n`);
      if (ready.has('capture') && ready.has('monitor')) finish(0, null);
    }
  });
  child.on('exit', (code, signal) => {
    // Give a report still in the pipe the chance to arrive first.
    setTimeout(
      () => finish(1, `scanlogd: daemon ${signal !== null ? `killed by ${signal}` : `exited with status ${code}`} while starting`),
      100,
    );
  });
  child.on('error', (err) => finish(1, `scanlogd: cannot start the daemon: ${err.message}`));
  setTimeout(() => finish(1, 'scanlogd: daemon did not report ready in time'), READY_TIMEOUT_MS).unref();
}
