// What an ignore list costs the capture process per record, beside what the monitor
// spends on a record it has to decode and detect on (the work an ignored packet saves
// it, before counting the channel); then, as root, the CPU each process of the real
// daemon spends per packet of a spoofed SYN flood, with and without that flood's
// sources ignored. Prints tables; `npm run bench:ignore`.

import { IgnoreFilter } from '../src/capture/ignore.js';
import {
  MAX_IGNORE_PORTS,
  MAX_IGNORE_SOURCES,
  parseCidr,
  parsePortRange,
  type PortRange,
  type SourceNetwork,
} from '../src/shared/networks.js';
import { DEFAULT_PARAMS } from '../src/shared/params.js';
import { RECORD_SIZE, decodeAt, emptyPacketScratch, encodeInto, type Tcp4Record } from '../src/shared/record.js';
import { median, table } from './stats.js';
import { buildGenerator, killStarted, runFlood } from '../harness/generator.js';
import { cpuTime } from '../harness/proc.js';
import { isRoot, sleep } from '../harness/netns.js';
import { startScene } from '../harness/testbed-daemon.js';
import { ScanPipeline } from '../src/monitor/pipeline.js';

const RECORDS = 65536;
const PASSES = 30;
const ROUNDS = 5;

/** Records from random sources in 198.18.0.0/15 to random ports, as a spoofed flood. */
function flood(): Buffer {
  const buf = Buffer.alloc(RECORDS * RECORD_SIZE);
  let x = 12345;
  const next = (): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
  for (let i = 0; i < RECORDS; i++) {
    const r: Tcp4Record = {
      type: 'tcp4',
      saddr: (0xc6120000 | (next() & 0x1ffff)) >>> 0,
      daddr: 0xc6120001,
      sport: 40000,
      dport: 1 + (next() % 65535),
      flags: 0x02,
      tos: 0,
      ttl: 64,
      time: i >>> 4,
    };
    encodeInto(r, buf, i * RECORD_SIZE);
  }
  return buf;
}

function nsPerRecord(work: () => number): number {
  work(); // warm up the JIT on this shape of input
  const runs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    let sink = 0;
    for (let pass = 0; pass < PASSES; pass++) sink += work();
    runs.push(Number(process.hrtime.bigint() - start) / (PASSES * RECORDS));
    if (sink < 0) console.log(sink);
  }
  return median(runs);
}

const FLOOD_PACKETS = 300000;
const FLOOD_RATE = 100000;

/** CPU microseconds per packet of each process while it receives one bounded SYN flood. */
async function floodCost(ignoreArgs: string[]): Promise<{ capture: number; monitor: number; sent: number }> {
  const teardowns: Array<() => void | Promise<void>> = [];
  const context = { teardown: (fn: () => void | Promise<void>) => void teardowns.push(fn) };
  try {
    const { bed, daemon } = await startScene(context, ignoreArgs, { beforeKill: killStarted });
    const { capturePid, monitorPid } = await daemon.ready();
    const before = { capture: cpuTime(capturePid).schedUs, monitor: cpuTime(monitorPid).schedUs };
    const flood = await runFlood(bed.scanner, {
      mode: 'syn',
      dst: bed.targetAddr,
      srcNet: '198.19.0.0/16',
      checksum: 'bad',
      rate: FLOOD_RATE,
      count: FLOOD_PACKETS,
      seconds: 30,
      seed: 7,
    });
    await sleep(500);
    return {
      capture: (cpuTime(capturePid).schedUs - before.capture) / flood.sent,
      monitor: (cpuTime(monitorPid).schedUs - before.monitor) / flood.sent,
      sent: flood.sent,
    };
  } finally {
    for (const fn of teardowns.reverse()) await fn();
  }
}

async function floods(): Promise<void> {
  buildGenerator();
  const cases: Array<[string, string[]]> = [
    ['none', []],
    ['--ignore-source 198.19.0.0/16 (every flood packet)', ['--ignore-source', '198.19.0.0/16']],
    ['none', []],
    ['--ignore-source 198.19.0.0/16 (every flood packet)', ['--ignore-source', '198.19.0.0/16']],
  ];
  const rows: string[][] = [];
  for (const [name, args] of cases) {
    const r = await floodCost(args);
    rows.push([name, String(r.sent), r.capture.toFixed(2), r.monitor.toFixed(2)]);
  }
  console.log(`\nreal daemon, ${FLOOD_PACKETS} spoofed SYNs at ${FLOOD_RATE}/s from 198.19.0.0/16, CPU per packet (alternating runs)`);
  console.log(table(['ignored', 'sent', 'capture us/pkt', 'monitor us/pkt'], rows));
}

function main(): void {
  const buf = flood();
  // Separate networks (none adjacent, so none merged), all outside the flood's range:
  // every record takes the full binary search.
  const fullSources: SourceNetwork[] = Array.from({ length: MAX_IGNORE_SOURCES }, (_, i) => parseCidr(`10.${i >> 6}.${(i & 63) * 4}.0/24`));
  const fullPorts: PortRange[] = Array.from({ length: MAX_IGNORE_PORTS }, (_, i) => ({ first: i + 1, last: i + 1 }));
  const filters: Array<[string, IgnoreFilter]> = [
    ['1 source, 1 port range', new IgnoreFilter([parseCidr('10.0.0.0/8')], [parsePortRange('50000-51000')])],
    [`${MAX_IGNORE_SOURCES} sources, no port`, new IgnoreFilter(fullSources, [])],
    [`${MAX_IGNORE_SOURCES} sources, ${MAX_IGNORE_PORTS} ports`, new IgnoreFilter(fullSources, fullPorts)],
  ];
  const rows: string[][] = [];
  for (const [name, filter] of filters) {
    let dropped = 0;
    for (let off = 0; off < buf.length; off += RECORD_SIZE) if (filter.ignoresRecord(buf, off)) dropped++;
    const ns = nsPerRecord(() => {
      let n = 0;
      for (let off = 0; off < buf.length; off += RECORD_SIZE) if (filter.ignoresRecord(buf, off)) n++;
      return n;
    });
    rows.push([`capture: ignore test, ${name}`, ns.toFixed(1), `${((100 * dropped) / RECORDS).toFixed(1)}%`]);
  }
  const pipeline = new ScanPipeline({ ...DEFAULT_PARAMS, logCount: 1000000 });
  const scratch = emptyPacketScratch();
  const record = scratch.tcp4;
  const ns = nsPerRecord(() => {
    for (let off = 0; off < buf.length; off += RECORD_SIZE) {
      decodeAt(buf, off, scratch);
      pipeline.handle(record, record.time, 1700000000000);
    }
    return pipeline.linesLogged;
  });
  rows.push(['monitor: decode and detect (saved per ignored packet)', ns.toFixed(1), '']);
  console.log(`cost per record, median of ${ROUNDS} rounds of ${PASSES} x ${RECORDS} records (node ${process.version})`);
  console.log(table(['work', 'ns/record', 'dropped'], rows));
}

main();
if (isRoot) {
  floods().catch((err: unknown) => {
    killStarted();
    console.error(err);
    process.exit(1);
  });
} else {
  console.log('\nreal-daemon floods skipped: they need root for network namespaces');
}
