// One point of the benchmark: a fresh daemon, one workload's floods, and what the
// daemon's processes, its socket and the target's stack show before and after.

import type { Testbed } from '../harness/netns.js';
import { sleep } from '../harness/netns.js';
import { runFlood, spawnTracked, type FloodResult, type FloodSpec } from '../harness/generator.js';
import { cpuTime, ipDelivered, machineCpu, memory, rawSocketsOf, type Memory } from '../harness/proc.js';
import { isOurs, startDaemon, type BenchDaemon, type DaemonKind } from './daemons.js';
import { closeListener, listener, type Context } from './context.js';
import { fromSource } from './syslog.js';
import { FLOOD_SOURCES, FLOOD_SOURCES6, type Workload } from './workloads.js';

export interface ProcessFigures {
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

export interface PointResult {
  workload: string;
  label: string;
  daemon: DaemonKind;
  rep: number;
  transport: 'raw' | 'packet';
  offered: number;
  generatorPps: number;
  sendErrors: number;
  /** IP packets the target's stack delivered (Ip InDelivers and Ip6InDelivers), which the raw sockets see. */
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
  const raw = d.rawSocket ? rawSocketsOf(bed.target, d.socketPid) : { drops: 0, rxQueue: 0 };
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
    const queue = d.rawSocket ? rawSocketsOf(bed.target, d.socketPid).rxQueue : 0;
    if ((queue === 0 && now - last < 1000) || Date.now() > deadline) return;
    last = now;
  }
}

function runNmap(bed: Testbed): Promise<{ seconds: number; exitCode: number | null }> {
  const start = process.hrtime.bigint();
  const child = spawnTracked(
    'ip',
    [
      'netns',
      'exec',
      bed.scanner,
      'nmap',
      '-n',
      '-Pn',
      '-sS',
      '-p',
      '1-1000',
      '--max-retries',
      '0',
      '-T4',
      '--host-timeout',
      '15s',
      bed.targetAddr,
    ],
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

export async function measurePoint(ctx: Context, kind: DaemonKind, w: Workload, rep: number): Promise<PointResult> {
  const { bed } = ctx;
  const transport = w.transport ?? ctx.options.transport;
  const sys = listener(ctx, kind);
  const d = await startDaemon(
    kind,
    bed,
    sys.path,
    isOurs(kind) ? (w.oursArgs ?? []) : [],
    isOurs(kind) ? ctx.options.oursNodeArgs : [],
    ctx.options.baseline,
  );
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
        ...(w.ipv6 === true ? { dst6: bed.targetAddr6, srcNet6: FLOOD_SOURCES6 } : {}),
      };
      const flood = runFlood(bed.scanner, spec);
      if (w.hiddenScan === true) {
        let floodDone = false;
        void flood.then(
          () => (floodDone = true),
          () => undefined,
        );
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
    await runFlood(bed.scanner, {
      mode: 'est',
      dst: bed.targetAddr,
      rate: 0,
      count: 1,
      seconds: 2,
      seed: 1,
      srcNet: FLOOD_SOURCES,
      checksum: 'bad',
    });
    if (w.hiddenScan === true) {
      const deadline = Date.now() + 2000;
      while (!sys.messages.some((m) => fromSource(m, bed.scannerAddr)) && Date.now() < deadline) await sleep(50);
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
      hiddenScanLogged: w.hiddenScan === true ? sys.messages.some((m) => fromSource(m, bed.scannerAddr)) : null,
      nmap,
    };
  } finally {
    await d.stop();
    closeListener(ctx, sys);
  }
}
