// Runs the libpcap reader (build/Release/pcaprecv.node) by itself in the namespace it is
// started in, on one device with scanlogd's filter, and reports what it read. Bounded:
// it stops after `timeoutMs`, or `settleMs` after the `expected`th frame.
//   node pcap-probe.js <device> <expected> <timeoutMs>
// Prints "ready" once reading, then one JSON line: { linkType, frames: [[length, IP
// header offset]...], batches, drained, errors, stats, packetSockets: [before close, after] }.

import { PCAP_FILTER, PCAP_SNAPLEN, loadPcapRecv } from '../../src/capture/pcap.js';
import { BATCH_SLOTS } from '../../src/capture/source.js';
import { ipOffset } from '../../src/capture/linklayer.js';
import { packetSocketsOf } from '../../harness/proc.js';

const [device, expectedText, timeoutText] = process.argv.slice(2);
const expected = Number(expectedText);
const settleMs = 300;

const pcaprecv = loadPcapRecv();
const handle = pcaprecv.open(device ?? '', PCAP_FILTER, PCAP_SNAPLEN, 1 << 20, false);
const linkType = pcaprecv.linkType(handle);
const data = Buffer.alloc(BATCH_SLOTS * PCAP_SNAPLEN);
const lengths = new Uint32Array(BATCH_SLOTS);
const frames: Array<[number, number]> = [];
const errors: string[] = [];
let batches = 0;
let drained = 0;
pcaprecv.start(
  handle,
  data,
  PCAP_SNAPLEN,
  lengths,
  (n) => {
    if (n === 0) {
      drained++;
      return;
    }
    batches++;
    for (let i = 0; i < n; i++) {
      const length = lengths[i] as number;
      frames.push([length, ipOffset(linkType, data.subarray(i * PCAP_SNAPLEN), length)]);
    }
  },
  (message) => errors.push(message),
);
process.stdout.write('ready\n');

const finish = (): void => {
  const stats = pcaprecv.stats(handle);
  const before = packetSocketsOf('self').length;
  pcaprecv.close(handle);
  // libpcap's socket is closed once libuv has let go of it, on the next turn of the loop.
  setTimeout(() => {
    process.stdout.write(
      `${JSON.stringify({ linkType, frames, batches, drained, errors, stats, packetSockets: [before, packetSocketsOf('self').length] })}\n`,
    );
    process.exit(0);
  }, 50);
};
const deadline = setTimeout(finish, Number(timeoutText));
const done = setInterval(() => {
  if (frames.length >= expected) {
    clearInterval(done);
    clearTimeout(deadline);
    setTimeout(finish, settleMs);
  }
}, 20);
