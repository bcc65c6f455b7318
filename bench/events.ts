// Cost of structured events: the monitor's pipeline per packet without --json, and with
// the scan tracker and JSON serialisation, on scan-heavy traffic. Prints a table;
// `npm run bench:events` (or `node dist/bench/events.js` after `npm run build`).

import { eventLine } from '../src/shared/events.js';
import { DEFAULT_PARAMS } from '../src/shared/params.js';
import type { PacketSummary } from '../src/shared/record.js';
import { median, table } from './stats.js';
import { ScanPipeline } from '../src/monitor/pipeline.js';

const PACKETS = 2_000_000;
const ROUNDS = 5;
const SOURCES = 1024;

type Traffic = 'scans' | 'spoofed';

/**
 * 'scans': bursts of 64 SYNs to consecutive ports from 1024 sources in turn; 'spoofed':
 * one SYN per random source (a flood, no scans). 100 packets per ms.
 */
function run(traffic: Traffic, withEvents: boolean): { nsPerPacket: number; lines: number; events: number; bytes: number } {
  let lines = 0;
  let events = 0;
  let bytes = 0;
  const pipeline = new ScanPipeline(
    DEFAULT_PARAMS,
    () => {
      lines++;
    },
    withEvents
      ? (e) => {
          events++;
          bytes += eventLine(e).length;
        }
      : null,
  );
  const pkt: PacketSummary = { saddr: 0, daddr: 0xc6120001, sport: 40000, dport: 0, flags: 0x02, tos: 0, ttl: 64, time: 0 };
  const wall = Date.now();
  const start = process.hrtime.bigint();
  let x = 0x9e3779b9;
  for (let i = 0; i < PACKETS; i++) {
    if (traffic === 'scans') {
      pkt.saddr = (0xc6130000 + ((i >>> 6) % SOURCES) + 1) >>> 0;
    } else {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      pkt.saddr = (0xc6120000 | (x & 0x1ffff)) >>> 0;
    }
    pkt.dport = (i & 0x3ff) + 1;
    pkt.time = Math.floor(i / 100) >>> 0;
    pipeline.feed(pkt, pkt.time, wall + pkt.time);
    if (withEvents && (i & 0x3fff) === 0) pipeline.sweep(pkt.time, wall + pkt.time);
  }
  const ns = Number(process.hrtime.bigint() - start);
  return { nsPerPacket: ns / PACKETS, lines, events, bytes };
}

const rows: string[][] = [];
for (const traffic of ['scans', 'spoofed'] as const) {
  for (const withEvents of [false, true]) {
    const results = Array.from({ length: ROUNDS }, () => run(traffic, withEvents));
    const last = results[results.length - 1] as ReturnType<typeof run>;
    rows.push([
      traffic === 'scans' ? `${SOURCES} scanners, bursts of 64 ports` : 'spoofed SYN flood, 2^17 sources',
      withEvents ? 'tracker + JSON text' : 'without --json',
      median(results.map((r) => r.nsPerPacket)).toFixed(0),
      String(last.lines),
      String(last.events),
      String(last.bytes),
    ]);
  }
}
console.log(`${PACKETS} packets per round, median of ${ROUNDS} rounds; JSON lines built but not written`);
console.log(table(['traffic', 'pipeline', 'ns/packet', 'syslog lines', 'events', 'JSON bytes'], rows));
