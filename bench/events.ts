// Cost of structured events: the monitor's pipeline per packet without --json, and with
// the scan tracker and JSON serialisation, on scan-heavy traffic. Prints a table;
// `npm run bench:events` (or `node dist/bench/events.js` after `npm run build`). With
// `--baseline DIR` (another checkout, built) the two builds run in alternating processes:
//   npm run bench:events -- --baseline /tmp/base
// The figures are CPU time (process.cpuUsage), which other processes on a busy machine
// disturb far less than wall-clock time.

import os = require('node:os');
import path = require('node:path');
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Tcp4Record } from '../src/shared/record.js';
import { median, table } from './stats.js';

const PACKETS = 2_000_000;
const SOURCES = 1024;

type Traffic = 'scans' | 'spoofed';
const CASES: ReadonlyArray<{ traffic: Traffic; withEvents: boolean }> = [
  { traffic: 'scans', withEvents: false },
  { traffic: 'scans', withEvents: true },
  { traffic: 'spoofed', withEvents: false },
  { traffic: 'spoofed', withEvents: true },
];

interface Round {
  nsPerPacket: number;
  lines: number;
  events: number;
  bytes: number;
}

/** The packet record: a build from before record types ignores `type`. */
type BenchRecord = Tcp4Record;

/** One build's pipeline as the loop drives it, whatever that build's interface. */
interface Driven {
  handle(record: BenchRecord, mono: number, wall: number): void;
  sweep(mono: number, wall: number): void;
}

interface Tally {
  lines: number;
  events: number;
  bytes: number;
}

type Json = (event: unknown) => string;
interface Output {
  kind: 'line' | 'event';
  event?: unknown;
}
interface AnyPipeline {
  handle?(record: BenchRecord, mono: number, wall: number): readonly Output[];
  feed?(record: BenchRecord, mono: number, wall: number): void;
  sweep(mono: number, wall: number): readonly Output[] | undefined;
}
interface PipelineModule {
  ScanPipeline: { new (params: unknown, ...rest: unknown[]): AnyPipeline; prototype: AnyPipeline };
}

/** Loads a module of a build by its path (either build, the same way). */
const loadModule = createRequire(__filename);

/** The event text function, wherever `dist` keeps it. */
function loadEventLine(dist: string): Json {
  for (const file of ['src/shared/events.js', 'src/monitor/jsonout.js']) {
    try {
      const mod = loadModule(path.join(dist, file)) as { eventLine?: Json };
      if (mod.eventLine !== undefined) return mod.eventLine;
    } catch {
      // Not in this build; the next place.
    }
  }
  throw new Error(`no eventLine in ${dist}`);
}

/**
 * The pipeline of the build in `dist`. A build that returns outputs has them routed as
 * the monitor does, less the I/O; one from before that (callbacks into the caller,
 * `feed`) is given the same counting callbacks, so a baseline can be any earlier build.
 */
function drive(dist: string, withEvents: boolean, tally: Tally): Driven {
  const params = (loadModule(path.join(dist, 'src/shared/params.js')) as { DEFAULT_PARAMS: unknown }).DEFAULT_PARAMS;
  const { ScanPipeline } = loadModule(path.join(dist, 'src/monitor/pipeline.js')) as PipelineModule;
  const eventLine = loadEventLine(dist);
  const onEvent = (event: unknown): void => {
    tally.events++;
    tally.bytes += eventLine(event).length;
  };
  const onLine = (): void => {
    tally.lines++;
  };
  if (typeof ScanPipeline.prototype.handle === 'function') {
    const pipeline = new ScanPipeline(params, { events: withEvents });
    const route = (outputs: readonly Output[]): void => {
      for (const output of outputs)
        if (output.kind === 'line') onLine();
        else onEvent(output.event);
    };
    return {
      handle: (record, mono, wall) => {
        const outputs = (pipeline.handle as NonNullable<typeof pipeline.handle>).call(pipeline, record, mono, wall);
        if (outputs.length !== 0) route(outputs);
      },
      sweep: (mono, wall) => route(pipeline.sweep(mono, wall) ?? []),
    };
  }
  const pipeline = new ScanPipeline(params, onLine, withEvents ? onEvent : null);
  const feed = (pipeline.feed as NonNullable<typeof pipeline.feed>).bind(pipeline);
  return { handle: feed, sweep: (mono, wall) => void pipeline.sweep(mono, wall) };
}

/**
 * 'scans': bursts of 64 SYNs to consecutive ports from 1024 sources in turn; 'spoofed':
 * one SYN per random source (a flood, no scans). 100 packets per ms.
 */
function run(dist: string, traffic: Traffic, withEvents: boolean): Round {
  const tally: Tally = { lines: 0, events: 0, bytes: 0 };
  const pipeline = drive(dist, withEvents, tally);
  const pkt: BenchRecord = { type: 'tcp4', saddr: 0, daddr: 0xc6120001, sport: 40000, dport: 0, flags: 0x02, tos: 0, ttl: 64, time: 0 };
  const wall = Date.now();
  const start = process.cpuUsage();
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
    pipeline.handle(pkt, pkt.time, wall + pkt.time);
    if (withEvents && (i & 0x3fff) === 0) pipeline.sweep(pkt.time, wall + pkt.time);
  }
  const used = process.cpuUsage(start);
  return { nsPerPacket: ((used.user + used.system) * 1000) / PACKETS, ...tally };
}

/** One process's rounds: every case, `rounds` times each, in the order of CASES. */
function child(dist: string, rounds: number): void {
  const results = CASES.map(({ traffic, withEvents }) => Array.from({ length: rounds }, () => run(dist, traffic, withEvents)));
  process.stdout.write(JSON.stringify(results));
}

interface Options {
  baseline: string | null;
  processes: number;
  rounds: number;
}

function parse(argv: string[]): Options {
  const o: Options = { baseline: null, processes: 3, rounds: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (name === '--baseline' && value !== undefined) o.baseline = path.resolve(value, 'dist');
    else if (name === '--processes' && value !== undefined) o.processes = Number(value);
    else if (name === '--rounds' && value !== undefined) o.rounds = Number(value);
    else {
      process.stderr.write('usage: node dist/bench/events.js [--baseline CHECKOUT] [--processes N] [--rounds N]\n');
      process.exit(2);
    }
  }
  return o;
}

function main(): void {
  if (process.argv[2] === '--child') {
    child(process.argv[3] as string, Number(process.argv[4]));
    return;
  }
  const options = parse(process.argv.slice(2));
  // This file is dist/bench/events.js.
  const builds: Array<{ name: string; dist: string }> = [{ name: 'this tree', dist: path.resolve(__dirname, '..') }];
  if (options.baseline !== null) builds.unshift({ name: 'baseline', dist: options.baseline });
  const rounds = builds.map(() => CASES.map((): Round[] => []));
  const loadAtStart = os.loadavg()[0] as number;
  // Alternated, so that a change in the machine's load falls on both builds alike.
  for (let p = 0; p < options.processes; p++) {
    builds.forEach(({ dist }, b) => {
      const out = execFileSync(process.execPath, [__filename, '--child', dist, String(options.rounds)], { encoding: 'utf8' });
      (JSON.parse(out) as Round[][]).forEach((caseRounds, c) => rounds[b]?.[c]?.push(...caseRounds));
    });
  }
  const rows = CASES.map(({ traffic, withEvents }, c) => {
    const last = rounds[builds.length - 1]?.[c]?.at(-1) as Round;
    return [
      traffic === 'scans' ? `${SOURCES} scanners, bursts of 64 ports` : 'spoofed SYN flood, 2^17 sources',
      withEvents ? 'tracker + JSON text' : 'without --json',
      ...builds.map((_, b) => median((rounds[b]?.[c] ?? []).map((r) => r.nsPerPacket)).toFixed(0)),
      String(last.lines),
      String(last.events),
      String(last.bytes),
    ];
  });
  console.log(
    `${PACKETS} packets per round; CPU time, median of ${options.processes} processes x ${options.rounds} rounds` +
      `${builds.length > 1 ? ', builds alternated' : ''}; JSON lines built but not written; load average ${loadAtStart.toFixed(2)} at start, ` +
      `${(os.loadavg()[0] as number).toFixed(2)} at end`,
  );
  const columns = builds.map(({ name }) => `ns/packet ${name}`);
  console.log(table(['traffic', 'pipeline', ...columns, 'syslog lines', 'events', 'JSON bytes'], rows));
}

main();
