// npm run bench: ours (raw socket, and libpcap on the device) against Debian's scanlogd
// 2.2.8 on the same packets, one after the other, in network namespaces of its own.
// Prints a table and the ratios ours/reference, and writes the figures as JSON
// (bench/results/latest.json).
// Needs root. Bounded: every run of the generator stops by count and by time.

import childProcess = require('node:child_process');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { createTestbed, isRoot, sleep, type Testbed } from '../harness/netns.js';
import { makeSocketDir } from '../harness/syslog.js';
import { REFERENCE, REPO } from '../harness/daemon.js';
import { DAEMON_KINDS, isOurs, startDaemon, stopAllDaemons, type BenchDaemon, type DaemonKind } from './daemons.js';
import { buildGenerator, killStarted, runFlood, spawnTracked, type FloodResult, type FloodSpec, type LinkTransport } from '../harness/generator.js';
import { cpuTime, ipDelivered, machineCpu, memory, rawSocketOf, type Memory } from '../harness/proc.js';
import { listenTimedSyslog, type TimedMessage, type TimedSyslog } from './syslog.js';
import { fixed, kilo, median, percent, quantile, ratio, table } from './stats.js';

/** The whole benchmark must end well within 10 minutes; past this it stops itself. */
const DEADLINE_MS = 9.5 * 60 * 1000;
/** Spoofed flood sources; scans for the latency test come from the other half. */
const FLOOD_SOURCES = '198.19.0.0/17';
const SCAN_SOURCES = '198.19.128.0/17';
const SEED = 20251125;
/** A pair of points measured while others used more than this share of the CPUs is redone... */
const NOISY_LOAD = 0.15;
/** ...at most this many times in all, and only while the run is young enough to finish in time. */
const NOISY_RETRIES = 10;
const NOISY_RETRY_UNTIL_MS = 6 * 60 * 1000;
/** Scans the reference logs per start: its flood limit allows 5 lines per 20 s. */
const REFERENCE_BURST = 5;

interface Options {
  reps: number;
  out: string;
  latencyScans: number;
  transport: 'raw' | 'packet';
  /** Workload ids to run (all when empty), and whether to measure latency. */
  only: string[];
  /** node options for our capture process (e.g. --max-semi-space-size=1). */
  oursNodeArgs: string[];
}

function parseOptions(args: string[]): Options {
  // --name=value is --name value.
  const argv = args.flatMap((a) => (/^--[a-z-]+=/.test(a) ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a]));
  const o: Options = {
    reps: 3,
    out: path.join(REPO, 'bench', 'results', 'latest.json'),
    latencyScans: 200,
    transport: 'packet',
    only: [],
    oursNodeArgs: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--reps' && v !== undefined) o.reps = Math.max(1, Math.min(5, Number(v)));
    else if (a === '--out' && v !== undefined) o.out = path.resolve(v);
    else if (a === '--latency-scans' && v !== undefined) o.latencyScans = Math.max(5, Math.min(400, Number(v)));
    else if (a === '--transport' && (v === 'raw' || v === 'packet')) o.transport = v;
    else if (a === '--only' && v !== undefined) o.only = v.split(',');
    else if (a === '--ours-node-args' && v !== undefined) o.oursNodeArgs = v.split(' ').filter((x) => x !== '');
    else {
      process.stderr.write(
        'usage: node dist/bench/run.js [--reps N (1-5, default 3)] [--out FILE] [--latency-scans N] [--transport raw|packet]\n' +
          '       [--only W1-100k,W1-200k,W1-300k,W1-max,W2-300k,W3-W1,W3-W2,MEM,latency] [--ours-node-args "ARGS"]\n',
      );
      process.exit(2);
    }
    i++;
  }
  return o;
}

const progress = (text: string): void => {
  process.stderr.write(`bench: ${text}\n`);
};

// ---------------------------------------------------------------- workloads

interface Workload {
  id: string;
  label: string;
  /** Target rate (packets/s), or 0 for the generator's maximum. */
  rate: number;
  /** One or more generator runs back to back; memory is sampled after each. */
  phases: Array<Pick<FloodSpec, 'mode' | 'count' | 'rate'> & { seed: number }>;
  /** Transport override (the maximum uses the faster one). */
  transport?: 'raw' | 'packet';
  /** Run nmap from the scanner address while the load runs (W3). */
  hiddenScan?: boolean;
}

function workloads(): Workload[] {
  const syn = (id: string, rate: number, count: number, transport?: 'packet'): Workload => ({
    id,
    label: rate === 0 ? 'W1 SYN flood, max' : `W1 SYN flood ${rate / 1000}k/s`,
    rate,
    phases: [{ mode: 'syn', count, rate, seed: SEED }],
    ...(transport === undefined ? {} : { transport }),
  });
  return [
    syn('W1-100k', 100_000, 200_000),
    syn('W1-200k', 200_000, 400_000),
    syn('W1-300k', 300_000, 600_000),
    syn('W1-max', 0, 1_000_000, 'packet'),
    { id: 'W2-300k', label: 'W2 ACK+PSH/ACK 300k/s', rate: 300_000, phases: [{ mode: 'est', count: 600_000, rate: 300_000, seed: SEED }] },
    {
      id: 'W3-W1',
      label: 'W3 nmap in W1 300k/s',
      rate: 300_000,
      phases: [{ mode: 'syn', count: 900_000, rate: 300_000, seed: SEED + 1 }],
      hiddenScan: true,
    },
    {
      id: 'W3-W2',
      label: 'W3 nmap in W2 300k/s',
      rate: 300_000,
      phases: [{ mode: 'est', count: 900_000, rate: 300_000, seed: SEED + 1 }],
      hiddenScan: true,
    },
    {
      id: 'MEM',
      label: 'Memory: 10^4 then 10^6 SYN',
      rate: 300_000,
      phases: [
        { mode: 'syn', count: 10_000, rate: 300_000, seed: SEED + 2 },
        { mode: 'syn', count: 990_000, rate: 300_000, seed: SEED + 3 },
      ],
    },
  ];
}

// ---------------------------------------------------------------- measurement

interface ProcessFigures {
  role: string;
  pid: number;
  cpuStatUs: number;
  cpuSchedUs: number;
  /** utime + stime since the process started, read just before the daemon is stopped. */
  cpuStatTotalUs: number;
  hwmKb: number;
  rssKb: number;
  pssKb: number;
  /** Peak RSS after each phase (for the memory workload). */
  hwmAfterPhaseKb: number[];
}

interface NmapRun {
  seconds: number;
  exitCode: number | null;
  /** nmap ended before the load did. */
  insideLoad: boolean;
}

interface PointResult {
  workload: string;
  label: string;
  daemon: DaemonKind;
  rep: number;
  transport: 'raw' | 'packet';
  offered: number;
  generatorPps: number;
  sendErrors: number;
  /** IP packets the target's stack delivered (Ip InDelivers), which the raw socket sees. */
  delivered: number;
  socketDrops: number;
  channelDrops: number;
  received: number;
  dropFraction: number;
  cpuStatUs: number;
  cpuSchedUs: number;
  cpuUsPerPacket: number;
  cpuSchedUsPerPacket: number;
  totalHwmKb: number;
  /** CPU the generator used (it also runs the target's receive path). */
  generatorCpuUs: number;
  /**
   * Share of the machine's CPU used by anything but the daemon and the generator while
   * the point ran (other people's work on a shared machine, nmap in W3): noise.
   */
  otherLoad: number;
  processes: ProcessFigures[];
  lines: string[];
  hiddenScanLogged: boolean | null;
  nmap: NmapRun | null;
}

interface Snapshot {
  machine: { busyUs: number; totalUs: number };
  cpu: Map<number, { statUs: number; schedUs: number }>;
  mem: Map<number, Memory>;
  drops: number;
  rxQueue: number;
  delivered: number;
}

function snapshot(bed: Testbed, d: BenchDaemon): Snapshot {
  d.checkAlive();
  // A libpcap handle's queue and drops are not in /proc: its drops come at stop.
  const raw = d.rawSocket ? rawSocketOf(bed.target, d.socketPid) : { drops: 0, rxQueue: 0 };
  const cpu = new Map(d.processes.map((p) => [p.pid, cpuTime(p.pid)] as const));
  const mem = new Map(d.processes.map((p) => [p.pid, memory(p.pid)] as const));
  return { machine: machineCpu(), cpu, mem, drops: raw.drops, rxQueue: raw.rxQueue, delivered: ipDelivered(bed.target) };
}

const schedSum = (d: BenchDaemon): number => {
  d.checkAlive();
  return d.processes.reduce((s, p) => s + cpuTime(p.pid).schedUs, 0);
};

/** Waits until the socket queue is empty and the daemon has stopped using CPU (at most 5 s). */
async function drained(bed: Testbed, d: BenchDaemon): Promise<void> {
  const deadline = Date.now() + 5000;
  let last = schedSum(d);
  for (;;) {
    await sleep(100);
    const now = schedSum(d);
    const queue = d.rawSocket ? rawSocketOf(bed.target, d.socketPid).rxQueue : 0;
    if ((queue === 0 && now - last < 1000) || Date.now() > deadline) return;
    last = now;
  }
}

function runNmap(bed: Testbed): Promise<{ seconds: number; exitCode: number | null }> {
  const start = process.hrtime.bigint();
  const child = spawnTracked(
    'ip',
    ['netns', 'exec', bed.scanner, 'nmap', '-n', '-Pn', '-sS', '-p', '1-1000', '--max-retries', '0', '-T4', '--host-timeout', '15s', bed.targetAddr],
    { stdio: 'ignore' },
  );
  const guard = setTimeout(() => child.kill('SIGKILL'), 30000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ seconds: Number(process.hrtime.bigint() - start) / 1e9, exitCode: code });
    });
  });
}

interface Context {
  bed: Testbed;
  dir: string;
  link: LinkTransport;
  options: Options;
  listeners: Set<TimedSyslog>;
  sequence: number;
}

function listener(ctx: Context, name: string): TimedSyslog {
  const l = listenTimedSyslog(path.join(ctx.dir, `${name.replace(/\//g, '-')}-${++ctx.sequence}`));
  ctx.listeners.add(l);
  return l;
}

function closeListener(ctx: Context, l: TimedSyslog): void {
  l.close();
  ctx.listeners.delete(l);
}

const fromScanner = (bed: Testbed, m: TimedMessage): boolean =>
  m.text.startsWith(`${bed.scannerAddr}:`) || m.text.startsWith(`${bed.scannerAddr} `);

async function measurePoint(ctx: Context, kind: DaemonKind, w: Workload, rep: number): Promise<PointResult> {
  const { bed } = ctx;
  const transport = w.transport ?? ctx.options.transport;
  const sys = listener(ctx, kind);
  const d = await startDaemon(kind, bed, sys.path, [], isOurs(kind) ? ctx.options.oursNodeArgs : []);
  try {
    await sleep(300);
    const before = snapshot(bed, d);
    const hwmAfterPhase = new Map<number, number[]>(d.processes.map((p) => [p.pid, []]));
    const floods: FloodResult[] = [];
    let nmap: NmapRun | null = null;
    for (const phase of w.phases) {
      const spec: FloodSpec = {
        ...phase,
        dst: bed.targetAddr,
        seconds: 8,
        srcNet: FLOOD_SOURCES,
        checksum: 'bad',
        link: transport === 'packet' ? ctx.link : null,
      };
      const flood = runFlood(bed.scanner, spec);
      if (w.hiddenScan === true) {
        let floodDone = false;
        void flood.then(() => (floodDone = true), () => undefined);
        await sleep(300);
        const r = await runNmap(bed);
        nmap = { ...r, insideLoad: !floodDone };
      }
      floods.push(await flood);
      await drained(bed, d);
      for (const p of d.processes) hwmAfterPhase.get(p.pid)?.push(memory(p.pid).hwmKb);
    }
    const after = snapshot(bed, d);
    // One more packet makes our capture process flush and report records it dropped.
    await runFlood(bed.scanner, { mode: 'est', dst: bed.targetAddr, rate: 0, count: 1, seconds: 2, seed: 1, srcNet: FLOOD_SOURCES, checksum: 'bad' });
    if (w.hiddenScan === true) {
      const deadline = Date.now() + 2000;
      while (!sys.messages.some((m) => fromScanner(bed, m)) && Date.now() < deadline) await sleep(50);
    }
    await sleep(150);

    const offered = floods.reduce((n, f) => n + f.sent, 0);
    const seconds = floods.reduce((n, f) => n + f.seconds, 0);
    const delivered = after.delivered - before.delivered;
    let socketDrops = after.drops - before.drops;
    if (!d.rawSocket) {
      // Stopped here (the finally below does nothing more) for its drop report.
      await d.stop();
      socketDrops = d.captureDrops() ?? NaN;
    }
    const channelDrops = d.channelDrops();
    const received = delivered - socketDrops;
    const processes: ProcessFigures[] = d.processes.map((p) => {
      const b = before.cpu.get(p.pid);
      const a = after.cpu.get(p.pid);
      const m = after.mem.get(p.pid);
      return {
        role: p.role,
        pid: p.pid,
        cpuStatUs: (a?.statUs ?? NaN) - (b?.statUs ?? NaN),
        cpuSchedUs: (a?.schedUs ?? NaN) - (b?.schedUs ?? NaN),
        cpuStatTotalUs: a?.statUs ?? NaN,
        hwmKb: m?.hwmKb ?? NaN,
        rssKb: m?.rssKb ?? NaN,
        pssKb: m?.pssKb ?? NaN,
        hwmAfterPhaseKb: hwmAfterPhase.get(p.pid) ?? [],
      };
    });
    const cpuStatUs = processes.reduce((s, p) => s + p.cpuStatUs, 0);
    const cpuSchedUs = processes.reduce((s, p) => s + p.cpuSchedUs, 0);
    const generatorCpuUs = floods.reduce((n, f) => n + f.cpuUs, 0);
    const machineBusyUs = after.machine.busyUs - before.machine.busyUs;
    const machineTotalUs = after.machine.totalUs - before.machine.totalUs;
    return {
      workload: w.id,
      label: w.label,
      daemon: kind,
      rep,
      transport,
      offered,
      generatorPps: offered / seconds,
      sendErrors: floods.reduce((n, f) => n + f.errors, 0),
      delivered,
      socketDrops,
      channelDrops,
      received,
      dropFraction: delivered > 0 ? (socketDrops + channelDrops) / delivered : NaN,
      cpuStatUs,
      cpuSchedUs,
      cpuUsPerPacket: cpuStatUs / received,
      cpuSchedUsPerPacket: cpuSchedUs / received,
      totalHwmKb: processes.reduce((s, p) => s + p.hwmKb, 0),
      generatorCpuUs,
      otherLoad: Math.max(0, machineBusyUs - cpuStatUs - generatorCpuUs) / machineTotalUs,
      processes,
      lines: sys.messages.map((m) => m.text),
      hiddenScanLogged: w.hiddenScan === true ? sys.messages.some((m) => fromScanner(bed, m)) : null,
      nmap,
    };
  } finally {
    await d.stop();
    closeListener(ctx, sys);
  }
}

// ---------------------------------------------------------------- latency

interface LatencyResult {
  daemon: DaemonKind;
  method: string;
  sent: number;
  logged: number;
  latenciesUs: number[];
  medianUs: number;
  p99Us: number;
  maxUs: number;
}

function matchLatencies(scans: FloodResult['scans'], messages: TimedMessage[]): number[] {
  const out: number[] = [];
  for (const s of scans) {
    const m = messages.find((x) => x.text.startsWith(`${s.addr}:`) || x.text.startsWith(`${s.addr} `));
    if (m !== undefined) out.push(Number(m.arrivedNs - s.crossingNs) / 1000);
  }
  return out;
}

async function scanBurst(ctx: Context, sys: TimedSyslog, first: number, scans: number): Promise<FloodResult> {
  const r = await runFlood(ctx.bed.scanner, {
    mode: 'scan',
    dst: ctx.bed.targetAddr,
    rate: 0,
    count: 0,
    seconds: 30,
    seed: SEED + first,
    srcNet: SCAN_SOURCES,
    checksum: 'good',
    scans,
    scanFirst: first,
    gapUs: 10_000,
  });
  const deadline = Date.now() + 1500;
  while (matchLatencies(r.scans, sys.messages).length < r.scans.length && Date.now() < deadline) await sleep(20);
  return r;
}

function latencyResult(daemon: DaemonKind, method: string, sent: number, latenciesUs: number[]): LatencyResult {
  return {
    daemon,
    method,
    sent,
    logged: latenciesUs.length,
    latenciesUs,
    medianUs: median(latenciesUs),
    p99Us: quantile(latenciesUs, 0.99),
    maxUs: Math.max(...latenciesUs),
  };
}

/**
 * The flood limit (5 lines, then silence until 20 s of quiet) would allow 200 logged
 * scans only over 14 minutes. Ours runs once with --log-count 1000000, which changes
 * only the limiter; the reference, whose limit is compiled in, is started afresh for
 * every burst of 5 scans. Ours is also measured the reference's way (fresh start per
 * burst, default options) on fewer scans, so cold start shows.
 */
async function measureLatency(ctx: Context): Promise<LatencyResult[]> {
  const n = ctx.options.latencyScans;
  const results: LatencyResult[] = [];

  {
    const sys = listener(ctx, 'lat-ours');
    const d = await startDaemon('ours', ctx.bed, sys.path, ['--log-count', '1000000'], ctx.options.oursNodeArgs);
    try {
      await sleep(300);
      const r = await scanBurst(ctx, sys, 0, n);
      results.push(latencyResult('ours', `one start, --log-count 1000000, ${n} scans 10 ms apart`, r.scans.length, matchLatencies(r.scans, sys.messages)));
    } finally {
      await d.stop();
      closeListener(ctx, sys);
    }
  }

  for (const [kind, bursts] of [
    ['reference', Math.ceil(n / REFERENCE_BURST)],
    ['ours', Math.ceil(n / REFERENCE_BURST / 4)],
  ] as const) {
    const latencies: number[] = [];
    let sent = 0;
    for (let b = 0; b < bursts; b++) {
      const sys = listener(ctx, `lat-${kind}`);
      const d = await startDaemon(kind, ctx.bed, sys.path, [], kind === 'ours' ? ctx.options.oursNodeArgs : []);
      try {
        await sleep(200);
        const r = await scanBurst(ctx, sys, 1000 + b * REFERENCE_BURST, REFERENCE_BURST);
        sent += r.scans.length;
        latencies.push(...matchLatencies(r.scans, sys.messages));
      } finally {
        await d.stop();
        closeListener(ctx, sys);
      }
    }
    results.push(latencyResult(kind, `fresh start per burst of ${REFERENCE_BURST} scans 10 ms apart, default options, ${bursts} bursts`, sent, latencies));
  }
  return results;
}

// ---------------------------------------------------------------- machine, calibration

function machine(): Record<string, string | number> {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  return {
    nproc: os.cpus().length,
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown',
    kernel: os.release(),
    node: process.version,
    memoryMb: Math.round(os.totalmem() / 2 ** 20),
    loadAverageAtStart: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    reference: path.relative(REPO, REFERENCE),
  };
}

function vethOf(ns: string): { dev: string; mac: string } {
  const out = childProcess.spawnSync('ip', ['-n', ns, '-o', 'link', 'show', 'type', 'veth'], { encoding: 'utf8' }).stdout;
  const m = /^\d+:\s+([^@:\s]+)[@:].*link\/ether\s+([0-9a-f:]{17})/m.exec(String(out));
  if (m === null) throw new Error(`no veth in namespace ${ns}`);
  return { dev: m[1] as string, mac: m[2] as string };
}

/** Sending on the scanner's end of the veth, addressed to the target's end. */
function linkTransport(bed: Testbed): LinkTransport {
  return { dev: vethOf(bed.scanner).dev, mac: vethOf(bed.target).mac };
}

interface Calibration {
  transport: string;
  checksum: string;
  pps: number;
}

/** The generator's own ceiling with nothing listening, for each way of sending. */
async function calibrate(ctx: Context): Promise<Calibration[]> {
  const out: Calibration[] = [];
  for (const [transport, checksum] of [
    ['raw', 'good'],
    ['raw', 'bad'],
    ['packet', 'bad'],
  ] as const) {
    const r = await runFlood(ctx.bed.scanner, {
      mode: 'syn',
      dst: ctx.bed.targetAddr,
      rate: 0,
      count: 500_000,
      seconds: 2,
      seed: SEED,
      srcNet: FLOOD_SOURCES,
      checksum,
      link: transport === 'packet' ? ctx.link : null,
    });
    out.push({ transport, checksum, pps: r.pps });
  }
  return out;
}

// ---------------------------------------------------------------- report

type NumericField = {
  [K in keyof PointResult]: PointResult[K] extends number ? K : never;
}[keyof PointResult];

function medianOf(points: PointResult[], field: NumericField): number {
  return median(points.map((p) => p[field]));
}

interface Summary {
  workload: string;
  label: string;
  daemon: DaemonKind;
  reps: number;
  offered: number;
  generatorPps: number;
  delivered: number;
  socketDrops: number;
  channelDrops: number;
  dropFraction: number;
  dropFractionMax: number;
  cpuUsPerPacket: number;
  cpuUsPerPacketRange: [number, number];
  cpuSchedUsPerPacket: number;
  /** Median peak RSS of each process, MB. */
  hwmMb: Record<string, number>;
  totalHwmMb: number;
  otherLoad: number;
  hiddenScanLogged: string | null;
}

function summarize(points: PointResult[]): Summary[] {
  const out: Summary[] = [];
  const keys = [...new Set(points.map((p) => `${p.workload}|${p.daemon}`))];
  for (const key of keys) {
    const ps = points.filter((p) => `${p.workload}|${p.daemon}` === key);
    const first = ps[0] as PointResult;
    const hwmMb: Record<string, number> = {};
    for (const proc of first.processes) {
      hwmMb[proc.role] = median(ps.map((p) => p.processes.find((x) => x.role === proc.role)?.hwmKb ?? NaN)) / 1024;
    }
    const cpu = ps.map((p) => p.cpuUsPerPacket);
    out.push({
      workload: first.workload,
      label: first.label,
      daemon: first.daemon,
      reps: ps.length,
      offered: medianOf(ps, 'offered'),
      generatorPps: medianOf(ps, 'generatorPps'),
      delivered: medianOf(ps, 'delivered'),
      socketDrops: medianOf(ps, 'socketDrops'),
      channelDrops: medianOf(ps, 'channelDrops'),
      dropFraction: medianOf(ps, 'dropFraction'),
      dropFractionMax: Math.max(...ps.map((p) => p.dropFraction)),
      cpuUsPerPacket: median(cpu),
      cpuUsPerPacketRange: [Math.min(...cpu), Math.max(...cpu)],
      cpuSchedUsPerPacket: medianOf(ps, 'cpuSchedUsPerPacket'),
      hwmMb,
      totalHwmMb: medianOf(ps, 'totalHwmKb') / 1024,
      otherLoad: medianOf(ps, 'otherLoad'),
      hiddenScanLogged: first.hiddenScanLogged === null ? null : `${ps.filter((p) => p.hiddenScanLogged === true).length}/${ps.length}`,
    });
  }
  return out;
}

interface Target {
  target: string;
  value: string;
  pass: boolean | null;
}

function evaluate(summaries: Summary[], points: PointResult[], latency: LatencyResult[]): Target[] {
  const get = (w: string, d: DaemonKind): Summary | undefined => summaries.find((s) => s.workload === w && s.daemon === d);
  const targets: Target[] = [];
  const o300 = get('W1-300k', 'ours');
  const r300 = get('W1-300k', 'reference');
  if (o300 !== undefined && r300 !== undefined) {
    targets.push({
      target: 'W1 300k/s: drop fraction of ours <= reference',
      value: `ours ${percent(o300.dropFraction)}, reference ${percent(r300.dropFraction)} (medians)`,
      pass: o300.dropFraction <= r300.dropFraction,
    });
    const cpuRatio = o300.cpuUsPerPacket / r300.cpuUsPerPacket;
    targets.push({
      target: 'W1 300k/s: CPU per packet, both our processes, <= 1.5x reference',
      value: `${fixed(o300.cpuUsPerPacket, 2)} / ${fixed(r300.cpuUsPerPacket, 2)} us = ${fixed(cpuRatio, 2)}x`,
      pass: cpuRatio <= 1.5,
    });
  }
  for (const d of DAEMON_KINDS) {
    const w1 = summaries.filter((s) => s.workload.startsWith('W1-') && s.daemon === d).sort((a, b) => a.generatorPps - b.generatorPps);
    const firstDrop = w1.find((s) => s.dropFraction > 0.001);
    const lastClean = [...w1].reverse().find((s) => s.dropFraction <= 0.001 && (firstDrop === undefined || s.generatorPps < firstDrop.generatorPps));
    targets.push({
      target: `W1: where ${d} starts to drop (> 0.1%)`,
      value:
        firstDrop === undefined
          ? `no drops up to ${kilo(w1.at(-1)?.generatorPps ?? NaN)} pps`
          : lastClean === undefined
            ? `already at ${kilo(firstDrop.generatorPps)} pps (${percent(firstDrop.dropFraction)})`
            : `between ${kilo(lastClean.generatorPps)} and ${kilo(firstDrop.generatorPps)} pps (${percent(firstDrop.dropFraction)} at ${kilo(firstDrop.generatorPps)})`,
      pass: null,
    });
  }
  for (const w of ['W3-W1', 'W3-W2']) {
    for (const kind of DAEMON_KINDS.filter(isOurs)) {
      const runs = points.filter((p) => p.workload === w);
      const reps = [...new Set(runs.map((p) => p.rep))];
      const missed = reps.filter((rep) => {
        const ours = runs.find((p) => p.rep === rep && p.daemon === kind);
        const ref = runs.find((p) => p.rep === rep && p.daemon === 'reference');
        return ref?.hiddenScanLogged === true && ours?.hiddenScanLogged !== true;
      });
      if (runs.some((p) => p.daemon === kind)) {
        targets.push({
          target: `${w}: the nmap scan is logged by ${kind} whenever by the reference`,
          value: `${kind} ${get(w, kind)?.hiddenScanLogged ?? '-'}, reference ${get(w, 'reference')?.hiddenScanLogged ?? '-'} runs logged`,
          pass: missed.length === 0,
        });
      }
    }
  }
  const p2 = get('W2-300k', 'ours/pcap');
  const r2 = get('W2-300k', 'reference');
  if (p2 !== undefined && r2 !== undefined) {
    const cpuRatio = p2.cpuUsPerPacket / r2.cpuUsPerPacket;
    targets.push({
      target: 'W2 300k/s: CPU per packet, ours/pcap (kernel filter), <= 0.2x reference',
      value: `${fixed(p2.cpuUsPerPacket, 3)} / ${fixed(r2.cpuUsPerPacket, 2)} us = ${fixed(cpuRatio, 3)}x`,
      pass: cpuRatio <= 0.2,
    });
  }
  const p1 = get('W1-300k', 'ours/pcap');
  if (p1 !== undefined && r300 !== undefined) {
    targets.push({
      target: 'W1 300k/s: CPU per packet, ours/pcap',
      value: `${fixed(p1.cpuUsPerPacket, 2)} / ${fixed(r300.cpuUsPerPacket, 2)} us = ${fixed(p1.cpuUsPerPacket / r300.cpuUsPerPacket, 2)}x; drops ${percent(p1.dropFraction)}`,
      pass: null,
    });
  }
  const oursPeak = Math.max(...summaries.filter((s) => s.daemon === 'ours').map((s) => s.totalHwmMb));
  targets.push({ target: 'Memory: peak RSS of both our processes (raw socket) <= 110 MB', value: `${fixed(oursPeak, 1)} MB (highest over all workloads)`, pass: oursPeak <= 110 });
  for (const d of DAEMON_KINDS) {
    const mem = points.filter((p) => p.workload === 'MEM' && p.daemon === d);
    // The same medians as the memory table: of the sums over the processes.
    const base = median(mem.map((p) => p.processes.reduce((s, x) => s + (x.hwmAfterPhaseKb[0] ?? NaN), 0)));
    const growth = median(mem.map((p) => p.processes.reduce((s, x) => s + (x.hwmAfterPhaseKb[1] ?? NaN), 0))) - base;
    if (mem.length > 0) {
      targets.push({
        target: `Memory flat (${d}): peak RSS after 10^6 packets within 5% of after 10^4`,
        value: `${fixed(base / 1024, 1)} -> ${fixed((base + growth) / 1024, 1)} MB (+${fixed(growth / 1024, 1)} MB, ${percent(growth / base)})`,
        pass: growth / base <= 0.05,
      });
    }
  }
  const lat = latency.find((l) => l.daemon === 'ours' && l.method.startsWith('one start'));
  if (lat !== undefined) {
    targets.push({ target: 'Latency without load: median < 2 ms', value: `${fixed(lat.medianUs / 1000, 3)} ms (n=${lat.logged})`, pass: lat.medianUs < 2000 });
    targets.push({ target: 'Latency without load: p99 < 10 ms', value: `${fixed(lat.p99Us / 1000, 3)} ms`, pass: lat.p99Us < 10000 });
  }
  return targets;
}

function memoryRows(points: PointResult[]): string[][] {
  const rows: string[][] = [];
  for (const d of DAEMON_KINDS) {
    const mem = points.filter((p) => p.workload === 'MEM' && p.daemon === d);
    const roles = mem[0]?.processes.map((p) => p.role) ?? [];
    const figure = (role: string | null, pick: (x: ProcessFigures) => number): number =>
      median(mem.map((p) => p.processes.filter((x) => role === null || x.role === role).reduce((s, x) => s + pick(x), 0))) / 1024;
    for (const role of roles.length > 1 ? [...roles, null] : roles) {
      const small = figure(role, (x) => x.hwmAfterPhaseKb[0] ?? NaN);
      const large = figure(role, (x) => x.hwmAfterPhaseKb[1] ?? NaN);
      rows.push([d, role ?? 'both', fixed(small, 1), fixed(large, 1), fixed(large - small, 1), fixed(figure(role, (x) => x.pssKb), 1)]);
    }
  }
  return rows;
}

function report(
  summaries: Summary[],
  points: PointResult[],
  latency: LatencyResult[],
  targets: Target[],
  calibration: Calibration[],
  info: Record<string, string | number>,
  reps: number,
  oursNodeArgs: string[],
  noisyPairs: number,
): string {
  const out: string[] = [];
  out.push(
    `Machine: ${info['nproc']} CPUs, ${info['cpuModel']}, Linux ${info['kernel']}, node ${info['node']}; load average at start ${info['loadAverageAtStart']}`,
  );
  out.push(
    `Generator ceiling, nothing listening: ${calibration.map((c) => `${c.transport}/${c.checksum} checksum ${kilo(c.pps)} pps`).join(', ')}`,
  );
  out.push(`Medians of ${reps} run(s) per row; drops = socket drops (/proc/net/raw) + records our capture process dropped;`);
  out.push('ours = raw socket, ours/pcap = libpcap on the target device (--interface); its socket drops are the kernel');
  out.push('drops libpcap reports at stop. delivered = IP packets the target stack delivered; CPU us/pkt = CPU of the');
  out.push("daemon's processes / (delivered - socket drops), so packets a kernel filter rejects count and cost nothing.");
  out.push('other load = share of all CPUs used by anything but the daemon and the generator meanwhile (noise;');
  out.push(`a pair above ${percent(NOISY_LOAD)} is measured again while time allows: ${noisyPairs} pair(s) redone this run).`);
  if (oursNodeArgs.length > 0) out.push(`Our capture process was started as: node ${oursNodeArgs.join(' ')} bin/scanlogd.js`);
  out.push('');
  out.push(
    table(
      ['workload', 'daemon', 'offered', 'pps', 'delivered', 'sock drops', 'chan drops', 'drop %', 'CPU us/pkt', 'peak RSS MB', 'nmap logged', 'other load'],
      summaries.map((s) => [
        s.label,
        s.daemon,
        kilo(s.offered),
        kilo(s.generatorPps),
        kilo(s.delivered),
        String(Math.round(s.socketDrops)),
        isOurs(s.daemon) ? String(Math.round(s.channelDrops)) : '-',
        percent(s.dropFraction),
        fixed(s.cpuUsPerPacket, 2),
        `${Object.values(s.hwmMb).map((m) => fixed(m, 1)).join('+')}${Object.keys(s.hwmMb).length > 1 ? `=${fixed(s.totalHwmMb, 1)}` : ''}`,
        s.hiddenScanLogged ?? '',
        percent(s.otherLoad).replace(/\.\d+%/, '%'),
      ]),
    ),
  );
  const memory = memoryRows(points);
  if (memory.length > 0) {
    out.push('');
    out.push('Memory, workload MEM (W1 SYN flood at 300k/s): peak RSS after 10^4 and after 10^6 packets; PSS at the end');
    out.push('(PSS shares the node binary, mapped by both our processes, between them; RSS counts it in each):');
    out.push(table(['daemon', 'process', 'peak RSS 10^4 MB', 'peak RSS 10^6 MB', 'growth MB', 'PSS MB'], memory));
  }
  if (latency.length > 0) {
    out.push('');
    out.push('Detection latency, threshold-crossing packet sent -> syslog datagram received, no load:');
    out.push(
      table(
        ['daemon', 'method', 'logged/sent', 'median ms', 'p99 ms', 'max ms'],
        latency.map((l) => [l.daemon, l.method, `${l.logged}/${l.sent}`, fixed(l.medianUs / 1000, 3), fixed(l.p99Us / 1000, 3), fixed(l.maxUs / 1000, 3)]),
      ),
    );
  }
  out.push('');
  out.push('Ratios ours/reference:');
  const workloadsSeen = [...new Set(summaries.map((s) => s.workload))];
  out.push(
    table(
      ['workload', 'ours', 'drop fraction', 'CPU us/pkt', 'peak RSS (all processes)'],
      workloadsSeen.flatMap((w) =>
        DAEMON_KINDS.filter(isOurs).flatMap((kind) => {
          const o = summaries.find((s) => s.workload === w && s.daemon === kind);
          const r = summaries.find((s) => s.workload === w && s.daemon === 'reference');
          if (o === undefined || r === undefined) return [];
          return [[o.label, kind, ratio(o.dropFraction, r.dropFraction), ratio(o.cpuUsPerPacket, r.cpuUsPerPacket), ratio(o.totalHwmMb, r.totalHwmMb, 0)]];
        }),
      ),
    ),
  );
  const lo = latency.find((l) => l.daemon === 'ours' && l.method.startsWith('fresh'));
  const lr = latency.find((l) => l.daemon === 'reference');
  if (lo !== undefined && lr !== undefined) {
    out.push(`Latency, fresh start per burst (same method): median ${ratio(lo.medianUs, lr.medianUs, 1)}, p99 ${ratio(lo.p99Us, lr.p99Us, 1)}`);
  }
  out.push('');
  out.push('Targets (issues 5 and 6):');
  out.push(
    table(
      ['target', 'measured', 'holds'],
      targets.map((t) => [t.target, t.value, t.pass === null ? 'info' : t.pass ? 'yes' : 'NO']),
    ),
  );
  return out.join('\n');
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!isRoot) throw new Error('the benchmark needs root (network namespaces, raw sockets)');
  if (!fs.existsSync(REFERENCE)) throw new Error(`reference scanlogd not found at ${REFERENCE}: run scripts/test-setup.sh (or npm test) once`);
  // Debian's build chroots there; without it the reference exits at once.
  if (!fs.existsSync('/run/scanlogd/empty')) throw new Error('/run/scanlogd/empty is missing: run scripts/test-setup.sh (or npm test) once');
  for (const tool of ['nmap', 'taskset', 'unshare']) {
    if (childProcess.spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} not found (apt-get install nmap util-linux)`);
  }
  const started = Date.now();
  const info = machine();
  progress('compiling the load generator');
  buildGenerator();

  let bed: Testbed | null = null;
  let dir: string | null = null;
  const listeners = new Set<TimedSyslog>();
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    killStarted();
    await stopAllDaemons();
    for (const l of listeners) l.close();
    bed?.destroy();
    if (dir !== null) fs.rmSync(dir, { recursive: true, force: true });
  };
  const abort = (why: string, code: number): void => {
    progress(why);
    void cleanup().finally(() => process.exit(code));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => abort(`${signal}: cleaning up`, 130));
  const watchdog = setTimeout(() => abort(`still running after ${DEADLINE_MS / 60000} minutes: stopping`, 1), DEADLINE_MS);

  try {
    bed = createTestbed();
    dir = makeSocketDir();
    const ctx: Context = { bed, dir, link: linkTransport(bed), options, listeners, sequence: 0 };
    progress(`namespaces ${bed.target} (${bed.targetAddr}) and ${bed.scanner} (${bed.scannerAddr})`);

    const calibration = await calibrate(ctx);
    progress(`generator ceiling: ${calibration.map((c) => `${c.transport}/${c.checksum} ${kilo(c.pps)} pps`).join(', ')}`);

    const points: PointResult[] = [];
    const selected = (id: string): boolean => options.only.length === 0 || options.only.includes(id);
    const noisy: PointResult[] = [];
    let retriesLeft = NOISY_RETRIES;
    for (const w of workloads().filter((x) => selected(x.id))) {
      for (let rep = 0; rep < options.reps; rep++) {
        // Alternate which daemon goes first, so that drift in the machine's load
        // does not favour one of them.
        const order = rep % 2 === 0 ? DAEMON_KINDS : [...DAEMON_KINDS].reverse();
        for (;;) {
          const pair: PointResult[] = [];
          for (const kind of order) {
            const p = await measurePoint(ctx, kind, w, rep);
            pair.push(p);
            progress(
              `${w.label.padEnd(28)} ${kind.padEnd(10)} ${kilo(p.generatorPps).padStart(5)} pps  drops ${percent(p.dropFraction).padStart(7)}  ` +
                `${fixed(p.cpuUsPerPacket, 2)} us/pkt  RSS ${fixed(p.totalHwmKb / 1024, 1)} MB  other load ${percent(p.otherLoad)}` +
                (p.hiddenScanLogged === null ? '' : `  nmap ${p.hiddenScanLogged ? 'logged' : 'NOT logged'} (${fixed(p.nmap?.seconds ?? NaN, 1)} s${p.nmap?.insideLoad === false ? ', outlasted the load' : ''})`),
            );
          }
          // Someone else's work on the machine makes one daemon look worse than the
          // other: measure the pair again, while time allows.
          const busy = pair.some((p) => p.otherLoad > NOISY_LOAD);
          if (busy && retriesLeft > 0 && Date.now() - started < NOISY_RETRY_UNTIL_MS) {
            retriesLeft--;
            noisy.push(...pair);
            progress(`other load above ${percent(NOISY_LOAD)}: measuring this pair again (${retriesLeft} retries left)`);
            continue;
          }
          points.push(...pair);
          break;
        }
      }
    }

    let latency: LatencyResult[] = [];
    if (selected('latency')) {
      progress('latency');
      latency = await measureLatency(ctx);
    }

    const summaries = summarize(points);
    const targets = evaluate(summaries, points, latency);
    const text = report(summaries, points, latency, targets, calibration, info, options.reps, options.oursNodeArgs, noisy.length / 2);
    process.stdout.write(`\n${text}\n`);

    const result = {
      version: 1,
      date: new Date().toISOString(),
      durationSeconds: (Date.now() - started) / 1000,
      machine: info,
      options,
      generatorCeiling: calibration,
      summaries,
      targets,
      latency: latency.map((l) => ({ ...l, latenciesUs: l.latenciesUs.map((x) => Math.round(x)) })),
      points,
      /** Pairs measured again because the machine was busy with other work. */
      noisyPoints: noisy,
    };
    fs.mkdirSync(path.dirname(options.out), { recursive: true });
    fs.writeFileSync(options.out, `${JSON.stringify(result, null, 1)}\n`);
    process.stdout.write(`\nJSON: ${path.relative(process.cwd(), options.out)}  (${fixed((Date.now() - started) / 1000, 0)} s)\n`);
  } finally {
    clearTimeout(watchdog);
    await cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
