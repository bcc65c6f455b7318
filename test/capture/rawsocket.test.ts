// The raw-socket capture backend: the adapter's contract with a fake reader, then the
// real addon (build/Release/rawrecv.node) as root, with real packets in a namespace.

import test, { type ExecutionContext } from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import path = require('node:path');
import { loadRawRecv, openRawSockets, openRawTcpSocket, rawSocketKinds } from '../../src/capture/rawsocket.js';
import { BATCH_SLOTS } from '../../src/capture/source.js';
import { CAPTURE_SNAPLEN } from '../../src/capture/packet.js';
import { StartupError } from '../../src/shared/errors.js';
import type { CaptureHandle, RawRecv } from '../../src/types/rawrecv.js';
import { createTestbed, isRoot, runIn, waitFor, type Testbed } from '../../harness/netns.js';
import { REPO } from '../../harness/daemon.js';
import { errorsAfterTwoFailures, fakeBatchReader, type Started } from '../helpers/fake-batch-reader.js';

/** A reader that records its calls; the test plays the kernel through `started`. */
function fakeReader(openError?: Error): { reader: RawRecv; calls: string[]; started: () => Started } {
  const calls: string[] = [];
  const handle = {} as CaptureHandle;
  const batches = fakeBatchReader(handle, calls);
  const reader: RawRecv = {
    ...batches,
    open(bytes) {
      calls.push(`open ${bytes}`);
      if (openError !== undefined) throw openError;
      return handle;
    },
    drops: () => 0,
  };
  return { reader, calls, started: () => batches.started() };
}

test('a batch is delivered packet by packet, each with its own slot and length, then drained', (t) => {
  const { reader, calls, started } = fakeReader();
  const source = openRawTcpSocket(1234, reader);
  const seen: string[] = [];
  source.start(
    (pkt, length) => seen.push(`${pkt[0]}:${length}:${pkt.length}`),
    () => seen.push('drained'),
    () => seen.push('error'),
  );
  t.deepEqual(calls, ['open 1234', 'start true']);
  const s = started();
  t.is(s.slotSize, CAPTURE_SNAPLEN);
  t.is(s.lengths.length, BATCH_SLOTS);
  t.is(s.buffer.length, BATCH_SLOTS * CAPTURE_SNAPLEN);
  for (let i = 0; i < 3; i++) {
    s.buffer[i * CAPTURE_SNAPLEN] = 10 + i;
    s.lengths[i] = 40 + i;
  }
  s.lengths[3] = 99; // beyond the batch: never read
  s.onBatch(3);
  s.onBatch(0);
  t.deepEqual(seen, [`10:40:${CAPTURE_SNAPLEN}`, `11:41:${CAPTURE_SNAPLEN}`, `12:42:${CAPTURE_SNAPLEN}`, 'drained']);
});

test('a receive error is reported once, as an Error naming the raw socket', (t) => {
  const fake = fakeReader();
  const errors = errorsAfterTwoFailures(openRawTcpSocket(1, fake.reader), fake, 'recvmmsg: Bad file descriptor');
  t.deepEqual(errors, ['raw socket receive: recvmmsg: Bad file descriptor']);
});

test('close() closes the socket once, before or after start; nothing is delivered after it', (t) => {
  const a = fakeReader();
  const unstarted = openRawTcpSocket(1, a.reader);
  unstarted.close();
  unstarted.close();
  t.deepEqual(a.calls, ['open 1', 'close true']);
  t.throws(
    () =>
      unstarted.start(
        () => undefined,
        () => undefined,
        () => undefined,
      ),
    { message: /start\(\) on a closed socket/ },
  );

  const b = fakeReader();
  const source = openRawTcpSocket(1, b.reader);
  const seen: string[] = [];
  source.start(
    () => {
      seen.push('packet');
      source.close(); // a handler that stops capture ends the batch
    },
    () => seen.push('drained'),
    (err) => seen.push(err.message),
  );
  t.throws(
    () =>
      source.start(
        () => undefined,
        () => undefined,
        () => undefined,
      ),
    { message: /start\(\) on a running socket/ },
  );
  b.started().lengths.fill(40);
  b.started().onBatch(5);
  b.started().onBatch(0);
  b.started().onError('late');
  source.close();
  t.deepEqual(seen, ['packet']);
  t.deepEqual(b.calls, ['open 1', 'start true', 'close true']);
});

test('a socket that cannot be opened is a start-up error', (t) => {
  const { reader } = fakeReader(new Error('Operation not permitted'));
  const err = t.throws(() => openRawTcpSocket(1, reader));
  t.true(err instanceof StartupError);
  t.is(err?.message, 'raw socket: Operation not permitted');
});

const rootTest = isRoot ? test.serial : test.serial.skip;

/** Raw-socket descriptors of this process, from /proc. */
function rawFds(): number[] {
  const inodes = new Set(
    fs
      .readFileSync('/proc/self/net/raw', 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/)[9]),
  );
  return fs
    .readdirSync('/proc/self/fd')
    .filter((fd) => {
      try {
        return inodes.has(/^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`))?.[1]);
      } catch {
        return false; // the directory listing's own descriptor
      }
    })
    .map(Number);
}

rootTest('the addon: close() releases the descriptor, before or after start, and is idempotent', async (t) => {
  const rawrecv = loadRawRecv();
  const before = rawFds();
  const idle = rawrecv.open(0);
  t.is(rawFds().length, before.length + 1);
  rawrecv.close(idle);
  rawrecv.close(idle);
  t.deepEqual(rawFds(), before);

  const running = rawrecv.open(1 << 20);
  const lengths = new Uint32Array(4);
  rawrecv.start(
    running,
    Buffer.alloc(4 * CAPTURE_SNAPLEN),
    CAPTURE_SNAPLEN,
    lengths,
    () => undefined,
    () => undefined,
  );
  t.is(rawFds().length, before.length + 1);
  rawrecv.close(running);
  rawrecv.close(running);
  // libuv lets go of the descriptor in its close phase; only then is it closed.
  await waitFor('the descriptor to be closed', () => (rawFds().length === before.length ? true : undefined), 1000, 1);
  t.deepEqual(rawFds(), before);
  rawrecv.close(running); // long after: still harmless
  t.throws(
    () =>
      rawrecv.start(
        running,
        Buffer.alloc(CAPTURE_SNAPLEN),
        CAPTURE_SNAPLEN,
        new Uint32Array(1),
        () => undefined,
        () => undefined,
      ),
    {
      message: /already started or closed/,
    },
  );
});

rootTest('the addon refuses arguments that would let it write outside the buffer', (t) => {
  const rawrecv = loadRawRecv();
  const h = rawrecv.open(0);
  t.teardown(() => rawrecv.close(h));
  const none = (): void => undefined;
  const start = (buffer: Buffer, slot: number, lengths: Uint32Array): void => rawrecv.start(h, buffer, slot, lengths, none, none);
  t.throws(() => start(Buffer.alloc(80 * 4 - 1), 80, new Uint32Array(4)), { instanceOf: RangeError });
  t.throws(() => start(Buffer.alloc(80), 0, new Uint32Array(1)), { instanceOf: RangeError });
  t.throws(() => start(Buffer.alloc(80), -80, new Uint32Array(1)), { instanceOf: RangeError });
  t.throws(() => start(Buffer.alloc(80 * 2000), 80, new Uint32Array(1025)), { instanceOf: RangeError });
  t.throws(() => start(Buffer.alloc(80), 80, new Uint32Array(0)), { instanceOf: RangeError });
  t.throws(() => start(Buffer.alloc(80), 80, new Uint16Array(1) as unknown as Uint32Array), { instanceOf: RangeError });
  t.throws(() => rawrecv.start({} as CaptureHandle, Buffer.alloc(80), 80, new Uint32Array(1), none, none), { instanceOf: TypeError });
  t.throws(() => rawrecv.close({} as CaptureHandle), { instanceOf: TypeError });
  // Nothing was started by the refused calls: a valid start still works once.
  t.notThrows(() => start(Buffer.alloc(80), 80, new Uint32Array(1)));
});

const PROBE = path.join(REPO, 'dist', 'test', 'helpers', 'capture-probe.js');

/** Runs the capture probe in the target namespace, killed at the end of the test if still running. */
function startProbe(t: ExecutionContext, bed: Testbed, args: string[]): { out(): string; err(): string; exited: Promise<void> } {
  const probe = childProcess.spawn('ip', ['netns', 'exec', bed.target, process.execPath, '--expose-gc', PROBE, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  probe.stdout.on('data', (d: Buffer) => (out += d.toString()));
  probe.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => probe.on('close', () => resolve()));
  t.teardown(() => {
    if (probe.exitCode === null) probe.kill('SIGKILL');
  });
  return { out: () => out, err: () => err, exited };
}

for (const mode of ['addon', 'source'] as const) {
  rootTest(
    `real packets still arrive after the ${mode === 'addon' ? "addon's handle" : 'PacketSource'} was garbage collected`,
    async (t) => {
      const bed = createTestbed();
      t.teardown(() => bed.destroy());
      const packets = 300;
      const port = 4242;
      const probe = startProbe(t, bed, [mode, bed.scannerAddr, String(port), String(packets), '20000']);
      const ready = await waitFor('the probe to let go of its references', () => /^ready (true|false)$/m.exec(probe.out())?.[1], 10000);
      t.is(ready, 'true', `the JS objects were not collected, so the test would prove nothing (${probe.err()})`);
      // hping3 -c sends exactly that many SYNs, 1 ms apart, while the probe keeps collecting.
      const r = await runIn(bed.scanner, 'hping3', ['-q', '-S', '-p', String(port), '-c', String(packets), '-i', 'u1000', bed.targetAddr]);
      t.true(r.code === 0 || r.code === 1, `hping3: ${r.stderr}`);
      await probe.exited;
      const result = JSON.parse(probe.out().trim().split('\n').pop() ?? '{}') as { count: number; collected: boolean; errors: string[] };
      t.deepEqual(result.errors, [], probe.err());
      t.true(result.collected);
      t.is(result.count, packets, probe.err());
    },
  );
}

rootTest('a read error stops the reader and is reported once (fail-stop)', async (t) => {
  const bed = createTestbed();
  t.teardown(() => bed.destroy());
  const probe = startProbe(t, bed, ['swap', bed.scannerAddr, '4242', '1000000', '6000']);
  await waitFor('the probe to start', () => (/^ready /m.test(probe.out()) ? true : undefined), 10000);
  // As fast as hping3 goes, so that a wakeup finds a batch of 8 or more.
  const r = await runIn(bed.scanner, 'hping3', ['-q', '-S', '-p', '4242', '-c', '20000', '-i', 'u10', bed.targetAddr]);
  t.true(r.code === 0 || r.code === 1, `hping3: ${r.stderr}`);
  await probe.exited;
  const result = JSON.parse(probe.out().trim().split('\n').pop() ?? '{}') as {
    swapped: boolean;
    errors: string[];
    afterError: number;
    count: number;
  };
  t.true(result.swapped, `no batch of 8 or more packets arrived (${result.count} packets): the test could not run (${probe.err()})`);
  t.deepEqual(result.errors, ['recvmmsg: Socket operation on non-socket']);
  t.is(result.afterError, 0);
});

// ---------------------------------------------------------------------------
// --udp and --ipv6: more sockets, each read on its own, seen as one source.

/** A reader that opens handles named by family and protocol; `failOn` refuses one. */
function multiReader(failOn?: string): {
  reader: RawRecv;
  calls: string[];
  batches: Map<string, Started>;
  drops: Map<string, number>;
} {
  const calls: string[] = [];
  const batches = new Map<string, Started>();
  const drops = new Map<string, number>();
  const reader: RawRecv = {
    drops: (h) => drops.get((h as unknown as { name: string }).name) ?? 0,
    open(bytes, family, protocol) {
      const name = `${family ?? 4}/${protocol ?? 6}`;
      if (name === failOn) throw new Error('Address family not supported by protocol');
      calls.push(`open ${bytes} ${name}`);
      return { name } as unknown as CaptureHandle;
    },
    start(h, buffer, slotSize, lengths, onBatch, onError) {
      const name = (h as unknown as { name: string }).name;
      calls.push(`start ${name}`);
      batches.set(name, { buffer, slotSize, lengths, onBatch, onError });
    },
    close(h) {
      calls.push(`close ${(h as unknown as { name: string }).name}`);
    },
  };
  return { reader, calls, batches, drops };
}

test("each raw socket's kernel drops, by lane; the stop line sums them and names each; none once closed", (t) => {
  const { reader, drops } = multiReader();
  const source = openRawSockets({ udp: true, ipv6: true }, 99, reader);
  drops.set('4/6', 12).set('4/17', 0).set('6/6', 0xffffffff).set('6/17', 3);
  t.deepEqual(source.kernelDrops(), [
    { socket: 'tcp4', count: 12 },
    { socket: 'udp4', count: 0 },
    { socket: 'tcp6', count: 0xffffffff },
    { socket: 'udp6', count: 3 },
  ]);
  t.is(
    source.statsLine?.(),
    `raw sockets: ${12 + 0xffffffff + 3} packets dropped by the kernel (tcp4 12, udp4 0, tcp6 4294967295, udp6 3)`,
  );
  source.close();
  t.deepEqual(source.kernelDrops(), []);
  const classic = openRawSockets({ udp: false, ipv6: false }, 99, reader);
  t.is(classic.statsLine?.(), 'raw socket: 12 packets dropped by the kernel');
});

test("the sockets for what is watched: scanlogd's first, then IPv4 UDP, IPv6 TCP, IPv6 UDP", (t) => {
  t.deepEqual(rawSocketKinds({ udp: false, ipv6: false }), [{ family: 4, protocol: 'tcp' }]);
  t.deepEqual(rawSocketKinds({ udp: true, ipv6: true }), [
    { family: 4, protocol: 'tcp' },
    { family: 4, protocol: 'udp' },
    { family: 6, protocol: 'tcp' },
    { family: 6, protocol: 'udp' },
  ]);
  t.deepEqual(rawSocketKinds({ udp: false, ipv6: true }), [
    { family: 4, protocol: 'tcp' },
    { family: 6, protocol: 'tcp' },
  ]);
});

test("--udp --ipv6: four sockets opened (scanlogd's with its one-argument call), each started, packets of all go to the one callback", (t) => {
  const { reader, calls, batches } = multiReader();
  const source = openRawSockets({ udp: true, ipv6: true }, 99, reader);
  const seen: string[] = [];
  source.start(
    (pkt, length) => seen.push(`${pkt[0]}:${length}`),
    () => seen.push('drained'),
    (err) => seen.push(err.message),
  );
  t.deepEqual(calls, ['open 99 4/6', 'open 99 4/17', 'open 99 6/6', 'open 99 6/17', 'start 4/6', 'start 4/17', 'start 6/6', 'start 6/17']);
  const v6udp = batches.get('6/17')!;
  v6udp.buffer[0] = 0x60;
  v6udp.lengths[0] = 48;
  v6udp.onBatch(1);
  v6udp.onBatch(0);
  batches.get('4/17')!.onError('recvmmsg: Bad file descriptor');
  t.deepEqual(seen, ['96:48', 'drained', 'raw socket (IPv4 UDP) receive: recvmmsg: Bad file descriptor']);
  source.close();
  t.deepEqual(calls.slice(8), ['close 4/6', 'close 4/17', 'close 6/6', 'close 6/17']);
});

test('a socket that cannot be opened closes the ones already open and names itself', (t) => {
  const { reader, calls } = multiReader('6/6');
  const err = t.throws(() => openRawSockets({ udp: true, ipv6: true }, 1, reader));
  t.true(err instanceof StartupError);
  t.is(err?.message, 'raw socket (IPv6 TCP): Address family not supported by protocol');
  t.deepEqual(calls, ['open 1 4/6', 'open 1 4/17', 'close 4/6', 'close 4/17']);
});

rootTest('the addon: an IPv6 socket refuses a slot too small for the header it builds; bad family or protocol are type errors', (t) => {
  const rawrecv = loadRawRecv();
  const h = rawrecv.open(0, 6, 17);
  t.teardown(() => rawrecv.close(h));
  const none = (): void => undefined;
  t.throws(() => rawrecv.start(h, Buffer.alloc(47 * 4), 47, new Uint32Array(4), none, none), { instanceOf: RangeError });
  t.throws(() => rawrecv.open(0, 5 as 4, 6), { instanceOf: TypeError });
  t.throws(() => rawrecv.open(0, 6, 1 as 6), { instanceOf: TypeError });
  t.notThrows(() => rawrecv.start(h, Buffer.alloc(48 * 4), 48, new Uint32Array(4), none, none));
});
