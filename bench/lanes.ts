// Where an IPv6 or UDP packet costs more than an IPv4 SYN, step by step: the capture
// process's check and record (packetToRecord), the monitor's decoding (decodeAt), the
// address fold (the family's fold), the lane's detector alone and the whole pipeline
// (ScanPipeline.handle: the dispatch to the lane, then its detector). Spoofed floods,
// one random source per packet, as W1 and W4 send them. Each lane runs in a process of
// its own, as each W4 flood meets a daemon of its own: in one process, the lanes timed
// first left their type feedback in the code the later ones run. The detector and the
// pipeline read one record object, decoded into for every packet as the monitor's
// reader does. `npm run bench:lanes` (or `node dist/bench/lanes.js` after `npm run
// build`). What the native reader and the kernel do per packet is bench:recv's
// (bench/recv.ts).

import { execFileSync } from 'node:child_process';
import { packetToRecord } from '../src/capture/packet.js';
import { DEFAULT_PARAMS } from '../src/shared/params.js';
import { decodeAt, emptyPacketScratch, MAX_RECORD_SIZE, type PacketRecord } from '../src/shared/record.js';
import { IPV4, IPV6, TCP6, UDP4, UDP6 } from '../src/monitor/addresses.js';
import { Detector, Ipv4Detector, randomHashKey } from '../src/monitor/engine.js';
import { ScanPipeline } from '../src/monitor/pipeline.js';
import { median, table } from './stats.js';

const PACKETS = 1 << 16;
const PASSES = 16;
const ROUNDS = 7;

type LaneName = 'tcp4' | 'udp4' | 'tcp6' | 'udp6';
const LANES: readonly LaneName[] = ['tcp4', 'udp4', 'tcp6', 'udp6'];

/** Packets as the raw sockets give them: IPv4 with its header, IPv6 with the header rebuilt in front (native/rawrecv.c). */
function packets(lane: LaneName): Buffer[] {
  let x = 0x9e3779b9;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const udp = lane.startsWith('udp');
  return Array.from({ length: PACKETS }, () => {
    const r = next();
    if (lane.endsWith('4')) {
      const p = Buffer.alloc(udp ? 28 : 40);
      p[0] = 0x45;
      p[8] = 64;
      p[9] = udp ? 17 : 6;
      p.writeUInt32BE((0xc6130000 | (r & 0x7fff)) >>> 0, 12);
      p.writeUInt32BE(0xc6120001, 16);
      p.writeUInt16BE(1024 + (r % 60000), 20);
      p.writeUInt16BE(1 + (next() % 65535), 22);
      if (!udp) p[33] = 0x02;
      return p;
    }
    const p = Buffer.alloc(40 + (udp ? 8 : 20));
    p[0] = 0x60;
    p.writeUInt16BE(udp ? 8 : 20, 4);
    p[6] = udp ? 17 : 6;
    p[7] = 64;
    p.writeUInt32BE(0xfd00005d, 8);
    p.writeUInt32BE(r, 16);
    p.writeUInt32BE(next(), 20);
    p.writeUInt32BE(0xfd000000, 24);
    p[39] = 1;
    p.writeUInt16BE(1024 + (r % 60000), 40);
    p.writeUInt16BE(1 + (next() % 65535), 42);
    if (!udp) p[53] = 0x02;
    return p;
  });
}

function nsPerPacket(body: (i: number) => void): number {
  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // CPU time, not wall time: the machine is shared, and another process's turn is not ours.
    const start = process.cpuUsage();
    for (let pass = 0; pass < PASSES; pass++) for (let i = 0; i < PACKETS; i++) body(i);
    const used = process.cpuUsage(start);
    rounds.push(((used.user + used.system) * 1000) / (PACKETS * PASSES));
  }
  return median(rounds);
}

// As the daemon runs with --ipv6 --udp, the kernel's default client port range.
const watched = { udp: true, ipv6: true, ephemeralPorts: { first: 32768, last: 60999 } };

/** One lane's steps, in this process: CPU ns per packet, in the order of the table's columns. */
function measure(lane: LaneName): number[] {
  const key = randomHashKey();
  const input = packets(lane);
  const out = Buffer.alloc(MAX_RECORD_SIZE * PACKETS);
  let time = 0;
  const parse = nsPerPacket((i) => {
    packetToRecord(input[i] as Buffer, (input[i] as Buffer).length, time, out, i * MAX_RECORD_SIZE, watched);
  });
  const scratch = emptyPacketScratch();
  const decode = nsPerPacket((i) => {
    decodeAt(out, i * MAX_RECORD_SIZE, scratch);
  });
  // The sources as a table of the family's words, as the detector keeps them.
  const v6 = lane.endsWith('6');
  const words = new Uint32Array(PACKETS * (v6 ? 4 : 1));
  for (let i = 0; i < PACKETS; i++) {
    const r = decodeAt(out, i * MAX_RECORD_SIZE, scratch) as PacketRecord;
    if (typeof r.saddr === 'number') words[i] = r.saddr;
    else words.set(r.saddr, i * 4);
  }
  let sink = 0;
  const fold = v6
    ? nsPerPacket((i) => {
        sink ^= IPV6.fold(words, i, key);
      })
    : nsPerPacket((i) => {
        sink ^= IPV4.fold(words, i, key);
      });
  if (sink === 0.5) console.log(sink);
  // The lane's detector alone, without the pipeline's dispatch to it; its time is this
  // loop's less decodeAt's.
  const detector =
    lane === 'tcp4'
      ? new Ipv4Detector(DEFAULT_PARAMS)
      : lane === 'udp4'
        ? new Ipv4Detector(DEFAULT_PARAMS, { lane: UDP4 })
        : new Detector(DEFAULT_PARAMS, lane === 'tcp6' ? TCP6 : UDP6);
  const clocks = { mono: 0, wall: Date.now() };
  time = 0;
  const process1 = nsPerPacket((i) => {
    const r = decodeAt(out, i * MAX_RECORD_SIZE, scratch) as PacketRecord;
    // 300 packets per ms, as W1 and W4 at 300k/s.
    time = (time + (i % 300 === 0 ? 1 : 0)) >>> 0;
    r.time = time;
    clocks.mono = time;
    (detector as Detector<unknown>).process(r, clocks);
  });
  const pipeline = new ScanPipeline(DEFAULT_PARAMS, { watch: watched });
  time = 0;
  const wall = Date.now();
  const handle = nsPerPacket((i) => {
    const r = decodeAt(out, i * MAX_RECORD_SIZE, scratch) as PacketRecord;
    time = (time + (i % 300 === 0 ? 1 : 0)) >>> 0;
    r.time = time;
    pipeline.handle(r, time, wall + time);
  });
  return [parse, decode, fold, process1 - decode, handle - decode];
}

const only = process.argv[2] as LaneName | undefined;
if (only !== undefined) {
  if (!LANES.includes(only)) throw new Error(`no lane ${only}: ${LANES.join(', ')}`);
  console.log(JSON.stringify(measure(only)));
} else {
  const results = new Map<LaneName, number[]>();
  for (const lane of LANES) {
    results.set(lane, JSON.parse(execFileSync(process.execPath, [__filename, lane], { encoding: 'utf8' })) as number[]);
  }
  const base = results.get('tcp4') as number[];
  const sum = (r: number[]): number => (r[0] as number) + (r[1] as number) + (r[4] as number);
  const rows = LANES.map((lane) => {
    const r = results.get(lane) as number[];
    return [lane, ...r.map((ns) => ns.toFixed(1)), sum(r).toFixed(1), `${(sum(r) / sum(base)).toFixed(2)}x`];
  });
  console.log(
    `${PACKETS} spoofed packets x ${PASSES} passes per round, median of ${ROUNDS} rounds, each lane in a process of its own (CPU ns per packet)`,
  );
  console.log(
    table(
      [
        'lane',
        'capture: packetToRecord',
        'monitor: decodeAt',
        'fold',
        'detector.process alone',
        'monitor: pipeline.handle',
        'sum of JS steps',
        'vs tcp4',
      ],
      rows,
    ),
  );
}
