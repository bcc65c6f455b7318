// The capture process's own logic, apart from the root-only start that the integration
// tests run: where the monitor finds each descriptor, how the monitor's end is worded
// and with which status the capture process follows it, and the hot path's routing of
// each packet to the channel, the reject count or the ignore list.

import test from 'ava';
import { forward, monitorEnded, monitorStdio } from '../../src/capture/main.js';
import { ChannelWriter, type ChannelSink } from '../../src/capture/channel.js';
import { IgnoreFilter } from '../../src/capture/ignore.js';
import type { OnPacket, PacketSource } from '../../src/capture/source.js';
import { EXIT_FAULT, EXIT_INTERNAL_FAULT, EXIT_REFUSED_RECORD } from '../../src/shared/exits.js';
import { CHANNEL_FD, MONITOR_JSON_FD, MONITOR_SOCKET_TABLES_FD, MONITOR_STATUS_FD } from '../../src/shared/fds.js';
import { parseAddress } from '../../src/shared/ipv4.js';
import { RecordReader } from '../../src/monitor/channel.js';
import type { ChannelRecord } from '../../src/shared/record.js';

test('the monitor finds the channel, the status pipe, the --json file and each socket table at its fixed descriptor', (t) => {
  const stdio = monitorStdio(41, 42, [43, 44]);
  t.deepEqual(stdio.slice(0, 3), ['ignore', 'ignore', 'inherit'], 'no standard input or output; standard error is the daemon’s');
  t.is(stdio[CHANNEL_FD], 'pipe');
  t.is(stdio[MONITOR_STATUS_FD], 41);
  t.is(stdio[MONITOR_JSON_FD], 42);
  t.is(stdio[MONITOR_SOCKET_TABLES_FD], 43);
  t.is(stdio[MONITOR_SOCKET_TABLES_FD + 1], 44);
  t.is(stdio.length, MONITOR_SOCKET_TABLES_FD + 2);
});

test('in the foreground, without --json or --slow-scans, the monitor gets the channel and nothing else', (t) => {
  const stdio = monitorStdio(null, null, []);
  t.is(stdio[CHANNEL_FD], 'pipe');
  // Every other descriptor the monitor could look at is closed for it.
  const others = stdio.map((entry, fd) => [fd, entry] as const).filter(([fd]) => fd > 2 && fd !== CHANNEL_FD);
  t.true(others.length > 0);
  t.deepEqual(
    others.filter(([, entry]) => entry !== 'ignore'),
    [],
  );
});

const PID = 4321;

for (const [name, code, signal, stopping, status, why] of [
  ['a stop it was asked for, whatever the monitor died of', null, 'SIGKILL', true, 0, null],
  ['the monitor stopping cleanly on its own signal', 0, null, false, 0, null],
  [
    'the monitor refusing a record',
    EXIT_REFUSED_RECORD,
    null,
    false,
    EXIT_FAULT,
    `monitor (pid ${PID}) exited with status 65: it refused a record from the capture process (see its message)`,
  ],
  [
    'a fault inside the monitor',
    EXIT_INTERNAL_FAULT,
    null,
    false,
    EXIT_FAULT,
    `monitor (pid ${PID}) exited with status 70: an internal fault of the monitor (see its message)`,
  ],
  ['any other status', 1, null, false, EXIT_FAULT, `monitor (pid ${PID}) exited with status 1`],
  ['a signal', null, 'SIGKILL', false, EXIT_FAULT, `monitor (pid ${PID}) was killed by SIGKILL`],
  [
    'its seccomp filter',
    null,
    'SIGSYS',
    false,
    EXIT_FAULT,
    `monitor (pid ${PID}) was killed by SIGSYS (its seccomp filter: a system call outside its allowlist)`,
  ],
] as const) {
  test(`the monitor's end: ${name}`, (t) => {
    t.deepEqual(monitorEnded(PID, code, signal, stopping), { status, why });
  });
}

/** A socket that takes every write at once. */
class Sink implements ChannelSink {
  readonly writableLength = 0;
  readonly chunks: Buffer[] = [];
  write(chunk: Buffer): boolean {
    this.chunks.push(Buffer.from(chunk));
    return true;
  }
  records(ipv6 = false): ChannelRecord[] {
    const reader = new RecordReader({ udp: false, ipv6, answers: true });
    const out: ChannelRecord[] = [];
    for (const chunk of this.chunks) reader.push(chunk, (r) => out.push({ ...r }));
    return out;
  }
}

/** An IPv4 TCP SYN from `source` to 198.18.0.1:22, as the raw socket gives it. */
function syn(source: string): Buffer {
  const pkt = Buffer.alloc(40);
  pkt.writeUInt8(0x45, 0);
  pkt.writeUInt16BE(40, 2);
  pkt.writeUInt8(64, 8);
  pkt.writeUInt8(6, 9);
  pkt.writeUInt32BE(parseAddress(source), 12);
  pkt.writeUInt32BE(parseAddress('198.18.0.1'), 16);
  pkt.writeUInt16BE(40000, 20);
  pkt.writeUInt16BE(22, 22);
  pkt.writeUInt8(0x50, 32);
  pkt.writeUInt8(0x02, 33);
  return pkt;
}

/** A source that hands out `packets` in one batch, then says it is drained. */
function source(packets: Buffer[], error: Error | null = null): PacketSource {
  return {
    start(onPacket: OnPacket, onDrained: () => void, onError: (err: Error) => void) {
      for (const pkt of packets) onPacket(pkt, pkt.length);
      onDrained();
      if (error !== null) onError(error);
    },
    close() {},
    kernelDrops: () => [],
  };
}

test('each packet reaches the channel as a record, is counted as rejected, or is left out as ignored; a drained source flushes', (t) => {
  const sink = new Sink();
  const writer = new ChannelWriter(sink, { clock: () => 7 });
  const ignore = new IgnoreFilter([{ base: parseAddress('198.18.9.0'), prefix: 24 }], []);
  const faults: string[] = [];
  const packets = [syn('198.18.0.2'), syn('198.18.0.3').subarray(0, 30), syn('198.18.9.9'), syn('198.18.0.4')];
  forward(source(packets), writer, ignore, { udp: false, ipv6: false }, (why) => faults.push(why));
  // Sent when the source was drained, before any counters were asked for.
  t.deepEqual(
    sink.records().map((r) => (r.type === 'tcp4' ? r.saddr : r.type)),
    [parseAddress('198.18.0.2'), parseAddress('198.18.0.4')],
  );
  writer.sendCounters(true);
  t.like(sink.records().at(-1), { type: 'counters', packets: 4, rejected: 1, dropped: 0, log: true });
  t.deepEqual(faults, []);
});

test('answers go out as they are read, not held: one read before the contact it answers reaches the monitor first', (t) => {
  const sink = new Sink();
  const writer = new ChannelWriter(sink, { clock: () => 7 });
  let device: OnPacket = () => {};
  let deviceDrained = (): void => {};
  let answer: OnPacket = () => {};
  let answersDrained = (): void => {};
  const handles: PacketSource = {
    start(onPacket, onDrained) {
      device = onPacket;
      deviceDrained = onDrained;
    },
    startAnswers(onAnswer, onDrained) {
      answer = onAnswer;
      answersDrained = onDrained;
    },
    close() {},
    kernelDrops: () => [],
  };
  forward(handles, writer, null, { udp: false, ipv6: false }, () => {});
  // 198.18.0.1:22 resets 198.18.0.2:40000, and the answers handle is read first.
  const reset = syn('198.18.0.1');
  reset.writeUInt32BE(parseAddress('198.18.0.2'), 16);
  reset.writeUInt16BE(22, 20);
  reset.writeUInt16BE(40000, 22);
  reset.writeUInt8(0x14, 33);
  answer(reset, reset.length);
  answersDrained();
  t.deepEqual(
    sink.records().map((r) => r.type),
    ['answer4'],
    'sent when the answers handle is drained',
  );
  const probe = syn('198.18.0.2');
  device(probe, probe.length);
  deviceDrained();
  // The monitor judges the probe by the answer it kept (pipeline.test, "answer before contact").
  t.deepEqual(
    sink.records().map((r) => r.type),
    ['answer4', 'tcp4'],
  );
});

/** An IPv6 reset from fd00:5::`host` port 22 to fd00:61::2 port 40000. */
function reset6(host: number): Buffer {
  const pkt = Buffer.alloc(60);
  pkt[0] = 0x60;
  pkt.writeUInt16BE(20, 4);
  pkt[6] = 6;
  pkt[7] = 64;
  pkt.writeUInt32BE(0xfd000005, 8);
  pkt.writeUInt32BE(host, 20);
  pkt.writeUInt32BE(0xfd000061, 24);
  pkt.writeUInt32BE(2, 36);
  pkt.writeUInt16BE(22, 40);
  pkt.writeUInt16BE(40000, 42);
  pkt[52] = 0x50;
  pkt[53] = 0x14;
  return pkt;
}

/** forward() with --ipv6 on an answers handle the test drives: what it reads, and its drain. */
function forwardAnswers(): { sink: Sink; writer: ChannelWriter; answer: OnPacket; answersDrained: () => void } {
  const sink = new Sink();
  const writer = new ChannelWriter(sink, { clock: () => 7 });
  const driven = { sink, writer, answer: ((): void => {}) as OnPacket, answersDrained: (): void => {} };
  const handles: PacketSource = {
    start() {},
    startAnswers(onAnswer, onDrained) {
      driven.answer = onAnswer;
      driven.answersDrained = onDrained;
    },
    close() {},
    kernelDrops: () => [],
  };
  forward(handles, writer, null, { udp: false, ipv6: true }, () => {});
  return driven;
}

test('answers of both sizes go out whole and in order when their handle is drained: a 52-byte IPv6 answer beside 20-byte IPv4 ones', (t) => {
  const { sink, answer, answersDrained } = forwardAnswers();
  const reset4 = syn('198.19.5.9');
  reset4.writeUInt32BE(parseAddress('198.18.0.2'), 16);
  reset4.writeUInt8(0x14, 33);
  for (const pkt of [reset6(3), reset4, reset6(4), reset6(5)]) answer(pkt, pkt.length);
  answersDrained();
  t.deepEqual(
    sink.records(true).map((r) => (r.type === 'answer6' ? `answer6 ${r.host[3]}` : r.type)),
    ['answer6 3', 'answer4', 'answer6 4', 'answer6 5'],
  );
});

test('an outbound packet the stage cannot use is skipped, not rejected: a later fragment behind a hop-by-hop header; a cut-off one is rejected', (t) => {
  const { sink, writer, answer, answersDrained } = forwardAnswers();
  // Hop-by-hop (8 bytes), then a fragment header at offset 185 * 8 with TCP behind it.
  const later = Buffer.alloc(40 + 8 + 8 + 20);
  later[0] = 0x60;
  later.writeUInt16BE(later.length - 40, 4);
  later[6] = 0;
  later[40] = 44;
  later[48] = 6;
  later.writeUInt16BE(185 << 3, 50);
  const cut = reset6(3).subarray(0, 50);
  for (const pkt of [later, cut, reset6(4)]) answer(pkt, pkt.length);
  answersDrained();
  writer.sendCounters(true);
  t.like(sink.records(true).at(-1), { type: 'counters', packets: 3, rejected: 1 });
  t.deepEqual(
    sink.records(true).map((r) => r.type),
    ['answer6', 'counters'],
  );
});

test('without an ignore list every well-formed packet is sent; a source error ends capture with its message', (t) => {
  const sink = new Sink();
  const writer = new ChannelWriter(sink, { clock: () => 7 });
  const faults: string[] = [];
  forward(source([syn('198.18.9.9')], new Error('raw socket: recvmmsg: Bad address')), writer, null, { udp: false, ipv6: false }, (why) =>
    faults.push(why),
  );
  t.is(sink.records().length, 1);
  t.deepEqual(faults, ['raw socket: recvmmsg: Bad address']);
});
