// What --slow-scans costs: the monitor's per-record path with the second stage off and
// on, on the same records in one run, and one read of the socket tables by how many
// rows they have. Prints tables; `npm run bench:slowscan`.

import { ScanPipeline } from '../src/monitor/pipeline.js';
import { SlowScanStage } from '../src/monitor/slowscan.js';
import { PortMap, SocketTables } from '../src/monitor/sockets.js';
import { DEFAULT_PARAMS } from '../src/shared/params.js';
import type { Answer4Record, Tcp4Record } from '../src/shared/record.js';
import { median, table } from './stats.js';

const RECORDS = 1_000_000;
const ROUNDS = 5;

type Workload = (i: number, r: Tcp4Record) => void;

/** 1000 clients on port 443: their SYNs (a new connection every 20 packets) and ACKs. */
const clients: Workload = (i, r) => {
  r.saddr = (0xc6130000 + (i % 1000)) >>> 0;
  r.dport = 443;
  r.flags = i % 20 === 0 ? 0x02 : 0x10;
};

/** A spoofed flood: every SYN from a new source, to a random port. */
const spoofed: Workload = (i, r) => {
  r.saddr = (0x0a000000 + i) >>> 0;
  r.dport = 1 + ((Math.imul(i, 2654435761) >>> 0) % 65535);
  r.flags = 0x02;
};

/**
 * A spoofed flood whose sources repeat, as the daemon benchmark's W1 sends it: random
 * sources in a /17, random ports. The table fills with sources that have two contacts
 * waiting, which are kept, and every new source after that is refused.
 */
const repeating: Workload = (i, r) => {
  // A mixed hash of the index: a plain multiple would space each source's repeats evenly, a table apart.
  let h = Math.imul(i + 1, 2654435761);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = (h ^ (h >>> 13)) >>> 0;
  r.saddr = (0xc6130001 + (h % 32766)) >>> 0;
  r.dport = 1 + ((Math.imul(h, 40503) >>> 0) % 65535);
  r.flags = 0x02;
};

/** Nanoseconds per record through the pipeline, a thousand records per millisecond. */
function measure(workload: Workload, slowScans: boolean): number {
  const pipeline = new ScanPipeline(DEFAULT_PARAMS, { slowScans });
  const r: Tcp4Record = { type: 'tcp4', saddr: 0, daddr: 0xc6120001, sport: 40000, dport: 0, flags: 0, tos: 0, ttl: 64, time: 0 };
  const start = process.hrtime.bigint();
  for (let i = 0; i < RECORDS; i++) {
    workload(i, r);
    r.sport = 1024 + (i % 60000);
    r.time = (i / 1000) >>> 0;
    pipeline.handle(r, r.time, 1_700_000_000_000 + r.time);
  }
  return Number(process.hrtime.bigint() - start) / RECORDS;
}

/**
 * On a device: nanoseconds per answer record that matches no contact (each from another
 * host to another source, as a flood of them would be), then per spoofed SYN to the
 * hosts behind, with the stage's ring of early answers empty or, after those answers,
 * full. One pipeline per run, the records alternated with the other measurements.
 */
function measureDevice(): { answer: number; synRingEmpty: number; synRingFull: number } {
  const run = (answersFirst: boolean): { answer: number; syn: number } => {
    const pipeline = new ScanPipeline(DEFAULT_PARAMS, { slowScans: true, localOnly: false });
    const a: Answer4Record = {
      type: 'answer4',
      host: 0,
      source: 0,
      port: 22,
      sourcePort: 40000,
      protocol: 'tcp',
      accepted: false,
      time: 0,
    };
    let answer = 0;
    if (answersFirst) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < RECORDS; i++) {
        a.host = (0xc6130000 + (i & 0xffff)) >>> 0;
        a.source = (0x0b000000 + i) >>> 0;
        a.time = (i / 1000) >>> 0;
        pipeline.answer(a, a.time, 1_700_000_000_000 + a.time);
      }
      answer = Number(process.hrtime.bigint() - start) / RECORDS;
    }
    const r: Tcp4Record = { type: 'tcp4', saddr: 0, daddr: 0, sport: 40000, dport: 22, flags: 0x02, tos: 0, ttl: 64, time: 0 };
    const base = RECORDS / 1000;
    const start = process.hrtime.bigint();
    for (let i = 0; i < RECORDS; i++) {
      r.saddr = (0x0a000000 + i) >>> 0;
      r.daddr = (0xc6130000 + (i & 0xffff)) >>> 0;
      r.time = (base + i / 1000) >>> 0;
      pipeline.handle(r, r.time, 1_700_000_000_000 + r.time);
    }
    return { answer, syn: Number(process.hrtime.bigint() - start) / RECORDS };
  };
  const answers: number[] = [];
  const empty: number[] = [];
  const full: number[] = [];
  run(false);
  run(true);
  for (let round = 0; round < ROUNDS; round++) {
    empty.push(run(false).syn);
    const r = run(true);
    answers.push(r.answer);
    full.push(r.syn);
  }
  return { answer: median(answers), synRingEmpty: median(empty), synRingFull: median(full) };
}

/** /proc/net/tcp as the kernel writes it: `listeners` LISTEN rows, then `connections` established ones. */
function tcpTable(listeners: number, connections: number): Buffer {
  const hex = (n: number, digits: number): string => n.toString(16).toUpperCase().padStart(digits, '0');
  const lines = ['  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode'];
  for (let i = 0; i < listeners + connections; i++) {
    const listening = i < listeners;
    const local = `${hex(0x0100a8c0, 8)}:${hex(listening ? 1000 + i : 443, 4)}`;
    const remote = listening ? '00000000:0000' : `${hex((0x0a000000 + i) >>> 0, 8)}:${hex(1024 + (i % 60000), 4)}`;
    lines.push(
      `${String(i).padStart(4)}: ${local} ${remote} ${listening ? '0A' : '01'} 00000000:00000000 00:00000000 00000000     0        0 ${1000000 + i} 1 0000000000000000 100 0 0 10 0`,
    );
  }
  return Buffer.from(lines.join('\n') + '\n');
}

/** Milliseconds for one read of a table of that many rows by the stage: the rows parsed, the open ports and connections taken, its table walked. */
function readCost(text: Buffer): number {
  const tables = new SocketTables([{ table: 'tcp', fd: -1 }], (_fd, buffer, offset, length, position) =>
    text.copy(buffer, offset, position, Math.min(text.length, position + length)),
  );
  const stage = new SlowScanStage(DEFAULT_PARAMS, new PortMap(), { ipv6: false, localOnly: true });
  const runs: number[] = [];
  for (let round = 0; round < ROUNDS + 1; round++) {
    const start = process.hrtime.bigint();
    stage.refresh((sink) => tables.refresh(sink).failed.length === 0, round * 60_000, 1_700_000_000_000 + round * 60_000);
    runs.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(runs.slice(1));
}

function main(): void {
  const rows: string[][] = [];
  for (const [name, workload] of [
    ['1000 clients on port 443 (SYN and ACK)', clients],
    ['spoofed SYN flood, a new source each', spoofed],
    ['spoofed SYN flood, sources in a /17', repeating],
  ] as const) {
    const off: number[] = [];
    const on: number[] = [];
    measure(workload, false);
    measure(workload, true);
    // Alternated, so that a busy machine weighs on both alike.
    for (let round = 0; round < ROUNDS; round++) {
      off.push(measure(workload, false));
      on.push(measure(workload, true));
    }
    const [a, b] = [median(off), median(on)];
    rows.push([name, a.toFixed(1), b.toFixed(1), (b / a).toFixed(2)]);
  }
  console.log(`IPv4 TCP per record, median of ${ROUNDS} runs of ${RECORDS} records (node ${process.version})`);
  console.log(table(['records', 'stage off ns', 'stage on ns', 'on / off'], rows));

  const device = measureDevice();
  console.log(`\nOn a device (--interface), stage on, per record, median of ${ROUNDS} runs of ${RECORDS}`);
  console.log(
    table(
      ['records', 'ns'],
      [
        ['answers that match no contact (each kept in the ring)', device.answer.toFixed(1)],
        ['spoofed SYNs to hosts behind, ring of early answers empty', device.synRingEmpty.toFixed(1)],
        ['spoofed SYNs to hosts behind, ring full (each contact looks)', device.synRingFull.toFixed(1)],
      ],
    ),
  );

  const costRows: string[][] = [];
  for (const [listeners, connections] of [
    [20, 100],
    [50, 1000],
    [50, 10_000],
    [100, 50_000],
  ] as const) {
    const text = tcpTable(listeners, connections);
    const ms = readCost(text);
    costRows.push([
      String(listeners),
      String(connections),
      String(text.length),
      ms.toFixed(3),
      String(Math.max(2000, ms * 100).toFixed(0)),
    ]);
  }
  console.log(`\nOne read of /proc/net/tcp by the stage (synthetic rows; the kernel's own cost of generating the text is not included)`);
  console.log(table(['listeners', 'connections', 'bytes', 'ms per read', 'next read after (ms)'], costRows));
}

main();
