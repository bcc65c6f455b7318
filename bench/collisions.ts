// The detector under a hash-collision attack: the cost per packet when every source is
// chosen to fall in one hash bucket, beside the cost for random sources, in one run.
// Prints a table; `node dist/bench/collisions.js` after `npm run build`.

import { Ipv4Detector, hashAddress } from '../src/monitor/engine.js';
import { DEFAULT_PARAMS, MAX_HASH_MAX, type DetectorParams } from '../src/shared/params.js';
import type { Summary4 } from '../src/shared/record.js';
import { median, table } from './stats.js';

const PACKETS = 2_000_000;
const ROUNDS = 5;

/** Addresses from `first` on (198.18.0.0/15 by default) whose scanlogd hash is `bucket`. */
function collidingSources(bucket: number, wanted: number, first = 0xc6120000, end = 0xc6140000): number[] {
  const out: number[] = [];
  for (let a = first; a < end && out.length < wanted; a++) {
    if (hashAddress(a, DEFAULT_PARAMS.hashSize) === bucket) out.push(a >>> 0);
  }
  return out;
}

function randomSources(count: number, seed: number): number[] {
  let x = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.push((0xc6120000 | (x & 0x1ffff)) >>> 0);
  }
  return out;
}

/** Nanoseconds per packet for SYNs cycling through `sources`, one new port each. */
function measure(
  sources: number[],
  params: DetectorParams = DEFAULT_PARAMS,
): { nsPerPacket: number; longestChain: number; evictions: number } {
  const detector = new Ipv4Detector(params);
  const pkt: Summary4 = { saddr: 0, daddr: 0xc6120001, sport: 40000, dport: 0, flags: 0x02, tos: 0, ttl: 64, time: 0 };
  const clocks = { mono: 0, wall: 0 };
  const start = process.hrtime.bigint();
  for (let i = 0; i < PACKETS; i++) {
    pkt.saddr = sources[i % sources.length] as number;
    pkt.dport = 1 + (i % 60000);
    pkt.time = (i / 1000) >>> 0; // a thousand packets per millisecond
    clocks.mono = pkt.time;
    detector.process(pkt, clocks);
  }
  const ns = Number(process.hrtime.bigint() - start);
  let longestChain = 0;
  for (let b = 0; b < params.hashSize; b++) longestChain = Math.max(longestChain, detector.chain(b).length);
  return { nsPerPacket: ns / PACKETS, longestChain, evictions: detector.counters.bucketEvictions };
}

function main(): void {
  const colliding = collidingSources(hashAddress(0xc6130001, DEFAULT_PARAMS.hashSize), 1000);
  const workloads: Array<[string, number[]]> = [
    [`${colliding.length} sources in one bucket`, colliding],
    ['1000 random sources', randomSources(1000, 1)],
    ['65536 random sources', randomSources(65536, 2)],
  ];
  const rows: string[][] = [];
  const results: Record<string, number> = {};
  for (const [name, sources] of workloads) {
    measure(sources); // warm up the JIT on this shape of input
    const runs = Array.from({ length: ROUNDS }, () => measure(sources));
    const ns = median(runs.map((r) => r.nsPerPacket));
    results[name] = ns;
    const last = runs[runs.length - 1] as ReturnType<typeof measure>;
    rows.push([name, ns.toFixed(1), String(last.longestChain), String(last.evictions)]);
  }
  console.log(`detector cost per packet, median of ${ROUNDS} runs of ${PACKETS} SYNs (node ${process.version})`);
  console.log(table(['sources', 'ns/packet', 'longest chain', 'bucket evictions'], rows));
  const [collide, random] = [results[workloads[0]![0]] as number, results[workloads[1]![0]] as number];
  console.log(`colliding / random: ${(collide / random).toFixed(2)}x (chains are capped at ${DEFAULT_PARAMS.hashMax})`);

  // What --hash-max buys an attacker who can choose colliding sources, with a table large
  // enough (--sources 65536) that the chain length is bounded by --hash-max alone.
  // Spoofed sources need not be routable: any of 10.0.0.0/8 will do here.
  const many = collidingSources(hashAddress(0x0a000001, DEFAULT_PARAMS.hashSize), 4096, 0x0a000000, 0x0b000000);
  const capRows: string[][] = [];
  for (const hashMax of [16, 64, MAX_HASH_MAX, 1024, 4096]) {
    const params = { ...DEFAULT_PARAMS, listSize: 65536, hashMax };
    measure(many, params);
    const runs = Array.from({ length: ROUNDS }, () => measure(many, params));
    const ns = median(runs.map((r) => r.nsPerPacket));
    capRows.push([String(hashMax), ns.toFixed(1), String((runs[0] as ReturnType<typeof measure>).longestChain)]);
  }
  console.log(`\n${many.length} colliding sources, --sources 65536, by --hash-max (at most ${MAX_HASH_MAX} is accepted):`);
  console.log(table(['--hash-max', 'ns/packet', 'longest chain'], capRows));
}

main();
