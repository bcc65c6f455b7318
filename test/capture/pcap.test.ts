// The libpcap kernel filter for each combination of --udp and --ipv6: scanlogd's own
// string unchanged in classic mode, and every other one compiled by the real libpcap
// (tcpdump -d on the `any` device) and run by it on crafted packets.

import test from 'ava';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { PCAP_FILTER, pcapFilter } from '../../src/capture/pcap.js';

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
    const filter = pcapFilter(watched).replace(/^inbound and /, '');
    // -tt prints each packet's stamp, which says which of the cases it is.
    const r = childProcess.spawnSync('tcpdump', ['-n', '-tt', '-r', file, filter], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
    const passed = r.stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => cases[Number(/^(\d+)\./.exec(line)?.[1]) - 1]?.[0] ?? `unknown: ${line}`);
    t.deepEqual(
      passed,
      cases.filter((c) => c[2][k]).map((c) => c[0]),
      JSON.stringify(watched),
    );
    const compiled = childProcess.spawnSync('tcpdump', ['-i', 'any', '-d', pcapFilter(watched)], { encoding: 'utf8' });
    t.is(compiled.status, 0, compiled.stderr);
  });
});
