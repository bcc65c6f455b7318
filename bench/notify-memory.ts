// Peak memory of scanlogd-notify under the worst backlog the daemon's events file can
// hold: the real notifier, as its own user, with four channels that never deliver
// (three HTTP endpoints that never answer, a sendmail that fails), so that every queue
// fills to its bound and every retry renders a full digest of everything waiting, reads
// a backlog of the longest lines the daemon can write, or of the most events. Prints the
// notifier's peak resident set (VmHWM) for each: what MemoryMax= in its unit must allow.
// `npm run bench:notify` (or `node dist/bench/notify-memory.js` after `npm run build`), as root.

import childProcess = require('node:child_process');
import fs = require('node:fs');
import http = require('node:http');
import path = require('node:path');
import { entryScript, userIds } from '../harness/daemon.js';
import { sleep, waitFor } from '../harness/netns.js';
import { eventLine, largestEvent, type ScanEvent } from '../src/shared/events.js';
import { table } from './stats.js';

const USER = 'scanlogd-notify';
/** How long each backlog is watched after it is written: several retries of every channel. */
const WATCH_MS = 40000;

function kib(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

/** A scan as the daemon writes it at the default thresholds: 21 ports, 16 destinations. */
function defaultScan(i: number): string {
  const e: ScanEvent = {
    ...largestEvent(),
    family: 'ipv4',
    time: Date.now(),
    first: Date.now(),
    last: Date.now(),
    source: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    destinations: Array.from({ length: 16 }, (_, d) => `192.0.2.${d + 1}`),
    ports: Array.from({ length: 21 }, (_, p) => 1 + p),
    packets: 21,
  };
  return eventLine(e);
}

interface Backlog {
  name: string;
  lines: number;
  line: (i: number) => string;
}

const BACKLOGS: Backlog[] = [
  { name: 'longest lines (61 KB each)', lines: 2000, line: () => eventLine(largestEvent()) },
  { name: 'default-threshold scans, distinct sources', lines: 30000, line: defaultScan },
];

async function measure(b: Backlog): Promise<string[]> {
  const { uid, gid } = userIds(USER);
  const dir = fs.mkdtempSync('/run/scanlogd-notify-bench-');
  fs.chownSync(dir, 0, gid);
  fs.chmodSync(dir, 0o2750);
  fs.mkdirSync(path.join(dir, 'state'), { mode: 0o700 });
  fs.chownSync(path.join(dir, 'state'), uid, gid);
  const events = path.join(dir, 'events.json');
  fs.writeFileSync(events, '', { mode: 0o640 });
  // Requests are read and never answered.
  const hung: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    hung.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const config = path.join(dir, 'notify.conf');
  fs.writeFileSync(
    config,
    [
      `webhook = ${url}/hook`,
      `ntfy-url = ${url}/topic`,
      `pushover-url = ${url}/1/messages.json`,
      `pushover-token = ${'a'.repeat(30)}`,
      `pushover-user = ${'b'.repeat(30)}`,
      'mail-to = root@localhost',
      'sendmail = /bin/false',
      'interval = 1',
      'wait = 0',
      'timeout = 2',
      '',
    ].join('\n'),
  );
  fs.chownSync(config, 0, gid);
  fs.chmodSync(config, 0o640);
  const child = childProcess.spawn(
    process.execPath,
    [
      ...(process.env['NOTIFY_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== ''),
      path.join(path.dirname(entryScript()), 'scanlogd-notify'),
      '--config',
      config,
      '--events',
      events,
      '--state',
      path.join(dir, 'state', 'position'),
    ],
    { uid, gid, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/bin:/bin' } },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const pid = child.pid as number;
    await waitFor('the notifier to follow the file', () => (stderr.includes('following') ? true : undefined), 10000);
    await sleep(1000);
    const idle = kib(pid, 'VmHWM');
    const fd = fs.openSync(events, 'a');
    let bytes = 0;
    for (let i = 0; i < b.lines; i++) {
      const line = b.line(i);
      bytes += line.length;
      fs.writeSync(fd, line);
    }
    fs.closeSync(fd);
    let rssMax = 0;
    for (const end = Date.now() + WATCH_MS; Date.now() < end;) {
      rssMax = Math.max(rssMax, kib(pid, 'VmRSS'));
      await sleep(100);
    }
    const peak = kib(pid, 'VmHWM');
    const dropped = [...stderr.matchAll(/(\d+) events? dropped: more than/g)].length;
    return [
      b.name,
      String(b.lines),
      (bytes / 1048576).toFixed(1),
      (idle / 1024).toFixed(1),
      (peak / 1024).toFixed(1),
      dropped > 0 ? 'yes' : 'no',
    ];
  } finally {
    child.kill('SIGKILL');
    for (const res of hung) res.destroy();
    server.closeAllConnections();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the notifier runs as its own user');
  const rows: string[][] = [];
  for (const b of BACKLOGS) rows.push(await measure(b));
  console.log(
    `scanlogd-notify, four channels that never deliver, ${WATCH_MS / 1000} s after a backlog is written; Node ${process.version}`,
  );
  console.log(table(['backlog', 'lines', 'MiB', 'idle peak RSS (MiB)', 'peak RSS (MiB)', 'queues full'], rows));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
