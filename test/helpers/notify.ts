// What the scanlogd-notify tests share: a directory laid out as the packages lay out
// /var/log/scanlogd (root-owned, group scanlogd-notify, setgid, so the daemon's
// events file is readable by that group), a configuration file only root can write,
// the real notifier running as user scanlogd-notify, and a real HTTP server standing
// in for Pushover, ntfy and webhooks.

import childProcess = require('node:child_process');
import fs = require('node:fs');
import http = require('node:http');
import path = require('node:path');
import { entryScript, userIds } from '../../harness/daemon.js';
import { sleep, waitFor } from '../../harness/netns.js';
import { lineOf, scanEvent } from './events.js';

export const NOTIFY_USER = 'scanlogd-notify';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export interface NotifyDir {
  dir: string;
  events: string;
  state: string;
  config: string;
}

/** /run/scanlogd-notify-test-XXXX: root:scanlogd-notify, mode 2750; state/ belongs to the notifier. */
export function makeNotifyDir(t: Teardown): NotifyDir {
  const { uid, gid } = userIds(NOTIFY_USER);
  const dir = fs.mkdtempSync('/run/scanlogd-notify-test-');
  fs.chownSync(dir, 0, gid);
  fs.chmodSync(dir, 0o2750);
  const stateDir = path.join(dir, 'state');
  fs.mkdirSync(stateDir, { mode: 0o700 });
  fs.chownSync(stateDir, uid, gid);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return { dir, events: path.join(dir, 'events.json'), state: path.join(stateDir, 'position'), config: path.join(dir, 'notify.conf') };
}

/** A configuration file as the packages install it: root:scanlogd-notify, mode 0640. */
export function writeConfig(file: string, lines: string[], mode = 0o640): void {
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  fs.chownSync(file, 0, userIds(NOTIFY_USER).gid);
  fs.chmodSync(file, mode);
}

/** Appends lines to an events file as the daemon does (root-owned, 0640, group by the directory). */
export function appendEvents(file: string, lines: readonly string[]): void {
  fs.appendFileSync(file, lines.map((l) => `${l}\n`).join(''), { mode: 0o640 });
}

export interface Notifier {
  pid: number;
  stderr(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

export function notifierEntry(): string {
  return path.join(path.dirname(entryScript()), 'scanlogd-notify');
}

/** The real notifier, as user scanlogd-notify, from the staged copy it can read. */
export function startNotifier(t: Teardown, args: string[], options: { asRoot?: boolean } = {}): Notifier {
  const ids = userIds(NOTIFY_USER);
  const child = childProcess.spawn(process.execPath, [notifierEntry(), ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(options.asRoot === true ? {} : { uid: ids.uid, gid: ids.gid }),
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', TZ: process.env['TZ'] ?? '' },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // 'close', not 'exit': Node may report the exit before it has read the last of stderr.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  const stop = async (): Promise<number | null> => {
    if (!done) child.kill('SIGTERM');
    return Promise.race([exited, sleep(20000).then(() => -1)]);
  };
  t.teardown(async () => {
    if (!done) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { pid: child.pid as number, stderr: () => stderr, stop, exited };
}

/** The notifier run to its end (--check, --test), as its user unless `asRoot`; the event loop runs meanwhile (the endpoints answer). */
export function runNotifierOnce(
  args: string[],
  options: { asRoot?: boolean } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const ids = userIds(NOTIFY_USER);
  const child = childProcess.spawn(process.execPath, [notifierEntry(), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60000,
    ...(options.asRoot === true ? {} : { uid: ids.uid, gid: ids.gid }),
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', TZ: process.env['TZ'] ?? '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The notifier's arguments for a test directory (its files, the host name "target"), and `more`. */
export function notifierArgs(d: NotifyDir, ...more: string[]): string[] {
  return ['--config', d.config, '--events', d.events, '--state', d.state, '--hostname', 'target', ...more];
}

/** A webhook endpoint and the notifier following a fresh events file, once it says so; `config` follows the webhook's line. */
export async function webhookScene(
  t: Teardown,
  config: string[],
  more: string[] = [],
): Promise<{ d: NotifyDir; hook: Endpoint; notifier: Notifier }> {
  const d = makeNotifyDir(t);
  const hook = await startEndpoint(t);
  writeConfig(d.config, [`webhook = ${hook.url}/hook`, ...config]);
  appendEvents(d.events, []);
  const notifier = startNotifier(t, notifierArgs(d, ...more));
  await waitFor('the notifier to follow the file', () => (notifier.stderr().includes('following') ? true : undefined));
  return { d, hook, notifier };
}

/** `wait`, or its error with what the notifier said so far: a failed wait shows why. */
export async function explained<T>(n: Notifier, wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (err) {
    throw new Error(`${(err as Error).message}; the notifier said:\n${n.stderr()}`, { cause: err });
  }
}

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/** How the endpoint answers the next request: a status (with a body and headers), or never. */
export type Answer = { status: number; body?: string; headers?: Record<string, string> } | 'hang';

export interface Endpoint {
  url: string;
  /** Requests answered with a 2xx status. */
  delivered(): Received[];
  /** Every request, answered or not. */
  all(): Received[];
  /** Answers for the next requests, in order; after them, `fallback`. */
  script(answers: Answer[]): void;
  fallback: Answer;
  waitDelivered(n: number, timeoutMs?: number): Promise<Received[]>;
}

export async function startEndpoint(t: Teardown, fallback: Answer = { status: 200, body: 'ok' }): Promise<Endpoint> {
  const all: Received[] = [];
  const delivered: Received[] = [];
  const hanging: http.ServerResponse[] = [];
  let scripted: Answer[] = [];
  const endpoint: Endpoint = {
    url: '',
    delivered: () => delivered.slice(),
    all: () => all.slice(),
    script: (answers) => {
      scripted = answers.slice();
    },
    fallback,
    waitDelivered: (n, timeoutMs = 20000) =>
      waitFor(
        `${n} message(s) at the endpoint (got ${delivered.length} of ${all.length} requests)`,
        () => (delivered.length >= n ? delivered.slice() : undefined),
        timeoutMs,
        50,
      ),
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, at: Date.now() };
      all.push(r);
      const answer = scripted.shift() ?? endpoint.fallback;
      if (answer === 'hang') {
        hanging.push(res);
        return;
      }
      if (answer.status >= 200 && answer.status < 300) delivered.push(r);
      res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return endpoint;
}

export interface Mailbox {
  /** What arrived in the mailbox since it was watched. */
  arrived(): string;
  /** Waits for a mail whose subject is `subject`; resolves with everything arrived. */
  waitSubject(subject: string, timeoutMs?: number): Promise<string>;
}

/**
 * The local mailbox of Debian's account "mail" (exim delivers to /var/mail/mail; that
 * account has a home exim can enter, which local delivery needs), from now on; what
 * arrives is cut off again at teardown.
 */
export function watchMailbox(t: Teardown): Mailbox {
  const file = '/var/mail/mail';
  const before = fs.existsSync(file) ? fs.statSync(file).size : 0;
  t.teardown(() => {
    if (fs.existsSync(file)) fs.truncateSync(file, before);
  });
  const arrived = (): string => (fs.existsSync(file) ? fs.readFileSync(file).subarray(before).toString('utf8') : '');
  return {
    arrived,
    waitSubject: (subject, timeoutMs = 20000) =>
      waitFor(
        `a mail "${subject}" in ${file}`,
        () => (arrived().includes(`Subject: ${subject}\n`) ? arrived() : undefined),
        timeoutMs,
        200,
      ),
  };
}

/** One scan event line as the daemon writes it (its own writer), at `firstMs` for `source`. */
export function scanLine(source: string, ports: number[], firstMs: number, destination = '198.18.0.1'): string {
  return lineOf(scanEvent(source, ports, firstMs, { destinations: [destination], packets: Math.max(2, ports.length) }));
}
