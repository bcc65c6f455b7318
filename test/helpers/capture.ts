// Test help for the capture backends: sending crafted packets from the scanner, and
// the one packet that takes the place libpcap empties at start (see `primer`).

import path = require('node:path');
import { REPO } from '../../harness/daemon.js';
import { runIn, sleep, type Testbed } from '../../harness/netns.js';
import type { PacketSpec } from './send-packets.js';

const SENDER = path.join(REPO, 'dist', 'test', 'helpers', 'send-packets.js');
const RST = 0x04;
const ACK = 0x10;

export async function sendPackets(bed: Testbed, packets: PacketSpec[]): Promise<void> {
  const r = await runIn(bed.scanner, process.execPath, [SENDER, JSON.stringify(packets)]);
  if (r.code !== 0) throw new Error(`send-packets: ${r.stderr}`);
}

/**
 * libpcap 1.10 runs the filter on the first frame read after pcap_setfilter in user
 * space (frames already in the ring predate the kernel filter), and there the
 * `inbound` test, a Linux kernel extension on an Ethernet device, rejects every
 * frame: the libpcap backend on a device loses the first packet that its kernel
 * filter passes. A RST+ACK from the scanner takes that place in tests that compare
 * lines: it passes the kernel filter, and every scanlogd ignores it (ACK from a
 * source it does not know).
 */
export async function sendPrimer(bed: Testbed): Promise<void> {
  await sendPackets(bed, [{ src: bed.scannerAddr, dst: bed.targetAddr, sport: 9, dport: 9, flags: RST | ACK }]);
  await sleep(100);
}
