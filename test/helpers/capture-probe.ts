// Runs the capture path's raw-socket reader in the namespace it is started in, lets go
// of every JS reference to it, forces garbage collection, and counts the packets that
// still arrive from one source to one port. Bounded: it exits after `timeoutMs`.
//   node --expose-gc capture-probe.js <addon|source|swap> <source address> <port> <expected> <timeoutMs>
// Prints "ready <collected>" once its references were collected (or could not be in
// 3 s), then one JSON line: { count, collected, errors, swapped, afterError }.
// "swap" is the addon mode that, on the first batch of 8 or more packets (the reader
// then reads again soon without waiting for the socket), puts /dev/null in place of
// the socket's descriptor, so that the next read fails as a broken socket would.

import fs = require('node:fs');
import { loadRawRecv, openRawTcpSocket } from '../../src/capture/rawsocket.js';
import { BATCH_SLOTS } from '../../src/capture/source.js';
import { CAPTURE_SNAPLEN } from '../../src/capture/packet.js';
import { parseAddress } from '../../src/shared/ipv4.js';

const [mode, source, portText, expectedText, timeoutText] = process.argv.slice(2);
const wanted = parseAddress(source ?? '');
const port = Number(portText);
const expected = Number(expectedText);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

let count = 0;
let collected = false;
let swapped = false;
let afterError = 0;
const errors: string[] = [];
const registry = new FinalizationRegistry(() => {
  collected = true;
});

function matches(pkt: Buffer, length: number): boolean {
  if (length < 24 || pkt[9] !== 6) return false;
  const ihl = ((pkt[0] as number) & 0x0f) * 4;
  return pkt.readUInt32BE(12) === wanted && length >= ihl + 4 && pkt.readUInt16BE(ihl + 2) === port;
}

/** This process's one raw socket descriptor, found through /proc. */
function rawSocketFd(): number {
  const inodes = new Set(
    fs
      .readFileSync('/proc/self/net/raw', 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/)[9]),
  );
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (inodes.has(/^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`))?.[1])) return Number(fd);
    } catch {
      // the listing's own descriptor
    }
  }
  throw new Error('no raw socket descriptor');
}

/** Closes `fd` and opens /dev/null until it gets the same number. */
function replaceWithDevNull(fd: number): void {
  fs.closeSync(fd);
  const extra: number[] = [];
  for (;;) {
    const got = fs.openSync('/dev/null', 'r');
    if (got === fd) break;
    if (got > fd) throw new Error(`descriptor ${fd} was taken meanwhile`);
    extra.push(got);
  }
  for (const e of extra) fs.closeSync(e);
}

// Each start function returns nothing: once it is done, only the addon holds on.
function startAddon(swap: boolean): void {
  const rawrecv = loadRawRecv();
  const handle = rawrecv.open(1 << 20);
  const data = Buffer.alloc(BATCH_SLOTS * CAPTURE_SNAPLEN);
  const lengths = new Uint32Array(BATCH_SLOTS);
  registry.register(handle, 'handle');
  registry.register(data, 'buffer');
  rawrecv.start(
    handle,
    data,
    CAPTURE_SNAPLEN,
    lengths,
    (n) => {
      if (errors.length > 0) afterError += n;
      for (let i = 0; i < n; i++) if (matches(data.subarray(i * CAPTURE_SNAPLEN), lengths[i] as number)) count++;
      if (swap && !swapped && n >= 8) {
        swapped = true;
        replaceWithDevNull(rawSocketFd());
      }
    },
    (message) => errors.push(message),
  );
}

function startSource(): void {
  const src = openRawTcpSocket(1 << 20);
  registry.register(src, 'source');
  src.start(
    (pkt, length) => {
      if (matches(pkt, length)) count++;
    },
    () => undefined,
    (err) => errors.push(err.message),
  );
}

if (mode === 'addon' || mode === 'swap') startAddon(mode === 'swap');
else if (mode === 'source') startSource();
else throw new Error(`unknown mode ${String(mode)}`);

// Constant collection, with garbage to collect, for the whole run.
let junk: unknown[] = [];
const churn = setInterval(() => {
  junk = Array.from({ length: 1000 }, (_, i) => ({ i }));
  gc();
}, 5);
const started = Date.now();
const announce = setInterval(() => {
  if (collected || mode === 'swap' || Date.now() - started > 3000) {
    clearInterval(announce);
    process.stdout.write(`ready ${collected}\n`);
  }
}, 10);

const finish = (): void => {
  clearInterval(churn);
  process.stdout.write(`${JSON.stringify({ count, collected, errors, swapped, afterError, junk: junk.length > 0 })}\n`);
  process.exit(0);
};
setTimeout(finish, Number(timeoutText)).unref();
// Done early once every packet came, after a moment in which a duplicate would show.
const done = setInterval(() => {
  if (count >= expected) {
    clearInterval(done);
    setTimeout(finish, 200);
  }
}, 20);
