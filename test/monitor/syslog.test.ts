// SyslogWriter against a fake socket: lines survive a syslog daemon that is away or
// busy, in order, within a bounded queue, and each change of state is reported.

process.env.TZ = 'UTC';

import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { DAEMON_ALERT } from '../../src/shared/logging.js';
import { SyslogWriter, type DatagramSocket, type SyslogWriterOptions } from '../../src/monitor/syslog.js';

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
  writer.log(30, 'counters: packets_seen=0', when);
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
