// The libpcap backend: the kernel filter for each combination of --udp and --ipv6
// (scanlogd's own string unchanged in classic mode, every other one compiled by the real
// libpcap, tcpdump -d on the `any` device, and run by it on crafted packets); the
// adapter's contract with a fake reader; then the real reader (build/Release/pcaprecv.node)
// as root on a device in a namespace pair.

import test, { type ExecutionContext } from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import {
  ANSWERS_BUFFER_BYTES,
  ANSWERS_FILTER6,
  ANSWERS_SNAPLEN,
  ANSWERS_SNAPLEN6,
  PCAP_BUFFER_BYTES,
  PCAP_FILTER,
  PCAP_SNAPLEN,
  PCAP_SNAPLEN6,
  ANSWERS_FILTER,
  answersFilter,
  loadPcapRecv,
  openPcap,
  pcapFilter,
} from '../../src/capture/pcap.js';
import { LinkType } from '../../src/capture/linklayer.js';
import { BATCH_SLOTS } from '../../src/capture/source.js';
import { loadRawRecv } from '../../src/capture/rawsocket.js';
import { StartupError } from '../../src/shared/errors.js';
import type { PcapCounts, PcapHandle, PcapRecv } from '../../src/types/pcaprecv.js';
import type { CaptureHandle } from '../../src/types/rawrecv.js';
import { createTestbed, isRoot, waitFor, type Testbed } from '../../harness/netns.js';
import { REPO } from '../../harness/daemon.js';
import { sendPackets } from '../helpers/capture.js';
import { errorsAfterTwoFailures, fakeBatchReader, type Started } from '../helpers/fake-batch-reader.js';

const haveTcpdump = childProcess.spawnSync('sh', ['-c', 'command -v tcpdump']).status === 0;
const tcpdumpTest = haveTcpdump ? test : test.skip;
if (!haveTcpdump) console.log('libpcap filter tests skipped: tcpdump is not installed (scripts/test-setup.sh installs it)');

test("classic mode keeps scanlogd's filter string exactly", (t) => {
  t.is(pcapFilter({ udp: false, ipv6: false }), PCAP_FILTER);
  t.is(PCAP_FILTER, 'inbound and ip and tcp and ((tcp[13] != 0x10 and tcp[13] != 0x18) or ip[6:2] & 0x3fff != 0)');
});

/** A raw-IP pcap file (link type 101) of `packets`, for tcpdump -r; packet i is stamped i + 1 seconds. */
function pcapFile(packets: Buffer[]): string {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(101, 20);
  const records = packets.map((p, i) => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(i + 1, 0);
    h.writeUInt32LE(p.length, 8);
    h.writeUInt32LE(p.length, 12);
    return Buffer.concat([h, p]);
  });
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'scanlogd-filter-')), 'p.pcap');
  fs.writeFileSync(file, Buffer.concat([head, ...records]));
  return file;
}

function ip4(protocol: number, flags: number, fragment = 0): Buffer {
  const p = Buffer.alloc(40);
  p[0] = 0x45;
  p.writeUInt16BE(40, 2);
  p.writeUInt16BE(fragment, 6);
  p[8] = 64;
  p[9] = protocol;
  p[33] = flags;
  return p;
}

function ip6(next: number, flags: number): Buffer {
  const p = Buffer.alloc(60);
  p[0] = 0x60;
  p.writeUInt16BE(20, 4);
  p[6] = next;
  p[7] = 64;
  p[53] = flags;
  return p;
}

/** An IPv6 packet whose fragment header says it is not the first fragment. */
function laterFragment6(): Buffer {
  const p = ip6(44, 0);
  p[40] = 6;
  p.writeUInt16BE(185 << 3, 42);
  return p;
}

// name, packet, passed by: [udp only, ipv6 only, both]
const cases: Array<[string, Buffer, [boolean, boolean, boolean]]> = [
  ['IPv4 SYN', ip4(6, 0x02), [true, true, true]],
  ['IPv4 pure ACK', ip4(6, 0x10), [false, false, false]],
  ['IPv4 UDP', ip4(17, 0), [true, false, true]],
  ['IPv4 UDP, a later fragment', ip4(17, 0, 185), [false, false, false]],
  ['IPv4 ICMP', ip4(1, 0), [false, false, false]],
  ['IPv6 SYN', ip6(6, 0x02), [false, true, true]],
  ['IPv6 pure ACK', ip6(6, 0x10), [false, false, false]],
  ['IPv6 PSH+ACK', ip6(6, 0x18), [false, false, false]],
  ['IPv6 UDP', ip6(17, 0), [false, false, true]],
  ['IPv6 hop-by-hop first (walked in user space)', ip6(0, 0), [false, true, true]],
  ['IPv6 fragment header first', ip6(44, 0), [false, true, true]],
  ['IPv6 routing header first', ip6(43, 0), [false, true, true]],
  ['IPv6 destination options first', ip6(60, 0), [false, true, true]],
  ['ICMPv6', ip6(58, 0), [false, false, false]],
];

/** The names of the cases in `file` that tcpdump's `filter` passes, in order. */
function passedBy(t: ExecutionContext, file: string, filter: string, named: ReadonlyArray<readonly [string, ...unknown[]]>): string[] {
  // -tt prints each packet's stamp, which says which of the cases it is.
  const r = childProcess.spawnSync('tcpdump', ['-n', '-tt', '-r', file, filter], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => named[Number(/^(\d+)\./.exec(line)?.[1]) - 1]?.[0] ?? `unknown: ${line}`);
}

tcpdumpTest('every combination compiles, and passes exactly what its lanes can use (tcpdump reading crafted packets)', (t) => {
  const file = pcapFile(cases.map((c) => c[1]));
  t.teardown(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
  const combos = [
    { udp: true, ipv6: false },
    { udp: false, ipv6: true },
    { udp: true, ipv6: true },
  ];
  combos.forEach((watched, k) => {
    // `inbound` needs a live capture's direction; read from a file, it is left out.
    t.deepEqual(
      passedBy(t, file, pcapFilter(watched).replace(/^inbound and /, ''), cases),
      cases.filter((c) => c[2][k]).map((c) => c[0]),
      JSON.stringify(watched),
    );
    const compiled = childProcess.spawnSync('tcpdump', ['-i', 'any', '-d', pcapFilter(watched)], { encoding: 'utf8' });
    t.is(compiled.status, 0, compiled.stderr);
  });
});

function icmp4(type: number, code = 0): Buffer {
  const p = ip4(1, 0);
  p[20] = type;
  p[21] = code;
  return p;
}

/** An ICMPv6 message of `type` and `code`, right after the fixed header. */
function icmp6(type: number, code = 0): Buffer {
  const p = ip6(58, 0);
  p[40] = type;
  p[41] = code;
  return p;
}

// name, packet, passed by the answers filter without --ipv6, and with it (with or without --udp: each filter is one string)
const answerCases: Array<[string, Buffer, boolean, boolean]> = [
  ['SYN+ACK', ip4(6, 0x12), true, true],
  ['RST', ip4(6, 0x04), true, true],
  ['RST+ACK', ip4(6, 0x14), true, true],
  ['SYN', ip4(6, 0x02), false, false],
  ['pure ACK', ip4(6, 0x10), false, false],
  ['PSH+ACK', ip4(6, 0x18), false, false],
  ['FIN+ACK', ip4(6, 0x11), false, false],
  ['UDP', ip4(17, 0), false, false],
  // A gateway's host unreachable, a REJECT rule's port, host-prohibited and admin-prohibited answers.
  ['ICMP host unreachable', icmp4(3, 1), true, true],
  ['ICMP port unreachable', icmp4(3, 3), true, true],
  ['ICMP host prohibited', icmp4(3, 10), true, true],
  ['ICMP administratively prohibited', icmp4(3, 13), true, true],
  ['ICMP echo reply', icmp4(0), false, false],
  ['ICMP time exceeded', icmp4(11), false, false],
  ['ICMP redirect', icmp4(5, 1), false, false],
  ['IPv6 SYN+ACK', ip6(6, 0x12), false, true],
  ['IPv6 RST', ip6(6, 0x04), false, true],
  ['IPv6 RST+ACK', ip6(6, 0x14), false, true],
  ['IPv6 SYN', ip6(6, 0x02), false, false],
  ['IPv6 pure ACK', ip6(6, 0x10), false, false],
  ['IPv6 PSH+ACK', ip6(6, 0x18), false, false],
  ['IPv6 FIN+ACK', ip6(6, 0x11), false, false],
  ['IPv6 UDP', ip6(17, 0), false, false],
  // A router's address unreachable, a REJECT rule's port unreachable and admin prohibited.
  ['ICMPv6 address unreachable', icmp6(1, 3), false, true],
  ['ICMPv6 port unreachable', icmp6(1, 4), false, true],
  ['ICMPv6 administratively prohibited', icmp6(1, 1), false, true],
  ['ICMPv6 packet too big', icmp6(2), false, false],
  ['ICMPv6 time exceeded', icmp6(3), false, false],
  ['ICMPv6 echo reply', icmp6(129), false, false],
  ['ICMPv6 neighbour advertisement', icmp6(136), false, false],
  // Extension headers first: walked in user space, which drops what is not an answer.
  ['IPv6 hop-by-hop first', ip6(0, 0), false, true],
  ['IPv6 fragment header first', ip6(44, 0), false, true],
  // A later fragment carries no transport header: nothing for the stage, so not passed.
  ['IPv6 a later fragment', laterFragment6(), false, false],
];

tcpdumpTest('the answers filters compile and pass only answers to first contacts: no bulk segment, no datagram, no packet too big', (t) => {
  const file = pcapFile(answerCases.map((c) => c[1]));
  t.teardown(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
  t.is(answersFilter({ udp: true, ipv6: false }), ANSWERS_FILTER);
  t.is(answersFilter({ udp: false, ipv6: true }), ANSWERS_FILTER6);
  for (const [filter, k] of [
    [ANSWERS_FILTER, 2],
    [ANSWERS_FILTER6, 3],
  ] as const) {
    // `outbound` needs a live capture's direction; read from a file, it is left out.
    t.true(filter.startsWith('outbound and '));
    t.deepEqual(
      passedBy(t, file, filter.replace(/^outbound and /, ''), answerCases),
      answerCases.filter((c) => c[k]).map((c) => c[0]),
      filter,
    );
    const compiled = childProcess.spawnSync('tcpdump', ['-i', 'any', '-d', filter], { encoding: 'utf8' });
    t.is(compiled.status, 0, compiled.stderr);
  }
});

// ---------------------------------------------------------------------------
// The adapter with a fake reader.

/** A reader that records its calls; the test plays libpcap through `started`. */
function fakeReader(options: { linkType?: number; openError?: Error; counts?: PcapCounts } = {}): {
  reader: PcapRecv;
  calls: string[];
  started: () => Started;
} {
  const calls: string[] = [];
  const handle = {} as PcapHandle;
  const batches = fakeBatchReader(handle, calls);
  const reader: PcapRecv = {
    ...batches,
    open(device, filter, snapLength, bufferBytes, promiscuous) {
      calls.push(`open ${device} ${filter} ${snapLength} ${bufferBytes} ${promiscuous}`);
      if (options.openError !== undefined) throw options.openError;
      return handle;
    },
    linkType: (h) => {
      calls.push(`linkType ${h === handle}`);
      return options.linkType ?? LinkType.ETHERNET;
    },
    stats: (h) => {
      calls.push(`stats ${h === handle}`);
      return options.counts ?? { received: 0, droppedByKernel: 0, droppedByInterface: 0 };
    },
  };
  return { reader, calls, started: () => batches.started() };
}

/** Writes an Ethernet frame carrying EtherType `type` and a first IP byte `mark` into slot `i`. */
function putFrame(s: Started, i: number, type: number, mark: number, length: number): void {
  const at = i * s.slotSize;
  s.buffer.fill(0, at, at + s.slotSize);
  s.buffer.writeUInt16BE(type, at + 12);
  s.buffer[at + 14] = mark;
  s.lengths[i] = length;
}

test("open: scanlogd's filter and snap length, the ring size, promiscuous only if asked; --ipv6 --udp widen them", (t) => {
  const a = fakeReader();
  openPcap({ device: 'eth0', promiscuous: false }, a.reader);
  t.deepEqual(a.calls, [`open eth0 ${PCAP_FILTER} ${PCAP_SNAPLEN} ${PCAP_BUFFER_BYTES} false`, 'linkType true']);
  const b = fakeReader();
  openPcap({ device: 'any', promiscuous: true, bufferBytes: 4096, watched: { udp: true, ipv6: true } }, b.reader);
  t.deepEqual(b.calls[0], `open any ${pcapFilter({ udp: true, ipv6: true })} ${PCAP_SNAPLEN6} 4096 true`);
});

test('with the second stage on, the device handle is opened exactly as without it, and a second one takes the answers', (t) => {
  for (const watched of [
    { udp: false, ipv6: false },
    { udp: true, ipv6: false },
    { udp: false, ipv6: true },
    { udp: true, ipv6: true },
  ]) {
    const off = fakeReader();
    openPcap({ device: 'eth0', promiscuous: false, watched }, off.reader);
    const on = fakeReader();
    const source = openPcap({ device: 'eth0', promiscuous: false, watched, answers: true }, on.reader);
    t.deepEqual(on.calls.slice(0, 2), off.calls);
    const answers = watched.ipv6 ? `${ANSWERS_FILTER6} ${ANSWERS_SNAPLEN6}` : `${ANSWERS_FILTER} ${ANSWERS_SNAPLEN}`;
    t.deepEqual(on.calls.slice(2), [`open eth0 ${answers} ${ANSWERS_BUFFER_BYTES} false`, 'linkType true']);
    t.true('startAnswers' in source);
    t.false('startAnswers' in openPcap({ device: 'eth0', promiscuous: false, watched }, fakeReader().reader));
    source.close();
    t.deepEqual(on.calls.slice(4), ['close true', 'close true']);
  }
});

test("open: libpcap's refusal is one line naming the device; an unsupported link type closes the handle", (t) => {
  const refused = t.throws(
    () => openPcap({ device: 'nosuch0', promiscuous: false }, fakeReader({ openError: new Error('No such device exists') }).reader),
    {
      instanceOf: StartupError,
    },
  );
  t.is(refused?.message, 'libpcap on nosuch0: No such device exists');
  const radio = fakeReader({ linkType: 127 });
  const unsupported = t.throws(() => openPcap({ device: 'wlan0', promiscuous: false }, radio.reader), { instanceOf: StartupError });
  t.is(unsupported?.message, 'libpcap on wlan0: link type 127 is not supported');
  t.deepEqual(radio.calls.slice(1), ['linkType true', 'close true']);
});

test('a batch of frames is delivered from each IP header, with the length after the link header; other frames are skipped', (t) => {
  const { reader, started } = fakeReader();
  const source = openPcap({ device: 'eth0', promiscuous: false }, reader);
  const seen: string[] = [];
  source.start(
    (pkt, length) => seen.push(`${pkt[0]}:${length}:${pkt.length}`),
    () => seen.push('drained'),
    (err) => seen.push(err.message),
  );
  const s = started();
  t.is(s.slotSize, PCAP_SNAPLEN);
  t.is(s.lengths.length, BATCH_SLOTS);
  t.is(s.buffer.length, BATCH_SLOTS * PCAP_SNAPLEN);
  putFrame(s, 0, 0x0800, 0x45, 54);
  putFrame(s, 1, 0x0806, 0x00, 42); // ARP: not IPv4
  putFrame(s, 2, 0x0800, 0x46, 58);
  s.onBatch(3);
  s.onBatch(0);
  t.deepEqual(seen, [`69:40:${PCAP_SNAPLEN - 14}`, `70:44:${PCAP_SNAPLEN - 14}`, 'drained']);
  // The same slot and offset give the same view again: nothing is made per packet.
  const views: Buffer[] = [];
  source.close();
  const again = fakeReader();
  const second = openPcap({ device: 'eth0', promiscuous: false }, again.reader);
  second.start(
    (pkt) => views.push(pkt),
    () => undefined,
    () => undefined,
  );
  putFrame(again.started(), 0, 0x0800, 0x45, 54);
  again.started().onBatch(1);
  again.started().onBatch(1);
  t.is(views.length, 2);
  t.is(views[0], views[1]);
});

test('a read error is reported once, naming the device; start() on a closed handle names it too', (t) => {
  const fake = fakeReader();
  const source = openPcap({ device: 'eth0', promiscuous: false }, fake.reader);
  t.deepEqual(errorsAfterTwoFailures(source, fake, 'The interface went down'), ['libpcap on eth0: read error: The interface went down']);
  source.close();
  t.throws(
    () =>
      source.start(
        () => undefined,
        () => undefined,
        () => undefined,
      ),
    {
      message: 'libpcap on eth0: start() on a closed handle',
    },
  );
});

test("counts are pcap_stats'; the stop line says what the filter passed and the kernel dropped; none once closed", (t) => {
  const { reader } = fakeReader({ counts: { received: 9, droppedByKernel: 2, droppedByInterface: 1 } });
  const source = openPcap({ device: 'eth0', promiscuous: false }, reader);
  t.deepEqual(source.counts?.(), { received: 9, droppedByKernel: 2, droppedByInterface: 1 });
  t.is(source.statsLine?.(), 'libpcap on eth0: 9 packets passed the kernel filter, 2 dropped by the kernel');
  source.close();
  t.throws(() => source.counts?.(), { message: /closed/ });
  t.is(source.statsLine?.(), 'libpcap on eth0: no statistics: the handle is closed');
});

// ---------------------------------------------------------------------------
// The real reader, as root, in a namespace pair.

const rootTest = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log('libpcap reader tests skipped: they need root for network namespaces and packet capture');

const PROBE = path.join(REPO, 'dist', 'test', 'helpers', 'pcap-probe.js');

interface ProbeResult {
  linkType: number;
  frames: Array<[number, number]>;
  batches: number;
  drained: number;
  errors: string[];
  stats: PcapCounts;
  packetSockets: [number, number];
}

/** Runs the probe on `device` in the target namespace; resolves with its report. */
async function runProbe(
  t: ExecutionContext,
  bed: Testbed,
  device: string,
  expected: number,
  send: () => Promise<void>,
): Promise<ProbeResult> {
  const probe = childProcess.spawn('ip', ['netns', 'exec', bed.target, process.execPath, PROBE, device, String(expected), '8000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (probe.exitCode === null) probe.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  probe.stdout.on('data', (d: Buffer) => (out += d.toString()));
  probe.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => probe.on('close', () => resolve()));
  await waitFor(`the probe to start (${err})`, () => (/^ready$/m.test(out) ? true : undefined), 10000);
  await send();
  await exited;
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as ProbeResult;
}

/** SYNs from the scanner to ports 1..count, 2 ms apart. */
function syns(bed: Testbed, count: number): Parameters<typeof sendPackets>[1] {
  return Array.from({ length: count }, (_, i) => ({
    src: bed.scannerAddr,
    dst: bed.targetAddr,
    sport: 40000,
    dport: i + 1,
    flags: 0x02,
    delayMs: 2,
  }));
}

for (const [device, linkType, offset] of [
  ['the veth', LinkType.ETHERNET, 14],
  ['any', LinkType.LINUX_SLL, 16],
] as const) {
  rootTest(
    `the reader on ${device}: its link type, whole frames in batches, pcap_stats, and close releases the packet socket`,
    async (t) => {
      const bed = createTestbed();
      t.teardown(() => bed.destroy());
      const count = 40;
      // One more than counted: on a device libpcap drops the first frame its filter passes.
      const r = await runProbe(t, bed, device === 'any' ? 'any' : bed.targetDev, count, () => sendPackets(bed, syns(bed, count + 1)));
      t.deepEqual(r.errors, []);
      t.is(r.linkType, linkType);
      t.true(r.frames.length >= count, `${r.frames.length} frames`);
      // Each is a SYN: IPv4 at the link header's end, 20 bytes of IP and 20 of TCP.
      for (const [length, at] of r.frames) t.deepEqual([length, at], [offset + 40, offset]);
      t.true(r.batches >= 1 && r.batches <= r.frames.length);
      t.true(r.drained >= 1);
      t.true(r.stats.received >= r.frames.length, JSON.stringify(r.stats));
      t.is(r.stats.droppedByKernel, 0);
      t.deepEqual(r.packetSockets, [1, 0]);
    },
  );
}

rootTest("the reader: libpcap's own words for a device or a filter it refuses; arguments that do not fit are refused", (t) => {
  const pcaprecv = loadPcapRecv();
  t.throws(() => pcaprecv.open('nosuch0', PCAP_FILTER, PCAP_SNAPLEN, 1 << 20, false), { message: 'No such device exists' });
  t.throws(() => pcaprecv.open('lo', 'tcp and', PCAP_SNAPLEN, 1 << 20, false), { message: /syntax error/ });
  t.throws(() => pcaprecv.open('lo', PCAP_FILTER, 0, 1 << 20, false), { instanceOf: TypeError });
  const h = pcaprecv.open('lo', PCAP_FILTER, PCAP_SNAPLEN, 1 << 20, false);
  t.teardown(() => pcaprecv.close(h));
  const none = (): void => undefined;
  const start = (buffer: Buffer, slot: number, lengths: Uint32Array): void => pcaprecv.start(h, buffer, slot, lengths, none, none);
  t.throws(() => start(Buffer.alloc(80 * 4 - 1), 80, new Uint32Array(4)), { instanceOf: RangeError });
  t.throws(() => start(Buffer.alloc(80), 0, new Uint32Array(1)), { instanceOf: RangeError });
  t.throws(() => start(Buffer.alloc(80 * 2000), 80, new Uint32Array(1025)), { instanceOf: RangeError });
  // Another addon's handle, or anything else, is not one of its handles.
  const raw = loadRawRecv().open(0);
  t.teardown(() => loadRawRecv().close(raw));
  t.throws(() => pcaprecv.stats(raw as unknown as PcapHandle), { instanceOf: TypeError });
  t.throws(() => loadRawRecv().close(h as unknown as CaptureHandle), { instanceOf: TypeError });
  t.throws(() => pcaprecv.close({} as PcapHandle), { instanceOf: TypeError });
  t.notThrows(() => start(Buffer.alloc(80), 80, new Uint32Array(1)));
  pcaprecv.close(h);
  pcaprecv.close(h);
  t.throws(() => pcaprecv.stats(h), { message: 'the libpcap handle is closed' });
});
