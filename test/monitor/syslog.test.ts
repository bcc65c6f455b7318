// SyslogWriter against a fake socket: lines survive a syslog daemon that is away or
// busy, in order, within a bounded queue, and each change of state is reported. Then
// the socket itself (src/shared/syslogsock.ts): the adapter over a fake addon, and the
// real addon against real receivers.

process.env.TZ = 'UTC';

import test from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { setTimeout as sleep } from 'node:timers/promises';
import { DAEMON_ALERT, DAEMON_INFO } from '../../src/shared/logging.js';
import { SyslogWriter, type SyslogWriterOptions } from '../../src/monitor/syslog.js';
import { syslogSocketConnector, type DatagramSocket } from '../../src/shared/syslogsock.js';
import type { SyslogHandle, SyslogSock } from '../../src/types/syslogsock.js';

/** 'sent', 'busy' or an error code. */
type SendResult = string;

/** A syslog daemon that can be up or down, and a script of what its sends return. */
class FakeSyslog {
  up = false;
  connects = 0;
  sendCalls = 0;
  readonly delivered: string[] = [];
  readonly sockets: FakeSocket[] = [];
  readonly paths: string[] = [];
  /** Results for the next sends, in order; 'sent' once it runs out. */
  readonly script: Array<SendResult | (() => SendResult)> = [];

  readonly connect = (path: string): DatagramSocket => {
    this.connects++;
    this.paths.push(path);
    if (!this.up) throw new Error('ECONNREFUSED');
    const socket = new FakeSocket(this);
    this.sockets.push(socket);
    return socket;
  };

  result(): SendResult {
    const next = this.script.shift() ?? 'sent';
    return typeof next === 'function' ? next() : next;
  }
}

class FakeSocket implements DatagramSocket {
  closed = false;
  readonly writable: Array<() => void> = [];

  constructor(private readonly daemon: FakeSyslog) {}

  send(datagram: Buffer): SendResult {
    if (this.closed) throw new Error('send on a closed socket');
    this.daemon.sendCalls++;
    const result = this.daemon.result();
    if (result === 'sent') this.daemon.delivered.push(datagram.toString());
    return result;
  }

  onWritable(listener: () => void): void {
    this.writable.push(listener);
  }

  close(): void {
    this.closed = true;
  }
}

interface Setup {
  daemon: FakeSyslog;
  writer: SyslogWriter;
  notices: string[];
}

function setup(t: { teardown(fn: () => void): void }, up: boolean, options: SyslogWriterOptions = {}): Setup {
  const daemon = new FakeSyslog();
  daemon.up = up;
  const notices: string[] = [];
  const writer = new SyslogWriter('/test/log', { retryMs: 10, connect: daemon.connect, notice: (n) => notices.push(n), ...options });
  t.teardown(() => writer.close());
  return { daemon, writer, notices };
}

async function until(condition: () => boolean, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

const line = (text: string): Buffer => Buffer.from(text);
const UNREACHABLE = 'syslog socket /test/log: ECONNREFUSED; retrying every 10 ms, keeping up to 1000 lines';

test('a reachable socket gets each line at once', (t) => {
  const { daemon, writer, notices } = setup(t, true);
  writer.send(line('one'));
  writer.send(line('two'));
  t.deepEqual(daemon.delivered, ['one', 'two']);
  t.is(writer.delivered, 2);
  t.is(writer.queued, 0);
  t.deepEqual(daemon.paths, ['/test/log']);
  t.deepEqual(notices, []);
});

test('log() frames each message itself: priority, time stamp, ident', (t) => {
  const { daemon, writer } = setup(t, true);
  const when = new Date(Date.UTC(2024, 10, 25, 16, 16, 55));
  writer.log(DAEMON_ALERT, '198.18.0.2 to 198.18.0.1 ports 22, ..., fSrpauxy @16:16:55', when);
  writer.log(DAEMON_INFO, 'counters: packets_seen=0', when);
  t.deepEqual(daemon.delivered, [
    '<25>Nov 25 16:16:55 scanlogd: 198.18.0.2 to 198.18.0.1 ports 22, ..., fSrpauxy @16:16:55',
    '<30>Nov 25 16:16:55 scanlogd: counters: packets_seen=0',
  ]);
});

test('lines wait while syslog is unreachable and go out in order once it accepts them', async (t) => {
  const { daemon, writer, notices } = setup(t, false);
  t.deepEqual(notices, [UNREACHABLE]);
  for (const text of ['a', 'b', 'c']) writer.send(line(text));
  t.is(writer.queued, 3);
  await sleep(40);
  // Still retrying, still holding everything, and no repeated notice.
  t.true(daemon.connects > 2);
  t.is(writer.queued, 3);
  t.deepEqual(daemon.delivered, []);
  t.deepEqual(notices, [UNREACHABLE]);

  daemon.up = true;
  t.true(await until(() => daemon.delivered.length === 3));
  t.deepEqual(daemon.delivered, ['a', 'b', 'c']);
  t.is(writer.delivered, 3);
  t.is(writer.queued, 0);
  t.deepEqual(notices, [UNREACHABLE, 'syslog socket /test/log reachable again, delivering 3 queued lines']);
});

test('a syslog that was away at start and comes back before any line is simply used', async (t) => {
  const { daemon, writer, notices } = setup(t, false);
  daemon.up = true;
  t.true(await until(() => daemon.sockets.length === 1));
  writer.send(line('first'));
  t.deepEqual(daemon.delivered, ['first']);
  t.deepEqual(notices, [UNREACHABLE, 'syslog socket /test/log reachable again, delivering 0 queued lines']);
});

test('"busy" holds the queue until the socket is writable, then resumes in order', (t) => {
  const { daemon, writer } = setup(t, true);
  daemon.script.push('busy');
  writer.send(line('a'));
  writer.send(line('b'));
  writer.send(line('c'));
  t.is(daemon.sendCalls, 1);
  t.is(writer.queued, 3);
  t.deepEqual(daemon.delivered, []);
  for (const listener of daemon.sockets[0]!.writable) listener();
  t.deepEqual(daemon.delivered, ['a', 'b', 'c']);
  t.is(daemon.sendCalls, 4);
  t.is(writer.queued, 0);
  t.is(daemon.connects, 1);
});

test('a full queue drops the oldest lines, counts them and says so once', async (t) => {
  const { daemon, writer, notices } = setup(t, false, { queueLimit: 3 });
  for (const n of [1, 2, 3, 4, 5]) writer.send(line(`l${n}`));
  t.is(writer.queued, 3);
  t.is(writer.dropped, 2);
  t.deepEqual(notices, [
    'syslog socket /test/log: ECONNREFUSED; retrying every 10 ms, keeping up to 3 lines',
    'syslog queue full (3 lines): 1 oldest dropped so far',
  ]);
  daemon.up = true;
  t.true(await until(() => writer.queued === 0));
  t.deepEqual(daemon.delivered, ['l3', 'l4', 'l5']);
});

test('events have a queue bound of their own: a burst of events never pushes out a classic line', async (t) => {
  const { daemon, writer, notices } = setup(t, false, { queueLimit: 3 });
  writer.send(line('line1'));
  for (const n of [1, 2, 3, 4, 5]) writer.send(line(`event${n}`), 'event');
  writer.send(line('line2'));
  t.is(writer.queued, 5);
  t.is(writer.dropped, 0);
  t.is(writer.droppedEvents, 2);
  t.deepEqual(notices.slice(1), ['syslog queue full (3 events): 1 oldest events dropped so far']);
  for (const n of [3, 4, 5]) writer.send(line(`line${n}`));
  t.is(writer.dropped, 2, 'lines drop only for lines');
  t.is(writer.droppedEvents, 2);
  daemon.up = true;
  t.true(await until(() => writer.queued === 0));
  // In the order sent, less the oldest of each kind beyond its bound.
  t.deepEqual(daemon.delivered, ['event3', 'event4', 'event5', 'line3', 'line4', 'line5']);
});

test('drops are reported at the first and every hundredth', (t) => {
  const { writer, notices } = setup(t, false, { queueLimit: 1 });
  for (let n = 0; n < 251; n++) writer.send(line(`l${n}`));
  t.is(writer.dropped, 250);
  t.deepEqual(notices.slice(1), [
    'syslog queue full (1 lines): 1 oldest dropped so far',
    'syslog queue full (1 lines): 100 oldest dropped so far',
    'syslog queue full (1 lines): 200 oldest dropped so far',
  ]);
});

test('a send error closes the socket, reconnects at once and sends the same line', (t) => {
  const { daemon, writer, notices } = setup(t, true);
  daemon.script.push('ECONNREFUSED');
  writer.send(line('a'));
  t.deepEqual(daemon.delivered, ['a']);
  t.is(daemon.connects, 2);
  t.deepEqual(
    daemon.sockets.map((s) => s.closed),
    [true, false],
  );
  t.deepEqual(notices, []);
});

test('a syslog daemon that goes away mid-stream gets the lines once it is back', async (t) => {
  const { daemon, writer, notices } = setup(t, true);
  writer.send(line('before'));
  daemon.script.push(() => {
    daemon.up = false;
    return 'ECONNREFUSED';
  });
  writer.send(line('during'));
  writer.send(line('after'));
  t.is(writer.queued, 2);
  t.deepEqual(notices, [UNREACHABLE]);
  daemon.up = true;
  t.true(await until(() => writer.queued === 0));
  t.deepEqual(daemon.delivered, ['before', 'during', 'after']);
  t.deepEqual(notices, [UNREACHABLE, 'syslog socket /test/log reachable again, delivering 2 queued lines']);
});

test('a line a freshly connected socket refuses is dropped and counted; the lines after it go out', (t) => {
  const { daemon, writer, notices } = setup(t, true);
  daemon.script.push('EMSGSIZE', 'EMSGSIZE');
  writer.send(line('big'));
  writer.send(line('next'));
  // One try on the old socket, one on a fresh one, then the line goes.
  t.is(daemon.connects, 2);
  t.is(writer.dropped, 1);
  t.deepEqual(daemon.delivered, ['next']);
  t.true(notices.includes('syslog socket /test/log refused a line (EMSGSIZE); dropped'));
});

test('a peer that vanishes again right after a reconnect is retried on the timer, not in a loop', async (t) => {
  const { daemon, writer } = setup(t, true);
  daemon.script.push('ECONNREFUSED', 'ECONNREFUSED');
  writer.send(line('held'));
  t.is(daemon.connects, 2);
  t.is(writer.queued, 1);
  t.true(await until(() => writer.queued === 0));
  t.deepEqual(daemon.delivered, ['held']);
  t.is(writer.dropped, 0);
});

test('close stops the retries and releases the socket', async (t) => {
  const down = setup(t, false);
  down.writer.send(line('never'));
  down.writer.close();
  const connects = down.daemon.connects;
  down.daemon.up = true;
  await sleep(50);
  t.is(down.daemon.connects, connects);
  t.deepEqual(down.daemon.delivered, []);

  const up = setup(t, true);
  up.writer.close();
  t.true(up.daemon.sockets[0]!.closed);
  up.writer.send(line('after close'));
  t.deepEqual(up.daemon.delivered, []);
});

// ---------------------------------------------------------------------------
// The connector on the project's addon: its results in the writer's terms, with a fake
// addon, then the real one (build/Release/syslogsock.node) on real sockets.

/** An addon that records its calls; `results` are what its sends return, in order. */
function fakeSyslogSock(connectErrno?: number): { addon: SyslogSock; calls: string[]; results: number[]; writable: () => void } {
  const calls: string[] = [];
  const results: number[] = [];
  let onWritable: () => void = () => {};
  const addon: SyslogSock = {
    connect(path, callback) {
      calls.push(`connect ${path}`);
      if (connectErrno !== undefined) throw Object.assign(new Error('strerror words'), { errno: connectErrno });
      onWritable = callback;
      return {} as SyslogHandle;
    },
    send(_handle, datagram) {
      calls.push(`send ${datagram.toString()}`);
      return results.shift() ?? 0;
    },
    close() {
      calls.push('close');
    },
  };
  return { addon, calls, results, writable: () => onWritable() };
}

const { ECONNREFUSED, ENOENT, EMSGSIZE } = os.constants.errno;

test('connector: a refused connect is an error named by its errno, as the writer reports it', (t) => {
  const connect = syslogSocketConnector(fakeSyslogSock(ENOENT).addon);
  t.throws(() => connect('/dev/log'), { message: 'ENOENT' });
  const refused = syslogSocketConnector(fakeSyslogSock(ECONNREFUSED).addon);
  t.throws(() => refused('/dev/log'), { message: 'ECONNREFUSED' });
});

test("connector: send's numbers become 'sent', 'busy' and errno names; writable reaches every listener", (t) => {
  const fake = fakeSyslogSock();
  const socket = syslogSocketConnector(fake.addon)('/dev/log');
  fake.results.push(0, 1, -ECONNREFUSED, -EMSGSIZE);
  t.deepEqual(
    ['a', 'b', 'c', 'd'].map((text) => socket.send(Buffer.from(text))),
    ['sent', 'busy', 'ECONNREFUSED', 'EMSGSIZE'],
  );
  const heard: string[] = [];
  socket.onWritable(() => heard.push('one'));
  socket.onWritable(() => heard.push('two'));
  fake.writable();
  t.deepEqual(heard, ['one', 'two']);
});

test('connector: close is done once; a send after it never reaches the addon', (t) => {
  const fake = fakeSyslogSock();
  const socket = syslogSocketConnector(fake.addon)('/dev/log');
  socket.close();
  socket.close();
  t.is(socket.send(Buffer.from('late')), 'EBADF');
  t.deepEqual(fake.calls, ['connect /dev/log', 'close']);
});

const PYTHON = '/usr/bin/python3';
const havePython = fs.existsSync(PYTHON);
const pythonTest = havePython ? test.serial : test.serial.skip;
if (!havePython) console.log('syslog receiver tests skipped: they need /usr/bin/python3 (scripts/test-setup.sh installs it)');

/**
 * A Unix datagram socket bound at `path` that reads nothing until told "go" on its
 * input, then prints each datagram (latin1) on a line until `count` have come.
 */
function pausedReceiver(path: string, count: number): { lines(): string[]; go(): void; exited: Promise<void> } {
  const script = [
    'import socket, sys',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    `s.bind(${JSON.stringify(path)})`,
    'print("ready", flush=True)',
    'sys.stdin.readline()',
    `for _ in range(${count}):`,
    '    print(s.recv(65536).decode("latin1"), flush=True)',
  ].join('\n');
  const child = childProcess.spawn(PYTHON, ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
  // 'close', not 'exit': Node may report the exit before it has read the last line.
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    lines: () => out.split('\n').filter((l) => l !== ''),
    go: () => child.stdin.write('go\n'),
    exited,
  };
}

function tempSocketDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scanlogd-syslogsock-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

pythonTest('the addon: no socket at the path is ENOENT; a socket nobody reads any more is ECONNREFUSED', (t) => {
  const dir = tempSocketDir(t);
  const connect = syslogSocketConnector();
  t.throws(() => connect(path.join(dir, 'absent')), { message: 'ENOENT' });
  // A socket file whose owner has gone: bound, then closed without being removed.
  const stale = path.join(dir, 'stale');
  const r = childProcess.spawnSync(PYTHON, [
    '-c',
    `import socket; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).bind(${JSON.stringify(stale)})`,
  ]);
  t.is(r.status, 0, r.stderr?.toString());
  t.throws(() => connect(stale), { message: 'ECONNREFUSED' });
  t.throws(() => connect(path.join(dir, 'x'.repeat(120))), { message: 'ENAMETOOLONG' });
});

pythonTest(
  'the addon: a receiver that stops reading makes sends busy; once it reads again every line arrives, in order, none dropped',
  async (t) => {
    const dir = tempSocketDir(t);
    const socketPath = path.join(dir, 'log');
    const total = 3000;
    const receiver = pausedReceiver(socketPath, total);
    t.teardown(() => receiver.go());
    await until(() => receiver.lines()[0] === 'ready', 10000);
    const notices: string[] = [];
    // A queue that holds every line: only the kernel's own limit makes sends busy.
    const writer = new SyslogWriter(socketPath, { queueLimit: total, notice: (n) => notices.push(n) });
    t.teardown(() => writer.close());
    for (let i = 0; i < total; i++) writer.send(Buffer.from(`line ${i}`));
    // The kernel took what the receiver's queue holds; the rest waits in the writer.
    t.true(writer.queued > 0, `the kernel took all ${total} datagrams: the test could not fill the receiver's queue`);
    t.true(writer.delivered > 0);
    t.log(`taken by the kernel before it was full: ${writer.delivered}, held by the writer: ${writer.queued}`);
    receiver.go();
    t.true(await until(() => writer.queued === 0, 10000), `still queued: ${writer.queued}`);
    await receiver.exited;
    t.deepEqual(
      receiver.lines().slice(1),
      Array.from({ length: total }, (_, i) => `line ${i}`),
    );
    t.is(writer.dropped, 0);
    t.deepEqual(notices, []);
  },
);
